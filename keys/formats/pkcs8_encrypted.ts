/**
 * Encrypted PKCS#8 (`EncryptedPrivateKeyInfo`, RFC 5208 §6 and RFC 8018), the body
 * of "ENCRYPTED PRIVATE KEY" PEM blocks. Reads PBES2 (PBKDF2 with HMAC-SHA1/224/
 * 256/384/512, or scrypt; AES-128/192/256-CBC, DES-EDE3-CBC, DES-CBC), PBES1
 * (MD5 or SHA-1 with DES-CBC) and PKCS#12's SHA-1 + 3DES; writes PBES2 with
 * PBKDF2-HMAC-SHA256 and AES-256-CBC.
 *
 * @module
 */

import { md5, sha1 } from "@noble/hashes/legacy.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { utf8 } from "../../core/wire.ts";
import { derInteger, derOctetString, derOid, DerReader, derSequence } from "./asn1.ts";
import { CBC_CIPHERS, type CbcCipher, cbcCipherByOid } from "../_crypto/cbc_ciphers.ts";
import {
  OID_HMAC_SHA1,
  OID_HMAC_SHA224,
  OID_HMAC_SHA256,
  OID_HMAC_SHA384,
  OID_HMAC_SHA512,
  OID_PBE_MD5_DES_CBC,
  OID_PBE_SHA1_3DES_CBC,
  OID_PBE_SHA1_DES_CBC,
  OID_PBES2,
  OID_PBKDF2,
  OID_SCRYPT,
} from "../_oids.ts";
import { readAlgorithmIdentifier } from "./spki.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";

/** Most PBKDF2 iterations we run unless raised: about ten seconds of work. */
export const DEFAULT_MAX_PBKDF2_ITERATIONS = 1_000_000;
/**
 * Most scrypt memory we allow: 64 MiB, twice OpenSSL's default cap. Counted as
 * @noble/hashes counts it against `maxmem` (and OpenSSL against its cap), see
 * {@link scryptMemory}.
 */
const MAX_SCRYPT_MEMORY = 64 * 1024 * 1024;
/**
 * Most scrypt work we run, as N × r × p: 2^21, sixteen times OpenSSL's default
 * (N = 2^14, r = 8, p = 1; about 0.1 s here), so about 1.5 s. The memory cap alone
 * allows N × r up to 2^19; this bounds p, which costs time and almost no memory
 * (`openssl pkcs8 -scrypt -scrypt_p 16` writes, and reads, p = 16).
 */
const MAX_SCRYPT_WORK = 2 ** 21;
/** PBKDF2 iterations for new files: OpenSSL's default, which `ssh-keygen -m PKCS8` also uses. */
export const DEFAULT_PBKDF2_ITERATIONS = 2048;

const PRFS = new Map([
  [OID_HMAC_SHA1, sha1],
  [OID_HMAC_SHA224, sha224],
  [OID_HMAC_SHA256, sha256],
  [OID_HMAC_SHA384, sha384],
  [OID_HMAC_SHA512, sha512],
]);

/** Options for decryption. */
export interface Pkcs8DecryptOptions {
  /** Refuse files needing more PBKDF2 iterations (default {@link DEFAULT_MAX_PBKDF2_ITERATIONS}). */
  readonly maxIterations?: number;
}

/** Options for encryption. */
export interface Pkcs8EncryptOptions {
  /** "aes-256-cbc" (default), "aes-192-cbc", "aes-128-cbc" or "des-ede3-cbc". */
  readonly cipher?: string;
  /** PBKDF2 iterations (default {@link DEFAULT_PBKDF2_ITERATIONS}). */
  readonly iterations?: number;
  /** Randomness for salt and IV. */
  readonly random?: RandomSource;
}

function fail(why: string): never {
  throw new KeyImportError(`Cannot import encrypted PKCS#8 private key: ${why}`);
}

