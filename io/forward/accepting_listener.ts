/**
 * Pull-style remote forwarding (libssh2's `forward_listen` + `forward_accept`, Deno's
 * `for await (const conn of listener)`): the server listens for us, and the connections
 * it forwards wait in a bounded queue until the application accepts them.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { abortError } from "../engine/errors.ts";
import type { SSHListener } from "./listener.ts";
import type { SSHStreamConnection } from "./stream.ts";

/** Forwarded connections waiting to be accepted, by default (libssh2's queue_maxsize: 16). */
export const DEFAULT_ACCEPT_BACKLOG = 16;

/**
 * A remote listener whose connections are taken with {@link accept} or `for await`.
 *
 * @example
 * ```ts ignore
 * await using l = await conn.listenRemote({ listenPort: 8080 });
 * for await (const c of l) c.readable.pipeTo(c.writable); // echo every connection
 * ```
 */
export interface SSHAcceptingListener extends SSHListener, AsyncIterable<SSHStreamConnection> {
  /**
   * The next forwarded connection, waiting for one if none is queued. Rejects with an
   * SSHError (`ERR_CHANNEL`) once the listener is closed, or with the signal's reason.
   */
  accept(options?: { readonly signal?: AbortSignal }): Promise<SSHStreamConnection>;
  /** Connections forwarded and not accepted yet. */
  readonly pending: number;
}

interface Waiter {
  resolve(c: SSHStreamConnection): void;
  reject(e: unknown): void;
}

/**
 * Queues what a push-style listener hands over until it is accepted; beyond `backlog`
 * waiting, a new connection is closed at once (its peer sees it accepted, then ended).
 *
 * @example
 * ```ts ignore
 * const queue = new AcceptQueue(16);
 * const listener = await conn.startServer((c) => queue.push(c), { listenPort: 0 });
 * const accepting = queue.attach(listener);
 * ```
 */
export class AcceptQueue {
  readonly #backlog: number;
  readonly #queued: SSHStreamConnection[] = [];
  readonly #waiters: Waiter[] = [];
  #closed = false;

  /** At most `backlog` connections wait to be accepted. */
  constructor(backlog: number = DEFAULT_ACCEPT_BACKLOG) {
    if (!Number.isInteger(backlog) || backlog < 1) {
      throw new RangeError(`backlog must be a whole number of at least 1, not ${backlog}`);
    }
    this.#backlog = backlog;
  }

  /** Hands a connection to the next accept, or queues it; closes it when the queue is full. */
  push(c: SSHStreamConnection): void {
    const w = this.#waiters.shift();
    if (w) return w.resolve(c);
    if (this.#closed || this.#queued.length >= this.#backlog) return c.close();
    this.#queued.push(c);
  }

  /** Ends the queue: waiting accepts reject, queued connections are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of this.#queued.splice(0)) c.close();
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
  }

  /** The listener, with accept and async iteration over this queue (closed with it). */
  attach(listener: SSHListener): SSHAcceptingListener {
    void listener.closed.then(() => this.close(), () => this.close());
    // deno-lint-ignore no-this-alias
    const queue = this;
    const close = async () => {
      queue.close();
      await listener.close();
    };
    return {
      get host() {
        return listener.host;
      },
      get port() {
        return listener.port;
      },
      get path() {
        return listener.path;
      },
      get closed() {
        return listener.closed;
      },
      get pending() {
        return queue.#queued.length;
      },
      close,
      accept: (options = {}) => queue.#accept(options.signal),
      [Symbol.asyncIterator]: () => queue.#iterate(),
      [Symbol.asyncDispose]: close,
    };
  }

  /**
   * Connections in turn until the listener closes. `return()` (a `break`, or a caller that
   * gave up on a pending `next()`) withdraws the pending accept at once, so no connection
   * goes to a `next()` nobody reads.
   */
  #iterate(): AsyncIterableIterator<SSHStreamConnection> {
    const stop = new AbortController();
    const done = { done: true, value: undefined } as const;
    const it: AsyncIterableIterator<SSHStreamConnection> = {
      next: async () => {
        if (stop.signal.aborted) return done;
        try {
          return { done: false, value: await this.#accept(stop.signal) };
        } catch (e) {
          if (this.#closed || stop.signal.aborted) return done; // closed, or returned
          throw e;
        }
      },
      return: () => {
        stop.abort();
        return Promise.resolve(done);
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  #accept(signal: AbortSignal | undefined): Promise<SSHStreamConnection> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    const c = this.#queued.shift();
    if (c) return Promise.resolve(c);
    if (this.#closed) return Promise.reject(closedError());
    return new Promise<SSHStreamConnection>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(abortError(signal!));
      };
      const w: Waiter = {
        resolve: (conn) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(conn);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.push(w);
    });
  }
}

function closedError(): SSHError {
  return new SSHError("ERR_CHANNEL", "The listener is closed: no more connections to accept");
}
