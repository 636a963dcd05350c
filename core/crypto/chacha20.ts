/**
 * ChaCha20 keystream XOR, in place, for the chacha20-poly1305@openssh.com hot path.
 *
 * One block function serves both layouts of the last four state words:
 * - the original (DJB, 64-bit nonce) layout OpenSSH uses: word 12 = block counter,
 *   word 13 = counter high word (always 0 here), words 14–15 = the 8-byte nonce;
 * - RFC 8439 (96-bit nonce): word 12 = block counter, words 13–15 = the nonce.
 * The caller passes words 13–15; the counter is 32-bit and never carries into
 * word 13 (a packet is far below the 256 GiB that would take).
 *
 * Why our own: it XORs the keystream straight into the caller's buffer, a word at
 * a time when the buffer is 4-byte aligned, with no per-call allocation or
 * argument copies (noble's `chacha20orig` copies and validates on every call).
 *
 * The packet path prefers the WebAssembly SIMD ChaCha20 (`./wasm/chacha20_module.ts`,
 * ≈ 1.7–2.2× this one) where the engine has SIMD; this one remains for the length
 * field and Poly1305 key next to native ChaCha20, and as the fallback.
 *
 * @module
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * An expanded ChaCha20 key: the 8 key words, plus a reusable keystream block for
 * tails and unaligned data. Create once per key, reuse for every packet.
 *
 * @example Encrypt in place with the original 64-bit-nonce layout
 * ```ts
 * import { ChaCha20Key, chacha20XorInPlace } from "./chacha20.ts";
 * const key = new ChaCha20Key(new Uint8Array(32));
 * const data = new TextEncoder().encode("attack at dawn");
 * chacha20XorInPlace(key, 1, 0, 0, 0, data);
 * ```
 */
export class ChaCha20Key {
  /** The key as eight little-endian words. */
  readonly words: Uint32Array = new Uint32Array(8);
  /** Scratch for one keystream block. */
  readonly block: Uint32Array = new Uint32Array(16);
  /** The same scratch as bytes (little-endian keystream order). */
  readonly blockBytes: Uint8Array = new Uint8Array(this.block.buffer);
  #viewBuffer: ArrayBufferLike | null = null;
  #view: Uint32Array<ArrayBufferLike> | null = null;

  /** Expands a 32-byte key. */
  constructor(key: Uint8Array) {
    if (key.length !== 32) {
      throw new RangeError(`ChaCha20 needs a 32-byte key, got ${key.length} bytes`);
    }
    for (let i = 0; i < 8; i++) {
      const p = 4 * i;
      this.words[i] = key[p]! | (key[p + 1]! << 8) | (key[p + 2]! << 16) | (key[p + 3]! << 24);
    }
  }

  /** A word view of `buffer` from offset 0, cached while the caller reuses its buffer. */
  viewOf(buffer: ArrayBufferLike): Uint32Array {
    if (this.#viewBuffer !== buffer || this.#view === null) {
      this.#viewBuffer = buffer;
      this.#view = new Uint32Array(buffer, 0, buffer.byteLength >>> 2);
    }
    return this.#view;
  }
}

/**
 * XORs the ChaCha20 keystream into `data[start..end]` in place, starting at block
 * `counter`; `n13..n15` are state words 13–15 (see the module doc). Partial
 * blocks are allowed; the keystream then restarts at a block boundary on the
 * next call (callers here always start a fresh counter per packet).
 *
 * @example RFC 8439 layout: nonce words from a 12-byte nonce
 * ```ts
 * import { ChaCha20Key, chacha20XorInPlace } from "./chacha20.ts";
 * const key = new ChaCha20Key(new Uint8Array(32).fill(1));
 * const buf = new Uint8Array(100);
 * chacha20XorInPlace(key, 1, 0x09000000, 0x4a000000, 0, buf);
 * ```
 */