function wrongPassphrase(): never {
  throw new KeyImportError("Cannot import private key: incorrect passphrase");
}

/**
 * A CBC ciphertext of part of a block is a cut or damaged file: said so before any key
 * derivation, rather than as the wrong passphrase a failed decryption would suggest.
 */
function checkBlocks(data: Uint8Array, blockSize: number): void {
  if (data.length === 0 || data.length % blockSize !== 0) {
    fail(
      `encrypted data of ${data.length} bytes is not a whole number of ${blockSize}-byte ` +
        "blocks (the file is truncated or corrupt)",
    );
  }
}

function checkIterations(n: number, options: Pkcs8DecryptOptions): void {
  const max = options.maxIterations ?? DEFAULT_MAX_PBKDF2_ITERATIONS;
  if (n < 1 || n > max) fail(`iteration count ${n} outside 1..${max} (raise maxIterations)`);
}

/**
 * Decrypts a DER `EncryptedPrivateKeyInfo` and returns the inner DER
 * `PrivateKeyInfo`. A wrong passphrase is reported as such.
 *
 * @example
 * ```ts
 * import { decryptPkcs8, encryptPkcs8 } from "./pkcs8_encrypted.ts";
 * const inner = new Uint8Array([0x30, 0]);
 * const enc = encryptPkcs8(inner, "pw", { iterations: 1 });
 * console.log(decryptPkcs8(enc, "pw")); // Uint8Array [48, 0]
 * ```
 */
export function decryptPkcs8(
  der: Uint8Array,
  passphrase: string | Uint8Array,
  options: Pkcs8DecryptOptions = {},
): Uint8Array {
  const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
  const top = new DerReader(der, "encrypted PKCS#8 private key");
  const seq = top.readSequence("EncryptedPrivateKeyInfo");
  const alg = readAlgorithmIdentifier(seq, "encryption algorithm");
  const data = seq.readOctetString("encrypted data");
  seq.assertEnd();
  top.assertEnd();
  let out: Uint8Array | undefined;
  switch (alg.oid) {
    case OID_PBES2:
      out = pbes2Decrypt(alg.params, pw, data, options);
      break;
    case OID_PBE_MD5_DES_CBC:
    case OID_PBE_SHA1_DES_CBC: {
      const p = alg.params.readSequence("PBES1 parameters");
      const salt = p.readOctetString("salt");
      const iterations = p.readSmallInteger("iteration count");
      p.assertEnd();
      if (salt.length !== 8) fail(`PBES1 salt is ${salt.length} bytes, not 8`);
      checkIterations(iterations, options);
      const hash = alg.oid === OID_PBE_MD5_DES_CBC ? md5 : sha1;
      // PBKDF1: T = H^c(P || S); key = T[0..8], IV = T[8..16].
      let t = hash(new Uint8Array([...pw, ...salt]));
      for (let i = 1; i < iterations; i++) t = hash(t);
      checkBlocks(data, 8);
      out = CBC_CIPHERS.get("des-cbc")!.decrypt(t.subarray(0, 8), t.subarray(8, 16), data);
      break;
    }
    case OID_PBE_SHA1_3DES_CBC: {
      const p = alg.params.readSequence("PKCS#12 PBE parameters");
      const salt = p.readOctetString("salt");
      const iterations = p.readSmallInteger("iteration count");
      p.assertEnd();
      checkIterations(iterations, options);
      const bmp = bmpString(
        typeof passphrase === "string" ? passphrase : new TextDecoder().decode(pw),
      );
      const key = pkcs12Kdf(bmp, salt, iterations, 1, 24);
      const iv = pkcs12Kdf(bmp, salt, iterations, 2, 8);
      checkBlocks(data, 8);
      out = CBC_CIPHERS.get("des-ede3-cbc")!.decrypt(key, iv, data);
      break;
    }
    default:
      fail(`unsupported encryption algorithm ${alg.oid}`);
  }
  if (!out) wrongPassphrase();
  return out;
}

