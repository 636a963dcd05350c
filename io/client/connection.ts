/**
 * The client connection users hold: {@link ClientConnectionBase} plus what one
 * does with it — processes and callback sessions, direct connections to hosts
 * and sockets the server reaches, and forwarding (`ssh -L`, `-R`, `-D`).
 *
 * @module
 */

import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { SSHListener } from "../forward/listener.ts";
import { AcceptQueue, type SSHAcceptingListener } from "../forward/accepting_listener.ts";
import {
  type ForwardedConnectionInfo,
  type SSHStreamConnection,
  streamConnection,
} from "../forward/stream.ts";
import { ClientConnectionBase } from "./connection_base.ts";
import { errorMessage } from "../../core/errors.ts";
import { abortable } from "../engine/errors.ts";
import { type ProcessResult, ProcessTimeoutError } from "./errors.ts";
import { encodeStreamlocalOpen } from "./forwarding.ts";
import type {
  ForwardSignalOptions,
  LocalPortForwardOptions,
  RemoteAcceptOptions,
  RemoteConnectionHandler,
  RemotePortForwardOptions,
  ResolvedConnectOptions,
  RunOptions,
  SocksForwardOptions,
} from "./options.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import { checkRedirectTargets, STDOUT } from "./redirect.ts";
import { connectDeadline, timeLeft, wholeTimeout } from "./deadline.ts";
import { checkMaxOutput, SSHClientProcess } from "./process.ts";
import { type SFTPClient, type SFTPClientOptions, startSftp } from "../sftp/client.ts";
import { type SCPFileStat, scpRecv, scpSend, type SCPSendOptions } from "../scp/remote.ts";
import {
  attachSession,
  checkProcessArgs,
  type ProcessOptions,
  type ProcessTarget,
  type SSHChannelSession,
  type SSHClientSession,
  startSession,
  type X11ForwardingOptions,
} from "./session.ts";
import { setUpX11Forwarding, type X11ClientOptions } from "./x11_forward.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { environment, envVar } from "../runtime/env.ts";
import { matchPattern } from "../../config/patterns.ts";

/** Options of `openConnection` and `createConnection` (a direct-tcpip channel). */
export interface OpenConnectionOptions {
  /** The originator's address the server is told (default 127.0.0.1). */
  readonly originHost?: string;
  /** The originator's port the server is told (default 0). */
  readonly originPort?: number;
  /** Stops waiting for the server (rejects with the signal's reason; nothing stays open). */
  readonly signal?: AbortSignal;
  /** Receive window of this channel (default: the connection's `windowSize`). */
  readonly windowSize?: number;
  /** Largest data packet accepted on this channel (default: the connection's). */
  readonly maxPacketSize?: number;
}

/** Options of `openUnixConnection` and `createUnixConnection`. */
export type OpenUnixConnectionOptions = Omit<OpenConnectionOptions, "originHost" | "originPort">;

/** `options` without its `stderr`. */
function withoutStderr(options: ProcessOptions): ProcessOptions {
  const { stderr: _, ...rest } = options;
  return rest;
}

/** `sendEnv` checked: a list of strings (a lone string would send every matching letter). */
function checkSendEnv(
  v: readonly string[] | undefined,
  name: string,
): readonly string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((p) => typeof p !== "string")) {
    throw new TypeError(`${name} must be a list of variable names or patterns`);
  }
  return v;
}

/**
 * This process's environment variables whose names match one of `patterns` (* and ?). A
 * plain name is read on its own: Deno's `--allow-env=LANG` lets it be, where listing the
 * environment for a pattern needs all of `--allow-env`.
 */
function localEnvMatching(patterns: readonly string[]): Record<string, string> {
  // No prototype: a variable named "__proto__" is a name like any other.
  const out: Record<string, string> = Object.create(null);
  const wild = patterns.filter((p) => /[*?]/.test(p));
  for (const name of patterns) {
    if (wild.includes(name)) continue;
    const value = envVar(name);
    if (value !== undefined) out[name] = value;
  }
  if (wild.length > 0) {
    for (const [name, value] of Object.entries(environment())) {
      if (value !== undefined && wild.some((p) => matchPattern(name, p))) out[name] = value;
    }
  }
  return out;
}

