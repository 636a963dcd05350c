/**
 * The SFTP v3 codec: every request (including OpenSSH's extensions) and every
 * reply, encoded and decoded in both directions. Packets are
 * `uint32 length, byte type, ...` (draft-ietf-secsh-filexfer-02 §3).
 *
 * Encoders return the packet as chunks so a WRITE or DATA payload is sent
 * without being copied into the header. Decoders take the packet body (after
 * the length) and throw {@link WireError} on malformed input; the engines turn
 * that into a status reply or a protocol error.
 *
 * @module
 */

import { WireError } from "../core/errors.ts";
import { SSHReader, SSHWriter } from "../core/wire.ts";
import { decodeEscapedUtf8, encodeEscapedUtf8 } from "../core/escaped_utf8.ts";
import { type FileAttributes, readAttrs, writeAttrs } from "./attrs.ts";
import {
  Ext,
  FXP,
  MAX_EXTENSIONS,
  MAX_HANDLE_LENGTH,
  MAX_ID_LOOKUPS,
  MAX_PATH_LENGTH,
} from "./constants.ts";
import type { SymlinkOrder } from "./symlink_order.ts";

// ---- types ----

/**
 * A client request. `type` names the operation; the OpenSSH extensions have
 * their own types (`posixRename`, `statvfs`, …) and `extended` carries any
 * other extension as raw bytes.
 *
 * @example
 * ```ts
 * import type { SFTPRequest } from "@sshts/ssh/sftp";
 * const req: SFTPRequest = { type: "stat", path: "/etc/hostname" };
 * console.log(req.type);
 * ```
 */
export type SFTPRequest =
  | {
    readonly type: "open";
    readonly path: string;
    readonly flags: number;
    readonly attrs: FileAttributes;
  }
  | { readonly type: "close"; readonly handle: Uint8Array }
  | {
    readonly type: "read";
    readonly handle: Uint8Array;
    readonly offset: number;
    readonly length: number;
  }
  | {
    readonly type: "write";
    readonly handle: Uint8Array;
    readonly offset: number;
    readonly data: Uint8Array;
  }
  | { readonly type: "lstat"; readonly path: string }
  | { readonly type: "fstat"; readonly handle: Uint8Array }
  | { readonly type: "setstat"; readonly path: string; readonly attrs: FileAttributes }
  | { readonly type: "fsetstat"; readonly handle: Uint8Array; readonly attrs: FileAttributes }
  | { readonly type: "opendir"; readonly path: string }
  | { readonly type: "readdir"; readonly handle: Uint8Array }
  | { readonly type: "remove"; readonly path: string }
  | { readonly type: "mkdir"; readonly path: string; readonly attrs: FileAttributes }
  | { readonly type: "rmdir"; readonly path: string }
  | { readonly type: "realpath"; readonly path: string }
  | { readonly type: "stat"; readonly path: string }
  | { readonly type: "rename"; readonly oldPath: string; readonly newPath: string }
  | { readonly type: "readlink"; readonly path: string }
  | { readonly type: "symlink"; readonly linkPath: string; readonly targetPath: string }
  | { readonly type: "posixRename"; readonly oldPath: string; readonly newPath: string }
  | { readonly type: "statvfs"; readonly path: string }
  | { readonly type: "fstatvfs"; readonly handle: Uint8Array }
  | { readonly type: "hardlink"; readonly oldPath: string; readonly newPath: string }
  | { readonly type: "fsync"; readonly handle: Uint8Array }
  | { readonly type: "lsetstat"; readonly path: string; readonly attrs: FileAttributes }
  | { readonly type: "limits" }
  | { readonly type: "expandPath"; readonly path: string }
  | {
    readonly type: "copyData";
    readonly readHandle: Uint8Array;
    readonly readOffset: number;
    readonly length: number;
    readonly writeHandle: Uint8Array;
    readonly writeOffset: number;
  }
  | { readonly type: "homeDirectory"; readonly username: string }
  | {
    readonly type: "usersGroupsById";
    readonly uids: readonly number[];
    readonly gids: readonly number[];
  }
  | { readonly type: "extended"; readonly name: string; readonly data: Uint8Array };

/** The request types (the `type` field of {@link SFTPRequest}). */
export type SFTPRequestType = SFTPRequest["type"];

