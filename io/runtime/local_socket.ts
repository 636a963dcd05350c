/**
 * Local sockets through `node:net` (which Deno, Node and Bun all provide): TCP
 * or UNIX socket connections for forwarding, as `node:net` sockets or as
 * {@link ByteSocket}s.
 *
 * @module
 */

import * as net from "node:net";
import { socketFromNodeSocket } from "./node_socket.ts";
import type { ByteSocket } from "./socket.ts";

/** Where a local listener listens: TCP host and port, or a UNIX socket path. */
export type ListenAddress = { readonly host: string; readonly port: number } | {
  readonly path: string;
};

/**
 * Connects to a TCP host and port or a UNIX socket path with `node:net`
 * (half-open allowed, TCP_NODELAY set). Rejects on failure.
 *
 * @example
 * ```ts
 * import { LocalListener } from "../forward/listener.ts";
 * import { connectLocal } from "./local_socket.ts";
 * await using l = await LocalListener.listen({ host: "127.0.0.1", port: 0 }, (s) => s.end());
 * const sock = await connectLocal({ host: "127.0.0.1", port: l.port });
 * sock.resume();
 * await new Promise((r) => sock.once("end", r)); // the listener ended its side
 * sock.destroy();
 * ```
 */
export function connectLocal(address: ListenAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = "path" in address
      ? net.connect({ path: address.path, allowHalfOpen: true })
      : net.connect({ host: address.host, port: address.port, allowHalfOpen: true });
    sock.once("error", reject);
    sock.once("connect", () => {
      sock.off("error", reject);
      if (!("path" in address)) sock.setNoDelay(true);
      resolve(sock);
    });
  });
}

/** Connects to a UNIX socket for a direct-streamlocal channel. */
export function connectUnix(path: string): Promise<ByteSocket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path });
    sock.once("connect", () => {
      sock.removeAllListeners("error");
      resolve(socketFromNodeSocket(sock));
    });
    sock.once("error", reject);
  });
}
