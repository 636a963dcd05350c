/**
 * `connect()` and the client connection: the async face of the client engine —
 * processes and sessions, forwarding (TCP, UNIX sockets, SOCKS), jump hosts,
 * X11 and agent channels, keepalive and the connection's life cycle.
 *
 * @module
 */

import type * as net from "node:net";
import type { ClientPublicKey } from "../core/auth/client_auth.ts";
import {
  ClientConnection,
  type ClientEvent,
  type HostKeysProvedEvent,
} from "../core/client/client_connection.ts";
import {
  ChannelOpenFailure,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
} from "../core/connection/channels.ts";
import { encodeTcpipOpen } from "../core/connection/session_requests.ts";
import { DisconnectError, DisconnectReason, SSHError } from "../core/errors.ts";
import type { RandomSource } from "../core/random.ts";
import type { KexInitLists, NegotiatedAlgorithms } from "../core/transport/kexinit.ts";
import type { AlgorithmPreferences } from "../core/transport/transport.ts";
import { SSHReader, SSHWriter } from "../core/wire.ts";
import { ChannelIO, routeChannelEvent } from "./channel.ts";
import { EngineDriver } from "./driver.ts";
import { type SFTPClient, type SFTPClientOptions, startSftp } from "./sftp/client.ts";
import { bridgeByteSocket, bridgeSocket } from "./forward_bridge.ts";
import {
  connectLocal,
  type ListenAddress,
  LocalListener,
  type SSHListener,
} from "./forward_listener.ts";
import { RemoteForwards } from "./forward_remote.ts";
import {
  type ForwardedConnectionInfo,
  type SSHStreamConnection,
  streamConnection,
} from "./forward_stream.ts";
import { defaultAlgorithms, defaultSuite } from "./suite.ts";
import {
  attachSession,
  type ProcessOptions,
  type ProcessResult,
  type ProcessTarget,
  type SSHChannelSession,
  SSHClientProcess,
  type SSHClientSession,
  startSession,
} from "./process.ts";
import { type ByteSocket, socketFromWebDuplex, type WebDuplex } from "./socket.ts";
import { serveSocks } from "./socks_server.ts";
import { openTcpSocket, tcpAdapterName } from "./tcp.ts";
import { socketFromChannel } from "./tunnel.ts";
import {
  clientKeyFromSSHKey,
  DEFAULT_KNOWN_HOSTS_FILES,
  knownHostsVerifier,
  loadDefaultClientKeys,
  type PrivateKeyInput,
  readPrivateKey,
} from "./key_sources.ts";

export type { ProcessOptions, ProcessTarget, SSHListener, SSHStreamConnection };

/** A key the client can sign with: an `SSHKey`, an agent key, or anything shaped like one. */
export interface ClientKeyPair {
  /** Key type as in its blob, e.g. "ssh-ed25519" or a certificate type. */
  readonly keyType: string;
  /** The public key (or certificate) blob. */
  readonly publicKeyBlob: Uint8Array;
  /** Signs `data` with `algorithm`, returning the SSH signature blob. */
  sign(data: Uint8Array, algorithm: string): Uint8Array | Promise<Uint8Array>;
  /** Ask the server before signing (agent keys that prompt). */
  readonly query?: boolean;
}

/** Facts about the server's host key, for a verifier. */
export interface HostKeyInfo {
  /** The host name (or address) as given to connect(). */
  readonly host: string;
  /** The TCP port connected to. */
  readonly port: number;
  /** The negotiated host key algorithm, e.g. "ssh-ed25519" or a certificate type. */
  readonly algorithm: string;
  /** The host key (or certificate) blob the server signed the key exchange with. */
  readonly keyBlob: Uint8Array;
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** TCP port; default 22. */
  readonly port?: number;
  /** User to log in as; default the local user name. */
  readonly username?: string;
  /** Password, or a function asked on each attempt (return null to stop). */
  readonly password?: string | ((attempt: number) => string | null | Promise<string | null>);
  /** Answers a server's password change request; default: refuse. */
  readonly passwordChange?: (
    prompt: string,
  ) =>
    | { oldPassword: string; newPassword: string }
    | null
    | Promise<{ oldPassword: string; newPassword: string } | null>;
  /** Answers keyboard-interactive prompts; default: answer password prompts with `password`. */
  readonly kbdintResponses?: (
    name: string,
    instruction: string,
    prompts: readonly { prompt: string; echo: boolean }[],
  ) => readonly string[] | null | Promise<readonly string[] | null>;
  /**
   * Keys to authenticate with, in order: key objects, key text or file paths (`~` expands).
   * Default: `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` where they exist and need no passphrase.
   */
  readonly clientKeys?: readonly (ClientKeyPair | PrivateKeyInput)[];
  /** Authentication methods in preference order (default hostbased, publickey, keyboard-interactive, password). */
  readonly preferredAuth?: readonly string[];
  /** Passphrase for encrypted `clientKeys`. */
  readonly passphrase?: string;
  /** Decides whether to trust the server's host key (instead of known_hosts). Throw or return false to refuse. */
  readonly hostKeyVerifier?: (info: HostKeyInfo) => boolean | Promise<boolean>;
  /**
   * known_hosts to check the host key against: file paths, `{ text }`, or null to
   * trust any key (tests only). Default `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
   */
  readonly knownHosts?: null | string | readonly string[] | { readonly text: string };
  /** Kex methods in preference order. */
  readonly kexAlgs?: readonly string[];
  /** Ciphers in preference order. */
  readonly encryptionAlgs?: readonly string[];
  /** MACs in preference order. */
  readonly macAlgs?: readonly string[];
  /** Compression methods in preference order. */
  readonly compressionAlgs?: readonly string[];
  /** Host key algorithms in preference order. */
  readonly serverHostKeyAlgs?: readonly string[];
  /** Aborts the connect (and closes the connection once made). */
  readonly signal?: AbortSignal;
  /** Gives up connecting after this many ms (TCP connect, handshake and authentication). */
  readonly connectTimeout?: number;
  /** An already-open byte stream to run SSH over instead of TCP. */
  readonly sock?: WebDuplex | ByteSocket;
  /** Rekey after this many bytes. */
  readonly rekeyBytes?: number;
  /** Rekey after this many ms. */
  readonly rekeyInterval?: number;
  /** Offer strict kex (default true). */
  readonly strictKex?: boolean;
  /** Refuse servers without strict kex. */
  readonly requireStrictKex?: boolean;
  /** Keepalive interval in ms (0 = off). */
  readonly keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is declared dead (default 3). */
  readonly keepaliveCountMax?: number;
  /** Called with the server's authentication banner. */
  readonly onBanner?: (message: string) => void;
  /** Randomness (tests only). */
  readonly random?: RandomSource;
  /** Per-channel window (bytes). */
  readonly windowSize?: number;
  /** Largest data packet we accept per channel. */
  readonly maxPacketSize?: number;
  /**
   * Run this connection through another one (a jump host): the new connection
   * travels in a direct-tcpip channel of `tunnel` to `host`:`port`, as
   * `ssh -J`. Tunnelled connections can be tunnels themselves.
   */
  readonly tunnel?: SSHClientConnection;
  /**
   * Ask the server to prove the other host keys it announces (OpenSSH's
   * UpdateHostKeys) and pass the proven ones to `onHostKeysProved`. Default: on when
   * `onHostKeysProved` is given, else off (the exchange delays the first session by
   * ~40 ms against sshd, whose reply meets Nagle's algorithm).
   */
  readonly hostKeyRotation?: boolean;
  /** Called with the host keys the server proved it holds besides the one it used. */
  readonly onHostKeysProved?: (event: HostKeysProvedEvent) => void;
}

