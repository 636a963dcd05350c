/**
 * File transfers: get (remote to local), put (local to remote) and copy
 * (remote to remote, with `copy-data` when the server has it), one file or a
 * tree. Local files go through `node:fs/promises`, which Deno, Node and Bun
 * all provide.
 *
 * @module
 */

import type * as fsp from "node:fs/promises";
import process from "node:process";
import {
  type FileAttributes,
  isDirectory,
  isRegularFile,
  isSymbolicLink,
} from "../../sftp/attrs.ts";
import { Ext, OpenFlags, SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { escapeControls } from "../../core/peer_text.ts";
import { basename, dirname, isAtOrBelow, joinPath, unsafeEntryName } from "../../sftp/path.ts";
import { sanitize } from "../../sftp/scp/records.ts";
import { BufferPool } from "../../sftp/buffer_pool.ts";
import { currentRuntime, readAllowed } from "../runtime/env.ts";
import { hostFs, hostPathLib } from "../runtime/host_fs.ts";
import { pipelinedRead, WritePipe } from "./pipeline.ts";
import { expectResult, type SFTPSession } from "./session.ts";
import { untilAborted } from "../engine/errors.ts";
import type { NameEntry } from "../../sftp/messages.ts";
import { FILES_AT_ONCE, Lanes, SMALL_FILE_BYTES } from "./lanes.ts";

/**
 * Called as a file's bytes move: bytes done and total for that file (total is
 * the source size, 0 when unknown), and the two paths.
 */
export type ProgressHandler = (bytesDone: number, total: number, src: string, dst: string) => void;

/**
 * Options of `get`, `put`, `copy` and their `m*` forms.
 *
 * @example
 * ```ts
 * import type { TransferOptions } from "./transfer.ts";
 * const ac = new AbortController();
 * const options: TransferOptions = {
 *   recurse: true, preserve: true, resume: true, signal: ac.signal,
 *   onProgress: (done, total, src) => console.log(src, done, "/", total),
 * };
 * // await sftp.get("/data", "./data", options);
 * ```
 */
export interface TransferOptions {
  /** Copy directories and everything in them (without it, a directory is an error). */
  readonly recurse?: boolean;
  /** Copy modification and access times and permission bits. */
  readonly preserve?: boolean;
  /** Copy what symlinks point to (default true); false copies the links themselves. */
  readonly followSymlinks?: boolean;
  /** Continue where an earlier transfer stopped: start at the target's current size. */
  readonly resume?: boolean;
  /** Progress per file. */
  readonly onProgress?: ProgressHandler;
  /** Stops the transfer: requests in flight drain, the target keeps its whole prefix. */
  readonly signal?: AbortSignal;
  /**
   * Called when one file, link or directory of the transfer fails (AsyncSSH's
   * `error_handler`): return to skip it and go on with the rest, throw to stop the whole
   * transfer with that error. Without it the first error stops the transfer. Never called
   * for an abort through `signal`.
   */
  readonly errorHandler?: (error: Error, path: string) => void | Promise<void>;
  /**
   * Bytes per read or write request, at most the session's (`startSftp({ requestSize })` or
   * the server's `limits@openssh.com`); default the session's.
   */
  readonly blockSize?: number;
  /** Requests in flight per file; default the session's (`startSftp({ maxRequests })`). */
  readonly maxRequests?: number;
}

/** Errors already given to an `errorHandler` (which threw them on): not given again. */
const handled = new WeakSet<object>();

/**
 * Runs one item of a transfer; with an `errorHandler`, its failure goes there (and the item is
 * skipped) unless the transfer was aborted or the handler throws.
 *
 * @example
 * ```ts ignore
 * await item(o, "/srv/a.txt", () => getAny(r, "/srv/a.txt", "./a.txt", attrs, o, 0));
 * ```
 */
export async function item(
  o: TransferOptions,
  path: string,
  run: () => Promise<void>,
): Promise<void> {
  const onError = o.errorHandler;
  if (!onError) return await run();
  try {
    await run();
  } catch (e) {
    if (o.signal?.aborted || (typeof e === "object" && e !== null && handled.has(e))) throw e;
    const error = e instanceof Error ? e : new Error(String(e));
    try {
      await onError(error, path);
    } catch (thrown) {
      if (typeof thrown === "object" && thrown !== null) handled.add(thrown);
      throw thrown;
    }
  }
}

/** Bytes per request for this transfer: `blockSize`, never above what the session allows. */
/**
 * `o` with an `onProgress` that never goes back: a transfer retried one request at a time
 * (see `SFTPSession.fallBackToSequential`) starts again from the part it knows is whole,
 * below what it had reported; the figure then holds until the retry passes it.
 */
function withForwardProgress(o: TransferOptions): TransferOptions {
  const onProgress = o.onProgress;
  if (!onProgress) return o;
  let reported = -1;
  return {
    ...o,
    onProgress: (done, total, src, dst) => {
      if (done <= reported) return;
      reported = done;
      onProgress(done, total, src, dst);
    },
  };
}

function requestSize(sessionSize: number, o: TransferOptions): number {
  const n = o.blockSize;
  if (n === undefined) return sessionSize;
  if (!(n >= 1)) throw new RangeError("blockSize must be a positive number of bytes");
  return Math.min(Math.floor(n), sessionSize);
}

/** Requests in flight for this transfer (1 once the session fell back to one at a time). */
function requestsInFlight(s: SFTPSession, o: TransferOptions): number {
  const n = o.maxRequests;
  if (n === undefined || s.sequential) return s.maxRequests;
  if (!(n >= 1)) throw new RangeError("maxRequests must be at least 1");
  return Math.floor(n);
}

/**
 * The remote operations transfers need (the SFTPClient provides them).
 *
 * @example
 * ```ts ignore
 * await get(ops, "/var/log/syslog", "./syslog", { preserve: true });
 * ```
 */
export interface RemoteOps {
  /** The session requests go through. */
  readonly session: SFTPSession;
  /** Attributes, following symlinks. */
  stat(path: string): Promise<FileAttributes>;
  /** Attributes of the path itself. */
  lstat(path: string): Promise<FileAttributes>;
  /** A symlink's target. */
  readlink(path: string): Promise<string>;
  /** Creates a symlink at `link` to `target`. */
  symlink(target: string, link: string): Promise<void>;
  /** Creates a directory. */
  mkdir(path: string, attrs?: FileAttributes): Promise<void>;
  /** A directory's entries (without "." and ".."), sorted by name. */
  names(dir: string): Promise<{ filename: string; attrs: FileAttributes }[]>;
  /** The canonical path (links resolved), as the server says. */
  realpath(path: string): Promise<string>;
  /** Changes attributes. */
  setstat(path: string, attrs: FileAttributes): Promise<void>;
}

/**
 * `r` whose every request gives up when `signal` aborts (a server that stopped answering
 * cannot hold an aborted transfer up; a late reply is dropped).
 */
function abortableOps(r: RemoteOps, signal: AbortSignal | undefined): RemoteOps {
  if (!signal) return r;
  const race = <T>(p: Promise<T>): Promise<T> => untilAborted(p, signal);
  return {
    session: r.session,
    stat: (p) => race(r.stat(p)),
    lstat: (p) => race(r.lstat(p)),
    readlink: (p) => race(r.readlink(p)),
    symlink: (t, l) => race(r.symlink(t, l)),
    mkdir: (p, a) => race(r.mkdir(p, a)),
    names: (d) => race(r.names(d)),
    setstat: (p, a) => race(r.setstat(p, a)),
    realpath: (p) => race(r.realpath(p)),
  };
}

export async function openRemote(
  s: SFTPSession,
  path: string,
  flags: number,
  attrs: FileAttributes = {},
  signal?: AbortSignal,
  placed = false,
): Promise<Uint8Array> {
  // Queued while the server's handles are all taken by our own work (a Promise.all of
  // readFile() over thousands of files): it would refuse the open ("Too many open handles").
  // (`placed`: the caller took the place already, with another: see copyFile.)
  if (!placed) await s.handleSlots.acquire(signal);
  // Sent without the signal: an abort stops the wait, and a handle the server opens
  // afterwards is closed when it comes instead of staying open there.
  const opening = s.request({ type: "open", path, flags, attrs });
  try {
    return expectResult(await untilAborted(opening, signal), "handle").handle;
  } catch (e) {
    s.handleSlots.release();
    if (signal?.aborted) {
      void opening.then((r) => {
        if (r.kind === "handle") s.request({ type: "close", handle: r.handle }).catch(() => {});
      }, () => {});
    }
    throw e;
  }
}

/**
 * Closes a remote handle. After an abort it is sent but not waited for: a server that
 * stopped answering would otherwise hold up the aborted transfer (the handle is its own).
 * A refused close throws only with `report` (after a write, where the server may say
 * only then that the data did not land: a full disk, a quota).
 */
export async function closeRemote(
  s: SFTPSession,
  handle: Uint8Array,
  signal?: AbortSignal,
  report = false,
): Promise<void> {
  try {
    if (s.closed) return;
    if (signal?.aborted) return void s.request({ type: "close", handle }).catch(() => {});
    try {
      expectResult(await s.request({ type: "close", handle }, signal), "ok");
    } catch (e) {
      if (report) throw e; // else: already reported by the transfer itself, or aborted meanwhile
    }
  } finally {
    s.handleSlots.release(); // the one openRemote() took
  }
}

async function localStat(path: string, follow: boolean) {
  // Looked at in case it is there: without read permission (Deno), as when it cannot be.
  if (!readAllowed(path)) return undefined;
  try {
    return follow ? await hostFs.stat(path) : await hostFs.lstat(path);
  } catch (e) {
    if ((e as { code?: string }).code === "EILSEQ") throw e; // a name Deno cannot spell
    return undefined;
  }
}

// ---- get ----

/**
 * A remote path as the transfers send it: "" is the working directory, "." (servers refuse
 * an empty path, as OpenSSH's sftp-server does with ENOENT).
 */
function remotePath(path: string): string {
  return path === "" ? "." : path;
}

/**
 * Downloads `remote` to `local` (into it, when `local` is an existing directory).
 * `listed`: `remote`'s name came from the server's listing (a glob's match): a local link
 * where its copy goes is refused, as inside a recursive download.
 *
 * @example
 * ```ts ignore
 * await get(ops, "/srv/logs", "./logs", { recurse: true, resume: true });
 * ```
 */
export async function get(
  ops: RemoteOps,
  givenRemote: string,
  local: string,
  o: TransferOptions,
  listed = false,
): Promise<void> {
  const remote = remotePath(givenRemote);
  o.signal?.throwIfAborted();
  const r = abortableOps(ops, o.signal);
  await item(o, remote, async () => {
    const follow = o.followSymlinks ?? true;
    const attrs = follow ? await r.stat(remote) : await r.lstat(remote);
    // A link after following it is the server contradicting itself: copied, it would plant
    // a local link of the server's choosing (that a later download could write through).
    if (follow && isSymbolicLink(attrs)) {
      throw new SFTPError(
        SFTPStatus.BAD_MESSAGE,
        "The server says it is still a symbolic link after following it: not copied",
        { path: remote, operation: "get" },
      );
    }
    const existing = await localStat(local, true);
    const target = existing?.isDirectory() ? hostPathLib.join(local, localName(remote)) : local;
    // A link is replaced, not written through; anything else must not land behind one.
    if (listed && !isSymbolicLink(attrs)) {
      await refuseLocalLink(target, "a glob's match is not written through links");
    }
    await getAny(r, remote, target, attrs, o, 0, newWalk(remote));
  });
}

/**
 * Directory levels a recursive transfer descends at most: a link loop the server follows,
 * or a hostile tree, would otherwise nest local directories until the disk is full
 * (OpenSSH's `sftp` stops at 64 too).
 */
export const MAX_TRANSFER_DEPTH = 64;

/**
 * Directories one recursive transfer may reach through followed links. Links that do not
 * loop can still multiply a tree (two links to the next level, and again below it: 2^64
 * paths in 64 levels); past this the transfer fails rather than copying without end.
 */
export const MAX_LINKED_DIRECTORIES = 1024;

/** What one recursive transfer remembers while it walks a tree. */
interface Walk {
  /** The remote path the transfer started at: every path of the walk is below it. */
  readonly root: string;
  /** Directories reached through a followed link so far. */
  linkedDirs: number;
  /** Canonical paths (the server's realpath) of the directories looked up, by path. */
  readonly canonical: Map<string, string>;
}

function newWalk(root: string): Walk {
  return { root, linkedDirs: 0, canonical: new Map() };
}

/** `dir` and the walk's directories above it, up to its root. */
function walkAncestors(walk: Walk, dir: string): string[] {
  const root = walk.root;
  if (dir === root) return [root];
  // What `dir` adds below the root: "" and "." (the working directory) join as "a", "./a".
  let below: string | undefined;
  if (root === "" || root === ".") {
    if (!dir.startsWith("/")) below = dir.startsWith("./") ? dir.slice(2) : dir;
  } else {
    const base = root.endsWith("/") ? root : root + "/";
    if (dir.startsWith(base)) below = dir.slice(base.length);
  }
  if (below === undefined) return [dir];
  const out = [root];
  let at = root;
  for (const name of below.split("/")) if (name !== "") out.push(at = joinPath(at, name));
  return out;
}

/**
 * Visits each entry of the remote directory `dir` (links followed unless
 * `followSymlinks: false`), each as an {@link item} of its own. What a hostile server could
 * use to make us write elsewhere is refused, entry by entry: a name that is not one path
 * component, a name listed twice (a link, then a file through it), a link that is still a
 * link after following it; and a tree deeper than {@link MAX_TRANSFER_DEPTH}.
 */
async function forEachEntry(
  r: RemoteOps,
  dir: string,
  depth: number,
  o: TransferOptions,
  operation: string,
  walk: Walk,
  visit: (child: string, name: string, attrs: FileAttributes) => Promise<void>,
): Promise<void> {
  if (depth >= MAX_TRANSFER_DEPTH) {
    throw new SFTPError(
      SFTPStatus.FAILURE,
      `Directories nested deeper than ${MAX_TRANSFER_DEPTH} levels (a link loop?): not copied`,
      { path: dir, operation },
    );
  }
  const seen = new Set<string>();
  const entries = await r.names(dir);
  await Lanes.run(FILES_AT_ONCE, async (lanes) => {
    for (const e of entries) {
      const task = () => visitEntry(r, dir, e, o, operation, walk, seen, visit);
      const small = isRegularFile(e.attrs) && (e.attrs.size ?? Infinity) <= SMALL_FILE_BYTES;
      await (small ? lanes.beside(task) : lanes.alone(task));
    }
  });
}

/** One entry of a remote listing: checked, its link followed, then visited. */
function visitEntry(
  r: RemoteOps,
  dir: string,
  e: Pick<NameEntry, "filename" | "attrs">,
  o: TransferOptions,
  operation: string,
  walk: Walk,
  seen: Set<string>,
  visit: (child: string, name: string, attrs: FileAttributes) => Promise<void>,
): Promise<void> {
  const name = e.filename;
  const child = joinPath(dir, name);
  return item(o, child, async () => {
    const refuse = (why: string) => {
      throw new SFTPError(
        SFTPStatus.BAD_MESSAGE,
        `The server listed ${JSON.stringify(sanitize(name))} in "${sanitize(dir)}": ${why}`,
        { path: dir, operation },
      );
    };
    const unsafe = entryRefusal(name, seen);
    if (unsafe) refuse(`refused, ${unsafe}`);
    let a = e.attrs;
    if (isSymbolicLink(a) && (o.followSymlinks ?? true)) {
      try {
        a = await r.stat(child);
      } catch (e) {
        // A dangling link: nothing to copy. Any other failure (a loop of links, no
        // permission) is this entry's error, not a silent skip.
        if (e instanceof SFTPError && e.notFound) return;
        throw e;
      }
      if (isSymbolicLink(a)) refuse("refused, still a symbolic link after following it");
      if (isDirectory(a) && o.recurse) {
        // A loop of links is the tree's shape, not the server contradicting itself.
        await checkLinkedDirectory(r, dir, child, walk, (why) => {
          throw new SFTPError(SFTPStatus.FAILURE, `"${sanitize(child)}": ${why}`, {
            path: child,
            operation,
          });
        });
      }
    }
    await visit(child, name, a);
  });
}

/**
 * Refuses to descend a followed link to a directory the walk is inside of (a loop: `a -> .`,
 * `up -> ..`, or links that lead to each other's directories, `a/tob -> ../b` with
 * `b/toa -> ../a`), or past {@link MAX_LINKED_DIRECTORIES} linked directories in one
 * transfer. OpenSSH's `sftp` never descends links; this one follows them, once.
 */
async function checkLinkedDirectory(
  r: RemoteOps,
  dir: string,
  child: string,
  walk: Walk,
  refuse: (why: string) => never,
): Promise<void> {
  if (++walk.linkedDirs > MAX_LINKED_DIRECTORIES) {
    refuse(`not followed: over ${MAX_LINKED_DIRECTORIES} directories reached through links`);
  }
  const real = async (p: string) => {
    let c = walk.canonical.get(p);
    if (c === undefined) walk.canonical.set(p, c = await r.realpath(p));
    return c;
  };
  const target = await real(child);
  for (const above of walkAncestors(walk, dir)) {
    if (isAtOrBelow(await real(above), target)) {
      refuse("not followed: a link to a directory it is inside of (a loop)");
    }
  }
}

/**
 * The last component of a remote path, to name what a transfer makes of it inside a
 * directory: refused when it is no single name ("" for "/", "." or "..", as a glob a
 * hostile server fed could return) — it would land beside the directory, not in it.
 */
function localName(remote: string): string {
  const name = basename(remote);
  const unsafe = unsafeEntryName(name) ?? localNameRefusal(name);
  if (unsafe) {
    throw new SFTPError(
      SFTPStatus.BAD_MESSAGE,
      `Cannot name a copy of "${sanitize(remote)}" after it: ${unsafe}`,
      { path: remote },
    );
  }
  return name;
}

/**
 * Why a name that is safe on the server cannot name a local file here: on Windows, "\\"
 * and ":" (a path or a drive, as CVE-2019-6111 used against scp) and device names.
 */
function localNameRefusal(name: string): string | undefined {
  if (process.platform !== "win32") return undefined;
  if (/[\\:]/.test(name)) return 'it contains "\\" or ":" (a path on Windows)';
  if (/^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i.test(name)) {
    return "it is a Windows device name";
  }
  return undefined;
}

/**
 * Why a name of a server's listing cannot become a path of ours ({@link unsafeEntryName}, or
 * a name already listed: a link, then a file through it), or undefined; `seen` collects the
 * listing's names.
 */
export function entryRefusal(name: string, seen: Set<string>): string | undefined {
  const unsafe = unsafeEntryName(name) ?? localNameRefusal(name);
  if (unsafe) return unsafe;
  if (seen.has(name)) return "it is listed twice";
  seen.add(name);
  return undefined;
}

/**
 * A device, socket or FIFO asked for by name: there is no end to read to, or nothing a
 * copy could hold (OpenSSH's `sftp` refuses it too; inside a tree such entries are skipped).
 */
function notRegular(path: string, operation: string): SFTPError {
  return new SFTPError(SFTPStatus.FAILURE, "Not a regular file, a directory or a link", {
    path,
    operation,
  });
}

/**
 * Refuses to write at `local`, named after an entry of the server's listing (inside a
 * recursive download, or a glob's match), when it is a symbolic link: what is written must
 * not lead out of the destination.
 */
async function refuseLocalLink(
  local: string,
  what = "a recursive download does not write through links",
): Promise<void> {
  if ((await localStat(local, false))?.isSymbolicLink()) {
    throw new SFTPError(
      SFTPStatus.FAILURE,
      `"${local}" is a symbolic link: ${what}`,
      { path: local, operation: "get" },
    );
  }
}

async function getAny(
  r: RemoteOps,
  remote: string,
  local: string,
  attrs: FileAttributes,
  o: TransferOptions,
  depth: number,
  walk: Walk,
): Promise<void> {
  o.signal?.throwIfAborted();
  // Below the top, every local name came from the server's listing.
  const fromListing = depth > 0;
  if (isDirectory(attrs)) {
    if (!o.recurse) {
      throw new SFTPError(SFTPStatus.FAILURE, "Is a directory (use recurse)", {
        path: remote,
        operation: "get",
      });
    }
    if (fromListing) await refuseLocalLink(local);
    // With the remote directory's mode (the owner keeps rwx), as OpenSSH's `sftp get -r`: a
    // private directory's files must not land readable by every local user.
    const mode = attrs.permissions !== undefined ? (attrs.permissions & 0o777) | 0o700 : 0o777;
    await hostFs.mkdir(local, { recursive: true, mode });
    await forEachEntry(
      r,
      remote,
      depth,
      o,
      "get",
      walk,
      (child, name, a) => getAny(r, child, hostPathLib.join(local, name), a, o, depth + 1, walk),
    );
    if (o.preserve) await preserveLocal(local, attrs);
    return;
  }
  if (isSymbolicLink(attrs)) {
    const target = await r.readlink(remote);
    await hostFs.rm(local, { force: true });
    await hostFs.symlink(target, local);
    return;
  }
  if (attrs.permissions !== undefined && !isRegularFile(attrs)) {
    // Devices, sockets, FIFOs: skipped inside a tree; asked for by name, an error.
    if (fromListing) return;
    throw notRegular(remote, "get");
  }
  if (fromListing) await refuseLocalLink(local);
  await getFile(r.session, remote, local, attrs, o);
}

async function getFile(
  s: SFTPSession,
  remote: string,
  local: string,
  attrs: FileAttributes,
  options: TransferOptions,
): Promise<void> {
  const o = withForwardProgress(options);
  const handle = await openRemote(s, remote, OpenFlags.READ, {}, o.signal);
  let fh: fsp.FileHandle | undefined;
  try {
    const size = attrs.size;
    let start = 0;
    if (o.resume) {
      const st = await localStat(local, true);
      if (st) {
        if (size !== undefined && st.size > size) {
          throw new SFTPError(
            SFTPStatus.FAILURE,
            `Cannot resume: the local file "${local}" is larger than the remote one`,
            {
              path: remote,
              operation: "get",
            },
          );
        }
        start = st.size;
        fh = await hostFs.open(local, "r+");
      }
    }
    // The owner keeps read and write (OpenSSH's `sftp` adds S_IWUSR; a resume here reopens
    // the file for reading too): a read-only remote file must not make the next download of
    // it, or its resume, fail. `preserve` sets the exact mode afterwards.
    fh ??= await hostFs.open(
      local,
      "w",
      attrs.permissions !== undefined ? (attrs.permissions & 0o777) | 0o600 : 0o666,
    );
    const file = fh;
    // Only a regular file is cut to what arrived (as OpenSSH's `sftp`): a download to a
    // device such as /dev/null cannot be truncated, and needs no cutting.
    const regular = (await file.stat()).isFile();
    const cut = regular ? (n: number) => file.truncate(n) : () => Promise.resolve();
    const total = size ?? 0;
    let from = start;
    let whole: number;
    for (;;) {
      let done = from;
      o.onProgress?.(done, total, remote, local);
      // Replies that continue each other are written together (fewer file-system calls).
      const batch = new WriteBatch(file, (b) => s.pool.release(b), regular);
      const result = await pipelinedRead(
        s,
        handle,
        from,
        {
          requestSize: requestSize(s.readSize, o),
          // A FIFO or terminal takes the bytes in turn: one request at a time keeps them so.
          maxRequests: regular ? requestsInFlight(s, o) : 1,
          ...(size !== undefined ? { sizeHint: size } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
        },
        async (off, data) => {
          await batch.add(off, data);
          done += data.length;
          o.onProgress?.(done, total, remote, local);
        },
      );
      let flushError: unknown;
      try {
        await batch.flush();
      } catch (e) {
        flushError = e;
      } finally {
        s.pool.trim();
      }
      // A failed write leaves its range unwritten: keep only what is known to be on disk.
      whole = Math.min(result.highwater, batch.failedAt ?? Infinity);
      if (flushError !== undefined && result.error === undefined) {
        await cut(whole).catch(() => {});
        throw naming(flushError, local);
      }
      if (result.error !== undefined) {
        if (
          flushError === undefined && result.peakRequests > 1 && !o.signal?.aborted &&
          s.fallBackToSequential(result.error)
        ) {
          // The server failed under many reads: again from the whole prefix, one at a time.
          from = whole;
          continue;
        }
        // Keep only the whole prefix, so a resumed transfer continues correctly.
        await cut(whole).catch(() => {});
        throw naming(result.error, local); // a local write's error, or the server's
      }
      break;
    }
    try {
      await cut(whole);
      if (o.preserve && regular) {
        if (attrs.permissions !== undefined) await file.chmod(preservedMode(attrs.permissions));
        if (attrs.mtime !== undefined) await file.utimes(attrs.atime ?? attrs.mtime, attrs.mtime);
      }
      // A file system may report a failed write only on close (NFS, a full disk): after a
      // download that otherwise succeeded, that is the download's error.
      fh = undefined;
      await file.close();
    } catch (e) {
      throw naming(e, local);
    }
  } finally {
    await fh?.close().catch(() => {});
    await closeRemote(s, handle, o.signal);
  }
}

/**
 * A local file-system error that names its file: Node leaves the path out of the errors of
 * calls on an open file (a full disk reads "ENOSPC: no space left on device, write"), which
 * in a transfer of many files says nothing of which one. The path is added as Node adds it
 * to the errors of calls by path (`… open '/x'`); the error stays the same object, code and
 * all. Anything else (the server's SFTPError) is returned as it is.
 */
function naming(e: unknown, path: string): unknown {
  // A system error of the runtime's file API (an errno code such as ENOSPC; Node's also name
  // their system call), not ours (SSHError codes read ERR_…).
  const err = e as Error & { code?: unknown; syscall?: unknown; path?: unknown };
  const system = typeof err.syscall === "string" ||
    (typeof err.code === "string" && /^E[A-Z0-9]+$/.test(err.code));
  if (!(e instanceof Error) || !system || err.path !== undefined) return e;
  try {
    err.path = path;
    err.message = `${err.message} '${path}'`;
  } catch { /* a frozen error keeps its own */ }
  return e;
}

/**
 * What a directory made by a recursive upload or copy has for its owner while its children
 * arrive (as OpenSSH's `sftp` adds S_IWUSR|S_IXUSR): a read-only source directory would
 * otherwise refuse them. Its own mode is set once they are in ({@link narrowMadeDirectory}).
 */
export const OWNER_WX = 0o300;

/**
 * Makes `path` a directory for a tree whose own directory has `mode` (with {@link OWNER_WX}
 * added while it fills), or takes the directory already there. True when it made it.
 */
async function directoryFor(r: RemoteOps, path: string, mode: number): Promise<boolean> {
  try {
    await r.mkdir(path, { permissions: mode | OWNER_WX });
    return true;
  } catch (e) {
    let isDir = false;
    try {
      isDir = isDirectory(await r.stat(path));
    } catch { /* report the mkdir error */ }
    if (!isDir) throw e;
    return false;
  }
}

/**
 * Gives a directory this transfer made, now that its children are in, the `mode` that
 * {@link OWNER_WX} widened (one that was there keeps its own).
 */
export async function narrowMadeDirectory(
  target: { setstat(path: string, attrs: FileAttributes): Promise<void> },
  path: string,
  mode: number,
): Promise<void> {
  if ((mode & OWNER_WX) !== OWNER_WX) await target.setstat(path, { permissions: mode });
}

/** Write requests cut from one read of the local file during a put. */
const READS_PER_BLOCK = 4;

/** The smallest read of the local file during a put (of a file smaller than a block). */
const MIN_READ_BLOCK = 64 * 1024;

/** Bytes of contiguous replies gathered before one vectored write. */
const WRITE_BATCH = 1024 * 1024;

/**
 * Whether `FileHandle.writev` writes the pieces as they are. Deno's `node:fs` copies each
 * piece that is not a Buffer byte by byte in JavaScript and then concatenates them (a
 * 256 MiB download spent 140 ms there): on Deno the pieces are written one by one.
 */
const WRITEV_AS_IS = currentRuntime() !== "deno";

/**
 * Gathers pieces that continue each other and writes them with one `writev`;
 * a piece elsewhere writes what was gathered first. Each piece is handed to
 * `done` once it is on its way to disk.
 */
class WriteBatch {
  readonly #file: fsp.FileHandle;
  readonly #done: (b: Uint8Array) => void;
  readonly #positioned: boolean;
  #pieces: Uint8Array[] = [];
  #offset = 0;
  #length = 0;
  /** Where a failed write started (nothing at or after it is known to be written). */
  failedAt: number | undefined;

  /**
   * Writes to `file`, at the pieces' offsets unless `positioned` is false (a FIFO or a
   * terminal, written in turn); `done` gets each piece once it was written.
   */
  constructor(file: fsp.FileHandle, done: (b: Uint8Array) => void, positioned = true) {
    this.#file = file;
    this.#done = done;
    this.#positioned = positioned;
  }

  /** Adds `data` for `offset` (writing what was gathered when it does not continue it). */
  async add(offset: number, data: Uint8Array): Promise<void> {
    if (this.#pieces.length > 0 && offset !== this.#offset + this.#length) await this.flush();
    if (this.#pieces.length === 0) this.#offset = offset;
    this.#pieces.push(data);
    this.#length += data.length;
    if (this.#length >= WRITE_BATCH) await this.flush();
  }

  /** Writes what was gathered. */
  async flush(): Promise<void> {
    if (this.#pieces.length === 0) return;
    const original = this.#pieces;
    let pieces = original;
    const at = this.#offset;
    const total = this.#length;
    this.#pieces = [];
    this.#length = 0;
    try {
      for (let written = 0; written < total;) {
        const head = pieces[0]!;
        const position = this.#positioned ? at + written : null;
        const { bytesWritten } = WRITEV_AS_IS
          ? await this.#file.writev(pieces, position ?? undefined)
          : await this.#file.write(head, 0, head.length, position);
        written += bytesWritten;
        // A short write: skip what went out and write the rest.
        let skip = bytesWritten;
        while (skip > 0 && pieces.length > 0) {
          const first = pieces[0]!;
          if (first.length <= skip) {
            skip -= first.length;
            pieces = pieces.slice(1);
          } else {
            pieces = [first.subarray(skip), ...pieces.slice(1)];
            skip = 0;
          }
        }
      }
    } catch (e) {
      this.failedAt = at;
      throw e;
    }
    for (const p of original) this.#done(p);
  }
}

/**
 * The permission bits `preserve` copies: the rwx bits only, as OpenSSH's `sftp` and `scp`
 * do. setuid, setgid and sticky bits chosen by the other side are not worth copying (a
 * backup job running as root would otherwise make setuid files the server picked).
 */
function preservedMode(permissions: number): number {
  return permissions & 0o777;
}

async function preserveLocal(local: string, attrs: FileAttributes): Promise<void> {
  if (attrs.permissions !== undefined) await hostFs.chmod(local, preservedMode(attrs.permissions));
  if (attrs.mtime !== undefined) {
    await hostFs.utimes(local, attrs.atime ?? attrs.mtime, attrs.mtime);
  }
}

// ---- put ----

/**
 * Uploads `local` to `remote` (into it, when `remote` is an existing directory).
 *
 * @example
 * ```ts ignore
 * await put(ops, "./build", "/srv/app", { recurse: true, preserve: true });
 * ```
 */
export async function put(
  ops: RemoteOps,
  local: string,
  givenRemote: string,
  o: TransferOptions,
): Promise<void> {
  const remote = remotePath(givenRemote);
  o.signal?.throwIfAborted();
  const r = abortableOps(ops, o.signal);
  await item(o, local, async () => {
    if (!readAllowed(local)) {
      // Not "no such file" (as the look below would say), nor a Deno prompt.
      throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "No read access (Deno: --allow-read)", {
        path: local,
        operation: "put",
      });
    }
    const st = await localStat(local, o.followSymlinks ?? true);
    if (!st) {
      throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such local file", {
        path: local,
        operation: "put",
      });
    }
    let target = remote;
    try {
      if (isDirectory(await r.stat(remote))) target = joinPath(remote, hostPathLib.basename(local));
    } catch { /* does not exist: use the name as given */ }
    await putAny(r, local, target, o, []);
  });
}

/**
 * Uploads one local entry. `above` holds the identities (device:inode) of the directories
 * it is inside: a followed link back to one of them is a loop, refused, and the tree is cut
 * at {@link MAX_TRANSFER_DEPTH} levels as downloads are.
 */
async function putAny(
  r: RemoteOps,
  local: string,
  remote: string,
  o: TransferOptions,
  above: readonly string[],
): Promise<void> {
  o.signal?.throwIfAborted();
  const follow = o.followSymlinks ?? true;
  const st = follow ? await hostFs.stat(local) : await hostFs.lstat(local);
  const times = { atime: wireTime(st.atimeMs), mtime: wireTime(st.mtimeMs) };
  if (st.isDirectory()) {
    if (!o.recurse) {
      throw new SFTPError(SFTPStatus.FAILURE, "Is a directory (use recurse)", {
        path: local,
        operation: "put",
      });
    }
    const id = `${st.dev}:${st.ino}`;
    if (above.includes(id)) {
      throw new SFTPError(
        SFTPStatus.FAILURE,
        "Not followed: a link to a directory it is inside of (a loop)",
        { path: local, operation: "put" },
      );
    }
    if (above.length >= MAX_TRANSFER_DEPTH) {
      throw new SFTPError(
        SFTPStatus.FAILURE,
        `Directories nested deeper than ${MAX_TRANSFER_DEPTH} levels: not copied`,
        { path: local, operation: "put" },
      );
    }
    const mode = st.mode & 0o777;
    const created = await directoryFor(r, remote, mode);
    const names = (await hostFs.readdir(local)).sort();
    await Lanes.run(FILES_AT_ONCE, async (lanes) => {
      for (const name of names) {
        const child = hostPathLib.join(local, name);
        // One look decides both: whether it goes beside others, and (following links)
        // whether it dangles.
        const entry = await localStat(child, follow).then((st) => ({ st }), (error) => ({ error }));
        const task = () =>
          item(o, child, async () => {
            // A dangling link is skipped; a name the runtime cannot spell (EILSEQ) is an error.
            if ("error" in entry) throw entry.error;
            if (follow && !entry.st) return;
            await putAny(r, child, joinPath(remote, name), o, [...above, id]);
          });
        const small = "st" in entry && entry.st?.isFile() && entry.st.size <= SMALL_FILE_BYTES;
        await (small ? lanes.beside(task) : lanes.alone(task));
      }
    });
    if (o.preserve) await r.setstat(remote, { permissions: preservedMode(st.mode), ...times });
    else if (created) await narrowMadeDirectory(r, remote, mode);
    return;
  }
  if (st.isSymbolicLink()) {
    await r.symlink(await hostFs.readlink(local), remote);
    return;
  }
  if (!st.isFile()) {
    if (above.length > 0) return; // skipped inside a tree; asked for by name, an error
    throw notRegular(local, "put");
  }
  await putFile(r.session, local, remote, st.size, st.mode, o);
  if (o.preserve) await r.setstat(remote, { permissions: preservedMode(st.mode), ...times });
}

/**
 * A local time (ms) as SFTP carries it: whole seconds in 32 bits, so a file dated before
 * 1970 (or after 2106) keeps the nearest time there is rather than failing the upload.
 */
function wireTime(ms: number): number {
  return Math.min(0xffffffff, Math.max(0, Math.floor(ms / 1000)));
}

async function putFile(
  s: SFTPSession,
  local: string,
  remote: string,
  size: number,
  mode: number,
  options: TransferOptions,
): Promise<void> {
  const o = withForwardProgress(options);
  let start = 0;
  let flags = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
  if (o.resume) {
    let remoteSize: number | undefined;
    try {
      remoteSize =
        expectResult(await s.request({ type: "stat", path: remote }, o.signal), "attrs").attrs
          .size;
    } catch { /* not there yet */ }
    if (remoteSize !== undefined) {
      if (remoteSize > size) {
        throw new SFTPError(
          SFTPStatus.FAILURE,
          "Cannot resume: the remote file is larger than the local one",
          {
            path: remote,
            operation: "put",
          },
        );
      }
      start = remoteSize;
      flags = OpenFlags.WRITE | OpenFlags.CREAT;
    }
  }
  const fh = await hostFs.open(local, "r");
  let handle: Uint8Array | undefined;
  let sent = false;
  try {
    handle = await openRemote(s, remote, flags, { permissions: mode & 0o777 }, o.signal);
    for (;;) {
      const pipe = new WritePipe(s, handle, start, requestsInFlight(s, o), o.signal);
      try {
        await putFrom(s, fh, pipe, start, size, local, remote, o);
        sent = true;
        break;
      } catch (e) {
        await pipe.drain();
        // The server failed under many writes: write it all again, one request at a time
        // (writes carry their offsets, so rewriting what did land changes nothing).
        if (pipe.peakRequests > 1 && !o.signal?.aborted && s.fallBackToSequential(e)) continue;
        await cutToPrefix(s, handle, pipe);
        throw e;
      }
    }
  } finally {
    await fh.close().catch(() => {});
    // A server may report a failed write only when the file closes (a full disk, a quota,
    // NFS): after an upload that otherwise succeeded, that is the upload's error.
    if (handle) await closeRemote(s, handle, o.signal, sent);
  }
}

/**
 * After a failed upload or copy: later writes may have landed past a refused one, so the
 * remote file holds a hole below its size and `resume` (which starts at the size) would
 * leave it there. Cut the file back to the acknowledged prefix (best effort: a server that
 * refuses, or an aborted transfer's silent server, leaves it as it is).
 */
async function cutToPrefix(s: SFTPSession, handle: Uint8Array, pipe: WritePipe): Promise<void> {
  if (pipe.inFlight > 0 || s.closed) return;
  await s.request({ type: "fsetstat", handle, attrs: { size: pipe.contiguous } }).catch(() => {});
}

/** Sends the local file from `start` through `pipe` and waits for every write's answer. */
async function putFrom(
  s: SFTPSession,
  fh: fsp.FileHandle,
  pipe: WritePipe,
  start: number,
  size: number,
  local: string,
  remote: string,
  o: TransferOptions,
): Promise<void> {
  const chunk = requestSize(s.writeSize, o);
  // Several requests' worth per file-system read, in buffers reused once every write
  // cut from them was answered; no bigger than the file (a small file's upload zeroed a
  // MiB for it: a tree of small files spent its time collecting them), but not so small
  // that a file grown since its stat is read a few bytes at a time.
  const block = Math.min(chunk * READS_PER_BLOCK, Math.max(size - start, MIN_READ_BLOCK));
  const pool = new BufferPool(block, Math.ceil(pipe.maxRequests / READS_PER_BLOCK) + 2);
  // Each amount once: when every write was answered before the end of the file was seen,
  // the loop has already reported the whole file.
  let reported = start;
  const report = () => {
    const done = start + pipe.acked;
    if (done !== reported) o.onProgress?.(reported = done, size, local, remote);
  };
  o.onProgress?.(start, size, local, remote);
  for (let off = start;;) {
    o.signal?.throwIfAborted();
    const buf = pool.allocate(block);
    const { bytesRead } = await fh.read(buf, 0, block, off);
    if (bytesRead === 0) {
      pool.release(buf);
      break;
    }
    let pieces = Math.ceil(bytesRead / chunk);
    const settled = () => {
      if (--pieces === 0) pool.release(buf);
    };
    for (let p = 0; p < bytesRead; p += chunk) {
      await pipe.push(buf.subarray(p, Math.min(bytesRead, p + chunk)), undefined, settled);
    }
    off += bytesRead;
    report();
  }
  await pipe.finish();
  report();
}

// ---- copy (remote to remote) ----

/**
 * Copies `src` to `dst` on the server (into it, when `dst` is an existing directory).
 *
 * @example
 * ```ts ignore
 * await copy(ops, "/srv/app/config.json", "/srv/app/config.json.bak", {});
 * ```
 */
export async function copy(
  ops: RemoteOps,
  givenSrc: string,
  givenDst: string,
  o: TransferOptions,
): Promise<void> {
  const src = remotePath(givenSrc);
  const dst = remotePath(givenDst);
  o.signal?.throwIfAborted();
  const r = abortableOps(ops, o.signal);
  await item(o, src, async () => {
    const follow = o.followSymlinks ?? true;
    const attrs = follow ? await r.stat(src) : await r.lstat(src);
    let target = dst;
    try {
      if (isDirectory(await r.stat(dst))) target = joinPath(dst, localName(src));
    } catch (e) {
      if (e instanceof SFTPError && e.status === SFTPStatus.BAD_MESSAGE) throw e;
      /* does not exist */
    }
    await refuseCopyOntoItself(r, src, target, attrs, o);
    await copyAny(r, src, target, attrs, o, 0, newWalk(src));
  });
}

/**
 * Refuses a copy whose target is its source (opening the target truncates it: the source
 * would be lost, as `cp` refuses "are the same file") or, for a directory, lies inside it
 * (each level would list the copy made so far and nest it again). Compared by the
 * server's canonical paths; a target that does not exist yet is its parent's canonical
 * path and its name.
 */
async function refuseCopyOntoItself(
  r: RemoteOps,
  src: string,
  dst: string,
  attrs: FileAttributes,
  o: TransferOptions,
): Promise<void> {
  if (isSymbolicLink(attrs)) return; // copied as a link: nothing is opened or listed
  const from = await r.realpath(src);
  let to: string;
  try {
    to = await r.realpath(dst);
  } catch {
    try {
      to = joinPath(await r.realpath(dirname(dst)), basename(dst));
    } catch {
      return; // the target's directory is not there: the copy itself will say so
    }
  }
  if (to === from) {
    throw new SFTPError(SFTPStatus.FAILURE, "Source and target are the same file: not copied", {
      path: dst,
      operation: "copy",
    });
  }
  if (isDirectory(attrs) && o.recurse && isAtOrBelow(to, from)) {
    throw new SFTPError(
      SFTPStatus.FAILURE,
      `Cannot copy directory "${sanitize(src)}" into itself`,
      { path: dst, operation: "copy" },
    );
  }
}

async function copyAny(
  r: RemoteOps,
  src: string,
  dst: string,
  attrs: FileAttributes,
  o: TransferOptions,
  depth: number,
  walk: Walk,
): Promise<void> {
  o.signal?.throwIfAborted();
  if (isDirectory(attrs)) {
    if (!o.recurse) {
      throw new SFTPError(SFTPStatus.FAILURE, "Is a directory (use recurse)", {
        path: src,
        operation: "copy",
      });
    }
    const mode = (attrs.permissions ?? 0o755) & 0o777;
    const created = await directoryFor(r, dst, mode);
    await forEachEntry(
      r,
      src,
      depth,
      o,
      "copy",
      walk,
      (child, name, a) => copyAny(r, child, joinPath(dst, name), a, o, depth + 1, walk),
    );
    if (!o.preserve && created) await narrowMadeDirectory(r, dst, mode);
  } else if (isSymbolicLink(attrs)) {
    await r.symlink(await r.readlink(src), dst);
    return;
  } else if (attrs.permissions === undefined || isRegularFile(attrs)) {
    await copyFile(r.session, src, dst, attrs, o);
  } else {
    if (depth > 0) return; // skipped inside a tree; asked for by name, an error
    throw notRegular(src, "copy");
  }
  if (o.preserve) {
    const keep: { permissions?: number; atime?: number; mtime?: number } = {};
    if (attrs.permissions !== undefined) keep.permissions = preservedMode(attrs.permissions);
    if (attrs.mtime !== undefined) {
      keep.atime = attrs.atime ?? attrs.mtime;
      keep.mtime = attrs.mtime;
    }
    await r.setstat(dst, keep);
  }
}

async function copyFile(
  s: SFTPSession,
  src: string,
  dst: string,
  attrs: FileAttributes,
  o: TransferOptions,
): Promise<void> {
  const total = attrs.size ?? 0;
  let start = 0;
  let flags = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
  if (o.resume) {
    try {
      const have =
        expectResult(await s.request({ type: "stat", path: dst }, o.signal), "attrs").attrs.size ??
          0;
      if (attrs.size !== undefined && have > attrs.size) {
        throw new SFTPError(
          SFTPStatus.FAILURE,
          "Cannot resume: the target is larger than the source",
          {
            path: dst,
            operation: "copy",
          },
        );
      }
      start = have;
      flags = OpenFlags.WRITE | OpenFlags.CREAT;
    } catch (e) {
      if (!(e instanceof SFTPError) || !e.notFound) throw e;
    }
  }
  // Both handles' places at once: copies that each held a source's and waited for a
  // destination's would wait for each other for ever.
  await s.handleSlots.acquire(o.signal, 2);
  let from: Uint8Array;
  try {
    from = await openRemote(s, src, OpenFlags.READ, {}, o.signal, true);
  } catch (e) {
    s.handleSlots.release(); // the destination's (openRemote gave back its own)
    throw e;
  }
  let to: Uint8Array | undefined;
  let copied = false;
  try {
    to = await openRemote(
      s,
      dst,
      flags,
      attrs.permissions !== undefined ? { permissions: attrs.permissions & 0o777 } : {},
      o.signal,
      true,
    );
    o.onProgress?.(start, total, src, dst);
    if (s.supports(Ext.COPY_DATA, "1")) {
      try {
        expectResult(
          await s.request({
            type: "copyData",
            readHandle: from,
            readOffset: start,
            length: 0,
            writeHandle: to,
            writeOffset: start,
          }, o.signal),
          "ok",
        );
      } catch (e) {
        // The server copies between two handles: its status may concern either file, so
        // both are named (as OpenSSH's `sftp cp`), not only the one being read.
        if (!(e instanceof SFTPError)) throw e;
        throw new SFTPError(e.status, e.peerMessage, {
          operation: `copy "${escapeControls(src)}" to`,
          path: dst,
          cause: e,
        });
      }
      o.signal?.throwIfAborted();
      copied = true;
      o.onProgress?.(total, total, src, dst);
      return;
    }
    const pipe = new WritePipe(s, to, start, requestsInFlight(s, o), o.signal);
    // Progress counts what the server acknowledged writing, as put() does, each amount once.
    let reported = start;
    const report = () => {
      const done = start + pipe.acked;
      if (done !== reported) o.onProgress?.(reported = done, total, src, dst);
    };
    const result = await pipelinedRead(
      s,
      from,
      start,
      {
        requestSize: requestSize(Math.min(s.readSize, s.writeSize), o),
        maxRequests: Math.max(1, requestsInFlight(s, o) >> 1),
        ...(attrs.size !== undefined ? { sizeHint: attrs.size } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      },
      async (off, data) => {
        await pipe.push(data, off);
        report();
      },
    );
    try {
      if (result.error !== undefined) throw result.error;
      await pipe.finish();
      report();
      copied = true;
    } catch (e) {
      await pipe.drain();
      await cutToPrefix(s, to, pipe);
      throw e;
    }
  } finally {
    await closeRemote(s, from, o.signal);
    // A server may report a failed write only when the file closes (a full disk, a quota,
    // NFS): after a copy that otherwise succeeded, that is the copy's error.
    if (to) await closeRemote(s, to, o.signal, copied);
  }
}
