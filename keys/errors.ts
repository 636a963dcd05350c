/**
 * Errors raised by the `keys/` layer: importing, exporting and generating keys.
 * Each is an {@link SSHError} with a stable `code`, so callers can match on it.
 *
 * @module
 */

import { SSHError } from "../core/errors.ts";

/**
 * A key, certificate or key-list entry could not be imported: malformed input,
 * an unsupported algorithm or cipher, or an incorrect passphrase.
 *
 * @example Tell a wrong passphrase apart from a broken file
 * ```ts
 * import { KeyImportError } from "@sshts/ssh";
 * const e = new KeyImportError("Cannot import private key: incorrect passphrase");
 * console.log(e.code, e.message.includes("passphrase")); // "ERR_KEY_IMPORT" true
 * ```
 */
export class KeyImportError extends SSHError {
  /** Creates an import error; the message says what failed and why. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_KEY_IMPORT", message, options);
    this.name = "KeyImportError";
  }
}

/**
 * A key could not be written in the requested format (for example an Ed25519 key
 * asked for as PKCS#1, or a public key asked for its private part).
 *
 * @example
 * ```ts
 * import { KeyExportError } from "@sshts/ssh";
 * const e = new KeyExportError("Cannot export key: PKCS#1 holds only RSA keys");
 * console.log(e.code); // "ERR_KEY_EXPORT"
 * ```
 */
export class KeyExportError extends SSHError {
  /** Creates an export error. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_KEY_EXPORT", message, options);
    this.name = "KeyExportError";
  }
}

/**
 * A key could not be generated: unsupported algorithm, bad size or exponent.
 *
 * @example
 * ```ts
 * import { KeyGenerationError } from "@sshts/ssh";
 * const e = new KeyGenerationError("Cannot generate RSA key: size 1000 is not a multiple of 8");
 * console.log(e.code); // "ERR_KEY_GENERATION"
 * ```
 */
export class KeyGenerationError extends SSHError {
  /** Creates a generation error. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_KEY_GENERATION", message, options);
    this.name = "KeyGenerationError";
  }
}
