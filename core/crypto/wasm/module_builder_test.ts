import { test } from "node:test";
import assert from "node:assert/strict";
import {
  block,
  br,
  brIf,
  call,
  i32,
  i32x4,
  i64,
  i64x2,
  i8x16,
  ifElse,
  loop,
  set,
  tee,
  v128,
} from "./instructions.ts";
import { ModuleBuilder } from "./module_builder.ts";

// deno-lint-ignore no-explicit-any
type Exports = Record<string, any>;

function run(m: ModuleBuilder, imports: WebAssembly.Imports = {}): Exports {
  return new WebAssembly.Instance(new WebAssembly.Module(m.build()), imports).exports as Exports;
}

/** Whether this engine has WebAssembly SIMD: does a module using `i32x4.splat` validate? */
function hasSimd(): boolean {
  const m = new ModuleBuilder();
  m.func({ params: [], results: [] }, (f) => {
    i32x4.splat(i32.const(0))(f);
    f.byte(0x1a); // drop
  });
  return WebAssembly.validate(m.build());
}

const SIMD = hasSimd();

test("ModuleBuilder.build() emits the exact bytes of a minimal module", () => {
  const m = new ModuleBuilder();
  m.func({ name: "add", params: ["i32", "i32"], results: ["i32"] }, (f, [a, b]) => {
    i32.add(a!, b!)(f);
  });
  assert.deepEqual([...m.build()], [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...[0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f], // type section
    ...[0x03, 0x02, 0x01, 0x00], // function section
    ...[0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00], // export "add"
    ...[0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b], // code
  ]);
  assert.equal(run(m).add(2, 3), 5);
});

test("ModuleBuilder.func() shares one type between functions of the same signature", () => {
  const m = new ModuleBuilder();
  for (const name of ["a", "b"]) {
    m.func({ name, params: ["i64"], results: ["i64"] }, (f, [x]) => i64.add(x!, x!)(f));
  }
  const bytes = m.build();
  assert.equal(bytes[9], 6, "type section of one signature"); // id 1, size 6
  assert.equal(run(m).b(21n), 42n);
});

test("instructions: i64 multiply, shifts, loops, blocks and calls compute as expected", () => {
  const m = new ModuleBuilder();
  // square(x) = x * x, used through call
  const square = m.func({ params: ["i64"], results: ["i64"] }, (f, [x]) => i64.mul(x!, x!)(f));
  // sumSquares(n) = Σ_{i<n} i², with a loop and a block exit
  m.func({ name: "sumSquares", params: ["i32"], results: ["i64"] }, (f, [n]) => {
    const i = f.local("i32"), acc = f.local("i64");
    block(
      brIf(0, i32.eqz(n!)),
      loop(
        set(acc, i64.add(acc, call(square, i64.extend_i32_u(i)))),
        set(i, i32.add(i, i32.const(1))),
        brIf(0, i32.lt_u(i, n!)),
      ),
    )(f);
    i64.add(acc, i64.const(0))(f);
  });
  m.func({ name: "bits", params: ["i64"], results: ["i64"] }, (f, [x]) => {
    i64.or(
      i64.shr_u(i64.shl(x!, i64.const(40)), i64.const(44)),
      i64.and(i64.shr_s(x!, i64.const(63)), i64.const(0xf000000000000000n)),
    )(f);
  });
  m.func({ name: "pick", params: ["i32"], results: ["i32"] }, (f, [c]) => {
    const r = f.local("i32");
    ifElse(c!, [set(r, i32.const(7))], [set(r, i32.const(9))])(f);
    block(br(0), set(r, i32.const(0)))(f); // skipped by br
    i32.add(tee(r, r), i32.const(0))(f);
  });
  const x = run(m);
  assert.equal(x.sumSquares(0), 0n);
  assert.equal(x.sumSquares(1000), 332833500n);
  assert.equal(x.bits(0x123456789abcdefn), 0xabcden); // the low 24 bits, then >> 4
  assert.equal(x.bits(-1n), -(1n << 60n) + 0xfffffn);
  assert.equal(x.pick(1), 7);
  assert.equal(x.pick(0), 9);
});

