/**
 * The errors of the engine layer of `io/`: a channel the peer would not open,
 * and a channel that closed under its reader or writer.
 *
 * @module
 */

import { escapeControls } from "../../core/peer_text.ts";
import { SSHError } from "../../core/errors.ts";

/**
 * The peer refused to open a channel (the server for a client, the client for a server).
 *
 * @example
 * ```ts
 * import { ChannelOpenError } from "@sshts/ssh";
 * // What `conn.openChannel(...)` rejects with when the server refuses the channel.
 * const e: unknown = new ChannelOpenError(1, "administratively prohibited");
 * if (e instanceof ChannelOpenError) console.log(e.reason, e.message); // 1 "Channel open refused ..."
 * ```
 */
export class ChannelOpenError extends SSHError {
  /** SSH_OPEN_* reason code. */
  readonly reason: number;

  /** Creates the error; `hint` (ours, not the peer's) follows the peer's description. */
  constructor(reason: number, description: string, hint?: string) {
    super(
      "ERR_CHANNEL_OPEN",
      `Channel open refused (reason ${reason}): ${escapeControls(description) || "no description"}${
        hint ? ` (${hint})` : ""
      }`,
    );
    this.name = "ChannelOpenError";
    this.reason = reason;
    this.description = description;
  }

  /** The peer's description, as it sent it. */
  readonly description: string;
}

/**
 * Error used to fail a channel's writes once it is closed. When the connection
 * went away under it, `cause` is the connection's error (a lost connection, a
 * keepalive timeout, the peer's DISCONNECT, ...).
 *
 * @example
 * ```ts
 * import { ChannelClosedError } from "@sshts/ssh";
 * // What `channel.write(bytes)` rejects with once the channel is gone.
 * const e: unknown = new ChannelClosedError();
 * if (e instanceof ChannelClosedError) console.log(e.code); // "ERR_CHANNEL"
 * ```
 */
export class ChannelClosedError extends SSHError {
  /** Creates the error. */
  constructor(message = "The channel is closed", options?: ErrorOptions) {
    super("ERR_CHANNEL", message, options);
    this.name = "ChannelClosedError";
  }
}

/**
 * Waits for `start` unless `signal` aborts first: then rejects with the
 * signal's reason and hands what `start` still produces to `undo` (to close a
 * channel or listener nobody will get). Without a signal, just `start()`.
 *
 * @example
 * ```ts
 * import { abortable } from "./errors.ts";
 * const ac = new AbortController();
 * const closed: string[] = [];
 * const slow = () => new Promise<string>((r) => setTimeout(() => r("channel"), 20));
 * const opening = abortable(ac.signal, slow, (ch) => closed.push(ch));
 * ac.abort(new Error("gave up"));
 * await opening.catch((e: Error) => console.log(e.message)); // "gave up"
 * await new Promise((r) => setTimeout(r, 40));
 * console.log(closed); // ["channel"]: what opened late was undone
 * ```
 */
export function abortable<T>(
  signal: AbortSignal | undefined,
  start: () => Promise<T>,
  undo: (value: T) => unknown,
): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) return Promise.reject(abortError(signal));
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(abortError(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    start().then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) {
          void Promise.resolve().then(() => undo(v)).catch(() => {});
          return;
        }
        settled = true;
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) return;
        settled = true;
        reject(e);
      },
    );
  });
}

/**
 * `p`'s outcome, unless `signal` aborts first: then a rejection with the signal's reason as
 * it is (where {@link abortable} makes an Error of it and undoes a late result). `p` goes
 * on either way and a late rejection of it is handled; the listener goes with the outcome.
 * For waits a peer that stopped answering must not hold up (its late reply is dropped).
 *
 * @example
 * ```ts
 * import { untilAborted } from "./errors.ts";
 * const ac = new AbortController();
 * const reply = untilAborted(new Promise(() => {}), ac.signal); // a server that never answers
 * ac.abort(new Error("gave up"));
 * await reply.catch((e: Error) => console.log(e.message)); // "gave up"
 * ```
 */
export function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      p.catch(() => {});
      return reject(signal.reason);
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The error an aborted signal rejects with: its reason when that is an Error
 * (a DOMException named "AbortError" for a plain `abort()`), else an AbortError.
 *
 * @example
 * ```ts
 * import { abortError } from "./errors.ts";
 * const signal = AbortSignal.abort();
 * console.log(abortError(signal).name); // "AbortError"
 * ```
 */
export function abortError(signal: AbortSignal): Error {
  const r = signal.reason;
  if (r instanceof Error) return r;
  return new DOMException(
    r === undefined ? "The operation was aborted" : String(r),
    "AbortError",
  );
}

/**
 * What a connection's pending work learns after the application's own `abort()`: the
 * socket went at this side's word (an ERR_BY_APPLICATION error, not fromPeer).
 */
export const ABORTED_HERE = "Connection aborted by the application (abort())";
