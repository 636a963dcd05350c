/**
 * Redirection of a remote process's stdin, stdout and stderr (AsyncSSH's
 * `redirect`): from and to local files, byte arrays, Web Streams, async
 * iterables and other SSH processes, with backpressure all the way (a slow
 * target slows the remote process through the channel window).
 *
 * @module
 */

import * as fs from "node:fs/promises";
import type { ChannelIO } from "../engine/channel.ts";
import { ChannelClosedError } from "../engine/errors.ts";
import { REDIRECT_READ_SIZE } from "../limits.ts";

/** Redirect stderr to wherever stdout goes (AsyncSSH's STDOUT). */
export const STDOUT: unique symbol = Symbol("stdout");
/** Discard output or read nothing: the null device. */
export const DEVNULL = "/dev/null";

/**
 * The parts of a process a redirection needs: an `SSHClientProcess` (its output
 * is the remote command's stdout and stderr, its input the command's stdin) or an
 * `SSHServerProcess` (its output is what the client sends, its input goes to the
 * client's stdout).
 */
export interface RedirectableProcess {
  /** The session channel. */
  readonly channel: ChannelIO;
  /** The byte stream of output stream 0 or 1, before any text decoding. */
  rawOutput(stream: 0 | 1): ReadableStream<Uint8Array>;
  /** Writes to the process's input. */
  write(data: Uint8Array): Promise<void>;
  /** Sends EOF to the process's input. */
  writeEof(): void;
}

/**
 * Where stdin comes from: a local file path (or `{ path }`), bytes, a stream
 * or async iterable of bytes or text, or another process (its stdout).
 */
export type RedirectSource =
  | string
  | { readonly path: string }
  | Uint8Array
  | ReadableStream<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | RedirectableProcess;

/**
 * Where stdout or stderr goes: a local file path (truncated; `{ path, append }`
 * to append), a WritableStream, or another process (its stdin).
 */
export type RedirectTarget =
  | string
  | { readonly path: string; readonly append?: boolean }
  | WritableStream<Uint8Array>
  | RedirectableProcess;

/** What {@link redirectProcess} (and `SSHClientProcess.redirect`) redirects. */
export interface RedirectOptions {
  /** Feed stdin from here. */
  readonly stdin?: RedirectSource;
  /** Send stdout here. */
  readonly stdout?: RedirectTarget;
  /**
   * Send stderr here, or to stdout's target with {@link STDOUT}. `STDOUT` with stdout not
   * redirected (in `createProcess` and `run`) merges stderr into stdout as it comes, as
   * AsyncSSH's: `p.stdout` (not BYOB-readable then) and `run()`'s `stdout` carry both.
   */
  readonly stderr?: RedirectTarget | typeof STDOUT;
  /** Send EOF to the process when the stdin source ends (default true). */
  readonly sendEof?: boolean;
  /** Close the target (a stream's writer, another process's stdin) when output ends (default true). */
  readonly closeTarget?: boolean;
}

const encoder = new TextEncoder();

/**
 * Starts the redirections; resolves when all of them have finished.
 *
 * @example Pipe one remote process into another, and its errors into a file
 * ```ts
 * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: async (p) => {
 *     if (p.command === "tar tf -") for await (const c of p.stdin) await p.write(c); // echo
 *     else await p.write(`you ran ${p.command}\n`);
 *   },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * import { redirectProcess } from "./redirect.ts";
 * const producer = await conn.createProcess("tar cf - /etc");
 * const consumer = await conn.createProcess("tar tf -", { encoding: "utf-8" });
 * await redirectProcess(producer, { stdout: consumer }); // EOF follows the producer's
 * console.log((await consumer.wait()).stdout); // "you ran tar cf - /etc\n"
 * ```
 */
export function redirectProcess(
  process: RedirectableProcess,
  options: RedirectOptions,
): Promise<void> {
  const closeTarget = options.closeTarget ?? true;
  const { stdout, stderr } = options;
  if (stderr === STDOUT && stdout === undefined) {
    throw new TypeError("Cannot redirect stderr to stdout: stdout is not redirected");
  }
  checkRedirectTargets(options);
  const merge = stderrJoinsStdout(options);
  const errTarget = merge ? undefined : stderr as RedirectTarget | undefined;
  const outSink = stdout === undefined ? undefined : openSink(stdout, closeTarget, merge ? 2 : 1);
  const errSink = errTarget === undefined ? undefined : openSink(errTarget, closeTarget, 1);
  const jobs: Promise<void>[] = [];
  if (options.stdin !== undefined) {
    jobs.push(feedStdin(process.channel, options.stdin, options.sendEof ?? true));
  }
  if (outSink) {
    jobs.push(drainInto(process.rawOutput(0), outSink));
    if (merge) jobs.push(drainInto(process.rawOutput(1), outSink));
  }
  if (errSink) jobs.push(drainInto(process.rawOutput(1), errSink));
  return Promise.all(jobs).then(() => {});
}

