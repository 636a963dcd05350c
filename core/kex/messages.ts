/**
 * Message numbers and size limits of the key exchange methods (RFC 4250 §4.1.2,
 * RFC 4419 §5, RFC 5656 §7.1, RFC 4432 §5). The numbers 30..49 are reused by each method family.
 *
 * @module
 */

/**
 * Kex message numbers, by method family.
 *
 * @example
 * ```ts
 * import { KexMsg } from "./messages.ts";
 * console.log(KexMsg.ECDH_INIT, KexMsg.GEX_REQUEST); // 30 34
 * ```
 */
export const KexMsg = {
  /** diffie-hellman-group*: client's e (RFC 4253 §8). */
  KEXDH_INIT: 30,
  /** diffie-hellman-group*: server's reply. */
  KEXDH_REPLY: 31,
  /** ECDH, curve25519 and the hybrids: client's public value (RFC 5656 §4). */
  ECDH_INIT: 30,
  /** ECDH, curve25519 and the hybrids: server's reply. */
  ECDH_REPLY: 31,
  /** Group exchange: obsolete request with only n (RFC 4419 §5); never sent, refused. */
  GEX_REQUEST_OLD: 30,
  /** Group exchange: the server's p and g. */
  GEX_GROUP: 31,
  /** Group exchange: client's e. */
  GEX_INIT: 32,
  /** Group exchange: server's reply. */
  GEX_REPLY: 33,
  /** Group exchange: client's min, n, max. */
  GEX_REQUEST: 34,
  /** RSA key exchange: the server's host key and transient RSA key (RFC 4432 §5). */
  KEXRSA_PUBKEY: 30,
  /** RSA key exchange: the client's encrypted secret. */
  KEXRSA_SECRET: 31,
  /** RSA key exchange: the server's signature. */
  KEXRSA_DONE: 32,
} as const;

export { MAX_HOST_KEY_BLOB_LENGTH, MAX_KEX_SIGNATURE_LENGTH } from "../limits.ts";
