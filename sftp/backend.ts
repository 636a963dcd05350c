/**
 * The interface an SFTP server serves files from: one async method per
 * operation. The server engine parses requests, keeps the handle table (so a
 * backend never sees a client's handle bytes) and calls these methods in
 * request order, one at a time, except READs and the WRITEs to a handle not
 * opened with APPEND: up to eight of those run side by side (never two writes
 * whose byte ranges overlap), so `read` and `write` must not depend on a file
 * position shared between calls.
 *
 * Errors: throw {@link SFTPError} with the status the client should see
 * (`new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file")`); anything else
 * thrown becomes SSH_FX_FAILURE with a generic message (its text is not sent
 * to the client). OpenSSH's sftp-server maps errno as clients expect: ENOENT,
 * ENOTDIR and ELOOP are NO_SUCH_FILE (so "file/sub" does not exist rather than
 * failing), EACCES and EPERM PERMISSION_DENIED, EINVAL (readlink of a file, a
 * directory renamed into itself) BAD_MESSAGE, EEXIST, EISDIR and ENOTEMPTY
 * FAILURE; `MemoryBackend` and `FsBackend` answer so.
 *
 * Optional methods are extensions: the server announces an extension only
 * when the backend has its method (copy-data is always announced: the
 * engine falls back to read and write).
 *
 * @module
 */

import type { FileAttributes } from "./attrs.ts";
import type { StatVFS } from "./messages.ts";

/** A directory entry a backend returns from {@link SFTPBackend.readdir}. */
export interface DirEntry {
  /** The entry's bare name. */
  readonly filename: string;
  /** Its attributes (as lstat reports them). */
  readonly attrs: FileAttributes;
  /** An `ls -l` line; the engine formats one from `attrs` when absent. */
  readonly longname?: string;
}

/**
 * A virtual file tree served over SFTP. `H` is the backend's handle type for
 * open files and directories (any value: a file descriptor, an object, ...).
 * Paths arrive as the client sent them (relative ones are relative to the
 * backend's idea of the home directory) and the backend resolves them, with what
 * the engine settles first, as sftp-server's system calls would: an empty path
 * never arrives (NO_SUCH_FILE; REALPATH and expand-path take it as "."), and
 * "d/" arrives as "d" once `stat` said d is a directory (`lsetstat` of "l/" then
 * arrives as `setstat` of "l"); a trailing "/" on anything else is refused.
 *
 * @example A read-only backend that serves one file
 * ```ts
 * import { type SFTPBackend, SFTPError, SFTPStatus } from "@sshts/ssh";
 * const body = new TextEncoder().encode("hello\n");
 * const deny = () => Promise.reject(new SFTPError(SFTPStatus.PERMISSION_DENIED, "Read-only"));
 * const missing = () => Promise.reject(new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file"));
 * const fileAttrs = { size: body.length, permissions: 0o100444 };
 * const backend: SFTPBackend<"hello" | "root"> = {
 *   open: async (path) => (path === "/hello" || path === "hello") ? "hello" : missing(),
 *   read: async (_h, offset, length) => offset >= body.length ? null : body.subarray(offset, offset + length),
 *   write: deny, close: async () => {}, fstat: async () => fileAttrs, fsetstat: deny,
 *   opendir: async (path) => (path === "/" || path === ".") ? "root" : missing(),
 *   readdir: (() => { let done = false; return async () => done ? null : (done = true, [{ filename: "hello", attrs: fileAttrs }]); })(),
 *   stat: async (p) => p === "/" || p === "." ? { permissions: 0o40555 } : p.endsWith("hello") ? fileAttrs : missing(),
 *   lstat: async (p) => p === "/" || p === "." ? { permissions: 0o40555 } : p.endsWith("hello") ? fileAttrs : missing(),
 *   setstat: deny, remove: deny, mkdir: deny, rmdir: deny, rename: deny, symlink: deny,
 *   realpath: async (p) => p === "." || p === "" ? "/" : p,
 *   readlink: missing,
 * };
 * console.log(typeof backend.open);
 * ```
 */