/**
 * Feeds a process's input until the source ends or the channel closes. A process that
 * exits before it read all its input (`head -c 10`) ended normally, as in a shell
 * pipeline: the rest is dropped, and a source still waiting for data (a stream that
 * never ends) is cancelled, not awaited. Only the connection's failure is an error then.
 */
async function feedStdin(ch: ChannelIO, source: RedirectSource, sendEof: boolean): Promise<void> {
  try {
    await feedSource(source, (c) => ch.write(c), 0, ch.closedPromise);
  } catch (e) {
    if (!(e instanceof ChannelClosedError) || ch.eofSent) throw e;
    // Closed by either side: settled once the peer's CLOSE (or the connection's end) is in.
    await ch.closedPromise;
    if (ch.abortReason) throw e;
  } finally {
    if (sendEof && !ch.closed) ch.sendEof();
  }
}

/** What a source's wait resolves with once {@link feedSource}'s `stop` settled. */
const STOPPED: unique symbol = Symbol("stopped");

/**
 * Throws a TypeError for a redirection target that cannot be used (not a path, stream or
 * process; a locked stream): every target is checked before any is opened — and before a
 * command starts — so a misuse sends no input, opens no file, takes no other stream's writer
 * (left locked) and runs nothing.
 *
 * @example
 * ```ts ignore
 * checkRedirectTargets({ stdout: lockedStream }); // TypeError
 * ```
 */
export function checkRedirectTargets(options: RedirectOptions): void {
  const { stdout, stderr } = options;
  if (stdout !== undefined) checkTarget(stdout, "stdout");
  if (stderr !== undefined && !stderrJoinsStdout(options)) {
    checkTarget(stderr as RedirectTarget, "stderr");
  }
}

/**
 * Whether stderr goes where stdout goes: {@link STDOUT}, or the same target for both (a
 * path, a stream, a process) — two opens of one file would write over each other, and a
 * stream's second writer is refused.
 */
function stderrJoinsStdout({ stdout, stderr }: RedirectOptions): boolean {
  return stderr === STDOUT || (stderr !== undefined && stderr === stdout);
}

/**
 * Refuses a target that {@link openSink} would fail to open (with a TypeError), before
 * anything is opened: a stream target must be a WritableStream that no writer holds.
 */
function checkTarget(target: RedirectTarget, name: string): void {
  if (isPath(target) || isProcess(target)) return;
  if (typeof (target as Partial<WritableStream>).getWriter !== "function") {
    throw new TypeError(`Cannot redirect ${name}: not a path, WritableStream or process`);
  }
  if (target.locked) throw new TypeError(`Cannot redirect ${name}: its WritableStream is locked`);
}

function isPath(x: RedirectSource | RedirectTarget): x is string | { readonly path: string } {
  return typeof x === "string" || (!isProcess(x) && "path" in x);
}

function isProcess(x: unknown): x is RedirectableProcess {
  return typeof x === "object" && x !== null && "rawOutput" in x && "channel" in x;
}

/**
 * Copies a source to `write`: a file, bytes, a stream or async iterable, or
 * another process's output stream `processStream`. Once `stop` settles, it reads no
 * more: a stream is cancelled (a read it waits on ends), an iterator's next value is
 * not awaited, and it resolves.
 *
 * @example
 * ```ts ignore
 * await feedSource("./input.txt", (c) => channel.write(c), 0);
 * ```
 */
