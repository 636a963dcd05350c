/**
 * Pipelined reads and writes, as OpenSSH's sftp does them: requests of the
 * negotiated size, starting with one in flight and adding one per reply up to
 * the limit (64); a short read re-requests the rest and shrinks the request
 * size; replies are handed over at their offsets in whatever order they come,
 * and the highest contiguous offset is tracked so an interrupted download can
 * be truncated to what is known to be whole. Memory is bounded by the
 * requests in flight.
 *
 * @module
 */

import type { SFTPResult } from "../../sftp/client_engine.ts";
import { SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError, SFTPProtocolError } from "../../sftp/errors.ts";
import type { SFTPSession } from "./session.ts";
import { abortError } from "../engine/errors.ts";

/** Smallest request size a run of short reads shrinks to (OpenSSH's MIN_READ_SIZE). */
const MIN_READ_SIZE = 512;

/** Options of {@link pipelinedRead}. */
export interface ReadPipelineOptions {
  /** Bytes per request. */
  readonly requestSize: number;
  /** Most requests in flight. */
  readonly maxRequests: number;
  /** Stop at this offset (exclusive); default: read to end of file. */
  readonly end?: number;
  /** The file's expected size: past it, one request at a time (as OpenSSH). */
  readonly sizeHint?: number;
  /**
   * Stops issuing requests when this aborts, and stops waiting for those in flight (their
   * replies are dropped when they come).
   */
  readonly signal?: AbortSignal;
  /**
   * No request starts this many bytes or more past the lowest one still unanswered: a sink
   * that must hold out-of-order replies until the gap before them fills (a stream handed
   * out in order) then holds at most this much, however long one reply takes.
   */
  readonly window?: number;
}

/** What {@link pipelinedRead} did. */
export interface ReadPipelineResult {
  /** Bytes handed to the sink. */
  readonly bytes: number;
  /** Everything before this offset was handed to the sink. */
  readonly highwater: number;
  /** The server answered EOF (the file ended before `end`). */
  readonly eof: boolean;
  /** The first error (a refused read, a sink failure, or the abort reason). */
  readonly error: unknown;
  /** The most requests that were in flight at once. */
  readonly peakRequests: number;
}

interface Req {
  offset: number;
  len: number;
}

/**
 * Reads `handle` from `start`, handing each reply to `sink(offset, data)` at
 * its offset (not necessarily in order). Never throws: the first error is in
 * the result, after the requests in flight have drained.
 *
 * @example
 * ```ts ignore
 * const r = await pipelinedRead(session, handle, 0, { requestSize: 261120, maxRequests: 64 },
 *   (offset, data) => out.write(data, 0, data.length, offset));
 * if (r.error) throw r.error;
 * ```
 */
