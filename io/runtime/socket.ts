/**
 * Byte-stream sockets the engines run over. One small interface, with adapters
 * for `node:net` (Node, Bun and Deno all ship it), `Deno.connect`, and any
 * caller-supplied Web Streams duplex (a WebSocket bridge, an in-memory pair, an
 * SSH channel for jump hosts).
 *
 * @module
 */

/** What the engine driver needs from a socket. */
export interface ByteSocket {
  /** Queues bytes; returns false when the socket's buffer is full (wait for `onDrain`). */
  write(data: Uint8Array): boolean;
  /**
   * Optional: queues several chunks as one write (one `writev` syscall where the runtime
   * has it), in order. Same return value as `write`. Absent: the driver merges small
   * chunks and writes big ones one by one.
   */
  writev?(chunks: readonly Uint8Array[]): boolean;
  /** Ends our sending side (half-close) and lets buffered data flush. */
  end(): void;
  /**
   * Optional: ends our sending side once buffered data is written, then closes the socket
   * without waiting for the peer's end (what a forward does once its channel closed: the
   * destination may never close its side). Absent: callers fall back to `end()`.
   */
  closeAfterFlush?(): void;
  /** Tears the socket down at once. */
  destroy(): void;
  /** Stops delivering data until `resume` (read backpressure). */
  pause(): void;
  /** Resumes delivering data. */
  resume(): void;
  /** Registers the handlers; called once, before any data flows. */
  setHandlers(h: SocketHandlers): void;
  /** Local address, when known (undefined for Web Streams duplexes). */
  readonly localAddress?: string | undefined;
  /** Local port, when known. */
  readonly localPort?: number | undefined;
  /** Remote address, when known (undefined for Web Streams duplexes). */
  readonly remoteAddress?: string | undefined;
  /** Remote port, when known. */
  readonly remotePort?: number | undefined;
}

/**
 * Callbacks a socket delivers to. They are methods: call them on the object
 * (`handlers.data(chunk)`), never detached (`stream.on("data", handlers.data)` loses their
 * `this`); the connections' handlers are one object each, not a closure per callback.
 */
export interface SocketHandlers {
  /**
   * Bytes arrived. Copy `chunk` to keep it past the call: some adapters reuse
   * their buffer (Node's `onread`), others free it once the call returns (Bun's,
   * Node's accepted sockets).
   */
  data(chunk: Uint8Array): void;
  /** The peer ended its side. */
  end(): void;
  /** A socket error; `close` follows. */
  error(e: Error): void;
  /** The write buffer drained. */
  drain(): void;
  /** The socket is fully closed. */
  close(): void;
}

/**
 * A caller-supplied duplex: a pair of Web Streams.
 *
 * @example An in-memory pair
 * ```ts
 * import type { WebDuplex } from "@sshts/ssh";
 * const a = new TransformStream<Uint8Array, Uint8Array>();
 * const b = new TransformStream<Uint8Array, Uint8Array>();
 * const clientSide: WebDuplex = { readable: a.readable, writable: b.writable };
 * const serverSide: WebDuplex = { readable: b.readable, writable: a.writable };
 * const w = clientSide.writable.getWriter();
 * void w.write(new TextEncoder().encode("hi"));
 * const { value } = await serverSide.readable.getReader().read();
 * console.log(new TextDecoder().decode(value)); // "hi"
 * ```
 */
export interface WebDuplex {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closed when our side ends. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * A Node `stream.Duplex` as `connect({ sock })` and `serveConnection()` take it: a connected
 * `net.Socket`, an `ssh2` channel, any duplex stream of bytes.
 */
export interface NodeDuplexLike {
  /** Node streams pipe; a WebDuplex does not. */
  pipe(destination: never, options?: never): unknown;
  /** Node streams are event emitters. */
  // `any`, not `never`: @types/node 25+ types its catch-all listener `(...args: any[])`,
  // which a `never[]` parameter list does not accept (net.Socket failed to type-check).
  // deno-lint-ignore no-explicit-any
  on(event: string, listener: (...args: any[]) => void): unknown;
  /** Writes bytes. */
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean;
}

/** A socket event other than data: the peer's end, an error, or the close. */
export type SocketEvent = Error | "end" | "close";

/**
 * Hands `e` to the matching handler: for adapters that hold the events arriving before
 * `setHandlers` and replay them in order.
 *
 * @example
 * ```ts
 * import { deliverSocketEvent } from "./socket.ts";
 * const seen: string[] = [];
 * const h = { data() {}, drain() {}, end: () => seen.push("end"), error: () => {}, close: () => seen.push("close") };
 * for (const e of ["end", "close"] as const) deliverSocketEvent(h, e);
 * console.log(seen); // ["end", "close"]
 * ```
 */
export function deliverSocketEvent(h: SocketHandlers, e: SocketEvent): void {
  if (e === "end") h.end();
  else if (e === "close") h.close();
  else h.error(e);
}

/**
 * A connect in flight, raced against `signal`: an abort rejects at once with its reason (a
 * host that drops our SYNs would hold the connect until the kernel gives up, minutes past
 * a connectTimeout), `onAbort` runs (to cancel the connect where the runtime can), and a
 * connection made after the abort is handed to `drop`, never out nor left open.
 *
 * @example
 * ```ts ignore
 * const s = await raceConnect(bun.connect(options), signal, (late) => late.terminate());
 * ```
 */
export function raceConnect<T>(
  connecting: Promise<T>,
  signal: AbortSignal,
  drop: (late: T) => void,
  onAbort?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      void connecting.then(drop, () => {});
      reject(signal.reason ?? new Error("Connect aborted"));
    };
    signal.addEventListener("abort", abort, { once: true });
    connecting.then((c) => {
      signal.removeEventListener("abort", abort);
      if (signal.aborted) return; // rejected already; `abort` drops it
      resolve(c);
    }, (e) => {
      signal.removeEventListener("abort", abort); // also when the connect failed
      reject(e);
    });
  });
}
