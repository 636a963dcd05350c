/**
 * Where keys come from in `io/`: key objects, key text, or files (with `~`
 * expanded), and the default locations under `~/.ssh`. The parsing itself lives
 * in `keys/`; this module only reads files.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { SSHError } from "../core/errors.ts";
import { importPrivateKey } from "../keys/import.ts";
import { matchKnownHosts, parseKnownHosts } from "../keys/known_hosts.ts";
import { SSHKey } from "../keys/ssh_key.ts";
import type { ClientKeyPair, HostKeyInfo } from "./client.ts";
import type { ServerHostKey } from "./server.ts";

/** A private key given as an object, key text, or a file path. */
export type PrivateKeyInput = SSHKey | string | Uint8Array;

/** Expands a leading `~` to the home directory. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

function looksLikeKeyText(s: string): boolean {
  return s.includes("-----BEGIN ") || s.startsWith("PuTTY-User-Key-File") || s.includes("\n");
}

/**
 * Reads a private key from an object, text, bytes or a file.
 *
 * @example
 * ```ts ignore
 * const key = await readPrivateKey("~/.ssh/id_ed25519");
 * ```
 */
export async function readPrivateKey(input: PrivateKeyInput, passphrase?: string): Promise<SSHKey> {
  if (input instanceof SSHKey) return input;
  if (input instanceof Uint8Array) return importPrivateKey(input, passphrase);
  if (looksLikeKeyText(input)) return importPrivateKey(input, passphrase);
  const path = expandHome(input);
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new SSHError(
      "ERR_KEY_IMPORT",
      `Cannot read private key file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return importPrivateKey(data, passphrase);
}

/** Turns an SSHKey with its private part into the client's signing interface. */
export function clientKeyFromSSHKey(key: SSHKey): ClientKeyPair {
  if (!key.hasPrivateKey()) {
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `Key ${key.getFingerprint()} has no private part to sign with`,
    );
  }
  return {
    keyType: key.getAlgorithm(),
    publicKeyBlob: key.publicBlob,
    sign: (data, algorithm) => key.sign(data, algorithm),
  };
}

/** Turns an SSHKey with its private part into a server host key. */
export function hostKeyFromSSHKey(key: SSHKey): ServerHostKey {
  if (!key.hasPrivateKey()) {
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `Host key ${key.getFingerprint()} has no private part`,
    );
  }
  return {
    hostKeyAlgorithms: key.getSigAlgorithms(),
    publicKeyBlob: key.publicBlob,
    signSync: (data, algorithm) => key.sign(data, algorithm),
  };
}

/** Default identity files, in OpenSSH's order. */
export const DEFAULT_IDENTITY_FILES = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"];

/** Loads the default keys that exist and need no passphrase; others are skipped. */
export async function loadDefaultClientKeys(): Promise<ClientKeyPair[]> {
  const out: ClientKeyPair[] = [];
  for (const f of DEFAULT_IDENTITY_FILES) {
    try {
      out.push(clientKeyFromSSHKey(await readPrivateKey(f)));
    } catch {
      // Missing or encrypted: as ssh without an agent, skip it.
    }
  }
  return out;
}

/** Default known_hosts files, in OpenSSH's order. */
export const DEFAULT_KNOWN_HOSTS_FILES = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"];

/**
 * Builds a host key verifier from known_hosts text (or files). Unknown or revoked
 * keys are refused with a message saying how to trust the key.
 */
export async function knownHostsVerifier(
  source: { files: readonly string[] } | { text: string },
): Promise<(info: HostKeyInfo & { address?: string | undefined }) => boolean> {
  let text = "";
  if ("text" in source) text = source.text;
  else {
    for (const f of source.files) {
      try {
        text += new TextDecoder().decode(await readFile(expandHome(f))) + "\n";
      } catch { /* a missing file trusts nothing */ }
    }
  }
  const kh = parseKnownHosts(text);
  return (info) => {
    const key = SSHKey.fromPublicBlob(info.keyBlob);
    const m = matchKnownHosts(kh, info.host, info.address, info.port);
    if (m.revokedKeys.some((k) => k.equals(key))) {
      throw new SSHError(
        "ERR_HOST_KEY_NOT_VERIFIABLE",
        `Host key ${key.getFingerprint()} is revoked in known_hosts`,
      );
    }
    if (m.trustedHostKeys.some((k) => k.equals(key))) return true;
    throw new SSHError(
      "ERR_HOST_KEY_NOT_VERIFIABLE",
      `Host key for ${info.port === 22 ? info.host : `[${info.host}]:${info.port}`} is not known ` +
        `(${key.getAlgorithm()} ${key.getFingerprint()}); add it to known_hosts or pass hostKeyVerifier`,
    );
  };
}
