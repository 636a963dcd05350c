import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../random.ts";
import { ChaCha20Key, chacha20XorInPlace } from "../chacha20.ts";
import { hex, unhex } from "../_test_util.ts";
import { getWasmKernels, WASM_LAYOUT } from "./kernels.ts";

const kernels = getWasmKernels();
const packet = kernels?.packet ?? null;
const skip = packet !== null ? false : "no WebAssembly SIMD here";
const L = WASM_LAYOUT;

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

/** chacha_xor over a copy of `data` placed `offset` bytes into the data region. */
function wasmXor(
  key: Uint8Array,
  counter: number,
  nonce: [number, number, number],
  data: Uint8Array,
  offset = 0,
): Uint8Array {
  const mem = kernels!.memory;
  mem.set(key, L.keyInput);
  mem.set(data, L.data + offset);
  packet!.chacha_xor(L.keyInput, counter, ...nonce, L.data + offset, data.length);
  return mem.slice(L.data + offset, L.data + offset + data.length);
}

test("chacha_xor matches the RFC 8439 §2.4.2 encryption", { skip }, () => {
  const key = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
  const nonce = unhex("000000000000004a00000000");
  const plain = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip " +
      "for the future, sunscreen would be it.",
  );
  const out = wasmXor(key, 1, [le32(nonce, 0), le32(nonce, 4), le32(nonce, 8)], plain);
  assert.equal(
    hex(out),
    "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
      "5af90bbf74a35be6b40b8eedf2785e42874d",
  );
});

test("chacha_xor agrees with the JavaScript ChaCha20 for lengths 0..1100 at any alignment", {
  skip,
}, () => {
  const rnd = seededRandom(2020);
  for (let len = 0; len <= 1100; len += len < 300 ? 1 : 7) {
    const key = rnd(32), data = rnd(len);
    const counter = len % 3 === 0 ? 0xfffffffe : len % 5; // also where the counter wraps
    const nonce: [number, number, number] = [len & 1 ? 0 : le32(rnd(4), 0), le32(rnd(4), 0), len];
    const js = data.slice();
    chacha20XorInPlace(new ChaCha20Key(key), counter, ...nonce, js);
    assert.equal(hex(wasmXor(key, counter, nonce, data, len % 13)), hex(js), `length ${len}`);
  }
});

test("chacha_xor leaves the bytes around its range untouched", { skip }, () => {
  const mem = kernels!.memory;
  mem.fill(0x5a, L.data, L.data + 600);
  mem.fill(0, L.keyInput, L.keyInput + 32);
  packet!.chacha_xor(L.keyInput, 0, 0, 0, 0, L.data + 3, 517);
  assert.equal(mem[L.data + 2], 0x5a);
  assert.equal(mem[L.data + 520], 0x5a);
  assert.equal(mem.subarray(L.data + 521, L.data + 600).every((b) => b === 0x5a), true);
});
