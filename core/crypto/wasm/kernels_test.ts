import { test } from "node:test";
import assert from "node:assert/strict";
import {
  buildKernelsModule,
  getWasmKernels,
  setWasmKernelsEnabled,
  WASM_LAYOUT,
} from "./kernels.ts";

test("buildKernelsModule() builds a valid module with and without the SIMD functions", () => {
  const small = buildKernelsModule({ simd: false });
  const full = buildKernelsModule({ simd: true });
  assert.equal(WebAssembly.validate(small), true);
  assert.ok(full.length > small.length);
  const exports = WebAssembly.Module.exports(new WebAssembly.Module(small)).map((e) => e.name);
  assert.deepEqual(exports.sort(), [
    "memory",
    "poly_blocks",
    "poly_finish",
    "poly_init",
    "poly_last",
  ]);
});

test("getWasmKernels() gives Poly1305 only, everything, or nothing as asked", () => {
  const auto = getWasmKernels();
  assert.ok(auto !== null, "WebAssembly works on Deno, Node and Bun");
  assert.equal(auto.memory.length, WASM_LAYOUT.nhKey + 65536, "one page after the data region");
  assert.equal(getWasmKernels("poly1305")?.packet, null);
  assert.equal(getWasmKernels("poly1305")?.nh, null);
  assert.equal(getWasmKernels("none"), null);
  // The SIMD functions are there exactly when the engine validates the full module.
  assert.equal(auto.packet !== null, WebAssembly.validate(buildKernelsModule({ simd: true })));
  assert.equal(auto.nh !== null, auto.packet !== null);
});

test("setWasmKernelsEnabled(false) turns the kernels off until turned back on", () => {
  try {
    setWasmKernelsEnabled(false);
    assert.equal(getWasmKernels(), null);
    assert.equal(getWasmKernels("poly1305"), null);
  } finally {
    setWasmKernelsEnabled(true);
  }
  assert.ok(getWasmKernels() !== null);
});

test("WASM_LAYOUT regions do not overlap and the data region holds a maximum packet", () => {
  const L = WASM_LAYOUT;
  const regions: [number, number][] = [
    [L.polyState, 96],
    [L.packetPolyState, 96],
    [L.polyKey, 32],
    [L.tagScratch, 16],
    [L.tag, 16],
    [L.keyMain, 32],
    [L.keyHeader, 32],
    [L.keyInput, 32],
    [L.chachaScratch, 256],
    [L.chachaWords, 64],
    [L.polyConstants, 160],
    [L.data, L.dataCapacity],
    [L.nhKey, 4 * (256 + 12)],
    [L.nhOut, 8 * 4 * 256],
  ];
  regions.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < regions.length; i++) {
    assert.ok(regions[i - 1]![0] + regions[i - 1]![1] <= regions[i]![0], `region ${i}`);
  }
  assert.equal(L.keyHeader, L.keyMain + 32, "K_1 follows K_2 as in the derived key");
  assert.ok(L.dataCapacity >= 4 + 256 * 1024 + 16);
  assert.equal(L.dataCapacity % 64, 0);
  assert.ok(L.nhOut + 8 * 4 * 256 <= getWasmKernels()!.memory.length, "NH results fit");
});

test("umac_nh2 and umac_nh4 with no chunks write nothing (and do not run past the memory)", () => {
  const k = getWasmKernels()!;
  const L = WASM_LAYOUT;
  k.memory.fill(7, L.nhOut, L.nhOut + 64);
  k.nh!.umac_nh2(L.data, 0, L.nhKey, L.nhOut);
  k.nh!.umac_nh4(L.data, 0, L.nhKey, L.nhOut);
  assert.deepEqual([...k.memory.subarray(L.nhOut, L.nhOut + 64)], new Array(64).fill(7));
});
