/**
 * An in-memory {@link SFTPBackend}: a whole file tree (files, directories,
 * symlinks, hard links) in JavaScript objects. For tests, and for servers
 * that serve generated content.
 *
 * @module
 */

import type { FileAttributes } from "./attrs.ts";
import type { DirEntry, SFTPBackend } from "./backend.ts";
import { OpenFlags, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";
import type { StatVFS } from "./messages.ts";
import { basename, joinPath, normalizePath, resolvePath } from "./path.ts";

interface Meta {
  mode: number; // permission bits only
  uid: number;
  gid: number;
  atime: number;
  mtime: number;
}

interface FileNode extends Meta {
  readonly kind: "file";
  data: Uint8Array;
  size: number;
  /** Names it has; with `open`, whether its contents still count against maxBytes. */
  nlink: number;
  /** Handles open on it. */
  open: number;
}

interface DirNode extends Meta {
  readonly kind: "dir";
  readonly entries: Map<string, Node>;
  parent: DirNode | undefined;
  /** Its name in `parent` (kept by renames): its path is found without searching. */
  name: string;
}

interface LinkNode extends Meta {
  readonly kind: "symlink";
  readonly target: string;
}

type Node = FileNode | DirNode | LinkNode;

/** An open file or directory of the {@link MemoryBackend} (its contents are private). */
export interface MemoryHandle {
  /** What the handle refers to. */
  readonly kind: "file" | "dir";
}

type Handle =
  | { readonly kind: "file"; readonly node: FileNode; readonly flags: number; closed: boolean }
  | {
    readonly kind: "dir";
    readonly node: DirNode;
    /** "." and ".." still to list (2, 1, then 0), then the live entries. */
    dots: number;
    readonly rest: Iterator<[string, Node]>;
  };

/** Options for {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** The session's home directory ("." resolves here; default "/"). It is created. */
  readonly home?: string;
  /** Refuse every change (SSH_FX_PERMISSION_DENIED). */
  readonly readOnly?: boolean;
  /** Owner of new files (default 0). */
  readonly uid?: number;
  /** Group of new files (default 0). */
  readonly gid?: number;
  /** Current time in ms for new files and writes (default Date.now). */
  readonly now?: () => number;
  /**
   * Total bytes held; a change beyond fails with FAILURE "No space left" (default
   * {@link MEMORY_BACKEND_MAX_BYTES}). Counted: file contents (a removed file's until its
   * last handle closes), and for each directory entry its name's length, a symlink's target
   * length and {@link MEMORY_BACKEND_ENTRY_BYTES}.
   */
  readonly maxBytes?: number;
  /** Names for users-groups-by-id and home-directory (uid → name). */
  readonly users?: ReadonlyMap<number, string>;
  /** Names for users-groups-by-id (gid → name). */
  readonly groups?: ReadonlyMap<number, string>;
}

/** Default cap on bytes held: a client writing at a huge offset cannot make us allocate more. */
export const MEMORY_BACKEND_MAX_BYTES = 256 * 1024 * 1024;
/**
 * What each directory entry counts against maxBytes besides its name (the node and its map
 * slot, roughly): empty files, directories and links cost memory too, so a client making
 * millions of them hits the cap as one writing a big file does.
 */
export const MEMORY_BACKEND_ENTRY_BYTES = 128;
/** Symlinks followed while resolving one path before ELOOP (Linux's limit). */
const MAX_SYMLINKS = 40;
/** Entries per readdir batch. */
const READDIR_BATCH = 100;

const noEnt = (path: string) => new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
const fail = (msg: string, path?: string) =>
  new SFTPError(SFTPStatus.FAILURE, msg, path === undefined ? {} : { path });
/**
 * ENOTDIR and ELOOP: "no such file", as OpenSSH's sftp-server (errno_to_portable) and
 * FsBackend report them (a client's exists("file/sub") is then false, not an error).
 */
const notDir = (path?: string) =>
  new SFTPError(SFTPStatus.NO_SUCH_FILE, "Not a directory", path === undefined ? {} : { path });
