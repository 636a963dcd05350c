/**
 * Drives a sans-IO engine over a {@link ByteSocket}: feeds it the bytes that
 * arrive, writes what it produces, runs its timers, and hands its events to a
 * handler. The only place where the engine meets real time and real sockets.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { WRITE_COALESCE_LIMIT } from "../limits.ts";
import { concatBytes } from "../../core/wire.ts";
import type { PacketOpener, PacketSealer } from "../../core/crypto/types.ts";
import { MAX_PACKET_LENGTH } from "../../core/limits.ts";
import { freeOwned, releaseTransient } from "../../core/transient_buffers.ts";
import {
  type DeferredOpener,
  type DeferredSealer,
  isDeferredOpener,
  isDeferredSealer,
} from "../crypto/deferred.ts";
import { MAX_TIMER_MS } from "../runtime/timer.ts";
import type { TransportEvent } from "../../core/transport/transport.ts";

/**
 * Packets a deferred opener (WebCrypto) works on at once: WebCrypto AES-GCM on Deno
 * gains up to 8–16 operations in flight (250 MB/s for one, 600–700 for 16, 32 KiB
 * packets); more only holds memory.
 */
const OPEN_IN_FLIGHT = 16;
/**
 * Bytes of sealed-but-pending or queued output above which channel writers wait
 * (as for a full socket): bounds the memory a fast writer can queue behind WebCrypto.
 */
const OUT_QUEUE_HIGH_WATER = 1024 * 1024;
/**
 * Bytes written past a full socket (before its drain) above which we stop reading from
 * it until it drains, as OpenSSH reads no packets while much output waits: a peer that
 * never reads but keeps sending what we answer (global requests with want_reply, window
 * adjusts, refused opens) made us queue every answer. Channel writers stop at a full
 * socket after one burst of at most WRITE_BURST_BYTES (io/engine/channel.ts), so
 * a peer that reads never meets this, and two of us writing bulk both ways never both
 * stop reading.
 */
export const READ_PAUSE_BYTES = 4 * 1024 * 1024;

/** The transport's view the driver needs for deferred (asynchronous) crypto. */
export interface DrivenTransport {
  readonly sealer: PacketSealer | null;
  readonly opener: PacketOpener | null;
  takeBufferedInput(): Uint8Array;
}

/** The engine's event for a key exchange waiting on asynchronous crypto. */
type KexWaitEvent = Extract<TransportEvent, { type: "kexWait" }>;

function isKexWait(e: unknown): e is KexWaitEvent {
  return (e as { type?: unknown }).type === "kexWait";
}

/** One outgoing chunk, and the pending seal it waits for (deferred sealers only). */
interface OutChunk {
  readonly data: Uint8Array;
  readonly ready: Promise<void> | undefined;
}

/** One incoming packet framed ahead of the engine for a deferred opener. */
interface InPacket {
  readonly raw: Uint8Array;
  readonly ready: Promise<void> | undefined;
}

/** What the driver needs from an engine (ClientConnection or ServerConnection). */
export interface DrivenEngine<E> {
  /** Continues a key exchange after its `kexWait` event's `ready` settled (engines with `asyncKex`). */
  resumeKex?(id: number): void;
  receiveData(data: Uint8Array): void;
  receiveEof(cause?: Error): void;
  takeOutgoing(): Uint8Array[];
  /** How many bytes `takeOutgoing` would return (0: nothing); absent: unknown. */
  readonly outgoingBytes?: number;
  pollEvent(): E | undefined;
  nextDeadline(): number | undefined;
  handleTimeout(now: number): void;
  readonly closed: boolean;
  /** The transport, when the engine exposes it: needed for deferred crypto only. */
  readonly transport?: DrivenTransport;
}

/**
 * Output of at least this many bytes is written when produced rather than at the end of the
 * turn: a bulk writer's packets then reach the socket while it seals the next ones.
 */
const FLUSH_NOW_BYTES = 16 * 1024;

/** The deferred-opening buffer before its first use (one shared empty array). */
const NO_BYTES = new Uint8Array(0);