/** One directory entry of a NAME reply. */
export interface NameEntry {
  /** The entry's name (a bare name for READDIR, a path for REALPATH and READLINK). */
  readonly filename: string;
  /** An `ls -l` style line (servers fill it for READDIR; may be empty). */
  readonly longname: string;
  /** The entry's attributes (often empty for REALPATH). */
  readonly attrs: FileAttributes;
}

/** The reply to `statvfs@openssh.com` / `fstatvfs@openssh.com` (statvfs(3) fields). */
export interface StatVFS {
  /** File system block size. */
  readonly bsize: number;
  /** Fundamental block size. */
  readonly frsize: number;
  /** Blocks, in units of frsize. */
  readonly blocks: number;
  /** Free blocks. */
  readonly bfree: number;
  /** Free blocks for unprivileged users. */
  readonly bavail: number;
  /** Inodes. */
  readonly files: number;
  /** Free inodes. */
  readonly ffree: number;
  /** Free inodes for unprivileged users. */
  readonly favail: number;
  /** File system id. */
  readonly fsid: number;
  /** ST_RDONLY (1) | ST_NOSUID (2). */
  readonly flag: number;
  /** Longest file name. */
  readonly namemax: number;
}

/** The reply to `limits@openssh.com` (0 means "no limit announced"). */
export interface SFTPLimits {
  /** Largest packet the server accepts. */
  readonly maxPacketLength: number;
  /** Largest READ the server answers in full. */
  readonly maxReadLength: number;
  /** Largest WRITE payload the server accepts. */
  readonly maxWriteLength: number;
  /** Most handles open at once. */
  readonly maxOpenHandles: number;
}

/** A reply packet from the server, decoded by type. */
export type SFTPReply =
  | {
    readonly type: "status";
    readonly id: number;
    readonly code: number;
    readonly message: string;
    readonly language: string;
  }
  | { readonly type: "handle"; readonly id: number; readonly handle: Uint8Array }
  | { readonly type: "data"; readonly id: number; readonly data: Uint8Array }
  | { readonly type: "name"; readonly id: number; readonly entries: readonly NameEntry[] }
  | { readonly type: "attrs"; readonly id: number; readonly attrs: FileAttributes }
  | { readonly type: "extendedReply"; readonly id: number; readonly data: Uint8Array };

// ---- helpers ----

const lenient = new TextDecoder("utf-8");

/**
 * Reads a path or name: at most {@link MAX_PATH_LENGTH} bytes, UTF-8 with each byte of an
 * invalid sequence kept as U+DC80–U+DCFF (`decodeEscapedUtf8`), so that a name in another
 * encoding can be sent back as the same bytes.
 */
export function readPath(r: SSHReader, what: string): string {
  return decodeEscapedUtf8(r.readString(what, MAX_PATH_LENGTH));
}

/** Reads free text (a status message, a language tag): UTF-8, invalid bytes become U+FFFD. */
function readText(r: SSHReader, what: string): string {
  return lenient.decode(r.readString(what, MAX_PATH_LENGTH));
}

/** Reads a handle: at most {@link MAX_HANDLE_LENGTH} bytes (a view, not a copy). */
export function readHandle(r: SSHReader, what = "handle"): Uint8Array {
  return r.readString(what, MAX_HANDLE_LENGTH);
}

function readOffset(r: SSHReader, what: string): number {
  const v = r.readUint64(what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new WireError("ERR_WIRE_LIMIT", `Cannot read ${what}: ${v} is beyond 2^53`);
  }
  return Number(v);
}

/** Starts a packet: a length placeholder, the type byte and (for all but INIT/VERSION) the id. */
function start(type: number, id: number | undefined, capacity = 64): SSHWriter {
  const w = new SSHWriter(capacity);
  w.writeUint32(0).writeByte(type);
  if (id !== undefined) w.writeUint32(id);
  return w;
}

/** Ends a packet: fills in its length (counting `tail` bytes sent as a separate chunk). */
function finish(w: SSHWriter, tail = 0): Uint8Array {
  const b = w.toBytes();
  new DataView(b.buffer).setUint32(0, b.length - 4 + tail);
  return b;
}

