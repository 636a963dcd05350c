/**
 * An open remote file: reads and writes at offsets (pipelined), attributes,
 * fsync, and Web Streams views.
 *
 * @module
 */

import type { FileAttributes } from "../../sftp/attrs.ts";
import { Ext, OpenFlags, SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import type { SFTPResult } from "../../sftp/client_engine.ts";
import type { SFTPRequest, StatVFS } from "../../sftp/messages.ts";
import { untilAborted } from "../engine/errors.ts";
import { pipelinedRead, readIntoBuffer, WritePipe } from "./pipeline.ts";
import { expectResult, type SFTPSession } from "./session.ts";

/**
 * How to open a file: Node's mode strings, or SSH_FXF_* bits.
 * "r" read; "r+" read/write; "w" write, create, truncate; "w+" also read;
 * "a" append, create; "a+" also read; an "x" ("wx", "ax", …) fails when the
 * file exists.
 */
export type OpenMode =
  | "r"
  | "r+"
  | "w"
  | "w+"
  | "wx"
  | "wx+"
  | "a"
  | "a+"
  | "ax"
  | "ax+"
  | number;

/**
 * SSH_FXF_* bits for an {@link OpenMode}.
 *
 * @example
 * ```ts
 * import { openFlags } from "./file.ts";
 * console.log(openFlags("w")); // WRITE | CREAT | TRUNC = 26
 * ```
 */
export function openFlags(mode: OpenMode): number {
  if (typeof mode === "number") return mode;
  // Only the strings above: "rw" or "rubbish" would otherwise open for reading, and "rx"
  // ignore its "x".
  if (!MODES.has(mode)) throw new RangeError(`Unknown open mode "${mode}"`);
  const F = OpenFlags;
  const plus = mode.endsWith("+");
  const excl = mode.includes("x") ? F.EXCL : 0;
  switch (mode[0]) {
    case "r":
      return plus ? F.READ | F.WRITE : F.READ;
    case "w":
      return F.WRITE | F.CREAT | F.TRUNC | excl | (plus ? F.READ : 0);
    case "a":
      return F.WRITE | F.APPEND | F.CREAT | excl | (plus ? F.READ : 0);
  }
  throw new RangeError(`Unknown open mode "${mode}"`);
}

/**
 * Replies a readable() keeps past a gap, at most: a window's worth of reads that came back
 * 256 bytes at a time (a server answering a byte per READ would fill it with millions).
 */
const MAX_PENDING_PIECES = 65_536;

const MODES: ReadonlySet<string> = new Set([
  "r",
  "r+",
  "w",
  "w+",
  "wx",
  "wx+",
  "a",
  "a+",
  "ax",
  "ax+",
]);

/** Options of {@link SFTPFile.readable}. */
export interface FileReadableOptions {
  /** First byte (default: the file's position). */
  readonly start?: number;
  /** Stop before this offset (default: end of file). */
  readonly end?: number;
}

/**
 * Opens `path` on `session` as `sftp.open()` does and wraps the handle. In append mode
 * (SSH_FXF_APPEND: "a", "a+", "ax", "ax+") it asks the server for the file's size
 * (fstat) first: the position starts there, at the end, as AsyncSSH's and a local
 * file's do (a size the server does not give, or an fstat it fails, leaves it at 0).
 */
export async function openFile(
  session: SFTPSession,
  path: string,
  mode: OpenMode = "r",
  attrs: FileAttributes = {},
): Promise<SFTPFile> {
  checkAttrs(attrs);
  const flags = openFlags(mode);
  const handle = expectResult(
    await session.request({ type: "open", path, flags, attrs }),
    "handle",
  ).handle;
  // Counted against the server's open handles until closed (the library's own transfers
  // wait for a place; see HandleSlots).
  session.handleSlots.hold();
  let size = 0;
  if (flags & OpenFlags.APPEND) {
    try {
      size = expectResult(await session.request({ type: "fstat", handle }), "attrs").attrs.size ??
        0;
    } catch { /* no size from the server: the position starts at 0, as it did */ }
  }
  return new SFTPFile(session, handle, path, { flags, size });
}

/**
 * An open remote file (from `sftp.open()`). Reads and writes take an offset,
 * or use and advance {@link SFTPFile.position}. Close it, or use `await using`.
 *
 * In append mode ("a", "a+", or SSH_FXF_APPEND bits) the server puts every write at the
 * end of the file, whatever offset it carries (OpenSSH's sftp-server opens the file
 * O_APPEND). So, as in AsyncSSH, the position starts at the file's size when opened, and
 * after each write (with or without an offset) it is the end of the file as this client
 * knows it: the size at open, plus the bytes it appended since, or the size its last
 * {@link SFTPFile.stat} reported (or a {@link SFTPFile.truncate} set) plus what it
 * appended after. Bytes another client appends meanwhile are not counted until a
 * `stat()`: AsyncSSH asks the server when `tell()` is called, but `position` is a plain
 * number. Reads use the position as in any mode: at the end they return nothing; set
 * `position` back (AsyncSSH's `seek()`) to read earlier bytes, or to
 * `(await f.stat()).size` to follow the file's real end.
 *
 * Once {@link SFTPFile.close} begins, nothing is sent with the handle again: the server
 * may give its id to the next file opened (OpenSSH's sftp-server does), so a request sent
 * with it later would read or write that other file. Streams from
 * {@link SFTPFile.readable} and {@link SFTPFile.writable} that are still in use then fail
 * with an SFTPError "The file is closed" (as `read()` and `write()` do), and close() waits
 * for the requests already sent before it sends CLOSE.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, MemoryBackend } from "../../mod.ts";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: (_user, password) => password === "pw",
 *   sftp: { backend: new MemoryBackend() },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null,
 * });
 * await using sftp = await conn.startSftp();
 * await using f = await sftp.open("notes.txt", "w+");
 * await f.write(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(await f.read(5, 0))); // "hello"
 * ```
 */
export class SFTPFile implements AsyncDisposable {
  readonly #s: SFTPSession;
  /**
   * The session as the pipelines see it: its requests go through {@link #request} (refused
   * once close() began, and counted until answered); everything else is the session's.
   */
  readonly #gated: SFTPSession;
  readonly #handle: Uint8Array;
  #closed = false;
  /** Requests sent with the handle and not yet answered. */
  #inFlight = 0;
  /** close() waiting for {@link #inFlight} to come down to 0. */
  #idle: (() => void)[] = [];
  /** Streams still using the handle: each errors (and stops sending) when called. */
  readonly #streams = new Set<() => void>();
  /** The path it was opened with. */
  readonly path: string;
  /**
   * Where reads and writes without an offset go; advanced by them. In append mode
   * writes go to the end of the file wherever this is, and leave it there (see above).
   */
  position = 0;
  /** Opened with SSH_FXF_APPEND: the server writes at the end whatever the offset. */
  readonly #append: boolean;
  /** In append mode: the end of the file as this client knows it. */
  #end = 0;

  /**
   * Wraps an open handle (use `sftp.open()`). `opened.flags` are the SSH_FXF_* bits it
   * was opened with, and `opened.size` the file's size then: with APPEND among the flags,
   * the position starts at that size and writes move it to the end.
   */
  constructor(
    session: SFTPSession,
    handle: Uint8Array,
    path: string,
    opened: { readonly flags?: number; readonly size?: number } = {},
  ) {
    this.#s = session;
    // Getters run on the session itself (they read its private fields), methods bound to it.
    this.#gated = new Proxy(session, {
      get: (target, key) => {
        if (key === "request") return this.#request;
        const v = Reflect.get(target, key, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    this.#handle = handle;
    this.path = path;
    this.#append = ((opened.flags ?? 0) & OpenFlags.APPEND) !== 0;
    if (this.#append) this.position = this.#end = byteCount(opened.size ?? 0, "size");
  }

  /** The server's handle bytes. */
  get handle(): Uint8Array {
    return this.#handle;
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Where an operation starts: `offset`, else the position; a RangeError unless a byte offset. */
  #start(offset: number | undefined, what = "offset"): number {
    return offset === undefined ? byteCount(this.position, "position") : byteCount(offset, what);
  }

  #check(): void {
    if (this.#closed) throw this.#closedError("use");
  }

  #closedError(operation: string): SFTPError {
    return new SFTPError(SFTPStatus.FAILURE, "The file is closed", {
      path: this.path,
      operation,
    });
  }

  /**
   * Every request of this file (its own and its streams' pipelines) goes out here: once
   * close() began it is refused, as a rejected promise ("The file is closed"), and nothing
   * is sent; otherwise it is counted until answered, so close() can wait for it before
   * sending CLOSE.
   */
  readonly #request = (req: SFTPRequest, signal?: AbortSignal): Promise<SFTPResult> => {
    if (this.#closed) return Promise.reject(this.#closedError(req.type));
    this.#inFlight++;
    // Sent without the signal: an abort ends the caller's wait, not the count (the request
    // is still the server's to answer before CLOSE).
    const sent = this.#s.request(req);
    const settled = () => {
      if (--this.#inFlight > 0) return;
      const w = this.#idle;
      this.#idle = [];
      for (const f of w) f();
    };
    sent.then(settled, settled);
    return untilAborted(sent, signal);
  };

  /**
   * Reads up to `length` bytes at `offset` (default: the position, which then
   * advances), pipelining requests for large reads. Returns fewer bytes at
   * end of file, and an empty array past it. Without `length`, reads to end of file
   * (whatever size the server reports: a file under /proc says 0).
   */
  async read(length?: number, offset?: number): Promise<Uint8Array> {
    this.#check();
    const start = this.#start(offset);
    if (length !== undefined && length !== Infinity) byteCount(length, "length");
    // Without a length: to end of file, the size the server reports only a hint (a file
    // under /proc says 0 and has content; one still being written grows).
    let size: number | undefined;
    if (length === undefined) {
      try {
        size = (await this.stat()).size;
      } catch { /* no size from the server: read to end of file without the hint */ }
    }
    if (length === 0) return new Uint8Array(0);
    const out = await readIntoBuffer(this.#gated, this.#handle, start, {
      requestSize: this.#s.readSize,
      maxRequests: this.#s.maxRequests,
      ...(length === undefined ? {} : { end: start + length }),
      ...(size === undefined ? {} : { sizeHint: size }),
    });
    if (offset === undefined) this.position = start + out.length;
    return out;
  }

  /**
   * Writes all of `data` at `offset` (default: the position, which then
   * advances), pipelining requests; resolves once the server acknowledged every
   * byte. Returns the byte count. In append mode the server writes at the end of the
   * file whatever the offset (without one, the end as this client knows it is sent),
   * and the position moves to the new end, as AsyncSSH's does.
   */
  async write(data: Uint8Array, offset?: number): Promise<number> {
    this.#check();
    const start = this.#append && offset === undefined ? this.#end : this.#start(offset);
    const pipe = new WritePipe(this.#gated, this.#handle, start, this.#s.maxRequests);
    const size = this.#s.writeSize;
    try {
      for (let o = 0; o < data.length; o += size) await pipe.push(data.subarray(o, o + size));
      await pipe.finish();
    } catch (e) {
      await pipe.drain();
      throw e;
    }
    if (this.#append) this.position = this.#end += data.length;
    else if (offset === undefined) this.position = start + data.length;
    return data.length;
  }

  /**
   * The file's attributes (fstat). In append mode the size it reports becomes the end
   * of the file the next write moves the position past.
   */
  async stat(): Promise<FileAttributes> {
    this.#check();
    const attrs =
      expectResult(await this.#request({ type: "fstat", handle: this.#handle }), "attrs")
        .attrs;
    if (this.#append && attrs.size !== undefined) this.#end = attrs.size;
    return attrs;
  }

  /** Changes attributes (fsetstat). */
  async setstat(attrs: FileAttributes): Promise<void> {
    this.#check();
    checkAttrs(attrs);
    expectResult(await this.#request({ type: "fsetstat", handle: this.#handle, attrs }), "ok");
    if (this.#append && attrs.size !== undefined) this.#end = attrs.size;
  }

  /** Changes the permission bits. */
  chmod(mode: number): Promise<void> {
    return this.setstat({ permissions: mode });
  }

  /** Changes owner and group. */
  chown(uid: number, gid: number): Promise<void> {
    return this.setstat({ uid, gid });
  }

  /** Sets access and modification times (Date or seconds since the epoch). */
  utime(atime: Date | number, mtime: Date | number): Promise<void> {
    return this.setstat({ atime: seconds(atime), mtime: seconds(mtime) });
  }

  /** Truncates or extends the file. */
  truncate(size = 0): Promise<void> {
    return this.setstat({ size });
  }

  /** Asks the server to flush the file to disk (fsync@openssh.com). */
  async fsync(): Promise<void> {
    this.#check();
    if (!this.#s.supports(Ext.FSYNC)) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, "The server has no fsync@openssh.com", {
        path: this.path,
        operation: "fsync",
      });
    }
    expectResult(await this.#request({ type: "fsync", handle: this.#handle }), "ok");
  }

  /** File system figures for the file's file system (fstatvfs@openssh.com). */
  async statvfs(): Promise<StatVFS> {
    this.#check();
    if (!this.#s.supports(Ext.FSTATVFS)) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, "The server has no fstatvfs@openssh.com", {
        path: this.path,
        operation: "fstatvfs",
      });
    }
    return expectResult(
      await this.#request({ type: "fstatvfs", handle: this.#handle }),
      "statvfs",
    ).statvfs;
  }

  /**
   * A ReadableStream of the file's bytes from `start` to `end` (or end of
   * file), in order, with pipelined requests; it pulls only as fast as it is
   * read. Cancelling it stops the reads. Without `start` it reads from the position
   * and moves it past each chunk it delivers, as `read()` without an offset does.
   *
   * It reads through the file's handle: close the file once the stream ended (or was
   * cancelled), not before. {@link close} errors a stream still reading with an SFTPError
   * "The file is closed" (so `await using f = …; return f.readable();` gives a stream that
   * fails at once); the bytes it had not yet delivered are dropped.
   */
  readable(options: FileReadableOptions = {}): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#check();
    const start = this.#start(options.start, "start");
    if (options.end !== undefined) byteCount(options.end, "end");
    const advance = options.start === undefined;
    const abort = new AbortController();
    const pieces = new Map<number, Uint8Array<ArrayBuffer>>();
    let next = start;
    let pulled: (() => void) | undefined;
    const highWater = this.#s.readSize * 4;
    const wakePull = () => {
      const p = pulled;
      pulled = undefined;
      p?.();
    };
    let stop: (() => void) | undefined;
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      start: (c) => {
        // close() of the file: no more reads (the pipeline's requests are refused too), and
        // the reader learns why.
        stop = () => {
          abort.abort(this.#closedError("read"));
          c.error(abort.signal.reason);
          pieces.clear();
          wakePull();
        };
        this.#streams.add(stop);
        void pipelinedRead(
          this.#gated,
          this.#handle,
          start,
          {
            requestSize: this.#s.readSize,
            maxRequests: this.#s.maxRequests,
            // Replies past a gap wait in `pieces`: never more than the requests in flight.
            window: this.#s.readSize * this.#s.maxRequests,
            signal: abort.signal,
            ...(options.end !== undefined ? { end: options.end } : {}),
          },
          async (off, data) => {
            if (abort.signal.aborted) return; // cancelled, or the file closed meanwhile
            // A reply's bytes are a view of the channel's (or the framer's own) buffer,
            // always an ArrayBuffer.
            pieces.set(off, data as Uint8Array<ArrayBuffer>);
            // A server that answers each READ with a few bytes fills the window with that
            // many pieces (a byte each: millions of objects); no server that means well does.
            if (pieces.size > MAX_PENDING_PIECES) {
              abort.abort();
              c.error(
                new SFTPError(
                  SFTPStatus.FAILURE,
                  `The server answered with over ${MAX_PENDING_PIECES} short reads ahead of ` +
                    "the data awaited (a few bytes per READ): reading stopped",
                  { path: this.path, operation: "read" },
                ),
              );
              pieces.clear();
              return;
            }
            for (let d; (d = pieces.get(next));) {
              pieces.delete(next);
              c.enqueue(d);
              next += d.length;
              if (advance) this.position = next;
            }
            while ((c.desiredSize ?? 1) <= 0 && !abort.signal.aborted) {
              await new Promise<void>((r) => (pulled = r));
            }
          },
        ).then((r) => {
          this.#streams.delete(stop!);
          if (abort.signal.aborted) return;
          if (r.error !== undefined) c.error(r.error);
          else c.close();
        });
      },
      pull: wakePull,
      cancel: () => {
        this.#streams.delete(stop!);
        abort.abort();
        wakePull();
      },
    }, { highWaterMark: highWater, size: (c) => c.byteLength });
  }

  /**
   * A WritableStream that writes from `start` (default: the position) with
   * pipelined requests. Closing it waits for every acknowledgement (the file
   * itself stays open). Without `start` it moves the position past each chunk
   * written, as `write()` without an offset does. In append mode the chunks go to the
   * end of the file whatever `start`, and the position follows that end, as `write()`'s.
   *
   * It writes through the file's handle: close the stream (and await that) before the
   * file. {@link close} of the file errors a writable still open, with an SFTPError "The
   * file is closed": chunks it had not yet sent are not written, and its writer's pending
   * and later `write()` and `close()` reject (its `closed` with that error), so a writer
   * never takes data as saved that was not, rather than lose it without a word. The writes
   * already sent are waited for by the file's close(); a stream whose own close already
   * began (everything handed on) finishes normally.
   */
  writable(options: { readonly start?: number } = {}): WritableStream<Uint8Array> {
    this.#check();
    const from = this.#append && options.start === undefined
      ? this.#end
      : this.#start(options.start, "start");
    const advance = options.start === undefined;
    const size = this.#s.writeSize;
    let pipe!: WritePipe;
    let stop: (() => void) | undefined;
    // Aborts with the stream (the controller's signal) or when the file closes: a write
    // waiting for the server's answer stops at once rather than hold either up.
    const halt = new AbortController();
    return new WritableStream<Uint8Array>({
      start: (c) => {
        c.signal.addEventListener("abort", () => halt.abort(c.signal.reason), { once: true });
        pipe = new WritePipe(this.#gated, this.#handle, from, this.#s.maxRequests, halt.signal);
        stop = () => {
          const e = this.#closedError("write");
          c.error(e);
          halt.abort(e);
        };
        this.#streams.add(stop);
      },
      write: async (chunk) => {
        // Copied: the caller may reuse its buffer once write() resolves.
        for (let o = 0; o < chunk.length; o += size) await pipe.push(chunk.slice(o, o + size));
        if (this.#append) this.position = this.#end += chunk.length;
        else if (advance) this.position = pipe.offset;
      },
      // Everything was handed on: a close() of the file now waits for it rather than fail it.
      close: () => {
        this.#streams.delete(stop!);
        return pipe.finish();
      },
      // Writes in flight are answered (or fail) later; a server that stopped answering must
      // not hold the abort up (the pipe does not wait once its signal aborted).
      abort: () => {
        this.#streams.delete(stop!);
        return pipe.drain();
      },
    });
  }

  /**
   * Closes the handle (again is a no-op). From the moment it is called nothing more is sent
   * with the handle, whose id the server may give to the next file opened: `read()`,
   * `write()` and the rest fail with an SFTPError "The file is closed", and so do the
   * streams from {@link readable} and {@link writable} still in use (a writable's chunks
   * not yet sent are not written, and its writer is told). Requests already sent are
   * waited for before CLOSE goes out.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const stop of this.#streams) stop();
    this.#streams.clear();
    try {
      while (this.#inFlight > 0) await new Promise<void>((r) => this.#idle.push(r));
      if (this.#s.closed) return;
      expectResult(await this.#s.request({ type: "close", handle: this.#handle }), "ok");
    } finally {
      this.#s.handleSlots.unhold();
    }
  }

  /** Closes the handle. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.close();
    } catch { /* the session may be gone already */ }
  }
}

/**
 * `n` when it is a byte offset or count (a whole number from 0 up to 2^53 - 1), else a
 * RangeError naming `what`: a fraction or a negative number would be sent as some other
 * offset, or as a request no packet can carry.
 */
export function byteCount(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a whole number of bytes from 0, not ${n}`);
  }
  return n;
}

/**
 * Refuses attributes the protocol cannot carry as given, before anything is sent: SFTP
 * encodes ids, permission bits and times as 32-bit unsigned numbers, so -1 would become
 * 0xffffffff (`chmod(-1)` setting every bit, setuid among them) and NaN or a date before
 * 1970 would become some other time.
 *
 * @example
 * ```ts
 * import { checkAttrs } from "./file.ts";
 * checkAttrs({ permissions: 0o644, mtime: 1700000000, atime: 1700000000 }); // fine
 * try {
 *   checkAttrs({ permissions: -1 });
 * } catch (e) {
 *   console.log((e as Error).name); // "RangeError"
 * }
 * ```
 */
export function checkAttrs(a: FileAttributes): void {
  const u32 = (v: number | undefined, what: string) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new RangeError(`${what} must be a whole number from 0 to 4294967295, not ${v}`);
    }
  };
  u32(a.permissions, "permissions");
  u32(a.uid, "uid");
  u32(a.gid, "gid");
  // Times are floored (as seconds() does), so only their range is checked.
  u32(a.atime === undefined ? undefined : Math.floor(a.atime), "atime (seconds since 1970)");
  u32(a.mtime === undefined ? undefined : Math.floor(a.mtime), "mtime (seconds since 1970)");
  if (a.size !== undefined) byteCount(a.size, "size");
}

/** Seconds since the epoch from a Date or a number of seconds. */
export function seconds(t: Date | number): number {
  return typeof t === "number" ? Math.floor(t) : Math.floor(t.getTime() / 1000);
}