export async function feedSource(
  source: RedirectSource,
  write: (chunk: Uint8Array) => Promise<void>,
  processStream: 0 | 1,
  stop?: Promise<unknown>,
): Promise<void> {
  let stopped = false;
  const stopping: Promise<typeof STOPPED> | undefined = stop?.then(
    () => {
      stopped = true;
      return STOPPED;
    },
    () => STOPPED,
  );
  if (isPath(source)) {
    const path = typeof source === "string" ? source : source.path;
    const fh = await fs.open(path, "r").catch((e: unknown) => {
      // A string is a path here (AsyncSSH's meaning): say so where text was meant (node-ssh's
      // `stdin: "text"`), keeping the file system's error as the cause.
      if (typeof source !== "string" || (e as { code?: string }).code !== "ENOENT") throw e;
      throw Object.assign(
        new Error(
          `Cannot redirect from "${path}": no such local file (a string names a file ` +
            "to read; to send text, pass it as run()'s input or write it)",
          { cause: e },
        ),
        { code: "ENOENT" },
      );
    });
    try {
      while (!stopped) {
        // A fresh buffer per read: the channel may hold it until the window opens.
        const buf = new Uint8Array(REDIRECT_READ_SIZE);
        const { bytesRead } = await fh.read(buf, 0, REDIRECT_READ_SIZE, null);
        if (bytesRead === 0) break;
        await write(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  } else if (source instanceof Uint8Array) {
    await write(source);
  } else if (isProcess(source) || source instanceof ReadableStream) {
    const stream = isProcess(source) ? source.rawOutput(processStream) : source;
    const reader = stream.getReader();
    // Cancelling ends a read that waits (an iterator's return() would wait for it).
    void stopping?.then(() => reader.cancel().catch(() => {}));
    try {
      for (let r; !stopped && !(r = await reader.read()).done;) await write(bytesOf(r.value));
    } catch (e) {
      await reader.cancel(e).catch(() => {});
      throw e;
    } finally {
      reader.releaseLock();
    }
  } else {
    const it = (async function* () {
      yield* source as AsyncIterable<Uint8Array | string>;
    })();
    // One reaction on `stopping` for the whole feed, handed to the wait of the moment: a
    // Promise.race per chunk would leave one on it per chunk, all kept until it settles.
    let halted = false;
    let wake: (() => void) | undefined;
    void stopping?.then(() => {
      halted = true;
      wake?.();
    });
    const nextOrStop = (next: Promise<IteratorResult<Uint8Array | string>>) =>
      new Promise<IteratorResult<Uint8Array | string> | typeof STOPPED>((resolve, reject) => {
        if (halted) resolve(STOPPED);
        wake = () => resolve(STOPPED); // a later call replaces it
        next.then(resolve, reject);
      });
    try {
      for (;;) {
        const next = it.next();
        const r = stopping ? await nextOrStop(next) : await next;
        if (r === STOPPED) {
          next.catch(() => {});
          // Queued behind the pending next(): the source finishes on its own time.
          it.return(undefined).catch(() => {});
          return;
        }
        if (r.done) break;
        await write(bytesOf(r.value));
      }
    } catch (e) {
      await it.return(undefined).catch(() => {});
      throw e;
    }
  }
}

function bytesOf(c: Uint8Array | string): Uint8Array {
  return typeof c === "string" ? encoder.encode(c) : c;
}

/**
 * A shared destination with a count of the streams still writing to it.
 *
 * @example
 * ```ts ignore
 * const sink = openSink("./out.log", true, 1);
 * await drainInto(stream, sink);
 * ```
 */
export interface Sink {
  /** Writes a chunk (after the chunks written before it, from any producer). */
  write(chunk: Uint8Array): Promise<void>;
  /** One producer finished; the last one closes the target. */
  end(): Promise<void>;
}

/**
 * Opens a redirect target for `producers` streams; the last one to end closes it
 * (when `closeTarget`).
 *
 * @example
 * ```ts ignore
 * const sink = openSink(writableStream, true, 2); // stdout and stderr into one stream
 * ```
 */
export function openSink(target: RedirectTarget, closeTarget: boolean, producers: number): Sink {
  let left = producers;
  let tail: Promise<unknown> = Promise.resolve();
  // Writes from several producers go out one at a time, in order.
  const serial = (f: () => Promise<unknown>) => {
    const p = tail.then(f);
    tail = p.catch(() => {});
    return p.then(() => {});
  };
  let write: (c: Uint8Array) => Promise<unknown>;
  let close: () => Promise<unknown>;
  if (isPath(target)) {
    const path = typeof target === "string" ? target : target.path;
    const append = typeof target === "object" && "append" in target && target.append;
    const fh = fs.open(path, append ? "a" : "w");
    // A failed open reaches the caller through the first write or the close; until one
    // of those awaits it, it must not be an unhandled rejection (which ends the process).
    fh.catch(() => {});
    write = async (c) => {
      const h = await fh;
      for (let off = 0; off < c.length;) {
        off += (await h.write(c, off, c.length - off)).bytesWritten;
      }
    };
    close = async () => (await fh).close();
  } else if (isProcess(target)) {
    write = (c) => target.write(c);
    close = () => Promise.resolve(closeTarget ? target.writeEof() : undefined);
  } else {
    const writer = (target as WritableStream<Uint8Array>).getWriter();
    write = (c) => writer.write(c);
    close = () => closeTarget ? writer.close() : Promise.resolve(writer.releaseLock());
  }
  return {
    write: (c) => serial(() => write(c)),
    end: () => (--left === 0 ? serial(close) : Promise.resolve()),
  };
}

/**
 * Copies a stream into a sink, then ends the sink.
 *
 * @example
 * ```ts ignore
 * await drainInto(process.rawOutput(0), openSink("./out", true, 1));
 * ```
 */
export async function drainInto(stream: ReadableStream<Uint8Array>, sink: Sink): Promise<void> {
  try {
    for await (const c of stream) await sink.write(c);
  } finally {
    await sink.end();
  }
}
