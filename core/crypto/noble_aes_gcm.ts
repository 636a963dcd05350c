/**
 * aes128-gcm@openssh.com / aes256-gcm@openssh.com (RFC 5647), portable.
 *
 * Per packet: nonce = the 4-byte fixed field || the 8-byte invocation counter
 * (both from the derived IV; the counter is incremented after every packet,
 * RFC 5647 §7.1); the 4-byte length is sent in clear and authenticated as AAD;
 * the rest is encrypted with AES-CTR from inc32(J0); tag = GHASH ⊕ E_K(J0).
 *
 * Key schedule and GHASH tables are built once per direction; a packet allocates
 * nothing.
 *
 * @module
 */

import { constantTimeEqual } from "./constant_time.ts";
import { Ghash } from "./ghash.ts";
import { AesCtr } from "./noble_aes.ts";
import type { DirectionKeys, PacketOpener, PacketSealer } from "./types.ts";

const TAG_LENGTH = 16;
const BLOCK = 16;

/** Shared state of one direction: key schedule, GHASH tables, invocation counter. */
class GcmState {
  readonly ctr: AesCtr;
  readonly ghash: Ghash;
  readonly fixed: number; // IV bytes 0..3, big-endian
  invHi: number; // invocation counter, IV bytes 4..7
  invLo: number; // IV bytes 8..11
  readonly scratch = new Uint8Array(16);

  constructor(keys: DirectionKeys) {
    if (keys.iv.length !== 12) {
      throw new RangeError(`AES-GCM needs a 12-byte IV, got ${keys.iv.length} bytes`);
    }
    this.ctr = new AesCtr(keys.encKey, new Uint8Array(16), "32");
    // H = E_K(0^128)
    const h = new Uint8Array(16);
    this.ctr.encryptCounterInto(h, 0);
    this.ghash = new Ghash(h);
    h.fill(0);
    this.fixed = be32(keys.iv, 0);
    this.invHi = be32(keys.iv, 4);
    this.invLo = be32(keys.iv, 8);
  }

  /**
   * Computes the tag of `packet` (length field as AAD, the rest ciphertext) into
   * `scratch`. Seal calls it after the CTR pass, open before (and decrypts only
   * when the tag checks out).
   */
  tag(packet: Uint8Array, len: number): void {
    const g = this.ghash;
    g.reset();
    g.updateWords(be32(packet, 0), 0, 0, 0); // AAD: the 4-byte length, zero-padded
    g.update(packet, 4, len);
    // Lengths block: AAD bits (32) and ciphertext bits, both as 64-bit big-endian.
    const bits = (len - 4) * 8;
    g.updateWords(0, 32, Math.floor(bits / 4294967296), bits >>> 0);
    g.digestInto(this.scratch, 0);
    // Tag mask E_K(J0), J0 = nonce || 1; XOR it into the GHASH output.
    const s = this.scratch;
    this.ctr.setCounterWords(this.fixed, this.invHi, this.invLo, 1);
    const y0 = be32(s, 0), y1 = be32(s, 4), y2 = be32(s, 8), y3 = be32(s, 12);
    this.ctr.encryptCounterInto(s, 0);
    putBE(s, 0, be32(s, 0) ^ y0), putBE(s, 4, be32(s, 4) ^ y1);
    putBE(s, 8, be32(s, 8) ^ y2), putBE(s, 12, be32(s, 12) ^ y3);
  }

  /** CTR over the payload from inc32(J0). */
  crypt(packet: Uint8Array, len: number): void {
    this.ctr.setCounterWords(this.fixed, this.invHi, this.invLo, 2);
    this.ctr.xor(packet, 4, len);
  }

  /** Increments the 64-bit invocation counter (wrapping, like OpenSSH). */
  next(): void {
    this.invLo = (this.invLo + 1) >>> 0;
    if (this.invLo === 0) this.invHi = (this.invHi + 1) >>> 0;
  }
}

/**
 * Seals packets with AES-GCM as RFC 5647 describes.
 *
 * @example
 * ```ts
 * import { GcmSealer } from "./noble_aes_gcm.ts";
 * const s = new GcmSealer({ encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) });
 * const packet = new Uint8Array(20); // length 16, aligned
 * packet[3] = 16;
 * const tag = new Uint8Array(16);
 * s.seal(3, packet, tag);
 * ```
 */
