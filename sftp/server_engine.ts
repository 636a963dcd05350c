/**
 * The SFTP server engine: client bytes in ({@link SFTPServerEngine.receiveData}),
 * reply bytes out (through the `send` function it is given), and every
 * request turned into a call on an {@link SFTPBackend}. It does no I/O of its
 * own; the backend does whatever its methods do.
 *
 * Replies go out in arrival order. Requests run one at a time, except READs and
 * the WRITEs to a non-append handle, which run up to eight side by side in the
 * backend to hide its latency — a WRITE whose bytes overlap one still running
 * waits for it (the draft lets only requests that do not overlap run in
 * parallel; OpenSSH's sftp-server is sequential). The engine keeps the handle table: a client sees 4-byte
 * handles, the backend sees its own handle values, and a client holds at most
 * `maxHandles` at once.
 *
 * Bad input: a malformed request with a readable id gets SSH_FX_BAD_MESSAGE
 * and the session goes on; an unknown request type gets OP_UNSUPPORTED; a
 * packet over the length cap, one too short to carry an id, or anything
 * before INIT ends the session with an {@link SFTPProtocolError}.
 * Nothing the client sends makes the engine throw, hang or buffer more than
 * what the caller feeds it (see {@link SFTPServerEngine.wantsData}).
 *
 * @module
 */

import { WireError } from "../core/errors.ts";
import { SSHReader } from "../core/wire.ts";
import { type FileAttributes, formatLongname, isDirectory, isRegularFile } from "./attrs.ts";
import type { SFTPBackend } from "./backend.ts";
import {
  Ext,
  EXTENSION_VERSIONS,
  FXP,
  OpenFlags,
  SERVER_MAX_HANDLES,
  SERVER_MAX_PACKET,
  SERVER_MAX_READ,
  SERVER_MAX_WRITE,
  SFTP_VERSION,
  SFTPStatus,
  STATUS_MESSAGES,
} from "./constants.ts";
import { SFTPError, SFTPProtocolError } from "./errors.ts";
import { dirname, trailingSlashBase } from "./path.ts";
import { BufferPool } from "./buffer_pool.ts";
import { FrameError, PacketFramer } from "./framer.ts";
import type { SymlinkOrder } from "./symlink_order.ts";
import {
  decodeRequest,
  encodeAttrs,
  encodeData,
  encodeExtendedReply,
  encodeHandle,
  encodeHello,
  encodeLimitsBody,
  encodeName,
  encodeStatus,
  encodeStatVFSBody,
  encodeUsersGroupsBody,
  type NameEntry,
  type SFTPRequest,
} from "./messages.ts";

/**
 * Open handles shared by several sessions (the SFTP sessions of one connection): each open
 * takes one, each close gives it back.
 */
export interface HandleBudget {
  /** Most handles in all. */
  readonly limit: number;
  /** Takes one handle; false when none is left. */
  acquire(): boolean;
  /** Gives one back. */
  release(): void;
}

/** Options for {@link SFTPServerEngine}. */
export interface SFTPServerEngineOptions {
  /**
   * Called with each reply's packet chunks, in order. The engine waits for a
   * returned promise before answering the next request: that is how a client
   * that does not read its replies stops the server from reading requests.
   */
  readonly send: (chunks: Uint8Array[]) => void | Promise<void>;
  /** Largest packet accepted and announced (default {@link SERVER_MAX_PACKET}). */
  readonly maxPacketLength?: number;
  /** Largest READ answered in one DATA reply (default {@link SERVER_MAX_READ}). */
  readonly maxReadLength?: number;
  /** Handles a client may hold open (default {@link SERVER_MAX_HANDLES}). */
  readonly maxHandles?: number;
  /**
   * Handles shared with other sessions (of one connection): an open beyond it gets
   * SSH_FX_FAILURE, as one beyond `maxHandles` does.
   */
  readonly handleBudget?: HandleBudget;
  /** Extensions to leave out of VERSION and refuse (to mimic servers that lack them). */
  readonly disabledExtensions?: readonly string[];
  /** The current time in ms, for `ls -l` style long names (recent files show HH:MM). */
  readonly now?: () => number;
  /**
   * Bytes of unparsed input above which {@link SFTPServerEngine.wantsData} turns false
   * while a whole packet is buffered (default 1 MiB; a packet larger than this is still
   * taken in whole: `maxPacketLength` bounds it).
   */
  readonly inputHighWater?: number;
  /**
   * Gets back each input chunk whose bytes were all copied into requests (none
   * kept as a view), so the caller can free it at once (see `PacketFramer`).
   */
  readonly release?: (chunk: Uint8Array) => void;
  /**
   * The order the client sends SSH_FXP_SYMLINK's paths in (default OpenSSH's, target
   * first): `symlinkOrder(clientVersion, serverVersion)` says which the client uses.
   */
  readonly symlinkOrder?: SymlinkOrder;
  /**
   * Called with what the backend threw that is no {@link SFTPError} (a bug, or a failure it
   * did not describe), and the request it failed: the client gets SSH_FX_FAILURE, and
   * nothing more; this is where the error itself can be logged.
   */
  readonly onBackendError?: (error: unknown, request: SFTPRequest["type"]) => void;
}

interface HandleEntry {
  readonly value: unknown;
  readonly kind: "file" | "dir";
  readonly path: string;
  /** Opened with SSH_FXF_APPEND: its writes must stay in order. */
  readonly append: boolean;
  /** Directory entries read from the backend but not yet sent. */
  pending?: NameEntry[];
  /** The backend reported the end of the listing. */
  ended?: boolean;
}