export function chacha20XorInPlace(
  key: ChaCha20Key,
  counter: number,
  n13: number,
  n14: number,
  n15: number,
  data: Uint8Array,
  start = 0,
  end: number = data.length,
): void {
  if (start < 0 || end > data.length || start > end) {
    throw new RangeError(`ChaCha20 range ${start}..${end} is outside 0..${data.length}`);
  }
  const at = data.byteOffset + start;
  const fullEnd = start + ((end - start) & ~63);
  let ctr = counter >>> 0;
  if (fullEnd > start) {
    if (LITTLE_ENDIAN && (at & 3) === 0) {
      const words = key.viewOf(data.buffer);
      xorBlocks(key.words, ctr, n13, n14, n15, words, at >>> 2, (fullEnd - start) >>> 6);
      ctr = (ctr + ((fullEnd - start) >>> 6)) >>> 0;
    } else {
      for (let p = start; p < fullEnd; p += 64) {
        keystreamBlock(key, ctr, n13, n14, n15);
        xorBytes(data, p, key.blockBytes, 64);
        ctr = (ctr + 1) >>> 0;
      }
    }
  }
  if (fullEnd < end) {
    keystreamBlock(key, ctr, n13, n14, n15);
    xorBytes(data, fullEnd, key.blockBytes, end - fullEnd);
  }
}

/**
 * Writes one 64-byte keystream block (block `counter`) into `key.blockBytes`.
 * Used for the Poly1305 key (block 0) and for tails.
 *
 * @example The Poly1305 one-time key of chacha20-poly1305@openssh.com
 * ```ts
 * import { ChaCha20Key, chacha20Block } from "./chacha20.ts";
 * const k2 = new ChaCha20Key(new Uint8Array(32));
 * chacha20Block(k2, 0, 0, 0, 0);
 * const polyKey = k2.blockBytes.subarray(0, 32);
 * ```
 */
export function chacha20Block(
  key: ChaCha20Key,
  counter: number,
  n13: number,
  n14: number,
  n15: number,
): void {
  keystreamBlock(key, counter >>> 0, n13, n14, n15);
}

function xorBytes(data: Uint8Array, p: number, ks: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) data[p + i]! ^= ks[i]!;
}

function keystreamBlock(key: ChaCha20Key, ctr: number, n13: number, n14: number, n15: number) {
  const b = key.block;
  b.fill(0);
  xorBlocks(key.words, ctr, n13, n14, n15, b, 0, 1);
  if (!LITTLE_ENDIAN) {
    // blockBytes must read as the little-endian keystream.
    for (let i = 0; i < 16; i++) {
      const x = b[i]!;
      b[i] = ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
    }
  }
}