export class GcmSealer implements PacketSealer {
  readonly blockSize: number = BLOCK;
  readonly tagLength: number = TAG_LENGTH;
  readonly lengthInClear: boolean = true;
  readonly provider: string = "noble";
  readonly #st: GcmState;

  /** Builds the per-direction state from the derived keys. */
  constructor(keys: DirectionKeys) {
    this.#st = new GcmState(keys);
  }

  /** Encrypts `packet[4..]` in place and writes the tag. */
  seal(_seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    checkGcmSealable(packet, tagOut);
    const len = packet.length;
    const st = this.#st;
    st.crypt(packet, len);
    st.tag(packet, len);
    for (let i = 0; i < TAG_LENGTH; i++) tagOut[i] = st.scratch[i]!;
    st.next();
  }

  /**
   * Advances the invocation counter as if a packet had been sealed: for a
   * provider that seals some packets natively and hands small ones to this one.
   */
  skip(): void {
    this.#st.next();
  }
}

/**
 * Opens packets sealed with AES-GCM: verifies the tag first, decrypts only then.
 *
 * @example
 * ```ts
 * import { GcmOpener } from "./noble_aes_gcm.ts";
 * const o = new GcmOpener({ encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) });
 * console.log(o.open(0, new Uint8Array(20), new Uint8Array(16))); // false
 * ```
 */
export class GcmOpener implements PacketOpener {
  readonly firstBlockLength: number = 4;
  readonly tagLength: number = TAG_LENGTH;
  readonly blockSize: number = BLOCK;
  readonly lengthInClear: boolean = true;
  readonly provider: string = "noble";
  readonly #st: GcmState;

  /** Builds the per-direction state from the derived keys. */
  constructor(keys: DirectionKeys) {
    this.#st = new GcmState(keys);
  }

  /** The length is in clear. */
  decryptLength(_seq: number, first: Uint8Array): number {
    return gcmPacketLength(first);
  }

  /** Verifies the tag over the length and ciphertext, then decrypts in place. */
  open(_seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (!isGcmPacket(packet, tag)) return false;
    const len = packet.length;
    const st = this.#st;
    st.tag(packet, len);
    const ok = constantTimeEqual(st.scratch, 0, tag, 0, TAG_LENGTH);
    if (ok) st.crypt(packet, len);
    st.next();
    return ok;
  }

  /** Advances the invocation counter as if a packet had been opened (see GcmSealer.skip). */
  skip(): void {
    this.#st.next();
  }
}

/**
 * Whether `packet` (length field first) and `tag` have the shape every AES-GCM sealer and
 * opener takes: whole 16-byte blocks after the 4-byte length field, and room for the tag.
 *
 * @example
 * ```ts
 * import { isGcmPacket } from "./noble_aes_gcm.ts";
 * console.log(isGcmPacket(new Uint8Array(20), new Uint8Array(16))); // true
 * console.log(isGcmPacket(new Uint8Array(19), new Uint8Array(16))); // false
 * ```
 */
export function isGcmPacket(packet: Uint8Array, tag: Uint8Array): boolean {
  const len = packet.length;
  return len >= 4 && ((len - 4) & 15) === 0 && tag.length >= TAG_LENGTH;
}

/**
 * Throws the RangeError every AES-GCM sealer gives a packet or tag buffer of the wrong
 * shape (see {@link isGcmPacket}).
 *
 * @example
 * ```ts
 * import { checkGcmSealable } from "./noble_aes_gcm.ts";
 * checkGcmSealable(new Uint8Array(36), new Uint8Array(16)); // fine
 * ```
 */
export function checkGcmSealable(packet: Uint8Array, tagOut: Uint8Array): void {
  if (!isGcmPacket(packet, tagOut)) {
    throw new RangeError(
      `Cannot seal AES-GCM packet: ${packet.length - 4} bytes after the length field is not ` +
        `a multiple of 16, or the tag buffer is short`,
    );
  }
}

/**
 * The packet_length field of an AES-GCM packet, which is sent in clear (RFC 5647 §7.3).
 *
 * @example
 * ```ts
 * import { gcmPacketLength } from "./noble_aes_gcm.ts";
 * console.log(gcmPacketLength(new Uint8Array([0, 0, 1, 0]))); // 256
 * ```
 */
export function gcmPacketLength(first: Uint8Array): number {
  return be32(first, 0) >>> 0;
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
