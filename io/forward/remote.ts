/**
 * Remote forwarding (RFC 4254 §7.1, OpenSSH streamlocal): listeners on the
 * server (`tcpip-forward`, `streamlocal-forward@openssh.com`) and the
 * `forwarded-tcpip` / `forwarded-streamlocal@openssh.com` channels the server
 * opens for each connection they accept, routed to the listener's handler.
 *
 * @module
 */

import { ChannelOpenFailure } from "../../core/connection/channels.ts";
import { checkPort } from "../../core/connection/session_requests.ts";
import { SSHReader, SSHWriter } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { SSHListener } from "./listener.ts";
import type { ForwardedConnectionInfo } from "./stream.ts";
import { MAX_ADDRESS_LENGTH, MAX_SOCKET_PATH_LENGTH } from "../limits.ts";
import { RemoteForwardError } from "./errors.ts";
import { checkDestHost, checkSocketPath } from "./dest_host.ts";

/** What the registry needs from the connection. */
export interface RemoteForwardHost {
  globalRequest(name: string, data: Uint8Array): Promise<{ success: boolean; data: Uint8Array }>;
  /** Accepts a channel the server opened; returns its streams. */
  acceptChannel(channelId: number): ChannelIO;
  rejectChannel(channelId: number, reason: number, description: string): void;
  /** The connection's error once it is gone (its pending requests settle as refused). */
  lost?(): Error | undefined;
}

/**
 * Decides about one forwarded connection: resolve with what to do with the
 * accepted channel, or reject to refuse it (the server's client sees a failed
 * connection).
 */
export type ForwardedConnectionHandler = (
  info: ForwardedConnectionInfo,
) => Promise<ForwardedConnectionUse>;

/**
 * What a {@link ForwardedConnectionHandler} made ready: called with the accepted
 * channel; `dispose` (if any) when the channel could not be accepted after all (the
 * connection went away meanwhile), to release what was opened for it.
 */
export interface ForwardedConnectionUse {
  (channel: ChannelIO): void;
  dispose?(): void;
}

interface Entry {
  readonly listener: RemoteListener;
  readonly handler: ForwardedConnectionHandler;
}

/** A listener on the server; closing it cancels the forward. */
class RemoteListener implements SSHListener {
  readonly host: string | undefined;
  readonly port: number;
  readonly path: string | undefined;
  readonly closed: Promise<void>;
  #resolveClosed!: () => void;
  #cancel: (() => Promise<void>) | undefined;

