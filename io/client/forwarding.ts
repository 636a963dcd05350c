/**
 * The client's forwarding front end: local listeners whose connections go
 * through the server (`ssh -L`, UNIX socket paths, SOCKS `ssh -D`), and
 * listeners on the server whose connections come back to us (`ssh -R`,
 * `startServer`). Every listener closes with its connection.
 *
 * @module
 */

import type * as net from "node:net";
import { checkPort, encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import { SSHWriter } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeByteSocket, bridgeSocket } from "../forward/bridge.ts";
import { LocalListener, type SSHListener } from "../forward/listener.ts";
import { RemoteForwards } from "../forward/remote.ts";
import {
  type ForwardedConnectionInfo,
  type SSHStreamConnection,
  streamConnection,
} from "../forward/stream.ts";
import { serveSocks } from "../forward/socks_server.ts";
import { checkDestHost, checkSocketPath } from "../forward/dest_host.ts";
import { connectLocal, type ListenAddress } from "../runtime/local_socket.ts";
import { openTcpSocket, tcpAdapterName } from "../runtime/tcp.ts";
import type { Log } from "../engine/logger.ts";
import { errorMessage } from "../../core/errors.ts";
import type {
  LocalPortForwardOptions,
  OpenChannelOptions,
  RemoteAcceptOptions,
  RemoteConnectionHandler,
  RemotePortForwardOptions,
  SocksForwardOptions,
} from "./options.ts";

/** What forwarding needs from its connection. */
export interface ForwardingHost {
  /** Opens a channel and waits for the server's answer. */
  openChannel(
    channelType: string,
    data: Uint8Array,
    options: OpenChannelOptions,
  ): Promise<ChannelIO>;
  /** Accepts a channel the server opened. */
  adoptChannel(channelId: number, streams: 1 | 2): ChannelIO;
  /** Refuses a channel the server opened. */
  rejectChannel(channelId: number, reason: number, description: string): void;
  /** Sends a global request and waits for the reply. */
  globalRequest(name: string, data?: Uint8Array): Promise<{ success: boolean; data: Uint8Array }>;
  /** Throws when the connection is closed. */
  checkOpen(): void;
  /** The error {@link checkOpen} throws once the connection is closed; undefined before. */
  closedError(): Error | undefined;
  /** Whether the connection is closed. */
  isClosed(): boolean;
  /** The connection's logger. */
  readonly log: Log;
}

/** direct-streamlocal@openssh.com open data: socket path, reserved string, reserved uint32. */
export function encodeStreamlocalOpen(path: string): Uint8Array {
  return new SSHWriter(32).writeStringUtf8(path).writeStringUtf8("").writeUint32(0).toBytes();
}

/**
 * The forwarding of one client connection.
 *
 * @example
 * ```ts ignore
 * const fwd = new ClientForwarding(host);
 * const l = await fwd.forwardLocalPort({ listenPort: 0, destHost: "db", destPort: 5432 });
 * ```
 */
export class ClientForwarding {
  readonly #host: ForwardingHost;
  readonly #local = new Set<LocalListener>();
  readonly #remote: RemoteForwards;

