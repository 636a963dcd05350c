/**
 * SFTPClient.close() against a server that never answers the channel's CLOSE: an `ssh2`
 * Server whose SFTP stream its application does not end (a common test double). The close
 * is bounded (SFTP_CLOSE_WAIT_MS) instead of waiting for good. The server runs under the
 * Node 24 in node_modules, whatever runtime runs this test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { SFTP_CLOSE_WAIT_MS } from "./session.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

test("SFTPClient.close() against a server that never closes its side returns after the wait", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-ssh2-sftp-"));
  const hostKey = generatePrivateKey("ed25519");
  const script = join(dir, "server.cjs");
  writeFileSync(
    script,
    `const { Server } = require(${JSON.stringify(join(ROOT, "node_modules", "ssh2"))});
const srv = new Server({ hostKeys: [${
      JSON.stringify(hostKey.exportPrivateKey("openssh"))
    }] }, (client) => {
  client.on("authentication", (ctx) => ctx.method === "password" ? ctx.accept() : ctx.reject(["password"]));
  client.on("ready", () => client.on("session", (accept) => {
    const session = accept();
    session.on("sftp", (accept) => {
      const sftp = accept();
      sftp.on("REALPATH", (id) => sftp.name(id, [{ filename: "/", longname: "", attrs: {} }]));
      // Never sftp.end(): the channel's CLOSE goes unanswered.
    });
  }));
  client.on("error", () => {});
});
srv.listen(0, "127.0.0.1", () => console.log(srv.address().port));
process.stdin.on("end", () => process.exit(0)); process.stdin.resume();
`,
  );
  const child = spawn(join(ROOT, "node_modules", ".bin", "node"), [script], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once("data", (b: Uint8Array) => resolve(Number(new TextDecoder().decode(b))));
      child.once("error", reject);
    });
    await using conn = await connect("127.0.0.1", {
      port,
      username: "u",
      password: "p",
      knownHosts: null,
      agent: false,
      config: false,
    });
    const sftp = await conn.startSftp();
    assert.equal(await sftp.realpath("."), "/");
    const t0 = performance.now();
    let guard: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      sftp.close(),
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error("sftp.close() never returned")), 30_000);
      }),
    ]);
    clearTimeout(guard);
    // Bounded: resolved once the wait was over (and not long after).
    const waited = performance.now() - t0;
    assert.ok(waited >= SFTP_CLOSE_WAIT_MS - 50, `closed after ${waited} ms`);
  } finally {
    child.stdin!.end();
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
