/**
 * Typed errors of the key exchange. A peer value that fails a check (a point off
 * the curve, a DH value out of range, an all-zero shared secret, a group outside
 * the requested sizes) is a {@link KexError}; a message arriving where another was
 * expected is a PROTOCOL_ERROR disconnect. Malformed encodings surface as the
 * WireError of `core/wire.ts`.
 *
 * @module
 */

import { DisconnectError, DisconnectReason, protocolError } from "../errors.ts";

/**
 * The key exchange failed because of a value the peer sent (or could not agree on
 * parameters). Carries reason KEY_EXCHANGE_FAILED and code "ERR_KEX_FAILED".
 *
 * @example
 * ```ts
 * import { KexError } from "@sshts/ssh";
 * const e = new KexError("Invalid curve25519 public key: all-zero shared secret");
 * console.log(e.code, e.reason); // "ERR_KEX_FAILED" 3
 * ```
 */
export class KexError extends DisconnectError {
  /** Creates the error with reason KEY_EXCHANGE_FAILED. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_KEX_FAILED", DisconnectReason.KEY_EXCHANGE_FAILED, message, options);
    this.name = "KexError";
  }
}

/**
 * The error for a kex message number that is not the one expected now: a
 * PROTOCOL_ERROR disconnect naming what came and what was expected.
 *
 * @example
 * ```ts
 * import { unexpectedKexMessage } from "./errors.ts";
 * const e = unexpectedKexMessage("curve25519-sha256", 33, [31]);
 * console.log(e.code, e.message);
 * ```
 */
export function unexpectedKexMessage(
  method: string,
  got: number | undefined,
  expected: readonly number[],
): DisconnectError {
  const what = got === undefined ? "an empty message" : `message ${got}`;
  const want = expected.length === 0 ? "nothing (the exchange is over)" : expected.join(" or ");
  return protocolError(
    "unexpected-message",
    `Unexpected ${what} during ${method} key exchange: expected ${want}`,
    { ...(got !== undefined ? { got } : {}), expected: expected.map(String) },
  );
}