export async function pipelinedRead(
  s: SFTPSession,
  handle: Uint8Array,
  start: number,
  o: ReadPipelineOptions,
  sink: (offset: number, data: Uint8Array) => void | Promise<void>,
): Promise<ReadPipelineResult> {
  const end = o.end ?? Infinity;
  let buflen = o.requestSize;
  let offset = start;
  let maxReq = 1;
  let numReq = 0;
  let bytes = 0;
  let maxack = start;
  let highwater = start;
  let reordered = false;
  let eof = false;
  /** The lowest offset the server answered EOF for. */
  let eofAt = Infinity;
  let seenZero = false;
  let error: unknown;
  const done: { req: Req; r: SFTPResult }[] = [];
  let wake: (() => void) | undefined;

  let peakRequests = 0;
  /** Offsets of the requests in flight, for `window`. */
  const outstanding = new Set<number>();
  const issue = (req: Req) => {
    numReq++;
    outstanding.add(req.offset);
    if (numReq > peakRequests) peakRequests = numReq;
    let sent: Promise<SFTPResult>;
    try {
      sent = s.request({ type: "read", handle, offset: req.offset, length: req.len });
    } catch (e) {
      // A request that cannot even be encoded (an offset no packet can carry) fails like
      // a refused one: the loop ends with its error instead of throwing past the caller.
      sent = Promise.reject(e);
    }
    sent.then(
      (r) => {
        done.push({ req, r });
        wake?.();
      },
      (e) => {
        done.push({ req, r: { kind: "error", error: e as SFTPError } });
        wake?.();
      },
    );
  };
  const topUp = () => {
    if (o.signal?.aborted && maxReq > 0) {
      maxReq = 0;
      error ??= o.signal.reason;
    }
    while (numReq < maxReq && offset < end) {
      if (o.window !== undefined && outstanding.size > 0) {
        let floor = Infinity;
        for (const f of outstanding) if (f < floor) floor = f;
        if (offset >= floor + o.window) break;
      }
      const len = Math.min(buflen, end - offset);
      issue({ offset, len });
      offset += len;
    }
  };

  // An abort ends the wait for replies at once: a server that stopped answering must not
  // hold up the caller's signal (replies still out are dropped when they come).
  const onAbort = () => wake?.();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await readLoop();
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }
  // The file ended at eofAt, yet data came from beyond it: a hole nobody filled (a server
  // contradicting itself, or a file rewritten meanwhile). Not a whole copy.
  if (error === undefined && eof && maxack > eofAt) {
    error = new SFTPProtocolError(
      `The server reported the end of the file at ${eofAt}, then sent data up to ${maxack}`,
    );
  }
  // Everything arrived: all of it is whole. Otherwise keep the contiguous mark.
  if (error === undefined) highwater = maxack;
  return { bytes, highwater, eof, error, peakRequests };

  async function readLoop(): Promise<void> {
    for (;;) {
      topUp();
      if (numReq === 0) break;
      if (o.signal?.aborted) {
        error ??= o.signal.reason;
        break;
      }
      if (done.length === 0) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (done.length === 0) continue; // woken by the abort
      const { req, r } = done.shift()!;
      numReq--;
      outstanding.delete(req.offset);
      if (r.kind === "eof") {
        eof = true;
        if (req.offset < eofAt) eofAt = req.offset;
        maxReq = 0;
        continue;
      }
      if (r.kind !== "data") {
        error ??= r.kind === "error"
          ? r.error
          : new SFTPProtocolError(`Unexpected ${r.kind} reply to a read`);
        maxReq = 0;
        continue;
      }
      const data = r.data;
      const len = data.length;
      if (len === 0) {
        if (seenZero) {
          error ??= new SFTPProtocolError("The server sent zero-length data twice");
          maxReq = 0;
          continue;
        }
        seenZero = true;
      }
      if (len < req.len) {
        // Short read: ask for the rest, and shrink the requests as OpenSSH does.
        issue({ offset: req.offset + len, len: req.len - len });
        if (len < buflen) buflen = Math.max(MIN_READ_SIZE, len);
      }
      if (maxReq > 0) {
        if (o.sizeHint !== undefined && o.sizeHint > 0 && offset > o.sizeHint) maxReq = 1;
        else if (maxReq < o.maxRequests) maxReq++;
      }
      topUp();
      if (len > 0 && error === undefined) {
        try {
          await sink(req.offset, data);
        } catch (e) {
          error = e;
          maxReq = 0;
          continue;
        }
        // Counted once it is written: the high-water mark never covers bytes we dropped.
        bytes += len;
        if (maxack < req.offset + len) maxack = req.offset + len;
        if (!reordered && req.offset <= highwater) highwater = maxack;
        else if (!reordered && req.offset > highwater) reordered = true;
      }
    }
  }
}

/**
 * {@link pipelinedRead} into one buffer: the bytes from `start` to where the file (or
 * `o.end`) ended, assembled from replies in whatever order they came. Throws the first
 * error, or the signal's reason once it aborted.
 *
 * @example
 * ```ts ignore
 * const bytes = await readIntoBuffer(session, handle, 0, { requestSize: 261120, maxRequests: 64 });
 * ```
 */
export async function readIntoBuffer(
  s: SFTPSession,
  handle: Uint8Array,
  start: number,
  o: ReadPipelineOptions,
): Promise<Uint8Array> {
  // Each reply is copied at its offset as it comes and its buffer given back: what is held is
  // the bytes read, never a reply's buffer per piece (a server answering with a byte at a
  // time would otherwise make each byte cost a buffer and an object). The size the server
  // reports is only a first guess, and never trusted for more than INITIAL_MAX at once.
  const limit = (o.end ?? Infinity) - start;
  let out = new Uint8Array(Math.max(0, Math.min(limit, o.sizeHint ?? 0, INITIAL_MAX)));
  const r = await pipelinedRead(s, handle, start, o, (off, data) => {
    const at = off - start;
    const need = at + data.length;
    if (need > out.length) {
      const grown = new Uint8Array(Math.min(limit, Math.max(need, out.length * 2, 64 * 1024)));
      grown.set(out);
      out = grown;
    }
    out.set(data, at);
    s.pool.release(data);
  });
  s.pool.trim();
  if (o.signal?.aborted) throw abortError(o.signal);
  if (r.error !== undefined) throw r.error;
  const length = r.highwater - start;
  return out.length === length ? out : out.slice(0, length);
}

/** The most bytes {@link readIntoBuffer} sets aside before any arrive, whatever size the server reports. */
const INITIAL_MAX = 16 * 1024 * 1024;

/**
 * Sends writes with up to `maxRequests` in flight (slow start), each at the
 * next offset. {@link WritePipe.push} resolves when there is room for more;
 * {@link WritePipe.finish} when every write was acknowledged. The first
 * refused write fails the next push or finish.
 *
 * @example
 * ```ts ignore
 * const pipe = new WritePipe(session, handle, 0, 64);
 * await pipe.push(chunk); // chunk must not be changed until finish()
 * await pipe.finish();
 * ```
 */
