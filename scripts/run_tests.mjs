#!/usr/bin/env node
// Runs the whole suite: static checks (layer rules, a type check of the pure
// folders without Node's types, deno check/lint/fmt, deno doc --lint of each entry
// point), then every *_test.ts file (unit and conformance) under Deno, Node 24 and Bun
// in turn. Prints one summary line per runtime ("deno: N passed, N failed, N skipped")
// and fails if anything failed.
//
// Usage: node scripts/run_tests.mjs [--only deno,node,bun] [--no-checks] [path-filter...]
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);

const args = process.argv.slice(2);
let only = ["deno", "node", "bun"];
let checks = true;
const filters = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--only") only = args[++i].split(",");
  else if (args[i] === "--no-checks") checks = false;
  else filters.push(args[i]);
}

// A hung runtime must not eat CI's whole budget (the Node run, with the 1 GiB SFTP and full
// integrity, rekey, interop and ssh -G matrices, is the longest).
const RUNTIME_TIMEOUT_MS = Number(process.env.SSH_TEST_RUNTIME_TIMEOUT_MS ?? 40 * 60 * 1000);
const SKIP_DIRS = new Set(["node_modules", ".git", ".cache", "bench"]);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (SKIP_DIRS.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith("_test.ts")) out.push("./" + relative(root, p));
  }
  return out;
}

// The entry point modules, from deno.json "exports" (the list the npm build and JSR use).
function entryPointFiles() {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const exp = typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports;
  return Object.values(exp);
}

// Every library module (not tests, not tooling): what the packages publish.
const NOT_LIBRARY = new Set([...SKIP_DIRS, "conformance", "examples", "scripts", "dist"]);
function libraryFiles(dir = root) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (NOT_LIBRARY.has(name) || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...libraryFiles(p));
    else if (name.endsWith(".ts") && !name.endsWith("_test.ts")) out.push(relative(root, p));
  }
  return out;
}

const files = findTests(root).filter((f) =>
  filters.length === 0 || filters.some((x) => f.includes(x))
);
if (files.length === 0) {
  console.error("run_tests: no test files matched");
  process.exit(1);
}

function exec(cmd, argv, { env = {}, timeoutMs = RUNTIME_TIMEOUT_MS } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, {
      cwd: root,
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const onData = (stream) => (chunk) => {
      output += chunk;
      stream.write(chunk);
    };
    child.stdout.on("data", onData(process.stdout));
    child.stderr.on("data", onData(process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch { /* already gone */ }
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: timedOut ? 124 : code, output, timedOut });
    });
  });
}

const num = (re, text) => {
  const all = [...text.matchAll(re)];
  return all.length ? Number(all[all.length - 1][1]) : NaN;
};

/** The text from the line matching `start` to the one matching `end` (or ""). */
function section(text, start, end) {
  const from = text.search(start);
  if (from < 0) return "";
  const rest = text.slice(from);
  const to = rest.slice(1).search(end);
  return to < 0 ? rest : rest.slice(0, to + 1);
}

/** Bun prints a failure's error above its "(fail)" line: those lines, for each failure. */
function bunFailures(text) {
  const lines = text.split("\n");
  const out = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("(fail) ") || out.includes(line)) return;
    let from = i;
    while (from > 0 && !/^\((pass|skip|fail|todo)\) |_test\.ts:$/.test(lines[from - 1])) from--;
    out.push(...lines.slice(Math.max(from, i - 60), i + 1), "");
  });
  return out.join("\n");
}

/** At most `max` lines of `text`, saying how many were left off. */
function capped(text, max = 150) {
  const lines = text.trimEnd().split("\n");
  if (lines.length <= max) return lines.join("\n");
  return [...lines.slice(0, max), `… ${lines.length - max} more lines above in this log`].join(
    "\n",
  );
}