// ---- INIT and VERSION ----

/**
 * Encodes SSH_FXP_INIT (client hello) or SSH_FXP_VERSION (server hello) with
 * extension pairs.
 *
 * @example
 * ```ts
 * import { encodeHello, FXP_INIT } from "./messages.ts";
 * console.log(encodeHello(FXP_INIT, 3, []).length); // 9
 * ```
 */
export function encodeHello(
  type: typeof FXP.INIT | typeof FXP.VERSION,
  version: number,
  extensions: readonly (readonly [string, string])[],
): Uint8Array {
  const w = start(type, undefined);
  w.writeUint32(version);
  for (const [name, data] of extensions) w.writeStringUtf8(name).writeStringUtf8(data);
  return finish(w);
}

/** SSH_FXP_INIT, re-exported for {@link encodeHello}'s callers. */
export const FXP_INIT = FXP.INIT;
/** SSH_FXP_VERSION, re-exported for {@link encodeHello}'s callers. */
export const FXP_VERSION = FXP.VERSION;

/**
 * Decodes the body of INIT or VERSION after the type byte: the version and the
 * extension pairs (at most {@link MAX_EXTENSIONS}).
 *
 * @example
 * ```ts
 * import { SSHReader } from "../core/wire.ts";
 * import { decodeHello, encodeHello, FXP_VERSION } from "./messages.ts";
 * const p = encodeHello(FXP_VERSION, 3, [["limits@openssh.com", "1"]]);
 * const hello = decodeHello(new SSHReader(p, 5));
 * console.log(hello.version, hello.extensions.get("limits@openssh.com")); // 3 "1"
 * ```
 */
export function decodeHello(r: SSHReader): { version: number; extensions: Map<string, string> } {
  const version = r.readUint32("version");
  const extensions = new Map<string, string>();
  let n = 0;
  while (r.remaining > 0) {
    if (++n > MAX_EXTENSIONS) {
      throw new WireError(
        "ERR_WIRE_LIMIT",
        `Cannot read hello: more than ${MAX_EXTENSIONS} extensions`,
      );
    }
    const name = readPath(r, "extension name");
    const data = readPath(r, "extension data");
    // A repeated name keeps its first version (OpenSSH announces each once).
    if (!extensions.has(name)) extensions.set(name, data);
  }
  return { version, extensions };
}

// ---- requests ----

/**
 * Encodes a request with id `id` as packet chunks (a WRITE's data is its own
 * chunk, not copied).
 *
 * @example
 * ```ts
 * import { encodeRequest } from "./messages.ts";
 * const chunks = encodeRequest(7, { type: "stat", path: "/tmp" });
 * console.log(chunks.length, chunks[0]![4]); // 1 17
 * ```
 */
