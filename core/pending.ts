/**
 * A value that asynchronous work will give, in a form the sans-IO core can hold: the
 * core never awaits; it hands `ready` to the I/O layer, which calls back once it settled.
 *
 * @module
 */

/**
 * A value that asynchronous work will give: `ready` settles (never rejects) when it is
 * done, then `value()` returns it or throws what the work failed with.
 */
export interface Pending<T> {
  /** Settles once the work is done or failed. */
  readonly ready: PromiseLike<void>;
  /** The value, once `ready` settled (throws the work's error). */
  value(): T;
}

/**
 * Wraps a promise as a {@link Pending}.
 *
 * @example
 * ```ts
 * import { pending } from "./pending.ts";
 * const p = pending(Promise.resolve(42));
 * await p.ready;
 * console.log(p.value()); // 42
 * ```
 */
export function pending<T>(work: PromiseLike<T>): Pending<T> {
  let done = false;
  let result: T;
  let error: unknown;
  const ready = work.then((v) => {
    done = true;
    result = v;
  }, (e) => {
    error = e ?? new Error("asynchronous key exchange work failed");
  });
  return {
    ready,
    value() {
      if (!done) throw error ?? new Error("asynchronous key exchange work is not done");
      return result;
    },
  };
}

/**
 * A pending value mapped through `f` (run when the value is asked for).
 *
 * @example
 * ```ts
 * import { mapPending, pending } from "./pending.ts";
 * const p = mapPending(pending(Promise.resolve(2)), (n) => n * 21);
 * await p.ready;
 * console.log(p.value()); // 42
 * ```
 */
export function mapPending<T, U>(p: Pending<T>, f: (value: T) => U): Pending<U> {
  return { ready: p.ready, value: () => f(p.value()) };
}
