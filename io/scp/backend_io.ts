/**
 * SCP on the SFTP backend interface: {@link BackendTarget} writes what a sink
 * receives into an {@link SFTPBackend} (the jailed FsBackend on a server, an
 * unjailed one for local files on a client), and {@link sendPath} walks a
 * backend to feed an {@link SCPSender}. There is no second file-system layer:
 * path resolution, the jail and symlink-escape refusal are the backend's.
 *
 * @module
 */

import {
  type FileAttributes,
  isDirectory,
  isRegularFile,
  isSymbolicLink,
} from "../../sftp/attrs.ts";
import type { SFTPBackend } from "../../sftp/backend.ts";
import { OpenFlags } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import {
  basename,
  expandGlob,
  type GlobBudget,
  hasGlob,
  joinPath,
  unescapeGlob,
} from "../../sftp/path.ts";
import { checkName, MAX_DEPTH, SCPError, type SCPTimes } from "../../sftp/scp/records.ts";
import type { SCPSender } from "./sender.ts";
import type { SinkFile, SinkTarget } from "./sink.ts";

/**
 * Backend errors as short texts for SCP warnings (the SFTP status text, without the
 * request). Anything else is "Failure", as the SFTP server answers it: a server's warning
 * goes to the client, and a raw error's text can name host paths.
 */
function why(e: unknown, path: string): string {
  if (e instanceof SFTPError) return `${path}: ${e.peerMessage || e.message}`;
  if (e instanceof SCPError) return e.message;
  return `${path}: Failure`;
}

/** Received data is written in pieces of this size (two buffers per file being received). */
const WRITE_BUFFER = 1024 * 1024;
/** The first size of a file's write buffers (they double up to WRITE_BUFFER as data comes). */
const FIRST_WRITE_BUFFER = 64 * 1024;
const EMPTY = new Uint8Array(0);

/** Options of {@link BackendTarget}. */
export interface BackendTargetOptions {
  /** Apply the peer's times and modes (`-p`). */
  readonly preserve?: boolean;
  /** The target must be an existing directory (`-d`, or several sources). */
  readonly targetIsDirectory?: boolean;
  /** Called when a file is complete (its path and size). */
  readonly onFile?: (path: string, size: number) => void;
}

interface OpenDir {
  readonly path: string;
  readonly mode: number;
  readonly times: SCPTimes | undefined;
  readonly created: boolean;
}

/**
 * Writes received files under `dest` in a backend. `dest` is a directory
 * (names go inside it) or the name of the one file or directory to create.
 * The target directory's own mode and times are never changed
 * (CVE-2018-20685); modes on directories are applied only to directories
 * this transfer created; setuid, setgid and sticky bits are dropped. A file
 * cut mid-way is removed only when it is a regular file this transfer created
 * or truncated; one written through a symbolic link is emptied (the link
 * stays); a device, FIFO or socket is neither truncated nor removed, and
 * keeps its own mode and times.
 *
 * @example
 * ```ts ignore
 * const target = await BackendTarget.open(backend, "/incoming", { preserve: true });
 * await runSink(stream, target, { recurse: true });
 * ```
 */
export class BackendTarget<H> implements SinkTarget {
  /** File writes copy the bytes into the file's own buffers before they resolve. */
  readonly copiesData = true;
  readonly #b: SFTPBackend<H>;
  readonly #dest: string;
  readonly #isDir: boolean;
  readonly #o: BackendTargetOptions;
  readonly #stack: OpenDir[] = [];
  #topTaken = false;

  private constructor(b: SFTPBackend<H>, dest: string, isDir: boolean, o: BackendTargetOptions) {
    this.#b = b;
    this.#dest = dest;
    this.#isDir = isDir;
    this.#o = o;
  }

