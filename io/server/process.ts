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
import type { ChannelIO } from "../engine/channel.ts";
import { LineEditor, type LineEditorOptions } from "./line_editor.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { AgentClient } from "../agent/client.ts";
import { LINE_EDITOR_BUFFER } from "../limits.ts";

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
 * ```ts ignore
 * const server = await listen({ ..., processFactory: async (p) => {
 *   await p.write("name? ");
 *   for await (const line of p.stdin.pipeThrough(new TextDecoderStream())) {
 *     await p.write(`hello ${line}`);
 *     break;
 *   }
 * }});
 * ```
 */
export class SSHServerProcess {
  readonly #channel: ChannelIO;
  /** The command for exec requests (a forced command if one applies); undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** The command the client asked for, when a forced command replaced it (also in env SSH_ORIGINAL_COMMAND). */
  readonly originalCommand: string | undefined;
  /** The subsystem name for subsystem requests. */
  readonly subsystem: string | undefined;
  /** Environment variables the client sent (and the server accepted), plus forced ones. */
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
  #stdin: ReadableStream<Uint8Array> | undefined;
  #stdout: WritableStream<Uint8Array> | undefined;
  #stderr: WritableStream<Uint8Array> | undefined;
  readonly #editor: LineEditor | undefined;
  readonly #outDecoder = new TextDecoder();
  /** Terminal writes in order (echo and application output share the stream). */
  #outChain: Promise<void> = Promise.resolve();
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
    this.#size = init.terminal;
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
    this.onTerminalSizeChanged?.(size);
  }

  /** Turns line editing on or off (raw input for full-screen programs). No-op without the editor. */
  setLineMode(on: boolean): void {
    const rest = this.#editor?.setLineMode(on);
    if (rest) this.#pushInput(encoder.encode(rest));
  }

  /** Turns echo of typed input on or off (off while asking for a password). No-op without the editor. */
  setEcho(on: boolean): void {
    this.#editor?.setEcho(on);
  }

  /** What the client sends (whole edited lines on a pty session with the line editor). */
  get stdin(): ReadableStream<Uint8Array> {
    return (this.#stdin ??= this.#channel.readable(0));
  }

  /** What we send to the client's stdout; closing it sends EOF. */
  get stdout(): WritableStream<Uint8Array> {
    return (this.#stdout ??= new WritableStream({
      write: (chunk) => this.write(chunk),
      close: () => this.#afterOutput(() => this.#channel.sendEof()),
    }));
  }

  /** What we send to the client's stderr (the terminal itself on a pty session with the editor). */
  get stderr(): WritableStream<Uint8Array> {
    return (this.#stderr ??= new WritableStream({ write: (chunk) => this.writeStderr(chunk) }));
  }

  /** The underlying channel. */
  get channel(): ChannelIO {
    return this.#channel;
  }

  /** Writes text or bytes to stdout without locking the stream. */
  write(data: string | Uint8Array): Promise<void> {
    if (this.#editor) return this.#terminalWrite(this.#format(data));
    return this.#track(
      this.#channel.write(typeof data === "string" ? encoder.encode(data) : data, 0),
    );
  }

  /** Writes text or bytes to stderr without locking the stream. */
  writeStderr(data: string | Uint8Array): Promise<void> {
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
   * ```ts ignore
   * await process.writeLines(["one", "two"]); // "one\ntwo\n"
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
   * ```ts ignore
   * process.setXonXoff(false); // e.g. a full-screen program that uses ^S/^Q itself
   * ```
   */
  setXonXoff(clientCanDo: boolean): void {
    this.#afterOutput(() => {
      try {
        this.#channel.request("xon-xoff", encodeXonXoff(clientCanDo), false).catch(() => {});
      } catch { /* the channel closed meanwhile: nothing to tell */ }
    });
  }

  /** Ends the process with an exit status: output is flushed, then EOF, exit-status and close. */
  exit(status: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#afterOutput(() => {
      this.#channel.sendEof();
      void this.#channel.request("exit-status", encodeExitStatus(status >>> 0), false);
      this.#channel.close();
    });
  }

  /** Ends the process as killed by a signal (name without "SIG"). */
  exitWithSignal(signal: string, coreDumped = false, message = ""): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#afterOutput(() => {
      this.#channel.sendEof();
      void this.#channel.request(
        "exit-signal",
        encodeExitSignal({ signal: signal.replace(/^SIG/, ""), coreDumped, message, language: "" }),
        false,
      );
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

  #format(data: string | Uint8Array): string {
    const text = typeof data === "string" ? data : this.#outDecoder.decode(data, { stream: true });
    return this.#editor!.formatOutput(text);
  }

  #terminalWrite(text: string): Promise<void> {
    if (text === "") return this.#outChain;
    const p = this.#outChain.then(() => this.#channel.write(encoder.encode(text), 0));
    this.#outChain = p.catch(() => {});
    return p;
  }

  #track(p: Promise<void>): Promise<void> {
    this.#writes.add(p);
    const done = () => this.#writes.delete(p);
    p.then(done, done);
    return p;
  }

  /** Runs `f` once every write started so far has finished (or failed). */
  #afterOutput(f: () => void): void {
    void Promise.allSettled([this.#outChain, ...this.#writes]).then(f);
  }

  #pushInput: (b: Uint8Array) => void = () => {};

  /** Stdin through the editor: reads the channel while the buffer has room, echoes, yields lines. */
  #editedInput(editor: LineEditor): ReadableStream<Uint8Array> {
    const reader = this.#channel.readable(0).getReader();
    const decoder = new TextDecoder();
    let done = false;
    return new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#pushInput = (b) => {
          if (!done) c.enqueue(b);
        };
      },
      pull: async (c) => {
        while (!done) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            done = true;
            c.error(e);
            return;
          }
          if (r.done) {
            // Client EOF: a partly typed line still counts.
            const rest = editor.setLineMode(false);
            if (rest) c.enqueue(encoder.encode(rest));
            done = true;
            c.close();
            return;
          }
          const { output, events } = editor.feed(decoder.decode(r.value, { stream: true }));
          void this.#terminalWrite(output).catch(() => {});
          let delivered = false;
          for (const e of events) {
            if (e.type === "line") {
              c.enqueue(encoder.encode(e.text + "\n"));
              delivered = true;
            } else if (e.type === "data") {
              c.enqueue(encoder.encode(e.text));
              delivered = true;
            } else if (e.type === "interrupt") {
              this.onSignal?.("INT");
            } else if (e.type === "eof") {
              done = true;
              c.close();
              void reader.cancel().catch(() => {});
              return;
            }
          }
          if (delivered) return;
        }
      },
      cancel: () => {
        done = true;
        return reader.cancel();
      },
    }, { highWaterMark: LINE_EDITOR_BUFFER, size: (chunk) => chunk.byteLength });
  }
}