/** Connect options after keys and the host key check were resolved. */
type ResolvedConnectOptions = Omit<ConnectOptions, "clientKeys"> & {
  readonly clientKeys: readonly ClientKeyPair[];
};

function isByteSocket(s: WebDuplex | ByteSocket): s is ByteSocket {
  return typeof (s as ByteSocket).setHandlers === "function";
}

/**
 * Opens an SSH connection and authenticates.
 *
 * @example Run a command
 * ```ts ignore
 * import { connect } from "./client.ts";
 * await using conn = await connect("127.0.0.1", {
 *   port: 2222, username: "me", password: "secret", hostKeyVerifier: () => true,
 * });
 * const { stdout } = await conn.run("echo hello", { check: true });
 * ```
 */
export async function connect(
  host: string,
  options: ConnectOptions = {},
): Promise<SSHClientConnection> {
  const port = options.port ?? 22;
  const signals: AbortSignal[] = [];
  if (options.signal) signals.push(options.signal);
  if (options.connectTimeout) signals.push(AbortSignal.timeout(options.connectTimeout));
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  const clientKeys = await resolveClientKeys(options);
  const kh = options.knownHosts;
  const hostKeyVerifier = options.hostKeyVerifier ??
    (kh === null ? () => true : await knownHostsVerifier(
      kh === undefined
        ? { files: DEFAULT_KNOWN_HOSTS_FILES }
        : typeof kh === "string"
        ? { files: [kh] }
        : "text" in kh
        ? { text: kh.text }
        : { files: kh as readonly string[] },
    ));
  const socket = options.sock
    ? (isByteSocket(options.sock) ? options.sock : socketFromWebDuplex(options.sock))
    : options.tunnel
    // A jump host: the server at the other end of the channel connects for us
    // (a ChannelOpenError says why it could not).
    ? socketFromChannel(
      await options.tunnel.openChannel(
        "direct-tcpip",
        encodeTcpipOpen(host, port, "127.0.0.1", 0),
        { streams: 1 },
      ),
    )
    : await openTcpSocket(host, port, signal).catch((e) => {
      throw timeoutOr(e, signal, `Cannot connect to ${host}:${port}: ${(e as Error).message}`);
    });
  const conn = new SSHClientConnection(host, port, socket, {
    ...options,
    clientKeys,
    hostKeyVerifier,
  });
  try {
    await conn.whenAuthenticated(signal);
  } catch (e) {
    // Let our DISCONNECT (saying why) reach the server before the socket goes.
    await conn.shutdown(250);
    throw e;
  }
  options.signal?.addEventListener("abort", () => conn.abort(), { once: true });
  return conn;
}

function isClientKeyPair(k: ClientKeyPair | PrivateKeyInput): k is ClientKeyPair {
  return typeof k === "object" && "publicKeyBlob" in k && "keyType" in k;
}

async function resolveClientKeys(options: ConnectOptions): Promise<ClientKeyPair[]> {
  if (options.clientKeys === undefined) {
    // With only a password given, don't go looking for keys (as AsyncSSH).
    return options.password !== undefined ? [] : await loadDefaultClientKeys();
  }
  const out: ClientKeyPair[] = [];
  for (const k of options.clientKeys) {
    out.push(
      isClientKeyPair(k) ? k : clientKeyFromSSHKey(await readPrivateKey(k, options.passphrase)),
    );
  }
  return out;
}

