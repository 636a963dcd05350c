/**
 * X11 forwarding into our server: OpenSSH's `ssh -X` and `ssh -Y` (9.2 here, 10.x from the
 * trixie tree) and our own client against `listen({ x11Forwarding })`, with a local Xvfb as
 * the client's X server. The session runs `xdpyinfo` through a real shell, and it prints the
 * forwarded display's name and Xvfb's vendor string. The cookie check is shown from both
 * sides: a wrong real cookie on the client is refused by Xvfb itself (the client swaps the
 * fake cookie; our server only carries the X protocol), and a remote program without the
 * fake cookie is refused by the client.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { conformanceTest, runCommand, TEST_PASSWORD, TEST_USER } from "./fixtures/mod.ts";
import { sshArgv, type SshClient, startServer, type TestServer } from "./server_fixture.ts";
import type { SSHServerProcess } from "../io/server/process.ts";
import type { ListenOptions } from "../io/server/options.ts";
import { connect } from "../io/client/connect.ts";
import { setUpX11Forwarding } from "../io/client/x11_forward.ts";
import { parseXauthority } from "../io/client/x11_display.ts";

function needX11Tools(): void {
  for (const tool of ["/usr/bin/Xvfb", "/usr/bin/xauth", "/usr/bin/xdpyinfo"]) {
    if (!existsSync(tool)) {
      throw new Error(`${tool} is needed: apt-get install xvfb xauth x11-utils`);
    }
  }
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

/** A running Xvfb with its own auth file (or none, with `open`). */
interface Xvfb extends AsyncDisposable {
  readonly display: number;
  /** Its screen's size, e.g. "1234x567": xdpyinfo through the forwarding must print it. */
  readonly size: string;
  readonly authPath: string;
  readonly cookie: string;
  readonly dir: string;
}

/**
 * Starts Xvfb on a free display between 40 and 89: with an auth file holding a random cookie,
 * or with access control off and a TCP listener (`open`), for a client that has no xauth.
 */
