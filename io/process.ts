/**
 * A remote process on a session channel (AsyncSSH's SSHClientProcess): stdin,
 * stdout and stderr as Web Streams, exit status and signal, signals, terminal
 * size changes and breaks.
 *
 * @module
 */

import {
  decodeExitSignal,
  decodeExitStatus,
  encodeBreak,
  encodeStringArg,
  encodeWindowChange,
  type ExitSignal,
  type TerminalSize,
} from "../core/connection/session_requests.ts";
import { SSHError } from "../core/errors.ts";
import type { ChannelIO } from "./channel.ts";

/** What a finished process produced. */
export interface ProcessResult<T extends string | Uint8Array = string | Uint8Array> {
  readonly command: string | undefined;
  readonly stdout: T;
  readonly stderr: T;
  /** Exit status, or null when the process was killed by a signal or gave none. */
  readonly exitStatus: number | null;
  /** The signal that ended the process, if any. */
  readonly exitSignal: ExitSignal | null;
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
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** A running remote process. */
export class SSHClientProcess {
  readonly #channel: ChannelIO;
  /** The command, or undefined for a shell or subsystem. */
  readonly command: string | undefined;
  #exitStatus: number | null = null;
  #exitSignal: ExitSignal | null = null;
  #stdin: WritableStream<Uint8Array> | undefined;

  /** Wraps an open session channel on which the command was started. */
  constructor(channel: ChannelIO, command: string | undefined) {
    this.#channel = channel;
    this.command = command;
    channel.onRequest = (request, data) => {
      if (request === "exit-status") this.#exitStatus = decodeExitStatus(data);
      else if (request === "exit-signal") this.#exitSignal = decodeExitSignal(data);
      else return false;
      return true;
    };
  }

  /** The process's standard input. Closing it sends EOF. */
  get stdin(): WritableStream<Uint8Array> {
    return (this.#stdin ??= this.#channel.writable(0));
  }

  /** The process's standard output. */
  get stdout(): ReadableStream<Uint8Array> {
    return this.#channel.readable(0);
  }

  /** The process's standard error. */
  get stderr(): ReadableStream<Uint8Array> {
    return this.#channel.readable(1);
  }

  /** The exit status once known (null while running or when killed by a signal). */
  get exitStatus(): number | null {
    return this.#exitStatus;
  }

  /** The exit signal once known. */
  get exitSignal(): ExitSignal | null {
    return this.#exitSignal;
  }

  /** The underlying channel. */
  get channel(): ChannelIO {
    return this.#channel;
  }

  /** Writes bytes or text (UTF-8) to stdin without taking the stream's lock. */
  write(data: Uint8Array | string): Promise<void> {
    return this.#channel.write(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  /** Sends EOF on stdin. */
  writeEof(): void {
    this.#channel.sendEof();
  }

  /** Sends a signal by name without "SIG" (e.g. "TERM"). */
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

  /** Tells the remote side the terminal size changed. */
  changeTerminalSize(size: TerminalSize): Promise<boolean> {
    return this.#channel.request("window-change", encodeWindowChange(size), false);
  }

  /** Sends a break of `ms` milliseconds (RFC 4335). Resolves with the server's answer. */
  sendBreak(ms: number): Promise<boolean> {
    return this.#channel.request("break", encodeBreak(ms), true);
  }

  /** Closes the channel at once. */
  close(): void {
    this.#channel.close();
  }

  /** Resolves when the channel is closed, with the exit status and signal. */
  async waitClosed(): Promise<void> {
    await this.#channel.closedPromise;
  }

  /**
   * Reads stdout and stderr to the end, waits for the channel to close, and returns
   * the result. With `check`, a non-zero exit rejects with {@link ProcessError}.
   */
  async wait(options: { check?: boolean; encoding?: "utf-8" | null } = {}): Promise<ProcessResult> {
    const [out, err] = await Promise.all([collect(this.stdout), collect(this.stderr)]);
    await this.#channel.closedPromise;
    const decode = (b: Uint8Array) => (options.encoding === null ? b : new TextDecoder().decode(b));
    const result: ProcessResult = {
      command: this.command,
      stdout: decode(out),
      stderr: decode(err),
      exitStatus: this.#exitStatus,
      exitSignal: this.#exitSignal,
    };
    if (options.check && (this.#exitStatus !== 0 || this.#exitSignal)) {
      throw new ProcessError(result);
    }
    return result;
  }
}

/** Reads a byte stream to its end. */
export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of stream) {
    parts.push(c);
    n += c.length;
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
