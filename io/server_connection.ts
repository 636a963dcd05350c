/**
 * One client connection on the server (AsyncSSH's SSHServerConnection): the
 * server engine on a socket, authentication through the hooks, session,
 * forwarding and global requests, and host key rotation notices.
 *
 * @module
 */

import { sftpProcessFactory } from "./sftp/server.ts";
import type { AuthVerdict } from "../core/auth/server_auth.ts";
import {
  ChannelOpenFailure,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
} from "../core/connection/channels.ts";
import { decodeTcpipOpen } from "../core/connection/session_requests.ts";
import { DisconnectReason, SSHError } from "../core/errors.ts";
import {
  ServerConnection,
  type ServerConnectionOptions,
  type ServerEvent,
} from "../core/server/server_connection.ts";
import type { NegotiatedAlgorithms } from "../core/transport/kexinit.ts";
import { ChannelIO, routeChannelEvent } from "./channel.ts";
import { EngineDriver } from "./driver.ts";
import type { LineEditorOptions } from "./line_editor.ts";
import { type AuthContext, AuthHandler, offeredMethods } from "./server_auth_hooks.ts";
import {
  allowsListen,
  allowsOpen,
  type AuthorizedKeysSource,
  type ConnectionPermissions,
  UNRESTRICTED,
} from "./server_auth_keys.ts";
import {
  bridgeChannel,
  connectTcp,
  connectUnix,
  decodeStreamlocalForward,
  decodeStreamlocalOpen,
  decodeTcpipForward,
  RemoteListeners,
} from "./server_forwarding.ts";
import type { ServerHostKey } from "./server_host_keys.ts";
import type { ListenOptions, ServerConnectionInfo, ServerHooks } from "./server_options.ts";
import { attachSession } from "./server_session.ts";
import { type ByteSocket, socketFromWebDuplex, type WebDuplex } from "./socket.ts";

/** What `listen()` resolved once for all connections. */
export interface ServerSetup {
  /** The `listen()` options. */
  readonly options: ListenOptions;
  /** Host keys, loaded. */
  readonly hostKeys: readonly ServerHostKey[];
  /** Engine options shared by every connection (algorithms, signers, limits). */
  readonly engine: Omit<ServerConnectionOptions, "methods">;
  /** User signature algorithms accepted. */
  readonly signatureAlgorithms: readonly string[];
}

/** Negotiated parameters and peer facts (AsyncSSH's get_extra_info). */
export interface ServerExtraInfo {
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The client's port. */
  readonly remotePort: number | undefined;
  /** Our address the client connected to. */
  readonly localAddress: string | undefined;
  /** Our port the client connected to. */
  readonly localPort: number | undefined;
  /** The authenticated user. */
  readonly username: string | undefined;
  /** The method that authenticated the user. */
  readonly authMethod: string | undefined;
  /** The client's identification line. */
  readonly clientVersion: string | undefined;
  /** Our identification line. */
  readonly serverVersion: string;
  /** The algorithms of the last key exchange. */
  readonly algorithms: NegotiatedAlgorithms | null;
  /** Whether strict kex is in force. */
  readonly strictKex: boolean;
  /** Key exchanges completed (1 after the handshake, +1 per rekey). */
  readonly kexCount: number;
  /** Which implementation seals and opens packets each way. */
  readonly cryptoProviders: { send: string; receive: string };
}

/** IPv4 clients on a dual-stack listener show up as ::ffff:a.b.c.d; report a.b.c.d. */
function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/**
 * A client connection as the server sees it; hooks receive it.
 *
 * @example Per-connection state with serverFactory
 * ```ts ignore
 * await listen({ ..., serverFactory: (conn) => ({
 *   validatePassword: (user, pw) => check(conn.remoteAddress, user, pw),
 * }) });
 * ```
 */
