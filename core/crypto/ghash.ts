/**
 * GHASH (NIST SP 800-38D §6.4) with per-key tables, for the portable AES-GCM.
 *
 * Why our own: noble's GHASH builds its tables per message (its GCM is one-shot),
 * which dominates for SSH-sized packets, and copies its input. Here the tables are
 * built once per key and reused for every packet of a direction.
 *
 * Method: 4-bit tables per nibble position — T[i][v] = (v placed at nibble i)·H
 * for i in 0..31, v in 0..15 — so X·H is the XOR of 32 table rows, with no
 * reduction step at run time. 32·16 rows of 4 words = 8 KiB per key (an 8-bit
 * variant would be twice as fast and 64 KiB per key per direction; too much for
 * a server with many connections on the portable path).
 *
 * @module
 */

/**
 * A GHASH state keyed by H. `update` pads each call to a 16-byte boundary (GCM
 * hashes AAD and ciphertext as separately padded segments).
 *
 * @example GHASH of one block
 * ```ts
 * import { Ghash } from "./ghash.ts";
 * const g = new Ghash(new Uint8Array(16).fill(0x42));
 * g.update(new Uint8Array(16).fill(1), 0, 16);
 * const out = new Uint8Array(16);
 * g.digestInto(out, 0);
 * ```
 */
export class Ghash {
  readonly #t = new Int32Array(32 * 16 * 4);
  // The accumulator Y as big-endian words.
  #y0 = 0;
  #y1 = 0;
  #y2 = 0;
  #y3 = 0;

  /** Builds the tables for the hash key `h` (16 bytes: E_K(0^128) for GCM). */
  constructor(h: Uint8Array) {
    if (h.length !== 16) throw new RangeError(`GHASH needs a 16-byte key, got ${h.length}`);
    // B_k = x^k·H for k = 0..127, in GCM's reflected bit order: multiplying by x
    // is a right shift of the big-endian 128-bit value, reducing by 0xE1 << 120.
    let b0 = be32(h, 0), b1 = be32(h, 4), b2 = be32(h, 8), b3 = be32(h, 12);
    const t = this.#t;
    for (let i = 0; i < 32; i++) {
      // Bits 4i..4i+3 of X; the nibble's most significant bit is bit 4i.
      const base = i * 64;
      for (let bit = 3; bit >= 0; bit--) {
        // B_{4i + (3 - bit)} contributes to every v with that bit set.
        const m = 1 << bit;
        for (let v = 0; v < 16; v++) {
          if (v & m) {
            const o = base + v * 4;
            t[o]! ^= b0, t[o + 1]! ^= b1, t[o + 2]! ^= b2, t[o + 3]! ^= b3;
          }
        }
        const lsb = b3 & 1;
        b3 = (b3 >>> 1) | (b2 << 31);
        b2 = (b2 >>> 1) | (b1 << 31);
        b1 = (b1 >>> 1) | (b0 << 31);
        b0 = (b0 >>> 1) ^ (-lsb & 0xe1000000);
      }
    }
  }

  /** Clears the accumulator (start of a new message). */
  reset(): void {
    this.#y0 =
      this.#y1 =
      this.#y2 =
      this.#y3 =
        0;
  }

  /** Absorbs `data[start..end]`, zero-padding a final partial block. */
  update(data: Uint8Array, start: number, end: number): void {
    const full = start + ((end - start) & ~15);
    for (let i = start; i < full; i += 16) {
      this.#block(be32(data, i), be32(data, i + 4), be32(data, i + 8), be32(data, i + 12));
    }
    if (full < end) {
      const w = [0, 0, 0, 0];
      for (let i = full; i < end; i++) {
        const k = i - full;
        w[k >>> 2]! |= data[i]! << (24 - 8 * (k & 3));
      }
      this.#block(w[0]!, w[1]!, w[2]!, w[3]!);
    }
  }

  /** Absorbs one block given as four big-endian words. */
  updateWords(w0: number, w1: number, w2: number, w3: number): void {
    this.#block(w0, w1, w2, w3);
  }

  /** Writes Y to `out[o..o+16]`. */
  digestInto(out: Uint8Array, o: number): void {
    putBE(out, o, this.#y0), putBE(out, o + 4, this.#y1);
    putBE(out, o + 8, this.#y2), putBE(out, o + 12, this.#y3);
  }

  #block(x0: number, x1: number, x2: number, x3: number): void {
    const t = this.#t;
    const a0 = this.#y0 ^ x0, a1 = this.#y1 ^ x1, a2 = this.#y2 ^ x2, a3 = this.#y3 ^ x3;
    let z0 = 0, z1 = 0, z2 = 0, z3 = 0;
    // Words a0..a3 hold nibbles 0..7, 8..15, 16..23, 24..31 (most significant first).
    let base = 0;
    for (let s = 28; s >= 0; s -= 4, base += 64) {
      let o = base + (((a0 >>> s) & 15) << 2);
      z0 ^= t[o]!, z1 ^= t[o + 1]!, z2 ^= t[o + 2]!, z3 ^= t[o + 3]!;
      o = base + 512 + (((a1 >>> s) & 15) << 2);
      z0 ^= t[o]!, z1 ^= t[o + 1]!, z2 ^= t[o + 2]!, z3 ^= t[o + 3]!;
      o = base + 1024 + (((a2 >>> s) & 15) << 2);
      z0 ^= t[o]!, z1 ^= t[o + 1]!, z2 ^= t[o + 2]!, z3 ^= t[o + 3]!;
      o = base + 1536 + (((a3 >>> s) & 15) << 2);
      z0 ^= t[o]!, z1 ^= t[o + 1]!, z2 ^= t[o + 2]!, z3 ^= t[o + 3]!;
    }
    this.#y0 = z0, this.#y1 = z1, this.#y2 = z2, this.#y3 = z3;
  }
}

function be32(b: Uint8Array, i: number): number {
  return (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
}

function putBE(b: Uint8Array, i: number, x: number): void {
  b[i] = x >>> 24;
  b[i + 1] = (x >>> 16) & 0xff;
  b[i + 2] = (x >>> 8) & 0xff;
  b[i + 3] = x & 0xff;
}
