/**
 * A subject whose client runs in a worker process: a script that takes a {@link WorkerJob} as
 * JSON on its command line, does the measuring itself, and prints a {@link WorkerAnswer}. The
 * `ssh2` package and this library are measured this way, one worker per job, on each runtime.
 *
 * @module
 */

import { join } from "node:path";
import type { Runtime } from "./runtimes.ts";
import { REPO_ROOT } from "./runtimes.ts";
import { firstLine, runChild } from "./spawn.ts";
import {
  type BulkOutcome,
  type BulkSpec,
  type HandshakeOutcome,
  type HandshakeSpec,
  remoteCommand,
  type Subject,
  type WorkerAnswer,
  type WorkerJob,
} from "./types.ts";

/** Bytes per write in uploads: a common stream chunk size, several SSH packets each. */
export const UPLOAD_CHUNK_SIZE = 64 * 1024;

/** Options of {@link workerSubject}. */
export interface WorkerSubjectOptions {
  /** Implementation name (`ssh2`, `sshts`). */
  readonly name: string;
  /** The worker script, relative to the repository root. */
  readonly script: string;
  /** The runtime to run it on. */
  readonly runtime: Runtime;
  /** Whether the worker honours `noDelay: false`. */
  readonly canDisableNoDelay: boolean;
  /** With `--profile`: the directory each worker writes its CPU profile to. */
  readonly profileDir?: string | undefined;
}

/** Reads the worker's answer from the last JSON line of its output. */
function parseAnswer(stdout: string): WorkerAnswer | undefined {
  const lines = stdout.trim().split("\n").reverse();
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      return JSON.parse(line) as WorkerAnswer;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function runJob(
  options: WorkerSubjectOptions,
  job: WorkerJob,
  timeoutMs: number,
): Promise<{ ms: readonly number[]; info?: Record<string, unknown> }> {
  const argv = [
    ...options.runtime.command(join(REPO_ROOT, options.script), options.profileDir),
    JSON.stringify(job),
  ];
  const r = await runChild(argv, { timeoutMs, cwd: REPO_ROOT });
  if (r.timedOut) {
    throw new Error(`Worker timed out after ${Math.round(timeoutMs / 1000)} s and was killed`);
  }
  const answer = parseAnswer(r.stdout);
  if (answer === undefined) {
    const why = firstLine(r.stderr) || firstLine(r.stdout) ||
      `exited with ${r.signal ?? `status ${r.status}`}`;
    throw new Error(`Worker failed: ${why}`);
  }
  if (!answer.ok) throw new Error(firstLine(answer.error));
  return answer.info === undefined ? { ms: answer.ms } : { ms: answer.ms, info: answer.info };
}

/**
 * A subject that measures by running `script` on `runtime`, one process per job.
 *
 * @example The ssh2 package on Deno
 * ```ts ignore
 * const subject = workerSubject({
 *   name: "ssh2", script: "bench/e2e/ssh2_worker.cjs", runtime: deno, canDisableNoDelay: true,
 * });
 * ```
 */
export function workerSubject(options: WorkerSubjectOptions): Subject {
  return {
    name: options.name,
    runtime: options.runtime.id,
    runtimeLabel: options.runtime.label,
    canDisableNoDelay: options.canDisableNoDelay,
    async bulk(spec: BulkSpec): Promise<BulkOutcome> {
      const r = await runJob(options, {
        op: "bulk",
        target: spec.target,
        cipher: spec.setting.cipher,
        mac: spec.setting.mac,
        direction: spec.direction,
        bytes: spec.bytes,
        command: remoteCommand(spec.direction, spec.bytes),
        runs: spec.runs,
        chunkSize: UPLOAD_CHUNK_SIZE,
      }, spec.timeoutMs);
      return r.info === undefined ? { runsMs: r.ms } : { runsMs: r.ms, info: r.info };
    },
    async handshakes(spec: HandshakeSpec): Promise<HandshakeOutcome> {
      const r = await runJob(options, {
        op: "handshake",
        target: spec.target,
        rounds: spec.rounds,
        warmup: spec.warmup,
        noDelay: spec.noDelay,
      }, spec.timeoutMs);
      return r.info === undefined ? { roundsMs: r.ms } : { roundsMs: r.ms, info: r.info };
    },
  };
}
