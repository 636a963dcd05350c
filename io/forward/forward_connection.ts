/**
 * AsyncSSH's `forward_connection` / `forward_unix_connection`: connect to a
 * destination of your choosing and hand the connection back as a
 * {@link WebDuplex}, which `connectionRequested` / `unixConnectionRequested`
 * on the server (and anything else that takes a duplex) can return. The
 * server then bridges the channel to it, so a hook can send a client's
 * direct-tcpip request somewhere other than where it asked to go.
 *
 * @module
 */

import { openTcpSocket } from "../runtime/tcp.ts";
import { connectUnix } from "../runtime/local_socket.ts";
import type { ByteSocket, WebDuplex } from "../runtime/socket.ts";
import { BRIDGE_READ_HIGH_WATER } from "../limits.ts";

/** A connected socket as Web Streams, with a way to drop it. */
export interface ForwardedSocket extends WebDuplex {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** Tears the socket down at once. */
  close(): void;
}

/**
 * Connects to `host`:`port` (TCP_NODELAY on) and returns the connection as
 * Web Streams.
 *
 * @example Send every direct-tcpip request to one backend
 * ```ts
 * import { connect, forwardConnection, generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   // Every direct-tcpip request goes to this server's own port, whatever the client asked.
 *   connectionRequested: () => forwardConnection("127.0.0.1", server.address.port),
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * await using c = await conn.openConnection("db.internal", 5432);
 * const reader = c.readable.getReader();
 * const banner = new TextDecoder().decode((await reader.read()).value).split("\r\n")[0];
 * console.log(banner); // SSH-2.0-sshts_…
 * reader.releaseLock();
 * ```
 */
export async function forwardConnection(
  host: string,
  port: number,
  options: { readonly signal?: AbortSignal } = {},
): Promise<ForwardedSocket> {
  // Half-open, as a direct-tcpip destination is: one that ends its side first still gets
  // what the client sends after (Node's sockets end theirs at once otherwise).
  return duplexFromSocket(
    await openTcpSocket(host, port, options.signal, { allowHalfOpen: true }),
  );
}

/**
 * Connects to the UNIX socket at `path` and returns the connection as Web Streams.
 *
 * @example
 * ```ts ignore
 * await listen({ ..., unixConnectionRequested: () => forwardUnixConnection("/run/app.sock") });
 * ```
 */
export async function forwardUnixConnection(path: string): Promise<ForwardedSocket> {
  return duplexFromSocket(await connectUnix(path));
}

/**
 * Wraps a {@link ByteSocket} as Web Streams, with backpressure both ways: the
 * socket pauses while the readable's queue is full, and writes wait for drain.
 *
 * @example
 * ```ts ignore
 * const { readable, writable } = duplexFromSocket(await openTcpSocket("db", 5432));
 * ```
 */
export function duplexFromSocket(sock: ByteSocket): ForwardedSocket {
  let rc!: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>;
  let drained: (() => void) | undefined;
  let failure: Error | undefined;
  let readDone = false;
  let sockClosed = false;
  const readable = new ReadableStream<Uint8Array<ArrayBuffer>>({
    start: (c) => {
      rc = c;
    },
    pull: () => sock.resume(),
    cancel: () => sock.destroy(),
  }, { highWaterMark: BRIDGE_READ_HIGH_WATER, size: (c) => c.byteLength });
  const finish = (e?: Error) => {
    if (readDone) return;
    readDone = true;
    try {
      if (e) rc.error(e);
      else rc.close();
    } catch { /* cancelled */ }
  };
  sock.setHandlers({
    data: (chunk) => {
      if (readDone) return;
      rc.enqueue(chunk.slice()); // adapters may reuse their buffer
      if ((rc.desiredSize ?? 0) <= 0) sock.pause();
    },
    end: () => finish(),
    error: (e) => {
      failure = e;
      finish(e);
    },
    drain: () => {
      const d = drained;
      drained = undefined;
      d?.();
    },
    close: () => {
      sockClosed = true;
      finish(failure);
      const d = drained;
      drained = undefined;
      d?.();
    },
  });
  const writable = new WritableStream<Uint8Array>({
    // A closed socket says no drain again and may take bytes it will never send: a write
    // then, or one waiting for a drain when it closes, fails (a bridge then closes its
    // channel, as sshd does when its write to the destination fails).
    write: async (chunk) => {
      if (failure) throw failure;
      if (sockClosed) throw closedError();
      if (!sock.write(chunk)) await new Promise<void>((r) => (drained = r));
      if (sockClosed) throw failure ?? closedError();
    },
    close: () => sock.end(),
    abort: () => sock.destroy(),
  });
  return { readable, writable, close: () => sock.destroy() };
}

function closedError(): Error {
  return new Error("Cannot write: the socket is closed");
}
