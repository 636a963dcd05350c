/**
 * runMany(): one command (or function) on many hosts from one process, with
 * bounded concurrency, a per-host deadline, retries for connection failures,
 * and one result per host as each finishes. Failures are results, never thrown.
 *
 * @module
 */
import { SSHError } from "../../core/errors.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import {
  connectErrorPhase,
  ConnectTimeoutError,
  type ProcessResult,
  ProcessTimeoutError,
} from "../client/errors.ts";
import type { ConnectOptions } from "../client/options.ts";
import {
  checkCommandOrTask,
  hostEntry,
  hostLabel,
  hostList,
  retryWait,
  runOnHost,
  withoutHost,
} from "./host_run.ts";
import { timeLeft, wholeTimeout } from "../client/deadline.ts";
import type { FanoutCommandSuccess, FanoutSuccess, FanoutTask, FanoutTiming } from "./host_run.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { untilAborted } from "../engine/errors.ts";
import { checkMaxOutput } from "../client/process.ts";
export type {
  FanoutCommandSuccess,
  FanoutSuccess,
  FanoutTask,
  FanoutTaskInfo,
  FanoutTiming,
} from "./host_run.ts";

/**
 * How many hosts run at once unless told otherwise: 32, like pssh's default
 * parallelism. Each connection costs a handshake's CPU (~1–3 ms) and a socket;
 * raise it for large fleets (the fan-out bench uses 200).
 */
export const DEFAULT_FANOUT_CONCURRENCY = 32;

/**
 * First retry delay (ms); each further retry doubles it, up to 5 s (or the `retryDelay`
 * given, if more). Each wait is between half and all of that (jitter).
 */
export const DEFAULT_RETRY_DELAY = 250;

/**
 * A host to reach: a name or address, as `[user@]host[:port]` (`[user@][v6-address]:port`
 * for IPv6), or a name with its own connect() options (those set to undefined leave the
 * batch's); with runMany(), its own `signal` aborts that host. Results name a host as
 * it was given.
 */
export type FanoutHost = string | (ConnectOptions & { readonly host: string });

/** A host that failed: could not connect, failed auth, timed out, was aborted, or threw. */
export interface FanoutFailure {
  /** Failure. */
  readonly ok: false;
  /** The host, as given. */
  readonly host: string;
  /** Its position in the host list. */
  readonly index: number;
  /**
   * Why: connect()'s error (ERR_CONNECTION_REFUSED for a closed port,
   * ERR_CONNECTION_LOST for a dropped connection, ERR_PERMISSION_DENIED for failed authentication, …), an ERR_TIMEOUT
   * `SSHError` for the host's timeout, the signal's reason for an abort, a `TypeError`
   * for an entry that is neither a name nor an object with a `host` name, or whatever
   * the function threw.
   */
  readonly error: Error;
  /** Connection attempts made (0 when aborted before starting). */
  readonly attempts: number;
  /** Timing; `connectMs` is undefined when no connection was made. */
  readonly timing: FanoutTiming;
}

/** One host's result from {@link runMany}. */
export type FanoutResult<T> = FanoutSuccess<T> | FanoutFailure;

/**
 * One host's result from {@link runMany} (or `SSHPool.runAll()`) with a command: a success
 * always has `exitStatus`, `stdout` and `stderr`.
 */
export type FanoutCommandResult = FanoutCommandSuccess | FanoutFailure;

/** Progress after each host, for {@link RunManyOptions.onProgress}. */
export interface FanoutProgress<T> {
  /** Hosts finished so far. */
  readonly done: number;
  /** Hosts in the batch. */
  readonly total: number;
  /** Hosts in progress now. */
  readonly running: number;
  /** Finished hosts that failed. */
  readonly failed: number;
  /** The result just produced. */
  readonly result: FanoutResult<T>;
}

/** Options of {@link runMany}: connect() options shared by every host, and the batch's own. */
export interface RunManyOptions<T = unknown> extends Omit<ConnectOptions, "signal"> {
  /** Hosts at once (default {@link DEFAULT_FANOUT_CONCURRENCY}). */
  readonly concurrency?: number;
  /**
   * Per-host deadline in ms, covering connecting, retries and the command (or
   * function); past it the host's connection is aborted and it fails with ERR_TIMEOUT
   * (for a command, a ProcessTimeoutError with the output read so far).
   * 0, `Infinity` or more than 2^31 − 1: no limit; negative or NaN: a `RangeError`.
   */
  readonly timeout?: number;
  /**
   * Extra connection attempts after a connection failure (refused, reset,
   * connect timeout, peer disconnect). Never after an authentication or
   * host-key failure, nor after the command started. Default 0.
   */
  readonly retries?: number;
  /**
   * First retry delay in ms (default {@link DEFAULT_RETRY_DELAY}); doubles each time up
   * to 5 s or this delay, whichever is more. Each wait is between half and all of it.
   */
  readonly retryDelay?: number;
  /** Aborts the batch: running hosts are aborted, unstarted ones fail with the reason. */
  readonly signal?: AbortSignal;
  /**
   * Called after each host finishes. Not awaited: what it throws (or the promise it
   * returns rejects with) is ignored.
   */
  readonly onProgress?: (progress: FanoutProgress<T>) => void;
  /**
   * Per stream, the most bytes of a command's output kept: a host whose command writes
   * more fails with ProcessOutputLimitError (its process closed). Default: no limit.
   */
  readonly maxOutput?: number;
}

