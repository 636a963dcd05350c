/**
 * `authorizedClientKeys` for `listen()`: an OpenSSH `authorized_keys` file,
 * its text, or a parsed list, per server or per user, and the permissions an
 * entry grants once a key from it logged in (`command`, `environment`,
 * `no-pty`, `no-port-forwarding`, `permitopen`, `permitlisten`, ...).
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import {
  type AuthorizedKeyEntry,
  type AuthorizedKeyOptions,
  type AuthorizedKeys,
  findAuthorizedKey,
  parseAuthorizedKeys,
  permitsListen,
  permitsOpen,
  type PermittedAddress,
} from "../keys/authorized_keys.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import { expandHome } from "./key_sources.ts";

/** One `authorized_keys` source: a file path, its text, or parsed entries. */
export type AuthorizedKeysInput = string | AuthorizedKeys | readonly AuthorizedKeyEntry[];

/** A source for every user, or a function giving each user's (undefined/null: none). */
export type AuthorizedKeysSource =
  | AuthorizedKeysInput
  | ((
    username: string,
  ) => AuthorizedKeysInput | null | undefined | Promise<AuthorizedKeysInput | null | undefined>);

/** Text rather than a path: several lines, or a line starting like a key or options. */
function looksLikeKeysText(s: string): boolean {
  return s.includes("\n") || /^\s*(#|ssh-|ecdsa-|sk-|rsa-sha2-|[a-z-]+(=|,| ))/.test(s) ||
    / AAAA/.test(s);
}

/**
 * Reads authorized keys from a path, text or parsed list. A missing file means
 * no keys (as sshd); other read errors throw.
 *
 * @example
 * ```ts ignore
 * const entries = await loadAuthorizedKeys("~/.ssh/authorized_keys");
 * ```
 */
export async function loadAuthorizedKeys(
  input: AuthorizedKeysInput,
): Promise<readonly AuthorizedKeyEntry[]> {
  if (typeof input !== "string") {
    return Array.isArray(input)
      ? input as readonly AuthorizedKeyEntry[]
      : (input as AuthorizedKeys).entries;
  }
  if (looksLikeKeysText(input)) return parseAuthorizedKeys(input).entries;
  let text: string;
  try {
    text = new TextDecoder().decode(await readFile(expandHome(input)));
  } catch (e) {
    if ((e as { code?: string }).code === "ENOENT") return [];
    throw e;
  }
  return parseAuthorizedKeys(text).entries;
}

/** Resolves a source for one user. */
export async function authorizedKeysFor(
  source: AuthorizedKeysSource,
  username: string,
): Promise<readonly AuthorizedKeyEntry[]> {
  const input = typeof source === "function" ? await source(username) : source;
  return input === null || input === undefined ? [] : loadAuthorizedKeys(input);
}

/**
 * The entry that authorizes `key` from this client address now, if any
 * (`from=` and `expiry-time` applied; cert-authority lines never match a plain key).
 */
export function matchAuthorizedKey(
  entries: readonly AuthorizedKeyEntry[],
  key: SSHKey,
  remoteAddress: string,
  now = Date.now(),
): AuthorizedKeyEntry | undefined {
  // No reverse DNS: `from=` host-name patterns are matched against the address, as sshd with UseDNS no.
  return findAuthorizedKey(entries, key, { host: remoteAddress, addr: remoteAddress, now });
}

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
  /** Allowed direct-tcpip destinations; empty = any. */
  readonly permitOpen: readonly PermittedAddress[];
  /** Allowed remote listen addresses; empty = any. */
  readonly permitListen: readonly PermittedAddress[];
  /** The options this came from, when a key entry or certificate set them. */
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
 * import { parseAuthorizedKeyOptions } from "../keys/authorized_keys.ts";
 * import { permissionsFromOptions } from "./server_auth_keys.ts";
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
  return p.options ? permitsOpen(p.options, host, port) : p.portForwarding;
}

/** Whether the permissions allow a remote listener on host:port. */
export function allowsListen(p: ConnectionPermissions, host: string, port: number): boolean {
  return p.options ? permitsListen(p.options, host, port) : p.portForwarding;
}