/** Pumps bytes and events between an engine and a socket. */
export class EngineDriver<E> {
  readonly #engine: DrivenEngine<E>;
  readonly #socket: ByteSocket;
  readonly #onEvent: (e: E) => void;
  readonly #onClosed: (error?: Error) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #drainWaiters: (() => void)[] | undefined;
  #socketFull = false;
  /** Bytes written since the socket said it was full (reset by its drain). */
  #pastFull = 0;
  /** Reading stopped until the socket drains (see READ_PAUSE_BYTES). */
  #backlogPaused = false;
  #reading = true;
  #closed = false;
  #dispatching = false;
  #flushScheduled = false;
  #socketError: Error | undefined;
  // Deferred sealing: packets left pending by the sealer (in seal order) and the
  // ordered output queue that waits for them.
  #sealer: DeferredSealer | null = null;
  #pendingSeals: { packet: Uint8Array; done: Promise<void> }[] = [];
  #outQueue: OutChunk[] = [];
  #outQueued = 0;
  #outRunning = false;
  #endAfterQueue = false;
  // Deferred opening: the opener being fed, bytes not framed yet, packets in flight.
  #opener: DeferredOpener | null = null;
  #rxBuf: Uint8Array = NO_BYTES;
  #rxStart = 0;
  #rxEnd = 0;
  #rxInFlight: InPacket[] = [];
  #rxDelivering = false;
  #rxEof = false;
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
    socket.setHandlers(new EngineDriver.#SocketEvents(this));
    engine.handleTimeout(now());
    this.pump();
  }