function timeoutOr(e: unknown, signal: AbortSignal | undefined, message: string): Error {
  if (signal?.aborted) {
    const r = signal.reason;
    if (r instanceof Error && r.name === "TimeoutError") {
      return new SSHError("ERR_TIMEOUT", "Connect timed out", { cause: r });
    }
    return r instanceof Error ? r : new SSHError("ERR_TIMEOUT", "Connect aborted");
  }
  return new DisconnectError("ERR_CONNECTION_LOST", DisconnectReason.CONNECTION_LOST, message, {
    cause: e,
  });
}

/** Negotiated parameters and peer facts (AsyncSSH's get_extra_info). */
export interface ClientExtraInfo {
  /** The host name (or address) as given to connect(). */
  readonly host: string;
  /** The TCP port connected to. */
  readonly port: number;
  /** The user authenticated as. */
  readonly username: string;
  /** The server's identification line, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2". */
  readonly serverVersion: string | undefined;
  /** Our identification line. */
  readonly clientVersion: string;
  /** What the last key exchange agreed on (null before the first one finished). */
  readonly algorithms: NegotiatedAlgorithms | null;
  /** What the server offered in its last KEXINIT. */
  readonly serverAlgorithms: KexInitLists | null;
  /** Whether strict kex (the Terrapin countermeasure) is in force. */
  readonly strictKex: boolean;
  /** Key exchanges completed: 1 after the handshake, +1 per rekey. */
  readonly kexCount: number;
  /** The server's host key (or certificate) blob. */
  readonly hostKeyBlob: Uint8Array | null;
  /** Which implementation seals and opens packets each way ("node:crypto", "noble", ...). */
  readonly cryptoProviders: { send: string; receive: string };
  /** Our end of the socket, when the adapter knows it. */
  readonly localAddress: string | undefined;
  /** Our port, when the adapter knows it. */
  readonly localPort: number | undefined;
}

/** How long a socket may take to close after the SSH connection ended before we cut it. */
const SOCKET_CLOSE_GRACE_MS = 2000;

/** Options of {@link SSHClientConnection.run}. */
export interface RunOptions extends ProcessOptions {
  /** Bytes or text to send to stdin (EOF follows). */
  readonly input?: string | Uint8Array;
  /** Reject with ProcessError on a non-zero exit status or a signal. */
  readonly check?: boolean;
  /** Give up after this many ms (the channel is closed; ProcessTimeoutError). */
  readonly timeout?: number;
  /** Give up when this aborts (the channel is closed; the signal's reason is thrown). */
  readonly signal?: AbortSignal;
}

/** Options of {@link SSHClientConnection.forwardLocalPort}. */
export interface LocalPortForwardOptions {
  /** Local address to listen on (default "127.0.0.1"). */
  readonly listenHost?: string;
  /** Local port; 0 picks a free one (see the listener's `port`). */
  readonly listenPort: number;
  /** Where the server connects to. */
  readonly destHost: string;
  /** The port the server connects to. */
  readonly destPort: number;
}

/** Options of {@link SSHClientConnection.forwardRemotePort}. */
export interface RemotePortForwardOptions {
  /** Address the server listens on ("" = all, "localhost" = loopback; default "localhost"). */
  readonly listenHost?: string;
  /** Port on the server; 0 lets the server pick (see the listener's `port`). */
  readonly listenPort: number;
  /** Where we connect to for each forwarded connection. */
  readonly destHost: string;
  /** The port we connect to for each forwarded connection. */
  readonly destPort: number;
}

/** Options of {@link SSHClientConnection.forwardSocks}. */
export interface SocksForwardOptions {
  /** Local address to listen on (default "127.0.0.1"). */
  readonly listenHost?: string;
  /** Local port; 0 picks a free one. */
  readonly listenPort: number;
}

/** Options of {@link SSHClientConnection.openChannel}. */
export interface OpenChannelOptions {
  /** Readable streams to keep: 2 for sessions (stdout, stderr), 1 for forwarding. */
  readonly streams?: 1 | 2;
  /** Receive window for this channel (default: the connection's `windowSize`). */
  readonly window?: number;
  /** Largest data packet we accept on this channel (default: the connection's `maxPacketSize`). */
  readonly maxPacket?: number;
}

/** Handles one connection to a remote listener started by `startServer`. */
export type RemoteConnectionHandler = (conn: SSHStreamConnection) => void | Promise<void>;

/**
 * An authenticated SSH client connection.
 *
 * @example
 * ```ts ignore
 * await using conn = await connect("build.example", { username: "ci" });
 * const p = await conn.createProcess("make test", { encoding: "utf-8" });
 * for await (const line of p.stdout) console.log(line);
 * ```
 */
export class SSHClientConnection implements AsyncDisposable {
  readonly #engine: ClientConnection;
  readonly #driver: EngineDriver<ClientEvent>;
  readonly #options: ResolvedConnectOptions;
  readonly #host: string;
  readonly #port: number;
  readonly #username: string;
  readonly #socket: ByteSocket;
  readonly #channels = new Map<number, ChannelIO>();
  readonly #opening = new Map<
    number,
    { resolve: (c: ChannelIO) => void; reject: (e: Error) => void }
  >();
  readonly #globalReplies = new Map<number, (r: { success: boolean; data: Uint8Array }) => void>();
  readonly #localListeners = new Set<LocalListener>();
  readonly #remote: RemoteForwards;
  #authWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #error: Error | undefined;
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

