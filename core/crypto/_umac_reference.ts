/**
 * A slow, literal transcription of RFC 4418's UMAC pseudocode over BigInt and
 * noble's AES-ECB, for tests only: it shares no code with `umac.ts`, so the fast
 * implementation is checked against it on random keys, nonces and lengths.
 *
 * @module
 */

import { ecb } from "@noble/ciphers/aes.js";

const M32 = 0xffffffffn;
const M64 = (1n << 64n) - 1n;
const P36 = (1n << 36n) - 5n;
const P64 = (1n << 64n) - 59n;
const P128 = (1n << 128n) - 159n;

function aes(key: Uint8Array, block: Uint8Array): Uint8Array {
  return ecb(key, { disablePadding: true }).encrypt(block);
}

function str2uint(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

function uint2str(x: bigint, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--, x >>= 8n) out[i] = Number(x & 0xffn);
  return out;
}

function kdf(key: Uint8Array, index: number, numbytes: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(numbytes / 16) * 16);
  for (let i = 1; i * 16 <= out.length; i++) {
    const t = new Uint8Array(16);
    t.set(uint2str(BigInt(index), 8), 0);
    t.set(uint2str(BigInt(i), 8), 8);
    out.set(aes(key, t), (i - 1) * 16);
  }
  return out.subarray(0, numbytes);
}

function pdf(key: Uint8Array, nonce: Uint8Array, taglen: number): Uint8Array {
  let index = 0;
  const n = nonce.slice();
  if (taglen === 4 || taglen === 8) {
    index = Number(str2uint(n) % BigInt(16 / taglen));
    n[n.length - 1] = n[n.length - 1]! ^ index;
  }
  const block = new Uint8Array(16);
  block.set(n);
  const t = aes(kdf(key, 0, 16), block);
  return t.subarray(index * taglen, index * taglen + taglen);
}

function nh(k: Uint8Array, m: Uint8Array): bigint {
  const t = m.length / 4;
  const mw = (i: number) =>
    BigInt(m[4 * i]! | (m[4 * i + 1]! << 8) | (m[4 * i + 2]! << 16)) +
    (BigInt(m[4 * i + 3]!) << 24n); // little-endian message words
  const kw = (i: number) => str2uint(k.subarray(4 * i, 4 * i + 4)); // big-endian key words
  let y = 0n;
  for (let i = 0; i < t / 8; i++) {
    for (let j = 0; j < 4; j++) {
      const a = (mw(8 * i + j) + kw(8 * i + j)) & M32;
      const b = (mw(8 * i + j + 4) + kw(8 * i + j + 4)) & M32;
      y = (y + a * b) & M64;
    }
  }
  return y;
}

function l1(k: Uint8Array, m: Uint8Array): bigint[] {
  const t = Math.max(Math.ceil(m.length / 1024), 1);
  const out: bigint[] = [];
  for (let i = 0; i < t; i++) {
    const part = m.subarray(i * 1024, Math.min(m.length, (i + 1) * 1024));
    const padded = new Uint8Array(part.length === 0 ? 32 : Math.ceil(part.length / 32) * 32);
    padded.set(part);
    out.push((nh(k, padded) + BigInt(part.length * 8)) & M64);
  }
  return out;
}

function poly(bits: 64 | 128, k: bigint, words: bigint[]): bigint {
  const p = bits === 64 ? P64 : P128;
  const offset = (1n << BigInt(bits)) - p;
  const maxword = bits === 64 ? (1n << 64n) - (1n << 32n) : (1n << 128n) - (1n << 96n);
  let y = 1n;
  for (const m of words) {
    if (m >= maxword) {
      y = (k * y + (p - 1n)) % p;
      y = (k * y + (m - offset)) % p;
    } else {
      y = (k * y + m) % p;
    }
  }
  return y;
}

function l2(k: Uint8Array, a: bigint[]): bigint {
  const k64 = str2uint(k.subarray(0, 8)) & 0x01ffffff01ffffffn;
  const k128 = str2uint(k.subarray(8, 24)) & 0x01ffffff01ffffff01ffffff01ffffffn;
  if (a.length <= 1 << 14) return poly(64, k64, a);
  const y = poly(64, k64, a.slice(0, 1 << 14));
  const rest = [...a.slice(1 << 14), 0x8000000000000000n];
  if (rest.length % 2 === 1) rest.push(0n);
  const words = [y];
  for (let i = 0; i < rest.length; i += 2) words.push((rest[i]! << 64n) | rest[i + 1]!);
  return poly(128, k128, words);
}

function l3(k1: Uint8Array, k2: Uint8Array, m: bigint): number {
  let y = 0n;
  for (let i = 0; i < 8; i++) {
    const chunk = (m >> BigInt(112 - 16 * i)) & 0xffffn;
    y = (y + chunk * (str2uint(k1.subarray(8 * i, 8 * i + 8)) % P36)) % P36;
  }
  return Number((y & M32) ^ str2uint(k2));
}

/**
 * UMAC(K, M, Nonce) with a `taglen`-byte tag, as RFC 4418 §4 spells it out.
 *
 * @example
 * ```ts
 * import { referenceUmac } from "./_umac_reference.ts";
 * const enc = new TextEncoder();
 * referenceUmac(enc.encode("abcdefghijklmnop"), new Uint8Array(0), enc.encode("bcdefghi"), 8);
 * ```
 */
export function referenceUmac(
  key: Uint8Array,
  message: Uint8Array,
  nonce: Uint8Array,
  taglen: 4 | 8 | 12 | 16,
): Uint8Array {
  const iters = taglen / 4;
  const L1 = kdf(key, 1, 1024 + (iters - 1) * 16);
  const L2 = kdf(key, 2, iters * 24);
  const L3a = kdf(key, 3, iters * 64);
  const L3b = kdf(key, 4, iters * 4);
  const hash = new Uint8Array(taglen);
  for (let i = 0; i < iters; i++) {
    const a = l1(L1.subarray(i * 16, i * 16 + 1024), message);
    const b = message.length <= 1024 ? a[0]! : l2(L2.subarray(i * 24, i * 24 + 24), a);
    const c = l3(L3a.subarray(i * 64, i * 64 + 64), L3b.subarray(i * 4, i * 4 + 4), b);
    new DataView(hash.buffer).setUint32(4 * i, c);
  }
  const pad = pdf(key, nonce, taglen);
  return hash.map((v, i) => v ^ pad[i]!);
}
