import { test } from "node:test";
import assert from "node:assert/strict";
import { poly1305 as noblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { seededRandom } from "../../random.ts";
import { Poly1305 } from "../poly1305.ts";
import { hex, unhex } from "../_test_util.ts";
import { POLY1305_VECTORS } from "../_poly1305_vectors.ts";
import { getWasmKernels, WASM_LAYOUT } from "./kernels.ts";
import { createPoly1305, type Poly1305Mac, WasmPoly1305 } from "./poly1305_wasm.ts";

const WASM = getWasmKernels() !== null;
const skip = WASM ? false : "WebAssembly unavailable here";

function tagOf(mac: Poly1305Mac, key: Uint8Array, msg: Uint8Array): string {
  const tag = new Uint8Array(16);
  mac.init(key);
  mac.update(msg);
  mac.finish(tag);
  return hex(tag);
}

test("WasmPoly1305 matches the RFC 8439 §2.5.2 and A.3 vectors", { skip }, () => {
  const mac = WasmPoly1305.create()!;
  for (const v of POLY1305_VECTORS) assert.equal(tagOf(mac, unhex(v.key), v.msg), v.tag, v.name);
});

test(
  "WasmPoly1305 agrees with the JavaScript Poly1305 and noble for every length 0..2000, split and unaligned",
  {
    skip,
  },
  () => {
    const rnd = seededRandom(0x1305);
    const wasm = WasmPoly1305.create()!, js = new Poly1305();
    const wt = new Uint8Array(19), jt = new Uint8Array(16);
    for (let len = 0; len <= 2000; len++) {
      const off = len % 7;
      const buf = new Uint8Array(len + 8);
      const msg = buf.subarray(off, off + len);
      // Every fifth case uses all-ones data and key: the largest limbs and carries.
      const extreme = len % 5 === 0;
      msg.set(extreme ? new Uint8Array(len).fill(0xff) : rnd(len));
      const key = extreme ? new Uint8Array(32).fill(0xff) : rnd(32);
      // Up to five updates at random split points (some empty, some inside a block).
      const cuts = [0, ...Array.from({ length: len % 5 }, () => rnd(2)[0]! % (len + 1)), len]
        .sort((a, b) => a - b);
      wasm.init(key);
      js.init(key);
      for (let i = 1; i < cuts.length; i++) {
        wasm.update(msg, cuts[i - 1]!, cuts[i]!);
        js.update(msg, cuts[i - 1]!, cuts[i]!);
      }
      wasm.finish(wt, 3);
      js.finish(jt);
      const expected = hex(noblePoly1305(msg, key));
      assert.equal(hex(wt.subarray(3)), expected, `length ${len}`);
      assert.equal(hex(jt), expected, `length ${len} (js)`);
    }
  },
);

test(
  "WasmPoly1305 instances interleaved on the shared state keep their own state",
  { skip },
  () => {
    const rnd = seededRandom(7);
    const macs = [WasmPoly1305.create()!, WasmPoly1305.create()!, WasmPoly1305.create()!];
    const keys = macs.map(() => rnd(32));
    const msgs = macs.map((_, i) => rnd(300 + 77 * i));
    macs.forEach((m, i) => m.init(keys[i]!));
    for (let pos = 0; pos < 600; pos += 13) {
      macs.forEach((m, i) =>
        m.update(msgs[i]!, Math.min(pos, msgs[i]!.length), Math.min(pos + 13, msgs[i]!.length))
      );
    }
    macs.forEach((m, i) => {
      const tag = new Uint8Array(16);
      m.finish(tag);
      assert.equal(hex(tag), hex(noblePoly1305(msgs[i]!, keys[i]!)), `instance ${i}`);
    });
  },
);

test(
  "WasmPoly1305.update() handles a message larger than the data region in chunks",
  { skip },
  () => {
    const rnd = seededRandom(99);
    const msg = rnd(WASM_LAYOUT.dataCapacity * 2 + 1234);
    const key = rnd(32);
    const mac = WasmPoly1305.create()!;
    assert.equal(tagOf(mac, key, msg), hex(noblePoly1305(msg, key)));
    // Again with a partial block pending when the big update starts.
    const tag = new Uint8Array(16);
    mac.init(key);
    mac.update(msg, 0, 5);
    mac.update(msg, 5);
    mac.finish(tag);
    assert.equal(hex(tag), hex(noblePoly1305(msg, key)));
  },
);

test(
  "WasmPoly1305 rejects short keys, ranges outside the buffer and short tag buffers",
  { skip },
  () => {
    const mac = WasmPoly1305.create()!;
    assert.throws(() => mac.init(new Uint8Array(31)), RangeError);
    assert.throws(() => mac.init(new Uint8Array(40), 9), RangeError);
    mac.init(new Uint8Array(32));
    assert.throws(() => mac.update(new Uint8Array(4), 0, 5), RangeError);
    assert.throws(() => mac.update(new Uint8Array(4), 3, 2), RangeError);
    assert.throws(() => mac.finish(new Uint8Array(16), 1), RangeError);
  },
);

test("createPoly1305() picks WebAssembly where it works and JavaScript when told not to", () => {
  assert.equal(createPoly1305() instanceof WasmPoly1305, WASM);
  const js = createPoly1305({ wasm: "none" });
  assert.ok(js instanceof Poly1305);
  const v = POLY1305_VECTORS[0]!;
  assert.equal(tagOf(js, unhex(v.key), v.msg), v.tag);
  assert.equal(tagOf(createPoly1305(), unhex(v.key), v.msg), v.tag);
});
