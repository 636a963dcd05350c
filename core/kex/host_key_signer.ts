/**
 * A {@link HostKeySigner} from a private key held in memory: what a server passes
 * to `createServer` when it signs with its own key (an agent- or HSM-backed signer
 * implements the same two members).
 *
 * @module
 */

import { encodePublicKeyBlob } from "../publickey/blob.ts";
import { signData } from "../publickey/sign.ts";
import type { KeyMaterial } from "../publickey/types.ts";
import type { RandomSource } from "../random.ts";
import type { HostKeySigner } from "./types.ts";

/**
 * Wraps a private key as a host key signer for the negotiated `algorithm`
 * (e.g. "rsa-sha2-512" for an RSA key). `random` feeds RSA blinding.
 *
 * @example
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { createHostKeySigner } from "@sshts/ssh/core";
 * const seed = new Uint8Array(32).fill(1);
 * const signer = createHostKeySigner(
 *   { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed }, "ssh-ed25519");
 * console.log(signer.publicKeyBlob.length, signer.sign(new Uint8Array(32)).length); // 51 83
 * ```
 */
export function createHostKeySigner(
  key: KeyMaterial,
  algorithm: string,
  random?: RandomSource,
): HostKeySigner {
  const publicKeyBlob = encodePublicKeyBlob(key);
  return Object.freeze({
    publicKeyBlob,
    sign: (data: Uint8Array) => signData(key, algorithm, data, random),
  });
}
