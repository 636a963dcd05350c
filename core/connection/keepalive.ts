/**
 * Keepalive bookkeeping shared by both engines (OpenSSH's ServerAliveInterval /
 * ClientAliveInterval): after an interval with nothing received, send a
 * keepalive@openssh.com request; after `countMax` unanswered ones, give up.
 *
 * As in OpenSSH's clientloop.c, the interval is timed from the last packet received (or
 * the last probe): a silent peer gets its first probe one interval after its last packet
 * and is declared dead `(countMax + 1) × interval` after it (an eighth of an interval more
 * at worst, see {@link Keepalive}), `countMax` probes having gone unanswered over
 * `countMax × interval`.
 *
 * @module
 */

/** What to do at a keepalive deadline. */
export type KeepaliveAction = "none" | "send" | "dead";

/**
 * How long after the last tick, as a part of the interval, a tick looks again once
 * something was received: the most a dead peer is found late, against how often a busy
 * connection's driver is woken.
 */
export const RECEIVED_CHECK_FRACTION = 1 / 8;

/**
 * Tracks traffic and decides when to probe and when the peer is dead.
 *
 * The engine learns the time only from `tick` (its caller's `handleTimeout`), not when bytes
 * arrive: once something was received, the next deadline comes an eighth of an interval
 * after the last tick ({@link RECEIVED_CHECK_FRACTION}), and the silence is timed from
 * that tick — at most an eighth of an interval after the last packet, so a dead peer is
 * found that much late at worst, and never probed early. That deadline stays put while
 * more bytes arrive (a driver re-arms no timer for them, and a bulk transfer wakes it eight
 * times an interval, not once per read), and an idle connection costs nothing but its one
 * interval-long timer.
 *
 * @example
 * ```ts
 * import { Keepalive } from "./keepalive.ts";
 * const k = new Keepalive(15_000, 3);
 * k.start(0);
 * console.log(k.tick(15_000)); // "send": nothing was received for an interval
 * k.onReceive(); // the answer: looked at an eighth of an interval after the last tick
 * console.log(k.deadline(), k.tick(16_875), k.deadline()); // 16875 "none" 31875
 * ```
 */
export class Keepalive {
  readonly intervalMs: number;
  readonly countMax: number;
  /** When the silence being timed began (start, the tick after a packet, the last probe); NaN until started. */
  #since = NaN;
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

  /**
   * The next deadline, or undefined when disabled or not started. After something was
   * received it is an eighth of an interval after the last tick: the tick then starts the
   * silence's clock again.
   */
  deadline(): number | undefined {
    if (this.intervalMs <= 0 || Number.isNaN(this.#since)) return undefined;
    return this.#since +
      (this.#received ? this.intervalMs * RECEIVED_CHECK_FRACTION : this.intervalMs);
  }

  /** Starts the clock (after authentication). */
  start(now: number): void {
    if (this.intervalMs > 0 && Number.isNaN(this.#since)) this.#since = now;
  }

  /** Call at or after the deadline (any other time is harmless). */
  tick(now: number): KeepaliveAction {
    if (this.intervalMs <= 0 || Number.isNaN(this.#since)) return "none";
    if (this.#received) {
      // Something arrived since the last tick: the peer is alive, time the silence from now.
      this.#received = false;
      this.#missed = 0;
      this.#since = now;
      return "none";
    }
    if (now < this.#since + this.intervalMs) return "none";
    this.#since = now;
    return ++this.#missed > this.countMax ? "dead" : "send";
  }
}