/** connect() error codes that mean "try again" rather than "this will never work". */
const RETRYABLE = new Set([
  "ERR_CONNECTION_REFUSED",
  "ERR_CONNECTION_LOST",
  "ERR_TIMEOUT",
  "ERR_PEER_DISCONNECTED",
]);

/** Setup failures worth retrying: the process or the system ran out of descriptors for now. */
const TRANSIENT_SETUP_CODES = new Set(["EMFILE", "ENFILE", "EAGAIN"]);

/**
 * True when a connect() failure is worth retrying (a network problem, not a refusal).
 * A disconnect once the keys were exchanged is the server ending the login (OpenSSH
 * does after MaxAuthTries), not the network: retrying it would only try the same
 * credentials again (and trip fail2ban or lock the account).
 */
export function isRetryableConnectError(e: unknown): boolean {
  const phase = connectErrorPhase(e);
  if (phase === "auth" && !(e instanceof ConnectTimeoutError)) return false;
  // A key file or known_hosts that cannot be read (ENOENT, EACCES) is no network problem;
  // running out of file descriptors (many hosts at once) passes.
  if (phase === "setup" && !(e instanceof ConnectTimeoutError)) {
    return TRANSIENT_SETUP_CODES.has((e as { code?: unknown } | null)?.code as string);
  }
  if (e instanceof SSHError) return RETRYABLE.has(e.code);
  // Socket-level failures that reached us unwrapped (ECONNREFUSED, ECONNRESET, …).
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("E") && !code.startsWith("ERR_");
}

/**
 * Runs `command` (or calls `task` with a connection) on every host, at most
 * `concurrency` at once, and yields one {@link FanoutResult} per host as each
 * finishes (not in input order; `index` gives the position). Failures are
 * results with `ok: false` (a malformed entry, such as `undefined`, too: a
 * `TypeError`); the iteration itself never throws. `hosts` given as a string (not
 * `["web1"]`), or a command that is neither a string nor a function, is a `TypeError`
 * at the call. A command's non-zero exit status is a success with that `exitStatus`.
 * Breaking out of the loop aborts the hosts still running.
 *
 * Per-host settings come from ~/.ssh/config through connect() (unless
 * `config: false`), then from the shared options, then from a host's own object.
 *
 * @example A command on three hosts
 * ```ts
 * import { runMany } from "@sshts/ssh";
 * for await (const r of runMany(["web1", "deploy@web2:2200", { host: "db1", port: 2222 }], "uptime", {
 *   username: "ops", concurrency: 100, timeout: 10_000, retries: 2,
 * })) {
 *   if (r.ok) console.log(r.host, r.exitStatus, r.stdout.trim());
 *   else console.error(r.host, r.error.message);
 * }
 * ```
 *
 * @example A function per host, collecting values
 * ```ts
 * import { runMany } from "@sshts/ssh";
 * const hosts = ["web1", "web2", "db1"];
 * const kernels = new Map<string, string>();
 * for await (const r of runMany(hosts, async (conn) => (await conn.run("uname -r")).stdout)) {
 *   if (r.ok) kernels.set(r.host, r.value.trim());
 * }
 * ```
 */
export function runMany(
  hosts: Iterable<FanoutHost>,
  command: string,
  options?: RunManyOptions<ProcessResult<string>>,
): AsyncIterableIterator<FanoutCommandResult>;
/** Calls `task` with each host's authenticated connection (closed afterwards). */
export function runMany<T>(
  hosts: Iterable<FanoutHost>,
  task: FanoutTask<T>,
  options?: RunManyOptions<T>,
): AsyncIterableIterator<FanoutResult<T>>;
export function runMany<T>(
  hosts: Iterable<FanoutHost>,
  commandOrTask: string | FanoutTask<T>,
  options: RunManyOptions<T> = {},
): AsyncIterableIterator<FanoutResult<T>> {
  const {
    concurrency,
    timeout,
    retries = 0,
    retryDelay = DEFAULT_RETRY_DELAY,
    signal,
    onProgress,
    maxOutput,
    ...shared
  } = options;
  const hostTimeout = timeout === undefined ? undefined : timeoutDelay(timeout, "timeout");
  checkMaxOutput(maxOutput);
  // Checked here, not met later as a batch that never yields or retries without pause.
  concurrencyLimit(concurrency);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new RangeError(`retries must be a whole number of at least 0, not ${retries}`);
  }
  if (!Number.isFinite(retryDelay) || retryDelay < 0) {
    throw new RangeError(`retryDelay must be a finite number of ms, not ${retryDelay}`);
  }
  checkCommandOrTask(commandOrTask);
  const list = hostList(hosts);
  const runOne = (host: FanoutHost, index: number, batch: AbortSignal) =>
    runHost<T>(
      host,
      index,
      commandOrTask,
      shared,
      { timeout: hostTimeout, retries, retryDelay, maxOutput },
      batch,
    );
  return fanOut(list, runOne, { concurrency, signal, onProgress });
}

