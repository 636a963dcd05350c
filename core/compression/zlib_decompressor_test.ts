import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { CompressionError } from "./compression_error.ts";
import { textLike } from "./_test_data.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

const MAX = 256 * 1024 + 64;

/** Payloads of every kind an SSH connection sends, in one sequence. */
function mixedPayloads(): Uint8Array[] {
  const rand = seededRandom(42);
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < 120; i++) {
    const kind = i % 6;
    const size = (rand(2)[0] ?? 0) * 37 + 1;
    if (kind === 0) payloads.push(textLike(i, size));
    else if (kind === 1) payloads.push(rand(size));
    else if (kind === 2) payloads.push(new Uint8Array(0));
    else if (kind === 3) payloads.push(textLike(7, size)); // repeats earlier text
    else if (kind === 4) payloads.push(new Uint8Array([94, 0, 0, 0, 1, 0, 0, 0, 1, 108]));
    else payloads.push(new Uint8Array(size).fill(i));
  }
  payloads.push(textLike(99, 256 * 1024), rand(256 * 1024), textLike(99, 256 * 1024));
  return payloads;
}

test("ZlibDecompressor.decompress() round-trips many packets of one stream", () => {
  const c = new ZlibCompressor("zlib@openssh.com");
  const d = new ZlibDecompressor("zlib@openssh.com");
  let wire = 0;
  let plain = 0;
  for (const [i, payload] of mixedPayloads().entries()) {
    const packet = c.compress(payload);
    assert.deepEqual(d.decompress(packet, MAX), payload, `packet ${i}`);
    wire += packet.length;
    plain += payload.length;
  }
  assert.ok(wire < plain * 0.8, `stream state carried over: ${wire} of ${plain} bytes`);
});

test("ZlibDecompressor.decompress() round-trips at every level", () => {
  const payloads = mixedPayloads().slice(0, 40);
  for (let level = 0; level <= 9; level++) {
    const c = new ZlibCompressor("zlib", { level });
    const d = new ZlibDecompressor("zlib");
    for (const payload of payloads) {
      assert.deepEqual(d.decompress(c.compress(payload), MAX), payload);
    }
  }
});

test("ZlibDecompressor.decompress() accepts a stream cut at any byte", () => {
  // A peer using Z_PARTIAL_FLUSH (as OpenSSH does) leaves bits for the next packet.
  const c = new ZlibCompressor("zlib");
  const payloads = mixedPayloads().slice(0, 60);
  const parts = payloads.map((p) => c.compress(p));
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((o, p) => (stream.set(p, o), o + p.length), 0);
  const expected = payloads.flatMap((p) => [...p]);
  const rand = seededRandom(3);
  const d = new ZlibDecompressor("zlib");
  const got: number[] = [];
  for (let o = 0; o < stream.length;) {
    const n = Math.min(stream.length - o, (rand(1)[0] ?? 0) % 40);
    got.push(...d.decompress(stream.subarray(o, o + n), MAX));
    o += n;
  }
  assert.deepEqual(got, expected);
});

test("ZlibDecompressor.decompress() allows exactly maxOutput bytes", () => {
  const packet = new ZlibCompressor("zlib").compress(textLike(1, 50_000));
  assert.equal(new ZlibDecompressor("zlib").decompress(packet, 50_000).length, 50_000);
  assert.equal(new ZlibDecompressor("zlib").decompress(packet, 50_001).length, 50_000);
  assert.throws(() => new ZlibDecompressor("zlib").decompress(packet, 49_999), CompressionError);
  assert.throws(() => new ZlibDecompressor("zlib").decompress(packet, 0), CompressionError);
});

test("ZlibDecompressor.decompress() refuses all input after an error", () => {
  const c = new ZlibCompressor("zlib");
  const d = new ZlibDecompressor("zlib");
  assert.throws(() => d.decompress(c.compress(new Uint8Array(100)), 10), CompressionError);
  assert.throws(
    () => d.decompress(c.compress(new Uint8Array(1)), MAX),
    (e: unknown) => e instanceof CompressionError && /failed earlier/.test(e.message),
  );
});

test("ZlibDecompressor.decompress() rejects a stream the peer ends", () => {
  // 78 9c, then a final fixed-Huffman block holding only end-of-block.
  const d = new ZlibDecompressor("zlib");
  assert.throws(
    () => d.decompress(new Uint8Array([0x78, 0x9c, 0x03, 0x00]), MAX),
    (e: unknown) => e instanceof CompressionError && e.code === "ERR_COMPRESSION" && e.reason === 6,
  );
});

test("ZlibDecompressor.decompress() rejects a preset dictionary and bad headers", () => {
  const cases = [
    [0x78, 0xbb, 0, 0, 0, 1], // FDICT set
    [0x1f, 0x8b, 8, 0], // gzip
    [0x78, 0x9d], // header check fails
    [0x88, 0x98], // window larger than 32 KiB
    [0x7a, 0x9c], // not deflate (zlib's check bits would fit otherwise)
  ];
  for (const bytes of cases) {
    assert.throws(
      () => new ZlibDecompressor("zlib").decompress(new Uint8Array(bytes), MAX),
      CompressionError,
      bytes.join(","),
    );
  }
});

test("ZlibDecompressor.decompress() returns nothing for empty input", () => {
  const d = new ZlibDecompressor("zlib");
  assert.equal(d.decompress(new Uint8Array(0), 0).length, 0);
  assert.equal(d.decompress(new Uint8Array([0x78]), 0).length, 0, "half a header waits");
  assert.equal(d.decompress(new Uint8Array([0x9c]), 0).length, 0);
});

test("ZlibDecompressor.decompress() rejects a bad maxOutput as misuse", () => {
  const d = new ZlibDecompressor("zlib");
  for (const max of [-1, 1.5, Number.NaN, Infinity]) {
    assert.throws(() => d.decompress(new Uint8Array(0), max), LocalProtocolError);
  }
  assert.equal(d.decompress(new ZlibCompressor("zlib").compress(new Uint8Array(3)), 3).length, 3);
});
