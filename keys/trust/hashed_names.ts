/**
 * Matching host names against hashed known_hosts lines (`|1|salt|hash`, HMAC-SHA1 of the
 * name keyed by the line's salt) without re-keying an HMAC per line. Debian and Ubuntu hash
 * known_hosts by default (`HashKnownHosts yes`), so looking a host up means one HMAC per
 * hashed line, and a connection looks up its name and its address. The SHA-1 states after
 * each salt's inner and outer pads are computed once per line and kept with it; a lookup
 * then costs two SHA-1 blocks per line (for names up to 55 bytes), no allocation, instead
 * of a fresh HMAC (four blocks and several objects: 6 µs a line in `@noble/hashes`).
 *
 * @module
 */

import { equalBytes } from "../../core/wire.ts";

/** A name's bytes, as looked up (lower case, `[host]:port` off port 22). */
export type NameBytes = Uint8Array;

/** SHA-1 states after a salt's inner and outer pad blocks: five words each. */
interface Pads {
  readonly inner: Uint32Array;
  readonly outer: Uint32Array;
}

const IV = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];

/** The message schedule, shared (JavaScript runs one lookup at a time). */
const W = new Uint32Array(80);

/** One SHA-1 compression of `block` (16 big-endian words in W[0..15]) into `state`. */
function compress(state: Uint32Array): void {
  for (let t = 16; t < 80; t++) {
    const x = W[t - 3]! ^ W[t - 8]! ^ W[t - 14]! ^ W[t - 16]!;
    W[t] = (x << 1) | (x >>> 31);
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!;
  for (let t = 0; t < 80; t++) {
    let f: number, k: number;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5a827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ed9eba1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8f1bbcdc;
    } else {
      f = b ^ c ^ d;
      k = 0xca62c1d6;
    }
    const tmp = (((a << 5) | (a >>> 27)) + f + e + k + W[t]!) | 0;
    e = d;
    d = c;
    c = (b << 30) | (b >>> 2);
    b = a;
    a = tmp;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
}

/** Loads bytes[from..from+64) (zero beyond `end`) into W[0..15], big-endian. */
function loadBlock(bytes: Uint8Array, from: number, end: number): void {
  for (let i = 0; i < 16; i++) {
    let w = 0;
    for (let j = 0; j < 4; j++) {
      const at = from + 4 * i + j;
      w = (w << 8) | (at < end ? bytes[at]! : 0);
    }
    W[i] = w;
  }
}

function padState(key: Uint8Array, pad: number): Uint32Array {
  const block = new Uint8Array(64);
  block.set(key);
  for (let i = 0; i < 64; i++) block[i]! ^= pad;
  const state = Uint32Array.from(IV);
  loadBlock(block, 0, 64);
  compress(state);
  return state;
}

const pads = new WeakMap<Uint8Array, Pads & { readonly salt: Uint8Array }>();

/**
 * The salt's pad states (a salt of at most 64 bytes), computed once and kept with the
 * array, and with a copy of its bytes: an array changed in place gets new states.
 */
function padsOf(salt: Uint8Array): Pads {
  let p = pads.get(salt);
  if (p === undefined || !equalBytes(p.salt, salt)) {
    p = { salt: salt.slice(), inner: padState(salt, 0x36), outer: padState(salt, 0x5c) };
    pads.set(salt, p);
  }
  return p;
}

const inner = new Uint32Array(5);
const outer = new Uint32Array(5);
const innerDigest = new Uint8Array(20);
const digestBytes = new Uint8Array(20);
const tail = new Uint8Array(128);
const tailView = new DataView(tail.buffer);

/** Hashes `msg` on from `state` (which absorbed one 64-byte block) into `out`, with padding. */
function finish(state: Uint32Array, out: Uint32Array, msg: Uint8Array): void {
  out.set(state);
  const bits = (64 + msg.length) * 8;
  let at = 0;
  for (; at + 64 <= msg.length; at += 64) {
    loadBlock(msg, at, msg.length);
    compress(out);
  }
  // The tail, 0x80, zeros, and the 64-bit length: one block, or two when the tail is long.
  const rest = msg.length - at;
  const size = rest > 55 ? 128 : 64;
  tail.fill(0, 0, size);
  tail.set(msg.subarray(at), 0);
  tail[rest] = 0x80;
  tailView.setUint32(size - 4, bits >>> 0);
  tailView.setUint32(size - 8, Math.floor(bits / 0x100000000));
  for (let b = 0; b < size; b += 64) {
    loadBlock(tail, b, size);
    compress(out);
  }
}

function wordsToBytes(words: Uint32Array, out: Uint8Array): void {
  for (let i = 0; i < 5; i++) {
    const w = words[i]!;
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = w >>> 16;
    out[4 * i + 2] = w >>> 8;
    out[4 * i + 3] = w;
  }
}

/**
 * HMAC-SHA1(salt, name), as a hashed known_hosts line stores it, for a salt of at most 64
 * bytes (ssh-keygen writes 20; HMAC would hash a longer key first, which this does not do:
 * it throws). The result is a view reused by the next call.
 *
 * @example
 * ```ts
 * import { hmacSha1Name } from "./hashed_names.ts";
 * const salt = new Uint8Array(20);
 * console.log(hmacSha1Name(salt, new TextEncoder().encode("example.com")).length); // 20
 * ```
 */
export function hmacSha1Name(salt: Uint8Array, name: NameBytes): Uint8Array {
  if (salt.length > 64) throw new RangeError(`A salt of ${salt.length} bytes is over 64`);
  const p = padsOf(salt);
  finish(p.inner, inner, name);
  wordsToBytes(inner, innerDigest);
  finish(p.outer, outer, innerDigest);
  wordsToBytes(outer, digestBytes);
  return digestBytes;
}

/**
 * Whether a hashed line (salt of at most 64 bytes, hash) stands for `name`:
 * HMAC-SHA1(salt, name) = hash.
 *
 * @example
 * ```ts
 * import { hashedNameMatches, hmacSha1Name } from "./hashed_names.ts";
 * const salt = new Uint8Array(20).fill(7);
 * const name = new TextEncoder().encode("example.com");
 * const hash = hmacSha1Name(salt, name).slice();
 * console.log(hashedNameMatches(salt, hash, name)); // true
 * ```
 */
export function hashedNameMatches(salt: Uint8Array, hash: Uint8Array, name: NameBytes): boolean {
  return equalBytes(hmacSha1Name(salt, name), hash);
}
