/**
 * The base of the client connection: the async face of the client engine. It
 * owns the engine, its driver, its channel table (`io/engine/`), the
 * authenticator (`auth.ts`) and the forwarding front end (`forwarding.ts`), and
 * handles channels and global requests from the server and the connection's
 * life cycle. `connection.ts` builds the public {@link SSHClientConnection} on it.
 *
 * @module
 */

import { ClientConnection, type ClientEvent } from "../../core/client/client_connection.ts";
import { ChannelOpenFailure } from "../../core/connection/channels.ts";
import { DisconnectError, DisconnectReason, SSHError } from "../../core/errors.ts";
import { SSHReader } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { ChannelTable } from "../engine/channel_table.ts";
import { EngineDriver } from "../engine/driver.ts";
import { Log } from "../engine/logger.ts";
import { SOCKET_CLOSE_GRACE_MS } from "../limits.ts";
import {
  type ForwardedConnectionInfo,
  type SSHStreamConnection,
  streamConnection,
} from "../forward/stream.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import { ClientAuth } from "./auth.ts";
import { abortable, ABORTED_HERE, ChannelOpenError } from "../engine/errors.ts";
import { clientEngineOptions } from "./engine_options.ts";
import { ClientForwarding } from "./forwarding.ts";
import { checkChannelOpen } from "../forward/dest_host.ts";
import type { ClientExtraInfo, OpenChannelOptions, ResolvedConnectOptions } from "./options.ts";
import { MAX_ADDRESS_LENGTH } from "../limits.ts";
import {
  type AlgorithmKind,
  type Direction,
  hashHostKey,
  type HostKeyHashKind,
  negotiatedMethod,
  supportedAlgorithms,
} from "./session_controls.ts";

/**
 * The plumbing every client connection has: the engine, its driver and channel
 * table, authentication, channels the server opens, global requests and the
 * life cycle. {@link SSHClientConnection} adds processes, direct connections
 * and forwarding on top.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: (p) => p.write(`you ran ${p.command ?? p.subsystem}\n`),
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * const ch = await conn.openSession(); // a ChannelIO: nothing started on it yet
 * ch.close();
 * ```
 */
export class ClientConnectionBase implements AsyncDisposable {
  readonly #onDebug: ((message: string, alwaysDisplay: boolean) => void) | undefined;
  readonly #engine: ClientConnection;
  readonly #driver: EngineDriver<ClientEvent>;
  readonly #host: string;
  readonly #port: number;
  readonly #username: string;
  readonly #socket: ByteSocket;
  readonly #channels: ChannelTable;
  readonly #globalReplies = new Map<number, (r: { success: boolean; data: Uint8Array }) => void>();
  readonly #auth: ClientAuth;
  readonly #onHostKeysProved: ResolvedConnectOptions["onHostKeysProved"];
  #hostKeyUntrusted = false;
  /** Made on first use: most connections never forward (a fan-out holds thousands idle). */
  #forwarding: ClientForwarding | undefined;
  readonly #log: Log;
  #error: Error | undefined;
  #lastError: Error | undefined;
  readonly #keepaliveInterval: number;
  #closedByUs = false;
  #closedResolve!: () => void;
  /** Resolves when the connection is closed (by either side or an error); see `closeError`. */
  readonly closed: Promise<void>;
  #isClosed = false;
  /** Handles channels the server opens that nothing else takes; return true after `adoptChannel`. */
  onChannelOpen:
    | ((channelType: string, data: Uint8Array, channelId: number) => boolean)
    | undefined;
  /** Handles global requests from the server; default: refuse. */
  onGlobalRequest: ((name: string, data: Uint8Array) => boolean) | undefined;
  /**
   * Receives the server's x11 channels (after `x11Forwarding` on a process):
   * connect them to the local X server. Without a handler they are refused.
   */
  onX11Channel: ((conn: SSHStreamConnection) => void) | undefined;
  /**
   * Receives the server's auth-agent@openssh.com channels (after
   * `agentForwarding`): connect them to an agent. Without a handler they are refused.
   */
  onAgentChannel: ((conn: SSHStreamConnection) => void) | undefined;

