/**
 * File attributes (the ATTRS structure of draft-ietf-secsh-filexfer-02 §5):
 * the type, its wire encoding, mode helpers and the `ls -l` style long name
 * servers send with directory entries.
 *
 * @module
 */

import { WireError } from "../core/errors.ts";
import type { SSHReader, SSHWriter } from "../core/wire.ts";
import {
  ATTR,
  MAX_EXTENDED_ATTRS,
  MAX_PATH_LENGTH,
  S_IFBLK,
  S_IFCHR,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from "./constants.ts";

/** One extended attribute (`type`, `data`) pair. */
export interface ExtendedAttribute {
  /** The attribute's name, e.g. "mime-type@example.com". */
  readonly type: string;
  /** Its value. */
  readonly data: Uint8Array;
}

/**
 * A file's attributes. Every field is optional: a server fills in what it
 * knows, and a request to change attributes sends only the fields set.
 * `uid`/`gid` travel together, and so do `atime`/`mtime`.
 *
 * @example Attributes for chmod 644
 * ```ts
 * import type { FileAttributes } from "@sshts/ssh";
 * const attrs: FileAttributes = { permissions: 0o644 };
 * console.log(attrs.permissions?.toString(8)); // "644"
 * ```
 */
export interface FileAttributes {
  /** Size in bytes. */
  readonly size?: number;
  /** Owner's numeric id. */
  readonly uid?: number;
  /** Group's numeric id. */
  readonly gid?: number;
  /** POSIX mode: file type bits and permission bits (st_mode). */
  readonly permissions?: number;
  /** Last access time, seconds since the epoch. */
  readonly atime?: number;
  /** Last modification time, seconds since the epoch. */
  readonly mtime?: number;
  /** Extended attributes. */
  readonly extended?: readonly ExtendedAttribute[];
}

/**
 * Appends the ATTRS encoding of `a`. Throws RangeError when only one of
 * uid/gid or atime/mtime is given (the protocol carries them in pairs).
 *
 * @example
 * ```ts
 * import { SSHWriter } from "../core/wire.ts";
 * import { writeAttrs } from "./attrs.ts";
 * const w = new SSHWriter();
 * writeAttrs(w, { size: 10, permissions: 0o100644 });
 * console.log(w.length); // 4 + 8 + 4
 * ```
 */
export function writeAttrs(w: SSHWriter, a: FileAttributes): void {
  let flags = 0;
  if (a.size !== undefined) flags |= ATTR.SIZE;
  if (a.uid !== undefined || a.gid !== undefined) {
    if (a.uid === undefined || a.gid === undefined) {
      throw new RangeError("File attributes need both uid and gid, or neither");
    }
    flags |= ATTR.UIDGID;
  }
  if (a.permissions !== undefined) flags |= ATTR.PERMISSIONS;
  if (a.atime !== undefined || a.mtime !== undefined) {
    if (a.atime === undefined || a.mtime === undefined) {
      throw new RangeError("File attributes need both atime and mtime, or neither");
    }
    flags |= ATTR.ACMODTIME;
  }
  if (a.extended && a.extended.length > 0) flags |= ATTR.EXTENDED;
  w.writeUint32(flags >>> 0);
  if (a.size !== undefined) w.writeUint64(toUint64(a.size, "size"));
  if (flags & ATTR.UIDGID) w.writeUint32(a.uid! >>> 0).writeUint32(a.gid! >>> 0);
  if (a.permissions !== undefined) w.writeUint32(a.permissions >>> 0);
  if (flags & ATTR.ACMODTIME) {
    w.writeUint32(Math.floor(a.atime!) >>> 0).writeUint32(Math.floor(a.mtime!) >>> 0);
  }
  if (flags & ATTR.EXTENDED) {
    w.writeUint32(a.extended!.length);
    for (const x of a.extended!) w.writeStringUtf8(x.type).writeString(x.data);
  }
}

function toUint64(v: number, what: string): bigint {
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`File attribute ${what} must be >= 0`);
  return BigInt(Math.floor(v));
}

const lenient = new TextDecoder("utf-8");

/**
 * Reads an ATTRS structure. Unknown flag bits are malformed input (the
 * following fields could not be located); sizes above 2^53 lose precision.
 *
 * @example
 * ```ts
 * import { SSHReader } from "../core/wire.ts";
 * import { readAttrs } from "./attrs.ts";
 * const a = readAttrs(new SSHReader(new Uint8Array([0, 0, 0, 4, 0, 0, 1, 0xa4])));
 * console.log(a.permissions?.toString(8)); // "644"
 * ```
 */
