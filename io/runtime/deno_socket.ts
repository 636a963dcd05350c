/**
 * The `Deno.connect` socket adapter: Deno's own TCP API, which avoids the
 * `node:net` compatibility layer on the hot path.
 *
 * @module
 */

import { type ByteSocket, raceConnect, type SocketHandlers } from "./socket.ts";
import { DENO_READ_MIN_SIZE, DENO_READ_SIZE, SOCKET_WRITE_HIGH_WATER } from "../limits.ts";
import { freeOwned, releaseTransient } from "../../core/transient_buffers.ts";
import { concatBytes } from "../../core/wire.ts";

/** The parts of `Deno.Conn` we use (declared here so other runtimes type-check this file). */
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(on?: boolean): void;
  readonly localAddr: { hostname?: string; port?: number };
  readonly remoteAddr: { hostname?: string; port?: number };
}

interface DenoNamespace {
  connect(
    o: { hostname: string; port: number; transport?: "tcp"; signal?: AbortSignal },
  ): Promise<DenoConn>;
}

/** The Deno namespace when running on Deno, else undefined. */
export function denoApi(): DenoNamespace | undefined {
  return (globalThis as { Deno?: DenoNamespace }).Deno;
}

/** Wraps a connected Deno TCP connection. */
export function socketFromDenoConn(conn: DenoConn): ByteSocket {
  conn.setNoDelay(true);
  let h: SocketHandlers | undefined;
  let queue: Uint8Array[] = [];
  let queued = 0;
  /** Bytes of the batch being written now: still ours to count for backpressure. */
  let inFlight = 0;
  /** A write returned false: `drain` is owed once the backlog halves. */
  let full = false;
  let writing = false;
  let paused = false;
  let resumeRead: (() => void) | undefined;
  let closed = false;
  let endRequested = false;
  /** `closeAfterFlush()`: close once our side has ended, without waiting for the peer's. */
  let closeWhenEnded = false;
  // Half-close (RFC 4254 §5.3 for forwarded connections): the peer's FIN ends our reading
  // only; the connection closes once our side has ended (or is destroyed) too.
  let readEnded = false;
  let writeEnded = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch { /* already closed */ }
    h?.close();
    // A read loop held by pause() ends now.
    const r = resumeRead;
    resumeRead = undefined;
    r?.();
  };
  const flush = async () => {
    if (writing) return;
    writing = true;
    try {
      while (queue.length && !closed) {
        // Merge what is queued into one write: fewer syscalls under load.
        const chunks = queue;
        const batch = chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
        queue = [];
        inFlight = queued;
        queued = 0;
        // Copied chunks (sealed ciphertext) are freed at once, a lone one once written.
        if (chunks.length > 1) { for (const c of chunks) releaseTransient(c); }
        let off = 0;
        while (off < batch.length) off += await conn.write(batch.subarray(off));
        inFlight = 0;
        // Written: a lone chunk goes back if it is transient, a merged batch (ours) always.
        if (chunks.length === 1) releaseTransient(batch);
        else freeOwned(batch);
        if (full && queued < SOCKET_WRITE_HIGH_WATER / 2) {
          full = false;
          h?.drain();
        }
      }
      if (endRequested && !closed && !writeEnded) {
        await conn.closeWrite().catch(() => {});
        writeEnded = true;
        if (readEnded || closeWhenEnded) finish();
      }
    } catch (e) {
      if (!closed) h?.error(e instanceof Error ? e : new Error(String(e)));
      finish();
    } finally {
      writing = false;
    }
  };
  const readLoop = async () => {
    // The buffer grows while reads fill it (bulk traffic) and shrinks while they do not, so an
    // idle connection waits on a small one. Between size changes one buffer serves every read:
    // the handler copies what it keeps (SocketHandlers.data).
    let size = DENO_READ_MIN_SIZE;
    let buf = new Uint8Array(size);
    try {
      for (;;) {
        // Checked again after the read: a pause() while it waited holds its bytes too (the
        // buffer is not reused before they are delivered).
        while (paused) await new Promise<void>((r) => (resumeRead = r));
        if (buf.length !== size) buf = new Uint8Array(size);
        const n = await conn.read(buf);
        if (n === null) break;
        while (paused && !closed) await new Promise<void>((r) => (resumeRead = r));
        if (closed) return;
        size = nextReadSize(size, n);
        h!.data(buf.subarray(0, n));
      }
      readEnded = true;
      h!.end();
      if (writeEnded) finish();
      return;
    } catch (e) {
      if (!closed) h?.error(e instanceof Error ? e : new Error(String(e)));
    }
    finish();
  };
  return {
    write(data) {
      if (closed) return false;
      queue.push(data);
      queued += data.length;
      void flush();
      if (queued + inFlight < SOCKET_WRITE_HIGH_WATER) return true;
      full = true;
      return false;
    },
    end() {
      endRequested = true;
      void flush();
    },
    closeAfterFlush() {
      closeWhenEnded = true;
      endRequested = true;
      if (writeEnded && !writing) finish();
      else void flush();
    },
    destroy: finish,
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      const r = resumeRead;
      resumeRead = undefined;
      r?.();
    },
    setHandlers(handlers) {
      h = handlers;
      void readLoop();
    },
    localAddress: conn.localAddr.hostname,
    localPort: conn.localAddr.port,
    remoteAddress: conn.remoteAddr.hostname,
    remotePort: conn.remoteAddr.port,
  };
}

/**
 * The size of the next read buffer after a read of `n` bytes into one of `size`: four times
 * larger when the read filled it (up to {@link DENO_READ_SIZE}), half as large when it came
 * back under a quarter full (down to {@link DENO_READ_MIN_SIZE}), else the same.
 *
 * @example
 * ```ts
 * import { nextReadSize } from "./deno_socket.ts";
 * console.log(nextReadSize(2048, 2048), nextReadSize(8192, 100)); // 8192 4096
 * ```
 */
export function nextReadSize(size: number, n: number): number {
  if (n >= size) return Math.min(size * 4, DENO_READ_SIZE);
  if (n < size / 4) return Math.max(size / 2, DENO_READ_MIN_SIZE);
  return size;
}

/**
 * Connects with `Deno.connect` (of `deno`: the runtime's, or a stand-in in tests). An abort
 * rejects at once and cancels the connect in flight; a connection that Deno completes all
 * the same is closed, never handed out nor left open.
 */
export async function connectDenoSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
  deno: DenoNamespace | undefined = denoApi(),
): Promise<ByteSocket> {
  if (!deno) throw new Error("Deno.connect is not available in this runtime");
  if (!signal) {
    return socketFromDenoConn(await deno.connect({ hostname: host, port, transport: "tcp" }));
  }
  if (signal.aborted) throw signal.reason ?? new Error("Connect aborted");
  // Not the caller's signal: Deno checks it once more after the connect (`throwIfAborted`), so
  // an abort between the connection being made and that check threw and dropped the connection
  // without closing it (a socket and its descriptor open until the process ends). Our own
  // signal, with that check turned off, still cancels a connect in flight (a host that drops
  // our SYNs would otherwise keep the process alive until the kernel gives up, minutes later);
  // a connection made anyway reaches `connecting` and is closed below.
  const cancel = new AbortController();
  Object.defineProperty(cancel.signal, "throwIfAborted", { value: () => {} });
  const connecting = deno.connect({
    hostname: host,
    port,
    transport: "tcp",
    signal: cancel.signal,
  });
  const conn = await raceConnect(connecting, signal, (c) => c.close(), () => cancel.abort());
  return socketFromDenoConn(conn);
}
