/**
 * The read and write pipelines over a fake session that answers in random order
 * with random short reads: every byte arrives once at its offset, and the bytes
 * the pipeline holds (requested and not yet handed to the sink, or written and
 * not yet acknowledged) stay within the requests in flight, however slow the
 * sink — the bound that keeps a 1 GiB get's memory flat.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SFTPResult } from "../../sftp/client_engine.ts";
import type { SFTPRequest } from "../../sftp/messages.ts";
import { pipelinedRead, WritePipe } from "./pipeline.ts";
import type { SFTPSession } from "./session.ts";

/** A seeded xorshift generator (the tests are reproducible). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const byteAt = (off: number) => (off * 7 + (off >>> 13)) & 0xff;

/** A session whose file is `size` bytes of {@link byteAt}; replies come in random order. */
class FakeSession {
  readonly size: number;
  readonly random: () => number;
  /** Bytes asked for by reads not yet answered, and their peak. */
  outstanding = 0;
  peakOutstanding = 0;
  inFlight = 0;
  peakInFlight = 0;
  written = new Map<number, number>();
  shortReads = 2;
  constructor(size: number, seed: number) {
    this.size = size;
    this.random = rng(seed);
  }
  request(req: SFTPRequest): Promise<SFTPResult> {
    this.inFlight++;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    // 0 to 3 macrotask turns: replies overtake each other.
    const turns = Math.floor(this.random() * 4);
    const later = (f: () => SFTPResult) =>
      new Promise<SFTPResult>((resolve) => {
        const step = (n: number) => {
          if (n === 0) {
            this.inFlight--;
            resolve(f());
          } else setTimeout(() => step(n - 1), 0);
        };
        step(turns);
      });
    if (req.type === "read") {
      return later(() => {
        if (req.offset >= this.size) return { kind: "eof" };
        let n = Math.min(req.length, this.size - req.offset);
        // Two short reads late in the file (each one shrinks later requests, as OpenSSH's).
        if (this.shortReads > 0 && req.offset > this.size * 0.75 && this.random() < 0.2) {
          this.shortReads--;
          n = Math.max(1, Math.floor(n / 2));
        }
        const data = new Uint8Array(n);
        for (let i = 0; i < n; i++) data[i] = byteAt(req.offset + i);
        return { kind: "data", data };
      });
    }
    if (req.type === "write") {
      const { offset, data } = req;
      return later(() => {
        for (let i = 0; i < data.length; i += 97) {
          assert.equal(data[i], byteAt(offset + i), `byte at ${offset + i}`);
        }
        this.written.set(offset, data.length);
        return { kind: "ok" };
      });
    }
    throw new Error(`unexpected ${req.type}`);
  }
}