  /** Use {@link connect}. */
  constructor(
    host: string,
    port: number,
    socket: ByteSocket,
    options: ResolvedConnectOptions,
  ) {
    this.#host = host;
    this.#port = port;
    this.#options = options;
    this.#socket = socket;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.#username = options.username ?? defaultUsername();
    const keys = options.clientKeys ?? [];
    const publicKeys: ClientPublicKey[] = keys.map((k) => ({
      keyType: k.keyType,
      publicKeyBlob: k.publicKeyBlob,
      ...(k.query ? { query: true } : {}),
    }));
    const algs = defaultAlgorithms();
    const algorithms: AlgorithmPreferences = {
      kex: options.kexAlgs ?? algs.kex,
      hostKey: options.serverHostKeyAlgs ?? algs.hostKey,
      cipher: options.encryptionAlgs ?? algs.cipher,
      mac: options.macAlgs ?? algs.mac,
      compression: options.compressionAlgs ?? algs.compression,
    };
    this.#engine = new ClientConnection({
      username: this.#username,
      publicKeys,
      password: options.password !== undefined,
      keyboardInteractive: options.password !== undefined || options.kbdintResponses !== undefined,
      suite: defaultSuite(),
      algorithms,
      ...(options.preferredAuth ? { preferredMethods: options.preferredAuth } : {}),
      ...(options.random ? { random: options.random } : {}),
      ...(options.strictKex !== undefined ? { strictKex: options.strictKex } : {}),
      ...(options.requireStrictKex !== undefined
        ? { requireStrictKex: options.requireStrictKex }
        : {}),
      ...(options.rekeyBytes !== undefined ? { rekeyBytes: options.rekeyBytes } : {}),
      ...(options.rekeyInterval !== undefined ? { rekeyIntervalMs: options.rekeyInterval } : {}),
      ...(options.keepaliveInterval !== undefined
        ? { keepaliveIntervalMs: options.keepaliveInterval }
        : {}),
      ...(options.keepaliveCountMax !== undefined
        ? { keepaliveCountMax: options.keepaliveCountMax }
        : {}),
      ...(options.hostKeyRotation !== undefined || options.onHostKeysProved !== undefined
        ? { hostKeyRotation: options.hostKeyRotation ?? true }
        : {}),
    });
    this.#remote = new RemoteForwards({
      globalRequest: (name, data) => this.globalRequest(name, data),
      acceptChannel: (id) => this.adoptChannel(id, 1),
      rejectChannel: (id, reason, description) => this.#rejectChannel(id, reason, description),
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
   * ```ts ignore
   * console.log(conn.engine.transport.kexCount);
   * ```
   */
  get engine(): ClientConnection {
    return this.#engine;
  }

  /**
   * Why the connection ended, when it did not end by our own `close()`,
   * `disconnect()` or `abort()`: a DisconnectError (ERR_KEEPALIVE for a peer
   * that stopped answering, ERR_CONNECTION_LOST, a protocol error, …).
   *
   * @example
   * ```ts ignore
   * await conn.closed;
   * if (conn.closeError) console.error(`lost the server: ${conn.closeError.message}`);
   * ```
   */
  get closeError(): Error | undefined {
    return this.#closedByUs ? undefined : this.#error;
  }

  /**
   * Resolves once authenticated; rejects with the reason the connection failed.
   *
   * @example
   * ```ts ignore
   * const conn = new SSHClientConnection(host, 22, socket, options); // what connect() does
   * await conn.whenAuthenticated(AbortSignal.timeout(10_000));
   * ```
   */
  whenAuthenticated(signal?: AbortSignal): Promise<void> {
    if (this.#engine.authenticated) return Promise.resolve();
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(timeoutOr(signal!.reason, signal, "Connect aborted"));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#authWaiters.push({
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      });
    });
  }

  /**
   * Negotiated algorithms, versions, host key and more.
   *
   * @example
   * ```ts ignore
   * const { algorithms, serverVersion } = conn.getExtraInfo();
   * console.log(serverVersion, algorithms?.cipherC2S);
   * ```
   */
  getExtraInfo(): ClientExtraInfo {
    const t = this.#engine.transport;
    return {
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
    };
  }

  // ---- channels and sessions ----

  /**
   * Opens a channel and waits for the server's confirmation.
   * Rejects with {@link ChannelOpenError} when the server refuses.
   *
   * @example A raw session channel
   * ```ts ignore
   * const ch = await conn.openChannel("session");
   * await ch.request("exec", encodeStringArg("date"));
   * ```
   */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options: OpenChannelOptions = {},
  ): Promise<ChannelIO> {
    this.#checkOpen();
    const window = options.window ?? this.#options.windowSize ?? DEFAULT_WINDOW;
    const id = this.#engine.openChannel(channelType, data, {
      window,
      maxPacket: options.maxPacket ?? this.#options.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(id, this.#engine, this.#driver, window, options.streams ?? 2);
    this.#channels.set(id, ch);
    const opened = new Promise<ChannelIO>((resolve, reject) =>
      this.#opening.set(id, { resolve, reject })
    );
    this.#driver.pump();
    return opened;
  }

  /**
   * Opens a session channel (nothing started on it yet).
   *
   * @example
   * ```ts ignore
   * const ch = await conn.openSession();
   * await startSession(ch, { subsystem: "sftp" }, {});
   * ```
   */
  openSession(): Promise<ChannelIO> {
    return this.openChannel("session");
  }

  /**
   * Starts an SFTP session (the "sftp" subsystem) on a channel of its own,
   * with a receive window big enough for a full pipeline of requests.
   *
   * @example
   * ```ts ignore
   * await using sftp = await conn.startSftp();
   * await sftp.get("/var/log/syslog", "./syslog");
   * ```
   */
  startSftp(options?: SFTPClientOptions): Promise<SFTPClient> {
    return startSftp(this, options);
  }

  /**
   * Starts a command, a shell or a subsystem. With `encoding`, the output
   * streams carry text. Redirections (`stdin`, `stdout`, `stderr`) start at once.
   *
   * @example
   * ```ts ignore
   * const p = await conn.createProcess("cat", { encoding: "utf-8" });
   * await p.write("hi\n"); p.writeEof();
   * console.log((await p.wait()).stdout); // "hi\n"
   * ```
   */
  createProcess(
    target: ProcessTarget,
    options: ProcessOptions & { readonly encoding: string },
  ): Promise<SSHClientProcess<string>>;
  /** Starts a command, a shell or a subsystem whose streams carry bytes. */
  createProcess(target: ProcessTarget, options?: ProcessOptions): Promise<SSHClientProcess>;
  async createProcess(
    target: ProcessTarget,
    options: ProcessOptions = {},
  ): Promise<SSHClientProcess<string | Uint8Array>> {
    const ch = await this.openSession();
    // Created before the exec request: exit-status may arrive in the same read as its reply.
    const process = new SSHClientProcess<string | Uint8Array>(
      ch,
      typeof target === "string" ? target : undefined,
      {
        subsystem: typeof target === "object" && "subsystem" in target
          ? target.subsystem
          : undefined,
        encoding: options.encoding,
      },
    );
    try {
      await startSession(ch, target, options);
    } catch (e) {
      ch.close();
      throw e;
    }
    if (
      options.stdin !== undefined || options.stdout !== undefined || options.stderr !== undefined
    ) {
      void process.redirect(options).catch(() => {/* reported by wait() */});
    }
    return process;
  }

  /**
   * Starts a command, shell or subsystem with callbacks instead of streams
   * (AsyncSSH's create_session). `session` is the callback object or a factory.
   *
   * @example
   * ```ts ignore
   * const { channel } = await conn.createSession({
   *   dataReceived: (d) => console.log(new TextDecoder().decode(d)),
   *   exitStatusReceived: (s) => console.log("exit", s),
   * }, "ls");
   * await channel.closedPromise;
   * ```
   */
  async createSession<S extends SSHClientSession>(
    session: S | (() => S),
    target: ProcessTarget,
    options: Omit<ProcessOptions, "encoding" | "stdin" | "stdout" | "stderr"> = {},
  ): Promise<{ channel: ChannelIO; session: S }> {
    const s = typeof session === "function" ? session() : session;
    const ch = await this.openSession();
    try {
      attachSession(ch, s, 2);
      await startSession(ch, target, options);
    } catch (e) {
      ch.close();
      throw e;
    }
    return { channel: ch, session: s };
  }

  /**
   * Runs a command to completion and collects its output: text (UTF-8) by
   * default, bytes with `encoding: null`. With `check`, a non-zero exit status
   * rejects with ProcessError; with `timeout`, ProcessTimeoutError.
   *
   * @example
   * ```ts ignore
   * const { stdout } = await conn.run("tr a-z A-Z", { input: "hi", check: true, timeout: 5000 });
   * await conn.run("sleep 60", { signal: AbortSignal.timeout(1000) }); // rejects with a TimeoutError
   * ```
   */
  run(
    command: ProcessTarget,
    options: Omit<RunOptions, "encoding"> & { readonly encoding: null },
  ): Promise<ProcessResult<Uint8Array>>;
  /** Runs a command to completion and collects its output as text. */
  run(
    command: ProcessTarget,
    options?: Omit<RunOptions, "encoding"> & { readonly encoding?: string },
  ): Promise<ProcessResult<string>>;
  async run(
    command: ProcessTarget,
    options: Omit<RunOptions, "encoding"> & { readonly encoding?: string | null } = {},
  ): Promise<ProcessResult<string | Uint8Array>> {
    const { encoding, input, check, timeout, signal, ...rest } = options;
    signal?.throwIfAborted();
    const p = await this.createProcess(command, {
      ...rest,
      ...(encoding === null ? {} : { encoding: encoding ?? "utf-8" }),
    });
    if (rest.stdin === undefined) {
      if (input !== undefined) await p.write(input);
      p.writeEof();
    }
    return p.wait({
      ...(check !== undefined ? { check } : {}),
      ...(timeout !== undefined ? { timeout } : {}),
      ...(signal ? { signal } : {}),
    });
  }

  // ---- direct connections ----

  /**
   * Opens a direct-tcpip channel: the server connects to `host`:`port` and the
   * connection comes back as streams. Rejects with ChannelOpenError when the
   * server cannot (or may not) connect.
   *
   * @example
   * ```ts ignore
   * await using c = await conn.openConnection("localhost", 5432);
   * c.readable.pipeTo(somewhere); await c.writable.getWriter().write(bytes);
   * ```
   */
  async openConnection(
    host: string,
    port: number,
    origin: { readonly originHost?: string; readonly originPort?: number } = {},
  ): Promise<SSHStreamConnection> {
    const info: ForwardedConnectionInfo = {
      host,
      port,
      originHost: origin.originHost ?? "127.0.0.1",
      originPort: origin.originPort ?? 0,
    };
    const ch = await this.openChannel(
      "direct-tcpip",
      encodeTcpipOpen(host, port, info.originHost!, info.originPort!),
      { streams: 1 },
    );
    return streamConnection(ch, info);
  }

  /**
   * Opens a direct-streamlocal@openssh.com channel to a UNIX socket on the server.
   *
   * @example
   * ```ts ignore
   * await using c = await conn.openUnixConnection("/run/app.sock");
   * ```
   */
  async openUnixConnection(path: string): Promise<SSHStreamConnection> {
    const ch = await this.openChannel(
      "direct-streamlocal@openssh.com",
      new SSHWriter(32).writeStringUtf8(path).writeStringUtf8("").writeUint32(0).toBytes(),
      { streams: 1 },
    );
    return streamConnection(ch, { path });
  }

  /**
   * Opens a direct-tcpip channel driven by callbacks (AsyncSSH's
   * create_connection).
   *
   * @example
   * ```ts ignore
   * const { channel } = await conn.createConnection({ dataReceived: (d) => log(d) }, "db", 5432);
   * await channel.write(query);
   * ```
   */
  async createConnection<S extends SSHChannelSession>(
    session: S | (() => S),
    host: string,
    port: number,
  ): Promise<{ channel: ChannelIO; session: S }> {
    const s = typeof session === "function" ? session() : session;
    const c = await this.openConnection(host, port);
    attachSession(c.channel, s, 1);
    return { channel: c.channel, session: s };
  }

  // ---- forwarding ----

  /**
   * Listens locally and forwards each connection through the server to
   * `destHost`:`destPort` (`ssh -L`). Resolves with the listener; with
   * `listenPort: 0` its `port` is the one chosen.
   *
   * @example
   * ```ts ignore
   * await using l = await conn.forwardLocalPort({ listenPort: 0, destHost: "localhost", destPort: 5432 });
   * console.log(`postgres at 127.0.0.1:${l.port}`);
   * ```
   */
  forwardLocalPort(options: LocalPortForwardOptions): Promise<SSHListener> {
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

  /**
   * Listens on a local UNIX socket and forwards each connection to a socket
   * path on the server (`ssh -L path:path`).
   *
   * @example
   * ```ts ignore
   * await using l = await conn.forwardLocalPath({ listenPath: "/tmp/docker.sock", destPath: "/run/docker.sock" });
   * ```
   */
  forwardLocalPath(
    options: { readonly listenPath: string; readonly destPath: string },
  ): Promise<SSHListener> {
    return this.#forwardLocal(
      { path: options.listenPath },
      () =>
        new SSHWriter(32).writeStringUtf8(options.destPath).writeStringUtf8("").writeUint32(0)
          .toBytes(),
      "direct-streamlocal@openssh.com",
    );
  }

  async #forwardLocal(
    address: ListenAddress,
    openData: (sock: net.Socket) => Uint8Array,
    channelType: string,
  ): Promise<SSHListener> {
    this.#checkOpen();
    const listener = await LocalListener.listen(address, (sock) => {
      this.openChannel(channelType, openData(sock), { streams: 1 }).then(
        (ch) => void bridgeSocket(sock, ch),
        () => sock.destroy(),
      );
    });
    return this.#track(listener);
  }

  #track(listener: LocalListener): LocalListener {
    if (this.#isClosed || this.#engine.closed) {
      void listener.close(true);
      return listener;
    }
    this.#localListeners.add(listener);
    listener.onClose = () => this.#localListeners.delete(listener);
    return listener;
  }

  /**
   * Asks the server to listen on `listenHost`:`listenPort` and forwards each
   * connection it accepts to `destHost`:`destPort` from here (`ssh -R`). With
   * `listenPort: 0` the server picks the port: the listener's `port` says which.
   *
   * @example
   * ```ts ignore
   * await using l = await conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 3000 });
   * console.log(`server port ${l.port} reaches our 3000`);
   * ```
   */
  forwardRemotePort(options: RemotePortForwardOptions): Promise<SSHListener> {
    this.#checkOpen();
    const dest = { host: options.destHost, port: options.destPort };
    return this.#remote.listenTcp(
      options.listenHost ?? "localhost",
      options.listenPort,
      async () => {
        if (tcpAdapterName() === "deno") {
          // Deno's node:net client sockets cannot half-close; its own TCP adapter can.
          const sock = await openTcpSocket(dest.host, dest.port);
          return (ch) => void bridgeByteSocket(sock, ch);
        }
        const sock = await connectLocal(dest);
        return (ch) => void bridgeSocket(sock, ch);
      },
    );
  }

  /**
   * Asks the server to listen on a UNIX socket path and forwards each
   * connection to a local socket path (`ssh -R path:path`).
   *
   * @example
   * ```ts ignore
   * await using l = await conn.forwardRemotePath({ listenPath: "/tmp/app.sock", destPath: "/run/app.sock" });
   * ```
   */
  forwardRemotePath(
    options: { readonly listenPath: string; readonly destPath: string },
  ): Promise<SSHListener> {
    this.#checkOpen();
    return this.#remote.listenPath(options.listenPath, async () => {
      const sock = await connectLocal({ path: options.destPath });
      return (ch) => void bridgeSocket(sock, ch);
    });
  }

  /**
   * Asks the server to listen on `listenHost`:`listenPort` and hands each
   * connection it accepts to `handler` as streams (AsyncSSH's start_server).
   *
   * @example An echo service on the server's port 8022
   * ```ts ignore
   * await conn.startServer((c) => c.readable.pipeTo(c.writable), { listenPort: 8022 });
   * ```
   */
  startServer(
    handler: RemoteConnectionHandler,
    options: { readonly listenHost?: string; readonly listenPort: number },
  ): Promise<SSHListener> {
    this.#checkOpen();
    return this.#remote.listenTcp(
      options.listenHost ?? "localhost",
      options.listenPort,
      (info) => Promise.resolve((ch) => this.#runHandler(handler, streamConnection(ch, info))),
    );
  }

  /**
   * Like {@link startServer}, on a UNIX socket path on the server.
   *
   * @example
   * ```ts ignore
   * await conn.startUnixServer((c) => c.readable.pipeTo(c.writable), { listenPath: "/tmp/echo.sock" });
   * ```
   */
  startUnixServer(
    handler: RemoteConnectionHandler,
    options: { readonly listenPath: string },
  ): Promise<SSHListener> {
    this.#checkOpen();
    return this.#remote.listenPath(
      options.listenPath,
      (info) => Promise.resolve((ch) => this.#runHandler(handler, streamConnection(ch, info))),
    );
  }

  #runHandler(handler: RemoteConnectionHandler, conn: SSHStreamConnection): void {
    Promise.resolve().then(() => handler(conn)).catch(() => conn.close());
  }

  /**
   * Listens locally as a SOCKS 4, 4a and 5 proxy (CONNECT, no authentication):
   * each request becomes a direct-tcpip channel (`ssh -D`).
   *
   * @example
   * ```ts ignore
   * await using socks = await conn.forwardSocks({ listenPort: 1080 });
   * // curl --socks5-hostname 127.0.0.1:1080 http://intranet/
   * ```
   */
  async forwardSocks(options: SocksForwardOptions): Promise<SSHListener> {
    this.#checkOpen();
    const listener = await serveSocks(
      { host: options.listenHost ?? "127.0.0.1", port: options.listenPort },
      (request, sock) =>
        this.openChannel(
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

  // ---- global requests and life cycle ----

  /**
   * Sends a global request; resolves with the reply (or success=true when no
   * reply is wanted, false if the connection closes first).
   *
   * @example
   * ```ts ignore
   * const { success } = await conn.globalRequest("keepalive@openssh.com");
   * ```
   */
  globalRequest(
    name: string,
    data?: Uint8Array,
    wantReply = true,
  ): Promise<{ success: boolean; data: Uint8Array }> {
    this.#checkOpen();
    const id = this.#engine.sendGlobalRequest(name, wantReply, data);
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
   * ```ts ignore
   * const p = await conn.createProcess("bash"); conn.noMoreSessions();
   * ```
   */
  noMoreSessions(): void {
    this.#checkOpen();
    this.#engine.noMoreSessions();
    this.#driver.pump();
  }

  /**
   * Starts a key re-exchange.
   *
   * @example
   * ```ts ignore
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
   * ```ts ignore
   * await conn.close();
   * ```
   */
  close(): Promise<void> {
    return this.shutdown(2000);
  }

  /**
   * Sends DISCONNECT with a reason code and description, and closes.
   *
   * @example
   * ```ts ignore
   * await conn.disconnect(DisconnectReason.BY_APPLICATION, "Maintenance");
   * ```
   */
  disconnect(reason: number, description: string): Promise<void> {
    this.#closedByUs = true;
    if (!this.#engine.closed) {
      this.#engine.disconnect(reason, description);
      this.#driver.pump();
    }
    const t = setTimeout(() => this.#driver.destroy(), 2000);
    return this.closed.finally(() => clearTimeout(t));
  }

  /**
   * Sends DISCONNECT if the connection is still up, lets queued bytes flush, and
   * destroys the socket after `graceMs` if the peer has not closed it by then.
   *
   * @example
   * ```ts ignore
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
   * Closes the socket at once, without a DISCONNECT.
   *
   * @example
   * ```ts ignore
   * conn.abort(); // no DISCONNECT: the socket just goes
   * ```
   */
  abort(): void {
    this.#closedByUs = true;
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
    const window = this.#options.windowSize ?? DEFAULT_WINDOW;
    this.#engine.acceptChannel(channelId, {
      window,
      maxPacket: this.#options.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(channelId, this.#engine, this.#driver, window, streams);
    this.#channels.set(channelId, ch);
    this.#driver.pump();
    return ch;
  }

  #rejectChannel(channelId: number, reason: number, description: string): void {
    if (this.#engine.closed) return;
    this.#engine.rejectChannel(channelId, reason, description);
    this.#driver.pump();
  }

  #checkOpen(): void {
    if (this.#isClosed || this.#engine.closed) {
      throw this.#error ?? new SSHError("ERR_CONNECTION_LOST", "The connection is closed");
    }
  }

  /** Channels the server opens: forwarding, X11, agent, then the user's hook. */
  #onChannelOpenRequest(channelType: string, data: Uint8Array, channelId: number): void {
    if (this.#remote.handleOpen(channelType, data, channelId)) return;
    const handler = channelType === "x11"
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
            originHost: r.readStringUtf8("originator address", 1024),
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
      this.#rejectChannel(
        channelId,
        ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
        `Channel type ${channelType} not accepted`,
      );
    }
  }

  #onEvent(e: ClientEvent): void {
    const engine = this.#engine;
    if (routeChannelEvent(this.#channels, e)) return;
    switch (e.type) {
      case "hostKey": {
        const verify = this.#options.hostKeyVerifier;
        if (!verify) {
          engine.acceptHostKey(e.id);
          return;
        }
        Promise.resolve()
          .then(() =>
            verify({
              host: this.#host,
              port: this.#port,
              algorithm: e.algorithm,
              keyBlob: e.keyBlob,
            })
          )
          .then(
            (ok) =>
              ok ? engine.acceptHostKey(e.id) : engine.rejectHostKey(
                e.id,
                `Host key verification failed for ${this.#host}:${this.#port} (${e.algorithm})`,
              ),
            (err) =>
              engine.rejectHostKey(e.id, `Host key verifier failed: ${(err as Error).message}`),
          )
          .finally(() => this.#driver.pump());
        return;
      }
      case "authSignRequest": {
        const key = this.#options.clientKeys?.[e.keyIndex];
        this.#answerLater(
          async () => key ? await key.sign(e.data, e.algorithm) : null,
          (sig) => engine.provideSignature(e.id, sig),
          () => engine.provideSignature(e.id, null),
        );
        return;
      }
      case "authPasswordRequest": {
        const pw = this.#options.password;
        this.#answerLater(
          async () =>
            typeof pw === "function" ? await pw(e.attempt) : e.attempt === 1 ? pw ?? null : null,
          (p) => engine.providePassword(e.id, p),
          () => engine.providePassword(e.id, null),
        );
        return;
      }
      case "authPasswordChangeRequest": {
        const f = this.#options.passwordChange;
        this.#answerLater(
          async () => f ? await f(e.prompt) : null,
          (c) => engine.providePasswordChange(e.id, c),
          () => engine.providePasswordChange(e.id, null),
        );
        return;
      }
      case "authKbdintRequest": {
        const f = this.#options.kbdintResponses;
        const pw = this.#options.password;
        this.#answerLater(
          async () => {
            if (f) return await f(e.name, e.instruction, e.prompts);
            if (e.prompts.length === 0) return [];
            // Without a handler, answer "Password:" prompts with the password (as AsyncSSH does).
            if (
              pw === undefined || !e.prompts.every((p) => /password/i.test(p.prompt) && !p.echo)
            ) return null;
            const value = typeof pw === "function" ? await pw(1) : pw;
            return value === null ? null : e.prompts.map(() => value);
          },
          (r) => engine.provideKbdintResponses(e.id, r),
          () => engine.provideKbdintResponses(e.id, null),
        );
        return;
      }
      case "authBanner":
        this.#options.onBanner?.(e.message);
        return;
      case "authSuccess": {
        const w = this.#authWaiters;
        this.#authWaiters = [];
        for (const x of w) x.resolve();
        return;
      }
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
        }
        return;
      case "hostKeysProved":
        try {
          this.#options.onHostKeysProved?.(e);
        } catch { /* a throwing handler must not break the connection */ }
        return;
      case "channelOpen": {
        const w = this.#opening.get(e.channelId);
        this.#opening.delete(e.channelId);
        const ch = this.#channels.get(e.channelId);
        if (w && ch) w.resolve(ch);
        return;
      }
      case "channelOpenFailure": {
        const w = this.#opening.get(e.channelId);
        this.#opening.delete(e.channelId);
        this.#channels.delete(e.channelId);
        w?.reject(new ChannelOpenError(e.reason, e.description));
        return;
      }
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
        if (e.wantReply) engine.replyGlobalRequest(e.requestId, ok);
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

  #answerLater<T>(get: () => Promise<T>, answer: (v: T) => void, giveUp: () => void): void {
    get().then(
      (v) => {
        if (!this.#engine.closed) answer(v);
      },
      () => {
        if (!this.#engine.closed) giveUp();
      },
    ).finally(() => this.#driver.pump());
  }

  #fail(error: Error): void {
    if (!this.#error) this.#error = error;
    const w = this.#authWaiters;
    this.#authWaiters = [];
    for (const x of w) x.reject(error);
    for (const [, o] of this.#opening) o.reject(error);
    this.#opening.clear();
    for (const [, ch] of this.#channels) ch.abort(error);
    this.#channels.clear();
    for (const [, r] of this.#globalReplies) r({ success: false, data: new Uint8Array(0) });
    this.#globalReplies.clear();
    // Listeners close with the connection; what they forwarded dies with its channels.
    for (const l of this.#localListeners) void l.close(true);
    this.#localListeners.clear();
    this.#remote.dropAll();
  }

  #onSocketClosed(err?: Error): void {
    this.#fail(
      err
        ? new DisconnectError(
          "ERR_CONNECTION_LOST",
          DisconnectReason.CONNECTION_LOST,
          `Connection lost: ${err.message}`,
          {
            cause: err,
          },
        )
        : new DisconnectError(
          "ERR_CONNECTION_LOST",
          DisconnectReason.CONNECTION_LOST,
          "Connection closed",
        ),
    );
    this.#isClosed = true;
    this.#closedResolve();
  }
}

/**
 * The server refused to open a channel.
 *
 * @example
 * ```ts ignore
 * try { await conn.openChannel("direct-tcpip", data); }
 * catch (e) { if (e instanceof ChannelOpenError) console.log(e.reason, e.message); }
 * ```
 */
export class ChannelOpenError extends SSHError {
  /** SSH_OPEN_* reason code. */
  readonly reason: number;

  /** Creates the error. */
  constructor(reason: number, description: string) {
    super(
      "ERR_CHANNEL_OPEN",
      `Channel open refused (reason ${reason}): ${description || "no description"}`,
    );
    this.name = "ChannelOpenError";
    this.reason = reason;
  }
}

function defaultUsername(): string {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  return g.process?.env?.USER ?? g.process?.env?.LOGNAME ?? "root";
}