  /** Looks at `dest` and returns a target for it. */
  static async open<H>(
    backend: SFTPBackend<H>,
    dest: string,
    options: BackendTargetOptions = {},
  ): Promise<BackendTarget<H>> {
    let attrs: FileAttributes | undefined;
    try {
      attrs = await backend.stat(dest);
    } catch (e) {
      if (!(e instanceof SFTPError && e.notFound)) {
        throw new SCPError(why(e, dest), { reason: "local", path: dest, cause: e });
      }
    }
    const isDir = attrs !== undefined && isDirectory(attrs);
    // "dest/" names a directory, as open(2) reads it: never a file of that name, existing or
    // made (OpenSSH's scp -t fails there: "Is a directory" or "Not a directory").
    if ((options.targetIsDirectory || /\/$/.test(dest)) && !isDir) {
      throw new SCPError(`${dest}: Not a directory`, { reason: "usage", path: dest });
    }
    return new BackendTarget(backend, dest, isDir, options);
  }

  /** Whether the destination is an existing directory. */
  get isDirectory(): boolean {
    return this.#isDir;
  }

  #top(name: string): string {
    if (this.#isDir) return joinPath(this.#dest, name);
    if (this.#topTaken) {
      throw new SCPError(`${this.#dest}: Not a directory (a second item arrived for it)`, {
        reason: "usage",
        path: this.#dest,
      });
    }
    this.#topTaken = true;
    return this.#dest;
  }

  #pathFor(dirs: readonly string[], name: string): string {
    if (dirs.length === 0) return this.#top(name);
    return joinPath(this.#stack[this.#stack.length - 1]!.path, name);
  }

