/**
 * The engines' event queue: FIFO, and it forgets an event as soon as it is
 * polled — a data event holds up to a packet of bytes, and keeping polled
 * events around would hold megabytes during bulk transfers.
 *
 * @module
 */

/**
 * A FIFO of events that drops each one when it is taken.
 *
 * @example
 * ```ts
 * import { EventQueue } from "./event_queue.ts";
 * const q = new EventQueue<string>();
 * q.push("a");
 * console.log(q.poll(), q.poll()); // "a" undefined
 * ```
 */
export class EventQueue<E> {
  #items: (E | undefined)[] = [];
  #head = 0;

  /** Adds an event at the end. */
  push(e: E): void {
    this.#items.push(e);
  }

  /** Takes the oldest event, or undefined when none is queued. */
  poll(): E | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const e = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return e;
  }

  /** Calls `fn` with each event waiting, oldest first (they stay queued). */
  forEach(fn: (e: E) => void): void {
    for (let i = this.#head; i < this.#items.length; i++) fn(this.#items[i]!);
  }

  /** Events waiting. */
  get size(): number {
    return this.#items.length - this.#head;
  }
}