  /**
   * The forwarding front end, for {@link SSHClientConnection}'s forwarding methods.
   *
   * @ignore
   */
  protected get forwarding(): ClientForwarding {
    return this.#forwarding ??= new ClientForwarding({
      openChannel: (type, data, o) => this.openChannel(type, data, o),
      adoptChannel: (id, streams) => this.adoptChannel(id, streams),
      rejectChannel: (id, reason, description) => this.#channels.reject(id, reason, description),
      globalRequest: (name, data) => this.globalRequest(name, data),
      checkOpen: () => this.#checkOpen(),
      closedError: () => this.#closedError(),
      isClosed: () => this.#isClosed || this.#engine.closed,
      log: this.#log,
    });
  }

  /**
   * This connection's logger (AsyncSSH's `conn.logger`): the `logger` and `logLevel` given to
   * `connect()`, or `SSHTS_DEBUG`, with the connection's prefix; it logs nothing when neither
   * asks. SFTP sessions, forwarding and agent forwarding log through it too.
   *
   * @example
   * ```ts ignore
   * const conn = await connect("db.example", { logger: console, logLevel: "debug" });
   * conn.logger.info("starting the nightly export"); // "[sshts client db.example:22] starting …"
   * if (conn.logger.on("debug")) conn.logger.debug(`options: ${JSON.stringify(opts)}`);
   * ```
   */
  get logger(): Log {
    return this.#log;
  }

  /** Use `connect()`. */
  constructor(
    host: string,
    port: number,
    socket: ByteSocket,
    options: ResolvedConnectOptions,
  ) {
    this.#host = host;
    this.#port = port;
    this.#socket = socket;
    this.#onHostKeysProved = options.onHostKeysProved;
    this.#onDebug = options.onDebug;
    this.#log = Log.from(options, `[sshts client ${host}:${port}]`);
    this.#keepaliveInterval = options.keepaliveInterval ?? 0;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    const engineOptions = clientEngineOptions(options);
    this.#username = engineOptions.username;
    this.#controlPath = options.controlPath;
    this.#engine = options.engine?.(engineOptions) ?? new ClientConnection(engineOptions);
    this.#log.tracePackets(this.#engine.transport);
    const pump = () => this.#driver.pump();
    // The driver may deliver events as soon as it exists: the table comes first.
    this.#channels = new ChannelTable(this.#engine, () => this.#driver, {
      windowSize: options.windowSize,
      maxPacketSize: options.maxPacketSize,
    });
    this.#auth = new ClientAuth({
      host,
      port,
      engine: this.#engine,
      options,
      pump,
      engineUsername: this.#username,
      address: socket.remoteAddress,
      hostKeyUntrusted: () => this.#hostKeyUntrusted,
      warn: (m) => this.#log.warn(m),
    });
    this.#driver = new EngineDriver(
      this.#engine,
      socket,
      (e) => this.#onEvent(e),
      (err) => this.#onSocketClosed(err),
    );
  }

  /**
   * The sans-IO engine underneath (for low-level control).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log(conn.engine.transport.kexCount); // 1
   * ```
   */
  get engine(): ClientConnection {
    return this.#engine;
  }

  /**
   * Whether the server's host key was let through though it is not the one known for the
   * host (`StrictHostKeyChecking no` with a changed key, see {@link markHostKeyUntrusted}).
   */
  get hostKeyUntrusted(): boolean {
    return this.#hostKeyUntrusted;
  }

  /**
   * Marks the server's host key as let through untrusted — a host key verifier that accepts
   * a changed key calls it (ssh_config's `StrictHostKeyChecking no` does). From then on the
   * connection treats the server as a possible impostor, as ssh does: no password or
   * keyboard-interactive answers (staged ones included), agent and X11 channels refused,
   * no `onHostKeysProved`.
   *
   * @example
   * ```ts ignore
   * connect(host, { hostKeyVerifier: () => true, connectionMade: (c) => c.markHostKeyUntrusted() });
   * ```
   */
  markHostKeyUntrusted(): void {
    this.#hostKeyUntrusted = true;
  }

  /**
   * Why the connection ended, when it did not end by our own `close()`,
   * `disconnect()` or `abort()`: a DisconnectError (ERR_KEEPALIVE for a peer
   * that stopped answering, ERR_CONNECTION_LOST, a protocol error, …).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.close();
   * console.log(conn.closeError); // undefined: we closed it ourselves
   * ```
   */
  get closeError(): Error | undefined {
    return this.#closedByUs ? undefined : this.#error;
  }

  /**
   * Whether the connection has ended (closed by us, by the peer, or lost): node-ssh's
   * `!isConnected()`, as a property; `closed` is the promise of it.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * const conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log(conn.isClosed); // false
   * await conn.close();
   * console.log(conn.isClosed); // true
   * ```
   */
  get isClosed(): boolean {
    return this.#isClosed || this.#engine.closed;
  }

  /**
   * Resolves once authenticated; rejects with the reason the connection failed.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * // connect() resolves once authenticated; a connection built by hand waits like this:
   * await conn.whenAuthenticated(AbortSignal.timeout(10_000));
   * ```
   */
  whenAuthenticated(signal?: AbortSignal): Promise<void> {
    return this.#auth.whenAuthenticated(signal);
  }

  /**
   * Negotiated algorithms, versions, host key and more.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const { algorithms, serverVersion } = conn.getExtraInfo();
   * console.log(serverVersion, algorithms?.cipherC2S);
   * ```
   */
  getExtraInfo(): ClientExtraInfo & Readonly<Record<string, unknown>> {
    const t = this.#engine.transport;
    return {
      ...this.#extra,
      host: this.#host,
      port: this.#port,
      username: this.#username,
      serverVersion: t.peerVersion?.line,
      clientVersion: t.localVersion,
      algorithms: t.algorithms,
      serverAlgorithms: t.peerKexInit,
      strictKex: t.strictKex,
      kexCount: t.kexCount,
      hostKeyBlob: t.hostKeyBlob,
      cryptoProviders: t.cryptoProviders,
      localAddress: this.#socket.localAddress,
      localPort: this.#socket.localPort,
      controlPath: this.#controlPath,
    };
  }

  /** The master's socket when the connection runs over one (see ClientExtraInfo). */
  readonly #controlPath: string | undefined;

  /** Made by the first `setExtraInfo` (most connections never call it). */
  #extra: Record<string, unknown> | undefined;

  /**
   * Attaches application data to the connection, returned (merged) by
   * {@link getExtraInfo} (AsyncSSH's set_extra_info). The library's own
   * fields take precedence over keys of the same name.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * conn.setExtraInfo({ region: "eu-west" });
   * console.log(conn.getExtraInfo().region); // eu-west
   * ```
   */
  setExtraInfo(info: Readonly<Record<string, unknown>>): void {
    Object.assign(this.#extra ??= {}, info);
  }

  // ---- libssh2's session controls ----

  /**
   * The server's host key hashed with `kind`, as raw bytes (libssh2's
   * `hostkey_hash`); null before the key exchange delivered the key.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const sha256 = conn.hostKeyHash("sha256")!;
   * console.log(btoa(String.fromCharCode(...sha256)).replace(/=+$/, "")); // as ssh prints it
   * ```
   */
  hostKeyHash(kind: HostKeyHashKind): Uint8Array | null {
    return hashHostKey(this.#engine.transport.hostKeyBlob, kind);
  }

  /**
   * The method the last key exchange agreed on for `kind` and `direction`
   * (libssh2's `session_methods`); direction matters for cipher, MAC and compression.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log(conn.negotiatedMethod("cipher", "s2c"), conn.negotiatedMethod("kex"));
   * ```
   */
  negotiatedMethod(kind: AlgorithmKind, direction: Direction = "c2s"): string | undefined {
    return negotiatedMethod(this.#engine.transport.algorithms, kind, direction);
  }

  /**
   * The algorithms of `kind` this run time supports (libssh2's `supported_algs`).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log(conn.supportedAlgorithms("kex"));
   * ```
   */
  supportedAlgorithms(kind: AlgorithmKind): string[] {
    return supportedAlgorithms(kind);
  }

  /**
   * Sends a keepalive now (`keepalive@openssh.com`, whose reply, success or
   * failure, shows the server is alive) and returns the seconds until the next
   * one is due under `keepaliveInterval` (libssh2's `keepalive_send`); 0 when
   * automatic keepalives are off.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   *   keepaliveInterval: 15_000,
   * });
   * console.log(conn.sendKeepalive()); // 15
   * ```
   */
  sendKeepalive(): number {
    void this.globalRequest("keepalive@openssh.com").catch(() => {});
    return Math.ceil(this.#keepaliveInterval / 1000);
  }

  /**
   * What the connection is waiting on (libssh2's `block_directions`): `inbound`
   * while it reads from the socket, `outbound` while the socket's write buffer
   * is full (writers wait for it to drain).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * if (conn.blockDirections.outbound) console.log("the network is the bottleneck");
   * ```
   */
  get blockDirections(): { readonly inbound: boolean; readonly outbound: boolean } {
    return this.#driver.blockDirections;
  }

  /**
   * The last error this connection met (libssh2's `last_error`): a refused
   * channel, or what ended the connection. Undefined when nothing failed. (A staged
   * authentication attempt answers with its own result, `StagedAuthResult`, before
   * the connection exists.)
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.openChannel("bogus").catch(() => {});
   * console.log(conn.lastError?.message); // the server's refusal
   * ```
   */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  // ---- channels and sessions ----

  /**
   * Opens a channel and waits for the server's confirmation.
   * Rejects with {@link ChannelOpenError} when the server refuses, and with a
   * `RangeError` (nothing sent) for a direct-tcpip whose host holds a control
   * character such as NUL.
   *
   * @example A raw session channel
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: (p) => p.write(`you ran ${p.command ?? p.subsystem}\n`),
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const ch = await conn.openChannel("session");
   * const exec = new Uint8Array([0, 0, 0, 4, ...new TextEncoder().encode("date")]); // string "date"
   * console.log(await ch.request("exec", exec)); // true: the server started it
   * ```
   */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options: OpenChannelOptions = {},
  ): Promise<ChannelIO> {
    // A promise was promised: a closed connection rejects it rather than throwing.
    const closed = this.#closedError();
    if (closed) return Promise.reject(closed);
    if (data) {
      // A NUL in the host or socket path makes OpenSSH's sshd end the whole connection:
      // never send one. (One in the type the engine refuses, and the table rejects.)
      try {
        checkChannelOpen(channelType, data);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return abortable(
      options.signal,
      () =>
        this.#channels.open(channelType, data, options.streams ?? 2, {
          window: options.windowSize ?? options.window,
          maxPacket: options.maxPacketSize ?? options.maxPacket,
        }).catch((e) => {
          this.#lastError = e as Error;
          throw channelType === "session" ? sessionRefused(e) : e;
        }),
      (ch) => ch.close(),
    );
  }

  /**
   * Opens a session channel (nothing started on it yet).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: (p) => p.write(`you ran ${p.command ?? p.subsystem}\n`),
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const ch = await conn.openSession();
   * console.log(await ch.request("subsystem", new Uint8Array([0, 0, 0, 4, 0x73, 0x66, 0x74, 0x70]))); // "sftp"
   * ```
   */
  openSession(options: { readonly signal?: AbortSignal } = {}): Promise<ChannelIO> {
    return this.openChannel("session", undefined, options);
  }

  // ---- global requests and life cycle ----

  /**
   * Sends a global request; resolves with the reply (or success=true when no
   * reply is wanted, false if the connection closes first).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const { success } = await conn.globalRequest("keepalive@openssh.com");
   * console.log(success); // false: no handler, the usual answer
   * ```
   */
  globalRequest(
    name: string,
    data?: Uint8Array,
    wantReply = true,
  ): Promise<{ success: boolean; data: Uint8Array }> {
    const closed = this.#closedError();
    if (closed) return Promise.reject(closed);
    let id: number;
    try {
      id = this.#engine.sendGlobalRequest(name, wantReply, data);
    } catch (e) {
      return Promise.reject(e); // a name the engine refuses (a NUL in it)
    }
    const reply = wantReply
      ? new Promise<{ success: boolean; data: Uint8Array }>((r) => this.#globalReplies.set(id, r))
      : Promise.resolve({ success: true, data: new Uint8Array(0) });
    this.#driver.pump();
    return reply;
  }

  /**
   * Tells the server no more sessions will be opened on this connection
   * (no-more-sessions@openssh.com; OpenSSH then refuses new sessions).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (p) => { for await (const c of p.stdin) await p.write(c); }, // cat
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const p = await conn.createProcess("cat");
   * conn.noMoreSessions();
   * await conn.openSession().catch((e) => console.log(e.message)); // refused
   * p.writeEof();
   * await p.wait();
   * ```
   */
  noMoreSessions(): void {
    this.#checkOpen();
    this.#engine.noMoreSessions();
    this.#driver.pump();
  }

  /**
   * Sends an SSH DEBUG message: text the server may log (OpenSSH logs it at
   * debug level), or show its user when `alwaysDisplay` is set. Over a connection
   * multiplexed through an OpenSSH master (ssh_config `ControlPath`) it throws
   * `LocalProtocolError`: the master owns the transport.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * conn.sendDebug("deploy 42 starting");
   * ```
   */
  sendDebug(message: string, alwaysDisplay = false): void {
    this.#checkOpen();
    this.#engine.sendDebug(message, alwaysDisplay);
    this.#driver.pump();
  }

  /**
   * Starts a key re-exchange.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * conn.rekey(); // new keys now, whatever the byte and time limits say
   * ```
   */
  rekey(): void {
    this.#engine.rekey();
    this.#driver.pump();
  }

  /**
   * Closes the connection politely (DISCONNECT by application) and waits until
   * it is closed. Listeners and channels close with it.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.close();
   * ```
   */
  close(): Promise<void> {
    return this.shutdown(SOCKET_CLOSE_GRACE_MS);
  }

  /**
   * Sends DISCONNECT with a reason code and description, and closes.
   *
   * @example
   * ```ts
   * import { connect, DisconnectReason, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.disconnect(DisconnectReason.BY_APPLICATION, "Maintenance");
   * ```
   */
  disconnect(reason: number, description: string): Promise<void> {
    this.#closedByUs = true;
    if (!this.#engine.closed) {
      this.#engine.disconnect(reason, description);
      this.#driver.pump();
    }
    const t = setTimeout(() => this.#driver.destroy(), SOCKET_CLOSE_GRACE_MS);
    return this.closed.finally(() => clearTimeout(t));
  }

  /**
   * Sends DISCONNECT if the connection is still up, lets queued bytes flush, and
   * destroys the socket after `graceMs` if the peer has not closed it by then.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.shutdown(500); // give a slow peer half a second
   * ```
   */
  async shutdown(graceMs: number): Promise<void> {
    this.#closedByUs = true;
    if (!this.#isClosed && !this.#engine.closed) {
      this.#engine.disconnect(DisconnectReason.BY_APPLICATION, "Closed by application");
    }
    this.#driver.pump();
    const t = setTimeout(() => this.#driver.destroy(), graceMs);
    await this.closed;
    clearTimeout(t);
  }

  /**
   * Closes the socket at once, without a DISCONNECT. What still waits on the connection (a
   * command, a session or channel opening, a forward) rejects with an ERR_BY_APPLICATION
   * error saying it was aborted here; `closeError` stays undefined.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * conn.abort(); // no DISCONNECT: the socket just goes
   * ```
   */
  abort(): void {
    this.#closedByUs = true;
    this.#engine.abandon(ABORTED_HERE);
    this.#driver.destroy();
  }

  /** `await using` support: closes the connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Registers a channel opened by the server and accepts it (for
   * `onChannelOpen` handlers).
   *
   * @example
   * ```ts ignore
   * conn.onChannelOpen = (type, _data, id) => {
   *   if (type !== "my-type@example.com") return false;
   *   handle(conn.adoptChannel(id)); return true;
   * };
   * ```
   */
  adoptChannel(channelId: number, streams: 1 | 2 = 2): ChannelIO {
    this.#checkOpen();
    return this.#channels.accept(channelId, streams);
  }

  #checkOpen(): void {
    const closed = this.#closedError();
    if (closed) throw closed;
  }

  /** The error an operation on the closed connection gets; undefined while it is open. */
  #closedError(): Error | undefined {
    if (!this.#isClosed && !this.#engine.closed) return undefined;
    return this.#error ?? new SSHError("ERR_CONNECTION_LOST", "The connection is closed");
  }

  /** Channels the server opens: forwarding, X11, agent, then the user's hook. */
  #onChannelOpenRequest(channelType: string, data: Uint8Array, channelId: number): void {
    // The peer may open and disconnect in one read: the open's event comes after the end.
    if (this.#engine.closed) return;
    // Only forwarded-* opens concern forwarding (refused as "No such forward" when none asked).
    const fwd = this.#forwarding ??
      (channelType.startsWith("forwarded-") ? this.forwarding : undefined);
    if (fwd?.handleOpen(channelType, data, channelId)) return;
    // Agent and X11 channels never reach a possible impostor (ssh turns both off when a
    // changed host key is let through): refused as an open nobody handles.
    const handler = this.#hostKeyUntrusted &&
        (channelType === "x11" || channelType === "auth-agent@openssh.com")
      ? undefined
      : channelType === "x11"
      ? this.onX11Channel
      : channelType === "auth-agent@openssh.com"
      ? this.onAgentChannel
      : undefined;
    if (handler) {
      let info: ForwardedConnectionInfo = {};
      if (channelType === "x11") {
        try {
          const r = new SSHReader(data);
          info = {
            originHost: r.readStringUtf8("originator address", MAX_ADDRESS_LENGTH),
            originPort: r.readUint32("originator port"),
          };
        } catch { /* OpenSSH before 2.x sent no originator: keep going */ }
      }
      const conn = streamConnection(this.adoptChannel(channelId, 1), info);
      try {
        handler(conn);
      } catch {
        conn.close();
      }
      return;
    }
    let accepted = false;
    try {
      accepted = this.onChannelOpen?.(channelType, data, channelId) ?? false;
    } catch {
      accepted = false;
    }
    if (!accepted && this.#engine.channelInfo(channelId) && !this.#channels.has(channelId)) {
      // Said where it matters most: an agent or X11 channel nobody takes is a forwarding
      // the server thinks was asked for (or a server trying its luck).
      const why = channelType === "auth-agent@openssh.com"
        ? "no session asked for agent forwarding (agentForwarding), or no agent to forward"
        : channelType === "x11"
        ? "no session asked for X11 forwarding (x11Forwarding)"
        : "onChannelOpen did not accept it";
      this.#log.debug(`refused the server's ${channelType} channel: ${why}`);
      this.#channels.reject(
        channelId,
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
        `Channel type ${channelType} not accepted`,
      );
    }
  }

  #onEvent(e: ClientEvent): void {
    this.#log.event(e);
    if (this.#channels.route(e) || this.#auth.handleEvent(e)) return;
    switch (e.type) {
      case "disconnect":
        this.#fail(e.error);
        // The engine is done; the socket follows. A peer that stopped answering will not
        // close its side, so don't wait for it: at once for keepalive, shortly otherwise.
        if (!this.#isClosed) {
          const t = setTimeout(
            () => this.#driver.destroy(),
            e.error.code === "ERR_KEEPALIVE" ? 0 : SOCKET_CLOSE_GRACE_MS,
          );
          (t as { unref?: () => void }).unref?.();
          // Gone sooner (the peer closed): the timer would only hold the closed connection.
          void this.closed.then(() => clearTimeout(t), () => clearTimeout(t));
        }
        return;
      case "debug":
        try {
          this.#onDebug?.(e.message, e.alwaysDisplay);
        } catch { /* a throwing handler must not break the connection */ }
        return;
      case "hostKeysProved":
        // Keys proved by a server whose own key was not trusted are nothing to learn.
        if (this.#hostKeyUntrusted) return;
        try {
          this.#onHostKeysProved?.(e);
        } catch { /* a throwing handler must not break the connection */ }
        return;
      case "channelOpenRequest":
        this.#onChannelOpenRequest(e.channelType, e.data, e.channelId);
        return;
      case "globalRequest": {
        let ok = false;
        try {
          ok = this.onGlobalRequest?.(e.name, e.data) ?? false;
        } catch {
          ok = false;
        }
        if (e.wantReply) this.#engine.replyGlobalRequest(e.requestId, ok);
        return;
      }
      case "globalRequestReply": {
        const r = this.#globalReplies.get(e.requestId);
        this.#globalReplies.delete(e.requestId);
        r?.({ success: e.success, data: e.data });
        return;
      }
      default:
        return;
    }
  }

  #fail(error: Error): void {
    if (!this.#error) this.#error = error;
    this.#lastError = this.#error;
    this.#auth.fail(error);
    this.#channels.failAll(error);
    for (const [, r] of this.#globalReplies) r({ success: false, data: new Uint8Array(0) });
    this.#globalReplies.clear();
    // Listeners close with the connection; what they forwarded dies with its channels.
    this.#forwarding?.closeAll();
  }

  #onSocketClosed(err?: Error): void {
    this.#log.debug(`socket closed${err ? `: ${err.message}` : ""}`);
    // After our own DISCONNECT (a normal close) the reason is known: no second error.
    this.#fail(
      this.#error && !err ? this.#error : new DisconnectError(
        "ERR_CONNECTION_LOST",
        DisconnectReason.CONNECTION_LOST,
        err
          ? `Connection to ${this.#host}:${this.#port} lost: ${err.message}`
          : `Connection to ${this.#host}:${this.#port} closed`,
        err ? { cause: err } : undefined,
      ),
    );
    this.#isClosed = true;
    this.#closedResolve();
  }
}

/**
 * A refused session, with what most often refuses one: OpenSSH's sshd answers "open failed"
 * past MaxSessions (10 by default) sessions open at once on one connection.
 */
function sessionRefused(e: unknown): unknown {
  // sshd says "open failed" (reason 2), our listen() "Too many sessions"; other refusals
  // ("Sessions are not allowed") are something else.
  if (
    !(e instanceof ChannelOpenError) || !/^(open failed|too many sessions)$/i.test(e.description)
  ) {
    return e;
  }
  return new ChannelOpenError(
    e.reason,
    e.description,
    "a server limits the sessions open at once on one connection: OpenSSH's MaxSessions, " +
      "10 by default; SSHPool's maxSessions waits for a free one",
  );
}
