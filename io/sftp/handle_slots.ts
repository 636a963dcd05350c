/**
 * The open handles a server allows at once (limits@openssh.com's maxOpenHandles), shared
 * by the handles this library opens and closes itself (transfers, readFile, writeFile):
 * those wait for a place, so that a `Promise.all` over thousands of files is queued rather
 * than refused one by one with "Too many open handles".
 *
 * @module
 */

/**
 * Places for open handles. {@link acquire} waits only while a place will come back (one of
 * the library's own handles is open): with every place taken by handles the application
 * holds, it goes ahead and lets the server answer, as it would without this.
 *
 * @example
 * ```ts
 * import { HandleSlots } from "./handle_slots.ts";
 * const slots = new HandleSlots(() => 2);
 * await slots.acquire();
 * await slots.acquire();
 * const third = slots.acquire(); // waits
 * slots.release();
 * await third;
 * console.log(slots.inUse); // 2
 * ```
 */
export class HandleSlots {
  readonly #capacity: () => number;
  /** Handles open: the library's own and the application's. */
  #open = 0;
  /** Of those, the library's own (each gives its place back when its work ends). */
  #own = 0;
  readonly #waiting: Waiter[] = [];

  /** Places as `capacity()` says at the time (Infinity: no limit). */
  constructor(capacity: () => number) {
    this.#capacity = capacity;
  }

  /** Handles open now. */
  get inUse(): number {
    return this.#open;
  }

  /**
   * Takes places for `n` of the library's own handles at once (see {@link release}, once
   * per handle): work that holds two (a copy's source and destination) takes both together,
   * so that two such works can never each hold one and wait for ever for another.
   */
  async acquire(signal?: AbortSignal, n = 1): Promise<void> {
    signal?.throwIfAborted();
    if (this.#waiting.length === 0 && this.#mayTake(n)) return this.#take(n);
    // The place is taken for this waiter when it is woken (no one can slip in between).
    await new Promise<void>((go, stop) => {
      const waiter: Waiter = {
        go,
        n,
        signal,
        onAbort: () => {
          const i = this.#waiting.indexOf(waiter);
          if (i >= 0) this.#waiting.splice(i, 1);
          stop(signal!.reason);
          // It may have been first, waiting for more places than those behind it need.
          this.#wake();
        },
      };
      signal?.addEventListener("abort", waiter.onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /** Gives back the place of one of the library's own handles (closed, or never opened). */
  release(): void {
    this.#open--;
    this.#own--;
    this.#wake();
  }

  /** Counts a handle the application opened itself (it waits for nothing). */
  hold(): void {
    this.#open++;
  }

  /** The application closed one of its handles. */
  unhold(): void {
    this.#open--;
    this.#wake();
  }

  /** `n` places are free, or none will come back (only the application's handles are open). */
  #mayTake(n: number): boolean {
    return this.#open + n <= Math.max(2, this.#capacity()) || this.#own === 0;
  }

  #take(n: number): void {
    this.#open += n;
    this.#own += n;
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#mayTake(this.#waiting[0]!.n)) {
      const w = this.#waiting.shift()!;
      w.signal?.removeEventListener("abort", w.onAbort);
      this.#take(w.n);
      w.go();
    }
  }
}

interface Waiter {
  readonly go: () => void;
  /** Places it waits for. */
  readonly n: number;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}
