/**
 * The server's forwarding front end, per connection: `ssh -L`/`-D` channels
 * (direct-tcpip, direct-streamlocal) carried to a socket we connect or one the
 * hook hands us, and `ssh -R` listeners (tcpip-forward, streamlocal-forward)
 * that open channels back to the client — each allowed only when the hook and
 * the connection's permissions say so.
 *
 * @module
 */

import { ChannelOpenFailure } from "../../core/connection/channels.ts";
import { decodeTcpipOpen } from "../../core/connection/session_requests.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { Log } from "../engine/logger.ts";
import { bridgeByteSocket } from "../forward/bridge.ts";
import {
  decodeStreamlocalForward,
  decodeStreamlocalOpen,
  decodeTcpipForward,
  type RemoteListenerOptions,
  RemoteListeners,
} from "../forward/server_listeners.ts";
import { MAX_SOCKET_PATH_LENGTH } from "../limits.ts";
import { connectUnix } from "../runtime/local_socket.ts";
import type { ByteSocket, WebDuplex } from "../runtime/socket.ts";
import { openTcpSocket } from "../runtime/tcp.ts";
import { socketFromWebDuplex } from "../runtime/web_duplex.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { MaybePromise, ServerHooks, VirtualRemoteForward } from "./options.ts";
import {
  allowsListen,
  allowsOpen,
  allowsStreamlocalOpen,
  type ConnectionPermissions,
} from "./permissions.ts";

/**
 * Forwarding global requests (tcpip-forward, streamlocal-forward and their cancels) one
 * connection may have waiting while a `serverRequested` or `unixServerRequested` hook
 * decides. They run one after the other (a cancel must find the listener the request before
 * it bound); without a cap, a client sending them without want-reply behind one slow hook
 * grew the queue without bound (want-reply ones stop at the core's 256 unanswered). Later
 * ones are refused (without want-reply: dropped), logged. sshd answers each at once; ssh
 * sends one per `-R` at login, and a cancel without want-reply per `-O cancel`.
 */
export const MAX_QUEUED_FORWARD_REQUESTS = 256;

/**
 * Bytes of a forwarding global request kept while it waits: its fields (a socket path of
 * {@link MAX_SOCKET_PATH_LENGTH} bytes, or an address and a port) fit, and the decoders
 * ignore what follows them. Bounds the waiting requests to about 1 MiB, not 256 of 64 KiB.
 */
export const MAX_FORWARD_REQUEST_DATA = 8 + MAX_SOCKET_PATH_LENGTH;

/** The global requests {@link ServerForwarding.globalRequest} answers; it refuses the others. */
export const FORWARDING_REQUESTS: ReadonlySet<string> = new Set([
  "tcpip-forward",
  "cancel-tcpip-forward",
  "streamlocal-forward@openssh.com",
  "cancel-streamlocal-forward@openssh.com",
]);

/** Refuses a channel the client asked for (once; nothing after it was answered). */
export type RejectChannel = (reason: number, why: string) => void;

/** What forwarding needs from its connection. */
export interface ServerForwardingHost {
  /** The connection, as hooks see it. */
  readonly conn: ServerConnectionContext;
  /** The hook of this name, per-connection hooks first. */
  hook<K extends keyof ServerHooks>(name: K): ServerHooks[K];
  /** What the authenticated user may do (known once authenticated). */
  permissions(): ConnectionPermissions;
  /** Accepts a channel the client opened (undefined once the connection is closed). */
  accept(id: number): ChannelIO | undefined;
  /** The connection's log (forwards its permissions refuse are logged there). */
  readonly log: Log;
}

/** The answer to a global request: ok, and the reply data if any. */
export interface GlobalReply {
  /** Success or failure. */
  readonly ok: boolean;
  /** Data for a successful reply. */
  readonly data?: Uint8Array;
}

/**
 * Forwarding of one server connection.
 *
 * @example
 * ```ts ignore
 * const open = (type: string, data: Uint8Array) => conn.openChannel(type, data);
 * const fwd = new ServerForwarding(host, open, { gatewayPorts: false, maxListeners: 64 });
 * const reply = await fwd.globalRequest("tcpip-forward", data);
 * ```
 */
export class ServerForwarding {
  readonly #host: ServerForwardingHost;
  readonly #listeners: RemoteListeners;
  readonly #privilegedPorts: boolean;

