/**
 * X.509 certificates as SSH public keys (RFC 6187): the `x509v3-*` key blobs and
 * the key inside the first (end-entity) certificate of one. Like OpenSSH
 * certificates, whether the chain is trusted is decided elsewhere
 * (`keys/x509.ts`); the transport only needs the key to check a signature.
 *
 * Blob: `string name`, `uint32 certificate count` (at least 1), that many
 * `string certificate` (DER, end-entity first), `uint32 OCSP response count`,
 * that many `string response`.
 *
 * Signatures made with these keys use the plain formats: `ssh-rsa`
 * (x509v3-ssh-rsa), `rsa2048-sha256` (x509v3-rsa2048-sha256: PKCS#1 v1.5 with
 * SHA-256, at least 2048 bits), `ecdsa-sha2-*`, and `ssh-ed25519` for
 * `x509v3-ssh-ed25519` (not in RFC 6187; as PKIX-SSH and AsyncSSH use it).
 *
 * @module
 */

import { SSHError } from "../errors.ts";
import { bytesToBigInt, SSHReader, SSHWriter } from "../wire.ts";
import { encodePublicKeyBlob, parsePublicKeyBlob, RSA_MAX_MODULUS_BITS } from "./blob.ts";
import { KeyBlobError } from "./errors.ts";
import type { EcdsaCurveName, KeyMaterial } from "./types.ts";
import {
  MAX_NAME,
  MAX_X509_CERT_BYTES as MAX_CERT_BYTES,
  MAX_X509_CHAIN as MAX_CHAIN,
} from "../limits.ts";

/**
 * The X.509 key algorithms we handle, most preferred first.
 *
 * @example
 * ```ts
 * import { X509_ALGORITHMS } from "./x509_blob.ts";
 * console.log(X509_ALGORITHMS.includes("x509v3-rsa2048-sha256")); // true
 * ```
 */
export const X509_ALGORITHMS: readonly string[] = Object.freeze([
  "x509v3-ssh-ed25519",
  "x509v3-ecdsa-sha2-nistp256",
  "x509v3-ecdsa-sha2-nistp384",
  "x509v3-ecdsa-sha2-nistp521",
  "x509v3-rsa2048-sha256",
  "x509v3-ssh-rsa",
]);

/** Least RSA modulus for x509v3-rsa2048-sha256 (RFC 6187 §3.3). */
const RSA2048_MIN_BITS = 2048;

/**
 * True for an `x509v3-*` algorithm name.
 *
 * @example
 * ```ts
 * import { isX509Algorithm } from "./x509_blob.ts";
 * console.log(isX509Algorithm("x509v3-ssh-rsa"), isX509Algorithm("ssh-rsa")); // true false
 * ```
 */
export function isX509Algorithm(name: string): boolean {
  return name.startsWith("x509v3-");
}

/**
 * The signature format an `x509v3-*` algorithm signs with (the name inside the
 * signature blob), or undefined for an unknown one.
 *
 * @example
 * ```ts
 * import { x509SignatureAlgorithm } from "./x509_blob.ts";
 * console.log(x509SignatureAlgorithm("x509v3-rsa2048-sha256")); // "rsa2048-sha256"
 * ```
 */
export function x509SignatureAlgorithm(algorithm: string): string | undefined {
  switch (algorithm) {
    case "x509v3-ssh-ed25519":
      return "ssh-ed25519";
    case "x509v3-ssh-rsa":
      return "ssh-rsa";
    case "x509v3-rsa2048-sha256":
      return "rsa2048-sha256";
    case "x509v3-ecdsa-sha2-nistp256":
    case "x509v3-ecdsa-sha2-nistp384":
    case "x509v3-ecdsa-sha2-nistp521":
      return algorithm.slice("x509v3-".length);
  }
  return undefined;
}

/**
 * The `x509v3-*` algorithms a key can be used with, most preferred first.
 *
 * @example
 * ```ts
 * import { x509AlgorithmsForKey } from "./x509_blob.ts";
 * console.log(x509AlgorithmsForKey({ type: "ed25519", publicKey: new Uint8Array(32) }));
 * // ["x509v3-ssh-ed25519"]
 * ```
 */