export class WritePipe {
  readonly #s: SFTPSession;
  readonly #handle: Uint8Array;
  readonly #max: number;
  #limit = 1;
  #inFlight = 0;
  #peak = 0;
  #offset: number;
  #acked = 0;
  #error: unknown;
  #waiters: (() => void)[] = [];
  /** Where the acknowledged bytes from the start end without a gap. */
  #contiguous: number;
  /** Acknowledged writes past a gap: offset → length (absorbed as the gap fills). */
  readonly #ahead = new Map<number, number>();
  readonly #signal: AbortSignal | undefined;

  /**
   * Writes to `handle` from `offset`. `signal` ends a wait for room (or for the last
   * replies) at once when it aborts, whatever the server does.
   */
  constructor(
    s: SFTPSession,
    handle: Uint8Array,
    offset: number,
    maxRequests: number,
    signal?: AbortSignal,
  ) {
    this.#s = s;
    this.#handle = handle;
    this.#offset = offset;
    this.#contiguous = offset;
    this.#max = Math.max(1, maxRequests);
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  readonly #onAbort = () => this.#wakeAll();

  /** Lets go of the signal (a long-lived one must not keep every finished pipe alive). */
  #detach(): void {
    this.#signal?.removeEventListener("abort", this.#onAbort);
  }

  /**
   * The end of the bytes acknowledged without a gap from the start: after a failure,
   * later writes may have landed past an earlier refused one — what lies beyond this
   * offset is not a prefix of the data (a resumed transfer must not start after it).
   */
  get contiguous(): number {
    return this.#contiguous;
  }

  /** The offset the next push writes at. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes acknowledged by the server. */
  get acked(): number {
    return this.#acked;
  }

  /** The most writes it lets be in flight at once. */
  get maxRequests(): number {
    return this.#max;
  }

  /** The most writes that were in flight at once. */
  get peakRequests(): number {
    return this.#peak;
  }

  /** Writes sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Queues one write of `data` (at most the session's write size) at the next
   * offset, or at `at` when given (the next offset is then left alone).
   * `settled` is called once the server answered (or the session ended): from
   * then on nothing refers to `data` any more.
   */
  async push(data: Uint8Array, at?: number, settled?: () => void): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    if (data.length === 0) {
      settled?.();
      return;
    }
    if (at === undefined) {
      at = this.#offset;
      this.#offset += data.length;
    }
    const offset = at;
    // Sent before it is counted: a request that cannot be encoded (an offset no packet can
    // carry) throws here, and a write counted in flight that never went would hang finish().
    let sent: Promise<SFTPResult>;
    try {
      sent = this.#s.request({ type: "write", handle: this.#handle, offset, data });
    } catch (e) {
      this.#error ??= e;
      settled?.();
      throw e;
    }
    this.#inFlight++;
    if (this.#inFlight > this.#peak) this.#peak = this.#inFlight;
    sent.then(
      (r) => {
        settled?.();
        this.#settle(
          r.kind === "ok"
            ? undefined
            : r.kind === "error"
            ? r.error
            : new SFTPError(SFTPStatus.BAD_MESSAGE),
          offset,
          data.length,
        );
      },
      (e) => this.#settle(e ?? new Error("write failed"), offset, 0),
    );
    while (this.#inFlight >= this.#limit && this.#error === undefined) {
      this.#checkAborted();
      await this.#wait();
    }
    if (this.#error !== undefined) throw this.#error;
  }

  #wait(): Promise<void> {
    return new Promise<void>((r) => this.#waiters.push(r));
  }

  #wakeAll(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** An abort ends the wait: the writes still out are the session's to finish or drop. */
  #checkAborted(): void {
    if (this.#signal?.aborted) {
      this.#error ??= this.#signal.reason;
      throw this.#signal.reason;
    }
  }

  #settle(error: unknown, offset: number, n: number): void {
    this.#inFlight--;
    if (error !== undefined) this.#error ??= error;
    else {
      this.#acked += n;
      if (this.#limit < this.#max) this.#limit++;
      if (offset === this.#contiguous) {
        this.#contiguous += n;
        for (let next; (next = this.#ahead.get(this.#contiguous)) !== undefined;) {
          this.#ahead.delete(this.#contiguous);
          this.#contiguous += next;
        }
      } else if (offset > this.#contiguous) {
        this.#ahead.set(offset, n);
      }
    }
    this.#wakeAll();
  }

  /** Resolves when every write was acknowledged; throws the first error (or the abort's). */
  async finish(): Promise<void> {
    try {
      while (this.#inFlight > 0) {
        this.#checkAborted();
        await this.#wait();
      }
    } finally {
      if (this.#inFlight === 0 || this.#signal?.aborted) this.#detach();
    }
    if (this.#error !== undefined) throw this.#error;
  }

  /**
   * Waits for the writes in flight, ignoring their outcome (after a failure elsewhere);
   * after an abort it does not wait for a server that stopped answering.
   */
  async drain(): Promise<void> {
    while (this.#inFlight > 0 && !this.#signal?.aborted) await this.#wait();
    this.#detach();
  }
}
