/**
 * SEC1 (RFC 5915) elliptic-curve private keys in DER: `ECPrivateKey`, the body of
 * "EC PRIVATE KEY" PEM blocks and of PKCS#8 EC keys.
 *
 * @module
 */

import type { EcdsaKeyMaterial } from "../../core/publickey/types.ts";
import { bytesToBigInt } from "../../core/wire.ts";
import {
  derBitString,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
} from "./asn1.ts";
import {
  curveByOid,
  type CurveInfo,
  CURVES,
  padScalar,
  publicFromScalar,
  uncompressedPoint,
} from "../_curves.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";
import { readCurveOid } from "./ec_params.ts";

/**
 * Decodes a DER `ECPrivateKey`. The curve comes from its parameters, or from
 * `curveOid` (PKCS#8 carries it outside); the public point is derived when absent.
 *
 * @example
 * ```ts
 * import { encodeSec1PrivateKey, parseSec1PrivateKey } from "./sec1.ts";
 * import { p256 } from "@noble/curves/nist.js";
 * const privateKey = p256.utils.randomSecretKey();
 * const publicKey = p256.getPublicKey(privateKey, false);
 * const der = encodeSec1PrivateKey({ type: "ecdsa", curve: "nistp256", publicKey, privateKey });
 * console.log(parseSec1PrivateKey(der).curve); // "nistp256"
 * ```
 */
export function parseSec1PrivateKey(der: Uint8Array, curveOid?: string): EcdsaKeyMaterial {
  const what = "SEC1 EC private key";
  const top = new DerReader(der, what);
  const seq = top.readSequence(what);
  const version = seq.readSmallInteger("version");
  if (version !== 1) throw new KeyImportError(`Cannot import ${what}: version ${version}, not 1`);
  const scalar = seq.readOctetString("private key");
  let oid = curveOid;
  const params = seq.readOptionalExplicit(0, "parameters");
  if (params) {
    const inner = readCurveOid(params, what);
    params.assertEnd("parameters");
    if (oid !== undefined && oid !== inner) {
      throw new KeyImportError(`Cannot import ${what}: curve ${inner} contradicts ${oid}`);
    }
    oid = inner;
  }
  let point: Uint8Array | undefined;
  const pub = seq.readOptionalExplicit(1, "public key");
  if (pub) {
    point = pub.readBitString("public key");
    pub.assertEnd("public key");
  }
  seq.assertEnd();
  top.assertEnd();
  if (oid === undefined) {
    throw new KeyImportError(`Cannot import ${what}: it does not name a curve`);
  }
  const info = curveByOid(oid);
  if (!info) throw new KeyImportError(`Cannot import ${what}: unsupported curve ${oid}`);
  return ecMaterial(info, scalar, point, what);
}

/** Builds checked EC material from a scalar and an optional point. */
export function ecMaterial(
  info: CurveInfo,
  scalar: Uint8Array,
  point: Uint8Array | undefined,
  what: string,
): EcdsaKeyMaterial {
  const privateKey = padScalar(info, scalar);
  if (!privateKey) {
    throw new KeyImportError(`Cannot import ${what}: scalar too long for ${info.name}`);
  }
  // A point the file gives is checked against the scalar at import (checkKeyMaterial);
  // a compressed one is expanded to the form SSH blobs carry, an invalid one left as is.
  const publicKey = point === undefined
    ? publicFromScalar(info, privateKey)
    : uncompressedPoint(info, point) ?? point;
  if (!publicKey || bytesToBigInt(privateKey) === 0n) {
    throw new KeyImportError(`Cannot import ${what}: private scalar out of range for ${info.name}`);
  }
  return { type: "ecdsa", curve: info.name, publicKey, privateKey };
}

/**
 * Encodes an EC private key as DER `ECPrivateKey`, with the curve parameters
 * (omitted inside PKCS#8 when `withParameters` is false) and the public point.
 *
 * @example
 * ```ts
 * import { encodeSec1PrivateKey } from "./sec1.ts";
 * import { p384 } from "@noble/curves/nist.js";
 * const privateKey = p384.utils.randomSecretKey();
 * const publicKey = p384.getPublicKey(privateKey, false);
 * const der = encodeSec1PrivateKey({ type: "ecdsa", curve: "nistp384", publicKey, privateKey });
 * console.log(der[0]); // 48
 * ```
 */
export function encodeSec1PrivateKey(k: EcdsaKeyMaterial, withParameters = true): Uint8Array {
  if (!k.privateKey) {
    throw new KeyExportError("Cannot export EC private key: the key has no private part");
  }
  const info = CURVES[k.curve];
  const parts = [derInteger(1), derOctetString(padScalar(info, k.privateKey)!)];
  if (withParameters) parts.push(derExplicit(0, derOid(info.oid)));
  parts.push(derExplicit(1, derBitString(k.publicKey)));
  return derSequence(...parts);
}
