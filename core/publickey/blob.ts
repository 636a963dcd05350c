/**
 * SSH public key blobs (RFC 4253 §6.6, RFC 5656 §3.1, RFC 8709 §4, PROTOCOL.u2f) to
 * and from {@link KeyMaterial}.
 *
 * A blob is `string key-type` followed by a type-specific body. The body readers and
 * writers are exported on their own so the certificate parser can reuse them: a
 * `*-cert-v01@openssh.com` blob carries the same fields after its nonce.
 *
 * Every key is checked as it is read (lengths, point on curve, RSA size), so a
 * `KeyMaterial` that came out of here is safe to verify with.
 *
 * @module
 */

import { p256, p384, p521 } from "@noble/curves/nist.js";
import { SSHError } from "../errors.ts";
import { bigIntToMpintBytes, mpintBytesToBigInt, SSHReader, SSHWriter, utf8 } from "../wire.ts";
import { parseCurveName, publicKeyTypeName } from "./algorithms.ts";
import { bitLength } from "./bigint.ts";
import { KeyBlobError, UnsupportedKeyTypeError } from "./errors.ts";
import type {
  DsaKeyMaterial,
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  KeyMaterial,
  RsaKeyMaterial,
  SkKeyMaterial,
} from "./types.ts";
import {
  MAX_NAME,
  MAX_PUBLIC_POINT,
  MAX_SHORT_NAME,
  MAX_SK_APPLICATION_LENGTH,
} from "../limits.ts";

/** Smallest RSA modulus we accept, in bits (OpenSSH's SSH_RSA_MINIMUM_MODULUS_SIZE). */
export const RSA_MIN_MODULUS_BITS = 1024;
/** Largest RSA modulus we accept, in bits (OpenSSH's SSHBUF_MAX_BIGNUM). */
export const RSA_MAX_MODULUS_BITS = 16384;

/**
 * Largest RSA public exponent accepted, in bits (OpenSSL refuses more than 64 for big
 * moduli; keys in use have 65537). Verification costs one modular squaring per bit of e: a
 * key blob with a 16,383-bit e made one signature check take 11 s, before authentication.
 */
export const RSA_MAX_EXPONENT_BITS = 64;
/** DSA keys must have a 1024-bit p and 160-bit q (FIPS 186-2, as OpenSSH requires). */
const DSA_P_BITS = 1024;
const DSA_Q_BITS = 160;

/** A decoded public key blob. */
export interface ParsedPublicKey {
  /** The key type name from the blob, e.g. "ssh-ed25519". */
  readonly algorithm: string;
  /** The key material. */
  readonly key: KeyMaterial;
}

/** Byte length of one coordinate on each curve. */
const CURVE_FIELD_BYTES: Record<EcdsaCurveName, number> = {
  nistp256: 32,
  nistp384: 48,
  nistp521: 66,
};

const CURVES = { nistp256: p256, nistp384: p384, nistp521: p521 } as const;

/**
 * Checks that `q` is an uncompressed SEC1 point on `curve` (not the identity) and
 * throws {@link KeyBlobError} ("bad-length" or "bad-point") otherwise.
 *
 * @example
 * ```ts
 * import { assertValidEcPoint } from "./blob.ts";
 * try {
 *   assertValidEcPoint("nistp256", new Uint8Array(65), "ecdsa key");
 * } catch (e) {
 *   console.log((e as Error).message);
 * }
 * ```
 */
export function assertValidEcPoint(curve: EcdsaCurveName, q: Uint8Array, what: string): void {
  const expected = 1 + 2 * CURVE_FIELD_BYTES[curve];
  if (q.length !== expected) {
    throw new KeyBlobError(
      "bad-length",
      `Cannot parse ${what}: ${curve} point is ${q.length} bytes, expected ${expected} (uncompressed)`,
    );
  }
  if (q[0] !== 0x04) {
    throw new KeyBlobError(
      "bad-point",
      `Cannot parse ${what}: ${curve} point is not in uncompressed form (first byte ${q[0]})`,
    );
  }
  try {
    // fromBytes checks the coordinates are field elements and the point is on the
    // curve; the NIST curves have cofactor 1, so that also puts it in the group.
    CURVES[curve].Point.fromBytes(q).assertValidity();
  } catch (cause) {
    throw new KeyBlobError("bad-point", `Cannot parse ${what}: point is not on ${curve}`, {
      cause,
    });
  }
}

