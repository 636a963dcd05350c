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
import { type ProcessResult, ProcessTimeoutError } from "../client/errors.ts";
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
import {
  checkCommandOrTask,
  hostEntry,
  hostLabel,
  hostList,
  runOnHost,
  withoutHost,
} from "./host_run.ts";
import { timeLeft, wholeTimeout } from "../client/deadline.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { ChannelOpenError, untilAborted } from "../engine/errors.ts";
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

/**
 * Commands a pooled connection runs at once through `run()` and `runAll()` unless told
 * otherwise: OpenSSH's sshd refuses a session past its MaxSessions, 10 by default.
 */
export const DEFAULT_POOL_MAX_SESSIONS = 10;

/**
 * How long a host may refuse every session the pool opens, none of its sessions ending
 * meanwhile, before a refused `run()` fails with the refusal (ms).
 */
const REFUSED_FOR_GOOD = 1_000;
/** The first wait before opening again a session refused for no reason the pool sees (ms). */
const FIRST_REOPEN_DELAY = 5;
/** The longest such wait (ms). */
const MAX_REOPEN_DELAY = 200;
/**
 * How long after a session of the host ends a command waiting for one opens its own, and a
 * command waiting its turn gets it (ms): sshd frees a session only after it has read the
 * close and gone round its loop, so an open right behind the close is refused.
 */
const FREE_DELAY = 2;

/** The pool's own options, beside the connect() options its hosts share. */
export interface PoolOptions {
  /**
   * Commands run at once on one host's connection through `run()` and `runAll()`; more
   * wait their turn (within their timeout) rather than fail as the server refuses the
   * session. Default {@link DEFAULT_POOL_MAX_SESSIONS}; a positive integer or `Infinity`.
   *
   * A session the server refuses all the same (a ChannelOpenError while the connection is
   * up) is opened again, not failed: sshd frees a closed session only after going round
   * its loop, so an open that arrives with the close is refused ("no more sessions"), and a
   * server may allow fewer sessions than this. A command waits for a session of the host
   * to end when one opened before it still runs (however long that takes, within its
   * timeout), else tries again after a few ms (5, doubling up to 200). A host that has
   * refused every session for a second, none ending meanwhile, refuses for good as far as
   * the pool can tell: a command refused then fails with the refusal. Sessions opened
   * otherwise (`get()`'s connection, a `runAll()` function) are not counted.
   */
  readonly maxSessions?: number;
}

/** Options of {@link connectMany}: connect() options shared by every host, and the pool's own. */
export interface ConnectManyOptions extends Omit<ConnectOptions, "signal">, PoolOptions {
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
  /** The host as its entry gave it ("deploy@web1:2222"), for results and errors. */
  readonly host: string;
  /** The name to connect to ("web1"). */
  readonly name: string;
  /** The position of its entry in the list given (the first, for an exact duplicate). */
  readonly index: number;
  /** The entry's own fields (a string's host, port, user), those set to undefined left out. */
  readonly entry: Readonly<Record<string, unknown>>;
  readonly options: ConnectOptions;
  conn: SSHClientConnection | undefined;
  dead: boolean;
  /** Commands running on it through run() or runAll(). */
  sessions: number;
  /** Those waiting for one of them to end, first come first served. */
  readonly waiting: (() => void)[];
  /** The last number given to a session open of a command (they are numbered in order). */
  opens: number;
  /** The numbers of the commands whose session is open or being opened now. */
  readonly running: Set<number>;
  /** Commands whose session the server refused, waiting to open it again. */
  readonly refused: Refused[];
  /** When the host started refusing sessions, none ending since (`performance.now()`). */
  refusingSince: number | undefined;
  /** When it last refused one. */
  lastRefusal: number;
  /** The connect in progress, shared by every get() that waits for it. */
  pending: PendingConnect | undefined;
  /** The latest connect started: only its failure is the slot's `lastError`. */
  attempt: AbortController | undefined;
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

/** A command waiting to open its session again after the server refused it. */
interface Refused {
  /** The number of its refused open. */
  readonly open: number;
  /** Whether a command opened before it is still running (a session the server counts). */
  readonly explained: boolean;
  /** Wakes it: `true` when a session of the host ended, `false` when its reason went. */
  readonly wake: (ended: boolean) => void;
}

/**
 * A host entry's own fields (a name's host, port and user as {@link hostEntry} reads
 * them); fields set to undefined left out.
 */
function entryFields(entry: FanoutHost): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(hostEntry(entry))) if (v !== undefined) fields[k] = v;
  return fields;
}