  /** Forwarding for `host`'s connection. */
  constructor(host: ForwardingHost) {
    this.#host = host;
    this.#remote = new RemoteForwards({
      globalRequest: (name, data) => host.globalRequest(name, data),
      acceptChannel: (id) => host.adoptChannel(id, 1),
      rejectChannel: (id, reason, description) => host.rejectChannel(id, reason, description),
      lost: () => host.closedError(),
    });
  }

  /** `ssh -L`: see `SSHClientConnection.forwardLocalPort`. */
  forwardLocalPort(options: LocalPortForwardOptions): Promise<SSHListener> {
    // Refused before listening: each connection's open would carry it to the server.
    try {
      checkDestHost(options.destHost, "destHost");
      checkPort(options.destPort, "destPort");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#forwardLocal(
      { host: options.listenHost ?? "127.0.0.1", port: options.listenPort },
      (sock) =>
        encodeTcpipOpen(
          options.destHost,
          options.destPort,
          sock.remoteAddress ?? "127.0.0.1",
          sock.remotePort ?? 0,
        ),
      "direct-tcpip",
    );
  }

  /** `ssh -L path:path`: see `SSHClientConnection.forwardLocalPath`. */
  forwardLocalPath(
    options: { readonly listenPath: string; readonly destPath: string },
  ): Promise<SSHListener> {
    // Each connection's open would carry it to the server, which a NUL makes end the
    // whole connection (OpenSSH's sshd).
    try {
      checkSocketPath(options.destPath, "destPath");
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#forwardLocal(
      { path: options.listenPath },
      () => encodeStreamlocalOpen(options.destPath),
      "direct-streamlocal@openssh.com",
    );
  }

  /** `ssh -R`: see `SSHClientConnection.forwardRemotePort`. */
  forwardRemotePort(options: RemotePortForwardOptions): Promise<SSHListener> {
    this.#host.checkOpen();
    const dest = { host: options.destHost, port: options.destPort };
    const to = `${dest.host}:${dest.port}`;
    return this.#logged(
      `remote forward to ${to}`,
      this.#remote.listenTcp(
        options.listenHost ?? "localhost",
        options.listenPort,
        (info) => {
          this.#host.log.debug(`forwarded connection from ${describe(info)} to ${to}`);
          return this.#reaching(to, async () => {
            if (tcpAdapterName() === "deno") {
              // Deno's node:net client sockets cannot half-close; its own TCP adapter can.
              const sock = await openTcpSocket(dest.host, dest.port);
              return Object.assign((ch: ChannelIO) => void bridgeByteSocket(sock, ch), {
                dispose: () => sock.destroy(),
              });
            }
            const sock = await connectLocal(dest);
            return Object.assign((ch: ChannelIO) => void bridgeSocket(sock, ch), {
              dispose: () => sock.destroy(),
            });
          });
        },
      ),
    );
  }

  /** `ssh -R path:path`: see `SSHClientConnection.forwardRemotePath`. */
  forwardRemotePath(
    options: { readonly listenPath: string; readonly destPath: string },
  ): Promise<SSHListener> {
    this.#host.checkOpen();
    return this.#logged(
      `remote forward to ${options.destPath}`,
      this.#remote.listenPath(
        options.listenPath,
        () =>
          this.#reaching(options.destPath, async () => {
            const sock = await connectLocal({ path: options.destPath });
            return Object.assign((ch: ChannelIO) => void bridgeSocket(sock, ch), {
              dispose: () => sock.destroy(),
            });
          }),
      ),
    );
  }

  /** Connects a remote forward's channel to its local destination; a failure is logged. */
  async #reaching<T>(destination: string, connect: () => Promise<T>): Promise<T> {
    try {
      return await connect();
    } catch (e) {
      this.#host.log.warn(`remote forward: cannot reach ${destination}: ${errorMessage(e)}`);
      throw e;
    }
  }

  /** A listener on the server whose connections go to `handler` as streams. */
  startServer(
    handler: RemoteConnectionHandler,
    options: { readonly listenHost?: string; readonly listenPort: number } & RemoteAcceptOptions,
  ): Promise<SSHListener> {
    this.#host.checkOpen();
    return this.#remote.listenTcp(
      options.listenHost ?? "localhost",
      options.listenPort,
      accepting(options.accept, (info) => (ch) => runHandler(handler, streamConnection(ch, info))),
    );
  }

  /** Like {@link startServer}, on a UNIX socket path on the server. */
  startUnixServer(
    handler: RemoteConnectionHandler,
    options: { readonly listenPath: string } & RemoteAcceptOptions,
  ): Promise<SSHListener> {
    this.#host.checkOpen();
    return this.#remote.listenPath(
      options.listenPath,
      accepting(options.accept, (info) => (ch) => runHandler(handler, streamConnection(ch, info))),
    );
  }

  /** `ssh -D`: see `SSHClientConnection.forwardSocks`. */
  async forwardSocks(options: SocksForwardOptions): Promise<SSHListener> {
    this.#host.checkOpen();
    const listener = await serveSocks(
      { host: options.listenHost ?? "127.0.0.1", port: options.listenPort },
      (request, sock) =>
        this.#host.openChannel(
          "direct-tcpip",
          encodeTcpipOpen(
            request.host,
            request.port,
            sock.remoteAddress ?? "127.0.0.1",
            sock.remotePort ?? 0,
          ),
          { streams: 1 },
        ),
    );
    return this.#track(listener);
  }

  /** Takes a forwarded-tcpip / forwarded-streamlocal channel of ours; false for others. */
  handleOpen(channelType: string, data: Uint8Array, channelId: number): boolean {
    return this.#remote.handleOpen(channelType, data, channelId);
  }

  /** The connection closed: every listener closes (what they forwarded dies with its channels). */
  closeAll(): void {
    for (const l of this.#local) void l.close(true);
    this.#local.clear();
    this.#remote.dropAll();
  }

  async #forwardLocal(
    address: ListenAddress,
    openData: (sock: net.Socket) => Uint8Array,
    channelType: string,
  ): Promise<SSHListener> {
    this.#host.checkOpen();
    const log = this.#host.log;
    // Named once bound (a port asked as 0 is the one chosen).
    let where = "path" in address ? address.path : `${address.host}:${address.port}`;
    const listener = await LocalListener.listen(address, (sock) => {
      log.debug(`local forward ${where}: connection from ${sock.remoteAddress ?? "a socket"}`);
      // What the client sends meanwhile waits in the socket's buffer (bounded: it stops
      // reading when full); a client gone meanwhile closes the channel again.
      this.#host.openChannel(channelType, openData(sock), { streams: 1 }).then(
        (ch) => {
          if (sock.destroyed) return void ch.close();
          void bridgeSocket(sock, ch);
        },
        (e) => {
          log.warn(
            `local forward ${where}: the server refused the ${channelType}: ${errorMessage(e)}`,
          );
          sock.destroy();
        },
      );
    });
    if (!("path" in address)) where = `${address.host}:${listener.port}`;
    log.info(`local forward listening on ${where} (${channelType})`);
    return this.#track(listener);
  }

  /** Logs a remote listener's outcome: where the server listens, or why it refused. */
  async #logged(what: string, listening: Promise<SSHListener>): Promise<SSHListener> {
    try {
      const l = await listening;
      this.#host.log.info(
        `${what}: the server listens on ${l.path ?? `${l.host || "*"}:${l.port}`}`,
      );
      return l;
    } catch (e) {
      // A RangeError is an argument refused before anything was sent.
      if (!(e instanceof RangeError)) {
        this.#host.log.warn(`${what}: the server refused to listen: ${errorMessage(e)}`);
      }
      throw e;
    }
  }

  #track(listener: LocalListener): LocalListener {
    if (this.#host.isClosed()) {
      void listener.close(true);
      return listener;
    }
    this.#local.add(listener);
    listener.onClose = () => this.#local.delete(listener);
    return listener;
  }
}

function runHandler(handler: RemoteConnectionHandler, conn: SSHStreamConnection): void {
  Promise.resolve().then(() => handler(conn)).catch(() => conn.close());
}

function describe(info: { readonly originHost?: string; readonly originPort?: number }): string {
  return `${info.originHost ?? "?"}:${info.originPort ?? "?"}`;
}

/**
 * A forwarded-connection handler that asks `accept` first: false (or a rejection) refuses the
 * connection before its channel is opened (OPEN_FAILURE, as ssh2's `reject()`).
 */
function accepting(
  accept: RemoteAcceptOptions["accept"],
  use: (info: ForwardedConnectionInfo) => (ch: ChannelIO) => void,
): (info: ForwardedConnectionInfo) => Promise<(ch: ChannelIO) => void> {
  return async (info) => {
    if (accept && (await accept(info)) !== true) {
      throw Object.assign(new Error("Refused by the application"), { code: "EREFUSED" });
    }
    return use(info);
  };
}
