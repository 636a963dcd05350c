/**
 * `ecdh-sha2-nistp256/384/521` (RFC 5656 §4, §6.2).
 *
 * Q_C and Q_S are uncompressed SEC1 points (OpenSSH neither sends nor accepts the
 * compressed form). Each received point is validated before use (RFC 5656 §4 and
 * SEC1 3.2.2.1: correct length, coordinates in the field, on the curve, not the
 * identity — the NIST curves have cofactor 1, so that suffices). K is the
 * x-coordinate of the shared point as an mpint.
 *
 * @module
 */

import { assertValidEcPoint } from "../publickey/blob.ts";
import { randomBigIntInRange } from "../publickey/bigint.ts";
import { ECDSA_CURVES } from "../publickey/ecdsa.ts";
import { KeyBlobError } from "../publickey/errors.ts";
import type { EcdsaCurveName } from "../publickey/types.ts";
import type { RandomSource } from "../random.ts";
import { bigIntToBytes, SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

function keypair(curve: EcdsaCurveName, random: RandomSource): { d: bigint; q: Uint8Array } {
  const info = ECDSA_CURVES[curve];
  const d = randomBigIntInRange(random, 1n, info.order - 1n);
  return { d, q: info.curve.Point.BASE.multiply(d).toBytes(false) };
}

function shared(curve: EcdsaCurveName, d: bigint, peer: Uint8Array): Uint8Array {
  try {
    assertValidEcPoint(curve, peer, `ecdh-sha2-${curve} public value`);
  } catch (e) {
    if (e instanceof KeyBlobError) throw new KexError(e.message, { cause: e });
    throw e;
  }
  const info = ECDSA_CURVES[curve];
  const point = info.curve.Point.fromBytes(peer).multiply(d);
  // d is in [1, n-1] and the peer point has order n, so the product is never the identity.
  const x = bigIntToBytes(point.toAffine().x, info.size);
  return new SSHWriter(info.size + 8).writeMpintMagnitude(x).toBytes();
}

/**
 * The key agreement of ecdh-sha2-`curve`.
 *
 * @example
 * ```ts
 * import { ecdhAgreement } from "./ecdh.ts";
 * import { seededRandom } from "../random.ts";
 * const a = ecdhAgreement("nistp384");
 * const c = a.client(seededRandom(1));
 * const s = a.server(c.publicValue, seededRandom(2));
 * console.log(c.finish(s.publicValue).join() === s.sharedSecret.join()); // true
 * ```
 */
export function ecdhAgreement(curve: EcdsaCurveName): KeyAgreement {
  return Object.freeze({
    // Generous: wrong lengths then fail with a KexError naming the length.
    maxPublicLength: 1024,
    client(random: RandomSource) {
      const { d, q } = keypair(curve, random);
      return { publicValue: q, finish: (serverValue: Uint8Array) => shared(curve, d, serverValue) };
    },
    server(clientValue: Uint8Array, random: RandomSource) {
      const { d, q } = keypair(curve, random);
      return { publicValue: q, sharedSecret: shared(curve, d, clientValue) };
    },
  });
}
