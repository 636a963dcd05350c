/**
 * X.509 validity times (RFC 5280 §4.1.2.5): UTCTime before 2050, GeneralizedTime after.
 *
 * @module
 */

import { derElement, DerReader, DerTag } from "../formats/asn1.ts";
import { KeyImportError } from "../errors.ts";

export function readTime(r: DerReader, what: string): Date {
  const e = r.read(what);
  const s = new TextDecoder().decode(e.content);
  let m: RegExpExecArray | null;
  if (e.tag === DerTag.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    return new Date(
      Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!),
    );
  }
  if (
    e.tag === DerTag.GENERALIZED_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))
  ) {
    return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  }
  throw new KeyImportError(`Cannot parse certificate: bad ${what} '${s}'`);
}

export function encodeTime(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year >= 1950 && year < 2050
    ? derElement(DerTag.UTC_TIME, new TextEncoder().encode(digits.slice(2)))
    : derElement(DerTag.GENERALIZED_TIME, new TextEncoder().encode(digits));
}