const loop = (path: string) =>
  new SFTPError(SFTPStatus.NO_SUCH_FILE, "Too many levels of symbolic links", { path });

/**
 * A file tree held in memory, served by {@link SFTPServerEngine}.
 *
 * @example Serve a tree with one file
 * ```ts
 * import { MemoryBackend } from "@sshts/ssh";
 * const fs = new MemoryBackend();
 * fs.writeFile("/docs/readme.txt", new TextEncoder().encode("hi"));
 * console.log(new TextDecoder().decode(fs.readFile("/docs/readme.txt"))); // "hi"
 * ```
 */
export class MemoryBackend implements SFTPBackend<MemoryHandle> {
  readonly #root: DirNode;
  readonly #home: string;
  readonly #readOnly: boolean;
  readonly #uid: number;
  readonly #gid: number;
  readonly #now: () => number;
  readonly #maxBytes: number;
  readonly #users: ReadonlyMap<number, string>;
  readonly #groups: ReadonlyMap<number, string>;
  #bytes = 0;

  /** Creates an empty tree (with the home directory). */
  constructor(options: MemoryBackendOptions = {}) {
    this.#uid = options.uid ?? 0;
    this.#gid = options.gid ?? 0;
    this.#now = options.now ?? (() => Date.now());
    this.#readOnly = options.readOnly ?? false;
    this.#maxBytes = options.maxBytes ?? MEMORY_BACKEND_MAX_BYTES;
    this.#users = options.users ?? new Map();
    this.#groups = options.groups ?? new Map();
    this.#root = this.#dir(0o755, undefined, "");
    this.#home = normalizePath(options.home ?? "/");
    if (!this.#home.startsWith("/")) throw new RangeError("MemoryBackend home must be absolute");
    this.#mkdirs(this.#home);
  }

  // ---- direct access for tests and embedders ----

  /** Creates or replaces a file (making parent directories). */
  writeFile(path: string, data: Uint8Array, mode = 0o644): void {
    const abs = resolvePath(this.#home, path);
    const dir = this.#mkdirs(abs.slice(0, abs.lastIndexOf("/")) || "/");
    const name = basename(abs);
    const old = dir.entries.get(name);
    if (old?.kind === "dir") throw fail("Is a directory", path);
    const f = this.#file(mode);
    this.#account(data.length + entryCost(name, f) - (old ? entryCost(name, old) : 0));
    f.data = data.slice();
    f.size = data.length;
    if (old) this.#unlinked(old, name, true);
    dir.entries.set(name, f);
  }

  /** A copy of a file's contents (following symlinks). */
  readFile(path: string): Uint8Array {
    const n = this.#resolve(path, true).node;
    if (!n) throw noEnt(path);
    if (n.kind !== "file") throw fail("Not a regular file", path);
    return n.data.slice(0, n.size);
  }

  /** Creates a directory and its parents. */
  makeDirectory(path: string): void {
    this.#mkdirs(resolvePath(this.#home, path));
  }

  /** Bytes counted against maxBytes (see {@link MemoryBackendOptions.maxBytes}). */
  get bytesHeld(): number {
    return this.#bytes;
  }

  // ---- SFTPBackend ----

  /** Opens a file. */
  open(path: string, flags: number, attrs: FileAttributes): Promise<MemoryHandle> {
    return run(() => {
      const writes = flags &
        (OpenFlags.WRITE | OpenFlags.APPEND | OpenFlags.CREAT | OpenFlags.TRUNC);
      if (writes) this.#writable(path);
      // O_CREAT|O_EXCL: any entry there, a symlink too (dangling or not), is "exists": the
      // open must not create a file where a link leads.
      if (
        (flags & OpenFlags.CREAT) && (flags & OpenFlags.EXCL) && this.#resolve(path, false).node
      ) {
        throw fail("File exists", path);
      }
      const r = this.#resolve(path, true);
      let node = r.node;
      if (!node) {
        if (!(flags & OpenFlags.CREAT)) throw noEnt(path);
        if (!r.parent) throw noEnt(path);
        const f = this.#file((attrs.permissions ?? 0o666) & 0o7777 & ~0o022);
        this.#account(entryCost(r.name, f));
        r.parent.entries.set(r.name, f);
        this.#touch(r.parent);
        node = f;
      }
      if (node.kind === "dir") throw fail("Is a directory", path);
      if (node.kind !== "file") throw fail("Not a regular file", path);
      if (flags & OpenFlags.TRUNC) {
        this.#release(node.size);
        node.size = 0;
        node.data = new Uint8Array(0);
        this.#touch(node);
      }
      node.open++;
      const h: Handle = { kind: "file", node, flags, closed: false };
      return h as MemoryHandle;
    });
  }

  /** Reads from a file. */
  read(handle: MemoryHandle, offset: number, length: number): Promise<Uint8Array | null> {
    const h = handle as Handle;
    return run(() => {
      const f = fileOf(h);
      if (!(h.kind === "file" && readable(h.flags))) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Handle not open for reading");
      }
      if (offset >= f.size) return null;
      return f.data.slice(offset, Math.min(f.size, offset + length));
    });
  }

  /** Writes to a file. */
  write(handle: MemoryHandle, offset: number, data: Uint8Array): Promise<void> {
    const h = handle as Handle;
    return run(() => {
      const f = fileOf(h);
      if (h.kind !== "file" || !writable(h.flags)) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Handle not open for writing");
      }
      const at = h.flags & OpenFlags.APPEND ? f.size : offset;
      this.#setSize(f, Math.max(f.size, at + data.length));
      f.data.set(data, at);
      this.#touch(f);
    });
  }

