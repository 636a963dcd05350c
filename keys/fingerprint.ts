/**
 * Key fingerprints exactly as `ssh-keygen -l` prints them: `SHA256:` and the
 * unpadded base64 of the SHA-256 of the public key blob, or `MD5:` and the
 * colon-separated hex of its MD5.
 *
 * @module
 */

import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { encodeBase64 } from "./_base64.ts";

/** Hashes `ssh-keygen -E` accepts. */
export type FingerprintHash = "sha256" | "md5";

/**
 * The fingerprint of a public key blob.
 *
 * @example
 * ```ts
 * import { fingerprintBlob } from "./fingerprint.ts";
 * const blob = new Uint8Array([0, 0, 0, 1, 65]);
 * console.log(fingerprintBlob(blob).startsWith("SHA256:")); // true
 * console.log(fingerprintBlob(blob, "md5").startsWith("MD5:")); // true
 * ```
 */
export function fingerprintBlob(blob: Uint8Array, hash: FingerprintHash = "sha256"): string {
  if (hash === "md5") {
    return "MD5:" + Array.from(md5(blob), (b) => b.toString(16).padStart(2, "0")).join(":");
  }
  if (hash !== "sha256") throw new RangeError(`Unsupported fingerprint hash '${hash}'`);
  return "SHA256:" + encodeBase64(sha256(blob), false);
}
