/**
 * An EC key's curve as SEC1/RFC 3279 `ECParameters` give it: a named curve (an OID, what
 * every tool writes by default) or the curve spelt out (`openssl ec -param_enc explicit`),
 * which is taken when it is exactly one of our named curves — as OpenSSH (through OpenSSL)
 * takes it. Internal to keys/.
 *
 * @module
 */

import { bytesToBigInt } from "../../core/wire.ts";
import { curveByOid, type CurveInfo, CURVES } from "../_curves.ts";
import { type DerReader, DerTag } from "./asn1.ts";
import { KeyImportError } from "../errors.ts";

/** id-fieldType prime-field (RFC 3279). */
const OID_PRIME_FIELD = "1.2.840.10045.1.1";

/**
 * Reads the parameters (an OID or an explicit `ECParameters` SEQUENCE) at `r`'s position;
 * returns the curve's OID. Throws {@link KeyImportError} naming `what` for a curve that is
 * none of ours.
 */
export function readCurveOid(r: DerReader, what: string): string {
  if (r.peekTag() === DerTag.OID) return r.readOid("named curve");
  if (r.peekTag() !== DerTag.SEQUENCE) {
    throw new KeyImportError(
      `Cannot import ${what}: curve parameters are neither a name nor a curve`,
    );
  }
  const p = r.readSequence("curve parameters");
  try {
    return explicitCurve(p, what).oid;
  } catch (e) {
    if (e instanceof KeyImportError && !/explicit curve parameters/.test(e.message)) {
      throw new KeyImportError(
        `Cannot import ${what}: its explicit curve parameters are malformed`,
        { cause: e },
      );
    }
    throw e;
  }
}

function explicitCurve(p: DerReader, what: string): CurveInfo {
  const unknown = (): never => {
    throw new KeyImportError(
      `Cannot import ${what}: its explicit curve parameters are not those of P-256, P-384 or P-521`,
    );
  };
  const version = p.readInteger("ECParameters version");
  if (version !== 1n) unknown();
  const field = p.readSequence("field");
  if (field.readOid("field type") !== OID_PRIME_FIELD) unknown();
  const prime = field.readInteger("prime");
  field.assertEnd("field");
  const curve = p.readSequence("curve");
  const a = bytesToBigInt(curve.readOctetString("a"));
  const b = bytesToBigInt(curve.readOctetString("b"));
  if (!curve.done) curve.readBitString("seed");
  curve.assertEnd("curve");
  const base = p.readOctetString("base point");
  const order = p.readInteger("order");
  const cofactor = p.done ? 1n : p.readInteger("cofactor");
  p.assertEnd("curve parameters");
  for (const info of Object.values(CURVES)) {
    const c = info.curve.Point.CURVE();
    if (c.p !== prime || c.a !== a || c.b !== b || c.n !== order || c.h !== cofactor) continue;
    let g;
    try {
      g = info.curve.Point.fromBytes(base);
    } catch {
      return unknown();
    }
    if (!g.equals(info.curve.Point.BASE)) return unknown();
    return curveByOid(info.oid)!;
  }
  return unknown();
}