async function startXvfb(open = false): Promise<Xvfb> {
  needX11Tools();
  const dir = mkdtempSync(join(tmpdir(), "sshts-xvfb-"));
  const authPath = join(dir, "Xauthority");
  const cookie = randomHex(16);
  const size = `${640 + Math.floor(Math.random() * 960)}x${480 + Math.floor(Math.random() * 520)}`;
  for (let attempt = 0; attempt < 20; attempt++) {
    const display = 40 + Math.floor(Math.random() * 50);
    if (existsSync(`/tmp/.X${display}-lock`) || existsSync(`/tmp/.X11-unix/X${display}`)) continue;
    spawnSync("/usr/bin/xauth", [
      "-f",
      authPath,
      "add",
      `:${display}`,
      "MIT-MAGIC-COOKIE-1",
      cookie,
    ]);
    const args = [
      `:${display}`,
      "-screen",
      "0",
      `${size}x24`,
      ...(open ? ["-ac", "-listen", "tcp"] : ["-auth", authPath, "-nolisten", "tcp"]),
    ];
    const xvfb: ChildProcess = spawn("/usr/bin/Xvfb", args, { stdio: "ignore" });
    let exited = false;
    xvfb.once("exit", () => (exited = true));
    for (let i = 0; i < 100 && !exited && !existsSync(`/tmp/.X11-unix/X${display}`); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (exited || !existsSync(`/tmp/.X11-unix/X${display}`)) {
      xvfb.kill();
      continue;
    }
    const stop = async () => {
      if (!exited) {
        const gone = new Promise((r) => xvfb.once("exit", r));
        xvfb.kill();
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return { display, size, authPath, cookie, dir, [Symbol.asyncDispose]: stop };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error("Cannot start Xvfb on a free display");
}

/** Runs the session's command with `sh -c` and its environment (DISPLAY, XAUTHORITY). */
function shellProcess(p: SSHServerProcess): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn("/bin/sh", ["-c", p.command ?? "exit 0"], {
      env: { ...process.env as Record<string, string>, ...p.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const writes: Promise<void>[] = [];
    child.stdout!.on("data", (b: Uint8Array) => writes.push(p.write(new Uint8Array(b))));
    child.stderr!.on("data", (b: Uint8Array) => writes.push(p.writeStderr(new Uint8Array(b))));
    child.on("close", async (status) => {
      await Promise.allSettled(writes);
      p.exit(status ?? 255);
      resolve();
    });
  });
}

async function x11Server(x11: NonNullable<ListenOptions["x11Forwarding"]>): Promise<TestServer> {
  return await startServer({ x11Forwarding: x11, processFactory: shellProcess });
}

async function sshX(
  client: SshClient,
  server: TestServer,
  flag: "-X" | "-Y",
  display: string,
  xauthority: string,
  command: string,
) {
  const { argv, env } = await sshArgv(client, server, {
    identity: "ed25519",
    args: [flag],
    command,
  });
  return await runCommand(argv, {
    env: {
      ...process.env as Record<string, string>,
      ...env,
      DISPLAY: display,
      XAUTHORITY: xauthority,
    },
    timeoutMs: 30_000,
  });
}

const XDPYINFO =
  'xdpyinfo | grep -E "name of display|vendor string|dimensions"; echo "DISPLAY=$DISPLAY"';

/** xdpyinfo's output names the forwarded display and describes this very Xvfb. */
function assertXdpyinfo(stdout: string, x: Xvfb): void {
  assert.match(stdout, /name of display:\s+localhost:\d+\.0\n/);
  assert.match(stdout, /vendor string:\s+The X\.Org Foundation/);
  assert.match(stdout, new RegExp(`dimensions:\\s+${x.size} pixels`));
}

for (const flag of ["-X", "-Y"] as const) {
  conformanceTest(`ssh ${flag} (openssh) into listen(): xdpyinfo runs remotely on Xvfb`, {
    peers: ["openssh"],
  }, async () => {
    await using x = await startXvfb();
    // -X writes the Xauthority entry itself; -Y runs xauth as sshd does.
    await using server = await x11Server(
      flag === "-X" ? true : { xauthProgram: "/usr/bin/xauth", displayOffset: 12 },
    );
    const r = await sshX("openssh", server, flag, `:${x.display}`, x.authPath, XDPYINFO);
    assert.equal(r.status, 0, r.stderr);
    assertXdpyinfo(r.stdout, x);
    const n = Number(/DISPLAY=localhost:(\d+)\.0/.exec(r.stdout)?.[1]);
    assert.ok(n >= (flag === "-X" ? 10 : 12), r.stdout);
  });
}

conformanceTest("ssh -Y (openssh): a wrong or absent real cookie is refused by Xvfb itself", {
  peers: ["openssh"],
}, async () => {
  await using x = await startXvfb();
  await using server = await x11Server(true);
  const wrong = join(x.dir, "wrong");
  spawnSync("/usr/bin/xauth", [
    "-f",
    wrong,
    "add",
    `:${x.display}`,
    "MIT-MAGIC-COOKIE-1",
    randomHex(16),
  ]);
  const r = await sshX("openssh", server, "-Y", `:${x.display}`, wrong, "xdpyinfo");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unable to open display/);
  // Xlib's words for the X server's refusal; the client let the connection through.
  assert.match(r.stderr, /Invalid MIT-MAGIC-COOKIE-1 key|Authorization required/);
  assert.doesNotMatch(r.stderr, /X11 connection rejected/);
  // No cookie at all on the client: ssh makes one up, and Xvfb refuses that too.
  const none = join(x.dir, "none");
  writeFileSync(none, "");
  const absent = await sshX("openssh", server, "-Y", `:${x.display}`, none, "xdpyinfo");
  assert.notEqual(absent.status, 0);
  assert.match(absent.stderr, /using fake authentication data/);
  assert.match(absent.stderr, /Invalid MIT-MAGIC-COOKIE-1 key|Authorization required/);
  // The same server with the right cookie works: the refusal came from the cookie alone.
  const ok = await sshX("openssh", server, "-Y", `:${x.display}`, x.authPath, XDPYINFO);
  assert.equal(ok.status, 0, ok.stderr);
});

conformanceTest("ssh -Y (openssh): a remote program without the fake cookie is refused", {
  peers: ["openssh"],
}, async () => {
  await using x = await startXvfb();
  await using server = await x11Server(true);
  const r = await sshX(
    "openssh",
    server,
    "-Y",
    `:${x.display}`,
    x.authPath,
    'test -s "$XAUTHORITY" && XAUTHORITY=/dev/null xdpyinfo',
  );
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unable to open display/);
  assert.match(r.stderr, /X11 connection rejected because of wrong authentication/);
});

conformanceTest("ssh -Y (openssh-trixie, no xauth in its tree) into listen(): xdpyinfo", {
  peers: ["openssh-trixie"],
}, async () => {
  await using x = await startXvfb(true);
  await using server = await x11Server(true);
  // The tree has neither the host's /tmp nor xauth: TCP display, made-up cookie, open Xvfb.
  const r = await sshX(
    "openssh-trixie",
    server,
    "-Y",
    `127.0.0.1:${x.display}`,
    "/dev/null",
    XDPYINFO,
  );
  assert.equal(r.status, 0, r.stderr);
  assertXdpyinfo(r.stdout, x);
});

conformanceTest("connect() X11 forwarding into listen(): xdpyinfo on Xvfb; single connection", {
  peers: [],
}, async () => {
  await using x = await startXvfb();
  const seen: { display?: string | undefined; authPath?: string | undefined; entries?: number } =
    {};
  await using server = await startServer({
    x11Forwarding: true,
    processFactory: async (p) => {
      seen.display = p.x11Display;
      seen.authPath = p.x11AuthPath;
      if (p.x11AuthPath) {
        seen.entries = parseXauthority(new Uint8Array(readFileSync(p.x11AuthPath))).length;
        assert.equal(statSync(p.x11AuthPath).mode & 0o777, 0o600);
      }
      await shellProcess(p);
    },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.port,
    config: false,
    username: TEST_USER,
    password: TEST_PASSWORD,
    knownHosts: { text: server.knownHosts },
  });
  const x11 = await setUpX11Forwarding(conn, { display: `:${x.display}`, xauthority: x.authPath });
  assert.notEqual(x11.authCookie, x.cookie, "the real cookie stays here");
  const r = await conn.run(XDPYINFO, { x11Forwarding: x11 });
  assert.equal(r.exitStatus, 0, String(r.stderr));
  assertXdpyinfo(String(r.stdout), x);
  assert.match(seen.display ?? "", /^localhost:\d+\.0$/);
  assert.equal(seen.entries, 1);
  // The private Xauthority goes away with the session.
  for (let i = 0; i < 50 && existsSync(seen.authPath!); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(existsSync(seen.authPath!), false);
  // single_connection: the first X client gets through, the display is gone for the second.
  const single = await setUpX11Forwarding(conn, {
    display: `:${x.display}`,
    xauthority: x.authPath,
    singleConnection: true,
  });
  const s = await conn.run(
    'xdpyinfo >/dev/null && echo first; xdpyinfo >/dev/null 2>&1 || echo "second refused"',
    { x11Forwarding: single },
  );
  assert.equal(String(s.stdout), "first\nsecond refused\n");
});