/**
 * Reads (or writes to one non-append file) handed to the backend at once: hides file-system
 * latency while replies still go out in request order.
 */
const MAX_PARALLEL = 8;

/**
 * Input pieces (requests and partial chunks, see `PacketFramer.pieces`) the engine holds
 * before it stops wanting data, whatever their bytes: 15-byte STAT requests up to the byte
 * mark were some 200,000 objects, several times their bytes in memory. A pipelining client
 * has at most a few hundred requests out.
 */
const MAX_WAITING_PIECES = 1024;

/** The bytes a WRITE covers: [start, end) in the file. */
interface WriteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * The range of a WRITE packet whose handle is 4 bytes (what {@link SFTPServerEngine}'s
 * classify accepts): type, id, handle string, uint64 offset, then the data string.
 * Undefined when too short to say (the request then fails on its own, later).
 */
function writeRange(p: Uint8Array): WriteRange | undefined {
  if (p.length < 25) return undefined;
  const v = new DataView(p.buffer, p.byteOffset, p.length);
  const start = v.getUint32(13) * 2 ** 32 + v.getUint32(17);
  return { start, end: start + v.getUint32(21) };
}
/** Entries per NAME reply, as OpenSSH's sftp-server. */
const NAMES_PER_REPLY = 100;
/** copy-data fallback chunk: OpenSSH's sftp-server copies in 64 KiB pieces. */
const COPY_CHUNK = 64 * 1024;

type Chunks = Uint8Array[];

/**
 * Serves one SFTP session from a backend.
 *
 * @example Serve a MemoryBackend to our client engine in memory
 * ```ts
 * import { MemoryBackend, SFTPClientEngine, SFTPServerEngine } from "@sshts/ssh/sftp";
 * const client = new SFTPClientEngine();
 * const server = new SFTPServerEngine(new MemoryBackend(), {
 *   send: (chunks) => chunks.forEach((c) => client.receiveData(c)),
 * });
 * client.start();
 * for (const c of client.takeOutgoing()) server.receiveData(c);
 * await server.idle();
 * console.log(client.pollEvent()?.type); // "version"
 * ```
 */
export class SFTPServerEngine<H = unknown> {
  readonly #backend: SFTPBackend<H>;
  readonly #send: SFTPServerEngineOptions["send"];
  readonly #framer: PacketFramer;
  readonly #pool: BufferPool;
  /** Read data to give back to the backend once its reply was sent. */
  readonly #sentData = new WeakMap<Chunks, Uint8Array>();
  readonly #maxPacket: number;
  readonly #maxRead: number;
  readonly #maxHandles: number;
  readonly #budget: HandleBudget | undefined;
  readonly #now: (() => number) | undefined;
  readonly #highWater: number;
  readonly #extensions: Map<string, string>;
  readonly #handles = new Map<number, HandleEntry>();
  #nextHandle = 1;
  #initialized = false;
  #running = false;
  #closing = false;
  #error: SFTPProtocolError | undefined;
  #idleWaiters: (() => void)[] = [];
  #dataWaiters: (() => void)[] = [];
  #closeWaiters: ((e: SFTPProtocolError | undefined) => void)[] = [];
  #clientVersion: number | undefined;
  #tail: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #batchKind: "read" | "write" | undefined;
  /** The byte ranges of the writes in the batch in flight (cleared when it settles). */
  readonly #writeRanges: WriteRange[] = [];
  #slotWaiters: (() => void)[] = [];
  readonly #symlinkOrder: SymlinkOrder;
  readonly #onBackendError: SFTPServerEngineOptions["onBackendError"];

