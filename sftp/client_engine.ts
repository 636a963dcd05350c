/**
 * The SFTP client engine, sans-IO: requests in as method calls, packets out
 * through {@link SFTPClientEngine.takeOutgoing}, server bytes in through
 * {@link SFTPClientEngine.receiveData}, and typed results out as events.
 *
 * Every request gets an id and an entry in the pending table; replies may come
 * in any order and are matched by id, checked against what the request
 * expects (a DATA reply to an OPEN is a protocol error) and decoded into a
 * result. Bad input never throws: it becomes a `closed` event carrying an
 * {@link SFTPProtocolError}, after which the engine ignores further input.
 *
 * @module
 */

import { LocalProtocolError } from "../core/errors.ts";
import { EventQueue } from "../core/event_queue.ts";
import { SSHReader } from "../core/wire.ts";
import type { FileAttributes } from "./attrs.ts";
import { CLIENT_MAX_PACKET, FXP, SFTP_VERSION, SFTPStatus } from "./constants.ts";
import { SFTPError, SFTPProtocolError } from "./errors.ts";
import { FrameError, PacketFramer } from "./framer.ts";
import {
  decodeHello,
  decodeLimitsBody,
  decodeReply,
  decodeStatVFSBody,
  decodeUsersGroupsBody,
  encodeHello,
  encodeRequest,
  type NameEntry,
  type SFTPLimits,
  type SFTPReply,
  type SFTPRequest,
  type SFTPRequestType,
  type StatVFS,
} from "./messages.ts";
import type { SymlinkOrder } from "./symlink_order.ts";

/**
 * The decoded outcome of one request.
 *
 * @example
 * ```ts
 * import type { SFTPResult } from "./client_engine.ts";
 * const r: SFTPResult = { kind: "eof" };
 * console.log(r.kind);
 * ```
 */
export type SFTPResult =
  | { readonly kind: "ok" }
  | { readonly kind: "error"; readonly error: SFTPError }
  | { readonly kind: "handle"; readonly handle: Uint8Array }
  | { readonly kind: "data"; readonly data: Uint8Array }
  | { readonly kind: "eof" }
  | { readonly kind: "attrs"; readonly attrs: FileAttributes }
  | { readonly kind: "names"; readonly entries: readonly NameEntry[] }
  | { readonly kind: "path"; readonly path: string; readonly attrs: FileAttributes }
  | { readonly kind: "statvfs"; readonly statvfs: StatVFS }
  | { readonly kind: "limits"; readonly limits: SFTPLimits }
  | { readonly kind: "usersGroups"; readonly users: string[]; readonly groups: string[] }
  | { readonly kind: "extendedReply"; readonly data: Uint8Array };

/**
 * Events from the client engine.
 *
 * - `version`: the server's hello; requests may be sent from now on.
 * - `reply`: the result of request `id`.
 * - `closed`: the server broke the protocol; every pending request is lost.
 *
 * @example
 * ```ts
 * import type { SFTPClientEvent } from "./client_engine.ts";
 * const e: SFTPClientEvent = { type: "reply", id: 1, request: "close", result: { kind: "ok" } };
 * console.log(e.type);
 * ```
 */
export type SFTPClientEvent =
  | {
    readonly type: "version";
    readonly version: number;
    readonly extensions: ReadonlyMap<string, string>;
  }
  | {
    readonly type: "reply";
    readonly id: number;
    readonly request: SFTPRequestType;
    readonly result: SFTPResult;
  }
  | { readonly type: "closed"; readonly error: SFTPProtocolError };

