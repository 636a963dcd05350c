/**
 * RC4 for the `arcfour` (RFC 4253 §6.3, 128-bit key) and `arcfour128` /
 * `arcfour256` (RFC 4345: 128/256-bit key, first 1,536 keystream bytes
 * discarded) SSH ciphers. A stream cipher: the keystream runs on across
 * packets, and the transport still pads packets to 8 bytes.
 *
 * @module
 */

import type { PacketTransform } from "./cipher_mac.ts";

/** Keystream bytes RFC 4345 §4 discards before use ("arcfour128", "arcfour256"). */
export const RC4_DISCARD_BYTES = 1536;

/**
 * An RC4 keystream XORed into buffers in place, continuing across calls.
 *
 * @example RFC 6229's first vector (key 0x0102030405)
 * ```ts
 * import { Rc4 } from "./rc4.ts";
 * const out = new Uint8Array(4);
 * new Rc4(new Uint8Array([1, 2, 3, 4, 5])).xor(out, 0, 4);
 * console.log(out); // Uint8Array [0xb2, 0x39, 0x63, 0x05]
 * ```
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  /** Keys the state (1..256-byte key) and discards `discard` keystream bytes. */
  constructor(key: Uint8Array, discard = 0) {
    if (key.length < 1 || key.length > 256) {
      throw new RangeError(`RC4 key must be 1 to 256 bytes, not ${key.length}`);
    }
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
    if (discard > 0) this.xor(new Uint8Array(discard), 0, discard);
  }

  /** XORs the next `end - start` keystream bytes into `data[start..end]`. */
  xor(data: Uint8Array, start: number, end: number): void {
    if (start < 0 || end > data.length || start > end) {
      throw new RangeError(`RC4 range ${start}..${end} is outside the ${data.length}-byte buffer`);
    }
    const s = this.#s;
    let i = this.#i, j = this.#j;
    for (let o = start; o < end; o++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      data[o] = data[o]! ^ s[(si + sj) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
  }
}

/**
 * RC4 as a packet transform (the same operation both ways). Its block size is
 * 8: SSH pads stream-cipher packets to 8 bytes (RFC 4253 §6), and the classic
 * MAC mode reads the first 8 bytes to learn the length.
 *
 * @example
 * ```ts
 * import { rc4Transform } from "./rc4.ts";
 * const t = rc4Transform(new Uint8Array(16), 1536);
 * t.process(new Uint8Array(16), 0, 16);
 * ```
 */
export function rc4Transform(key: Uint8Array, discard: number): PacketTransform {
  const rc4 = new Rc4(key, discard);
  return { blockSize: 8, process: (d, s, e) => rc4.xor(d, s, e) };
}
