/**
 * `connect()` and the client connection: the async face of the client engine.
 *
 * @module
 */

import type { ClientPublicKey } from "../core/auth/client_auth.ts";
import { ClientConnection, type ClientEvent } from "../core/client/client_connection.ts";
import { DEFAULT_MAX_PACKET, DEFAULT_WINDOW } from "../core/connection/channels.ts";
import {
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
  type PtyRequest,
} from "../core/connection/session_requests.ts";
import { DisconnectError, DisconnectReason, SSHError } from "../core/errors.ts";
import type { RandomSource } from "../core/random.ts";
import type { KexInitLists, NegotiatedAlgorithms } from "../core/transport/kexinit.ts";
import type { AlgorithmPreferences } from "../core/transport/transport.ts";
import { ChannelIO } from "./channel.ts";
import { EngineDriver } from "./driver.ts";
import { defaultAlgorithms, defaultSuite } from "./suite.ts";
import { type ProcessResult, SSHClientProcess } from "./process.ts";
import { type ByteSocket, socketFromWebDuplex, type WebDuplex } from "./socket.ts";
import { openTcpSocket } from "./tcp.ts";
import {
  clientKeyFromSSHKey,
  DEFAULT_KNOWN_HOSTS_FILES,
  knownHostsVerifier,
  loadDefaultClientKeys,
  type PrivateKeyInput,
  readPrivateKey,
} from "./key_sources.ts";

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
  readonly host: string;
  readonly port: number;
  readonly algorithm: string;
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
}

/** Connect options after keys and the host key check were resolved. */
type ResolvedConnectOptions = Omit<ConnectOptions, "clientKeys"> & {
  readonly clientKeys: readonly ClientKeyPair[];
};

/** Options of {@link SSHClientConnection.createProcess}. */
export interface ProcessOptions {
  /** Environment variables to send (the server must accept them). */
  readonly env?: Readonly<Record<string, string>>;
  /** Request a pseudo-terminal: a TERM name, or full pty settings. */
  readonly term?: string | PtyRequest;
}

/** What to start on a session channel. */
export type ProcessTarget = string | { readonly shell: true } | { readonly subsystem: string };

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
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly serverVersion: string | undefined;
  readonly clientVersion: string;
  readonly algorithms: NegotiatedAlgorithms | null;
  /** What the server offered in its last KEXINIT. */
  readonly serverAlgorithms: KexInitLists | null;
  readonly strictKex: boolean;
  /** Key exchanges completed: 1 after the handshake, +1 per rekey. */
  readonly kexCount: number;
  readonly hostKeyBlob: Uint8Array | null;
  readonly cryptoProviders: { send: string; receive: string };
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