/** Whether `entry` has every field of `query`, with the same value. */
function covers(entry: Readonly<Record<string, unknown>>, query: Record<string, unknown>): boolean {
  return Object.keys(query).every((k) => Object.hasOwn(entry, k) && Object.is(entry[k], query[k]));
}

/** Whether two entries' fields are the same (an exact duplicate). */
function sameEntry(a: Readonly<Record<string, unknown>>, b: Record<string, unknown>): boolean {
  return Object.keys(a).length === Object.keys(b).length && covers(a, b);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new SSHError("ERR_BY_APPLICATION", String(e));
}

/**
 * A set of connections, one per host, kept open for repeated use. A connection
 * that dropped (server restart, keepalive timeout) is replaced on its next use.
 * `await using` (or `close()`) closes them all. Made by {@link connectMany}.
 *
 * Each entry of the host list is a host of its own, even when entries share a name
 * (the same address on two ports, or as two users); only an exact duplicate entry
 * (every field the same) shares its first one's connection. `get()`, `run()` and
 * `lastError()` take a name, or an entry (or a part of one, such as `{ host, port }`)
 * to tell apart hosts that share a name: one that fits several is a `RangeError`.
 *
 * @example
 * ```ts
 * import { connectMany } from "@sshts/ssh";
 * await using pool = await connectMany(["web1", "web2"], { username: "ops" });
 * for await (const r of pool.runAll("uptime")) console.log(r.host, r.ok && r.stdout);
 * const again = await pool.run("web1", "df -h"); // same connection, no new handshake
 * ```
 *
 * @example Two hosts behind one address
 * ```ts
 * import { connectMany } from "@sshts/ssh";
 * await using pool = await connectMany([
 *   { host: "gw", port: 2201 },
 *   { host: "gw", port: 2202 },
 * ], { username: "ops" });
 * console.log(pool.hosts); // ["gw", "gw"]
 * await pool.run({ host: "gw", port: 2202 }, "uptime"); // pool.run("gw", …): a RangeError
 * ```
 */
export class SSHPool {
  readonly #slots: Slot[] = [];
  /** The slots of each name, for lookups. */
  readonly #byName = new Map<string, Slot[]>();
  readonly #hosts: readonly string[];
  readonly #shared: ConnectOptions;
  /** Connects not yet settled, for close() (one every caller gave up on included). */
  readonly #connecting = new Set<PendingConnect>();
  #closed = false;
  readonly #maxSessions: number;
  /** The close() in progress (or done): every call waits for the same one. */
  #closing: Promise<void> | undefined;

  /**
   * Use {@link connectMany}. A `TypeError` for an entry that is neither a name nor an
   * object with a `host` name.
   */
  constructor(
    hosts: Iterable<FanoutHost>,
    options: Omit<ConnectOptions, "signal"> & PoolOptions = {},
  ) {
    const { maxSessions = DEFAULT_POOL_MAX_SESSIONS, ...shared } = options;
    if (maxSessions !== Infinity && (!Number.isInteger(maxSessions) || maxSessions < 1)) {
      throw new RangeError(
        `maxSessions must be a positive integer or Infinity, not ${maxSessions}`,
      );
    }
    this.#maxSessions = maxSessions;
    this.#shared = { keepaliveInterval: DEFAULT_POOL_KEEPALIVE, ...shared };
    let index = 0;
    for (const entry of hostList(hosts)) {
      const target = hostEntry(entry);
      const fields = entryFields(target);
      const named = this.#byName.get(target.host) ?? [];
      if (!named.some((slot) => sameEntry(slot.entry, fields))) {
        const slot: Slot = {
          host: hostLabel(entry),
          name: target.host,
          index,
          entry: fields,
          options: withoutHost(target),
          conn: undefined,
          dead: true,
          sessions: 0,
          waiting: [],
          opens: 0,
          running: new Set(),
          refused: [],
          refusingSince: undefined,
          lastRefusal: 0,
          pending: undefined,
          attempt: undefined,
          lastError: undefined,
        };
        named.push(slot);
        this.#byName.set(target.host, named);
        this.#slots.push(slot);
      }
      index++;
    }
    this.#hosts = this.#slots.map((slot) => slot.host);
  }

