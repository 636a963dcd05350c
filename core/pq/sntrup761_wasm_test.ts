import { test } from "node:test";
import assert from "node:assert/strict";
import { sha512 } from "@noble/hashes/sha2.js";
import { setWasmKernelsEnabled } from "../crypto/wasm/kernels.ts";
import { brIf, i32, loop, seq, set, v128 } from "../crypto/wasm/instructions.ts";
import { ModuleBuilder } from "../crypto/wasm/module_builder.ts";
import { fqFreezeLanes } from "../crypto/wasm/sntrup761_module.ts";
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

test("the kernel's lane reduction is exact mod q over its whole input range", () => {
  const Q = 4591, M = 2 * 2295 * 2295; // |f0·a − g0·b| for reduced operands
  const count = 2 * M + 1;
  const lanes = Math.ceil(count / 4) * 4;
  const bytes = 4 * lanes;
  const pages = Math.ceil(bytes / 65536);
  const m = new ModuleBuilder().memory({ initial: pages, maximum: pages }, "memory");
  m.func({ name: "freeze", params: ["i32"], results: [] }, (f, [end]) => {
    const p = f.local("i32"), y = f.local("v128");
    seq(
      set(p, i32.const(0)),
      loop(
        set(y, v128.load(p)),
        fqFreezeLanes(y),
        v128.store(p, y),
        set(p, i32.add(p, i32.const(16))),
        brIf(0, i32.lt_u(p, end!)),
      ),
    )(f);
  });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(m.build()), {}).exports as {
    memory: WebAssembly.Memory;
    freeze(end: number): void;
  };
  const values = new Int32Array(exports.memory.buffer, 0, lanes);
  for (let i = 0; i < lanes; i++) values[i] = -M + Math.min(i, count - 1);
  exports.freeze(bytes);
  for (let i = 0; i < count; i++) {
    const x = -M + i;
    const exact = x - Q * Math.floor(x / Q + 0.5);
    if (values[i] !== exact) assert.fail(`freeze(${x}) = ${values[i]}, expected ${exact}`);
  }
});
