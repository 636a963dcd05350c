/**
 * Host keys for `listen()`: key objects, key text or file paths in, signers by
 * host key algorithm out. One RSA key serves rsa-sha2-512, rsa-sha2-256 and
 * (if enabled) ssh-rsa; several keys of different types are served at once and
 * the client picks.
 *
 * @module
 */

import { statSync } from "node:fs";
import process from "node:process";
import { SSHError } from "../../core/errors.ts";
import { expandHome } from "../runtime/env.ts";
import type { HostKeySigner } from "../../core/kex/types.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { readPrivateKey } from "../keys/files.ts";
import { hostKeyFromSSHKey } from "../keys/signers.ts";
import type { ServerHostKey } from "../keys/types.ts";

/** A host key as `listen()` takes it: an object, OpenSSH/PEM key text or bytes, or a file path. */
export type HostKeyInput = ServerHostKey | SSHKey | string | Uint8Array;

function isServerHostKey(k: unknown): k is ServerHostKey {
  return typeof k === "object" && k !== null && "signSync" in k && "hostKeyAlgorithms" in k &&
    "publicKeyBlob" in k;
}

/**
 * Loads host keys from objects, text or files (`~` expands). Throws SSHError
 * naming the key that failed.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { resolveHostKeys } from "./host_keys.ts";
 * // Paths ("/etc/ssh/ssh_host_ed25519_key"), key text, bytes, SSHKeys or ready host keys.
 * const keys = await resolveHostKeys([generatePrivateKey("ed25519"), generatePrivateKey("ecdsa-sha2-nistp256")]);
 * console.log(keys.length); // 2
 * ```
 */
export async function resolveHostKeys(
  inputs: readonly HostKeyInput[],
  passphrase?: string,
  warn?: (message: string) => void,
): Promise<ServerHostKey[]> {
  if (inputs.length === 0) {
    throw new SSHError("ERR_LOCAL_PROTOCOL", "listen() needs at least one host key");
  }
  const out: ServerHostKey[] = [];
  for (const input of inputs) {
    if (isServerHostKey(input)) {
      out.push(input);
      continue;
    }
    const key = input instanceof SSHKey ? input : await readPrivateKey(input, passphrase);
    if (typeof input === "string" && warn) warnIfExposed(input, warn);
    out.push(hostKeyFromSSHKey(key));
  }
  return out;
}

/**
 * The signer for each host key algorithm, first key wins. Only `allowed`
 * algorithms are included (so `ssh-rsa` stays off unless asked for).
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { hostKeySigners, resolveHostKeys } from "./host_keys.ts";
 * const keys = await resolveHostKeys([generatePrivateKey("ed25519")]);
 * const signers = hostKeySigners(keys, ["ssh-ed25519", "rsa-sha2-512"]);
 * console.log([...signers.keys()]); // ["ssh-ed25519"]
 * ```
 */
export function hostKeySigners(
  keys: readonly ServerHostKey[],
  allowed: readonly string[],
): Map<string, HostKeySigner> {
  const map = new Map<string, HostKeySigner>();
  for (const alg of allowed) {
    const k = keys.find((k) => k.hostKeyAlgorithms.includes(alg));
    if (k) map.set(alg, { publicKeyBlob: k.publicKeyBlob, sign: (data) => k.signSync(data, alg) });
  }
  if (map.size === 0) {
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `None of the host keys serves an enabled host key algorithm (${allowed.join(", ")})`,
    );
  }
  return map;
}

/**
 * Warns when a host key file others may read (sshd refuses such a key: "UNPROTECTED PRIVATE
 * KEY FILE"); a library serves it, saying so. `input` that is key text, not a path, has no
 * file to check; neither has a system without POSIX modes.
 */
function warnIfExposed(input: string, warn: (message: string) => void): void {
  if (input.includes("\n") || input.startsWith("-----")) return;
  try {
    const st = statSync(expandHome(input));
    if (process.platform !== "win32" && (st.mode & 0o077) !== 0) {
      warn(
        `host key file ${input} is readable by others (mode ${
          (st.mode & 0o777).toString(8)
        }): sshd would refuse it; chmod 600 it`,
      );
    }
  } catch { /* read above already; a stat that fails now says nothing worth a warning */ }
}
