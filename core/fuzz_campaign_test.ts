// The fuzz campaign's file list (FUZZ_TEST_FILTERS, the command in core/_fuzz_test_util.ts)
// names exactly the test files whose loops the campaign settings drive.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { FUZZ_TEST_FILTERS, fuzzRuns, fuzzSeed } from "./_fuzz_test_util.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

function testFiles(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir + rel, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const path = rel + e.name;
    if (e.isDirectory()) out.push(...testFiles(dir, path + "/"));
    else if (path.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

test("FUZZ_TEST_FILTERS select exactly the test files that use fuzzRuns and fuzzSeed", () => {
  const files = testFiles(ROOT).filter((f) => f !== "core/fuzz_campaign_test.ts");
  const driven = files.filter((f) => /\bfuzzRuns\(/.test(readFileSync(ROOT + f, "utf8")));
  const selected = files.filter((f) => FUZZ_TEST_FILTERS.some((x) => f.includes(x)));
  assert.ok(driven.length >= 15, `only ${driven.length} files use fuzzRuns`);
  assert.deepEqual(selected.sort(), driven.sort());
  for (const f of driven) {
    assert.match(readFileSync(ROOT + f, "utf8"), /\bfuzzSeed\(/, `${f} keeps its seeds fixed`);
  }
});

test("fuzz loops and seeds are the suite's own unless a campaign moves them", () => {
  const scale = Number(process.env.SSH_FUZZ_SCALE || 1);
  const seed = Number(process.env.SSH_FUZZ_SEED || 0);
  assert.equal(fuzzRuns(300), 300 * scale);
  assert.equal(fuzzSeed(42), (42 + Math.imul(seed, 0x9e3779b1)) >>> 0 || 1);
  if (seed === 0) {
    assert.equal(fuzzSeed(42), 42);
    assert.equal(fuzzSeed(0x9e3779b9), 0x9e3779b9);
    assert.equal(fuzzSeed(0), 1, "xorshift generators need a nonzero seed");
  } else {
    assert.notEqual(fuzzSeed(42), 42);
  }
});
