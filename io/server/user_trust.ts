/**
 * sshd's server-wide user trust settings for `listen()`: `trustedUserCAKeys`
 * (TrustedUserCAKeys), `authorizedPrincipals` (AuthorizedPrincipalsFile, or a
 * function as AuthorizedPrincipalsCommand) and `revokedKeys` (RevokedKeys),
 * loaded from key objects, key text or files. Files are read again for each
 * connection, as sshd reads them for each login, so an edit (a newly revoked
 * key) takes effect without restarting the server.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { SSHError } from "../../core/errors.ts";
import {
  type AuthorizedPrincipalEntry,
  parseAuthorizedPrincipals,
} from "../../keys/trust/authorized_principals.ts";
import { KeyImportError } from "../../keys/errors.ts";
import { isKRL } from "../../keys/trust/krl.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { leavesDirectory } from "../keys/authorized_keys.ts";
import { loadPublicKeys, type PublicKeyInput } from "../keys/files.ts";
import { expandHome, localTimeZoneOffset } from "../runtime/env.ts";
import { readTrustFile } from "../keys/trust_file.ts";
import type { ServerConnectionContext } from "./context.ts";

/**
 * The largest authorized principals file read (1 MiB): it lists names, and a
 * user's own file must not make each login attempt hold what it likes in memory.
 */
export const PRINCIPALS_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Public keys for `listen({ trustedUserCAKeys })`:
 * one file path or key text, or a list of key objects, key texts (OpenSSH
 * `.pub` lines, RFC 4716, PEM), wire blobs and file paths, as `loadPublicKeys()`
 * reads them. Every key of a file counts; blank lines and `#` comments are skipped.
 */
export type PublicKeysSource = string | readonly PublicKeyInput[];

/**
 * The principals a user accepts from `trustedUserCAKeys`, for `listen({
 * authorizedPrincipals })`: a file path pattern (sshd's
 * AuthorizedPrincipalsFile; `%u` is the user name, `%%` a `%`) whose lines are
 * principals, each optionally after authorized_keys options; or a function of
 * the user (sshd's AuthorizedPrincipalsCommand) returning the principals, or
 * null/undefined for the default, the user name.
 */
export type AuthorizedPrincipalsSource =
  | string
  | ((
    username: string,
    conn: ServerConnectionContext,
  ) =>
    | readonly string[]
    | null
    | undefined
    | Promise<readonly string[] | null | undefined>);

/**
 * Loads a {@link PublicKeysSource}. A file that cannot be read, or any entry
 * that is not a public key, throws a `KeyImportError` (ERR_KEY_IMPORT) naming
 * it; so does a binary OpenSSH KRL, which lists revoked keys, not keys to trust
 * (revoked keys load with `loadRevokedKeys()`).
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { loadPublicKeysSource } from "./user_trust.ts";
 * const ca = generatePrivateKey("ed25519");
 * const keys = await loadPublicKeysSource(`# our CA\n${ca.exportPublicKey()}`);
 * console.log(keys.length); // 1
 * ```
 */
export async function loadPublicKeysSource(
  source: PublicKeysSource,
  what = "public keys",
): Promise<SSHKey[]> {
  try {
    return await loadPublicKeys(source);
  } catch (e) {
    const list = typeof source === "string" ? [source] : source;
    for (const s of list) {
      if (typeof s !== "string" || s.includes("\n")) continue;
      let head: Uint8Array;
      try {
        head = await readFile(expandHome(s));
      } catch {
        continue;
      }
      if (isKRL(head)) {
        throw new KeyImportError(
          `Cannot load ${what} from ${s}: it is a binary OpenSSH key revocation list (KRL), ` +
            "not a list of public keys",
          { cause: e },
        );
      }
    }
    throw new KeyImportError(`Cannot load ${what}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The file an `authorizedPrincipals` path pattern names for `username`: `%u`
 * is the user name, `%%` a `%`, `~` the server's home. Any other `%` escape
 * throws an `SSHError` (ERR_LOCAL_PROTOCOL), as sshd refuses it.
 *
 * @example
 * ```ts
 * import { principalsPath } from "./user_trust.ts";
 * console.log(principalsPath("/etc/ssh/principals/%u", "alice")); // "/etc/ssh/principals/alice"
 * ```
 */
export function principalsPath(pattern: string, username: string): string {
  const path = pattern.replace(/%(.?)/g, (all, c: string) => {
    if (c === "u") return username;
    if (c === "%") return "%";
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `authorizedPrincipals path "${pattern}" has an unknown escape '${all}' (only %u and %% are known)`,
    );
  });
  return expandHome(path);
}

/**
 * The principals `source` accepts for `username`, or undefined for the default
 * (the user name). A principals file that is missing or unreadable accepts
 * nobody, as sshd's; so does one that is not a regular file (a FIFO, /dev/zero:
 * it is opened without blocking and checked, as sshd's auth_openfile) or is
 * larger than {@link PRINCIPALS_FILE_MAX_BYTES}. Its bad lines are skipped (see
 * `parseAuthorizedPrincipals()`).
 * The user name comes from the client: one that could leave the pattern's
 * directory (empty, `.`, `..`, or holding `/`, `\` or NUL) accepts nobody.
 *
 * @example
 * ```ts
 * import { authorizedPrincipalsFor } from "./user_trust.ts";
 * const conn = {} as Parameters<typeof authorizedPrincipalsFor>[2];
 * console.log(await authorizedPrincipalsFor(() => ["ops"], "alice", conn)); // ["ops"]
 * ```
 */
export async function authorizedPrincipalsFor(
  source: AuthorizedPrincipalsSource,
  username: string,
  conn: ServerConnectionContext,
): Promise<readonly (string | AuthorizedPrincipalEntry)[] | undefined> {
  if (typeof source === "function") {
    const list = await source(username, conn);
    if (list === null || list === undefined) return undefined;
    if (!Array.isArray(list) || list.some((p) => typeof p !== "string")) {
      throw new SSHError(
        "ERR_LOCAL_PROTOCOL",
        "authorizedPrincipals must return a list of principal names, null or undefined",
      );
    }
    return list;
  }
  if (leavesDirectory(username)) return [];
  let text: string;
  try {
    const path = principalsPath(source, username);
    text = new TextDecoder().decode(
      await readTrustFile(path, { maxBytes: PRINCIPALS_FILE_MAX_BYTES }),
    );
  } catch {
    return [];
  }
  return parseAuthorizedPrincipals(text, { timeZone: localTimeZoneOffset }).entries;
}
