/**
 * The numbers `listen()` and `serve()` take, checked once when the server starts: a bad one
 * would otherwise fail every connection (the engine refuses it as each one starts, and the
 * client sees a connection closed before the SSH version) or quietly mean something else (a
 * NaN login grace time or failure delay, a negative session limit).
 *
 * @module
 */

import {
  checkConnectionNumbers,
  checkDuration,
  checkInteger,
} from "../../core/engine/option_checks.ts";
import type { ListenOptions } from "./options.ts";

/** The counts `listen()` takes, with the smallest value each may have. */
const COUNTS = [
  ["maxAuthTries", 0],
  ["maxSessions", 0],
  ["maxFileSessions", 0],
  ["maxOpenFilesPerConnection", 0],
  ["maxRemoteForwards", 0],
  ["lineHistorySize", 0],
  ["maxLineLength", 1],
  ["backlog", 0],
] as const;

/**
 * Throws a RangeError naming the first option of `o` that is out of range.
 *
 * @example
 * ```ts
 * import { checkListenNumbers } from "./option_checks.ts";
 * checkListenNumbers({ hostKeys: [], maxSessions: 32 }); // fine
 * try {
 *   checkListenNumbers({ hostKeys: [], loginTimeout: NaN });
 * } catch (e) {
 *   console.log((e as Error).message); // loginTimeout must be 0 (none) or a positive number of ms, not NaN
 * }
 * ```
 */
export function checkListenNumbers(o: ListenOptions): void {
  // The port is listenTcp()'s: a RangeError with node:net's code on every runtime.
  checkConnectionNumbers(o);
  if (o.loginTimeout !== undefined) checkDuration(o.loginTimeout, "loginTimeout");
  if (o.authFailureDelay !== undefined) checkDuration(o.authFailureDelay, "authFailureDelay");
  for (const [name, min] of COUNTS) {
    const v = o[name];
    if (v !== undefined) checkInteger(v, name, min);
  }
  if (o.maxConnections !== undefined && o.maxConnections !== Infinity) {
    checkInteger(o.maxConnections, "maxConnections", 0);
  }
  const s = o.maxStartups;
  if (typeof s === "number") checkInteger(s, "maxStartups", 0);
  else if (s !== undefined) {
    checkInteger(s.start, "maxStartups.start", 0);
    checkInteger(s.rate, "maxStartups.rate", 0, 100);
    checkInteger(s.full, "maxStartups.full", s.start);
  }
}
