/**
 * What the SFTP and scp sessions of one connection may hold together: how many run at once
 * and how many files they keep open. Every session of every connection shares the process's
 * file descriptors, so a per-session cap alone lets one client take them all.
 *
 * @module
 */

import type { HandleBudget } from "../../sftp/server_engine.ts";

/**
 * The shared counts of one connection's file sessions (`listen()` keeps one per connection).
 *
 * @example
 * ```ts
 * import { FileSessionLimits } from "./session_limits.ts";
 * const limits = new FileSessionLimits({ maxSessions: 10, maxOpenFiles: 256 });
 * if (limits.enterSession()) {
 *   console.log(limits.acquire()); // true: one open file
 *   limits.release();
 *   limits.leaveSession();
 * }
 * ```
 */
export class FileSessionLimits implements HandleBudget {
  /** Most SFTP and scp sessions at once. */
  readonly maxSessions: number;
  /** Most open files (SFTP handles) across the sessions. */
  readonly limit: number;
  #sessions = 0;
  #open = 0;

  /** Limits of `maxSessions` sessions holding `maxOpenFiles` files in all. */
  constructor(options: { readonly maxSessions: number; readonly maxOpenFiles: number }) {
    this.maxSessions = options.maxSessions;
    this.limit = options.maxOpenFiles;
  }

  /** Counts a new session in; false (and not counted) when `maxSessions` already run. */
  enterSession(): boolean {
    if (this.#sessions >= this.maxSessions) return false;
    this.#sessions++;
    return true;
  }

  /** Counts a session out. */
  leaveSession(): void {
    this.#sessions = Math.max(0, this.#sessions - 1);
  }

  /** Takes one open file from the budget; false when none is left. */
  acquire(): boolean {
    if (this.#open >= this.limit) return false;
    this.#open++;
    return true;
  }

  /** Gives back one open file. */
  release(): void {
    this.#open = Math.max(0, this.#open - 1);
  }
}