  /** Closes a handle; a removed file's contents go with its last handle. */
  close(handle: MemoryHandle): Promise<void> {
    const h = handle as Handle;
    if (h.kind === "file" && !h.closed) {
      h.closed = true;
      h.node.open--;
      this.#dropIfGone(h.node);
    }
    return Promise.resolve();
  }

  /** Attributes of an open file. */
  fstat(h: MemoryHandle): Promise<FileAttributes> {
    return run(() => this.#attrs(fileOf(h)));
  }

  /** Changes attributes of an open file. */
  fsetstat(h: MemoryHandle, attrs: FileAttributes): Promise<void> {
    return run(() => {
      if (this.#readOnly) throw denied();
      const f = fileOf(h);
      // As ftruncate(2): a size change needs a handle open for writing.
      if (attrs.size !== undefined && !writable((h as Handle & { kind: "file" }).flags)) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Handle not open for writing");
      }
      this.#apply(f, attrs);
    });
  }

  /** Opens a directory. */
  opendir(path: string): Promise<MemoryHandle> {
    return run(() => {
      const r = this.#resolve(path, true);
      if (!r.node) throw noEnt(path);
      if (r.node.kind !== "dir") throw notDir(path);
      // Listed as readdir asks, from the live directory (a Map iterates on across
      // changes): no copy of a large directory per handle.
      const d = r.node;
      const h: Handle = { kind: "dir", node: d, dots: 2, rest: d.entries.entries() };
      return h as MemoryHandle;
    });
  }

  /** The next directory entries. */
  readdir(handle: MemoryHandle): Promise<readonly DirEntry[] | null> {
    const h = handle as Handle;
    return run(() => {
      if (h.kind !== "dir") throw fail("Not a directory handle");
      const out: DirEntry[] = [];
      while (out.length < READDIR_BATCH && h.dots > 0) {
        const dot = h.dots-- === 2;
        out.push({
          filename: dot ? "." : "..",
          attrs: this.#attrs(dot ? h.node : h.node.parent ?? h.node),
        });
      }
      while (out.length < READDIR_BATCH) {
        const e = h.rest.next();
        if (e.done) break;
        out.push({ filename: e.value[0], attrs: this.#attrs(e.value[1]) });
      }
      return out.length === 0 ? null : out;
    });
  }

  /** Attributes, following symlinks. */
  stat(path: string): Promise<FileAttributes> {
    return run(() => {
      const n = this.#resolve(path, true).node;
      if (!n) throw noEnt(path);
      return this.#attrs(n);
    });
  }

  /** Attributes of the entry itself. */
  lstat(path: string): Promise<FileAttributes> {
    return run(() => {
      const n = this.#resolve(path, false).node;
      if (!n) throw noEnt(path);
      return this.#attrs(n);
    });
  }

  /** Changes attributes, following symlinks. */
  setstat(path: string, attrs: FileAttributes): Promise<void> {
    return run(() => {
      this.#writable(path);
      const n = this.#resolve(path, true).node;
      if (!n) throw noEnt(path);
      this.#apply(n, attrs);
    });
  }

  /** Changes attributes of the entry itself. */
  lsetstat(path: string, attrs: FileAttributes): Promise<void> {
    return run(() => {
      this.#writable(path);
      const n = this.#resolve(path, false).node;
      if (!n) throw noEnt(path);
      // A link's mode and size are not its own (Linux has no lchmod), as FsBackend.
      if (n.kind === "symlink" && (attrs.size !== undefined || attrs.permissions !== undefined)) {
        throw new SFTPError(
          SFTPStatus.OP_UNSUPPORTED,
          "Cannot change a symbolic link's size or mode",
          { path },
        );
      }
      this.#apply(n, attrs);
    });
  }

  /** Removes a file or symlink. */
  remove(path: string): Promise<void> {
    return run(() => {
      this.#writable(path);
      const r = this.#resolve(path, false);
      if (!r.node || !r.parent) throw noEnt(path);
      if (r.node.kind === "dir") throw fail("Is a directory", path);
      r.parent.entries.delete(r.name);
      this.#unlinked(r.node, r.name);
      this.#touch(r.parent);
    });
  }

  /** Creates a directory. */
  mkdir(path: string, attrs: FileAttributes): Promise<void> {
    return run(() => {
      this.#writable(path);
      const r = this.#resolve(path, false);
      if (!r.parent) throw noEnt(path);
      if (r.node) throw fail("File exists", path);
      // mkdir(2) drops setuid and setgid (Linux); the sticky bit stays.
      const d = this.#dir((attrs.permissions ?? 0o777) & 0o1777 & ~0o022, r.parent, r.name);
      this.#account(entryCost(r.name, d));
      r.parent.entries.set(r.name, d);
      this.#touch(r.parent);
    });
  }

  /** Removes an empty directory. */
  rmdir(path: string): Promise<void> {
    return run(() => {
      this.#writable(path);
      const r = this.#resolve(path, false);
      if (!r.node || !r.parent) throw r.node ? fail("Cannot remove the root", path) : noEnt(path);
      if (r.node.kind !== "dir") throw notDir(path);
      if (r.node.entries.size > 0) throw fail("Directory not empty", path);
      r.parent.entries.delete(r.name);
      this.#release(entryCost(r.name, r.node));
      this.#touch(r.parent);
    });
  }

  /** Canonical path (a missing final component is allowed, as OpenSSH's). */
  realpath(path: string): Promise<string> {
    return run(() => this.#canonical(path));
  }

  /** Renames, refusing to replace an existing entry. */
  rename(oldPath: string, newPath: string): Promise<void> {
    return run(() => this.#rename(oldPath, newPath, false));
  }

  /** Renames, replacing the target. */
  posixRename(oldPath: string, newPath: string): Promise<void> {
    return run(() => this.#rename(oldPath, newPath, true));
  }

  /** A symlink's target. */
  readlink(path: string): Promise<string> {
    return run(() => {
      const n = this.#resolve(path, false).node;
      if (!n) throw noEnt(path);
      // readlink(2)'s EINVAL: "bad message" from OpenSSH's sftp-server and FsBackend.
      if (n.kind !== "symlink") {
        throw new SFTPError(SFTPStatus.BAD_MESSAGE, "Not a symbolic link", { path });
      }
      return n.target;
    });
  }

  /** Creates a symlink. */
  symlink(targetPath: string, linkPath: string): Promise<void> {
    return run(() => {
      this.#writable(linkPath);
      // symlink(2) refuses an empty target (ENOENT), as FsBackend.
      if (targetPath === "") {
        throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "A symbolic link needs a target", {
          path: linkPath,
        });
      }
      const r = this.#resolve(linkPath, false);
      if (!r.parent) throw noEnt(linkPath);
      if (r.node) throw fail("File exists", linkPath);
      const link: LinkNode = { kind: "symlink", target: targetPath, ...this.#meta(0o777) };
      this.#account(entryCost(r.name, link));
      r.parent.entries.set(r.name, link);
      this.#touch(r.parent);
    });
  }

  /** Creates a hard link to a file. */
  hardlink(oldPath: string, newPath: string): Promise<void> {
    return run(() => {
      this.#writable(newPath);
      const from = this.#resolve(oldPath, false).node;
      if (!from) throw noEnt(oldPath);
      if (from.kind === "dir") {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Cannot link a directory");
      }
      const r = this.#resolve(newPath, false);
      if (!r.parent) throw noEnt(newPath);
      if (r.node) throw fail("File exists", newPath);
      this.#account(entryCost(r.name, from));
      r.parent.entries.set(r.name, from);
      if (from.kind === "file") from.nlink++;
      this.#touch(r.parent);
    });
  }

  /** Nothing to flush in memory. */
  fsync(h: MemoryHandle): Promise<void> {
    return run(() => void fileOf(h));
  }

  /** File system figures: block counts from the bytes held and the byte limit. */
  statvfs(path: string): Promise<StatVFS> {
    return run(() => {
      if (!this.#resolve(path, true).node) throw noEnt(path);
      return this.#vfs();
    });
  }

  /** As statvfs, for an open file. */
  fstatvfs(h: MemoryHandle): Promise<StatVFS> {
    return run(() => {
      fileOf(h);
      return this.#vfs();
    });
  }

  /** "~" and "~user" expansion, then realpath. */
  expandPath(path: string): Promise<string> {
    return run(() => {
      if (path === "~" || path.startsWith("~/")) {
        return this.#canonical(joinPath(this.#home, path.slice(2)));
      }
      if (path.startsWith("~")) {
        const slash = path.indexOf("/");
        const user = path.slice(1, slash < 0 ? undefined : slash);
        let home: string;
        try {
          home = this.#homeOf(user);
        } catch {
          // As OpenSSH's sftp-server: an unknown ~user is "no such file" here.
          throw new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such user", { path });
        }
        return this.#canonical(slash < 0 ? home : joinPath(home, path.slice(slash + 1)));
      }
      return this.#canonical(path);
    });
  }

  /** A user's home directory ("" is the session's). */
  homeDirectory(username: string): Promise<string> {
    return run(() => this.#homeOf(username));
  }

  /** Names from the configured maps ("" where unknown). */
  usersGroupsById(
    uids: readonly number[],
    gids: readonly number[],
  ): Promise<{ users: string[]; groups: string[] }> {
    return run(() => ({
      users: uids.map((u) => this.#users.get(u) ?? ""),
      groups: gids.map((g) => this.#groups.get(g) ?? ""),
    }));
  }

  /** Copies between two open files. */
  copyData(
    fromHandle: MemoryHandle,
    readOffset: number,
    length: number,
    toHandle: MemoryHandle,
    writeOffset: number,
  ): Promise<void> {
    const from = fromHandle as Handle;
    const to = toHandle as Handle;
    return run(() => {
      const src = fileOf(from);
      const dst = fileOf(to);
      if (!(from.kind === "file" && readable(from.flags))) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Source not open for reading");
      }
      if (to.kind !== "file" || !writable(to.flags)) {
        throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Target not open for writing");
      }
      if (src === dst) throw fail("copy-data cannot copy a file onto itself");
      const end = length === 0 ? src.size : readOffset + length;
      // As the engine's read-and-write fallback: what is there is copied, then a source
      // that ends before the requested length is EOF.
      const bytes = src.data.slice(Math.min(readOffset, src.size), Math.min(end, src.size));
      if (bytes.length > 0) {
        const at = to.flags & OpenFlags.APPEND ? dst.size : writeOffset;
        this.#setSize(dst, Math.max(dst.size, at + bytes.length));
        dst.data.set(bytes, at);
        this.#touch(dst);
      }
      if (end > src.size) throw new SFTPError(SFTPStatus.EOF, "End of file");
    });
  }

  // ---- internals ----

  #meta(mode: number): Meta {
    const t = Math.floor(this.#now() / 1000);
    return { mode, uid: this.#uid, gid: this.#gid, atime: t, mtime: t };
  }

  #file(mode: number): FileNode {
    return {
      kind: "file",
      data: new Uint8Array(0),
      size: 0,
      nlink: 1,
      open: 0,
      ...this.#meta(mode),
    };
  }

  #dir(mode: number, parent: DirNode | undefined, name: string): DirNode {
    return { kind: "dir", entries: new Map(), parent, name, ...this.#meta(mode) };
  }

  #touch(n: Meta): void {
    n.mtime = Math.floor(this.#now() / 1000);
  }

  #homeOf(user: string): string {
    if (user === "") return this.#home;
    for (const [uid, name] of this.#users) {
      if (name === user) return uid === this.#uid ? this.#home : `/home/${user}`;
    }
    throw fail(`Unknown user "${user}"`);
  }

  #writable(path: string): void {
    if (this.#readOnly) throw denied(path);
  }

  #account(delta: number): void {
    if (delta > 0 && this.#bytes + delta > this.#maxBytes) throw fail("No space left");
    this.#bytes = Math.max(0, this.#bytes + delta);
  }

  #release(bytes: number): void {
    this.#account(-bytes);
  }

  #setSize(f: FileNode, size: number): void {
    if (size === f.size) return;
    this.#account(size - f.size);
    if (size > f.data.length) {
      const grown = new Uint8Array(Math.max(size, Math.min(f.data.length * 2, size + (1 << 24))));
      grown.set(f.data.subarray(0, f.size));
      f.data = grown;
    } else if (size <= f.data.length >> 1) {
      // Shrunk to half its buffer or less: a smaller copy, so what is held stays near what
      // is counted (a truncate to 0 kept a 1 MiB buffer behind each handle).
      f.data = f.data.slice(0, size);
    } else if (size < f.size) {
      f.data.fill(0, size, f.size);
    }
    f.size = size;
  }

  /** `n` lost its entry `name` (already accounted for when `entryCounted`). */
  #unlinked(n: Node, name: string, entryCounted = false): void {
    if (!entryCounted) this.#release(entryCost(name, n));
    if (n.kind === "file") {
      n.nlink--;
      this.#dropIfGone(n);
    }
  }

  /** A file with no name and no handle left: its contents are freed and stop counting. */
  #dropIfGone(f: FileNode): void {
    if (f.nlink > 0 || f.open > 0) return;
    this.#release(f.size);
    f.size = 0;
    f.data = new Uint8Array(0);
  }

  #attrs(n: Node): FileAttributes {
    const type = n.kind === "dir" ? S_IFDIR : n.kind === "symlink" ? S_IFLNK : S_IFREG;
    const size = n.kind === "file" ? n.size : n.kind === "symlink" ? n.target.length : 4096;
    return {
      size,
      uid: n.uid,
      gid: n.gid,
      permissions: type | (n.mode & 0o7777),
      atime: n.atime,
      mtime: n.mtime,
    };
  }

  #apply(n: Node, a: FileAttributes): void {
    if (a.size !== undefined) {
      if (n.kind !== "file") throw fail("Not a regular file");
      this.#setSize(n, a.size);
    }
    if (a.permissions !== undefined) n.mode = a.permissions & 0o7777 & ~S_IFMT;
    if (a.uid !== undefined && a.gid !== undefined) {
      n.uid = a.uid;
      n.gid = a.gid;
    }
    if (a.atime !== undefined && a.mtime !== undefined) {
      n.atime = a.atime;
      n.mtime = a.mtime;
    }
  }

  #vfs(): StatVFS {
    const bsize = 4096;
    const total = Number.isFinite(this.#maxBytes) ? Math.ceil(this.#maxBytes / bsize) : 1 << 30;
    const used = Math.ceil(this.#bytes / bsize);
    const free = Math.max(0, total - used);
    return {
      bsize,
      frsize: bsize,
      blocks: total,
      bfree: free,
      bavail: free,
      files: 1 << 20,
      ffree: 1 << 20,
      favail: 1 << 20,
      fsid: 0,
      flag: this.#readOnly ? 1 : 0,
      namemax: 255,
    };
  }

  #mkdirs(abs: string): DirNode {
    let d = this.#root;
    for (const seg of abs.split("/").filter(Boolean)) {
      const n = d.entries.get(seg);
      if (n?.kind === "dir") {
        d = n;
        continue;
      }
      if (n) throw notDir(abs);
      const nd = this.#dir(0o755, d, seg);
      this.#account(entryCost(seg, nd));
      d.entries.set(seg, nd);
      d = nd;
    }
    return d;
  }

  #rename(oldPath: string, newPath: string, replace: boolean): void {
    this.#writable(newPath);
    const from = this.#resolve(oldPath, false);
    if (!from.node || !from.parent) throw noEnt(oldPath);
    const to = this.#resolve(newPath, false);
    if (!to.parent) throw noEnt(newPath);
    // SFTP v3 rename never replaces, not even a name for the same file (OpenSSH's link(2)
    // fails there); rename(2) onto the same file does nothing.
    if (to.node && !replace) throw fail("File exists", newPath);
    if (from.node === to.node) return;
    if (from.node.kind === "dir") {
      for (let d: DirNode | undefined = to.parent; d; d = d.parent) {
        if (d === from.node) {
          // EINVAL, which OpenSSH's sftp-server and FsBackend report as "bad message".
          throw new SFTPError(SFTPStatus.BAD_MESSAGE, "Cannot move a directory into itself", {
            path: newPath,
          });
        }
      }
    }
    if (to.node) {
      if (to.node.kind === "dir") {
        if (from.node.kind !== "dir") throw fail("Is a directory", newPath);
        if (to.node.entries.size > 0) throw fail("Directory not empty", newPath);
      } else if (from.node.kind === "dir") {
        throw notDir(newPath);
      }
    }
    this.#account(
      entryCost(to.name, from.node) - entryCost(from.name, from.node) -
        (to.node ? entryCost(to.name, to.node) : 0),
    );
    if (to.node) this.#unlinked(to.node, to.name, true);
    from.parent.entries.delete(from.name);
    to.parent.entries.set(to.name, from.node);
    if (from.node.kind === "dir") {
      from.node.parent = to.parent;
      from.node.name = to.name;
    }
    this.#touch(from.parent);
    this.#touch(to.parent);
  }

