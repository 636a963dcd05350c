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
import type { ConnectOptions, RunOptions } from "../client/options.ts";
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

/** How {@link runOnHost} runs a command: `conn.run()` unless told otherwise. */
export type CommandRunner = (
  command: string,
  options: RunOptions & { readonly encoding?: string },
) => Promise<ProcessResult<string>>;

/**
 * Runs `commandOrTask` on `conn` for one host; failures are thrown to the caller. A command
 * goes through `run` (SSHPool's opens a session the server refused again), else `conn.run()`.
 */
export async function runOnHost<T>(
  conn: SSHClientConnection,
  commandOrTask: string | FanoutTask<T>,
  info: FanoutTaskInfo,
  attempts: number,
  timing: () => FanoutTiming,
  maxOutput?: number,
  timeout?: number,
  run: CommandRunner = (command, options) => conn.run(command, options),
): Promise<FanoutSuccess<T>> {
  const { host, index } = info;
  if (typeof commandOrTask === "string") {
    const r = await run(commandOrTask, {
      signal: info.signal,
      ...(maxOutput !== undefined ? { maxOutput } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
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
 * A host entry as an object: a string is `[user@]host[:port]` as parallel-ssh's host
 * lists write it (`[user@][v6-address]:port` for IPv6; an IPv6 address alone stays
 * whole), an object is itself. A `TypeError` for a malformed entry (see {@link entryHost})
 * or a port that is not one ("web1:ssh").
 *
 * @example
 * ```ts
 * import { hostEntry } from "./host_run.ts";
 * console.log(hostEntry("deploy@web1:2222")); // { host: "web1", port: 2222, username: "deploy" }
 * console.log(hostEntry("[::1]:22"), hostEntry("::1")); // { host: "::1", port: 22 } { host: "::1" }
 * ```
 */
export function hostEntry(entry: unknown): ConnectOptions & { readonly host: string } {
  const name = entryHost(entry);
  if (typeof entry !== "string") return entry as ConnectOptions & { readonly host: string };
  const at = name.lastIndexOf("@");
  const user = at > 0 ? name.slice(0, at) : undefined;
  const rest = at > 0 ? name.slice(at + 1) : name;
  const bracketed = /^\[([^\]]+)\](?::([^:]*))?$/.exec(rest);
  const colon = rest.indexOf(":");
  const [host, port] = bracketed
    ? [bracketed[1]!, bracketed[2]]
    : colon >= 0 && colon === rest.lastIndexOf(":")
    ? [rest.slice(0, colon), rest.slice(colon + 1)]
    : [rest, undefined];
  const n = port === undefined ? undefined : /^[0-9]{1,5}$/.test(port) ? Number(port) : NaN;
  if (host === "" || (n !== undefined && !(n >= 1 && n <= 65535))) {
    throw new TypeError(`${JSON.stringify(name)} is not [user@]host[:port] (port 1-65535)`);
  }
  return {
    host,
    ...(n !== undefined ? { port: n } : {}),
    ...(user !== undefined ? { username: user } : {}),
  };
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

/**
 * A host entry's connect() options, without its `host`, and without the fields set to
 * undefined: `{ host, port: h.port }` with no port of its own keeps the batch's `port`
 * (spread, an own `undefined` replaced it and sent the host to port 22).
 */
export function withoutHost(entry: ConnectOptions & { readonly host: string }): ConnectOptions {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(entry)) if (k !== "host" && v !== undefined) rest[k] = v;
  return rest as ConnectOptions;
}

/**
 * The host list as an array; a `TypeError` for a string, which is iterable too: its
 * characters would each be a host ("web1" ran on "w", "e", "b" and "1").
 */
export function hostList<H>(hosts: Iterable<H>): H[] {
  if (typeof hosts === "string") {
    throw new TypeError(
      `hosts must be a list of hosts, not the string "${hosts}": write ["${hosts}"]`,
    );
  }
  return [...hosts];
}

/**
 * A `TypeError` at the call for a command that is neither a string nor a function
 * (it connected to every host, then failed each with "not a function").
 */
export function checkCommandOrTask(commandOrTask: unknown): void {
  if (typeof commandOrTask !== "string" && typeof commandOrTask !== "function") {
    throw new TypeError(
      `The command must be a string or a function, not ${hostLabel(commandOrTask)}`,
    );
  }
}

/** The most a retry waits, unless the first delay asked for is longer (ms). */
const MAX_RETRY_DELAY = 5_000;

/**
 * How long runMany() waits before connection attempt `attempt + 1`: `first` doubled for
 * each earlier retry, at most 5 s or `first` if that is more (a `retryDelay` of 30 s
 * was cut to 5 s), then between half and all of it (`random` in [0, 1)).
 */
export function retryWait(
  first: number,
  attempt: number,
  random: () => number = Math.random,
): number {
  const cap = Math.max(MAX_RETRY_DELAY, first);
  // (0 × 2^1024 would be NaN.)
  const base = first === 0 ? 0 : Math.min(first * 2 ** (attempt - 1), cap);
  return base / 2 + random() * base / 2;
}
