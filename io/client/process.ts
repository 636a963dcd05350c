/**
 * A remote process on a session channel (AsyncSSH's SSHClientProcess): stdin,
 * stdout and stderr as Web Streams (bytes, or text with an encoding), exit
 * status and signal, signals, terminal size changes, breaks, flow-control
 * notices, and redirection of its streams.
 *
 * @module
 */

import { SOCKET_CLOSE_GRACE_MS } from "../limits.ts";
import {
  decodeExitSignal,
  decodeExitStatus,
  decodeXonXoff,
  encodeBreak,
  encodeStringArg,
  encodeWindowChange,
  type ExitSignal,
  type TerminalSize,
} from "../../core/connection/session_requests.ts";
import {
  ProcessDisconnectedError,
  ProcessError,
  ProcessOutputLimitError,
  type ProcessResult,
  ProcessTimeoutError,
} from "./errors.ts";
import { DisconnectError } from "../../core/errors.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { type RedirectOptions, redirectProcess } from "./redirect.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { markTextStream } from "../engine/stream_reader.ts";

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
  /**
   * Give up after this many ms: the channel is closed and {@link ProcessTimeoutError} thrown
   * (0, `Infinity` or more than 2^31 − 1: no limit; negative or NaN: a `RangeError`). In
   * `run()` it covers opening the session and starting the command too. The remote process
   * ends with the channel only when it has a terminal (see `ProcessOptions.signal`).
   */
  readonly timeout?: number;
  /** Give up when this aborts: the channel is closed and the signal's reason thrown. */
  readonly signal?: AbortSignal;
  /**
   * Give up when stdout or stderr brings more than this many bytes: the channel is closed
   * and {@link ProcessOutputLimitError} thrown with the first `maxOutput` bytes of each
   * (default: no limit — a command's output is held whole in memory; 0 or more, an
   * integer, else a `RangeError`).
   */
  readonly maxOutput?: number;
}

const encoder = new TextEncoder();

/**
 * What a process's readable streams carry, for its type parameter `T`: strings when it has
 * an encoding, else bytes. The bytes are ArrayBuffer-backed (`Uint8Array<ArrayBuffer>`), so
 * such a stream pipes into a `TextDecoderStream` or a `Blob` as it is, with DOM's types or
 * without them.
 */
export type ReadChunk<T extends string | Uint8Array> = T extends string ? string
  : Uint8Array<ArrayBuffer>;