test("pipelinedRead() holds at most maxRequests + 1 requests' bytes with a slow sink", async () => {
  const requestSize = 32 * 1024;
  const maxRequests = 16;
  const size = 8 * 1024 * 1024 + 12345;
  const fake = new FakeSession(size, 7);
  const got = new Uint8Array(size);
  const seen = new Uint8Array(size);
  // Bytes the pipeline is responsible for: asked for and not yet answered, or answered and
  // not yet through the sink. A short reply gives back what it did not carry (the pipeline
  // asks for that again).
  let held = 0;
  let peakHeld = 0;
  const session = {
    request: async (req: SFTPRequest) => {
      const want = req.type === "read" ? Math.min(req.length, Math.max(0, size - req.offset)) : 0;
      held += want;
      peakHeld = Math.max(peakHeld, held);
      const r = await fake.request(req);
      held -= want - (r.kind === "data" ? r.data.length : 0);
      return r;
    },
  } as unknown as SFTPSession;
  let turns = 0;
  const r = await pipelinedRead(
    session,
    new Uint8Array(4),
    0,
    { requestSize, maxRequests, sizeHint: size },
    async (off, data) => {
      assert.equal(seen.subarray(off, off + data.length).indexOf(1), -1, `overlap at ${off}`);
      seen.fill(1, off, off + data.length);
      got.set(data, off);
      // A slow disk: a macrotask turn for most replies, a few more for some.
      const wait = fake.random() < 0.1 ? 4 : 1;
      for (let i = 0; i < wait; i++) await new Promise((res) => setTimeout(res, 0));
      turns++;
      held -= data.length;
    },
  );
  assert.equal(r.error, undefined);
  assert.equal(r.bytes, size);
  assert.equal(r.highwater, size);
  assert.equal(seen.indexOf(0), -1);
  for (let i = 0; i < size; i += 4099) assert.equal(got[i], byteAt(i));
  assert.equal(fake.shortReads, 0, "the short reads happened");
  assert.ok(turns > size / requestSize);
  assert.ok(fake.peakInFlight <= maxRequests + 1, `peak in flight ${fake.peakInFlight}`);
  assert.ok(r.peakRequests > 1 && r.peakRequests <= maxRequests + 1);
  assert.ok(
    peakHeld <= (maxRequests + 1) * requestSize,
    `held ${peakHeld} bytes, more than ${(maxRequests + 1) * requestSize}`,
  );
  assert.ok(peakHeld >= (maxRequests - 1) * requestSize, "the pipeline did fill up");
});

test("WritePipe keeps at most maxRequests writes unacknowledged and writes every offset once", async () => {
  const chunk = 16 * 1024;
  const maxRequests = 8;
  const size = 4 * 1024 * 1024 + 77;
  const fake = new FakeSession(size, 11);
  const session = fake as unknown as SFTPSession;
  const pipe = new WritePipe(session, new Uint8Array(4), 0, maxRequests);
  let peak = 0;
  for (let off = 0; off < size; off += chunk) {
    const n = Math.min(chunk, size - off);
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) data[i] = byteAt(off + i);
    await pipe.push(data);
    peak = Math.max(peak, pipe.inFlight);
    assert.ok(pipe.inFlight < maxRequests, "push returns only once there is room");
  }
  await pipe.finish();
  assert.equal(pipe.acked, size);
  assert.equal(pipe.peakRequests, maxRequests);
  assert.ok(fake.peakInFlight <= maxRequests);
  assert.ok(peak > 1);
  let total = 0;
  for (const [off, n] of [...fake.written].sort((a, b) => a[0] - b[0])) {
    assert.equal(off, total, "writes continue each other");
    total += n;
  }
  assert.equal(total, size);
});

test("pipelinedRead with a window starts no request that far past the lowest one unanswered", async () => {
  // The read at 3000 is answered 50 ms late: meanwhile nothing at 3000 + window or past it.
  const size = 200_000;
  const asked: number[] = [];
  let waiting = true;
  let beyond = 0;
  const session = {
    readSize: 1000,
    request(req: SFTPRequest): Promise<SFTPResult> {
      if (req.type !== "read") throw new Error("reads only");
      asked.push(req.offset);
      if (waiting && req.offset >= 3000 + 8000) beyond++;
      const data = new Uint8Array(Math.max(0, Math.min(req.length, size - req.offset)));
      const reply = (): SFTPResult => data.length ? { kind: "data", data } : { kind: "eof" };
      if (req.offset === 3000) {
        return new Promise((r) =>
          setTimeout(() => {
            waiting = false;
            r(reply());
          }, 50)
        );
      }
      return Promise.resolve(reply());
    },
  } as unknown as SFTPSession;
  let delivered = 0;
  const r = await pipelinedRead(
    session,
    new Uint8Array(4),
    0,
    { requestSize: 1000, maxRequests: 8, window: 8000 },
    (_off, d) => void (delivered += d.length),
  );
  assert.equal(r.error, undefined);
  assert.equal(delivered, size);
  assert.equal(beyond, 0, "nothing beyond the window while 3000 waited");
  assert.ok(asked.length > 200, "the rest was read once it came");
});
