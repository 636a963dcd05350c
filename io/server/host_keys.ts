/**
 * Host keys for `listen()`: key objects, key text or file paths in, signers by
 * host key algorithm out. One RSA key serves rsa-sha2-512, rsa-sha2-256 and
 * (if enabled) ssh-rsa; several keys of different types are served at once and
 * the client picks.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
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