  /**
   * The pool's hosts, in the order given: one per entry, so a name given with two
   * ports is there twice (an exact duplicate entry is there once).
   */
  get hosts(): readonly string[] {
    return this.#hosts;
  }

  /** Hosts with an open connection now. */
  get connected(): readonly string[] {
    return this.#slots.filter((slot) => !slot.dead).map((slot) => slot.host);
  }

  /**
   * The last connect error of a host, if its latest attempt failed (undefined for a
   * host not in the pool; a `RangeError` for a name several hosts share).
   */
  lastError(host: FanoutHost): Error | undefined {
    return this.#find(host)?.lastError;
  }

  /**
   * The slot of a name or an entry: the one whose entry has all of `host`'s fields, or
   * among several, the one with exactly those; undefined when none.
   */
  #find(host: FanoutHost): Slot | undefined {
    let query: Record<string, unknown> | undefined;
    try {
      query = entryFields(host);
    } catch {
      return undefined; // a malformed entry names no host of the pool
    }
    const name = query?.host;
    if (typeof name !== "string") return undefined;
    const fits = (this.#byName.get(name) ?? []).filter((slot) => covers(slot.entry, query!));
    if (fits.length <= 1) return fits[0];
    const exact = fits.find((slot) => sameEntry(slot.entry, query!));
    if (exact) return exact;
    throw new RangeError(
      `${name} names ${fits.length} of the pool's hosts (entries ${
        fits.map((slot) => slot.index).join(", ")
      }): pass the entry, or the port or username that tells them apart`,
    );
  }

  /**
   * The host's connection, opening (or reopening, if it dropped) one first.
   * Rejects with connect()'s error when it cannot, or with a `RangeError` for a host
   * not in the pool or a name several hosts share (pass the entry, e.g. `{ host, port }`).
   */
  get(host: FanoutHost, signal?: AbortSignal): Promise<SSHClientConnection> {
    let slot: Slot;
    try {
      slot = this.#slotOf(host);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#get(slot, signal);
  }

  #get(slot: Slot, signal: AbortSignal | undefined): Promise<SSHClientConnection> {
    if (this.#closed) return Promise.reject(new SSHError("ERR_BY_APPLICATION", "Pool closed"));
    if (slot.conn && !slot.dead && !isGone(slot.conn)) return Promise.resolve(slot.conn);
    if (signal?.aborted) return Promise.reject(signal.reason);
    // A connect every caller gave up on is on its way out: never join it.
    if (slot.pending?.abort.signal.aborted) slot.pending = undefined;
    const pending = slot.pending ??= this.#open(slot);
    pending.waiters++;
    return untilAborted(pending.promise, signal).finally(() => {
      // The last caller to give up stops the connect; the others keep waiting for it.
      // It leaves the slot at once: a get() from now on starts a new connect rather than
      // join this dying one (and fail with this caller's reason).
      if (--pending.waiters === 0 && signal?.aborted && slot.pending === pending) {
        slot.pending = undefined;
        slot.lastError = asError(signal.reason);
        pending.abort.abort(signal.reason);
      }
    });
  }

  #open(slot: Slot): PendingConnect {
    // connect() keeps listening to its signal for the connection's life: this one is
    // aborted only while connecting (every waiter gone, or the pool closing).
    const abort = new AbortController();
    slot.attempt = abort;
    const pending: PendingConnect = { promise: this.#connect(slot, abort), abort, waiters: 0 };
    this.#connecting.add(pending);
    const settled = () => void this.#connecting.delete(pending);
    pending.promise.then(settled, settled);
    return pending;
  }

  async #connect(slot: Slot, abort: AbortController): Promise<SSHClientConnection> {
    const { signal } = abort;
    // Settled: no longer the slot's connect in progress, so no waiter giving up from now
    // on aborts it (and with it the connection just made).
    const settle = () => {
      if (slot.pending?.abort === abort) slot.pending = undefined;
    };
    try {
      const conn = await connect(slot.name, {
        ...this.#shared,
        ...slot.options,
        signal,
      });
      settle();
      if (this.#closed || signal.aborted) {
        // The pool closed, or every caller gave up, as it connected: connect() has
        // aborted it (it follows its signal), and it is not kept.
        conn.abort();
        throw this.#closed
          ? new SSHError("ERR_BY_APPLICATION", "Pool closed")
          : asError(signal.reason);
      }
      slot.conn = conn;
      slot.dead = false;
      slot.lastError = undefined;
      slot.refusingSince = undefined; // a new connection: what the old one refused says nothing
      void conn.closed.then(() => {
        if (slot.conn === conn) slot.dead = true;
      });
      return conn;
    } catch (e) {
      settle();
      // A connect given up on while a newer one runs says nothing of the host now.
      if (slot.attempt === abort) slot.lastError = e as Error;
      throw e;
    }
  }

