/**
 * Finite-field Diffie-Hellman for `diffie-hellman-group*` (RFC 4253 §8, RFC 8268)
 * and group exchange (RFC 4419): key pairs, validation of the peer's value, and the
 * one-round agreement for the fixed groups.
 *
 * Private exponents are 512 bits (capped at |p| - 1): twice the 256-bit strength of
 * the strongest cipher SSH negotiates, which is what OpenSSH's `dh_gen_key` gives
 * for its common ciphers; it keeps an 8192-bit exchange to a few tens of ms.
 *
 * Peer values e / f must be canonical positive mpints with 1 < value < p - 1 and at
 * least four bits set (OpenSSH's `dh_pub_is_valid`: with g = 2 a value with one bit
 * set has a trivial discrete log).
 *
 * @module
 */

import { bitLength, modPow, randomBigIntInRange } from "../publickey/bigint.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToMpintBytes, bytesToBigInt, SSHWriter } from "../wire.ts";
import type { DhGroup } from "./dh_groups.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

/** Bits of our private exponents (see the module doc). */
export const DH_EXPONENT_BITS = 512;

function popcount(v: bigint): number {
  let n = 0;
  for (const c of v.toString(2)) if (c === "1") n++;
  return n;
}

/**
 * Throws {@link KexError} unless `value` is a usable DH public value for modulus `p`.
 *
 * @example
 * ```ts
 * import { assertValidDhPublic } from "./dh.ts";
 * import { MODP_GROUP_14 } from "./dh_groups.ts";
 * try { assertValidDhPublic(MODP_GROUP_14.p, 1n, "f"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function assertValidDhPublic(p: bigint, value: bigint, what: string): void {
  if (value <= 1n || value >= p - 1n) {
    throw new KexError(`Invalid DH value ${what}: must satisfy 1 < ${what} < p-1`);
  }
  if (popcount(value) < 4) {
    throw new KexError(`Invalid DH value ${what}: too few bits set to be a real public value`);
  }
}

/**
 * Decodes the content of a DH public value mpint: it must be the canonical
 * encoding of a positive number (no sign bit, no redundant leading zero), so the
 * bytes we hash are the bytes the peer hashed. Then validates it against `p`.
 *
 * @example
 * ```ts
 * import { decodeDhPublic } from "./dh.ts";
 * import { MODP_GROUP_14 } from "./dh_groups.ts";
 * console.log(decodeDhPublic(new Uint8Array([0x0f, 0x0f]), MODP_GROUP_14.p, "e")); // 3855n
 * ```
 */
export function decodeDhPublic(content: Uint8Array, p: bigint, what: string): bigint {
  if (content.length === 0) throw new KexError(`Invalid DH value ${what}: zero`);
  if ((content[0]! & 0x80) !== 0) throw new KexError(`Invalid DH value ${what}: negative`);
  if (content[0] === 0 && (content.length === 1 || (content[1]! & 0x80) === 0)) {
    throw new KexError(`Invalid DH value ${what}: non-canonical mpint encoding`);
  }
  if (content.length > Math.ceil(bitLength(p) / 8) + 1) {
    throw new KexError(`Invalid DH value ${what}: longer than the modulus`);
  }
  const value = bytesToBigInt(content);
  assertValidDhPublic(p, value, what);
  return value;
}

/**
 * A DH key pair in `group`: private x of {@link DH_EXPONENT_BITS} bits, public g^x mod p.
 *
 * @example
 * ```ts
 * import { dhKeypair } from "./dh.ts";
 * import { MODP_GROUP_14 } from "./dh_groups.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const { x, publicValue } = dhKeypair(MODP_GROUP_14, seededRandom(1));
 * console.log(x > 1n, publicValue > 1n); // true true
 * ```
 */
export function dhKeypair(
  group: { readonly p: bigint; readonly g: bigint },
  random: RandomSource,
): { x: bigint; publicValue: bigint } {
  const bits = Math.min(DH_EXPONENT_BITS, bitLength(group.p) - 1);
  for (let draw = 0; draw < MAX_DH_DRAWS; draw++) {
    const x = randomBigIntInRange(random, 2n, (1n << BigInt(bits)) - 1n);
    const publicValue = modPow(group.g, x, group.p);
    // As OpenSSH does: never send a value we would refuse ourselves.
    try {
      assertValidDhPublic(group.p, publicValue, "e");
      return { x, publicValue };
    } catch {
      // Astronomically unlikely with a real group: draw again.
    }
  }
  // Only a group made to fail does this (a server's "prime" p = m² with g = m gives 0 for
  // every x): drawing on would hang the event loop.
  throw new KexError(
    `Could not make a valid DH public value in ${MAX_DH_DRAWS} tries: the group is broken`,
  );
}

/** Draws of a private exponent before a group is called broken (see {@link dhKeypair}). */
const MAX_DH_DRAWS = 8;

/**
 * K = peer^x mod p, encoded as an mpint (with its length), as it enters the hash.
 *
 * @example
 * ```ts
 * import { dhSharedSecret } from "./dh.ts";
 * console.log(dhSharedSecret(23n, 6n, 19n)); // mpint of 19^6 mod 23 = 2
 * ```
 */
export function dhSharedSecret(p: bigint, x: bigint, peer: bigint): Uint8Array {
  const k = modPow(peer, x, p);
  if (k <= 1n) throw new KexError("Invalid DH value: the shared secret is degenerate");
  return new SSHWriter(Math.ceil(bitLength(p) / 8) + 8).writeMpint(k).toBytes();
}

/**
 * The one-round agreement of a fixed-group method (e and f travel as mpints, which
 * have the same wire shape as strings).
 *
 * @example
 * ```ts
 * import { dhAgreement } from "./dh.ts";
 * import { MODP_GROUP_14 } from "./dh_groups.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const a = dhAgreement(MODP_GROUP_14);
 * const c = a.client(seededRandom(1));
 * const s = a.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export function dhAgreement(group: DhGroup): KeyAgreement {
  const maxPublicLength = Math.ceil(group.bits / 8) + 1;
  return Object.freeze({
    maxPublicLength,
    client(random: RandomSource) {
      const { x, publicValue } = dhKeypair(group, random);
      return {
        publicValue: bigIntToMpintBytes(publicValue),
        finish: (serverValue: Uint8Array) =>
          dhSharedSecret(group.p, x, decodeDhPublic(serverValue, group.p, "f")),
      };
    },
    server(clientValue: Uint8Array, random: RandomSource) {
      const e = decodeDhPublic(clientValue, group.p, "e");
      const { x, publicValue } = dhKeypair(group, random);
      return {
        publicValue: bigIntToMpintBytes(publicValue),
        sharedSecret: dhSharedSecret(group.p, x, e),
      };
    },
  });
}
