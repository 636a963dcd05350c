/**
 * One SSH channel as Web Streams: readable stdout/stderr with flow control tied to
 * what the application actually reads, and a writable side that waits for the
 * peer's window and the socket's buffer. Used by processes, forwarded
 * connections and SFTP alike.
 *
 * @module
 */

import type { ConnectionEvent } from "../../core/connection/events.ts";
import {
  freeOwned,
  isTransient,
  markTransient,
  releaseTransient,
} from "../../core/transient_buffers.ts";
import { ChannelClosedError } from "./errors.ts";
import { currentRuntime } from "../runtime/env.ts";

/**
 * Bun answers a waiting BYOB read from `enqueue()` of a packet's own buffer (data the engine
 * only lent is still copied once, into the reader's buffer) more cheaply than from our copy into its
 * `byobRequest` and `respond()`: each first `byobRequest` after a `respond()` costs it about
 * 7 µs (the request and view it makes). 512 MiB downloads in one process, after the first:
 * 1.17–1.36 s of CPU per GiB with enqueue against 1.30–1.57 with our copy, at the same RSS (a
 * fresh process's first download gains little: `bench/run.ts` measured 1.56–1.92 against
 * 1.59–2.06). On Node and Deno the copy wins by far (enqueued packet buffers wait for the
 * garbage collector: Node 2.3–2.9 against 1.7–1.8 s/GiB, and 77 MiB more RSS), so there the
 * packet's buffer is freed at once instead.
 */
export const ENQUEUE_FILLS_BYOB: boolean = currentRuntime() === "bun";

/**
 * Reads the next chunk of a channel's readable ({@link ChannelIO.readable}) for a consumer
 * that frees each chunk it consumed whole (`releaseTransient`): a byte stream hands each
 * chunk's buffer to its reader alone, so the chunk is marked as the reader's to free.
 * Only for readers of a `ChannelIO` stream, whose chunks nobody else holds. (The result
 * type is spelled out: `ReadableStreamReadResult` is DOM's alone, and the package's
 * declarations must compile without DOM's lib.)
 */
export async function readOwned<T extends Uint8Array>(
  reader: ReadableStreamDefaultReader<T>,
): Promise<{ done: false; value: T } | { done: true; value?: T | undefined }> {
  const r = await reader.read();
  if (!r.done) markTransient(r.value);
  return r;
}

/**
 * Takes a stream's data as it arrives ({@link ChannelIO.setSink}). `lent`: `data` is a view
 * of the connection's receive buffer, valid only during the call; otherwise it is the
 * sink's to keep (a transient buffer: free it with `releaseTransient` once copied whole).
 */
export type ChannelSink = (data: Uint8Array, lent: boolean) => void;

/** The engine operations a channel needs (both client and server engines have them). */
export interface ChannelEngine {
  sendData(channelId: number, data: Uint8Array, stream?: number): number;
  writableBytes(channelId: number): number;
  consume(channelId: number, n: number): void;
  setWindowSize(channelId: number, size: number): void;
  sendEof(channelId: number): void;
  closeChannel(channelId: number): void;
  holdClose?(channelId: number): void;
  sendChannelRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data?: Uint8Array,
  ): void;
  replyChannelRequest(channelId: number, success: boolean): void;
  readonly closed: boolean;
}

/** The driver operations a channel needs. */
export interface ChannelPump {
  pump(): void;
  whenDrained(): Promise<void>;
  readonly socketFull: boolean;
}

/**
 * Called for each request the peer sends on the channel; the return value is the reply. A
 * promise defers the reply (and every later reply on the channel, which go out in order).
 */
export type ChannelRequestHandler = (
  request: string,
  data: Uint8Array,
) => boolean | Promise<boolean>;

/**
 * Most bytes one channel write hands the engine before it checks the socket again: what
 * a writer can add to a full socket's backlog.
 */
export const WRITE_BURST_BYTES = 1024 * 1024;

/**
 * Data packets shorter than this, arriving while the reader is behind (its stream's queue
 * holds data), are copied together into one chunk of up to {@link GATHER_BYTES} instead of
 * queued one by one: a queued chunk costs about 150–200 bytes besides its data, so a peer
 * sending one-byte packets made a 2 MiB window hold some 300 MiB.
 */
const SMALL_PACKET_BYTES = 2048;
/** The size of the chunk small packets are gathered into (see {@link SMALL_PACKET_BYTES}). */
const GATHER_BYTES = 16 * 1024;