export function encodeRequest(
  id: number,
  req: SFTPRequest,
  symlinks: SymlinkOrder = "openssh",
): Uint8Array[] {
  switch (req.type) {
    case "open": {
      const w = start(FXP.OPEN, id).writeString(encodeEscapedUtf8(req.path)).writeUint32(req.flags);
      writeAttrs(w, req.attrs);
      return [finish(w)];
    }
    case "close":
      return [finish(start(FXP.CLOSE, id).writeString(req.handle))];
    case "read":
      return [
        finish(
          start(FXP.READ, id).writeString(req.handle).writeUint64(BigInt(req.offset))
            .writeUint32(req.length),
        ),
      ];
    case "write": {
      const w = start(FXP.WRITE, id).writeString(req.handle).writeUint64(BigInt(req.offset))
        .writeUint32(req.data.length);
      return req.data.length ? [finish(w, req.data.length), req.data] : [finish(w)];
    }
    case "lstat":
      return [finish(start(FXP.LSTAT, id).writeString(encodeEscapedUtf8(req.path)))];
    case "fstat":
      return [finish(start(FXP.FSTAT, id).writeString(req.handle))];
    case "setstat": {
      const w = start(FXP.SETSTAT, id).writeString(encodeEscapedUtf8(req.path));
      writeAttrs(w, req.attrs);
      return [finish(w)];
    }
    case "fsetstat": {
      const w = start(FXP.FSETSTAT, id).writeString(req.handle);
      writeAttrs(w, req.attrs);
      return [finish(w)];
    }
    case "opendir":
      return [finish(start(FXP.OPENDIR, id).writeString(encodeEscapedUtf8(req.path)))];
    case "readdir":
      return [finish(start(FXP.READDIR, id).writeString(req.handle))];
    case "remove":
      return [finish(start(FXP.REMOVE, id).writeString(encodeEscapedUtf8(req.path)))];
    case "mkdir": {
      const w = start(FXP.MKDIR, id).writeString(encodeEscapedUtf8(req.path));
      writeAttrs(w, req.attrs);
      return [finish(w)];
    }
    case "rmdir":
      return [finish(start(FXP.RMDIR, id).writeString(encodeEscapedUtf8(req.path)))];
    case "realpath":
      return [finish(start(FXP.REALPATH, id).writeString(encodeEscapedUtf8(req.path)))];
    case "stat":
      return [finish(start(FXP.STAT, id).writeString(encodeEscapedUtf8(req.path)))];
    case "rename":
      return [
        finish(
          start(FXP.RENAME, id).writeString(encodeEscapedUtf8(req.oldPath)).writeString(
            encodeEscapedUtf8(req.newPath),
          ),
        ),
      ];
    case "readlink":
      return [finish(start(FXP.READLINK, id).writeString(encodeEscapedUtf8(req.path)))];
    case "symlink": {
      // OpenSSH's order (PROTOCOL §4.1): target first, then the link's own path; the draft's
      // the other way round (see symlink_order.ts).
      const [first, second] = symlinks === "draft"
        ? [req.linkPath, req.targetPath]
        : [req.targetPath, req.linkPath];
      return [
        finish(
          start(FXP.SYMLINK, id).writeString(encodeEscapedUtf8(first)).writeString(
            encodeEscapedUtf8(second),
          ),
        ),
      ];
    }
    case "posixRename":
      return [
        finish(
          ext(id, Ext.POSIX_RENAME).writeString(encodeEscapedUtf8(req.oldPath)).writeString(
            encodeEscapedUtf8(req.newPath),
          ),
        ),
      ];
    case "statvfs":
      return [finish(ext(id, Ext.STATVFS).writeString(encodeEscapedUtf8(req.path)))];
    case "fstatvfs":
      return [finish(ext(id, Ext.FSTATVFS).writeString(req.handle))];
    case "hardlink":
      return [
        finish(
          ext(id, Ext.HARDLINK).writeString(encodeEscapedUtf8(req.oldPath)).writeString(
            encodeEscapedUtf8(req.newPath),
          ),
        ),
      ];
    case "fsync":
      return [finish(ext(id, Ext.FSYNC).writeString(req.handle))];
    case "lsetstat": {
      const w = ext(id, Ext.LSETSTAT).writeString(encodeEscapedUtf8(req.path));
      writeAttrs(w, req.attrs);
      return [finish(w)];
    }
    case "limits":
      return [finish(ext(id, Ext.LIMITS))];
    case "expandPath":
      return [finish(ext(id, Ext.EXPAND_PATH).writeString(encodeEscapedUtf8(req.path)))];
    case "copyData":
      return [
        finish(
          ext(id, Ext.COPY_DATA).writeString(req.readHandle).writeUint64(BigInt(req.readOffset))
            .writeUint64(BigInt(req.length)).writeString(req.writeHandle)
            .writeUint64(BigInt(req.writeOffset)),
        ),
      ];
    case "homeDirectory":
      return [finish(ext(id, Ext.HOME_DIRECTORY).writeString(encodeEscapedUtf8(req.username)))];
    case "usersGroupsById": {
      const w = ext(id, Ext.USERS_GROUPS_BY_ID);
      w.writeUint32(req.uids.length * 4);
      for (const u of req.uids) w.writeUint32(u);
      w.writeUint32(req.gids.length * 4);
      for (const g of req.gids) w.writeUint32(g);
      return [finish(w)];
    }
    case "extended":
      return [finish(ext(id, req.name).writeBytes(req.data))];
  }
}

function ext(id: number, name: string): SSHWriter {
  return start(FXP.EXTENDED, id).writeStringUtf8(name);
}

