// Hostile input: whatever the peer sends, decompress() returns at most maxOutput bytes
// or throws a CompressionError, and it returns promptly.
import { test } from "node:test";
import assert from "node:assert/strict";
import zlib from "node:zlib";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { CompressionError } from "./compression_error.ts";
import { textLike } from "./_test_data.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

const MAX = 32 * 1024 + 64;

/** Feeds packets in order; checks each result; stops at the first (typed) error. */
function feed(packets: readonly Uint8Array[], maxOutput = MAX): "ok" | "error" {
  const d = new ZlibDecompressor("zlib");
  for (const packet of packets) {
    try {
      const out = d.decompress(packet, maxOutput);
      assert.ok(out.length <= maxOutput, `output ${out.length} over ${maxOutput}`);
    } catch (e) {
      assert.ok(e instanceof CompressionError, `untyped error: ${e}`);
      assert.equal(e.code, "ERR_COMPRESSION");
      assert.throws(() => d.decompress(packet, maxOutput), CompressionError, "stays failed");
      return "error";
    }
  }
  return "ok";
}

test("ZlibDecompressor.decompress() survives random bytes", () => {
  const rand = seededRandom(fuzzSeed(1));
  let errors = 0;
  const runs = fuzzRuns(1500);
  for (let i = 0; i < runs; i++) {
    const sizes = rand(3);
    const packets = [...sizes].map((s) => rand(s));
    // Half the cases start with a valid header so the fuzz reaches the block decoder.
    const first = packets[0];
    if (i % 2 === 0 && first && first.length >= 2) first.set([0x78, 0x9c]);
    if (feed(packets) === "error") errors++;
  }
  assert.ok(errors > runs * 2 / 3, `most random input is rejected (${errors} of ${runs})`);
});

test("ZlibDecompressor.decompress() survives mutated valid streams", () => {
  const rand = seededRandom(fuzzSeed(2));
  const c = new ZlibCompressor("zlib");
  const valid = Array.from({ length: 12 }, (_, i) => c.compress(textLike(i, 300 + i * 500)));
  let errors = 0;
  const runs = fuzzRuns(800);
  for (let i = 0; i < runs; i++) {
    const packets = valid.map((p) => p.slice());
    const r = rand(8);
    const target = packets[(r[0] ?? 0) % packets.length];
    if (!target || target.length === 0) continue;
    const pos = (((r[1] ?? 0) << 8) | (r[2] ?? 0)) % target.length;
    const how = (r[3] ?? 0) % 3;
    if (how === 0) target[pos] = (target[pos] ?? 0) ^ (1 << ((r[4] ?? 0) % 8));
    else if (how === 1) target[pos] = r[5] ?? 0;
    else packets[(r[0] ?? 0) % packets.length] = target.subarray(0, pos); // truncate
    if (feed(packets) === "error") errors++;
  }
  assert.ok(errors > runs / 8, `corruption is usually detected (${errors} of ${runs})`);
});

test("ZlibDecompressor.decompress() stops a decompression bomb at maxOutput", () => {
  // 64 MiB of zeros deflate to ~64 KiB; one packet must not inflate past the limit.
  const bomb = zlib.deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 });
  assert.ok(bomb.length < 256 * 1024, "the bomb fits in one SSH packet");
  const d = new ZlibDecompressor("zlib");
  const started = performance.now();
  assert.throws(
    () => d.decompress(new Uint8Array(bomb), 256 * 1024),
    (e: unknown) => e instanceof CompressionError && /more than 262144 bytes/.test(e.message),
  );
  assert.ok(performance.now() - started < 2000, "stops early instead of inflating it all");
});

test("ZlibDecompressor.decompress() stops a bomb built from our own stream", () => {
  const c = new ZlibCompressor("zlib", { level: 9 });
  const d = new ZlibDecompressor("zlib");
  assert.equal(d.decompress(c.compress(new Uint8Array(1000)), MAX).length, 1000);
  const bomb = c.compress(new Uint8Array(8 * 1024 * 1024));
  assert.ok(bomb.length < 16 * 1024, `${bomb.length} bytes`);
  assert.throws(() => d.decompress(bomb, MAX), CompressionError);
});
