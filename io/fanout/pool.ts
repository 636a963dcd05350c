/**
 * SSHPool: one open connection per host for repeated commands, with keepalive,
 * reconnecting a dead connection on its next use.
 *
 * @module
 */
import { connectDeadline } from "../client/deadline.ts";
import { SSHError } from "../../core/errors.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ProcessResult } from "../client/errors.ts";
import type { ConnectOptions, RunOptions } from "../client/options.ts";
import {
  concurrencyLimit,
  fanOut,
  type FanoutCommandResult,
  type FanoutHost,
  type FanoutProgress,
  type FanoutResult,
  type FanoutTask,
} from "./run_many.ts";
import { runOnHost, withoutHost } from "./host_run.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { untilAborted } from "../engine/errors.ts";
import { checkMaxOutput } from "../client/process.ts";

/**
 * Whether a connection is gone though its `closed` promise has not run its callbacks
 * yet: a command that failed because the server dropped the connection sees that one
 * tick before the pool would, and a retry at once must reconnect, not reuse it.
 */
function isGone(conn: SSHClientConnection): boolean {
  return conn.engine.closed || conn.closeError !== undefined;
}

/** Keepalive interval a pool's connections get unless told otherwise (ms). */
export const DEFAULT_POOL_KEEPALIVE = 15_000;

/** Options of {@link connectMany}: connect() options shared by every host, and the pool's own. */
export interface ConnectManyOptions extends Omit<ConnectOptions, "signal"> {
  /** Hosts connected at once while opening the pool (default 32). */
  readonly concurrency?: number;
  /** Aborts the initial connects (the pool is still returned, with those hosts failed). */
  readonly signal?: AbortSignal;
}

/** Options of {@link SSHPool.runAll}. */
export interface PoolRunAllOptions<T> {
  /** Hosts at once (default 32). */
  readonly concurrency?: number;
  /**
   * Per-host deadline in ms (ERR_TIMEOUT result); 0, `Infinity` or more than
   * 2^31 − 1: no limit; negative or NaN: a `RangeError`, as runMany()'s.
   */
  readonly timeout?: number;
  /** Aborts the batch. */
  readonly signal?: AbortSignal;
  /** Called after each host finishes. */
  readonly onProgress?: (progress: FanoutProgress<T>) => void;
  /**
   * Per stream, the most bytes of a command's output kept: a host whose command writes
   * more fails with ProcessOutputLimitError (its process closed). Default: no limit.
   */
  readonly maxOutput?: number;
}

interface Slot {
  readonly host: string;
  readonly options: ConnectOptions;
  conn: SSHClientConnection | undefined;
  dead: boolean;
  /** The connect in progress, shared by every get() that waits for it. */
  pending: PendingConnect | undefined;
  lastError: Error | undefined;
}

/**
 * One connect shared by the get() calls waiting for it. Each caller waits with its own
 * signal; the connect itself is aborted only once every caller has given up (or the
 * pool closes), so one caller's short deadline never fails another.
 */
interface PendingConnect {
  readonly promise: Promise<SSHClientConnection>;
  readonly abort: AbortController;
  waiters: number;
}

/**
 * A set of connections, one per host, kept open for repeated use. A connection
 * that dropped (server restart, keepalive timeout) is replaced on its next use.
 * `await using` (or `close()`) closes them all. Made by {@link connectMany}.
 *
 * @example
 * ```ts
 * import { connectMany } from "@sshts/ssh";
 * await using pool = await connectMany(["web1", "web2"], { username: "ops" });
 * for await (const r of pool.runAll("uptime")) console.log(r.host, r.ok && r.stdout);
 * const again = await pool.run("web1", "df -h"); // same connection, no new handshake
 * ```
 */
export class SSHPool {
  readonly #slots = new Map<string, Slot>();
  readonly #order: string[] = [];
  readonly #shared: ConnectOptions;
  #closed = false;

