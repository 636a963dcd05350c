/**
 * The server side of a session (AsyncSSH's SSHServerProcess): what the client
 * asked for (command, shell, subsystem, env, terminal), stdin as a
 * ReadableStream, stdout/stderr as WritableStreams, signals, breaks, window
 * changes, and the exit. On pty sessions a {@link LineEditor} sits between the
 * channel and the application unless turned off.
 *
 * @module
 */

import {
  encodeExitSignal,
  encodeExitStatus,
  encodeXonXoff,
  type PtyRequest,
  type TerminalSize,
} from "../../core/connection/session_requests.ts";
import { concatBytes } from "../../core/wire.ts";
import { type ChannelIO, isBytes, valueKind } from "../engine/channel.ts";
import { ChannelClosedError } from "../engine/errors.ts";
import type { ReadChunk } from "../client/process.ts";
import { LineEditor, type LineEditorOptions } from "./line_editor.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { AgentClient } from "../agent/client.ts";
import { LINE_EDITOR_BUFFER, MAX_PENDING_PROCESS_EVENTS } from "../limits.ts";
import {
  drainInto,
  feedSource,
  openSink,
  type RedirectSource,
  type RedirectTarget,
  STDOUT,
} from "../client/redirect.ts";
import { markTextStream } from "../engine/stream_reader.ts";

/**
 * What the client did besides sending data, as {@link SSHServerProcess.events}
 * delivers it (AsyncSSH's SignalReceived, BreakReceived and TerminalSizeChanged).
 */
export type ServerProcessEvent =
  | { readonly type: "signal"; readonly signal: string }
  | { readonly type: "break"; readonly ms: number }
  | { readonly type: "terminalSizeChanged"; readonly size: TerminalSize };

/** What {@link SSHServerProcess.redirect} redirects (the server's view of the streams). */
export interface ServerRedirectOptions {
  /** Where the client's input goes: a file, a WritableStream, or another process's input. */
  readonly stdin?: RedirectTarget;
  /** What to send as the client's stdout: a file, bytes, a stream, or another process's stdout. */
  readonly stdout?: RedirectSource;
  /** What to send as stderr: like stdout (a process source gives its stderr), or {@link STDOUT}. */
  readonly stderr?: RedirectSource | typeof STDOUT;
  /** Send EOF to the client once every redirected output source ended (default true). */
  readonly sendEof?: boolean;
  /** Close the stdin target (a stream, a process's input) when the client's input ends (default true). */
  readonly closeTarget?: boolean;
  /**
   * With output redirected too, whether `redirect()` also waits for the client's input to
   * end (its EOF) before it resolves. Default true for a file or a WritableStream (what
   * the client uploads is part of the work), false for another SSH process (a proxy ends
   * with its output). false lets a session end while the client still holds its input
   * open, as rsync's client does until the exit status: feeding a local child's stdin
   * (`Writable.toWeb(child.stdin)`), pass false, or use `runLocalCommand()`. Input not
   * waited for goes on flowing; once the output is sent, its errors are dropped.
   */
  readonly waitForInput?: boolean;
}

/** How {@link textSession} decodes the client's input. */
export interface SessionEncodingOptions {
  /** A label `TextDecoder` knows; default "utf-8". Text written out is always UTF-8. */
  readonly encoding?: string;
  /** "strict" fails the input stream on bytes that do not decode; default "replace" (U+FFFD). */
  readonly errors?: "strict" | "replace";
}

/** How a session process is created (by the server, for each session request). */
export interface ServerProcessInit {
  /** The command to run: the client's, or a forced one. */
  readonly command?: string | undefined;
  /** The client's own command when a forced command replaced it. */
  readonly originalCommand?: string | undefined;
  /** The subsystem name for subsystem requests. */
  readonly subsystem?: string | undefined;
  /** Environment variables to pass. */
  readonly env: Readonly<Record<string, string>>;
  /** The pty request, if any. */
  readonly terminal?: PtyRequest | undefined;
  /** The authenticated user. */
  readonly username: string;
  /** Line editor settings, or false for none. Only used with a terminal. */
  readonly lineEditor?: LineEditorOptions | false;
  /** The connection the session belongs to. */
  readonly connection?: ServerConnectionContext | undefined;
  /** The forwarded agent, when agent forwarding was allowed. */
  readonly agent?: AgentClient | undefined;
  /** The forwarded agent's socket for child processes, when agent forwarding was allowed. */
  readonly agentSocketPath?: string | undefined;
  /** The X11 display (`DISPLAY`), when X11 forwarding was allowed. */
  readonly x11Display?: string | undefined;
  /** The Xauthority file with the session's X11 cookie (`XAUTHORITY`). */
  readonly x11AuthPath?: string | undefined;
}