/**
 * An authenticated SSH client connection.
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
 * const p = await conn.createProcess("cat", { encoding: "utf-8" });
 * await p.write("one\ntwo\n");
 * p.writeEof();
 * for await (const text of p.stdout) console.log(text);
 * ```
 */
export class SSHClientConnection extends ClientConnectionBase {
  readonly #env: Readonly<Record<string, string>> | undefined;
  readonly #sendEnv: readonly string[] | undefined;
  readonly #defaults: ResolvedConnectOptions["sessionDefaults"];
  /** `agentForwarding` from connect(): every session asks for it unless told otherwise. */
  readonly #forwardAgent: boolean;
  /** Makes the handler a session's own `agentForwarding: true` installs, if none is. */
  readonly #agentForwarder: ResolvedConnectOptions["agentForwarderOnDemand"];
  /** X11 forwarding to the local display, once a session asked for `x11Forwarding: true`. */
  #x11: Promise<X11ForwardingOptions> | undefined;
  /** Which local display `x11Forwarding: true` forwards to, and how (trusted or not). */
  readonly #x11Display: X11ClientOptions | undefined;

  /** Use `connect()`. */
  constructor(host: string, port: number, socket: ByteSocket, options: ResolvedConnectOptions) {
    super(host, port, socket, options);
    this.#env = options.env;
    this.#sendEnv = checkSendEnv(options.sendEnv, "sendEnv");
    this.#defaults = options.sessionDefaults;
    this.#forwardAgent = options.agentForwarding ?? false;
    this.#agentForwarder = options.agentForwarderOnDemand;
    this.#x11Display = options.x11Display;
  }

