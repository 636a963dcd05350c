/**
 * connect({ proxyCommand }): the connection runs over a command's stdio (here `nc`, as in
 * ssh_config examples), in both forms: a shell command with ssh's %-tokens, an argument list
 * run without a shell. (The same against OpenSSH: conformance/ssh_config_connect_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "../server/listen.ts";
import { connect } from "./connect.ts";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

const hostKey = generatePrivateKey("ed25519");

async function server() {
  const seen: string[] = [];
  const s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (user) => (seen.push(user), true),
    processFactory: (p) => {
      p.write(`${p.command}\n`);
      p.exit(0);
    },
  });
  return { s, seen };
}

const options = { password: "pw", knownHosts: null, agent: false, config: false } as const;

test("connect({ proxyCommand }) runs over a shell command with %h %p %r %% replaced", async () => {
  const { s, seen } = await server();
  await using _ = s;
  await using conn = await connect("127.0.0.1", {
    ...options,
    port: s.address.port,
    username: "carol",
    // %r and %% reach the shell as text: a comment keeps them out of nc's arguments.
    proxyCommand: "nc %h %p # %r 100%%",
  });
  assert.equal((await conn.run("hello", { check: true })).stdout, "hello\n");
  assert.deepEqual(seen, ["carol"]);
  // The server saw a TCP connection from nc on loopback, not from this process's socket.
  assert.equal(s.getConnections()[0]!.remoteAddress, "127.0.0.1");
});

test("connect({ proxyCommand: argv }) runs the command without a shell", async () => {
  const { s } = await server();
  await using _ = s;
  await using conn = await connect("ignored.invalid", {
    ...options,
    port: 1,
    username: "dave",
    proxyCommand: ["nc", "127.0.0.1", String(s.address.port)],
  });
  assert.equal((await conn.run("argv", { check: true })).stdout, "argv\n");
});

test("connect({ proxyCommand }) refuses an unknown token, and sock or tunnel beside it", async () => {
  await assert.rejects(
    connect("h", { ...options, proxyCommand: "nc %h %q" }),
    /Cannot expand "nc %h %q": unknown key %q/,
  );
  const { s } = await server();
  await using _ = s;
  await using jump = await connect("127.0.0.1", { ...options, port: s.address.port });
  await assert.rejects(
    connect("h", { ...options, proxyCommand: "nc %h %p", tunnel: jump }),
    /proxyCommand cannot be combined/,
  );
});

test("connect({ proxyCommand }) reports a command that cannot start", async () => {
  await assert.rejects(
    connect("h", { ...options, proxyCommand: ["/nonexistent/proxy-command"] }),
    /ProxyCommand failed to start|closed|ended/i,
  );
});

test("connect({ proxyCommand }) names a command that failed, with its status or signal", async () => {
  // paramiko's ProxyCommandFailure; it was only "closed before the SSH version exchange".
  for (
    const [command, why] of [
      [["sh", "-c", "exit 3"], 'ProxyCommand "sh -c exit 3" exited with status 3'],
      [["sh", "-c", "kill -9 $$"], 'ProxyCommand "sh -c kill -9 $$" was killed by SIGKILL'],
    ] as const
  ) {
    const e = await connect("127.0.0.1", {
      proxyCommand: command,
      username: "u",
      password: "p",
      knownHosts: null,
      config: false,
    }).then(() => undefined, (e) => e as Error);
    assert.ok(e, "connect() failed");
    assert.ok(e.message.includes(why), e.message);
  }
});

test("connect({ proxyCommand }) refuses a host or user a shell would interpret, before running it", async () => {
  const marker = join(tmpdir(), `sshts-proxy-injected-${process.pid}`);
  for (
    const [host, username] of [[`h$(touch ${marker})`, "u"], ["127.0.0.1", `u;touch ${marker}`]]
  ) {
    await assert.rejects(
      connect(host!, {
        ...options,
        port: 22,
        username: username!,
        proxyCommand: "nc %h %p # %r",
        connectTimeout: 5000,
      }),
      (e: Error & { code?: string }) =>
        e.code === "ERR_CONFIG_INVALID" && /a shell would/.test(e.message),
    );
  }
  await assert.rejects(stat(marker), { code: "ENOENT" }, "nothing ran");
});

test("connect({ proxyCommand }) whose host-based key cannot be read leaves no command running", {
  skip: process.platform === "win32" && "no sh",
}, async () => {
  const dir = await import("node:fs/promises").then((f) => f.mkdtemp(join(tmpdir(), "sshts-pc-")));
  const pidFile = join(dir, "pid");
  try {
    await assert.rejects(
      connect("127.0.0.1", {
        config: false,
        password: "x",
        knownHosts: null,
        // Writes its pid, then becomes `sleep` (same pid): it never speaks SSH.
        proxyCommand: ["sh", "-c", `echo $$ > ${pidFile}; exec sleep 30`],
        hostBased: { hostKey: join(dir, "missing_host_key"), localHostname: "me" },
      }),
      /Cannot read private key file/,
    );
    // Before, the command started first and outlived the failed connect().
    await new Promise((r) => setTimeout(r, 300));
    const pid = Number(
      await import("node:fs/promises").then((f) => f.readFile(pidFile, "utf8").catch(() => "0")),
    );
    let alive = pid > 0;
    if (alive) {
      try {
        process.kill(pid, 0);
        process.kill(pid, "SIGKILL");
      } catch {
        alive = false;
      }
    }
    assert.equal(alive, false, "the proxy command was left running");
  } finally {
    await import("node:fs/promises").then((f) => f.rm(dir, { recursive: true, force: true }));
  }
});