const encoder = new TextEncoder();

/**
 * A session the client started, handed to `processFactory`.
 *
 * @example An interactive prompt (a pty session gets the line editor)
 * ```ts
 * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: async (process) => {
 *     await process.write("name? ");
 *     for await (const line of process.stdin.pipeThrough(new TextDecoderStream())) {
 *       await process.write(`hello ${line}`);
 *       break;
 *     }
 *   },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * const p = await conn.createProcess("greet", { encoding: "utf-8" });
 * await p.write("Ann\n");
 * console.log((await p.wait()).stdout); // "name? hello Ann\n"
 * ```
 */
export class SSHServerProcess<T extends string | Uint8Array = Uint8Array> {
  readonly #channel: ChannelIO;
  /**
   * The command for exec requests (a forced command if one applies); undefined for a shell
   * or subsystem. A command's bytes that are not UTF-8 come as U+DC80–U+DCFF
   * (`encodeEscapedUtf8(command)` gives the bytes back).
   */
  readonly command: string | undefined;
  /** The command the client asked for, when a forced command replaced it (also in env SSH_ORIGINAL_COMMAND). */
  readonly originalCommand: string | undefined;
  /** The subsystem name for subsystem requests. */
  readonly subsystem: string | undefined;
  /**
   * Environment variables the client sent and `acceptEnv` accepted, then the key's
   * authorized_keys `environment=` ones that `permitUserEnvironment` lets through, then
   * the server's own (`SSH_ORIGINAL_COMMAND`,
   * `SSH_AUTH_SOCK`, `DISPLAY`, `XAUTHORITY`); a client never sets the later kinds.
   */
  readonly env: Readonly<Record<string, string>>;
  /** The pty request, if the client asked for a terminal. */
  readonly terminal: PtyRequest | undefined;
  /** The authenticated user. */
  readonly username: string;
  /** The connection this session runs on. */
  readonly connection: ServerConnectionContext | undefined;
  /**
   * The client's agent, when the client asked for agent forwarding and the
   * `agentForwardingRequested` hook allowed it: list its keys, sign with them.
   */
  readonly agent: AgentClient | undefined;
  /**
   * A UNIX socket reaching the client's agent (also `env.SSH_AUTH_SOCK`), for
   * child processes such as `git` or `ssh`; removed when the session ends.
   */
  readonly agentSocketPath: string | undefined;
  /**
   * The X11 display forwarded to the client (AsyncSSH's `get_x11_display`),
   * e.g. "localhost:10.0", when the client asked for X11 forwarding and the
   * server allowed it; also `env.DISPLAY`.
   */
  readonly x11Display: string | undefined;
  /** The Xauthority file holding the display's cookie (also `env.XAUTHORITY`). */
  readonly x11AuthPath: string | undefined;
  #size: TerminalSize | undefined;
  #exited = false;
  #stdin: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  /** Someone took stdin (as bytes, or for a redirect): its encoding is settled. */
  #stdinTaken = false;
  #text: ReadableStream<string> | undefined;
  #stdout: WritableStream<T> | undefined;
  #stderr: WritableStream<T> | undefined;
  #encoding: SessionEncodingOptions | undefined;
  #events: ReadableStreamDefaultController<ServerProcessEvent> | undefined;
  #eventStream: ReadableStream<ServerProcessEvent> | undefined;
  #droppedEvents = 0;
  /** What writes fail with once the client reads no more output (see stopOutput). */
  #outputUnread: ChannelClosedError | undefined;
  readonly #editor: LineEditor | undefined;
  readonly #outDecoder = new TextDecoder();
  /** The start of a UTF-8 sequence the last byte write ended in, for the next one. */
  #outHeld: Uint8Array = EMPTY;
  /** Terminal writes in order (echo and application output share the stream). */
  #outChain: Promise<void> = Promise.resolve();
  /** stdout's and stderr's stream writes, counted (see #outputStream). */
  readonly #streamCounts: StreamCount[] = [];
  /** Unfinished direct writes (without the editor), so exit() sends EOF after them. */
  readonly #writes = new Set<Promise<void>>();
  /** Called when the client changes the terminal size. */
  onTerminalSizeChanged: ((size: TerminalSize) => void) | undefined;
  /** Called when the client sends a signal (name without "SIG"), and with "INT" for Ctrl-C in the line editor. */
  onSignal: ((signal: string) => void) | undefined;
  /** Called when the client sends a break; return true to report it handled. */
  onBreak: ((ms: number) => boolean) | undefined;

