import { test } from "node:test";
import assert from "node:assert/strict";
import { ghash as nobleGhash } from "@noble/ciphers/_polyval.js";
import { seededRandom } from "../random.ts";
import { Ghash } from "./ghash.ts";
import { AesCtr } from "./noble_aes.ts";
import { hex, unhex } from "./_test_util.ts";

/** GCM (SP 800-38D, 96-bit IV) assembled from the pieces under test. */
function gcmEncrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plain: Uint8Array) {
  const ctr = new AesCtr(key, new Uint8Array(16), "32");
  const h = new Uint8Array(16);
  ctr.encryptCounterInto(h, 0);
  const g = new Ghash(h);
  const j0 = new Uint8Array(16);
  j0.set(iv);
  j0[15] = 1;
  const mask = new Uint8Array(16);
  ctr.setCounter(j0);
  ctr.encryptCounterInto(mask, 0);
  ctr.increment();
  // Whole blocks only in AesCtr: pad, encrypt, then cut.
  const padded = new Uint8Array(Math.ceil(plain.length / 16) * 16);
  padded.set(plain);
  ctr.xor(padded, 0, padded.length);
  const c = padded.slice(0, plain.length);
  g.update(aad, 0, aad.length);
  g.update(c, 0, c.length);
  const bits = (n: number) => [Math.floor((n * 8) / 2 ** 32), (n * 8) >>> 0] as const;
  g.updateWords(...bits(aad.length), ...bits(c.length));
  const tag = new Uint8Array(16);
  g.digestInto(tag, 0);
  for (let i = 0; i < 16; i++) tag[i]! ^= mask[i]!;
  return { c: hex(c), tag: hex(tag) };
}

const K3 = unhex("feffe9928665731c6d6a8f9467308308");
const IV3 = unhex("cafebabefacedbaddecaf888");
const P3 = unhex(
  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" +
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
);
const A4 = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");

test("Ghash with AesCtr reproduces the GCM spec test cases 2, 3, 4 and 16", () => {
  assert.deepEqual(
    gcmEncrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(0), new Uint8Array(16)),
    {
      c: "0388dace60b6a392f328c2b971b2fe78",
      tag: "ab6e47d42cec13bdf53a67b21257bddf",
    },
  );
  assert.deepEqual(gcmEncrypt(K3, IV3, new Uint8Array(0), P3), {
    c: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
    tag: "4d5c2af327cd64a62cf35abd2ba6fab4",
  });
  assert.deepEqual(gcmEncrypt(K3, IV3, A4, P3.subarray(0, 60)), {
    c: "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e" +
      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    tag: "5bc94fbc3221a5db94fae95ae7121a47",
  });
  const k16 = new Uint8Array(32);
  k16.set(K3), k16.set(K3, 16);
  assert.deepEqual(gcmEncrypt(k16, IV3, A4, P3.subarray(0, 60)), {
    c: "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" +
      "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
    tag: "76fc6ece0f4e1768cddf8853bb2d551b",
  });
});

test("Ghash agrees with noble's GHASH on random keys and lengths", () => {
  const rnd = seededRandom(38);
  for (let t = 0; t < 150; t++) {
    const h = rnd(16), len = rnd(1)[0]!, msg = rnd(len);
    const g = new Ghash(h);
    g.update(msg, 0, len);
    const out = new Uint8Array(16);
    g.digestInto(out, 0);
    assert.equal(hex(out), hex(nobleGhash(msg, h)));
  }
});

test("Ghash.reset() starts a new message with the same key", () => {
  const g = new Ghash(new Uint8Array(16).fill(3));
  const a = new Uint8Array(16), b = new Uint8Array(16);
  g.update(new Uint8Array(32).fill(1), 0, 32);
  g.digestInto(a, 0);
  g.reset();
  g.update(new Uint8Array(32).fill(1), 0, 32);
  g.digestInto(b, 0);
  assert.equal(hex(a), hex(b));
});

test("Ghash rejects a key that is not 16 bytes", () => {
  assert.throws(() => new Ghash(new Uint8Array(15)), RangeError);
});
