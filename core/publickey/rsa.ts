/**
 * RSASSA-PKCS1-v1_5 (RFC 8017 §8.2) with SHA-1, SHA-256 and SHA-512, in pure BigInt.
 *
 * Verification re-encodes the expected EMSA-PKCS1-v1_5 block and compares it byte
 * for byte with the recovered one: no ASN.1 parsing, so none of the lax-parsing
 * forgeries (Bleichenbacher 2006 and its descendants) can apply.
 *
 * Signing uses the CRT with three countermeasures:
 * - base blinding: the input is multiplied by r^e for a random r (fresh every 32
 *   signatures, squared in between, as OpenSSL does), so the operands of the secret
 *   exponentiation are unrelated to the (attacker-chosen) input;
 * - exponent blinding: d_p + k(p-1) and d_q + k'(q-1) for fresh 64-bit k, k', so the
 *   square/multiply pattern differs on every signature;
 * - a final check s^e = m before the signature leaves, so a fault in one CRT half
 *   cannot leak a factor of n (the Bellcore attack).
 * What BigInt cannot give: constant-time arithmetic. Multiplication and division run
 * in time that depends on operand values, and the window table lookup is
 * data-dependent. The blinding makes that variation independent of the key and of the
 * input from one signature to the next, which defeats the classic remote timing
 * attacks, but it is not a guarantee against a local attacker watching caches.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { SSHError } from "../errors.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToBytes, bytesToBigInt, concatBytes, equalBytes } from "../wire.ts";
import { bitLength, modInverse, modPow, randomBigIntInRange } from "./bigint.ts";
import type { RsaHashName, RsaKeyMaterial } from "./types.ts";
import { RSA_MAX_EXPONENT_BITS } from "./blob.ts";
import { signatureBackend } from "./signature_backend.ts";

export type { RsaHashName };

/** DER prefix of DigestInfo for each hash (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Record<RsaHashName, Uint8Array> = {
  sha1: Uint8Array.from([
    0x30,
    0x21,
    0x30,
    0x09,
    0x06,
    0x05,
    0x2b,
    0x0e,
    0x03,
    0x02,
    0x1a,
    0x05,
    0x00,
    0x04,
    0x14,
  ]),
  sha256: Uint8Array.from([
    0x30,
    0x31,
    0x30,
    0x0d,
    0x06,
    0x09,
    0x60,
    0x86,
    0x48,
    0x01,
    0x65,
    0x03,
    0x04,
    0x02,
    0x01,
    0x05,
    0x00,
    0x04,
    0x20,
  ]),
  sha512: Uint8Array.from([
    0x30,
    0x51,
    0x30,
    0x0d,
    0x06,
    0x09,
    0x60,
    0x86,
    0x48,
    0x01,
    0x65,
    0x03,
    0x04,
    0x02,
    0x03,
    0x05,
    0x00,
    0x04,
    0x40,
  ]),
};

const HASHES: Record<RsaHashName, (data: Uint8Array) => Uint8Array> = {
  sha1: (d) => sha1(d),
  sha256: (d) => sha256(d),
  sha512: (d) => sha512(d),
};

/**
 * The hash an SSH RSA signature algorithm uses, or undefined for a non-RSA name.
 *
 * @example
 * ```ts
 * import { rsaHashForAlgorithm } from "./rsa.ts";
 * console.log(rsaHashForAlgorithm("rsa-sha2-512")); // "sha512"
 * ```
 */
export function rsaHashForAlgorithm(algorithm: string): RsaHashName | undefined {
  switch (algorithm) {
    case "rsa-sha2-512":
      return "sha512";
    case "rsa-sha2-256":
      return "sha256";
    case "ssh-rsa":
      return "sha1";
  }
  return undefined;
}

/**
 * EMSA-PKCS1-v1_5 encoding of `data` for a `k`-byte modulus:
 * `00 01 FF..FF 00 DigestInfo(hash(data))`. Throws RangeError if `k` is too small.
 *
 * @example
 * ```ts
 * import { emsaPkcs1v15Encode } from "./rsa.ts";
 * const em = emsaPkcs1v15Encode("sha256", new Uint8Array(0), 256);
 * console.log(em.length, em[0], em[1]); // 256 0 1
 * ```
 */
export function emsaPkcs1v15Encode(hash: RsaHashName, data: Uint8Array, k: number): Uint8Array {
  const prefix = DIGEST_INFO_PREFIX[hash];
  const digest = HASHES[hash](data);
  const tLen = prefix.length + digest.length;
  // RFC 8017: at least 8 bytes of 0xFF padding.
  if (k < tLen + 11) throw new RangeError(`RSA modulus of ${k} bytes is too short for ${hash}`);
  const em = new Uint8Array(k);
  em[1] = 0x01;
  em.fill(0xff, 2, k - tLen - 1);
  em.set(prefix, k - tLen);
  em.set(digest, k - digest.length);
  return em;
}

