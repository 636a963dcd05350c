/**
 * An {@link SFTPBackend} over the local file system, jailed to a root
 * directory: the client sees `root` as "/", every path resolves under it,
 * and a symlink that leads out of it (one a client made, or one that was
 * there before) is refused. `readOnly: true` refuses every change.
 *
 * Built on `node:fs/promises`, which Deno, Node and Bun all provide.
 *
 * A symlink a client creates never leads out, for this server or for the host's own
 * programs: a relative target without ".." ("lib/x.txt") is stored as given, as sshd
 * stores it (it only descends, wherever the link is moved, and reads the same through
 * sshfs); any other target, absolute or with a "..", is resolved inside the root (".."
 * stopping there) and stored as an absolute host path under it, which readlink shows as
 * the client path. (A ".." is resolved by the operating system from where a link on the
 * way points, and a link moved up a level would climb out.) A link that was there before,
 * made on the host with a "..", still leads wherever a client's rename moves it (or the
 * directory holding it): this server refuses to follow it once it leads out, the host's
 * own programs do not — as with sshd, which stores every target as given.
 *
 * The checks resolve real paths before each operation, and the operation then
 * acts on the path again (`node:fs` has no `openat` to pin a checked directory).
 * A client could otherwise swap what is there in between, from a second session:
 * move a checked directory away and a symlink into its place, such as a relative
 * link moved to where its ".." leads out (a link to "../releases" inside the root
 * points elsewhere one level up). So every operation of every FsBackend in the
 * process (but one opening special files for the application) holds a
 * {@link NamespaceLock} from its check to its act: the ones that
 * change names (rename, remove, mkdir, rmdir, symlink, hardlink) alone, the others
 * side by side; no swap made through this server lands in such a gap. Besides,
 * the final component is opened with O_NOFOLLOW (open, setstat, lsetstat act
 * on that descriptor; a link found there is refused, and a device, FIFO or
 * socket gets only the owner and times changed, by calls that never follow a
 * link) and opendir checks that the directory it opened is the one it checked.
 * What the lock cannot see is another process changing the tree meanwhile (a
 * shell of the same user, a second server): serve roots that only this
 * server's users change.
 *
 * @module
 */

