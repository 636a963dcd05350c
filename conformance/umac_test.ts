/**
 * UMAC against OpenSSH, both ways: our client with each of `umac-64@openssh.com`,
 * `umac-128@openssh.com` and their `-etm` forms (and aes128-ctr, so the MAC is used) against
 * sshd 9.2 and 10.x, and OpenSSH's `ssh -m <mac>` against `listen()`. Each runs a command and
 * moves 1 MiB each way through `cat`, checked byte for byte, after checking what was negotiated.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { connect } from "../io/client/connect.ts";
import { conformanceTest } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { runSsh, SSH_CLIENTS, startServer, testShell } from "./server_fixture.ts";

const UMACS = [
  "umac-64-etm@openssh.com",
  "umac-128-etm@openssh.com",
  "umac-64@openssh.com",
  "umac-128@openssh.com",
] as const;

const VERSION = { "openssh": "9.2", "openssh-trixie": "10.x" } as const;

/** 1 MiB of seeded bytes (all 256 values, so nothing in the path can treat it as text). */
function payload(): Uint8Array {
  const b = new Uint8Array(1024 * 1024);
  let x = 0x1234567;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

const DATA = payload();
const DATA_SHA256 = createHash("sha256").update(DATA).digest("hex");
// runCommand() decodes ssh's output as UTF-8, so the ssh direction moves 1 MiB of ASCII.
const TEXT = DATA.map((b) => (b % 95 === 94 ? 10 : 32 + (b % 95)));
const TEXT_STRING = new TextDecoder().decode(TEXT);
const TEXT_SHA256 = createHash("sha256").update(TEXT).digest("hex");

for (const peer of ["openssh", "openssh-trixie"] as const) {
  conformanceTest(
    `connect() with each umac-* MAC and aes128-ctr runs a command and moves 1 MiB each way ` +
      `through OpenSSH ${VERSION[peer]} sshd`,
    { peers: [peer], timeoutMs: 120_000 },
    async () => {
      const f = await sharedPeer(peer);
      for (const mac of UMACS) {
        await using conn = await connect(f.host, {
          port: f.port,
          username: f.user.name,
          clientKeys: [f.clientKeys[0]!.privateKeyText],
          knownHosts: f.knownHostsPath,
          kexAlgs: ["curve25519-sha256"],
          encryptionAlgs: ["aes128-ctr"],
          macAlgs: [mac],
        });
        const a = conn.getExtraInfo().algorithms!;
        assert.equal(a.macC2S, mac);
        assert.equal(a.macS2C, mac);
        assert.equal(a.cipherC2S, "aes128-ctr");
        const echo = await conn.run("echo umac-ok", { check: true });
        assert.equal(String(echo.stdout).trim(), "umac-ok", mac);
        // 1 MiB up and the same 1 MiB back down, through the MAC in both directions.
        const r = await conn.run("cat", { input: DATA, encoding: null, check: true });
        const out = r.stdout as Uint8Array;
        assert.equal(out.length, DATA.length, mac);
        assert.equal(createHash("sha256").update(out).digest("hex"), DATA_SHA256, mac);
      }
    },
  );
}

for (const client of SSH_CLIENTS) {
  conformanceTest(
    `OpenSSH ${VERSION[client]} ssh -m <umac-*> -c aes128-ctr runs a command and moves 1 MiB ` +
      `each way through listen()`,
    { peers: [client], timeoutMs: 120_000 },
    async () => {
      const negotiated: string[] = [];
      await using server = await startServer({
        processFactory: async (p) => {
          const info = p.connection!.getExtraInfo().algorithms!;
          negotiated.push(`${info.cipherC2S} ${info.macC2S} ${info.macS2C}`);
          await testShell(p);
        },
      });
      for (const mac of UMACS) {
        const run = (command: string, input?: Uint8Array) =>
          runSsh(client, server, {
            identity: "ed25519",
            args: ["-m", mac, "-c", "aes128-ctr"],
            command,
          }, { ...(input ? { input } : {}), timeoutMs: 60_000 });
        const echo = await run("echo umac-ok");
        assert.equal(echo.status, 0, echo.stderr);
        assert.equal(echo.stdout.trim(), "umac-ok");
        assert.equal(negotiated.pop(), `aes128-ctr ${mac} ${mac}`);
        const r = await run("sha256", DATA);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout.trim(), DATA_SHA256, `${mac}: upload`);
        negotiated.pop();
        const c = await run("cat", TEXT);
        assert.equal(c.status, 0, c.stderr);
        assert.equal(c.stdout.length, TEXT_STRING.length, `${mac}: round trip length`);
        assert.equal(createHash("sha256").update(c.stdout).digest("hex"), TEXT_SHA256, mac);
      }
    },
  );
}
