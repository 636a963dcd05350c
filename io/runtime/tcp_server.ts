/**
 * Accepts TCP connections for `listen()`: with `Deno.listen` on Deno, `Bun.listen` on Bun
 * (whose `node:net` server spends a fifth of a bulk-sending server's time in its write
 * path), `node:net` on Node. Each accepted connection is handed over as a
 * {@link ByteSocket} with TCP_NODELAY set.
 *
 * Deno's `node:net` server stops accepting for good after an accept fails for want of a file
 * descriptor (Deno 2.x: it still reports itself listening, no "error" event comes, and every
 * later connection waits unanswered), so on Deno the accept loop is ours: a failed accept is
 * reported and retried. The options only `node:net` has (`backlog`, `ipv6Only`,
 * `reusePort`) and `SSH_SOCKET_ADAPTER=node` select `node:net` on Deno and Bun too.
 *
 * @module
 */

import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { bunApi, listenBunSocket } from "./bun_socket.ts";
import { denoApi, socketFromDenoConn } from "./deno_socket.ts";
import { prepareForDescriptorExhaustion } from "./env.ts";
import { listenOn } from "./local_socket.ts";
import { socketFromNodeSocket } from "./node_socket.ts";
import { tcpAdapterName } from "./tcp.ts";
import type { ByteSocket } from "./socket.ts";

/** Where and how to listen. */
export interface TcpServerOptions {
  /** Address to bind (a name is resolved by the runtime). */
  readonly host: string;
  /** Port to bind; 0 picks a free one. */
  readonly port: number;
  /** Length of the kernel's accept queue (`node:net` only). */
  readonly backlog?: number | undefined;
  /** An IPv6 socket that refuses IPv4 (`node:net` only). */
  readonly ipv6Only?: boolean | undefined;
  /** SO_REUSEPORT (`node:net` only, where the runtime has it). */
  readonly reusePort?: boolean | undefined;
}

/** A listening TCP socket. */
export interface TcpServer {
  /** The bound port. */
  readonly port: number;
  /**
   * Stops accepting; resolves once the listening socket is closed and, on `node:net` and
   * `Bun.listen`, every connection it accepted has closed too (close them meanwhile).
   */
  close(): Promise<void>;
}

/** The part of `Deno.Listener` used here. */
export interface DenoListener extends AsyncIterable<Parameters<typeof socketFromDenoConn>[0]> {
  readonly addr: { port?: number };
  close(): void;
}

export interface DenoListen {
  listen(o: { hostname: string; port: number; transport: "tcp" }): DenoListener;
}

/** How long the accept loop waits after a failed accept (out of descriptors, say). */
const ACCEPT_RETRY_MS = 100;

/**
 * Listens on `options.host`:`options.port` and calls `accepted` with each connection.
 * `acceptError` hears of accepts that failed (the server goes on listening).
 *
 * @example
 * ```ts
 * import { listenTcp } from "./tcp_server.ts";
 * const server = await listenTcp({ host: "127.0.0.1", port: 0 }, (s) => s.destroy());
 * console.log(server.port > 0);
 * await server.close();
 * ```
 */
// Async so that a synchronous throw (a bad port, Bun's listen failure) reaches the caller
// as a rejection, as node:net's failures do.
// deno-lint-ignore require-await
export async function listenTcp(
  options: TcpServerOptions,
  accepted: (socket: ByteSocket) => void,
  acceptError: (e: Error) => void = () => {},
): Promise<TcpServer> {
  prepareForDescriptorExhaustion();
  const nodeOnly = options.backlog !== undefined || options.ipv6Only !== undefined ||
    options.reusePort !== undefined;
  const deno = denoApi() as DenoListen | undefined;
  if (deno && !nodeOnly && tcpAdapterName() === "deno") {
    return listenDeno(deno, options, accepted, acceptError);
  }
  if (bunApi() && !nodeOnly && tcpAdapterName() === "bun") {
    const { host, port } = options;
    checkPort(port);
    try {
      return listenBunSocket(host, port, accepted);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      // Bun gives a failed name lookup no code ("Failed to listen at <host>"), and no
      // more than that for an address in use.
      const code = (err as { code?: string }).code ??
        (net.isIP(host) === 0 ? "ENOTFOUND" : undefined);
      const detail = code === "EADDRINUSE" ? "address already in use" : err.message;
      throw nodeListenError(err, code, detail, host, port);
    }
  }
  return listenNode(options, accepted, acceptError);
}

