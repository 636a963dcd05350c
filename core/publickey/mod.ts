/**
 * Public keys and signatures: key blobs, verification, signing and algorithm lists.
 *
 * @example Sign and verify
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { encodePublicKeyBlob, parsePublicKeyBlob, signData, verifySignature } from "./mod.ts";
 * const seed = new Uint8Array(32).fill(1);
 * const priv = { type: "ed25519" as const, publicKey: ed25519.getPublicKey(seed), seed };
 * const { key } = parsePublicKeyBlob(encodePublicKeyBlob(priv));
 * const data = new TextEncoder().encode("data");
 * console.log(verifySignature(key, signData(priv, "ssh-ed25519", data), data)); // true
 * ```
 *
 * @module
 */

export * from "./algorithms.ts";
export * from "./blob.ts";
export * from "./certificate.ts";
export * from "./errors.ts";
export * from "./key_blob.ts";
export { signData } from "./sign.ts";
export * from "./verify.ts";
export type * from "./types.ts";
export * from "./x509_blob.ts";