const runtimes = {
  deno: {
    cmd: bin("deno"),
    argv: ["test", "-A", "--no-check", ...files],
    // Deno repeats each failure's error under ERRORS, before the FAILURES list.
    failures: (t) => section(t, /^ ERRORS $/m, /^ FAILURES $/m),
    counts: (t) => ({
      passed: num(/\|\s+(\d+) passed/g, t),
      failed: num(/\|\s+(\d+) failed/g, t),
      skipped: num(/\|\s+(\d+) ignored/g, t),
    }),
  },
  node: {
    cmd: bin("node"),
    argv: ["--test", "--test-concurrency=1", "--test-timeout=900000", ...files],
    failures: (t) => section(t, /^✖ failing tests:$/m, /$(?![\s\S])/),
    counts: (t) => ({
      passed: num(/^ℹ pass (\d+)/gm, t),
      failed: num(/^ℹ fail (\d+)/gm, t) + (num(/^ℹ cancelled (\d+)/gm, t) || 0),
      skipped: num(/^ℹ skipped (\d+)/gm, t),
    }),
  },
  bun: {
    cmd: bin("bun"),
    argv: ["test", "--timeout", "900000", ...files],
    failures: bunFailures,
    counts: (t) => ({
      passed: num(/^\s*(\d+) pass$/gm, t),
      failed: num(/^\s*(\d+) fail$/gm, t),
      skipped: num(/^\s*(\d+) skip$/gm, t) || 0,
    }),
  },
};

const summary = [];
const failureDetails = [];
let failed = false;

/** Non-test sources of the pure folders, type-checked without Node's types. */
function pureSources() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !/_test\.ts$|^_test_|_test_/.test(name)) {
        out.push(relative(root, p));
      }
    }
  };
  for (const dir of ["core", "keys", "sftp", "agent", "config"]) {
    try {
      if (statSync(join(root, dir)).isDirectory()) walk(join(root, dir));
    } catch { /* not there (yet) */ }
  }
  return out;
}

if (checks) {
  for (
    const [name, cmd, argv] of [
      // Imports point down, pure folders touch no runtime API, no import cycles.
      ["layer check", process.execPath, [join(root, "scripts", "check_layers.mjs")]],
      // The pure folders compile against ES + DOM only: no Node, Deno or Bun types.
      ["pure type check", bin("deno"), [
        "check",
        "--config",
        join("scripts", "pure.deno.json"),
        ...pureSources(),
      ]],
      ["deno check", bin("deno"), ["check", "."]],
      ["deno lint", bin("deno"), ["lint"]],
      ["deno fmt --check", bin("deno"), ["fmt", "--check"]],
      // Each entry point on its own: a type its API names must be exported from it, not
      // only from another entry point.
      ...entryPointFiles().map((f) => [`deno doc --lint ${f}`, bin("deno"), ["doc", "--lint", f]]),
      // Runs the examples in the entry points' docs (they import the package by name).
      ["deno test --doc", bin("deno"), ["test", "-A", "--doc", ...entryPointFiles()]],
      // Type-checks every JSDoc example of the library and README.md's blocks.
      ["deno check --doc-only", bin("deno"), [
        "check",
        "--doc-only",
        "README.md",
        ...libraryFiles(),
      ]],
    ]
  ) {
    console.log(`\n=== ${name}`);
    const r = await exec(cmd, argv, { timeoutMs: 10 * 60 * 1000 });
    const ok = r.code === 0;
    if (!ok) failed = true;
    summary.push(`${name}: ${ok ? "clean" : "FAILED"}`);
  }
}

for (const name of only) {
  const rt = runtimes[name];
  if (!rt) throw new Error(`unknown runtime ${name}`);
  console.log(`\n=== ${name}: ${files.length} test files`);
  const started = Date.now();
  const r = await exec(rt.cmd, rt.argv);
  const c = rt.counts(r.output);
  // CI shows only the end of the log: repeat what failed, with its error, at the end.
  if (r.code !== 0 || c.failed > 0) {
    // deno colours its report even with NO_COLOR when FORCE_COLOR is set at all.
    // deno-lint-ignore no-control-regex
    const detail = rt.failures(r.output.replace(/\x1b\[[0-9;]*m/g, ""));
    if (detail !== "") failureDetails.push(`--- ${name}\n${capped(detail)}`);
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const unparsed = Number.isNaN(c.passed) || Number.isNaN(c.failed);
  if (r.code !== 0 || unparsed || c.failed > 0) failed = true;
  const note = r.timedOut
    ? " (timed out)"
    : r.code !== 0 && !(c.failed > 0)
    ? ` (exit ${r.code})`
    : "";
  summary.push(
    `${name}: ${c.passed || 0} passed, ${unparsed ? "?" : c.failed} failed, ${
      c.skipped || 0
    } skipped${note} in ${seconds}s`,
  );
}

if (failureDetails.length > 0) {
  console.log("\n=== failures (repeated from above)");
  for (const d of failureDetails) console.log(d);
}
console.log("\n=== summary");
for (const line of summary) console.log(line);
process.exit(failed ? 1 : 0);
