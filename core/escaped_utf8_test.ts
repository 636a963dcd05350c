import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeEscapedUtf8, encodeEscapedUtf8, hasEscapedBytes } from "./escaped_utf8.ts";
import { fuzzRuns, fuzzSeed } from "./_fuzz_test_util.ts";

const bytes = (...b: number[]) => Uint8Array.from(b);

test("valid UTF-8 decodes and encodes as TextDecoder and TextEncoder do", () => {
  for (const s of ["", "plain", "ünïcödé ✓", "😀 \u{10FFFF} \u{10080}", "a\0b", "\uFEFFbom"]) {
    const b = new TextEncoder().encode(s);
    assert.equal(decodeEscapedUtf8(b), s);
    assert.deepEqual(encodeEscapedUtf8(s), b);
    assert.equal(hasEscapedBytes(s), false, s);
  }
});

test("each byte of an invalid sequence becomes U+DC80–U+DCFF and goes back as that byte", () => {
  const cases: [Uint8Array, string][] = [
    [bytes(0x63, 0x61, 0x66, 0xe9), "caf\uDCE9"], // Latin-1 é
    [bytes(0xff, 0xfe), "\uDCFF\uDCFE"],
    [bytes(0xc3), "\uDCC3"], // truncated two-byte sequence
    [bytes(0xc3, 0x2f, 0x61), "\uDCC3/a"], // a lead byte before ASCII: the ASCII stays
    [bytes(0xc0, 0xaf), "\uDCC0\uDCAF"], // overlong "/"
    [bytes(0xed, 0xa0, 0x80), "\uDCED\uDCA0\uDC80"], // an encoded surrogate
    [bytes(0xf4, 0x90, 0x80, 0x80), "\uDCF4\uDC90\uDC80\uDC80"], // past U+10FFFF
    [bytes(0xe2, 0x82), "\uDCE2\uDC82"], // truncated three-byte sequence
    [bytes(0xe9, 0xc3, 0xa9), "\uDCE9é"], // an escaped byte then a valid é
    [bytes(0xef, 0xbf, 0xbd, 0xe9), "\uFFFD\uDCE9"], // a real U+FFFD stays one
    [bytes(0xef, 0xbb, 0xbf, 0xe9), "\uFEFF\uDCE9"], // a leading byte-order mark is kept
    [bytes(0xf0, 0x9f, 0x98, 0x80, 0xff), "😀\uDCFF"], // a four-byte sequence, then a byte
  ];
  for (const [b, s] of cases) {
    assert.equal(decodeEscapedUtf8(b), s, [...b].join(","));
    assert.deepEqual(encodeEscapedUtf8(s), b, JSON.stringify(s));
    assert.equal(hasEscapedBytes(s), true);
  }
});

test("a surrogate pair whose low half is in the escape range is a character, not a byte", () => {
  const s = "\uD800\uDC80"; // U+10080
  assert.equal(hasEscapedBytes(s), false);
  assert.deepEqual(encodeEscapedUtf8(s), new TextEncoder().encode(s));
  assert.deepEqual(
    encodeEscapedUtf8("x" + s + "\uDC80"),
    bytes(0x78, 0xf0, 0x90, 0x82, 0x80, 0x80),
  );
});

test("other lone surrogates encode as U+FFFD, as TextEncoder does", () => {
  assert.deepEqual(encodeEscapedUtf8("\uD800a\uDCE9"), bytes(0xef, 0xbf, 0xbd, 0x61, 0xe9));
  assert.deepEqual(encodeEscapedUtf8("\uDC7F"), bytes(0xef, 0xbf, 0xbd));
});

test("random bytes survive decode then encode unchanged (fuzz)", () => {
  let seed = fuzzSeed(0x12345678);
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let n = 0; n < fuzzRuns(3000); n++) {
    const len = rand() % 24;
    // Mostly high bytes and UTF-8 lead/continuation bytes: that is where the edge cases are.
    const b = Uint8Array.from({ length: len }, () => (rand() & 1 ? 0x80 | rand() : rand()));
    if (n % 7 === 0 && len > 3) b.set([0xef, 0xbf, 0xbd], len - 3); // a real U+FFFD among them
    const s = decodeEscapedUtf8(b);
    assert.deepEqual(encodeEscapedUtf8(s), b, [...b].join(","));
    assert.equal(decodeEscapedUtf8(encodeEscapedUtf8(s)), s);
    let valid = true;
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(b);
    } catch {
      valid = false;
    }
    assert.equal(hasEscapedBytes(s), !valid, [...b].join(","));
  }
});
