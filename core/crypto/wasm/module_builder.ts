/**
 * A small WebAssembly module builder: enough of the binary format (WebAssembly
 * Core Specification §5) to emit the crypto kernels in this folder from
 * TypeScript at run time — a type, import, function, memory, export and code
 * section, and function bodies as byte code.
 *
 * Why: the fast paths need WebAssembly (64-bit multiplies, SIMD), but we commit
 * no binary blob and use no external compiler — the module's bytes come from the
 * readable source next to this file. Instructions are written with the helpers
 * in `instructions.ts`, which emit into a {@link FunctionBuilder}.
 *
 * @module
 */

import { writeSignedLeb128, writeUnsignedLeb128 } from "./leb128.ts";

/**
 * A value type of the WebAssembly MVP plus SIMD.
 *
 * @example
 * ```ts
 * import type { ValType } from "./module_builder.ts";
 * const limb: ValType = "i64";
 * ```
 */
export type ValType = "i32" | "i64" | "f64" | "v128";

/** Binary encodings of the value types (§5.3.1). */
const VALTYPE_CODE: Readonly<Record<ValType, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f64: 0x7c,
  v128: 0x7b,
};

/** Section ids (§5.5.2), in the order they must appear. */
const SECTION = { type: 1, import: 2, function: 3, memory: 5, export: 7, code: 10 } as const;

/** Export/import descriptor kinds (§5.5.5, §5.5.10). */
const KIND_FUNC = 0x00;
const KIND_MEMORY = 0x02;

/**
 * A local variable (or parameter) of a function under construction.
 *
 * @example
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * new ModuleBuilder().func({ params: ["i32"], results: [] }, (f, [p]) => {
 *   const tmp = f.local("i64");
 *   console.log(p!.index, tmp.index); // 0 1
 * });
 * ```
 */
export interface Local {
  /** Index in the function's local space (parameters first). */
  readonly index: number;
  /** Its value type. */
  readonly type: ValType;
}

/**
 * Page counts of a linear memory (one page is 64 KiB).
 *
 * @example A fixed 320 KiB memory
 * ```ts
 * import type { MemoryLimits } from "./module_builder.ts";
 * const limits: MemoryLimits = { initial: 5, maximum: 5 };
 * ```
 */
export interface MemoryLimits {
  /** Pages at instantiation. */
  readonly initial: number;
  /** Upper bound on growth; absent means unbounded. */
  readonly maximum?: number;
}

/**
 * Signature and export name of a function.
 *
 * @example
 * ```ts
 * import type { FunctionSpec } from "./module_builder.ts";
 * const spec: FunctionSpec = { name: "poly_finish", params: ["i32", "i32"], results: [] };
 * ```
 */
export interface FunctionSpec {
  /** Export name; the function is internal when absent. */
  readonly name?: string;
  /** Parameter types. */
  readonly params: readonly ValType[];
  /** Result types (zero or one for the code here). */
  readonly results: readonly ValType[];
}

/**
 * Collects one function's locals and instructions. Instruction helpers
 * (`instructions.ts`) call {@link FunctionBuilder.byte} and the immediates'
 * encoders; nothing here knows about particular opcodes.
 *
 * @example
 * ```ts
 * import { FunctionBuilder } from "./module_builder.ts";
 * const f = new FunctionBuilder(0);
 * f.byte(0x41).signed(42).byte(0x1a); // i32.const 42; drop
 * console.log(f.body().length); // 5: no locals, 4 bytes of code, end
 * ```
 */
export class FunctionBuilder {
  readonly #code: number[] = [];
  readonly #locals: ValType[] = [];
  readonly #paramCount: number;

  /** `paramCount` parameters occupy local indices 0..paramCount−1. */
  constructor(paramCount: number) {
    this.#paramCount = paramCount;
  }