test("ModuleBuilder.importMemory() lets two modules share one memory", () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
  const writer = new ModuleBuilder().importMemory("env", "memory", { initial: 1, maximum: 1 });
  writer.func({ name: "put", params: ["i32", "i32"], results: [] }, (f, [p, v]) => {
    i32.store(p!, v!)(f);
    i32.store8(p!, i32.const(0xab), 4)(f);
  });
  const reader = new ModuleBuilder().importMemory("env", "memory", { initial: 1 });
  reader.func({ name: "get", params: ["i32"], results: ["i64"] }, (f, [p]) => {
    i64.add(i64.load32_u(p!), i64.shl(i64.extend_i32_u(i32.load8_u(p!, 4)), i64.const(32)))(f);
  });
  run(writer, { env: { memory } }).put(100, -2);
  assert.equal(run(reader, { env: { memory } }).get(100), 0xabfffffffen);
  assert.equal(new Uint8Array(memory.buffer)[104], 0xab);
});

test("ModuleBuilder refuses a second memory and instructions refuse bad shuffles", () => {
  const m = new ModuleBuilder().memory({ initial: 1 });
  assert.throws(() => m.memory({ initial: 1 }), RangeError);
  assert.throws(() => m.importMemory("env", "memory", { initial: 1 }), RangeError);
  assert.throws(
    () =>
      m.func(
        { params: [], results: [] },
        (f) => i8x16.shuffle(i32.const(0), i32.const(0), [32])(f),
      ),
    RangeError,
  );
});

test("instructions: SIMD lanes, shuffles, shifts and widening multiplies", {
  skip: SIMD ? false : "no WebAssembly SIMD here",
}, () => {
  const m = new ModuleBuilder().memory({ initial: 1 }, "memory");
  m.func({ name: "simd", params: [], results: [] }, (f) => {
    const a = f.local("v128"), b = f.local("v128");
    set(a, v128.load(i32.const(0)))(f);
    set(b, v128.const_i32x4([1, 2, 3, 0xffffffff]))(f);
    v128.store(i32.const(16), i32x4.add(a, b))(f);
    v128.store(i32.const(32), i32x4.shuffle(a, b, [7, 0, 5, 2]))(f);
    v128.store(i32.const(48), v128.or(i32x4.shl(a, i32.const(12)), i32x4.shr_u(a, i32.const(20))))(
      f,
    );
    v128.store(i32.const(64), i64x2.extmul_low_i32x4_u(a, a))(f);
    v128.store(i32.const(80), i64x2.extmul_high_i32x4_u(a, b))(f);
    v128.store(i32.const(96), v128.xor(i64x2.splat(i64.const(-1)), v128.and(a, b)))(f);
    v128.store(
      i32.const(112),
      i64x2.add(i64x2.mul(i64x2.shr_u(a, i32.const(8)), i64x2.shl(b, i32.const(1))), a),
    )(f);
    i32.store(i32.const(128), i32x4.extract_lane(i32x4.replace_lane(a, 2, i32.const(5)), 2))(f);
    i64.store(i32.const(136), i64x2.extract_lane(a, 1))(f);
    v128.store(i32.const(144), i32x4.splat(i32.const(9)))(f);
  });
  const x = run(m);
  const u32 = new Uint32Array((x.memory as WebAssembly.Memory).buffer);
  const u64 = new BigUint64Array((x.memory as WebAssembly.Memory).buffer);
  const a = [0x80000001, 0x12345678, 0xdeadbeef, 7];
  const b = [1, 2, 3, 0xffffffff];
  u32.set(a);
  x.simd();
  assert.deepEqual([...u32.subarray(4, 8)], a.map((v, i) => (v + b[i]!) >>> 0));
  assert.deepEqual([...u32.subarray(8, 12)], [b[3], a[0], b[1], a[2]]);
  assert.deepEqual([...u32.subarray(12, 16)], a.map((v) => ((v << 12) | (v >>> 20)) >>> 0));
  assert.deepEqual([...u64.subarray(8, 10)], [BigInt(a[0]!) ** 2n, BigInt(a[1]!) ** 2n]);
  assert.deepEqual([...u64.subarray(10, 12)], [BigInt(a[2]!) * 3n, 7n * 0xffffffffn]);
  assert.deepEqual([...u32.subarray(24, 28)], a.map((v, i) => ~(v & b[i]!) >>> 0));
  const a64 = [u64[0]!, u64[1]!], b64 = [(2n << 32n) | 1n, (0xffffffffn << 32n) | 3n];
  const mask = (1n << 64n) - 1n;
  assert.deepEqual(
    [...u64.subarray(14, 16)],
    a64.map((v, i) => (((v >> 8n) * ((b64[i]! << 1n) & mask)) + v) & mask),
  );
  assert.equal(u32[32], 5);
  assert.equal(u64[17], u64[1]);
  assert.deepEqual([...u32.subarray(36, 40)], [9, 9, 9, 9]);
});