  async enterDir(
    dirs: readonly string[],
    name: string,
    mode: number,
    times: SCPTimes | undefined,
  ): Promise<void> {
    const path = this.#pathFor(dirs, name);
    let created = false;
    try {
      const st = await this.#b.lstat(path).catch((e) => {
        if (e instanceof SFTPError && e.notFound) return undefined;
        throw e;
      });
      if (st && !isDirectory(st)) {
        // A symlink to a directory is entered as the directory (the backend keeps it in the jail).
        const followed = await this.#b.stat(path);
        if (!isDirectory(followed)) {
          throw new SCPError(`${path}: Not a directory`, { reason: "local", path });
        }
      }
      if (!st) {
        await this.#b.mkdir(path, { permissions: (mode & 0o777) | 0o700 });
        created = true;
      }
    } catch (e) {
      throw new SCPError(why(e, path), { reason: "local", path, cause: e });
    }
    this.#stack.push({ path, mode, times, created });
  }

  async leaveDir(): Promise<void> {
    const d = this.#stack.pop();
    // A directory made with owner rwx added (so that its files could be written) gets the
    // mode it was sent with once they are in, as OpenSSH's scp does even without -p.
    const widened = d?.created === true && (d.mode & 0o700) !== 0o700;
    if (!d || (!this.#o.preserve && !widened)) return;
    try {
      const attrs: { permissions?: number; atime?: number; mtime?: number } = {};
      if (d.created) attrs.permissions = d.mode & 0o777;
      if (d.times && this.#o.preserve) {
        attrs.atime = d.times.atime;
        attrs.mtime = d.times.mtime;
      }
      if (Object.keys(attrs).length > 0) await this.#b.setstat(d.path, attrs);
    } catch (e) {
      throw new SCPError(why(e, d.path), { reason: "local", path: d.path, cause: e });
    }
  }

  /**
   * What is at `path` before a file is written there: nothing (`new`), a regular file
   * (`file`), a symbolic link to one (`link`: written through, the link itself is never
   * removed), or a device, FIFO or socket (`special`, or a link to one).
   */
  async #kindAt(path: string): Promise<"new" | "file" | "link" | "special"> {
    let st: FileAttributes;
    try {
      st = await this.#b.lstat(path);
    } catch (e) {
      if (e instanceof SFTPError && e.notFound) return "new";
      throw new SCPError(why(e, path), { reason: "local", path, cause: e });
    }
    if (st.permissions === undefined || isRegularFile(st) || isDirectory(st)) return "file";
    if (!isSymbolicLink(st)) return "special";
    // A dangling link or a directory: the open refuses it.
    const to = await this.#b.stat(path).catch(() => undefined);
    if (to === undefined || to.permissions === undefined) return "link";
    return isRegularFile(to) || isDirectory(to) ? "link" : "special";
  }

  async openFile(
    dirs: readonly string[],
    name: string,
    mode: number,
    size: number,
    times: SCPTimes | undefined,
  ): Promise<SinkFile> {
    const path = this.#pathFor(dirs, name);
    const b = this.#b;
    // What is there decides what opening may truncate and what a failure may undo.
    const kind = await this.#kindAt(path);
    let h: H;
    try {
      // A device, FIFO or socket is written as it is, never truncated (OpenSSH truncates
      // only regular files).
      const flags = OpenFlags.WRITE | OpenFlags.CREAT |
        (kind === "special" ? 0 : OpenFlags.TRUNC);
      h = await b.open(path, flags, { permissions: mode & 0o777 });
    } catch (e) {
      throw new SCPError(why(e, path), { reason: "local", path, cause: e });
    }
    // What was opened, in case the path changed since the look (a regular file is assumed
    // when the backend cannot say: it was opened to be created or truncated).
    const opened = await b.fstat(h).catch(() => undefined);
    const regular = kind !== "special" && (opened === undefined || isRegularFile(opened) ||
      opened.permissions === undefined);
    // Data arrives in channel-packet pieces: gather them into big writes, one in flight
    // while the next buffer fills. The buffers grow as data arrives, never ahead of it: a C
    // record alone (an idle `scp -t`) must not hold 2 MiB.
    const bufSize = Math.min(WRITE_BUFFER, Math.max(size, 1));
    const bufs = [EMPTY, EMPTY];
    /** The current buffer, grown (at most to bufSize) to take `n` more bytes. */
    const room = (n: number): Uint8Array => {
      const buf = bufs[cur]!;
      if (buf.length - fill >= n) return buf;
      const grown = new Uint8Array(
        Math.min(bufSize, Math.max(buf.length * 2, fill + n, FIRST_WRITE_BUFFER)),
      );
      grown.set(buf.subarray(0, fill));
      bufs[cur] = grown;
      return grown;
    };
    let cur = 0;
    let fill = 0;
    let offset = 0;
    let pending: Promise<void> | undefined;
    const flush = async () => {
      if (fill === 0) return;
      const data = bufs[cur]!.subarray(0, fill);
      const at = offset;
      offset += fill;
      await pending;
      pending = b.write(h, at, data);
      // Observed now, thrown by the next flush or by finish(): a write that fails while the
      // sink waits for more data must not be an unhandled rejection (it ended the process).
      pending.catch(() => {});
      cur ^= 1;
      fill = 0;
    };
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await b.close(h);
    };
    const o = this.#o;
    return {
      path,
      write: async (data) => {
        let off = 0;
        try {
          while (off < data.length) {
            const n = Math.min(bufSize - fill, data.length - off);
            room(n).set(data.subarray(off, off + n), fill);
            fill += n;
            off += n;
            if (fill === bufSize) await flush();
          }
        } catch (e) {
          throw new SCPError(why(e, path), { reason: "local", path, cause: e });
        }
      },
      finish: async () => {
        try {
          await flush();
          await pending;
          // A device, FIFO or socket keeps its own mode and times.
          if (o.preserve && regular) {
            await b.fsetstat(h, {
              permissions: mode & 0o777,
              ...(times ? { atime: times.atime, mtime: times.mtime } : {}),
            });
          }
          await close();
        } catch (e) {
          await close().catch(() => {});
          throw new SCPError(why(e, path), { reason: "local", path, cause: e });
        }
        o.onFile?.(path, size);
      },
      abort: async () => {
        await pending?.catch(() => {});
        if (!regular) {
          // Never unlink a device, FIFO or socket (a destination like /dev/null).
          await close().catch(() => {});
          return "left";
        }
        if (kind !== "link") {
          const now = await b.lstat(path).catch(() => undefined);
          if (now !== undefined && isRegularFile(now)) {
            // A file this transfer created or truncated: it holds nothing but the part received.
            await close().catch(() => {});
            await b.remove(path);
            return "removed";
          }
        }
        // Written through a symbolic link (or what is at the path changed meanwhile): the
        // link stays, and the file written, which holds only the part received, is emptied
        // through the handle.
        try {
          await b.fsetstat(h, { size: 0 });
        } finally {
          await close().catch(() => {});
        }
        return "emptied";
      },
    };
  }
}

