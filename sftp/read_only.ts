/**
 * A read-only view of any {@link SFTPBackend}: what `listen({ sftp: { backend, readOnly:
 * true } })` serves. Every request that would change something is refused with
 * PERMISSION_DENIED ("Read-only file system", as the directory backend and sftp-server's
 * `-R` answer) before the backend sees it; reads, listings and lookups pass through.
 *
 * @module
 */

import type { FileAttributes } from "./attrs.ts";
import type { SFTPBackend } from "./backend.ts";
import { OpenFlags, SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";

/** The open flags that change a file (or create one). */
const WRITING = OpenFlags.WRITE | OpenFlags.APPEND | OpenFlags.CREAT | OpenFlags.TRUNC;

/**
 * `backend` with every change refused: opening for writing, writes, attribute changes,
 * removes, renames, links, directories made or removed, copy-data, fsync. Extensions the
 * backend serves through `extended()` are not offered: what they do is not known here.
 *
 * @example
 * ```ts
 * import { MemoryBackend, OpenFlags, readOnlyBackend } from "@sshts/ssh/sftp";
 * const files = new MemoryBackend();
 * const view = readOnlyBackend(files);
 * await view.mkdir("/new", {}).catch((e) => console.log(e.message)); // "Read-only file system"
 * console.log(typeof view.open("/x", OpenFlags.READ, {})); // "object" (a promise)
 * ```
 */
export function readOnlyBackend<H>(backend: SFTPBackend<H>): SFTPBackend<H> {
  const refuse = (path?: string): Promise<never> =>
    Promise.reject(
      new SFTPError(
        SFTPStatus.PERMISSION_DENIED,
        "Read-only file system",
        path === undefined ? {} : { path },
      ),
    );
  const b = backend;
  const view: SFTPBackend<H> = {
    open: (path: string, flags: number, attrs: FileAttributes) =>
      flags & WRITING ? refuse(path) : b.open(path, flags, attrs),
    read: (h, offset, length) => b.read(h, offset, length),
    write: () => refuse(),
    close: (h) => b.close(h),
    fstat: (h) => b.fstat(h),
    fsetstat: () => refuse(),
    opendir: (path) => b.opendir(path),
    readdir: (h) => b.readdir(h),
    stat: (path) => b.stat(path),
    lstat: (path) => b.lstat(path),
    setstat: (path) => refuse(path),
    remove: (path) => refuse(path),
    mkdir: (path) => refuse(path),
    rmdir: (path) => refuse(path),
    realpath: (path) => b.realpath(path),
    rename: (oldPath) => refuse(oldPath),
    readlink: (path) => b.readlink(path),
    symlink: (_target, linkPath) => refuse(linkPath),
  };
  // The optional ones the backend has, as it has them (a refusal where they change things).
  const optional: Partial<SFTPBackend<H>> = {
    ...(b.posixRename ? { posixRename: (oldPath: string) => refuse(oldPath) } : {}),
    ...(b.statvfs ? { statvfs: (path: string) => b.statvfs!(path) } : {}),
    ...(b.fstatvfs ? { fstatvfs: (h: H) => b.fstatvfs!(h) } : {}),
    ...(b.hardlink ? { hardlink: (_old: string, newPath: string) => refuse(newPath) } : {}),
    ...(b.fsync ? { fsync: () => refuse() } : {}),
    ...(b.lsetstat ? { lsetstat: (path: string) => refuse(path) } : {}),
    ...(b.expandPath ? { expandPath: (path: string) => b.expandPath!(path) } : {}),
    ...(b.homeDirectory ? { homeDirectory: (user: string) => b.homeDirectory!(user) } : {}),
    ...(b.usersGroupsById
      ? {
        usersGroupsById: (u: readonly number[], g: readonly number[]) => b.usersGroupsById!(u, g),
      }
      : {}),
    ...(b.release ? { release: (data: Uint8Array) => b.release!(data) } : {}),
    // copy-data writes: a refusal (the engine's own fallback would write too).
    copyData: () => refuse(),
  };
  return { ...view, ...optional };
}