/** Options for {@link SFTPClientEngine}. */
export interface SFTPClientEngineOptions {
  /** Largest packet accepted from the server (default {@link CLIENT_MAX_PACKET}). */
  readonly maxPacketLength?: number;
  /**
   * Gives the buffer a reply spanning several input chunks is assembled in
   * (default: a new one each time); must return exactly `n` bytes. Lets the
   * caller recycle the buffers of DATA replies it has finished with.
   */
  readonly allocate?: (n: number) => Uint8Array;
  /**
   * Gets back each input chunk whose bytes were all copied into replies (none
   * kept as a view), so the caller can free it at once (see `PacketFramer`).
   */
  readonly release?: (chunk: Uint8Array) => void;
  /** Extensions to announce in our INIT (OpenSSH's client announces none). */
  readonly extensions?: readonly (readonly [string, string])[];
  /**
   * The order the server reads SSH_FXP_SYMLINK's paths in (default OpenSSH's, target
   * first): `symlinkOrder(serverVersion, clientVersion)` says which.
   */
  readonly symlinkOrder?: SymlinkOrder;
}

/**
 * Replies of at most this many bytes never take a buffer from
 * {@link SFTPClientEngineOptions.allocate} (the framer's own threshold for lent input).
 */
const OWN_BUFFER_MAX = 64 * 1024;

type Expect = "status" | "handle" | "data" | "attrs" | "names" | "path" | "ext";

const EXPECT: Record<SFTPRequestType, Expect> = {
  open: "handle",
  close: "status",
  read: "data",
  write: "status",
  lstat: "attrs",
  fstat: "attrs",
  setstat: "status",
  fsetstat: "status",
  opendir: "handle",
  readdir: "names",
  remove: "status",
  mkdir: "status",
  rmdir: "status",
  realpath: "path",
  stat: "attrs",
  rename: "status",
  readlink: "path",
  symlink: "status",
  posixRename: "status",
  statvfs: "ext",
  fstatvfs: "ext",
  hardlink: "status",
  fsync: "status",
  lsetstat: "status",
  limits: "ext",
  expandPath: "path",
  copyData: "status",
  homeDirectory: "path",
  usersGroupsById: "ext",
  extended: "ext",
};

interface Pending {
  readonly request: SFTPRequestType;
  readonly path: string | undefined;
  readonly length: number; // READ: bytes asked for; users-groups: uid count
  readonly extra: number; // users-groups: gid count
}

/**
 * The SFTP client protocol engine.
 *
 * @example Drive it against bytes from a server
 * ```ts
 * import { SFTPClientEngine } from "./client_engine.ts";
 * const eng = new SFTPClientEngine();
 * eng.start();
 * const init = eng.takeOutgoing(); // write these to the subsystem channel
 * // eng.receiveData(bytesFromServer); then drain eng.pollEvent() for "version"
 * const id = () => eng.request({ type: "stat", path: "/etc" }); // after "version"
 * console.log(init.length, typeof id);
 * ```
 */
export class SFTPClientEngine {
  readonly #framer: PacketFramer;
  readonly #initExtensions: readonly (readonly [string, string])[];
  readonly #symlinkOrder: SymlinkOrder;
  readonly #events = new EventQueue<SFTPClientEvent>();
  readonly #pending = new Map<number, Pending>();
  /** The path each open handle was opened with (keyed by its bytes), for errors on it. */
  readonly #handlePaths = new Map<string, string>();
  #out: Uint8Array[] = [];
  #nextId = 1;
  #started = false;
  #version: number | undefined;
  #extensions: ReadonlyMap<string, string> = new Map();
  #error: SFTPProtocolError | undefined;

