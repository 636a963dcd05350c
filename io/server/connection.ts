/**
 * One client connection on the server (AsyncSSH's SSHServerConnection): the
 * server engine on a socket, authentication through the hooks, session,
 * forwarding and global requests, and host key rotation notices.
 *
 * @module
 */

import type { SSHKey } from "../../keys/ssh_key.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { parseKeyOrCertificate } from "../../keys/trust/certificate_policy.ts";
import { sftpProcessFactory } from "../sftp/server.ts";
import { FileSessionLimits } from "../sftp/session_limits.ts";
import { scpProcessFactory } from "../scp/server.ts";
import type { AuthVerdict } from "../../core/auth/server_auth.ts";
import type { X509Certificate } from "../../keys/x509/certificate.ts";
import { ChannelOpenFailure } from "../../core/connection/channels.ts";
import { DisconnectReason, SSHError, withoutStack } from "../../core/errors.ts";
import {
  ServerConnection,
  type ServerConnectionOptions,
  type ServerEvent,
} from "../../core/server/server_connection.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import {
  type ForwardedConnectionInfo,
  type SSHStreamConnection,
  streamConnection,
} from "../forward/stream.ts";
import { ChannelTable } from "../engine/channel_table.ts";
import { encodeForwardedStreamlocal } from "../forward/server_listeners.ts";
import { EngineDriver } from "../engine/driver.ts";
import { ABORTED_HERE } from "../engine/errors.ts";
import type { AuthorizedKeysSource } from "../keys/authorized_keys.ts";
import type { ServerHostKey } from "../keys/types.ts";
import {
  DEFAULT_MAX_FILE_SESSIONS,
  DEFAULT_MAX_OPEN_FILES_PER_CONNECTION,
  DEFAULT_MAX_REMOTE_FORWARDS,
  DEFAULT_MAX_SESSIONS,
  SOCKET_CLOSE_GRACE_MS,
} from "../limits.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import {
  type AuthContext,
  AuthHandler,
  authMethodOf,
  type AuthRequestEvent,
  type ClientTrustOptions,
  offeredMethods,
} from "./auth_hooks.ts";
import type { ServerChannelOptions, ServerConnectionContext, ServerExtraInfo } from "./context.ts";
import {
  FORWARDING_REQUESTS,
  type GlobalReply,
  MAX_FORWARD_REQUEST_DATA,
  MAX_QUEUED_FORWARD_REQUESTS,
  type RejectChannel,
  ServerForwarding,
} from "./forwarding.ts";
import type { LineEditorOptions } from "./line_editor.ts";
import type { ListenOptions, ServerHooks } from "./options.ts";
import { Log } from "../engine/logger.ts";
import { type ConnectionPermissions, UNRESTRICTED } from "./permissions.ts";
import { attachSession, type SessionConfig } from "./session.ts";
import { startSessionAgent } from "../agent/server_forwarding.ts";
import { ServerX11 } from "./x11.ts";

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
  /** `x509TrustedCerts` and the files of `x509TrustedCertPaths`, loaded. */
  readonly x509TrustedCerts?: readonly X509Certificate[];
  /**
   * The trust settings every connection's authentication reads (one object per listener,
   * whose getters read the options at each use).
   */
  readonly trust: ClientTrustOptions;
}

