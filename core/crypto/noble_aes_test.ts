import { test } from "node:test";
import assert from "node:assert/strict";
import { AesCbc, AesCtr } from "./noble_aes.ts";
import { hex, unhex } from "./_test_util.ts";

// NIST SP 800-38A, Appendix F: the four-block example plaintext.
const PLAIN = unhex(
  "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51" +
    "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710",
);
const K128 = unhex("2b7e151628aed2a6abf7158809cf4f3c");
const K192 = unhex("8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b");
const K256 = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
const CTR_IV = unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
const CBC_IV = unhex("000102030405060708090a0b0c0d0e0f");

const CTR_VECTORS: [Uint8Array, string][] = [
  [
    K128,
    "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff" +
    "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee",
  ],
  [
    K192,
    "1abc932417521ca24f2b0459fe7e6e0b090339ec0aa6faefd5ccc2c6f4ce8e94" +
    "1e36b26bd1ebc670d1bd1d665620abf74f78a7f6d29809585a97daec58c6b050",
  ],
  [
    K256,
    "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5" +
    "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6",
  ],
];

test("AesCtr matches NIST SP 800-38A F.5.1, F.5.3 and F.5.5, in one call or block by block", () => {
  for (const [key, expected] of CTR_VECTORS) {
    const whole = PLAIN.slice();
    new AesCtr(key, CTR_IV, "128").xor(whole, 0, 64);
    assert.equal(hex(whole), expected);
    // The counter runs on across calls, and unaligned buffers give the same bytes.
    const ctr = new AesCtr(key, CTR_IV, "128");
    const parts = new Uint8Array(67).subarray(3);
    parts.set(PLAIN);
    for (let i = 0; i < 64; i += 16) ctr.xor(parts, i, i + 16);
    assert.equal(hex(parts), expected);
  }
});

test("AesCtr carries the 128-bit counter across words, but GCM's 32-bit counter wraps", () => {
  const key = new Uint8Array(16);
  const start = unhex("000000000000000000000000ffffffff");
  const a = new Uint8Array(32),
    b = new Uint8Array(32),
    c = new Uint8Array(16),
    d = new Uint8Array(16);
  new AesCtr(key, start, "128").xor(a, 0, 32);
  new AesCtr(key, start, "32").xor(b, 0, 32);
  new AesCtr(key, unhex("00000000000000000000000100000000"), "128").xor(c, 0, 16);
  new AesCtr(key, new Uint8Array(16), "128").xor(d, 0, 16);
  assert.equal(hex(a.subarray(0, 16)), hex(b.subarray(0, 16)));
  assert.equal(hex(a.subarray(16)), hex(c)); // 128-bit: …ffffffff + 1 = …0100000000
  assert.equal(hex(b.subarray(16)), hex(d)); // 32-bit: wraps to …00000000
});

test("AesCbc matches NIST SP 800-38A F.2.1 and F.2.5 and decrypts back", () => {
  const cases: [Uint8Array, string][] = [
    [
      K128,
      "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2" +
      "73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
    ],
    [
      K256,
      "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d" +
      "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b",
    ],
  ];
  for (const [key, expected] of cases) {
    const data = PLAIN.slice();
    const enc = new AesCbc(key, CBC_IV, "encrypt");
    enc.process(data, 0, 32); // the chain continues across calls
    enc.process(data, 32, 64);
    assert.equal(hex(data), expected);
    const dec = new AesCbc(key, CBC_IV, "decrypt");
    dec.process(data, 0, 16);
    dec.process(data, 16, 64);
    assert.equal(hex(data), hex(PLAIN));
  }
});

test("AesCtr and AesCbc reject bad key, IV and block lengths", () => {
  assert.throws(() => new AesCtr(new Uint8Array(15), new Uint8Array(16), "128"), RangeError);
  assert.throws(() => new AesCtr(new Uint8Array(16), new Uint8Array(12), "128"), RangeError);
  assert.throws(() => new AesCbc(new Uint8Array(20), new Uint8Array(16), "encrypt"), RangeError);
  assert.throws(() => new AesCbc(new Uint8Array(16), new Uint8Array(8), "decrypt"), RangeError);
  const ctr = new AesCtr(new Uint8Array(16), new Uint8Array(16), "128");
  assert.throws(() => ctr.xor(new Uint8Array(20), 0, 20), RangeError);
});