/** Reads a positive mpint (rejects negative and zero). */
function readPositiveMpint(r: SSHReader, what: string, maxBytes: number): bigint {
  const b = r.readString(what, maxBytes);
  const v = mpintBytesToBigInt(b);
  if (v <= 0n) throw new KeyBlobError("malformed", `Cannot parse ${what}: must be positive`);
  return v;
}

/**
 * Reads the body of an `ssh-ed25519` key: `string key` (32 bytes).
 *
 * @example
 * ```ts
 * import { readEd25519PublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * const body = new SSHWriter().writeString(new Uint8Array(32)).toBytes();
 * console.log(readEd25519PublicBody(new SSHReader(body)).publicKey.length); // 32
 * ```
 */
export function readEd25519PublicBody(r: SSHReader): Ed25519KeyMaterial {
  const pk = r.readString("ssh-ed25519 public key", MAX_PUBLIC_POINT);
  if (pk.length !== 32) {
    throw new KeyBlobError(
      "bad-length",
      `Cannot parse ssh-ed25519 key: public key is ${pk.length} bytes, expected 32`,
    );
  }
  return { type: "ed25519", publicKey: pk.slice() };
}

/**
 * Reads the body of an `ecdsa-sha2-<curve>` key: `string curve`, `string Q`. The
 * curve field must match `curve` (from the type name).
 *
 * @example
 * ```ts
 * import { readEcdsaPublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * import { p256 } from "@noble/curves/nist.js";
 * const q = p256.getPublicKey(new Uint8Array(32).fill(1), false);
 * const body = new SSHWriter().writeStringUtf8("nistp256").writeString(q).toBytes();
 * console.log(readEcdsaPublicBody(new SSHReader(body), "nistp256").curve); // "nistp256"
 * ```
 */
export function readEcdsaPublicBody(r: SSHReader, curve: EcdsaCurveName): EcdsaKeyMaterial {
  const name = r.readStringAscii("ecdsa curve name", MAX_SHORT_NAME);
  if (name !== curve) {
    throw new KeyBlobError(
      "mismatch",
      `Cannot parse ecdsa-sha2-${curve} key: curve field is '${name}'`,
    );
  }
  const q = r.readString("ecdsa public point", MAX_PUBLIC_POINT);
  assertValidEcPoint(curve, q, `ecdsa-sha2-${curve} key`);
  return { type: "ecdsa", curve, publicKey: q.slice() };
}

/**
 * Reads the body of an `ssh-rsa` key: `mpint e`, `mpint n` (note the order), and
 * checks the modulus size (1024..16384 bits) and an odd exponent 3 <= e < n of at most
 * 64 bits ({@link RSA_MAX_EXPONENT_BITS}).
 *
 * @example
 * ```ts
 * import { readRsaPublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * const n = (1n << 2047n) + 1n;
 * const body = new SSHWriter().writeMpint(65537n).writeMpint(n).toBytes();
 * console.log(readRsaPublicBody(new SSHReader(body)).e); // 65537n
 * ```
 */
export function readRsaPublicBody(r: SSHReader): RsaKeyMaterial {
  const e = readPositiveMpint(r, "ssh-rsa exponent e", RSA_MAX_MODULUS_BITS / 8 + 1);
  const n = readPositiveMpint(r, "ssh-rsa modulus n", RSA_MAX_MODULUS_BITS / 8 + 1);
  const bits = bitLength(n);
  if (bits < RSA_MIN_MODULUS_BITS) {
    throw new KeyBlobError(
      "weak-key",
      `Cannot parse ssh-rsa key: ${bits}-bit modulus is below the ${RSA_MIN_MODULUS_BITS}-bit minimum`,
    );
  }
  if (bits > RSA_MAX_MODULUS_BITS) {
    throw new KeyBlobError(
      "bad-length",
      `Cannot parse ssh-rsa key: ${bits}-bit modulus exceeds ${RSA_MAX_MODULUS_BITS} bits`,
    );
  }
  if ((n & 1n) === 0n) throw new KeyBlobError("weak-key", "Cannot parse ssh-rsa key: even modulus");
  if (e < 3n || (e & 1n) === 0n || e >= n) {
    throw new KeyBlobError(
      "weak-key",
      "Cannot parse ssh-rsa key: exponent must be odd, >= 3 and < n",
    );
  }
  if (bitLength(e) > RSA_MAX_EXPONENT_BITS) {
    throw new KeyBlobError(
      "bad-length",
      `Cannot parse ssh-rsa key: a ${
        bitLength(e)
      }-bit exponent exceeds ${RSA_MAX_EXPONENT_BITS} bits`,
    );
  }
  return { type: "rsa", n, e };
}

