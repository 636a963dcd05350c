/**
 * SEED (RFC 4269, the Korean standard block cipher) for the
 * `seed-cbc@ssh.com` SSH cipher: 128-bit key, 128-bit block, 16 Feistel rounds.
 *
 * G (RFC 4269 §2) looks up each byte of a word in one of four 32-bit tables
 * built from the two S-boxes and the masks m0..m3; F mixes a 64-bit half with a
 * round key through three G calls; the key schedule (§3) derives each round key
 * pair from sums of the key words and the constants KC_i (0x9e3779b9 rotated
 * left by i), rotating half of the key by 8 bits each round.
 *
 * @module
 */

import type { BlockCipher } from "./block_cipher.ts";
import { SEED_S1_HEX, SEED_S2_HEX } from "./_seed_sboxes.ts";

function bytes(hex: string): Uint8Array {
  const out = new Uint8Array(256);
  for (let i = 0; i < 256; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The masks of G: byte j of the output takes S-box bits under M[(j + input byte) % 4]. */
const M = [0xfc, 0xf3, 0xcf, 0x3f];

/** SS0..SS3: SS_i[x] = the contribution of input byte i with value x to G's output. */
const SS: readonly Uint32Array[] = (() => {
  const s1 = bytes(SEED_S1_HEX), s2 = bytes(SEED_S2_HEX);
  return [0, 1, 2, 3].map((i) => {
    const box = i % 2 === 0 ? s1 : s2;
    const t = new Uint32Array(256);
    for (let x = 0; x < 256; x++) {
      let v = 0;
      // Output byte j (0 = least significant) is S(x) & M[(i + j) % 4].
      for (let j = 0; j < 4; j++) v |= (box[x]! & M[(i + j) % 4]!) << (8 * j);
      t[x] = v >>> 0;
    }
    return t;
  });
})();
const [SS0, SS1, SS2, SS3] = SS as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

function g(x: number): number {
  return (SS0[x & 0xff]! ^ SS1[(x >>> 8) & 0xff]! ^ SS2[(x >>> 16) & 0xff]! ^
    SS3[x >>> 24]!) >>> 0;
}

/** The key-schedule constants KC_0..KC_15. */
const KC = Array.from(
  { length: 16 },
  (_, i) => i === 0 ? 0x9e3779b9 : ((0x9e3779b9 << i) | (0x9e3779b9 >>> (32 - i))) >>> 0,
);

/**
 * SEED as a {@link BlockCipher}.
 *
 * @example RFC 4269 Appendix B, first vector
 * ```ts
 * import { Seed } from "./seed.ts";
 * const w = new Uint32Array([0x00010203, 0x04050607, 0x08090a0b, 0x0c0d0e0f]);
 * new Seed(new Uint8Array(16)).encryptWords(w);
 * console.log(w[0]!.toString(16)); // "5ebac6e0"
 * ```
 */
export class Seed implements BlockCipher {
  readonly blockSize = 16 as const;
  /** Round keys K_i,0 and K_i,1, interleaved. */
  readonly #k = new Uint32Array(32);

  /** Runs the key schedule for a 16-byte key. */
  constructor(key: Uint8Array) {
    if (key.length !== 16) throw new RangeError(`SEED key must be 16 bytes, not ${key.length}`);
    const word = (i: number) =>
      ((key[i]! << 24) | (key[i + 1]! << 16) | (key[i + 2]! << 8) | key[i + 3]!) >>> 0;
    let a = word(0), b = word(4), c = word(8), d = word(12);
    for (let i = 0; i < 16; i++) {
      this.#k[2 * i] = g((a + c - KC[i]!) >>> 0);
      this.#k[2 * i + 1] = g((b - d + KC[i]!) >>> 0);
      if (i % 2 === 0) {
        // A||B rotated right by 8 bits.
        const t = a;
        a = ((a >>> 8) | (b << 24)) >>> 0;
        b = ((b >>> 8) | (t << 24)) >>> 0;
      } else {
        // C||D rotated left by 8 bits.
        const t = c;
        c = ((c << 8) | (d >>> 24)) >>> 0;
        d = ((d << 8) | (t >>> 24)) >>> 0;
      }
    }
  }

  /** F(R, K_i) written to out[0], out[1]. */
  #f(i: number, r0: number, r1: number, out: Uint32Array): void {
    let t0 = (r0 ^ this.#k[2 * i]!) >>> 0;
    let t1 = (r1 ^ this.#k[2 * i + 1]!) >>> 0;
    t1 = g((t1 ^ t0) >>> 0);
    t0 = g((t0 + t1) >>> 0);
    t1 = g((t1 + t0) >>> 0);
    t0 = (t0 + t1) >>> 0;
    out[0] = t0;
    out[1] = t1;
  }

  #run(w: Uint32Array, decrypt: boolean): void {
    let l0 = w[0]!, l1 = w[1]!, r0 = w[2]!, r1 = w[3]!;
    const f = new Uint32Array(2);
    for (let n = 0; n < 16; n++) {
      this.#f(decrypt ? 15 - n : n, r0, r1, f);
      const t0 = (l0 ^ f[0]!) >>> 0, t1 = (l1 ^ f[1]!) >>> 0;
      l0 = r0;
      l1 = r1;
      r0 = t0;
      r1 = t1;
    }
    // No swap after the last round.
    w[0] = r0;
    w[1] = r1;
    w[2] = l0;
    w[3] = l1;
  }

  /** Encrypts one block (4 big-endian words) in place. */
  encryptWords(w: Uint32Array): void {
    this.#run(w, false);
  }

  /** Decrypts one block in place. */
  decryptWords(w: Uint32Array): void {
    this.#run(w, true);
  }
}