/**
 * Decodes a request body: `r` is positioned after the type byte and the id.
 * Throws {@link WireError} on malformed input; an unknown packet type returns
 * undefined (the caller answers OP_UNSUPPORTED).
 *
 * @example
 * ```ts
 * import { SSHReader } from "../core/wire.ts";
 * import { decodeRequest, encodeRequest } from "./messages.ts";
 * const [p] = encodeRequest(1, { type: "rename", oldPath: "a", newPath: "b" });
 * console.log(decodeRequest(p![4]!, new SSHReader(p!, 9))); // { type: "rename", ... }
 * ```
 */
export function decodeRequest(
  type: number,
  r: SSHReader,
  symlinks: SymlinkOrder = "openssh",
): SFTPRequest | undefined {
  const req = decodeRequestBody(type, r, symlinks);
  if (req) r.assertEnd("request");
  return req;
}

function decodeRequestBody(
  type: number,
  r: SSHReader,
  symlinks: SymlinkOrder,
): SFTPRequest | undefined {
  switch (type) {
    case FXP.OPEN: {
      const path = readPath(r, "path");
      const flags = r.readUint32("open flags");
      return { type: "open", path, flags, attrs: readAttrs(r) };
    }
    case FXP.CLOSE:
      return { type: "close", handle: readHandle(r) };
    case FXP.READ: {
      const handle = readHandle(r);
      const offset = readOffset(r, "offset");
      return { type: "read", handle, offset, length: r.readUint32("length") };
    }
    case FXP.WRITE: {
      const handle = readHandle(r);
      const offset = readOffset(r, "offset");
      return { type: "write", handle, offset, data: r.readString("data") };
    }
    case FXP.LSTAT:
      return { type: "lstat", path: readPath(r, "path") };
    case FXP.FSTAT:
      return { type: "fstat", handle: readHandle(r) };
    case FXP.SETSTAT: {
      const path = readPath(r, "path");
      return { type: "setstat", path, attrs: readAttrs(r) };
    }
    case FXP.FSETSTAT: {
      const handle = readHandle(r);
      return { type: "fsetstat", handle, attrs: readAttrs(r) };
    }
    case FXP.OPENDIR:
      return { type: "opendir", path: readPath(r, "path") };
    case FXP.READDIR:
      return { type: "readdir", handle: readHandle(r) };
    case FXP.REMOVE:
      return { type: "remove", path: readPath(r, "path") };
    case FXP.MKDIR: {
      const path = readPath(r, "path");
      return { type: "mkdir", path, attrs: readAttrs(r) };
    }
    case FXP.RMDIR:
      return { type: "rmdir", path: readPath(r, "path") };
    case FXP.REALPATH:
      // Version 6 adds a control byte and compose paths; a v3 client sends only the path.
      return { type: "realpath", path: readPath(r, "path") };
    case FXP.STAT:
      return { type: "stat", path: readPath(r, "path") };
    case FXP.RENAME: {
      const oldPath = readPath(r, "old path");
      return { type: "rename", oldPath, newPath: readPath(r, "new path") };
    }
    case FXP.READLINK:
      return { type: "readlink", path: readPath(r, "path") };
    case FXP.SYMLINK: {
      // OpenSSH's order (PROTOCOL §4.1), or the draft's (see symlink_order.ts).
      if (symlinks === "draft") {
        const linkPath = readPath(r, "link path");
        return { type: "symlink", linkPath, targetPath: readPath(r, "target path") };
      }
      const targetPath = readPath(r, "target path");
      return { type: "symlink", targetPath, linkPath: readPath(r, "link path") };
    }
    case FXP.EXTENDED:
      return decodeExtended(r);
    default:
      return undefined;
  }
}

