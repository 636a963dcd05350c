/**
 * A remote process on a session channel (AsyncSSH's SSHClientProcess): stdin,
 * stdout and stderr as Web Streams (bytes, or text with an encoding), exit
 * status and signal, signals, terminal size changes, breaks, flow-control
 * notices, and redirection of its streams.
 *
 * @module
 */

import {
  decodeExitSignal,
  decodeExitStatus,
  decodeXonXoff,
  encodeBreak,
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
  encodeWindowChange,
  encodeX11Request,
  type ExitSignal,
  type PtyRequest,
  type TerminalSize,
} from "../core/connection/session_requests.ts";
import { SSHError } from "../core/errors.ts";
import type { ChannelIO } from "./channel.ts";
import { type RedirectOptions, redirectProcess } from "./redirect.ts";

/** What a finished process produced. */
export interface ProcessResult<T extends string | Uint8Array = string | Uint8Array> {
  /** The command that ran; undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** Everything written to stdout (text unless the encoding was null). */
  readonly stdout: T;
  /** Everything written to stderr. */
  readonly stderr: T;
  /** Exit status, or null when the process was killed by a signal or gave none. */
  readonly exitStatus: number | null;
  /** The signal that ended the process, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode: the exit status, minus the signal number for a signal, or null. */
  readonly returnCode: number | null;
}

/**
 * A process that exited with a non-zero status (or by a signal) when `check` was set.
 *
 * @example
 * ```ts ignore
 * try { await conn.run("false", { check: true }); }
 * catch (e) { if (e instanceof ProcessError) console.log(e.exitStatus); }
 * ```
 */