  constructor(
    host: string | undefined,
    port: number,
    path: string | undefined,
    cancel: () => Promise<void>,
  ) {
    this.host = host;
    this.port = port;
    this.path = path;
    this.#cancel = cancel;
    this.closed = new Promise((r) => (this.#resolveClosed = r));
  }

  /** Cancels the forward on the server (if the connection is still up). */
  async close(): Promise<void> {
    const c = this.#cancel;
    this.#cancel = undefined;
    if (c) await c().catch(() => {});
    this.#resolveClosed();
    return this.closed;
  }

  /** The connection is gone: nothing to cancel. */
  drop(): void {
    this.#cancel = undefined;
    this.#resolveClosed();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Remote listeners of one connection and the routing of their channels.
 *
 * @example
 * ```ts ignore
 * const remote = new RemoteForwards({ globalRequest, acceptChannel, rejectChannel });
 * const l = await remote.listenTcp("localhost", 0, async () => (ch) => ch.close());
 * console.log(l.port);
 * ```
 */
export class RemoteForwards {
  readonly #host: RemoteForwardHost;
  readonly #tcp: Entry[] = [];
  readonly #paths = new Map<string, Entry>();

  /** Creates the registry for one connection. */
  constructor(host: RemoteForwardHost) {
    this.#host = host;
  }

  /**
   * Asks the server to listen on `host`:`port` (0 = any free port; "" = all
   * addresses, as OpenSSH reads it). Resolves with the listener (its `port` is
   * the bound one); rejects with {@link RemoteForwardError} when refused, with a
   * `RangeError` before asking for a port that is none or a host with a control character
   * (a NUL makes OpenSSH's sshd end the whole connection).
   */
  async listenTcp(
    host: string,
    port: number,
    handler: ForwardedConnectionHandler,
  ): Promise<SSHListener> {
    checkPort(port, "listenPort");
    checkDestHost(host, "listenHost");
    const reply = await this.#host.globalRequest(
      "tcpip-forward",
      new SSHWriter(32).writeStringUtf8(host).writeUint32(port).toBytes(),
    );
    if (!reply.success) {
      throw this.#host.lost?.() ??
        new RemoteForwardError(`The server refused to listen on ${host || "*"}:${port}`);
    }
    // With port 0 the reply carries the port the server chose (RFC 4254 §7.1).
    const bound = port === 0 && reply.data.length >= 4
      ? new SSHReader(reply.data).readUint32("bound port")
      : port;
    if (bound > 65535) {
      // As OpenSSH's ssh: no such port can be listened on, so nothing is forwarded.
      throw new RemoteForwardError(
        `The server reported port ${bound} for ${host || "*"}:0, which is no TCP port`,
      );
    }
    const listener: RemoteListener = new RemoteListener(host, bound, undefined, async () => {
      const at = this.#tcp.findIndex((e) => e.listener === listener);
      if (at >= 0) this.#tcp.splice(at, 1);
      await this.#host.globalRequest(
        "cancel-tcpip-forward",
        new SSHWriter(32).writeStringUtf8(host).writeUint32(bound).toBytes(),
      );
    });
    // The connection may have gone between the reply and here (both in one read): dropAll()
    // has run, and would never close a listener kept now.
    if (this.#host.lost?.()) listener.drop();
    else this.#tcp.push({ listener, handler });
    return listener;
  }

  /**
   * Asks the server to listen on a UNIX socket path (OpenSSH's streamlocal-forward); a
   * path with a NUL (which makes OpenSSH's sshd end the whole connection) is a
   * `RangeError`, not sent.
   */
  async listenPath(path: string, handler: ForwardedConnectionHandler): Promise<SSHListener> {
    checkSocketPath(path, "listenPath");
    const reply = await this.#host.globalRequest(
      "streamlocal-forward@openssh.com",
      new SSHWriter(32).writeStringUtf8(path).toBytes(),
    );
    if (!reply.success) {
      throw this.#host.lost?.() ??
        new RemoteForwardError(`The server refused to listen on socket ${path}`);
    }
    const listener = new RemoteListener(undefined, 0, path, async () => {
      this.#paths.delete(path);
      await this.#host.globalRequest(
        "cancel-streamlocal-forward@openssh.com",
        new SSHWriter(32).writeStringUtf8(path).toBytes(),
      );
    });
    if (this.#host.lost?.()) listener.drop();
    else this.#paths.set(path, { listener, handler });
    return listener;
  }

  /**
   * Routes a channel the server opens. Returns false for channel types that are
   * not remote forwarding; true when it took care of the channel (accepted it
   * once the handler agreed, or refused it).
   */
  handleOpen(channelType: string, data: Uint8Array, channelId: number): boolean {
    let entry: Entry | undefined;
    let info: ForwardedConnectionInfo;
    try {
      const r = new SSHReader(data);
      if (channelType === "forwarded-tcpip") {
        const host = r.readStringUtf8("connected address", MAX_ADDRESS_LENGTH);
        const port = r.readUint32("connected port");
        info = {
          host,
          port,
          originHost: r.readStringUtf8("originator address", MAX_ADDRESS_LENGTH),
          originPort: r.readUint32("originator port"),
        };
        // The server names the listener by the address we asked for and its bound port.
        entry = this.#tcp.find((e) => e.listener.port === port && e.listener.host === host) ??
          this.#tcp.find((e) => e.listener.port === port);
      } else if (channelType === "forwarded-streamlocal@openssh.com") {
        const path = r.readStringUtf8("socket path", MAX_SOCKET_PATH_LENGTH);
        info = { path };
        entry = this.#paths.get(path);
      } else {
        return false;
      }
    } catch {
      this.#host.rejectChannel(channelId, ChannelOpenFailure.CONNECT_FAILED, "Malformed open");
      return true;
    }
    if (!entry) {
      this.#host.rejectChannel(
        channelId,
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
        "No such forward",
      );
      return true;
    }
    entry.handler(info).then(
      (use) => {
        let channel: ChannelIO;
        try {
          channel = this.#host.acceptChannel(channelId);
        } catch (e) {
          use.dispose?.();
          throw e;
        }
        use(channel);
      },
      (e) => this.#host.rejectChannel(channelId, ChannelOpenFailure.CONNECT_FAILED, whyNot(e)),
    ).catch(() => {/* the connection went away meanwhile */});
    return true;
  }

  /** The connection is gone: every listener is closed without a cancel request. */
  dropAll(): void {
    for (const e of this.#tcp.splice(0)) e.listener.drop();
    for (const e of this.#paths.values()) e.listener.drop();
    this.#paths.clear();
  }
}

/**
 * What the server is told when a forwarded connection cannot reach its destination: the
 * kind of failure (`ECONNREFUSED`, `ENOTFOUND`), never the
 * message, which names the destination (`connect ECONNREFUSED 10.0.0.5:5432`) that only
 * this side knows. OpenSSH's ssh sends `strerror()` alone; the full message is logged here.
 */
function whyNot(e: unknown): string {
  const { code, name } = (e ?? {}) as { code?: unknown; name?: unknown };
  const kind = typeof code === "string" && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)
    ? code
    : typeof name === "string" && /^[A-Za-z]{1,40}$/.test(name) && name !== "Error"
    ? name
    : "";
  return kind ? `Connect failed: ${kind}` : "Connect failed";
}