/**
 * Verifies an RSASSA-PKCS1-v1_5 signature. `signature` may be shorter than the
 * modulus (left-padded with zeros, as OpenSSH does) but not longer; it must be < n.
 * Returns false for every invalid input; never throws.
 *
 * @example
 * ```ts
 * import { rsaVerifyPkcs1v15 } from "./rsa.ts";
 * console.log(rsaVerifyPkcs1v15(3233n, 17n, "sha256", new Uint8Array(0), new Uint8Array(2))); // false
 * ```
 */
export function rsaVerifyPkcs1v15(
  n: bigint,
  e: bigint,
  hash: RsaHashName,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  // However the key arrived (an ssh-rsa blob, X.509, a file): a huge e is CPU, not security.
  if (n <= 0n || e <= 0n || bitLength(e) > RSA_MAX_EXPONENT_BITS) return false;
  const k = Math.ceil(bitLength(n) / 8);
  if (signature.length === 0 || signature.length > k) return false;
  const s = bytesToBigInt(signature);
  if (s >= n) return false;
  // Native libraries want exactly k bytes; a peer may have dropped leading zero bytes.
  const full = signature.length === k ? signature : bigIntToBytes(s, k);
  const native = signatureBackend()?.rsaVerify(n, e, hash, data, full);
  if (native !== undefined) return native;
  let expected: Uint8Array;
  try {
    expected = emsaPkcs1v15Encode(hash, data, k);
  } catch {
    return false;
  }
  const m = modPow(s, e, n);
  return equalBytes(bigIntToBytes(m, k), expected);
}

/** CRT parameters of one private key, computed once per key object. */
interface RsaCrt {
  readonly p: bigint;
  readonly q: bigint;
  readonly dp: bigint;
  readonly dq: bigint;
  readonly qi: bigint;
}

const crtCache = new WeakMap<RsaKeyMaterial, RsaCrt | null>();

/** The CRT parameters of `key`, filling in dp, dq, qi (and d) when absent; null without p, q. */
function crtOf(key: RsaKeyMaterial): RsaCrt | null {
  const cached = crtCache.get(key);
  if (cached !== undefined) return cached;
  let crt: RsaCrt | null = null;
  const { p, q } = key;
  if (p !== undefined && q !== undefined && p * q === key.n) {
    const d = key.d ?? modInverse(key.e, ((p - 1n) * (q - 1n)) / gcd(p - 1n, q - 1n));
    crt = {
      p,
      q,
      dp: key.dp ?? d % (p - 1n),
      dq: key.dq ?? d % (q - 1n),
      qi: key.qi ?? modInverse(q, p),
    };
  }
  crtCache.set(key, crt);
  return crt;
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** A blinding pair: a = r^e mod n and its partner aInverse = r^-1 mod n. */
interface Blinding {
  a: bigint;
  aInverse: bigint;
  uses: number;
}

/** Fresh blinding values are drawn after this many signatures (OpenSSL uses 32 too). */
const BLINDING_REFRESH = 32;

const blindingCache = new WeakMap<RsaKeyMaterial, Blinding>();

/**
 * The blinding pair for the next signature. A fresh r costs an inverse modulo n
 * (~1 ms at 3072 bits on Node); in between, both values are squared, which keeps them
 * a valid pair ((r^2)^e and (r^2)^-1) for two multiplications, as OpenSSL does.
 */
function nextBlinding(key: RsaKeyMaterial, rnd: RandomSource): Blinding {
  const { n, e } = key;
  const cached = blindingCache.get(key);
  if (cached !== undefined && cached.uses < BLINDING_REFRESH) {
    cached.a = (cached.a * cached.a) % n;
    cached.aInverse = (cached.aInverse * cached.aInverse) % n;
    cached.uses++;
    return cached;
  }
  for (;;) {
    const r = randomBigIntInRange(rnd, 2n, n - 1n);
    try {
      const fresh = { a: modPow(r, e, n), aInverse: modInverse(r, n), uses: 1 };
      blindingCache.set(key, fresh);
      return fresh;
    } catch {
      // r shares a factor with n: astronomically unlikely; draw again.
    }
  }
}

/**
 * A RandomSource for blinding when the caller gave none: HMAC-SHA-512 keyed with the
 * private exponent over the encoded message and a counter. Unpredictable to anyone
 * without the key, which is all blinding needs.
 */
function derivedRandom(key: RsaKeyMaterial, em: Uint8Array): RandomSource {
  const secret = bigIntToBytes(key.d ?? key.p ?? key.n);
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 64) {
      const block = hmac(sha512, secret, concatBytes(em, Uint8Array.of(counter++ & 0xff)));
      out.set(block.subarray(0, Math.min(64, n - o)), o);
    }
    return out;
  };
}

