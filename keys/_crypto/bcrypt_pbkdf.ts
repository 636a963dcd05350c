/**
 * bcrypt_pbkdf: the key-derivation function of OpenSSH's private key format
 * (OpenBSD's `bcrypt_pbkdf(3)`). A PBKDF2-like loop around a bcrypt-style hash:
 * SHA-512 of the password and salt feed an expensive Blowfish key schedule
 * ("eksblowfish"), which then encrypts a fixed 32-byte text 64 times. Output
 * blocks are interleaved across the key so every byte costs the full work.
 *
 * @module
 */

import { sha512 } from "@noble/hashes/sha2.js";
import { PI_HEX_DIGITS } from "../../core/crypto/blowfish_pi.ts";

/** Words of Blowfish state: 18 P entries, then 4 S-boxes of 256. */
const STATE_WORDS = 18 + 4 * 256;
const BCRYPT_WORDS = 8;
const BCRYPT_HASH_SIZE = BCRYPT_WORDS * 4;
/** "OxychromaticBlowfishSwatDynamite", the text bcrypt_pbkdf encrypts. */
const MAGIC = new TextEncoder().encode("OxychromaticBlowfishSwatDynamite");

// Int32Array, not Uint32Array: values stay small integers for the JIT (a uint32 above
// 2^31 would be a double), and `| 0` wraps sums exactly as 32-bit arithmetic does.
// P and the four S-boxes are separate arrays: indexing without offsets is
// measurably faster on all three runtimes than one array or subarray views.
interface State {
  readonly p: Int32Array;
  readonly s0: Int32Array;
  readonly s1: Int32Array;
  readonly s2: Int32Array;
  readonly s3: Int32Array;
}

let initialState: State | undefined;
function freshState(): State {
  if (!initialState) {
    const all = new Int32Array(STATE_WORDS);
    for (let i = 0; i < STATE_WORDS; i++) {
      all[i] = parseInt(PI_HEX_DIGITS.slice(i * 8, i * 8 + 8), 16);
    }
    initialState = {
      p: all.slice(0, 18),
      s0: all.slice(18, 274),
      s1: all.slice(274, 530),
      s2: all.slice(530, 786),
      s3: all.slice(786),
    };
  }
  const { p, s0, s1, s2, s3 } = initialState;
  return { p: p.slice(), s0: s0.slice(), s1: s1.slice(), s2: s2.slice(), s3: s3.slice() };
}

/** Big-endian 32-bit words of a byte string read cyclically (Blowfish_stream2word). */
function words(b: Uint8Array, n: number): Int32Array {
  const out = new Int32Array(n);
  let p = 0;
  for (let i = 0; i < n; i++) {
    let w = 0;
    for (let j = 0; j < 4; j++) {
      if (p >= b.length) p = 0;
      w = (w << 8) | b[p++]!;
    }
    out[i] = w;
  }
  return out;
}

/** Carries (l, r, data index) from one table to the next within one expand(). */
const carry = new Int32Array(3);

/**
 * Re-encrypts table `t` block by block (each block the encryption of the previous
 * one, optionally XORed with `data` words), with the cipher inlined: this loop is
 * the whole cost of the KDF.
 */
function refill(st: State, t: Int32Array, data: Int32Array | undefined): void {
  const { p, s0, s1, s2, s3 } = st;
  let l = carry[0]!, r = carry[1]!, d = carry[2]!;
  for (let i = 0; i < t.length; i += 2) {
    if (data) {
      l ^= data[d++ & 15]!;
      r ^= data[d++ & 15]!;
    }
    l ^= p[0]!;
    for (let k = 1; k <= 16; k += 2) {
      r ^= ((((s0[l >>> 24]! + s1[(l >>> 16) & 255]!) | 0) ^ s2[(l >>> 8) & 255]!) +
        s3[l & 255]!) ^ p[k]!;
      l ^= ((((s0[r >>> 24]! + s1[(r >>> 16) & 255]!) | 0) ^ s2[(r >>> 8) & 255]!) +
        s3[r & 255]!) ^ p[k + 1]!;
    }
    const x = r ^ p[17]!;
    r = l;
    l = x;
    t[i] = l;
    t[i + 1] = r;
  }
  carry[0] = l;
  carry[1] = r;
  carry[2] = d;
}

