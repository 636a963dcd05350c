/**
 * The transport's view of OpenSSH certificates (PROTOCOL.certkeys): names, and the
 * certified key inside a `*-cert-v01@openssh.com` blob. That is all the transport
 * needs to check a signature made by a certificate's key; whether the certificate
 * itself is trusted (CA signature, validity, principals) is a policy decision that
 * lives in `keys/certificate.ts` and is made by whoever accepts the key.
 *
 * Names: a certificate *type* wraps a key type (`ssh-rsa-cert-v01@openssh.com`
 * wraps `ssh-rsa`); a certificate *algorithm* wraps a signature algorithm
 * (`rsa-sha2-512-cert-v01@openssh.com` means an `ssh-rsa-cert-v01` blob and an
 * `rsa-sha2-512` signature). The signature blob itself always names the plain
 * signature algorithm.
 *
 * @module
 */

import { SSHError } from "../errors.ts";
import { SSHReader } from "../wire.ts";
import { keyTypeForSignatureAlgorithm } from "./algorithms.ts";
import { readPublicKeyBody } from "./blob.ts";
import { KeyBlobError } from "./errors.ts";
import type { KeyMaterial } from "./types.ts";
import { MAX_CERT_NONCE as MAX_NONCE, MAX_NAME } from "../limits.ts";

/** The suffix of every OpenSSH certificate type and algorithm name. */
export const CERT_SUFFIX = "-cert-v01@openssh.com";

/**
 * True for an OpenSSH certificate type or algorithm name.
 *
 * @example
 * ```ts
 * import { isCertificateAlgorithm } from "./certificate.ts";
 * console.log(isCertificateAlgorithm("rsa-sha2-256-cert-v01@openssh.com")); // true
 * ```
 */
export function isCertificateAlgorithm(name: string): boolean {
  return name.endsWith(CERT_SUFFIX);
}

/**
 * The plain name a certificate name wraps: a key type for a certificate type
 * (`ssh-ed25519-cert-v01@openssh.com` → `ssh-ed25519`), a signature algorithm
 * for a certificate algorithm (`rsa-sha2-512-cert-v01@openssh.com` →
 * `rsa-sha2-512`). Names that are not certificate names come back unchanged.
 *
 * @example
 * ```ts
 * import { plainAlgorithm } from "./certificate.ts";
 * console.log(plainAlgorithm("sk-ssh-ed25519-cert-v01@openssh.com")); // "sk-ssh-ed25519@openssh.com"
 * console.log(plainAlgorithm("ssh-ed25519")); // "ssh-ed25519"
 * ```
 */
export function plainAlgorithm(name: string): string {
  if (!isCertificateAlgorithm(name)) return name;
  const base = name.slice(0, -CERT_SUFFIX.length);
  return base.startsWith("sk-") ? `${base}@openssh.com` : base;
}

/**
 * The certificate name for a plain key type or signature algorithm
 * (`rsa-sha2-256` → `rsa-sha2-256-cert-v01@openssh.com`).
 *
 * @example
 * ```ts
 * import { certificateAlgorithm } from "./certificate.ts";
 * console.log(certificateAlgorithm("sk-ecdsa-sha2-nistp256@openssh.com"));
 * // "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com"
 * ```
 */
export function certificateAlgorithm(plain: string): string {
  return plain.replace(/@openssh\.com$/, "") + CERT_SUFFIX;
}

/**
 * The certificate type a certificate algorithm needs
 * (`rsa-sha2-512-cert-v01@openssh.com` → `ssh-rsa-cert-v01@openssh.com`), or
 * undefined when the wrapped signature algorithm is unknown.
 *
 * @example
 * ```ts
 * import { certificateTypeForAlgorithm } from "./certificate.ts";
 * console.log(certificateTypeForAlgorithm("rsa-sha2-512-cert-v01@openssh.com"));
 * // "ssh-rsa-cert-v01@openssh.com"
 * ```
 */
export function certificateTypeForAlgorithm(algorithm: string): string | undefined {
  if (!isCertificateAlgorithm(algorithm)) return undefined;
  const keyType = keyTypeForSignatureAlgorithm(plainAlgorithm(algorithm));
  return keyType === undefined ? undefined : certificateAlgorithm(keyType);
}

/** The certified key of a certificate blob. */
export interface CertifiedKey {
  /** The certificate type from the blob, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly certificateType: string;
  /** The plain key type it wraps, e.g. "ssh-ed25519". */
  readonly keyType: string;
  /** The certified key (checked as a plain key blob is). */
  readonly key: KeyMaterial;
}

/**
 * Reads the certified key from an OpenSSH certificate blob: the type, the nonce
 * and the key fields that follow it. The rest (principals, validity, CA
 * signature) is not looked at: trust is decided elsewhere. Throws
 * {@link KeyBlobError} for a malformed blob or a name that is not a certificate
 * type.
 *
 * @example
 * ```ts
 * import { readCertifiedKey } from "./certificate.ts";
 * import { SSHWriter } from "../wire.ts";
 * const blob = new SSHWriter().writeStringUtf8("ssh-ed25519-cert-v01@openssh.com")
 *   .writeString(new Uint8Array(32)).writeString(new Uint8Array(32).fill(1)).toBytes();
 * console.log(readCertifiedKey(blob).keyType); // "ssh-ed25519"
 * ```
 */
export function readCertifiedKey(blob: Uint8Array): CertifiedKey {
  try {
    const r = new SSHReader(blob);
    const certificateType = r.readStringAscii("certificate type", MAX_NAME);
    if (!isCertificateAlgorithm(certificateType)) {
      throw new KeyBlobError(
        "malformed",
        `Cannot parse certificate: '${certificateType}' is not a certificate type`,
      );
    }
    const keyType = plainAlgorithm(certificateType);
    r.readString("certificate nonce", MAX_NONCE);
    const key = readPublicKeyBody(keyType, r);
    return { certificateType, keyType, key };
  } catch (e) {
    if (e instanceof KeyBlobError) throw e;
    if (e instanceof SSHError) {
      const problem = e.code === "ERR_WIRE_TRUNCATED" ? "truncated" : "malformed";
      throw new KeyBlobError(problem, `Cannot parse certificate: ${e.message}`, { cause: e });
    }
    throw e;
  }
}
