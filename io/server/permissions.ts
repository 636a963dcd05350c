/**
 * What an authenticated connection may do: the permissions an authorized_keys
 * entry (or a certificate) grants once a key from it logged in (`command`,
 * `environment`, `no-pty`, `no-port-forwarding`, `permitopen`, `permitlisten`, ...).
 *
 * @module
 */

import {
  type AuthorizedKeyOptions,
  permitsListen,
  permitsOpen,
  permitsStreamlocalOpen,
  type PermittedAddress,
} from "../../keys/trust/authorized_keys.ts";

/** What an authenticated connection may do (the options of the key that logged in). */
export interface ConnectionPermissions {
  /** Forced command (authorized_keys `command=`, or a certificate's force-command). */
  readonly forcedCommand: string | undefined;
  /** Variables set in every session (`environment=`). */
  readonly environment: readonly { readonly name: string; readonly value: string }[];
  /** May the client have a pty (`no-pty` turns it off). */
  readonly pty: boolean;
  /** May the client forward ports and sockets. */
  readonly portForwarding: boolean;
  /** May the client forward its agent. */
  readonly agentForwarding: boolean;
  /** May the client forward X11. */
  readonly x11Forwarding: boolean;
  /**
   * Allowed direct-tcpip destinations; empty = any. Once non-empty it holds UNIX
   * sockets (direct-streamlocal) to entries `"[path]:*"` and `"*:*"`, as sshd.
   */
  readonly permitOpen: readonly PermittedAddress[];
  /** Allowed remote listen addresses; empty = any. */
  readonly permitListen: readonly PermittedAddress[];
  /**
   * The authorized_keys line's options this came from, when a line (a key's, or a
   * `cert-authority` one) let the user in; undefined otherwise. A certificate's own
   * restrictions (`force-command`, `no-pty`, …) are in the fields above either way, and the
   * certificate itself in the connection's `getExtraInfo().authKey`.
   */
  readonly options: AuthorizedKeyOptions | undefined;
}

/** Everything allowed: logins by password, keyboard-interactive, or a hook's say-so. */
export const UNRESTRICTED: ConnectionPermissions = Object.freeze({
  forcedCommand: undefined,
  environment: [],
  pty: true,
  portForwarding: true,
  agentForwarding: true,
  x11Forwarding: true,
  permitOpen: [],
  permitListen: [],
  options: undefined,
});

/**
 * The permissions granted by an authorized_keys entry's options.
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeyOptions } from "@sshts/ssh";
 * import { permissionsFromOptions } from "./permissions.ts";
 * const p = permissionsFromOptions(parseAuthorizedKeyOptions('no-pty,command="uptime"'));
 * console.log(p.pty, p.forcedCommand); // false "uptime"
 * ```
 */
export function permissionsFromOptions(o: AuthorizedKeyOptions): ConnectionPermissions {
  return {
    forcedCommand: o.command,
    environment: o.environment,
    pty: o.pty,
    portForwarding: o.portForwarding,
    agentForwarding: o.agentForwarding,
    x11Forwarding: o.x11Forwarding,
    permitOpen: o.permitOpen,
    permitListen: o.permitListen,
    options: o,
  };
}

/** Whether the permissions allow a direct-tcpip channel to host:port. */
export function allowsOpen(p: ConnectionPermissions, host: string, port: number): boolean {
  return p.portForwarding && (!p.options || permitsOpen(p.options, host, port));
}

/**
 * Whether the permissions allow a direct-streamlocal@openssh.com channel to the UNIX
 * socket `path`: port forwarding on, and no `permitopen` list or one naming the path
 * (`"[path]:*"`) or `"*:*"` — a key held to `permitopen="db:5432"` opens no socket.
 *
 * @example
 * ```ts
 * import { parseAuthorizedKeyOptions } from "@sshts/ssh";
 * import { allowsStreamlocalOpen, permissionsFromOptions } from "./permissions.ts";
 * const p = permissionsFromOptions(parseAuthorizedKeyOptions('permitopen="db:5432"'));
 * console.log(allowsStreamlocalOpen(p, "/run/app.sock")); // false
 * ```
 */
export function allowsStreamlocalOpen(p: ConnectionPermissions, path: string): boolean {
  return p.portForwarding && (!p.options || permitsStreamlocalOpen(p.options, path));
}

/** Whether the permissions allow a remote listener on host:port. */
export function allowsListen(p: ConnectionPermissions, host: string, port: number): boolean {
  return p.portForwarding && (!p.options || permitsListen(p.options, host, port));
}
