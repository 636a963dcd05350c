import { test } from "node:test";
import assert from "node:assert/strict";
import { poly1305 as noblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { seededRandom } from "../random.ts";
import { Poly1305, poly1305 } from "./poly1305.ts";
import { hex, unhex } from "./_test_util.ts";

const enc = new TextEncoder();

// RFC 8439 §2.5.2 and Appendix A.3 (vectors 1, 4 and the reduction edge cases 5–9).
const VECTORS: { key: string; msg: Uint8Array; tag: string }[] = [
  {
    key: "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
    msg: enc.encode("Cryptographic Forum Research Group"),
    tag: "a8061dc1305136c6c22b8baf0c0127a9",
  },
  { key: "00".repeat(32), msg: new Uint8Array(64), tag: "00".repeat(16) },
  {
    key: "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0",
    msg: enc.encode(
      "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n" +
        "All mimsy were the borogoves,\nAnd the mome raths outgrabe.",
    ),
    tag: "4541669a7eaaee61e708dc7cbcc5eb62",
  },
  { key: "02" + "00".repeat(31), msg: unhex("ff".repeat(16)), tag: "03" + "00".repeat(15) },
  {
    key: "02" + "00".repeat(15) + "ff".repeat(16),
    msg: unhex("02" + "00".repeat(15)),
    tag: "03" + "00".repeat(15),
  },
  {
    key: "01" + "00".repeat(31),
    msg: unhex("ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15)),
    tag: "05" + "00".repeat(15),
  },
  {
    key: "01" + "00".repeat(31),
    msg: unhex("ff".repeat(16) + "fb" + "fe".repeat(15) + "01".repeat(16)),
    tag: "00".repeat(16),
  },
  { key: "02" + "00".repeat(31), msg: unhex("fd" + "ff".repeat(15)), tag: "fa" + "ff".repeat(15) },
];

test("poly1305() matches the RFC 8439 vectors, including the reduction edge cases", () => {
  for (const v of VECTORS) assert.equal(hex(poly1305(unhex(v.key), v.msg)), v.tag);
});

test("Poly1305 agrees with noble over random keys, lengths, splits and alignments", () => {
  const rnd = seededRandom(1305);
  const mac = new Poly1305();
  const tag = new Uint8Array(20);
  for (let t = 0; t < 400; t++) {
    const len = rnd(2)[0]! + (t % 3) * 200;
    const off = t % 5;
    const buf = new Uint8Array(len + 8);
    const msg = buf.subarray(off, off + len);
    // A quarter of the cases use all-ones data and keys: the largest limbs.
    const extreme = t % 4 === 0;
    msg.set(extreme ? new Uint8Array(len).fill(0xff) : rnd(len));
    const key = extreme ? new Uint8Array(32).fill(0xff) : rnd(32);
    const a = rnd(2)[0]! % (len + 1);
    const b = a + (rnd(2)[0]! % (len + 1 - a));
    mac.init(key);
    mac.update(msg, 0, a);
    mac.update(msg, a, b);
    mac.update(msg, b, len);
    mac.finish(tag, 2);
    assert.equal(hex(tag.subarray(2, 18)), hex(noblePoly1305(msg, key)), `case ${t}`);
  }
});

test("Poly1305.init() rejects a key shorter than 32 bytes", () => {
  assert.throws(() => new Poly1305().init(new Uint8Array(31)), RangeError);
});

test("Poly1305.update() rejects a range outside the buffer", () => {
  const mac = new Poly1305();
  mac.init(new Uint8Array(32));
  assert.throws(() => mac.update(new Uint8Array(4), 0, 5), RangeError);
});