/**
 * A running remote process. `T` is what its output streams carry: bytes, or
 * strings when the process was created with an `encoding`.
 *
 * @example Talk to `cat`
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
 * await p.write("hello\n");
 * p.writeEof();
 * const { stdout } = await p.wait(); // "hello\n"
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
  /** How undecodable output is handled: "replace" (U+FFFD, the default) or "strict" (an error). */
  readonly errors: "strict" | "replace";
  /** The environment variables sent with the request (AsyncSSH's `env`). */
  readonly env: Readonly<Record<string, string>>;
  #exitStatus: number | null = null;
  #exitSignal: ExitSignal | null = null;
  #xonXoff: boolean | undefined;
  #stdin: WritableStream<T> | undefined;
  #stdout: ReadableStream<ReadChunk<T>> | undefined;
  #stderr: ReadableStream<ReadChunk<T>> | undefined;
  /** Which output streams were handed out or redirected (wait() leaves those alone). */
  readonly #claimed = [false, false];
  /** stderr merged into stdout (`stderr: STDOUT` with stdout not redirected, as AsyncSSH). */
  readonly #merged: boolean;
  #mergedOut: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  readonly #redirects: Promise<void>[] = [];
  #collectors: (Collector | undefined)[] | undefined;
  /** Called when the server tells whether the client may do XON/XOFF flow control. */
  onXonXoff: ((clientCanDo: boolean) => void) | undefined;

  /** Wraps an open session channel on which the command was (or will be) started. */
  constructor(
    channel: ChannelIO,
    command: string | undefined,
    options: {
      subsystem?: string | undefined;
      encoding?: string | undefined;
      env?: Readonly<Record<string, string>> | undefined;
      errors?: "strict" | "replace" | undefined;
      /** stderr's bytes come on stdout, in the order they arrive; stderr stays empty. */
      stderrToStdout?: boolean | undefined;
    } = {},
  ) {
    this.#channel = channel;
    this.#merged = options.stderrToStdout ?? false;
    // Nobody reads stderr on its own then: wait() collects the merged stdout only.
    if (this.#merged) this.#claimed[1] = true;
    this.errors = options.errors ?? "replace";
    this.env = options.env ?? {};
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
        write: (chunk) => ch.bufferedWrite(this.#toBytes(chunk)),
        close: async () => {
          await ch.flush();
          ch.sendEof();
        },
        abort: () => ch.close(),
      });
    }
    return this.#stdin;
  }

  /**
   * The process's standard output. Without an `encoding` it is a byte stream: besides the
   * usual readers, a BYOB reader (`getReader({ mode: "byob" })`) reads into a buffer of its
   * own, which bulk downloads reuse instead of getting a new buffer per packet.
   *
   * Stdout and stderr share the channel's window (RFC 4254 §5.2): stderr that nobody
   * reads fills it (2 MiB by default) and then stdout stops too. Read both, or let
   * `wait()` (or `collectOutput()`) take the one you do not read.
   *
   * @example
   * ```ts ignore
   * const p = await conn.createProcess("cat big.iso");
   * const reader = p.stdout.getReader({ mode: "byob" });
   * let buf = new Uint8Array(256 * 1024);
   * for (let r; !(r = await reader.read(buf)).done;) {
   *   await file.write(r.value);
   *   buf = new Uint8Array(r.value.buffer); // the same memory, handed back
   * }
   * ```
   */
  get stdout(): ReadableStream<ReadChunk<T>> {
    this.#claimed[0] = true;
    return (this.#stdout ??= this.#decoded(0));
  }

  /** The process's standard error. */
  get stderr(): ReadableStream<ReadChunk<T>> {
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

  /**
   * Resolves when the channel is closed (exit status and signal are known by then). Output
   * may still wait in `stdout` and `stderr` for their readers: read them to their end (or
   * use `wait()`/`run()`, which do) before taking what they gave as all of it — unlike
   * ssh2's `close` event, this does not come after the last chunk was read.
   */
  get closed(): Promise<void> {
    return this.#channel.closedPromise;
  }

  /** Writes bytes or text to stdin without taking the stream's lock. */
  write(data: Uint8Array | string): Promise<void> {
    return this.#channel.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /**
   * Writes each line to stdin, in order, adding a newline to lines that lack one.
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
   * await p.writeLines(["set -e", "make"]);
   * p.writeEof();
   * console.log((await p.wait()).stdout); // "set -e\nmake\n"
   * ```
   */
  async writeLines(lines: Iterable<string>): Promise<void> {
    for (const line of lines) await this.write(line.endsWith("\n") ? line : line + "\n");
  }

  /** Sends EOF on stdin (after the writes already queued). */
  writeEof(): void {
    this.#channel.sendEof();
  }

  /** Sends a signal by name, with or without "SIG" (e.g. "TERM", "SIGINT"). */
  signal(name: string): Promise<boolean> {
    let data: Uint8Array;
    try {
      data = encodeStringArg(name.replace(/^SIG/, ""));
    } catch (e) {
      return Promise.reject(e); // a NUL in it: never a synchronous throw from a promise's method
    }
    return this.#channel.request("signal", data, false);
  }

  /** Sends SIGTERM. */
  terminate(): Promise<boolean> {
    return this.signal("TERM");
  }

  /** Sends SIGKILL. */
  kill(): Promise<boolean> {
    return this.signal("KILL");
  }

  /**
   * Tells the remote side the terminal size changed (a `window-change` request). Sizes are
   * integers from 0 to 2^32 − 1, else it rejects with a `RangeError`.
   */
  async changeTerminalSize(size: TerminalSize): Promise<boolean> {
    return await this.#channel.request("window-change", encodeWindowChange(size), false);
  }

  /**
   * Sends a break of `ms` milliseconds (RFC 4335; an integer from 0 to 2^32 − 1, else a
   * `RangeError`). Resolves with the server's answer.
   */
  async sendBreak(ms: number): Promise<boolean> {
    return await this.#channel.request("break", encodeBreak(ms), true);
  }

  /**
   * Redirects stdin, stdout and/or stderr to or from files, streams, byte
   * arrays or other processes (see {@link RedirectOptions}). Resolves when every
   * redirection given here has finished; {@link wait} waits for them too, and rejects
   * with a redirection's error (a file that cannot be opened or written).
   *
   * @example Copy a remote file to a local one
   * ```ts
   * import { mkdtemp, readFile } from "node:fs/promises";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
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
   * const file = join(await mkdtemp(join(tmpdir(), "sshts-")), "hostname.txt");
   * const p = await conn.createProcess("cat /etc/hostname");
   * await p.redirect({ stdout: file });
   * console.log(await readFile(file, "utf8")); // "you ran cat /etc/hostname\n"
   * ```
   */
  redirect(options: RedirectOptions): Promise<void> {
    if (options.stdout !== undefined) this.#claimed[0] = true;
    if (options.stderr !== undefined) this.#claimed[1] = true;
    const done = redirectProcess(this as SSHClientProcess<string | Uint8Array>, options);
    // wait() reports a failed redirect (output with nowhere to go is lost, not a success);
    // marked handled here so that a caller who does not await it does not crash the program.
    done.catch(() => {});
    this.#redirects.push(done);
    return done;
  }

  /**
   * What stdout and stderr have received so far (AsyncSSH's collect_output), as
   * bytes or text. The first call starts collecting the streams not handed out
   * or redirected, as {@link wait} does (and `wait()` then returns all of it);
   * later calls see what arrived meanwhile. Text ends at the last whole
   * character received.
   *
   * @example Watch a long job's progress
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
   * const p = await conn.createProcess("make", { encoding: "utf-8" });
   * const timer = setInterval(() => console.log(p.collectOutput().stdout.length), 1000);
   * await p.wait();
   * clearInterval(timer);
   * console.log(p.collectOutput().stdout); // "you ran make\n"
   * ```
   */
  collectOutput(): { readonly stdout: T; readonly stderr: T } {
    const outs = this.#startCollectors();
    return {
      stdout: this.#decode(outs[0]?.bytes() ?? new Uint8Array(0), true),
      stderr: this.#decode(outs[1]?.bytes() ?? new Uint8Array(0), true),
    };
  }

  /**
   * The channel's extra info (with what {@link setExtraInfo} stored) plus the
   * process's command, subsystem and environment.
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
   * p.setExtraInfo({ host: "web1" });
   * console.log(p.getExtraInfo().host, p.getExtraInfo().command); // web1 cat
   * p.writeEof();
   * ```
   */
  getExtraInfo(): Readonly<Record<string, unknown>> {
    return {
      command: this.command,
      subsystem: this.subsystem,
      env: this.env,
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
   *   processFactory: async (p) => { for await (const c of p.stdin) await p.write(c); }, // cat
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null, // a server in this process
   * });
   * const p = await conn.createProcess("cat");
   * p.setExtraInfo({ host: "web1" });
   * p.writeEof();
   * ```
   */
  setExtraInfo(info: Readonly<Record<string, unknown>>): void {
    this.#channel.setExtraInfo(info);
  }

  /**
   * Bytes written to stdin that wait for the server's window (AsyncSSH's get_write_buffer_size).
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
   * console.log(p.getWriteBufferSize()); // 0: nothing waits to be sent
   * p.writeEof();
   * ```
   */
  getWriteBufferSize(): number {
    return this.#channel.getWriteBufferSize();
  }

  /**
   * How far `stdin`'s writes may run ahead of the server's window (see
   * `ChannelIO.setWriteBufferLimits`): a write resolves while at most `high`
   * bytes wait, else once they drained to `low`.
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
   * p.setWriteBufferLimits({ high: 1 << 20 });
   * const result = p.wait(); // reads stdout meanwhile (cat echoes: unread, both windows fill)
   * await new Response(new Uint8Array(4 << 20)).body!.pipeTo(p.stdin); // closes stdin at the end
   * console.log((await result).stdout.length); // 4194304
   * ```
   */
  setWriteBufferLimits(limits: { readonly high?: number; readonly low?: number }): void {
    this.#channel.setWriteBufferLimits(limits);
  }

  /** Closes the channel at once. */
  close(): void {
    this.#channel.close();
  }

  /** `await using` support: closes the channel. */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    // Not forever: a server that never answers CLOSE (stopped, or hostile) must not hang
    // the `await using` block; as conn.close(), it gets SOCKET_CLOSE_GRACE_MS.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((r) => (timer = setTimeout(r, SOCKET_CLOSE_GRACE_MS)));
    return Promise.race([this.#channel.closedPromise, grace]).finally(() => clearTimeout(timer));
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
   * {@link ProcessTimeoutError} thrown when it runs longer. A redirection that failed
   * (see {@link redirect}) rejects it with that redirection's error.
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
   * const p = await conn.createProcess("ls /", { encoding: "utf-8" });
   * const { stdout, exitStatus } = await p.wait({ check: true, timeout: 5000 });
   * console.log(exitStatus, stdout); // 0 you ran ls /
   * ```
   */
  async wait(options: WaitOptions = {}): Promise<ProcessResult<T>> {
    const delay = options.timeout === undefined
      ? undefined
      : timeoutDelay(options.timeout, "timeout");
    const { maxOutput } = options;
    checkMaxOutput(maxOutput);
    const outs = this.#startCollectors();
    const all = Promise.all([
      ...outs.map((c) => c?.done),
      this.#channel.closedPromise,
      ...this.#redirects,
    ]);
    if (delay !== undefined || options.signal || maxOutput !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let onAbort: (() => void) | undefined;
      const stop = new Promise<"timeout" | "aborted" | "limit">((r) => {
        if (delay !== undefined) timer = setTimeout(() => r("timeout"), delay);
        onAbort = () => r("aborted");
        if (options.signal?.aborted) onAbort();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        if (maxOutput !== undefined) {
          for (const c of outs) c?.limit(maxOutput, () => r("limit"));
        }
      });
      all.catch(() => {}); // may reject after we stopped waiting
      let won: unknown;
      try {
        won = await Promise.race([all, stop]);
      } catch (e) {
        throw this.#withOutput(e, outs);
      } finally {
        // Also when the connection went while waiting: a pending timer kept the process
        // alive, and the listener kept the closed connection on a long-lived signal.
        clearTimeout(timer);
        options.signal?.removeEventListener("abort", onAbort!);
        for (const c of outs) c?.limit(Infinity);
      }
      if (won === "aborted") {
        this.close();
        throw options.signal!.reason;
      }
      if (won === "limit") {
        this.close();
        throw new ProcessOutputLimitError(
          this.command,
          maxOutput!,
          // Cut at a byte count: the last character may be cut too.
          this.#decodeCut(outs[0]?.bytes(maxOutput) ?? new Uint8Array(0)),
          this.#decodeCut(outs[1]?.bytes(maxOutput) ?? new Uint8Array(0)),
        );
      }
      if (won === "timeout") {
        this.close();
        throw new ProcessTimeoutError(
          this.command,
          options.timeout!,
          // Partial: output cut by the timeout may end inside a character.
          this.#decodeCut(outs[0]?.bytes() ?? new Uint8Array(0)),
          this.#decodeCut(outs[1]?.bytes() ?? new Uint8Array(0)),
        );
      }
    } else {
      await all.catch((e) => {
        throw this.#withOutput(e, outs);
      });
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

  /**
   * A lost connection's error with the output read until then (a
   * {@link ProcessDisconnectedError}); any other error as it is.
   */
  #withOutput(e: unknown, outs: (Collector | undefined)[]): unknown {
    if (!(e instanceof DisconnectError) || e instanceof ProcessDisconnectedError) return e;
    return new ProcessDisconnectedError(
      e,
      this.command,
      this.#decodeCut(outs[0]?.bytes() ?? new Uint8Array(0)),
      this.#decodeCut(outs[1]?.bytes() ?? new Uint8Array(0)),
    );
  }

  /** Collectors are made once: a second wait() (say, after a timeout) reuses them. */
  #startCollectors(): (Collector | undefined)[] {
    return (this.#collectors ??= [0, 1].map((s) =>
      this.#claimed[s] ? undefined : new Collector(this.#raw(s))
    ));
  }

  /** The raw byte stream of stdout (0) or stderr (1), for redirection. */
  rawOutput(stream: 0 | 1): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#claimed[stream] = true;
    return this.#raw(stream);
  }

  #raw(stream: number): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (!this.#merged) return this.#channel.readable(stream);
    if (stream === 1) return new ReadableStream({ start: (c) => c.close() });
    return (this.#mergedOut ??= mergeStreams(this.#whole(0), this.#whole(1)));
  }

  /**
   * A stream to merge: as it comes without an encoding; with one, decoded and encoded
   * again as UTF-8, whole characters per chunk — bytes of a character cut between two
   * packets must not have the other stream's chunk put between them. What reads the merge
   * then decodes UTF-8 ({@link #textEncoding}).
   */
  #whole(stream: number): ReadableStream<Uint8Array<ArrayBuffer>> {
    const raw = this.#channel.readable(stream);
    if (!this.encoding) return raw;
    return raw.pipeThrough(
      new TextDecoderStream(this.encoding, { fatal: this.errors === "strict" }),
    ).pipeThrough(new TextEncoderStream()) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  /** The encoding output bytes are decoded with: UTF-8 for a merged stdout (see {@link #whole}). */
  get #textEncoding(): string | undefined {
    return this.#merged && this.encoding ? "utf-8" : this.encoding;
  }

  #decoded(stream: number): ReadableStream<ReadChunk<T>> {
    const raw = this.#raw(stream);
    if (!this.encoding) return raw as ReadableStream<ReadChunk<T>>;
    const decoder = new TextDecoderStream(this.#textEncoding!, {
      fatal: this.errors === "strict",
    });
    return markTextStream(raw.pipeThrough(decoder)) as ReadableStream<ReadChunk<T>>;
  }

  #decode(b: Uint8Array, partial = false): T {
    if (!this.encoding) return b as T;
    const d = new TextDecoder(this.#textEncoding!, { fatal: this.errors === "strict" });
    // A snapshot may end inside a character: decode as a stream, leaving its bytes out.
    return (partial ? d.decode(b, { stream: true }) : d.decode(b)) as T;
  }

  /**
   * The output a timeout or limit error carries: cut short, it may end inside a character,
   * and bytes it cannot decode show as U+FFFD even with `errors: "strict"`, whose
   * TypeError would otherwise take the place of the error being reported.
   */
  #decodeCut(b: Uint8Array): T {
    if (!this.encoding) return b as T;
    return new TextDecoder(this.#textEncoding!).decode(b, { stream: true }) as T;
  }

  #toBytes(chunk: T): Uint8Array {
    return typeof chunk === "string" ? encoder.encode(chunk) : chunk as Uint8Array;
  }
}

/** Refuses a `maxOutput` that is no byte count (see {@link WaitOptions.maxOutput}). */
export function checkMaxOutput(maxOutput: number | undefined): void {
  if (maxOutput !== undefined && !(Number.isSafeInteger(maxOutput) && maxOutput >= 0)) {
    throw new RangeError(`maxOutput must be an integer of 0 or more, not ${maxOutput}`);
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

/**
 * One stream of both streams' chunks as they come (stdout and stderr merged, as a terminal
 * shows them); it ends when both have, errors when either does, and reads on only as fast
 * as it is read (so the channel's window stays the reader's pace).
 */
function mergeStreams<C>(a: ReadableStream<C>, b: ReadableStream<C>): ReadableStream<C> {
  const readers = [a.getReader(), b.getReader()];
  let open = readers.length;
  let waiting: (() => void)[] = [];
  const wakeAll = () => {
    for (const w of waiting) w();
    waiting = [];
  };
  return new ReadableStream<C>({
    start(c) {
      for (const r of readers) {
        void (async () => {
          try {
            for (let x = await r.read(); !x.done; x = await r.read()) {
              c.enqueue(x.value);
              while ((c.desiredSize ?? 1) <= 0) await new Promise<void>((w) => waiting.push(w));
            }
            if (--open === 0) c.close();
          } catch (e) {
            c.error(e);
          }
        })();
      }
    },
    pull: wakeAll,
    cancel(reason) {
      wakeAll();
      for (const r of readers) r.cancel(reason).catch(() => {});
    },
  });
}

/** Reads a byte stream to its end, keeping what it read so far available. */
class Collector {
  // The chunks are the channel's own (each packet's data is a fresh buffer): keeping them
  // costs no copy, and bytes() joins them once. No spread: a run can yield 100k+ chunks.
  readonly #parts: Uint8Array[] = [];
  #length = 0;
  #limit = Infinity;
  #overLimit: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = (async () => {
      for await (const c of stream) {
        // Past a limit nothing more is kept (the process is being closed; what the peer
        // had in flight still arrives).
        if (this.#length > this.#limit) continue;
        this.#parts.push(c);
        this.#length += c.length;
        if (this.#length > this.#limit) this.#overLimit?.();
      }
    })();
    // Awaited by wait() (or run()); polled output without a wait() must not turn a lost
    // connection into an unhandled rejection that ends the process.
    this.done.catch(() => {});
  }

  /** Calls `onOver` once more than `max` bytes were read (at once if they already were). */
  limit(max: number, onOver?: () => void): void {
    this.#limit = max;
    this.#overLimit = onOver;
    if (this.#length > max) onOver?.();
  }

  /** What was read so far, or its first `max` bytes. */
  bytes(max = Infinity): Uint8Array {
    const length = Math.min(this.#length, max);
    if (this.#parts.length === 1) return this.#parts[0]!.subarray(0, length);
    const out = new Uint8Array(length);
    let o = 0;
    for (const p of this.#parts) {
      if (o === length) break;
      const part = p.subarray(0, length - o);
      out.set(part, o);
      o += part.length;
    }
    return out;
  }
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
