#!/usr/bin/env node
// Entry point of the README's commands. Runs on the machine's own Node (20+):
// installs the toolchain from npm on first use, then hands over to the task.
// Plain JavaScript on purpose: Node 20 cannot run TypeScript.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const task = process.argv[2];
const rest = process.argv.slice(3);

function installIfNeeded() {
  const marker = join(root, "node_modules", ".package-lock.json");
  const lock = join(root, "package-lock.json");
  const binaries = ["deno", "bun", "node"].map((b) => join(root, "node_modules", ".bin", b));
  const fresh = existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs &&
    binaries.every((b) => existsSync(b));
  if (fresh) return;
  // `npm install`, not `npm ci`: this npm records only the running platform's optional
  // binaries (deno, bun) in the lockfile, which `npm ci` then rejects as out of sync.
  // Versions are pinned exactly in package.json and the lockfile, so the result is the same.
  console.log("bootstrap: installing the toolchain and dependencies (npm install) ...");
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund"], {
    cwd: root,
    stdio: "inherit",
  });
  if (r.status !== 0) {
    console.error("bootstrap: npm install failed; see the output above");
    process.exit(r.status ?? 1);
  }
}

const tasks = {
  test: () => run(process.execPath, [join(root, "scripts", "run_tests.mjs"), ...rest]),
  demo: () =>
    run(join(root, "node_modules", ".bin", "node"), [join(root, "examples", "demo.ts"), ...rest]),
  // `npm run bench -- soak [--minutes N]` runs the soak run (bench/soak.ts) instead.
  bench: () =>
    run(
      join(root, "node_modules", ".bin", "node"),
      rest[0] === "soak"
        ? [join(root, "bench", "soak.ts"), ...rest.slice(1)]
        : [join(root, "bench", "run.ts"), ...rest],
    ),
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  process.exit(r.status ?? 1);
}

if (!(task in tasks)) {
  console.error(`usage: node scripts/bootstrap.mjs ${Object.keys(tasks).join("|")} [args]`);
  process.exit(2);
}
JSON.parse(readFileSync(join(root, "package.json"), "utf8")); // fail early on a broken checkout
installIfNeeded();
tasks[task]();