  #canonical(path: string): string {
    const parts: string[] = [];
    let depth = 0;
    const walk = (p: string, base: string[]) => {
      const segs = (p.startsWith("/") ? p : joinPath("/" + base.join("/"), p)).split("/");
      const out: string[] = [];
      for (let i = 0; i < segs.length; i++) {
        const seg = segs[i]!;
        if (seg === "" || seg === ".") continue;
        if (seg === "..") {
          out.pop();
          continue;
        }
        const n = this.#lookupAbs(out);
        // What leads here must be a directory ("file/x", "dangling/x": ENOTDIR, ENOENT).
        if (n?.kind !== "dir") throw n ? notDir(path) : noEnt(path);
        const child = n.entries.get(seg);
        if (!child) {
          if (segs.slice(i + 1).some((s) => s !== "" && s !== ".")) throw noEnt(path);
          out.push(seg);
          return out;
        }
        if (child.kind === "symlink") {
          if (++depth > MAX_SYMLINKS) throw loop(path);
          const resolved = walk(child.target, out);
          out.length = 0;
          out.push(...resolved);
          continue;
        }
        out.push(seg);
      }
      return out;
    };
    const abs = resolvePath(this.#home, path);
    parts.push(...walk(abs, []));
    return "/" + parts.join("/");
  }

