/**
 * Child processes for the benchmark: every one runs in its own process group with a time
 * limit, and every one still running can be killed at once (on Ctrl-C or a failure), so a
 * benchmark never leaves workers or `ssh` clients behind.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";

/** How a child finished. */
export interface ChildResult {
  /** Exit status, or `null` when a signal ended it. */
  readonly status: number | null;
  /** The signal that ended it, if any. */
  readonly signal: string | null;
  /** Standard output (empty when it was not captured). */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
  /** Whether the time limit ended it. */
  readonly timedOut: boolean;
  /** Wall time from spawn to exit, in milliseconds. */
  readonly wallMs: number;
  /** Milliseconds from spawn until `marker` first appeared on standard error, if it did. */
  readonly markerMs: number | undefined;
}

/** Options of {@link runChild}. */
export interface ChildOptions {
  /** Kill the child's whole process group after this long. */
  readonly timeoutMs: number;
  /** Capture standard output (default) or send it to /dev/null. */
  readonly stdout?: "capture" | "ignore";
  /** Working directory. */
  readonly cwd?: string;
  /** A string to watch for on standard error; when it first appears is `markerMs`. */
  readonly marker?: string;
}

const live = new Set<ChildProcess>();

/** Kills a child and its process group (it leads one: it was spawned detached). */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Not a group leader (a runtime without `detached`): kill the child alone.
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

/**
 * Kills every child this module started that is still running.
 *
 * @example Clean up on Ctrl-C
 * ```ts ignore
 * process.on("SIGINT", () => { killAllChildren(); process.exit(130); });
 * ```
 */
export function killAllChildren(): void {
  for (const child of live) killGroup(child);
  live.clear();
}

/**
 * Runs `argv` with standard input closed, collecting standard error (and standard output
 * unless told to ignore it), and kills its process group when the time limit passes.
 *
 * @example
 * ```ts ignore
 * const r = await runChild(["ssh", "-V"], { timeoutMs: 5_000 });
 * console.log(r.stderr);
 * ```
 */
export function runChild(argv: readonly string[], options: ChildOptions): Promise<ChildResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new TypeError("Cannot run a child: argv is empty"));
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(file, args, {
      stdio: ["ignore", options.stdout === "ignore" ? "ignore" : "pipe", "pipe"],
      detached: true,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    });
    live.add(child);
    const out: Uint8Array[] = [];
    const err: Uint8Array[] = [];
    child.stdout?.on("data", (chunk: Uint8Array) => out.push(chunk));
    let markerMs: number | undefined;
    child.stderr?.on("data", (chunk: Uint8Array) => {
      err.push(chunk);
      if (
        markerMs === undefined && options.marker !== undefined &&
        Buffer.concat(err).toString("latin1").includes(options.marker)
      ) markerMs = performance.now() - start;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      live.delete(child);
      reject(new Error(`Cannot run ${file}: ${error.message}`, { cause: error }));
    });
    child.on("close", (status, signal) => {
      const wallMs = performance.now() - start;
      clearTimeout(timer);
      live.delete(child);
      resolve({
        status,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut,
        wallMs,
        markerMs,
      });
    });
  });
}

/** The first non-empty line of a text, for one-line error reports. */
export function firstLine(text: string): string {
  return text.split("\n").map((line) => line.trim()).find((line) => line !== "") ?? "";
}
