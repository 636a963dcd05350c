/**
 * The `node:net` socket adapter. Node, Bun and Deno all provide `node:net`, so
 * this adapter works everywhere; runtime-specific adapters may be faster.
 *
 * @module
 */

import * as net from "node:net";
import type { ByteSocket, SocketHandlers } from "./socket.ts";

/** Wraps a connected `net.Socket`. TCP_NODELAY is set: Nagle costs a handshake 80+ ms. */
export function socketFromNodeSocket(sock: net.Socket): ByteSocket {
  sock.setNoDelay(true);
  let handlers: SocketHandlers | undefined;
  return {
    write: (data) => sock.write(data),
    writev(chunks) {
      // Corked writes leave as one writev() when uncorked: one syscall for a whole batch.
      sock.cork();
      let ok = true;
      for (const c of chunks) ok = sock.write(c) && ok;
      sock.uncork();
      return ok;
    },
    end: () => {
      sock.end();
    },
    destroy: () => {
      sock.destroy();
    },
    pause: () => {
      sock.pause();
    },
    resume: () => {
      sock.resume();
    },
    setHandlers(h) {
      handlers = h;
      sock.on("data", (b: Uint8Array) => handlers!.data(b));
      sock.on("end", () => handlers!.end());
      sock.on("error", (e: Error) => handlers!.error(e));
      sock.on("drain", () => handlers!.drain());
      sock.on("close", () => handlers!.close());
    },
    get localAddress() {
      return sock.localAddress;
    },
    get localPort() {
      return sock.localPort;
    },
    get remoteAddress() {
      return sock.remoteAddress;
    },
    get remotePort() {
      return sock.remotePort;
    },
  };
}

/** Where a TCP connection is bound before it connects, and which address family it resolves. */
export interface TcpBindOptions {
  /** Local address to bind before connecting. */
  readonly localAddress?: string;
  /** Local port to bind before connecting. */
  readonly localPort?: number;
  /** Address family to resolve the host name to (4 or 6). */
  readonly family?: 4 | 6;
}

/** Opens a TCP connection with `node:net` (bound first with `bind`); rejects on error or abort. */
export function connectNodeSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
  bind: TcpBindOptions = {},
): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({
      host,
      port,
      noDelay: true,
      ...(bind.localAddress !== undefined ? { localAddress: bind.localAddress } : {}),
      ...(bind.localPort !== undefined ? { localPort: bind.localPort } : {}),
      ...(bind.family !== undefined ? { family: bind.family } : {}),
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
      resolve(socketFromNodeSocket(sock));
    });
    sock.once("error", (e) => {
      signal?.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}
