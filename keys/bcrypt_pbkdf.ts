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
import { PI_HEX_DIGITS } from "./_blowfish_pi.ts";

/** Words of Blowfish state: 18 P entries, then 4 S-boxes of 256. */
const STATE_WORDS = 18 + 4 * 256;
const BCRYPT_WORDS = 8;
const BCRYPT_HASH_SIZE = BCRYPT_WORDS * 4;
/** "OxychromaticBlowfishSwatDynamite", the text bcrypt_pbkdf encrypts. */
const MAGIC = new TextEncoder().encode("OxychromaticBlowfishSwatDynamite");

let initialState: Uint32Array | undefined;
function initial(): Uint32Array {
  if (!initialState) {
    initialState = new Uint32Array(STATE_WORDS);
    for (let i = 0; i < STATE_WORDS; i++) {
      initialState[i] = parseInt(PI_HEX_DIGITS.slice(i * 8, i * 8 + 8), 16);
    }
  }
  return initialState;
}

/** Blowfish state with the key schedules bcrypt needs. */
class Blowfish {
  readonly s: Uint32Array = initial().slice();
  l = 0;
  r = 0;

  /** Encrypts the block held in `l`, `r` in place. */
  encrypt(): void {
    const s = this.s;
    let xl = this.l, xr = this.r;
    xl ^= s[0]!;
    for (let i = 1; i <= 16; i += 2) {
      xr ^= (((s[18 + (xl >>> 24)]! + s[274 + ((xl >>> 16) & 255)]!) ^
        s[530 + ((xl >>> 8) & 255)]!) + s[786 + (xl & 255)]!) ^ s[i]!;
      xl ^= (((s[18 + (xr >>> 24)]! + s[274 + ((xr >>> 16) & 255)]!) ^
        s[530 + ((xr >>> 8) & 255)]!) + s[786 + (xr & 255)]!) ^ s[i + 1]!;
    }
    this.l = (xr ^ s[17]!) >>> 0;
    this.r = xl >>> 0;
  }

  /**
   * The eksblowfish schedule: XOR the key into P, then re-encrypt the whole state,
   * mixing `data` into each block when given (Blowfish_expandstate) or not
   * (Blowfish_expand0state).
   */
  expand(key: Uint8Array, data?: Uint8Array): void {
    const s = this.s;
    const kw = new Stream(key);
    for (let i = 0; i < 18; i++) s[i] = s[i]! ^ kw.next();
    const dw = data ? new Stream(data) : undefined;
    this.l = 0;
    this.r = 0;
    for (let i = 0; i < STATE_WORDS; i += 2) {
      if (dw) {
        this.l = (this.l ^ dw.next()) >>> 0;
        this.r = (this.r ^ dw.next()) >>> 0;
      }
      this.encrypt();
      s[i] = this.l;
      s[i + 1] = this.r;
    }
  }
}

/** Reads big-endian 32-bit words cyclically from bytes (Blowfish_stream2word). */
class Stream {
  #b: Uint8Array;
  #p = 0;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  next(): number {
    let w = 0;
    for (let i = 0; i < 4; i++) {
      if (this.#p >= this.#b.length) this.#p = 0;
      w = (w << 8) | this.#b[this.#p++]!;
    }
    return w >>> 0;
  }
}

/** bcrypt_hash: 64 rounds of the expensive schedule, then encrypt MAGIC 64 times. */
function bcryptHash(sha2pass: Uint8Array, sha2salt: Uint8Array, out: Uint8Array): void {
  const bf = new Blowfish();
  bf.expand(sha2pass, sha2salt);
  for (let i = 0; i < 64; i++) {
    bf.expand(sha2salt);
    bf.expand(sha2pass);
  }
  const cdata = new Uint32Array(BCRYPT_WORDS);
  const ms = new Stream(MAGIC);
  for (let i = 0; i < BCRYPT_WORDS; i++) cdata[i] = ms.next();
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < BCRYPT_WORDS; j += 2) {
      bf.l = cdata[j]!;
      bf.r = cdata[j + 1]!;
      bf.encrypt();
      cdata[j] = bf.l;
      cdata[j + 1] = bf.r;
    }
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