/** An authenticated SSH client connection. */
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
  #authWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #error: Error | undefined;
  #closedResolve!: () => void;
  /** Resolves when the connection is closed (by either side or an error). */
  readonly closed: Promise<void>;
  #isClosed = false;
  /** Handles channels the server opens (forwarded-tcpip, x11, agent); default: refuse. */
  onChannelOpen:
    | ((channelType: string, data: Uint8Array, channelId: number) => boolean)
    | undefined;
  /** Handles global requests from the server; default: refuse. */
  onGlobalRequest: ((name: string, data: Uint8Array) => boolean) | undefined;

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
    });
    this.#driver = new EngineDriver(
      this.#engine,
      socket,
      (e) => this.#onEvent(e),
      (err) => this.#onSocketClosed(err),
    );
  }

  /** The sans-IO engine underneath (for low-level control). */
  get engine(): ClientConnection {
    return this.#engine;
  }

  /** Resolves once authenticated; rejects with the reason the connection failed. */
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

  /** Negotiated algorithms, versions, host key and more. */
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

  /**
   * Opens a channel and waits for the server's confirmation.
   * Rejects with {@link ChannelOpenError} when the server refuses.
   */
  openChannel(channelType: string, data?: Uint8Array): Promise<ChannelIO> {
    this.#checkOpen();
    const window = this.#options.windowSize ?? DEFAULT_WINDOW;
    const id = this.#engine.openChannel(channelType, data, {
      window,
      maxPacket: this.#options.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(id, this.#engine, this.#driver, window);
    this.#channels.set(id, ch);
    this.#driver.pump();
    return new Promise((resolve, reject) => this.#opening.set(id, { resolve, reject }));
  }

  /** Opens a session channel. */
  openSession(): Promise<ChannelIO> {
    return this.openChannel("session");
  }

  /**
   * Starts a command, a shell or a subsystem.
   *
   * @example
   * ```ts ignore
   * const p = await conn.createProcess("cat");
   * const w = p.stdin.getWriter(); await w.write(new TextEncoder().encode("hi")); await w.close();
   * console.log(new TextDecoder().decode((await p.wait()).stdout as Uint8Array));
   * ```
   */
  async createProcess(
    target: ProcessTarget,
    options: ProcessOptions = {},
  ): Promise<SSHClientProcess> {
    const ch = await this.openSession();
    // Created before the exec request: exit-status may arrive in the same read as its reply.
    const command = typeof target === "string" ? target : undefined;
    const process = new SSHClientProcess(ch, command);
    try {
      for (const [name, value] of Object.entries(options.env ?? {})) {
        // OpenSSH refuses variables not in AcceptEnv; that is not fatal (as with ssh's SendEnv).
        await ch.request("env", encodeEnv(name, value), false);
      }
      if (options.term) {
        const pty: PtyRequest = typeof options.term === "string"
          ? { term: options.term, columns: 80, rows: 24 }
          : options.term;
        if (!(await ch.request("pty-req", encodePtyRequest(pty)))) {
          throw new SSHError("ERR_CHANNEL", "The server refused to allocate a pseudo-terminal");
        }
      }
      let ok: boolean;
      if (typeof target === "string") {
        ok = await ch.request("exec", encodeStringArg(target));
      } else if ("shell" in target) {
        ok = await ch.request("shell");
      } else {
        ok = await ch.request("subsystem", encodeStringArg(target.subsystem));
      }
      if (!ok) {
        const what = typeof target === "string"
          ? `run "${target}"`
          : "shell" in target
          ? "start a shell"
          : `start subsystem "${target.subsystem}"`;
        throw new SSHError("ERR_CHANNEL", `The server refused to ${what}`);
      }
      return process;
    } catch (e) {
      ch.close();
      throw e;
    }
  }

  /**
   * Runs a command to completion and collects its output (text by default).
   * With `check`, a non-zero exit status rejects with ProcessError.
   */
  async run(
    command: string,
    options: ProcessOptions & {
      check?: boolean;
      input?: string | Uint8Array;
      encoding?: "utf-8" | null;
    } = {},
  ): Promise<ProcessResult> {
    const p = await this.createProcess(command, options);
    if (options.input !== undefined) {
      await p.write(options.input);
    }
    p.writeEof();
    return p.wait({
      check: options.check ?? false,
      encoding: options.encoding === null ? null : "utf-8",
    });
  }

  /** Sends a global request; resolves with the reply (or success=true when no reply is wanted). */
  globalRequest(
    name: string,
    data?: Uint8Array,
    wantReply = true,
  ): Promise<{ success: boolean; data: Uint8Array }> {
    this.#checkOpen();
    const id = this.#engine.sendGlobalRequest(name, wantReply, data);
    this.#driver.pump();
    if (!wantReply) return Promise.resolve({ success: true, data: new Uint8Array(0) });
    return new Promise((r) => this.#globalReplies.set(id, r));
  }

  /** Starts a key re-exchange. */
  rekey(): void {
    this.#engine.rekey();
    this.#driver.pump();
  }

  /** Closes the connection politely (DISCONNECT by application) and waits until it is closed. */
  close(): Promise<void> {
    return this.shutdown(2000);
  }

  /** Sends DISCONNECT with a reason and closes. */
  disconnect(reason: number, description: string): Promise<void> {
    if (!this.#engine.closed) {
      this.#engine.disconnect(reason, description);
      this.#driver.pump();
    }
    return this.closed;
  }

  /**
   * Sends DISCONNECT if the connection is still up, lets queued bytes flush, and
   * destroys the socket after `graceMs` if the peer has not closed it by then.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (!this.#isClosed && !this.#engine.closed) {
      this.#engine.disconnect(DisconnectReason.BY_APPLICATION, "Closed by application");
    }
    this.#driver.pump();
    const t = setTimeout(() => this.#driver.destroy(), graceMs);
    await this.closed;
    clearTimeout(t);
  }

  /** Closes the socket at once, without a DISCONNECT. */
  abort(): void {
    this.#driver.destroy();
  }

  /** `await using` support: closes the connection. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #checkOpen(): void {
    if (this.#isClosed || this.#engine.closed) {
      throw this.#error ?? new SSHError("ERR_CONNECTION_LOST", "The connection is closed");
    }
  }

  #onEvent(e: ClientEvent): void {
    const engine = this.#engine;
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
      case "channelOpenRequest": {
        const accept = this.onChannelOpen?.(e.channelType, e.data, e.channelId) ?? false;
        if (!accept) {
          engine.rejectChannel(e.channelId, 1, `Channel type ${e.channelType} not accepted`);
        }
        return;
      }
      case "channelClose": {
        const ch = this.#channels.get(e.channelId);
        this.#channels.delete(e.channelId);
        ch?.handleEvent(e);
        return;
      }
      case "channelData":
      case "channelEof":
      case "channelRequest":
      case "channelRequestReply":
      case "channelWritable":
        this.#channels.get(e.channelId)?.handleEvent(e);
        return;
      case "kexComplete":
        for (const ch of this.#channels.values()) ch.wakeWriters();
        return;
      case "globalRequest": {
        const ok = this.onGlobalRequest?.(e.name, e.data) ?? false;
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

  /** Registers a channel opened by the server and accepted by a handler. */
  adoptChannel(channelId: number): ChannelIO {
    const window = this.#options.windowSize ?? DEFAULT_WINDOW;
    this.#engine.acceptChannel(channelId, {
      window,
      maxPacket: this.#options.maxPacketSize ?? DEFAULT_MAX_PACKET,
    });
    const ch = new ChannelIO(channelId, this.#engine, this.#driver, window);
    this.#channels.set(channelId, ch);
    this.#driver.pump();
    return ch;
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
    for (const [, r] of this.#globalReplies) r({ success: false, data: new Uint8Array(0) });
    this.#globalReplies.clear();
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
