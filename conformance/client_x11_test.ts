/**
 * X11 forwarding from our client through OpenSSH's X11Forwarding to a local
 * Xvfb: the fake cookie goes to sshd, the real one (from an .Xauthority the
 * test writes with xauth) only to Xvfb; xdpyinfo runs remotely, with the set-up given and
 * with `x11Forwarding: true` alone (the display from the environment).
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

conformanceTest("X11 forwarding to Xvfb through openssh: xdpyinfo runs remotely", {
  peers: ["openssh"],
}, async () => {
  if (!existsSync("/usr/bin/Xvfb") || !existsSync("/usr/bin/xauth")) {
    throw new Error("Xvfb and xauth are needed: apt-get install xvfb xauth x11-utils");
  }
  const dir = mkdtempSync(join(tmpdir(), "sshts-x11-"));
  const display = 40 + Math.floor(Math.random() * 50);
  const auth = join(dir, "Xauthority");
  const cookie = Array.from(
    crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  spawnSync("/usr/bin/xauth", ["-f", auth, "add", `:${display}`, "MIT-MAGIC-COOKIE-1", cookie]);
  const xvfb = spawn("/usr/bin/Xvfb", [`:${display}`, "-auth", auth, "-nolisten", "tcp"], {
    stdio: "ignore",
  });
  try {
    for (let i = 0; i < 100 && !existsSync(`/tmp/.X11-unix/X${display}`); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
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
  } finally {
    xvfb.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