/** Options of {@link sendPath}. */
export interface SendPathOptions {
  /** Send directories and their contents. */
  readonly recurse: boolean;
  /** Send times (T records). */
  readonly preserve: boolean;
  /** Stops the transfer. */
  readonly signal?: AbortSignal | undefined;
  /** Bytes sent and total of the file at `path`. */
  readonly onProgress?: ((done: number, total: number, path: string) => void) | undefined;
  /**
   * Called with each item skipped because the backend failed on it (the warning sent, and
   * the backend's error): a client sending its own files reports these as its own.
   */
  readonly onSkipped?: ((message: string, cause: unknown, path: string) => void) | undefined;
}

/** Warns the sink of an item the backend failed on, and tells the caller. */
async function skip(
  tx: SCPSender,
  o: SendPathOptions,
  path: string,
  cause: unknown,
): Promise<void> {
  const message = why(cause, path);
  o.onSkipped?.(message, cause, path);
  return await tx.warn(message);
}

function sendableName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

/** Read size per request to the backend. */
const READ_CHUNK = 255 * 1024;

function timesOf(a: FileAttributes): SCPTimes | undefined {
  return a.mtime !== undefined && a.atime !== undefined
    ? { mtime: a.mtime, atime: a.atime }
    : undefined;
}

/**
 * Sends `path` (a file, or a directory tree with `recurse`) from a backend.
 * Items that cannot be sent are reported to the sink as warnings and
 * skipped, as OpenSSH's scp does; but a file that fails once its data
 * started (a read error, a file that shrank) rejects with an SCPError
 * (`local`) and the caller must end the transfer (close the channel), so
 * that the sink keeps no zero-padded copy of the announced size.
 *
 * @example
 * ```ts ignore
 * await sendPath(sender, backend, "/srv/data", { recurse: true, preserve: false });
 * ```
 */
