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
  /** Discriminant: always `"ed25519"`. */
  readonly type: "ed25519";
  /** The 32-byte public key. */
  readonly publicKey: Uint8Array;
  /** The 32-byte private seed; undefined for a public key. */
  readonly seed?: Uint8Array;
}

/** An ECDSA key: `publicKey` is the SEC1 uncompressed point; `privateKey` the scalar, big-endian. */
export interface EcdsaKeyMaterial {
  /** Discriminant: always `"ecdsa"`. */
  readonly type: "ecdsa";
  /** The curve, by its SSH name. */
  readonly curve: EcdsaCurveName;
  /** The public point, SEC1 uncompressed (`0x04 || x || y`). */
  readonly publicKey: Uint8Array;
  /** The private scalar, big-endian; undefined for a public key. */
  readonly privateKey?: Uint8Array;
}

/** Hashes RSA signatures use in SSH. */
export type RsaHashName = "sha1" | "sha256" | "sha512";

/** An RSA key; the private fields come together. */
export interface RsaKeyMaterial {
  /** Discriminant: always `"rsa"`. */
  readonly type: "rsa";
  /** The modulus. */
  readonly n: bigint;
  /** The public exponent. */
  readonly e: bigint;
  /** The private exponent; undefined for a public key. */
  readonly d?: bigint;
  /** The first prime factor of `n`; undefined for a public key. */
  readonly p?: bigint;
  /** The second prime factor of `n`; undefined for a public key. */
  readonly q?: bigint;
  /** The CRT exponent d mod (p-1); computed when absent. */
  readonly dp?: bigint;
  /** The CRT exponent d mod (q-1); computed when absent. */
  readonly dq?: bigint;
  /** The CRT coefficient q^-1 mod p; computed when absent. */
  readonly qi?: bigint;
}

/** A DSA key (legacy: import and verify only). */
export interface DsaKeyMaterial {
  /** Discriminant: always `"dsa"`. */
  readonly type: "dsa";
  /** The prime modulus. */
  readonly p: bigint;
  /** The prime order of the subgroup (160 bits for SSH's ssh-dss). */
  readonly q: bigint;
  /** The subgroup generator. */
  readonly g: bigint;
  /** The public value g^x mod p. */
  readonly y: bigint;
  /** The private exponent; undefined for a public key. */
  readonly x?: bigint;
}

/** A FIDO security-key public key (verify only): `application` is the relying party id. */
export interface SkKeyMaterial {
  /** Discriminant: the security-key family (`sk-ecdsa` keys are on nistp256). */
  readonly type: "sk-ed25519" | "sk-ecdsa";
  /** The public key: 32 bytes for Ed25519, the SEC1 uncompressed point for ECDSA. */
  readonly publicKey: Uint8Array;
  /** The relying party id the key was made for (usually `"ssh:"`). */
  readonly application: string;
}

/** Any key material this library handles. */
export type KeyMaterial =
  | Ed25519KeyMaterial
  | EcdsaKeyMaterial
  | RsaKeyMaterial
  | DsaKeyMaterial
  | SkKeyMaterial;
