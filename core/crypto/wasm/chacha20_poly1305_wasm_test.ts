import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../random.ts";
import { hex } from "../_test_util.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "../noble_chacha20_poly1305.ts";
import { WASM_PACKET_CAPACITY, WasmChaChaPolyPackets } from "./chacha20_poly1305_wasm.ts";
import { getWasmKernels, WASM_LAYOUT } from "./kernels.ts";

const skip = getWasmKernels()?.packet ? false : "no WebAssembly SIMD here";
const keys = (k: Uint8Array) => ({ encKey: k, iv: new Uint8Array(0), macKey: new Uint8Array(0) });

/** State word 15 for a sequence number, as the glue computes it. */
function n15(seq: number): number {
  const s = seq >>> 0;
  return ((s & 0xff) << 24) | ((s & 0xff00) << 8) | ((s >>> 8) & 0xff00) | (s >>> 24);
}

/**
 * Packet lengths (length field included) around every edge of the kernels:
 * the 256-byte ChaCha20 steps start at byte 4, the 256-byte Poly1305 chunks at
 * byte 0, pairs of 16-byte blocks inside them, and the largest SSH packet.
 */
const LENGTHS = [
  4,
  5,
  67,
  68,
  69,
  ...Array.from({ length: 12 }, (_, i) => 254 + i), // first step/chunk edges
  ...Array.from({ length: 12 }, (_, i) => 506 + i), // second
  ...Array.from({ length: 10 }, (_, i) => 1020 + i),
  1024 + 16,
  1024 + 31,
  1024 + 33,
  4 + 32768,
  4 + 32768 + 17,
  4 + 256 * 1024,
];

test("WasmChaChaPolyPackets seals like the JavaScript path at every step edge up to 256 KiB", {
  skip,
}, () => {
  const rnd = seededRandom(0x5eed);
  const key = rnd(64);
  const wasm = WasmChaChaPolyPackets.create(key)!;
  const js = new ChaChaPolySealer(keys(key), { wasm: "none" });
  const jsOpen = new ChaChaPolyOpener(keys(key), { wasm: "none" });
  for (const [i, len] of LENGTHS.entries()) {
    const seq = (0xfffffffa + i) >>> 0;
    const plain = rnd(len);
    const a = plain.slice(), b = plain.slice();
    const tagA = new Uint8Array(16), tagB = new Uint8Array(16);
    wasm.seal(n15(seq), a, tagA);
    js.seal(seq, b, tagB);
    assert.equal(hex(tagA), hex(tagB), `tag, length ${len}`);
    assert.equal(hex(a) === hex(b), true, `ciphertext, length ${len}`);
    assert.equal(jsOpen.open(seq, b, tagB), true);
    assert.equal(wasm.open(n15(seq), a, tagA), true, `open, length ${len}`);
    assert.equal(hex(a) === hex(plain), true, `plaintext, length ${len}`);
  }
});

test("WasmChaChaPolyPackets refuses a flipped bit in any chunk and leaves memory as it was", {
  skip,
}, () => {
  const rnd = seededRandom(77);
  const key = rnd(64);
  const wasm = WasmChaChaPolyPackets.create(key)!;
  const mem = getWasmKernels()!.memory;
  for (const len of [4, 100, 260, 1029, 4 + 32768]) {
    const packet = rnd(len), tag = new Uint8Array(16);
    wasm.seal(n15(3), packet, tag);
    const spots = [0, 3, 4, len >> 1, len - 1, len + 0, len + 15].filter((x) => x < len + 16);
    for (const at of new Set(spots)) {
      const pk = packet.slice(), tg = tag.slice();
      if (at < len) pk[at]! ^= 0x40;
      else tg[at - len]! ^= 1;
      const before = pk.slice();
      assert.equal(wasm.open(n15(3), pk, tg), false, `length ${len}, byte ${at}`);
      assert.equal(hex(pk) === hex(before), true, `packet intact, length ${len}, byte ${at}`);
      // Steps decrypted during the check were re-encrypted in linear memory too.
      const inMemory = mem.subarray(WASM_LAYOUT.data, WASM_LAYOUT.data + len);
      assert.equal(hex(inMemory) === hex(before), true, `memory, length ${len}, byte ${at}`);
    }
    assert.equal(wasm.open(n15(4), packet.slice(), tag), false, `wrong sequence, length ${len}`);
    assert.equal(wasm.open(n15(3), packet, tag), true);
  }
});

test(
  "WasmChaChaPolyPackets rejects packets outside 4..WASM_PACKET_CAPACITY bytes",
  { skip },
  () => {
    const wasm = WasmChaChaPolyPackets.create(new Uint8Array(64))!;
    const tag = new Uint8Array(16);
    assert.throws(() => wasm.seal(0, new Uint8Array(3), tag), RangeError);
    assert.throws(() => wasm.seal(0, new Uint8Array(WASM_PACKET_CAPACITY + 1), tag), RangeError);
    assert.throws(() => WasmChaChaPolyPackets.create(new Uint8Array(32)), RangeError);
  },
);