export class ProcessError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Its exit status, or null if it died by a signal. */
  readonly exitStatus: number | null;
  /** The signal that ended it, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode. */
  readonly returnCode: number | null;
  /** What it wrote to stdout. */
  readonly stdout: string | Uint8Array;
  /** What it wrote to stderr. */
  readonly stderr: string | Uint8Array;

  /** Creates the error from a result. */
  constructor(result: ProcessResult) {
    const why = result.exitSignal
      ? `was killed by signal ${result.exitSignal.signal}`
      : result.exitStatus === null
      ? "ended without an exit status"
      : `exited with status ${result.exitStatus}`;
    super("ERR_PROCESS", `Process ${result.command ? `"${result.command}" ` : ""}${why}`);
    this.name = "ProcessError";
    this.command = result.command;
    this.exitStatus = result.exitStatus;
    this.exitSignal = result.exitSignal;
    this.returnCode = result.returnCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/**
 * A process did not finish within its timeout. It carries the output read so far.
 *
 * @example
 * ```ts ignore
 * try { await conn.run("sleep 10", { timeout: 100 }); }
 * catch (e) { if (e instanceof ProcessTimeoutError) console.log(e.stdout); }
 * ```
 */
export class ProcessTimeoutError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Output read before the timeout. */
  readonly stdout: string | Uint8Array;
  /** Error output read before the timeout. */
  readonly stderr: string | Uint8Array;

  /** Creates the error. */
  constructor(
    command: string | undefined,
    ms: number,
    stdout: string | Uint8Array,
    stderr: string | Uint8Array,
  ) {
    super("ERR_TIMEOUT", `Process ${command ? `"${command}" ` : ""}did not finish within ${ms} ms`);
    this.name = "ProcessTimeoutError";
    this.command = command;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/** Signal numbers for AsyncSSH's negative returncode (Linux numbering). */
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  ABRT: 6,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
};

/** Options of {@link SSHClientProcess.wait}. */
export interface WaitOptions {
  /** Reject with {@link ProcessError} on a non-zero exit status or a signal. */
  readonly check?: boolean;
  /** Give up after this many ms: the channel is closed and {@link ProcessTimeoutError} thrown. */
  readonly timeout?: number;
  /** Give up when this aborts: the channel is closed and the signal's reason thrown. */
  readonly signal?: AbortSignal;
}

const encoder = new TextEncoder();

/**
 * A running remote process. `T` is what its output streams carry: bytes, or
 * strings when the process was created with an `encoding`.
 *
 * @example Talk to `cat`
 * ```ts ignore
 * const p = await conn.createProcess("cat", { encoding: "utf-8" });
 * await p.write("hello\n");
 * p.writeEof();
 * const { stdout } = await p.wait();   // "hello\n"
 * ```
 */
export class SSHClientProcess<T extends string | Uint8Array = Uint8Array> {
  readonly #channel: ChannelIO;
  /** The command, or undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** The subsystem, when one was started. */
  readonly subsystem: string | undefined;
  /** The text encoding of the output streams, or undefined for bytes. */
  readonly encoding: string | undefined;
  #exitStatus: number | null = null;
  #exitSignal: ExitSignal | null = null;
  #xonXoff: boolean | undefined;
  #stdin: WritableStream<T> | undefined;
  #stdout: ReadableStream<T> | undefined;
  #stderr: ReadableStream<T> | undefined;
  /** Which output streams were handed out or redirected (wait() leaves those alone). */
  readonly #claimed = [false, false];
  readonly #redirects: Promise<void>[] = [];
  #collectors: (Collector | undefined)[] | undefined;
  /** Called when the server tells whether the client may do XON/XOFF flow control. */
  onXonXoff: ((clientCanDo: boolean) => void) | undefined;

  /** Wraps an open session channel on which the command was (or will be) started. */
  constructor(
    channel: ChannelIO,
    command: string | undefined,
    options: { subsystem?: string | undefined; encoding?: string | undefined } = {},
  ) {
    this.#channel = channel;
    this.command = command;
    this.subsystem = options.subsystem;
    this.encoding = options.encoding;
    if (this.encoding) new TextDecoder(this.encoding); // throws RangeError for an unknown one
    channel.onRequest = (request, data) => {
      if (request === "exit-status") this.#exitStatus = decodeExitStatus(data);
      else if (request === "exit-signal") this.#exitSignal = decodeExitSignal(data);
      else if (request === "xon-xoff") {
        this.#xonXoff = decodeXonXoff(data);
        this.onXonXoff?.(this.#xonXoff);
      } else return false;
      return true;
    };
  }

  /** The process's standard input (strings are encoded when an encoding is set). Closing it sends EOF. */
  get stdin(): WritableStream<T> {
    if (!this.#stdin) {
      const ch = this.#channel;
      this.#stdin = new WritableStream<T>({
        write: (chunk) => ch.write(this.#toBytes(chunk)),
        close: () => ch.sendEof(),
        abort: () => ch.close(),
      });
    }
    return this.#stdin;
  }

  /** The process's standard output. */
  get stdout(): ReadableStream<T> {
    this.#claimed[0] = true;
    return (this.#stdout ??= this.#decoded(0));
  }

  /** The process's standard error. */
  get stderr(): ReadableStream<T> {
    this.#claimed[1] = true;
    return (this.#stderr ??= this.#decoded(1));
  }

  /** The exit status once known (null while running or when killed by a signal). */
  get exitStatus(): number | null {
    return this.#exitStatus;
  }

  /** The exit signal once known. */
  get exitSignal(): ExitSignal | null {
    return this.#exitSignal;
  }

  /** AsyncSSH's returncode: exit status, `-signal number` after a signal, else null. */
  get returnCode(): number | null {
    return returnCodeOf(this.#exitStatus, this.#exitSignal);
  }

  /**
   * The server's last `xon-xoff` notice: true when the client may handle
   * Ctrl-S/Ctrl-Q itself (the pty does not), undefined before any notice.
   */
  get xonXoff(): boolean | undefined {
    return this.#xonXoff;
  }

  /** The underlying channel. */
  get channel(): ChannelIO {
    return this.#channel;
  }

  /** Resolves when the channel is closed (exit status and signal are known by then). */
  get closed(): Promise<void> {
    return this.#channel.closedPromise;
  }

  /** Writes bytes or text to stdin without taking the stream's lock. */
  write(data: Uint8Array | string): Promise<void> {
    return this.#channel.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Sends EOF on stdin (after the writes already queued). */
  writeEof(): void {
    this.#channel.sendEof();
  }

  /** Sends a signal by name, with or without "SIG" (e.g. "TERM", "SIGINT"). */
  signal(name: string): Promise<boolean> {
    return this.#channel.request("signal", encodeStringArg(name.replace(/^SIG/, "")), false);
  }

  /** Sends SIGTERM. */
  terminate(): Promise<boolean> {
    return this.signal("TERM");
  }

  /** Sends SIGKILL. */
  kill(): Promise<boolean> {
    return this.signal("KILL");
  }

  /** Tells the remote side the terminal size changed (a `window-change` request). */
  changeTerminalSize(size: TerminalSize): Promise<boolean> {
    return this.#channel.request("window-change", encodeWindowChange(size), false);
  }

  /** Sends a break of `ms` milliseconds (RFC 4335). Resolves with the server's answer. */
  sendBreak(ms: number): Promise<boolean> {
    return this.#channel.request("break", encodeBreak(ms), true);
  }

  /**
   * Redirects stdin, stdout and/or stderr to or from files, streams, byte
   * arrays or other processes (see {@link RedirectOptions}). Resolves when every
   * redirection given here has finished; {@link wait} waits for them too.
   *
   * @example Copy a remote file to a local one
   * ```ts ignore
   * const p = await conn.createProcess("cat /etc/hostname");
   * await p.redirect({ stdout: "./hostname.txt" });
   * ```
   */
  redirect(options: RedirectOptions): Promise<void> {
    if (options.stdout !== undefined) this.#claimed[0] = true;
    if (options.stderr !== undefined) this.#claimed[1] = true;
    const done = redirectProcess(this as SSHClientProcess<string | Uint8Array>, options);
    this.#redirects.push(done.catch(() => {}));
    return done;
  }

  /** Closes the channel at once. */
  close(): void {
    this.#channel.close();
  }

  /** `await using` support: closes the channel. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return this.#channel.closedPromise;
  }

  /** Resolves when the channel is closed, with the exit status and signal. */
  async waitClosed(): Promise<void> {
    await this.#channel.closedPromise;
  }

  /**
   * Reads stdout and stderr to the end (those not handed out or redirected),
   * waits for the channel to close, and returns the result (text when an
   * encoding is set). With `check`, a non-zero exit rejects with
   * {@link ProcessError}; with `timeout`, the process is closed and
   * {@link ProcessTimeoutError} thrown when it runs longer.
   *
   * @example
   * ```ts ignore
   * const p = await conn.createProcess("ls /", { encoding: "utf-8" });
   * const { stdout, exitStatus } = await p.wait({ check: true, timeout: 5000 });
   * ```
   */
  async wait(options: WaitOptions = {}): Promise<ProcessResult<T>> {
    // Collectors are made once: a second wait() (say, after a timeout) reuses them.
    const outs =
      (this.#collectors ??= [0, 1].map((s) =>
        this.#claimed[s] ? undefined : new Collector(this.#raw(s))
      ));
    const all = Promise.all([
      ...outs.map((c) => c?.done),
      this.#channel.closedPromise,
      ...this.#redirects,
    ]);
    if (options.timeout !== undefined || options.signal) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<"timeout" | "aborted">((r) => {
        if (options.timeout !== undefined) timer = setTimeout(() => r("timeout"), options.timeout);
        onAbort = () => r("aborted");
        if (options.signal?.aborted) onAbort();
        options.signal?.addEventListener("abort", onAbort, { once: true });
      });
      all.catch(() => {}); // may reject after we stopped waiting
      const won = await Promise.race([all, stop]);
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort!);
      if (won === "aborted") {
        this.close();
        throw options.signal!.reason;
      }
      if (won === "timeout") {
        this.close();
        throw new ProcessTimeoutError(
          this.command,
          options.timeout!,
          this.#decode(outs[0]?.bytes() ?? new Uint8Array(0)),
          this.#decode(outs[1]?.bytes() ?? new Uint8Array(0)),
        );
      }
    } else {
      await all;
    }
    const result: ProcessResult<T> = {
      command: this.command,
      stdout: this.#decode(outs[0]?.bytes() ?? new Uint8Array(0)),
      stderr: this.#decode(outs[1]?.bytes() ?? new Uint8Array(0)),
      exitStatus: this.#exitStatus,
      exitSignal: this.#exitSignal,
      returnCode: this.returnCode,
    };
    if (options.check && (this.#exitStatus !== 0 || this.#exitSignal)) {
      throw new ProcessError(result);
    }
    return result;
  }

  /** The raw byte stream of stdout (0) or stderr (1), for redirection. */
  rawOutput(stream: 0 | 1): ReadableStream<Uint8Array> {
    this.#claimed[stream] = true;
    return this.#raw(stream);
  }

  #raw(stream: number): ReadableStream<Uint8Array> {
    return this.#channel.readable(stream);
  }

  #decoded(stream: number): ReadableStream<T> {
    const raw = this.#raw(stream);
    if (!this.encoding) return raw as ReadableStream<T>;
    // The cast: DOM's lib types TextDecoderStream's writable side as BufferSource, Node's
    // and Deno's as Uint8Array; both accept the Uint8Array chunks piped here.
    const decoder = new TextDecoderStream(this.encoding) as unknown as TransformStream<
      Uint8Array,
      string
    >;
    return raw.pipeThrough(decoder) as unknown as ReadableStream<T>;
  }

  #decode(b: Uint8Array): T {
    return (this.encoding ? new TextDecoder(this.encoding).decode(b) : b) as T;
  }

  #toBytes(chunk: T): Uint8Array {
    return typeof chunk === "string" ? encoder.encode(chunk) : chunk as Uint8Array;
  }
}

