/**
 * One SFTP session over an SSH channel: runs the pure client engine, writes
 * its packets to the channel, feeds it what the channel reads, and turns
 * replies into settled promises. Everything above (files, transfers, path
 * operations) calls {@link SFTPSession.request}.
 *
 * @module
 */

import { releaseTransient } from "../../core/transient_buffers.ts";
import { encodeStringArg } from "../../core/connection/session_requests.ts";
import { SFTPClientEngine, type SFTPResult } from "../../sftp/client_engine.ts";
import {
  CLIENT_DEFAULT_REQUEST,
  CLIENT_MAX_PACKET,
  CLIENT_MAX_REQUEST,
  Ext,
  SFTPStatus,
} from "../../sftp/constants.ts";
import { SFTPError, SFTPProtocolError } from "../../sftp/errors.ts";
import { errorMessage } from "../../core/errors.ts";
import type { SFTPLimits, SFTPRequest } from "../../sftp/messages.ts";
import { type ChannelIO, readOwned } from "../engine/channel.ts";
import { BufferPool } from "../../sftp/buffer_pool.ts";
import { SmallWriteBatcher } from "./small_writes.ts";
import { Log } from "../engine/logger.ts";
import { untilAborted } from "../engine/errors.ts";
import { symlinkOrder } from "../../sftp/symlink_order.ts";
import { HandleSlots } from "./handle_slots.ts";

/**
 * Receive window of the SFTP channel: 64 requests of 256 KiB, twice over, so
 * a full pipeline of replies is never held back by the window.
 */
export const SFTP_WINDOW = 32 * 1024 * 1024;

/** How long `close()` waits for the server to close its side of the channel (ms). */
export const SFTP_CLOSE_WAIT_MS = 5_000;
/** Largest channel data packet we accept on the SFTP channel: fewer, bigger packets per reply. */
export const SFTP_MAX_CHANNEL_PACKET = 128 * 1024;

/** What {@link SFTPSession.open} needs from a connection. */
export interface SFTPChannelOpener {
  /** Opens a channel (the client connection's `openChannel`). */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options?: { readonly streams?: 1 | 2; readonly window?: number; readonly maxPacket?: number },
  ): Promise<ChannelIO>;
  /** Where the session logs (the client connection's logger). */
  readonly logger?: Log;
  /**
   * Both identification lines (the client connection's `getExtraInfo()`): which order of
   * SYMLINK's paths the server reads depends on them (see `symlinkOrder()`).
   */
  getExtraInfo?(): {
    readonly serverVersion?: string | undefined;
    readonly clientVersion?: string | undefined;
  };
}

/**
 * Options of `startSftp()` / `conn.startSftp()`.
 *
 * @example Smaller requests, fewer in flight (for a server that mishandles pipelining)
 * ```ts
 * import type { SFTPClientOptions } from "@sshts/ssh";
 * const careful: SFTPClientOptions = { requestSize: 32 * 1024, maxRequests: 1 };
 * // const sftp = await conn.startSftp(careful);
 * ```
 */
export interface SFTPClientOptions {
  /** The subsystem to start (default "sftp"). */
  readonly subsystem?: string;
  /** Run this command instead of a subsystem (e.g. "/usr/lib/openssh/sftp-server"). */
  readonly command?: string;
  /** Receive window of the channel in bytes (default {@link SFTP_WINDOW}). */
  readonly window?: number;
  /**
   * Bytes per read and write request. Default: the server's limits@openssh.com
   * figures capped at 261,120 (256 KiB - 1 KiB, as OpenSSH's sftp), or 32 KiB
   * when the server announces no limits.
   */
  readonly requestSize?: number;
  /**
   * Requests in flight per transfer (default 64, as OpenSSH's sftp; 1 makes
   * transfers sequential). Against a server without limits@openssh.com, a
   * pipelined get or put that fails for a reason other than the file itself is
   * retried one request at a time, and the session stays sequential.
   */
  readonly maxRequests?: number;
  /** Gives up starting when this aborts. */
  readonly signal?: AbortSignal;
}

interface Waiter {
  resolve(r: SFTPResult): void;
}

/**
 * The engine, its channel and the table of requests waiting for replies.
 *
 * @example
 * ```ts ignore
 * const s = await SFTPSession.open(conn, {});
 * const r = await s.request({ type: "stat", path: "/" });
 * ```
 */
