/**
 * The NIST curves SSH uses for ECDSA keys, with their OIDs and sizes, and the
 * point arithmetic keys/ needs outside signing (derive a public key, validate a
 * point, generate a scalar). Internal to keys/.
 *
 * @module
 */

import { p256, p384, p521 } from "@noble/curves/nist.js";
import type { EcdsaCurveName } from "../core/publickey/types.ts";
import { signatureBackend } from "../core/publickey/signature_backend.ts";
import { OID_PRIME256V1, OID_SECP384R1, OID_SECP521R1 } from "./_oids.ts";

/** What keys/ needs to know about one curve. */
export interface CurveInfo {
  readonly name: EcdsaCurveName;
  /** Bits of the curve order, as ssh-keygen prints. */
  readonly bits: number;
  /** Bytes of a field element / scalar. */
  readonly size: number;
  readonly oid: string;
  readonly curve: typeof p256;
}

/** The three curves, by SSH name. */
export const CURVES: Readonly<Record<EcdsaCurveName, CurveInfo>> = {
  nistp256: { name: "nistp256", bits: 256, size: 32, oid: OID_PRIME256V1, curve: p256 },
  nistp384: { name: "nistp384", bits: 384, size: 48, oid: OID_SECP384R1, curve: p384 },
  nistp521: { name: "nistp521", bits: 521, size: 66, oid: OID_SECP521R1, curve: p521 },
};

/** The curve with this OID, if it is one of ours. */
export function curveByOid(oid: string): CurveInfo | undefined {
  return Object.values(CURVES).find((c) => c.oid === oid);
}

/** The curve with this SSH name ("nistp256"...), if it is one of ours. */
export function curveByName(name: string): CurveInfo | undefined {
  return Object.hasOwn(CURVES, name) ? CURVES[name as EcdsaCurveName] : undefined;
}

/** The curve whose scalar has `size` bytes (SSH's ECDSA names follow from the size). */
export function curveBySize(size: number): CurveInfo | undefined {
  return Object.values(CURVES).find((c) => c.size === size);
}

/** Left-pads a big-endian scalar to the curve size (formats may strip leading zeros). */
export function padScalar(info: CurveInfo, scalar: Uint8Array): Uint8Array | undefined {
  let s = scalar;
  while (s.length > info.size && s[0] === 0) s = s.subarray(1);
  if (s.length > info.size) return undefined;
  const out = new Uint8Array(info.size);
  out.set(s, info.size - s.length);
  return out;
}

/** The uncompressed public point for a scalar, or undefined if the scalar is invalid. */
export function publicFromScalar(info: CurveInfo, scalar: Uint8Array): Uint8Array | undefined {
  const s = padScalar(info, scalar);
  if (!s || !info.curve.utils.isValidSecretKey(s)) return undefined;
  return signatureBackend()?.ecdsaPublicKey(info.name, s) ?? info.curve.getPublicKey(s, false);
}

/**
 * A SEC1 point on the curve, compressed (`02`/`03` prefix, as `openssl ec -conv_form
 * compressed` writes it in SEC1, PKCS#8 and SPKI files) or uncompressed, in the
 * uncompressed form SSH key blobs carry; undefined when it is not a point on the curve.
 * (OpenSSH reads such files through OpenSSL and writes the point uncompressed.)
 */
export function uncompressedPoint(info: CurveInfo, point: Uint8Array): Uint8Array | undefined {
  if (point.length === 1 + info.size && (point[0] === 2 || point[0] === 3)) {
    try {
      return info.curve.Point.fromBytes(point).toBytes(false);
    } catch {
      return undefined;
    }
  }
  return isValidPoint(info, point) ? point : undefined;
}

/** True when `point` is an uncompressed SEC1 point on the curve. */
export function isValidPoint(info: CurveInfo, point: Uint8Array): boolean {
  if (point.length !== 1 + 2 * info.size || point[0] !== 4) return false;
  try {
    return info.curve.utils.isValidPublicKey(point, false);
  } catch {
    return false;
  }
}