/**
 * AsyncSSH's returncode from an exit status and signal.
 *
 * @example
 * ```ts
 * import { returnCodeOf } from "./process.ts";
 * console.log(returnCodeOf(null, { signal: "TERM", coreDumped: false, message: "", language: "" })); // -15
 * ```
 */
export function returnCodeOf(status: number | null, signal: ExitSignal | null): number | null {
  if (signal) return -(SIGNAL_NUMBERS[signal.signal] ?? 0) || -1;
  return status;
}

/** Reads a byte stream to its end, keeping what it read so far available. */
class Collector {
  readonly #parts: Uint8Array[] = [];
  #n = 0;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const c of stream) {
        this.#parts.push(c);
        this.#n += c.length;
      }
    })();
  }

  bytes(): Uint8Array {
    return concatParts(this.#parts, this.#n);
  }
}

function concatParts(parts: Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Reads a byte stream to its end.
 *
 * @example
 * ```ts ignore
 * const bytes = await collect(process.stdout);
 * ```
 */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const c = new Collector(stream);
  await c.done;
  return c.bytes();
}

// ---- starting a session ----

/** What to start on a session channel: a command, a shell, or a subsystem. */
export type ProcessTarget = string | { readonly shell: true } | { readonly subsystem: string };

/** Pseudo-terminal settings (`term` of {@link ProcessOptions}). */
export interface TerminalOptions {
  /** TERM, e.g. "xterm-256color" (default "xterm"). */
  readonly type?: string;
  /** Size in characters (and optionally pixels); default 80×24. */
  readonly size?: TerminalSize;
  /** Terminal modes: RFC 4254 §8 opcode → value (see {@link TerminalMode}). */
  readonly modes?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
}