function pbes2Decrypt(
  params: DerReader,
  pw: Uint8Array,
  data: Uint8Array,
  options: Pkcs8DecryptOptions,
): Uint8Array | undefined {
  const p = params.readSequence("PBES2 parameters");
  const kdf = readAlgorithmIdentifier(p, "key derivation function");
  const scheme = readAlgorithmIdentifier(p, "encryption scheme");
  p.assertEnd();
  const cipher = cbcCipherByOid(scheme.oid);
  if (!cipher) fail(`unsupported cipher ${scheme.oid}`);
  const iv = scheme.params.readOctetString("IV");
  scheme.params.assertEnd();
  if (iv.length !== cipher.ivLength) fail(`IV is ${iv.length} bytes, ${cipher.ivLength} expected`);
  checkBlocks(data, cipher.ivLength);
  let key: Uint8Array;
  if (kdf.oid === OID_PBKDF2) {
    const kp = kdf.params.readSequence("PBKDF2 parameters");
    if (kp.peekTag() !== 0x04) fail("PBKDF2 salt from another source is not supported");
    const salt = kp.readOctetString("salt");
    const iterations = kp.readSmallInteger("iteration count");
    let keyLength = cipher.keyLength;
    if (kp.peekTag() === 0x02) keyLength = kp.readSmallInteger("key length", 1024);
    if (keyLength !== cipher.keyLength) fail(`key length ${keyLength} does not fit ${cipher.name}`);
    let prf = sha1;
    if (!kp.done) {
      const prfAlg = readAlgorithmIdentifier(kp, "PRF");
      if (!prfAlg.params.done) prfAlg.params.readNull("PRF parameters");
      prfAlg.params.assertEnd();
      const h = PRFS.get(prfAlg.oid);
      if (!h) fail(`unsupported PRF ${prfAlg.oid}`);
      prf = h;
    }
    kp.assertEnd();
    checkIterations(iterations, options);
    key = pbkdf2(prf, pw, salt, { c: iterations, dkLen: cipher.keyLength });
  } else if (kdf.oid === OID_SCRYPT) {
    const kp = kdf.params.readSequence("scrypt parameters");
    const salt = kp.readOctetString("salt");
    const N = kp.readSmallInteger("cost parameter");
    const r = kp.readSmallInteger("block size");
    const pp = kp.readSmallInteger("parallelization");
    if (!kp.done) kp.readSmallInteger("key length");
    kp.assertEnd();
    if (N < 2 || (N & (N - 1)) !== 0 || r < 1 || pp < 1) {
      fail(`scrypt parameters N=${N}, r=${r}, p=${pp} are invalid`);
    }
    // A file chooses its own cost: bounded as OpenSSL bounds it by default (32 MiB) and
    // then some — openssl's and ssh-keygen's keys use 16 MiB — so an import cannot be made
    // to take seconds and hundreds of MiB (N = 2^18, r = 8, p = 16 took 12.8 s, 358 MiB).
    if (scryptMemory(N, r, pp) > MAX_SCRYPT_MEMORY) {
      fail(`scrypt parameters N=${N}, r=${r}, p=${pp} need more than 64 MiB`);
    }
    if (N * r * pp > MAX_SCRYPT_WORK) {
      fail(
        `scrypt parameters N=${N}, r=${r}, p=${pp} are more work than the limit (N*r*p <= 2^21)`,
      );
    }
    key = scrypt(pw, salt, { N, r, p: pp, dkLen: cipher.keyLength, maxmem: MAX_SCRYPT_MEMORY });
  } else {
    return fail(`unsupported key derivation function ${kdf.oid}`);
  }
  return cipher.decrypt(key, iv, data);
}

/**
 * The bytes scrypt allocates: the N-block table, the p blocks and a scratch block of
 * 128 * r bytes each. @noble/hashes refuses with a plain Error past `maxmem` on this
 * count; checking N * r * 128 alone let such files through to it.
 */
