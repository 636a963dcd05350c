/**
 * The server's half of host key rotation (OpenSSH PROTOCOL §2.5): after login
 * it announces every host key in `hostkeys-00@openssh.com`, and answers a
 * client's `hostkeys-prove-00@openssh.com` with a signature per key over
 * `string "hostkeys-prove-00@openssh.com" || string session_id || string key_blob`.
 *
 * @module
 */

import { equalBytes, SSHReader, SSHWriter } from "../wire.ts";

/** Name of the server's announcement. */
export const HOSTKEYS_REQUEST = "hostkeys-00@openssh.com";
/** Name of the client's request for proofs. */
export const HOSTKEYS_PROVE_REQUEST = "hostkeys-prove-00@openssh.com";
/** Most keys one proof request may name (a server holds a handful). */
const MAX_PROOF_KEYS = 64;

/** A host key that can prove itself (io's ServerHostKey has this shape). */
export interface ProvableHostKey {
  readonly hostKeyAlgorithms: readonly string[];
  readonly publicKeyBlob: Uint8Array;
  signSync(data: Uint8Array, algorithm: string): Uint8Array;
}

/**
 * The data of `hostkeys-00@openssh.com`: each distinct key blob as a string.
 *
 * @example
 * ```ts
 * import { encodeHostKeysAnnouncement } from "./host_key_proofs.ts";
 * console.log(encodeHostKeysAnnouncement([new Uint8Array([1]), new Uint8Array([1])]).length); // 5
 * ```
 */
export function encodeHostKeysAnnouncement(blobs: readonly Uint8Array[]): Uint8Array {
  const w = new SSHWriter(64);
  const seen: Uint8Array[] = [];
  for (const b of blobs) {
    if (seen.some((s) => equalBytes(s, b))) continue;
    seen.push(b);
    w.writeString(b);
  }
  return w.toBytes();
}

/**
 * The signatures answering a `hostkeys-prove-00@openssh.com` request, or
 * undefined (refuse) when it names a key we do not hold or is malformed. RSA
 * keys sign with the RSA algorithm of the key exchange when it used one (the
 * client insists on it), else rsa-sha2-512, as OpenSSH's sshd.
 *
 * @example
 * ```ts ignore
 * const reply = proveHostKeys(hostKeys, requestData, sessionId, "ssh-ed25519");
 * ```
 */
export function proveHostKeys(
  keys: readonly ProvableHostKey[],
  request: Uint8Array,
  sessionId: Uint8Array,
  kexHostKeyAlgorithm: string | undefined,
): Uint8Array | undefined {
  const out = new SSHWriter(512);
  try {
    const r = new SSHReader(request);
    for (let n = 0; r.remaining > 0; n++) {
      if (n >= MAX_PROOF_KEYS) return undefined;
      const blob = r.readString("host key", 16 * 1024);
      const key = keys.find((k) => equalBytes(k.publicKeyBlob, blob));
      if (!key) return undefined;
      const data = new SSHWriter(128 + blob.length).writeStringUtf8(HOSTKEYS_PROVE_REQUEST)
        .writeString(sessionId).writeString(blob).toBytes();
      out.writeString(key.signSync(data, proofAlgorithm(key, kexHostKeyAlgorithm)));
    }
  } catch {
    return undefined;
  }
  return out.toBytes();
}

function proofAlgorithm(key: ProvableHostKey, kexAlg: string | undefined): string {
  const algs = key.hostKeyAlgorithms;
  const isRsa = algs.some((a) => a.startsWith("rsa-sha2-") || a === "ssh-rsa");
  if (!isRsa) return algs[0]!;
  if (kexAlg && algs.includes(kexAlg)) return kexAlg;
  return algs.includes("rsa-sha2-512") ? "rsa-sha2-512" : algs[0]!;
}
