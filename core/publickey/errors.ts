/**
 * Typed errors of the public-key layer: a key blob that cannot be decoded, and a key
 * type this library does not (yet) handle.
 *
 * @module
 */

import { SSHError } from "../errors.ts";

/** Why a key blob was rejected. */
export type KeyBlobProblem =
  /** The blob ended before a field was complete. */
  | "truncated"
  /** A field is syntactically wrong (bad UTF-8, negative number, trailing bytes, ...). */
  | "malformed"
  /** An elliptic-curve point is not on its curve, not uncompressed, or is the identity. */
  | "bad-point"
  /** A field has the wrong length (e.g. a 31-byte Ed25519 key). */
  | "bad-length"
  /** The key is structurally fine but too weak or degenerate to use (e.g. RSA under 1024 bits). */
  | "weak-key"
  /** Two fields disagree (e.g. "ecdsa-sha2-nistp256" with curve "nistp384"). */
  | "mismatch";

/**
 * A public key blob could not be decoded. `problem` says which kind of defect it was.
 *
 * @example Match on the problem
 * ```ts
 * import { KeyBlobError } from "@sshts/ssh";
 * const e = new KeyBlobError("bad-length", "Cannot parse ssh-ed25519 key: public key is 31 bytes, expected 32");
 * console.log(e.code, e.problem); // "ERR_KEY_IMPORT" "bad-length"
 * ```
 */
export class KeyBlobError extends SSHError {
  /** What was wrong with the blob. */
  readonly problem: KeyBlobProblem;

  /** Creates the error. */
  constructor(problem: KeyBlobProblem, message: string, options?: ErrorOptions) {
    super("ERR_KEY_IMPORT", message, options);
    this.name = "KeyBlobError";
    this.problem = problem;
  }
}

/**
 * A key type (or signature algorithm) this library does not handle. `certificate` is
 * true for the `*-cert-v01@openssh.com` forms, which have their own parser.
 *
 * @example
 * ```ts
 * import { UnsupportedKeyTypeError } from "@sshts/ssh";
 * const e = new UnsupportedKeyTypeError("ssh-xmss@openssh.com");
 * console.log(e.code, e.keyType); // "ERR_UNSUPPORTED_ALGORITHM" "ssh-xmss@openssh.com"
 * ```
 */
export class UnsupportedKeyTypeError extends SSHError {
  /** The key type name as found in the blob. */
  readonly keyType: string;
  /** True for certificate key types (`*-cert-v01@openssh.com`). */
  readonly certificate: boolean;

  /** Creates the error; the message says whether it was a certificate. */
  constructor(keyType: string, options?: ErrorOptions) {
    const certificate = keyType.endsWith("-cert-v01@openssh.com");
    super(
      "ERR_UNSUPPORTED_ALGORITHM",
      certificate
        ? `Cannot parse key blob: certificate type '${keyType}' needs the certificate parser`
        : `Cannot parse key blob: unsupported key type '${keyType}'`,
      options,
    );
    this.name = "UnsupportedKeyTypeError";
    this.keyType = keyType;
    this.certificate = certificate;
  }
}
