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
import { REDIRECT_READ_SIZE } from "../limits.ts";

/** Redirect stderr to wherever stdout goes (AsyncSSH's STDOUT). */
export const STDOUT: unique symbol = Symbol("stdout");
/** Discard output or read nothing: the null device. */
export const DEVNULL = "/dev/null";

/** The parts of a process a redirection needs (an `SSHClientProcess`). */
export interface RedirectableProcess {
  /** The session channel. */
  readonly channel: ChannelIO;
  /** The byte stream of stdout (0) or stderr (1), before any text decoding. */
  rawOutput(stream: 0 | 1): ReadableStream<Uint8Array>;
  /** Sends EOF on stdin. */
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
  /** Send stderr here, or to stdout's target with {@link STDOUT}. */
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
 * ```ts ignore
 * const producer = await conn.createProcess("tar cf - /etc");
 * const consumer = await other.createProcess("tar tf -");
 * await redirectProcess(producer, { stdout: consumer, stderr: "./tar-errors.log" });
 * ```
 */
export function redirectProcess(
  process: RedirectableProcess,
  options: RedirectOptions,
): Promise<void> {
  const jobs: Promise<void>[] = [];
  if (options.stdin !== undefined) {
    jobs.push(feed(process.channel, options.stdin, options.sendEof ?? true));
  }
  const closeTarget = options.closeTarget ?? true;
  const toStdout = options.stderr === STDOUT;
  if (toStdout && options.stdout === undefined) {
    throw new TypeError("Cannot redirect stderr to stdout: stdout is not redirected");
  }
  if (options.stdout !== undefined) {
    const sink = openSink(options.stdout, closeTarget, toStdout ? 2 : 1);
    jobs.push(drain(process.rawOutput(0), sink));
    if (toStdout) jobs.push(drain(process.rawOutput(1), sink));
  }
  if (options.stderr !== undefined && options.stderr !== STDOUT) {
    jobs.push(drain(process.rawOutput(1), openSink(options.stderr, closeTarget, 1)));
  }
  return Promise.all(jobs).then(() => {});
}

function isProcess(x: unknown): x is RedirectableProcess {
  return typeof x === "object" && x !== null && "rawOutput" in x && "channel" in x;
}

/** Copies a source into the channel, then sends EOF. */
async function feed(ch: ChannelIO, source: RedirectSource, sendEof: boolean): Promise<void> {
  try {
    if (typeof source === "string" || (!isProcess(source) && "path" in source)) {
      const path = typeof source === "string" ? source : source.path;
      const fh = await fs.open(path, "r");
      try {
        for (;;) {
          // A fresh buffer per read: the channel may hold it until the window opens.
          const buf = new Uint8Array(REDIRECT_READ_SIZE);
          const { bytesRead } = await fh.read(buf, 0, REDIRECT_READ_SIZE, null);
          if (bytesRead === 0) break;
          await ch.write(buf.subarray(0, bytesRead));
        }
      } finally {
        await fh.close();
      }
    } else if (source instanceof Uint8Array) {
      await ch.write(source);
    } else if (isProcess(source)) {
      for await (const c of source.rawOutput(0)) await ch.write(c);
    } else {
      for await (const c of source as AsyncIterable<Uint8Array | string>) {
        await ch.write(typeof c === "string" ? encoder.encode(c) : c);
      }
    }
  } finally {
    if (sendEof && !ch.closed) ch.sendEof();
  }
}

/** A shared destination with a count of the streams still writing to it. */
interface Sink {
  write(chunk: Uint8Array): Promise<void>;
  /** One producer finished; the last one closes the target. */
  end(): Promise<void>;
}

function openSink(target: RedirectTarget, closeTarget: boolean, producers: number): Sink {
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
  if (typeof target === "string" || (!isProcess(target) && "path" in target)) {
    const path = typeof target === "string" ? target : target.path;
    const append = typeof target === "object" && "append" in target && target.append;
    const fh = fs.open(path, append ? "a" : "w");
    write = async (c) => {
      const h = await fh;
      for (let off = 0; off < c.length;) {
        off += (await h.write(c, off, c.length - off)).bytesWritten;
      }
    };
    close = async () => (await fh).close();
  } else if (isProcess(target)) {
    write = (c) => target.channel.write(c);
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

/** Copies a process's output stream into a sink. */
async function drain(stream: ReadableStream<Uint8Array>, sink: Sink): Promise<void> {
  try {
    for await (const c of stream) await sink.write(c);
  } finally {
    await sink.end();
  }
}
