import { test } from "node:test";
import assert from "node:assert/strict";
import { chacha20, chacha20orig } from "@noble/ciphers/chacha.js";
import { seededRandom } from "../random.ts";
import { chacha20Block, ChaCha20Key, chacha20XorInPlace } from "./chacha20.ts";
import { hex, unhex } from "./_test_util.ts";

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

const KEY = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

test("chacha20Block() matches the RFC 8439 §2.3.2 block", () => {
  const k = new ChaCha20Key(KEY);
  const nonce = unhex("000000090000004a00000000");
  chacha20Block(k, 1, le32(nonce, 0), le32(nonce, 4), le32(nonce, 8));
  assert.equal(
    hex(k.blockBytes),
    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
      "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
  );
});

test("chacha20XorInPlace() matches the RFC 8439 §2.4.2 encryption", () => {
  const k = new ChaCha20Key(KEY);
  const nonce = unhex("000000000000004a00000000");
  const data = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip " +
      "for the future, sunscreen would be it.",
  );
  chacha20XorInPlace(k, 1, le32(nonce, 0), le32(nonce, 4), le32(nonce, 8), data);
  assert.equal(
    hex(data),
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
      "5af90bbf74a35be6b40b8eedf2785e42874d",
  );
});

test("chacha20Block() gives the all-zero key's first block (RFC 8439 A.1 #1)", () => {
  const k = new ChaCha20Key(new Uint8Array(32));
  chacha20Block(k, 0, 0, 0, 0);
  assert.equal(
    hex(k.blockBytes),
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" +
      "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
  );
});

test("chacha20XorInPlace() agrees with noble in both nonce layouts at any alignment", () => {
  const rnd = seededRandom(20);
  for (let t = 0; t < 120; t++) {
    const len = (rnd(2)[0]! | (rnd(1)[0]! << 8)) % 700;
    const off = t % 7;
    const key = rnd(32), nonce = rnd(12), data = rnd(len);
    const counter = t % 3;
    const k = new ChaCha20Key(key);
    const a = new Uint8Array(len + 8).subarray(off, off + len);
    a.set(data);
    chacha20XorInPlace(k, counter, 0, le32(nonce, 0), le32(nonce, 4), a);
    assert.equal(hex(a), hex(chacha20orig(key, nonce.subarray(0, 8), data, undefined, counter)));
    const b = data.slice();
    chacha20XorInPlace(k, counter, le32(nonce, 0), le32(nonce, 4), le32(nonce, 8), b);
    assert.equal(hex(b), hex(chacha20(key, nonce, data, undefined, counter)));
  }
});

test("ChaCha20Key rejects a key that is not 32 bytes", () => {
  assert.throws(() => new ChaCha20Key(new Uint8Array(16)), RangeError);
  assert.throws(() => new ChaCha20Key(new Uint8Array(33)), RangeError);
});