  /** Use {@link connectMany}. */
  constructor(hosts: Iterable<FanoutHost>, shared: Omit<ConnectOptions, "signal"> = {}) {
    this.#shared = { keepaliveInterval: DEFAULT_POOL_KEEPALIVE, ...shared };
    for (const entry of hosts) {
      const host = typeof entry === "string" ? entry : entry.host;
      if (this.#slots.has(host)) continue;
      const options: ConnectOptions = typeof entry === "string" ? {} : withoutHost(entry);
      this.#slots.set(host, {
        host,
        options,
        conn: undefined,
        dead: true,
        pending: undefined,
        lastError: undefined,
      });
      this.#order.push(host);
    }
  }

  /** The pool's hosts, in the order given. */
  get hosts(): readonly string[] {
    return this.#order;
  }

  /** Hosts with an open connection now. */
  get connected(): readonly string[] {
    return this.#order.filter((h) => !this.#slots.get(h)!.dead);
  }

  /** The last connect error of a host, if its latest attempt failed. */
  lastError(host: string): Error | undefined {
    return this.#slots.get(host)?.lastError;
  }

  /**
   * The host's connection, opening (or reopening, if it dropped) one first.
   * Rejects with connect()'s error when it cannot.
   */
  get(host: string, signal?: AbortSignal): Promise<SSHClientConnection> {
    if (this.#closed) return Promise.reject(new SSHError("ERR_BY_APPLICATION", "Pool closed"));
    const slot = this.#slots.get(host);
    if (!slot) return Promise.reject(new RangeError(`${host} is not in the pool`));
    if (slot.conn && !slot.dead && !isGone(slot.conn)) return Promise.resolve(slot.conn);
    if (signal?.aborted) return Promise.reject(signal.reason);
    const pending = slot.pending ??= this.#open(slot);
    pending.waiters++;
    return untilAborted(pending.promise, signal).finally(() => {
      // The last caller to give up stops the connect; the others keep waiting for it.
      if (--pending.waiters === 0 && signal?.aborted && slot.pending === pending) {
        pending.abort.abort(signal.reason);
      }
    });
  }

  #open(slot: Slot): PendingConnect {
    // connect() keeps listening to its signal for the connection's life: this one is
    // aborted only while connecting (every waiter gone, or the pool closing).
    const abort = new AbortController();
    const pending: PendingConnect = {
      promise: this.#connect(slot, abort.signal).finally(() => {
        if (slot.pending === pending) slot.pending = undefined;
      }),
      abort,
      waiters: 0,
    };
    return pending;
  }

  async #connect(slot: Slot, signal: AbortSignal): Promise<SSHClientConnection> {
    try {
      const conn = await connect(slot.host, {
        ...this.#shared,
        ...slot.options,
        signal,
      });
      if (this.#closed) {
        conn.abort();
        throw new SSHError("ERR_BY_APPLICATION", "Pool closed");
      }
      slot.conn = conn;
      slot.dead = false;
      slot.lastError = undefined;
      void conn.closed.then(() => {
        if (slot.conn === conn) slot.dead = true;
      });
      return conn;
    } catch (e) {
      slot.lastError = e as Error;
      throw e;
    }
  }

  /** Runs a command on one host (reconnecting first if its connection dropped). */
  async run(host: string, command: string, options?: RunOptions): Promise<ProcessResult<string>> {
    const conn = await this.get(host, options?.signal);
    return await conn.run(command, { ...options, encoding: "utf-8" });
  }

  /**
   * Runs a command (or a function) on every host, like runMany() but over the
   * pool's connections (left open afterwards). Yields results as they finish.
   */
  runAll(
    command: string,
    options?: PoolRunAllOptions<ProcessResult<string>>,
  ): AsyncIterableIterator<FanoutCommandResult>;
  /** Calls `task` with each host's connection. */
  runAll<T>(
    task: FanoutTask<T>,
    options?: PoolRunAllOptions<T>,
  ): AsyncIterableIterator<FanoutResult<T>>;
  runAll<T>(
    commandOrTask: string | FanoutTask<T>,
    options: PoolRunAllOptions<T> = {},
  ): AsyncIterableIterator<FanoutResult<T>> {
    const { timeout, maxOutput } = options;
    const delay = timeout === undefined ? 0 : timeoutDelay(timeout, "timeout") ?? 0;
    checkMaxOutput(maxOutput);
    const work = async (host: string, index: number, batch: AbortSignal) => {
      const startedAt = Date.now();
      const t0 = performance.now();
      // A timer cleared when the host is done (AbortSignal.timeout's lives on to the end).
      const deadline = connectDeadline(batch, delay);
      const signal = deadline.signal!;
      let connectMs: number | undefined;
      const timing = () => ({ startedAt, connectMs, totalMs: performance.now() - t0 });
      try {
        const conn = await this.get(host, signal);
        connectMs = performance.now() - t0;
        // The deadline ends the host even when a function ignores its signal.
        return await untilAborted(
          runOnHost(conn, commandOrTask, { host, index, signal }, 1, timing, maxOutput),
          signal,
        );
      } catch (e) {
        const reason = signal.aborted ? signal.reason : e;
        // Only this host's own deadline is reported as one (a caller's
        // AbortSignal.timeout() is its reason, as it is).
        const error = deadline.timedOut
          ? new SSHError("ERR_TIMEOUT", `${host}: no result within ${timeout} ms`)
          : reason instanceof Error
          ? reason
          : new SSHError("ERR_BY_APPLICATION", String(reason));
        return { ok: false as const, host, index, error, attempts: 1, timing: timing() };
      } finally {
        deadline.clear();
      }
    };
    return fanOut(this.#order, work, {
      concurrency: concurrencyLimit(options.concurrency),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  /** Closes every connection (waits for each to finish closing). */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<unknown>[] = [];
    for (const slot of this.#slots.values()) {
      // A connect in progress is aborted, not waited for (up to its connectTimeout).
      if (slot.pending) {
        slot.pending.abort.abort(new SSHError("ERR_BY_APPLICATION", "Pool closed"));
        closing.push(slot.pending.promise.then((c) => c.close(), () => {}));
      }
      if (slot.conn && !slot.dead) closing.push(slot.conn.close().catch(() => {}));
      slot.dead = true;
    }
    await Promise.all(closing);
  }

  /** `await using` support: closes every connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a pool of connections, one per host, `concurrency` at once. Hosts that
 * cannot be reached now are still in the pool (see `lastError`); their next use
 * tries again. Connections get a keepalive ({@link DEFAULT_POOL_KEEPALIVE}) unless
 * `keepaliveInterval` says otherwise.
 *
 * @example
 * ```ts
 * import { connectMany } from "@sshts/ssh";
 * await using pool = await connectMany(["a", "b", { host: "c", port: 2222 }], {
 *   username: "ops", concurrency: 100,
 * });
 * console.log(`${pool.connected.length}/${pool.hosts.length} connected`);
 * ```
 */
export async function connectMany(
  hosts: Iterable<FanoutHost>,
  options: ConnectManyOptions = {},
): Promise<SSHPool> {
  const { concurrency, signal, ...shared } = options;
  const pool = new SSHPool(hosts, shared);
  const work = async (host: string, index: number, batch: AbortSignal) => {
    const timing = { startedAt: Date.now(), connectMs: undefined, totalMs: 0 };
    try {
      await pool.get(host, batch);
      return { ok: true as const, host, index, value: undefined, attempts: 1, timing };
    } catch (e) {
      return { ok: false as const, host, index, error: e as Error, attempts: 1, timing };
    }
  };
  for await (
    const _ of fanOut(pool.hosts, work, {
      concurrency: concurrencyLimit(concurrency),
      ...(signal ? { signal } : {}),
    })
  ) { /* results are in pool.connected / pool.lastError */ }
  return pool;
}
