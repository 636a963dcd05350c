/**
 * A seam for X25519 and Ed25519: the portable path is `@noble/curves`; `io/` may
 * register a faster native backend (node:crypto) after checking it gives the
 * same answers. Every function is synchronous, so the engine stays sans-IO, and
 * takes its secrets as bytes, so a seeded random source still reproduces a
 * whole handshake byte for byte.
 *
 * Used by curve25519-sha256 (and the hybrid kex methods' X25519 half), ssh-ed25519
 * signing and ssh-ed25519 verification.
 *
 * @module
 */

import { ed25519, x25519 } from "@noble/curves/ed25519.js";

/** X25519 and Ed25519 primitives, all synchronous. */
export interface Curve25519Backend {
  /** Names the backend (for reporting: "noble", "node:crypto"). */
  readonly name: string;
  /** The X25519 public key of a 32-byte secret. */
  x25519PublicKey(secretKey: Uint8Array): Uint8Array;
  /**
   * Optional: a fresh key pair from the backend's own random source, where that is faster
   * than {@link x25519PublicKey} of random bytes. Used only with the system random source, so
   * a seeded handshake still takes its secret from its seed.
   */
  x25519Generate?(): { secretKey: Uint8Array; publicKey: Uint8Array };
  /**
   * The raw X25519 shared secret; may throw (the caller treats a throw like an
   * all-zero result: a low-order peer key).
   */
  x25519Shared(secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array;
  /** The Ed25519 signature of `data` with a 32-byte seed. */
  ed25519Sign(seed: Uint8Array, data: Uint8Array): Uint8Array;
  /**
   * Optional: the Ed25519 public key of a 32-byte seed (every private key file imported
   * checks it; the portable path derives it in JavaScript, about a millisecond).
   */
  ed25519PublicKey?(seed: Uint8Array): Uint8Array;
  /**
   * Verifies a 64-byte Ed25519 signature under a 32-byte public key (RFC 8032
   * verification: canonical S, no ZIP-215 leniency). False on any problem.
   */
  ed25519Verify(signature: Uint8Array, data: Uint8Array, publicKey: Uint8Array): boolean;
}

/** The portable backend (`@noble/curves`). */
export const NOBLE_CURVE25519: Curve25519Backend = Object.freeze({
  name: "noble",
  x25519PublicKey: (s: Uint8Array) => x25519.getPublicKey(s),
  x25519Shared: (s: Uint8Array, p: Uint8Array) => x25519.scalarMult(s, p),
  ed25519Sign: (seed: Uint8Array, data: Uint8Array) => ed25519.sign(data, seed),
  ed25519Verify: (sig: Uint8Array, data: Uint8Array, pub: Uint8Array) =>
    ed25519.verify(sig, data, pub, { zip215: false }),
});

let current: Curve25519Backend = NOBLE_CURVE25519;

/**
 * The backend in use.
 *
 * @example
 * ```ts
 * import { curve25519Backend } from "./curve25519_backend.ts";
 * console.log(curve25519Backend().name); // "noble" unless io/ registered another
 * ```
 */
export function curve25519Backend(): Curve25519Backend {
  return current;
}

/**
 * The Ed25519 public key of a 32-byte seed, from the backend in use.
 *
 * @example
 * ```ts
 * import { ed25519PublicKeyOf } from "./curve25519_backend.ts";
 * console.log(ed25519PublicKeyOf(new Uint8Array(32)).length); // 32
 * ```
 */
export function ed25519PublicKeyOf(seed: Uint8Array): Uint8Array {
  return current.ed25519PublicKey ? current.ed25519PublicKey(seed) : ed25519.getPublicKey(seed);
}

/**
 * Installs a backend for every later X25519 and Ed25519 operation (null: back to
 * noble). The caller checks it first (known answers); this does not.
 *
 * @example
 * ```ts
 * import { NOBLE_CURVE25519, registerCurve25519Backend } from "./curve25519_backend.ts";
 * registerCurve25519Backend(NOBLE_CURVE25519);
 * ```
 */
export function registerCurve25519Backend(backend: Curve25519Backend | null): void {
  current = backend ?? NOBLE_CURVE25519;
}