/** Common terminal mode opcodes (RFC 4254 §8), for {@link TerminalOptions.modes}. */
export const TerminalMode = {
  VINTR: 1,
  VEOF: 4,
  VERASE: 3,
  ISIG: 50,
  ICANON: 51,
  ECHO: 53,
  ECHOE: 54,
  IXON: 38,
  IXOFF: 40,
  OPOST: 70,
  ONLCR: 72,
  TTY_OP_ISPEED: 128,
  TTY_OP_OSPEED: 129,
} as const;

/** X11 forwarding for a session (`x11Forwarding` of {@link ProcessOptions}). */
export interface X11ForwardingOptions {
  /** Display screen number (default 0). */
  readonly screen?: number;
  /** Authentication protocol (default "MIT-MAGIC-COOKIE-1"). */
  readonly authProtocol?: string;
  /** Authentication cookie in hex (default: 16 random bytes). */
  readonly authCookie?: string;
  /** Forward only one X11 connection. */
  readonly singleConnection?: boolean;
}

/** Options of `createProcess`, `createSession` and `run`. */
export interface ProcessOptions extends RedirectOptions {
  /** Environment variables to send (the server must accept them, e.g. OpenSSH's AcceptEnv). */
  readonly env?: Readonly<Record<string, string>>;
  /** Request a pseudo-terminal: a TERM name, or full settings. */
  readonly term?: string | TerminalOptions | PtyRequest;
  /** Decode output as text in this encoding (e.g. "utf-8"); stdin then takes strings too. */
  readonly encoding?: string;
  /** Ask for X11 forwarding; incoming x11 channels go to the connection's `onX11Channel`. */
  readonly x11Forwarding?: boolean | X11ForwardingOptions;
  /** Ask for agent forwarding; incoming agent channels go to the connection's `onAgentChannel`. */
  readonly agentForwarding?: boolean;
}

