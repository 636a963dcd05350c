/**
 * CAST-128 (RFC 2144) for the `cast128-cbc` SSH cipher (RFC 4253 §6.3: 128-bit
 * key, 64-bit block, so always the full 16 rounds).
 *
 * The key schedule is written as data: RFC 2144 §2.4 alternates between two
 * 128-bit buffers x and z, each step computing one 32-bit word of one from the
 * other through S5..S8, and derives four subkeys at a time from one of them.
 * The tables below list, for each formula, the byte indices it reads.
 *
 * @module
 */

import type { BlockCipher } from "./block_cipher.ts";
import { CAST128_SBOXES_HEX } from "./_cast128_sboxes.ts";

const SBOXES: readonly Uint32Array[] = CAST128_SBOXES_HEX.map((hex) => {
  const box = new Uint32Array(256);
  for (let i = 0; i < 256; i++) box[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return box;
});
const [S1, S2, S3, S4] = SBOXES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/**
 * One buffer step: `[dst word, src word, a, b, c, d, extra box, extra byte]`
 * means dst = src ^ S5[a] ^ S6[b] ^ S7[c] ^ S8[d] ^ S{box}[extra]. In the first
 * line of a step a..d index the source buffer (the destination is not written
 * yet); in the other lines they index the destination; `extra` always indexes
 * the source.
 */
type Step = readonly [number, number, number, number, number, number, number, number];

/** z from x (RFC 2144 §2.4, the four "z0z1z2z3 = x0x1x2x3 ^ ..." lines). */
const Z_FROM_X: readonly Step[] = [
  [0, 0, 13, 15, 12, 14, 7, 8],
  [1, 2, 0, 2, 1, 3, 8, 10],
  [2, 3, 7, 6, 5, 4, 5, 9],
  [3, 1, 10, 9, 11, 8, 6, 11],
];
/** x from z (the four "x0x1x2x3 = z8z9zAzB ^ ..." lines). */
const X_FROM_Z: readonly Step[] = [
  [0, 2, 5, 7, 4, 6, 7, 0],
  [1, 0, 0, 2, 1, 3, 8, 2],
  [2, 1, 7, 6, 5, 4, 5, 1],
  [3, 3, 10, 9, 11, 8, 6, 3],
];
/** Subkeys: S5[a] ^ S6[b] ^ S7[c] ^ S8[d] ^ S{box}[e], all from one buffer. */
type Subkey = readonly [number, number, number, number, number, number];
const K1_4: readonly Subkey[] = [
  [8, 9, 7, 6, 5, 2],
  [10, 11, 5, 4, 6, 6],
  [12, 13, 3, 2, 7, 9],
  [14, 15, 1, 0, 8, 12],
];
const K5_8: readonly Subkey[] = [
  [3, 2, 12, 13, 5, 8],
  [1, 0, 14, 15, 6, 13],
  [7, 6, 8, 9, 7, 3],
  [5, 4, 10, 11, 8, 7],
];
const K9_12: readonly Subkey[] = [
  [3, 2, 12, 13, 5, 9],
  [1, 0, 14, 15, 6, 12],
  [7, 6, 8, 9, 7, 2],
  [5, 4, 10, 11, 8, 6],
];
const K13_16: readonly Subkey[] = [
  [8, 9, 7, 6, 5, 3],
  [10, 11, 5, 4, 6, 7],
  [12, 13, 3, 2, 7, 8],
  [14, 15, 1, 0, 8, 13],
];

function byteOf(words: Uint32Array, i: number): number {
  return (words[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
}

function sbox(n: number, index: number): number {
  return SBOXES[n - 1]![index]!;
}

function step(dst: Uint32Array, src: Uint32Array, lines: readonly Step[]): void {
  lines.forEach(([d, s, a, b, c, e, box, extra], i) => {
    const from = i === 0 ? src : dst;
    dst[d] = src[s]! ^ sbox(5, byteOf(from, a)) ^ sbox(6, byteOf(from, b)) ^
      sbox(7, byteOf(from, c)) ^ sbox(8, byteOf(from, e)) ^ sbox(box, byteOf(src, extra));
  });
}

function subkeys(buf: Uint32Array, lines: readonly Subkey[], out: number[]): void {
  for (const [a, b, c, d, box, e] of lines) {
    out.push(
      (sbox(5, byteOf(buf, a)) ^ sbox(6, byteOf(buf, b)) ^ sbox(7, byteOf(buf, c)) ^
        sbox(8, byteOf(buf, d)) ^ sbox(box, byteOf(buf, e))) >>> 0,
    );
  }
}

/** The 32 subkeys: Km1..Km16 then the rotation keys Kr1..Kr16 (low 5 bits kept later). */
function keySchedule(key: Uint8Array): number[] {
  const x = new Uint32Array(4), z = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    x[i] = ((key[4 * i]! << 24) | (key[4 * i + 1]! << 16) | (key[4 * i + 2]! << 8) |
      key[4 * i + 3]!) >>> 0;
  }
  const out: number[] = [];
  for (let half = 0; half < 2; half++) {
    step(z, x, Z_FROM_X);
    subkeys(z, K1_4, out);
    step(x, z, X_FROM_Z);
    subkeys(x, K5_8, out);
    step(z, x, Z_FROM_X);
    subkeys(z, K9_12, out);
    step(x, z, X_FROM_Z);
    subkeys(x, K13_16, out);
  }
  return out;
}

function rotl(v: number, n: number): number {
  return n === 0 ? v : ((v << n) | (v >>> (32 - n)));
}

/**
 * CAST-128 with a 128-bit key as a {@link BlockCipher}.
 *
 * @example RFC 2144 Appendix B.1
 * ```ts
 * import { Cast128 } from "./cast128.ts";
 * const key = new Uint8Array([0x01, 0x23, 0x45, 0x67, 0x12, 0x34, 0x56, 0x78,
 *   0x23, 0x45, 0x67, 0x89, 0x34, 0x56, 0x78, 0x9a]);
 * const w = new Uint32Array([0x01234567, 0x89abcdef]);
 * new Cast128(key).encryptWords(w);
 * console.log(w[0]!.toString(16), w[1]!.toString(16)); // "238b4fe5" "847e44b2"
 * ```
 */
export class Cast128 implements BlockCipher {
  readonly blockSize = 8 as const;
  readonly #km = new Uint32Array(16);
  readonly #kr = new Uint8Array(16);

  /** Expands a 16-byte key. */
  constructor(key: Uint8Array) {
    if (key.length !== 16) {
      throw new RangeError(`CAST-128 key must be 16 bytes here (cast128-cbc), not ${key.length}`);
    }
    const k = keySchedule(key);
    for (let i = 0; i < 16; i++) {
      this.#km[i] = k[i]!;
      this.#kr[i] = k[16 + i]! & 31;
    }
  }

  /** Round i's f function (types 1, 2, 3 in turn, RFC 2144 §2.2). */
  #f(i: number, d: number): number {
    const km = this.#km[i]!, kr = this.#kr[i]!;
    switch (i % 3) {
      case 0: {
        const t = rotl((km + d) >>> 0, kr);
        return ((S1[t >>> 24]! ^ S2[(t >>> 16) & 0xff]!) - S3[(t >>> 8) & 0xff]! +
          S4[t & 0xff]!) >>> 0;
      }
      case 1: {
        const t = rotl((km ^ d) >>> 0, kr);
        return (((S1[t >>> 24]! - S2[(t >>> 16) & 0xff]!) + S3[(t >>> 8) & 0xff]!) ^
          S4[t & 0xff]!) >>> 0;
      }
      default: {
        const t = rotl((km - d) >>> 0, kr);
        return (((S1[t >>> 24]! + S2[(t >>> 16) & 0xff]!) ^ S3[(t >>> 8) & 0xff]!) -
          S4[t & 0xff]!) >>> 0;
      }
    }
  }

  /** Encrypts one block (2 big-endian words) in place. */
  encryptWords(w: Uint32Array): void {
    let l = w[0]!, r = w[1]!;
    for (let i = 0; i < 16; i++) {
      const t = (l ^ this.#f(i, r)) >>> 0;
      l = r;
      r = t;
    }
    w[0] = r;
    w[1] = l;
  }

  /** Decrypts one block in place. */
  decryptWords(w: Uint32Array): void {
    let l = w[0]!, r = w[1]!;
    for (let i = 15; i >= 0; i--) {
      const t = (l ^ this.#f(i, r)) >>> 0;
      l = r;
      r = t;
    }
    w[0] = r;
    w[1] = l;
  }
}
