/**
 * The `node:net` socket adapter. Node, Bun and Deno all provide `node:net`, so
 * this adapter works everywhere; runtime-specific adapters may be faster.
 *
 * @module
 */

import * as net from "node:net";
import {
  type ByteSocket,
  deliverSocketEvent,
  type SocketEvent,
  type SocketHandlers,
} from "./socket.ts";
import { currentRuntime } from "./env.ts";
import { freeOwned, isTransient, releaseTransient } from "../../core/transient_buffers.ts";

/**
 * Where a socket opened with `onread` (one reused read buffer, no allocation per read)
 * delivers its bytes: chunks that arrive before the handlers are set are kept (copied).
 */
class ReadSink {
  #deliver: SocketHandlers | undefined;
  #early: Uint8Array[] | undefined;
  /** The `onread` callback: `buf` is reused by the next read, so it is used or copied now. */
  readonly onread = (n: number, buf: Uint8Array): boolean => {
    const chunk = buf.subarray(0, n);
    if (this.#deliver) this.#deliver.data(chunk);
    else (this.#early ??= []).push(chunk.slice());
    return true;
  };
  attach(deliver: SocketHandlers): void {
    this.#deliver = deliver;
    const early = this.#early;
    this.#early = undefined;
    if (early) { for (const c of early) deliver.data(c); }
  }
}

/**
 * Bytes per read into the reused buffer of sockets we open: as large as a read of
 * Node's own (64 KiB), so a bulk download costs one read per 64 KiB and no allocation.
 */
const NODE_READ_SIZE = 64 * 1024;

let readBuffer: Uint8Array | undefined;
/**
 * One read buffer for every socket we open: a read fills it and its callback consumes (or
 * copies) the bytes before the next read of any socket starts, so no connection holds one
 * of its own while idle.
 */
function sharedReadBuffer(): Uint8Array {
  return (readBuffer ??= new Uint8Array(NODE_READ_SIZE));
}

/** Whether `net.Socket` cork/uncork is Node's own (one writev syscall per batch). */
const CORK_WRITEV = currentRuntime() === "node";
/**
 * Whether a write's callback means the bytes are out of our buffer, and a `data` event's
 * buffer is the read's own (Node's own node:net; Deno's and Bun's emulations are not relied
 * on for either: their buffers go to the GC).
 */
const RELEASE_WRITTEN = currentRuntime() === "node";
/** Whether `net.connect`'s `onread` (reads into one reused buffer) is Node's own. */
const REUSED_READS = currentRuntime() === "node";

/**
 * A write callback that frees the transient buffers among `chunks` (sealed ciphertext, see
 * core/transient_buffers.ts) once Node has written them out; undefined when there are none.
 */
function releaseWhenWritten(chunks: readonly Uint8Array[]): (() => void) | undefined {
  if (!RELEASE_WRITTEN) return undefined;
  let held: Uint8Array[] | undefined;
  for (const c of chunks) if (isTransient(c)) (held ??= []).push(c);
  if (!held) return undefined;
  return () => {
    for (const c of held) releaseTransient(c);
  };
}

/**
 * `sock.write(data)`, freeing `data` once Node wrote it out when it is a transient buffer
 * (channel data, sealed ciphertext: see core/transient_buffers.ts). The caller keeps no
 * view of `data` after the call.
 */
export function writeReleasing(sock: net.Socket, data: Uint8Array): boolean {
  return RELEASE_WRITTEN && isTransient(data)
    ? sock.write(data, () => releaseTransient(data))
    : sock.write(data);
}

function corkedWrite(sock: net.Socket, chunks: readonly Uint8Array[]): boolean {
  // Corked writes complete together: the last one's callback runs after all of them.
  const done = releaseWhenWritten(chunks);
  sock.cork();
  let ok = true;
  const last = chunks.length - 1;
  for (let i = 0; i < last; i++) ok = sock.write(chunks[i]!) && ok;
  if (last >= 0) ok = (done ? sock.write(chunks[last]!, done) : sock.write(chunks[last]!)) && ok;
  sock.uncork();
  return ok;
}

/**
 * A connected `net.Socket` as a ByteSocket. A class, not an object of closures: an idle
 * connection is a few objects (fan-outs hold thousands).
 */
class NodeByteSocket implements ByteSocket {
  protected readonly sock: net.Socket;
  readonly #sink: ReadSink | undefined;
  /**
   * `end`, `error` and `close` that came before `setHandlers` (any await between the connect
   * and the handlers: a reset there was an unhandled `error` event, which ends a Node
   * process, and a close was never reported, so the connect waited for its timeout).
   */
  #early: SocketEvent[] | undefined = [];
  #onEarly: ((e?: Error | boolean) => void) | undefined = (e) => {
    this.#early?.push(e instanceof Error ? e : e === undefined ? "end" : "close");
  };

  constructor(sock: net.Socket, sink: ReadSink | undefined) {
    this.sock = sock;
    this.#sink = sink;
    sock.on("end", this.#onEarly!);
    sock.on("error", this.#onEarly!);
    sock.on("close", this.#onEarly!);
  }

  write(data: Uint8Array): boolean {
    return writeReleasing(this.sock, data);
  }

  end(): void {
    this.sock.end();
  }

  closeAfterFlush(): void {
    const sock = this.sock;
    sock.end(() => sock.destroy());
  }

  destroy(): void {
    this.sock.destroy();
  }

  pause(): void {
    this.sock.pause();
  }

  resume(): void {
    this.sock.resume();
  }

  setHandlers(h: SocketHandlers): void {
    const sock = this.sock;
    if (this.#sink) this.#sink.attach(h);
    else {
      sock.on("data", (b: Uint8Array) => {
        // A plain Uint8Array, not the Buffer: its slice() copies, as handlers expect.
        const chunk = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        h.data(chunk);
        // Handlers copy what they keep (SocketHandlers.data): the read's own buffer is
        // freed now, not at the next GC (Node allocates one per read of a socket it
        // accepted).
        if (RELEASE_WRITTEN) freeOwned(chunk);
      });
    }
    const onEarly = this.#onEarly!;
    this.#onEarly = undefined; // an idle connection keeps no closure for it
    sock.off("end", onEarly);
    sock.off("error", onEarly);
    sock.off("close", onEarly);
    sock.on("end", () => h.end());
    sock.on("error", (e: Error) => h.error(e));
    sock.on("drain", () => h.drain());
    sock.on("close", () => h.close());
    // After the early data (replayed by the sink above), in the order they came.
    const early = this.#early!;
    this.#early = undefined;
    for (const e of early) deliverSocketEvent(h, e);
  }

  get localAddress(): string | undefined {
    return this.sock.localAddress;
  }

  get localPort(): number | undefined {
    return this.sock.localPort;
  }

  get remoteAddress(): string | undefined {
    return this.sock.remoteAddress;
  }

  get remotePort(): number | undefined {
    return this.sock.remotePort;
  }
}

/**
 * With `writev`: corked writes leave as one writev() when uncorked, one syscall for a whole
 * batch. Node only: Deno's and Bun's node:net emulate cork; the driver merges small chunks
 * there.
 */
class CorkingNodeByteSocket extends NodeByteSocket {
  writev(chunks: readonly Uint8Array[]): boolean {
    return corkedWrite(this.sock, chunks);
  }
}

/**
 * Wraps a connected `net.Socket`. TCP_NODELAY is set: Nagle costs a handshake 80+ ms.
 * `sink`: the socket was opened with `onread` into a reused buffer (see connectNodeSocket);
 * its bytes come from there instead of `data` events.
 */
export function socketFromNodeSocket(sock: net.Socket, sink?: ReadSink): ByteSocket {
  sock.setNoDelay(true);
  return CORK_WRITEV ? new CorkingNodeByteSocket(sock, sink) : new NodeByteSocket(sock, sink);
}

/** Where a TCP connection is bound before it connects, and which address family it resolves. */
export interface TcpBindOptions {
  /** Local address to bind before connecting. */
  readonly localAddress?: string;
  /** Local port to bind before connecting. */
  readonly localPort?: number;
  /** Address family to resolve the host name to (4 or 6). */
  readonly family?: 4 | 6;
  /**
   * Keep our sending side open when the peer ends its side (TCP half-close), for a
   * forwarded connection whose channel still carries data the other way (RFC 4254
   * §5.3). Without it Node ends our side at once, and the bridge then closes the channel.
   */
  readonly allowHalfOpen?: boolean;
}

/** Opens a TCP connection with `node:net` (bound first with `bind`); rejects on error or abort. */
export function connectNodeSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
  bind: TcpBindOptions = {},
): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    // One reused read buffer: no 64 KiB allocation (and its garbage) per read. Node only:
    // node:net on Deno and Bun (used here when binding first) keeps its `data` events.
    const sink = REUSED_READS ? new ReadSink() : undefined;
    const sock = net.connect({
      host,
      port,
      noDelay: true,
      ...(sink ? { onread: { buffer: sharedReadBuffer, callback: sink.onread } } : {}),
      ...(bind.localAddress !== undefined ? { localAddress: bind.localAddress } : {}),
      ...(bind.localPort !== undefined ? { localPort: bind.localPort } : {}),
      ...(bind.family !== undefined ? { family: bind.family } : {}),
      ...(bind.allowHalfOpen ? { allowHalfOpen: true } : {}),
    });
    const onAbort = () => {
      sock.destroy();
      reject(signal!.reason ?? new Error("Connect aborted"));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    sock.once("connect", () => {
      signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("error");
      resolve(socketFromNodeSocket(sock, sink));
    });
    sock.once("error", (e) => {
      signal?.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}