  /**
   * Runs a command on one host (reconnecting first if its connection dropped). `host`
   * as for {@link SSHPool.get}. At most `maxSessions` run at once on a host; more wait
   * their turn, and a session the server refuses is opened again (see
   * {@link PoolOptions.maxSessions}). `options.timeout` covers the reconnect and these
   * waits too: past it, a ProcessTimeoutError whether the command, its turn or the
   * connection was late; `options.signal` ends the waits with its reason.
   */
  async run(
    host: FanoutHost,
    command: string,
    options?: RunOptions,
  ): Promise<ProcessResult<string>> {
    const timeout = options?.timeout;
    const delay = timeout === undefined ? undefined : timeoutDelay(timeout, "timeout");
    // A reconnect waited out its connectTimeout (30 s by default) whatever the timeout.
    const deadline = connectDeadline(options?.signal, delay ?? 0);
    const t0 = performance.now();
    let conn: SSHClientConnection;
    let slot: Slot;
    try {
      slot = this.#slotOf(host);
      conn = await this.#get(slot, deadline.signal);
      // Its turn among the commands on this connection, within the same deadline.
      await this.#takeSession(slot, deadline.signal);
    } catch (e) {
      deadline.clear();
      if (deadline.timedOut) throw new ProcessTimeoutError(command, timeout!, "", "");
      throw e;
    }
    try {
      // The deadline goes on covering the waits before opening a refused session again;
      // each open gets what is left of it as the command's own timeout.
      return await this.#runSession(slot, conn, deadline.signal, () =>
        conn.run(command, {
          ...options,
          ...(delay === undefined ? {} : { timeout: timeLeft(delay, t0) }),
          encoding: "utf-8",
        }));
    } catch (e) {
      if (deadline.timedOut && e === deadline.signal?.reason) {
        // Past the deadline while waiting to open the session again.
        throw new ProcessTimeoutError(command, timeout!, "", "");
      }
      // Said with the timeout given, not what was left of it.
      if (delay === undefined || !(e instanceof ProcessTimeoutError)) throw e;
      throw wholeTimeout(e, timeout!);
    } finally {
      deadline.clear();
      this.#giveSession(slot);
    }
  }

  /**
   * Runs `run` (one command's `conn.run()` on `slot`'s connection `conn`), opening its
   * session again when the server refuses it (a ChannelOpenError) while the connection is
   * up: sshd counts a closed session against its MaxSessions until it has gone round its
   * loop, and a server may allow fewer sessions than `maxSessions`. It opens again
   *
   * - when a session of the host ends, if a command opened before it is still running
   *   (the server answers opens in order: that one is open, and the refusal is the
   *   server's limit): it waits its turn, however long that command runs;
   * - else after a short wait (5 ms, doubling up to 200 ms) or when a session ends, if
   *   sooner; but once the host has refused every session for {@link REFUSED_FOR_GOOD} ms
   *   with none ending meanwhile, it fails with the refusal.
   *
   * Rejects with `signal`'s reason if it aborts while waiting.
   */
  async #runSession<R>(
    slot: Slot,
    conn: SSHClientConnection,
    signal: AbortSignal | undefined,
    run: () => Promise<R>,
  ): Promise<R> {
    let wait = FIRST_REOPEN_DELAY;
    for (;;) {
      const open = ++slot.opens;
      slot.running.add(open);
      let result: R;
      try {
        result = await run();
      } catch (e) {
        // Refused, on a connection still up (else the error is the command's to see).
        const refused = e instanceof ChannelOpenError && slot.conn === conn && !isGone(conn);
        this.#sessionEnded(slot, open, !refused);
        if (!refused) throw e;
        const now = performance.now();
        // A refusal after a quiet while starts a new count.
        if (slot.refusingSince === undefined || now - slot.lastRefusal > REFUSED_FOR_GOOD) {
          slot.refusingSince = now;
        }
        slot.lastRefusal = now;
        let explained = this.#openedBefore(slot, open);
        for (;;) {
          if (
            !explained && slot.refusingSince !== undefined &&
            performance.now() - slot.refusingSince >= REFUSED_FOR_GOOD
          ) {
            throw e; // refused for good, as far as the pool can tell
          }
          const woken = await this.#waitToReopen(slot, open, explained, wait, signal);
          if (woken === "timer") wait = Math.min(wait * 2, MAX_REOPEN_DELAY);
          if (woken !== "unexplained") break;
          // What explained the refusal ended without a session ending: it was no session.
          explained = false;
        }
        continue;
      }
      this.#sessionEnded(slot, open, true);
      return result;
    }
  }

  /** Whether a command of `slot` that opened its session before open `open` still runs. */
  #openedBefore(slot: Slot, open: number): boolean {
    for (const n of slot.running) if (n < open) return true;
    return false;
  }

  /**
   * Open `open` of `slot` is over: with `ended`, a session ran (the host is not refusing
   * for good) and ended, and the first refused command waiting takes its place; either way,
   * a command whose refusal it explained no longer waits for it.
   */
  #sessionEnded(slot: Slot, open: number, ended: boolean): void {
    slot.running.delete(open);
    if (ended) {
      slot.refusingSince = undefined;
      slot.refused.shift()?.wake(true);
    }
    for (const r of [...slot.refused]) {
      if (r.explained && !this.#openedBefore(slot, r.open)) {
        slot.refused.splice(slot.refused.indexOf(r), 1);
        r.wake(false);
      }
    }
  }

  /**
   * Waits to open refused open `open` again: until a session of `slot` ends (then
   * {@link FREE_DELAY} more, for the server to free it: "ended"), or, `explained`, until
   * no command opened before it runs ("unexplained"), or else `wait` ms ("timer").
   * Rejects with `signal`'s reason if it aborts first.
   */
  #waitToReopen(
    slot: Slot,
    open: number,
    explained: boolean,
    wait: number,
    signal: AbortSignal | undefined,
  ): Promise<"ended" | "unexplained" | "timer"> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = slot.refused.indexOf(waiter);
        if (i >= 0) slot.refused.splice(i, 1);
      };
      const onAbort = () => {
        done();
        reject(signal!.reason);
      };
      const waiter: Refused = {
        open,
        explained,
        wake: (ended) => {
          done();
          if (!ended) return resolve("unexplained");
          // Still abortable while the server frees the session.
          signal?.addEventListener("abort", onAbort, { once: true });
          timer = setTimeout(() => {
            signal?.removeEventListener("abort", onAbort);
            resolve("ended");
          }, FREE_DELAY);
        },
      };
      slot.refused.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
      if (!explained) {
        timer = setTimeout(() => {
          done();
          resolve("timer");
        }, wait);
      }
    });
  }

  /**
   * Waits until `slot` runs fewer than `maxSessions` commands, and counts one more (give
   * it back with {@link #giveSession}). Rejects with `signal`'s reason if it aborts first.
   */
  #takeSession(slot: Slot, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (slot.sessions < this.#maxSessions) {
      slot.sessions++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      // A session given back passes straight to the first waiter (its count stays).
      const turn = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = slot.waiting.indexOf(turn);
        if (i >= 0) slot.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      slot.waiting.push(turn);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Gives back a session taken with {@link #takeSession}. The first command waiting its
   * turn gets it {@link FREE_DELAY} ms later, once the server can have freed it.
   */
  #giveSession(slot: Slot): void {
    if (slot.waiting.length === 0) {
      slot.sessions--;
      return;
    }
    setTimeout(() => {
      // (A waiter that gave up meanwhile has left the queue.)
      const next = slot.waiting.shift();
      if (next) next();
      else slot.sessions--;
    }, FREE_DELAY);
  }

  /** The slot of `host`; a `RangeError` for a host not in the pool or a shared name. */
  #slotOf(host: FanoutHost): Slot {
    if (this.#closed) throw new SSHError("ERR_BY_APPLICATION", "Pool closed");
    const slot = this.#find(host);
    if (!slot) throw new RangeError(`${hostLabel(host)} is not in the pool`);
    return slot;
  }

  /**
   * Runs a command (or a function) on every host, like runMany() but over the
   * pool's connections (left open afterwards). Yields results as they finish, one
   * per host: a result's `index` is its entry's position in the list the pool was
   * made with (an exact duplicate entry is run once, under its first position).
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
    checkCommandOrTask(commandOrTask);
    const work = async (slot: Slot, _i: number, batch: AbortSignal) => {
      const { host, index } = slot;
      const startedAt = Date.now();
      const t0 = performance.now();
      // A timer cleared when the host is done (AbortSignal.timeout's lives on to the end).
      const deadline = connectDeadline(batch, delay);
      const signal = deadline.signal!;
      let connectMs: number | undefined;
      const timing = () => ({ startedAt, connectMs, totalMs: performance.now() - t0 });
      try {
        const conn = await this.#get(slot, signal);
        // An open connection is handed out even to an aborted signal: the batch's abort
        // (or this host's deadline) must not call the function on it all the same.
        if (signal.aborted) throw signal.reason;
        connectMs = performance.now() - t0;
        await this.#takeSession(slot, signal);
        try {
          // The deadline ends the host even when a function ignores its signal.
          return await untilAborted(
            runOnHost(
              conn,
              commandOrTask,
              { host, index, signal },
              1,
              timing,
              maxOutput,
              undefined,
              // A refused session is opened again, as for run().
              (command, options) =>
                this.#runSession(slot, conn, signal, () => conn.run(command, options)),
            ),
            signal,
          );
        } finally {
          this.#giveSession(slot);
        }
      } catch (e) {
        const reason = signal.aborted ? signal.reason : e;
        // Only this host's own deadline is reported as one (a caller's
        // AbortSignal.timeout() is its reason, as it is).
        const error = deadline.timedOut
          ? new SSHError("ERR_TIMEOUT", `${host}: no result within ${timeout} ms`)
          : asError(reason);
        return { ok: false as const, host, index, error, attempts: 1, timing: timing() };
      } finally {
        deadline.clear();
      }
    };
    return fanOut(this.#slots, work, {
      concurrency: concurrencyLimit(options.concurrency),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  }

  /**
   * Closes every connection (waits for each to finish closing). A second call waits for
   * the same closing.
   */
  close(): Promise<void> {
    return this.#closing ??= this.#close();
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<unknown>[] = [];
    // A connect in progress is aborted, not waited for (up to its connectTimeout).
    for (const pending of this.#connecting) {
      pending.abort.abort(new SSHError("ERR_BY_APPLICATION", "Pool closed"));
      closing.push(pending.promise.then((c) => c.close(), () => {}).catch(() => {}));
    }
    for (const slot of this.#slots) {
      slot.pending = undefined;
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
 * `keepaliveInterval` says otherwise. Entries that share a name but differ in any
 * field (port, username, …) are hosts of their own; an exact duplicate is one host
 * (see {@link SSHPool}). Rejects with a `TypeError` for an entry that is neither a
 * name nor an object with a `host` name.
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
  const list = hostList(hosts);
  const pool = new SSHPool(list, shared);
  const work = async (entry: FanoutHost, index: number, batch: AbortSignal) => {
    const host = hostLabel(entry);
    const timing = { startedAt: Date.now(), connectMs: undefined, totalMs: 0 };
    try {
      // The entry itself: its own slot, even when other entries share its name.
      await pool.get(entry, batch);
      return { ok: true as const, host, index, value: undefined, attempts: 1, timing };
    } catch (e) {
      return { ok: false as const, host, index, error: e as Error, attempts: 1, timing };
    }
  };
  for await (
    const _ of fanOut(list, work, {
      concurrency: concurrencyLimit(concurrency),
      ...(signal ? { signal } : {}),
    })
  ) { /* results are in pool.connected / pool.lastError */ }
  return pool;
}
