/**
 * The key-exchange seam. Each method (curve25519, ECDH, DH groups, group exchange,
 * the post-quantum hybrids) implements {@link KexMethod}: a small message-driven
 * flow per side that the transport feeds kex-specific messages (numbers 30..49)
 * and that ends with the shared secret and exchange hash.
 *
 * @module
 */

import type { RandomSource } from "../random.ts";

/** Hash functions a kex method can use for H and key derivation. */
export type KexHashName = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

/** What both flows need to compute the exchange hash (RFC 4253 §8). */
export interface KexContext {
  /** Client version string, without CR LF. */
  readonly clientVersion: string;
  /** Server version string, without CR LF. */
  readonly serverVersion: string;
  /** Payload of the client's KEXINIT. */
  readonly clientKexInit: Uint8Array;
  /** Payload of the server's KEXINIT. */
  readonly serverKexInit: Uint8Array;
  /** Randomness for ephemeral keys. */
  readonly random: RandomSource;
  /**
   * The transport can hold the exchange while asynchronous native crypto runs (a
   * {@link KexStep} with `wait`); without it every step computes synchronously.
   */
  readonly allowWait?: boolean;
}

/** The outcome of a finished key exchange. */
export interface KexResult {
  /** The shared secret K as it is encoded into the hash and key derivation (mpint or string). */
  readonly sharedSecret: Uint8Array;
  /** The exchange hash H. */
  readonly exchangeHash: Uint8Array;
  /** K_S: the server's public host key blob. */
  readonly hostKeyBlob: Uint8Array;
  /** The server's signature blob over H (verified by the transport, not here). */
  readonly signature: Uint8Array;
}

/**
 * Asynchronous work a step waits for (WebCrypto's ML-KEM, say): the transport reads
 * nothing and sends nothing of the exchange until the caller, once `ready` settled,
 * resumes it; `resume` then gives the rest of the step.
 */
export interface KexWait {
  /** Settles (never rejects) once the work is done or failed. */
  readonly ready: PromiseLike<void>;
  /** The rest of the step; throws what the work failed with (as a synchronous step would). */
  resume(): KexStep;
}

/** One step of a flow: messages to send, and the result when the exchange is done. */
export interface KexStep {
  /** Complete message payloads (first byte is the message number) to send. */
  readonly send: readonly Uint8Array[];
  /** Present when the exchange finished on this step. */
  readonly result?: KexResult;
  /** Present when the step is not done until asynchronous work is (only with `allowWait`). */
  readonly wait?: KexWait;
}

/** Client side of one key exchange. Throws WireError/DisconnectError on bad input. */
export interface KexClientFlow {
  /** Messages to send right after KEXINIT negotiation. */
  start(): KexStep;
  /** Handles one kex-specific message (number 30..49). */
  receive(payload: Uint8Array): KexStep;
}

/** Signs the exchange hash with the negotiated host key algorithm (server side). */
export interface HostKeySigner {
  /** The public key blob K_S. */
  readonly publicKeyBlob: Uint8Array;
  /** Returns the signature blob (string algorithm, string signature) over `data`. */
  sign(data: Uint8Array): Uint8Array;
}

/** Server side of one key exchange. */
export interface KexServerFlow {
  /**
   * Messages the server sends first, right after KEXINIT negotiation, for the
   * methods where the server speaks first (RSA key exchange, RFC 4432). Absent
   * for the methods where the client does.
   */
  start?(): KexStep;
  /** Handles one kex-specific message; the final step carries `result`. */
  receive(payload: Uint8Array): KexStep;
}

/** Options the server side may need (e.g. the moduli set for group exchange). */
export interface KexServerOptions {
  /** The host key used for this exchange. */
  readonly hostKey: HostKeySigner;
  /** For diffie-hellman-group-exchange: candidate groups, by size. */
  readonly moduli?: readonly { readonly bits: number; readonly p: bigint; readonly g: bigint }[];
}

/** A key-exchange method, registered under its wire name. */
export interface KexMethod {
  /** Wire name, e.g. "curve25519-sha256". */
  readonly name: string;
  /** Hash used for H and key derivation. */
  readonly hash: KexHashName;
  /** Starts the client side. */
  createClient(ctx: KexContext): KexClientFlow;
  /** Starts the server side. */
  createServer(ctx: KexContext, options: KexServerOptions): KexServerFlow;
}
