/**
 * The server's half of host key rotation (OpenSSH PROTOCOL §2.5): after login
 * it announces every host key in `hostkeys-00@openssh.com`, and answers a
 * client's `hostkeys-prove-00@openssh.com` with a signature per key over
 * `string "hostkeys-prove-00@openssh.com" || string session_id || string key_blob`.
 *
 * @module
 */

import type { HostKeySigner } from "../kex/types.ts";
import { equalBytes, SSHReader, SSHWriter } from "../wire.ts";
import { MAX_ANNOUNCED_HOST_KEYS as MAX_PROOF_KEYS, MAX_KEY_BLOB } from "../limits.ts";

/** Name of the server's announcement. */
export const HOSTKEYS_REQUEST = "hostkeys-00@openssh.com";
/** Name of the client's request for proofs. */
export const HOSTKEYS_PROVE_REQUEST = "hostkeys-prove-00@openssh.com";

/** Signers by host key algorithm, as the server engine holds them. */
export type HostKeySigners = ReadonlyMap<string, HostKeySigner>;

/**
 * The data of `hostkeys-00@openssh.com`: each distinct key blob as a string.
 *
 * @example
 * ```ts
 * import { encodeHostKeysAnnouncement } from "./host_key_proofs.ts";
 * const key = { publicKeyBlob: new Uint8Array([1]), sign: () => new Uint8Array(0) };
 * const signers = new Map([["rsa-sha2-512", key], ["rsa-sha2-256", key]]);
 * console.log(encodeHostKeysAnnouncement(signers).length); // 5: one key, once
 * ```
 */
export function encodeHostKeysAnnouncement(signers: HostKeySigners): Uint8Array {
  const w = new SSHWriter(64);
  for (const b of distinctBlobs(signers)) w.writeString(b);
  return w.toBytes();
}

function distinctBlobs(signers: HostKeySigners): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const s of signers.values()) {
    if (!out.some((b) => equalBytes(b, s.publicKeyBlob))) out.push(s.publicKeyBlob);
  }
  return out;
}

/**
 * The signatures answering a `hostkeys-prove-00@openssh.com` request, or
 * undefined (refuse) when it names a key we do not hold, names one twice, or is
 * malformed. A key
 * that serves the key exchange's algorithm signs with it (OpenSSH's client
 * insists for RSA); other RSA keys use rsa-sha2-512 when enabled.
 *
 * @example
 * ```ts ignore
 * const reply = proveHostKeys(signers, requestData, sessionId, "ssh-ed25519");
 * ```
 */
export function proveHostKeys(
  signers: HostKeySigners,
  request: Uint8Array,
  sessionId: Uint8Array,
  kexHostKeyAlgorithm: string | undefined,
): Uint8Array | undefined {
  const out = new SSHWriter(512);
  const proved: Uint8Array[] = [];
  try {
    const r = new SSHReader(request);
    for (let n = 0; r.remaining > 0; n++) {
      if (n >= MAX_PROOF_KEYS) return undefined;
      const blob = r.readString("host key", MAX_KEY_BLOB);
      // Each of our keys once: a request naming one key 64 times would buy 64 signatures
      // (RSA: seconds of one event loop every connection shares). OpenSSH never repeats.
      if (proved.some((b) => equalBytes(b, blob))) return undefined;
      proved.push(blob);
      const candidates = [...signers].filter(([, s]) => equalBytes(s.publicKeyBlob, blob));
      if (candidates.length === 0) return undefined;
      const [, signer] = candidates.find(([alg]) => alg === kexHostKeyAlgorithm) ??
        candidates.find(([alg]) => alg === "rsa-sha2-512") ?? candidates[0]!;
      const data = new SSHWriter(128 + blob.length).writeStringUtf8(HOSTKEYS_PROVE_REQUEST)
        .writeString(sessionId).writeString(blob).toBytes();
      out.writeString(signer.sign(data));
    }
  } catch {
    return undefined;
  }
  return out.toBytes();
}
