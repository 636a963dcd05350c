/**
 * Key fingerprints exactly as `ssh-keygen -l` prints them: `SHA256:` and the
 * unpadded base64 of the SHA-256 of the public key blob, or `MD5:` and the
 * colon-separated hex of its MD5.
 *
 * @module
 */

import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { encodeBase64 } from "./_base64.ts";

/** Hashes for fingerprints: what `ssh-keygen -E` accepts, and AsyncSSH's sha1/sha384/sha512. */
export type FingerprintHash = "sha256" | "md5" | "sha1" | "sha384" | "sha512";

const BASE64_HASHES = { sha1, sha256, sha384, sha512 } as const;

/**
 * The fingerprint of a public key blob.
 *
 * @example
 * ```ts
 * import { fingerprintBlob } from "./fingerprint.ts";
 * const blob = new Uint8Array([0, 0, 0, 1, 65]);
 * console.log(fingerprintBlob(blob).startsWith("SHA256:")); // true
 * console.log(fingerprintBlob(blob, "md5").startsWith("MD5:")); // true
 * console.log(fingerprintBlob(blob, "sha1").startsWith("SHA1:")); // true
 * ```
 */
export function fingerprintBlob(blob: Uint8Array, hash: FingerprintHash = "sha256"): string {
  if (hash === "md5") {
    return "MD5:" + Array.from(md5(blob), (b) => b.toString(16).padStart(2, "0")).join(":");
  }
  const f = BASE64_HASHES[hash as keyof typeof BASE64_HASHES];
  if (!f) throw new RangeError(`Unsupported fingerprint hash '${hash}'`);
  return hash.toUpperCase() + ":" + encodeBase64(f(blob), false);
}