export class SSHServerConnection implements ServerConnectionInfo, AsyncDisposable {
  /** The client's address. */
  readonly remoteAddress: string | undefined;
  /** The client's port. */
  readonly remotePort: number | undefined;
  /** Our address the client connected to. */
  readonly localAddress: string | undefined;
  /** Our port the client connected to. */
  readonly localPort: number | undefined;
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
  readonly #setup: ServerSetup;
  readonly #o: ListenOptions;
  readonly #perConnection: ServerHooks | undefined;
  readonly #engine: ServerConnection;
  readonly #driver: EngineDriver<ServerEvent>;
  readonly #auth: AuthHandler;
  readonly #channels = new Map<number, ChannelIO>();
  readonly #opening = new Map<
    number,
    { ch: ChannelIO; resolve: (c: ChannelIO) => void; reject: (e: Error) => void }
  >();
  readonly #listeners: RemoteListeners;
  #authorizedKeys: AuthorizedKeysSource | undefined;
  #username: string | undefined;
  #authMethod: string | undefined;
  #permissions: ConnectionPermissions = UNRESTRICTED;
  #error: Error | undefined;
  #closedResolve!: () => void;
  readonly #onAuthenticated: () => void;

  /** Created by `listen()` for each accepted socket. */
  constructor(socket: ByteSocket, setup: ServerSetup, onAuthenticated: () => void) {
    this.#setup = setup;
    this.#o = setup.options;
    this.#onAuthenticated = onAuthenticated;
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort;
    this.localAddress = plainAddress(socket.localAddress);
    this.localPort = socket.localPort;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.#authorizedKeys = this.#o.authorizedClientKeys;
    this.#perConnection = this.#o.serverFactory?.(this);
    const ctx: AuthContext = {
      conn: this,
      hook: (name) => this.#hook(name),
      authorizedKeys: () => this.#authorizedKeys,
      signatureAlgorithms: setup.signatureAlgorithms,
    };
    this.#auth = new AuthHandler(ctx);
    this.#listeners = new RemoteListeners(
      (type, data) => this.openChannel(type, data),
      this.#o.gatewayPorts ?? false,
    );
    this.#engine = new ServerConnection({ ...setup.engine, methods: offeredMethods(ctx, this.#o) });
    this.#hook("connectionMade")?.(this);
    this.#driver = new EngineDriver(
      this.#engine,
      socket,
      (e) => this.#onEvent(e),
      (err) => this.#onClosed(err),
    );
  }

  /** The authenticated user (undefined before authentication). */
  get username(): string | undefined {
    return this.#username;
  }

  /** The method that authenticated the user ("publickey", "password", ...). */
  get authMethod(): string | undefined {
    return this.#authMethod;
  }

  /** What this connection may do (the authorized_keys options of the key that logged in). */
  get permissions(): ConnectionPermissions {
    return this.#permissions;
  }

  /** The sans-IO engine underneath. */
  get engine(): ServerConnection {
    return this.#engine;
  }

  /** Number of remote-forward listeners open. */
  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Negotiated algorithms, versions and more. */
  getExtraInfo(): ServerExtraInfo {
    const t = this.#engine.transport;
    return {
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.localAddress,
      localPort: this.localPort,
      username: this.#username,
      authMethod: this.#authMethod,
      clientVersion: t.peerVersion?.line,
      serverVersion: t.localVersion,
      algorithms: t.algorithms,
      strictKex: t.strictKex,
      kexCount: t.kexCount,
      cryptoProviders: t.cryptoProviders,
    };
  }

  /** Replaces `authorizedClientKeys` for this connection (e.g. per user, from `beginAuth`). */
  setAuthorizedKeys(source: AuthorizedKeysSource | undefined): void {
    this.#authorizedKeys = source;
    this.#auth.reloadKeys();
  }

  /** Opens a channel to the client (forwarded-tcpip, ...) and waits for its answer. */
  openChannel(channelType: string, data?: Uint8Array): Promise<ChannelIO> {
    if (this.#engine.closed) {
      return Promise.reject(new SSHError("ERR_CONNECTION_LOST", "The connection is closed"));
    }
    const window = this.#o.windowSize ?? DEFAULT_WINDOW;
    const id = this.#engine.openChannel(channelType, data, {
      window,
      maxPacket: this.#o.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(id, this.#engine, this.#driver, window);
    this.#driver.pump();
    return new Promise((resolve, reject) => this.#opening.set(id, { ch, resolve, reject }));
  }

  /** Sends DISCONNECT and closes. */
  disconnect(reason: number, description: string): Promise<void> {
    if (!this.#engine.closed) {
      this.#engine.disconnect(reason, description);
      this.#driver.pump();
    }
    const t = setTimeout(() => this.#driver.destroy(), 1000);
    return this.closed.then(() => clearTimeout(t));
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.disconnect(DisconnectReason.BY_APPLICATION, "Server shutting down");
  }

  /** Closes the connection (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #hook<K extends keyof ServerHooks>(name: K): ServerHooks[K] {
    const own = this.#perConnection;
    const pick = (from: ServerHooks | undefined) => {
      const f = from?.[name] as ((...a: unknown[]) => unknown) | undefined;
      return f ? f.bind(from) : undefined;
    };
    return (pick(own) ?? pick(this.#o)) as ServerHooks[K];
  }

  #onClosed(err: Error | undefined): void {
    this.#listeners.closeAll();
    const lost = new SSHError("ERR_CONNECTION_LOST", "Connection closed");
    for (const ch of this.#channels.values()) ch.abort(lost);
    for (const o of this.#opening.values()) {
      o.ch.abort(lost);
      o.reject(this.#error ?? lost);
    }
    this.#opening.clear();
    try {
      this.#hook("connectionLost")?.(this, this.#error ?? err);
    } catch { /* a hook's error must not break the close */ }
    this.#closedResolve();
  }

  #answer(id: number, get: () => Promise<AuthVerdict>): void {
    get()
      .catch((): AuthVerdict => ({ result: "failure" }))
      .then((v) => {
        if (!this.#engine.closed) this.#engine.answerAuth(id, v);
        this.#driver.pump();
      });
  }

  #onEvent(e: ServerEvent): void {
    if (routeChannelEvent(this.#channels, e)) return;
    switch (e.type) {
      case "authNone":
      case "authPassword":
      case "authPublicKey":
      case "authKbdint":
      case "authHostbased":
        return this.#answer(e.id, () => this.#auth.verdict(e));
      case "authenticated":
        this.#username = e.username;
        this.#authMethod = e.method;
        this.#permissions = this.#auth.permissions;
        this.#onAuthenticated();
        return;
      case "channelOpenRequest":
        return void this.#onChannelOpenRequest(e.channelId, e.channelType, e.data);
      case "channelOpen": {
        const o = this.#opening.get(e.channelId);
        if (!o) return;
        this.#opening.delete(e.channelId);
        this.#channels.set(e.channelId, o.ch);
        o.resolve(o.ch);
        return;
      }
      case "channelOpenFailure": {
        const o = this.#opening.get(e.channelId);
        this.#opening.delete(e.channelId);
        o?.reject(
          new SSHError(
            "ERR_CHANNEL_OPEN",
            `The client refused the channel: ${e.description || `reason ${e.reason}`}`,
          ),
        );
        return;
      }
      case "globalRequest":
        if (!this.#username) return this.#replyGlobal(e.requestId, e.wantReply, false);
        return void this.#onGlobalRequest(e.requestId, e.name, e.wantReply, e.data);
      case "disconnect":
        this.#error = e.error;
        return;
      default:
        return;
    }
  }

  #replyGlobal(requestId: number, wantReply: boolean, ok: boolean, data?: Uint8Array): void {
    if (!wantReply || this.#engine.closed) return;
    this.#engine.replyGlobalRequest(requestId, ok, data);
    this.#driver.pump();
  }

  /** Global replies must leave in request order; async answers queue behind earlier ones. */
  #globalChain: Promise<void> = Promise.resolve();

  #onGlobalRequest(id: number, name: string, wantReply: boolean, data: Uint8Array): void {
    const work = this.#globalRequest(name, data).catch(() => ({ ok: false }));
    this.#globalChain = this.#globalChain.then(async () => {
      const r: { ok: boolean; data?: Uint8Array } = await work;
      this.#replyGlobal(id, wantReply, r.ok, r.data);
    });
  }

  async #globalRequest(
    name: string,
    data: Uint8Array,
  ): Promise<{ ok: boolean; data?: Uint8Array }> {
    const p = this.#permissions;
    switch (name) {
      case "tcpip-forward": {
        const { host, port } = decodeTcpipForward(data);
        const hook = this.#hook("serverRequested");
        if (!hook || !allowsListen(p, host, port) || !(await hook(host, port, this))) {
          return { ok: false };
        }
        const bound = await this.#listeners.listenTcp(host, port);
        // RFC 4254 §7.1: the reply carries the port only when the client asked for port 0.
        return port === 0 ? { ok: true, data: uint32(bound) } : { ok: true };
      }
      case "cancel-tcpip-forward": {
        const { host, port } = decodeTcpipForward(data);
        return { ok: this.#listeners.cancelTcp(host, port) };
      }
      case "streamlocal-forward@openssh.com": {
        const path = decodeStreamlocalForward(data);
        const hook = this.#hook("unixServerRequested");
        if (!hook || !p.portForwarding || !(await hook(path, this))) return { ok: false };
        await this.#listeners.listenUnix(path);
        return { ok: true };
      }
      case "cancel-streamlocal-forward@openssh.com":
        return { ok: this.#listeners.cancelUnix(decodeStreamlocalForward(data)) };
      default:
        return { ok: false };
    }
  }

  async #onChannelOpenRequest(id: number, type: string, data: Uint8Array): Promise<void> {
    let answered = false;
    const reject = (reason: number, why: string) => {
      if (this.#engine.closed || answered || this.#channels.has(id)) return;
      answered = true;
      this.#engine.rejectChannel(id, reason, why);
      this.#driver.pump();
    };
    try {
      switch (type) {
        case "session":
          return await this.#openSession(id, reject);
        case "direct-tcpip": {
          const t = decodeTcpipOpen(data);
          const hook = this.#hook("connectionRequested");
          const answer = hook && allowsOpen(this.#permissions, t.host, t.port)
            ? await hook(t.host, t.port, t.originHost, t.originPort, this)
            : false;
          return await this.#openForward(
            id,
            answer,
            () => connectTcp(t.host, t.port),
            `${t.host}:${t.port}`,
            reject,
          );
        }
        case "direct-streamlocal@openssh.com": {
          const path = decodeStreamlocalOpen(data);
          const hook = this.#hook("unixConnectionRequested");
          const answer = hook && this.#permissions.portForwarding ? await hook(path, this) : false;
          return await this.#openForward(id, answer, () => connectUnix(path), path, reject);
        }
        default:
          return reject(ChannelOpenFailure.UNKNOWN_CHANNEL_TYPE, `Unknown channel type ${type}`);
      }
    } catch {
      // A hook failed or the request was malformed: say no more than that to the client.
      reject(ChannelOpenFailure.CONNECT_FAILED, `The server could not open the ${type} channel`);
    }
  }

  #accept(id: number): ChannelIO | undefined {
    if (this.#engine.closed) return undefined;
    const window = this.#o.windowSize ?? DEFAULT_WINDOW;
    this.#engine.acceptChannel(id, {
      window,
      maxPacket: this.#o.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(id, this.#engine, this.#driver, window);
    this.#channels.set(id, ch);
    this.#driver.pump();
    return ch;
  }

  async #openSession(id: number, reject: (reason: number, why: string) => void): Promise<void> {
    const o = this.#o;
    const hook = this.#hook("sessionRequested");
    const answer = hook ? await hook(this) : o.processFactory !== undefined ||
      o.sftpFactory !== undefined || o.sftp !== undefined;
    if (!answer) {
      return reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, "Sessions are not allowed");
    }
    const ch = this.#accept(id);
    if (!ch) return;
    const editor: LineEditorOptions | false = o.lineEditor === false ? false : {
      ...(o.lineHistorySize !== undefined ? { historySize: o.lineHistorySize } : {}),
      ...(o.maxLineLength !== undefined ? { maxLineLength: o.maxLineLength } : {}),
    };
    attachSession(ch, {
      conn: this,
      username: this.#username ?? "",
      permissions: this.#permissions,
      allowPty: o.allowPty ?? true,
      acceptEnv: o.acceptEnv,
      lineEditor: editor,
      processFactory: typeof answer === "function" ? answer : o.processFactory,
      sftpFactory: o.sftpFactory ?? (o.sftp !== undefined ? sftpProcessFactory(o.sftp) : undefined),
    });
  }

  async #openForward(
    id: number,
    answer: boolean | WebDuplex | null | undefined,
    connect: () => Promise<ByteSocket>,
    target: string,
    reject: (reason: number, why: string) => void,
  ): Promise<void> {
    if (!answer) {
      return reject(
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
        `Forwarding to ${target} is not allowed`,
      );
    }
    let sock: ByteSocket;
    try {
      sock = answer === true ? await connect() : socketFromWebDuplex(answer);
    } catch (e) {
      return reject(
        ChannelOpenFailure.CONNECT_FAILED,
        `Cannot connect to ${target}: ${(e as Error)?.message ?? e}`,
      );
    }
    const ch = this.#accept(id);
    if (!ch) return sock.destroy();
    await bridgeChannel(ch, sock);
  }
}

function uint32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}
