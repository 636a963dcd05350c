/**
 * What runMany() and SSHPool.runAll() both do on a connected host: run the command (its
 * ProcessResult is the value, with exit status and output copied out) or the task, and
 * build the success result; and reading a host entry. Also the result types both share
 * (run_many.ts re-exports them). Its functions are internal: io/fanout/mod.ts does not
 * re-export this module.
 *
 * @module
 */

import type { SSHClientConnection } from "../client/connection.ts";
import type { ConnectOptions } from "../client/options.ts";
import type { ProcessResult } from "../client/errors.ts";

/** What a function given to {@link runMany} receives besides the connection. */
export interface FanoutTaskInfo {
  /** The host, as given. */
  readonly host: string;
  /** Its position in the host list. */
  readonly index: number;
  /** Aborts when the host's timeout passes or the batch is aborted. */
  readonly signal: AbortSignal;
}

/** A host where the command ran (or the function returned). */
export interface FanoutSuccess<T> {
  /** Success. */
  readonly ok: true;
  /** The host, as given. */
  readonly host: string;
  /** Its position in the host list. */
  readonly index: number;
  /** The function's value; for a command, its ProcessResult. */
  readonly value: T;
  /** A command's exit status (null for a signal); undefined for a function. */
  readonly exitStatus?: number | null;
  /** A command's stdout; undefined for a function. */
  readonly stdout?: string;
  /** A command's stderr; undefined for a function. */
  readonly stderr?: string;
  /** Connection attempts made (1 unless retried). */
  readonly attempts: number;
  /** Timing: when the host started, ms to authenticate, ms in all. */
  readonly timing: FanoutTiming;
}

/**
 * A host where a command ran ({@link runMany} or `SSHPool.runAll()` with a command): its
 * exit status and output are always there.
 */
export interface FanoutCommandSuccess extends FanoutSuccess<ProcessResult<string>> {
  /** The command's exit status (null when a signal ended it). */
  readonly exitStatus: number | null;
  /** The command's stdout. */
  readonly stdout: string;
  /** The command's stderr. */
  readonly stderr: string;
}

/** Timing of one host. */
export interface FanoutTiming {
  /** When the host was started (ms since the epoch). */
  readonly startedAt: number;
  /** ms from start to an authenticated connection (the last attempt, incl. retries' waits). */
  readonly connectMs: number | undefined;
  /** ms from start to the result. */
  readonly totalMs: number;
}

/** A function run on each host's connection by {@link runMany}. */
export type FanoutTask<T> = (conn: SSHClientConnection, info: FanoutTaskInfo) => Promise<T>;

/** Runs `commandOrTask` on `conn` for one host; failures are thrown to the caller. */
export async function runOnHost<T>(
  conn: SSHClientConnection,
  commandOrTask: string | FanoutTask<T>,
  info: FanoutTaskInfo,
  attempts: number,
  timing: () => FanoutTiming,
  maxOutput?: number,
): Promise<FanoutSuccess<T>> {
  const { host, index } = info;
  if (typeof commandOrTask === "string") {
    const r = await conn.run(commandOrTask, {
      signal: info.signal,
      ...(maxOutput !== undefined ? { maxOutput } : {}),
    });
    return {
      ok: true,
      host,
      index,
      value: r as T,
      exitStatus: r.exitStatus,
      stdout: r.stdout,
      stderr: r.stderr,
      attempts,
      timing: timing(),
    };
  }
  const value = await commandOrTask(conn, info);
  return { ok: true, host, index, value, attempts, timing: timing() };
}

/**
 * The name of a host entry (a name, or an object with a string `host`); a `TypeError`
 * for anything else (undefined from a sloppy `map()`, an object without `host`).
 */
export function entryHost(entry: unknown): string {
  const host = typeof entry === "string" ? entry : (entry as { host?: unknown } | null)?.host;
  if (typeof host !== "string") {
    throw new TypeError(
      `A host must be a name or an object with a host name, not ${hostLabel(entry)}`,
    );
  }
  return host;
}

/**
 * What to call a host entry in a result, whatever it is: its name when it has one,
 * else a description of the value (never throws, unlike {@link entryHost}).
 */
export function hostLabel(entry: unknown): string {
  try {
    if (typeof entry === "string") return entry;
    const host = (entry as { host?: unknown } | null | undefined)?.host;
    if (typeof host === "string") return host;
    if (typeof entry === "function") return "a function";
    return entry === null || typeof entry !== "object" ? String(entry) : "an object";
  } catch {
    return "an unreadable entry";
  }
}

/** A host entry's connect() options, without its `host`. */
export function withoutHost(entry: ConnectOptions & { readonly host: string }): ConnectOptions {
  const { host: _host, ...rest } = entry;
  return rest;
}
