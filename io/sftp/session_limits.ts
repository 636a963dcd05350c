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
 * import { FileSessionLimits } from "@sshts/ssh";
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

/**
 * Runs `session` as one of the connection's file sessions in `limits` (when given): counted
 * in, and out again once it ends; when `maxSessions` already run, rejects with the error
 * `refusal` makes of the message (default a plain Error) without running it.
 *
 * @example
 * ```ts
 * import { FileSessionLimits, inFileSession } from "./session_limits.ts";
 * const limits = new FileSessionLimits({ maxSessions: 1, maxOpenFiles: 256 });
 * await inFileSession(limits, async () => {
 *   await inFileSession(limits, async () => {}).catch((e) => console.log(e.message));
 *   // "Too many SFTP and scp sessions on this connection (limit 1)"
 * });
 * ```
 */
export async function inFileSession<T>(
  limits: FileSessionLimits | undefined,
  session: () => Promise<T>,
  refusal: (message: string) => Error = (message) => new Error(message),
): Promise<T> {
  if (limits && !limits.enterSession()) {
    throw refusal(
      `Too many SFTP and scp sessions on this connection (limit ${limits.maxSessions})`,
    );
  }
  try {
    return await session();
  } finally {
    limits?.leaveSession();
  }
}
