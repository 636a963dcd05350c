/**
 * OpenSSH's StrictHostKeyChecking over known_hosts files ("yes", "ask",
 * "accept-new", "no"), shared by ssh_config's host key check and connect()'s
 * `strictHostKeyChecking` option: what to do with a host key known_hosts does
 * not vouch for, and where a new host's key is recorded.
 *
 * @module
 */

import { appendFile, mkdir, open } from "node:fs/promises";
import { dirname } from "node:path";
import { formatKnownHostsLine, matchKnownHosts } from "../../keys/trust/known_hosts.ts";
import { hostKeyOf, type KnownHostsVerifier } from "../keys/known_hosts.ts";
import type { HostKeyInfo } from "../keys/types.ts";
import { expandHome } from "../runtime/env.ts";

/** What the host key check needs to reach: the connection being made. */
export interface HostKeyVerdict {
  /**
   * The connection (known before the key exchange: ssh_config's check notes it from
   * `connectionMade`, connect() as soon as it made it). When StrictHostKeyChecking=no lets a
   * changed key through it is marked untrusted (`markHostKeyUntrusted`): as ssh, it then
   * sends no password or keyboard-interactive answers, refuses agent and X11 channels and
   * sets up no configured forwards, since the server may be an impostor.
   */
  conn?: {
    markHostKeyUntrusted(): void;
    readonly logger: { warn(message: string): void };
  };
}

/** How {@link hostKeyPolicy} treats keys that known_hosts does not vouch for. */
export interface HostKeyPolicy {
  /** StrictHostKeyChecking: "yes" and "ask" (we never prompt) refuse them. */
  readonly mode: "yes" | "ask" | "accept-new" | "no";
  /**
   * The known_hosts file a new host's key is appended to (ssh's first UserKnownHostsFile;
   * `~` expands); undefined: none (the key is accepted, not recorded).
   */
  readonly learnInto: string | undefined;
  /** Hash the host name of a recorded line (HashKnownHosts). */
  readonly hashed: boolean;
  /** HostKeyAlias: the name looked up and recorded instead of the host's (port 22). */
  readonly alias?: string | undefined;
  /** The server's address to check as well (CheckHostIP), or undefined. */
  readonly address: (info: HostKeyInfo) => string | undefined;
}

/** The values connect()'s `strictHostKeyChecking` takes. */
const STRICT_VALUES = ["yes", "accept-new", "no"];

/**
 * Refuses `strictHostKeyChecking` and `hashKnownHosts` values connect() cannot honour, with a
 * TypeError: an unknown value; either with `hostKeyVerifier` (which decides instead);
 * `strictHostKeyChecking` with `knownHosts: null` (nothing to check against); "accept-new" or
 * "no" with a `knownHosts` that names no file to record a new host's key in (`{ text }`, a
 * parsed `KnownHosts`, key lists, an empty list): accepting a new key that is never recorded
 * would trust any key on every connection, never on first use only.
 *
 * @example
 * ```ts ignore
 * checkHostKeyPolicyOptions({ strictHostKeyChecking: "accept-new", knownHosts: "./known_hosts" });
 * ```
 */
export function checkHostKeyPolicyOptions(options: {
  readonly strictHostKeyChecking?: unknown;
  readonly hashKnownHosts?: unknown;
  readonly hostKeyVerifier?: unknown;
  readonly knownHosts?: unknown;
}): void {
  const strict = options.strictHostKeyChecking;
  if (strict !== undefined && !STRICT_VALUES.includes(strict as string)) {
    throw new TypeError(
      `connect(): strictHostKeyChecking must be "yes", "accept-new" or "no", not ${
        typeof strict === "string" ? JSON.stringify(strict) : String(strict)
      }`,
    );
  }
  const hash = options.hashKnownHosts;
  if (hash !== undefined && typeof hash !== "boolean") {
    throw new TypeError(`connect(): hashKnownHosts must be a boolean, not ${String(hash)}`);
  }
  if (strict === undefined && hash === undefined) return;
  if (options.hostKeyVerifier !== undefined) {
    throw new TypeError(
      `connect(): ${
        strict !== undefined ? "strictHostKeyChecking" : "hashKnownHosts"
      } cannot be combined with hostKeyVerifier (which decides on host keys itself)`,
    );
  }
  if (strict === undefined) return;
  const kh = options.knownHosts;
  if (kh === null) {
    throw new TypeError(
      "connect(): strictHostKeyChecking cannot be combined with knownHosts: null (which " +
        "trusts every host key)",
    );
  }
  const noFile = kh !== undefined && typeof kh !== "string" &&
    (!Array.isArray(kh) || kh.length === 0);
  if (noFile && strict !== "yes") {
    throw new TypeError(
      `connect(): strictHostKeyChecking "${strict}" records new host keys in the first ` +
        "known_hosts file, so knownHosts must be a file path or a list of them (or left to " +
        "its default ~/.ssh/known_hosts), not " +
        (Array.isArray(kh) ? "an empty list" : "text, a parsed KnownHosts or key lists"),
    );
  }
}