  /** Creates an engine; call {@link start} to queue the INIT packet. */
  constructor(options: SFTPClientEngineOptions = {}) {
    const allocate = options.allocate;
    this.#framer = new PacketFramer(
      options.maxPacketLength ?? CLIENT_MAX_PACKET,
      // A small reply gets a buffer of its own size, as the framer gives one that arrives
      // lent: `allocate`'s are sized for bulk DATA replies (256 KiB), and a server answering
      // each READ with a byte, split across channel packets, made every byte hold one.
      allocate && ((n) => n <= OWN_BUFFER_MAX ? new Uint8Array(n) : allocate(n)),
      options.release,
    );
    this.#initExtensions = options.extensions ?? [];
    this.#symlinkOrder = options.symlinkOrder ?? "openssh";
  }

  /** Queues SSH_FXP_INIT. */
  start(): void {
    if (this.#started) throw new LocalProtocolError("SFTP client engine already started");
    this.#started = true;
    this.#out.push(encodeHello(FXP.INIT, SFTP_VERSION, this.#initExtensions));
  }

  /** The negotiated version, once the server's VERSION arrived. */
  get version(): number | undefined {
    return this.#version;
  }

  /** The extensions the server announced (name → version string). */
  get extensions(): ReadonlyMap<string, string> {
    return this.#extensions;
  }

  /** Whether the server announced extension `name` (with `version`, when given). */
  supports(name: string, version?: string): boolean {
    const v = this.#extensions.get(name);
    return v !== undefined && (version === undefined || v === version);
  }

  /** The protocol error that ended the engine, if any. */
  get error(): SFTPProtocolError | undefined {
    return this.#error;
  }

  /** Whether the engine stopped (protocol error or {@link close}). */
  get closed(): boolean {
    return this.#error !== undefined;
  }

  /** Requests sent and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request and returns its id; its `reply` event carries the same id.
   * Throws {@link LocalProtocolError} before the server's VERSION or after close.
   */
  request(req: SFTPRequest): number {
    if (this.#error) throw new LocalProtocolError("Cannot send an SFTP request: the session ended");
    if (this.#version === undefined) {
      throw new LocalProtocolError("Cannot send an SFTP request before the server's VERSION");
    }
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    const chunks = encodeRequest(id, req, this.#symlinkOrder);
    const path = "path" in req
      ? req.path
      : "oldPath" in req
      ? req.oldPath
      : "linkPath" in req
      ? req.linkPath
      : "handle" in req
      ? this.#handlePaths.get(handleKey(req.handle))
      : req.type === "copyData"
      ? this.#handlePaths.get(handleKey(req.readHandle))
      : undefined;
    // A closed handle's value may come back for another file.
    if (req.type === "close") this.#handlePaths.delete(handleKey(req.handle));
    this.#pending.set(id, {
      request: req.type,
      path,
      length: req.type === "read"
        ? req.length
        : req.type === "usersGroupsById"
        ? req.uids.length
        : 0,
      extra: req.type === "usersGroupsById" ? req.gids.length : 0,
    });
    for (const c of chunks) this.#out.push(c);
    return id;
  }

  /**
   * Feeds bytes from the server. Never throws on bad input: a malformed or
   * oversized packet queues a `closed` event and stops the engine. `borrowed`:
   * `data` is only lent (it may change once this returns), so what the engine
   * keeps of it is copied now; otherwise the engine may keep views of it.
   */
  receiveData(data: Uint8Array, borrowed = false): void {
    if (this.#error) return;
    if (borrowed) this.#framer.pushBorrowed(data);
    else this.#framer.push(data);
    try {
      for (let p; (p = this.#framer.next());) {
        this.#handlePacket(p);
        if (this.#error) return;
      }
    } catch (e) {
      const msg = e instanceof FrameError || e instanceof Error ? e.message : String(e);
      this.#fail(e instanceof SFTPProtocolError ? e : new SFTPProtocolError(msg, { cause: e }));
    }
  }

  /** Ends the engine locally (the channel closed): later input is ignored. */
  close(reason = "The SFTP session ended"): void {
    if (!this.#error) this.#error = new SFTPProtocolError(reason);
    this.#pending.clear();
    this.#handlePaths.clear();
  }

  /** The next event, or undefined. */
  pollEvent(): SFTPClientEvent | undefined {
    return this.#events.poll();
  }

  /** Packet chunks to write to the channel, in order. */
  takeOutgoing(): Uint8Array[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  #fail(error: SFTPProtocolError): void {
    if (this.#error) return;
    this.#error = error;
    this.#pending.clear();
    this.#handlePaths.clear();
    this.#events.push({ type: "closed", error });
  }

  #handlePacket(p: Uint8Array): void {
    const type = p[0]!;
    if (this.#version === undefined) {
      if (type !== FXP.VERSION) {
        throw new SFTPProtocolError(
          `Expected SSH_FXP_VERSION from the server, got packet type ${type}`,
        );
      }
      const hello = decodeHello(new SSHReader(p, 1));
      if (hello.version !== SFTP_VERSION) {
        throw new SFTPProtocolError(
          `The server speaks SFTP version ${hello.version}; only version ${SFTP_VERSION} is supported`,
        );
      }
      this.#version = hello.version;
      this.#extensions = hello.extensions;
      this.#events.push({ type: "version", version: hello.version, extensions: hello.extensions });
      return;
    }
    const reply = decodeReply(new SSHReader(p));
    if (!reply) throw new SFTPProtocolError(`Server sent unexpected packet type ${type}`);
    const pending = this.#pending.get(reply.id);
    if (!pending) throw new SFTPProtocolError(`Server replied to unknown request id ${reply.id}`);
    this.#pending.delete(reply.id);
    const result = this.#resultOf(reply, pending);
    this.#events.push({ type: "reply", id: reply.id, request: pending.request, result });
  }

  #resultOf(reply: SFTPReply, pending: Pending): SFTPResult {
    const expect = EXPECT[pending.request];
    const mismatch = () =>
      new SFTPProtocolError(
        `Server answered a ${pending.request} request with SSH_FXP_${reply.type.toUpperCase()}`,
      );
    switch (reply.type) {
      case "status": {
        if (
          reply.code === SFTPStatus.OK && (expect === "status" || pending.request === "extended")
        ) {
          return { kind: "ok" };
        }
        if (reply.code === SFTPStatus.EOF && (expect === "data" || expect === "names")) {
          return { kind: "eof" };
        }
        const opts = {
          operation: pending.request,
          ...(pending.path !== undefined ? { path: pending.path } : {}),
        };
        if (reply.code === SFTPStatus.OK) {
          return {
            kind: "error",
            error: new SFTPError(
              SFTPStatus.BAD_MESSAGE,
              "Server answered with OK but no result",
              opts,
            ),
          };
        }
        return { kind: "error", error: new SFTPError(reply.code, reply.message, opts) };
      }
      case "handle":
        if (expect !== "handle") throw mismatch();
        if (pending.path !== undefined) {
          this.#handlePaths.set(handleKey(reply.handle), pending.path);
        }
        return { kind: "handle", handle: reply.handle };
      case "data":
        if (expect !== "data") throw mismatch();
        if (reply.data.length > pending.length) {
          throw new SFTPProtocolError(
            `Server sent ${reply.data.length} bytes for a ${pending.length}-byte read`,
          );
        }
        return { kind: "data", data: reply.data };
      case "attrs":
        if (expect !== "attrs") throw mismatch();
        return { kind: "attrs", attrs: reply.attrs };
      case "name":
        if (expect === "names") return { kind: "names", entries: reply.entries };
        if (expect !== "path") throw mismatch();
        if (reply.entries.length !== 1) {
          throw new SFTPProtocolError(
            `Server sent ${reply.entries.length} names in reply to ${pending.request}; expected 1`,
          );
        }
        return { kind: "path", path: reply.entries[0]!.filename, attrs: reply.entries[0]!.attrs };
      case "extendedReply":
        if (expect !== "ext") throw mismatch();
        switch (pending.request) {
          case "statvfs":
          case "fstatvfs":
            return { kind: "statvfs", statvfs: decodeStatVFSBody(reply.data) };
          case "limits":
            return { kind: "limits", limits: decodeLimitsBody(reply.data) };
          case "usersGroupsById": {
            const { users, groups } = decodeUsersGroupsBody(
              reply.data,
              pending.length,
              pending.extra,
            );
            return { kind: "usersGroups", users, groups };
          }
          default:
            return { kind: "extendedReply", data: reply.data };
        }
    }
  }
}

/** A handle's bytes as a map key (handles are at most 256 bytes). */
function handleKey(handle: Uint8Array): string {
  return String.fromCharCode(...handle);
}
