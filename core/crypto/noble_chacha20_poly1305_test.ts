import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "./noble_chacha20_poly1305.ts";
import { getCipherInfo } from "./registry.ts";
import { hex, keysFor, makePacket, referenceSeal, unhex } from "./_test_util.ts";
import { WASM_PACKET_CAPACITY } from "./wasm/chacha20_poly1305_wasm.ts";
import { getWasmKernels, type WasmMode } from "./wasm/kernels.ts";

const CIPHER = getCipherInfo("chacha20-poly1305@openssh.com")!;
const MODES: readonly WasmMode[] = ["auto", "poly1305", "none"];

/** What each mode should pick on this engine. */
function expectedImplementation(mode: WasmMode): string {
  const k = getWasmKernels();
  if (mode === "none" || k === null) return "js";
  return mode === "auto" && k.packet !== null ? "wasm" : "js+wasm-poly1305";
}

// draft-ietf-sshm-chacha20-poly1305-04, Appendix A: key material, seq 7, one packet.
const DRAFT_KEY = unhex(
  "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5" +
    "e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740",
);
const DRAFT_PLAIN = unhex(
  "00000048065e00000000000000384c6f72656d20697073756d20646f6c6f7220" +
    "73697420616d65742c20636f6e73656374657475722061646970697369636" +
    "96e6720656c69744e43e804dc6c",
);
const DRAFT_SENT = "2c3ecce4a5bc05895bf07a7ba956b6c68829ac7c83b780b7000ecde745afc705" +
  "bbc378ce03a280236b87b53bed5839662302b164b6286a48cd1e097138e3cb90" +
  "9b8b2b829dd18d2a35ff82d995349e855bf02c298ef775f2d1a7e8b8";

test("ChaChaPolySealer reports the implementation each WebAssembly mode selects", () => {
  const keys = keysFor(seededRandom(1), CIPHER, null);
  for (const wasm of MODES) {
    assert.equal(new ChaChaPolySealer(keys, { wasm }).implementation, expectedImplementation(wasm));
    assert.equal(new ChaChaPolyOpener(keys, { wasm }).implementation, expectedImplementation(wasm));
  }
  assert.equal(new ChaChaPolySealer(keys).implementation, expectedImplementation("auto"));
});

test("ChaChaPolySealer reproduces the draft-ietf-sshm worked example in every mode", () => {
  const keys = { encKey: DRAFT_KEY, iv: new Uint8Array(0), macKey: new Uint8Array(0) };
  for (const wasm of MODES) {
    const packet = DRAFT_PLAIN.slice(), tag = new Uint8Array(16);
    new ChaChaPolySealer(keys, { wasm }).seal(7, packet, tag);
    assert.equal(hex(packet) + hex(tag), DRAFT_SENT, wasm);
    const opener = new ChaChaPolyOpener(keys, { wasm });
    assert.equal(opener.decryptLength(7, packet.subarray(0, 4)), 0x48);
    assert.equal(opener.open(7, packet, tag), true, wasm);
    assert.equal(hex(packet), hex(DRAFT_PLAIN), wasm);
  }
});

test("every mode seals like the noble reference and opens the others' packets, sizes 0..2000", () => {
  const rnd = seededRandom(0xc4a);
  const keys = keysFor(rnd, CIPHER, null);
  const sealers = MODES.map((wasm) => new ChaChaPolySealer(keys, { wasm }));
  const openers = MODES.map((wasm) => new ChaChaPolyOpener(keys, { wasm }));
  const firstSeq = 0xfffffff0; // runs across the 32-bit wrap of the sequence number
  const plain = Array.from(
    { length: 120 },
    (_, i) => makePacket(rnd, (i * 17) % 2001, CIPHER, null),
  );
  const expected = referenceSeal(CIPHER, null, keys, firstSeq, plain);
  plain.forEach((p, i) => {
    const seq = (firstSeq + i) >>> 0;
    const want = hex(expected[i]!.packet) + hex(expected[i]!.tag);
    sealers.forEach((s, j) => {
      // Unaligned views into a larger buffer, as the transport may hand over.
      const buf = new Uint8Array(p.length + 16 + 3);
      const packet = buf.subarray(1 + (j % 3), 1 + (j % 3) + p.length);
      packet.set(p);
      const tag = new Uint8Array(16);
      s.seal(seq, packet, tag);
      assert.equal(hex(packet) + hex(tag), want, `${MODES[j]}: packet ${i}`);
      const o = openers[(j + 1) % openers.length]!;
      assert.equal(o.decryptLength(seq, packet.subarray(0, 4)), p.length - 4);
      assert.equal(
        o.open(seq, packet, tag),
        true,
        `${MODES[(j + 1) % MODES.length]} opens ${MODES[j]}`,
      );
      assert.equal(hex(packet), hex(p));
    });
  });
});

test("ChaChaPolyOpener refuses a flipped bit anywhere and leaves the packet untouched", () => {
  const rnd = seededRandom(66);
  const keys = keysFor(rnd, CIPHER, null);
  for (const wasm of MODES) {
    const p = makePacket(rnd, 700, CIPHER, null);
    const tag = new Uint8Array(16);
    new ChaChaPolySealer(keys, { wasm }).seal(9, p, tag);
    const opener = new ChaChaPolyOpener(keys, { wasm });
    for (const at of [0, 3, 4, 100, p.length - 1, p.length + 5]) {
      const pk = p.slice(), tg = tag.slice();
      if (at < p.length) pk[at]! ^= 0x10;
      else tg[at - p.length]! ^= 1;
      const before = hex(pk);
      assert.equal(opener.open(9, pk, tg), false, `${wasm}: byte ${at}`);
      assert.equal(hex(pk), before, `${wasm}: byte ${at} left intact`);
    }
    assert.equal(opener.open(10, p.slice(), tag), false, `${wasm}: wrong sequence number`);
    assert.equal(opener.open(9, p.subarray(0, 3), tag), false, `${wasm}: too short`);
  }
});

test("packets larger than the WebAssembly data region take the JavaScript ChaCha20 path", () => {
  const rnd = seededRandom(5);
  const keys = keysFor(rnd, CIPHER, null);
  const p = makePacket(rnd, WASM_PACKET_CAPACITY + 100, CIPHER, null);
  const [expected] = referenceSeal(CIPHER, null, keys, 3, [p]);
  const packet = p.slice(), tag = new Uint8Array(16);
  new ChaChaPolySealer(keys).seal(3, packet, tag);
  assert.equal(hex(tag), hex(expected!.tag));
  assert.equal(hex(packet), hex(expected!.packet));
  assert.equal(new ChaChaPolyOpener(keys).open(3, packet, tag), true);
  assert.equal(hex(packet), hex(p));
});

test("ChaChaPolySealer rejects a key that is not 64 bytes and a short tag buffer", () => {
  const bad = { encKey: new Uint8Array(32), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
  for (const wasm of MODES) {
    assert.throws(() => new ChaChaPolySealer(bad, { wasm }), RangeError);
    const s = new ChaChaPolySealer(keysFor(seededRandom(2), CIPHER, null), { wasm });
    assert.throws(() => s.seal(0, new Uint8Array(12), new Uint8Array(15)), RangeError);
    assert.throws(() => s.seal(0, new Uint8Array(3), new Uint8Array(16)), RangeError);
  }
});