/**
 * Reads the body of an `ssh-dss` key: `mpint p, q, g, y`; p must be 1024 bits and
 * q 160 bits (FIPS 186-2, the only DSA SSH defines), 1 < g, y < p.
 *
 * @example
 * ```ts
 * import { readDsaPublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * const body = new SSHWriter().writeMpint(5n).toBytes();
 * try { readDsaPublicBody(new SSHReader(body)); } catch (e) { console.log((e as Error).name); }
 * ```
 */
export function readDsaPublicBody(r: SSHReader): DsaKeyMaterial {
  const p = readPositiveMpint(r, "ssh-dss p", 1025);
  const q = readPositiveMpint(r, "ssh-dss q", 1025);
  const g = readPositiveMpint(r, "ssh-dss g", 1025);
  const y = readPositiveMpint(r, "ssh-dss y", 1025);
  if (bitLength(p) !== DSA_P_BITS || bitLength(q) !== DSA_Q_BITS) {
    throw new KeyBlobError(
      "bad-length",
      `Cannot parse ssh-dss key: p is ${bitLength(p)} bits and q ${
        bitLength(q)
      } bits, expected 1024 and 160`,
    );
  }
  if (g <= 1n || g >= p || y <= 1n || y >= p) {
    throw new KeyBlobError("weak-key", "Cannot parse ssh-dss key: g and y must lie in (1, p)");
  }
  return { type: "dsa", p, q, g, y };
}

function readSkApplication(r: SSHReader, keyType: string): string {
  return r.readStringUtf8(`${keyType} application`, MAX_SK_APPLICATION_LENGTH);
}

/**
 * Reads the body of an `sk-ssh-ed25519@openssh.com` key: `string key`, `string application`.
 *
 * @example
 * ```ts
 * import { readSkEd25519PublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * const body = new SSHWriter().writeString(new Uint8Array(32)).writeStringUtf8("ssh:").toBytes();
 * console.log(readSkEd25519PublicBody(new SSHReader(body)).application); // "ssh:"
 * ```
 */
export function readSkEd25519PublicBody(r: SSHReader): SkKeyMaterial {
  const { publicKey } = readEd25519PublicBody(r);
  const application = readSkApplication(r, "sk-ssh-ed25519@openssh.com");
  return { type: "sk-ed25519", publicKey, application };
}

/**
 * Reads the body of an `sk-ecdsa-sha2-nistp256@openssh.com` key: `string curve`
 * ("nistp256"), `string Q`, `string application`.
 *
 * @example
 * ```ts
 * import { readSkEcdsaPublicBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * import { p256 } from "@noble/curves/nist.js";
 * const q = p256.getPublicKey(new Uint8Array(32).fill(1), false);
 * const body = new SSHWriter().writeStringUtf8("nistp256").writeString(q).writeStringUtf8("ssh:")
 *   .toBytes();
 * console.log(readSkEcdsaPublicBody(new SSHReader(body)).type); // "sk-ecdsa"
 * ```
 */
export function readSkEcdsaPublicBody(r: SSHReader): SkKeyMaterial {
  const { publicKey } = readEcdsaPublicBody(r, "nistp256");
  const application = readSkApplication(r, "sk-ecdsa-sha2-nistp256@openssh.com");
  return { type: "sk-ecdsa", publicKey, application };
}

/**
 * Reads the type-specific body of a plain (non-certificate) key of type `keyType`
 * from `r`, leaving `r` after the body. Throws {@link UnsupportedKeyTypeError} for
 * unknown types and {@link KeyBlobError} or WireError for bad bodies.
 *
 * @example Reuse from a certificate parser
 * ```ts
 * import { readPublicKeyBody } from "./blob.ts";
 * import { SSHReader, SSHWriter } from "../wire.ts";
 * const body = new SSHWriter().writeString(new Uint8Array(32)).toBytes();
 * console.log(readPublicKeyBody("ssh-ed25519", new SSHReader(body)).type); // "ed25519"
 * ```
 */