export interface SFTPBackend<H = unknown> {
  /**
   * Opens a file: `flags` are SSH_FXF_* bits, `attrs` apply when the file is created.
   * CREAT|EXCL fails on any entry there, a symlink too (dangling or not), as O_EXCL does.
   */
  open(path: string, flags: number, attrs: FileAttributes): Promise<H>;
  /** Reads up to `length` bytes at `offset`; null at end of file. Fewer bytes is fine. */
  read(handle: H, offset: number, length: number): Promise<Uint8Array | null>;
  /** Writes all of `data` at `offset` (at the end for append handles). `data` is only valid during the call. */
  write(handle: H, offset: number, data: Uint8Array): Promise<void>;
  /** Closes a file or directory handle (also called for handles left open when the session ends). */
  close(handle: H): Promise<void>;
  /** Attributes of an open file. */
  fstat(handle: H): Promise<FileAttributes>;
  /** Changes attributes of an open file. */
  fsetstat(handle: H, attrs: FileAttributes): Promise<void>;
  /** Opens a directory for listing. */
  opendir(path: string): Promise<H>;
  /** The next batch of entries (any size; the engine splits big batches), or null at the end. */
  readdir(handle: H): Promise<readonly DirEntry[] | null>;
  /** Attributes, following symlinks. */
  stat(path: string): Promise<FileAttributes>;
  /** Attributes, not following a final symlink. */
  lstat(path: string): Promise<FileAttributes>;
  /** Changes attributes (following symlinks). */
  setstat(path: string, attrs: FileAttributes): Promise<void>;
  /** Removes a file (or symlink). */
  remove(path: string): Promise<void>;
  /** Creates a directory. */
  mkdir(path: string, attrs: FileAttributes): Promise<void>;
  /** Removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** The canonical absolute path ("." is the home directory). */
  realpath(path: string): Promise<string>;
  /**
   * Renames without replacing an existing target (SFTP v3 semantics): any entry at
   * `newPath` fails the rename, even another name of the same file, or the same name.
   */
  rename(oldPath: string, newPath: string): Promise<void>;
  /** The target of a symlink. */
  readlink(path: string): Promise<string>;
  /** Creates a symlink at `linkPath` pointing to `targetPath`. */
  symlink(targetPath: string, linkPath: string): Promise<void>;

  /** posix-rename@openssh.com: rename, replacing the target. */
  posixRename?(oldPath: string, newPath: string): Promise<void>;
  /** statvfs@openssh.com. */
  statvfs?(path: string): Promise<StatVFS>;
  /** fstatvfs@openssh.com. */
  fstatvfs?(handle: H): Promise<StatVFS>;
  /** hardlink@openssh.com. */
  hardlink?(oldPath: string, newPath: string): Promise<void>;
  /** fsync@openssh.com. */
  fsync?(handle: H): Promise<void>;
  /** lsetstat@openssh.com: setstat without following a final symlink. */
  lsetstat?(path: string, attrs: FileAttributes): Promise<void>;
  /** expand-path@openssh.com: "~" and "~user" expansion, then realpath. */
  expandPath?(path: string): Promise<string>;
  /**
   * copy-data: copies `length` bytes (0: to end of file) between two open
   * files on the server. Without it the engine copies through read and write.
   */
  copyData?(
    readHandle: H,
    readOffset: number,
    length: number,
    writeHandle: H,
    writeOffset: number,
  ): Promise<void>;
  /** home-directory: a user's home directory ("" is the session's user). */
  homeDirectory?(username: string): Promise<string>;
  /** users-groups-by-id@openssh.com: names for ids ("" where unknown), in request order. */
  usersGroupsById?(
    uids: readonly number[],
    gids: readonly number[],
  ): Promise<{ users: string[]; groups: string[] }>;
  /**
   * Called with what {@link read} returned once the reply carrying it has been
   * handed on: a backend that reuses its read buffers takes them back here.
   */
  release?(data: Uint8Array): void;
  /** Any other extension: returns the EXTENDED_REPLY body, or undefined for a plain OK. */
  extended?(name: string, data: Uint8Array): Promise<Uint8Array | undefined>;
  /** Extensions `extended()` serves, to announce (name → version). */
  readonly extraExtensions?: ReadonlyMap<string, string>;
}
