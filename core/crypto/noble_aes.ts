/**
 * AES-CTR and AES-CBC as stateful in-place transforms over noble's AES block
 * function, for the portable provider.
 *
 * Why not noble's `ctr()`/`cbc()`: those are one-shot (they expand the key and
 * allocate output on every call, and cannot continue a counter or a chain across
 * calls). SSH-CTR runs one keystream across all packets of a direction, CBC
 * chains across packets, and GCM needs the counter per packet — so we expand the
 * key once (`unsafe.expandKeyLE`) and drive `unsafe.encrypt`/`unsafe.decrypt`
 * (noble 2.x's documented low-level exports; the version is pinned and the
 * known-answer tests catch any change) ourselves, XORing into the caller's buffer.
 *
 * Only whole 16-byte blocks are processed: every SSH packet (and every GCM
 * payload) is block-aligned by the padding rules.
 *
 * @module
 */

import { unsafe } from "@noble/ciphers/aes.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reads 4 bytes as noble's state word (little-endian byte order). */
function le32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function bswap(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

function checkBlocks(what: string, start: number, end: number, length: number): void {
  if (start < 0 || end > length || start > end || ((end - start) & 15) !== 0) {
    throw new RangeError(
      `${what} needs whole 16-byte blocks inside the buffer, got ${start}..${end} of ${length}`,
    );
  }
}

function checkKey(what: string, key: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`${what} needs a 16, 24 or 32-byte key, got ${key.length} bytes`);
  }
}

/**
 * AES in counter mode with a counter that persists across calls. `increment`
 * is "128" for SSH's aes*-ctr (RFC 4344: the whole block is a big-endian
 * counter) or "32" for GCM (only the last 32 bits count, wrapping).
 *
 * @example Encrypt two packets with one running keystream
 * ```ts
 * import { AesCtr } from "./noble_aes.ts";
 * const ctr = new AesCtr(new Uint8Array(16), new Uint8Array(16), "128");
 * const a = new Uint8Array(32), b = new Uint8Array(16);
 * ctr.xor(a, 0, 32);
 * ctr.xor(b, 0, 16); // continues where the first call stopped
 * ```
 */
export class AesCtr {
  readonly #xk: Uint32Array;
  readonly #inc128: boolean;
  // The counter block as big-endian words: c0 is the most significant.
  #c0 = 0;
  #c1 = 0;
  #c2 = 0;
  #c3 = 0;
  #viewBuffer: ArrayBufferLike | null = null;
  #view: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

  /** Expands `key` once; `counter` is the initial 16-byte counter block. */
  constructor(key: Uint8Array, counter: Uint8Array, increment: "128" | "32") {
    checkKey("AES-CTR", key);
    this.#xk = unsafe.expandKeyLE(key);
    this.#inc128 = increment === "128";
    this.setCounter(counter);
  }

  /** Sets the 16-byte counter block. */
  setCounter(counter: Uint8Array): void {
    if (counter.length !== 16) {
      throw new RangeError(`AES-CTR needs a 16-byte counter block, got ${counter.length} bytes`);
    }
    this.#c0 = bswap(le32(counter, 0)) >>> 0;
    this.#c1 = bswap(le32(counter, 4)) >>> 0;
    this.#c2 = bswap(le32(counter, 8)) >>> 0;
    this.#c3 = bswap(le32(counter, 12)) >>> 0;
  }

  /** Sets the counter from its four big-endian words (GCM: IV words and 1). */
  setCounterWords(c0: number, c1: number, c2: number, c3: number): void {
    this.#c0 = c0 >>> 0, this.#c1 = c1 >>> 0, this.#c2 = c2 >>> 0, this.#c3 = c3 >>> 0;
  }

