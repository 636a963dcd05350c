/**
 * The server side of a session (AsyncSSH's SSHServerProcess): what the client
 * asked for (command, shell, subsystem, env, terminal), stdin as a
 * ReadableStream, stdout/stderr as WritableStreams, and the exit.
 *
 * @module
 */

import {
  encodeExitSignal,
  encodeExitStatus,
  type PtyRequest,
  type TerminalSize,
} from "../core/connection/session_requests.ts";
import type { ChannelIO } from "./channel.ts";

/** A session the client started, handed to `processFactory`. */
export class SSHServerProcess {
  readonly #channel: ChannelIO;
  /** The command for exec requests; undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** The subsystem name for subsystem requests. */
  readonly subsystem: string | undefined;
  /** Environment variables the client sent (and the server accepted). */
  readonly env: Readonly<Record<string, string>>;
  /** The pty request, if the client asked for a terminal. */
  readonly terminal: PtyRequest | undefined;
  /** The authenticated user. */
  readonly username: string;
  #size: TerminalSize | undefined;
  #exited = false;
  #stdout: WritableStream<Uint8Array> | undefined;
  #stderr: WritableStream<Uint8Array> | undefined;
  /** Called when the client changes the terminal size. */
  onTerminalSizeChanged: ((size: TerminalSize) => void) | undefined;
  /** Called when the client sends a signal (name without "SIG"). */
  onSignal: ((signal: string) => void) | undefined;
  /** Called when the client sends a break; return true to report it handled. */
  onBreak: ((ms: number) => boolean) | undefined;

  /** Created by the server for each session request. */
  constructor(
    channel: ChannelIO,
    init: {
      command?: string | undefined;
      subsystem?: string | undefined;
      env: Record<string, string>;
      terminal?: PtyRequest | undefined;
      username: string;
    },
  ) {
    this.#channel = channel;
    this.command = init.command;
    this.subsystem = init.subsystem;
    this.env = init.env;
    this.terminal = init.terminal;
    this.username = init.username;
    this.#size = init.terminal;
  }

  /** The current terminal size, if a terminal was requested. */
  get terminalSize(): TerminalSize | undefined {
    return this.#size;
  }

  /** @internal Updates the size on window-change. */
  setTerminalSize(size: TerminalSize): void {
    this.#size = size;
    this.onTerminalSizeChanged?.(size);
  }

  /** What the client sends. */
  get stdin(): ReadableStream<Uint8Array> {
    return this.#channel.readable(0);
  }

  /** What we send to the client's stdout. */
  get stdout(): WritableStream<Uint8Array> {
    return (this.#stdout ??= this.#channel.writable(0));
  }

  /** What we send to the client's stderr. */
  get stderr(): WritableStream<Uint8Array> {
    return (this.#stderr ??= this.#channel.writable(1));
  }

  /** The underlying channel. */
  get channel(): ChannelIO {
    return this.#channel;
  }

  /** Writes text or bytes to stdout without locking the stream. */
  write(data: string | Uint8Array): Promise<void> {
    return this.#channel.write(typeof data === "string" ? new TextEncoder().encode(data) : data, 0);
  }

  /** Writes text or bytes to stderr without locking the stream. */
  writeStderr(data: string | Uint8Array): Promise<void> {
    return this.#channel.write(typeof data === "string" ? new TextEncoder().encode(data) : data, 1);
  }

  /** Ends the process with an exit status: sends EOF, exit-status, and closes. */
  exit(status: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#channel.sendEof();
    void this.#channel.request("exit-status", encodeExitStatus(status >>> 0), false);
    this.#channel.close();
  }

  /** Ends the process as killed by a signal (name without "SIG"). */
  exitWithSignal(signal: string, coreDumped = false, message = ""): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#channel.sendEof();
    void this.#channel.request(
      "exit-signal",
      encodeExitSignal({ signal: signal.replace(/^SIG/, ""), coreDumped, message, language: "" }),
      false,
    );
    this.#channel.close();
  }

  /** Closes the channel without an exit status. */
  close(): void {
    this.#exited = true;
    this.#channel.close();
  }
}
