import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLayers, codeOnly, findCycles, readTree, REPO_ROOT } from "./check_layers.mjs";

/** A small tree that follows the rules: each test breaks it one way. */
function tree(): Record<string, string> {
  return {
    "core/wire.ts":
      'export const W = 1;\n// setTimeout in a comment is fine\nconst s = "process.env";\n',
    "core/wire_test.ts":
      'import { setTimeout } from "node:timers";\nimport { W } from "./wire.ts";\n',
    "core/_test_util.ts": 'import { readFileSync } from "node:fs";\n',
    "keys/key.ts": 'import { W } from "../core/wire.ts";\nexport const K = W;\n',
    "sftp/codec.ts": 'import { K } from "../keys/key.ts";\nexport const S = K;\n',
    "io/client/connect.ts": [
      'import { readFile } from "node:fs/promises";',
      'import { S } from "../../sftp/codec.ts";',
      'import type { W } from "../../core/wire.ts";',
      "export const C = S; setTimeout(() => {}, 1);",
    ].join("\n"),
    "mod.ts": 'export * from "./io/client/connect.ts";\n',
    "bench/b.ts": 'import { C } from "../io/client/connect.ts";\nconst t = Deno.env;\n',
  };
}

test("checkLayers() passes a tree that follows the rules", () => {
  assert.deepEqual(checkLayers(tree()), []);
});

test("checkLayers() fails an upward import added on purpose", () => {
  const t = tree();
  t["core/wire.ts"] += 'import { C } from "../io/client/connect.ts";\n';
  t["keys/key.ts"] += 'import { S } from "../sftp/codec.ts";\n';
  const problems = checkLayers(t);
  assert.ok(
    problems.some((p) => /^core\/wire\.ts:4: upward import: core must not import io/.test(p)),
  );
  assert.ok(
    problems.some((p) => /^keys\/key\.ts:3: upward import: keys must not import sftp/.test(p)),
  );
});

test("checkLayers() fails a layer that imports from a tool folder", () => {
  const t = tree();
  t["io/client/connect.ts"] += '\nimport "../../bench/b.ts";\n';
  assert.ok(checkLayers(t).some((p) => /io must not import from bench\//.test(p)));
});

test("checkLayers() fails a runtime API in core, but not in its tests or in comments and strings", () => {
  for (
    const [code, api] of [
      ["setTimeout(() => {}, 5);", "setTimeout"],
      ["const t = setInterval(f, 5);", "setInterval"],
      ["const e = process.env.HOME;", "process."],
      ["Deno.exit(1);", "Deno."],
      ["const b = Buffer.from([1]);", "Buffer"],
      ["const fs = require('fs');", "require("],
      ['import { readFile } from "node:fs/promises";', "node:fs/promises"],
      ["const x = `${Bun.version}`;", "Bun."],
    ] as const
  ) {
    const t = tree();
    t["core/wire.ts"] += code + "\n";
    const problems = checkLayers(t);
    assert.equal(problems.length, 1, `${code}: ${problems.join("; ")}`);
    assert.match(problems[0]!, /runtime API in pure folder core\//);
    assert.ok(problems[0]!.includes(api), problems[0]);
  }
  const t = tree();
  t["core/wire.ts"] += "// Deno.exit(1)\n/* Buffer */\nconst m = `process.env ${1}`;\n";
  t["core/wire.ts"] += "const r = /setTimeout\\(/; const ab = new ArrayBuffer(4);\n";
  t["core/wire.ts"] += "const o = { process: 1 }; o.process; this.setTimeoutMs;\n";
  assert.deepEqual(checkLayers(t), []);
});

test("checkLayers() fails an import cycle, type-only imports included", () => {
  const t = tree();
  t["io/a.ts"] = 'import { B } from "./b.ts";\nexport const A = 1;\n';
  t["io/b.ts"] = 'import type { A } from "./a.ts";\nexport const B = 2;\n';
  assert.deepEqual(checkLayers(t), ["import cycle: io/a.ts -> io/b.ts -> io/a.ts"]);
  // Tests may import each other (they are not modules of the library).
  const u = tree();
  u["io/a_test.ts"] = 'import "./b_test.ts";\n';
  u["io/b_test.ts"] = 'import "./a_test.ts";\n';
  assert.deepEqual(checkLayers(u), []);
});

test("findCycles() reports one cycle per strongly connected set", () => {
  const g = new Map([
    ["a", ["b"]],
    ["b", ["c"]],
    ["c", ["a", "b"]],
    ["d", ["d"]],
    ["e", ["a"]],
  ]);
  assert.deepEqual(findCycles(g), [["a", "b", "c", "a"], ["d", "d"]]);
});

test("codeOnly() blanks comments, strings and template text but keeps code", () => {
  const src = 'a("x") + `t${b(`u${c}`)}v` // d\n/* e */ f / 2 / g; const r = /"/;';
  const out = codeOnly(src);
  assert.equal(out.length, src.length);
  for (const kept of ["a(", "b(", "c", "f / 2 / g"]) assert.ok(out.includes(kept), kept);
  for (const gone of ['"x"', "// d", "e */", '/"/']) assert.ok(!out.includes(gone), gone);
});

test("the real tree follows the layer rules", () => {
  const files = readTree(REPO_ROOT);
  assert.ok(Object.keys(files).length > 100);
  assert.deepEqual(checkLayers(files), []);
});
