/**
 * The errors of the client's process API: a process that failed its `check`,
 * and one that outlived its timeout.
 *
 * @module
 */

import type { ExitSignal } from "../../core/connection/session_requests.ts";
import { SSHError } from "../../core/errors.ts";

/** What a finished process produced. */
export interface ProcessResult<T extends string | Uint8Array = string | Uint8Array> {
  /** The command that ran; undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** Everything written to stdout (text unless the encoding was null). */
  readonly stdout: T;
  /** Everything written to stderr. */
  readonly stderr: T;
  /** Exit status, or null when the process was killed by a signal or gave none. */
  readonly exitStatus: number | null;
  /** The signal that ended the process, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode: the exit status, minus the signal number for a signal, or null. */
  readonly returnCode: number | null;
}

/**
 * A process that exited with a non-zero status (or by a signal) when `check` was set.
 *
 * @example
 * ```ts ignore
 * try { await conn.run("false", { check: true }); }
 * catch (e) { if (e instanceof ProcessError) console.log(e.exitStatus); }
 * ```
 */
export class ProcessError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Its exit status, or null if it died by a signal. */
  readonly exitStatus: number | null;
  /** The signal that ended it, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode. */
  readonly returnCode: number | null;
  /** What it wrote to stdout. */
  readonly stdout: string | Uint8Array;
  /** What it wrote to stderr. */
  readonly stderr: string | Uint8Array;

  /** Creates the error from a result. */
  constructor(result: ProcessResult) {
    const why = result.exitSignal
      ? `was killed by signal ${result.exitSignal.signal}`
      : result.exitStatus === null
      ? "ended without an exit status"
      : `exited with status ${result.exitStatus}`;
    super("ERR_PROCESS", `Process ${result.command ? `"${result.command}" ` : ""}${why}`);
    this.name = "ProcessError";
    this.command = result.command;
    this.exitStatus = result.exitStatus;
    this.exitSignal = result.exitSignal;
    this.returnCode = result.returnCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/**
 * A process did not finish within its timeout. It carries the output read so far.
 *
 * @example
 * ```ts ignore
 * try { await conn.run("sleep 10", { timeout: 100 }); }
 * catch (e) { if (e instanceof ProcessTimeoutError) console.log(e.stdout); }
 * ```
 */
export class ProcessTimeoutError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Output read before the timeout. */
  readonly stdout: string | Uint8Array;
  /** Error output read before the timeout. */
  readonly stderr: string | Uint8Array;

  /** Creates the error. */
  constructor(
    command: string | undefined,
    ms: number,
    stdout: string | Uint8Array,
    stderr: string | Uint8Array,
  ) {
    super("ERR_TIMEOUT", `Process ${command ? `"${command}" ` : ""}did not finish within ${ms} ms`);
    this.name = "ProcessTimeoutError";
    this.command = command;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}