  /** Created by the server for each session request. */
  constructor(channel: ChannelIO, init: ServerProcessInit) {
    this.#channel = channel;
    this.command = init.command;
    this.originalCommand = init.originalCommand;
    this.subsystem = init.subsystem;
    this.env = init.env;
    this.terminal = init.terminal;
    this.username = init.username;
    this.connection = init.connection;
    this.agent = init.agent;
    this.agentSocketPath = init.agentSocketPath;
    this.x11Display = init.x11Display;
    this.x11AuthPath = init.x11AuthPath;
    // The size alone (the request's term and modes have their own getters).
    const t = init.terminal;
    this.#size = t && {
      columns: t.columns,
      rows: t.rows,
      ...(t.widthPixels !== undefined ? { widthPixels: t.widthPixels } : {}),
      ...(t.heightPixels !== undefined ? { heightPixels: t.heightPixels } : {}),
    };
    if (init.terminal && init.lineEditor !== false) {
      this.#editor = new LineEditor({ columns: init.terminal.columns, ...init.lineEditor });
      this.#stdin = this.#editedInput(this.#editor);
    }
  }

  /** The terminal type (TERM) if a terminal was requested. */
  get terminalType(): string | undefined {
    return this.terminal?.term;
  }

  /** Terminal modes of the pty request (RFC 4254 §8 opcode → value). */
  get terminalModes(): ReadonlyMap<number, number> {
    return this.terminal?.modes ?? new Map();
  }

  /** The current terminal size, if a terminal was requested. */
  get terminalSize(): TerminalSize | undefined {
    return this.#size;
  }

  /** Whether the line editor handles this session's input. */
  get lineEditor(): LineEditor | undefined {
    return this.#editor;
  }

  /** @internal Updates the size on window-change. */
  setTerminalSize(size: TerminalSize): void {
    this.#size = size;
    this.#editor?.setColumns(size.columns);
    this.#emit({ type: "terminalSizeChanged", size });
    this.onTerminalSizeChanged?.(size);
  }

  /** @internal A `signal` request (or Ctrl-C in the line editor); true when someone listens. */
  deliverSignal(signal: string): boolean {
    const queued = this.#emit({ type: "signal", signal });
    if (this.onSignal) {
      this.onSignal(signal);
      return true;
    }
    return queued;
  }

  /**
   * @internal The client reads no more output (`eow@openssh.com`): writes to stdout fail
   * with a ChannelClosedError and a source redirected there is cancelled (a child's pipe
   * closes: it gets SIGPIPE), as sshd closes the process's stdout; stderr still flows.
   */
  stopOutput(): void {
    this.#outputUnread ??= new ChannelClosedError(
      "Cannot write: the client stopped reading the output (eow@openssh.com)",
    );
    this.#channel.refuseWrites(this.#outputUnread, 0);
  }

  /** @internal A `break` request; true when handled (the callback says) or queued to `events`. */
  deliverBreak(ms: number): boolean {
    const queued = this.#emit({ type: "break", ms });
    return this.onBreak ? this.onBreak(ms) : queued;
  }

  #emit(e: ServerProcessEvent): boolean {
    const c = this.#events;
    if (!c) return false;
    if ((c.desiredSize ?? 0) <= 0) {
      this.#droppedEvents++;
      return false;
    }
    c.enqueue(e);
    return true;
  }

  /**
   * Signals, breaks and terminal size changes in the order the client sent
   * them (AsyncSSH raises these from `read()`; here they come on a stream of
   * their own so byte readers of {@link stdin} are not disturbed). Opt-in:
   * events are kept from the first access on, up to 1,024 unread ones
   * (later ones are dropped and
   * counted in {@link droppedEvents}). The callbacks (`onSignal`, `onBreak`,
   * `onTerminalSizeChanged`) are called as well. While someone reads `events`,
   * a signal or break without a callback is answered as accepted.
   *
   * @example Stop on Ctrl-C, redraw on resize
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     for await (const e of process.events) {
   *       if (e.type === "signal" && e.signal === "INT") break;
   *       if (e.type === "terminalSizeChanged") console.log(e.size.columns, e.size.rows);
   *     }
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const p = await conn.createProcess("top");
   * await p.signal("INT");
   * console.log((await p.wait()).exitStatus); // 0
   * ```
   */
  get events(): ReadableStream<ServerProcessEvent> {
    return (this.#eventStream ??= new ReadableStream<ServerProcessEvent>({
      start: (c) => {
        this.#events = c;
        // No signal or resize comes after the client's CLOSE (even while our answer waits
        // for the process to exit).
        void this.#channel.whenPeerClosed().then(() => {
          this.#events = undefined;
          try {
            c.close();
          } catch { /* cancelled */ }
        });
      },
      cancel: () => {
        this.#events = undefined;
      },
    }, { highWaterMark: MAX_PENDING_PROCESS_EVENTS }));
  }

  /** Events dropped because {@link events} was not read (past its 1,024 unread ones). */
  get droppedEvents(): number {
    return this.#droppedEvents;
  }

  /**
   * Turns line editing on or off (raw input for full-screen programs). No-op without the
   * editor. Off is a terminal's `stty raw`: input comes byte by byte, still echoed while
   * echo is on, and output goes as written (no `\n` to `\r\n`). AsyncSSH's
   * `set_line_mode(False)` also stops echoing and keeps translating: a port calls
   * {@link setEcho}`(false)` too and writes `\r\n`. In line mode, Ctrl-C is signal `INT`
   * (echoed `^C`), as a terminal's ISIG; AsyncSSH reports a break.
   */
  setLineMode(on: boolean): void {
    const rest = this.#editor?.setLineMode(on);
    if (rest) this.#pushInput(encoder.encode(rest));
  }

  /** Turns echo of typed input on or off (off while asking for a password). No-op without the editor. */
  setEcho(on: boolean): void {
    this.#editor?.setEcho(on);
  }

  /**
   * What the client sends (whole edited lines on a pty session with the line
   * editor): bytes, or text in a {@link textSession}. One stream for the whole
   * session: leaving a `for await` loop over it early cancels it (Web Streams do),
   * and later input is dropped — to read a line, then more later (AsyncSSH's
   * repeated `readline()`), read through a `StreamReader` held for the session.
   */
  get stdin(): ReadableStream<ReadChunk<T>> {
    if (!this.#encoding) return this.#rawStdin() as ReadableStream<ReadChunk<T>>;
    if (!this.#text) {
      const decoder = new TextDecoderStream(this.#encoding.encoding ?? "utf-8", {
        fatal: this.#encoding.errors === "strict",
      });
      this.#text = markTextStream(this.#rawStdin().pipeThrough(decoder));
    }
    return this.#text as ReadableStream<ReadChunk<T>>;
  }

  #rawStdin(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#stdinTaken = true;
    return (this.#stdin ??= this.#channel.readable(0));
  }

  /** The text encoding of {@link stdin}, when this is a {@link textSession}. */
  get encoding(): string | undefined {
    return this.#encoding ? this.#encoding.encoding ?? "utf-8" : undefined;
  }

  /** @internal Makes stdin text (what {@link textSession} does). */
  useEncoding(options: SessionEncodingOptions): SSHServerProcess<string> {
    // Not #stdin itself: on a pty session the line editor's stream exists from the start.
    if (this.#stdinTaken) throw new TypeError("Cannot set an encoding: stdin is already in use");
    new TextDecoder(options.encoding ?? "utf-8"); // RangeError for an unknown label
    this.#encoding = options;
    return this as unknown as SSHServerProcess<string>;
  }

  /** What we send to the client's stdout (bytes or text); closing it sends EOF. */
  get stdout(): WritableStream<T> {
    return (this.#stdout ??= this.#outputStream(0));
  }

  /** What we send to the client's stderr (the terminal itself on a pty session with the editor). */
  get stderr(): WritableStream<T> {
    return (this.#stderr ??= this.#outputStream(1));
  }

  /**
   * stdout (closing it sends EOF) or stderr. The chunks its writer took are counted as they
   * are written (the strategy's `size`) and as they reach the channel, so exit() also waits
   * for those still in the stream's queue: a handler that returns without awaiting its
   * writes had its later ones dropped by the EOF and close.
   */
  #outputStream(stream: 0 | 1): WritableStream<T> {
    const count: StreamCount = { accepted: 0, taken: 0, done: false };
    this.#streamCounts.push(count);
    return new WritableStream<T>({
      write: (chunk) => {
        count.taken++;
        return this.#bufferedWrite(chunk, stream).catch((e) => {
          count.done = true; // the stream errors: what is queued is dropped
          throw e;
        });
      },
      close: () => {
        count.done = true;
        if (stream === 1) return;
        return new Promise<void>((resolve, reject) =>
          this.#afterOutput(() => {
            this.#channel.flush().then(() => this.#channel.sendEof()).then(resolve, reject);
          })
        );
      },
      abort: () => {
        count.done = true;
      },
    }, {
      highWaterMark: 1,
      size: () => {
        count.accepted++;
        return 1;
      },
    });
  }

  /** A stream write under the channel's write buffer limits (the editor writes in order instead). */
  #bufferedWrite(chunk: string | Uint8Array, stream: 0 | 1): Promise<void> {
    if (this.#editor) return stream === 0 ? this.write(chunk) : this.writeStderr(chunk);
    if (!isChunk(chunk)) return Promise.reject(notAChunk(chunk));
    const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
    return this.#track(this.#channel.bufferedWrite(bytes, stream));
  }

  /**
   * Bytes written that wait for the client's window (AsyncSSH's get_write_buffer_size).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     console.log(process.getWriteBufferSize()); // 0
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.run("x");
   * ```
   */
  getWriteBufferSize(): number {
    return this.#channel.getWriteBufferSize();
  }

  /**
   * How far writes to {@link stdout} and {@link stderr} may run ahead of the
   * client's window: a write resolves while at most `high` bytes wait, else
   * once they drained to `low` (AsyncSSH's set_write_buffer_limits).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     process.setWriteBufferLimits({ high: 1 << 20 });
   *     await process.write(new Uint8Array(4 << 20));
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log((await conn.run("x")).stdout.length); // 4194304
   * ```
   */
  setWriteBufferLimits(limits: { readonly high?: number; readonly low?: number }): void {
    this.#channel.setWriteBufferLimits(limits);
  }

  /**
   * The channel's extra info (with what {@link setExtraInfo} stored) plus the
   * session's command, subsystem, environment, user and terminal type.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     process.setExtraInfo({ started: Date.now() });
   *     await process.write(`${process.getExtraInfo().username}\n`);
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log((await conn.run("whoami")).stdout); // me
   * ```
   */
  getExtraInfo(): Readonly<Record<string, unknown>> {
    return {
      command: this.command,
      subsystem: this.subsystem,
      env: this.env,
      username: this.username,
      terminalType: this.terminalType,
      ...this.#channel.getExtraInfo(),
    };
  }

  /**
   * Attaches application data, returned by {@link getExtraInfo} (AsyncSSH's set_extra_info).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     process.setExtraInfo({ tenant: "acme" });
   *     await process.write(`${process.getExtraInfo().tenant}\n`);
   *   },
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
    this.#channel.setExtraInfo(info);
  }

  /**
   * Redirects the session's streams (AsyncSSH's SSHServerProcess.redirect):
   * the client's input to a file, a WritableStream or another process's input;
   * a file, bytes, a stream or another process's output to the client's stdout
   * and stderr. With another SSH process on both ends, the session becomes a
   * proxy for it. Resolves when every redirection given here has finished — except the
   * input to another SSH process, or with `waitForInput: false`: with output redirected
   * too, that ends with the output (the client's input may stay open after the command
   * exited, as rsync's does until the exit status, and what comes after is dropped, as
   * sshd drops input for a process that is gone). A source whose output the client
   * stopped reading counts as done (see `eow@openssh.com`). For a local program,
   * `runLocalCommand()` does all of this.
   *
   * @example Proxy a session to a command on another host
   * ```ts ignore
   * processFactory: async (process) => {
   *   const upstream = await conn.createProcess(process.command ?? "sh");
   *   await process.redirect({ stdin: upstream, stdout: upstream, stderr: upstream });
   *   await upstream.wait();
   *   process.exit(upstream.returnCode ?? 255);
   * }
   * ```
   */
  redirect(options: ServerRedirectOptions): Promise<void> {
    let input: Promise<void> | undefined;
    if (options.stdin !== undefined) {
      const sink = openSink(options.stdin, options.closeTarget ?? true, 1);
      input = drainInto(this.#rawStdin(), sink);
    }
    const merge = options.stderr === STDOUT;
    const sources: [RedirectSource, 0 | 1][] = [];
    if (options.stdout !== undefined) sources.push([options.stdout, 0]);
    if (options.stderr !== undefined && !merge) sources.push([options.stderr, 1]);
    // STDOUT: a process's stderr goes to the client's stdout too.
    if (merge && isProcessLike(options.stdout)) sources.push([options.stdout, 1]);
    const outputs = sources.map(([src, s]) =>
      feedSource(src, (c) => (s === 0 || merge ? this.write(c) : this.writeStderr(c)), s)
        // The client reads no more (eow@openssh.com): the source was cancelled, as sshd
        // closes a process's output then; no error of the redirection.
        .catch((e: unknown) => {
          if (e !== this.#outputUnread) throw e;
        })
    );
    if (outputs.length && (options.sendEof ?? true)) {
      void Promise.allSettled(outputs).then(() =>
        this.#afterOutput(() => {
          if (!this.#channel.closed) this.#channel.sendEof();
        })
      );
    }
    if (!outputs.length) return input ?? Promise.resolve();
    const sent = Promise.all(outputs).then(() => {});
    // Into a file or a stream, the input is part of the work: waited for, its errors ours
    // (unless waitForInput says otherwise).
    if (!input) return sent;
    if (options.waitForInput ?? !isProcessLike(options.stdin)) {
      return Promise.all([sent, input]).then(() => {});
    }
    // Into another process (a proxy), or told not to wait: the output sent is the end, and
    // input no longer taken (the process exited) is dropped; it fails the redirection only
    // while the output flows.
    let outputSent = false;
    void sent.then(() => outputSent = true, () => {});
    const inputFailed = new Promise<void>((_, reject) => {
      input.catch((e: unknown) => {
        if (!outputSent) reject(e);
      });
    });
    return Promise.race([sent, inputFailed]);
  }

  /** @internal The client's input (0) as bytes, or nothing (1): a process as a redirect source. */
  rawOutput(stream: 0 | 1): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (stream === 0) return this.#rawStdin();
    return new ReadableStream({ start: (c) => c.close() });
  }

  /** Sends EOF to the client once the output written so far has gone out. */
  writeEof(): void {
    this.#afterOutput(() => this.#channel.sendEof());
  }

  /** The underlying channel. */
  get channel(): ChannelIO {
    return this.#channel;
  }

  /** Writes text or bytes to stdout without locking the stream (text as UTF-8). */
  write(data: string | Uint8Array): Promise<void> {
    if (!isChunk(data)) return Promise.reject(notAChunk(data));
    if (this.#editor) return this.#terminalWrite(this.#format(data));
    return this.#track(
      this.#channel.write(typeof data === "string" ? encoder.encode(data) : data, 0),
    );
  }

  /** Writes text or bytes to stderr without locking the stream. */
  writeStderr(data: string | Uint8Array): Promise<void> {
    if (!isChunk(data)) return Promise.reject(notAChunk(data));
    // As a real pty: the terminal shows both streams, in order.
    if (this.#editor) return this.#terminalWrite(this.#format(data));
    return this.#track(
      this.#channel.write(typeof data === "string" ? encoder.encode(data) : data, 1),
    );
  }

  /**
   * Writes each line to stdout (or stderr), in order, adding a newline to lines that lack one.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     await process.writeLines(["one", "two"]); // "one\ntwo\n"
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * console.log((await conn.run("x")).stdout);
   * ```
   */
  async writeLines(lines: Iterable<string>, stream: "stdout" | "stderr" = "stdout"): Promise<void> {
    for (const line of lines) {
      const text = line.endsWith("\n") ? line : line + "\n";
      await (stream === "stderr" ? this.writeStderr(text) : this.write(text));
    }
  }

  /**
   * Tells the client whether it may handle XON/XOFF flow control itself
   * (the `xon-xoff` request, RFC 4254 section 6.8), after the output written so far.
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   *   processFactory: async (process) => {
   *     process.setXonXoff(false); // e.g. a full-screen program that uses ^S/^Q itself
   *   },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * await conn.run("vi");
   * ```
   */
  setXonXoff(clientCanDo: boolean): void {
    this.#afterOutput(() => {
      try {
        this.#channel.request("xon-xoff", encodeXonXoff(clientCanDo), false).catch(() => {});
      } catch { /* the channel closed meanwhile: nothing to tell */ }
    });
  }

  /**
   * Ends the process with an exit status: output is flushed, then EOF, exit-status and close.
   * A negative status (a signalled process's `returnCode`) goes out as its 32-bit two's
   * complement. One that is not an integer, or does not fit 32 bits, is a RangeError and the
   * process goes on: NaN, 0.5 and 2**32 went out as 0, success.
   */
  exit(status: number): void {
    if (!Number.isInteger(status) || status < -0x80000000 || status > 0xffffffff) {
      throw new RangeError(`Exit status must be a 32-bit integer, not ${status}`);
    }
    if (this.#exited) return;
    this.#exited = true;
    this.#afterOutput(() => {
      this.#channel.sendEof();
      this.#channel.request("exit-status", encodeExitStatus(status >>> 0), false).catch(() => {});
      this.#channel.close();
    });
  }

  /** Ends the process as killed by a signal (name without "SIG"). */
  exitWithSignal(signal: string, coreDumped = false, message = ""): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#afterOutput(() => {
      this.#channel.sendEof();
      this.#channel.request(
        "exit-signal",
        encodeExitSignal({ signal: signal.replace(/^SIG/, ""), coreDumped, message, language: "" }),
        false,
      ).catch(() => {});
      this.#channel.close();
    });
  }

  /** Closes the channel without an exit status. */
  close(): void {
    this.#exited = true;
    this.#channel.close();
  }

  /** Whether exit/exitWithSignal/close was called. */
  get exited(): boolean {
    return this.#exited;
  }

  #format(data: string | Uint8Array): string | Uint8Array {
    const editor = this.#editor!;
    if (typeof data === "string") return editor.formatOutput(data);
    const bytes = this.#outHeld.length ? concatBytes(this.#outHeld, data) : data;
    // Raw mode writes bytes as they are (as a pty does): decoding made non-UTF-8 U+FFFD.
    if (!editor.lineMode) {
      this.#outHeld = EMPTY;
      return bytes;
    }
    const tail = incompleteUtf8Tail(bytes);
    this.#outHeld = bytes.slice(bytes.length - tail);
    return editor.formatOutput(this.#outDecoder.decode(bytes.subarray(0, bytes.length - tail)));
  }

  #terminalWrite(data: string | Uint8Array): Promise<void> {
    if (data.length === 0) return this.#outChain;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const p = this.#outChain.then(() => this.#channel.write(bytes, 0));
    this.#outChain = p.catch(() => {});
    return p;
  }

  #track(p: Promise<void>): Promise<void> {
    this.#writes.add(p);
    const done = () => this.#writes.delete(p);
    p.then(done, done);
    return p;
  }

  /**
   * Runs `f` once the output written so far is out. The channel may have closed by then
   * (the client went away): what `f` would tell it is moot, and must not become an
   * unhandled rejection that takes the server process down.
   */
  #afterOutput(f: () => void): void {
    // Stream writes made so far that still wait in their stream's queue.
    const queued = this.#streamCounts.map((c) => [c, c.accepted] as const);
    const behind = () => queued.some(([c, n]) => !c.done && c.taken < n);
    let taken = -1;
    const settled = (): Promise<void> =>
      Promise.allSettled([this.#outChain, ...this.#writes, this.#channel.flushed()]).then(() => {
        if (!behind()) return;
        // The stream hands its next chunk over within a few microtasks; should it not, look
        // again after a timer rather than spin.
        const now = queued.reduce((t, [c]) => t + c.taken, 0);
        const progressed = now !== taken;
        taken = now;
        return progressed ? settled() : new Promise((r) => setTimeout(r, 1)).then(settled);
      });
    void settled().then(() => {
      try {
        f();
      } catch { /* the channel closed meanwhile */ }
    });
  }

  #pushInput: (b: Uint8Array<ArrayBuffer>) => void = () => {};

  /** Stdin through the editor: reads the channel while the buffer has room, echoes, yields lines. */
  #editedInput(editor: LineEditor): ReadableStream<Uint8Array<ArrayBuffer>> {
    const reader = this.#channel.readable(0).getReader();
    const decoder = new TextDecoder();
    /** The start of a UTF-8 sequence the last packet ended in (line mode). */
    let held: Uint8Array<ArrayBuffer> = EMPTY;
    /** Input decoded but not yet fed to the editor: it takes a packet a slice at a time. */
    let unfed = "";
    let done = false;
    /**
     * Feeds `unfed` to the editor a slice at a time; true once it delivered input (the
     * stream's pull ends there). A key can make far more output than input (Ctrl-L redraws
     * a line of 1024 wide characters, 4 KiB, for one byte; Ctrl-P and Enter recall and
     * submit one for two), so a packet fed whole built and held hundreds of MiB of echo
     * and lines: here the echo goes out (and is awaited) whenever ECHO_BATCH of it
     * gathered, and feeding stops once the stream's buffer is full, the rest kept for the
     * next pull.
     */
    const feedSlices = async (
      c: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>,
    ): Promise<boolean> => {
      let delivered = false;
      let echo = "";
      while (unfed !== "" && !done) {
        let n = Math.min(FEED_SLICE, unfed.length);
        // A surrogate pair stays whole.
        const last = unfed.charCodeAt(n - 1);
        if (last >= 0xd800 && last <= 0xdbff && n < unfed.length) n++;
        const slice = unfed.slice(0, n);
        unfed = unfed.slice(n);
        const { output, events } = editor.feed(slice);
        echo += output;
        let interrupts = 0;
        for (const e of events) {
          if (e.type === "line") {
            c.enqueue(encoder.encode(e.text + "\n"));
            delivered = true;
          } else if (e.type === "data") {
            c.enqueue(encoder.encode(e.text));
            delivered = true;
          } else if (e.type === "interrupt") {
            interrupts++;
          } else if (e.type === "eof") {
            done = true;
            unfed = "";
            c.close();
            void reader.cancel().catch(() => {});
            break;
          }
        }
        // The next input is fed once this echo went out: a client that types without
        // reading its output must not pile echo up in our memory (a terminal's echo
        // blocks likewise when its output is full).
        // An interrupt's "^C" goes out before the signal is delivered: a shell that prints
        // its prompt again on INT prints it on the new line, as after a terminal's echo.
        if (echo.length >= ECHO_BATCH || unfed === "" || done || interrupts > 0) {
          const echoed = this.#terminalWrite(echo).catch(() => {});
          echo = "";
          for (; interrupts > 0; interrupts--) this.deliverSignal("INT");
          await echoed;
        }
        if (delivered && (c.desiredSize ?? 0) <= 0) break;
      }
      if (echo !== "") await this.#terminalWrite(echo).catch(() => {});
      return delivered || done;
    };
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      start: (c) => {
        this.#pushInput = (b) => {
          if (!done) c.enqueue(b);
        };
      },
      pull: async (c) => {
        while (!done) {
          if (unfed !== "") {
            if (await feedSlices(c)) return;
            continue;
          }
          let r: Awaited<ReturnType<typeof reader.read>>;
          try {
            r = await reader.read();
          } catch (e) {
            done = true;
            c.error(e);
            return;
          }
          if (r.done) {
            // Client EOF: a partly typed line still counts. The editor stays in line mode
            // (setLineMode(false) here made later output lose its \r\n).
            const { rest, output } = editor.endInput();
            void this.#terminalWrite(output).catch(() => {});
            if (rest) c.enqueue(encoder.encode(rest));
            done = true;
            c.close();
            return;
          }
          const bytes = held.length ? concatBytes(held, r.value) : r.value;
          if (!editor.lineMode) {
            // Raw mode hands the bytes on as they came (binary, a terminal's 8-bit meta
            // keys): decoded and encoded again, bytes that are not UTF-8 became U+FFFD.
            held = EMPTY;
            if (bytes.length === 0) continue;
            const echoed = editor.echo ? this.#terminalWrite(bytes).catch(() => {}) : undefined;
            c.enqueue(bytes);
            await echoed;
            return;
          }
          // A sequence cut by the packet's end waits for the rest, as bytes: raw mode may
          // come first, and then they are input as they are.
          const tail = incompleteUtf8Tail(bytes);
          held = bytes.slice(bytes.length - tail);
          unfed = decoder.decode(bytes.subarray(0, bytes.length - tail));
        }
      },
      cancel: () => {
        done = true;
        return reader.cancel();
      },
    }, { highWaterMark: LINE_EDITOR_BUFFER, size: (chunk) => chunk.byteLength });
  }
}