  /**
   * Session options with the connection's defaults filled in: agent forwarding, the
   * connection's environment (SendEnv/SetEnv) under the call's own, and X11 forwarding to
   * the local display for `x11Forwarding: true` (see {@link ProcessOptions.x11Forwarding}).
   */
  async #sessionDefaults<T extends ProcessOptions>(options: T): Promise<T> {
    let o = options;
    const d = this.#defaults;
    if (d) {
      for (const k of ["term", "x11Forwarding"] as const) {
        if (o[k] === undefined && d[k] !== undefined) o = { ...o, [k]: d[k] };
      }
    }
    const sendEnv = checkSendEnv(o.sendEnv, "sendEnv") ?? this.#sendEnv;
    if (sendEnv && sendEnv.length > 0) {
      o = { ...o, env: { ...localEnvMatching(sendEnv), ...this.#env, ...o.env } };
    } else if (this.#env) o = { ...o, env: { ...this.#env, ...o.env } };
    if (this.hostKeyUntrusted) {
      // A possible impostor gets no agent and no X11 display, asked for or by default.
      return { ...o, agentForwarding: false, x11Forwarding: undefined };
    }
    if (o.agentForwarding === undefined && this.#forwardAgent) o = { ...o, agentForwarding: true };
    if (o.agentForwarding && this.onAgentChannel === undefined) {
      // Asked for by this session alone: its agent channels go to the connection's agent
      // (refused until some session asks, as ssh does).
      if (this.#agentForwarder) this.onAgentChannel = this.#agentForwarder(this.engine);
      else {
        this.logger.warn(
          "agentForwarding: the connection has no agent (agent: false) and no onAgentChannel; " +
            "the server's agent channels will be refused",
        );
      }
    }
    const x11 = o.x11Forwarding;
    if (
      (x11 === true || x11 === "ignoreFailure") &&
      (this.#x11 !== undefined || this.onX11Channel === undefined)
    ) {
      try {
        const display = await this.#localDisplay();
        o = { ...o, x11Forwarding: x11 === true ? display : { ...display, ignoreFailure: true } };
      } catch (e) {
        if (x11 === true) throw e;
        // As ssh with ForwardX11 and no usable display: said, and the session goes on.
        this.logger.warn(`X11 forwarding not set up: ${errorMessage(e)}`);
        o = { ...o, x11Forwarding: undefined };
      }
    }
    return o;
  }

  readonly #warn = (message: string): void => this.logger.warn(message);

  /** X11 forwarding to the local display, set up once per connection (`x11Display`). */
  #localDisplay(): Promise<X11ForwardingOptions> {
    const setUp = this.#x11 ??= setUpX11Forwarding(this, this.#x11Display);
    // A failure (no DISPLAY) is not kept: the next session may find one.
    setUp.catch(() => {
      if (this.#x11 === setUp) this.#x11 = undefined;
    });
    return setUp;
  }

  /**
   * Starts an SFTP session (the "sftp" subsystem) on a channel of its own,
   * with a receive window big enough for a full pipeline of requests.
   *
   * @example
   * ```ts
   * import { MemoryBackend, connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (p) => { for await (const c of p.stdin) await p.write(c); }, // cat
   *   sftp: { backend: new MemoryBackend() },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await using sftp = await conn.startSftp();
   * await sftp.mkdir("/docs");
   * console.log(await sftp.listdir("/")); // ["docs"]
   * ```
   */
  startSftp(options?: SFTPClientOptions): Promise<SFTPClient> {
    return startSftp(this, options);
  }

  /**
   * libssh2's scp_send64: uploads one file with the legacy `scp -t`. The size
   * is announced up front: the stream takes exactly `size` bytes (more, or
   * closing early, is an SCPError). Closing the stream waits for the remote.
   *
   * @example
   * ```ts
   * import { MemoryBackend, connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (p) => { for await (const c of p.stdin) await p.write(c); }, // cat
   *   scp: { backend: new MemoryBackend() },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const body = new TextEncoder().encode("hello\n");
   * const w = await conn.scpSend("/hello.txt", { size: body.length, mode: 0o600 });
   * const writer = w.getWriter();
   * await writer.write(body);
   * await writer.close();
   * ```
   */
  scpSend(path: string, options: SCPSendOptions): Promise<WritableStream<Uint8Array>> {
    return scpSend(this, path, options);
  }

  /**
   * libssh2's scp_recv2: downloads one file with the legacy `scp -f`: its
   * mode, size and times, and a stream of exactly its bytes.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen, MemoryBackend } from "@sshts/ssh";
   * const backend = new MemoryBackend();
   * backend.writeFile("/hostname", new TextEncoder().encode("example\n"));
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   scp: { backend },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const { stat, readable } = await conn.scpRecv("/hostname");
   * console.log(stat.size, await new Response(readable).text()); // 8 example
   * ```
   */
  scpRecv(
    path: string,
    options?: { readonly signal?: AbortSignal },
  ): Promise<{ stat: SCPFileStat; readable: ReadableStream<Uint8Array<ArrayBuffer>> }> {
    return scpRecv(this, path, options);
  }

  /**
   * Starts a command, a shell or a subsystem. With `encoding`, the output
   * streams carry text. Redirections (`stdin`, `stdout`, `stderr`) start at once.
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
   * const p = await conn.createProcess("cat", { encoding: "utf-8" });
   * await p.write("hi\n");
   * p.writeEof();
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
    checkProcessArgs(target, options, "createProcess");
    const signal = options.signal;
    // A misuse (a locked stream) is refused before the session opens: nothing runs.
    checkRedirectTargets(options);
    // stderr to STDOUT with stdout read here, not redirected: merged on stdout (AsyncSSH).
    const stderrToStdout = options.stderr === STDOUT && options.stdout === undefined;
    const redirects: ProcessOptions = stderrToStdout ? withoutStderr(options) : options;
    const ch = await this.openChannel("session", undefined, {
      ...(signal ? { signal } : {}),
      ...sizesOf(options),
    });
    let process: SSHClientProcess<string | Uint8Array>;
    let withDefaults: ProcessOptions;
    try {
      withDefaults = await this.#sessionDefaults(options);
      // Created before the exec request: exit-status may arrive in the same read as its reply.
      process = new SSHClientProcess<string | Uint8Array>(
        ch,
        typeof target === "string" ? target : undefined,
        {
          subsystem: typeof target === "object" && "subsystem" in target
            ? target.subsystem
            : undefined,
          encoding: options.encoding,
          env: withDefaults.env,
          errors: options.errors,
          stderrToStdout,
        },
      );
    } catch (e) {
      // A failed set-up (no DISPLAY for X11, an unknown encoding) must not leave the
      // session open on the server, holding one of its MaxSessions.
      ch.close();
      throw e;
    }
    try {
      await abortable(
        signal,
        () => startSession(ch, target, withDefaults, this.#warn),
        () => {},
      );
    } catch (e) {
      ch.close();
      throw e;
    }
    if (
      redirects.stdin !== undefined || redirects.stdout !== undefined ||
      redirects.stderr !== undefined
    ) {
      try {
        void process.redirect(redirects).catch(() => {/* reported by wait() */});
      } catch (e) {
        // Not the targets (checked above): the session goes too, not left running.
        ch.close();
        throw e;
      }
    }
    return process;
  }

