/**
 * Timeout options as timer delays: `setTimeout` fires a delay above 2^31 − 1 ms
 * (about 24.8 days) after 1 ms instead, and takes a negative or NaN one as 0.
 *
 * @module
 */

/** The longest delay `setTimeout` keeps: 2^31 − 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The delay of the timeout option `name` (`ms`), or `undefined` for no limit:
 * 0, `Infinity` and any delay above {@link MAX_TIMER_MS} (no timer could
 * wait that long) mean no limit. Throws a `TypeError` when `ms` is not a number
 * and a `RangeError` when it is negative or NaN.
 *
 * @example
 * ```ts
 * import { timeoutDelay } from "./timer.ts";
 * console.log(timeoutDelay(30_000, "timeout")); // 30000
 * console.log(timeoutDelay(0, "timeout")); // undefined
 * console.log(timeoutDelay(2 ** 40, "timeout")); // undefined
 * ```
 */
export function timeoutDelay(ms: number, name: string): number | undefined {
  if (typeof ms !== "number") {
    throw new TypeError(`${name} must be a number of milliseconds, not ${typeof ms}`);
  }
  if (!(ms >= 0)) {
    throw new RangeError(`${name} must be 0 (no limit) or a positive number of ms, not ${ms}`);
  }
  return ms === 0 || ms > MAX_TIMER_MS ? undefined : ms;
}