/** IPv4 clients on a dual-stack listener show up as ::ffff:a.b.c.d; report a.b.c.d. */
function plainAddress(a: string | undefined): string | undefined {
  return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

/**
 * A client connection as the server sees it; hooks receive it.
 *
 * @example Per-connection state with serverFactory
 * ```ts
 * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   serverFactory: (conn) => ({
 *     validatePassword: (user, pw) => conn.remoteAddress === "127.0.0.1" && pw === "pw",
 *   }),
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * console.log(conn.getExtraInfo().username); // me
 * ```
 */
export class SSHServerConnection implements ServerConnectionContext {
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
  readonly #channels: ChannelTable;
  /** Made on first use: most connections never forward (a server holds thousands idle). */
  #forwardingState: ServerForwarding | undefined;
  /** The socket closed: forwarding made after that is closed at once (it listens nowhere). */
  #forwardingOver = false;
  #x11: ServerX11 | undefined;
  /** What this connection's SFTP and scp sessions may hold together. */
  readonly #fileLimits: FileSessionLimits;
  #authorizedKeys: AuthorizedKeysSource | undefined;
  #username: string | undefined;
  #authMethod: string | undefined;
  #authKey: SSHKey | SSHCertificate | undefined;
  #permissions: ConnectionPermissions = UNRESTRICTED;
  #error: Error | undefined;
  /** The application closed it here (close(), disconnect(), the server's close). */
  #closedHere = false;
  #closedResolve!: () => void;
  readonly #onAuthenticated: () => void;
  readonly #log: Log;
  /** Session channels open (or being opened) now, against `maxSessions`. */
  #sessions = 0;

  /** Created by `listen()` for each accepted socket. */
  constructor(socket: ByteSocket, setup: ServerSetup, onAuthenticated: () => void) {
    this.#setup = setup;
    this.#o = setup.options;
    this.#fileLimits = new FileSessionLimits({
      maxSessions: this.#o.maxFileSessions ?? DEFAULT_MAX_FILE_SESSIONS,
      maxOpenFiles: this.#o.maxOpenFilesPerConnection ?? DEFAULT_MAX_OPEN_FILES_PER_CONNECTION,
    });
    this.#onAuthenticated = onAuthenticated;
    this.remoteAddress = plainAddress(socket.remoteAddress);
    this.remotePort = socket.remotePort;
    this.localAddress = plainAddress(socket.localAddress);
    this.localPort = socket.localPort;
    this.#log = Log.from(this.#o, `[sshts server ${this.remoteAddress}:${this.remotePort}]`);
    this.#log.info(
      `connection from ${this.remoteAddress}:${this.remotePort} to ${this.localAddress}:${this.localPort}`,
    );
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.#authorizedKeys = this.#o.authorizedClientKeys;
    this.#perConnection = this.#o.serverFactory?.(this);
    const ctx: AuthContext = {
      conn: this,
      hook: (name) => this.#hook(name),
      authorizedKeys: () => this.#authorizedKeys,
      signatureAlgorithms: setup.signatureAlgorithms,
      trust: setup.trust,
      publicKeyAuthOptions: this.#o.publicKeyAuthOptions,
      log: this.#log,
      authenticationMethods: this.#o.authenticationMethods,
    };
    this.#auth = new AuthHandler(ctx);
    this.#engine = new ServerConnection({ ...setup.engine, methods: offeredMethods(ctx, this.#o) });
    this.#log.tracePackets(this.#engine.transport);
    // The driver may deliver events as soon as it exists: the table comes first.
    this.#channels = new ChannelTable(this.#engine, () => this.#driver, {
      windowSize: this.#o.windowSize,
      maxPacketSize: this.#o.maxPacketSize,
    });
    // A sync throw refuses the connection (listen() closes the socket); an async one is
    // logged, and the connection goes on.
    try {
      this.#logRejection("connectionMade", this.#hook("connectionMade")?.(this));
    } catch (e) {
      // No driver will ever run: a close() the hook began is over, and its timer must not fire.
      this.#closedResolve();
      throw e;
    }
    this.#driver = new EngineDriver(
      this.#engine,
      socket,
      (e) => this.#onEvent(e),
      (err) => this.#onClosed(err),
    );
  }

  get #forwarding(): ServerForwarding {
    if (this.#forwardingState) return this.#forwardingState;
    const f = this.#forwardingState = new ServerForwarding(
      {
        conn: this,
        hook: (name) => this.#hook(name),
        permissions: () => this.#permissions,
        accept: (id) => this.#accept(id),
        log: this.#log,
      },
      (type, data) => this.openChannel(type, data),
      {
        gatewayPorts: this.#o.gatewayPorts ?? false,
        maxListeners: this.#o.maxRemoteForwards ?? DEFAULT_MAX_REMOTE_FORWARDS,
        allowPrivilegedPorts: this.#o.allowPrivilegedPorts ?? false,
      },
    );
    if (this.#forwardingOver) f.closeAll();
    return f;
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
    return this.#forwardingState?.listenerCount ?? 0;
  }

  /** Negotiated algorithms, versions and more, with what {@link setExtraInfo} attached. */
  getExtraInfo(): ServerExtraInfo & Readonly<Record<string, unknown>> {
    const t = this.#engine.transport;
    return {
      ...this.#extra,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      localAddress: this.localAddress,
      localPort: this.localPort,
      username: this.#username,
      authMethod: this.#authMethod,
      authKey: this.#authKey,
      clientVersion: t.peerVersion?.line,
      serverVersion: t.localVersion,
      algorithms: t.algorithms,
      strictKex: t.strictKex,
      kexCount: t.kexCount,
      cryptoProviders: t.cryptoProviders,
    };
  }

  #extra: Record<string, unknown> = {};

  /**
   * Attaches application data to the connection, returned (merged) by
   * {@link getExtraInfo} (AsyncSSH's set_extra_info); the library's own fields
   * take precedence.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   authCompleted: (c) => c.setExtraInfo({ tenant: c.username === "me" ? "acme" : "none" }),
   *   processFactory: (p) => p.write(`${p.connection?.getExtraInfo().tenant}\n`),
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log((await conn.run("tenant")).stdout); // acme
   * ```
   */
  setExtraInfo(info: Readonly<Record<string, unknown>>): void {
    Object.assign(this.#extra, info);
  }

  /**
   * Replaces `authorizedClientKeys` for this connection (e.g. per user, from `beginAuth`).
   * A string is a file path, never text: one built here from the user name, which the
   * client chose, must not become key lines by looking like them. Give text as
   * `parseAuthorizedKeys(text)` (from `@sshts/ssh/keys`).
   */
  setAuthorizedKeys(source: AuthorizedKeysSource | undefined): void {
    this.#authorizedKeys = typeof source === "string" ? () => source : source;
    this.#auth.reloadKeys();
  }

  /**
   * Opens a channel to the client (forwarded-tcpip, ...) and waits for its
   * answer. `streams`, `windowSize` and `maxPacketSize` set the channel's
   * readable streams (2 for sessions, 1 for forwarding), receive window and
   * largest packet (default: the server's).
   *
   * @example
   * ```ts ignore
   * const ch = await conn.openChannel("x11", data, { streams: 1, windowSize: 64 * 1024 });
   * ```
   */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options: ServerChannelOptions = {},
  ): Promise<ChannelIO> {
    if (this.#engine.closed) {
      return Promise.reject(new SSHError("ERR_CONNECTION_LOST", "The connection is closed"));
    }
    // Misuse (before authentication, say) rejects like every other failure (the table's).
    return this.#channels.open(channelType, data, options.streams ?? 2, {
      window: options.windowSize,
      maxPacket: options.maxPacketSize,
    });
  }

  /**
   * Opens a forwarded-tcpip channel to the client, as if a connection from
   * `originHost`:`originPort` had reached the listener `listenHost`:`listenPort`
   * the client asked for (`ssh -R`; AsyncSSH's server-side open_connection).
   * The client must have that forward: it refuses others.
   *
   * @example Push a connection to the client's `ssh -R 8080:...` forward
   * ```ts ignore
   * await using c = await conn.openConnection("localhost", 8080, { originHost: "10.1.2.3" });
   * await c.writable.getWriter().write(bytes);
   * ```
   */
  async openConnection(
    listenHost: string,
    listenPort: number,
    options: ServerChannelOptions & {
      readonly originHost?: string;
      readonly originPort?: number;
    } = {},
  ): Promise<SSHStreamConnection> {
    const info: ForwardedConnectionInfo = {
      host: listenHost,
      port: listenPort,
      originHost: options.originHost ?? "127.0.0.1",
      originPort: options.originPort ?? 0,
    };
    const ch = await this.openChannel(
      "forwarded-tcpip",
      encodeTcpipOpen(listenHost, listenPort, info.originHost!, info.originPort!),
      { ...options, streams: 1 },
    );
    return streamConnection(ch, info);
  }

  /**
   * Opens a forwarded-streamlocal@openssh.com channel to the client for the
   * socket path it asked the server to listen on (`ssh -R path:...`).
   *
   * @example
   * ```ts ignore
   * await using c = await conn.openUnixConnection("/tmp/app.sock");
   * ```
   */
  async openUnixConnection(
    listenPath: string,
    options: ServerChannelOptions = {},
  ): Promise<SSHStreamConnection> {
    const ch = await this.openChannel(
      "forwarded-streamlocal@openssh.com",
      encodeForwardedStreamlocal(listenPath),
      { ...options, streams: 1 },
    );
    return streamConnection(ch, { path: listenPath });
  }

  /** Sends DISCONNECT and closes. */
  disconnect(reason: number, description: string): Promise<void> {
    if (!this.#engine.closed) {
      this.#closedHere = true;
      this.#engine.disconnect(reason, description);
      // No driver yet inside connectionMade: the driver sends the DISCONNECT once it starts.
      this.#driver?.pump();
    }
    const t = setTimeout(() => this.#driver?.destroy(), SOCKET_CLOSE_GRACE_MS);
    return this.closed.then(() => clearTimeout(t));
  }

  /**
   * Sends an SSH DEBUG message: text the client may log, or show its user when
   * `alwaysDisplay` is set (OpenSSH's client prints those).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   beginAuth: (user, c) => (c.sendDebug(`hello ${user}`, true), true),
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   *   onDebug: (message) => console.log(message), // hello me
   * });
   * ```
   */
  sendDebug(message: string, alwaysDisplay = false): void {
    if (this.#engine.closed) return;
    this.#engine.transport.sendDebug(message, alwaysDisplay);
    this.#driver?.pump();
  }

  /**
   * Sends an authentication banner now (AsyncSSH's `send_auth_banner`): a
   * banner made for the user or the client's address, from `beginAuth` (it
   * reaches the client before the answer to its first request). The static
   * `banner` option, if set, goes first. Throws a `LocalProtocolError`
   * (ERR_LOCAL_PROTOCOL) once the user is authenticated (RFC 4252 §5.4).
   *
   * @example A banner per user
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   beginAuth: (user, c) => {
   *     c.sendAuthBanner(`Welcome, ${user}.\n`);
   *     return true;
   *   },
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   *   onBanner: (text) => console.log(text), // Welcome, me.
   * });
   * ```
   */
  sendAuthBanner(message: string): void {
    if (this.#engine.closed) return;
    this.#engine.sendAuthBanner(message); // throws a LocalProtocolError after authentication
    this.#driver?.pump();
  }

  /**
   * Closes the socket at once, without DISCONNECT (the client sees the
   * connection lost, not closed by the server; this side's pending work and its
   * `connectionLost` hook see an ERR_BY_APPLICATION error).
   *
   * @example
   * ```ts ignore
   * conn.abort();
   * ```
   */
  abort(): void {
    this.#engine.abandon(ABORTED_HERE);
    // No driver yet inside connectionMade: finding the engine done, it ends the socket on start.
    this.#driver?.destroy();
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.disconnect(DisconnectReason.BY_APPLICATION, "Disconnected by application");
  }

  /** Closes the connection (`await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal A warning in this connection's log (from the library's own file servers). */
  logWarning(message: string): void {
    this.#log.warn(message);
  }

  /** An application hook (or what it set off) failed: the operator's log says so, and why. */
  #hookFailed(what: string, e: unknown): void {
    this.#log.warn(`${what} failed: ${(e as Error)?.stack ?? String(e)}`);
  }

  /**
   * A notification hook's result: an async hook that rejects must not become an unhandled
   * rejection (which ends a Node process, and every connection in it); it is logged.
   */
  #logRejection(hook: keyof ServerHooks, result: unknown): void {
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
      Promise.resolve(result).catch((e: unknown) => this.#hookFailed(`the ${hook} hook`, e));
    }
  }

  /** Runs a notification hook: what it throws or rejects with is logged, never thrown. */
  #notify(hook: keyof ServerHooks, call: () => unknown): void {
    try {
      this.#logRejection(hook, call());
    } catch (e) {
      this.#hookFailed(`the ${hook} hook`, e);
    }
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
    this.#log.info(`connection closed${err ? `: ${err.message}` : ""}`);
    this.#forwardingOver = true;
    this.#forwardingState?.closeAll();
    const why = this.#error ?? err;
    // What the channels still open fail with; its cause carries any stack worth having.
    const lost = withoutStack(() =>
      new SSHError("ERR_CONNECTION_LOST", "Connection closed", why ? { cause: why } : undefined)
    );
    this.#channels.failAll(lost, this.#error ?? lost);
    // Closed here, by the application: no error (unless the peer's DISCONNECT came first).
    const peerSaid = (this.#error as { fromPeer?: boolean } | undefined)?.fromPeer === true;
    const reported = this.#closedHere && !peerSaid ? undefined : this.#error ?? err;
    this.#notify("connectionLost", () => this.#hook("connectionLost")?.(this, reported));
    this.#closedResolve();
  }

  #answer(id: number, get: () => Promise<AuthVerdict>, e?: AuthRequestEvent): void {
    get()
      .catch((e: unknown): AuthVerdict => {
        // A refusal to the client; to the operator, a hook that failed (a database down)
        // is no wrong password.
        this.#log.warn(
          `an authentication hook failed (counted as a refusal): ${
            (e as Error)?.stack ?? String(e)
          }`,
        );
        return { result: "failure" };
      })
      .then((v) => {
        if (e) this.#logAttempt(e, v);
        if (!this.#engine.closed) this.#engine.answerAuth(id, v);
        this.#driver.pump();
      });
  }
  /**
   * An audit line per credential decided, as sshd's "Accepted/Failed publickey for alice from
   * 10.0.0.1 port 5022 ssh2: ED25519 SHA256:…" (a key the server would take, and a question
   * asked, are no decision yet).
   */
  #logAttempt(e: AuthRequestEvent, v: AuthVerdict): void {
    if (!this.#log.on("info")) return; // (a key parse per login, for nobody)
    // A key the server would take is asked for its signature next: decided then. One it
    // refuses is a failure now, as sshd logs it.
    if (
      e.type === "authNone" || (e.type === "authPublicKey" && !e.signed && v.result !== "failure")
    ) {
      return;
    }
    if (v.result !== "success" && v.result !== "failure" && v.result !== "partial") return;
    const method = authMethodOf(e);
    if (e.type === "authKbdint" && e.responses === undefined) return;
    let key = "";
    if (e.type === "authPublicKey" || e.type === "authHostbased") {
      try {
        const k = parseKeyOrCertificate(e.keyBlob);
        const id = k instanceof SSHCertificate
          ? ` ID ${JSON.stringify(k.keyId)} serial ${k.serial}`
          : "";
        key = `: ${e.algorithm} ${k.getFingerprint()}${id}`;
      } catch {
        key = `: ${e.algorithm} (a key that does not parse)`;
      }
    }
    const what = v.result === "success"
      ? "Accepted"
      : v.result === "partial"
      ? "Partial"
      : "Failed";
    this.#log.info(
      `${what} ${method} for ${
        JSON.stringify(e.username)
      } from ${this.remoteAddress} port ${this.remotePort}${key}`,
    );
  }

  #onEvent(e: ServerEvent): void {
    this.#log.event(e);
    if (this.#channels.route(e)) return;
    switch (e.type) {
      case "authNone":
      case "authPassword":
      case "authPublicKey":
      case "authKbdint":
      case "authHostbased":
        return this.#answer(e.id, () => this.#auth.verdict(e), e);
      case "authenticated":
        this.#username = e.username;
        this.#authMethod = e.method;
        // The key of a publickey step (the last one of a chain may be another method).
        this.#authKey = this.#auth.authKey;
        this.#permissions = this.#auth.permissions;
        this.#onAuthenticated();
        this.#notify("authCompleted", () => this.#hook("authCompleted")?.(this));
        return;
      case "channelOpenRequest":
        return void this.#onChannelOpenRequest(e.channelId, e.channelType, e.data);
      case "globalRequest":
        if (!this.#username) return this.#replyGlobal(e.requestId, e.wantReply, false);
        return void this.#onGlobalRequest(e.requestId, e.name, e.wantReply, e.data);
      case "disconnect": {
        this.#error = e.error;
        // The engine is done; the socket follows. A client that stopped answering (or never
        // reads) will not close its side, and would hold the socket and everything behind it:
        // cut it at once for keepalive, after a grace period for the DISCONNECT otherwise.
        const t = setTimeout(
          () => this.#driver.destroy(),
          e.error.code === "ERR_KEEPALIVE" ? 0 : SOCKET_CLOSE_GRACE_MS,
        );
        (t as { unref?: () => void }).unref?.();
        void this.closed.then(() => clearTimeout(t));
        return;
      }
      case "debug":
        this.#notify(
          "debugReceived",
          () => this.#hook("debugReceived")?.(this, e.message, e.alwaysDisplay),
        );
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

  /** The forwarding requests being handled, one after the other; undefined when none is. */
  #globalChain: Promise<void> | undefined;
  /** Forwarding requests in the chain (see MAX_QUEUED_FORWARD_REQUESTS). */
  #globalQueued = 0;
  /** The queue's refusal was logged (once until it empties, not once per request). */
  #globalFullLogged = false;

  /**
   * Handles forwarding requests strictly in the order they came, as sshd does: each one
   * starts once the one before it is answered (a cancel-tcpip-forward sent right behind its
   * tcpip-forward finds the listener that one bound, even while a hook decides). A request
   * without want-reply runs in turn and is not answered. Other names are refused at once,
   * outside the queue: nothing to wait for, and ServerConnection sends every reply in the
   * order the requests came whatever order they are answered in. At most
   * MAX_QUEUED_FORWARD_REQUESTS wait; later ones are refused. Nothing here throws, so one
   * request's failure never stops the next.
   */
  #onGlobalRequest(id: number, name: string, wantReply: boolean, data: Uint8Array): void {
    const forwarding = FORWARDING_REQUESTS.has(name);
    if (!forwarding || this.#globalQueued >= MAX_QUEUED_FORWARD_REQUESTS) {
      if (forwarding && !this.#globalFullLogged) {
        this.#globalFullLogged = true;
        this.#log.info(
          `refused ${name} and the forwarding requests after it: ` +
            `${MAX_QUEUED_FORWARD_REQUESTS} wait already for a slow forwarding hook`,
        );
      }
      try {
        this.#replyGlobal(id, wantReply, false);
      } catch { /* the connection is ending: nothing left to answer */ }
      return;
    }
    // Its fields fit in this; trailing bytes a client added would only be held.
    const kept = data.length > MAX_FORWARD_REQUEST_DATA
      ? data.slice(0, MAX_FORWARD_REQUEST_DATA)
      : data;
    this.#globalQueued++;
    const run = async (): Promise<void> => {
      let r: GlobalReply;
      try {
        r = await this.#forwarding.globalRequest(name, kept);
      } catch (e) {
        // Refused to the client; to the operator, a hook that failed is no policy refusal.
        this.#hookFailed(`the ${name} request's hook`, e);
        r = { ok: false };
      }
      if (--this.#globalQueued === 0) this.#globalFullLogged = false;
      try {
        this.#replyGlobal(id, wantReply, r.ok, r.data);
      } catch { /* the connection is ending: nothing left to answer */ }
    };
    // With nothing queued, the request starts at once, as before.
    const chain = this.#globalChain ? this.#globalChain.then(run) : run();
    this.#globalChain = chain;
    void chain.then(() => {
      if (this.#globalChain === chain) this.#globalChain = undefined;
    });
  }

  async #onChannelOpenRequest(id: number, type: string, data: Uint8Array): Promise<void> {
    let answered = false;
    const reject = (reason: number, why: string) => {
      if (this.#engine.closed || answered || this.#channels.has(id)) return;
      answered = true;
      this.#channels.reject(id, reason, why);
    };
    try {
      switch (type) {
        case "session":
          return await this.#openSession(id, reject);
        case "direct-tcpip":
          return await this.#forwarding.openDirectTcpip(id, data, reject);
        case "direct-streamlocal@openssh.com":
          return await this.#forwarding.openDirectStreamlocal(id, data, reject);
        default:
          return reject(ChannelOpenFailure.UNKNOWN_CHANNEL_TYPE, `Unknown channel type ${type}`);
      }
    } catch (e) {
      // A hook failed or the request was malformed: say no more than that to the client;
      // the operator's log has the error.
      this.#hookFailed(`opening a ${type} channel`, e);
      try {
        reject(ChannelOpenFailure.CONNECT_FAILED, `The server could not open the ${type} channel`);
      } catch { /* the channel is past refusing: nothing to answer, and no rejection to leak */ }
    }
  }

  #accept(id: number): ChannelIO | undefined {
    if (this.#engine.closed) return undefined;
    return this.#channels.accept(id);
  }

  async #openSession(id: number, reject: RejectChannel): Promise<void> {
    const o = this.#o;
    // Counted from the open (a slow hook holds a place too), released when it ends.
    if (this.#sessions >= (o.maxSessions ?? DEFAULT_MAX_SESSIONS)) {
      return reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, "Too many sessions");
    }
    this.#sessions++;
    let held = true;
    const release = () => {
      if (held) this.#sessions--;
      held = false;
    };
    try {
      await this.#startSession(id, reject, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  async #startSession(id: number, reject: RejectChannel, release: () => void): Promise<void> {
    const o = this.#o;
    const hook = this.#hook("sessionRequested");
    const answer = hook ? await hook(this) : o.processFactory !== undefined ||
      o.sftpFactory !== undefined || o.sftp !== undefined || o.scp !== undefined;
    if (!answer) {
      release();
      return reject(ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, "Sessions are not allowed");
    }
    const ch = this.#accept(id);
    if (!ch) return release();
    // Released as the close is read: the client's next open may be in the same read (as
    // sshd frees a session with its channel, before reading further).
    ch.onClosed = release;
    void ch.closedPromise.then(release, release);
    const editor: LineEditorOptions | false = o.lineEditor === false ? false : {
      ...(o.lineHistorySize !== undefined ? { historySize: o.lineHistorySize } : {}),
      ...(o.maxLineLength !== undefined ? { maxLineLength: o.maxLineLength } : {}),
    };
    const allowAgent = this.#hook("agentForwardingRequested");
    attachSession(ch, {
      conn: this,
      username: this.#username ?? "",
      permissions: this.#permissions,
      allowPty: o.allowPty ?? true,
      acceptEnv: o.acceptEnv,
      permitUserEnvironment: o.permitUserEnvironment,
      lineEditor: editor,
      processFactory: withScp(
        o.scp,
        typeof answer === "function" ? answer : o.processFactory,
        this.#fileLimits,
      ),
      sftpFactory: o.sftpFactory ??
        (o.sftp !== undefined ? sftpProcessFactory(o.sftp, this.#fileLimits) : undefined),
      // Refused at once without the hook or under no-agent-forwarding; else the hook decides.
      agentForwarding: allowAgent && this.#permissions.agentForwarding
        ? async () =>
          (await allowAgent(this)) ? await startSessionAgent(this, ch.closedPromise) : undefined
        : undefined,
      x11Forwarding: this.#x11Starter(ch),
      processRequested: this.#processRequested(),
      log: this.#log,
    });
  }

  /** The application's decision on each shell, exec or subsystem request, if it has a hook. */
  #processRequested(): SessionConfig["processRequested"] {
    const hook = this.#hook("processRequested");
    return hook ? (request) => hook(request, this) : undefined;
  }

  /** Starts X11 forwarding for a session when the hook (or the option) and permissions allow. */
  #x11Starter(ch: ChannelIO): SessionConfig["x11Forwarding"] {
    const option = this.#o.x11Forwarding;
    const allow = this.#hook("x11ForwardingRequested");
    if ((!allow && !option) || !this.#permissions.x11Forwarding) return undefined;
    return async (req) => {
      if (allow && !(await allow(this, req))) return undefined;
      this.#x11 ??= new ServerX11(this, typeof option === "object" ? option : {});
      return await this.#x11.start(req, this.#username ?? "", ch.closedPromise);
    };
  }
}

/** `listen({ scp })`: scp commands go to the SCP server, everything else to the process factory. */
function withScp(
  scp: ListenOptions["scp"],
  factory: ListenOptions["processFactory"],
  limits: FileSessionLimits,
): ListenOptions["processFactory"] {
  return scp === undefined ? factory : scpProcessFactory(scp, factory, limits);
}