function decodeExtended(r: SSHReader): SFTPRequest {
  const name = readPath(r, "extension name");
  switch (name) {
    case Ext.POSIX_RENAME: {
      const oldPath = readPath(r, "old path");
      return { type: "posixRename", oldPath, newPath: readPath(r, "new path") };
    }
    case Ext.STATVFS:
      return { type: "statvfs", path: readPath(r, "path") };
    case Ext.FSTATVFS:
      return { type: "fstatvfs", handle: readHandle(r) };
    case Ext.HARDLINK: {
      const oldPath = readPath(r, "old path");
      return { type: "hardlink", oldPath, newPath: readPath(r, "new path") };
    }
    case Ext.FSYNC:
      return { type: "fsync", handle: readHandle(r) };
    case Ext.LSETSTAT: {
      const path = readPath(r, "path");
      return { type: "lsetstat", path, attrs: readAttrs(r) };
    }
    case Ext.LIMITS:
      return { type: "limits" };
    case Ext.EXPAND_PATH:
      return { type: "expandPath", path: readPath(r, "path") };
    case Ext.COPY_DATA: {
      const readHandle_ = readHandle(r, "read-from handle");
      const readOffset_ = readOffset(r, "read-from offset");
      const length = readOffset(r, "read length");
      const writeHandle = readHandle(r, "write-to handle");
      const writeOffset = readOffset(r, "write-to offset");
      return {
        type: "copyData",
        readHandle: readHandle_,
        readOffset: readOffset_,
        length,
        writeHandle,
        writeOffset,
      };
    }
    case Ext.HOME_DIRECTORY:
      return { type: "homeDirectory", username: readPath(r, "user name") };
    case Ext.USERS_GROUPS_BY_ID: {
      const uids = readIdList(r, "uids");
      const gids = readIdList(r, "gids");
      return { type: "usersGroupsById", uids, gids };
    }
    default:
      return { type: "extended", name, data: r.readBytes(r.remaining) };
  }
}

function readIdList(r: SSHReader, what: string): number[] {
  const b = r.readString(what, MAX_ID_LOOKUPS * 4);
  if (b.length % 4 !== 0) {
    throw new WireError(
      "ERR_WIRE_MALFORMED",
      `Cannot read ${what}: ${b.length} is not a multiple of 4`,
    );
  }
  const sub = new SSHReader(b);
  const out: number[] = [];
  while (sub.remaining > 0) out.push(sub.readUint32(what));
  return out;
}

// ---- replies ----

/**
 * Encodes SSH_FXP_STATUS.
 *
 * @example
 * ```ts
 * import { encodeStatus } from "./messages.ts";
 * console.log(encodeStatus(3, 0, "Success")[4]); // 101
 * ```
 */
export function encodeStatus(id: number, code: number, message: string, language = ""): Uint8Array {
  return finish(
    start(FXP.STATUS, id).writeUint32(code).writeStringUtf8(message).writeStringUtf8(language),
  );
}

/**
 * Encodes SSH_FXP_HANDLE.
 *
 * @example
 * ```ts
 * import { encodeHandle } from "./messages.ts";
 * console.log(encodeHandle(1, new Uint8Array(4)).length); // 17
 * ```
 */
export function encodeHandle(id: number, handle: Uint8Array): Uint8Array {
  return finish(start(FXP.HANDLE, id).writeString(handle));
}

/**
 * Encodes SSH_FXP_DATA as two chunks: the header and the data itself (not copied).
 *
 * @example
 * ```ts
 * import { encodeData } from "./messages.ts";
 * console.log(encodeData(1, new Uint8Array(100)).length); // 2
 * ```
 */
export function encodeData(id: number, data: Uint8Array): Uint8Array[] {
  const w = start(FXP.DATA, id, 16).writeUint32(data.length);
  return data.length ? [finish(w, data.length), data] : [finish(w)];
}

/**
 * Encodes SSH_FXP_NAME.
 *
 * @example
 * ```ts
 * import { encodeName } from "./messages.ts";
 * console.log(encodeName(1, [{ filename: "/home", longname: "", attrs: {} }]).length > 0);
 * ```
 */
export function encodeName(id: number, entries: readonly NameEntry[]): Uint8Array {
  const w = start(FXP.NAME, id, 256).writeUint32(entries.length);
  for (const e of entries) {
    w.writeString(encodeEscapedUtf8(e.filename)).writeString(encodeEscapedUtf8(e.longname));
    writeAttrs(w, e.attrs);
  }
  return finish(w);
}

/**
 * Encodes SSH_FXP_ATTRS.
 *
 * @example
 * ```ts
 * import { encodeAttrs } from "./messages.ts";
 * console.log(encodeAttrs(1, { size: 1 }).length); // 21
 * ```
 */
