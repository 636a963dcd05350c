/**
 * Pull-style remote forwarding through the package entry point: `conn.listenRemote()` /
 * `listenRemoteUnix()` with `accept()` and `for await`, the backlog bound, aborts and the
 * end of the listener. Our client against our server (against OpenSSH's sshd:
 * conformance/client_forward_test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_ACCEPT_BACKLOG, SSHError } from "./mod.ts";
import { loopbackPair } from "./_mod_test_util.ts";

function pair() {
  return loopbackPair({ serverRequested: () => true, unixServerRequested: () => true });
}

/** Connects to the server's forwarded port or path, sends `text`, returns what comes back. */
function roundTrip(where: number | string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = typeof where === "number" ? net.connect(where, "127.0.0.1") : net.connect(where);
    let got = "";
    s.on("data", (b: Uint8Array) => (got += new TextDecoder().decode(b)));
    s.on("connect", () => s.end(text));
    s.on("close", () => resolve(got));
    s.on(
      "error",
      (e: Error & { code?: string }) => e.code === "ECONNRESET" ? resolve(got) : reject(e),
    );
  });
}

test("listenRemote(): connections are accepted one by one and with for await", async () => {
  await using p = await pair();
  await using l = await p.conn.listenRemote({ listenPort: 0 });
  assert.ok(l.port > 0);
  // accept(): the connection waits in the queue until taken.
  const first = roundTrip(l.port, "first\n");
  const c = await l.accept();
  assert.equal(c.info.port, l.port);
  await c.readable.pipeTo(c.writable);
  assert.equal(await first, "first\n");
  // for await: each connection in turn, until the listener closes.
  const served: string[] = [];
  const loop = (async () => {
    for await (const conn of l) {
      served.push(conn.info.originHost ?? "");
      await conn.readable.pipeTo(conn.writable);
    }
  })();
  assert.equal(await roundTrip(l.port, "second\n"), "second\n");
  assert.equal(await roundTrip(l.port, "third\n"), "third\n");
  await l.close();
  await loop; // the iteration ended with the listener
  assert.equal(served.length, 2);
  await assert.rejects(
    l.accept(),
    (e: unknown) => e instanceof SSHError && e.code === "ERR_CHANNEL",
  );
});

test("listenRemote(): at most backlog connections wait; one more is closed at once", async () => {
  await using p = await pair();
  await using l = await p.conn.listenRemote({ listenPort: 0, backlog: 2 });
  assert.equal(DEFAULT_ACCEPT_BACKLOG, 16);
  const socks = [0, 1, 2].map(() => net.connect(l.port, "127.0.0.1"));
  const ended = socks.map((s) => new Promise((r) => (s.on("close", r), s.on("error", r))));
  for (let i = 0; i < 200 && l.pending < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(l.pending, 2);
  // Which one came third is the network's choice: that one was refused, its socket ends.
  await Promise.race(ended);
  assert.equal(l.pending, 2);
  const a = await l.accept();
  assert.equal(l.pending, 1);
  a.close();
  for (const s of socks) s.destroy();
  await assert.rejects(p.conn.listenRemote({ listenPort: 0, backlog: 0 }), RangeError);
});

test("accept() stops when its signal aborts, and ends when the connection goes", async () => {
  const p = await pair();
  const l = await p.conn.listenRemote({ listenPort: 0 });
  const ac = new AbortController();
  const waiting = l.accept({ signal: ac.signal });
  ac.abort(new Error("no longer waiting"));
  await assert.rejects(waiting, /no longer waiting/);
  const pendingAccept = assert.rejects(l.accept(), (e: unknown) => e instanceof SSHError);
  await p.conn.close();
  await pendingAccept;
  await l.closed;
  await p.server.close();
});

test("listenRemoteUnix(): a socket path on the server, accepted pull-style", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-accept-"));
  try {
    await using p = await pair();
    const path = join(dir, "app.sock");
    await using l = await p.conn.listenRemoteUnix({ listenPath: path });
    assert.equal(l.path, path);
    const reply = roundTrip(path, "over unix\n");
    const c = await l.accept();
    await c.readable.pipeTo(c.writable);
    assert.equal(await reply, "over unix\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an iterator's return() while its next() waits withdraws it: the next connection stays queued", async () => {
  await using p = await pair();
  await using l = await p.conn.listenRemote({ listenPort: 0 });
  const it = l[Symbol.asyncIterator]();
  const waiting = it.next();
  await it.return!();
  assert.deepEqual(await waiting, { done: true, value: undefined });
  const sock = net.connect(l.port, "127.0.0.1");
  for (let i = 0; i < 200 && l.pending < 1; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(l.pending, 1, "queued for the next accept, not handed to the abandoned next()");
  const c = await l.accept();
  c.close();
  sock.destroy();
});