  /**
   * Starts a command, shell or subsystem with callbacks instead of streams
   * (AsyncSSH's create_session). `session` is the callback object or a factory.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: (p) => p.write(`you ran ${p.command}\n`), // then exits 0
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
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
    const ch = await this.openChannel("session", undefined, sizesOf(options));
    try {
      attachSession(ch, s, 2);
      await startSession(ch, target, await this.#sessionDefaults(options), this.#warn);
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
   * const { stdout } = await conn.run("cat", { input: "hi", check: true, timeout: 5000 });
   * console.log(stdout); // "hi"
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
    checkProcessArgs(command, options, "run");
    const { encoding, input, check, timeout, signal, maxOutput, ...rest } = options;
    signal?.throwIfAborted();
    // A bad one opens no channel; 0 is none.
    const delay = timeout === undefined ? 0 : timeoutDelay(timeout, "timeout") ?? 0;
    checkMaxOutput(maxOutput);
    // The timeout covers the whole run: opening the session and starting the command too (a
    // server that stopped answering held run() there for good).
    const t0 = performance.now();
    const opening = connectDeadline(signal, delay);
    let p: SSHClientProcess<string | Uint8Array>;
    try {
      p = await this.createProcess(command, {
        ...rest,
        ...(opening.signal ? { signal: opening.signal } : {}),
        ...(encoding === null ? {} : { encoding: encoding ?? "utf-8" }),
      });
    } catch (e) {
      if (opening.timedOut) {
        throw new ProcessTimeoutError(
          typeof command === "string" ? command : undefined,
          delay,
          "",
          "",
        );
      }
      throw e;
    } finally {
      opening.clear();
    }
    // wait() starts reading stdout and stderr at once; the input goes in meanwhile. Writing
    // all of it first would stall a process that answers as it reads (`cat`): once both
    // channel windows are full, neither side moves.
    const result = p.wait({
      ...(check !== undefined ? { check } : {}),
      ...(delay > 0 ? { timeout: timeLeft(delay, t0) } : {}),
      ...(signal ? { signal } : {}),
      ...(maxOutput !== undefined ? { maxOutput } : {}),
    });
    if (rest.stdin === undefined) {
      // A process may exit before it read everything (`head -c 10`): the writes still queued
      // then fail with the closed channel, which is no error of the run.
      if (input !== undefined) p.write(input).catch(() => {});
      p.writeEof();
    }
    try {
      return await result;
    } catch (e) {
      // Said with the timeout the caller gave, not what was left of it for the command.
      throw e instanceof ProcessTimeoutError ? wholeTimeout(e, delay) : e;
    }
  }

  // ---- direct connections ----

  /**
   * Opens a direct-tcpip channel: the server connects to `host`:`port` and the
   * connection comes back as streams. Rejects with ChannelOpenError when the
   * server cannot (or may not) connect, and with a RangeError, sending nothing, for
   * a `host` holding a control character such as NUL (OpenSSH's sshd would end the
   * whole connection over it).
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
   *   connectionRequested: () => true, // allow direct-tcpip
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * // The server connects to itself here: the first bytes are its SSH banner.
   * await using c = await conn.openConnection("127.0.0.1", server.address.port);
   * const reader = c.readable.getReader();
   * const banner = new TextDecoder().decode((await reader.read()).value).split("\r\n")[0];
   * console.log(banner); // SSH-2.0-sshts_…
   * reader.releaseLock();
   * ```
   */
  async openConnection(
    host: string,
    port: number,
    origin: OpenConnectionOptions = {},
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
      { streams: 1, ...(origin.signal ? { signal: origin.signal } : {}), ...sizesOf(origin) },
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
  async openUnixConnection(
    path: string,
    options: OpenUnixConnectionOptions = {},
  ): Promise<SSHStreamConnection> {
    const ch = await this.openChannel(
      "direct-streamlocal@openssh.com",
      encodeStreamlocalOpen(path),
      { streams: 1, ...(options.signal ? { signal: options.signal } : {}), ...sizesOf(options) },
    );
    return streamConnection(ch, { path });
  }

  /**
   * Opens a direct-tcpip channel driven by callbacks (AsyncSSH's
   * create_connection), with {@link openConnection}'s options.
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
    options: OpenConnectionOptions = {},
  ): Promise<{ channel: ChannelIO; session: S }> {
    const s = typeof session === "function" ? session() : session;
    const c = await this.openConnection(host, port, options);
    attachSession(c.channel, s, 1);
    return { channel: c.channel, session: s };
  }

  /**
   * Opens a direct-streamlocal channel to a UNIX socket on the server, driven by callbacks
   * (AsyncSSH's create_unix_connection), with {@link openUnixConnection}'s options.
   *
   * @example
   * ```ts ignore
   * const { channel } = await conn.createUnixConnection({ dataReceived: (d) => log(d) },
   *   "/run/app.sock");
   * await channel.write(request);
   * ```
   */
  async createUnixConnection<S extends SSHChannelSession>(
    session: S | (() => S),
    path: string,
    options: OpenUnixConnectionOptions = {},
  ): Promise<{ channel: ChannelIO; session: S }> {
    const s = typeof session === "function" ? session() : session;
    const c = await this.openUnixConnection(path, options);
    attachSession(c.channel, s, 1);
    return { channel: c.channel, session: s };
  }

  // ---- forwarding (ClientForwarding in forwarding.ts does the work) ----

  /**
   * Listens locally and forwards each connection through the server to
   * `destHost`:`destPort` (`ssh -L`). Resolves with the listener; with
   * `listenPort: 0` its `port` is the one chosen.
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
   *   connectionRequested: () => true, // allow direct-tcpip
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await using l = await conn.forwardLocalPort({
   *   listenPort: 0,
   *   destHost: "127.0.0.1",
   *   destPort: server.address.port,
   * });
   * console.log(`the server's own port, through the tunnel: 127.0.0.1:${l.port}`);
   * ```
   */
  forwardLocalPort(options: LocalPortForwardOptions): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.forwardLocalPort(options));
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
    options: { readonly listenPath: string; readonly destPath: string } & ForwardSignalOptions,
  ): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.forwardLocalPath(options));
  }

  /**
   * Asks the server to listen on `listenHost`:`listenPort` and forwards each
   * connection it accepts to `destHost`:`destPort` from here (`ssh -R`). With
   * `listenPort: 0` the server picks the port: the listener's `port` says which.
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
   *   serverRequested: () => true, // allow tcpip-forward
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await using l = await conn.forwardRemotePort({
   *   listenPort: 0,
   *   destHost: "127.0.0.1",
   *   destPort: 3000,
   * });
   * console.log(`server port ${l.port} reaches our 3000`);
   * ```
   */
  forwardRemotePort(options: RemotePortForwardOptions): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.forwardRemotePort(options));
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
    options: { readonly listenPath: string; readonly destPath: string } & ForwardSignalOptions,
  ): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.forwardRemotePath(options));
  }

  /**
   * Asks the server to listen on `listenHost`:`listenPort` and hands each
   * connection it accepts to `handler` as streams (AsyncSSH's start_server). `accept`, when
   * given, decides first from where a connection comes: false (or a rejection) refuses it
   * before it is opened — the server's client sees its connection fail, as with ssh2's
   * `reject()`.
   *
   * @example An echo service on the server's port 8022, for local clients only
   * ```ts ignore
   * await conn.startServer((c) => c.readable.pipeTo(c.writable), {
   *   listenPort: 8022,
   *   accept: (info) => info.originHost === "127.0.0.1",
   * });
   * ```
   */
  startServer(
    handler: RemoteConnectionHandler,
    options:
      & { readonly listenHost?: string; readonly listenPort: number }
      & RemoteAcceptOptions
      & ForwardSignalOptions,
  ): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.startServer(handler, options));
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
    options: { readonly listenPath: string } & RemoteAcceptOptions & ForwardSignalOptions,
  ): Promise<SSHListener> {
    return listenerWithSignal(
      options.signal,
      () => this.forwarding.startUnixServer(handler, options),
    );
  }

  /**
   * Asks the server to listen on `listenHost`:`listenPort` (port 0: one it picks, then in
   * `port`) and queues the connections it forwards until they are accepted — pull-style,
   * as libssh2's `forward_listen` and `forward_accept`: `await l.accept()`, or
   * `for await (const c of l)` until the listener closes. At most `backlog` (default 16)
   * wait; one more is closed at once (its peer sees the connection accepted, then ended).
   *
   * @example An echo service on the server's port 8022
   * ```ts ignore
   * await using l = await conn.listenRemote({ listenPort: 8022 });
   * for await (const c of l) void c.readable.pipeTo(c.writable);
   * ```
   */
  async listenRemote(
    options:
      & { readonly listenHost?: string; readonly listenPort: number; readonly backlog?: number }
      & ForwardSignalOptions,
  ): Promise<SSHAcceptingListener> {
    const queue = new AcceptQueue(options.backlog);
    return queue.attach(await this.startServer((c) => queue.push(c), options));
  }

  /**
   * Like {@link listenRemote}, on a UNIX socket path on the server.
   *
   * @example
   * ```ts ignore
   * await using l = await conn.listenRemoteUnix({ listenPath: "/tmp/app.sock" });
   * const c = await l.accept({ signal: AbortSignal.timeout(30_000) });
   * ```
   */
  async listenRemoteUnix(
    options: { readonly listenPath: string; readonly backlog?: number } & ForwardSignalOptions,
  ): Promise<SSHAcceptingListener> {
    const queue = new AcceptQueue(options.backlog);
    return queue.attach(await this.startUnixServer((c) => queue.push(c), options));
  }

  /**
   * Listens locally as a SOCKS 4, 4a and 5 proxy (CONNECT, no authentication):
   * each request becomes a direct-tcpip channel (`ssh -D`).
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
   *   connectionRequested: () => true, // allow direct-tcpip
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await using socks = await conn.forwardSocks({ listenPort: 0 });
   * console.log(`curl --socks5-hostname 127.0.0.1:${socks.port} http://intranet/`);
   * ```
   */
  forwardSocks(options: SocksForwardOptions): Promise<SSHListener> {
    return listenerWithSignal(options.signal, () => this.forwarding.forwardSocks(options));
  }
}

/** The per-channel window and packet size of an options object, for openChannel. */
function sizesOf(
  o: { readonly windowSize?: number | undefined; readonly maxPacketSize?: number | undefined },
): { windowSize?: number; maxPacketSize?: number } {
  return {
    ...(o.windowSize !== undefined ? { windowSize: o.windowSize } : {}),
    ...(o.maxPacketSize !== undefined ? { maxPacketSize: o.maxPacketSize } : {}),
  };
}

/** A listener that `signal` stops: before it is up (the call rejects) or after (it closes). */
async function listenerWithSignal(
  signal: AbortSignal | undefined,
  start: () => Promise<SSHListener>,
): Promise<SSHListener> {
  const l = await abortable(signal, start, (l) => l.close());
  if (signal) {
    const stop = () => void l.close().catch(() => {});
    signal.addEventListener("abort", stop, { once: true });
    void l.closed.then(() => signal.removeEventListener("abort", stop), () => {});
  }
  return l;
}