export class SFTPSession {
  readonly #ch: ChannelIO;
  readonly #engine: SFTPClientEngine;
  readonly #waiting = new Map<number, Waiter>();
  #closeError: Error | undefined;
  #flushScheduled = false;
  /** A failed write means the channel is gone; the read loop fails the requests. */
  readonly #batcher: SmallWriteBatcher;
  #readLoop: Promise<void> | undefined;
  /** The server's limits@openssh.com reply, when it has the extension. */
  limits: SFTPLimits | undefined;
  /** Bytes per READ request. */
  readSize: number = CLIENT_DEFAULT_REQUEST;
  /** Bytes per WRITE request. */
  writeSize: number = CLIENT_DEFAULT_REQUEST;
  readonly #maxRequests: number;
  #sequential = false;
  /** The connection's logger (silent without one). */
  readonly log: Log;
  /**
   * Places for open handles, as many as the server allows at once (its limits@openssh.com
   * maxOpenHandles; no limit without it): transfers, readFile and writeFile wait for one.
   */
  readonly handleSlots: HandleSlots = new HandleSlots(() => {
    const n = this.limits?.maxOpenHandles ?? 0;
    return n > 0 ? n : Infinity;
  });

  private constructor(
    ch: ChannelIO,
    engine: SFTPClientEngine,
    maxRequests: number,
    pool: BufferPool,
    log: Log,
  ) {
    this.log = log;
    this.#ch = ch;
    this.#batcher = new SmallWriteBatcher((c) => ch.write(c).catch(() => {}));
    this.#engine = engine;
    this.#maxRequests = maxRequests;
    this.pool = pool;
  }

  /** Requests in flight per transfer (1 once the session fell back to sequential transfers). */
  get maxRequests(): number {
    return this.#sequential ? 1 : this.#maxRequests;
  }

  /** Whether transfers run one request at a time after a server mishandled pipelining. */
  get sequential(): boolean {
    return this.#sequential;
  }