function ptyRequestOf(term: string | TerminalOptions | PtyRequest): PtyRequest {
  if (typeof term === "string") return { term, columns: 80, rows: 24 };
  if ("term" in term) return term;
  const size = term.size ?? { columns: 80, rows: 24 };
  const modes = term.modes instanceof Map
    ? term.modes
    : new Map(Object.entries(term.modes ?? {}).map(([k, v]) => [Number(k), v as number]));
  return { term: term.type ?? "xterm", ...size, modes };
}

function x11RequestOf(x: true | X11ForwardingOptions): Uint8Array {
  const o = x === true ? {} : x;
  let cookie = o.authCookie;
  if (!cookie) {
    const b = crypto.getRandomValues(new Uint8Array(16));
    cookie = Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
  }
  return encodeX11Request({
    singleConnection: o.singleConnection ?? false,
    authProtocol: o.authProtocol ?? "MIT-MAGIC-COOKIE-1",
    authCookie: cookie,
    screen: o.screen ?? 0,
  });
}

/**
 * Sends a session's set-up requests (env, pty-req, x11-req,
 * auth-agent-req@openssh.com) and then exec, shell or subsystem. Rejects when
 * the server refuses the pty, X11 forwarding or the start itself.
 *
 * @example
 * ```ts ignore
 * const ch = await conn.openSession();
 * await startSession(ch, "uname -a", { env: { LANG: "C" } });
 * ```
 */
