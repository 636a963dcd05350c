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
  let date: Date | undefined;
  if (e.tag === DerTag.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    date = utcDate([yy < 50 ? 2000 + yy : 1900 + yy, ...m.slice(2).map(Number)]);
  }
  if (
    e.tag === DerTag.GENERALIZED_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))
  ) {
    date = utcDate(m.slice(1).map(Number));
  }
  if (date) return date;
  throw new KeyImportError(`Cannot parse certificate: bad ${what} '${s}'`);
}

/**
 * The instant of [year, month (1-12), day, hour, minute, second] in UTC. Date.UTC
 * rolls fields over (month 13 is next January, Feb 30 is Mar 2, hour 24 the next
 * day; years 0-99 are read as 1900-1999): undefined when a field does not come
 * back out as given.
 */
function utcDate(fields: readonly number[]): Date | undefined {
  const [y, mo, d, h, mi, sec] = fields as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, sec));
  const back = [
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
  ];
  return back.every((v, i) => v === fields[i]) ? date : undefined;
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