import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import type * as nodePath from "node:path";
import { type FileAttributes, formatLongname } from "../../sftp/attrs.ts";
import type { DirEntry, SFTPBackend } from "../../sftp/backend.ts";
import { OpenFlags, SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import type { StatVFS } from "../../sftp/messages.ts";
import { joinPath, normalizePath, resolvePath, unsafeEntryName } from "../../sftp/path.ts";
import { readOnlyBackend } from "../../sftp/read_only.ts";
import { BufferPool } from "../../sftp/buffer_pool.ts";
import { SERVER_MAX_READ } from "../../sftp/constants.ts";
import { type HostDir, hostFs, hostFsSync, hostPathLib } from "../runtime/host_fs.ts";
import { NamespaceLock } from "./namespace_lock.ts";
import { readDenial } from "../runtime/env.ts";

/**
 * One lock for every FsBackend of the process: per-user roots may be inside one another,
 * or one tree under several names, so a swap through one backend could meet another's
 * check.
 */
const NAMESPACE = new NamespaceLock();
const utf8 = new TextEncoder();

/**
 * Options of {@link FsBackend}.
 *
 * @example
 * ```ts
 * import { FsBackend } from "@sshts/ssh";
 * // The root is resolved when the first request comes, not here.
 * const backend = new FsBackend({ root: "/srv/drop", readOnly: true, home: "/incoming" });
 * ```
 */
export interface FsBackendOptions {
  /** The local directory served as "/". It must exist. */
  readonly root: string;
  /** Refuse every change (open for writing, remove, rename, setstat, ...). */
  readonly readOnly?: boolean;
  /** The client's home directory inside the root ("." resolves here; default "/"). */
  readonly home?: string;
  /** Mode bits cleared on files and directories the client creates (default 0o022). */
  readonly umask?: number;
  /**
   * Let clients change owners and groups and set the setuid and setgid bits
   * (default false: modes a client gives are masked to 0o1777, and a change
   * of owner or group is refused). Allow it only where the server runs as the
   * user whose files these are, as OpenSSH's sftp-server does: a server
   * running as root would let clients plant setuid-root programs or give
   * files away. `listen({ sftp: { root, allowOwnership: true } })` passes it on.
   *
   * @example
   * ```ts
   * import { FsBackend } from "@sshts/ssh";
   * // The server runs as the user who owns /home/me.
   * const backend = new FsBackend({ root: "/home/me", allowOwnership: true });
   * // listen({ ..., sftp: { backend } })
   * ```
   */
  readonly allowOwnership?: boolean;
  /**
   * Open devices, FIFOs and sockets as a process opens its own files (a FIFO's open waits
   * for its other end), under a lock of this backend's own rather than the process-wide
   * one. For the application's own files, such as the SCP client's local side
   * (`scp(src, "/dev/null")`). A server leaves it off (the default): it refuses what is
   * not a file, since one client's FIFO would hold a thread and every rename.
   *
   * @example
   * ```ts
   * import { FsBackend } from "@sshts/ssh";
   * const local = new FsBackend({ root: "/", openSpecialFiles: true });
   * ```
   */
  readonly openSpecialFiles?: boolean;
  /**
   * Path lookups (the realpath and lstat that resolve every path in the root, and the
   * attributes of `stat`, `lstat` and directory listings) made at once on the event loop,
   * as sshd's `sftp-server` makes them (default true): on a local file system each takes
   * microseconds, where a trip through the runtime's thread pool cost several times that
   * in CPU (64 stats in flight: 18–26 µs of server CPU a stat instead of 97–148, Node 24).
   * Set it false when the root is on a network file system that may stall: a lookup then
   * waits in the thread pool, not on the event loop every connection shares. Opens, reads,
   * writes and directory reads always go through the pool.
   *
   * @example
   * ```ts
   * import { FsBackend } from "@sshts/ssh";
   * const nfs = new FsBackend({ root: "/mnt/nfs/share", syncLookups: false });
   * ```
   */
  readonly syncLookups?: boolean;
}

/** A handle of the {@link FsBackend} (its contents are private). */
export interface FsHandle {
  /** What the handle refers to. */
  readonly kind: "file" | "dir";
}

type Handle =
  | {
    readonly kind: "file";
    readonly fh: fsp.FileHandle;
    readonly local: string;
    readonly flags: number;
    /** Not a file (a FIFO, a terminal; openSpecialFiles only): no offsets, read and written in turn. */
    readonly stream: boolean;
  }
  | {
    readonly kind: "dir";
    readonly dir: HostDir;
    readonly local: string;
    /** The directory opened (entries are looked up by path: it must still be there). */
    readonly dev: number;
    readonly ino: number;
    started: boolean;
  };

/** Directory entries per readdir reply (OpenSSH's sftp-server sends up to 100). */
const READDIR_BATCH = 100;

const C = fs.constants;

/**
 * As OpenSSH's sftp-server (errno_to_portable): ENOENT, ENOTDIR and ELOOP are "no such
 * file" (so a client's exists("file/sub") is false, not an error), EPERM and EACCES
 * "permission denied", ENAMETOOLONG and EINVAL "bad message", ENOSYS "unsupported"; the
 * rest "failure", but for EROFS (denied here) and the unsupported ones below.
 */
const ERRNO: Record<string, [number, string]> = {
  ENOENT: [SFTPStatus.NO_SUCH_FILE, "No such file"],
  EACCES: [SFTPStatus.PERMISSION_DENIED, "Permission denied"],
  EPERM: [SFTPStatus.PERMISSION_DENIED, "Permission denied"],
  EROFS: [SFTPStatus.PERMISSION_DENIED, "Read-only file system"],
  EEXIST: [SFTPStatus.FAILURE, "File exists"],
  ENOTEMPTY: [SFTPStatus.FAILURE, "Directory not empty"],
  EISDIR: [SFTPStatus.FAILURE, "Is a directory"],
  ENOTDIR: [SFTPStatus.NO_SUCH_FILE, "Not a directory"],
  ENOSPC: [SFTPStatus.FAILURE, "No space left on device"],
  EDQUOT: [SFTPStatus.FAILURE, "Disk quota exceeded"],
  ELOOP: [SFTPStatus.NO_SUCH_FILE, "Too many levels of symbolic links"],
  EXDEV: [SFTPStatus.FAILURE, "Cross-device link"],
  EINVAL: [SFTPStatus.BAD_MESSAGE, "Invalid argument"],
  ENAMETOOLONG: [SFTPStatus.BAD_MESSAGE, "File name too long"],
  ENOSYS: [SFTPStatus.OP_UNSUPPORTED, "Operation unsupported"],
  EOPNOTSUPP: [SFTPStatus.OP_UNSUPPORTED, "Operation unsupported"],
  ENOTSUP: [SFTPStatus.OP_UNSUPPORTED, "Operation unsupported"],
  EILSEQ: [SFTPStatus.OP_UNSUPPORTED, "This server cannot name a file that is not UTF-8"],
};

/** Maps a file-system error to the SFTPError a client sees (no host paths in the message). */
function toSFTPError(e: unknown, path: string): SFTPError {
  if (e instanceof SFTPError) return e;
  const { code, name } = (e ?? {}) as { code?: string; name?: string };
  // Deno's refusal for a permission the server process was not granted (--allow-write),
  // which has no code: denied, as the system's EACCES.
  const errno = code ?? (name === "NotCapable" || name === "PermissionDenied" ? "EACCES" : "");
  const [status, message] = ERRNO[errno] ?? [SFTPStatus.FAILURE, "Failure"];
  return new SFTPError(status, message, { path, cause: e });
}

const outside = (path: string) =>
  new SFTPError(SFTPStatus.PERMISSION_DENIED, "Path leads outside the served directory", { path });
const changed = (path: string) =>
  new SFTPError(SFTPStatus.FAILURE, "The path changed while it was being used", { path });
const readOnlyError = (path: string) =>
  new SFTPError(SFTPStatus.PERMISSION_DENIED, "Read-only file system", { path });

interface Resolved {
  /** The host path to operate on. */
  readonly local: string;
  /** The final component is a symlink that could not be resolved (dangling). */
  readonly dangling?: boolean;
  /** `local`'s lstat, when resolving took one and found no symlink there. */
  readonly st?: fs.Stats;
}

/**
 * Whether a client's symlink `target` may be stored as given: relative, without a ".."
 * (and, on a host that separates with "\\" too, without "\\" or ":"). Such a link only
 * descends from its directory, wherever that directory is moved, so it cannot lead out of
 * the root; with a "..", the operating system climbs from where a link on the way points
 * ("up/.." with `up -> ..`), and a link moved up a level climbs out.
 */
function keptAsGiven(target: string, hostSep: string): boolean {
  if (target.startsWith("/") || (hostSep !== "/" && /[\\:]/.test(target))) return false;
  return !target.split("/").includes("..");
}

/**
 * `name` (one component of a client's path, which SFTP separates with "/" only) joined to
 * the host directory `parent` — or undefined when the host would read it as more than one
 * entry of `parent`: on Windows "\\" separates too and ":" names a drive or a stream, so
 * "..\\..\\x" would climb out of the root.
 *
 * @example
 * ```ts
 * import * as path from "node:path";
 * import { childOf } from "./fs_backend.ts";
 * console.log(childOf(path.win32, "C:\\srv", "a.txt")); // "C:\\srv\\a.txt"
 * console.log(childOf(path.win32, "C:\\srv", "..\\..\\x")); // undefined
 * ```
 */
export function childOf(
  hostPath: Pick<typeof nodePath, "join" | "dirname" | "basename" | "sep">,
  parent: string,
  name: string,
): string | undefined {
  if (unsafeEntryName(name) !== undefined) return undefined;
  if (hostPath.sep === "\\" && /[\\:]/.test(name)) return undefined;
  const candidate = hostPath.join(parent, name);
  if (
    hostPath.dirname(candidate) !== hostPath.join(parent) || hostPath.basename(candidate) !== name
  ) {
    return undefined;
  }
  return candidate;
}

/**
 * The local file system under `root`, as an SFTP backend.
 *
 * @example Serve a directory read-only
 * ```ts
 * import { tmpdir } from "node:os";
 * import { generatePrivateKey, listen, FsBackend } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: (user, password) => user === "drop" && password === "s3cret",
 *   sftp: { backend: new FsBackend({ root: tmpdir(), readOnly: true }) },
 * });
 * console.log(server.address.port > 0); // true
 * ```
 */
export class FsBackend implements SFTPBackend<FsHandle> {
  readonly #rootGiven: string;
  readonly #readOnly: boolean;
  readonly #home: string;
  readonly #umask: number;
  readonly #modeMask: number;
  readonly #allowOwnership: boolean;
  readonly #openSpecialFiles: boolean;
  readonly #syncLookups: boolean;
  /** The process-wide lock, or one of its own for a backend of the application's own files. */
  readonly #lock: NamespaceLock;
  #root: Promise<string> | undefined;
  #names: Promise<{ users: Map<number, string>; groups: Map<number, string> }> | undefined;
  /** Read buffers, reused once their replies went out (fresh 256 KiB buffers cost page faults). */
  readonly #pool = new BufferPool(SERVER_MAX_READ, 16);

  /** Serves `options.root`. */
  constructor(options: FsBackendOptions) {
    if (!options.root) throw new RangeError("FsBackend needs a root directory");
    this.#rootGiven = hostPathLib.resolve(options.root);
    this.#readOnly = options.readOnly ?? false;
    this.#home = normalizePath(resolvePath("/", options.home ?? "/"));
    this.#umask = options.umask ?? 0o022;
    this.#allowOwnership = options.allowOwnership ?? false;
    this.#openSpecialFiles = options.openSpecialFiles ?? false;
    this.#syncLookups = options.syncLookups ?? true;
    this.#lock = this.#openSpecialFiles ? new NamespaceLock() : NAMESPACE;
    this.#modeMask = this.#allowOwnership ? 0o7777 : 0o1777;
  }

  /**
   * The real path of the root (symlinks in it resolved). A root that is not there (a
   * per-user root not made yet) is a plain failure to the client, never the host path,
   * and is looked for again by the next request.
   */
  #realRoot(): Promise<string> {
    return (this.#root ??= hostFs.realpath(this.#rootGiven).catch(() => {
      this.#root = undefined;
      throw new SFTPError(SFTPStatus.FAILURE, "The served directory is not available");
    }));
  }

  /** A lookup's lstat: at once, or through the thread pool (see `syncLookups`). */
  async #lstatHost(p: string): Promise<fs.Stats> {
    return this.#syncLookups ? hostFsSync.lstat(p) : await hostFs.lstat(p);
  }

  /** A lookup's realpath: at once, or through the thread pool (see `syncLookups`). */
  async #realpathHost(p: string): Promise<string> {
    return this.#syncLookups ? hostFsSync.realpath(p) : await hostFs.realpath(p);
  }

  #inside(root: string, real: string): boolean {
    return real === root || real.startsWith(root.endsWith("/") ? root : root + "/");
  }

  /** The client path as an absolute path inside the root ("/..." form). */
  #virtual(path: string): string {
    return resolvePath(this.#home, path === "" ? "." : path);
  }

  /**
   * Resolves a client path to a host path inside the root. Intermediate
   * components are resolved through realpath and must stay inside; the final
   * one is followed when `follow` (and must then stay inside too).
   */
  async #resolve(path: string, follow: boolean): Promise<Resolved> {
    const root = await this.#realRoot();
    const v = this.#virtual(path);
    if (v === "/") return { local: root };
    const name = v.slice(v.lastIndexOf("/") + 1);
    const parentV = v.slice(0, v.lastIndexOf("/")) || "/";
    let parent: string;
    try {
      parent = await this.#realpathHost(hostPathLib.join(root, parentV));
    } catch (e) {
      throw toSFTPError(e, path);
    }
    if (!this.#inside(root, parent)) throw outside(path);
    const candidate = childOf(hostPathLib, parent, name);
    if (candidate === undefined) throw outside(path);
    if (!follow) return { local: candidate };
    let st: fs.Stats;
    try {
      st = await this.#lstatHost(candidate);
    } catch {
      return { local: candidate };
    }
    if (!st.isSymbolicLink()) return { local: candidate, st };
    let real: string;
    try {
      real = await this.#realpathHost(candidate);
    } catch {
      return { local: candidate, dangling: true };
    }
    if (!this.#inside(root, real)) throw outside(path);
    return { local: real };
  }

  async #existing(path: string, follow: boolean): Promise<string> {
    const r = await this.#resolve(path, follow);
    if (r.dangling) throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
    return r.local;
  }

  #writable(path: string): void {
    if (this.#readOnly) throw readOnlyError(path);
  }

  /**
   * The attributes to apply to an entry now `st`, before any is: the mode
   * masked, an owner or group change refused unless allowed (setting the
   * ones it has is no change, and is dropped).
   */
  #vet(a: FileAttributes, st: fs.Stats, path: string): FileAttributes {
    const out: { -readonly [K in keyof FileAttributes]: FileAttributes[K] } = { ...a };
    if (out.permissions !== undefined) out.permissions &= this.#modeMask;
    if (out.uid !== undefined && out.gid !== undefined && !this.#allowOwnership) {
      if (out.uid !== st.uid || out.gid !== st.gid) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Changing the owner is not allowed", {
          path,
        });
      }
      delete out.uid;
      delete out.gid;
    }
    return out;
  }

  /** Host path back to the client's view ("/..." under the root), or undefined if outside. */
  async #toVirtual(local: string): Promise<string | undefined> {
    const root = await this.#realRoot();
    if (!this.#inside(root, local)) return undefined;
    return "/" + hostPathLib.relative(root, local).split(hostPathLib.sep).filter(Boolean).join("/");
  }

  // ---- files ----

  /** Opens a file. */
  open(path: string, flags: number, attrs: FileAttributes): Promise<FsHandle> {
    return this.#lock.shared(() => this.#open(path, flags, attrs));
  }

  async #open(path: string, flags: number, attrs: FileAttributes): Promise<FsHandle> {
    const writes = flags & (OpenFlags.WRITE | OpenFlags.APPEND | OpenFlags.CREAT | OpenFlags.TRUNC);
    if (writes) this.#writable(path);
    const r = await this.#resolve(path, true);
    // The application's own files: a link whose target realpath cannot name (/dev/stdout
    // to a pipe) is opened as the process would open it.
    const through = r.dangling === true && this.#openSpecialFiles;
    if (r.dangling && !through) {
      // Nothing to read there; creating through a dangling link would create its target,
      // wherever it points.
      if (!(flags & OpenFlags.CREAT)) {
        throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
      }
      throw new SFTPError(
        SFTPStatus.PERMISSION_DENIED,
        "Refusing to open through a dangling symbolic link",
        { path },
      );
    }
    const read = (flags & OpenFlags.READ) !== 0;
    const write = (flags & (OpenFlags.WRITE | OpenFlags.APPEND)) !== 0;
    let f = read && write ? C.O_RDWR : write ? C.O_WRONLY : C.O_RDONLY;
    if (flags & OpenFlags.APPEND) f |= C.O_APPEND;
    if (flags & OpenFlags.CREAT) f |= C.O_CREAT;
    if (flags & OpenFlags.TRUNC) f |= C.O_TRUNC;
    if (flags & OpenFlags.EXCL) f |= C.O_EXCL;
    // The final component was resolved already: refuse a symlink swapped in since. A FIFO
    // must not block the open (it would hold a thread of the pool, and the lock, until a
    // writer came): it is refused below, as every entry that is not a file.
    f |= (through ? 0 : C.O_NOFOLLOW) | (this.#openSpecialFiles ? 0 : C.O_NONBLOCK);
    const mode = (attrs.permissions ?? 0o666) & this.#modeMask & ~this.#umask;
    let fh: fsp.FileHandle;
    try {
      fh = await hostFs.open(r.local, f, mode);
    } catch (e) {
      throw toSFTPError(e, path);
    }
    let stream: boolean;
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new SFTPError(SFTPStatus.FAILURE, "Is a directory", { path });
      if (!st.isFile() && !this.#openSpecialFiles) {
        throw new SFTPError(SFTPStatus.FAILURE, "Not a regular file", { path });
      }
      stream = !st.isFile() && !st.isBlockDevice();
    } catch (e) {
      await fh.close().catch(() => {});
      throw toSFTPError(e, path);
    }
    const h: Handle = { kind: "file", fh, local: r.local, flags, stream };
    return h;
  }

  /** Reads up to `length` bytes at `offset`. */
  async read(handle: FsHandle, offset: number, length: number): Promise<Uint8Array | null> {
    const h = fileOf(handle);
    const buf = this.#pool.allocate(length);
    try {
      const { bytesRead } = await h.fh.read(buf, 0, length, h.stream ? null : offset);
      if (bytesRead > 0) return buf.subarray(0, bytesRead);
      this.#pool.release(buf);
      return null;
    } catch (e) {
      this.#pool.release(buf);
      throw toSFTPError(e, h.local);
    }
  }

  /** Takes back a buffer {@link read} returned (the engine calls this once it was sent). */
  release(data: Uint8Array): void {
    this.#pool.release(data);
  }

  /** Writes all of `data` at `offset` (at the end for append handles). */
  async write(handle: FsHandle, offset: number, data: Uint8Array): Promise<void> {
    const h = fileOf(handle);
    try {
      for (let w = 0; w < data.length;) {
        const at = h.stream ? null : offset + w;
        const { bytesWritten } = await h.fh.write(data, w, data.length - w, at);
        w += bytesWritten;
      }
    } catch (e) {
      throw toSFTPError(e, "");
    }
  }

  /** Closes a file or directory handle. */
  async close(handle: FsHandle): Promise<void> {
    const h = handle as Handle;
    try {
      if (h.kind === "file") await h.fh.close();
      else await h.dir.close();
    } catch (e) {
      throw toSFTPError(e, "");
    }
  }

  /** Attributes of an open file. */
  async fstat(handle: FsHandle): Promise<FileAttributes> {
    try {
      return attrsOf(await fileOf(handle).fh.stat());
    } catch (e) {
      throw toSFTPError(e, "");
    }
  }

  /** Changes attributes of an open file. */
  async fsetstat(handle: FsHandle, attrs: FileAttributes): Promise<void> {
    this.#writable("");
    const fh = fileOf(handle).fh;
    try {
      await this.#applyHandle(fh, this.#vet(attrs, await fh.stat(), ""));
    } catch (e) {
      throw toSFTPError(e, "");
    }
  }

  /** Flushes a file to disk. */
  async fsync(handle: FsHandle): Promise<void> {
    try {
      await fileOf(handle).fh.sync();
    } catch (e) {
      throw toSFTPError(e, "");
    }
  }

  // ---- directories ----

  /** Opens a directory. */
  opendir(path: string): Promise<FsHandle> {
    return this.#lock.shared(() => this.#opendir(path));
  }

  async #opendir(path: string): Promise<FsHandle> {
    const local = await this.#existing(path, true);
    let dir: HostDir;
    let before: fs.Stats;
    try {
      before = await hostFs.lstat(local);
      if (!before.isDirectory()) {
        throw Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
      }
      dir = await hostFs.opendir(local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
    // opendir follows a symlink swapped in since the check: what was opened must be
    // what was checked, still there.
    if (!(await isSameDirectory(local, before))) {
      await dir.close().catch(() => {});
      throw changed(path);
    }
    const h: Handle = { kind: "dir", dir, local, dev: before.dev, ino: before.ino, started: false };
    return h;
  }

  /** The next entries (with ".", ".." first, as OpenSSH's server), lstat'ed. */
  readdir(handle: FsHandle): Promise<readonly DirEntry[] | null> {
    return this.#lock.shared(() => this.#readdir(handle));
  }

  async #readdir(handle: FsHandle): Promise<readonly DirEntry[] | null> {
    const h = handle as Handle;
    if (h.kind !== "dir") throw new SFTPError(SFTPStatus.FAILURE, "Not a directory handle");
    const names: string[] = [];
    if (!h.started) names.push(".", "..");
    h.started = true;
    try {
      while (names.length < READDIR_BATCH) {
        const name = await h.dir.read();
        if (name === null) break;
        names.push(name);
      }
    } catch (e) {
      throw toSFTPError(e, "");
    }
    if (names.length === 0) return null;
    const { users, groups } = await this.#idNames();
    const now = Math.floor(Date.now() / 1000);
    const root = await this.#realRoot();
    // Entries are lstat'ed by path: if the client moved the directory away and put
    // something else (a symlink out) at its path, they would be another's.
    const here = async () => {
      if (!(await isSameDirectory(h.local, h))) throw changed("");
    };
    await here();
    const out: DirEntry[] = [];
    await Promise.all(names.map(async (name, i) => {
      // ".." of the root is the root itself: nothing about the host outside is shown.
      const p = name === ".."
        ? (h.local === root ? root : hostPathLib.dirname(h.local))
        : hostPathLib.join(h.local, name);
      try {
        const attrs = await this.#attrsSeen(p, await this.#lstatHost(p));
        const longname = formatLongname(name, attrs, {
          now,
          ...(users.has(attrs.uid!) ? { user: users.get(attrs.uid!)! } : {}),
          ...(groups.has(attrs.gid!) ? { group: groups.get(attrs.gid!)! } : {}),
        });
        out[i] = { filename: name, attrs, longname };
      } catch { /* vanished meanwhile: leave it out */ }
    }));
    await here();
    return out.filter(Boolean);
  }

  /** Creates a directory. */
  mkdir(path: string, attrs: FileAttributes): Promise<void> {
    return this.#lock.exclusive(() => this.#mkdir(path, attrs));
  }

  async #mkdir(path: string, attrs: FileAttributes): Promise<void> {
    this.#writable(path);
    const { local } = await this.#resolve(path, false);
    try {
      await hostFs.mkdir(local, (attrs.permissions ?? 0o777) & this.#modeMask & ~this.#umask);
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  /** Removes an empty directory. */
  rmdir(path: string): Promise<void> {
    return this.#lock.exclusive(() => this.#rmdir(path));
  }

  async #rmdir(path: string): Promise<void> {
    this.#writable(path);
    if (this.#virtual(path) === "/") {
      throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Cannot remove the root", { path });
    }
    const { local } = await this.#resolve(path, false);
    try {
      await hostFs.rmdir(local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  // ---- paths ----

  /** Attributes, following symlinks (inside the root only). */
  stat(path: string): Promise<FileAttributes> {
    return this.#lock.shared(() => this.#stat(path));
  }

  async #stat(path: string): Promise<FileAttributes> {
    // The resolved path has no symlink left in it: lstat, so that one swapped in since
    // is not followed (resolving took that lstat already for a path without a link: the
    // lock keeps this server's own changes out in between).
    const r = await this.#resolve(path, true);
    if (r.dangling) throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
    let st: fs.Stats;
    try {
      st = r.st ?? await this.#lstatHost(r.local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
    if (st.isSymbolicLink()) throw changed(path);
    return attrsOf(st);
  }

  /** Attributes of the entry itself. */
  lstat(path: string): Promise<FileAttributes> {
    return this.#lock.shared(() => this.#lstat(path));
  }

  async #lstat(path: string): Promise<FileAttributes> {
    const { local } = await this.#resolve(path, false);
    try {
      return await this.#attrsSeen(local, await this.#lstatHost(local));
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  /**
   * An entry's attributes as the client sees them: a symbolic link's size is the length of
   * the target readlink shows it (a client path); the host path stored in a link made here
   * would tell the served directory's length. A link that leads outside shows 0.
   */
  async #attrsSeen(
    local: string,
    st: Awaited<ReturnType<typeof hostFs.lstat>>,
  ): Promise<FileAttributes> {
    const attrs = attrsOf(st);
    if (!st.isSymbolicLink()) return attrs;
    const target = await hostFs.readlink(local).catch(() => undefined);
    if (target === undefined || !hostPathLib.isAbsolute(target)) return attrs;
    const v = await this.#toVirtual(hostPathLib.resolve(target));
    return { ...attrs, size: v === undefined ? 0 : utf8.encode(v).length };
  }

  /** Changes attributes, following symlinks (inside the root only). */
  setstat(path: string, attrs: FileAttributes): Promise<void> {
    return this.#lock.shared(() => this.#setstat(path, attrs));
  }

  async #setstat(path: string, attrs: FileAttributes): Promise<void> {
    this.#writable(path);
    await this.#applyTo(await this.#existing(path, true), attrs, path);
  }

  /**
   * Changes attributes of the entry itself. On a symlink only its times and
   * owner can change: a size or mode is refused before anything is changed
   * (truncate and chmod would act on the link's target, wherever it is).
   */
  lsetstat(path: string, attrs: FileAttributes): Promise<void> {
    return this.#lock.shared(() => this.#lsetstat(path, attrs));
  }

  async #lsetstat(path: string, attrs: FileAttributes): Promise<void> {
    this.#writable(path);
    const { local } = await this.#resolve(path, false);
    let st: fs.Stats;
    try {
      st = await hostFs.lstat(local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
    if (!st.isSymbolicLink()) return await this.#applyTo(local, attrs, path);
    if (attrs.size !== undefined || attrs.permissions !== undefined) {
      throw new SFTPError(
        SFTPStatus.OP_UNSUPPORTED,
        "Cannot change a symbolic link's size or mode",
        { path },
      );
    }
    const a = this.#vet(attrs, st, path);
    try {
      if (a.uid !== undefined && a.gid !== undefined) await hostFs.lchown(local, a.uid, a.gid);
      if (a.atime !== undefined && a.mtime !== undefined) {
        await hostFs.lutimes(local, a.atime, a.mtime);
      }
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  /**
   * Applies `a` to the file or directory at `local` (checked not to be a
   * symlink) through a descriptor opened with O_NOFOLLOW: a symlink swapped in
   * since the check is refused, not followed. O_NONBLOCK keeps a FIFO swapped
   * in from blocking the open; write access is asked for only to change the size.
   */
  async #applyTo(local: string, attrs: FileAttributes, path: string): Promise<void> {
    let fh: fsp.FileHandle;
    let a: FileAttributes;
    try {
      const st = await hostFs.lstat(local);
      if (st.isSymbolicLink()) {
        // `local` was resolved through any link: a link here now was swapped in since
        // (a rename from another session). Following it could reach outside the root.
        throw new SFTPError(SFTPStatus.FAILURE, "The path changed while it was being used", {
          path,
        });
      }
      a = this.#vet(attrs, st, path);
      if (!st.isFile() && !st.isDirectory()) {
        // Devices, FIFOs, sockets: opening one can have effects of its own, and changing
        // the mode or size by path would follow a link swapped in meanwhile. Owner and
        // times go through the calls that never follow a link; mode and size are refused.
        return await this.#applySpecial(local, a, path);
      }
      const access = a.size !== undefined ? C.O_WRONLY : C.O_RDONLY;
      try {
        fh = await hostFs.open(local, access | C.O_NOFOLLOW | C.O_NONBLOCK);
      } catch (e) {
        // A server user that may change a mode but not read the file (its owner, mode 0):
        // by path, after checking again that it is no symlink.
        const code = (e as { code?: string }).code;
        if ((code !== "EACCES" && code !== "EPERM") || a.size !== undefined) throw e;
        if ((await hostFs.lstat(local)).isSymbolicLink()) throw e;
        return await this.#applyByPath(local, a);
      }
    } catch (e) {
      throw toSFTPError(e, path);
    }
    try {
      await this.#applyHandle(fh, a);
    } catch (e) {
      throw toSFTPError(e, path);
    } finally {
      await fh.close().catch(() => {});
    }
  }

  /** Applies vetted attributes through an open descriptor. */
  async #applyHandle(fh: fsp.FileHandle, a: FileAttributes): Promise<void> {
    if (a.size !== undefined) await fh.truncate(a.size);
    if (a.permissions !== undefined) await fh.chmod(a.permissions);
    if (a.uid !== undefined && a.gid !== undefined) await fh.chown(a.uid, a.gid);
    if (a.atime !== undefined && a.mtime !== undefined) await fh.utimes(a.atime, a.mtime);
  }

  /** {@link #applyTo} for a device, FIFO or socket: owner and times only, never following. */
  async #applySpecial(local: string, a: FileAttributes, path: string): Promise<void> {
    if (a.size !== undefined || a.permissions !== undefined) {
      throw new SFTPError(
        SFTPStatus.PERMISSION_DENIED,
        "Changing the size or mode of a device, FIFO or socket is not supported",
        { path },
      );
    }
    if (a.uid !== undefined && a.gid !== undefined) await hostFs.lchown(local, a.uid, a.gid);
    if (a.atime !== undefined && a.mtime !== undefined) {
      await hostFs.lutimes(local, a.atime, a.mtime);
    }
  }

  async #applyByPath(local: string, a: FileAttributes): Promise<void> {
    if (a.size !== undefined) await hostFs.truncate(local, a.size);
    if (a.permissions !== undefined) await hostFs.chmod(local, a.permissions);
    if (a.uid !== undefined && a.gid !== undefined) await hostFs.chown(local, a.uid, a.gid);
    if (a.atime !== undefined && a.mtime !== undefined) {
      await hostFs.utimes(local, a.atime, a.mtime);
    }
  }

  /** Removes a file or symlink. */
  remove(path: string): Promise<void> {
    return this.#lock.exclusive(() => this.#remove(path));
  }

  async #remove(path: string): Promise<void> {
    this.#writable(path);
    const { local } = await this.#resolve(path, false);
    try {
      await hostFs.unlink(local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  /** The canonical path (a missing final component is allowed, as OpenSSH's). */
  realpath(path: string): Promise<string> {
    return this.#lock.shared(() => this.#realpath(path));
  }

  async #realpath(path: string): Promise<string> {
    const r = await this.#resolve(path, true);
    if (r.dangling) throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
    let real = r.local;
    try {
      real = await hostFs.realpath(r.local);
    } catch { /* a missing final component: keep it */ }
    const v = await this.#toVirtual(real);
    if (v === undefined) throw outside(path);
    return v;
  }

  /** Renames without replacing an existing entry (SFTP v3). */
  rename(oldPath: string, newPath: string): Promise<void> {
    return this.#lock.exclusive(() => this.#rename(oldPath, newPath));
  }

  async #rename(oldPath: string, newPath: string): Promise<void> {
    this.#writable(newPath);
    const from = (await this.#resolve(oldPath, false)).local;
    const to = (await this.#resolve(newPath, false)).local;
    try {
      const st = await hostFs.lstat(from);
      if (st.isFile()) {
        // link + unlink: fails atomically when the target exists (as OpenSSH's sftp-server).
        try {
          await linkChecked(from, to, st);
          await hostFs.unlink(from);
          return;
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === "EEXIST") throw e;
          // Hard links not possible here (EXDEV, EPERM on some file systems): fall back.
        }
      }
      let exists = true;
      await hostFs.lstat(to).catch(() => (exists = false));
      if (exists) throw Object.assign(new Error("exists"), { code: "EEXIST" });
      await hostFs.rename(from, to);
    } catch (e) {
      throw toSFTPError(e, oldPath);
    }
  }

  /** Renames, replacing the target (POSIX rename). */
  posixRename(oldPath: string, newPath: string): Promise<void> {
    return this.#lock.exclusive(() => this.#posixRename(oldPath, newPath));
  }

  async #posixRename(oldPath: string, newPath: string): Promise<void> {
    this.#writable(newPath);
    const from = (await this.#resolve(oldPath, false)).local;
    const to = (await this.#resolve(newPath, false)).local;
    try {
      await hostFs.rename(from, to);
    } catch (e) {
      throw toSFTPError(e, oldPath);
    }
  }

  /**
   * A symlink's target: an absolute one as the client path, a relative one as
   * it is; one that leads outside the root is refused, not shown.
   */
  readlink(path: string): Promise<string> {
    return this.#lock.shared(() => this.#readlink(path));
  }

  async #readlink(path: string): Promise<string> {
    const { local } = await this.#resolve(path, false);
    let target: string;
    try {
      target = await hostFs.readlink(local);
    } catch (e) {
      throw toSFTPError(e, path);
    }
    // A target outside the root (a link the host put there) is not shown: it is a host path.
    const v = await this.#toVirtual(hostPathLib.resolve(hostPathLib.dirname(local), target));
    if (v === undefined) {
      throw new SFTPError(
        SFTPStatus.PERMISSION_DENIED,
        "Symbolic link leads outside the served directory",
        { path },
      );
    }
    return hostPathLib.isAbsolute(target) ? v : target;
  }

  /**
   * Creates a symlink that does not lead out of the root: a relative target without ".."
   * is stored as given; any other is resolved inside the root (".." stopping there) and
   * stored as that absolute host path, which readlink shows as the client path ("../x"
   * made in "/d" reads back as "/x").
   */
  symlink(targetPath: string, linkPath: string): Promise<void> {
    return this.#lock.exclusive(() => this.#symlink(targetPath, linkPath));
  }

  async #symlink(targetPath: string, linkPath: string): Promise<void> {
    this.#writable(linkPath);
    if (targetPath === "") {
      throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "A symbolic link needs a target", {
        path: linkPath,
      });
    }
    const { local } = await this.#resolve(linkPath, false);
    const root = await this.#realRoot();
    // The link's directory as the client sees it (its real path: links in it resolved).
    const dir = (await this.#toVirtual(hostPathLib.dirname(local))) ?? "/";
    const target = keptAsGiven(targetPath, hostPathLib.sep)
      ? targetPath
      : hostPathLib.join(root, resolvePath(dir, targetPath));
    try {
      await hostFs.symlink(target, local);
    } catch (e) {
      throw toSFTPError(e, linkPath);
    }
  }

  /**
   * Creates a hard link to a file. A symlink is refused: link(2) follows one
   * on macOS and FreeBSD, which would link a file the symlink leads to,
   * wherever it is.
   */
  hardlink(oldPath: string, newPath: string): Promise<void> {
    return this.#lock.exclusive(() => this.#hardlink(oldPath, newPath));
  }

  async #hardlink(oldPath: string, newPath: string): Promise<void> {
    this.#writable(newPath);
    const from = (await this.#resolve(oldPath, false)).local;
    const to = (await this.#resolve(newPath, false)).local;
    try {
      const st = await hostFs.lstat(from);
      if (st.isSymbolicLink()) {
        throw new SFTPError(
          SFTPStatus.PERMISSION_DENIED,
          "Cannot make a hard link to a symbolic link",
          { path: oldPath },
        );
      }
      await linkChecked(from, to, st);
    } catch (e) {
      throw toSFTPError(e, newPath);
    }
  }

  // ---- extensions ----

  /** File system figures. */
  statvfs(path: string): Promise<StatVFS> {
    return this.#lock.shared(() => this.#statvfs(path));
  }

  async #statvfs(path: string): Promise<StatVFS> {
    const local = await this.#existing(path, true);
    return await this.#vfs(local, path);
  }

  /** File system figures for an open file. */
  fstatvfs(handle: FsHandle): Promise<StatVFS> {
    const h = fileOf(handle);
    return this.#lock.shared(() => this.#vfs(h.local, ""));
  }

  async #vfs(local: string, path: string): Promise<StatVFS> {
    try {
      const s = await hostFs.statfs(local);
      return {
        bsize: s.bsize,
        frsize: s.bsize,
        blocks: s.blocks,
        bfree: s.bfree,
        bavail: s.bavail,
        files: s.files,
        ffree: s.ffree,
        favail: s.ffree,
        fsid: 0,
        flag: this.#readOnly ? 1 : 0,
        namemax: 255,
      };
    } catch (e) {
      throw toSFTPError(e, path);
    }
  }

  /** "~" is the home directory; "~user" is refused (one jailed tree per session). */
  expandPath(path: string): Promise<string> {
    if (path === "~" || path.startsWith("~/")) {
      return this.realpath(joinPath(this.#home, path.slice(2)));
    }
    if (path.startsWith("~")) {
      return Promise.reject(new SFTPError(SFTPStatus.NO_SUCH_FILE, "Unknown user", { path }));
    }
    return this.realpath(path);
  }

  /** The session's home directory ("" only). */
  homeDirectory(username: string): Promise<string> {
    if (username !== "") {
      return Promise.reject(new SFTPError(SFTPStatus.NO_SUCH_FILE, "Unknown user"));
    }
    return Promise.resolve(this.#home);
  }

  /** Names from /etc/passwd and /etc/group ("" where unknown). */
  async usersGroupsById(
    uids: readonly number[],
    gids: readonly number[],
  ): Promise<{ users: string[]; groups: string[] }> {
    const { users, groups } = await this.#idNames();
    return {
      users: uids.map((u) => users.get(u) ?? ""),
      groups: gids.map((g) => groups.get(g) ?? ""),
    };
  }

  #idNames(): Promise<{ users: Map<number, string>; groups: Map<number, string> }> {
    const parse = async (file: string) => {
      const m = new Map<number, string>();
      try {
        for (const line of (await fsp.readFile(file, "utf8")).split("\n")) {
          const [name, , id] = line.split(":");
          if (name && id !== undefined && /^\d+$/.test(id)) m.set(Number(id), name);
        }
      } catch { /* not readable here: numbers only */ }
      return m;
    };
    return (this.#names ??= Promise.all([parse("/etc/passwd"), parse("/etc/group")]).then((
      [users, groups],
    ) => ({ users, groups })));
  }
}