export function encodeAttrs(id: number, attrs: FileAttributes): Uint8Array {
  const w = start(FXP.ATTRS, id);
  writeAttrs(w, attrs);
  return finish(w);
}

/**
 * Encodes SSH_FXP_EXTENDED_REPLY around an already encoded body.
 *
 * @example
 * ```ts
 * import { encodeExtendedReply } from "./messages.ts";
 * console.log(encodeExtendedReply(1, new Uint8Array(32)).length); // 41
 * ```
 */
export function encodeExtendedReply(id: number, body: Uint8Array): Uint8Array {
  return finish(start(FXP.EXTENDED_REPLY, id, body.length + 16).writeBytes(body));
}

/**
 * The body of the statvfs extension's reply (11 uint64).
 *
 * @example
 * ```ts
 * import { encodeStatVFSBody } from "./messages.ts";
 * const body = encodeStatVFSBody({ bsize: 4096, frsize: 4096, blocks: 1, bfree: 1, bavail: 1, files: 1, ffree: 1, favail: 1, fsid: 0, flag: 0, namemax: 255 });
 * console.log(body.length); // 88
 * ```
 */
export function encodeStatVFSBody(s: StatVFS): Uint8Array {
  const w = new SSHWriter(88);
  for (
    const v of [
      s.bsize,
      s.frsize,
      s.blocks,
      s.bfree,
      s.bavail,
      s.files,
      s.ffree,
      s.favail,
      s.fsid,
      s.flag,
      s.namemax,
    ]
  ) w.writeUint64(BigInt(Math.max(0, Math.floor(v))));
  return w.toBytes();
}

/**
 * Decodes the statvfs extension's reply body.
 *
 * @example
 * ```ts
 * import { decodeStatVFSBody, encodeStatVFSBody } from "./messages.ts";
 * const s = { bsize: 512, frsize: 512, blocks: 9, bfree: 8, bavail: 7, files: 6, ffree: 5, favail: 4, fsid: 3, flag: 1, namemax: 255 };
 * console.log(decodeStatVFSBody(encodeStatVFSBody(s)).bavail); // 7
 * ```
 */
export function decodeStatVFSBody(body: Uint8Array): StatVFS {
  const r = new SSHReader(body);
  const n = () => Number(r.readUint64("statvfs field"));
  const s: StatVFS = {
    bsize: n(),
    frsize: n(),
    blocks: n(),
    bfree: n(),
    bavail: n(),
    files: n(),
    ffree: n(),
    favail: n(),
    fsid: n(),
    flag: n(),
    namemax: n(),
  };
  r.assertEnd("statvfs reply");
  return s;
}

/**
 * The body of the limits extension's reply (4 uint64).
 *
 * @example
 * ```ts
 * import { encodeLimitsBody } from "./messages.ts";
 * console.log(encodeLimitsBody({ maxPacketLength: 262144, maxReadLength: 261120, maxWriteLength: 261120, maxOpenHandles: 0 }).length); // 32
 * ```
 */
export function encodeLimitsBody(l: SFTPLimits): Uint8Array {
  return new SSHWriter(32).writeUint64(BigInt(l.maxPacketLength))
    .writeUint64(BigInt(l.maxReadLength)).writeUint64(BigInt(l.maxWriteLength))
    .writeUint64(BigInt(l.maxOpenHandles)).toBytes();
}

/**
 * Decodes the limits extension's reply body.
 *
 * @example
 * ```ts
 * import { decodeLimitsBody, encodeLimitsBody } from "./messages.ts";
 * const l = { maxPacketLength: 1, maxReadLength: 2, maxWriteLength: 3, maxOpenHandles: 4 };
 * console.log(decodeLimitsBody(encodeLimitsBody(l)).maxWriteLength); // 3
 * ```
 */
