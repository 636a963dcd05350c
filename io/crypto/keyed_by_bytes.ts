/**
 * Values made from a byte array (a library's key object from a seed or a scalar), kept with
 * that array and a copy of its bytes. A caller that reuses the array for other bytes gets a
 * fresh value, never the one made from the old bytes: a stale key there would sign with the
 * wrong key, or vouch for the wrong public key. Weak: an entry goes with its array.
 *
 * @module
 */

import { equalBytes } from "../../core/wire.ts";

/**
 * A cache of values by the identity and the contents of a byte array.
 *
 * @example
 * ```ts
 * import { KeyedByBytes } from "./keyed_by_bytes.ts";
 * const sums = new KeyedByBytes<number>();
 * const b = new Uint8Array([1, 2]);
 * console.log(sums.get(b, () => b[0]! + b[1]!)); // 3
 * b[1] = 5;
 * console.log(sums.get(b, () => b[0]! + b[1]!)); // 6: the bytes changed, made again
 * ```
 */
export class KeyedByBytes<T> {
  readonly #kept = new WeakMap<Uint8Array, { readonly bytes: Uint8Array; readonly value: T }>();

  /** The value for `bytes`, made by `make` unless kept for these very bytes. */
  get(bytes: Uint8Array, make: () => T): T {
    const kept = this.#kept.get(bytes);
    if (kept !== undefined && equalBytes(kept.bytes, bytes)) return kept.value;
    const value = make();
    this.#kept.set(bytes, { bytes: bytes.slice(), value });
    return value;
  }

  /** Keeps `value` for `bytes` (a value made elsewhere, e.g. with a generated key). */
  set(bytes: Uint8Array, value: T): void {
    this.#kept.set(bytes, { bytes: bytes.slice(), value });
  }
}
