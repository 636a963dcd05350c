/**
 * Wire names of public-key types and signature algorithms, the default and insecure
 * lists, and the mapping from a key to the signature algorithms it can make.
 *
 * A key *type* names a blob format ("ssh-rsa"); a signature *algorithm* names how a
 * signature is made ("rsa-sha2-512" with an "ssh-rsa" key). They coincide for every
 * type except RSA (RFC 8332).
 *
 * @module
 */

import type { EcdsaCurveName, KeyMaterial } from "./types.ts";

/**
 * Host key algorithms we offer by default, in OpenSSH 9.x order: the
 * certificate forms first, then the plain keys (FIDO and X.509 forms are left
 * out, as they are not offered by OpenSSH's client by default either). A client
 * offering the certificate forms must be able to check a host certificate or
 * fall back to its certified key, as the known_hosts verifier in `io/` does.
 *
 * @example
 * ```ts
 * import { DEFAULT_HOST_KEY_ALGORITHMS } from "./algorithms.ts";
 * console.log(DEFAULT_HOST_KEY_ALGORITHMS[0]); // "ssh-ed25519-cert-v01@openssh.com"
 * ```
 */
export const DEFAULT_HOST_KEY_ALGORITHMS: readonly string[] = Object.freeze([
  "ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "rsa-sha2-512-cert-v01@openssh.com",
  "rsa-sha2-256-cert-v01@openssh.com",
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "rsa-sha2-256",
]);

/**
 * The plain (non-certificate) host key algorithms of
 * {@link DEFAULT_HOST_KEY_ALGORITHMS}, for a client whose host key check only
 * knows plain keys.
 *
 * @example
 * ```ts
 * import { PLAIN_HOST_KEY_ALGORITHMS } from "./algorithms.ts";
 * console.log(PLAIN_HOST_KEY_ALGORITHMS[0]); // "ssh-ed25519"
 * ```
 */
export const PLAIN_HOST_KEY_ALGORITHMS: readonly string[] = Object.freeze(
  DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !a.endsWith("-cert-v01@openssh.com")),
);

/**
 * Every host key (and user key) algorithm the transport can verify: the
 * defaults, the SHA-1 and DSA legacy forms, the FIDO forms, and X.509 (RFC 6187).
 *
 * @example
 * ```ts
 * import { SUPPORTED_HOST_KEY_ALGORITHMS } from "./algorithms.ts";
 * console.log(SUPPORTED_HOST_KEY_ALGORITHMS.includes("ssh-rsa-cert-v01@openssh.com")); // true
 * ```
 */
export const SUPPORTED_HOST_KEY_ALGORITHMS: readonly string[] = Object.freeze([
  ...DEFAULT_HOST_KEY_ALGORITHMS.slice(0, 6),
  "sk-ssh-ed25519-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ssh-rsa-cert-v01@openssh.com",
  "ssh-dss-cert-v01@openssh.com",
  "x509v3-ssh-ed25519",
  "x509v3-ecdsa-sha2-nistp256",
  "x509v3-ecdsa-sha2-nistp384",
  "x509v3-ecdsa-sha2-nistp521",
  "x509v3-rsa2048-sha256",
  "x509v3-ssh-rsa",
  ...DEFAULT_HOST_KEY_ALGORITHMS.slice(6),
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
  "ssh-dss",
]);

/**
 * Signature algorithms accepted by default for user authentication, in OpenSSH 9.x
 * order (PubkeyAcceptedAlgorithms without certificates and webauthn).
 *
 * @example
 * ```ts
 * import { DEFAULT_PUBLIC_KEY_ALGORITHMS } from "./algorithms.ts";
 * console.log(DEFAULT_PUBLIC_KEY_ALGORITHMS.includes("sk-ssh-ed25519@openssh.com")); // true
 * ```
 */
export const DEFAULT_PUBLIC_KEY_ALGORITHMS: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "rsa-sha2-512",
  "rsa-sha2-256",
]);

/**
 * Signature algorithms that are weak and off by default: SHA-1 RSA and DSA.
 *
 * @example
 * ```ts
 * import { INSECURE_SIGNATURE_ALGORITHMS } from "./algorithms.ts";
 * console.log(INSECURE_SIGNATURE_ALGORITHMS); // ["ssh-rsa", "ssh-dss"]
 * ```
 */
