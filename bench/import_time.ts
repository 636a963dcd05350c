/**
 * What importing the library costs a fresh process: the npm package as users get it (the
 * bundled `dist/`, built here with `scripts/build_npm.mjs`), each of its entry points, next
 * to the same modules unbundled (tsc's one file per module, what `dist/` held before
 * 2026-12-05) and `ssh2`'s `require()`. Each cell is the median over `--runs` fresh
 * processes of the wall time from before the import to after it, measured inside the
 * process (the runtime's own start is left out alike).
 *
 * ```sh
 * node_modules/.bin/node bench/import_time.ts [--runs 15] [--no-build]
 * ```
 *
 * Benchmarks report; they never assert.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { detectRuntimes, type Runtime } from "./e2e/runtimes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const runsIndex = process.argv.indexOf("--runs");
const RUNS = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : 15;

if (!process.argv.includes("--no-build")) {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts", "build_npm.mjs")], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`build_npm failed:\n${r.stderr}`);
}

/** Entry points from deno.json, as built JavaScript under a directory. */
function entries(dir: string): { name: string; file: string }[] {
  const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as {
    exports: Record<string, string>;
  };
  return Object.entries(deno.exports).map(([name, source]) => ({
    name,
    file: join(dir, source.replace(/^\.\//, "").replace(/\.ts$/, ".js")),
  }));
}

const scratch = join(ROOT, ".cache", "import-bench");
mkdirSync(scratch, { recursive: true });
let scripts = 0;

/**
 * Median milliseconds printed by `code` (an ES module printing one number) over RUNS fresh
 * processes of `rt`. The script lives under the repository, so every runtime resolves the
 * dependencies from its node_modules as an installed package's would be.
 */
function median(rt: Runtime, code: string): number {
  const file = join(scratch, `import_${scripts++}.mjs`);
  writeFileSync(file, code);
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const [cmd, ...args] = rt.command(file);
    const r = spawnSync(cmd!, args, { cwd: ROOT, encoding: "utf8" });
    const ms = Number(r.stdout.trim().split("\n").at(-1));
    if (r.status !== 0 || !Number.isFinite(ms)) {
      throw new Error(`${rt.label}: ${r.stderr || r.stdout}`);
    }
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const importCode = (file: string) =>
  `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
  `console.log(performance.now() - t);\n`;
const ssh2Code = `import { createRequire } from "node:module";\n` +
  `const t = performance.now(); createRequire(${JSON.stringify(join(ROOT, "x.js"))})("ssh2"); ` +
  `console.log(performance.now() - t);\n`;

const { runtimes } = detectRuntimes();
const bundled = join(ROOT, "dist");
const unbundled = join(ROOT, ".cache", "npm-build", "tsc-out");
const rows: string[][] = [];
for (const rt of runtimes.filter((r) => r.id === "node" || r.id === "deno" || r.id === "bun")) {
  for (const e of entries(bundled)) {
    const plain = entries(unbundled).find((u) => u.name === e.name)!.file;
    rows.push([
      rt.label,
      `"${e.name}"`,
      median(rt, importCode(e.file)).toFixed(1),
      existsSync(plain) ? median(rt, importCode(plain)).toFixed(1) : "—",
    ]);
  }
  if (rt.id !== "deno") {
    rows.push([rt.label, "ssh2 (require)", median(rt, ssh2Code).toFixed(1), "—"]);
  }
}
rmSync(scratch, { recursive: true, force: true });

const header = ["runtime", "import", "bundled ms (dist/)", "one file per module ms"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) =>
  `| ${cells.map((c, i) => i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)).join(" | ")} |`;
console.log(`Import time, median of ${RUNS} fresh processes (${new Date().toISOString()})\n`);
console.log(line(header));
console.log(
  `|${
    widths.map((w, i) => (i >= 2 ? "-".repeat(w + 1) + ":" : ":" + "-".repeat(w + 1))).join("|")
  }|`,
);
for (const r of rows) console.log(line(r));
