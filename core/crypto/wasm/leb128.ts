/**
 * LEB128, the variable-length integer encoding of the WebAssembly binary format
 * (WebAssembly Core Specification §5.2.2): seven bits per byte, low bits first,
 * the top bit set on every byte but the last.
 *
 * @module
 */

/**
 * Appends `value` (an integer in 0..2^32−1) as unsigned LEB128 — the encoding of
 * counts, sizes, indices and memory offsets.
 *
 * @example
 * ```ts
 * import { writeUnsignedLeb128 } from "./leb128.ts";
 * const out: number[] = [];
 * writeUnsignedLeb128(out, 624485);
 * console.log(out); // [0xe5, 0x8e, 0x26]
 * ```
 */
export function writeUnsignedLeb128(out: number[], value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Cannot encode ${value} as an unsigned 32-bit LEB128`);
  }
  let v = value;
  do {
    const low = v % 128;
    v = Math.floor(v / 128);
    out.push(v === 0 ? low : low | 0x80);
  } while (v !== 0);
}

/**
 * Appends `value` as signed LEB128 — the encoding of `i32.const` (a number in
 * −2^31..2^32−1; values above 2^31−1 are taken as their two's-complement i32) and
 * `i64.const` (a bigint in −2^63..2^64−1, likewise).
 *
 * @example
 * ```ts
 * import { writeSignedLeb128 } from "./leb128.ts";
 * const out: number[] = [];
 * writeSignedLeb128(out, -123456);
 * console.log(out); // [0xc0, 0xbb, 0x78]
 * ```
 */
export function writeSignedLeb128(out: number[], value: number | bigint): void {
  let v: bigint;
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
      throw new RangeError(`Cannot encode ${value} as a signed 32-bit LEB128`);
    }
    v = BigInt(value | 0);
  } else {
    if (value < -(1n << 63n) || value >= 1n << 64n) {
      throw new RangeError(`Cannot encode ${value} as a signed 64-bit LEB128`);
    }
    v = BigInt.asIntN(64, value);
  }
  for (;;) {
    const low = Number(v & 0x7fn);
    v >>= 7n; // arithmetic shift: the sign is kept
    // Done when the rest is all sign bits and the sign bit of this byte agrees.
    const done = (v === 0n && (low & 0x40) === 0) || (v === -1n && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return;
  }
}
