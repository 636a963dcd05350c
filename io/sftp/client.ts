/**
 * The SFTP client: `await conn.startSftp()` (or `startSftp(conn)`) gives an
 * {@link SFTPClient} with file handles, path operations and pipelined
 * transfers. Close it, or use `await using`.
 *
 * @module
 */

import {
  type FileAttributes,
  isDirectory,
  isRegularFile,
  isSymbolicLink,
} from "../../sftp/attrs.ts";
import { Ext, SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import type { NameEntry, SFTPLimits, StatVFS } from "../../sftp/messages.ts";
import {
  expandGlob,
  type GlobFileSystem,
  hasGlob,
  joinPath,
  trailingSlashBase,
  unsafeEntryName,
} from "../../sftp/path.ts";
import { checkAttrs, openFile, type OpenMode, seconds, type SFTPFile } from "./file.ts";
import {
  expectResult,
  type SFTPChannelOpener,
  type SFTPClientOptions,
  SFTPSession,
} from "./session.ts";
import * as transfer from "./transfer.ts";
import {
  type ReadFileOptions,
  readWholeFile,
  type WriteFileOptions,
  writeWholeFile,
} from "./whole_file.ts";
import { hostFs, hostPathLib } from "../runtime/host_fs.ts";

export type { OpenMode } from "./file.ts";
export type { SFTPChannelOpener, SFTPClientOptions } from "./session.ts";
export type { ProgressHandler, TransferOptions } from "./transfer.ts";

/** A directory entry from {@link SFTPClient.readdir}. */
export interface SFTPDirEntry {
  /** The entry's name (no directory part). */
  readonly filename: string;
  /** The server's `ls -l` line for it. */
  readonly longname: string;
  /** Its attributes, as lstat reports them. */
  readonly attrs: FileAttributes;
}

/** Options of {@link SFTPClient.stat} and {@link SFTPClient.setstat}. */
export interface FollowOptions {
  /** Follow a final symlink (default true); false uses lstat / lsetstat@openssh.com. */
  readonly followSymlinks?: boolean;
}

/**
 * Starts an SFTP session on a connection.
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
 * import { startSftp } from "./client.ts";
 * // The same as conn.startSftp(): here against a server in this process.
 * await using sftp = await startSftp(conn);
 * console.log(await sftp.realpath(".")); // "/"
 * ```
 */
export async function startSftp(
  conn: SFTPChannelOpener,
  options: SFTPClientOptions = {},
): Promise<SFTPClient> {
  return new SFTPClient(await SFTPSession.open(conn, options));
}

/**
 * Entries one directory listing may hold where the whole listing is needed at once
 * (`listdir`, `rmtree`, recursive transfers): about 150 MiB of names and attributes. A
 * server that lists more fails the operation with an SFTPError; `readdir()` streams any size.
 */
export const MAX_LISTED_ENTRIES = 200_000;

/**
 * An SFTP session: file handles, path operations and transfers.
 *
 * Transfers pipeline requests as OpenSSH's sftp does (up to 64 in flight, the
 * request size from the server's limits), write replies at their offsets as
 * they come, and hold no more than the requests in flight.
 *
 * Relative remote paths go to the server as they are (it resolves them against the login
 * directory) until {@link SFTPClient.chdir} sets a client-side working directory, as
 * AsyncSSH's and paramiko's `chdir()` do: from then on every method resolves a relative
 * remote path against it ({@link SFTPClient.getcwd} says which it is).
 *
 * @example Upload, list, download
 * ```ts
 * import { connect, generatePrivateKey, listen, MemoryBackend } from "../../mod.ts";
 * // A server in this process, serving a tree held in memory.
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
 *   knownHosts: null, // a throwaway host key: nothing to check it against
 * });
 * await using sftp = await conn.startSftp();
 * await sftp.makedirs("/srv/app");
 * {
 *   await using f = await sftp.open("/srv/app/hello.txt", "w");
 *   await f.write(new TextEncoder().encode("hello\n"));
 * }
 * for await (const e of sftp.readdir("/srv/app")) console.log(e.filename); // "hello.txt"
 * console.log((await sftp.stat("/srv/app/hello.txt")).size); // 6
 * ```
 */
export class SFTPClient implements AsyncDisposable {
  readonly #s: SFTPSession;
  readonly #ops: transfer.RemoteOps;
  /** The working directory chdir() set (the server's canonical path), or none yet. */
  #cwd: string | undefined;

  /** Wraps a started session (use {@link startSftp} or `conn.startSftp()`). */
  constructor(session: SFTPSession) {
    this.#s = session;
    // Transfers are given paths already resolved against the working directory: what
    // they derive from them is sent as it is.
    this.#ops = {
      session,
      stat: (p) => this.#stat(p, true),
      lstat: (p) => this.#stat(p, false),
      readlink: (p) => this.#readlink(p),
      symlink: (t, l) => this.#symlink(t, l),
      mkdir: (p, a) => this.#mkdir(p, a ?? {}),
      names: async (d) =>
        (await this.#listing(d)).sort((a, b) =>
          a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0
        ),
      realpath: (p) => this.#realpath(p),
      setstat: (p, a) => this.#setstat(p, a, {}),
    };
  }

  /** The protocol version (3). */
  get version(): number {
    return 3;
  }

  /** The extensions the server announced (name → version). */
  get extensions(): ReadonlyMap<string, string> {
    return this.#s.extensions;
  }

  /** The server's limits@openssh.com figures, when it has the extension. */
  get limits(): SFTPLimits | undefined {
    return this.#s.limits;
  }

  /** Bytes per read request and per write request in transfers. */
  get requestSize(): { readonly read: number; readonly write: number } {
    return { read: this.#s.readSize, write: this.#s.writeSize };
  }

  /**
   * Requests in flight per transfer: 64 by default (`maxRequests`), 1 once the
   * session fell back to sequential transfers.
   */
  get maxRequests(): number {
    return this.#s.maxRequests;
  }

  /**
   * Whether transfers run one request at a time: a server without
   * limits@openssh.com failed a pipelined transfer, which was retried
   * sequentially (see {@link SFTPClientOptions.maxRequests} to choose up front).
   */
  get sequential(): boolean {
    return this.#s.sequential;
  }

  /** Whether the session ended. */
  get closed(): boolean {
    return this.#s.closed;
  }

  // ---- working directory ----

  /**
   * Sets the working directory relative remote paths are resolved against from now on, as
   * AsyncSSH's `chdir()`: `path` (itself resolved against the current one, so ".." and
   * "sub" step up and down) as the server's realpath canonicalises it. It must be a
   * directory, or a link to one (checked with a stat, as paramiko does; AsyncSSH leaves that
   * to the server's realpath): a missing path fails with the server's SFTPError (no such
   * file), a file with an SFTPError "Not a directory" (SSH_FX_FAILURE); either way the
   * working directory stays what it was. Absolute paths are never resolved against it, and
   * names in results (readdir entries, glob matches, readlink targets) stay as the server
   * or the pattern gives them.
   *
   * @example Work in a directory by relative names
   * ```ts
   * import { connect, generatePrivateKey, listen, MemoryBackend } from "@sshts/ssh";
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
   * await sftp.makedirs("/srv/app/releases");
   * await sftp.chdir("/srv/app");
   * await sftp.writeFile("VERSION", "1.4.2\n"); // /srv/app/VERSION
   * await sftp.chdir("releases"); // /srv/app/releases
   * console.log(await sftp.readFile("../VERSION", { encoding: "utf-8" })); // "1.4.2\n"
   * ```
   */
  async chdir(path: string): Promise<void> {
    requirePaths({ path });
    const dir = await this.#realpath(this.#wire(path));
    const attrs = await this.#stat(dir, true);
    if (!isDirectory(attrs)) {
      throw new SFTPError(SFTPStatus.FAILURE, "Not a directory", {
        path: dir,
        operation: "chdir",
      });
    }
    this.#cwd = dir;
  }

  /**
   * The working directory relative remote paths are resolved against: the one
   * {@link chdir} set, or before any, the server's login directory (its realpath of ".",
   * asked each time: relative paths still go to the server as they are, as AsyncSSH's
   * `getcwd()` answers there).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen, MemoryBackend } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: (_user, password) => password === "pw",
   *   sftp: { backend: new MemoryBackend({ home: "/home/me" }) },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "pw",
   *   knownHosts: null,
   * });
   * await using sftp = await conn.startSftp();
   * console.log(await sftp.getcwd()); // "/home/me"
   * await sftp.chdir("..");
   * console.log(await sftp.getcwd()); // "/home"
   * ```
   */
  async getcwd(): Promise<string> {
    return this.#cwd ?? await this.#realpath(".");
  }

  /**
   * `path` as it is sent: resolved against the working directory when {@link chdir} set
   * one and it is relative (joined, not normalised, as AsyncSSH's posixpath.join: the
   * server resolves "..", and "" is the directory itself), else unchanged.
   */
  #wire(path: string, cwd: string | undefined = this.#cwd): string {
    return cwd === undefined ? path : joinPath(cwd, path);
  }

  // ---- files ----

  /**
   * Opens a file. `mode` is a Node-style string ("r", "r+", "w", "w+", "a",
   * "a+", with "x" to fail when the file exists) or SSH_FXF_* bits; `attrs`
   * apply when the file is created (e.g. `{ permissions: 0o600 }`).
   */
  async open(path: string, mode: OpenMode = "r", attrs: FileAttributes = {}): Promise<SFTPFile> {
    requirePaths({ path });
    return await openFile(this.#s, this.#wire(path), mode, attrs);
  }

  // ---- attributes ----

  /** Attributes of `path`, following symlinks unless `followSymlinks: false`. */
  async stat(path: string, options: FollowOptions = {}): Promise<FileAttributes> {
    requirePaths({ path });
    return await this.#stat(this.#wire(path), options.followSymlinks !== false);
  }

  async #stat(path: string, follow: boolean): Promise<FileAttributes> {
    const type = follow ? "stat" : "lstat";
    return expectResult(await this.#s.request({ type, path }), "attrs").attrs;
  }

  /** Attributes of `path` itself (a symlink is not followed). */
  async lstat(path: string): Promise<FileAttributes> {
    requirePaths({ path });
    return await this.#stat(this.#wire(path), false);
  }

  /** Changes attributes; with `followSymlinks: false`, of a symlink itself (lsetstat@openssh.com). */
  async setstat(path: string, attrs: FileAttributes, options: FollowOptions = {}): Promise<void> {
    requirePaths({ path });
    return await this.#setstat(this.#wire(path), attrs, options);
  }

  async #setstat(path: string, attrs: FileAttributes, options: FollowOptions): Promise<void> {
    checkAttrs(attrs);
    if (options.followSymlinks === false) {
      this.#need(Ext.LSETSTAT, "lsetstat", path);
      expectResult(await this.#s.request({ type: "lsetstat", path, attrs }), "ok");
      return;
    }
    expectResult(await this.#s.request({ type: "setstat", path, attrs }), "ok");
  }

  /** Changes permission bits. */
  chmod(path: string, mode: number, options: FollowOptions = {}): Promise<void> {
    return this.setstat(path, { permissions: mode }, options);
  }

  /** Changes owner and group. */
  chown(path: string, uid: number, gid: number, options: FollowOptions = {}): Promise<void> {
    return this.setstat(path, { uid, gid }, options);
  }

  /** Sets access and modification times (Date or seconds since the epoch). */
  utime(
    path: string,
    atime: Date | number,
    mtime: Date | number,
    options: FollowOptions = {},
  ): Promise<void> {
    return this.setstat(path, { atime: seconds(atime), mtime: seconds(mtime) }, options);
  }

  /** Truncates or extends a file. */
  truncate(path: string, size = 0): Promise<void> {
    return this.setstat(path, { size });
  }

  /**
   * Whether `path` exists (false on "no such file"; other errors are thrown). It follows
   * links, as AsyncSSH's: a dangling link is false (`lstat()` tells a link is there).
   */
  async exists(path: string): Promise<boolean> {
    requirePaths({ path });
    return (await this.#statOrNull(this.#wire(path))) !== null;
  }

  /** Whether `path` is a regular file (following symlinks). */
  async isFile(path: string): Promise<boolean> {
    requirePaths({ path });
    const a = await this.#statOrNull(this.#wire(path));
    return a !== null && isRegularFile(a);
  }

  /** Whether `path` is a directory (following symlinks). */
  async isDir(path: string): Promise<boolean> {
    requirePaths({ path });
    return await this.#isDir(this.#wire(path));
  }

  async #isDir(path: string): Promise<boolean> {
    const a = await this.#statOrNull(path);
    return a !== null && isDirectory(a);
  }

  /** Whether `path` is a symlink. */
  async isLink(path: string): Promise<boolean> {
    try {
      return isSymbolicLink(await this.lstat(path));
    } catch (e) {
      if (e instanceof SFTPError && e.notFound) return false;
      throw e;
    }
  }

  async #statOrNull(path: string): Promise<FileAttributes | null> {
    try {
      return await this.#stat(path, true);
    } catch (e) {
      if (e instanceof SFTPError && e.notFound) return null;
      throw e;
    }
  }

  // ---- directories ----

  /**
   * Lists a directory as it is read: entries arrive as the server sends them
   * (about 100 per reply), without "." and "..". Breaking out of the loop
   * closes the directory handle.
   */
  readdir(path: string): AsyncGenerator<SFTPDirEntry, void, undefined> {
    requirePaths({ path }); // at the call, not at the first step of the loop
    return this.#readdir(this.#wire(path));
  }

  async *#readdir(path: string): AsyncGenerator<SFTPDirEntry, void, undefined> {
    const handle = expectResult(await this.#s.request({ type: "opendir", path }), "handle").handle;
    this.#s.handleSlots.hold();
    try {
      for (;;) {
        const r = await this.#s.request({ type: "readdir", handle });
        if (r.kind === "eof") return;
        const entries = expectResult(r, "names").entries as NameEntry[];
        // An empty batch ends the listing, as OpenSSH's sftp takes it: a server answering
        // every READDIR with no names would otherwise keep us asking forever.
        if (entries.length === 0) return;
        for (const e of entries) {
          if (e.filename === "." || e.filename === "..") continue;
          yield e;
        }
      }
    } finally {
      // Not waited for: a server that never answers CLOSE must not hold up a loop that
      // ended (or broke off); the handle is the server's to free either way.
      if (!this.#s.closed) void this.#s.request({ type: "close", handle }).catch(() => {});
      this.#s.handleSlots.unhold();
    }
  }

  /**
   * A whole directory listing, for the operations that need one before they act (listdir,
   * rmtree, recursive transfers): at most {@link MAX_LISTED_ENTRIES} entries, so a server
   * that lists without end fails the operation instead of filling our memory.
   */
  async #listing(path: string): Promise<SFTPDirEntry[]> {
    const out: SFTPDirEntry[] = [];
    for await (const e of this.#readdir(path)) {
      if (out.length >= MAX_LISTED_ENTRIES) {
        throw new SFTPError(
          SFTPStatus.FAILURE,
          `The directory lists more than ${MAX_LISTED_ENTRIES} entries`,
          { path },
        );
      }
      out.push(e);
    }
    return out;
  }

  /**
   * The names in a directory (without "." and ".."), in the server's order; past
   * {@link MAX_LISTED_ENTRIES} an SFTPError (iterate `readdir()` for any size).
   */
  async listdir(path: string): Promise<string[]> {
    requirePaths({ path });
    return (await this.#listing(this.#wire(path))).map((e) => e.filename);
  }

  /** Creates a directory (`mode` default 0o777, less the server's umask). */
  async mkdir(path: string, mode?: number): Promise<void> {
    requirePaths({ path });
    return await this.#mkdir(this.#wire(path), mode === undefined ? {} : { permissions: mode });
  }

  async #mkdir(path: string, attrs: FileAttributes): Promise<void> {
    checkAttrs(attrs);
    expectResult(await this.#s.request({ type: "mkdir", path, attrs }), "ok");
  }

  /** Creates a directory and its missing parents; an existing directory is fine. */
  async makedirs(path: string, mode?: number): Promise<void> {
    requirePaths({ path });
    const wire = this.#wire(path);
    const attrs = mode === undefined ? {} : { permissions: mode };
    const parts = wire.split("/");
    let cur = wire.startsWith("/") ? "/" : "";
    for (const p of parts) {
      if (p === "" || p === ".") continue;
      cur = cur === "" ? p : joinPath(cur, p);
      if (await this.#isDir(cur)) continue;
      try {
        await this.#mkdir(cur, attrs);
      } catch (e) {
        if (!(await this.#isDir(cur))) throw e;
      }
    }
  }

  /** Removes a file or symlink. */
  async remove(path: string): Promise<void> {
    requirePaths({ path });
    return await this.#remove(this.#wire(path));
  }

  async #remove(path: string): Promise<void> {
    expectResult(await this.#s.request({ type: "remove", path }), "ok");
  }

  /** Removes a file or symlink (alias of {@link remove}). */
  unlink(path: string): Promise<void> {
    return this.remove(path);
  }

  /** Removes an empty directory. */
  async rmdir(path: string): Promise<void> {
    requirePaths({ path });
    return await this.#rmdir(this.#wire(path));
  }

  async #rmdir(path: string): Promise<void> {
    expectResult(await this.#s.request({ type: "rmdir", path }), "ok");
  }

  /**
   * Removes a directory and everything in it (symlinks are removed, not followed). A
   * `path` that is itself a symbolic link is refused (as Python's `shutil.rmtree`): the
   * directory it leads to is no part of the tree; `remove()` removes the link. A `path`
   * that is a file (or anything else but a directory) is refused too, with an SFTPError
   * "Not a directory" (SSH_FX_FAILURE; `shutil.rmtree` and ssh2-sftp-client's
   * `rmdir(path, true)` refuse it too), not a "no such file" that a cleanup ignoring
   * missing paths would take for "already gone".
   */
  async rmtree(path: string): Promise<void> {
    requirePaths({ path });
    return await this.#rmtree(this.#wire(path));
  }

  async #rmtree(path: string): Promise<void> {
    // "link/" resolves the link on the server (lstat follows a trailing slash): the
    // check looks at the name without it.
    const own = trailingSlashBase(path) ?? path;
    const attrs = await this.#stat(own, false);
    if (isSymbolicLink(attrs)) {
      throw new SFTPError(
        SFTPStatus.FAILURE,
        "Is a symbolic link: rmtree does not follow it (remove() removes the link)",
        { path, operation: "rmtree" },
      );
    }
    // A type the server did not give (no permissions) is left to its opendir to judge.
    if (attrs.permissions !== undefined && !isDirectory(attrs)) {
      throw new SFTPError(SFTPStatus.FAILURE, "Not a directory", { path, operation: "rmtree" });
    }
    for (const e of await this.#listing(path)) {
      // A listed name that is no single component would lead elsewhere: never followed.
      if (unsafeEntryName(e.filename) !== undefined) {
        throw new SFTPError(
          SFTPStatus.BAD_MESSAGE,
          `The server listed ${JSON.stringify(e.filename)}: not one name, nothing removed by it`,
          { path },
        );
      }
      const p = joinPath(path, e.filename);
      if (isDirectory(e.attrs)) await this.#rmtree(p);
      else await this.#remove(p);
    }
    await this.#rmdir(path);
  }

  // ---- names and links ----

  /**
   * Renames. Uses posix-rename@openssh.com when the server has it (an existing
   * target is replaced, as rename(2)); otherwise SFTP's rename, which fails
   * when the target exists. `{ overwrite: false }` always uses the latter.
   */
  async rename(
    oldPath: string,
    newPath: string,
    options: { readonly overwrite?: boolean } = {},
  ): Promise<void> {
    requirePaths({ oldPath, newPath });
    const posix = options.overwrite !== false && this.#s.supports(Ext.POSIX_RENAME, "1");
    const type = posix ? "posixRename" : "rename";
    expectResult(
      await this.#s.request({ type, oldPath: this.#wire(oldPath), newPath: this.#wire(newPath) }),
      "ok",
    );
  }

  /** Creates a hard link `newPath` to `oldPath` (hardlink@openssh.com). */
  async hardlink(oldPath: string, newPath: string): Promise<void> {
    requirePaths({ oldPath, newPath });
    this.#need(Ext.HARDLINK, "hardlink", newPath);
    expectResult(
      await this.#s.request({
        type: "hardlink",
        oldPath: this.#wire(oldPath),
        newPath: this.#wire(newPath),
      }),
      "ok",
    );
  }

  /**
   * Creates a symlink at `linkPath` that points to `targetPath`. The target is stored as
   * given (a relative one is relative to the link's directory), never resolved against the
   * working directory; `linkPath` is, as every path.
   */
  async symlink(targetPath: string, linkPath: string): Promise<void> {
    requirePaths({ targetPath, linkPath });
    return await this.#symlink(targetPath, this.#wire(linkPath));
  }

  async #symlink(targetPath: string, linkPath: string): Promise<void> {
    expectResult(await this.#s.request({ type: "symlink", linkPath, targetPath }), "ok");
  }

  /** The target of a symlink (as stored). */
  async readlink(path: string): Promise<string> {
    requirePaths({ path });
    return await this.#readlink(this.#wire(path));
  }

  async #readlink(path: string): Promise<string> {
    return expectResult(await this.#s.request({ type: "readlink", path }), "path").path;
  }

  /**
   * The canonical absolute path (the server resolves "." to the home directory, or
   * after {@link chdir} it is the working directory).
   */
  async realpath(path: string): Promise<string> {
    requirePaths({ path });
    return await this.#realpath(this.#wire(path));
  }

  async #realpath(path: string): Promise<string> {
    return expectResult(await this.#s.request({ type: "realpath", path }), "path").path;
  }

  /**
   * Expands "~" and "~user" and canonicalises (expand-path@openssh.com; without
   * it, "~" and "~/..." are expanded from the home directory). Other relative paths
   * are resolved against the working directory after {@link chdir}.
   */
  async expandPath(path: string): Promise<string> {
    requirePaths({ path });
    const wire = path.startsWith("~") ? path : this.#wire(path);
    if (this.#s.supports(Ext.EXPAND_PATH, "1")) {
      return expectResult(await this.#s.request({ type: "expandPath", path: wire }), "path")
        .path;
    }
    if (path === "~" || path.startsWith("~/")) {
      // The home directory is the server's ".", whatever chdir() set.
      return this.#realpath(joinPath(await this.#realpath("."), path.slice(2)));
    }
    if (path.startsWith("~")) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, "The server cannot expand ~user", {
        path,
        operation: "expandPath",
      });
    }
    return this.#realpath(wire);
  }

  /**
   * A user's home directory ("" or omitted: ours), via the home-directory
   * extension; for our own, realpath(".") when the server lacks it or refuses ""
   * (OpenSSH before 9.4 looks "" up as a user name).
   */
  async homeDirectory(username = ""): Promise<string> {
    if (this.#s.supports(Ext.HOME_DIRECTORY, "1")) {
      const r = await this.#s.request({ type: "homeDirectory", username });
      if (r.kind === "path" || username !== "") return expectResult(r, "path").path;
    } else if (username !== "") {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, "The server has no home-directory extension", {
        operation: "homeDirectory",
      });
    }
    return this.#realpath("."); // the server's ".": its login directory, whatever chdir() set
  }

  /** File system figures (statvfs@openssh.com). */
  async statvfs(path: string): Promise<StatVFS> {
    requirePaths({ path });
    this.#need(Ext.STATVFS, "statvfs", path);
    return expectResult(
      await this.#s.request({ type: "statvfs", path: this.#wire(path) }),
      "statvfs",
    ).statvfs;
  }

  /** User and group names for ids ("" where unknown; users-groups-by-id@openssh.com). */
  async usersGroupsById(
    uids: readonly number[],
    gids: readonly number[] = [],
  ): Promise<{ users: string[]; groups: string[] }> {
    this.#need(Ext.USERS_GROUPS_BY_ID, "usersGroupsById");
    const r = expectResult(
      await this.#s.request({ type: "usersGroupsById", uids, gids }),
      "usersGroups",
    );
    return { users: r.users, groups: r.groups };
  }

  /**
   * Remote paths matching a glob pattern (`*`, `?`, `[...]`, per path
   * component; hidden names only when the pattern starts with "."), sorted.
   * An expansion past the limits of `expandGlob` (on every server, as OpenSSH's glob has
   * them: GLOB_MAX_READDIR = 16,384 entries read, GLOB_MAX_DIRECTORIES = 2,048 directories
   * listed, as many matches as entries; they keep a hostile or looping tree from running
   * for ever) fails with an SFTPError "Too many matches": list a bigger tree with
   * {@link readdir}, directory by directory. `*` matches within one path component (`**`
   * is the same as `*`: there is no recursive wildcard). A relative
   * pattern is matched in the working directory after {@link chdir}; the matches are
   * relative as the pattern is.
   */
  async glob(pattern: string): Promise<string[]> {
    requirePaths({ pattern });
    return await this.#glob(pattern, this.#cwd);
  }

  /** The glob, in the working directory `cwd` (matches named as the pattern names them). */
  #glob(pattern: string, cwd: string | undefined): Promise<string[]> {
    return expandGlob(pattern, this.#remoteGlobFs(cwd));
  }

  #remoteGlobFs(cwd: string | undefined): GlobFileSystem {
    return {
      readdir: async (dir) => {
        // Read as the server sends, so the glob's limits stop a server that lists without end.
        const it = this.#readdir(this.#wire(dir, cwd));
        let first: IteratorResult<SFTPDirEntry, void>;
        try {
          first = await it.next();
        } catch (e) {
          if (e instanceof SFTPError) return null;
          throw e;
        }
        return (async function* () {
          // A name listed twice is one entry: a glob returning it twice would have mget
          // write the same local name twice (a link the server chose, then through it).
          const seen = new Set<string>();
          try {
            for (let r = first; !r.done; r = await it.next()) {
              const name = r.value.filename;
              // Names with "/" (or "." and "..") are no entries of `dir`: a glob would
              // return paths outside what it matched, and mget write outside its target.
              if (unsafeEntryName(name) !== undefined || seen.has(name)) continue;
              seen.add(name);
              yield name;
            }
          } catch (e) {
            if (!(e instanceof SFTPError)) throw e;
          } finally {
            await it.return();
          }
        })();
      },
      exists: async (p) => {
        try {
          await this.#stat(this.#wire(p, cwd), false);
          return true;
        } catch (e) {
          if (e instanceof SFTPError && e.notFound) return false;
          throw e;
        }
      },
    };
  }

  // ---- whole files ----

  /**
   * Reads a whole remote file into memory (to end of file, whatever size the server
   * reports), pipelined; with `encoding` as a string. `maxBytes` bounds it.
   *
   * @example
   * ```ts ignore
   * const config = await sftp.readFile("/etc/app.conf", { encoding: "utf-8", maxBytes: 1 << 20 });
   * const image = await sftp.readFile("/srv/logo.png"); // Uint8Array
   * ```
   */
  readFile(path: string, options?: ReadFileOptions & { readonly encoding?: undefined }): Promise<
    Uint8Array
  >;
  /** Reads a whole remote file as UTF-8 text. */
  readFile(
    path: string,
    options: ReadFileOptions & { readonly encoding: "utf-8" | "utf8" },
  ): Promise<string>;
  /** Reads a whole remote file: text when `options.encoding` is given, else bytes. */
  readFile(path: string, options?: ReadFileOptions): Promise<Uint8Array | string>;
  async readFile(path: string, options: ReadFileOptions = {}): Promise<Uint8Array | string> {
    requirePaths({ path });
    const { encoding } = options;
    if (encoding !== undefined && encoding !== "utf-8" && encoding !== "utf8") {
      throw new RangeError(`encoding must be "utf-8" (or left out for bytes), not ${encoding}`);
    }
    const bytes = await readWholeFile(this.#s, this.#wire(path), options);
    // As node:fs's readFile: a byte-order mark at the start is part of the text.
    return encoding === undefined
      ? bytes
      : new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
  }

  /**
   * Writes `data` (bytes, or a string as UTF-8) to a remote file, creating or truncating
   * it (`flag: "wx"` refuses an existing one); resolves once the server acknowledged every
   * byte and the close.
   *
   * @example
   * ```ts ignore
   * await sftp.writeFile("/srv/app/VERSION", "1.4.2\n", { mode: 0o644 });
   * ```
   */
  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: WriteFileOptions = {},
  ): Promise<void> {
    requirePaths({ path });
    return await writeWholeFile(this.#s, this.#wire(path), data, options);
  }

  /**
   * Appends `data` to a remote file, creating it if needed.
   *
   * @example
   * ```ts ignore
   * await sftp.appendFile("/var/log/deploys.log", `${new Date().toISOString()} 1.4.2\n`);
   * ```
   */
  async appendFile(
    path: string,
    data: Uint8Array | string,
    options: Omit<WriteFileOptions, "flag"> = {},
  ): Promise<void> {
    requirePaths({ path });
    return await writeWholeFile(this.#s, this.#wire(path), data, { ...options, flag: "a" });
  }

  // ---- transfers ----

  /** Downloads a file (or, with `recurse`, a directory) to a local path. */
  async get(
    remotePath: string,
    localPath: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths(
      { remotePath, localPath },
      "to read a remote file into memory, use readFile(remotePath)",
    );
    return await transfer.get(this.#ops, this.#wire(remotePath), localPath, options);
  }

  /** Uploads a local file (or, with `recurse`, a directory) to a remote path. */
  async put(
    localPath: string,
    remotePath: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths(
      { localPath, remotePath },
      "to upload bytes or a string, use writeFile(remotePath, data)",
    );
    return await transfer.put(this.#ops, localPath, this.#wire(remotePath), options);
  }

  /** Copies on the server (copy-data when offered, else read and write through us). */
  async copy(
    srcPath: string,
    dstPath: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths({ srcPath, dstPath });
    return await transfer.copy(this.#ops, this.#wire(srcPath), this.#wire(dstPath), options);
  }

  /**
   * Downloads every remote path matching the patterns into a local directory. With several
   * patterns or a glob, `localDir` must be an existing directory (or each match would
   * replace the one before it); one plain path may name the copy, as `get()` does.
   */
  async mget(
    patterns: string | readonly string[],
    localDir: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths({ patterns, localDir });
    const cwd = this.#cwd; // the one the call began in, for every pattern and match
    await eachMatch(
      patterns,
      (pat) => this.#expandRemote(pat, cwd),
      options,
      { path: localDir, operation: "mget", isDir: () => isLocalDirectory(localDir) },
      // A glob's matches are names from the server's listing: written into `localDir`
      // only, never through a link found there (as a recursive get writes its tree).
      (p, pattern) =>
        transfer.get(this.#ops, this.#wire(p, cwd), localDir, options, hasGlob(pattern)),
    );
  }

  /**
   * Uploads every local path matching the patterns into a remote directory (an existing
   * one with several patterns or a glob, as {@link mget}).
   */
  async mput(
    patterns: string | readonly string[],
    remoteDir: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths({ patterns, remoteDir });
    const dir = this.#wire(remoteDir);
    await eachMatch(
      patterns,
      expandLocal,
      options,
      { path: remoteDir, operation: "mput", isDir: () => this.#isDir(dir) },
      (p) => transfer.put(this.#ops, p, dir, options),
    );
  }

  /**
   * Copies every remote path matching the patterns into a remote directory (an existing
   * one with several patterns or a glob, as {@link mget}).
   */
  async mcopy(
    patterns: string | readonly string[],
    remoteDir: string,
    options: transfer.TransferOptions = {},
  ): Promise<void> {
    requirePaths({ patterns, remoteDir });
    const cwd = this.#cwd;
    const dir = this.#wire(remoteDir, cwd);
    await eachMatch(
      patterns,
      (pat) => this.#expandRemote(pat, cwd),
      options,
      { path: remoteDir, operation: "mcopy", isDir: () => this.#isDir(dir) },
      (p) => transfer.copy(this.#ops, this.#wire(p, cwd), dir, options),
    );
  }

  /** The remote paths `pat` matches in the working directory `cwd`; none is an error. */
  async #expandRemote(pat: string, cwd: string | undefined): Promise<string[]> {
    const found = await this.#glob(pat, cwd);
    if (found.length === 0) {
      throw new SFTPError(SFTPStatus.NO_SUCH_FILE, hasGlob(pat) ? "No match" : "No such file", {
        path: pat,
        operation: "glob",
      });
    }
    return found;
  }

  // ---- life cycle ----

  /** Ends the session and closes its channel. */
  close(): Promise<void> {
    return this.#s.close();
  }

  /** Ends the session. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- helpers ----

  #need(ext: string, operation: string, path?: string): void {
    if (!this.#s.supports(ext)) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, `The server has no ${ext} extension`, {
        operation,
        ...(path !== undefined ? { path } : {}),
      });
    }
  }
}

/**
 * Refuses an argument meant as a path (local or remote) that is not a string, with a
 * TypeError naming it (and `hint`, when given), before anything is sent or opened: a
 * Buffer or a stream, as ssh2-sftp-client's `put(src, path)` takes, would otherwise fail
 * far from the call with no word of what was wrong. `patterns` may also be an array of
 * strings. Every public method taking a path checks here.
 */
function requirePaths(args: Record<string, unknown>, hint?: string): void {
  for (const [name, value] of Object.entries(args)) {
    if (typeof value === "string") continue;
    if (name === "patterns" && Array.isArray(value)) {
      const i = value.findIndex((p) => typeof p !== "string");
      if (i < 0) continue;
      throw new TypeError(
        `patterns[${i}] must be a string (a path or a glob), not ${kind(value[i])}`,
      );
    }
    throw new TypeError(
      `${name} must be a string (a path), not ${kind(value)}${
        hint === undefined ? "" : `: ${hint}`
      }`,
    );
  }
}

/** What a value is, for an error message (never the value itself: it may be large). */
function kind(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  const a = (name: string) => `${/^[aeio]/i.test(name) ? "an" : "a"} ${name}`; // "a Uint8Array"
  if (typeof v !== "object") return a(typeof v);
  if (Array.isArray(v)) return "an array";
  const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return a(typeof name === "string" && name !== "" && name !== "Object" ? name : "object");
}

/** The local paths `pat` matches; none is an error. */
async function expandLocal(pat: string): Promise<string[]> {
  const fs: GlobFileSystem = {
    readdir: async (dir) => {
      try {
        const d = await hostFs.opendir(dir);
        return (async function* () {
          try {
            for (let name = await d.read(); name !== null; name = await d.read()) yield name;
          } finally {
            await d.close().catch(() => {}); // also when the caller leaves the loop early
          }
        })();
      } catch {
        return null;
      }
    },
    exists: async (p) => {
      try {
        await hostFs.lstat(p);
        return true;
      } catch {
        return false;
      }
    },
  };
  const found = await expandGlob(pat.split(hostPathLib.sep).join("/"), fs);
  if (found.length === 0) {
    throw new SFTPError(SFTPStatus.NO_SUCH_FILE, hasGlob(pat) ? "No match" : "No such local file", {
      path: pat,
      operation: "glob",
    });
  }
  return found;
}

async function isLocalDirectory(path: string): Promise<boolean> {
  try {
    return (await hostFs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Runs `each` on every path the patterns match, pattern by pattern. A pattern that matches
 * nothing fails as an item of its own: with an `errorHandler` the others still run. With
 * several patterns or a glob, `into` must be an existing directory, checked before anything
 * is copied.
 */
async function eachMatch(
  patterns: string | readonly string[],
  expand: (pattern: string) => Promise<string[]>,
  o: transfer.TransferOptions,
  into: { path: string; operation: string; isDir: () => Promise<boolean> },
  each: (path: string, pattern: string) => Promise<void>,
): Promise<void> {
  const list = typeof patterns === "string" ? [patterns] : patterns;
  if ((list.length > 1 || list.some(hasGlob)) && !(await into.isDir())) {
    throw new SFTPError(
      SFTPStatus.FAILURE,
      "Not an existing directory: several files cannot be copied into it",
      { path: into.path, operation: into.operation },
    );
  }
  for (const pattern of list) {
    let found: string[] = [];
    await transfer.item(o, pattern, async () => {
      found = await expand(pattern);
    });
    for (const p of found) await each(p, pattern);
  }
}