export const INSECURE_SIGNATURE_ALGORITHMS: readonly string[] = Object.freeze([
  "ssh-rsa",
  "ssh-dss",
]);

/**
 * Every signature algorithm {@link verifySignature} understands.
 * (`signData` covers all but the `sk-*` ones, which need a hardware key, and `ssh-dss`.)
 *
 * @example
 * ```ts
 * import { SUPPORTED_SIGNATURE_ALGORITHMS } from "./algorithms.ts";
 * console.log(SUPPORTED_SIGNATURE_ALGORITHMS.length); // 10
 * ```
 */
export const SUPPORTED_SIGNATURE_ALGORITHMS: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "rsa-sha2-512",
  "rsa-sha2-256",
  "ssh-rsa",
  "ssh-dss",
]);

/**
 * Every public key blob type {@link parsePublicKeyBlob} understands.
 *
 * @example
 * ```ts
 * import { SUPPORTED_PUBLIC_KEY_TYPES } from "./algorithms.ts";
 * console.log(SUPPORTED_PUBLIC_KEY_TYPES.includes("ssh-rsa")); // true
 * ```
 */
export const SUPPORTED_PUBLIC_KEY_TYPES: readonly string[] = Object.freeze([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
  "ssh-rsa",
  "ssh-dss",
]);

/**
 * The key type name (the first string of the public key blob) of `key`.
 *
 * @example
 * ```ts
 * import { publicKeyTypeName } from "@sshts/ssh/core";
 * console.log(publicKeyTypeName({ type: "ecdsa", curve: "nistp384", publicKey: new Uint8Array(97) }));
 * // "ecdsa-sha2-nistp384"
 * ```
 */
export function publicKeyTypeName(key: KeyMaterial): string {
  switch (key.type) {
    case "ed25519":
      return "ssh-ed25519";
    case "ecdsa":
      return `ecdsa-sha2-${key.curve}`;
    case "rsa":
      return "ssh-rsa";
    case "dsa":
      return "ssh-dss";
    case "sk-ed25519":
      return "sk-ssh-ed25519@openssh.com";
    case "sk-ecdsa":
      return "sk-ecdsa-sha2-nistp256@openssh.com";
  }
}

/**
 * The signature algorithms a key can make, most preferred first: an RSA key gives
 * `rsa-sha2-512`, `rsa-sha2-256`, `ssh-rsa`; every other key exactly one.
 *
 * @example
 * ```ts
 * import { signatureAlgorithmsForKey } from "@sshts/ssh/core";
 * console.log(signatureAlgorithmsForKey({ type: "rsa", n: 3233n, e: 17n }));
 * // ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]
 * ```
 */
export function signatureAlgorithmsForKey(key: KeyMaterial): readonly string[] {
  if (key.type === "rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  return [publicKeyTypeName(key)];
}

/**
 * The key type a signature algorithm needs ("rsa-sha2-256" → "ssh-rsa"), or
 * undefined for an unknown algorithm.
 *
 * @example
 * ```ts
 * import { keyTypeForSignatureAlgorithm } from "./algorithms.ts";
 * console.log(keyTypeForSignatureAlgorithm("rsa-sha2-512")); // "ssh-rsa"
 * ```
 */
export function keyTypeForSignatureAlgorithm(algorithm: string): string | undefined {
  if (algorithm === "rsa-sha2-256" || algorithm === "rsa-sha2-512") return "ssh-rsa";
  return SUPPORTED_PUBLIC_KEY_TYPES.includes(algorithm) ? algorithm : undefined;
}

/**
 * The curve named by an SSH curve identifier, or undefined.
 *
 * @example
 * ```ts
 * import { parseCurveName } from "./algorithms.ts";
 * console.log(parseCurveName("nistp521"), parseCurveName("secp256k1")); // "nistp521" undefined
 * ```
 */
export function parseCurveName(name: string): EcdsaCurveName | undefined {
  return name === "nistp256" || name === "nistp384" || name === "nistp521" ? name : undefined;
}
