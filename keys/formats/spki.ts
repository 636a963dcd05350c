/**
 * X.509 `SubjectPublicKeyInfo` (RFC 5280 §4.1, RFC 5480, RFC 8410) in DER: the body
 * of "PUBLIC KEY" PEM blocks, for RSA, ECDSA (named NIST curves), Ed25519 and DSA.
 *
 * @module
 */

import type { KeyMaterial } from "../../core/publickey/types.ts";
import { derBitString, derInteger, derNull, derOid, DerReader, derSequence } from "./asn1.ts";
import { curveByOid, CURVES, uncompressedPoint } from "../_curves.ts";
import { OID_DSA, OID_EC_PUBLIC_KEY, OID_ED25519, OID_RSA_ENCRYPTION } from "../_oids.ts";
import { encodePkcs1PublicKey, parsePkcs1PublicKey } from "./pkcs1.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";
import { readCurveOid } from "./ec_params.ts";

/** An AlgorithmIdentifier as read: the OID and a reader over any parameters. */
export interface AlgorithmIdentifier {
  readonly oid: string;
  readonly params: DerReader;
}

/** Reads an AlgorithmIdentifier SEQUENCE { OID, params? }. */
export function readAlgorithmIdentifier(r: DerReader, what: string): AlgorithmIdentifier {
  const seq = r.readSequence(what);
  const oid = seq.readOid(`${what} OID`);
  return { oid, params: seq };
}

/** Reads DSA domain parameters SEQUENCE { p, q, g }. */
export function readDsaParams(r: DerReader): { p: bigint; q: bigint; g: bigint } {
  const seq = r.readSequence("DSA parameters");
  const out = { p: seq.readUnsigned("p"), q: seq.readUnsigned("q"), g: seq.readUnsigned("g") };
  seq.assertEnd();
  return out;
}

/**
 * Decodes a DER `SubjectPublicKeyInfo`.
 *
 * @example
 * ```ts
 * import { encodeSpki, parseSpki } from "./spki.ts";
 * const der = encodeSpki({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) });
 * console.log(parseSpki(der).type); // "ed25519"
 * ```
 */
export function parseSpki(der: Uint8Array): KeyMaterial {
  const what = "SubjectPublicKeyInfo";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const alg = readAlgorithmIdentifier(seq, "algorithm");
  const bits = seq.readBitString("public key");
  seq.assertEnd();
  top.assertEnd();
  const fail = (why: string): never => {
    throw new KeyImportError(`Cannot import public key: ${why}`);
  };
  switch (alg.oid) {
    case OID_RSA_ENCRYPTION: {
      if (!alg.params.done) alg.params.readNull("RSA parameters");
      alg.params.assertEnd();
      return parsePkcs1PublicKey(bits);
    }
    case OID_EC_PUBLIC_KEY: {
      const curveOid = readCurveOid(alg.params, "public key");
      alg.params.assertEnd();
      const info = curveByOid(curveOid);
      if (!info) return fail(`unsupported curve ${curveOid}`);
      const publicKey = uncompressedPoint(info, bits);
      if (!publicKey) return fail(`EC point is not a valid ${info.name} point`);
      return { type: "ecdsa", curve: info.name, publicKey };
    }
    case OID_ED25519: {
      alg.params.assertEnd();
      if (bits.length !== 32) fail(`Ed25519 key is ${bits.length} bytes, not 32`);
      return { type: "ed25519", publicKey: bits };
    }
    case OID_DSA: {
      const { p, q, g } = readDsaParams(alg.params);
      alg.params.assertEnd();
      const r = new DerReader(bits, "DSA public key");
      const y = r.readUnsigned("y");
      r.assertEnd();
      return { type: "dsa", p, q, g, y };
    }
    default:
      return fail(`unsupported key algorithm OID ${alg.oid}`);
  }
}

/**
 * Encodes a public key as DER `SubjectPublicKeyInfo`.
 *
 * @example
 * ```ts
 * import { encodeSpki } from "./spki.ts";
 * console.log(encodeSpki({ type: "rsa", n: 3233n, e: 17n })[0]); // 48
 * ```
 */
export function encodeSpki(k: KeyMaterial): Uint8Array {
  switch (k.type) {
    case "rsa":
      return derSequence(
        derSequence(derOid(OID_RSA_ENCRYPTION), derNull()),
        derBitString(encodePkcs1PublicKey(k)),
      );
    case "ecdsa":
      return derSequence(
        derSequence(derOid(OID_EC_PUBLIC_KEY), derOid(CURVES[k.curve].oid)),
        derBitString(k.publicKey),
      );
    case "ed25519":
      return derSequence(derSequence(derOid(OID_ED25519)), derBitString(k.publicKey));
    case "dsa":
      return derSequence(
        derSequence(
          derOid(OID_DSA),
          derSequence(derInteger(k.p), derInteger(k.q), derInteger(k.g)),
        ),
        derBitString(derInteger(k.y)),
      );
    default:
      throw new KeyExportError(
        `Cannot export ${k.type} key as SubjectPublicKeyInfo: no such encoding`,
      );
  }
}