  /** Encrypts one block of the current counter into `out[o..o+16]` without advancing. */
  encryptCounterInto(out: Uint8Array, o: number): void {
    const e = unsafe.encrypt(
      this.#xk,
      bswap(this.#c0),
      bswap(this.#c1),
      bswap(this.#c2),
      bswap(this.#c3),
    );
    storeLE(out, o, e.s0), storeLE(out, o + 4, e.s1);
    storeLE(out, o + 8, e.s2), storeLE(out, o + 12, e.s3);
  }

  /** Advances the counter by one block. */
  increment(): void {
    this.#c3 = (this.#c3 + 1) >>> 0;
    if (this.#c3 === 0 && this.#inc128) {
      this.#c2 = (this.#c2 + 1) >>> 0;
      if (this.#c2 === 0) {
        this.#c1 = (this.#c1 + 1) >>> 0;
        if (this.#c1 === 0) this.#c0 = (this.#c0 + 1) >>> 0;
      }
    }
  }

  /** XORs the keystream into `data[start..end]` (whole blocks) and advances the counter. */
  xor(data: Uint8Array, start: number, end: number): void {
    checkBlocks("AES-CTR", start, end, data.length);
    const xk = this.#xk;
    const at = data.byteOffset + start;
    let c0 = this.#c0, c1 = this.#c1, c2 = this.#c2, c3 = this.#c3;
    const inc128 = this.#inc128;
    if (LITTLE_ENDIAN && (at & 3) === 0) {
      if (this.#viewBuffer !== data.buffer) {
        this.#viewBuffer = data.buffer;
        this.#view = new Uint32Array(data.buffer, 0, data.buffer.byteLength >>> 2);
      }
      const u = this.#view;
      const wEnd = (at + end - start) >>> 2;
      for (let w = at >>> 2; w < wEnd; w += 4) {
        const e = unsafe.encrypt(xk, bswap(c0), bswap(c1), bswap(c2), bswap(c3));
        u[w]! ^= e.s0;
        u[w + 1]! ^= e.s1;
        u[w + 2]! ^= e.s2;
        u[w + 3]! ^= e.s3;
        c3 = (c3 + 1) >>> 0;
        if (c3 === 0 && inc128) {
          c2 = (c2 + 1) >>> 0;
          if (c2 === 0) (c1 = (c1 + 1) >>> 0), c1 === 0 && (c0 = (c0 + 1) >>> 0);
        }
      }
    } else {
      for (let i = start; i < end; i += 16) {
        const e = unsafe.encrypt(xk, bswap(c0), bswap(c1), bswap(c2), bswap(c3));
        xorLE(data, i, e.s0), xorLE(data, i + 4, e.s1);
        xorLE(data, i + 8, e.s2), xorLE(data, i + 12, e.s3);
        c3 = (c3 + 1) >>> 0;
        if (c3 === 0 && inc128) {
          c2 = (c2 + 1) >>> 0;
          if (c2 === 0) (c1 = (c1 + 1) >>> 0), c1 === 0 && (c0 = (c0 + 1) >>> 0);
        }
      }
    }
    this.#c0 = c0, this.#c1 = c1, this.#c2 = c2, this.#c3 = c3;
  }
}

function storeLE(b: Uint8Array, i: number, x: number): void {
  b[i] = x & 0xff;
  b[i + 1] = (x >>> 8) & 0xff;
  b[i + 2] = (x >>> 16) & 0xff;
  b[i + 3] = x >>> 24;
}

function xorLE(b: Uint8Array, i: number, x: number): void {
  b[i]! ^= x & 0xff;
  b[i + 1]! ^= (x >>> 8) & 0xff;
  b[i + 2]! ^= (x >>> 16) & 0xff;
  b[i + 3]! ^= x >>> 24;
}

/**
 * AES in CBC mode whose chain (the IV) persists across calls, as SSH's aes*-cbc
 * requires. One instance encrypts or decrypts, never both.
 *
 * @example
 * ```ts
 * import { AesCbc } from "./noble_aes.ts";
 * const enc = new AesCbc(new Uint8Array(16), new Uint8Array(16), "encrypt");
 * const dec = new AesCbc(new Uint8Array(16), new Uint8Array(16), "decrypt");
 * const block = new Uint8Array(16).fill(9);
 * enc.process(block, 0, 16);
 * dec.process(block, 0, 16); // block is 9s again
 * ```
 */
export class AesCbc {
  readonly #xk: Uint32Array;
  readonly #decrypt: boolean;
  // The chaining value as noble state words (little-endian byte order).
  #v0: number;
  #v1: number;
  #v2: number;
  #v3: number;

  /** Expands `key` once (for decryption, the inverse schedule). */
  constructor(key: Uint8Array, iv: Uint8Array, direction: "encrypt" | "decrypt") {
    checkKey("AES-CBC", key);
    if (iv.length !== 16) throw new RangeError(`AES-CBC needs a 16-byte IV, got ${iv.length}`);
    this.#decrypt = direction === "decrypt";
    this.#xk = this.#decrypt ? unsafe.expandKeyDecLE(key) : unsafe.expandKeyLE(key);
    this.#v0 = le32(iv, 0), this.#v1 = le32(iv, 4), this.#v2 = le32(iv, 8), this.#v3 = le32(iv, 12);
  }

  /** Encrypts or decrypts `data[start..end]` (whole blocks) in place, continuing the chain. */
  process(data: Uint8Array, start: number, end: number): void {
    checkBlocks("AES-CBC", start, end, data.length);
    const xk = this.#xk;
    let v0 = this.#v0, v1 = this.#v1, v2 = this.#v2, v3 = this.#v3;
    if (this.#decrypt) {
      for (let i = start; i < end; i += 16) {
        const c0 = le32(data, i), c1 = le32(data, i + 4);
        const c2 = le32(data, i + 8), c3 = le32(data, i + 12);
        const d = unsafe.decrypt(xk, c0, c1, c2, c3);
        storeLE(data, i, d.s0 ^ v0), storeLE(data, i + 4, d.s1 ^ v1);
        storeLE(data, i + 8, d.s2 ^ v2), storeLE(data, i + 12, d.s3 ^ v3);
        v0 = c0, v1 = c1, v2 = c2, v3 = c3;
      }
    } else {
      for (let i = start; i < end; i += 16) {
        const e = unsafe.encrypt(
          xk,
          le32(data, i) ^ v0,
          le32(data, i + 4) ^ v1,
          le32(data, i + 8) ^ v2,
          le32(data, i + 12) ^ v3,
        );
        v0 = e.s0, v1 = e.s1, v2 = e.s2, v3 = e.s3;
        storeLE(data, i, v0), storeLE(data, i + 4, v1);
        storeLE(data, i + 8, v2), storeLE(data, i + 12, v3);
      }
    }
    this.#v0 = v0, this.#v1 = v1, this.#v2 = v2, this.#v3 = v3;
  }
}
