import { test } from "node:test";
import assert from "node:assert/strict";
import { sha512 } from "@noble/hashes/sha2.js";
import { setWasmKernelsEnabled } from "../crypto/wasm/kernels.ts";
import { brIf, get, i16x8, i32, loop, seq, set, v128 } from "../crypto/wasm/instructions.ts";
import { ModuleBuilder } from "../crypto/wasm/module_builder.ts";
import { combineLanes, fqFreeze, shoupConstant } from "../crypto/wasm/sntrup761_module.ts";
import { sntrup761Decapsulate, sntrup761Encapsulate, sntrup761Keypair } from "./sntrup761.ts";
import {
  checksum,
  multiply,
  multSelfTestFactors,
  SELF_TEST_ANSWERS,
  selfTestInput,
  sntrup761Kernels,
} from "./sntrup761_wasm.ts";

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

/**
 * The NTRU Prime reference's Rq_recip3 (mod q) or R3_recip (mod 3), transcribed plainly:
 * every step over all p + 1 coefficients, a real swap, no lanes, no bounds.
 */
function referenceRecip(
  input: Int8Array,
  modulus: 3 | 4591,
): { delta: number; f0: number; v: number[] } {
  const P = 761;
  const reduce = (x: number) => x - modulus * Math.floor(x / modulus + 0.5);
  let f = new Array<number>(P + 1).fill(0), g = new Array<number>(P + 1).fill(0);
  let v = new Array<number>(P + 1).fill(0), r = new Array<number>(P + 1).fill(0);
  r[0] = modulus === 3 ? 1 : -1530; // 1, or 1/3 mod q
  f[0] = 1;
  f[P - 1] = f[P] = -1;
  for (let i = 0; i < P; i++) g[P - 1 - i] = input[i]!;
  let delta = 1;
  for (let step = 0; step < 2 * P - 1; step++) {
    v = [0, ...v.slice(0, P)];
    const sign = reduce(-g[0]! * f[0]!); // R3_recip's multiplier
    if (delta > 0 && g[0] !== 0) {
      delta = -delta;
      [f, g] = [g, f];
      [v, r] = [r, v];
    }
    delta++;
    const f0 = f[0]!, g0 = g[0]!;
    if (modulus === 3) {
      g = g.map((x, i) => reduce(x + sign * f[i]!));
      r = r.map((x, i) => reduce(x + sign * v[i]!));
    } else {
      g = g.map((x, i) => reduce(f0 * x - g0 * f[i]!));
      r = r.map((x, i) => reduce(f0 * x - g0 * v[i]!));
    }
    g = [...g.slice(1), 0];
  }
  return { delta, f0: f[0]!, v };
}

test("the kernels' known answers are the reference algorithm's, for a dense input", () => {
  const input = selfTestInput();
  assert.ok(input.filter((x) => x !== 0).length > 400, "dense");
  for (const [name, modulus] of [["rq", 4591], ["r3", 3]] as const) {
    const { delta, f0, v } = referenceRecip(input, modulus);
    assert.deepEqual(
      { delta, f0, sum: checksum((i) => v[i]!) },
      { ...SELF_TEST_ANSWERS[name] },
      name,
    );
    // Dense answers: a kernel wrong in any coefficient changes the checksum (mod q no
    // coefficient is 0; mod 3 about a third are).
    const nonzero = v.slice(0, 761).filter((x) => x !== 0).length;
    assert.ok(nonzero >= (name === "rq" ? 761 : 400), `${name}: ${nonzero} nonzero`);
  }
});

/** f·g in Z[x]/(x^p − x − 1), reduced mod `modulus`: the schoolbook product, folded. */
function referenceProduct(f: ArrayLike<number>, g: ArrayLike<number>, modulus: number): number[] {
  const P = 761;
  const product = new Array<number>(2 * P - 1).fill(0);
  for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) product[i + j]! += f[i]! * g[j]!;
  for (let k = 2 * P - 2; k >= P; k--) {
    product[k - P]! += product[k]!;
    product[k - P + 1]! += product[k]!;
  }
  return product.slice(0, P).map((x) => x - modulus * Math.floor(x / modulus + 0.5));
}

test("the product's known answers are the schoolbook product's", () => {
  const { fq, small, smallReversed } = multSelfTestFactors();
  const q = referenceProduct(fq, small, 4591), three = referenceProduct(small, smallReversed, 3);
  assert.equal(checksum((i) => q[i]!), SELF_TEST_ANSWERS.multQ);
  assert.equal(checksum((i) => three[i]!), SELF_TEST_ANSWERS.mult3);
});

test("the kernels' product equals the schoolbook product, 2s of a malformed key included", () => {
  const k = sntrup761Kernels()!;
  const random = seeded("products");
  for (let round = 0; round < 6; round++) {
    const bytes = random(3 * 761);
    // Extremes first (every coefficient ±2295 and ±2), then random ones.
    const f = Int16Array.from(
      { length: 761 },
      (_, i) => round === 0 ? 2295 : round === 1 ? -2295 : (bytes[i]! * 18) % 4591 - 2295,
    );
    const g = Int8Array.from(
      { length: 761 },
      (_, i) => round === 0 ? 2 : round === 1 ? -2 : (bytes[761 + i]! % 5) - 2,
    );
    const h = new Int16Array(761);
    multiply(k, h, f, g, 0);
    assert.deepEqual([...h], referenceProduct(f, g, 4591), `mod q, round ${round}`);
    const small = Int8Array.from({ length: 761 }, (_, i) => (bytes[2 * 761 + i]! % 3) - 1);
    const h3 = new Int8Array(761);
    multiply(k, h3, small, g, 1);
    assert.deepEqual([...h3], referenceProduct(small, g, 3), `mod 3, round ${round}`);
  }
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

test("the kernel's lane arithmetic: f·a − g·b mod q within ±5776, a and b each over ±8448, for 206 scalar pairs", () => {
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
