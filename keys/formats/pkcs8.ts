/**
 * PKCS#8 (RFC 5208, RFC 5958) unencrypted private keys in DER: `PrivateKeyInfo`,
 * the body of "PRIVATE KEY" PEM blocks, for RSA, ECDSA, Ed25519 and DSA.
 * Encrypted PKCS#8 lives in `pkcs8_encrypted.ts`.
 *
 * @module
 */

import { ed25519PublicKeyOf } from "../../core/crypto/curve25519_backend.ts";
import type { KeyMaterial } from "../../core/publickey/types.ts";
import { derInteger, derNull, derOctetString, derOid, DerReader, derSequence } from "./asn1.ts";
import { CURVES } from "../_curves.ts";
import { OID_DSA, OID_EC_PUBLIC_KEY, OID_ED25519, OID_RSA_ENCRYPTION } from "../_oids.ts";
import { encodePkcs1PrivateKey, parsePkcs1PrivateKey } from "./pkcs1.ts";
import { encodeSec1PrivateKey, parseSec1PrivateKey } from "./sec1.ts";
import { readAlgorithmIdentifier, readDsaParams } from "./spki.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";
import { readCurveOid } from "./ec_params.ts";
import { modPow } from "../../core/publickey/bigint.ts";
import { dsaSizeProblem } from "../_material.ts";

/**
 * Decodes a DER `PrivateKeyInfo` / `OneAsymmetricKey`.
 *
 * @example
 * ```ts
 * import { encodePkcs8PrivateKey, parsePkcs8PrivateKey } from "./pkcs8.ts";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * const seed = new Uint8Array(32).fill(7);
 * const der = encodePkcs8PrivateKey({ type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed });
 * console.log(parsePkcs8PrivateKey(der).type); // "ed25519"
 * ```
 */
export function parsePkcs8PrivateKey(der: Uint8Array): KeyMaterial {
  const what = "PKCS#8 private key";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const version = seq.readSmallInteger("version");
  if (version > 1) throw new KeyImportError(`Cannot import ${what}: version ${version}`);
  const alg = readAlgorithmIdentifier(seq, "private key algorithm");
  const inner = seq.readOctetString("private key");
  seq.readOptionalExplicit(0, "attributes"); // ignored, as OpenSSL does
  const publicKey = seq.readOptionalImplicit(1, "public key");
  seq.assertEnd();
  top.assertEnd();
  switch (alg.oid) {
    case OID_RSA_ENCRYPTION:
      if (!alg.params.done) alg.params.readNull("RSA parameters");
      alg.params.assertEnd();
      return parsePkcs1PrivateKey(inner);
    case OID_EC_PUBLIC_KEY: {
      const curveOid = readCurveOid(alg.params, "PKCS#8 private key");
      alg.params.assertEnd();
      return parseSec1PrivateKey(inner, curveOid);
    }
    case OID_ED25519: {
      alg.params.assertEnd();
      const r = new DerReader(inner, "Ed25519 private key");
      const seed = r.readOctetString("Ed25519 private key");
      r.assertEnd();
      if (seed.length !== 32) {
        throw new KeyImportError(`Cannot import ${what}: Ed25519 seed is ${seed.length} bytes`);
      }
      // The optional public key (RFC 8410 v2) is checked by checkKeyMaterial on import.
      const pk = publicKey && publicKey.length === 33 && publicKey[0] === 0
        ? publicKey.subarray(1)
        : ed25519PublicKeyOf(seed);
      return { type: "ed25519", publicKey: pk, seed };
    }
    case OID_DSA: {
      const { p, q, g } = readDsaParams(alg.params);
      alg.params.assertEnd();
      const r = new DerReader(inner, "DSA private key");
      const x = r.readUnsigned("x");
      r.assertEnd();
      const why = dsaSizeProblem(p, q);
      if (why) throw new KeyImportError(`Cannot import ${what}: ${why}`);
      if (x <= 0n || x >= q) {
        throw new KeyImportError(`Cannot import ${what}: DSA parameters out of range`);
      }
      return { type: "dsa", p, q, g, y: modPow(g, x, p), x };
    }
    default:
      throw new KeyImportError(`Cannot import ${what}: unsupported key algorithm OID ${alg.oid}`);
  }
}

/**
 * Encodes a private key as DER `PrivateKeyInfo` (version 0, as OpenSSL writes).
 *
 * @example
 * ```ts
 * import { encodePkcs8PrivateKey } from "./pkcs8.ts";
 * const k = { type: "rsa", n: 3233n, e: 17n, d: 413n, p: 61n, q: 53n } as const;
 * console.log(encodePkcs8PrivateKey(k)[0]); // 48
 * ```
 */
export function encodePkcs8PrivateKey(k: KeyMaterial): Uint8Array {
  switch (k.type) {
    case "rsa":
      return derSequence(
        derInteger(0),
        derSequence(derOid(OID_RSA_ENCRYPTION), derNull()),
        derOctetString(encodePkcs1PrivateKey(k)),
      );
    case "ecdsa":
      return derSequence(
        derInteger(0),
        derSequence(derOid(OID_EC_PUBLIC_KEY), derOid(CURVES[k.curve].oid)),
        derOctetString(encodeSec1PrivateKey(k, false)),
      );
    case "ed25519":
      if (!k.seed) break;
      return derSequence(
        derInteger(0),
        derSequence(derOid(OID_ED25519)),
        derOctetString(derOctetString(k.seed)),
      );
    case "dsa":
      if (k.x === undefined) break;
      return derSequence(
        derInteger(0),
        derSequence(
          derOid(OID_DSA),
          derSequence(derInteger(k.p), derInteger(k.q), derInteger(k.g)),
        ),
        derOctetString(derInteger(k.x)),
      );
    default:
      throw new KeyExportError(`Cannot export ${k.type} key as PKCS#8: no such encoding`);
  }
  throw new KeyExportError("Cannot export private key as PKCS#8: the key has no private part");
}