export function x509AlgorithmsForKey(key: KeyMaterial): string[] {
  switch (key.type) {
    case "ed25519":
      return ["x509v3-ssh-ed25519"];
    case "ecdsa":
      return [`x509v3-ecdsa-sha2-${key.curve}`];
    case "rsa":
      return key.n >= 1n << BigInt(RSA2048_MIN_BITS - 1)
        ? ["x509v3-rsa2048-sha256", "x509v3-ssh-rsa"]
        : ["x509v3-ssh-rsa"];
    default:
      return [];
  }
}

/** An RFC 6187 key blob, decoded. */
export interface X509KeyBlob {
  /** The algorithm name from the blob. */
  readonly algorithm: string;
  /** DER certificates, end-entity first. */
  readonly certificates: readonly Uint8Array[];
  /** DER OCSP responses (usually none). */
  readonly ocspResponses: readonly Uint8Array[];
}

/**
 * Encodes an RFC 6187 key blob.
 *
 * @example
 * ```ts
 * import { encodeX509KeyBlob, parseX509KeyBlob } from "./x509_blob.ts";
 * const blob = encodeX509KeyBlob("x509v3-ssh-ed25519", [new Uint8Array([0x30, 0])]);
 * console.log(parseX509KeyBlob(blob).certificates.length); // 1
 * ```
 */
export function encodeX509KeyBlob(
  algorithm: string,
  certificates: readonly Uint8Array[],
  ocspResponses: readonly Uint8Array[] = [],
): Uint8Array {
  const w = new SSHWriter(256).writeStringUtf8(algorithm).writeUint32(certificates.length);
  for (const c of certificates) w.writeString(c);
  w.writeUint32(ocspResponses.length);
  for (const o of ocspResponses) w.writeString(o);
  return w.toBytes();
}

/**
 * Decodes an RFC 6187 key blob (without looking inside the certificates).
 * Throws {@link KeyBlobError} when it is malformed.
 *
 * @example
 * ```ts
 * import { parseX509KeyBlob } from "./x509_blob.ts";
 * try { parseX509KeyBlob(new Uint8Array(3)); } catch (e) { console.log((e as Error).name); }
 * ```
 */
