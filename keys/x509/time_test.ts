import { test } from "node:test";
import assert from "node:assert/strict";
import { derElement, DerReader, derSequence, DerTag } from "../formats/asn1.ts";
import { KeyImportError } from "../errors.ts";
import { encodeTime, readTime } from "./time.ts";

const read = (tag: number, s: string) =>
  readTime(
    new DerReader(derSequence(derElement(tag, new TextEncoder().encode(s)))).readSequence("v"),
    "notAfter",
  );

test("readTime() reads UTCTime and GeneralizedTime, and encodeTime() writes them back", () => {
  for (
    const [tag, s, iso] of [
      [DerTag.UTC_TIME, "491231235959Z", "2049-12-31T23:59:59.000Z"],
      [DerTag.UTC_TIME, "500101000000Z", "1950-01-01T00:00:00.000Z"],
      [DerTag.UTC_TIME, "000229120000Z", "2000-02-29T12:00:00.000Z"],
      [DerTag.GENERALIZED_TIME, "99991231235959Z", "9999-12-31T23:59:59.000Z"],
      [DerTag.GENERALIZED_TIME, "20500101000000Z", "2050-01-01T00:00:00.000Z"],
    ] as const
  ) {
    const date = read(tag, s);
    assert.equal(date.toISOString(), iso, s);
    assert.deepEqual(encodeTime(date), derElement(tag, new TextEncoder().encode(s)));
  }
});

test("readTime() refuses out-of-range fields instead of rolling them over", () => {
  // Date.UTC read month 13 as next January, Feb 30 as Mar 2, hour 24 as the next day.
  for (
    const [tag, s] of [
      [DerTag.UTC_TIME, "251301000000Z"],
      [DerTag.UTC_TIME, "250001000000Z"],
      [DerTag.UTC_TIME, "250230000000Z"],
      [DerTag.UTC_TIME, "250229000000Z"],
      [DerTag.UTC_TIME, "250100000000Z"],
      [DerTag.UTC_TIME, "250101240000Z"],
      [DerTag.UTC_TIME, "250101236000Z"],
      [DerTag.UTC_TIME, "250101235960Z"],
      [DerTag.UTC_TIME, "250101235999Z"],
      [DerTag.GENERALIZED_TIME, "99999999999999Z"],
      [DerTag.GENERALIZED_TIME, "20250431000000Z"],
      [DerTag.GENERALIZED_TIME, "00000101000000Z"], // Date.UTC reads year 0 as 1900
      [DerTag.GENERALIZED_TIME, "00991231000000Z"],
    ] as const
  ) {
    assert.throws(
      () => read(tag, s),
      (e) => e instanceof KeyImportError && e.message.includes(`bad notAfter '${s}'`),
      s,
    );
  }
});