/** Encrypts the block at words `j`, `j + 1` of `c` in place (cost here is negligible). */
function encryptBlock(st: State, c: Int32Array, j: number): void {
  const { p, s0, s1, s2, s3 } = st;
  let l = c[j]! ^ p[0]!, r = c[j + 1]!;
  for (let k = 1; k <= 16; k += 2) {
    r ^= ((((s0[l >>> 24]! + s1[(l >>> 16) & 255]!) | 0) ^ s2[(l >>> 8) & 255]!) +
      s3[l & 255]!) ^ p[k]!;
    l ^= ((((s0[r >>> 24]! + s1[(r >>> 16) & 255]!) | 0) ^ s2[(r >>> 8) & 255]!) +
      s3[r & 255]!) ^ p[k + 1]!;
  }
  c[j] = r ^ p[17]!;
  c[j + 1] = l;
}

/**
 * The eksblowfish schedule: XOR the key into P, then re-encrypt the whole state
 * in place, mixing `data` into each block when given (Blowfish_expandstate) or
 * not (Blowfish_expand0state). Key and data are the 64-byte SHA-512 outputs
 * bcrypt_pbkdf always uses, so both are 16 words read cyclically.
 */
function expand(st: State, key: Int32Array, data: Int32Array | undefined): void {
  const p = st.p;
  for (let i = 0; i < 18; i++) p[i] = p[i]! ^ key[i & 15]!;
  carry.fill(0);
  refill(st, p, data);
  refill(st, st.s0, data);
  refill(st, st.s1, data);
  refill(st, st.s2, data);
  refill(st, st.s3, data);
}

const MAGIC_WORDS = words(MAGIC, BCRYPT_WORDS);

/** bcrypt_hash: 64 rounds of the expensive schedule, then encrypt MAGIC 64 times. */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void {
  const st = freshState();
  const pass = words(sha2pass, 16);
  const salt = words(sha2salt, 16);
  expand(st, pass, salt);
  for (let i = 0; i < 64; i++) {
    expand(st, salt, undefined);
    expand(st, pass, undefined);
  }
  // Encrypt MAGIC (four blocks, ECB) 64 times.
  const cdata = MAGIC_WORDS.slice();
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < BCRYPT_WORDS; j += 2) encryptBlock(st, cdata, j);
  }
  // The words come out little-endian (as OpenBSD's code stores them).
  for (let i = 0; i < BCRYPT_WORDS; i++) {
    const w = cdata[i]!;
    out[4 * i] = w & 0xff;
    out[4 * i + 1] = (w >>> 8) & 0xff;
    out[4 * i + 2] = (w >>> 16) & 0xff;
    out[4 * i + 3] = w >>> 24;
  }
}

/**
 * Derives `keyLength` bytes from a password and salt with `rounds` iterations,
 * exactly as OpenSSH does for `openssh-key-v1` files (kdfname "bcrypt").
 * Cost grows linearly with `rounds` (ssh-keygen's default is 16) and with the
 * number of 32-byte blocks the key needs.
 *
 * @example Derive an AES-256-CTR key and IV
 * ```ts
 * import { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
 * const salt = new Uint8Array(16);
 * const keyIv = bcryptPbkdf(new TextEncoder().encode("secret"), salt, 48, 1);
 * console.log(keyIv.length); // 48
 * ```
 */
export function bcryptPbkdf(
  password: Uint8Array,
  salt: Uint8Array,
  keyLength: number,
  rounds: number,
): Uint8Array {
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new RangeError(`bcryptPbkdf() needs rounds >= 1, got ${rounds}`);
  }
  if (!Number.isInteger(keyLength) || keyLength < 1 || keyLength > BCRYPT_HASH_SIZE ** 2) {
    throw new RangeError(`bcryptPbkdf() can derive 1..1024 bytes, ${keyLength} asked`);
  }
  const stride = Math.ceil(keyLength / BCRYPT_HASH_SIZE);
  const amount = Math.ceil(keyLength / stride);
  const key = new Uint8Array(keyLength);
  const sha2pass = sha512(password);
  const countSalt = new Uint8Array(salt.length + 4);
  countSalt.set(salt);
  const tmp = new Uint8Array(BCRYPT_HASH_SIZE);
  const out = new Uint8Array(BCRYPT_HASH_SIZE);
  for (let count = 1, left = keyLength; left > 0; count++) {
    new DataView(countSalt.buffer).setUint32(salt.length, count);
    bcryptHash(sha2pass, sha512(countSalt), tmp);
    out.set(tmp);
    for (let i = 1; i < rounds; i++) {
      bcryptHash(sha2pass, sha512(tmp), tmp);
      for (let j = 0; j < out.length; j++) out[j] = out[j]! ^ tmp[j]!;
    }
    // Spread this block's bytes across the key with the stride.
    let i = 0;
    for (; i < Math.min(amount, left); i++) {
      const dest = i * stride + (count - 1);
      if (dest >= keyLength) break;
      key[dest] = out[i]!;
    }
    left -= i;
  }
  return key;
}
