/**
 * The signal a connection attempt waits on: the caller's signal and the connect timeout
 * together, with a timer that is cleared once the attempt is over. `AbortSignal.timeout()`
 * and `AbortSignal.any()` cannot be cleared: each connection kept their timer and three
 * signals alive for the whole timeout (30 s by default), which a fan-out of thousands of
 * connections pays in memory.
 *
 * @module
 */

import { MAX_TIMER_MS } from "../runtime/timer.ts";
import { ProcessTimeoutError } from "./errors.ts";

/** A connect deadline: its signal, whether the timeout fired, and how to clear it. */
export interface ConnectDeadline {
  /** Aborts with the caller's reason, or with a TimeoutError when the time is up. */
  readonly signal: AbortSignal | undefined;
  /** Whether the timeout (not the caller) aborted the signal. */
  readonly timedOut: boolean;
  /** Clears the timer and stops following the caller's signal. Idempotent. */
  clear(): void;
}

/**
 * A deadline for `timeoutMs` (none when 0 or infinite) that also follows `outer`.
 *
 * @example
 * ```ts
 * import { connectDeadline } from "./deadline.ts";
 * const d = connectDeadline(undefined, 10_000);
 * try {
 *   // await somethingThatTakesASignal(d.signal);
 * } finally {
 *   d.clear();
 * }
 * console.log(d.signal?.aborted, d.timedOut); // false false
 * ```
 */
export function connectDeadline(
  outer: AbortSignal | undefined,
  timeoutMs: number,
): ConnectDeadline {
  const timed = timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS;
  if (!timed) {
    return { signal: outer, timedOut: false, clear() {} };
  }
  const controller = new AbortController();
  let timedOut = false;
  const follow = () => controller.abort(outer!.reason);
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(
      new DOMException(`The connection attempt timed out after ${timeoutMs} ms`, "TimeoutError"),
    );
  }, timeoutMs);
  const clear = () => {
    clearTimeout(timer);
    outer?.removeEventListener("abort", follow);
  };
  // Before following the caller: an already aborted caller's signal aborts ours at once, and
  // that abort must clear the timer too (it kept the process alive for the whole timeout, then
  // reported a timeout that never was).
  controller.signal.addEventListener("abort", clear, { once: true });
  if (outer?.aborted) follow();
  else outer?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    clear,
  };
}

/**
 * What is left of a `timeoutMs` deadline that started at `t0` (`performance.now()`), for a
 * command's own timeout: at least 1 ms, since 0 would mean no limit.
 *
 * @example
 * ```ts
 * import { timeLeft } from "./deadline.ts";
 * console.log(timeLeft(5_000, performance.now()) <= 5_000); // true
 * ```
 */
export function timeLeft(timeoutMs: number, t0: number): number {
  return Math.max(1, Math.ceil(timeoutMs - (performance.now() - t0)));
}

/**
 * A command's timeout said with the whole `timeoutMs` the caller gave (opening the session,
 * or connecting, included), not with what was left of it for the command; its output is kept.
 *
 * @example
 * ```ts
 * import { ProcessTimeoutError } from "./errors.ts";
 * import { wholeTimeout } from "./deadline.ts";
 * const e = wholeTimeout(new ProcessTimeoutError("make", 740, "partial", ""), 1_000);
 * console.log(e.message, e.stdout); // Process "make" did not finish within 1000 ms partial
 * ```
 */
export function wholeTimeout(e: ProcessTimeoutError, timeoutMs: number): ProcessTimeoutError {
  return new ProcessTimeoutError(e.command, timeoutMs, e.stdout, e.stderr);
}
