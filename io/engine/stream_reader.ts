/**
 * AsyncSSH's reader helpers over a Web `ReadableStream` (a process's stdout or
 * stderr, a server process's stdin, a forwarded connection): {@link StreamReader}
 * with `read(n)`, `readLine()`, `readUntil(separator)` and `readExactly(n)`, and
 * {@link readLines} as an async iterator. Works on byte streams and on text
 * streams (a process created with an `encoding`). Bounded: a separator that
 * never comes fails with {@link ReadLimitError} once `limit` units are
 * buffered, instead of holding the peer's output without end.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { DEFAULT_READ_LIMIT } from "../limits.ts";

/**
 * The stream ended before a read was satisfied. `partial` holds what was read
 * (AsyncSSH's and asyncio's IncompleteReadError).
 *
 * @example
 * ```ts ignore
 * try { await reader.readExactly(16); }
 * catch (e) { if (e instanceof IncompleteReadError) console.log(e.partial.length, "of", e.expected); }
 * ```
 */
export class IncompleteReadError extends SSHError {
  /** What was read before the end (bytes, or text for a text stream). */
  readonly partial: Uint8Array | string;
  /** How much was wanted: a count, or undefined when a separator was awaited. */
  readonly expected: number | undefined;

  /** Creates the error. */
  constructor(partial: Uint8Array | string, expected: number | undefined) {
    super(
      "ERR_INCOMPLETE_READ",
      expected === undefined
        ? `The stream ended after ${partial.length} units without the separator`
        : `The stream ended after ${partial.length} of ${expected} units`,
    );
    this.name = "IncompleteReadError";
    this.partial = partial;
    this.expected = expected;
  }
}

/**
 * A separator was not found within the reader's `limit` (asyncio's
 * LimitOverrunError). The buffered data stays in the reader: `read()` returns it.
 *
 * @example
 * ```ts ignore
 * try { await reader.readLine(); }
 * catch (e) { if (e instanceof ReadLimitError) console.log(`no newline in ${e.limit} bytes`); }
 * ```
 */
export class ReadLimitError extends SSHError {
  /** The limit that was reached (bytes, or UTF-16 units for a text stream). */
  readonly limit: number;

  /** Creates the error. */
  constructor(limit: number) {
    super(
      "ERR_READ_LIMIT",
      `No separator within ${limit} buffered units: raise the reader's limit or read in pieces`,
    );
    this.name = "ReadLimitError";
    this.limit = limit;
  }
}

/** Options of {@link StreamReader}. */
export interface StreamReaderOptions {
  /**
   * Most units (bytes, or UTF-16 code units for text) buffered while looking
   * for a separator; default {@link DEFAULT_READ_LIMIT}.
   */
  readonly limit?: number;
}

const encoder = new TextEncoder();

/** The chunk kind's operations: bytes or text. */
interface Ops<T> {
  empty: T;
  concat(a: T, b: T): T;
  indexOf(hay: T, needle: T, from: number): number;
  slice(x: T, start: number, end?: number): T;
}

const BYTES: Ops<Uint8Array> = {
  empty: new Uint8Array(0),
  concat(a, b) {
    if (a.length === 0) return b;
    const out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  },
  indexOf(hay, needle, from) {
    const first = needle[0]!;
    const last = hay.length - needle.length;
    for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
      let j = 1;
      while (j < needle.length && hay[i + j] === needle[j]) j++;
      if (j === needle.length) return i;
    }
    return -1;
  },
  slice: (x, start, end) => x.subarray(start, end),
};

const TEXT: Ops<string> = {
  empty: "",
  concat: (a, b) => a + b,
  indexOf: (hay, needle, from) => hay.indexOf(needle, from),
  slice: (x, start, end) => x.slice(start, end),
};

/**
 * Reads a byte or text stream in the pieces protocols need. It takes the
 * stream's lock; {@link releaseLock} gives it back (unread buffered data is
 * then lost to other readers).
 *
 * @example Read a prompt, then a line, from a remote shell
 * ```ts ignore
 * const p = await conn.createProcess("sh -i", { encoding: "utf-8" });
 * const out = new StreamReader(p.stdout);
 * await out.readUntil("$ ");
 * await p.write("uname\n");
 * console.log(await out.readLine());
 * ```
 */
export class StreamReader<T extends Uint8Array | string = Uint8Array> {
  readonly #reader: ReadableStreamDefaultReader<T>;
  readonly #limit: number;
  #ops: Ops<T> | undefined;
  #buf: T | undefined;
  #eof = false;

