/**
 * `ecdh-sha2-1.3.132.0.10`: ECDH on secp256k1 (SEC 2), named by its OID as RFC
 * 5656 §6.1 prescribes for curves without a nistp name, with SHA-256 (RFC 5656
 * §6.2.1: curves of 256 bits or less). AsyncSSH offers it.
 *
 * Q_C and Q_S are uncompressed SEC1 points (65 bytes, 0x04 first). Each received
 * point is checked to be on the curve and not the identity; secp256k1 has
 * cofactor 1, so that puts it in the group. K is the shared point's
 * x-coordinate as an mpint, as for the NIST curves.
 *
 * @module
 */

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { randomBigIntInRange } from "../publickey/bigint.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToBytes, SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

/** Bytes of a secp256k1 field element. */
const FIELD_BYTES = 32;
/** Uncompressed point: 0x04 || x || y. */
const POINT_BYTES = 1 + 2 * FIELD_BYTES;

const Point = secp256k1.Point;
const ORDER = Point.CURVE().n;

function keypair(random: RandomSource): { d: bigint; q: Uint8Array } {
  const d = randomBigIntInRange(random, 1n, ORDER - 1n);
  return { d, q: Point.BASE.multiply(d).toBytes(false) };
}

/** Decodes and validates a peer's secp256k1 point; throws {@link KexError}. */
function decodeSecp256k1Point(q: Uint8Array): InstanceType<typeof Point> {
  if (q.length !== POINT_BYTES) {
    throw new KexError(
      `Invalid secp256k1 public value: ${q.length} bytes, expected ${POINT_BYTES} (uncompressed)`,
    );
  }
  if (q[0] !== 0x04) {
    throw new KexError(`Invalid secp256k1 public value: not uncompressed (first byte ${q[0]})`);
  }
  try {
    const p = Point.fromBytes(q);
    p.assertValidity();
    return p;
  } catch (cause) {
    throw new KexError("Invalid secp256k1 public value: not a point on the curve", { cause });
  }
}

function shared(d: bigint, peer: Uint8Array): Uint8Array {
  const x = bigIntToBytes(decodeSecp256k1Point(peer).multiply(d).toAffine().x, FIELD_BYTES);
  return new SSHWriter(FIELD_BYTES + 8).writeMpintMagnitude(x).toBytes();
}

/**
 * The key agreement of ecdh-sha2-1.3.132.0.10.
 *
 * @example
 * ```ts
 * import { secp256k1Agreement } from "./ecdh_secp256k1.ts";
 * import { seededRandom } from "@sshts/ssh/core";
 * const c = secp256k1Agreement.client(seededRandom(1));
 * const s = secp256k1Agreement.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export const secp256k1Agreement: KeyAgreement = Object.freeze({
  // Generous: wrong lengths then fail with a KexError naming the length.
  maxPublicLength: 1024,
  client(random: RandomSource) {
    const { d, q } = keypair(random);
    return { publicValue: q, finish: (serverValue: Uint8Array) => shared(d, serverValue) };
  },
  server(clientValue: Uint8Array, random: RandomSource) {
    const { d, q } = keypair(random);
    return { publicValue: q, sharedSecret: shared(d, clientValue) };
  },
});
