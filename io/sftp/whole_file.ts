/**
 * A remote file read into memory or written from it in one call
 * (`sftp.readFile()`, `sftp.writeFile()`, `sftp.appendFile()`, as `node:fs/promises`
 * has them), pipelined as transfers are. A read goes to end of file whatever size the
 * server reported (a file under /proc says 0), bounded by `maxBytes` when given.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { escapeControls } from "../../core/peer_text.ts";
import { OpenFlags } from "../../sftp/constants.ts";
import { abortError } from "../engine/errors.ts";
import { readIntoBuffer, WritePipe } from "./pipeline.ts";
import { closeRemote, openRemote } from "./transfer.ts";
import { expectResult, type SFTPSession } from "./session.ts";

/**
 * `sftp.readFile()` found the file larger than its `maxBytes` (code `ERR_READ_LIMIT`, as
 * the other limits on what a peer may make us hold); nothing more was read.
 *
 * @example
 * ```ts ignore
 * try {
 *   await sftp.readFile("/var/log/huge.log", { maxBytes: 1 << 20 });
 * } catch (e) {
 *   if (e instanceof FileSizeLimitError) console.log(`${e.path} is over ${e.limit} bytes`);
 * }
 * ```
 */
export class FileSizeLimitError extends SSHError {
  /** The remote file. */
  readonly path: string;
  /** The `maxBytes` it went past. */
  readonly limit: number;

  /** Creates the error. */
  constructor(path: string, limit: number) {
    super(
      "ERR_READ_LIMIT",
      `readFile "${escapeControls(path)}": the file holds more than maxBytes (${limit} bytes)`,
    );
    this.name = "FileSizeLimitError";
    this.path = path;
    this.limit = limit;
  }
}

/**
 * Options of `sftp.readFile()`.
 *
 * @example
 * ```ts
 * import type { ReadFileOptions } from "./whole_file.ts";
 * const o: ReadFileOptions = { maxBytes: 1 << 20, signal: AbortSignal.timeout(10_000) };
 * ```
 */
export interface ReadFileOptions {
  /**
   * Fail with a {@link FileSizeLimitError} (and read no further) when the file holds more
   * than this many bytes. Default: no limit — the file is held in memory whatever its size.
   */
  readonly maxBytes?: number;
  /** Stops the read (the promise rejects with the signal's reason). */
  readonly signal?: AbortSignal;
  /**
   * Decode the bytes as UTF-8 and resolve with a string (bad bytes become U+FFFD; a
   * byte-order mark at the start is kept, as `node:fs` keeps it).
   */
  readonly encoding?: "utf-8" | "utf8";
}

/**
 * Options of `sftp.writeFile()` and `sftp.appendFile()`.
 *
 * @example
 * ```ts
 * import type { WriteFileOptions } from "./whole_file.ts";
 * const o: WriteFileOptions = { mode: 0o600, flag: "wx" }; // fail if it exists
 * ```
 */
export interface WriteFileOptions {
  /** Permissions of a file the write creates (default: the server's, 0666 less its umask). */
  readonly mode?: number;
  /**
   * "w" (default) creates or truncates; "wx" creates and fails if the file exists;
   * "a" creates or appends (what `appendFile` uses).
   */
  readonly flag?: "w" | "wx" | "a";
  /** Stops the write (the promise rejects with the signal's reason; the file may be cut). */
  readonly signal?: AbortSignal;
}

const OPEN_FLAGS: Record<NonNullable<WriteFileOptions["flag"]>, number> = {
  w: OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC,
  wx: OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.EXCL,
  a: OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.APPEND,
};

/** The size the server reports for an open file; undefined when it gives none. */
async function sizeOf(
  s: SFTPSession,
  handle: Uint8Array,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  try {
    return expectResult(await s.request({ type: "fstat", handle }, signal), "attrs").attrs.size;
  } catch (e) {
    if (signal?.aborted) throw e;
    return undefined;
  }
}

/**
 * Reads the whole of `path`.
 *
 * @example
 * ```ts ignore
 * const bytes = await readWholeFile(session, "/etc/hostname", { maxBytes: 4096 });
 * ```
 */
export async function readWholeFile(
  s: SFTPSession,
  path: string,
  o: ReadFileOptions = {},
): Promise<Uint8Array> {
  const max = o.maxBytes ?? Infinity;
  if (!(max >= 0) || (max !== Infinity && !Number.isSafeInteger(max))) {
    throw new RangeError(`maxBytes must be a whole number of bytes, not ${o.maxBytes}`);
  }
  o.signal?.throwIfAborted();
  const handle = await openRemote(s, path, OpenFlags.READ, {}, o.signal);
  try {
    const sizeHint = await sizeOf(s, handle, o.signal); // only a hint: read to end of file
    const out = await readIntoBuffer(s, handle, 0, {
      requestSize: s.readSize,
      maxRequests: s.maxRequests,
      // One byte past the limit tells a file over it from one exactly at it.
      ...(max === Infinity ? {} : { end: max + 1 }),
      ...(sizeHint === undefined ? {} : { sizeHint }),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (out.length > max) throw new FileSizeLimitError(path, max);
    return out;
  } finally {
    await closeRemote(s, handle, o.signal);
  }
}

/**
 * Writes `data` to `path` (created, truncated, or appended to as `flag` says); resolves
 * once the server acknowledged every byte and the close.
 *
 * @example
 * ```ts ignore
 * await writeWholeFile(session, "/tmp/motd", new TextEncoder().encode("hi\n"), { mode: 0o644 });
 * ```
 */
export async function writeWholeFile(
  s: SFTPSession,
  path: string,
  data: Uint8Array | string,
  o: WriteFileOptions = {},
): Promise<void> {
  const flag = o.flag ?? "w";
  if (!Object.hasOwn(OPEN_FLAGS, flag)) {
    throw new RangeError(`flag must be "w", "wx" or "a", not ${String(flag)}`);
  }
  const flags = OPEN_FLAGS[flag];
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  o.signal?.throwIfAborted();
  const attrs = o.mode === undefined ? {} : { permissions: o.mode & 0o7777 };
  const handle = await openRemote(s, path, flags, attrs, o.signal);
  let written = false;
  try {
    // Appends go one at a time: each lands at the end as it is then. They are also sent at
    // the size the file had, for a server that ignores SSH_FXF_APPEND (as ssh2 does).
    const start = flag === "a" ? (await sizeOf(s, handle, o.signal)) ?? 0 : 0;
    const pipe = new WritePipe(s, handle, start, flag === "a" ? 1 : s.maxRequests, o.signal);
    try {
      for (let at = 0; at < bytes.length; at += s.writeSize) {
        await pipe.push(bytes.subarray(at, at + s.writeSize));
      }
      await pipe.finish();
    } catch (e) {
      await pipe.drain();
      throw o.signal?.aborted ? abortError(o.signal) : e;
    }
    written = true;
  } finally {
    await closeRemote(s, handle, o.signal, written);
  }
}