interface HostLimits {
  readonly timeout: number | undefined;
  readonly retries: number;
  readonly retryDelay: number;
  readonly maxOutput: number | undefined;
}

async function runHost<T>(
  entry: FanoutHost,
  index: number,
  commandOrTask: string | FanoutTask<T>,
  shared: Omit<ConnectOptions, "signal">,
  limits: HostLimits,
  batch: AbortSignal,
): Promise<FanoutResult<T>> {
  // A malformed entry (undefined, no `host`) is this host's failure below, not a throw
  // that would lose the worker and the rest of its hosts.
  const host = hostLabel(entry);
  const startedAt = Date.now();
  const t0 = performance.now();
  const ac = new AbortController();
  const onBatchAbort = () => ac.abort(batch.reason);
  batch.addEventListener("abort", onBatchAbort, { once: true });
  const timer = limits.timeout === undefined ? undefined : setTimeout(
    () => ac.abort(new SSHError("ERR_TIMEOUT", `${host}: no result within ${limits.timeout} ms`)),
    limits.timeout,
  );
  let own: AbortSignal | undefined;
  const onOwnAbort = () => ac.abort(own!.reason);
  let attempts = 0;
  let connectMs: number | undefined;
  const timing = () => ({ startedAt, connectMs, totalMs: performance.now() - t0 });
  const fail = (e: unknown): FanoutFailure => ({
    ok: false,
    host,
    index,
    // The deadline or the batch abort explains the failure better than the
    // connection error it caused.
    error: ac.signal.aborted ? asError(ac.signal.reason) : asError(e),
    attempts,
    timing: timing(),
  });
  try {
    if (batch.aborted) return fail(batch.reason);
    const target = hostEntry(entry);
    const hostOptions = withoutHost(target);
    // The entry's own signal aborts this host (connect() below gets the host's signal).
    own = hostOptions.signal;
    if (own?.aborted) return fail(own.reason);
    own?.addEventListener("abort", onOwnAbort, { once: true });
    let conn: SSHClientConnection;
    for (;;) {
      attempts++;
      try {
        conn = await connect(target.host, { ...shared, ...hostOptions, signal: ac.signal });
        break;
      } catch (e) {
        if (ac.signal.aborted || attempts > limits.retries || !isRetryableConnectError(e)) {
          return fail(e);
        }
        await sleep(retryWait(limits.retryDelay, attempts), ac.signal);
        if (ac.signal.aborted) return fail(e);
      }
    }
    connectMs = performance.now() - t0;
    // A command's own timeout takes over the host's, for what is left of it: its
    // ProcessTimeoutError keeps the output read so far (the host's abort would drop it).
    const left = typeof commandOrTask === "string" && limits.timeout !== undefined
      ? timeLeft(limits.timeout, t0)
      : undefined;
    if (left !== undefined) clearTimeout(timer);
    try {
      // The deadline (or the batch's abort) ends the host even when a function ignores
      // its signal: its late value is not this host's result, and its slot is freed.
      const r = await untilAborted(
        runOnHost(
          conn,
          commandOrTask,
          { host, index, signal: ac.signal },
          attempts,
          timing,
          limits.maxOutput,
          left,
        ),
        ac.signal,
      );
      return ac.signal.aborted ? fail(ac.signal.reason) : r;
    } catch (e) {
      if (e instanceof ProcessTimeoutError && !ac.signal.aborted) {
        // Said with the host's timeout, which it is, not what was left of it.
        return fail(wholeTimeout(e, limits.timeout!));
      }
      return fail(e);
    } finally {
      if (ac.signal.aborted) conn.abort();
      else await conn.close().catch(() => {});
    }
  } catch (e) {
    return fail(e);
  } finally {
    clearTimeout(timer);
    batch.removeEventListener("abort", onBatchAbort);
    own?.removeEventListener("abort", onOwnAbort);
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" && v !== null || typeof v === "function") &&
    typeof (v as { then?: unknown }).then === "function";
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new SSHError("ERR_BY_APPLICATION", String(e));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Options of {@link fanOut}. */
export interface FanOutOptions<T> {
  /** Items at once (default {@link DEFAULT_FANOUT_CONCURRENCY}). */
  readonly concurrency?: number | undefined;
  /** Aborts the batch. */
  readonly signal?: AbortSignal | undefined;
  /** Called after each item finishes (not awaited; its errors and rejections are ignored). */
  readonly onProgress?: ((progress: FanoutProgress<T>) => void) | undefined;
}

/**
 * The concurrency to run at: a whole number ≥ 1 (`Infinity`: every item at once);
 * anything else is a `RangeError` naming `name` (NaN would start no worker at all).
 */
export function concurrencyLimit(value: number | undefined, name = "concurrency"): number {
  if (value === undefined) return DEFAULT_FANOUT_CONCURRENCY;
  if (value === Infinity) return Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a whole number of at least 1, not ${value}`);
  }
  return value;
}

/**
 * The scheduler under runMany() and SSHPool.runAll(): runs `work` on each item,
 * at most `concurrency` at once, and yields the results as they finish. `work`
 * turns failures into results; one that throws anyway gives a failed result for its
 * item (the batch still yields one result per item). The work starts with the first
 * `next()`. `return()` — breaking out of a loop, or called while a `next()` waits —
 * aborts the work still running at once, ends any waiting `next()`, and resolves
 * once that work has finished.
 */
export function fanOut<I, T>(
  items: readonly I[],
  work: (item: I, index: number, signal: AbortSignal) => Promise<FanoutResult<T>>,
  options: FanOutOptions<T> = {},
): AsyncIterableIterator<FanoutResult<T>> {
  const limit = concurrencyLimit(options.concurrency);
  const ac = new AbortController();
  const outer = options.signal;
  const onAbort = () => ac.abort(outer!.reason);
  const ready: FanoutResult<T>[] = [];
  const waiters: ((r: IteratorResult<FanoutResult<T>>) => void)[] = [];
  const workers: Promise<void>[] = [];
  let next = 0;
  let running = 0;
  let done = 0;
  let failed = 0;
  let started = false;
  let stopped = false;
  const finished = () => stopped || (done >= items.length && ready.length === 0);
  const end = () => outer?.removeEventListener("abort", onAbort);
  /** Hands results (or the end) to the next() calls waiting for them. */
  const deliver = () => {
    while (waiters.length > 0 && ready.length > 0) {
      waiters.shift()!({ value: ready.shift()!, done: false });
    }
    if (finished()) {
      end();
      for (const w of waiters.splice(0)) w({ value: undefined, done: true });
    }
  };
  const worker = async () => {
    while (!stopped && next < items.length) {
      const i = next++;
      running++;
      const startedAt = Date.now();
      const t0 = performance.now();
      let r: FanoutResult<T>;
      try {
        r = await work(items[i]!, i, ac.signal);
      } catch (e) {
        const timing = { startedAt, connectMs: undefined, totalMs: performance.now() - t0 };
        r = {
          ok: false,
          host: hostLabel(items[i]),
          index: i,
          error: asError(e),
          attempts: 0,
          timing,
        };
      }
      running--;
      done++;
      if (!r.ok) failed++;
      if (stopped) continue; // the caller went away: nobody reads it
      ready.push(r);
      try {
        const p: unknown = options.onProgress?.({
          done,
          total: items.length,
          running,
          failed,
          result: r,
        });
        // An async callback's rejection is no more the batch's than a throw (and unhandled,
        // it would end a Node process).
        if (isThenable(p)) Promise.resolve(p).catch(() => {});
      } catch { /* a progress callback's error is not the batch's */ }
      deliver();
    }
  };
  const start = () => {
    if (started) return;
    started = true;
    if (outer?.aborted) onAbort();
    else outer?.addEventListener("abort", onAbort, { once: true });
    for (let w = 0; w < Math.min(limit, items.length); w++) workers.push(worker());
    deliver(); // an empty batch ends at once
  };
  const iterator: AsyncIterableIterator<FanoutResult<T>> = {
    [Symbol.asyncIterator]: () => iterator,
    next: () => {
      start();
      if (ready.length > 0) return Promise.resolve({ value: ready.shift()!, done: false });
      if (finished()) {
        end();
        return Promise.resolve({ value: undefined, done: true });
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    return: async () => {
      if (!stopped) {
        stopped = true;
        ready.length = 0; // nobody reads them: a next() from now on is done
        if (started && done < items.length) {
          ac.abort(new SSHError("ERR_BY_APPLICATION", "runMany stopped"));
        }
        deliver();
        await Promise.all(workers);
        end();
      }
      return { value: undefined, done: true };
    },
  };
  return iterator;
}