/**
 * The backend a `listen({ sftp })` or `listen({ scp })` configuration names: its `backend`,
 * or an FsBackend over its `root` (undefined when it has neither).
 */
export function configuredBackend(config: {
  readonly root?: string;
  readonly readOnly?: boolean;
  readonly home?: string;
  readonly allowOwnership?: boolean;
  readonly syncLookups?: boolean;
  // deno-lint-ignore no-explicit-any
  readonly backend?: SFTPBackend<any>;
}): SFTPBackend<unknown> | undefined {
  // readOnly holds for a backend too (it was left writable, with nothing said).
  if (config.backend) return config.readOnly ? readOnlyBackend(config.backend) : config.backend;
  if (config.root === undefined) return undefined;
  return new FsBackend({
    root: config.root,
    ...(config.readOnly !== undefined ? { readOnly: config.readOnly } : {}),
    ...(config.home !== undefined ? { home: config.home } : {}),
    ...(config.allowOwnership !== undefined ? { allowOwnership: config.allowOwnership } : {}),
    ...(config.syncLookups !== undefined ? { syncLookups: config.syncLookups } : {}),
  }) as SFTPBackend<unknown>;
}

/**
 * Fails, before a session is served, when a configuration's `root` (and no `backend`) is not
 * a directory this process can reach: the client is told only that the served directory is
 * not available (never the host path), and the error's `cause` — the system's or Deno's
 * own, naming `--allow-read` — reaches the server's log with it, as sshd logs an unusable
 * ChrootDirectory; every request failing alike told the operator nothing.
 */
