/**
 * X11 forwarding from our client through OpenSSH's X11Forwarding to a local
 * Xvfb: the fake cookie goes to sshd, the real one (from an .Xauthority the
 * test writes with xauth) only to Xvfb; xdpyinfo runs remotely, with the set-up given and
 * with `x11Forwarding: true` alone (the display from the environment). Untrusted
 * forwarding (`ssh -X` with `ForwardX11Trusted no`): the remote client gets an xauth-generated
 * cookie Xvfb's SECURITY extension restricts (XTEST hidden), and no new connection after the
 * timeout.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import process from "node:process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformanceTest, withPeer } from "./fixtures/mod.ts";
import { connect } from "../io/client/connect.ts";
import { setUpX11Forwarding } from "../io/client/x11_forward.ts";

/** A private Xvfb on a free display with a fresh cookie, for the length of `body`. */
async function withXvfb(
  firstDisplay: number,
  body: (x: { display: number; auth: string; cookie: string }) => Promise<void>,
): Promise<void> {
  if (!existsSync("/usr/bin/Xvfb") || !existsSync("/usr/bin/xauth")) {
    throw new Error("Xvfb and xauth are needed: apt-get install xvfb xauth x11-utils");
  }
  const dir = mkdtempSync(join(tmpdir(), "sshts-x11-"));
  const display = firstDisplay + Math.floor(Math.random() * 20);
  const auth = join(dir, "Xauthority");
  const cookie = Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  spawnSync("/usr/bin/xauth", ["-f", auth, "add", `:${display}`, "MIT-MAGIC-COOKIE-1", cookie]);
  // -noreset: with no client left, an X server resets and forgets the cookies it generated.
  const args = [`:${display}`, "-auth", auth, "-nolisten", "tcp", "-noreset"];
  const xvfb = spawn("/usr/bin/Xvfb", args, { stdio: "ignore" });
  try {
    for (let i = 0; i < 100 && !existsSync(`/tmp/.X11-unix/X${display}`); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await body({ display, auth, cookie });
  } finally {
    xvfb.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

conformanceTest("X11 forwarding to Xvfb through openssh: xdpyinfo runs remotely", {
  peers: ["openssh"],
}, async () => {
  await withXvfb(40, async ({ display, auth, cookie }) => {
    await withPeer("openssh", {
      sshdConfig: { X11Forwarding: true, X11UseLocalhost: true, XAuthLocation: "/usr/bin/xauth" },
    }, async (f) => {
      await using conn = await connect(f.host, {
        port: f.port,
        config: false,
        username: f.user.name,
        password: f.user.password,
        knownHosts: f.knownHostsPath,
      });
      const x11 = await setUpX11Forwarding(conn, { display: `:${display}`, xauthority: auth });
      assert.notEqual(x11.authCookie, cookie, "the real cookie stays here");
      const r = await conn.run("xdpyinfo | head -5", { x11Forwarding: x11, check: true });
      assert.match(r.stdout, /name of display:\s+localhost:\d+\.0/);
      assert.match(r.stdout, /vendor string:/);

      // x11Forwarding: true alone, as `ssh -X`: DISPLAY and XAUTHORITY from the environment.
      const saved = { DISPLAY: process.env.DISPLAY, XAUTHORITY: process.env.XAUTHORITY };
      process.env.DISPLAY = `:${display}`;
      process.env.XAUTHORITY = auth;
      try {
        await using plain = await connect(f.host, {
          port: f.port,
          config: false,
          username: f.user.name,
          password: f.user.password,
          knownHosts: f.knownHostsPath,
        });
        for (let i = 0; i < 2; i++) { // the second session reuses the connection's set-up
          const r2 = await plain.run("xdpyinfo | head -5", { x11Forwarding: true, check: true });
          assert.match(r2.stdout, /vendor string:/);
        }
        delete process.env.DISPLAY;
        await using noDisplay = await connect(f.host, {
          port: f.port,
          config: false,
          username: f.user.name,
          password: f.user.password,
          knownHosts: f.knownHostsPath,
        });
        await assert.rejects(noDisplay.run("true", { x11Forwarding: true }), /needs DISPLAY/);
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });
  });
});

conformanceTest("untrusted X11 forwarding to Xvfb through openssh: restricted, expiring cookie", {
  peers: ["openssh"],
}, async () => {
  await withXvfb(60, async ({ display, auth, cookie }) => {
    await withPeer("openssh", {
      sshdConfig: { X11Forwarding: true, X11UseLocalhost: true, XAuthLocation: "/usr/bin/xauth" },
    }, async (f) => {
      const options = {
        port: f.port,
        config: false as const,
        username: f.user.name,
        password: f.user.password,
        knownHosts: f.knownHostsPath,
      };
      const extensions = "xdpyinfo -queryExtensions";
      // Trusted, as `ssh -Y`: the display's own cookie, every extension.
      await using trusted = await connect(f.host, {
        ...options,
        x11Display: { display: `:${display}`, xauthority: auth },
      });
      const all = await trusted.run(extensions, { x11Forwarding: true, check: true });
      assert.match(all.stdout, /vendor string:/);
      assert.match(all.stdout, /XTEST/, "a trusted client sees XTEST");

      // Untrusted, as `ssh -X` with ForwardX11Trusted no: a generated cookie the X server
      // restricts; the display's own cookie never leaves this process.
      await using untrusted = await connect(f.host, {
        ...options,
        x11Display: { display: `:${display}`, xauthority: auth, trusted: false },
      });
      for (let i = 0; i < 2; i++) { // the second session reuses the connection's cookie
        const some = await untrusted.run(extensions, { x11Forwarding: true, check: true });
        assert.match(some.stdout, /vendor string:/);
        assert.doesNotMatch(some.stdout, /XTEST/, "an untrusted client does not");
      }

      // The real cookie as the "fake" one the server is given must not get through either: the
      // swap replaces the fake cookie with the generated one.
      const x11 = await setUpX11Forwarding(untrusted, {
        display: `:${display}`,
        xauthority: auth,
        trusted: false,
      });
      assert.notEqual(x11.authCookie, cookie);

      // Past the timeout, new X11 connections are refused (the set-up itself still works).
      await using expiring = await connect(f.host, {
        ...options,
        x11Display: { display: `:${display}`, xauthority: auth, trusted: false, timeout: 1 },
      });
      const late = await expiring.run("xdpyinfo >/dev/null 2>&1; echo $?", {
        x11Forwarding: true,
        check: true,
      });
      assert.notEqual(late.stdout.trim(), "0", "xdpyinfo could not open the display");

      // No cookie generated (xauth fails): the set-up fails rather than fall back to the real one.
      await using broken = await connect(f.host, {
        ...options,
        x11Display: {
          display: `:${display}`,
          xauthority: auth,
          trusted: false,
          xauthLocation: "/bin/false",
        },
      });
      await assert.rejects(
        broken.run("true", { x11Forwarding: true }),
        /Untrusted X11 forwarding set-up failed: \/bin\/false generated no cookie/,
      );
    });
  });
});
