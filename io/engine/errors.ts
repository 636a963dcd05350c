/**
 * The errors of the engine layer of `io/`: a channel the peer would not open,
 * and a channel that closed under its reader or writer.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";

/**
 * The peer refused to open a channel (the server for a client, the client for a server).
 *
 * @example
 * ```ts ignore
 * try { await conn.openChannel("direct-tcpip", data); }
 * catch (e) { if (e instanceof ChannelOpenError) console.log(e.reason, e.message); }
 * ```
 */
export class ChannelOpenError extends SSHError {
  /** SSH_OPEN_* reason code. */
  readonly reason: number;

  /** Creates the error. */
  constructor(reason: number, description: string) {
    super(
      "ERR_CHANNEL_OPEN",
      `Channel open refused (reason ${reason}): ${description || "no description"}`,
    );
    this.name = "ChannelOpenError";
    this.reason = reason;
  }
}

/**
 * Error used to fail a channel's writes once it is closed. When the connection
 * went away under it, `cause` is the connection's error (a lost connection, a
 * keepalive timeout, the peer's DISCONNECT, ...).
 *
 * @example
 * ```ts ignore
 * try { await channel.write(bytes); }
 * catch (e) { if (e instanceof ChannelClosedError) console.log("the peer closed the channel"); }
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
 * ```ts ignore
 * const ch = await abortable(signal, () => openChannel(), (ch) => ch.close());
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
 * The error an aborted signal rejects with: its reason when that is an Error
 * (a DOMException named "AbortError" for a plain `abort()`), else an AbortError.
 *
 * @example
 * ```ts ignore
 * if (signal.aborted) throw abortError(signal);
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