export function readAttrs(r: SSHReader): FileAttributes {
  const flags = r.readUint32("attribute flags");
  const known = ATTR.SIZE | ATTR.UIDGID | ATTR.PERMISSIONS | ATTR.ACMODTIME | ATTR.EXTENDED;
  if ((flags & ~known) !== 0) {
    throw new WireError(
      "ERR_WIRE_MALFORMED",
      `Cannot read file attributes: unknown flags 0x${(flags >>> 0).toString(16)}`,
    );
  }
  const a: {
    size?: number;
    uid?: number;
    gid?: number;
    permissions?: number;
    atime?: number;
    mtime?: number;
    extended?: ExtendedAttribute[];
  } = {};
  if (flags & ATTR.SIZE) a.size = Number(r.readUint64("size"));
  if (flags & ATTR.UIDGID) {
    a.uid = r.readUint32("uid");
    a.gid = r.readUint32("gid");
  }
  if (flags & ATTR.PERMISSIONS) a.permissions = r.readUint32("permissions");
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.readUint32("atime");
    a.mtime = r.readUint32("mtime");
  }
  if (flags & ATTR.EXTENDED) {
    const n = r.readUint32("extended attribute count");
    // Each pair takes at least 8 bytes: check before building anything.
    if (n > MAX_EXTENDED_ATTRS || n * 8 > r.remaining) {
      throw new WireError(
        "ERR_WIRE_LIMIT",
        `Cannot read file attributes: ${n} extended attributes`,
      );
    }
    const ext: ExtendedAttribute[] = [];
    for (let i = 0; i < n; i++) {
      const type = lenient.decode(r.readString("extended attribute type", MAX_PATH_LENGTH));
      const data = r.readString("extended attribute data").slice();
      ext.push({ type, data });
    }
    a.extended = ext;
  }
  return a;
}

/**
 * Whether attributes describe a directory (false when the type is unknown).
 *
 * @example
 * ```ts
 * import { isDirectory } from "@sshts/ssh/sftp";
 * console.log(isDirectory({ permissions: 0o40755 })); // true
 * ```
 */
export function isDirectory(a: FileAttributes): boolean {
  return a.permissions !== undefined && (a.permissions & S_IFMT) === S_IFDIR;
}

/**
 * Whether attributes describe a regular file.
 *
 * @example
 * ```ts
 * import { isRegularFile } from "@sshts/ssh/sftp";
 * console.log(isRegularFile({ permissions: 0o100644 })); // true
 * ```
 */
export function isRegularFile(a: FileAttributes): boolean {
  return a.permissions !== undefined && (a.permissions & S_IFMT) === S_IFREG;
}

/**
 * Whether attributes describe a symbolic link (as lstat reports it).
 *
 * @example
 * ```ts
 * import { isSymbolicLink } from "@sshts/ssh/sftp";
 * console.log(isSymbolicLink({ permissions: 0o120777 })); // true
 * ```
 */
export function isSymbolicLink(a: FileAttributes): boolean {
  return a.permissions !== undefined && (a.permissions & S_IFMT) === S_IFLNK;
}

const TYPE_CHARS: [number, string][] = [
  [S_IFDIR, "d"],
  [S_IFREG, "-"],
  [S_IFLNK, "l"],
  [S_IFCHR, "c"],
  [S_IFBLK, "b"],
  [S_IFIFO, "p"],
  [S_IFSOCK, "s"],
];

/**
 * The `ls -l` mode string, e.g. "drwxr-xr-x" (with s/t bits as ls prints them).
 *
 * @example
 * ```ts
 * import { modeString } from "@sshts/ssh/sftp";
 * console.log(modeString(0o100644)); // "-rw-r--r--"
 * ```
 */
export function modeString(mode: number): string {
  const t = TYPE_CHARS.find(([bits]) => (mode & S_IFMT) === bits)?.[1] ?? "?";
  const bit = (m: number, c: string) => (mode & m ? c : "-");
  const special = (x: number, exec: number, set: string, unset: string) =>
    mode & x ? (mode & exec ? set : unset) : bit(exec, "x");
  return t +
    bit(0o400, "r") + bit(0o200, "w") + special(0o4000, 0o100, "s", "S") +
    bit(0o040, "r") + bit(0o020, "w") + special(0o2000, 0o010, "s", "S") +
    bit(0o004, "r") + bit(0o002, "w") + special(0o1000, 0o001, "t", "T");
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SIX_MONTHS = 182 * 24 * 3600;

/**
 * An `ls -l` style line for a directory entry, as OpenSSH's sftp-server sends
 * in NAME replies (times in UTC; owner and group as numbers unless given).
 * `now` (seconds) picks "Mon DD HH:MM" for recent files and "Mon DD  YYYY"
 * otherwise; without it the year form is used.
 *
 * @example
 * ```ts
 * import { formatLongname } from "@sshts/ssh/sftp";
 * const line = formatLongname("notes.txt", { permissions: 0o100644, size: 12, uid: 0, gid: 0, mtime: 0 });
 * console.log(line); // "-rw-r--r--    1 0        0              12 Jan  1  1970 notes.txt"
 * ```
 */
export function formatLongname(
  filename: string,
  a: FileAttributes,
  options: { now?: number; user?: string; group?: string; links?: number } = {},
): string {
  const mode = a.permissions !== undefined ? modeString(a.permissions) : "?---------";
  const user = (options.user ?? String(a.uid ?? 0)).padEnd(8);
  const group = (options.group ?? String(a.gid ?? 0)).padEnd(8);
  const size = String(a.size ?? 0).padStart(8);
  const links = String(options.links ?? 1).padStart(4);
  const mtime = a.mtime ?? 0;
  const d = new Date(mtime * 1000);
  const day = String(d.getUTCDate()).padStart(2);
  const recent = options.now !== undefined && Math.abs(options.now - mtime) < SIX_MONTHS;
  const tail = recent
    ? `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`
    : ` ${d.getUTCFullYear()}`;
  return `${mode} ${links} ${user} ${group} ${size} ${
    MONTHS[d.getUTCMonth()]
  } ${day} ${tail} ${filename}`;
}