  /** `open` opens forwarded-* channels; `options` say where and how many listeners may bind. */
  constructor(
    host: ServerForwardingHost,
    open: (channelType: string, data: Uint8Array) => Promise<ChannelIO>,
    options: RemoteListenerOptions,
  ) {
    this.#host = host;
    this.#listeners = new RemoteListeners(open, options);
    this.#privilegedPorts = options.allowPrivilegedPorts ?? false;
  }

  /** Number of remote-forward listeners open. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Closes every listener and forwarded socket (the connection is gone). */
  closeAll(): void {
    this.#listeners.closeAll();
  }

  /** Answers tcpip-forward, streamlocal-forward and their cancels; refuses other requests. */
  async globalRequest(name: string, data: Uint8Array): Promise<GlobalReply> {
    const { conn } = this.#host;
    const p = this.#host.permissions();
    switch (name) {
      case "tcpip-forward": {
        const { host, port } = decodeTcpipForward(data);
        const hook = this.#host.hook("serverRequested");
        if (!hook || !allowsListen(p, host, port)) return { ok: false };
        const target = `${host}:${port}`;
        const bound = await this.#listen(name, target, () => hook(host, port, conn), (answer) => {
          if (answer !== true) return this.#keepVirtualTcp(target, host, port, answer);
          // A server started as root to listen on 22 would bind any port: sshd refuses
          // privileged ports to users who are not root, whatever their key's options say.
          if (port > 0 && port < 1024 && !this.#privilegedPorts) {
            this.#host.log.info(`forwarding: refused tcpip-forward to privileged port ${port}`);
            return Promise.resolve(undefined);
          }
          return this.#listeners.listenTcp(host, port);
        });
        if (bound === undefined) return { ok: false };
        // RFC 4254 §7.1: the reply carries the port only when the client asked for port 0.
        return port === 0 ? { ok: true, data: uint32(bound) } : { ok: true };
      }
      case "cancel-tcpip-forward": {
        const { host, port } = decodeTcpipForward(data);
        return { ok: this.#listeners.cancelTcp(host, port) };
      }
      case "streamlocal-forward@openssh.com": {
        const path = decodeStreamlocalForward(data);
        const hook = this.#host.hook("unixServerRequested");
        if (!hook || !p.portForwarding) return { ok: false };
        const ok = await this.#listen(name, path, () => hook(path, conn), (answer) => {
          if (answer === true) return this.#listeners.listenUnix(path).then(() => true);
          const close = closer(answer);
          const kept = this.#listeners.keepVirtualUnix(path, close);
          if (!kept) {
            this.#host.log.info(`forwarding: refused ${name} on ${path}: held already`);
            close();
          }
          return Promise.resolve(kept || undefined);
        });
        return { ok: ok === true };
      }
      case "cancel-streamlocal-forward@openssh.com":
        return { ok: this.#listeners.cancelUnix(decodeStreamlocalForward(data)) };
      default:
        return { ok: false };
    }
  }

  /**
   * Binds a remote forward the hook allows, holding its place under the cap meanwhile:
   * undefined when the cap is reached (logged; the hook is not asked), the hook refuses, or
   * the connection closed while the hook decided.
   */
  async #listen<T>(
    kind: string,
    target: string,
    allow: () => MaybePromise<boolean | VirtualRemoteForward>,
    bind: (answer: true | VirtualRemoteForward) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const l = this.#listeners;
    if (!l.reserve()) {
      if (!l.closed) {
        this.#host.log.info(
          `refused ${kind} on ${JSON.stringify(target)}: this connection holds ${l.max} ` +
            "remote forwards already (listen's maxRemoteForwards)",
        );
      }
      return undefined;
    }
    let answer: boolean | VirtualRemoteForward;
    try {
      const given: unknown = await allow();
      if (!given) return undefined;
      // Only an object is a virtual forward; any other truthy answer (1, "yes" from a
      // JavaScript hook) still means "listen", as it did before there were virtual ones.
      answer = typeof given === "object" ? given as VirtualRemoteForward : true;
      // The connection may have closed while the hook decided.
      if (l.closed) {
        if (answer !== true) closer(answer)();
        return undefined;
      }
      return await bind(answer);
    } finally {
      l.release();
    }
  }

  /** Keeps a tcpip-forward the application serves itself; the port the client is told. */
  #keepVirtualTcp(
    target: string,
    host: string,
    port: number,
    forward: VirtualRemoteForward,
  ): Promise<number | undefined> {
    const told = port === 0 ? forward.port : port;
    const refuse = (why: string) => {
      this.#host.log.info(`forwarding: refused tcpip-forward on ${JSON.stringify(target)}: ${why}`);
      closer(forward)();
      return Promise.resolve(undefined);
    };
    if (told === undefined || !Number.isInteger(told) || told < 1 || told > 65535) {
      return refuse("serverRequested gave no port (1-65535) for a port 0 request");
    }
    if (!this.#listeners.keepVirtualTcp(host, told, closer(forward))) {
      return refuse(`a forward on port ${told} is held already`);
    }
    return Promise.resolve(told);
  }

  /** A direct-tcpip channel: to host:port, if the hook and the permissions allow it. */
  async openDirectTcpip(id: number, data: Uint8Array, reject: RejectChannel): Promise<void> {
    const t = decodeTcpipOpen(data);
    const target = `${t.host}:${t.port}`;
    const hook = this.#host.hook("connectionRequested");
    const p = this.#host.permissions();
    // No host ("" is localhost to node:net, where sshd's resolver fails) or no TCP port: a
    // hook that refuses "localhost" by name must not be walked round.
    if (t.host === "" || t.port < 1 || t.port > 65535) {
      this.#host.log.info(`forwarding: refused direct-tcpip to ${JSON.stringify(target)}`);
      return void reject(ChannelOpenFailure.CONNECT_FAILED, "No such destination");
    }
    const permitted = allowsOpen(p, t.host, t.port);
    if (hook && !permitted) this.#refused("direct-tcpip", target, p);
    const answer = hook && permitted
      ? await hook(t.host, t.port, t.originHost, t.originPort, this.#host.conn)
      : false;
    await this.#openForward(
      id,
      answer,
      () => openTcpSocket(t.host, t.port, undefined, { allowHalfOpen: true }),
      target,
      reject,
      permitted,
    );
  }

  /**
   * A direct-streamlocal@openssh.com channel: to a UNIX socket path, if the hook and the
   * permissions allow it (a `permitopen` list holds sockets too, as in sshd).
   */
  async openDirectStreamlocal(id: number, data: Uint8Array, reject: RejectChannel): Promise<void> {
    const path = decodeStreamlocalOpen(data);
    const hook = this.#host.hook("unixConnectionRequested");
    const p = this.#host.permissions();
    const permitted = allowsStreamlocalOpen(p, path);
    if (hook && !permitted) this.#refused("direct-streamlocal", path, p);
    const answer = hook && permitted ? await hook(path, this.#host.conn) : false;
    await this.#openForward(id, answer, () => connectUnix(path, true), path, reject, permitted);
  }

  /** Logs a forward the key's options refuse (the application's hook is not asked). */
  #refused(kind: string, target: string, p: ConnectionPermissions): void {
    const why = !p.portForwarding
      ? "port forwarding is not allowed for this login (no-port-forwarding or restrict)"
      : kind === "direct-streamlocal"
      ? 'the key\'s permitopen list does not name this socket ("[path]:*" or "*:*")'
      : "the key's permitopen list does not name this destination";
    this.#host.log.info(`refused ${kind} to ${JSON.stringify(target)}: ${why}`);
  }

  async #openForward(
    id: number,
    answer: boolean | WebDuplex | null | undefined,
    connect: () => Promise<ByteSocket>,
    target: string,
    reject: RejectChannel,
    permitted: boolean,
  ): Promise<void> {
    if (!answer) {
      // (What the key's options refused was logged with why already.)
      if (permitted) {
        this.#host.log.info(`forwarding: the application refused ${JSON.stringify(target)}`);
      }
      return reject(
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
        `Forwarding to ${target} is not allowed`,
      );
    }
    let sock: ByteSocket;
    try {
      sock = answer === true ? await connect() : socketFromWebDuplex(answer);
    } catch (e) {
      const why = (e as Error)?.message ?? String(e);
      this.#host.log.info(`forwarding: cannot connect to ${JSON.stringify(target)}: ${why}`);
      return reject(ChannelOpenFailure.CONNECT_FAILED, `Cannot connect to ${target}: ${why}`);
    }
    this.#host.log.info(`forwarding: opened to ${JSON.stringify(target)}`);
    const ch = this.#host.accept(id);
    if (!ch) return sock.destroy();
    await bridgeByteSocket(sock, ch);
  }
}

/** A virtual forward's `close`, run at most once (and never throwing into the connection). */
function closer(forward: VirtualRemoteForward): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    try {
      forward.close?.();
    } catch { /* the application's: the forward is gone all the same */ }
  };
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
