/**
 * The `Bun.connect` socket adapter: Bun's native TCP API.
 *
 * @module
 */

import {
  type ByteSocket,
  deliverSocketEvent,
  raceConnect,
  type SocketEvent,
  type SocketHandlers,
} from "./socket.ts";
import { SOCKET_WRITE_HIGH_WATER } from "../limits.ts";
import { freeOwned, releaseTransient } from "../../core/transient_buffers.ts";
import { alignedLead } from "../../core/wire.ts";

/** The parts of Bun's socket we use (declared here so other runtimes type-check this file). */
interface BunSocket {
  write(data: Uint8Array): number;
  end(): void;
  /** Without an argument: sends FIN and keeps reading (with `allowHalfOpen`). */
  shutdown?(): void;
  terminate(): void;
  pause?(): void;
  resume?(): void;
  setNoDelay?(on: boolean): void;
  /** Our adapter: what `connect({ data })` attached, or what a listener's `open` set. */
  data: BunByteSocket | undefined;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

/** Socket callbacks: one object for every connection (each finds its adapter in `s.data`). */
interface BunSocketHandlers {
  binaryType?: "buffer" | "uint8array";
  open?(s: BunSocket): void;
  data?(s: BunSocket, d: Uint8Array): void;
  drain?(s: BunSocket): void;
  /** Bun 1.4 reports a reset here (`error`), not through `error`. */
  close?(s: BunSocket, error?: Error): void;
  end?(s: BunSocket): void;
  error?(s: BunSocket, e: Error): void;
  connectError?(s: BunSocket, e: Error): void;
}

/** The part of Bun's listening socket used here. */
interface BunListener {
  readonly port: number;
  /** Stops accepting; with `true`, also closes every connection it accepted. */
  stop(closeActive?: boolean): void;
}

interface BunNamespace {
  listen(o: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    socket: BunSocketHandlers;
  }): BunListener;
  connect(o: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    data?: BunByteSocket;
    socket: BunSocketHandlers;
  }): Promise<BunSocket>;
}

/** The Bun namespace when running on Bun, else undefined. */
export function bunApi(): BunNamespace | undefined {
  return (globalThis as { Bun?: BunNamespace }).Bun;
}

/**
 * Sends FIN but keeps reading. Bun 1.4's `end()` closes both directions (a forwarded request's
 * reply after the client's EOF was lost); `shutdown()` on a socket with `allowHalfOpen` is the
 * half-close (io/forward/half_close_test.ts fails with `end()` here).
 */
function halfClose(s: BunSocket): void {
  if (s.shutdown) s.shutdown();
  else s.end();
}

/**
 * One connection's adapter. A class with one shared handler object rather than closures: an
 * idle connection is a few objects (fan-outs hold thousands).
 */
class BunByteSocket implements ByteSocket {
  #s: BunSocket | undefined;
  #h: SocketHandlers | undefined;
  /**
   * What arrived before `setHandlers`, in order: data (copies: the read's own buffer is
   * freed), the peer's end, an error, the close. Dropping the end or close left a connect
   * waiting for its timeout.
   */
  #early: (Uint8Array | SocketEvent)[] | undefined;
  /** `end` was delivered (Bun reports no end for a FIN after our own half-close). */
  #ended = false;
  #destroyed = false;
  #errored = false;
  /** What Bun's `write()` did not take yet, in order. */
  #pending: Uint8Array[] | undefined;
  #pendingBytes = 0;
  #closed = false;
  #endAfterFlush = false;
  /** `closeAfterFlush()`: once flushed, close both directions (Bun's `end()`). */
  #closeAfterFlush = false;
  localAddress: string | undefined;
  localPort: number | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;

  /** Bun's socket is connected: addresses are known, writes may start. */
  connected(s: BunSocket): void {
    this.#s = s;
    s.setNoDelay?.(true);
    this.localAddress = s.localAddress;
    this.localPort = s.localPort;
    this.remoteAddress = s.remoteAddress;
    this.remotePort = s.remotePort;
  }