/**
 * A channel's streams and state.
 *
 * @example
 * ```ts ignore
 * const ch = await conn.openSession();
 * await ch.request("exec", encodeStringArg("date"));
 * console.log(await new Response(ch.readable(0)).text());
 * ```
 */
export class ChannelIO {
  /** Our channel number (the engine's local id). */
  readonly id: number;
  readonly #engine: ChannelEngine;
  readonly #pump: ChannelPump;
  readonly #windowSize: number;
  readonly #controllers: (ReadableByteStreamController | undefined)[] = [];
  #readablesClosed = false;
  readonly #enqueued: number[] = [];
  /** Per stream: small packets gathered behind the queue, not yet enqueued (and their length). */
  readonly #gathered: (Uint8Array | undefined)[] = [];
  readonly #gatheredBytes: number[] = [];
  readonly #reported: number[] = [];
  /** Bytes copied into each stream's waiting BYOB view and not yet handed over (respond). */
  readonly #filled: number[] = [];
  #fillFlushQueued = false;
  readonly #streams: ReadableStream<Uint8Array<ArrayBuffer>>[] = [];
  readonly #sinks: (ChannelSink | undefined)[] = [];
  #writeWaiters: (() => void)[] = [];
  #writeTail: Promise<void> = Promise.resolve();
  #writesQueued = 0;
  /** Bytes handed to write() that the engine has not taken yet. */
  #pendingBytes = 0;
  #writeHigh = 0;
  #writeLow = 0;
  #lowWaiters: (() => void)[] = [];
  #extra: Record<string, unknown> = {};
  #eofSent = false;
  /** sendEof() waits for the writes queued before it: later ones are refused. */
  #eofQueued = false;
  /** The peer's CLOSE came (see whenPeerClosed), and who waits for it. */
  #peerGone = false;
  #peerGoneWaiters: (() => void)[] | undefined;
  /** Runs when the peer's CLOSE arrives while our answer is held (see holdCloseReply). */
  #onCloseReceived: (() => void) | undefined;
  /** Per stream, set once the peer takes no more of it (see refuseWrites): what writes get. */
  readonly #writesRefused: (Error | undefined)[] = [];
  #requestReplies: ((ok: boolean) => void)[] = [];
  /** Replies still waiting on an async handler; later ones queue behind (RFC 4254 §5.4). */
  #deferredReplies = 0;
  #replyTail: Promise<void> = Promise.resolve();
  #eofReceived = false;
  #closed = false;
  /** We sent CHANNEL_CLOSE (the peer's may still be on its way). */
  #closeSent = false;
  #abortReason: Error | undefined;
  /** Per stream: the connection's failure, held until the reader has taken what was queued. */
  readonly #pendingErrors: (Error | undefined)[] = [];
  #closeResolve!: () => void;
  /** Resolves when the channel is closed both ways (or the connection is gone). */
  readonly closedPromise: Promise<void>;
  /** Handles requests from the peer; the default refuses them. */
  onRequest: ChannelRequestHandler = () => false;
  /** Called when the peer sends EOF. */
  onEof: () => void = () => {};
  /**
   * Called once the channel is closed both ways (or the connection is gone), at once: a
   * limit freed here is free for an open in the same read, where {@link closedPromise}
   * resolves only after it.
   */
  onClosed: () => void = () => {};

