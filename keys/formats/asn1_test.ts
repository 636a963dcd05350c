import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import assert from "node:assert/strict";
import {
  Asn1Error,
  derBitString,
  derExplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
  MAX_DER_DEPTH,
} from "./asn1.ts";
import { KeyImportError } from "../errors.ts";
import { seededRandom } from "../../core/random.ts";

test("derInteger() and DerReader.readInteger() round-trip signed values", () => {
  for (const v of [0n, 1n, 127n, 128n, 255n, 256n, -1n, -128n, -129n, (1n << 2048n) - 1n]) {
    assert.equal(new DerReader(derInteger(v)).readInteger("v"), v);
  }
  assert.deepEqual(derInteger(128n), new Uint8Array([2, 2, 0, 128]));
});

test("derOid() and DerReader.readOid() round-trip", () => {
  for (const oid of ["1.2.840.113549.1.1.1", "1.3.101.112", "2.16.840.1.101.3.4.1.42", "2.999.3"]) {
    assert.equal(new DerReader(derOid(oid)).readOid("oid"), oid);
  }
  assert.deepEqual(derOid("1.2.840.10045.2.1"), new Uint8Array([6, 7, 42, 134, 72, 206, 61, 2, 1]));
});

test("DerReader reads nested structures with long lengths", () => {
  const big = new Uint8Array(70000).fill(9);
  const der = derSequence(
    derInteger(1),
    derOctetString(big),
    derBitString(new Uint8Array([1, 2])),
    derNull(),
    derExplicit(0, derOid("1.3.132.0.34")),
  );
  const seq = new DerReader(der).readSequence("s");
  assert.equal(seq.readSmallInteger("v"), 1);
  assert.equal(seq.readOctetString("o").length, 70000);
  assert.deepEqual(seq.readBitString("b"), new Uint8Array([1, 2]));
  seq.readNull("n");
  assert.equal(seq.readOptionalExplicit(1, "x"), undefined);
  assert.equal(seq.readOptionalExplicit(0, "p")!.readOid("c"), "1.3.132.0.34");
  seq.assertEnd();
});

test("DerReader rejects indefinite, non-minimal and overlong lengths", () => {
  assert.throws(() => new DerReader(new Uint8Array([0x30, 0x80, 0, 0])).read(), /indefinite/);
  assert.throws(() => new DerReader(new Uint8Array([4, 0x81, 5, 1, 2, 3, 4, 5])).read(), /minimal/);
  assert.throws(
    () => new DerReader(new Uint8Array([4, 0x84, 0xff, 0xff, 0xff, 0xff])).read(),
    /declares/,
  );
  assert.throws(() => new DerReader(new Uint8Array([4, 0x85, 1, 1, 1, 1, 1])).read(), /at most 4/);
});

test("DerReader reports the wrong tag and trailing bytes", () => {
  assert.throws(
    () => new DerReader(derNull()).readInteger("version"),
    /expected INTEGER, found NULL/,
  );
  const r = new DerReader(new Uint8Array([...derNull(), 0]));
  r.readNull("n");
  assert.throws(() => r.assertEnd("thing"), /1 unexpected trailing bytes/);
});

test("DerReader refuses nesting beyond MAX_DER_DEPTH", () => {
  let der = derNull();
  for (let i = 0; i < MAX_DER_DEPTH + 5; i++) der = derSequence(der);
  let r = new DerReader(der);
  assert.throws(() => {
    for (;;) r = r.readSequence("nest");
  }, /nested deeper/);
});

test("DerReader throws only Asn1Error on random and mutated input", () => {
  const rnd = seededRandom(fuzzSeed(3));
  const good = derSequence(
    derInteger(5n),
    derSequence(derOid("1.2.3.4"), derNull()),
    derOctetString(rnd(40)),
  );
  const walk = (r: DerReader, depth: number): void => {
    while (!r.done) {
      const e = r.read();
      if ((e.tag & 0x20) !== 0 && depth < 40) walk(r.child(e.content, "x"), depth + 1);
      else if (e.tag === 6) {
        try {
          new DerReader(e.encoded).readOid("oid");
        } catch (err) {
          assert.ok(err instanceof Asn1Error);
        }
      }
    }
  };
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const input = i % 2 ? rnd(rnd(1)[0]!) : good.slice(0, good.length - (i % 9));
    if (i % 2 === 0) {
      const at = rnd(1)[0]! % input.length;
      input[at] = input[at]! ^ rnd(1)[0]!;
    }
    try {
      walk(new DerReader(input), 0);
    } catch (e) {
      assert.ok(e instanceof Asn1Error && e instanceof KeyImportError, String(e));
    }
  }
});