export function readPublicKeyBody(keyType: string, r: SSHReader): KeyMaterial {
  switch (keyType) {
    case "ssh-ed25519":
      return readEd25519PublicBody(r);
    case "ssh-rsa":
      return readRsaPublicBody(r);
    case "ssh-dss":
      return readDsaPublicBody(r);
    case "sk-ssh-ed25519@openssh.com":
      return readSkEd25519PublicBody(r);
    case "sk-ecdsa-sha2-nistp256@openssh.com":
      return readSkEcdsaPublicBody(r);
  }
  if (keyType.startsWith("ecdsa-sha2-")) {
    const curve = parseCurveName(keyType.slice("ecdsa-sha2-".length));
    if (curve !== undefined) return readEcdsaPublicBody(r, curve);
  }
  throw new UnsupportedKeyTypeError(keyType);
}

/**
 * Decodes an SSH public key blob. Throws {@link KeyBlobError} (with `problem`) for a
 * malformed blob and {@link UnsupportedKeyTypeError} for unknown and certificate types.
 *
 * @example
 * ```ts
 * import { encodePublicKeyBlob, parsePublicKeyBlob } from "./blob.ts";
 * const blob = encodePublicKeyBlob({ type: "ed25519", publicKey: new Uint8Array(32).fill(9) });
 * const { algorithm, key } = parsePublicKeyBlob(blob);
 * console.log(algorithm, key.type); // "ssh-ed25519" "ed25519"
 * ```
 */
export function parsePublicKeyBlob(blob: Uint8Array): ParsedPublicKey {
  try {
    const r = new SSHReader(blob);
    const algorithm = r.readStringAscii("key type", MAX_NAME);
    const key = readPublicKeyBody(algorithm, r);
    r.assertEnd(`${algorithm} key blob`);
    return { algorithm, key };
  } catch (e) {
    if (e instanceof KeyBlobError || e instanceof UnsupportedKeyTypeError) throw e;
    if (e instanceof SSHError) {
      const problem = e.code === "ERR_WIRE_TRUNCATED" ? "truncated" : "malformed";
      throw new KeyBlobError(problem, `Cannot parse public key blob: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Appends the type-specific body of `key` (everything after the type string).
 *
 * @example
 * ```ts
 * import { writePublicKeyBody } from "./blob.ts";
 * import { SSHWriter } from "../wire.ts";
 * const w = new SSHWriter();
 * writePublicKeyBody({ type: "ed25519", publicKey: new Uint8Array(32) }, w);
 * console.log(w.length); // 36
 * ```
 */
export function writePublicKeyBody(key: KeyMaterial, w: SSHWriter): void {
  switch (key.type) {
    case "ed25519":
      w.writeString(key.publicKey);
      return;
    case "ecdsa":
      w.writeString(utf8(key.curve)).writeString(key.publicKey);
      return;
    case "rsa":
      w.writeString(bigIntToMpintBytes(key.e)).writeString(bigIntToMpintBytes(key.n));
      return;
    case "dsa":
      w.writeMpint(key.p).writeMpint(key.q).writeMpint(key.g).writeMpint(key.y);
      return;
    case "sk-ed25519":
      w.writeString(key.publicKey).writeString(utf8(key.application));
      return;
    case "sk-ecdsa":
      w.writeString(utf8("nistp256")).writeString(key.publicKey).writeString(
        utf8(key.application),
      );
      return;
  }
}

/**
 * Encodes the public half of `key` as an SSH public key blob (private fields are ignored).
 *
 * @example
 * ```ts
 * import { encodePublicKeyBlob } from "@sshts/ssh/core";
 * const blob = encodePublicKeyBlob({ type: "ed25519", publicKey: new Uint8Array(32) });
 * console.log(blob.length); // 51
 * ```
 */
export function encodePublicKeyBlob(key: KeyMaterial): Uint8Array {
  const w = new SSHWriter(64);
  w.writeStringUtf8(publicKeyTypeName(key));
  writePublicKeyBody(key, w);
  return w.toBytes();
}
