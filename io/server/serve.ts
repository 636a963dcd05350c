/**
 * `serveConnection()`: our server on one connection the caller already has
 * (AsyncSSH's `run_server`), as `connect({ sock })` is for the client: a
 * socket accepted elsewhere, a WebSocket bridged to a `WebDuplex`, a pipe to
 * an inetd-style parent, or an in-memory pair in tests.
 *
 * @module
 */

import { abortError } from "../engine/errors.ts";
import type { ByteSocket, NodeDuplexLike, WebDuplex } from "../runtime/socket.ts";
import { byteSocketOf } from "../runtime/web_duplex.ts";
import { SSHServerConnection } from "./connection.ts";
import { setupServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";

/**
 * Options of {@link serveConnection}: those of `listen()` except the ones
 * about listening and counting connections. `signal` closes the connection.
 */
export type ServeOptions = Omit<
  ListenOptions,
  "host" | "port" | "backlog" | "ipv6Only" | "reusePort" | "maxStartups" | "maxConnections"
>;

/**
 * Runs the SSH server side over `sock` (a {@link WebDuplex}, a Node `stream.Duplex` such
 * as an accepted `net.Socket`, or a `ByteSocket`)
 * with `listen()`'s hooks and options. Resolves with the connection as soon
 * as it has started (host keys loaded); `conn.closed` resolves when it ends.
 * Aborting `signal` closes it (before it starts, rejects with the reason). Once started,
 * the connection owns `sock` and closes it when it ends; a rejection before that (a bad
 * option, a host key that cannot be read, the abort) leaves `sock` untouched, for the
 * caller to close.
 *
 * @example An in-memory client and server
 * ```ts
 * import { connect, generatePrivateKey, serveConnection } from "@sshts/ssh";
 * // Two pipes stand in for a socket (a WebSocket, a child's stdio, …).
 * const a = new TransformStream<Uint8Array, Uint8Array>();
 * const b = new TransformStream<Uint8Array, Uint8Array>();
 * const conn = await serveConnection({ readable: a.readable, writable: b.writable }, {
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: (p) => p.write("hello\n"),
 * });
 * const client = await connect("in-memory", {
 *   sock: { readable: b.readable, writable: a.writable },
 *   username: "u",
 *   password: "p",
 *   knownHosts: null,
 * });
 * console.log((await client.run("x")).stdout); // "hello\n"
 * await client.close();
 * await conn.closed;
 * ```
 */
export async function serveConnection(
  sock: WebDuplex | ByteSocket | NodeDuplexLike,
  options: ServeOptions,
): Promise<SSHServerConnection> {
  const signal = options.signal;
  if (signal?.aborted) throw abortError(signal);
  const setup = await setupServer(options);
  if (signal?.aborted) throw abortError(signal);
  const conn = new SSHServerConnection(
    byteSocketOf(sock),
    setup,
    () => {},
  );
  if (signal) {
    const stop = () => void conn.close();
    signal.addEventListener("abort", stop, { once: true });
    void conn.closed.then(() => signal.removeEventListener("abort", stop));
  }
  return conn;
}
