/**
 * Runs a TypeScript file under the runtime running the tests, in a child process with its
 * own environment (a `$HOME` of the test's, say), for what one process cannot change for
 * itself on every runtime (Bun reads `$HOME` once).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { currentRuntime } from "./env.ts";

/**
 * Runs `script` with `env` (and PATH) as its whole environment, asynchronously (a server
 * answering the child may live in this process), asserts it exits 0, and resolves with the
 * JSON of its last line of output.
 */
export async function runChildScript(
  script: string,
  env: Readonly<Record<string, string>>,
): Promise<unknown> {
  const args = currentRuntime() === "deno" ? ["run", "-A", script] : [script];
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise((r) => child.on("close", r));
  assert.equal(code, 0, err);
  return JSON.parse(out.trim().split("\n").at(-1)!);
}