  /** Wraps channel `id`. `windowSize` bounds the bytes buffered per stream. */
  constructor(
    id: number,
    engine: ChannelEngine,
    pump: ChannelPump,
    windowSize: number,
    streams = 2,
  ) {
    this.id = id;
    this.#engine = engine;
    this.#pump = pump;
    this.#windowSize = windowSize;
    this.closedPromise = new Promise((r) => (this.#closeResolve = r));
    for (let s = 0; s < streams; s++) this.#streams.push(this.#makeReadable(s));
  }

  /**
   * Stream 0 (data) or 1 (stderr) as a ReadableStream of bytes: a byte stream, so a BYOB
   * reader (`getReader({ mode: "byob" })`) may read into a buffer of its own. Its chunks
   * are ArrayBuffer-backed (a byte stream's always are), so it pipes into a
   * `TextDecoderStream` as it is.
   */
  readable(stream: number): ReadableStream<Uint8Array<ArrayBuffer>> {
    const s = this.#streams[stream];
    if (!s) throw new RangeError(`Channel has no stream ${stream}`);
    return s;
  }

  /**
   * Hands stream `stream`'s data to `sink` as it arrives, synchronously, instead of queueing
   * it for the stream's reader, and reopens the window at once: for a consumer that copies
   * what it keeps and bounds what it holds itself (the SFTP client, whose replies are bounded
   * by its requests in flight), which saves the copy a lent packet otherwise costs. The
   * readable still reports the end: EOF, close and the connection's failure. Set it before
   * any data can arrive (data queued earlier stays in the readable). A sink that throws
   * closes the channel.
   *
   * @example
   * ```ts ignore
   * const ch = await conn.openSession();
   * let total = 0;
   * ch.setSink(0, (data) => (total += data.length)); // counts the bytes, keeps none
   * await ch.request("exec", encodeStringArg("cat /var/log/syslog"));
   * await ch.closedPromise;
   * ```
   */
  setSink(stream: number, sink: ChannelSink): void {
    if (!this.#streams[stream]) throw new RangeError(`Channel has no stream ${stream}`);
    this.#sinks[stream] = sink;
  }

  /** Whether the channel is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The connection's error when the channel closed because the connection went (its
   * pending requests then settle as refused: callers tell the two apart with this).
   */
  get abortReason(): Error | undefined {
    return this.#abortReason;
  }

  /** Whether the peer sent EOF. */
  get eofReceived(): boolean {
    return this.#eofReceived;
  }

  /**
   * A byte stream: a default reader gets each packet's buffer itself (enqueueing transfers
   * it, no copy), and a BYOB reader (`getReader({ mode: "byob" })`) gets the bytes copied
   * into its own buffer while the packet's is freed at once (see `#deliver`), so a bulk
   * download through a reused buffer allocates nothing per packet that outlives it (on Bun
   * the stream itself fills the reader's buffer from the enqueued packet: cheaper there).
   */
  #makeReadable(stream: number): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#enqueued[stream] = 0;
    this.#reported[stream] = 0;
    return new ReadableStream(
      {
        type: "bytes",
        start: (c) => {
          this.#controllers[stream] = c;
        },
        pull: (c) => {
          const pending = this.#pendingErrors[stream];
          if (pending) {
            // The queue is read: now the reader learns the connection died.
            if (c.desiredSize === this.#windowSize) c.error(pending);
            return;
          }
          // The queue is read: the packets gathered behind it go in now.
          if (c.desiredSize === this.#windowSize) this.#enqueueGathered(stream, c);
          this.#reportConsumed(stream);
        },
        cancel: () => {
          // The reader is gone: discard further data but keep the window open.
          this.#controllers[stream] = undefined;
          this.#filled[stream] = 0;
          this.#gathered[stream] = undefined;
          this.#gatheredBytes[stream] = 0;
          this.#reportConsumed(stream, true);
        },
      },
      { highWaterMark: this.#windowSize },
    ) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  /**
   * Hands one packet's data to the stream's reader. A waiting BYOB read takes a copy into
   * the reader's buffer, and the packet's buffer is freed at once; the read is answered
   * when its buffer is full, or once the packets that arrived together are all in (a
   * microtask later): one answer per socket read instead of one per packet. On Bun every
   * packet is enqueued instead (see {@link ENQUEUE_FILLS_BYOB}). What does not fit is
   * enqueued, which moves the buffer into the stream, so only a buffer this channel owns
   * (a `channelData` event's, marked transient by the connection layer) goes in as it is,
   * anything else as a copy: data the engine only lent (a view of its receive buffer, not
   * transient) is copied here, once, into the reader's buffer or the queued chunk.
   */
  #deliver(stream: number, c: ReadableByteStreamController, data: Uint8Array): void {
    if (data.length === 0) return; // a byte stream refuses empty chunks; there is nothing to read
    const own = isTransient(data);
    if (data.length < SMALL_PACKET_BYTES && this.#gather(stream, c, data)) {
      if (own) releaseTransient(data);
      return;
    }
    this.#enqueueGathered(stream, c); // what was gathered comes first
    if (own && ENQUEUE_FILLS_BYOB) {
      // Bun fills a waiting read from the queue, from the start of its buffer: bytes of lent
      // data already copied into that buffer are answered first.
      const filled = this.#filled[stream] ?? 0;
      if (filled > 0) {
        this.#filled[stream] = 0;
        c.byobRequest?.respond(filled);
      }
      c.enqueue(data as Uint8Array<ArrayBuffer>);
      return;
    }
    const request = c.byobRequest;
    const view = request?.view;
    if (request && view) {
      const filled = this.#filled[stream] ?? 0;
      const n = Math.min(view.byteLength - filled, data.length);
      new Uint8Array(view.buffer, view.byteOffset + filled, n).set(data.subarray(0, n));
      if (n === data.length && filled + n < view.byteLength) {
        this.#filled[stream] = filled + n;
        this.#queueFillFlush();
        if (own) releaseTransient(data);
        return;
      }
      this.#filled[stream] = 0;
      request.respond(filled + n);
      if (n === data.length) {
        if (own) releaseTransient(data);
        return;
      }
      data = data.subarray(n);
    }
    // A transient buffer is always an ArrayBuffer (markTransient checks), never a shared one.
    c.enqueue(own ? data as Uint8Array<ArrayBuffer> : data.slice());
  }

  /**
   * Copies a small packet behind the bytes gathered already (a full chunk is enqueued and
   * another begun), or starts gathering when the reader is behind (the stream's queue holds
   * data; no read is waiting then). False when the reader is not behind: the packet goes the
   * usual way.
   */
  #gather(stream: number, c: ReadableByteStreamController, data: Uint8Array): boolean {
    let buf = this.#gathered[stream];
    let have = this.#gatheredBytes[stream] ?? 0;
    if (buf !== undefined && have + data.length > buf.length) {
      this.#enqueueGathered(stream, c);
      buf = undefined;
      have = 0;
    }
    if (buf === undefined) {
      if (c.desiredSize === null || c.desiredSize >= this.#windowSize) return false;
      buf = this.#gathered[stream] = new Uint8Array(GATHER_BYTES);
    }
    buf.set(data, have);
    this.#gatheredBytes[stream] = have + data.length;
    return true;
  }

  /** Enqueues the small packets gathered for `stream`, as one chunk. */
  #enqueueGathered(stream: number, c: ReadableByteStreamController): void {
    const buf = this.#gathered[stream];
    if (buf === undefined) return;
    const n = this.#gatheredBytes[stream]!;
    this.#gathered[stream] = undefined;
    this.#gatheredBytes[stream] = 0;
    // A chunk mostly empty goes as a copy of its bytes (the queue would keep the whole
    // buffer), and the buffer, ours alone, is freed at once.
    if (n > GATHER_BYTES / 2) c.enqueue(buf.subarray(0, n) as Uint8Array<ArrayBuffer>);
    else {
      c.enqueue(buf.slice(0, n) as Uint8Array<ArrayBuffer>);
      freeOwned(buf);
    }
  }

  #queueFillFlush(): void {
    if (this.#fillFlushQueued) return;
    this.#fillFlushQueued = true;
    queueMicrotask(() => {
      this.#fillFlushQueued = false;
      this.#flushFills();
    });
  }

  /** Answers the BYOB reads that hold copied bytes (before anything else reaches them). */
  #flushFills(): void {
    for (let s = 0; s < this.#filled.length; s++) {
      const n = this.#filled[s] ?? 0;
      if (n === 0) continue;
      this.#filled[s] = 0;
      try {
        this.#controllers[s]?.byobRequest?.respond(n);
      } catch { /* the stream was closed or cancelled meanwhile */ }
    }
  }

  /** Tells the engine how much the reader took since last time, reopening the window. */
  #reportConsumed(stream: number, all = false): void {
    const c = this.#controllers[stream];
    // Gathered bytes are still the reader's to take: not consumed, the window stays shut.
    const queued = c && !all
      ? this.#windowSize - (c.desiredSize ?? 0) + (this.#gatheredBytes[stream] ?? 0)
      : 0;
    const consumed = this.#enqueued[stream]! - Math.max(0, queued);
    const delta = consumed - this.#reported[stream]!;
    if (delta > 0 && !this.#closed) {
      this.#reported[stream] = consumed;
      this.#engine.consume(this.id, delta);
      this.#pump.pump();
    }
  }

  /** Routes an engine event for this channel. */
  handleEvent(e: ConnectionEvent): void {
    switch (e.type) {
      case "channelData": {
        const c = this.#controllers[e.stream];
        if (!c && e.stream > 1) {
          // An extended data type nobody can read (only stderr, 1, is defined): dropped
          // with the window kept open, and no entry kept per type code a peer makes up.
          this.#engine.consume(this.id, e.data.length);
          return;
        }
        const n = e.data.length; // before delivery, which may free the packet's buffer
        if (c) {
          const sink = this.#sinks[e.stream];
          if (!sink) this.#deliver(e.stream, c, e.data);
          else {
            try {
              sink(e.data, e.borrowed === true);
            } catch {
              // The sink's bug ends this channel, not the connection (as onRequest's would).
              this.close();
            }
          }
          // Counted once delivered: an enqueue wakes the stream's pull, which reports what
          // was consumed, and a packet still on its way in is not read.
          this.#enqueued[e.stream] = (this.#enqueued[e.stream] ?? 0) + n;
          this.#reportConsumed(e.stream);
        } else {
          // Nobody reads this stream (cancelled): drop, keep the window open.
          this.#enqueued[e.stream] = (this.#enqueued[e.stream] ?? 0) + n;
          this.#reported[e.stream] = this.#enqueued[e.stream]!;
          this.#engine.consume(this.id, n);
        }
        return;
      }
      case "channelEof":
        this.#eofReceived = true;
        this.#closeReadables();
        try {
          this.onEof();
        } catch { /* the application's callback failed: the channel goes on as onRequest's */ }
        return;
      case "channelWritable":
        this.#wakeWriters();
        return;
      case "channelRequest": {
        let ok: boolean | Promise<boolean> = false;
        try {
          ok = this.onRequest(e.request, e.data);
        } catch {
          ok = false;
        }
        if (!e.wantReply) {
          // Nothing to answer, so nothing to keep in order: the handler already ran, in
          // arrival order, and the request never waits behind a deferred reply. Queued there,
          // a peer's no-reply requests (window-change) behind one slow processRequested
          // grew the queue without bound; want-reply ones stop at MAX_PENDING_REQUESTS.
          if (typeof ok !== "boolean") Promise.resolve(ok).catch(() => {});
          return;
        }
        if (typeof ok === "boolean" && this.#deferredReplies === 0) {
          this.#engine.replyChannelRequest(this.id, ok);
          return;
        }
        this.#deferReply(Promise.resolve(ok).catch(() => false));
        return;
      }
      case "channelRequestReply": {
        this.#requestReplies.shift()?.(e.success);
        return;
      }
      case "channelClose":
        this.#markClosed();
        return;
      case "channelCloseReceived": {
        // The peer sends nothing more and takes nothing more (as sshd closes a process's
        // descriptors then: its writes fail); our CLOSE waits for close() (holdCloseReply).
        this.#eofReceived = true;
        this.#closeReadables();
        this.refuseWrites(new ChannelClosedError("Cannot write: the peer closed the channel"));
        this.#peerClosed();
        const hook = this.#onCloseReceived;
        this.#onCloseReceived = undefined;
        try {
          hook?.();
        } catch { /* the hook's error is not the channel's */ }
        return;
      }
    }
  }

  /**
   * Resolves once the peer closed the channel: its CLOSE came (answered, or held by
   * {@link holdCloseReply}), or the channel is closed. What serves the peer stops here.
   *
   * @example
   * ```ts ignore
   * void channel.whenPeerClosed().then(() => work.abort());
   * ```
   */
  whenPeerClosed(): Promise<void> {
    if (this.#peerGone || this.#closed) return Promise.resolve();
    return new Promise((r) => (this.#peerGoneWaiters ??= []).push(r));
  }

  #peerClosed(): void {
    this.#peerGone = true;
    const w = this.#peerGoneWaiters;
    this.#peerGoneWaiters = undefined;
    if (w) { for (const f of w) f(); }
  }

  /**
   * Holds our answer to the peer's CLOSE: when it comes, `onCloseReceived` runs instead
   * (the readables end), and the CLOSE goes back at {@link close} — sshd's order for a
   * session whose command still runs, which sends the exit status first.
   *
   * @example
   * ```ts ignore
   * channel.holdCloseReply(() => setTimeout(() => channel.close(), 1000));
   * ```
   */
  holdCloseReply(onCloseReceived: () => void): void {
    if (this.#closed || !this.#engine.holdClose) return;
    this.#onCloseReceived = onCloseReceived;
    this.#engine.holdClose(this.id);
  }

  /**
   * Sends a reply once `answer` settles and every earlier reply has gone out. Only
   * want-reply requests come here: the core engine refuses more than
   * MAX_PENDING_REQUESTS of them unanswered per channel, which bounds this chain.
   */
  #deferReply(answer: Promise<boolean>): void {
    this.#deferredReplies++;
    this.#replyTail = this.#replyTail.then(async () => {
      const ok = await answer;
      this.#deferredReplies--;
      if (this.#closed || this.#engine.closed) return;
      try {
        this.#engine.replyChannelRequest(this.id, ok);
        this.#pump.pump();
      } catch { /* the channel closed meanwhile: nobody to answer */ }
    });
  }

  /** Re-checks blocked writers (after a key exchange, or anything that may free capacity). */
  wakeWriters(): void {
    this.#wakeWriters();
  }

  /** The connection died: fail the streams. */
  abort(reason: Error): void {
    if (this.#closed) return;
    this.#abortReason = reason;
    this.#flushFills(); // what arrived before the connection died is still read
    this.#controllers.forEach((c, stream) => {
      if (!c) return;
      try {
        this.#enqueueGathered(stream, c);
      } catch { /* already closed */ }
      // error() discards a stream's queue: data that arrived before the connection died
      // stays readable, and the error comes after it (see pull).
      if (c.desiredSize !== null && c.desiredSize < this.#windowSize) {
        this.#pendingErrors[stream] = reason;
        return;
      }
      try {
        c.error(reason);
      } catch { /* already closed */ }
    });
    this.#controllers.length = 0;
    this.#markClosed();
  }

  #closeReadables(): void {
    // Once: EOF closes them, and closing a closed stream throws (an Error with a stack trace
    // per channel, a measurable cost when a fan-out runs thousands of commands).
    if (this.#readablesClosed) return;
    this.#readablesClosed = true;
    this.#flushFills();
    for (const [stream, c] of this.#controllers.entries()) {
      try {
        if (c) this.#enqueueGathered(stream, c);
        c?.close();
        // A BYOB read waiting when the stream closes is only answered by respond(0) (byte
        // streams leave it pending otherwise): it resolves as done.
        c?.byobRequest?.respond(0);
      } catch { /* already closed */ }
    }
  }

  #markClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#peerClosed();
    this.#closeReadables();
    this.#wakeWriters();
    for (const r of this.#requestReplies) r(false);
    this.#requestReplies = [];
    try {
      this.onClosed();
    } catch { /* a hook's error is not the channel's */ }
    this.#closeResolve();
  }

  #wakeWriters(): void {
    const w = this.#writeWaiters;
    this.#writeWaiters = [];
    for (const f of w) f();
  }

  /**
   * Sends all of `data` on `stream`, waiting for the peer's window and our socket
   * buffer as needed. Concurrent writes go out in call order. Rejects if the
   * channel closes (or EOF was sent) first.
   *
   * @example
   * ```ts ignore
   * await channel.write(new TextEncoder().encode("hello\n"));
   * ```
   */
  write(data: Uint8Array, stream = 0): Promise<void> {
    // JavaScript callers may pass anything: a number went out as nothing while the count of
    // bytes waiting became NaN, and every later write under write buffer limits waited.
    if (!isBytes(data)) {
      return Promise.reject(
        new TypeError(`Cannot write ${valueKind(data)}: a Uint8Array is needed`),
      );
    }
    const refused = this.#writesRefused[stream];
    if (refused) return Promise.reject(refused);
    // After sendEof(), even while the writes queued before it still go out.
    if (this.#eofQueued) {
      return Promise.reject(new ChannelClosedError("Cannot write: EOF was already sent"));
    }
    // Fast path: nothing queued and the window and socket take it all now, in one burst.
    if (
      this.#writesQueued === 0 && !this.#closed && !this.#closeSent && !this.#eofSent &&
      !this.#engine.closed &&
      !this.#pump.socketFull && data.length <= WRITE_BURST_BYTES &&
      this.#engine.writableBytes(this.id) >= data.length
    ) {
      if (data.length) this.#engine.sendData(this.id, data, stream);
      this.#pump.pump();
      return Promise.resolve();
    }
    this.#writesQueued++;
    this.#pendingBytes += data.length;
    let left = data.length;
    const run = this.#writeTail.then(() =>
      this.#writeAll(data, stream, (n) => {
        left -= n;
        this.#sent(n);
      })
    ).finally(() => {
      this.#writesQueued--;
      if (left > 0) this.#sent(left); // failed: those bytes will never go
    });
    this.#writeTail = run.catch(() => {});
    return run;
  }

  async #writeAll(data: Uint8Array, stream: number, sent: (n: number) => void): Promise<void> {
    let off = 0;
    while (off < data.length) {
      if (this.#closed || this.#closeSent || this.#engine.closed) {
        const cause = this.#abortReason;
        throw cause
          ? new ChannelClosedError(`Cannot write: the connection is closed (${cause.message})`, {
            cause,
          })
          : new ChannelClosedError("Cannot write: the channel is closed");
      }
      const refused = this.#writesRefused[stream];
      if (refused) throw refused;
      if (this.#eofSent) throw new ChannelClosedError("Cannot write: EOF was already sent");
      if (this.#pump.socketFull) {
        await this.#pump.whenDrained();
        continue;
      }
      // A burst at a time, the socket checked between them: one big write would seal and
      // queue all the peer's window allows at once (see READ_PAUSE_BYTES in driver.ts).
      const burst = data.subarray(off, off + WRITE_BURST_BYTES);
      const n = this.#engine.writableBytes(this.id) > 0
        ? this.#engine.sendData(this.id, burst, stream)
        : 0;
      off += n;
      if (n) sent(n);
      this.#pump.pump();
      if (off < data.length && n < burst.length) {
        await new Promise<void>((r) => this.#writeWaiters.push(r));
      }
    }
  }

  #sent(n: number): void {
    this.#pendingBytes -= n;
    if (this.#pendingBytes <= this.#writeLow && this.#lowWaiters.length) {
      const w = this.#lowWaiters;
      this.#lowWaiters = [];
      for (const f of w) f();
    }
  }

  /**
   * Bytes the peer's window lets us send now (libssh2's `channel_window_write`); 0 once
   * the channel is closed.
   *
   * @example
   * ```ts ignore
   * if (channel.sendWindow === 0) console.log("waiting for the peer to read");
   * ```
   */
  get sendWindow(): number {
    return this.#closed || this.#engine.closed ? 0 : this.#engine.writableBytes(this.id);
  }

  /**
   * Changes the receive window this channel keeps granted to the peer (libssh2's
   * `channel_receive_window_adjust`): a larger one is granted at once, a smaller one
   * takes effect as the peer uses what it has. A bulk receiver widens it so the sender
   * is never window-bound; the data in flight, up to `bytes`, is what it may have to
   * buffer while its reader is slow.
   *
   * @example
   * ```ts ignore
   * channel.setWindowSize(16 * 1024 * 1024); // an upload of many MiB in flight
   * ```
   */
  setWindowSize(bytes: number): void {
    if (this.#closed || this.#engine.closed) return;
    this.#engine.setWindowSize(this.id, bytes);
    this.#pump.pump();
  }

  /**
   * Bytes accepted by {@link write} that wait for the peer's window or the
   * socket (AsyncSSH's get_write_buffer_size).
   *
   * @example
   * ```ts ignore
   * if (channel.getWriteBufferSize() > 1 << 20) console.log("the peer is slow");
   * ```
   */
  getWriteBufferSize(): number {
    return this.#pendingBytes;
  }

  /**
   * Lets the channel's WritableStreams (and {@link bufferedWrite}) accept data
   * ahead of the peer's window: a write resolves at once while at most `high`
   * bytes are buffered, otherwise once the buffer has drained to `low`
   * (AsyncSSH's set_write_buffer_limits). The default, `high` 0, resolves each
   * write once it has gone out. `low` defaults to a quarter of `high`.
   *
   * @example
   * ```ts ignore
   * process.channel.setWriteBufferLimits({ high: 256 * 1024 });
   * await source.pipeTo(process.stdout); // 256 KiB may run ahead of the client's window
   * ```
   */
  setWriteBufferLimits(limits: { readonly high?: number; readonly low?: number } = {}): void {
    const high = limits.high ?? 0;
    const low = limits.low ?? Math.floor(high / 4);
    if (!(high >= 0 && low >= 0 && low <= high)) {
      throw new RangeError("Write buffer limits need 0 <= low <= high");
    }
    this.#writeHigh = high;
    this.#writeLow = low;
    this.#sent(0);
  }

  /** The current write buffer limits. */
  get writeBufferLimits(): { readonly high: number; readonly low: number } {
    return { high: this.#writeHigh, low: this.#writeLow };
  }

  /**
   * Like {@link write}, under the write buffer limits: resolves once `data` is
   * buffered within them rather than sent. An error of an earlier buffered write
   * rejects a later call (and the stream's close).
   *
   * @example
   * ```ts ignore
   * await channel.bufferedWrite(bytes);
   * ```
   */
  bufferedWrite(data: Uint8Array, stream = 0): Promise<void> {
    if (!isBytes(data)) return this.write(data, stream); // its TypeError
    if (this.#bufferedError) return Promise.reject(this.#bufferedError);
    const done = this.write(data, stream);
    if (this.#writeHigh === 0) return done;
    done.catch((e) => (this.#bufferedError ??= e as Error));
    if (this.#pendingBytes <= this.#writeHigh) return Promise.resolve();
    return new Promise<void>((r) => this.#lowWaiters.push(r)).then(() => {
      if (this.#bufferedError) throw this.#bufferedError;
    });
  }

  #bufferedError: Error | undefined;

  /**
   * Waits for every write queued so far, rejecting with the first error of a
   * write that {@link bufferedWrite} already reported as done.
   *
   * @example
   * ```ts ignore
   * await channel.bufferedWrite(bytes);
   * await channel.flush();
   * ```
   */
  async flush(): Promise<void> {
    await this.#writeTail;
    if (this.#bufferedError) throw this.#bufferedError;
  }

  /**
   * What the application attached to the channel (AsyncSSH's get_extra_info),
   * with `channelId`.
   *
   * @example
   * ```ts ignore
   * channel.setExtraInfo({ job: 42 });
   * console.log(channel.getExtraInfo().job); // 42
   * ```
   */
  getExtraInfo(): Readonly<Record<string, unknown>> & { readonly channelId: number } {
    return { ...this.#extra, channelId: this.id };
  }

  /**
   * Merges `info` into what {@link getExtraInfo} returns (AsyncSSH's set_extra_info).
   *
   * @example
   * ```ts ignore
   * channel.setExtraInfo({ requestId: "abc" });
   * ```
   */
  setExtraInfo(info: Readonly<Record<string, unknown>>): void {
    Object.assign(this.#extra, info);
  }

  /** Resolves once every write queued so far has gone out (or failed). */
  flushed(): Promise<void> {
    return this.#writeTail;
  }

  /** A WritableStream onto `stream` (0 = data, 1 = stderr); closing it sends EOF. */
  writable(stream = 0): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.bufferedWrite(chunk, stream),
      close: async () => {
        await this.flush();
        this.sendEof();
      },
      abort: () => this.close(),
    });
  }

  /** Sends a request; with `wantReply`, resolves with the peer's answer. */
  request(request: string, data?: Uint8Array, wantReply = true): Promise<boolean> {
    // Also once we sent CLOSE ourselves (the peer's is still on its way): nothing to ask
    // a channel that is closing, and never a synchronous throw from a promise's method.
    if (this.#closed || this.#closeSent || this.#engine.closed) return Promise.resolve(false);
    try {
      this.#engine.sendChannelRequest(this.id, request, wantReply, data);
    } catch (e) {
      return Promise.reject(e); // a name the engine refuses (a NUL in it)
    }
    this.#pump.pump();
    if (!wantReply) return Promise.resolve(true);
    return new Promise((r) => this.#requestReplies.push(r));
  }

  /** Whether we sent EOF. */
  get eofSent(): boolean {
    return this.#eofSent;
  }

  /**
   * Fails every write on `stream` (default: both) from now on with `reason`, the ones
   * waiting for the peer's window too: the peer takes no more of it — OpenSSH's
   * `eow@openssh.com` (its own output is gone: stream 0), or its CLOSE while ours waits —
   * so what we would send is lost, and what produces it should stop.
   *
   * @example
   * ```ts ignore
   * channel.refuseWrites(new ChannelClosedError("Cannot write: the client stopped reading"), 0);
   * ```
   */
  refuseWrites(reason: Error, stream?: 0 | 1): void {
    if (this.#closed) return;
    for (const s of stream === undefined ? [0, 1] : [stream]) this.#writesRefused[s] ??= reason;
    this.#wakeWriters();
  }

  /** Sends EOF (no more data from us) once the writes queued before it have gone out. */
  sendEof(): void {
    if (this.#closed || this.#eofSent) return;
    if (this.#writesQueued > 0) {
      if (this.#eofQueued) return;
      this.#eofQueued = true;
      void this.#writeTail.then(() => {
        this.#eofQueued = false;
        this.sendEof();
      });
      return;
    }
    this.#eofSent = true;
    if (this.#engine.closed) return;
    this.#engine.sendEof(this.id);
    this.#pump.pump();
  }

  /** Closes the channel. */
  close(): void {
    if (this.#closed || this.#engine.closed) return;
    this.#closeSent = true;
    this.#engine.closeChannel(this.id);
    this.#pump.pump();
    // Writes still waiting fail now, not when (or if) the peer's CLOSE comes.
    this.#wakeWriters();
  }
}

/**
 * A Uint8Array, from this realm or another (a worker's, a `vm` context's).
 *
 * @example
 * ```ts
 * import { isBytes } from "./channel.ts";
 * console.log(isBytes(new Uint8Array(1)), isBytes([1])); // true false
 * ```
 */
export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array || Object.prototype.toString.call(x) === "[object Uint8Array]";
}

/**
 * What a value is, for an error message ("number", "null", "Array").
 *
 * @example
 * ```ts
 * import { valueKind } from "./channel.ts";
 * console.log(valueKind(42), valueKind(null), valueKind([1])); // number null Array
 * ```
 */
export function valueKind(x: unknown): string {
  return x === null
    ? "null"
    : typeof x === "object"
    ? Object.prototype.toString.call(x).slice(8, -1)
    : typeof x;
}
