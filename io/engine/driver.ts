/**
 * Drives a sans-IO engine over a {@link ByteSocket}: feeds it the bytes that
 * arrive, writes what it produces, runs its timers, and hands its events to a
 * handler. The only place where the engine meets real time and real sockets.
 *
 * @module
 */

import type { ByteSocket } from "../runtime/socket.ts";
import { WRITE_COALESCE_LIMIT } from "../limits.ts";
import { concatBytes } from "../../core/wire.ts";

/** What the driver needs from an engine (ClientConnection or ServerConnection). */
export interface DrivenEngine<E> {
  receiveData(data: Uint8Array): void;
  receiveEof(): void;
  takeOutgoing(): Uint8Array[];
  pollEvent(): E | undefined;
  nextDeadline(): number | undefined;
  handleTimeout(now: number): void;
  readonly closed: boolean;
}

/** Pumps bytes and events between an engine and a socket. */
export class EngineDriver<E> {
  readonly #engine: DrivenEngine<E>;
  readonly #socket: ByteSocket;
  readonly #onEvent: (e: E) => void;
  readonly #onClosed: (error?: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #drainWaiters: (() => void)[] = [];
  #socketFull = false;
  #reading = true;
  #closed = false;
  #dispatching = false;
  #socketError: Error | undefined;
  #ended = false;

  /**
   * Starts driving at once. `onEvent` receives each engine event; `onClosed` is
   * called once when the socket is gone.
   */
  constructor(
    engine: DrivenEngine<E>,
    socket: ByteSocket,
    onEvent: (e: E) => void,
    onClosed: (error?: Error) => void,
  ) {
    this.#engine = engine;
    this.#socket = socket;
    this.#onEvent = onEvent;
    this.#onClosed = onClosed;
    socket.setHandlers({
      data: (chunk) => {
        engine.receiveData(chunk);
        this.pump();
      },
      end: () => {
        engine.receiveEof();
        this.pump();
      },
      error: (e) => {
        this.#socketError = e;
      },
      drain: () => {
        this.#socketFull = false;
        const w = this.#drainWaiters;
        this.#drainWaiters = [];
        for (const f of w) f();
      },
      close: () => this.#finish(),
    });
    engine.handleTimeout(now());
    this.pump();
  }

  /** True while the socket's write buffer is over its mark. */
  get socketFull(): boolean {
    return this.#socketFull;
  }

  /** Resolves when the socket can take more (immediately if it can now). */
  whenDrained(): Promise<void> {
    if (!this.#socketFull || this.#closed) return Promise.resolve();
    return new Promise((r) => this.#drainWaiters.push(r));
  }

  /**
   * What the connection waits on now (libssh2's `block_directions`): `inbound`
   * while it is open and reading from the socket (not paused for a lagging
   * application), `outbound` while the socket's write buffer is full.
   */
  get blockDirections(): { readonly inbound: boolean; readonly outbound: boolean } {
    return {
      inbound: !this.#closed && !this.#engine.closed && this.#reading,
      outbound: !this.#closed && this.#socketFull,
    };
  }

  /** Pauses or resumes reading from the socket (used when the application lags). */
  setReading(on: boolean): void {
    this.#reading = on;
    if (on) this.#socket.resume();
    else this.#socket.pause();
  }

  /**
   * Flushes output, dispatches events, and re-arms the timer. Call after every
   * command given to the engine. Re-entrant calls are folded into the running one.
   */
  pump(): void {
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      for (;;) {
        this.#flush();
        const e = this.#engine.pollEvent();
        if (e === undefined) break;
        this.#onEvent(e);
      }
      this.#flush();
    } finally {
      this.#dispatching = false;
    }
    if (this.#engine.closed) {
      // Let the DISCONNECT we may have queued reach the peer, then close (once: ending an
      // ended socket makes Node build an error).
      if (!this.#ended) {
        this.#ended = true;
        this.#socket.end();
      }
      this.#clearTimer();
      return;
    }
    this.#armTimer();
  }

  /** Closes the socket now. */
  destroy(): void {
    this.#socket.destroy();
    this.#finish();
  }

  #flush(): void {
    const chunks = this.#engine.takeOutgoing();
    if (chunks.length === 0 || this.#closed) return;
    let ok = true;
    if (chunks.length === 1) {
      ok = this.#socket.write(chunks[0]!);
    } else {
      // Merge runs of small packets so one syscall carries many.
      let batch: Uint8Array[] = [];
      let size = 0;
      const emit = () => {
        if (batch.length === 0) return;
        ok = this.#socket.write(batch.length === 1 ? batch[0]! : concatBytes(...batch)) && ok;
        batch = [];
        size = 0;
      };
      for (const c of chunks) {
        // Big packets go out as they are: merging them would only copy.
        if (c.length >= WRITE_COALESCE_LIMIT / 4) {
          emit();
          ok = this.#socket.write(c) && ok;
          continue;
        }
        if (size + c.length > WRITE_COALESCE_LIMIT && batch.length) emit();
        batch.push(c);
        size += c.length;
      }
      emit();
    }
    if (!ok) this.#socketFull = true;
  }

  #armTimer(): void {
    const d = this.#engine.nextDeadline();
    if (d === undefined) return this.#clearTimer();
    if (d === this.#timerAt && this.#timer !== undefined) return;
    this.#clearTimer();
    this.#timerAt = d;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#engine.handleTimeout(now());
      this.pump();
    }, Math.max(0, d - now()));
    // Timers must not keep a process alive on their own (Node/Bun); Deno has unrefTimer.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearTimer();
    if (!this.#engine.closed) {
      this.#engine.receiveEof();
    }
    // Deliver the final events (the disconnect) before reporting the close.
    for (let e; (e = this.#engine.pollEvent()) !== undefined;) this.#onEvent(e);
    const w = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const f of w) f();
    this.#onClosed(this.#socketError);
  }
}

function now(): number {
  return performance.now();
}