  /** Declares a new local of `type` (initialised to zero) and returns it. */
  local(type: ValType): Local {
    this.#locals.push(type);
    return { index: this.#paramCount + this.#locals.length - 1, type };
  }

  /** Appends raw bytes (opcodes, lane indices, value types). */
  byte(...bytes: number[]): this {
    for (const b of bytes) this.#code.push(b & 0xff);
    return this;
  }

  /** Appends an unsigned LEB128 immediate (indices, depths, alignments, offsets). */
  unsigned(value: number): this {
    writeUnsignedLeb128(this.#code, value);
    return this;
  }

  /** Appends a signed LEB128 immediate (`i32.const`, `i64.const`). */
  signed(value: number | bigint): this {
    writeSignedLeb128(this.#code, value);
    return this;
  }

  /** The encoded function body (§5.5.13): local declarations, code, `end`. */
  body(): number[] {
    const out: number[] = [];
    // Consecutive locals of one type are declared as one (count, type) group.
    const groups: [number, ValType][] = [];
    for (const t of this.#locals) {
      const last = groups[groups.length - 1];
      if (last !== undefined && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    writeUnsignedLeb128(out, groups.length);
    for (const [n, t] of groups) {
      writeUnsignedLeb128(out, n);
      out.push(VALTYPE_CODE[t]);
    }
    for (const b of this.#code) out.push(b);
    out.push(0x0b); // end
    return out;
  }
}

interface FunctionEntry {
  readonly typeIndex: number;
  readonly body: number[];
}

/**
 * Builds a module: declare its memory, add functions, then {@link build} the
 * bytes for `new WebAssembly.Module(...)`.
 *
 * @example A module exporting `add(a, b)`
 * ```ts
 * import { ModuleBuilder } from "./module_builder.ts";
 * import { i32 } from "./instructions.ts";
 * const m = new ModuleBuilder();
 * m.func({ name: "add", params: ["i32", "i32"], results: ["i32"] }, (f, [a, b]) => {
 *   i32.add(a!, b!)(f);
 * });
 * const { add } = new WebAssembly.Instance(new WebAssembly.Module(m.build())).exports as {
 *   add(a: number, b: number): number;
 * };
 * console.log(add(2, 3)); // 5
 * ```
 */
export class ModuleBuilder {
  readonly #types: string[] = []; // signatures as "params->results" keys, deduplicated
  readonly #functions: FunctionEntry[] = [];
  readonly #exports: { name: string; kind: number; index: number }[] = [];
  #memoryImport: { module: string; field: string; limits: MemoryLimits } | null = null;
  #memory: MemoryLimits | null = null;

  /** Imports the module's linear memory as `module.field` (to share it between modules). */
  importMemory(module: string, field: string, limits: MemoryLimits): this {
    if (this.#memory !== null || this.#memoryImport !== null) {
      throw new RangeError("Cannot declare a second memory: a module here has at most one");
    }
    this.#memoryImport = { module, field, limits };
    return this;
  }

  /** Defines the module's own linear memory, exported as `exportName` when given. */
  memory(limits: MemoryLimits, exportName?: string): this {
    if (this.#memory !== null || this.#memoryImport !== null) {
      throw new RangeError("Cannot declare a second memory: a module here has at most one");
    }
    this.#memory = limits;
    if (exportName !== undefined) {
      this.#exports.push({ name: exportName, kind: KIND_MEMORY, index: 0 });
    }
    return this;
  }

  /**
   * Adds a function: `build` receives the body builder and the parameters as
   * locals, and emits the instructions. Returns the function index.
   */
  func(spec: FunctionSpec, build: (f: FunctionBuilder, params: Local[]) => void): number {
    const key = `${spec.params.join(",")}->${spec.results.join(",")}`;
    let typeIndex = this.#types.indexOf(key);
    if (typeIndex < 0) typeIndex = this.#types.push(key) - 1;
    const f = new FunctionBuilder(spec.params.length);
    build(f, spec.params.map((type, index) => ({ index, type })));
    const index = this.#functions.push({ typeIndex, body: f.body() }) - 1;
    if (spec.name !== undefined) this.#exports.push({ name: spec.name, kind: KIND_FUNC, index });
    return index;
  }

  /** The module's bytes. */
  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]; // "\0asm", version 1
    section(out, SECTION.type, this.#types.length, (s) => {
      for (const key of this.#types) {
        const [params, results] = key.split("->") as [string, string];
        s.push(0x60);
        for (const list of [params, results]) {
          const types = list === "" ? [] : (list.split(",") as ValType[]);
          writeUnsignedLeb128(s, types.length);
          for (const t of types) s.push(VALTYPE_CODE[t]);
        }
      }
    });
    const imp = this.#memoryImport;
    if (imp !== null) {
      section(out, SECTION.import, 1, (s) => {
        writeName(s, imp.module);
        writeName(s, imp.field);
        s.push(KIND_MEMORY);
        writeLimits(s, imp.limits);
      });
    }
    section(out, SECTION.function, this.#functions.length, (s) => {
      for (const fn of this.#functions) writeUnsignedLeb128(s, fn.typeIndex);
    });
    const mem = this.#memory;
    if (mem !== null) section(out, SECTION.memory, 1, (s) => writeLimits(s, mem));
    section(out, SECTION.export, this.#exports.length, (s) => {
      for (const e of this.#exports) {
        writeName(s, e.name);
        s.push(e.kind);
        writeUnsignedLeb128(s, e.index);
      }
    });
    section(out, SECTION.code, this.#functions.length, (s) => {
      for (const fn of this.#functions) {
        writeUnsignedLeb128(s, fn.body.length);
        for (const b of fn.body) s.push(b);
      }
    });
    return new Uint8Array(out);
  }
}

/** Appends a section: id, byte size, then a vector of `count` items written by `write`. */
function section(out: number[], id: number, count: number, write: (s: number[]) => void): void {
  if (count === 0) return;
  const contents: number[] = [];
  writeUnsignedLeb128(contents, count);
  write(contents);
  out.push(id);
  writeUnsignedLeb128(out, contents.length);
  for (const b of contents) out.push(b);
}

function writeName(out: number[], name: string): void {
  const bytes = new TextEncoder().encode(name);
  writeUnsignedLeb128(out, bytes.length);
  for (const b of bytes) out.push(b);
}

function writeLimits(out: number[], limits: MemoryLimits): void {
  if (limits.maximum === undefined) {
    out.push(0x00);
    writeUnsignedLeb128(out, limits.initial);
  } else {
    out.push(0x01);
    writeUnsignedLeb128(out, limits.initial);
    writeUnsignedLeb128(out, limits.maximum);
  }
}
