/**
 * Shared parts of the packaging tests (`packaging_*_test.ts`, `browser_test.ts`):
 * the repository's paths and toolchain, the entry points, and the rule that the
 * tests which drive other runtimes themselves run under Node only.
 *
 * @module
 */

import { test } from "node:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { conformanceTest, type PeerName } from "./fixtures/mod.ts";
import { type CommandResult, runCommand } from "./fixtures/command.ts";

/** The repository's root directory. */
export const ROOT: string = join(dirname(fileURLToPath(import.meta.url)), "..");

/** A tool from the repository's node_modules/.bin (deno, bun, node = Node 24, tsc). */
export function bin(name: string): string {
  return join(ROOT, "node_modules", ".bin", name);
}

/** The runtime running this test file. */
export const HOST_RUNTIME: "deno" | "bun" | "node" = "Deno" in globalThis
  ? "deno"
  : "Bun" in globalThis
  ? "bun"
  : "node";

/** One entry point: its export name ("." or "./core") and its source ("./core/mod.ts"). */
export interface EntryPoint {
  /** The subpath, as in `exports`: ".", "./core", ... */
  readonly name: string;
  /** The source module, relative to the root: "./mod.ts", "./core/mod.ts", ... */
  readonly source: string;
}

/** Entry points from deno.json "exports" (the one list the build and JSR use). */
export async function entryPoints(): Promise<EntryPoint[]> {
  const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
    exports: string | Record<string, string>;
  };
  const exp = typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports;
  return Object.entries(exp).map(([name, source]) => ({ name, source }));
}

/** The package name (`@sshts/ssh`), as package.json and deno.json both say. */
export async function packageName(): Promise<string> {
  return (JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { name: string }).name;
}

const ONLY_NODE = "runs under Node only: it starts every other runtime itself";

/**
 * Registers a test that runs its body only when the host runtime is Node (it spawns
 * Deno, Bun and several Nodes itself, so running it three times would triple CI time
 * for nothing). Under Deno and Bun it is registered as skipped, saying why. With
 * `peers`, it follows the conformance skip policy (`SSH_CONFORMANCE=required` fails
 * instead of skipping when a peer is missing).
 */
export function nodeHostTest(
  name: string,
  options: { readonly peers?: readonly PeerName[]; readonly timeoutMs?: number },
  fn: () => Promise<void>,
): void {
  const timeout = options.timeoutMs ?? 180_000;
  if (HOST_RUNTIME !== "node") {
    test(name, { skip: ONLY_NODE }, () => {});
  } else if (options.peers && options.peers.length > 0) {
    conformanceTest(name, { peers: options.peers, timeoutMs: timeout }, fn);
  } else {
    test(name, { timeout }, fn);
  }
}

/** Runs a command and throws with its whole output unless it exits with status 0. */
export async function run(
  argv: readonly string[],
  options: {
    readonly cwd?: string;
    readonly env?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
    readonly input?: string;
  } = {},
): Promise<CommandResult> {
  const r = await runCommand(argv, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env as Record<string, string>, NO_COLOR: "1", ...options.env },
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
  if (r.status !== 0) {
    throw new Error(
      `${argv.join(" ")} failed (status ${r.status}, signal ${r.signal}):\n` +
        `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`,
    );
  }
  return r;
}

/** A fresh temporary directory, removed by the returned `remove()`. */
export async function tempDir(
  prefix: string,
): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `sshts-${prefix}-`));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Global references to runtime APIs in bundled JavaScript: `node:` imports, the
 * `Buffer` and `process` globals, `Deno` and `Bun`. Method and property names
 * (`this.process(...)`, `x.Buffer`) do not count.
 */
export const RUNTIME_REFERENCES: readonly RegExp[] = [
  /["'`]node:[a-z_/]+["'`]/g,
  /(?<![.\w$#])Buffer(?![\w$])/g,
  /(?<![.\w$#])process\s*(?:\?\.|\.|\[)/g,
  /\bglobalThis\s*(?:\?\.|\.)\s*process\b/g,
  /(?<![.\w$#])(?:Deno|Bun)\s*(?:\?\.|\.|\[)/g,
];

/** The runtime references found in `code`, each with a little context. */
export function runtimeReferences(code: string): string[] {
  const found: string[] = [];
  for (const re of RUNTIME_REFERENCES) {
    for (const m of code.matchAll(re)) {
      found.push(code.slice(Math.max(0, m.index - 40), m.index + m[0].length + 20));
    }
  }
  return found;
}