export function parseX509KeyBlob(blob: Uint8Array): X509KeyBlob {
  try {
    const r = new SSHReader(blob);
    const algorithm = r.readStringAscii("key type", MAX_NAME);
    if (!isX509Algorithm(algorithm)) {
      throw new KeyBlobError("malformed", `Cannot parse X.509 key: '${algorithm}' is not x509v3-*`);
    }
    const count = r.readUint32("certificate count");
    if (count < 1 || count > MAX_CHAIN) {
      throw new KeyBlobError("malformed", `Cannot parse X.509 key: ${count} certificates`);
    }
    const certificates: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      certificates.push(r.readString("certificate", MAX_CERT_BYTES).slice());
    }
    const ocspCount = r.readUint32("OCSP response count");
    if (ocspCount > MAX_CHAIN) {
      throw new KeyBlobError("malformed", `Cannot parse X.509 key: ${ocspCount} OCSP responses`);
    }
    const ocspResponses: Uint8Array[] = [];
    for (let i = 0; i < ocspCount; i++) {
      ocspResponses.push(r.readString("OCSP response", MAX_CERT_BYTES).slice());
    }
    r.assertEnd("X.509 key blob");
    return { algorithm, certificates, ocspResponses };
  } catch (e) {
    if (e instanceof KeyBlobError) throw e;
    if (e instanceof SSHError) {
      const problem = e.code === "ERR_WIRE_TRUNCATED" ? "truncated" : "malformed";
      throw new KeyBlobError(problem, `Cannot parse X.509 key: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

// --- A minimal DER walk: just far enough to reach the SubjectPublicKeyInfo. ---

interface Tlv {
  readonly tag: number;
  readonly content: Uint8Array;
  readonly end: number;
}

function bad(why: string): never {
  throw new KeyBlobError("malformed", `Cannot parse X.509 certificate: ${why}`);
}

function readTlv(b: Uint8Array, pos: number): Tlv {
  if (pos + 2 > b.length) bad("truncated");
  const tag = b[pos]!;
  let len = b[pos + 1]!;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || p + n > b.length) bad("bad length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
  }
  if (p + len > b.length) bad("truncated");
  return { tag, content: b.subarray(p, p + len), end: p + len };
}

/** The elements of a constructed value, in order. */
function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < content.length;) {
    const t = readTlv(content, p);
    out.push(t);
    p = t.end;
  }
  return out;
}

function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) bad(`expected ${what}`);
  return t;
}

function oidText(b: Uint8Array): string {
  const parts: number[] = [];
  let v = 0;
  for (const byte of b) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

function unsigned(b: Uint8Array): bigint {
  // Past the largest RSA modulus there is nothing to read (the blob parser refuses it).
  if (b.length > RSA_MAX_MODULUS_BITS / 8 + 1) bad(`an INTEGER of ${b.length} bytes is too long`);
  return bytesToBigInt(b);
}

const CURVE_OIDS: Record<string, EcdsaCurveName> = {
  "1.2.840.10045.3.1.7": "nistp256",
  "1.3.132.0.34": "nistp384",
  "1.3.132.0.35": "nistp521",
};

/**
 * The public key of a DER X.509 certificate (from its SubjectPublicKeyInfo):
 * RSA, ECDSA on the NIST curves, or Ed25519, checked as an SSH key blob is.
 * Throws {@link KeyBlobError} otherwise. The certificate's signature is not
 * checked here.
 *
 * @example
 * ```ts
 * import { publicKeyFromX509 } from "./x509_blob.ts";
 * try { publicKeyFromX509(new Uint8Array([0x30, 0])); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function publicKeyFromX509(der: Uint8Array): KeyMaterial {
  const cert = expectTag(readTlv(der, 0), 0x30, "Certificate SEQUENCE");
  const tbs = expectTag(children(cert.content)[0], 0x30, "TBSCertificate");
  const fields = children(tbs.content);
  // version [0] is optional; then serial, signature, issuer, validity, subject, SPKI.
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const spki = expectTag(fields[start + 5], 0x30, "SubjectPublicKeyInfo");
  const [algId, bits] = children(spki.content);
  const alg = children(expectTag(algId, 0x30, "AlgorithmIdentifier").content);
  const oid = oidText(expectTag(alg[0], 0x06, "algorithm OID").content);
  const bitString = expectTag(bits, 0x03, "public key BIT STRING").content;
  if (bitString[0] !== 0) bad("public key has unused bits");
  const keyBytes = bitString.subarray(1);
  let key: KeyMaterial;
  if (oid === "1.2.840.113549.1.1.1") {
    const [n, e] = children(expectTag(readTlv(keyBytes, 0), 0x30, "RSAPublicKey").content);
    key = {
      type: "rsa",
      n: unsigned(expectTag(n, 0x02, "modulus").content),
      e: unsigned(expectTag(e, 0x02, "exponent").content),
    };
  } else if (oid === "1.2.840.10045.2.1") {
    const curve = CURVE_OIDS[oidText(expectTag(alg[1], 0x06, "named curve").content)];
    if (!curve) bad("unsupported elliptic curve");
    key = { type: "ecdsa", curve, publicKey: keyBytes.slice() };
  } else if (oid === "1.3.101.112") {
    key = { type: "ed25519", publicKey: keyBytes.slice() };
  } else {
    bad(`unsupported key algorithm ${oid}`);
  }
  // Round-trip through the SSH blob parser: the same size and point checks as any key.
  return parsePublicKeyBlob(encodePublicKeyBlob(key)).key;
}

/** The key an `x509v3-*` blob certifies, and the blob's parts. */
export interface X509CertifiedKey extends X509KeyBlob {
  /** The end-entity certificate's key. */
  readonly key: KeyMaterial;
}

/**
 * Decodes an `x509v3-*` blob and the key of its end-entity certificate, and
 * checks the key fits the algorithm name (an Ed25519 key for
 * `x509v3-ssh-ed25519`, a 2048-bit or larger RSA key for `x509v3-rsa2048-sha256`,
 * …). Throws {@link KeyBlobError}.
 *
 * @example
 * ```ts
 * import { readX509CertifiedKey } from "./x509_blob.ts";
 * try { readX509CertifiedKey(new Uint8Array(0)); } catch (e) { console.log((e as Error).name); }
 * ```
 */
export function readX509CertifiedKey(blob: Uint8Array): X509CertifiedKey {
  const parsed = parseX509KeyBlob(blob);
  const key = publicKeyFromX509(parsed.certificates[0]!);
  if (!x509AlgorithmsForKey(key).includes(parsed.algorithm)) {
    throw new KeyBlobError(
      "mismatch",
      `Cannot parse X.509 key: a ${key.type} certificate cannot be '${parsed.algorithm}'`,
    );
  }
  return { ...parsed, key };
}
