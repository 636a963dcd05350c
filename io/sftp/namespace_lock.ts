/**
 * A readers–writer lock for the file-system backend's names. An operation that resolves a
 * client path (checking every directory on the way stays inside the root) and then acts on
 * it runs as a reader; one that changes which entry a name refers to (rename, remove,
 * mkdir, rmdir, symlink, hardlink) runs as the writer, alone. So no client can swap a
 * checked directory for a symlink between another operation's check and its act: the
 * gap `node:fs` leaves open (it has no `openat` to pin a directory) is closed for
 * everything the server itself does. Waiters are served in arrival order (readers that
 * arrive together go together), so a stream of reads cannot starve a rename.
 *
 * @module
 */

/**
 * Runs sections side by side (`shared`) or alone (`exclusive`).
 *
 * @example
 * ```ts
 * import { NamespaceLock } from "./namespace_lock.ts";
 * const lock = new NamespaceLock();
 * const order: string[] = [];
 * await Promise.all([
 *   lock.shared(async () => void order.push("stat")),
 *   lock.exclusive(async () => void order.push("rename")),
 *   lock.shared(async () => void order.push("open")),
 * ]);
 * console.log(order); // ["stat", "rename", "open"]
 * ```
 */
export class NamespaceLock {
  #readers = 0;
  #writer = false;
  readonly #queue: { readonly exclusive: boolean; readonly go: () => void }[] = [];

  /** Runs `fn` alongside other shared sections, never during an exclusive one. */
  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire(false);
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#next();
    }
  }

  /** Runs `fn` alone: after the sections running now, before those that come later. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire(true);
    try {
      return await fn();
    } finally {
      this.#writer = false;
      this.#next();
    }
  }

  /** Sections running or waiting (for tests and diagnostics). */
  get busy(): number {
    return this.#readers + (this.#writer ? 1 : 0) + this.#queue.length;
  }

  #acquire(exclusive: boolean): Promise<void> | void {
    if (!this.#writer && this.#queue.length === 0 && (!exclusive || this.#readers === 0)) {
      if (exclusive) this.#writer = true;
      else this.#readers++;
      return;
    }
    return new Promise<void>((go) => this.#queue.push({ exclusive, go }));
  }

  #next(): void {
    while (this.#queue.length > 0 && !this.#writer) {
      const head = this.#queue[0]!;
      if (head.exclusive) {
        if (this.#readers > 0) return;
        this.#queue.shift();
        this.#writer = true;
        head.go();
        return;
      }
      this.#queue.shift();
      this.#readers++;
      head.go();
    }
  }
}