function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + p + 1);
}

/** A password as PKCS#12 wants it: UTF-16BE with a two-byte terminator (empty stays empty). */
function bmpString(s: string): Uint8Array {
  if (s.length === 0) return new Uint8Array(0);
  const out = new Uint8Array(s.length * 2 + 2);
  for (let i = 0; i < s.length; i++) {
    out[2 * i] = s.charCodeAt(i) >> 8;
    out[2 * i + 1] = s.charCodeAt(i) & 0xff;
  }
  return out;
}

/** The PKCS#12 key derivation (RFC 7292 Appendix B.2) with SHA-1. */
function pkcs12Kdf(pw: Uint8Array, salt: Uint8Array, iterations: number, id: number, n: number) {
  const u = 20, v = 64;
  const fill = (b: Uint8Array) => {
    if (b.length === 0) return new Uint8Array(0);
    const out = new Uint8Array(v * Math.ceil(b.length / v));
    for (let i = 0; i < out.length; i++) out[i] = b[i % b.length]!;
    return out;
  };
  const I = new Uint8Array([...fill(salt), ...fill(pw)]);
  const D = new Uint8Array(v).fill(id);
  const out = new Uint8Array(n);
  for (let done = 0; done < n;) {
    let a = sha1(new Uint8Array([...D, ...I]));
    for (let i = 1; i < iterations; i++) a = sha1(a);
    out.set(a.subarray(0, Math.min(u, n - done)), done);
    done += u;
    if (done >= n) break;
    // I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes.
    const B = new Uint8Array(v);
    for (let i = 0; i < v; i++) B[i] = a[i % u]!;
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const s = I[j + k]! + B[k]! + carry;
        I[j + k] = s & 0xff;
        carry = s >> 8;
      }
    }
  }
  return out;
}

/**
 * Encrypts a DER `PrivateKeyInfo` as PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC by
 * default), as OpenSSL 3 and `ssh-keygen -m PKCS8` write.
 *
 * @example
 * ```ts
 * import { encryptPkcs8 } from "./pkcs8_encrypted.ts";
 * const der = encryptPkcs8(new Uint8Array([0x30, 0]), "pw");
 * console.log(der[0]); // 48
 * ```
 */
export function encryptPkcs8(
  privateKeyInfo: Uint8Array,
  passphrase: string | Uint8Array,
  options: Pkcs8EncryptOptions = {},
): Uint8Array {
  const cipher: CbcCipher | undefined = CBC_CIPHERS.get(options.cipher ?? "aes-256-cbc");
  if (!cipher || cipher.name === "des-cbc") {
    throw new KeyExportError(
      `Cannot export PKCS#8 private key: unsupported cipher '${options.cipher}'`,
    );
  }
  const iterations = options.iterations ?? DEFAULT_PBKDF2_ITERATIONS;
  if (!Number.isInteger(iterations) || iterations < 1) {
    throw new KeyExportError(`Cannot export PKCS#8 private key: invalid iterations ${iterations}`);
  }
  const random = options.random ?? systemRandom;
  const pw = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
  const salt = random(16);
  const iv = random(cipher.ivLength);
  const key = pbkdf2(sha256, pw, salt, { c: iterations, dkLen: cipher.keyLength });
  return derSequence(
    derSequence(
      derOid(OID_PBES2),
      derSequence(
        derSequence(
          derOid(OID_PBKDF2),
          derSequence(
            derOctetString(salt),
            derInteger(iterations),
            derSequence(derOid(OID_HMAC_SHA256), new Uint8Array([5, 0])),
          ),
        ),
        derSequence(derOid(cipher.oid), derOctetString(iv)),
      ),
    ),
    derOctetString(cipher.encrypt(key, iv, privateKeyInfo)),
  );
}
