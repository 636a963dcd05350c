import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { concatAligned, connectBunSocket } from "./bun_socket.ts";
import { currentRuntime } from "./env.ts";
import { countingController } from "./_signal_test_util.ts";

test(
  "connectBunSocket frees each read's buffer once the handler returned; slice() copies outlive it",
  { skip: currentRuntime() !== "bun" && "Bun.connect only" },
  async () => {
    const payload = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 31) & 0xff);
    const server = net.createServer((sock) => sock.end(payload));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as net.AddressInfo;
    const seen: Uint8Array[] = [];
    const kept: Uint8Array[] = [];
    let notPlain = 0;
    const ended = Promise.withResolvers<void>();
    const sock = await connectBunSocket("127.0.0.1", port);
    sock.setHandlers({
      data: (chunk) => {
        assert.ok(!seen.some((s) => s.buffer === chunk.buffer), "a buffer of its own per read");
        seen.push(chunk);
        if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype) notPlain++;
        kept.push(chunk.slice()); // what SocketHandlers.data asks of handlers that keep bytes
      },
      end: () => ended.resolve(),
      error: (e) => ended.reject(e),
      drain: () => {},
      close: () => {},
    });
    await ended.promise;
    sock.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    const all = new Uint8Array(payload.length);
    let o = 0;
    for (const k of kept) {
      all.set(k, o);
      o += k.length;
    }
    assert.equal(notPlain, 0, "chunks are plain Uint8Arrays (a Buffer's slice() is a view)");
    assert.deepEqual(all, payload, "every byte kept, though the read buffers were freed");
    assert.ok(seen.length > 0);
    for (const s of seen) assert.equal(s.buffer.byteLength, 0, "the read's buffer was freed");
  },
);

test(
  "connectBunSocket: a refused connect takes its abort listener off the caller's signal",
  { skip: currentRuntime() !== "bun" && "Bun.connect only" },
  async () => {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r)); // nothing listens there now
    const ac = countingController();
    for (let i = 0; i < 5; i++) {
      await assert.rejects(connectBunSocket("127.0.0.1", port, ac.signal));
    }
    assert.equal(ac.listening(), 0);
  },
);

test(
  "connectBunSocket: an abort rejects while the connect still waits; a late socket is closed",
  { skip: currentRuntime() !== "bun" && "Bun.connect only" },
  async () => {
    // A connect that hangs (a host that drops SYNs): Bun.connect settles only when we say.
    const bun = (globalThis as { Bun?: { connect: unknown } }).Bun!;
    const realConnect = bun.connect;
    const connecting = Promise.withResolvers<unknown>();
    bun.connect = () => connecting.promise;
    try {
      const ac = countingController();
      const why = new Error("aborted by caller");
      const p = connectBunSocket("127.0.0.1", 1, ac.signal);
      const outcome = p.then(() => "resolved", (e) => e);
      ac.abort(why);
      assert.equal(await outcome, why, "rejected with the reason before the connect settled");
      let terminated = 0;
      connecting.resolve({ terminate: () => void terminated++ });
      await connecting.promise;
      await Promise.resolve();
      assert.equal(terminated, 1, "the socket that connected after the abort is closed");
      assert.equal(ac.listening(), 0);
    } finally {
      bun.connect = realConnect;
    }
  },
);

test("concatAligned joins chunks in order with the largest at an address matching its own mod 16", () => {
  const big = new Uint8Array(5000).map((_, i) => i & 0xff).subarray(3);
  const head = new Uint8Array([1, 2, 3, 4]), tag = new Uint8Array(8).fill(9);
  const joined = concatAligned([head, big, tag]);
  assert.deepEqual([...joined], [...head, ...big, ...tag]);
  assert.equal((joined.byteOffset + head.length) % 16, big.byteOffset % 16);
  // Small batches are joined from the start of a buffer of their own.
  assert.equal(concatAligned([head, tag]).byteOffset, 0);
});