  #lookupAbs(segs: readonly string[]): Node | undefined {
    let n: Node = this.#root;
    for (const s of segs) {
      if (n.kind !== "dir") return undefined;
      const c = n.entries.get(s);
      if (!c) return undefined;
      n = c;
    }
    return n;
  }

  /**
   * Resolves a path: every directory on the way follows symlinks; the final
   * component is followed only when `followLast`. Returns the parent directory
   * (undefined for the root or when a parent is missing) and the node if any.
   */
  #resolve(path: string, followLast: boolean): { parent?: DirNode; name: string; node?: Node } {
    let hops = 0;
    const go = (abs: string, follow: boolean): { parent?: DirNode; name: string; node?: Node } => {
      const segs = normalizePath(abs).split("/").filter(Boolean);
      if (segs.length === 0) return { name: "", node: this.#root };
      let d: DirNode = this.#root;
      for (let i = 0; i < segs.length - 1; i++) {
        let n = d.entries.get(segs[i]!);
        if (n?.kind === "symlink") {
          if (++hops > MAX_SYMLINKS) throw loop(path);
          // Relative to where the walk really is (earlier links may have moved it).
          n = go(resolvePath(this.#pathOf(d), n.target), true).node;
        }
        if (!n) return { name: segs[segs.length - 1]! };
        if (n.kind !== "dir") throw notDir(path);
        d = n;
      }
      const name = segs[segs.length - 1]!;
      const node = d.entries.get(name);
      if (node?.kind === "symlink" && follow) {
        if (++hops > MAX_SYMLINKS) throw loop(path);
        const dirPath = this.#pathOf(d);
        const target = go(resolvePath(dirPath, node.target), true);
        // A dangling link: creating through it creates the target (as open(O_CREAT) does).
        return target;
      }
      return node ? { parent: d, name, node } : { parent: d, name };
    };
    return go(resolvePath(this.#home, path), followLast);
  }

  #pathOf(d: DirNode): string {
    const names: string[] = [];
    for (let cur = d; cur.parent; cur = cur.parent) names.push(cur.name);
    return "/" + names.reverse().join("/");
  }
}

function denied(path?: string): SFTPError {
  return new SFTPError(
    SFTPStatus.PERMISSION_DENIED,
    "Read-only file system",
    path === undefined ? {} : { path },
  );
}

/** As open(2) maps the flags: neither READ nor a write flag opens for reading (O_RDONLY). */
function readable(flags: number): boolean {
  return (flags & OpenFlags.READ) !== 0 || (flags & (OpenFlags.WRITE | OpenFlags.APPEND)) === 0;
}

/** WRITE, or APPEND (which FsBackend opens O_WRONLY|O_APPEND). */
function writable(flags: number): boolean {
  return (flags & (OpenFlags.WRITE | OpenFlags.APPEND)) !== 0;
}

function fileOf(handle: MemoryHandle): FileNode {
  const h = handle as Handle;
  if (h.kind !== "file") throw fail("Not a file handle");
  if (h.closed) throw fail("Handle is closed");
  return h.node;
}

/** What a directory entry counts against maxBytes, besides a file's contents. */
function entryCost(name: string, n: Node): number {
  return MEMORY_BACKEND_ENTRY_BYTES + name.length + (n.kind === "symlink" ? n.target.length : 0);
}

/** Runs synchronous backend work as a promise (errors become rejections). */
function run<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}
