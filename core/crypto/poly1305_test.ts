import { test } from "node:test";
import assert from "node:assert/strict";
import { poly1305 as noblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { seededRandom } from "../random.ts";
import { Poly1305, poly1305 } from "./poly1305.ts";
import { hex, unhex } from "./_test_util.ts";
import { POLY1305_VECTORS } from "./_poly1305_vectors.ts";

test("poly1305() matches the RFC 8439 vectors, including the reduction edge cases", () => {
  for (const v of POLY1305_VECTORS) assert.equal(hex(poly1305(unhex(v.key), v.msg)), v.tag, v.name);
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
