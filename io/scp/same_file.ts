/**
 * Refusing a remote-to-remote copy whose target is its source: opening the target
 * truncates it, and when it is the source the source is gone (`cp` refuses "are the same
 * file" for the same reason); nor may a directory be copied into itself (each level would
 * list the copy made so far). Over SFTP the servers' canonical paths are compared, and
 * across two connections a match is confirmed on the attributes and by a probe; a
 * legacy-only server leaves only the paths as written to compare.
 *
 * @module
 */

import { type FileAttributes, isDirectory } from "../../sftp/attrs.ts";
import { dirname, isAtOrBelow, normalizePath, unescapeGlob } from "../../sftp/path.ts";
import { nameMatcher, sanitize, SCPError } from "../../sftp/scp/records.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { SFTPClient } from "../sftp/client.ts";

/**
 * Whether two connections may reach one server (so one file may be both ends of a copy):
 * the same connection, the same host and port, or the same host key.
 *
 * @example
 * ```ts ignore
 * if (mayShareServer(src.conn, dst.conn)) await refuseCopyOntoItself(a, src, attrs, b, dst, o);
 * ```
 */
export function mayShareServer(a: SSHClientConnection, b: SSHClientConnection): boolean {
  if (a === b) return true;
  const x = a.getExtraInfo();
  const y = b.getExtraInfo();
  if (x.host.toLowerCase() === y.host.toLowerCase() && x.port === y.port) return true;
  const kx = x.hostKeyBlob;
  const ky = y.hostKeyBlob;
  return kx !== null && ky !== null && kx.length === ky.length && kx.every((v, i) => v === ky[i]);
}

/** Options of {@link refuseCopyOntoItself}. */
export interface SelfCopyOptions {
  /** Directories are copied with their contents. */
  readonly recurse: boolean;
  /** `a` and `b` are one session (one connection): a canonical path names one file. */
  readonly sameConnection: boolean;
}

/**
 * Refuses to copy `src` (on `a`, with attributes `attrs`) to `target` (on `b`) when the
 * target is the source or, for a directory copied with `recurse`, lies inside it. Compared
 * by the servers' canonical paths (a target that does not exist yet by its directory's);
 * across two connections (two users, two jails of one server) a path may name different
 * files, so a match must also have the same attributes and pass {@link sameEntry}'s probe.
 * Nothing is opened or truncated; a path that cannot be resolved is left to the copy to
 * report.
 *
 * @example
 * ```ts ignore
 * await refuseCopyOntoItself(a, "/f.bin", await a.stat("/f.bin"), b, "/f.bin", {
 *   recurse: false, sameConnection: false,
 * }); // throws an SCPError (reason "usage") when both name one file
 * ```
 */
export async function refuseCopyOntoItself(
  a: SFTPClient,
  src: string,
  attrs: FileAttributes,
  b: SFTPClient,
  target: string,
  o: SelfCopyOptions,
): Promise<void> {
  const from = await a.realpath(src).catch(() => undefined);
  if (from === undefined) return;
  const exists = await b.stat(target).then(() => true, () => false);
  // A target still to be made is compared by its directory: a directory copied into itself.
  const at = exists ? target : dirname(target);
  const to = await b.realpath(at).catch(() => undefined);
  if (to === undefined) return;
  const same = exists && to === from;
  const inside = isDirectory(attrs) && o.recurse &&
    isAtOrBelow(to, from);
  if (!same && !inside) return;
  if (!o.sameConnection && !(await sameEntry(a, to, b, at))) return;
  if (same) {
    throw new SCPError(
      `"${sanitize(src)}" and "${sanitize(target)}" are the same file: not copied ` +
        "(opening the target would truncate the source)",
      { reason: "usage", path: src },
    );
  }
  throw new SCPError(
    `Cannot copy directory "${sanitize(src)}" into itself ("${sanitize(target)}")`,
    {
      reason: "usage",
      path: src,
    },
  );
}

/** The attributes two names of one file share (atime aside, which reading changes). */
const SAME_ATTRIBUTES = ["size", "uid", "gid", "permissions", "mtime"] as const;

/**
 * Whether `aPath` on `a` and `bPath` on `b` (two connections) are one file or directory.
 * Different attributes: no. The same ones (two copies made with `preserve` look alike):
 * the access time of `bPath`, the target that is about to be written anyway, is moved
 * by a second and read back through `a`, then put back. When that cannot be done (the
 * server refuses the change, or has no times), they are taken as one: refusing a copy is
 * better than destroying its source.
 */
