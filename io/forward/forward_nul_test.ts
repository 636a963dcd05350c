/**
 * Listen addresses and socket paths with a NUL never reach the server: OpenSSH's sshd reads
 * them as C strings and ends the whole connection (every session and forward on it) over a
 * tcpip-forward, streamlocal-forward or direct-streamlocal that holds one. The calls reject
 * with a RangeError and nothing is sent; the real-peer repro closed the connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loopback } from "../server/_loopback_test_util.ts";

test("remote forwards with a NUL in the listen host or path are refused before sending", async () => {
  const asked: string[] = [];
  await using lb = await loopback({
    serverRequested: (host) => (asked.push(host), true),
    unixServerRequested: (path) => (asked.push(path), true),
  });
  const { conn } = lb;
  await assert.rejects(
    conn.forwardRemotePort({
      listenHost: "127.0.0.1\0x",
      listenPort: 0,
      destHost: "127.0.0.1",
      destPort: 9,
    }),
    RangeError,
  );
  await assert.rejects(
    conn.startServer(() => {}, { listenHost: "a\0", listenPort: 0 }),
    RangeError,
  );
  await assert.rejects(
    conn.forwardRemotePath({ listenPath: "/tmp/x\0y", destPath: "/tmp/z" }),
    RangeError,
  );
  await assert.rejects(conn.startUnixServer(() => {}, { listenPath: "/tmp/x\0y" }), RangeError);
  assert.deepEqual(asked, []);
  // The connection is still of use.
  const l = await conn.startServer(() => {}, { listenHost: "127.0.0.1", listenPort: 0 });
  assert.ok(l.port > 0);
  await l.close();
});

test("forwardLocalPath() refuses a destination path with a NUL before listening", async () => {
  const opened: string[] = [];
  await using lb = await loopback({ unixConnectionRequested: (p) => (opened.push(p), false) });
  const dir = mkdtempSync(join(tmpdir(), "sshts-nul-"));
  try {
    const listenPath = join(dir, "l.sock");
    await assert.rejects(
      lb.conn.forwardLocalPath({ listenPath, destPath: "/tmp/x\0y" }).then(async (l) => {
        // The old behaviour: listening, and each connection's open carried the NUL.
        const s = net.connect(listenPath);
        s.on("error", () => {});
        await new Promise((r) => setTimeout(r, 200));
        s.destroy();
        await l.close();
      }),
      RangeError,
    );
    assert.deepEqual(opened, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("openUnixConnection() refuses a socket path with a NUL before sending the open", async () => {
  const opened: string[] = [];
  await using lb = await loopback({ unixConnectionRequested: (p) => (opened.push(p), false) });
  await assert.rejects(lb.conn.openUnixConnection("/tmp/x\0y"), RangeError);
  assert.deepEqual(opened, []);
  // The connection is still of use, and a plain path reaches the server.
  await assert.rejects(lb.conn.openUnixConnection("/tmp/plain.sock"));
  assert.deepEqual(opened, ["/tmp/plain.sock"]);
});

test("channel types, request names, commands and env with a NUL are refused before sending", async () => {
  const seen: string[] = [];
  await using lb = await loopback({
    processFactory: (p) => {
      seen.push(`ran ${JSON.stringify(p.command)} env ${JSON.stringify(p.env)}`);
      return p.write("ok\n");
    },
  });
  const { conn } = lb;
  await assert.rejects(conn.openChannel("x\0y"), RangeError);
  await assert.rejects(conn.globalRequest("a\0b"), RangeError);
  const ch = await conn.openChannel("session");
  await assert.rejects(ch.request("ex\0ec"), RangeError);
  ch.close();
  await assert.rejects(conn.run("echo a\0b"), RangeError);
  await assert.rejects(conn.run("echo", { env: { "A\0B": "1" } }), RangeError);
  await assert.rejects(conn.run("echo", { env: { A: "1\0" } }), RangeError);
  await assert.rejects(conn.run("echo", { term: "xterm\0" }), RangeError);
  await assert.rejects(conn.run({ subsystem: "sf\0tp" }), RangeError);
  assert.deepEqual(seen, []);
  // The connection is still of use.
  assert.equal((await conn.run("true", { env: { A: "1" } })).stdout, "ok\n");
  assert.equal(seen.length, 1);
});
