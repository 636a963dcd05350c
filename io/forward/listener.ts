/**
 * Listeners for forwarding: the {@link SSHListener} handle every forwarding
 * call returns (local or remote), and local TCP / UNIX socket listeners built
 * on `node:net` (which Deno, Node and Bun all provide).
 *
 * @module
 */

import * as net from "node:net";
import { type ListenAddress, listenOn, listenPrivateUnix } from "../runtime/local_socket.ts";

/**
 * A listening forward: a local port or socket path (forwardLocalPort,
 * forwardLocalPath, forwardSocks) or one on the server (forwardRemotePort,
 * forwardRemotePath, startServer). Closing it stops new connections;
 * connections already forwarded carry on until they end or the SSH connection
 * closes. Every listener closes with its connection.
 *
 * @example
 * ```ts ignore
 * await using l = await conn.forwardLocalPort({ listenPort: 0, destHost: "db", destPort: 5432 });
 * console.log(`forwarding 127.0.0.1:${l.port}`);
 * ```
 */
export interface SSHListener extends AsyncDisposable {
  /** The address listened on (TCP), as bound. */
  readonly host: string | undefined;
  /** The port listened on (the one chosen when 0 was asked), or 0 for a socket path. */
  readonly port: number;
  /** The UNIX socket path listened on, if any. */
  readonly path: string | undefined;
  /** Stops listening. */
  close(): Promise<void>;
  /** Resolves once the listener is closed. */
  readonly closed: Promise<void>;
}

/**
 * An {@link SSHListener} backed by a `node:net` server.
 *
 * @example
 * ```ts
 * import { LocalListener } from "./listener.ts";
 * const l = await LocalListener.listen({ host: "127.0.0.1", port: 0 }, (sock) => sock.end());
 * console.log(l.port > 0); // true
 * await l.close();
 * ```
 */
export class LocalListener implements SSHListener {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly host: string | undefined;
  readonly port: number;
  readonly path: string | undefined;
  readonly closed: Promise<void>;
  #onClose: (() => void) | undefined;
  #closedResolve!: () => void;

  private constructor(server: net.Server, address: ListenAddress) {
    this.#server = server;
    const a = server.address();
    if ("path" in address) {
      this.host = undefined;
      this.port = 0;
      this.path = address.path;
    } else {
      this.host = typeof a === "object" && a ? a.address : address.host;
      this.port = typeof a === "object" && a ? a.port : address.port;
      this.path = undefined;
    }
    // Closed means no longer listening; connections already accepted may carry on
    // (node:net's own 'close' waits for them all).
    this.closed = new Promise((r) => {
      this.#closedResolve = r;
      server.once("close", () => r());
    });
  }

  /**
   * Listens and calls `onConnection` for each accepted socket (half-open
   * allowed, TCP_NODELAY set). Rejects when the address cannot be bound. A UNIX
   * socket is mode 0600 (ssh's StreamLocalBindMask 0177) before it appears at
   * its path (see `listenPrivateUnix()`): only this user may connect.
   *
   * @example
   * ```ts
   * import { LocalListener } from "./listener.ts";
   * await using l = await LocalListener.listen({ host: "127.0.0.1", port: 0 }, (s) => s.end("hi\n"));
   * ```
   */
  static async listen(
    address: ListenAddress,
    onConnection: (sock: net.Socket) => void,
  ): Promise<LocalListener> {
    let listener: LocalListener | undefined;
    const accept = (sock: net.Socket) => {
      // From the first moment: a client that resets before anyone else listens must
      // not become an unhandled 'error' event, which ends the whole process.
      sock.on("error", () => sock.destroy());
      if (!listener) return void sock.destroy();
      if ("setNoDelay" in sock && !("path" in address)) sock.setNoDelay(true);
      const sockets = listener.#sockets;
      sockets.add(sock);
      sock.once("close", () => sockets.delete(sock));
      onConnection(sock);
    };
    let server: net.Server;
    if ("path" in address) server = await listenPrivateUnix(address.path, {}, accept);
    else {
      server = net.createServer({ allowHalfOpen: true }, accept);
      // "*" is every address, as ssh's -L and -D write it (Node's and Deno's resolvers
      // would look it up as a name).
      const host = address.host === "*" ? "0.0.0.0" : address.host;
      await listenOn(server, { host, port: address.port });
    }
    // accept() serves connections from here on (it drops any it is handed before).
    return listener = new LocalListener(server, address);
  }

  /** Called once when the listener closes (the connection forgets it). */
  set onClose(f: (() => void) | undefined) {
    this.#onClose = f;
  }

  /** Stops accepting; with `destroy`, also drops the connections it accepted. */
  close(destroy = false): Promise<void> {
    if (this.#server.listening) {
      this.#server.close();
      this.#onClose?.();
      this.#onClose = undefined;
    }
    if (destroy) { for (const s of this.#sockets) s.destroy(); }
    this.#closedResolve();
    return this.closed;
  }

  /** `await using` support. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
