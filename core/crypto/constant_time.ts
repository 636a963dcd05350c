/**
 * Constant-time comparison for MACs and tags: the time taken depends only on the
 * length, never on where the first differing byte is.
 *
 * @module
 */

/**
 * Returns true when `a[aStart..aStart+length]` equals `b[bStart..bStart+length]`,
 * examining every byte regardless of mismatches. Out-of-range spans compare unequal.
 *
 * @example Compare a computed MAC with the received one
 * ```ts
 * import { constantTimeEqual } from "./constant_time.ts";
 * const mac = new Uint8Array([1, 2, 3]);
 * console.log(constantTimeEqual(mac, 0, new Uint8Array([1, 2, 3]), 0, 3)); // true
 * ```
 */
export function constantTimeEqual(
  a: Uint8Array,
  aStart: number,
  b: Uint8Array,
  bStart: number,
  length: number,
): boolean {
  if (
    aStart < 0 || bStart < 0 || length < 0 || aStart + length > a.length ||
    bStart + length > b.length
  ) {
    return false;
  }
  let diff = 0;
  for (let i = 0; i < length; i++) diff |= a[aStart + i]! ^ b[bStart + i]!;
  return diff === 0;
}