/** Chunks a stdout or stderr writer took, those it handed to the channel, and whether it ended. */
interface StreamCount {
  accepted: number;
  taken: number;
  done: boolean;
}

const EMPTY: Uint8Array<ArrayBuffer> = new Uint8Array(0);

/** Code units of input the line editor takes at a time (see `feedSlices` in #editedInput). */
const FEED_SLICE = 64;

/** Echo (in code units) gathered over slices of input before it is written and awaited. */
const ECHO_BATCH = 16 * 1024;

/** How many bytes at the end of `b` start a UTF-8 sequence that more bytes may complete. */
function incompleteUtf8Tail(b: Uint8Array): number {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const x = b[b.length - k]!;
    if ((x & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const need = x >= 0xf5 ? 1 : x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : x >= 0xc2 ? 2 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

/** Whether `data` is what the writes take: text or bytes (JavaScript callers may pass anything). */
function isChunk(data: unknown): data is string | Uint8Array {
  return typeof data === "string" || isBytes(data);
}

/**
 * The error for a write of something else: taken as it was, a number went out as nothing
 * while the channel's count of bytes waiting became NaN (every later write under write
 * buffer limits then waited for good).
 */
function notAChunk(data: unknown): TypeError {
  return new TypeError(`Cannot write ${valueKind(data)}: a string or a Uint8Array is needed`);
}

function isProcessLike(x: unknown): x is RedirectSource {
  return typeof x === "object" && x !== null && "rawOutput" in x && "channel" in x;
}

/**
 * Wraps a process factory so its sessions carry text (AsyncSSH's
 * `session_encoding`): `stdin` yields strings decoded with `encoding`, and
 * `stdout`/`stderr` take strings. Sessions are bytes without it.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, textSession } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: textSession(async (p) => {
 *     for await (const text of p.stdin) await p.write(text.toUpperCase());
 *   }),
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * console.log((await conn.run("up", { input: "hi" })).stdout); // HI
 * ```
 */
export function textSession(
  factory: (process: SSHServerProcess<string>) => void | Promise<void>,
  options: SessionEncodingOptions = {},
): (process: SSHServerProcess) => Promise<void> {
  new TextDecoder(options.encoding ?? "utf-8"); // RangeError for an unknown label, now
  return async (p) => await factory(p.useEncoding(options));
}
