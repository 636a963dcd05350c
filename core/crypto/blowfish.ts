/**
 * Blowfish (Schneier, 1993) for the `blowfish-cbc` SSH cipher (RFC 4253 §6.3:
 * 128-bit key, 64-bit block). The initial P-array and S-boxes are the
 * fractional hex digits of pi ({@link PI_HEX_DIGITS}); the key schedule XORs the
 * key into P and then replaces P and the S-boxes with successive encryptions of
 * an all-zero block.
 *
 * @module
 */

import type { BlockCipher } from "./block_cipher.ts";
import { PI_HEX_DIGITS } from "./blowfish_pi.ts";

/** Blowfish keys are 4 to 56 bytes (32 to 448 bits). */
const MIN_KEY_BYTES = 4;
const MAX_KEY_BYTES = 56;

let initial: Uint32Array | undefined;
function initialState(): Uint32Array {
  if (!initial) {
    initial = new Uint32Array(18 + 4 * 256);
    for (let i = 0; i < initial.length; i++) {
      initial[i] = parseInt(PI_HEX_DIGITS.slice(i * 8, i * 8 + 8), 16);
    }
  }
  return initial;
}

/**
 * Blowfish as a {@link BlockCipher}.
 *
 * @example
 * ```ts
 * import { Blowfish } from "./blowfish.ts";
 * const bf = new Blowfish(new Uint8Array(16));
 * const w = new Uint32Array(2);
 * bf.encryptWords(w);
 * console.log(w[0]!.toString(16)); // "4ef99745"
 * ```
 */
export class Blowfish implements BlockCipher {
  readonly blockSize = 8 as const;
  readonly #p: Uint32Array;
  readonly #s0: Uint32Array;
  readonly #s1: Uint32Array;
  readonly #s2: Uint32Array;
  readonly #s3: Uint32Array;

  /** Runs the key schedule for a 4..56-byte key. */
  constructor(key: Uint8Array) {
    if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
      throw new RangeError(
        `Blowfish key must be ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes, not ${key.length}`,
      );
    }
    const state = initialState().slice();
    this.#p = state.subarray(0, 18);
    this.#s0 = state.subarray(18, 274);
    this.#s1 = state.subarray(274, 530);
    this.#s2 = state.subarray(530, 786);
    this.#s3 = state.subarray(786, 1042);
    let k = 0;
    for (let i = 0; i < 18; i++) {
      let w = 0;
      for (let j = 0; j < 4; j++) {
        w = (w << 8) | key[k]!;
        k = (k + 1) % key.length;
      }
      this.#p[i] = this.#p[i]! ^ w;
    }
    const block = new Uint32Array(2);
    for (let i = 0; i < state.length; i += 2) {
      this.encryptWords(block);
      state[i] = block[0]!;
      state[i + 1] = block[1]!;
    }
  }

  #f(x: number): number {
    const a = this.#s0[x >>> 24]!, b = this.#s1[(x >>> 16) & 0xff]!;
    return (((a + b) ^ this.#s2[(x >>> 8) & 0xff]!) + this.#s3[x & 0xff]!) >>> 0;
  }

  /** Encrypts one block (2 big-endian words) in place. */
  encryptWords(w: Uint32Array): void {
    const p = this.#p;
    let l = w[0]!, r = w[1]!;
    for (let i = 0; i < 16; i += 2) {
      l ^= p[i]!;
      r ^= this.#f(l >>> 0);
      r ^= p[i + 1]!;
      l ^= this.#f(r >>> 0);
    }
    w[0] = r ^ p[17]!;
    w[1] = l ^ p[16]!;
  }

  /** Decrypts one block in place. */
  decryptWords(w: Uint32Array): void {
    const p = this.#p;
    let l = w[0]!, r = w[1]!;
    for (let i = 17; i > 1; i -= 2) {
      l ^= p[i]!;
      r ^= this.#f(l >>> 0);
      r ^= p[i - 1]!;
      l ^= this.#f(r >>> 0);
    }
    w[0] = r ^ p[0]!;
    w[1] = l ^ p[1]!;
  }
}
