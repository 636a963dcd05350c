/**
 * `curve448-sha512` (RFC 8731): X448 (RFC 7748) with SHA-512.
 *
 * Q_C and Q_S are 56-byte X448 public keys (any other length is refused). K is
 * the 56-byte X448 output read as an unsigned big-endian number and encoded as
 * an mpint (RFC 8731 §3.1, exactly as for curve25519). An all-zero output (a
 * low-order peer key) aborts the exchange (RFC 7748 §6.2).
 *
 * @module
 */

import { x448 } from "@noble/curves/ed448.js";
import type { RandomSource } from "../random.ts";
import { SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

/** X448 public keys and outputs are 56 bytes. */
export const X448_KEY_BYTES = 56;

/**
 * The raw X448 shared secret with a peer key; throws {@link KexError} for a
 * wrong-length key or an all-zero result.
 *
 * @example
 * ```ts
 * import { x448Shared } from "./curve448.ts";
 * import { x448 } from "@noble/curves/ed448.js";
 * const a = new Uint8Array(56).fill(1), b = new Uint8Array(56).fill(2);
 * console.log(x448Shared(a, x448.getPublicKey(b)).join() ===
 *   x448Shared(b, x448.getPublicKey(a)).join()); // true
 * ```
 */
export function x448Shared(secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  if (peerPublic.length !== X448_KEY_BYTES) {
    throw new KexError(
      `Invalid X448 public key: ${peerPublic.length} bytes, expected ${X448_KEY_BYTES}`,
    );
  }
  let shared: Uint8Array;
  try {
    shared = x448.scalarMult(secretKey, peerPublic);
  } catch (cause) {
    throw new KexError("Invalid X448 public key: the shared secret is all zero", { cause });
  }
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new KexError("Invalid X448 public key: the shared secret is all zero");
  return shared;
}

function keypair(random: RandomSource): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const secretKey = random(X448_KEY_BYTES);
  return { secretKey, publicKey: x448.getPublicKey(secretKey) };
}

function encodeK(shared: Uint8Array): Uint8Array {
  return new SSHWriter(64).writeMpintMagnitude(shared).toBytes();
}

/**
 * The key agreement of curve448-sha512.
 *
 * @example
 * ```ts
 * import { x448Agreement } from "./curve448.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const c = x448Agreement.client(seededRandom(1));
 * const s = x448Agreement.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export const x448Agreement: KeyAgreement = Object.freeze({
  maxPublicLength: 128,
  client(random: RandomSource) {
    const { secretKey, publicKey } = keypair(random);
    return {
      publicValue: publicKey,
      finish: (serverValue: Uint8Array) => encodeK(x448Shared(secretKey, serverValue)),
    };
  },
  server(clientValue: Uint8Array, random: RandomSource) {
    const { secretKey, publicKey } = keypair(random);
    return { publicValue: publicKey, sharedSecret: encodeK(x448Shared(secretKey, clientValue)) };
  },
});
