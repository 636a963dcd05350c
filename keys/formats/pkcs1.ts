/**
 * PKCS#1 (RFC 8017 Appendix A.1) RSA keys in DER: `RSAPublicKey` and
 * `RSAPrivateKey` (the body of "RSA PUBLIC KEY" / "RSA PRIVATE KEY" PEM blocks),
 * and OpenSSL's traditional DSA private key (the body of "DSA PRIVATE KEY").
 *
 * @module
 */

import type { DsaKeyMaterial, RsaKeyMaterial } from "../../core/publickey/types.ts";
import { derInteger, DerReader, derSequence } from "./asn1.ts";
import { completeRsa } from "../_material.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";

/**
 * Decodes a DER `RSAPublicKey`.
 *
 * @example
 * ```ts
 * import { encodePkcs1PublicKey, parsePkcs1PublicKey } from "./pkcs1.ts";
 * const der = encodePkcs1PublicKey({ type: "rsa", n: 3233n, e: 17n });
 * console.log(parsePkcs1PublicKey(der).n); // 3233n
 * ```
 */
export function parsePkcs1PublicKey(der: Uint8Array): RsaKeyMaterial {
  const what = "PKCS#1 RSA public key";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const n = seq.readUnsigned("modulus");
  const e = seq.readUnsigned("public exponent");
  seq.assertEnd();
  top.assertEnd();
  return { type: "rsa", n, e };
}

/**
 * Encodes an RSA public key as DER `RSAPublicKey`.
 *
 * @example
 * ```ts
 * import { encodePkcs1PublicKey } from "./pkcs1.ts";
 * console.log(encodePkcs1PublicKey({ type: "rsa", n: 3233n, e: 17n })[0]); // 48 (SEQUENCE)
 * ```
 */
export function encodePkcs1PublicKey(k: RsaKeyMaterial): Uint8Array {
  return derSequence(derInteger(k.n), derInteger(k.e));
}

/**
 * Decodes a DER `RSAPrivateKey` (two-prime only; multi-prime keys are refused).
 *
 * @example
 * ```ts
 * import { encodePkcs1PrivateKey, parsePkcs1PrivateKey } from "./pkcs1.ts";
 * const k = { type: "rsa", n: 3233n, e: 17n, d: 413n, p: 61n, q: 53n } as const;
 * console.log(parsePkcs1PrivateKey(encodePkcs1PrivateKey(k)).d); // 413n
 * ```
 */
export function parsePkcs1PrivateKey(der: Uint8Array): RsaKeyMaterial {
  const what = "PKCS#1 RSA private key";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const version = seq.readSmallInteger("version");
  if (version !== 0) {
    throw new KeyImportError(
      `Cannot import ${what}: version ${version} (multi-prime RSA) is not supported`,
    );
  }
  const k: RsaKeyMaterial = {
    type: "rsa",
    n: seq.readUnsigned("modulus"),
    e: seq.readUnsigned("public exponent"),
    d: seq.readUnsigned("private exponent"),
    p: seq.readUnsigned("prime1"),
    q: seq.readUnsigned("prime2"),
    dp: seq.readUnsigned("exponent1"),
    dq: seq.readUnsigned("exponent2"),
    qi: seq.readUnsigned("coefficient"),
  };
  seq.assertEnd();
  top.assertEnd();
  return k;
}

/**
 * Encodes an RSA private key as DER `RSAPrivateKey` (CRT values computed if absent).
 *
 * @example
 * ```ts
 * import { encodePkcs1PrivateKey } from "./pkcs1.ts";
 * const k = { type: "rsa", n: 3233n, e: 17n, d: 413n, p: 61n, q: 53n } as const;
 * console.log(encodePkcs1PrivateKey(k).length > 10); // true
 * ```
 */
export function encodePkcs1PrivateKey(k: RsaKeyMaterial): Uint8Array {
  const c = completeRsa(k);
  if (c.d === undefined || c.p === undefined || c.q === undefined) {
    throw new KeyExportError("Cannot export RSA private key: the key has no private part");
  }
  return derSequence(
    derInteger(0),
    derInteger(c.n),
    derInteger(c.e),
    derInteger(c.d),
    derInteger(c.p),
    derInteger(c.q),
    derInteger(c.dp!),
    derInteger(c.dq!),
    derInteger(c.qi!),
  );
}

/**
 * Decodes OpenSSL's traditional DSA private key: SEQUENCE { 0, p, q, g, y, x }.
 *
 * @example
 * ```ts
 * import { encodeOpensslDsaPrivateKey, parseOpensslDsaPrivateKey } from "./pkcs1.ts";
 * const k = { type: "dsa", p: 23n, q: 11n, g: 4n, y: 8n, x: 3n } as const;
 * console.log(parseOpensslDsaPrivateKey(encodeOpensslDsaPrivateKey(k)).x); // 3n
 * ```
 */
export function parseOpensslDsaPrivateKey(der: Uint8Array): DsaKeyMaterial {
  const what = "DSA private key";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const version = seq.readSmallInteger("version");
  if (version !== 0) throw new KeyImportError(`Cannot import ${what}: version ${version}`);
  const k: DsaKeyMaterial = {
    type: "dsa",
    p: seq.readUnsigned("p"),
    q: seq.readUnsigned("q"),
    g: seq.readUnsigned("g"),
    y: seq.readUnsigned("y"),
    x: seq.readUnsigned("x"),
  };
  seq.assertEnd();
  top.assertEnd();
  return k;
}

/**
 * Encodes a DSA private key in OpenSSL's traditional form.
 *
 * @example
 * ```ts
 * import { encodeOpensslDsaPrivateKey } from "./pkcs1.ts";
 * const k = { type: "dsa", p: 23n, q: 11n, g: 4n, y: 8n, x: 3n } as const;
 * console.log(encodeOpensslDsaPrivateKey(k)[0]); // 48
 * ```
 */
export function encodeOpensslDsaPrivateKey(k: DsaKeyMaterial): Uint8Array {
  if (k.x === undefined) {
    throw new KeyExportError("Cannot export DSA private key: the key has no private part");
  }
  return derSequence(
    derInteger(0),
    derInteger(k.p),
    derInteger(k.q),
    derInteger(k.g),
    derInteger(k.y),
    derInteger(k.x),
  );
}
