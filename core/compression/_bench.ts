/**
 * Throughput of zlib compression and decompression on text-like data, in the 32 KiB
 * packets that SSH channel data typically comes in. Run it with any runtime:
 * `deno run core/compression/_bench.ts`, `node core/compression/_bench.ts`,
 * `bun core/compression/_bench.ts`. It prints MB/s of uncompressed data (medians).
 *
 * @module
 */

import { textLike } from "./_test_data.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

const PACKET = 32 * 1024;
const TOTAL = 8 * 1024 * 1024;
const ROUNDS = 7;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Measures one level; returns MB/s for compress and decompress and the size ratio. */
function measure(level: number, data: Uint8Array): [number, number, number] {
  const compressRates: number[] = [];
  const decompressRates: number[] = [];
  let ratio = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const c = new ZlibCompressor("zlib", { level });
    const packets: Uint8Array[] = [];
    let t = performance.now();
    for (let o = 0; o < data.length; o += PACKET) {
      packets.push(c.compress(data.subarray(o, o + PACKET)));
    }
    compressRates.push(data.length / 1e6 / ((performance.now() - t) / 1000));
    ratio = packets.reduce((n, p) => n + p.length, 0) / data.length;
    const d = new ZlibDecompressor("zlib");
    t = performance.now();
    for (const p of packets) d.decompress(p, PACKET + 1024);
    decompressRates.push(data.length / 1e6 / ((performance.now() - t) / 1000));
  }
  return [median(compressRates), median(decompressRates), ratio];
}

const data = textLike(1, TOTAL);
for (const level of [1, 3, 6, 9]) {
  const [c, d, ratio] = measure(level, data);
  console.log(
    `level ${level}: compress ${c.toFixed(0)} MB/s, decompress ${d.toFixed(0)} MB/s, ` +
      `size ${(ratio * 100).toFixed(1)}%`,
  );
}
