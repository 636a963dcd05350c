/**
 * Recycles the buffers DATA replies are assembled in during a download, so a
 * long transfer does not hand the garbage collector 256 KiB per request.
 *
 * @module
 */

/**
 * A pool of equal-sized buffers. Only buffers it lent out can come back, and
 * each only once: a buffer released twice (or never lent) is ignored.
 *
 * @example
 * ```ts
 * import { BufferPool } from "./buffer_pool.ts";
 * const pool = new BufferPool(1024, 4);
 * const a = pool.allocate(100);
 * pool.release(a);
 * console.log(pool.allocate(200).buffer === a.buffer); // true
 * ```
 */
export class BufferPool {
  /** Buffers of this many bytes are pooled; bigger requests get a fresh buffer. */
  size: number;
  readonly #maxFree: number;
  #free: ArrayBuffer[] = [];
  readonly #lent = new WeakSet<ArrayBuffer>();

  /** Pools buffers of `size` bytes, keeping at most `maxFree` idle ones. */
  constructor(size: number, maxFree: number) {
    this.size = size;
    this.#maxFree = maxFree;
  }

  /** Exactly `n` bytes, from the pool when `n` fits. */
  allocate(n: number): Uint8Array {
    if (n > this.size) return new Uint8Array(n);
    let b = this.#free.pop();
    if (!b || b.byteLength !== this.size) b = new ArrayBuffer(this.size);
    this.#lent.add(b);
    return new Uint8Array(b, 0, n);
  }

  /** Gives back a buffer from {@link allocate}; its contents may be overwritten from now on. */
  release(view: Uint8Array): void {
    const b = view.buffer as ArrayBuffer;
    if (!this.#lent.has(b)) return;
    this.#lent.delete(b);
    if (this.#free.length < this.#maxFree && b.byteLength === this.size) this.#free.push(b);
  }

  /** Drops the idle buffers (after a transfer). */
  trim(): void {
    this.#free = [];
  }
}