/** XORs `count` keystream blocks into words `u[w..]` (native-endian words = LE bytes on LE). */
function xorBlocks(
  k: Uint32Array,
  counter: number,
  n13: number,
  n14: number,
  n15: number,
  u: Uint32Array,
  w: number,
  count: number,
): void {
  const k0 = k[0]!, k1 = k[1]!, k2 = k[2]!, k3 = k[3]!, k4 = k[4]!, k5 = k[5]!, k6 = k[6]!;
  const k7 = k[7]!;
  // "expand 32-byte k"
  const c0 = 0x61707865, c1 = 0x3320646e, c2 = 0x79622d32, c3 = 0x6b206574;
  let ctr = counter;
  for (let blk = 0; blk < count; blk++, w += 16, ctr = (ctr + 1) | 0) {
    let x0 = c0, x1 = c1, x2 = c2, x3 = c3;
    let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
    let x12 = ctr, x13 = n13, x14 = n14, x15 = n15;
    for (let r = 0; r < 10; r++) {
      // Column round.
      x0 = (x0 + x4) | 0, x12 ^= x0, x12 = (x12 << 16) | (x12 >>> 16);
      x8 = (x8 + x12) | 0, x4 ^= x8, x4 = (x4 << 12) | (x4 >>> 20);
      x0 = (x0 + x4) | 0, x12 ^= x0, x12 = (x12 << 8) | (x12 >>> 24);
      x8 = (x8 + x12) | 0, x4 ^= x8, x4 = (x4 << 7) | (x4 >>> 25);
      x1 = (x1 + x5) | 0, x13 ^= x1, x13 = (x13 << 16) | (x13 >>> 16);
      x9 = (x9 + x13) | 0, x5 ^= x9, x5 = (x5 << 12) | (x5 >>> 20);
      x1 = (x1 + x5) | 0, x13 ^= x1, x13 = (x13 << 8) | (x13 >>> 24);
      x9 = (x9 + x13) | 0, x5 ^= x9, x5 = (x5 << 7) | (x5 >>> 25);
      x2 = (x2 + x6) | 0, x14 ^= x2, x14 = (x14 << 16) | (x14 >>> 16);
      x10 = (x10 + x14) | 0, x6 ^= x10, x6 = (x6 << 12) | (x6 >>> 20);
      x2 = (x2 + x6) | 0, x14 ^= x2, x14 = (x14 << 8) | (x14 >>> 24);
      x10 = (x10 + x14) | 0, x6 ^= x10, x6 = (x6 << 7) | (x6 >>> 25);
      x3 = (x3 + x7) | 0, x15 ^= x3, x15 = (x15 << 16) | (x15 >>> 16);
      x11 = (x11 + x15) | 0, x7 ^= x11, x7 = (x7 << 12) | (x7 >>> 20);
      x3 = (x3 + x7) | 0, x15 ^= x3, x15 = (x15 << 8) | (x15 >>> 24);
      x11 = (x11 + x15) | 0, x7 ^= x11, x7 = (x7 << 7) | (x7 >>> 25);
      // Diagonal round.
      x0 = (x0 + x5) | 0, x15 ^= x0, x15 = (x15 << 16) | (x15 >>> 16);
      x10 = (x10 + x15) | 0, x5 ^= x10, x5 = (x5 << 12) | (x5 >>> 20);
      x0 = (x0 + x5) | 0, x15 ^= x0, x15 = (x15 << 8) | (x15 >>> 24);
      x10 = (x10 + x15) | 0, x5 ^= x10, x5 = (x5 << 7) | (x5 >>> 25);
      x1 = (x1 + x6) | 0, x12 ^= x1, x12 = (x12 << 16) | (x12 >>> 16);
      x11 = (x11 + x12) | 0, x6 ^= x11, x6 = (x6 << 12) | (x6 >>> 20);
      x1 = (x1 + x6) | 0, x12 ^= x1, x12 = (x12 << 8) | (x12 >>> 24);
      x11 = (x11 + x12) | 0, x6 ^= x11, x6 = (x6 << 7) | (x6 >>> 25);
      x2 = (x2 + x7) | 0, x13 ^= x2, x13 = (x13 << 16) | (x13 >>> 16);
      x8 = (x8 + x13) | 0, x7 ^= x8, x7 = (x7 << 12) | (x7 >>> 20);
      x2 = (x2 + x7) | 0, x13 ^= x2, x13 = (x13 << 8) | (x13 >>> 24);
      x8 = (x8 + x13) | 0, x7 ^= x8, x7 = (x7 << 7) | (x7 >>> 25);
      x3 = (x3 + x4) | 0, x14 ^= x3, x14 = (x14 << 16) | (x14 >>> 16);
      x9 = (x9 + x14) | 0, x4 ^= x9, x4 = (x4 << 12) | (x4 >>> 20);
      x3 = (x3 + x4) | 0, x14 ^= x3, x14 = (x14 << 8) | (x14 >>> 24);
      x9 = (x9 + x14) | 0, x4 ^= x9, x4 = (x4 << 7) | (x4 >>> 25);
    }
    u[w]! ^= (x0 + c0) | 0;
    u[w + 1]! ^= (x1 + c1) | 0;
    u[w + 2]! ^= (x2 + c2) | 0;
    u[w + 3]! ^= (x3 + c3) | 0;
    u[w + 4]! ^= (x4 + k0) | 0;
    u[w + 5]! ^= (x5 + k1) | 0;
    u[w + 6]! ^= (x6 + k2) | 0;
    u[w + 7]! ^= (x7 + k3) | 0;
    u[w + 8]! ^= (x8 + k4) | 0;
    u[w + 9]! ^= (x9 + k5) | 0;
    u[w + 10]! ^= (x10 + k6) | 0;
    u[w + 11]! ^= (x11 + k7) | 0;
    u[w + 12]! ^= (x12 + ctr) | 0;
    u[w + 13]! ^= (x13 + n13) | 0;
    u[w + 14]! ^= (x14 + n14) | 0;
    u[w + 15]! ^= (x15 + n15) | 0;
  }
}
