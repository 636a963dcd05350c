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
import { refuseOtherNames } from "../engine/option_names.ts";

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

/**
 * Names people reach for that `listen()` calls otherwise (other libraries' names, the
 * sshd_config word), each with ours: given, they would be ignored without a word, and the
 * server would start without what they meant (no way to log in, say).
 */
const OTHER_NAMES: Readonly<Record<string, string>> = {
  authorizedKeys: "authorizedClientKeys",
  authorizedKeysFile: "authorizedClientKeys",
  authorized_client_keys: "authorizedClientKeys",
  hostKey: "hostKeys",
  hostKeyFiles: "hostKeys",
  privateKey: "hostKeys",
  server_host_keys: "hostKeys",
  password: "validatePassword",
  passwords: "validatePassword",
  ident: "serverVersion",
  algorithms: "kexAlgs, encryptionAlgs, macAlgs and serverHostKeyAlgs",
  subsystems: "sftp (or processFactory for others)",
};

/**
 * Throws a TypeError for an option `listen()` has under another name (see OTHER_NAMES),
 * saying which; other names it does not know are left alone (an options object may carry
 * the application's own).
 *
 * @example
 * ```ts
 * import { checkListenNames } from "./option_checks.ts";
 * try {
 *   checkListenNames({ hostKeys: [], authorizedKeys: "~/.ssh/authorized_keys" } as never);
 * } catch (e) {
 *   console.log((e as Error).message); // listen(): no option authorizedKeys; it is authorizedClientKeys here
 * }
 * ```
 */
export function checkListenNames(o: ListenOptions): void {
  refuseOtherNames("listen", o, OTHER_NAMES);
}
