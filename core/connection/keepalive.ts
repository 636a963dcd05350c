/**
 * Keepalive bookkeeping shared by both engines (OpenSSH's ServerAliveInterval /
 * ClientAliveInterval): after an interval with nothing received, send a
 * keepalive@openssh.com request; after `countMax` unanswered ones, give up.
 *
 * @module
 */

/** What to do at a keepalive deadline. */
export type KeepaliveAction = "none" | "send" | "dead";

/**
 * Tracks traffic and decides when to probe and when the peer is dead.
 *
 * @example
 * ```ts
 * import { Keepalive } from "./keepalive.ts";
 * const k = new Keepalive(15_000, 3);
 * k.start(0);
 * console.log(k.tick(15_000)); // "send": nothing was received for an interval
 * ```
 */
export class Keepalive {
  readonly intervalMs: number;
  readonly countMax: number;
  #checkAt = -1;
  #missed = 0;
  #received = false;

  /**
   * `intervalMs` 0 disables keepalives, and so does `Infinity` (no interval ever ends): its
   * deadline would be `Infinity`, which a caller's `setTimeout` takes as 1 ms.
   */
  constructor(intervalMs: number, countMax: number) {
    this.intervalMs = Number.isFinite(intervalMs) ? intervalMs : 0;
    this.countMax = countMax;
  }

  /** Records that the peer sent something. */
  onReceive(): void {
    this.#received = true;
  }

  /** The next deadline, or undefined when disabled or not started. */
  deadline(): number | undefined {
    return this.intervalMs > 0 && this.#checkAt >= 0 ? this.#checkAt : undefined;
  }

  /** Starts the clock (after authentication). */
  start(now: number): void {
    if (this.intervalMs > 0 && this.#checkAt < 0) this.#checkAt = now + this.intervalMs;
  }

  /** Call at or after the deadline. */
  tick(now: number): KeepaliveAction {
    if (this.intervalMs <= 0 || this.#checkAt < 0 || now < this.#checkAt) return "none";
    this.#checkAt = now + this.intervalMs;
    if (this.#received) {
      this.#received = false;
      this.#missed = 0;
      return "none";
    }
    return ++this.#missed > this.countMax ? "dead" : "send";
  }
}