/** A bad port fails as `node:net` fails it: a RangeError with code ERR_SOCKET_BAD_PORT. */
function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw Object.assign(
      new RangeError(`options.port should be >= 0 and < 65536. Received ${port}.`),
      { code: "ERR_SOCKET_BAD_PORT" },
    );
  }
}

/**
 * A runtime's listen failure as `node:net` reports it: Node's code, and the address named
 * ("listen EADDRINUSE: … 127.0.0.1:22", "getaddrinfo ENOTFOUND name"), so a caller's checks
 * of `e.code` and the message work the same on every runtime.
 */
function nodeListenError(
  cause: Error,
  code: string | undefined,
  detail: string,
  host: string,
  port: number,
): Error {
  const message = code === "ENOTFOUND"
    ? `getaddrinfo ENOTFOUND ${host}`
    : `listen ${code ?? "failed"}: ${detail} ${host}:${port}`;
  return Object.assign(new Error(message, { cause }), code ? { code } : {});
}

/**
 * The Deno accept loop over `deno.listen` (exported for tests, which pass a stand-in).
 *
 * @example
 * ```ts ignore
 * const server = listenDeno(Deno, { host: "127.0.0.1", port: 0 }, (s) => s.destroy(), () => {});
 * await server.close();
 * ```
 */
export function listenDeno(
  deno: DenoListen,
  options: TcpServerOptions,
  accepted: (socket: ByteSocket) => void,
  acceptError: (e: Error) => void,
): TcpServer {
  const listener = denoListen(deno, options);
  let closing = false;
  const done = (async () => {
    while (!closing) {
      try {
        for await (const conn of listener) {
          // An accept Deno finished before close() is handed over after it: refused, or
          // close() would resolve with a connection still being served.
          if (closing) {
            try {
              conn.close();
            } catch { /* already closed */ }
            return;
          }
          accepted(socketFromDenoConn(conn));
        }
        return; // the listener was closed
      } catch (e) {
        if (closing) return;
        acceptError(e instanceof Error ? e : new Error(String(e)));
        await sleep(ACCEPT_RETRY_MS);
      }
    }
  })();
  return {
    port: listener.addr.port ?? options.port,
    close() {
      if (!closing) {
        closing = true;
        try {
          listener.close();
        } catch { /* already closed */ }
      }
      return done;
    },
  };
}

/** Node's error codes for what Deno reports by class alone. */
const DENO_ERROR_CODES: Record<string, string> = {
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  PermissionDenied: "EACCES",
  NotFound: "ENOTFOUND",
};

/** `Deno.listen`, failing as `node:net` does (see {@link checkPort}, {@link nodeListenError}). */
function denoListen(deno: DenoListen, options: TcpServerOptions): DenoListener {
  const { host, port } = options;
  checkPort(port);
  try {
    return deno.listen({ hostname: host, port, transport: "tcp" });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const code = (err as { code?: string }).code ?? DENO_ERROR_CODES[err.name] ??
      (/lookup address/.test(err.message) ? "ENOTFOUND" : undefined);
    throw nodeListenError(err, code, err.message, host, port);
  }
}

async function listenNode(
  options: TcpServerOptions,
  accepted: (socket: ByteSocket) => void,
  acceptError: (e: Error) => void,
): Promise<TcpServer> {
  const srv = net.createServer({ noDelay: true }, (sock) => accepted(socketFromNodeSocket(sock)));
  await listenOn(srv, {
    port: options.port,
    host: options.host,
    ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
    ...(options.ipv6Only !== undefined ? { ipv6Only: options.ipv6Only } : {}),
    ...(options.reusePort !== undefined ? { reusePort: options.reusePort } : {}),
  });
  srv.on("error", acceptError); // a failed accept (listenOn keeps it from ending the process)
  const stopped = new Promise<void>((r) => srv.once("close", () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close() {
      if (srv.listening) srv.close();
      return stopped;
    },
  };
}