  /** Serves `backend`; replies go out through `options.send`. */
  constructor(backend: SFTPBackend<H>, options: SFTPServerEngineOptions) {
    this.#backend = backend;
    this.#send = options.send;
    this.#maxPacket = options.maxPacketLength ?? SERVER_MAX_PACKET;
    // Requests spanning input chunks (every big WRITE) are assembled in reused buffers.
    this.#pool = new BufferPool(this.#maxPacket, MAX_PARALLEL + 8);
    this.#framer = new PacketFramer(
      this.#maxPacket,
      (n) => this.#pool.allocate(n),
      options.release,
    );
    // At least one byte: a READ answered with none (or limits announcing 0, "no limit") would
    // leave a client asking forever when the packet limit is 1 KiB or less.
    this.#maxRead = Math.max(
      1,
      Math.min(options.maxReadLength ?? SERVER_MAX_READ, this.#maxPacket - 1024),
    );
    this.#maxHandles = options.maxHandles ?? SERVER_MAX_HANDLES;
    this.#budget = options.handleBudget;
    this.#now = options.now;
    this.#highWater = options.inputHighWater ?? 1024 * 1024;
    this.#symlinkOrder = options.symlinkOrder ?? "openssh";
    this.#onBackendError = options.onBackendError;
    this.#extensions = announcedExtensions(backend, new Set(options.disabledExtensions ?? []));
  }

  /** The extensions this engine announces (name → version). */
  get extensions(): ReadonlyMap<string, string> {
    return this.#extensions;
  }

  /** The version the client asked for in INIT, once it arrived. */
  get clientVersion(): number | undefined {
    return this.#clientVersion;
  }

  /** Handles the client holds open. */
  get openHandles(): number {
    return this.#handles.size;
  }

  /** The protocol error that ended the session, if any. */
  get error(): SFTPProtocolError | undefined {
    return this.#error;
  }

  /** Whether the session ended (protocol error or {@link close}). */
  get closed(): boolean {
    return this.#error !== undefined || this.#closing;
  }

  /**
   * Whether the engine wants more input: false while more than the high-water
   * mark of unparsed bytes waits. Stop reading the channel until
   * {@link whenWantsData} resolves; the channel window then holds the client.
   */
  get wantsData(): boolean {
    // Above the mark, still wanted while no whole packet is in: a packet larger than the
    // mark (maxPacketLength may be) could not arrive otherwise. The framer caps its size.
    // Many small requests count by number too: each waiting one costs more than its bytes.
    const f = this.#framer;
    return this.closed ||
      (f.buffered < this.#highWater && f.pieces < MAX_WAITING_PIECES) || !f.ready;
  }

  /** Resolves when {@link wantsData} is true again. */
  whenWantsData(): Promise<void> {
    if (this.wantsData) return Promise.resolve();
    return new Promise((r) => this.#dataWaiters.push(r));
  }

  /** Resolves when every whole packet received so far has been answered. */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Resolves when the session ends, with the protocol error if that was why. */
  whenClosed(): Promise<SFTPProtocolError | undefined> {
    if (this.closed) return Promise.resolve(this.#error);
    return new Promise((r) => this.#closeWaiters.push(r));
  }

  /** Feeds bytes from the client. Never throws; answers come through `send`. */
  receiveData(data: Uint8Array): void {
    if (this.closed) return;
    this.#framer.push(data);
    this.#kick();
  }

  /**
   * Ends the session: stops answering, waits for the request in progress and
   * closes every handle the client left open.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#notifyClosed();
    }
    await this.idle();
    const open = [...this.#handles.values()];
    this.#handles.clear();
    for (const h of open) {
      this.#budget?.release();
      try {
        await this.#backend.close(h.value as H);
      } catch { /* the session is gone; nothing to tell */ }
    }
  }

  #kick(): void {
    if (this.#running || this.closed) return;
    this.#running = true;
    void Promise.resolve().then(() => this.#run());
  }

  async #run(): Promise<void> {
    try {
      while (!this.closed) {
        let p: Uint8Array | undefined;
        try {
          p = this.#framer.next();
        } catch (e) {
          this.#fail(new SFTPProtocolError((e as FrameError).message));
          break;
        }
        if (!p) {
          // Replies still in flight: wait for them, then look again (more may have come).
          if (this.#inFlight > 0) {
            await this.#settled();
            continue;
          }
          break;
        }
        this.#wakeDataWaiters();
        const kind = this.#classify(p);
        // Writes whose bytes overlap one still running must land in request order (draft
        // §6: only requests that do not overlap may run side by side).
        const range = kind === "write" ? writeRange(p) : undefined;
        if (
          kind === "other" || kind !== this.#batchKind ||
          (range !== undefined && this.#overlapsRunningWrite(range))
        ) {
          await this.#settled();
        }
        if (range !== undefined) this.#writeRanges.push(range);
        if (kind === "other") {
          const reply = await this.#process(p);
          this.#pool.release(p);
          if (reply && !this.closed) await this.#sendReply(reply);
          continue;
        }
        // Reads (or positional writes) run side by side in the backend; replies keep their order.
        this.#batchKind = kind;
        while (this.#inFlight >= MAX_PARALLEL) {
          await new Promise<void>((r) => this.#slotWaiters.push(r));
        }
        const reply = this.#process(p);
        this.#inFlight++;
        this.#tail = this.#tail.then(async () => {
          try {
            const r = await reply;
            // The request's bytes are no longer needed once the backend is done with it.
            this.#pool.release(p);
            if (r && !this.closed) await this.#sendReply(r);
          } catch (e) {
            this.#fail(new SFTPProtocolError(`SFTP server failed: ${(e as Error)?.message}`));
          } finally {
            this.#inFlight--;
            this.#slotWaiters.shift()?.();
          }
        });
      }
    } catch (e) {
      this.#fail(new SFTPProtocolError(`SFTP server failed: ${(e as Error)?.message}`));
    } finally {
      // Backend calls still running finish before the engine counts as idle.
      await this.#tail;
      this.#running = false;
      this.#wakeDataWaiters();
      if (!this.closed && this.#framer.ready) {
        // A packet arrived while we were finishing: go again (idle waiters wait for it too).
        this.#kick();
      } else {
        const w = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  async #sendReply(r: Chunks): Promise<void> {
    await this.#send(r);
    const data = this.#sentData.get(r);
    if (data) {
      this.#sentData.delete(r);
      this.#backend.release?.(data);
    }
  }

  /** Waits until every reply started so far has been sent. */
  async #settled(): Promise<void> {
    await this.#tail;
    this.#batchKind = undefined;
    this.#writeRanges.length = 0;
  }

  /** Whether `r` overlaps a write of the batch in flight (on any handle: one file may have two). */
  #overlapsRunningWrite(r: WriteRange): boolean {
    return this.#writeRanges.some((w) => r.start < w.end && w.start < r.end);
  }

  /** Whether a packet may run beside its neighbours: reads, and writes to non-append handles. */
  #classify(p: Uint8Array): "read" | "write" | "other" {
    if (!this.#initialized || p.length < 13) return "other";
    const type = p[0];
    if (type !== FXP.READ && type !== FXP.WRITE) return "other";
    const view = new DataView(p.buffer, p.byteOffset, p.length);
    if (view.getUint32(5) !== 4) return "other";
    const e = this.#handles.get(view.getUint32(9));
    if (!e || e.kind !== "file" || e.append) return "other";
    return type === FXP.READ ? "read" : "write";
  }

  #wakeDataWaiters(): void {
    if (!this.wantsData) return;
    const w = this.#dataWaiters;
    this.#dataWaiters = [];
    for (const f of w) f();
  }

  #fail(error: SFTPProtocolError): void {
    if (this.closed) return;
    this.#error = error;
    this.#notifyClosed();
  }

  #notifyClosed(): void {
    const w = this.#closeWaiters;
    this.#closeWaiters = [];
    for (const f of w) f(this.#error);
    this.#wakeDataWaiters();
  }

  /** Handles one packet; resolves with the reply to send (undefined: none, the session ended). */
  async #process(p: Uint8Array): Promise<Chunks | undefined> {
    const type = p[0]!;
    if (!this.#initialized) {
      if (type !== FXP.INIT || p.length < 5) {
        this.#fail(
          new SFTPProtocolError(`Expected SSH_FXP_INIT from the client, got packet type ${type}`),
        );
        return undefined;
      }
      this.#initialized = true;
      // Extension data in INIT is ignored; the version is the lower of ours and theirs.
      this.#clientVersion = new DataView(p.buffer, p.byteOffset + 1, 4).getUint32(0);
      return [encodeHello(FXP.VERSION, SFTP_VERSION, [...this.#extensions])];
    }
    if (type === FXP.INIT) {
      this.#fail(new SFTPProtocolError("Client sent SSH_FXP_INIT twice"));
      return undefined;
    }
    if (p.length < 5) {
      this.#fail(
        new SFTPProtocolError(`Client sent a ${p.length}-byte packet without a request id`),
      );
      return undefined;
    }
    const r = new SSHReader(p, 5);
    const id = new DataView(p.buffer, p.byteOffset + 1, 4).getUint32(0);
    let req: SFTPRequest | undefined;
    try {
      req = decodeRequest(type, r, this.#symlinkOrder);
    } catch (e) {
      const msg = e instanceof WireError ? e.message : "Malformed request";
      return [encodeStatus(id, SFTPStatus.BAD_MESSAGE, msg)];
    }
    if (!req) {
      return [encodeStatus(id, SFTPStatus.OP_UNSUPPORTED, `Unsupported packet type ${type}`)];
    }
    try {
      return await this.#dispatch(id, req);
    } catch (e) {
      if (!(e instanceof SFTPError)) {
        try {
          this.#onBackendError?.(e, req.type);
        } catch { /* the callback's own error changes nothing for the client */ }
      }
      return [statusOf(id, e)];
    }
  }

  // ---- handles ----

  #allocate(value: unknown, kind: "file" | "dir", path: string, append = false): Uint8Array {
    let n = this.#nextHandle;
    while (this.#handles.has(n)) n = (n + 1) >>> 0;
    this.#nextHandle = (n + 1) >>> 0;
    this.#handles.set(n, { value, kind, path, append });
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    return b;
  }

  #lookup(
    handle: Uint8Array,
    kind?: "file" | "dir",
    status: number = SFTPStatus.FAILURE,
  ): HandleEntry {
    const e = handle.length === 4
      ? this.#handles.get(new DataView(handle.buffer, handle.byteOffset, 4).getUint32(0))
      : undefined;
    if (!e || (kind && e.kind !== kind)) {
      throw new SFTPError(
        status,
        kind === "dir" ? "Invalid directory handle" : "Invalid handle",
      );
    }
    return e;
  }

  /** Takes room for one more handle (give it back with {@link #giveRoom} if the open fails). */
  #takeRoom(): void {
    if (this.#handles.size >= this.#maxHandles) {
      throw new SFTPError(SFTPStatus.FAILURE, `Too many open handles (limit ${this.#maxHandles})`);
    }
    if (this.#budget && !this.#budget.acquire()) {
      throw new SFTPError(
        SFTPStatus.FAILURE,
        `Too many open files on this connection (limit ${this.#budget.limit})`,
      );
    }
  }

  #giveRoom(): void {
    this.#budget?.release();
  }

  /** Opens with `open` in the room taken for it; the room goes back if it fails or the session ended. */
  async #openIn<T>(open: () => Promise<T>, close: (h: T) => Promise<void>): Promise<T | undefined> {
    this.#takeRoom();
    let h: T;
    try {
      h = await open();
    } catch (e) {
      this.#giveRoom();
      throw e;
    }
    if (this.closed) {
      this.#giveRoom();
      await close(h);
      return undefined;
    }
    return h;
  }

  /** Refuses a request of an extension left out of VERSION (`disabledExtensions`). */
  #offered(ext: string): void {
    if (!this.#extensions.has(ext)) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, `Unsupported extension ${ext}`);
    }
  }

  #need<K extends keyof SFTPBackend<H>>(name: K, ext: string): NonNullable<SFTPBackend<H>[K]> {
    const f = this.#backend[name];
    if (!f || !this.#extensions.has(ext)) {
      throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, `Unsupported extension ${ext}`);
    }
    return (f as (...a: unknown[]) => unknown).bind(this.#backend) as NonNullable<
      SFTPBackend<H>[K]
    >;
  }

  // ---- requests ----

  async #dispatch(id: number, req: SFTPRequest): Promise<Chunks> {
    const b = this.#backend;
    const ok = (): Chunks => [encodeStatus(id, SFTPStatus.OK, "Success")];
    const name = (path: string): Chunks => [
      encodeName(id, [{ filename: path, longname: path, attrs: {} }]),
    ];
    switch (req.type) {
      case "open": {
        const path = await this.#openPath(req.path, req.flags);
        const h = await this.#openIn(
          () => b.open(path, req.flags, req.attrs),
          (h) => b.close(h),
        );
        if (h === undefined) return [];
        const append = (req.flags & OpenFlags.APPEND) !== 0;
        return [encodeHandle(id, this.#allocate(h, "file", req.path, append))];
      }
      case "opendir": {
        const path = await this.#lookupPath(req.path);
        const h = await this.#openIn(() => b.opendir(path), (h) => b.close(h));
        if (h === undefined) return [];
        return [encodeHandle(id, this.#allocate(h, "dir", req.path))];
      }
      case "close": {
        // As OpenSSH's sftp-server (ENOENT): FAILURE for a bad handle everywhere else.
        const e = this.#lookup(req.handle, undefined, SFTPStatus.NO_SUCH_FILE);
        const n = new DataView(req.handle.buffer, req.handle.byteOffset, 4).getUint32(0);
        this.#handles.delete(n);
        this.#giveRoom();
        await b.close(e.value as H);
        return ok();
      }
      case "read": {
        const e = this.#lookup(req.handle, "file");
        const len = Math.min(req.length, this.#maxRead);
        const data = len === 0 ? new Uint8Array(0) : await b.read(e.value as H, req.offset, len);
        if (data === null) return [encodeStatus(id, SFTPStatus.EOF, "End of file")];
        const chunks = encodeData(id, data.length > len ? data.subarray(0, len) : data);
        if (b.release) this.#sentData.set(chunks, data);
        return chunks;
      }
      case "write": {
        const e = this.#lookup(req.handle, "file");
        await b.write(e.value as H, req.offset, req.data);
        return ok();
      }
      case "fstat":
        return [encodeAttrs(id, await b.fstat(this.#lookup(req.handle, "file").value as H))];
      case "fsetstat":
        await b.fsetstat(this.#lookup(req.handle, "file").value as H, req.attrs);
        return ok();
      case "readdir":
        return await this.#readdir(id, this.#lookup(req.handle, "dir"));
      case "stat":
      case "lstat": {
        // "d/" follows a link, lstat too: the directory's attributes.
        // So does "d/." and "ld/..": what they name is a directory, not a link.
        const w = await this.#walk(req.path);
        if (w.last) return [encodeAttrs(id, await this.#directory(req.path, w.path))];
        const a = req.type === "stat" ? await b.stat(w.path) : await b.lstat(w.path);
        return [encodeAttrs(id, a)];
      }
      case "setstat":
        await b.setstat(await this.#lookupPath(req.path), req.attrs);
        return ok();
      case "remove":
        await b.remove(await this.#removePath(req.path));
        return ok();
      case "mkdir": {
        const w = await this.#walk(req.path);
        if (isDot(w.last)) throw fileExists(req.path);
        await b.mkdir(w.path, req.attrs);
        return ok();
      }
      case "rmdir": {
        const w = await this.#walk(req.path);
        // rmdir(2): EINVAL for a last ".", ENOTEMPTY for "..".
        if (w.last === ".") {
          throw new SFTPError(SFTPStatus.BAD_MESSAGE, "Invalid argument", { path: req.path });
        }
        if (w.last === "..") {
          throw new SFTPError(SFTPStatus.FAILURE, "Directory not empty", { path: req.path });
        }
        await b.rmdir(w.path);
        return ok();
      }
      case "realpath":
        // As OpenSSH's sftp-server: "" is "." here alone.
        return name(await b.realpath(await this.#existingPath(req.path === "" ? "." : req.path)));
      case "rename": {
        const [from, to] = await this.#renamePaths(req.oldPath, req.newPath, false);
        await b.rename(from, to);
        return ok();
      }
      case "readlink": {
        const w = await this.#walk(req.path);
        if (w.last) {
          // "l/" and "l/." name what the link leads to: a directory, no link (EINVAL).
          if (w.last === "/") await this.#directory(req.path, w.path);
          throw new SFTPError(SFTPStatus.BAD_MESSAGE, "Not a symbolic link", { path: req.path });
        }
        return name(await b.readlink(w.path));
      }
      case "symlink":
        this.#given(req.targetPath);
        await b.symlink(req.targetPath, await this.#newPath(req.linkPath));
        return ok();
      case "posixRename": {
        const f = this.#need("posixRename", Ext.POSIX_RENAME);
        const [from, to] = await this.#renamePaths(req.oldPath, req.newPath, true);
        await f(from, to);
        return ok();
      }
      case "statvfs": {
        const f = this.#need("statvfs", Ext.STATVFS);
        return [
          encodeExtendedReply(id, encodeStatVFSBody(await f(await this.#lookupPath(req.path)))),
        ];
      }
      case "fstatvfs": {
        const f = this.#need("fstatvfs", Ext.FSTATVFS);
        const s = await f(this.#lookup(req.handle).value as H);
        return [encodeExtendedReply(id, encodeStatVFSBody(s))];
      }
      case "hardlink": {
        const f = this.#need("hardlink", Ext.HARDLINK);
        await f(await this.#linkSource(req.oldPath), await this.#newPath(req.newPath));
        return ok();
      }
      case "fsync": {
        const f = this.#need("fsync", Ext.FSYNC);
        await f(this.#lookup(req.handle, "file").value as H);
        return ok();
      }
      case "lsetstat": {
        const f = this.#need("lsetstat", Ext.LSETSTAT);
        const w = await this.#walk(req.path);
        if (w.last === "/") await this.#directory(req.path, w.path);
        // "l/" and "l/." name what the link leads to (lsetstat follows it, as lstat does).
        if (w.last) await b.setstat(w.path, req.attrs);
        else await f(w.path, req.attrs);
        return ok();
      }
      case "limits":
        this.#offered(Ext.LIMITS);
        return [
          encodeExtendedReply(
            id,
            encodeLimitsBody({
              maxPacketLength: this.#maxPacket,
              maxReadLength: this.#maxRead,
              maxWriteLength: Math.max(1, Math.min(SERVER_MAX_WRITE, this.#maxPacket - 1024)),
              maxOpenHandles: this.#maxHandles,
            }),
          ),
        ];
      case "expandPath": {
        const f = this.#need("expandPath", Ext.EXPAND_PATH);
        // As OpenSSH's sftp-server: "" is "." here too ("~" paths are the backend's).
        const path = req.path === "" ? "." : req.path;
        return name(await f(path.startsWith("~") ? path : await this.#existingPath(path)));
      }
      case "homeDirectory":
        return name(await this.#need("homeDirectory", Ext.HOME_DIRECTORY)(req.username));
      case "usersGroupsById": {
        const f = this.#need("usersGroupsById", Ext.USERS_GROUPS_BY_ID);
        const { users, groups } = await f(req.uids, req.gids);
        if (users.length !== req.uids.length || groups.length !== req.gids.length) {
          throw new Error("Backend returned the wrong number of names");
        }
        return [encodeExtendedReply(id, encodeUsersGroupsBody(users, groups))];
      }
      case "copyData":
        this.#offered(Ext.COPY_DATA);
        await this.#copyData(req);
        return ok();
      case "extended": {
        if (!b.extended || !this.#extensions.has(req.name)) {
          throw new SFTPError(SFTPStatus.OP_UNSUPPORTED, `Unsupported extension ${req.name}`);
        }
        const body = await b.extended(req.name, req.data);
        return body === undefined ? ok() : [encodeExtendedReply(id, body)];
      }
    }
  }

  // ---- paths as the system calls take them ----
  //
  // Backends resolve a path against the home directory and normalize it, which takes ""
  // as the home directory, drops a trailing "/" and resolves "." and ".." as text.
  // OpenSSH's sftp-server passes paths to the system calls as they came: "" is ENOENT
  // (REALPATH aside, which maps it to "."), "f/" and "f/.." are ENOTDIR where f is no
  // directory (NO_SUCH_FILE both), "d/." cannot be removed or renamed, and ".." leaves
  // where a link led. The checks below give those answers before a backend sees the path;
  // "d/" reaches it as "d", "ld/.." as "/d/..".

  /** `path`, refused when empty (ENOENT). */
  #given(path: string): string {
    if (path === "") throw noSuchFile(path);
    return path;
  }

  /**
   * `path` as the backend gets it: refused when empty, without a trailing "/", and with
   * its "." and ".." components checked as the system calls walk them (see
   * {@link #dotted}). `last` says what makes it name a directory: a trailing "/" (still to
   * be checked, each call its own way), or a last "." or ".." (a directory already).
   */
  async #walk(
    path: string,
    before: "directory" | "entry" = "directory",
  ): Promise<{ path: string; last?: "/" | "." | ".." }> {
    const given = this.#given(path);
    const base = trailingSlashBase(given);
    const dotted = await this.#dotted(base ?? given, before);
    if (dotted?.last) return dotted as { path: string; last: "." | ".." };
    const resolved = dotted?.path ?? base ?? given;
    return base === undefined ? { path: resolved } : { path: resolved, last: "/" };
  }

  /**
   * A path with "." or ".." components, as the system calls walk it: what comes before
   * each must be a directory ("f/..", "m/../f" are ENOTDIR and ENOENT, though they
   * normalize to "." and "f"), and ".." goes up from where a link led, not from the link's
   * own directory. Returns the path with what precedes each ".." made real (the backend's
   * realpath, inside its jail), and the last component when it is "." or "..".
   * Undefined for a path with neither (no backend call). With `before` "entry", what
   * precedes need only be there: OpenSSH's realpath for REALPATH and expand-path takes
   * "f/.." as "." when f is a file.
   */
  async #dotted(
    path: string,
    before: "directory" | "entry",
  ): Promise<{ path: string; last?: "." | ".." } | undefined> {
    const parts = path.split("/").filter((p) => p !== "");
    if (!parts.includes(".") && !parts.includes("..")) return undefined;
    let walked = path.startsWith("/") ? "/" : "";
    for (const part of parts) {
      if (isDot(part) && walked !== "" && walked !== "/") {
        if (before === "directory") await this.#directory(path, walked);
        else await this.#backend.stat(walked);
        if (part === "..") walked = await this.#backend.realpath(walked);
      }
      walked = walked === "" ? part : walked.endsWith("/") ? walked + part : `${walked}/${part}`;
    }
    const last = parts[parts.length - 1]!;
    return isDot(last) ? { path: walked, last } : { path: walked };
  }

  /** A path a request follows ("d/" checked to be a directory, passed as "d"). */
  async #lookupPath(path: string): Promise<string> {
    const w = await this.#walk(path);
    if (w.last === "/") await this.#directory(path, w.path);
    return w.path;
  }

  /** The followed attributes of `base` ("d" of "d/"), which must be a directory's. */
  async #directory(path: string, base: string): Promise<FileAttributes> {
    const a = await this.#backend.stat(base);
    if (knownNonDirectory(a)) throw notADirectory(path);
    return a;
  }

  /** A path for realpath: with a trailing "/", what it names must exist (a file too). */
  async #existingPath(path: string): Promise<string> {
    const w = await this.#walk(path, "entry");
    if (w.last === "/") await this.#backend.stat(w.path);
    return w.path;
  }

  /** The entry's own attributes, or undefined when there is none. */
  async #entry(path: string): Promise<FileAttributes | undefined> {
    try {
      return await this.#backend.lstat(path);
    } catch (e) {
      if (e instanceof SFTPError && e.notFound) return undefined;
      throw e;
    }
  }

  /** open(2) naming a directory ("d/", "d/."): O_CREAT is EISDIR; otherwise it must be one. */
  async #openPath(path: string, flags: number): Promise<string> {
    const w = await this.#walk(path);
    if (!w.last) return w.path;
    if (!(flags & OpenFlags.CREAT)) {
      if (w.last === "/") await this.#directory(path, w.path);
      return w.path;
    }
    // What leads there must be a directory first (ENOENT, ENOTDIR).
    if (w.last === "/") await this.#directory(path, dirname(w.path));
    throw isADirectory(path);
  }

  /** unlink(2) with a trailing "/": EISDIR on a directory, ENOTDIR on anything else. */
  async #removePath(path: string): Promise<string> {
    const w = await this.#walk(path);
    if (!w.last) return w.path;
    if (isDot(w.last)) throw isADirectory(path);
    const e = await this.#entry(w.path);
    if (!e) throw noSuchFile(path);
    if (isDirectory(e)) throw isADirectory(path);
    // Not a directory, or a type the backend does not say: unlink(2) with a trailing "/"
    // never succeeds either way.
    throw notADirectory(path);
  }

  /** A name to create (symlink, hardlink) with a trailing "/": ENOENT unless it exists. */
  async #newPath(path: string): Promise<string> {
    const w = await this.#walk(path);
    if (!w.last) return w.path;
    // "d/." is there, a directory: EEXIST.
    if (isDot(w.last)) throw fileExists(path);
    // An entry there: the backend refuses it as it would "x" (EEXIST).
    if (!(await this.#entry(w.path))) throw noSuchFile(path);
    return w.path;
  }

  /** link(2)'s old path with a trailing "/": ENOTDIR, or EPERM for a directory. */
  async #linkSource(path: string): Promise<string> {
    const w = await this.#walk(path);
    if (!w.last) return w.path;
    const a = isDot(w.last) ? undefined : await this.#directory(path, w.path);
    if (!a || isDirectory(a)) {
      throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Cannot link a directory", { path });
    }
    // A type the backend does not say: link(2) with a trailing "/" never succeeds either way.
    throw notADirectory(path);
  }

  /**
   * rename(2) with a trailing "/" on either path: both must be directories (the old one
   * itself, no link to one); a missing new one is created. A last "." or ".." on either is
   * EBUSY. SFTP v3's rename, as OpenSSH's sftp-server makes it, looks the old path up
   * first, then links a regular file to the new name (EEXIST wherever something is there)
   * and looks the new name up, following it, for anything else.
   */
  async #renamePaths(oldPath: string, newPath: string, posix: boolean): Promise<[string, string]> {
    const o = await this.#walk(oldPath);
    const n = await this.#walk(newPath);
    if (isDot(o.last) || isDot(n.last)) {
      if (!posix && !(await this.#entry(o.path))) throw noSuchFile(oldPath);
      throw new SFTPError(SFTPStatus.FAILURE, 'Cannot rename "." or ".."', {
        path: isDot(o.last) ? oldPath : newPath,
      });
    }
    if (!o.last && !n.last) return [o.path, n.path];
    const from = await this.#entry(o.path);
    if (!from) throw noSuchFile(oldPath);
    if (o.last && knownNonDirectory(from)) throw notADirectory(oldPath);
    if (n.last) {
      const to = await this.#entry(n.path);
      if (!to || posix) {
        if (knownNonDirectory(from) || (to && knownNonDirectory(to))) throw notADirectory(newPath);
      } else if (!isRegularFile(from) && knownNonDirectory(to)) {
        // A link to a directory is one ("exists"); to anything else, or nothing, ENOTDIR.
        const t = await this.#backend.stat(n.path).catch(() => undefined);
        if (!t || knownNonDirectory(t)) throw notADirectory(newPath);
      }
    }
    return [o.path, n.path];
  }

  async #readdir(id: number, dir: HandleEntry): Promise<Chunks> {
    while ((!dir.pending || dir.pending.length === 0) && !dir.ended) {
      const batch = await this.#backend.readdir(dir.value as H);
      if (batch === null) {
        dir.ended = true;
        break;
      }
      const now = this.#now ? Math.floor(this.#now() / 1000) : undefined;
      dir.pending = batch.map((e) => ({
        filename: e.filename,
        longname: e.longname ??
          formatLongname(e.filename, e.attrs, now === undefined ? {} : { now }),
        attrs: e.attrs,
      }));
    }
    const pending = dir.pending ?? [];
    if (pending.length === 0) return [encodeStatus(id, SFTPStatus.EOF, "End of file")];
    // Fit the reply under the packet limit: halve the batch until it does.
    let n = Math.min(NAMES_PER_REPLY, pending.length);
    for (;;) {
      const packet = encodeName(id, pending.slice(0, n));
      if (packet.length - 4 <= this.#maxPacket || n === 1) {
        if (packet.length - 4 > this.#maxPacket) {
          pending.shift();
          throw new SFTPError(SFTPStatus.FAILURE, "Directory entry too large to send");
        }
        pending.splice(0, n);
        return [packet];
      }
      n = Math.max(1, n >> 1);
    }
  }

  /** Whether two paths name one entry after the backend's realpath (false if either fails). */
  async #samePath(a: string, b: string): Promise<boolean> {
    try {
      return await this.#backend.realpath(a) === await this.#backend.realpath(b);
    } catch {
      return false;
    }
  }

  async #copyData(req: Extract<SFTPRequest, { type: "copyData" }>): Promise<void> {
    const from = this.#lookup(req.readHandle, "file");
    const to = this.#lookup(req.writeHandle, "file");
    // As OpenSSH's sftp-server: not the same handle, nor two handles opened by the same name
    // ("f", "./f" or a symlink to it: their canonical paths are compared; OpenSSH compares
    // inodes, which a backend does not show, so a hard link is not caught here).
    if (from === to || from.path === to.path || await this.#samePath(from.path, to.path)) {
      throw new SFTPError(SFTPStatus.FAILURE, "copy-data cannot read and write the same file");
    }
    if (this.#backend.copyData) {
      await this.#backend.copyData(
        from.value as H,
        req.readOffset,
        req.length,
        to.value as H,
        req.writeOffset,
      );
      return;
    }
    // Length 0 copies to the end of the source as it is now: a copy onto the same file by
    // another name (a link) would otherwise chase its own writes forever.
    let untilEof = false;
    let left = req.length;
    if (left === 0) {
      const size = (await this.#backend.fstat(from.value as H)).size;
      if (size === undefined) untilEof = true;
      else left = Math.max(0, size - req.readOffset);
    }
    const fixedEnd = req.length === 0;
    let rOff = req.readOffset;
    let wOff = req.writeOffset;
    while (untilEof || left > 0) {
      if (this.closed) throw new SFTPError(SFTPStatus.CONNECTION_LOST, "Session ended");
      const want = untilEof ? COPY_CHUNK : Math.min(COPY_CHUNK, left);
      const data = await this.#backend.read(from.value as H, rOff, want);
      if (data === null || data.length === 0) {
        if (fixedEnd) return; // the source shrank meanwhile
        throw new SFTPError(SFTPStatus.EOF, "End of file before the requested length");
      }
      const part = data.length > want ? data.subarray(0, want) : data;
      await this.#backend.write(to.value as H, wOff, part);
      rOff += part.length;
      wOff += part.length;
      left -= part.length;
    }
  }
}

/** SSH_FX_NO_SUCH_FILE, as OpenSSH's sftp-server maps ENOENT. */
function noSuchFile(path: string): SFTPError {
  return new SFTPError(SFTPStatus.NO_SUCH_FILE, "No such file", { path });
}

/** SSH_FX_FAILURE, as OpenSSH's sftp-server maps EEXIST. */
function fileExists(path: string): SFTPError {
  return new SFTPError(SFTPStatus.FAILURE, "File exists", { path });
}

/** SSH_FX_FAILURE, as OpenSSH's sftp-server maps EISDIR. */
function isADirectory(path: string): SFTPError {
  return new SFTPError(SFTPStatus.FAILURE, "Is a directory", { path });
}

/** Whether a path component is "." or "..". */
function isDot(part: string | undefined): part is "." | ".." {
  return part === "." || part === "..";
}

/** SSH_FX_NO_SUCH_FILE, as OpenSSH's sftp-server maps ENOTDIR. */
function notADirectory(path: string): SFTPError {
  return new SFTPError(SFTPStatus.NO_SUCH_FILE, "Not a directory", { path });
}

/** Whether attributes tell a file type other than a directory (unknown: false). */
function knownNonDirectory(a: FileAttributes): boolean {
  return a.permissions !== undefined && !isDirectory(a);
}

function statusOf(id: number, e: unknown): Uint8Array {
  if (e instanceof SFTPError) {
    return encodeStatus(id, e.status, e.peerMessage || STATUS_MESSAGES[e.status] || "Failure");
  }
  return encodeStatus(id, SFTPStatus.FAILURE, "Failure");
}

function announcedExtensions<H>(
  backend: SFTPBackend<H>,
  disabled: ReadonlySet<string>,
): Map<string, string> {
  const have: [string, boolean][] = [
    [Ext.POSIX_RENAME, !!backend.posixRename],
    [Ext.STATVFS, !!backend.statvfs],
    [Ext.FSTATVFS, !!backend.fstatvfs],
    [Ext.HARDLINK, !!backend.hardlink],
    [Ext.FSYNC, !!backend.fsync],
    [Ext.LSETSTAT, !!backend.lsetstat],
    [Ext.LIMITS, true],
    [Ext.EXPAND_PATH, !!backend.expandPath],
    [Ext.COPY_DATA, true],
    [Ext.HOME_DIRECTORY, !!backend.homeDirectory],
    [Ext.USERS_GROUPS_BY_ID, !!backend.usersGroupsById],
  ];
  const out = new Map<string, string>();
  for (const [name, ok] of have) {
    if (ok && !disabled.has(name)) out.set(name, EXTENSION_VERSIONS[name]!);
  }
  if (backend.extended && backend.extraExtensions) {
    for (const [name, v] of backend.extraExtensions) {
      if (!out.has(name) && !disabled.has(name)) out.set(name, v);
    }
  }
  return out;
}
