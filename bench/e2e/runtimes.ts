/**
 * The JavaScript runtimes worker scripts run on: the repository's own Node 24, Deno and Bun
 * (from `node_modules/.bin`), and the machine's own `node` when it is a different version (the
 * `ssh2` package's native addon is built for that one).
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";

/** The repository root. */
export const REPO_ROOT: string = fileURLToPath(new URL("../../", import.meta.url));

/** A runtime a worker script can run on. */
export interface Runtime {
  /** Key used in filters and to pair rows: `node`, `node20`, `deno`, `bun`. */
  readonly id: string;
  /** As printed: `node 24.21.0`. */
  readonly label: string;
  /**
   * The command line that runs `script` (arguments follow); with `profileDir`, the runtime
   * writes a V8/JSC CPU profile (`.cpuprofile`, Chrome DevTools format) there on exit.
   */
  command(script: string, profileDir?: string): string[];
}

/** The runtime flags that write a CPU profile into `dir` (the same on node, deno and bun). */
function profileFlags(dir: string | undefined): string[] {
  return dir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir}`];
}

function version(file: string): string | undefined {
  const r = spawnSync(file, ["--version"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return undefined;
  const match = /(\d+\.\d+\.\d+)/.exec(`${r.stdout}`);
  return match?.[1];
}

/**
 * The machine's own `node`: the first on PATH outside any `node_modules/.bin` (which `npm run`
 * puts first, and which holds the repository's Node 24).
 */
function systemNodePath(): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue;
    const file = join(dir, "node");
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function bin(name: string): string {
  return join(REPO_ROOT, "node_modules", ".bin", name);
}

/**
 * The runtimes present on this machine, in table order. A runtime whose binary is missing is
 * left out (and named in `missing`).
 *
 * @example
 * ```ts ignore
 * const { runtimes } = detectRuntimes();
 * console.log(runtimes.map((r) => r.label).join(", "));
 * ```
 */
export function detectRuntimes(): { runtimes: Runtime[]; missing: string[] } {
  const runtimes: Runtime[] = [];
  const missing: string[] = [];
  const node = bin("node");
  const nodeVersion = existsSync(node) ? version(node) : undefined;
  if (nodeVersion !== undefined) {
    runtimes.push({
      id: "node",
      label: `node ${nodeVersion}`,
      command: (s, p) => [node, ...profileFlags(p), s],
    });
  } else missing.push("node (node_modules/.bin/node)");

  // The machine's own node, when it differs: it is what the ssh2 addon was compiled for.
  const systemNode = systemNodePath();
  const systemVersion = systemNode === undefined ? undefined : version(systemNode);
  if (systemNode !== undefined && systemVersion !== undefined && systemVersion !== nodeVersion) {
    const major = systemVersion.split(".")[0];
    runtimes.push({
      id: `node${major}`,
      label: `node ${systemVersion}`,
      command: (s, p) => [systemNode, ...profileFlags(p), s],
    });
  }

  const deno = bin("deno");
  const denoVersion = existsSync(deno) ? version(deno) : undefined;
  if (denoVersion !== undefined) {
    runtimes.push({
      id: "deno",
      label: `deno ${denoVersion}`,
      command: (s, p) => [deno, "run", "-A", "--quiet", ...profileFlags(p), s],
    });
  } else missing.push("deno (node_modules/.bin/deno)");

  const bun = bin("bun");
  const bunVersion = existsSync(bun) ? version(bun) : undefined;
  if (bunVersion !== undefined) {
    runtimes.push({
      id: "bun",
      label: `bun ${bunVersion}`,
      command: (s, p) => [bun, ...profileFlags(p), s],
    });
  } else missing.push("bun (node_modules/.bin/bun)");
  return { runtimes, missing };
}
