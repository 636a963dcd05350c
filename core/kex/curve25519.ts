/**
 * `curve25519-sha256` and `curve25519-sha256@libssh.org` (RFC 8731).
 *
 * Q_C and Q_S are 32-byte X25519 public keys (any other length is refused, §3).
 * The shared secret is the 32-byte X25519 output read as an unsigned big-endian
 * number and encoded as an mpint (§3.1): no byte reversal, leading zero bytes
 * dropped, a zero byte prepended when the top bit is set — as OpenSSH's
 * `sshbuf_put_bignum2_bytes` does. An all-zero output (a low-order peer key) aborts
 * the exchange.
 *
 * @module
 */

import { curve25519Backend } from "../crypto/curve25519_backend.ts";
import { type RandomSource, systemRandom } from "../random.ts";
import { SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

/** X25519 public keys and outputs are 32 bytes. */
export const X25519_KEY_BYTES = 32;

/**
 * An X25519 key pair from 32 random bytes.
 *
 * @example
 * ```ts
 * import { x25519Keypair } from "./curve25519.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * console.log(x25519Keypair(seededRandom(1)).publicKey.length); // 32
 * ```
 */
export function x25519Keypair(
  random: RandomSource,
): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const backend = curve25519Backend();
  // The backend's own generator where it has one (node:crypto: no key import), but only for
  // the system random source: a seeded source must decide the secret.
  if (random === systemRandom && backend.x25519Generate) return backend.x25519Generate();
  const secretKey = random(X25519_KEY_BYTES);
  return { secretKey, publicKey: backend.x25519PublicKey(secretKey) };
}

/**
 * The raw X25519 shared secret with a peer key; throws {@link KexError} for a
 * wrong-length key or an all-zero result (RFC 7748 §6.1, RFC 8731 §3).
 *
 * @example
 * ```ts
 * import { x25519Keypair, x25519Shared } from "./curve25519.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const a = x25519Keypair(seededRandom(1)), b = x25519Keypair(seededRandom(2));
 * console.log(x25519Shared(a.secretKey, b.publicKey).join() ===
 *   x25519Shared(b.secretKey, a.publicKey).join()); // true
 * ```
 */
export function x25519Shared(secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
  if (peerPublic.length !== X25519_KEY_BYTES) {
    throw new KexError(
      `Invalid X25519 public key: ${peerPublic.length} bytes, expected ${X25519_KEY_BYTES}`,
    );
  }
  let shared: Uint8Array;
  try {
    shared = curve25519Backend().x25519Shared(secretKey, peerPublic);
  } catch (cause) {
    // noble (and node:crypto) refuse low-order points themselves; the result would be all zero.
    throw new KexError("Invalid X25519 public key: the shared secret is all zero", { cause });
  }
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new KexError("Invalid X25519 public key: the shared secret is all zero");
  return shared;
}

/** K as an mpint of the X25519 output read big-endian (RFC 8731 §3.1). */
function encodeK(shared: Uint8Array): Uint8Array {
  return new SSHWriter(40).writeMpintMagnitude(shared).toBytes();
}

/**
 * The key agreement of curve25519-sha256.
 *
 * @example
 * ```ts
 * import { x25519Agreement } from "./curve25519.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const c = x25519Agreement.client(seededRandom(1));
 * const s = x25519Agreement.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export const x25519Agreement: KeyAgreement = Object.freeze({
  maxPublicLength: 64,
  client(random: RandomSource) {
    const { secretKey, publicKey } = x25519Keypair(random);
    return {
      publicValue: publicKey,
      finish: (serverValue: Uint8Array) => encodeK(x25519Shared(secretKey, serverValue)),
    };
  },
  server(clientValue: Uint8Array, random: RandomSource) {
    const { secretKey, publicKey } = x25519Keypair(random);
    return { publicValue: publicKey, sharedSecret: encodeK(x25519Shared(secretKey, clientValue)) };
  },
});