export async function sendPath<H>(
  tx: SCPSender,
  b: SFTPBackend<H>,
  path: string,
  o: SendPathOptions,
  depth = 0,
): Promise<void> {
  o.signal?.throwIfAborted();
  const name = basename(path);
  let attrs: FileAttributes;
  try {
    attrs = await b.stat(path);
  } catch (e) {
    return await skip(tx, o, path, e);
  }
  const times = o.preserve ? timesOf(attrs) : undefined;
  const mode = (attrs.permissions ?? 0o644) & 0o7777;
  // What a sink refuses (ours as OpenSSH's for "\n", ".." or "/"; ours also for control
  // characters and names over 255 bytes) is skipped with a warning, as OpenSSH's scp skips
  // a name with "\n": sent, it would end the whole transfer.
  if (!sendableName(name)) return await tx.warn(`${path}: Cannot send this name`);
  if (isDirectory(attrs)) {
    if (!o.recurse) return await tx.warn(`${path}: not a regular file`);
    if (depth >= MAX_DEPTH) return await tx.warn(`${path}: Directories nested too deep`);
    let entries: string[] = [];
    try {
      const h = await b.opendir(path);
      try {
        for (;;) {
          const batch = await b.readdir(h);
          if (!batch) break;
          for (const e of batch) {
            if (e.filename !== "." && e.filename !== "..") entries.push(e.filename);
          }
        }
      } finally {
        await b.close(h);
      }
    } catch (e) {
      return await skip(tx, o, path, e);
    }
    entries = entries.sort();
    if (!(await tx.dir(name, mode, times))) return;
    for (const e of entries) await sendPath(tx, b, joinPath(path, e), o, depth + 1);
    await tx.end();
    return;
  }
  if (!isRegularFile(attrs)) return await tx.warn(`${path}: not a regular file`);
  let h: H;
  try {
    h = await b.open(path, OpenFlags.READ, {});
  } catch (e) {
    return await skip(tx, o, path, e);
  }
  try {
    const size = attrs.size ?? 0;
    if (!(await tx.beginFile(name, mode, size, times))) return;
    let off = 0;
    let error: string | undefined;
    let readError: unknown;
    o.onProgress?.(0, size, path);
    // One read ahead: the next piece comes off the disk while this one goes out.
    const read = (at: number) =>
      b.read(h, at, Math.min(READ_CHUNK, size - at)).then(
        (c) => ({ c, e: undefined as unknown }),
        (e: unknown) => ({ c: null, e }),
      );
    let next = size > 0 ? read(0) : undefined;
    while (off < size) {
      // An abort ends the whole transfer at once (the caller closes the channel): padding
      // the rest of a big file with zeros to keep the protocol in step would take as long
      // as sending it.
      o.signal?.throwIfAborted();
      const { c: chunk, e } = await next!;
      if (e !== undefined) {
        error = why(e, path);
        readError = e;
        break;
      }
      if (chunk === null || chunk.length === 0) {
        error = `${path}: File shrank while it was sent`;
        break;
      }
      const piece = chunk.length > size - off ? chunk.subarray(0, size - off) : chunk;
      off += piece.length;
      next = off < size ? read(off) : undefined;
      await tx.data(piece);
      b.release?.(chunk);
      o.onProgress?.(off, size, path);
    }
    if (next) {
      const { c } = await next;
      if (c) b.release?.(c);
    }
    if (error !== undefined) {
      // Not padded out with zeros to the announced size, as OpenSSH's scp does: its sink
      // keeps such a file (the warning that follows only prints), a copy of the full size
      // that looks complete. The caller ends the transfer here instead (closing the channel),
      // and the sink is left with a short file, or none.
      throw new SCPError(
        `${error} (after ${off} of ${size} bytes); the transfer was cut there, so that no ` +
          "copy of the announced size is left",
        { reason: "local", path, cause: readError },
      );
    }
    await tx.endFile();
    o.signal?.throwIfAborted();
  } finally {
    await b.close(h).catch(() => {});
  }
}

/**
 * Expands a server-side `scp -f` path: glob characters the client left
 * unquoted match names in the backend; a path without them is taken as is.
 * Rejects with an SFTPError ("Too many matches") over the limits of
 * {@link expandGlob} (held to `budget` when one command's patterns share it),
 * and with `signal`'s reason once it is aborted (the channel closed).
 *
 * @example
 * ```ts ignore
 * for (const p of await expandSource(backend, "logs/*.gz")) await sendPath(tx, backend, p, o);
 * ```
 */
export async function expandSource<H>(
  b: SFTPBackend<H>,
  pattern: string,
  signal?: AbortSignal,
  budget?: GlobBudget,
): Promise<string[]> {
  if (!hasGlob(pattern)) return [unescapeGlob(pattern)];
  return await expandGlob(pattern, {
    readdir: async (dir) => {
      let h: H;
      try {
        h = await b.opendir(dir);
      } catch {
        return null;
      }
      // Read batch by batch, as far as the expansion wants; leaving the loop closes the handle.
      return (async function* () {
        try {
          for (;;) {
            const batch = await b.readdir(h).catch(() => null);
            if (!batch) return;
            for (const e of batch) yield e.filename;
          }
        } finally {
          await b.close(h).catch(() => {});
        }
      })();
    },
    exists: async (p) => {
      try {
        await b.lstat(p);
        return true;
      } catch {
        return false;
      }
    },
  }, { signal, budget });
}