/**
 * The host key check of StrictHostKeyChecking over the known_hosts `kh` reads, with
 * HostKeyAlias, CheckHostIP and HashKnownHosts: "yes" and "ask" (we never prompt) refuse
 * unknown keys; "accept-new" records an unknown host's key and refuses a changed one; "no"
 * records unknown keys and accepts changed ones (marking the connection untrusted). A revoked
 * key (listed under the name or the address, or a certificate whose CA is revoked) is refused
 * in every mode; a host that known_hosts lists only in `@revoked` lines is new, as ssh reads
 * it. A known_hosts file that cannot be written only warns (the connection's logger), as ssh.
 *
 * @example
 * ```ts ignore
 * const verify = hostKeyPolicy(await knownHostsVerifier({ files }), {
 *   mode: "accept-new", learnInto: files[0], hashed: false, address: (i) => i.address,
 * }, verdict);
 * ```
 */
export function hostKeyPolicy(
  kh: KnownHostsVerifier,
  policy: HostKeyPolicy,
  verdict: HostKeyVerdict,
): (info: HostKeyInfo) => Promise<boolean> {
  const { mode, alias, learnInto, hashed } = policy;
  return async (info) => {
    const check = {
      ...info,
      host: alias ?? info.host,
      port: alias !== undefined ? 22 : info.port,
      address: alias === undefined ? policy.address(info) : undefined,
    };
    try {
      return kh(check);
    } catch (e) {
      const { key, signer } = hostKeyOf(info.keyBlob);
      const m = matchKnownHosts(kh.knownHosts, check.host, undefined, check.port);
      const byAddress = check.address !== undefined
        ? matchKnownHosts(kh.knownHosts, check.address, undefined, check.port)
        : undefined;
      // As ssh: @revoked lines make no host known (its lookup skips marked lines when it
      // tells a changed key from a new host); one revoking this key is refused below.
      const known = m.trustedHostKeys.length > 0;
      // Off port 22 the check falls back to the bare name (as ssh): its @revoked lines (and the
      // address's) refuse the key on this port too, in every mode.
      const bare = check.port !== 22
        ? [
          ...matchKnownHosts(kh.knownHosts, check.host, undefined, 22).revokedKeys,
          ...(check.address !== undefined
            ? matchKnownHosts(kh.knownHosts, check.address, undefined, 22).revokedKeys
            : []),
        ]
        : [];
      const revoked = [...m.revokedKeys, ...(byAddress?.revokedKeys ?? []), ...bare].some((k) =>
        k.equals(key) || (signer !== undefined && k.equals(signer))
      );
      if (revoked || mode === "yes" || mode === "ask" || (known && mode === "accept-new")) throw e;
      // CheckHostIP: the address lists another key of this type. Only "no" goes on (as ssh,
      // which exits for any stricter mode): accept-new must not learn the name over it.
      const addressDiffers = byAddress?.trustedHostKeys.some((k) =>
        k.getAlgorithm() === key.getAlgorithm() && !k.equals(key)
      ) ?? false;
      if (addressDiffers && mode !== "no") {
        throw e;
      }
      if (known) {
        // No connection to mark is never the case (it is noted before the key exchange);
        // were it, the key would be refused rather than let through unmarked.
        if (verdict.conn === undefined) {
          throw e;
        }
        verdict.conn.markHostKeyUntrusted();
        verdict.conn.logger.warn(
          `${(e as Error).message}; StrictHostKeyChecking=no lets it through as untrusted: ` +
            "password and keyboard-interactive authentication, agent and X11 forwarding are off",
        );
      }
      if (learnInto !== undefined && !known) {
        // A name with pattern characters would be written as a pattern, trusting the key
        // for every host it matches ("*": all of them): never learned, as ssh refuses to
        // record such a name, and the connection is refused as for an unknown key.
        if (/[@?*#[\]|'"\\!]/.test(check.host)) {
          throw e;
        }
        const line = formatKnownHostsLine(check.host, check.port, key, { hashed });
        try {
          const file = expandHome(learnInto);
          await mkdir(dirname(file), { recursive: true, mode: 0o700 });
          // A file whose last line has no newline would have the new line joined to it,
          // losing both: end it first (in the same append).
          await appendFile(file, (await endsWithoutNewline(file) ? "\n" : "") + line, {
            mode: 0o600,
          });
        } catch (err) {
          // As ssh ("Failed to add the host to the list of known hosts"): the key was accepted,
          // only not remembered; the connection goes on.
          verdict.conn?.logger.warn(
            `Failed to add the host to the list of known hosts (${learnInto}): ${
              err instanceof Error ? err.message : String(err)
            }`,
          );
        }
      }
      return true;
    }
  };
}

/** Whether `file` exists, is not empty, and its last byte is no newline. */
async function endsWithoutNewline(file: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(file, "r");
  } catch {
    return false;
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return false;
    const last = new Uint8Array(1);
    await fh.read(last, 0, 1, size - 1);
    return last[0] !== 0x0a;
  } finally {
    await fh.close();
  }
}
