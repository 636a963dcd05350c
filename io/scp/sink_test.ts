import { test } from "node:test";
import assert from "node:assert/strict";
import { markTransient } from "../../core/transient_buffers.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { BackendTarget } from "./backend_io.ts";
import { runSink } from "./sink.ts";
import { SCPStream } from "./stream.ts";

const enc = new TextEncoder();

/** Channel-like chunks of `bytes`, each a buffer of its own marked as channel data is. */
function channelChunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += size) {
    const c = bytes.slice(o, o + size);
    markTransient(c);
    out.push(c);
  }
  return out;
}

test("runSink frees each input chunk once a copying target has consumed it whole", async () => {
  const data = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
  const stream = new Uint8Array([
    ...enc.encode(`C0644 ${data.length} a.bin\n`),
    ...data,
    0,
    ...enc.encode("C0600 3 b.txt\n"),
    ...enc.encode("xyz"),
    0,
  ]);
  const chunks = channelChunks(stream, 32 * 1024);
  let i = 0;
  const readable = new ReadableStream<Uint8Array>({
    pull: (c) => (i < chunks.length ? c.enqueue(chunks[i++]!) : c.close()),
  });
  const backend = new MemoryBackend();
  await backend.mkdir("/in", {});
  const target = await BackendTarget.open(backend, "/in");
  const { files, warnings } = await runSink(new SCPStream(readable, async () => {}), target, {
    recurse: false,
  });
  assert.equal(files, 2);
  assert.deepEqual(warnings, []);
  assert.deepEqual(backend.readFile("/in/a.bin"), data, "the bytes arrived intact");
  assert.deepEqual(backend.readFile("/in/b.txt"), enc.encode("xyz"));
  const freed = chunks.filter((c) => c.buffer.byteLength === 0).length;
  assert.ok(freed >= chunks.length - 1, `${freed} of ${chunks.length} chunks freed`);
});

test("BackendTarget.openFile() allocates its write buffers as data arrives, not when the C record does", async () => {
  const backend = new MemoryBackend();
  await backend.mkdir("/in", {});
  const target = await BackendTarget.open(backend, "/in");
  const before = process.memoryUsage().arrayBuffers;
  const files = [];
  // Idle `scp -t` channels: a C record for 1 MiB each and no data.
  for (let i = 0; i < 64; i++) {
    files.push(await target.openFile([], `f${i}`, 0o644, 1 << 20, undefined));
  }
  const grown = process.memoryUsage().arrayBuffers - before;
  assert.ok(grown < 16 << 20, `64 open files hold ${grown >> 20} MiB before any data`);
  // The data still arrives whole, across the buffers' growth and swaps.
  const data = new Uint8Array((1 << 20) * 3 + 5).map((_, i) => i * 31);
  const f = await target.openFile([], "big", 0o644, data.length, undefined);
  for (let off = 0; off < data.length; off += 32 * 1024) {
    await f.write(data.subarray(off, off + 32 * 1024));
  }
  await f.finish();
  assert.deepEqual(backend.readFile("/in/big"), data);
  for (const g of files) await g.abort();
});

test("runSink keeps at most 100 of a peer's warnings, counting the rest", async () => {
  // 10,000 warning records (they need no answer), full of bytes that escape to four each.
  const one = enc.encode(`\x01scp: ${"\x7f".repeat(1000)}\n`);
  const flood = new Uint8Array(one.length * 10_000);
  for (let i = 0; i < 10_000; i++) flood.set(one, i * one.length);
  let sent = false;
  const readable = new ReadableStream<Uint8Array>({
    pull: (c) => {
      if (sent) return c.close();
      sent = true;
      c.enqueue(flood);
    },
  });
  const backend = new MemoryBackend();
  await backend.mkdir("/in", {});
  const target = await BackendTarget.open(backend, "/in");
  const { warnings } = await runSink(new SCPStream(readable, async () => {}), target, {
    recurse: false,
  });
  const total = warnings.reduce((n, w) => n + w.length, 0);
  assert.ok(warnings.length <= 101, `${warnings.length} warnings kept`);
  assert.ok(total < 80 * 1024, `${total} bytes of warnings kept`);
  assert.match(warnings.at(-1)!, /^\(\d+ more warnings not kept\)$/);
  assert.equal(
    Number(/\d+/.exec(warnings.at(-1)!)![0]) + warnings.length - 1,
    10_000,
    "every warning counted",
  );
});