async function sameEntry(
  a: SFTPClient,
  aPath: string,
  b: SFTPClient,
  bPath: string,
): Promise<boolean> {
  let sa: FileAttributes;
  let sb: FileAttributes;
  try {
    sa = await a.stat(aPath);
    sb = await b.stat(bPath);
  } catch {
    return false;
  }
  if (SAME_ATTRIBUTES.some((k) => sa[k] !== sb[k])) return false;
  const { atime, mtime } = sb;
  if (atime === undefined || mtime === undefined) return true;
  let mark = atime + 1;
  if (mark === sa.atime) mark++;
  try {
    await b.setstat(bPath, { atime: mark, mtime });
  } catch {
    return true;
  }
  try {
    return (await a.stat(aPath)).atime === mark;
  } catch {
    return true;
  } finally {
    await b.setstat(bPath, { atime, mtime }).catch(() => {});
  }
}

/**
 * A legacy source path as the remote shell takes it: a leading `~/` (or `~`) is the home
 * directory, which a relative path names too (`scp -f` leaves it unquoted; a destination's
 * `~` is quoted, a name like any other). Undefined for `~user`: another user's home.
 *
 * @example
 * ```ts ignore
 * sourceFromHome("~/logs/a.txt"); // "./logs/a.txt"
 * ```
 */
export function sourceFromHome(path: string): string | undefined {
  if (path === "~") return ".";
  if (path.startsWith("~/")) return `./${path.slice(2)}`;
  if (/^~[^/]/.test(path)) return undefined;
  return path;
}

/**
 * Whether the remote shell expands `path` in the legacy `scp -f`: an unescaped `*` or `?`,
 * the only glob characters `shellQuote()` leaves unquoted (a `[` is quoted: a literal).
 *
 * @example
 * ```ts ignore
 * hasShellGlob("logs/*.gz"); // true
 * hasShellGlob("report[1].txt"); // false
 * ```
 */
export function hasShellGlob(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?") return true;
  }
  return false;
}

/**
 * A legacy `scp -f` path as an SFTP glob pattern (`sftp/path.ts`) matching what the remote
 * shell expands it to: its `[` escaped, as the shell gets it quoted.
 *
 * @example
 * ```ts ignore
 * sftpPatternOf("r[1]/*.txt"); // "r\\[1]/*.txt"
 * ```
 */
export function sftpPatternOf(path: string): string {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === "\\" && i + 1 < path.length) out += c + path[++i]!;
    else out += c === "[" ? "\\[" : c;
  }
  return out;
}

/**
 * A remote path as a key to compare paths of one server and user by: an absolute path
 * normalized, a relative one under "~" (the home directory, unknown here); undefined when
 * it cannot be compared (".." above the home).
 */
function pathKey(path: string): string | undefined {
  const n = normalizePath(path);
  if (n.startsWith("/")) return n;
  if (n === ".." || n.startsWith("../")) return undefined;
  return n === "." ? "~" : `~/${n}`;
}

/**
 * For a server without SFTP (no canonical paths to ask for): refuses a copy on one server
 * and user whose paths, as written, show that the target is the source (`src` itself, or a
 * directory holding it, which the copy would land in under the same name) or, with
 * `recurse`, lies inside it. Symbolic links, and a relative path against an absolute one,
 * cannot be told apart this way: such aliases are not caught.
 *
 * @example
 * ```ts ignore
 * refuseAliasedPaths("/srv/a.txt", "/srv/", false); // throws: /srv/a.txt onto itself
 * ```
 */
export function refuseAliasedPaths(src: string, dst: string, recurse: boolean): void {
  const from = sourceFromHome(src);
  if (from === undefined) return;
  // As the remote shell reads it: only "*" and "?" expand ("[" is quoted, a literal name).
  const glob = hasShellGlob(from);
  const s = pathKey(glob ? from : unescapeGlob(from));
  // The destination's "~" is the home directory too (the remote shell expands it).
  const to = sourceFromHome(dst);
  const d = to === undefined ? undefined : pathKey(to);
  if (s === undefined || d === undefined || s.startsWith("/") !== d.startsWith("/")) return;
  const parent = s === "/" || s === "~" ? undefined : dirname(s);
  if ((!glob && s === d) || parent === d) {
    throw new SCPError(
      `"${sanitize(src)}" and "${sanitize(dst)}" name the same file: not copied ` +
        "(opening the target would truncate the source)",
      { reason: "usage", path: src },
    );
  }
  if (!recurse) return;
  let inside: boolean;
  if (!glob) inside = isAtOrBelow(d, s);
  else {
    // Inside a match: the component below the glob's directory matches it.
    const base = parent === "/" ? "/" : `${parent}/`;
    inside = parent !== undefined && d.startsWith(base) &&
      nameMatcher(from)(d.slice(base.length).split("/")[0]!);
  }
  if (inside) {
    throw new SCPError(`Cannot copy "${sanitize(src)}" into itself ("${sanitize(dst)}")`, {
      reason: "usage",
      path: src,
    });
  }
}