export async function checkServedRoot(config: {
  readonly root?: string;
  // deno-lint-ignore no-explicit-any
  readonly backend?: SFTPBackend<any>;
}): Promise<void> {
  if (config.backend || config.root === undefined) return;
  const root = hostPathLib.resolve(config.root);
  // Without read access (Deno), as a run without a terminal fails: never a prompt.
  let cause: unknown = readDenial(root);
  const st = cause ? undefined : await hostFs.stat(root).catch((e) => (cause = e, undefined));
  if (st?.isDirectory()) return;
  throw new Error("The served directory is not available", {
    cause: cause ?? new Error(`The served root ${JSON.stringify(config.root)} is not a directory`),
  });
}

/** Whether `local` is still the directory `was` describes (not moved away, no link in its place). */
async function isSameDirectory(
  local: string,
  was: { readonly dev: number; readonly ino: number },
): Promise<boolean> {
  const st = await hostFs.lstat(local).catch(() => undefined);
  return st !== undefined && st.isDirectory() && st.dev === was.dev && st.ino === was.ino;
}

/**
 * link(2) of `from`, checked to be the entry `st` describes: where link(2)
 * follows a final symlink (macOS, FreeBSD), one swapped in since the check
 * would link what it leads to; that link is removed again and refused.
 */
async function linkChecked(from: string, to: string, st: fs.Stats): Promise<void> {
  await hostFs.link(from, to);
  const made = await hostFs.lstat(to).catch(() => undefined);
  if (made?.dev !== st.dev || made.ino !== st.ino) {
    if (made) await hostFs.unlink(to).catch(() => {});
    throw Object.assign(new Error("the source changed"), { code: "EPERM" });
  }
}

function fileOf(handle: FsHandle): Extract<Handle, { kind: "file" }> {
  const h = handle as Handle;
  if (h.kind !== "file") throw new SFTPError(SFTPStatus.FAILURE, "Not a file handle");
  return h;
}

function attrsOf(st: fs.Stats): FileAttributes {
  return {
    size: st.size,
    uid: st.uid,
    gid: st.gid,
    permissions: st.mode,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}