  /** Reads `stream` (its lock is taken now). */
  constructor(stream: ReadableStream<T>, options: StreamReaderOptions = {}) {
    this.#reader = stream.getReader();
    this.#limit = options.limit ?? DEFAULT_READ_LIMIT;
    if (!(this.#limit > 0)) throw new RangeError("The read limit must be positive");
  }

  /** Whether the stream ended and everything buffered was read. */
  get atEof(): boolean {
    return this.#eof && (this.#buf === undefined || this.#buf.length === 0);
  }

  /** Units buffered but not yet returned. */
  get buffered(): number {
    return this.#buf?.length ?? 0;
  }

  /** Pulls one more chunk into the buffer; false at the end of the stream. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const r = await this.#reader.read();
    if (r.done) {
      this.#eof = true;
      return false;
    }
    const chunk = r.value;
    this.#ops ??= (typeof chunk === "string" ? TEXT : BYTES) as unknown as Ops<T>;
    this.#buf = this.#buf === undefined ? chunk : this.#ops.concat(this.#buf, chunk);
    return true;
  }

  #take(n: number): T {
    const ops = this.#ops!;
    const buf = this.#buf!;
    this.#buf = ops.slice(buf, n);
    return ops.slice(buf, 0, n);
  }

  #takeAll(): T {
    const b = this.#buf ?? (this.#ops?.empty as T | undefined);
    this.#buf = undefined;
    return b ?? (new Uint8Array(0) as T);
  }

  /**
   * Up to `n` units (default: whatever is buffered or arrives next); an empty
   * result means the end of the stream.
   *
   * @example
   * ```ts ignore
   * const some = await reader.read(4096);
   * ```
   */
  async read(n = Infinity): Promise<T> {
    if (!(n >= 0)) throw new RangeError("Cannot read a negative count");
    if (this.buffered === 0) await this.#fill();
    if (this.buffered === 0) return this.#takeAll();
    return n >= this.buffered ? this.#takeAll() : this.#take(n);
  }

  /**
   * Exactly `n` units; rejects with {@link IncompleteReadError} (holding what was
   * read) when the stream ends first.
   *
   * @example
   * ```ts ignore
   * const header = await reader.readExactly(4);
   * ```
   */
  async readExactly(n: number): Promise<T> {
    if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError("Cannot read a negative count");
    while (this.buffered < n) {
      if (!(await this.#fill())) throw new IncompleteReadError(this.#takeAll(), n);
    }
    return n === 0 ? this.#ops?.empty as T ?? (new Uint8Array(0) as T) : this.#take(n);
  }

  /**
   * Everything up to and including `separator` (a string is UTF-8 encoded on a
   * byte stream). At the end of the stream, rejects with
   * {@link IncompleteReadError} holding the rest; with no separator within the
   * limit, rejects with {@link ReadLimitError} (the data stays buffered).
   *
   * @example
   * ```ts ignore
   * const prompt = await reader.readUntil("login: ");
   * ```
   */
  async readUntil(separator: T | string): Promise<T> {
    if (separator.length === 0) throw new RangeError("The separator must not be empty");
    let scanned = 0;
    for (;;) {
      if (this.#buf !== undefined && this.#buf.length > 0) {
        const sep = (typeof this.#buf === "string"
          ? (typeof separator === "string" ? separator : new TextDecoder().decode(separator))
          : (typeof separator === "string" ? encoder.encode(separator) : separator)) as T;
        const i = this.#ops!.indexOf(this.#buf, sep, Math.max(0, scanned - sep.length + 1));
        if (i !== -1) {
          return this.#take(i + sep.length);
        }
        scanned = this.#buf.length;
        if (scanned > this.#limit) {
          throw new ReadLimitError(this.#limit);
        }
      }
      if (!(await this.#fill())) {
        throw new IncompleteReadError(this.#takeAll(), undefined);
      }
    }
  }

  /**
   * One line with its "\n" (AsyncSSH's readline): the rest without one at the
   * end of the stream, an empty result after it. Lines longer than the limit
   * reject with {@link ReadLimitError}.
   *
   * @example
   * ```ts ignore
   * for (let line; (line = await reader.readLine()) !== "";) console.log(line.trimEnd());
   * ```
   */
  async readLine(): Promise<T> {
    try {
      return await this.readUntil("\n");
    } catch (e) {
      if (e instanceof IncompleteReadError) return e.partial as T;
      throw e;
    }
  }

  /**
   * The remaining lines, each with its "\n" (the last may lack one).
   *
   * @example
   * ```ts ignore
   * for await (const line of reader.lines()) console.log(line);
   * ```
   */
  async *lines(): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const line = await this.readLine();
      if (line.length === 0) return;
      yield line;
    }
  }

  /** Stops reading: cancels the stream (the peer's further output is discarded). */
  cancel(reason?: unknown): Promise<void> {
    this.#buf = undefined;
    return this.#reader.cancel(reason);
  }

  /** Gives the stream's lock back (buffered data is dropped). */
  releaseLock(): void {
    this.#buf = undefined;
    this.#reader.releaseLock();
  }
}

/**
 * The lines of a byte or text stream, without their line endings ("\n" or
 * "\r\n"); bytes are decoded as UTF-8. Bounded like {@link StreamReader}.
 *
 * @example
 * ```ts ignore
 * const p = await conn.createProcess("tail -f /var/log/syslog");
 * for await (const line of readLines(p.stdout)) console.log(line);
 * ```
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array | string>,
  options: StreamReaderOptions = {},
): AsyncGenerator<string, void, undefined> {
  const reader = new StreamReader<Uint8Array | string>(stream, options);
  const decoder = new TextDecoder();
  try {
    for await (const line of reader.lines()) {
      const text = typeof line === "string" ? line : decoder.decode(line);
      yield text.endsWith("\r\n")
        ? text.slice(0, -2)
        : text.endsWith("\n")
        ? text.slice(0, -1)
        : text;
    }
  } finally {
    reader.releaseLock();
  }
}
