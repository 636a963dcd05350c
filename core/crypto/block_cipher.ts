/**
 * The block-cipher seam of the legacy CBC ciphers (3DES, Blowfish, CAST-128,
 * SEED) and the CBC mode that runs them across packets.
 *
 * A block cipher works on one block held as big-endian 32-bit words (2 words
 * for a 64-bit block, 4 for a 128-bit one), in place: the ciphers are
 * word-oriented, so CBC converts bytes to words once per block and nothing is
 * allocated per packet.
 *
 * @module
 */

import type { PacketTransform } from "./cipher_mac.ts";

/** A keyed block cipher. */
export interface BlockCipher {
  /** Block size in bytes (8 or 16). */
  readonly blockSize: 8 | 16;
  /** Encrypts the block in `w` (big-endian words, `blockSize / 4` of them) in place. */
  encryptWords(w: Uint32Array): void;
  /** Decrypts the block in `w` in place. */
  decryptWords(w: Uint32Array): void;
}

function checkRange(blockSize: number, start: number, end: number, length: number): void {
  if (start < 0 || end > length || start > end || (end - start) % blockSize !== 0) {
    throw new RangeError(
      `CBC needs whole ${blockSize}-byte blocks inside the buffer, got ${start}..${end} of ${length}`,
    );
  }
}

/**
 * CBC mode over a {@link BlockCipher}, with the chain carried across calls (SSH
 * chains across packets: the last ciphertext block of one packet is the IV of
 * the next, RFC 4253 §6.3).
 *
 * @example Encrypt, then decrypt, two blocks with 3DES
 * ```ts
 * import { CbcTransform } from "./block_cipher.ts";
 * import { Des } from "./des.ts";
 * const key = new Uint8Array(24).fill(7), iv = new Uint8Array(8);
 * const data = new Uint8Array(16).fill(1);
 * new CbcTransform(new Des(key), iv, "encrypt").process(data, 0, 16);
 * new CbcTransform(new Des(key), iv, "decrypt").process(data, 0, 16);
 * console.log(data[0]); // 1
 * ```
 */
export class CbcTransform implements PacketTransform {
  readonly blockSize: number;
  readonly #cipher: BlockCipher;
  readonly #decrypt: boolean;
  readonly #words: number;
  readonly #chain: Uint32Array;
  readonly #w: Uint32Array;
  readonly #saved: Uint32Array;

  /** Starts a chain with `iv` (exactly one block). */
  constructor(cipher: BlockCipher, iv: Uint8Array, direction: "encrypt" | "decrypt") {
    if (iv.length !== cipher.blockSize) {
      throw new RangeError(`CBC needs a ${cipher.blockSize}-byte IV, got ${iv.length} bytes`);
    }
    this.#cipher = cipher;
    this.blockSize = cipher.blockSize;
    this.#decrypt = direction === "decrypt";
    this.#words = cipher.blockSize >> 2;
    this.#chain = new Uint32Array(this.#words);
    this.#w = new Uint32Array(this.#words);
    this.#saved = new Uint32Array(this.#words);
    for (let i = 0; i < this.#words; i++) this.#chain[i] = readWord(iv, 4 * i);
  }

  /** Encrypts or decrypts `data[start..end]` in place, continuing the chain. */
  process(data: Uint8Array, start: number, end: number): void {
    checkRange(this.blockSize, start, end, data.length);
    const n = this.#words, chain = this.#chain, w = this.#w, saved = this.#saved;
    const cipher = this.#cipher;
    for (let o = start; o < end; o += this.blockSize) {
      if (this.#decrypt) {
        for (let i = 0; i < n; i++) saved[i] = w[i] = readWord(data, o + 4 * i);
        cipher.decryptWords(w);
        for (let i = 0; i < n; i++) {
          writeWord(data, o + 4 * i, w[i]! ^ chain[i]!);
          chain[i] = saved[i]!;
        }
      } else {
        for (let i = 0; i < n; i++) w[i] = readWord(data, o + 4 * i) ^ chain[i]!;
        cipher.encryptWords(w);
        for (let i = 0; i < n; i++) {
          chain[i] = w[i]!;
          writeWord(data, o + 4 * i, w[i]!);
        }
      }
    }
  }
}

/**
 * Reads a big-endian 32-bit word.
 *
 * @example
 * ```ts
 * import { readWord } from "./block_cipher.ts";
 * console.log(readWord(new Uint8Array([1, 2, 3, 4]), 0).toString(16)); // "1020304"
 * ```
 */
export function readWord(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/**
 * Writes a big-endian 32-bit word.
 *
 * @example
 * ```ts
 * import { writeWord } from "./block_cipher.ts";
 * const b = new Uint8Array(4);
 * writeWord(b, 0, 0x01020304);
 * console.log(b); // Uint8Array [1, 2, 3, 4]
 * ```
 */
export function writeWord(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}

/**
 * Encrypts or decrypts whole blocks in ECB mode into a new array (for tests and
 * key files; the wire uses {@link CbcTransform}).
 *
 * @example
 * ```ts
 * import { ecb } from "./block_cipher.ts";
 * import { Des } from "./des.ts";
 * const out = ecb(new Des(new Uint8Array(8)), new Uint8Array(8), "encrypt");
 * console.log(out.length); // 8
 * ```
 */
export function ecb(
  cipher: BlockCipher,
  data: Uint8Array,
  direction: "encrypt" | "decrypt",
): Uint8Array {
  checkRange(cipher.blockSize, 0, data.length, data.length);
  const out = data.slice();
  const n = cipher.blockSize >> 2;
  const w = new Uint32Array(n);
  for (let o = 0; o < out.length; o += cipher.blockSize) {
    for (let i = 0; i < n; i++) w[i] = readWord(out, o + 4 * i);
    if (direction === "encrypt") cipher.encryptWords(w);
    else cipher.decryptWords(w);
    for (let i = 0; i < n; i++) writeWord(out, o + 4 * i, w[i]!);
  }
  return out;
}