/** m^d mod n with base and exponent blinding, by the CRT when p and q are known. */
function privateOperation(key: RsaKeyMaterial, m: bigint, rnd: RandomSource): bigint {
  const { n } = key;
  const crt = crtOf(key);
  if (crt === null && key.d === undefined) {
    throw new SSHError("ERR_SIGNATURE", "Cannot sign with RSA: the key has no private part");
  }

  // Base blinding: exponentiate m * r^e, then multiply by r^-1.
  const { a, aInverse } = nextBlinding(key, rnd);
  const blinded = (m * a) % n;

  let sBlinded: bigint;
  if (crt !== null) {
    const { p, q, dp, dq, qi } = crt;
    // Exponent blinding: d_p + k(p-1) gives the same result mod p for any k.
    const kp = randomBigIntInRange(rnd, 1n, (1n << 64n) - 1n);
    const kq = randomBigIntInRange(rnd, 1n, (1n << 64n) - 1n);
    const s1 = modPow(blinded % p, dp + kp * (p - 1n), p);
    const s2 = modPow(blinded % q, dq + kq * (q - 1n), q);
    let h = (qi * (s1 - s2)) % p;
    if (h < 0n) h += p;
    sBlinded = s2 + h * q;
  } else {
    sBlinded = modPow(blinded, key.d!, n);
  }
  return (sBlinded * aInverse) % n;
}

/**
 * The RSA decryption primitive RSADP (RFC 8017 §5.1.2): `c^d mod n`, with the
 * same blinding and CRT as signing, checked by re-encrypting. For RSAES-OAEP in
 * the RSA key exchange (RFC 4432). Throws RangeError unless 0 <= c < n.
 *
 * @example
 * ```ts
 * import { rsaDecryptPrimitive } from "./rsa.ts";
 * import { modPow } from "./bigint.ts";
 * const p = 0xeeed0ea0c8f4a39aba5c4b31c911c87310370c82d0d923891db39b437cfbb753n;
 * const q = 0xdb1c6d3fde4635f2b635cfac4589e31a8a141199846a644213c4bc431eb604b9n;
 * const key = { type: "rsa" as const, n: p * q, e: 65537n, p, q };
 * const c = modPow(42n, key.e, key.n);
 * console.log(rsaDecryptPrimitive(key, c, (n) => new Uint8Array(n).fill(7))); // 42n
 * ```
 */
export function rsaDecryptPrimitive(key: RsaKeyMaterial, c: bigint, random: RandomSource): bigint {
  if (c < 0n || c >= key.n) throw new RangeError("RSA ciphertext representative out of range");
  const m = privateOperation(key, c, random);
  if (modPow(m, key.e, key.n) !== c) {
    throw new SSHError(
      "ERR_SIGNATURE",
      "RSA decryption failed its self-check; the key is inconsistent",
    );
  }
  return m;
}

/**
 * Signs `data` with RSASSA-PKCS1-v1_5 and returns the signature as `k` bytes
 * (k = modulus length). Needs `d` or `p`/`q`; uses the CRT when `p` and `q` are
 * present. `random` feeds the blinding; without it a key-derived stream is used.
 *
 * @example Sign and verify with a toy 512-bit key (real keys: 2048 bits or more)
 * ```ts
 * import { rsaSignPkcs1v15, rsaVerifyPkcs1v15 } from "./rsa.ts";
 * const p = 0xeeed0ea0c8f4a39aba5c4b31c911c87310370c82d0d923891db39b437cfbb753n;
 * const q = 0xdb1c6d3fde4635f2b635cfac4589e31a8a141199846a644213c4bc431eb604b9n;
 * const key = { type: "rsa" as const, n: p * q, e: 65537n, p, q };
 * const data = new TextEncoder().encode("hello");
 * const sig = rsaSignPkcs1v15(key, "sha1", data);
 * console.log(rsaVerifyPkcs1v15(key.n, key.e, "sha1", data, sig)); // true
 * ```
 */
export function rsaSignPkcs1v15(
  key: RsaKeyMaterial,
  hash: RsaHashName,
  data: Uint8Array,
  random?: RandomSource,
): Uint8Array {
  const { n, e } = key;
  const k = Math.ceil(bitLength(n) / 8);
  const backend = signatureBackend();
  const native = backend?.rsaSign(key, hash, data);
  // As below: a faulty signature (a fault in the CRT) would reveal a factor of n.
  if (native !== undefined && native.length === k && backend!.rsaVerify(n, e, hash, data, native)) {
    return native;
  }
  const em = emsaPkcs1v15Encode(hash, data, k);
  const m = bytesToBigInt(em);
  const rnd = random ?? derivedRandom(key, em);
  const s = privateOperation(key, m, rnd);
  // Never release a faulty signature: it would reveal a factor of n.
  if (modPow(s, e, n) !== m) {
    throw new SSHError(
      "ERR_SIGNATURE",
      "RSA signing failed its self-check; the key is inconsistent",
    );
  }
  return bigIntToBytes(s, k);
}