export async function startSession(
  ch: ChannelIO,
  target: ProcessTarget,
  options: ProcessOptions,
): Promise<void> {
  for (const [name, value] of Object.entries(options.env ?? {})) {
    // OpenSSH ignores variables outside AcceptEnv; that is not fatal (as ssh's SendEnv).
    await ch.request("env", encodeEnv(name, value), false);
  }
  if (options.term) {
    if (!(await ch.request("pty-req", encodePtyRequest(ptyRequestOf(options.term))))) {
      throw new SSHError("ERR_CHANNEL", "The server refused to allocate a pseudo-terminal");
    }
  }
  if (options.x11Forwarding) {
    if (!(await ch.request("x11-req", x11RequestOf(options.x11Forwarding)))) {
      throw new SSHError("ERR_CHANNEL", "The server refused X11 forwarding");
    }
  }
  if (options.agentForwarding) {
    // As ssh: no reply asked; a server that refuses simply opens no agent channels.
    await ch.request("auth-agent-req@openssh.com", undefined, false);
  }
  let ok: boolean;
  if (typeof target === "string") ok = await ch.request("exec", encodeStringArg(target));
  else if ("shell" in target) ok = await ch.request("shell");
  else ok = await ch.request("subsystem", encodeStringArg(target.subsystem));
  if (!ok) {
    const what = typeof target === "string"
      ? `run "${target}"`
      : "shell" in target
      ? "start a shell"
      : `start subsystem "${target.subsystem}"`;
    throw new SSHError("ERR_CHANNEL", `The server refused to ${what}`);
  }
}

// ---- callback sessions (AsyncSSH's SSHClientSession) ----

/**
 * Callbacks for a channel, as AsyncSSH's session objects: the low-level
 * alternative to streams. `dataReceived` may return a promise: the channel
 * window stays closed until it settles, so a slow handler slows the peer.
 */
export interface SSHChannelSession {
  /** The channel is open (and, for a session, started). */
  connectionMade?(channel: ChannelIO): void;
  /** Data arrived: stream 0 is data, 1 is stderr. */
  dataReceived?(data: Uint8Array, stream: number): void | Promise<void>;
  /** The peer sent EOF (after all its data was delivered). */
  eofReceived?(): void;
  /** The channel is closed; `error` when the connection failed under it. */
  connectionLost?(error: Error | undefined): void;
}

/** Callbacks for a session channel: {@link SSHChannelSession} plus what a process reports. */
export interface SSHClientSession extends SSHChannelSession {
  /** The process exited with `status`. */
  exitStatusReceived?(status: number): void;
  /** The process was killed by a signal. */
  exitSignalReceived?(signal: ExitSignal): void;
  /** The server's xon-xoff notice: whether the client may do flow control itself. */
  xonXoffRequested?(clientCanDo: boolean): void;
}

/**
 * Drives `session`'s callbacks from `channel`: delivers data in order with
 * backpressure, then EOF, then the close.
 *
 * @example
 * ```ts ignore
 * attachSession(channel, { dataReceived: (d) => console.log(d.length) }, 1);
 * ```
 */
export function attachSession(
  channel: ChannelIO,
  session: SSHClientSession,
  streams: 1 | 2 = 2,
): void {
  channel.onRequest = (request, data) => {
    if (request === "exit-status") session.exitStatusReceived?.(decodeExitStatus(data));
    else if (request === "exit-signal") session.exitSignalReceived?.(decodeExitSignal(data));
    else if (request === "xon-xoff") session.xonXoffRequested?.(decodeXonXoff(data));
    else return false;
    return true;
  };
  let failure: Error | undefined;
  // One delivery chain for both streams keeps callbacks from overlapping.
  let chain: Promise<void> = Promise.resolve();
  const pump = async (stream: number) => {
    try {
      for await (const c of channel.readable(stream)) {
        const p = chain.then(() => session.dataReceived?.(c, stream));
        chain = p.catch(() => {});
        await p;
      }
    } catch (e) {
      failure ??= e as Error;
    }
  };
  const pumps = Array.from({ length: streams }, (_, s) => pump(s));
  session.connectionMade?.(channel);
  void Promise.all(pumps).then(async () => {
    await chain;
    if (channel.eofReceived && !failure) session.eofReceived?.();
    await channel.closedPromise;
    session.connectionLost?.(failure);
  });
}
