import { test } from "node:test";
import assert from "node:assert/strict";
import { sha512 } from "@noble/hashes/sha2.js";
import { setWasmKernelsEnabled } from "../crypto/wasm/kernels.ts";
import { brIf, get, i16x8, i32, loop, seq, set, v128 } from "../crypto/wasm/instructions.ts";
import { ModuleBuilder } from "../crypto/wasm/module_builder.ts";
import { combineLanes, fqFreeze, shoupConstant } from "../crypto/wasm/sntrup761_module.ts";
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761Keypair } from "./sntrup761.ts";
import { sntrup761Kernels } from "./sntrup761_wasm.ts";

/** A reproducible random source: SHA-512 of a label and a counter, block after block. */
function seeded(label: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 64) {
      const block = sha512(new TextEncoder().encode(`${label}/${counter++}`));
      out.set(block.subarray(0, Math.min(64, n - o)), o);
    }
    return out;
  };
}

function withoutKernels<T>(run: () => T): T {
  setWasmKernelsEnabled(false);
  try {
    return run();
  } finally {
    setWasmKernelsEnabled(true);
  }
}

test("sntrup761's WebAssembly reciprocal is available and passes its known answer", () => {
  // Deno, Node 24 and Bun all have WebAssembly SIMD: null here means the kernel broke.
  assert.notEqual(sntrup761Kernels(), null);
  assert.equal(withoutKernels(() => sntrup761Kernels()), null);
});

test("sntrup761 keys and secrets are the same with and without the WebAssembly kernel", () => {
  for (let i = 0; i < 12; i++) {
    const withKernel = sntrup761Keypair(seeded(`keys ${i}`));
    const portable = withoutKernels(() => sntrup761Keypair(seeded(`keys ${i}`)));
    assert.deepEqual(withKernel.publicKey, portable.publicKey, `seed ${i}`);
    assert.deepEqual(withKernel.secretKey, portable.secretKey, `seed ${i}`);
    const { ciphertext, sharedSecret } = sntrup761Encapsulate(
      withKernel.publicKey,
      seeded(`enc ${i}`),
    );
    assert.deepEqual(sntrup761Decapsulate(ciphertext, portable.secretKey), sharedSecret);
  }
});

const Q = 4591;
const exact = (x: number) => x - Q * Math.floor(x / Q + 0.5);
/** The bound the kernel keeps every stored value in. */
const BOUND = 8448;

test("the kernel's lane arithmetic: f·a − g·b mod q within ±5776 for every |a|, |b| ≤ 8448", () => {
  const lanes = 2 * BOUND + 8; // a multiple of 8 lanes covering [-BOUND, BOUND]
  const m = new ModuleBuilder().memory({ initial: 2, maximum: 2 }, "memory");
  // combine(f, g, bytes): y[i] = f·a[i] − g·b[i] (mod q, small) for int16 arrays a, b, y.
  m.func({ name: "combine", params: ["i32", "i32", "i32"], results: [] }, (fb, [f, g, end]) => {
    const p = fb.local("i32");
    const fV = fb.local("v128"),
      gV = fb.local("v128"),
      fS = fb.local("v128"),
      gS = fb.local("v128");
    seq(
      set(fV, i16x8.splat(f!)),
      set(gV, i16x8.splat(g!)),
      set(fS, i16x8.splat(shoupConstant(f!))),
      set(gS, i16x8.splat(shoupConstant(g!))),
      set(p, i32.const(0)),
      loop(
        v128.store(
          p,
          combineLanes(fV, fS, v128.load(p), gV, gS, v128.load(p, 2 * lanes)),
          4 * lanes,
        ),
        set(p, i32.add(p, i32.const(16))),
        brIf(0, i32.lt_u(p, end!)),
      ),
    )(fb);
  });
  const x = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {}).exports as {
    memory: WebAssembly.Memory;
    combine(f: number, g: number, end: number): void;
  };
  const mem = new Int16Array(x.memory.buffer);
  for (let i = 0; i < lanes; i++) {
    mem[i] = Math.min(-BOUND + i, BOUND); // a: the whole range
    mem[lanes + i] = Math.max(BOUND - 3 * i, -BOUND); // b: the range downwards, then its end
  }
  const random = seeded("scalars");
  const scalars: [number, number][] = [
    [2295, 2295],
    [-2295, 2295],
    [2295, -2295],
    [1, 0],
    [0, -1],
    [
      1147,
      -1148,
    ],
  ];
  const words = random(4 * 200);
  for (let i = 0; i < 200; i++) {
    const w = (words[4 * i]! | words[4 * i + 1]! << 8) % Q,
      u = (words[4 * i + 2]! | words[4 * i + 3]! << 8) % Q;
    scalars.push([w - 2295, u - 2295]);
  }
  let worst = 0;
  for (const [f, g] of scalars) {
    x.combine(f, g, 2 * lanes);
    for (let i = 0; i < lanes; i++) {
      const a = mem[i]!, b = mem[lanes + i]!, y = mem[2 * lanes + i]!;
      if (exact(y) !== exact(f * a - g * b)) assert.fail(`${f}·${a} − ${g}·${b} gave ${y}`);
      worst = Math.max(worst, Math.abs(y));
    }
  }
  assert.ok(worst <= 5776, `|f·a − g·b| reached ${worst}`);
});

test("the kernel's scalar reduction is exact over the values it stores", () => {
  const m = new ModuleBuilder();
  m.func({ name: "freeze", params: ["i32"], results: ["i32"] }, (fb, [v]) => {
    fqFreeze(v!)(fb);
    get(v!)(fb);
  });
  const { freeze } = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {}).exports as {
    freeze(x: number): number;
  };
  for (let v = -BOUND; v <= BOUND; v++) assert.equal(freeze(v), exact(v));
  for (const v of [2 * 2295 * 2295, -2 * 2295 * 2295, 1234567, -7654321]) {
    assert.equal(freeze(v), exact(v));
  }
});