  /**
   * Called when a pipelined transfer failed with `error` while more than one
   * request was in flight. Against a server that announced no
   * limits@openssh.com (so not OpenSSH, whose sftp-server pipelines well), an
   * error that is not about the file itself (not found, permission denied, a
   * lost session) may be the server failing under many requests: the session
   * switches to one request at a time for good, and true tells the caller to
   * retry what failed. Several non-OpenSSH servers are known to mishandle
   * pipelined writes.
   */
  fallBackToSequential(error: unknown): boolean {
    if (this.#sequential || this.limits || this.#maxRequests <= 1 || this.closed) return false;
    if (error instanceof SFTPError) {
      const fileProblem: number[] = [
        SFTPStatus.EOF,
        SFTPStatus.NO_SUCH_FILE,
        SFTPStatus.PERMISSION_DENIED,
        SFTPStatus.NO_CONNECTION,
        SFTPStatus.CONNECTION_LOST,
      ];
      if (fileProblem.includes(error.status) || error.notFound) return false;
    } else if (!(error instanceof SFTPProtocolError)) {
      return false; // a local failure (the disk, an abort): nothing the server did
    }
    this.#sequential = true;
    this.log.warn(
      `sftp: the server failed under ${this.#maxRequests} requests in flight ` +
        `(${errorMessage(error)}): one at a time from now on`,
    );
    return true;
  }

  /**
   * Buffers replies are assembled in. A DATA reply's bytes may be given back
   * with `pool.release(data)` once nothing refers to them any more.
   */
  readonly pool: BufferPool;

  /** Opens the channel, starts the subsystem, exchanges INIT/VERSION and reads the limits. */
  static async open(conn: SFTPChannelOpener, options: SFTPClientOptions): Promise<SFTPSession> {
    options.signal?.throwIfAborted();
    const ch = await conn.openChannel("session", undefined, {
      streams: 1,
      window: options.window ?? SFTP_WINDOW,
      maxPacket: SFTP_MAX_CHANNEL_PACKET,
    });
    const maxRequests = Math.max(1, options.maxRequests ?? 64);
    // Sized once the request size is known (below); until then every buffer is fresh.
    const pool = new BufferPool(0, maxRequests + 8);
    // Chunks copied whole into replies are freed at once, not at the next GC.
    // Which order of SYMLINK's paths the server reads depends on both identification lines.
    const info = conn.getExtraInfo?.();
    const engine = new SFTPClientEngine({
      allocate: (n) => pool.allocate(n),
      release: releaseTransient,
      symlinkOrder: symlinkOrder(info?.serverVersion, info?.clientVersion ?? ""),
    });
    const s = new SFTPSession(ch, engine, maxRequests, pool, conn.logger ?? Log.none);
    // Settled by the server's VERSION, or by the session's end whenever that comes (even
    // while the subsystem request is still out): awaited once the engine has started.
    const version = new Promise<void>((resolve, reject) => {
      s.#onVersion = resolve;
      s.#onStartFailed = reject;
    });
    version.catch(() => {}); // a failure before it is awaited is thrown from there
    // Replies go to the engine as the channel's data arrives: lent data is copied once, into
    // the reply it belongs to. The readable (read by #read) reports the channel's end. What
    // comes before the engine has started (a shell's banner, an eager VERSION) is held, up
    // to the channel's window, and given to it in order once it has.
    const earlyLimit = options.window ?? SFTP_WINDOW;
    let early: Uint8Array[] | undefined = [];
    let earlyBytes = 0;
    ch.setSink(0, (data, lent) => {
      if (s.#closeError) return;
      if (early) {
        earlyBytes += data.length;
        if (earlyBytes > earlyLimit) {
          s.#end(
            new SFTPProtocolError(
              `The server sent more than ${earlyLimit} bytes before the SFTP session started`,
            ),
          );
          return;
        }
        early.push(lent ? data.slice() : data);
        return;
      }
      engine.receiveData(data, lent);
      s.#drain();
    });
    const onAbort = () => ch.close();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const ok = options.command !== undefined
        ? await ch.request("exec", encodeStringArg(options.command))
        : await ch.request("subsystem", encodeStringArg(options.subsystem ?? "sftp"));
      if (!ok) {
        // Not refused when the start was aborted or the connection went meanwhile.
        options.signal?.throwIfAborted();
        if (ch.abortReason) throw ch.abortReason;
        throw new SFTPError(
          SFTPStatus.NO_CONNECTION,
          "The server refused to start the SFTP subsystem",
          {
            operation: "start",
          },
        );
      }
      s.#readLoop = s.#read();
      engine.start();
      const held = early;
      early = undefined;
      for (const d of held) engine.receiveData(d);
      s.#drain();
      s.#flush();
      await version;
      options.signal?.throwIfAborted();
      if (engine.supports(Ext.LIMITS, "1")) {
        const r = await s.request({ type: "limits" });
        if (r.kind === "limits") s.limits = r.limits;
      }
      const cap = (n: number | undefined) =>
        n && n > 0 ? Math.min(n, CLIENT_MAX_REQUEST) : CLIENT_DEFAULT_REQUEST;
      // The server's packet limit less 1 KiB for headers, as OpenSSH's sftp; at least one byte,
      // for a server announcing a limit of 1 KiB or less: requests of no bytes would never end.
      const packetRoom = s.limits?.maxPacketLength
        ? Math.max(1, s.limits.maxPacketLength - 1024)
        : Infinity;
      s.readSize = Math.min(cap(s.limits?.maxReadLength), packetRoom);
      s.writeSize = Math.min(cap(s.limits?.maxWriteLength), packetRoom);
      if (options.requestSize !== undefined) {
        const n = Math.floor(options.requestSize);
        if (!(n > 0)) throw new RangeError("requestSize must be a positive number of bytes");
        // Our engine accepts replies up to CLIENT_MAX_PACKET: leave room for the header.
        s.readSize = s.writeSize = Math.min(n, packetRoom, CLIENT_MAX_PACKET - 1024);
      }
      // A DATA reply's packet: the data plus type, id and length (9 bytes).
      s.pool.size = s.readSize + 16;
      if (s.log.on("debug")) {
        s.log.debug(
          `sftp: session started, extensions ${
            [...engine.extensions.keys()].join(", ") || "none"
          }; ` +
            `${s.readSize}-byte reads, ${s.writeSize}-byte writes, ${maxRequests} in flight`,
        );
      }
      return s;
    } catch (e) {
      ch.close();
      throw e;
    } finally {
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  #onVersion: (() => void) | undefined;
  #onStartFailed: ((e: Error) => void) | undefined;

  /** The extensions the server announced (name → version). */
  get extensions(): ReadonlyMap<string, string> {
    return this.#engine.extensions;
  }

  /** Whether the server announced `name` (at `version`, when given). */
  supports(name: string, version?: string): boolean {
    return this.#engine.supports(name, version);
  }

  /** Whether the session ended. */
  get closed(): boolean {
    return this.#closeError !== undefined;
  }

  /** Why the session ended, once it did. */
  get closeError(): Error | undefined {
    return this.#closeError;
  }

  /** Requests waiting for replies. */
  get pending(): number {
    return this.#waiting.size;
  }

  /**
   * Sends a request; resolves with its result (an error result for a refused
   * request). Rejects only when the session ends before the reply, or with
   * `signal`'s reason once it aborts.
   */
  request(req: SFTPRequest, signal?: AbortSignal): Promise<SFTPResult> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let id: number;
    try {
      id = this.#engine.request(req); // throws for a request it cannot encode
    } catch (e) {
      return Promise.reject(e); // a promise was promised
    }
    const p = new Promise<SFTPResult>((resolve) => this.#waiting.set(id, { resolve }));
    this.#flush();
    const answer = p.then((
      r,
    ) => (r.kind === "error" && r.error === CLOSED ? Promise.reject(this.#closeError) : r));
    // The abort ends the wait (a server that stopped answering cannot hold it up); the
    // reply, when it comes, is matched and dropped.
    return untilAborted(answer, signal);
  }

  #flush(): void {
    // Requests made in the same turn go out together: one channel write (one SSH packet,
    // one socket write) for a burst of small requests instead of one each.
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => {
      this.#flushScheduled = false;
      this.#flushNow();
    });
  }

  #flushNow(): void {
    for (const c of this.#engine.takeOutgoing()) this.#batcher.add(c);
    void this.#batcher.flush();
  }

  async #read(): Promise<void> {
    const reader = this.#ch.readable(0).getReader();
    let error: Error | undefined;
    try {
      for (;;) {
        const { value, done } = await readOwned(reader);
        if (done) break;
        this.#engine.receiveData(value);
        this.#drain();
        if (this.#engine.closed) break;
      }
    } catch (e) {
      error = e instanceof Error ? e : new Error(String(e));
    } finally {
      reader.releaseLock();
    }
    this.#end(
      this.#engine.error ?? error ??
        new SFTPError(SFTPStatus.CONNECTION_LOST, "The SFTP session ended", { operation: "SFTP" }),
    );
  }

  #drain(): void {
    for (let e; (e = this.#engine.pollEvent());) {
      switch (e.type) {
        case "version":
          this.#onVersion?.();
          break;
        case "reply": {
          const w = this.#waiting.get(e.id);
          this.#waiting.delete(e.id);
          w?.resolve(e.result);
          break;
        }
        case "closed":
          this.#end(e.error);
          break;
      }
    }
  }

  #end(error: Error): void {
    if (this.#closeError) return;
    this.#closeError = error;
    this.#engine.close();
    this.#onStartFailed?.(error);
    const waiting = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of waiting) w.resolve({ kind: "error", error: CLOSED });
    this.#ch.close();
  }

  /**
   * Ends the session and closes the channel; resolves once the server closed its side too,
   * or after {@link SFTP_CLOSE_WAIT_MS} without its answer (an `ssh2` Server's SFTP stream
   * never answers a CHANNEL_CLOSE until its application ends it: a close waited for good).
   */
  async close(): Promise<void> {
    if (!this.#closeError) {
      this.#end(
        new SFTPError(SFTPStatus.NO_CONNECTION, "The SFTP session was closed", {
          operation: "SFTP",
        }),
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const answered = await Promise.race([
      this.#ch.closedPromise.then(() => true),
      new Promise<false>((r) => {
        timer = setTimeout(() => r(false), SFTP_CLOSE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    if (answered) await this.#readLoop;
  }
}

/** Marker result for requests failed by the end of the session. */
const CLOSED = new SFTPError(SFTPStatus.CONNECTION_LOST, "closed");

/** Unwraps a result of the expected kind; throws its SFTPError, or a protocol error on a mismatch. */
export function expectResult<K extends SFTPResult["kind"]>(
  r: SFTPResult,
  kind: K,
): Extract<SFTPResult, { kind: K }> {
  if (r.kind === kind) return r as Extract<SFTPResult, { kind: K }>;
  if (r.kind === "error") throw r.error;
  throw new SFTPProtocolError(`Expected a ${kind} reply, got ${r.kind}`);
}
