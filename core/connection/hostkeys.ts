/**
 * Host key rotation (OpenSSH PROTOCOL §2.5): after login the server announces
 * every host key it holds in `hostkeys-00@openssh.com`; the client asks it to
 * prove possession of the keys it did not see during key exchange with
 * `hostkeys-prove-00@openssh.com`, and only proven keys are reported.
 *
 * Each proof is a signature over
 * `string "hostkeys-prove-00@openssh.com" || string session_id || string key_blob`.
 *
 * @module
 */

import { parsePublicKeyBlob } from "../publickey/blob.ts";
import { verifySignature } from "../publickey/verify.ts";
import { equalBytes, SSHReader, SSHWriter } from "../wire.ts";
import { MAX_ANNOUNCED_HOST_KEYS, MAX_KEY_BLOB, MAX_NAME } from "../limits.ts";

/** Name of the server's announcement. */
export const HOSTKEYS_REQUEST = "hostkeys-00@openssh.com";
/** Name of the client's request for proofs. */
export const HOSTKEYS_PROVE_REQUEST = "hostkeys-prove-00@openssh.com";
export { MAX_ANNOUNCED_HOST_KEYS };
/** RSA signature algorithms OpenSSH trusts for a proof when kex did not use RSA. */
const PROOF_RSA_ALGORITHMS = ["rsa-sha2-512", "rsa-sha2-256"];

/** A host key the server proved it holds. */
export interface ProvenHostKey {
  /** Key type from the blob, e.g. "ssh-ed25519". */
  readonly keyType: string;
  /** The public key blob. */
  readonly keyBlob: Uint8Array;
}

/**
 * Decodes the key blobs of a `hostkeys-00@openssh.com` announcement (a sequence
 * of strings). Throws WireError when malformed; extra keys past
 * {@link MAX_ANNOUNCED_HOST_KEYS} are ignored.
 *
 * @example
 * ```ts
 * import { decodeHostKeysAnnouncement, encodeHostKeyList } from "./hostkeys.ts";
 * const blobs = decodeHostKeysAnnouncement(encodeHostKeyList([new Uint8Array([1, 2])]));
 * console.log(blobs.length); // 1
 * ```
 */
export function decodeHostKeysAnnouncement(data: Uint8Array): Uint8Array[] {
  const r = new SSHReader(data);
  const out: Uint8Array[] = [];
  while (r.remaining > 0 && out.length < MAX_ANNOUNCED_HOST_KEYS) {
    out.push(r.readString("host key", MAX_KEY_BLOB).slice());
  }
  return out;
}

/**
 * Encodes key blobs as a sequence of strings: the data of both `hostkeys-00`
 * and `hostkeys-prove-00`.
 *
 * @example
 * ```ts
 * import { encodeHostKeyList } from "./hostkeys.ts";
 * console.log(encodeHostKeyList([new Uint8Array([9])]).length); // 5
 * ```
 */
export function encodeHostKeyList(blobs: readonly Uint8Array[]): Uint8Array {
  const w = new SSHWriter(64);
  for (const b of blobs) w.writeString(b);
  return w.toBytes();
}

/**
 * The bytes a server signs to prove it holds `keyBlob`.
 *
 * @example
 * ```ts
 * import { hostKeyProofData } from "./hostkeys.ts";
 * const data = hostKeyProofData(new Uint8Array(32), new Uint8Array([1]));
 * console.log(data.length); // 4 + 29 + 4 + 32 + 4 + 1
 * ```
 */
export function hostKeyProofData(sessionId: Uint8Array, keyBlob: Uint8Array): Uint8Array {
  return new SSHWriter(128 + keyBlob.length).writeStringUtf8(HOSTKEYS_PROVE_REQUEST)
    .writeString(sessionId).writeString(keyBlob).toBytes();
}

/**
 * Picks the keys worth proving from an announcement: parseable, of a type we
 * support, not the key already verified in key exchange, no duplicates.
 *
 * @example
 * ```ts
 * import { keysToProve } from "./hostkeys.ts";
 * console.log(keysToProve([new Uint8Array([0])], null).length); // 0: unparseable
 * ```
 */
export function keysToProve(
  announced: readonly Uint8Array[],
  kexHostKey: Uint8Array | null,
): ProvenHostKey[] {
  const out: ProvenHostKey[] = [];
  for (const blob of announced) {
    if (kexHostKey && equalBytes(blob, kexHostKey)) continue;
    if (out.some((k) => equalBytes(k.keyBlob, blob))) continue;
    try {
      out.push({ keyType: parsePublicKeyBlob(blob).algorithm, keyBlob: blob });
    } catch {
      // Unknown or malformed key types are skipped, as OpenSSH does.
    }
  }
  return out;
}

/** The outcome of checking a `hostkeys-prove-00` reply. */
export interface HostKeyProofResult {
  /** Keys whose proof verified. */
  readonly proven: ProvenHostKey[];
  /** Keys whose proof was missing, malformed or wrong, with why. */
  readonly failed: { readonly key: ProvenHostKey; readonly reason: string }[];
}

/**
 * Checks the signatures of a `hostkeys-prove-00` reply, in request order.
 * `kexHostKeyAlgorithm` is the host key algorithm negotiated in key exchange:
 * when it is an RSA one, RSA proofs must use it (as OpenSSH requires).
 * Never throws for bad peer input.
 *
 * @example
 * ```ts ignore
 * const { proven, failed } = verifyHostKeyProofs(sessionId, keys, replyData, "ssh-ed25519");
 * ```
 */
export function verifyHostKeyProofs(
  sessionId: Uint8Array,
  keys: readonly ProvenHostKey[],
  reply: Uint8Array,
  kexHostKeyAlgorithm: string | undefined,
): HostKeyProofResult {
  const proven: ProvenHostKey[] = [];
  const failed: { key: ProvenHostKey; reason: string }[] = [];
  const r = new SSHReader(reply);
  // A certificate algorithm signs as its plain counterpart.
  const kexAlg = kexHostKeyAlgorithm?.replace(/-cert-v01@openssh\.com$/, "");
  const rsaKex = kexAlg?.startsWith("rsa-sha2-") || kexAlg === "ssh-rsa" ? kexAlg : undefined;
  for (const key of keys) {
    let sig: Uint8Array;
    try {
      sig = r.readString("host key proof", MAX_KEY_BLOB);
    } catch {
      failed.push({ key, reason: "The server sent no proof for this key" });
      continue;
    }
    let reason = "The server's proof for this key does not verify";
    try {
      const parsed = parsePublicKeyBlob(key.keyBlob).key;
      const allowed = parsed.type === "rsa"
        ? (rsaKex ? [rsaKex] : PROOF_RSA_ALGORITHMS)
        : undefined;
      const sigAlg = new SSHReader(sig).readStringAscii("signature algorithm", MAX_NAME);
      if (allowed && !allowed.includes(sigAlg)) {
        // A server signs with ssh-rsa (SHA-1) when our KEXINIT listed no rsa-sha2-*.
        reason = `The server proved this key with ${sigAlg}, which is not trusted for proofs`;
      } else if (
        verifySignature(
          parsed,
          sig,
          hostKeyProofData(sessionId, key.keyBlob),
          allowed ? { allowedAlgorithms: allowed } : undefined,
        )
      ) {
        proven.push(key);
        continue;
      }
    } catch {
      // A malformed key or signature blob: not proven.
    }
    failed.push({ key, reason });
  }
  return { proven, failed };
}
