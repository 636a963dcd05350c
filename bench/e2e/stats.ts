/**
 * The few statistics the benchmark reports.
 *
 * @module
 */

/**
 * The median of a non-empty list (the mean of the middle two for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * console.log(median([3, 1, 2])); // 2
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("Cannot take the median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Throughput in MB/s (10^6 bytes per second) of moving `bytes` in `ms` milliseconds.
 *
 * @example
 * ```ts
 * import { megabytesPerSecond } from "./stats.ts";
 * console.log(megabytesPerSecond(1_000_000, 1000)); // 1
 * ```
 */
export function megabytesPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/**
 * The geometric mean of positive values, or `undefined` for none.
 *
 * @example
 * ```ts
 * import { geometricMean } from "./stats.ts";
 * console.log(geometricMean([1, 4])); // 2
 * ```
 */
export function geometricMean(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
