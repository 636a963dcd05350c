/**
 * Test helper: counts the listeners on an AbortSignal, to show that a call lets go of a
 * long-lived signal (a program's shutdown signal) once it is done.
 *
 * @module
 */

/**
 * A controller whose signal counts its abort listeners (added less removed).
 *
 * @example
 * ```ts ignore
 * const c = countingController();
 * await something({ signal: c.signal });
 * console.log(c.listening()); // 0
 * ```
 */
export function countingController(): AbortController & { listening(): number } {
  const ac = new AbortController();
  let n = 0;
  const add = ac.signal.addEventListener.bind(ac.signal);
  const remove = ac.signal.removeEventListener.bind(ac.signal);
  ac.signal.addEventListener = ((...a: Parameters<typeof add>) => (n++, add(...a))) as never;
  ac.signal.removeEventListener =
    ((...a: Parameters<typeof remove>) => (n--, remove(...a))) as never;
  return Object.assign(ac, { listening: () => n });
}
