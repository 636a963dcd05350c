/**
 * Local sockets through `node:net` (which Deno, Node and Bun all provide): TCP
 * or UNIX socket connections for forwarding, as `node:net` sockets or as
 * {@link ByteSocket}s, and listening on a UNIX socket only its user may reach.
 *
 * @module
 */

import { chmod } from "node:fs/promises";
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

/**
 * Binds `server` to `where`; rejects (the server not listening) when it cannot.
 *
 * @example
 * ```ts
 * import * as net from "node:net";
 * import { listenOn } from "./local_socket.ts";
 * const server = net.createServer((s) => s.end());
 * await listenOn(server, { host: "127.0.0.1", port: 0 });
 * server.close();
 * ```
 */
export function listenOn(server: net.Server, where: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/**
 * Listens on the UNIX socket `path` (half-open connections allowed, and paused
 * with `pauseOnConnect`), made mode 0600 as soon as it is bound (ssh's
 * StreamLocalBindMask 0177) so that only this user may connect: a connection
 * accepted before the chmod, someone else's in the instant after the bind, is
 * destroyed, not served. Rejects, with nothing left listening, when the bind or
 * the chmod fails.
 *
 * @example
 * ```ts
 * import { mkdtemp, rm, stat } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { listenPrivateUnix } from "./local_socket.ts";
 * const dir = await mkdtemp(join(tmpdir(), "sock-"));
 * const server = await listenPrivateUnix(join(dir, "s.sock"), {}, (s) => s.end());
 * console.log(((await stat(join(dir, "s.sock"))).mode & 0o777).toString(8)); // "600"
 * server.close();
 * await rm(dir, { recursive: true, force: true });
 * ```
 */
export async function listenPrivateUnix(
  path: string,
  options: { readonly pauseOnConnect?: boolean },
  onConnection: (sock: net.Socket) => void,
): Promise<net.Server> {
  let isPrivate = false;
  const server = net.createServer(
    { allowHalfOpen: true, pauseOnConnect: options.pauseOnConnect ?? false },
    (sock) => isPrivate ? onConnection(sock) : void sock.destroy(),
  );
  await listenOn(server, { path });
  try {
    await chmod(path, 0o600);
  } catch (e) {
    server.close();
    throw e;
  }
  isPrivate = true;
  return server;
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
