/**
 * Raw public-key material shared by the transport (host keys, user auth) and
 * `keys/` (file formats, certificates). Algorithms and signatures live in this
 * folder; formats live in `keys/`.
 *
 * @module
 */

/** Curves of ECDSA keys, by their SSH names. */
export type EcdsaCurveName = "nistp256" | "nistp384" | "nistp521";

/** An Ed25519 key: `publicKey` is 32 bytes; `seed` (32 bytes) is present for private keys. */
export interface Ed25519KeyMaterial {
  readonly type: "ed25519";
  readonly publicKey: Uint8Array;
  readonly seed?: Uint8Array;
}

/** An ECDSA key: `publicKey` is the SEC1 uncompressed point; `privateKey` the scalar, big-endian. */
export interface EcdsaKeyMaterial {
  readonly type: "ecdsa";
  readonly curve: EcdsaCurveName;
  readonly publicKey: Uint8Array;
  readonly privateKey?: Uint8Array;
}

/** An RSA key; the private fields come together. */
export interface RsaKeyMaterial {
  readonly type: "rsa";
  readonly n: bigint;
  readonly e: bigint;
  readonly d?: bigint;
  readonly p?: bigint;
  readonly q?: bigint;
  /** d mod (p-1), d mod (q-1), q^-1 mod p: computed when absent. */
  readonly dp?: bigint;
  readonly dq?: bigint;
  readonly qi?: bigint;
}

/** A DSA key (legacy: import and verify only). */
export interface DsaKeyMaterial {
  readonly type: "dsa";
  readonly p: bigint;
  readonly q: bigint;
  readonly g: bigint;
  readonly y: bigint;
  readonly x?: bigint;
}

/** A FIDO security-key public key (verify only): `application` is the relying party id. */
export interface SkKeyMaterial {
  readonly type: "sk-ed25519" | "sk-ecdsa";
  readonly publicKey: Uint8Array;
  readonly application: string;
}

/** Any key material this library handles. */
export type KeyMaterial =
  | Ed25519KeyMaterial
  | EcdsaKeyMaterial
  | RsaKeyMaterial
  | DsaKeyMaterial
  | SkKeyMaterial;