export function decodeLimitsBody(body: Uint8Array): SFTPLimits {
  const r = new SSHReader(body);
  // Values beyond 2^53 mean "huge": clamp rather than lose the sign.
  const n = () => {
    const v = r.readUint64("limit");
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const l = { maxPacketLength: n(), maxReadLength: n(), maxWriteLength: n(), maxOpenHandles: n() };
  r.assertEnd("limits reply");
  return l;
}

/**
 * The body of the users-groups-by-id reply: two strings of packed names.
 *
 * @example
 * ```ts
 * import { decodeUsersGroupsBody, encodeUsersGroupsBody } from "./messages.ts";
 * const b = encodeUsersGroupsBody(["root"], ["wheel", ""]);
 * console.log(decodeUsersGroupsBody(b, 1, 2)); // { users: ["root"], groups: ["wheel", ""] }
 * ```
 */
export function encodeUsersGroupsBody(
  users: readonly string[],
  groups: readonly string[],
): Uint8Array {
  const pack = (names: readonly string[]) => {
    const w = new SSHWriter();
    for (const n of names) w.writeString(encodeEscapedUtf8(n));
    return w.toBytes();
  };
  return new SSHWriter().writeString(pack(users)).writeString(pack(groups)).toBytes();
}

/**
 * Decodes the users-groups-by-id reply body; the counts must match the request's.
 *
 * @example
 * ```ts
 * import { decodeUsersGroupsBody, encodeUsersGroupsBody } from "./messages.ts";
 * console.log(decodeUsersGroupsBody(encodeUsersGroupsBody([], ["staff"]), 0, 1).groups); // ["staff"]
 * ```
 */
export function decodeUsersGroupsBody(
  body: Uint8Array,
  userCount: number,
  groupCount: number,
): { users: string[]; groups: string[] } {
  const r = new SSHReader(body);
  const unpack = (what: string, count: number) => {
    const sub = new SSHReader(r.readString(what));
    const names: string[] = [];
    while (sub.remaining > 0) names.push(readPath(sub, what));
    if (names.length !== count) {
      throw new WireError(
        "ERR_WIRE_MALFORMED",
        `Cannot read ${what}: ${names.length} names for ${count} ids`,
      );
    }
    return names;
  };
  const users = unpack("user names", userCount);
  const groups = unpack("group names", groupCount);
  r.assertEnd("users-groups-by-id reply");
  return { users, groups };
}

/**
 * Decodes a reply packet body (`r` positioned at the type byte). Returns
 * undefined for a packet type that is not a reply; throws {@link WireError}
 * on malformed input. DATA and EXTENDED_REPLY payloads are views into the
 * packet.
 *
 * @example
 * ```ts
 * import { SSHReader } from "../core/wire.ts";
 * import { decodeReply, encodeStatus } from "./messages.ts";
 * const p = encodeStatus(9, 2, "No such file");
 * console.log(decodeReply(new SSHReader(p, 4))); // { type: "status", id: 9, code: 2, ... }
 * ```
 */
export function decodeReply(r: SSHReader): SFTPReply | undefined {
  const type = r.readByte("packet type");
  const id = r.readUint32("request id");
  let reply: SFTPReply;
  switch (type) {
    case FXP.STATUS: {
      const code = r.readUint32("status code");
      // Some old servers omit message and language: tolerate their absence, as OpenSSH does.
      const message = r.remaining > 0 ? readText(r, "status message") : "";
      const language = r.remaining > 0 ? readText(r, "language tag") : "";
      reply = { type: "status", id, code, message, language };
      break;
    }
    case FXP.HANDLE:
      reply = { type: "handle", id, handle: readHandle(r) };
      break;
    case FXP.DATA:
      reply = { type: "data", id, data: r.readString("data") };
      break;
    case FXP.NAME: {
      const count = r.readUint32("name count");
      // Each entry takes at least 12 bytes: check before building anything.
      if (count * 12 > r.remaining) {
        throw new WireError("ERR_WIRE_TRUNCATED", `Cannot read names: ${count} entries do not fit`);
      }
      const entries: NameEntry[] = [];
      for (let i = 0; i < count; i++) {
        const filename = readPath(r, "file name");
        const longname = readPath(r, "long name");
        entries.push({ filename, longname, attrs: readAttrs(r) });
      }
      reply = { type: "name", id, entries };
      break;
    }
    case FXP.ATTRS:
      reply = { type: "attrs", id, attrs: readAttrs(r) };
      break;
    case FXP.EXTENDED_REPLY:
      reply = { type: "extendedReply", id, data: r.readBytes(r.remaining) };
      break;
    default:
      return undefined;
  }
  r.assertEnd("reply");
  return reply;
}
