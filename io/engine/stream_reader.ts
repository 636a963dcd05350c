/**
 * AsyncSSH's reader helpers over a Web `ReadableStream` (a process's stdout or
 * stderr, a server process's stdin, a forwarded connection): {@link StreamReader}
 * with `read(n)`, `readLine()`, `readUntil(separator)` and `readExactly(n)`, and
 * {@link readLines} as an async iterator. Works on byte streams and on text
 * streams (a process created with an `encoding`). Counts are bytes on a byte
 * stream and characters (Unicode code points, as in AsyncSSH's Python `str`) on
 * a text stream: a surrogate pair is never split, even when the stream delivers
 * its halves in separate chunks. Bounded: a separator that never comes fails
 * with {@link ReadLimitError} once more than `limit` bytes or characters are
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
  /**
   * How much was wanted: a count (bytes, or characters for a text stream), or
   * undefined when a separator was awaited.
   */
  readonly expected: number | undefined;

  /** Creates the error. */
  constructor(partial: Uint8Array | string, expected: number | undefined) {
    const got = typeof partial === "string"
      ? `${codePoints(partial, 0)} characters`
      : `${partial.length} bytes`;
    super(
      "ERR_INCOMPLETE_READ",
      expected === undefined
        ? `The stream ended after ${got} without the separator`
        : `The stream ended after ${got} of ${expected}`,
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
  /** The limit that was reached (bytes, or characters for a text stream). */
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
   * Most bytes (or characters, i.e. code points, for text) buffered while
   * looking for a separator; default {@link DEFAULT_READ_LIMIT}.
   */
  readonly limit?: number;
  /**
   * The stream carries text (strings): at its end, before any chunk came, reads return
   * `""` rather than an empty `Uint8Array`. Known already for the text streams of this
   * library's processes (`encoding` set, a {@link textSession}); for a stream of your own
   * that may end empty, say so here.
   */
  readonly text?: boolean;
}

/** Text streams this library made (a process's decoded stdin or output). */
const TEXT_STREAMS = new WeakSet<ReadableStream<unknown>>();

/**
 * Marks a stream of strings the library made, so that a {@link StreamReader} of it
 * returns `""` at its end even when no chunk ever came.
 *
 * @example
 * ```ts ignore
 * return markTextStream(raw.pipeThrough(new TextDecoderStream()));
 * ```
 */
export function markTextStream<S extends ReadableStream<unknown>>(stream: S): S {
  TEXT_STREAMS.add(stream);
  return stream;
}

const encoder = new TextEncoder();

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Code points in `s` from UTF-16 index `from` (a lone surrogate counts as one). */
function codePoints(s: string, from: number): number {
  let n = 0;
  for (let i = from; i < s.length; i++) {
    // The low half of a pair is not a character of its own (its high half may lie before `from`).
    if (!(isLow(s.charCodeAt(i)) && i > 0 && isHigh(s.charCodeAt(i - 1)))) n++;
  }
  return n;
}

/**
 * Walks up to `n` code points of `s` from UTF-16 index `from`. A high surrogate
 * ending `s` may be half of a pair whose other half has not arrived: it counts
 * only when `atEnd` (the stream ended, so nothing can follow it).
 */
function advance(
  s: string,
  from: number,
  n: number,
  atEnd: boolean,
): { end: number; count: number } {
  let i = from;
  let count = 0;
  while (count < n && i < s.length) {
    if (isHigh(s.charCodeAt(i))) {
      if (i + 1 < s.length) i += isLow(s.charCodeAt(i + 1)) ? 2 : 1;
      else if (atEnd) i += 1;
      else break;
    } else {
      i += 1;
    }
    count++;
  }
  return { end: i, count };
}

/** Matches a surrogate without its other half (a string that is not well-formed). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** `readUntil()`'s argument checked and made a list (before any reading, so a bad one fails the same way always). */
function separatorList(separator: unknown): (Uint8Array | string)[] {
  const list = Array.isArray(separator) ? separator as unknown[] : [separator];
  if (Array.isArray(separator) && list.length === 0) {
    throw new RangeError("The separator list must not be empty");
  }
  for (const s of list) {
    if (typeof s !== "string" && !(s instanceof Uint8Array)) {
      throw new TypeError(
        "A separator must be a string, a Uint8Array, or a non-empty array of them",
      );
    }
    if (s.length === 0) throw new RangeError("The separator must not be empty");
    if (typeof s === "string" && LONE_SURROGATE.test(s)) {
      throw new RangeError("The separator must not hold an unpaired surrogate");
    }
  }
  return list as (Uint8Array | string)[];
}

/** First index of `needle` in `hay` from `from`, or -1. */
function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Reads a byte or text stream in the pieces protocols need. Counts (`n`,
 * {@link buffered}, the `limit`) are bytes on a byte stream and characters
 * (Unicode code points, like AsyncSSH's Python `str`) on a text stream, so a
 * read never returns half of a surrogate pair. It takes the stream's lock;
 * {@link releaseLock} gives it back (unread buffered data is then lost to other
 * readers).
 *
 * @example Read a prompt, then a line, from a remote shell
 * ```ts ignore
 * const p = await conn.createProcess("sh -i", { encoding: "utf-8" });
 * const out = new StreamReader(p.stdout);
 * await out.readUntil(["$ ", "# "]);
 * await p.write("uname\n");
 * console.log(await out.readLine());
 * ```
 */
export class StreamReader<T extends Uint8Array | string = Uint8Array> {
  readonly #reader: ReadableStreamDefaultReader<T>;
  readonly #limit: number;
  #buf: T | undefined;
  /** An empty result of the stream's kind (known from its first chunk). */
  #empty: T | undefined;
  #eof = false;

  /** Reads `stream` (its lock is taken now). */
  constructor(stream: ReadableStream<T>, options: StreamReaderOptions = {}) {
    this.#reader = stream.getReader();
    this.#limit = options.limit ?? DEFAULT_READ_LIMIT;
    if (!(this.#limit > 0)) throw new RangeError("The read limit must be positive");
    // What an empty result is, before any chunk tells (a stream that ends at once).
    if (options.text ?? TEXT_STREAMS.has(stream)) this.#empty = "" as T;
  }

  /** Whether the stream ended and everything buffered was read. */
  get atEof(): boolean {
    return this.#eof && (this.#buf === undefined || this.#buf.length === 0);
  }

  /** Bytes (characters for a text stream) buffered but not yet returned. */
  get buffered(): number {
    const b = this.#buf;
    return b === undefined ? 0 : typeof b === "string" ? codePoints(b, 0) : b.length;
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
    this.#empty ??= (typeof chunk === "string" ? "" : new Uint8Array(0)) as T;
    const buf = this.#buf;
    this.#buf = buf === undefined || buf.length === 0
      ? chunk
      : (typeof buf === "string"
        ? buf + (chunk as string)
        : concatBytes(buf as Uint8Array, chunk as Uint8Array)) as T;
    return true;
  }

  /** The first `end` units (UTF-16 units for text) of the buffer, removed from it. */
  #take(end: number): T {
    const buf = this.#buf;
    if (end === 0 || buf === undefined) return this.#empty ?? (new Uint8Array(0) as T);
    if (typeof buf === "string") {
      this.#buf = buf.slice(end) as T;
      return buf.slice(0, end) as T;
    }
    this.#buf = buf.subarray(end) as T;
    return buf.subarray(0, end) as T;
  }

  #takeAll(): T {
    const b = this.#buf;
    this.#buf = undefined;
    return b ?? this.#empty ?? (new Uint8Array(0) as T);
  }

  /**
   * Up to `n` bytes, or characters (code points) on a text stream (default:
   * whatever is buffered or arrives next); an empty result means the end of the
   * stream.
   *
   * @example
   * ```ts ignore
   * const some = await reader.read(4096);
   * ```
   */
  async read(n = Infinity): Promise<T> {
    if (!(n >= 0)) throw new RangeError("Cannot read a negative count");
    for (;;) {
      const buf = this.#buf;
      if (buf !== undefined && buf.length > 0) {
        if (typeof buf !== "string") return n >= buf.length ? this.#takeAll() : this.#take(n);
        const want = Math.floor(n);
        // The whole buffer fits when its UTF-16 length does; a high surrogate ending it waits for its pair.
        const end = want >= buf.length
          ? (!this.#eof && isHigh(buf.charCodeAt(buf.length - 1)) ? buf.length - 1 : buf.length)
          : advance(buf, 0, want, this.#eof).end;
        if (end > 0 || want === 0) return this.#take(end);
      } else if (this.#eof) {
        return this.#takeAll();
      }
      await this.#fill();
    }
  }

  /**
   * Exactly `n` bytes, or characters (code points) on a text stream; rejects
   * with {@link IncompleteReadError} (holding what was read) when the stream
   * ends first.
   *
   * @example
   * ```ts ignore
   * const header = await reader.readExactly(4);
   * ```
   */
  async readExactly(n: number): Promise<T> {
    if (!(n >= 0) || !Number.isInteger(n)) throw new RangeError("Cannot read a negative count");
    // Text: `end` UTF-16 units hold `got` code points; the buffer only grows meanwhile.
    let end = 0;
    let got = 0;
    for (;;) {
      const buf = this.#buf;
      if (typeof buf === "string") {
        const r = advance(buf, end, n - got, this.#eof);
        end = r.end;
        got += r.count;
      } else {
        end = got = Math.min(n, buf?.length ?? 0);
      }
      if (got >= n) return this.#take(end);
      if (this.#eof) throw new IncompleteReadError(this.#takeAll(), n);
      await this.#fill();
    }
  }

  /**
   * Everything up to and including `separator` (a string is UTF-8 encoded on a
   * byte stream, bytes are UTF-8 decoded on a text stream). `separator` may be
   * a list (AsyncSSH's `readuntil([...])`): the read ends at the earliest match
   * of any of them and, of several matching there, at the first listed (as
   * AsyncSSH); a match is returned as soon as it is buffered. At
   * the end of the stream, rejects with {@link IncompleteReadError} holding the
   * rest; with no separator within the limit, rejects with
   * {@link ReadLimitError} (the data stays buffered). An empty separator or
   * list is a RangeError, anything but a string, a Uint8Array or an array of
   * them a TypeError.
   *
   * @example
   * ```ts ignore
   * const prompt = await reader.readUntil("login: ");
   * const reply = await reader.readUntil(["$ ", "# ", "Password: "]);
   * ```
   */
  async readUntil(separator: T | string | readonly (T | string)[]): Promise<T> {
    const given = separatorList(separator);
    let seps: (Uint8Array | string)[] | undefined;
    let longest = 0;
    let scanned = 0; // units of the buffer searched without a match
    let counted = 0; // units of the buffer counted towards the limit
    let size = 0; // their bytes or code points
    for (;;) {
      const buf = this.#buf;
      if (buf !== undefined && buf.length > 0) {
        const text = typeof buf === "string";
        seps ??= given.map((s) =>
          text
            ? (typeof s === "string" ? s : new TextDecoder().decode(s))
            : (typeof s === "string" ? encoder.encode(s) : s)
        );
        if (longest === 0) { for (const s of seps) longest = Math.max(longest, s.length); }
        // A match not found in what was scanned ends in the new data.
        const from = Math.max(0, scanned - longest + 1);
        let at = -1;
        let len = 0;
        for (const sep of seps) {
          const i = text
            ? (buf as string).indexOf(sep as string, from)
            : indexOfBytes(buf as Uint8Array, sep as Uint8Array, from);
          // At one place, the first listed wins (as AsyncSSH's regex alternation): not the
          // longest, which would depend on how much of the stream had arrived.
          if (i !== -1 && (at === -1 || i < at)) {
            at = i;
            len = sep.length;
          }
        }
        if (at !== -1) return this.#take(at + len);
        scanned = buf.length;
        size += text ? codePoints(buf as string, counted) : buf.length - counted;
        counted = buf.length;
        if (size > this.#limit) {
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
