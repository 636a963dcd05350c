/**
 * Small files of a recursive transfer, several at a time: each costs a few round trips
 * (open, a read or write, close) that a tree of thousands pays one after another otherwise.
 *
 * @module
 */

/** Files a recursive transfer moves at once, when each is small (see {@link SMALL_FILE_BYTES}). */
export const FILES_AT_ONCE = 8;

/**
 * Largest file moved beside others: a big one runs alone, with the whole pipeline of
 * requests to itself (and its buffers: eight of them would hold eight times the memory).
 */
export const SMALL_FILE_BYTES = 256 * 1024;

/**
 * Runs tasks in the order given, up to `limit` side by side; {@link alone} first waits for
 * the ones running. The first failure stops new starts and is thrown, once every task that
 * had started has settled (none is left running behind the caller's back).
 *
 * @example
 * ```ts
 * import { Lanes } from "./lanes.ts";
 * const lanes = new Lanes(2);
 * const done: number[] = [];
 * for (const n of [1, 2, 3]) await lanes.beside(async () => void done.push(n));
 * await lanes.alone(async () => void done.push(4));
 * await lanes.finish();
 * console.log(done); // [1, 2, 3, 4]
 * ```
 */
export class Lanes {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  /** Up to `limit` tasks side by side (1: one at a time). */
  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Starts `task` beside the running ones, once fewer than the limit run. */
  async beside(task: () => Promise<void>): Promise<void> {
    this.#throwIfFailed();
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    this.#throwIfFailed();
    const p: Promise<void> = task().then(
      () => {},
      (error) => void (this.#failure ??= { error }),
    ).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  /** Runs `task` once the running ones have finished, and waits for it. */
  async alone(task: () => Promise<void>): Promise<void> {
    await this.finish();
    await task();
  }

  /** Waits for every running task; throws the first failure, if any. */
  async finish(): Promise<void> {
    while (this.#running.size) await Promise.all(this.#running);
    this.#throwIfFailed();
  }

  /** Waits for every running task, whatever happened (for a caller that is failing). */
  async settle(): Promise<void> {
    while (this.#running.size) await Promise.all(this.#running);
  }

  /**
   * Gives `fill` lanes of `limit` to start tasks in, then waits for them all: throws the
   * first failure (of `fill` or a task) once none still runs.
   *
   * @example
   * ```ts
   * import { Lanes } from "./lanes.ts";
   * await Lanes.run(2, async (lanes) => {
   *   for (const n of [1, 2, 3]) await lanes.beside(async () => console.log(n));
   * });
   * ```
   */
  static async run(limit: number, fill: (lanes: Lanes) => Promise<void>): Promise<void> {
    const lanes = new Lanes(limit);
    try {
      await fill(lanes);
      await lanes.finish();
    } finally {
      await lanes.settle();
    }
  }

  #throwIfFailed(): void {
    if (this.#failure) throw this.#failure.error;
  }
}
