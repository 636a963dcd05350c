/**
 * The `Bun.connect` socket adapter: Bun's native TCP API.
 *
 * @module
 */

import type { ByteSocket, SocketHandlers } from "./socket.ts";
import { SOCKET_WRITE_HIGH_WATER } from "../limits.ts";
import { releaseTransient } from "../../core/transient_buffers.ts";
import { concatBytes } from "../../core/wire.ts";

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
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
}

interface BunNamespace {
  connect(o: {
    hostname: string;
    port: number;
    allowHalfOpen?: boolean;
    socket: {
      open?(s: BunSocket): void;
      data?(s: BunSocket, d: Uint8Array): void;
      drain?(s: BunSocket): void;
      close?(s: BunSocket): void;
      end?(s: BunSocket): void;
      error?(s: BunSocket, e: Error): void;
      connectError?(s: BunSocket, e: Error): void;
    };
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

/** Connects with `Bun.connect`. Bun's write may be partial: the rest waits for `drain`. */
export async function connectBunSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
): Promise<ByteSocket> {
  const bun = bunApi();
  if (!bun) throw new Error("Bun.connect is not available in this runtime");
  let h: SocketHandlers | undefined;
  const early: Uint8Array[] = [];
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let closed = false;
  let endAfterFlush = false;
  const tryFlush = (s: BunSocket) => {
    while (pending.length) {
      const head = pending[0]!;
      const n = s.write(head);
      pendingBytes -= Math.max(0, n);
      if (n < head.length) {
        pending[0] = head.subarray(Math.max(0, n));
        return false;
      }
      pending.shift();
      releaseTransient(head);
    }
    if (endAfterFlush) halfClose(s);
    return true;
  };
  if (signal?.aborted) throw signal.reason ?? new Error("Connect aborted");
  const connecting = bun.connect({
    hostname: host,
    port,
    // Our end() is a half-close: the peer's answer after it must still arrive.
    allowHalfOpen: true,
    socket: {
      data(_s, d) {
        // Bun reuses its buffer after the callback: copy is done by the engine's push().
        if (h) h.data(d);
        else early.push(d.slice());
      },
      drain(s) {
        if (tryFlush(s) && pendingBytes < SOCKET_WRITE_HIGH_WATER / 2) h?.drain();
      },
      end() {
        h?.end();
      },
      close() {
        if (closed) return;
        closed = true;
        h?.close();
      },
      error(_s, e) {
        h?.error(e);
      },
    },
  });
  const abort = () => void connecting.then((s) => s.terminate(), () => {});
  signal?.addEventListener("abort", abort, { once: true });
  const s = await connecting;
  signal?.removeEventListener("abort", abort);
  s.setNoDelay?.(true);
  const socket: ByteSocket = {
    write(data) {
      if (closed) return false;
      if (pending.length === 0) {
        const n = s.write(data);
        if (n >= data.length) {
          releaseTransient(data);
          return true;
        }
        pending.push(data.subarray(Math.max(0, n)));
        pendingBytes += data.length - Math.max(0, n);
      } else {
        pending.push(data);
        pendingBytes += data.length;
      }
      return pendingBytes < SOCKET_WRITE_HIGH_WATER;
    },
    end() {
      endAfterFlush = true;
      if (pending.length === 0) halfClose(s);
    },
    destroy() {
      s.terminate();
    },
    pause() {
      s.pause?.();
    },
    resume() {
      s.resume?.();
    },
    setHandlers(handlers) {
      h = handlers;
      for (const d of early.splice(0)) h.data(d);
    },
    localAddress: s.localAddress,
    localPort: s.localPort,
    remoteAddress: s.remoteAddress,
    remotePort: s.remotePort,
  };
  // Bun has no writev: one copy of the batch costs less than a send() per chunk. The copied
  // chunks' memory is freed at once where it may be (sealed ciphertext).
  socket.writev = (chunks) => {
    const ok = socket.write(concatBytes(...chunks));
    for (const c of chunks) releaseTransient(c);
    return ok;
  };
  return socket;
}