  write(data: Uint8Array): boolean {
    if (this.#closed) return false;
    const pending = this.#pending;
    if (pending === undefined || pending.length === 0) {
      const n = this.#s!.write(data);
      if (n >= data.length) {
        releaseTransient(data);
        return true;
      }
      (this.#pending ??= []).push(data.subarray(Math.max(0, n)));
      this.#pendingBytes += data.length - Math.max(0, n);
    } else {
      pending.push(data);
      this.#pendingBytes += data.length;
    }
    return this.#pendingBytes < SOCKET_WRITE_HIGH_WATER;
  }

  /**
   * Bun has no writev: one copy of the batch costs less than a send() per chunk. The copied
   * chunks' memory is freed at once where it may be (sealed ciphertext).
   */
  writev(chunks: readonly Uint8Array[]): boolean {
    const ok = this.write(concatAligned(chunks));
    for (const c of chunks) releaseTransient(c);
    return ok;
  }

  end(): void {
    this.#endAfterFlush = true;
    if (!this.#pending?.length) halfClose(this.#s!);
  }

  closeAfterFlush(): void {
    this.#endAfterFlush = this.#closeAfterFlush = true;
    // Bun's own end() closes both directions after a FIN: what is written still arrives.
    if (!this.#pending?.length) this.#s!.end();
  }

  /**
   * Whether `destroy()` closes with a FIN (`end()`, which closes both directions at once
   * in Bun 1.4) instead of `terminate()`, which resets (SO_LINGER 0): a server's peer then
   * reads what was sent and "closed by remote host", as with `node:net`'s `destroy()`.
   */
  finOnDestroy = false;

  destroy(): void {
    this.#destroyed = true;
    if (this.finOnDestroy) this.#s!.end();
    else this.#s!.terminate();
  }

  pause(): void {
    this.#s!.pause?.();
  }

  resume(): void {
    this.#s!.resume?.();
  }

  setHandlers(handlers: SocketHandlers): void {
    this.#h = handlers;
    const early = this.#early;
    this.#early = undefined;
    for (const e of early ?? []) {
      if (e instanceof Uint8Array) handlers.data(e);
      else deliverSocketEvent(handlers, e);
    }
  }

  /** Writes what waited; true once all is written. */
  flush(s: BunSocket): boolean {
    const pending = this.#pending;
    while (pending?.length) {
      const head = pending[0]!;
      const n = s.write(head);
      this.#pendingBytes -= Math.max(0, n);
      if (n < head.length) {
        pending[0] = head.subarray(Math.max(0, n));
        return false;
      }
      pending.shift();
      releaseTransient(head);
    }
    if (this.#closeAfterFlush) s.end();
    else if (this.#endAfterFlush) halfClose(s);
    return true;
  }

  /**
   * Bun makes a new buffer for every read (up to 512 KiB: a bulk download hands the collector
   * a buffer per read, which JavaScriptCore frees only when it next collects the one cell
   * that owns it). Handlers copy what they keep (SocketHandlers.data): the read's buffer is
   * freed as soon as they return.
   */
  onData(d: Uint8Array): void {
    if (this.#h) this.#h.data(d);
    else (this.#early ??= []).push(d.slice());
    freeOwned(d);
  }

  onDrain(s: BunSocket): void {
    if (this.flush(s) && this.#pendingBytes < SOCKET_WRITE_HIGH_WATER / 2) this.#h?.drain();
  }

  onEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#deliver("end");
  }

  onClose(error?: Error): void {
    if (this.#closed) return;
    if (error) this.onError(error);
    // A FIN after our own half-close comes as a bare close: the peer did end its side.
    else if (!this.#destroyed && !this.#errored) this.onEnd();
    this.#closed = true;
    this.#deliver("close");
  }

  onError(e: Error): void {
    this.#errored = true;
    this.#deliver(e);
  }

  #deliver(e: SocketEvent): void {
    if (this.#h) deliverSocketEvent(this.#h, e);
    else (this.#early ??= []).push(e);
  }
}

const HANDLERS: BunSocketHandlers = {
  // Plain Uint8Arrays, not Buffers: handlers keep bytes with slice(), which on a Buffer is a
  // view (of a buffer freed after the call, see onData).
  binaryType: "uint8array",
  // A listener's socket refused in `open` has no adapter (see listenBunSocket).
  data: (s, d) => s.data?.onData(d),
  drain: (s) => s.data?.onDrain(s),
  end: (s) => s.data?.onEnd(),
  close: (s, e) => s.data?.onClose(e),
  error: (s, e) => s.data?.onError(e),
};

/** Connects with `Bun.connect`. Bun's write may be partial: the rest waits for `drain`. */
export async function connectBunSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<ByteSocket> {
  const bun = bunApi();
  if (!bun) throw new Error("Bun.connect is not available in this runtime");
  if (signal?.aborted) throw signal.reason ?? new Error("Connect aborted");
  const socket = new BunByteSocket();
  const connecting = bun.connect({
    hostname: host,
    port,
    // Our end() is a half-close: the peer's answer after it must still arrive.
    allowHalfOpen: true,
    data: socket,
    socket: HANDLERS,
  });
  if (!signal) {
    socket.connected(await connecting);
    return socket;
  }
  // An abort rejects at once, not when the connect settles: a host that drops our SYNs kept
  // connect() waiting for the kernel's give-up (minutes), past its connectTimeout. A socket
  // that connects after the abort is torn down, not handed out.
  socket.connected(await raceConnect(connecting, signal, (s) => s.terminate()));
  return socket;
}

/**
 * The chunks joined, with the largest placed where Bun copies it at full speed
 * (`alignedLead` in core/wire.ts): a batch is mostly one or two large sealed packets.
 */
export function concatAligned(chunks: readonly Uint8Array[]): Uint8Array {
  let total = 0, at = 0;
  let largest: Uint8Array | undefined;
  for (const c of chunks) {
    if (c.length > (largest?.length ?? 0)) largest = c, at = total;
    total += c.length;
  }
  const lead = largest ? alignedLead(largest, at) : 0;
  const out = new Uint8Array(lead + total).subarray(lead);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** A listening Bun socket: its port, and a close that waits for its connections. */
export interface BunTcpServer {
  /** The bound port. */
  readonly port: number;
  /** Stops accepting; resolves once every connection it accepted has closed too. */
  close(): Promise<void>;
}

/**
 * Listens with `Bun.listen`, Bun's native server socket: each accepted connection gets the
 * same adapter as `Bun.connect`'s. Bun's `node:net` server costs a fifth of a bulk-sending
 * server's main thread in its write path alone (`writeBuffered`: OpenSSH's `sftp` getting
 * 256 MiB from `listen()` on Bun). Throws Bun's own errors (`listenTcp` gives them
 * `node:net`'s form); an empty `host`, which `node:net` takes for every interface, is
 * refused.
 *
 * @example
 * ```ts ignore
 * const server = listenBunSocket("127.0.0.1", 0, (s) => s.destroy());
 * await server.close();
 * ```
 */
export function listenBunSocket(
  host: string,
  port: number,
  accepted: (socket: ByteSocket) => void,
): BunTcpServer {
  const bun = bunApi();
  if (!bun) throw new Error("Bun.listen is not available in this runtime");
  let open = 0;
  let stopped = false;
  let allClosed: (() => void) | undefined;
  const closedAll = new Promise<void>((r) => (allClosed = r));
  const handlers: BunSocketHandlers = {
    ...HANDLERS,
    open(s) {
      if (stopped) {
        s.terminate(); // accepted as the listener stopped: refused, as node:net's close does
        return;
      }
      open++;
      const socket = new BunByteSocket();
      socket.finOnDestroy = true;
      s.data = socket;
      socket.connected(s);
      accepted(socket);
    },
    close(s, e) {
      const socket = s.data;
      if (socket === undefined) return;
      s.data = undefined; // counted out once, however often Bun reports the close
      socket.onClose(e);
      if (--open === 0 && stopped) allClosed!();
    },
  };
  const listener = bun.listen({ hostname: host, port, allowHalfOpen: true, socket: handlers });
  return {
    port: listener.port,
    close() {
      if (!stopped) {
        stopped = true;
        listener.stop(false);
        if (open === 0) allClosed!();
      }
      return closedAll;
    },
  };
}
