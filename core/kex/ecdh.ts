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
import { type RandomSource, systemRandom } from "../random.ts";
import { bigIntToBytes, bytesToBigInt, SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import type { KeyAgreement } from "./single_round.ts";

/**
 * A native ECDH that `io/` may install (node:crypto: a tenth of the portable path's CPU, or
 * less). Its key generation draws its own randomness, so it is used only with the system
 * random source: a seeded handshake still takes its secret from its seed.
 *
 * @example
 * ```ts
 * import type { EcdhBackend } from "./ecdh.ts";
 * const none: EcdhBackend | null = null; // io/crypto/native_ecdh.ts provides one
 * console.log(none === null); // true
 * ```
 */
export interface EcdhBackend {
  /** Names the backend (for reporting). */
  readonly name: string;
  /**
   * A fresh key pair on `curve`: the private scalar (big-endian, the curve's size) and the
   * uncompressed public point; undefined where the backend lacks the curve.
   */
  generate(curve: EcdsaCurveName): { secret: Uint8Array; publicKey: Uint8Array } | undefined;
  /**
   * The x-coordinate (the curve's size) of `secret` times the peer's point, which the
   * caller has validated; undefined for a secret this backend did not generate.
   */
  shared(curve: EcdsaCurveName, secret: Uint8Array, peer: Uint8Array): Uint8Array | undefined;
}

let backend: EcdhBackend | null = null;

/**
 * Installs a native ECDH for every later exchange (null: the portable path only). The
 * caller checks it first; this does not.
 *
 * @example
 * ```ts
 * import { registerEcdhBackend } from "./ecdh.ts";
 * registerEcdhBackend(null);
 * ```
 */
export function registerEcdhBackend(b: EcdhBackend | null): void {
  backend = b;
}

/**
 * The native ECDH in use, or null.
 *
 * @example
 * ```ts
 * import { ecdhBackend } from "./ecdh.ts";
 * console.log(ecdhBackend()?.name ?? "noble");
 * ```
 */
export function ecdhBackend(): EcdhBackend | null {
  return backend;
}

/** One side's key pair: its public point, and the agreement with a peer's point. */
interface EcdhPair {
  readonly q: Uint8Array;
  shared(peer: Uint8Array): Uint8Array;
}

function keypair(curve: EcdsaCurveName, random: RandomSource): EcdhPair {
  const info = ECDSA_CURVES[curve];
  const native = random === systemRandom ? backend?.generate(curve) : undefined;
  if (native) {
    const { secret, publicKey } = native;
    return {
      q: publicKey,
      shared: (peer) => {
        validatePeer(curve, peer);
        const x = backend?.shared(curve, secret, peer) ??
          portableX(curve, bytesToBigInt(secret), peer);
        return new SSHWriter(info.size + 8).writeMpintMagnitude(x).toBytes();
      },
    };
  }
  const d = randomBigIntInRange(random, 1n, info.order - 1n);
  return {
    q: info.curve.Point.BASE.multiply(d).toBytes(false),
    shared: (peer) => {
      validatePeer(curve, peer);
      return new SSHWriter(info.size + 8).writeMpintMagnitude(portableX(curve, d, peer))
        .toBytes();
    },
  };
}

function validatePeer(curve: EcdsaCurveName, peer: Uint8Array): void {
  try {
    assertValidEcPoint(curve, peer, `ecdh-sha2-${curve} public value`);
  } catch (e) {
    if (e instanceof KeyBlobError) throw new KexError(e.message, { cause: e });
    throw e;
  }
}

function portableX(curve: EcdsaCurveName, d: bigint, peer: Uint8Array): Uint8Array {
  const info = ECDSA_CURVES[curve];
  const point = info.curve.Point.fromBytes(peer).multiply(d);
  // d is in [1, n-1] and the peer point has order n, so the product is never the identity.
  return bigIntToBytes(point.toAffine().x, info.size);
}

/**
 * The key agreement of ecdh-sha2-`curve`.
 *
 * @example
 * ```ts
 * import { ecdhAgreement } from "./ecdh.ts";
 * import { seededRandom } from "@sshts/ssh/core";
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
      const pair = keypair(curve, random);
      return { publicValue: pair.q, finish: (serverValue: Uint8Array) => pair.shared(serverValue) };
    },
    server(clientValue: Uint8Array, random: RandomSource) {
      const pair = keypair(curve, random);
      return { publicValue: pair.q, sharedSecret: pair.shared(clientValue) };
    },
  });
}