  /**
   * The socket's handlers: one small object per connection whose methods reach this driver,
   * rather than five closures (a fan-out holds thousands of idle connections).
   */
  static readonly #SocketEvents = class<T> implements SocketHandlers {
    readonly #d: EngineDriver<T>;
    constructor(driver: EngineDriver<T>) {
      this.#d = driver;
    }
    data(chunk: Uint8Array): void {
      this.#d.#socketData(chunk);
    }
    end(): void {
      this.#d.#socketEnd();
    }
    error(e: Error): void {
      this.#d.#socketError = e;
    }
    drain(): void {
      this.#d.#socketDrain();
    }
    close(): void {
      this.#d.#finish();
    }
  };

  #socketData(chunk: Uint8Array): void {
    if (this.#opener !== null || this.#watchOpener()) {
      this.#rxPush(chunk);
      return;
    }
    this.#engine.receiveData(chunk);
    this.pump();
  }

  #socketEnd(): void {
    if (this.#opener !== null) {
      this.#rxEof = true;
      this.#rxDeliver();
      return;
    }
    // An error the socket reported before its end (a proxy command's failure) is why.
    this.#engine.receiveEof(this.#socketError);
    this.pump();
  }

  #socketDrain(): void {
    this.#socketFull = false;
    this.#pastFull = 0;
    if (this.#backlogPaused) {
      this.#backlogPaused = false;
      if (this.#reading) this.#socket.resume();
    }
    if (!this.socketFull) this.#wakeDrainWaiters();
  }

  /** True while the socket's write buffer is over its mark. */
  get socketFull(): boolean {
    return this.#socketFull || this.#outQueued > OUT_QUEUE_HIGH_WATER;
  }

  /** Resolves when the socket can take more (immediately if it can now). */
  whenDrained(): Promise<void> {
    if (!this.socketFull || this.#closed) return Promise.resolve();
    return new Promise((r) => (this.#drainWaiters ??= []).push(r));
  }

  /**
   * What the connection waits on now (libssh2's `block_directions`): `inbound`
   * while it is open and reading from the socket (not paused for a lagging
   * application), `outbound` while the socket's write buffer is full.
   */
  get blockDirections(): { readonly inbound: boolean; readonly outbound: boolean } {
    return {
      inbound: !this.#closed && !this.#engine.closed && this.#reading,
      outbound: !this.#closed && this.socketFull,
    };
  }

  /** Pauses or resumes reading from the socket (used when the application lags). */
  setReading(on: boolean): void {
    this.#reading = on;
    if (on && !this.#backlogPaused) this.#socket.resume();
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
        const e = this.#engine.pollEvent();
        if (e === undefined) break;
        if (isKexWait(e)) this.#resumeWhenReady(e);
        else this.#onEvent(e);
      }
    } catch (e) {
      // A handler's bug (peer input becomes a disconnect inside the engine): it ends this
      // connection, not the process and every other connection in it, as it would thrown
      // out of a socket callback.
      this.#socketError ??= e instanceof Error ? e : new Error(String(e));
      this.destroy();
      return;
    } finally {
      this.#dispatching = false;
    }
    if (this.#engine.closed) {
      this.#flush();
      // Let the DISCONNECT we may have queued reach the peer, then close (once: ending an
      // ended socket makes Node build an error).
      if (this.#outQueue.length) this.#endAfterQueue = true;
      else this.#endSocket();
      this.#clearTimer();
      return;
    }
    // Bulk data goes out at once (sealing the next packets overlaps with the kernel and the
    // peer taking these); small messages wait for the end of the turn. `outgoingBytes` only
    // decides "at once": the end-of-turn flush runs whatever it reports.
    const pending = this.#engine.outgoingBytes;
    if (pending !== undefined && pending >= FLUSH_NOW_BYTES) this.#flush();
    else this.#scheduleFlush();
    this.#armTimer();
  }

  /** Resumes the key exchange once its asynchronous work (WebCrypto's ML-KEM) is done. */
  #resumeWhenReady(e: KexWaitEvent): void {
    const engine = this.#engine;
    if (engine.resumeKex === undefined) {
      throw new Error("The engine waits for its key exchange but cannot be resumed (resumeKex)");
    }
    // `ready` never rejects (core/pending.ts); a throw here would be the engine's bug.
    Promise.resolve(e.ready).then(() => {
      if (this.#closed) return;
      engine.resumeKex!(e.id);
      // A rekey's NEWKEYS may have come in during the wait: packets framed ahead for the
      // old deferred opener are the new one's.
      if (!engine.closed && this.#opener !== null && engine.transport?.opener !== this.#opener) {
        this.#rxReroute();
      }
      this.pump();
    }).catch((err) => {
      this.#socketError ??= err instanceof Error ? err : new Error(String(err));
      this.destroy();
    });
  }

  /**
   * Writes what the engine has to send once the socket events at hand and the code they
   * set off are done (`setImmediate`: before the event loop waits again, so no latency is
   * added): what one turn sends goes out in one socket write. A server answering `exec`
   * with its reply, EOF, exit status and close made four writes of it, and a client's reply
   * to the channel's close and its DISCONNECT two, each write a system call that also wakes
   * the peer (about 0.1 ms on loopback here).
   */
  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#flush();
    });
  }

  /** Closes the socket now. */
  destroy(): void {
    this.#socket.destroy();
    this.#finish();
  }

  #flush(): void {
    this.#watchSealer();
    const chunks = this.#engine.takeOutgoing();
    if (chunks.length === 0 || this.#closed) return;
    if (this.#outQueue.length || this.#pendingSeals.length) return this.#enqueue(chunks);
    this.#writeChunks(chunks);
  }

  /** Writes chunks now, merging runs of small ones. */
  #writeChunks(chunks: Uint8Array[]): void {
    if (this.#socketFull) {
      for (const c of chunks) this.#pastFull += c.length;
      if (this.#pastFull > READ_PAUSE_BYTES && !this.#backlogPaused) {
        this.#backlogPaused = true;
        this.#socket.pause();
      }
    }
    let ok = true;
    if (chunks.length === 1) {
      ok = this.#socket.write(chunks[0]!);
    } else if (this.#socket.writev) {
      ok = this.#socket.writev(chunks);
    } else {
      // Merge runs of small packets so one syscall carries many.
      let batch: Uint8Array[] = [];
      let size = 0;
      const emit = () => {
        if (batch.length === 0) return;
        if (batch.length === 1) ok = this.#socket.write(batch[0]!) && ok;
        else {
          ok = this.#socket.write(concatBytes(...batch)) && ok;
          // Copied: transient packets (sealed in place) go back now, not at the next GC.
          for (const c of batch) releaseTransient(c);
        }
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

  // ---- deferred sealing (see io/crypto/deferred.ts) ----

  /** Attaches to the engine's sealer when it is a deferred one (once per sealer). */
  #watchSealer(): void {
    const s = this.#engine.transport?.sealer;
    if (s === this.#sealer || !isDeferredSealer(s)) return;
    this.#sealer = s;
    s.attachDeferred((packet, done) => {
      // Never unhandled: the queue awaits it, and a failure drops the connection there.
      done.catch(() => {});
      this.#pendingSeals.push({ packet, done });
    });
  }

  /** Queues chunks behind pending seals; they go out in order as the seals finish. */
  #enqueue(chunks: Uint8Array[]): void {
    const pending = this.#pendingSeals;
    for (const data of chunks) {
      // Pending seals come in the order of the chunks; search all the same, so a chunk
      // that holds plaintext is never taken for a finished one.
      let ready: Promise<void> | undefined;
      const i = pending.findIndex((p) =>
        p.packet.buffer === data.buffer && p.packet.byteOffset === data.byteOffset
      );
      if (i >= 0) {
        ready = pending[i]!.done;
        pending.splice(0, i + 1);
      }
      this.#outQueue.push({ data, ready });
      this.#outQueued += data.length;
    }
    if (!this.#outRunning) void this.#runQueue();
  }

  async #runQueue(): Promise<void> {
    this.#outRunning = true;
    try {
      while (this.#outQueue.length && !this.#closed) {
        const head = this.#outQueue[0]!;
        if (head.ready) await head.ready;
        if (this.#closed) return;
        // Everything ready from here on goes out in one batch.
        const batch: Uint8Array[] = [];
        let i = 0;
        for (; i < this.#outQueue.length; i++) {
          const c = this.#outQueue[i]!;
          if (i > 0 && c.ready) break;
          batch.push(c.data);
          this.#outQueued -= c.data.length;
        }
        this.#outQueue.splice(0, i);
        this.#writeChunks(batch);
      }
    } catch (e) {
      // A seal that failed: the packet holds plaintext and must not go out.
      this.#socketError ??= e instanceof Error ? e : new Error(String(e));
      this.#outQueue = [];
      this.#outQueued = 0;
      this.destroy();
      return;
    } finally {
      this.#outRunning = false;
    }
    if (this.#endAfterQueue && !this.#closed) {
      this.#endAfterQueue = false;
      this.#endSocket();
    }
    if (!this.socketFull) this.#wakeDrainWaiters();
  }

  /** Ends the socket once: ending an ended socket makes Node build an error. */
  #endSocket(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.end();
  }

  #wakeDrainWaiters(): void {
    const w = this.#drainWaiters;
    if (w === undefined) return;
    this.#drainWaiters = undefined;
    for (const f of w) f();
  }

  // ---- deferred opening ----

  /**
   * Starts framing input for the engine's opener when it is a deferred one; true when
   * it does. Bytes the engine holds of a packet not yet complete come back to us first.
   */
  #watchOpener(): boolean {
    const t = this.#engine.transport;
    const o = t?.opener;
    if (!t || !isDeferredOpener(o) || this.#engine.closed) return false;
    this.#opener = o;
    const rest = t.takeBufferedInput();
    if (rest.length) this.#rxAppend(rest);
    return true;
  }

  #rxAppend(data: Uint8Array): void {
    const live = this.#rxEnd - this.#rxStart;
    if (this.#rxEnd + data.length > this.#rxBuf.length) {
      if (live + data.length <= this.#rxBuf.length) {
        this.#rxBuf.copyWithin(0, this.#rxStart, this.#rxEnd);
      } else {
        let cap = Math.max(this.#rxBuf.length, 64 * 1024);
        while (cap < live + data.length) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.#rxBuf.subarray(this.#rxStart, this.#rxEnd));
        this.#rxBuf = next;
      }
      this.#rxStart = 0;
      this.#rxEnd = live;
    }
    this.#rxBuf.set(data, this.#rxEnd);
    this.#rxEnd += data.length;
  }

  #rxPush(chunk: Uint8Array): void {
    this.#rxAppend(chunk);
    this.#rxFrame();
    this.#rxDeliver();
  }

  /** Frames complete packets and starts opening them, up to OPEN_IN_FLIGHT at once. */
  #rxFrame(): void {
    const o = this.#opener;
    if (o === null) return;
    const buf = this.#rxBuf;
    while (this.#rxInFlight.length < OPEN_IN_FLIGHT) {
      const avail = this.#rxEnd - this.#rxStart;
      if (avail < 4) return;
      const s = this.#rxStart;
      const len = ((buf[s]! << 24) | (buf[s + 1]! << 16) | (buf[s + 2]! << 8) | buf[s + 3]!) >>> 0;
      if (len < 5 || len > MAX_PACKET_LENGTH || len % o.blockSize !== 0) {
        // Not a packet we can open: the engine reads it and disconnects with the reason.
        const raw = buf.slice(s, this.#rxEnd);
        this.#rxStart = this.#rxEnd = 0;
        this.#rxInFlight.push({ raw, ready: undefined });
        return;
      }
      const total = 4 + len + o.tagLength;
      if (avail < total) return;
      const raw = buf.slice(s, s + total);
      this.#rxStart += total;
      if (this.#rxStart === this.#rxEnd) this.#rxStart = this.#rxEnd = 0;
      this.#rxInFlight.push({ raw, ready: o.prepare(raw) });
    }
  }

  /** Feeds opened packets to the engine in order; re-routes input when the keys change. */
  #rxDeliver(): void {
    if (this.#rxDelivering) return;
    this.#rxDelivering = true;
    void this.#rxDeliverLoop();
  }

  /**
   * The delivery loop. `#rxDelivering` is cleared inside it, in the same turn as its last
   * look at the queue: cleared any later (a `.finally()` on the promise), input arriving in
   * between would be framed but find the flag still set, and wait for more input that the
   * peer, waiting for our answer, never sends.
   */
  async #rxDeliverLoop(): Promise<void> {
    const engine = this.#engine;
    try {
      for (;;) {
        const head = this.#rxInFlight[0];
        if (head === undefined) break;
        if (head.ready) await head.ready;
        if (this.#closed || engine.closed) return;
        this.#rxInFlight.shift();
        engine.receiveData(head.raw);
        freeOwned(head.raw); // the engine copied it: its memory goes back at once

        if (!engine.closed && engine.transport?.opener !== this.#opener) this.#rxReroute();
        this.pump();
        this.#rxFrame();
      }
      if (this.#rxEof && !this.#closed) {
        this.#rxEof = false;
        engine.receiveEof(this.#socketError);
        this.pump();
      }
    } catch (e) {
      // Not peer input (the engine turns that into a disconnect): a bug; never stall on it.
      this.#socketError ??= e instanceof Error ? e : new Error(String(e));
      this.destroy();
    } finally {
      this.#rxDelivering = false;
    }
  }

  /**
   * The keys changed (NEWKEYS): packets framed for the old opener were not its to open.
   * Their bytes and the rest go to the new opener's pipeline, or straight to the engine.
   */
  #rxReroute(): void {
    const raws = this.#rxInFlight.map((p) => p.raw);
    raws.push(this.#rxBuf.slice(this.#rxStart, this.#rxEnd));
    this.#rxInFlight = [];
    this.#rxStart = this.#rxEnd = 0;
    this.#opener = null;
    const rest = concatBytes(...raws);
    if (this.#watchOpener()) {
      this.#rxAppend(rest);
      this.#rxFrame();
    } else if (rest.length) {
      this.#engine.receiveData(rest);
      if (this.#rxEof) {
        this.#rxEof = false;
        this.#engine.receiveEof(this.#socketError);
      }
    }
  }

  #armTimer(): void {
    const d = this.#engine.nextDeadline();
    if (d === undefined) return this.#clearTimer();
    if (d === this.#timerAt && this.#timer !== undefined) return;
    this.#clearTimer();
    this.#timerAt = d;
    // A deadline further off than a timer can wait (2^31 - 1 ms) is looked at again then.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#engine.handleTimeout(now());
      this.pump();
    }, Math.min(MAX_TIMER_MS, Math.max(0, d - now())));
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
    this.#wakeDrainWaiters();
    this.#onClosed(this.#socketError);
  }
}

function now(): number {
  return performance.now();
}
