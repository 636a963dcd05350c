/**
 * Signature verification for every SSH signature algorithm we know: Ed25519
 * (RFC 8709), ECDSA (RFC 5656), RSA (RFC 8332 and RFC 4253), DSA (legacy) and the
 * FIDO `sk-*` forms (PROTOCOL.u2f).
 *
 * Policy: a signature blob names its algorithm; it must be one the key can make and,
 * when `allowedAlgorithms` is given, one of those. Without `allowedAlgorithms` the
 * insecure algorithms (`ssh-rsa`, `ssh-dss`) are refused: pass them explicitly to
 * accept SHA-1 signatures. Peer input never makes these functions throw: a malformed
 * blob is simply an invalid signature (false).
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { curve25519Backend } from "../crypto/curve25519_backend.ts";
import { SSHReader, SSHWriter, utf8 } from "../wire.ts";
import { INSECURE_SIGNATURE_ALGORITHMS, signatureAlgorithmsForKey } from "./algorithms.ts";
import { dsaVerifySsh } from "./dsa.ts";
import { ecdsaVerifySsh } from "./ecdsa.ts";
import { rsaHashForAlgorithm, rsaVerifyPkcs1v15 } from "./rsa.ts";
import type { KeyMaterial, SkKeyMaterial } from "./types.ts";
import { MAX_NAME, MAX_SIGNATURE as MAX_SIGNATURE_BLOB } from "../limits.ts";

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  /**
   * Signature algorithms to accept, e.g. the negotiated host key algorithm. Default:
   * every algorithm the key can make except the insecure ones.
   */
  readonly allowedAlgorithms?: readonly string[];
}

/** The outer signature blob: `string algorithm, string signature` (+ sk trailer). */
interface OuterSignature {
  readonly algorithm: string;
  readonly inner: Uint8Array;
  readonly reader: SSHReader;
}

function readOuter(blob: Uint8Array): OuterSignature | null {
  if (blob.length > MAX_SIGNATURE_BLOB) return null;
  try {
    const reader = new SSHReader(blob);
    const algorithm = reader.readStringAscii("signature algorithm", MAX_NAME);
    const inner = reader.readString("signature", MAX_SIGNATURE_BLOB);
    return { algorithm, inner, reader };
  } catch {
    return null;
  }
}

function algorithmAllowed(key: KeyMaterial, algorithm: string, options?: VerifyOptions): boolean {
  if (!signatureAlgorithmsForKey(key).includes(algorithm)) return false;
  const allowed = options?.allowedAlgorithms;
  if (allowed !== undefined) return allowed.includes(algorithm);
  return !INSECURE_SIGNATURE_ALGORITHMS.includes(algorithm);
}

/**
 * Verifies an SSH signature blob (`string algorithm, string signature`, plus flags
 * and counter for `sk-*`) over `data` with `key`. Returns false for a wrong,
 * malformed, disallowed or mismatched signature; never throws for bad input.
 * For `sk-*` keys it checks the signature only, not whether the user touched the
 * key: use {@link checkSignature} (or {@link verifySkSignature}) where the
 * authenticator's flags matter, as they do for user authentication.
 *
 * @example
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { signData } from "@sshts/ssh/core";
 * import { verifySignature } from "./verify.ts";
 * const seed = new Uint8Array(32).fill(7);
 * const key = { type: "ed25519" as const, publicKey: ed25519.getPublicKey(seed), seed };
 * const data = new TextEncoder().encode("exchange hash");
 * const sig = signData(key, "ssh-ed25519", data);
 * console.log(verifySignature(key, sig, data)); // true
 * ```
 */
export function verifySignature(
  key: KeyMaterial,
  signatureBlob: Uint8Array,
  data: Uint8Array,
  options?: VerifyOptions,
): boolean {
  return checkSignature(key, signatureBlob, data, options).valid;
}

/**
 * The outcome of {@link checkSignature}: whether the signature is good and, for a
 * FIDO key, what its authenticator attested.
 */
export type SignatureCheck =
  | { readonly valid: false }
  | {
    readonly valid: true;
    /**
     * For `sk-*` keys: the authenticator's flags and counter (covered by the
     * signature). Whether they suffice — user presence, user verification — is
     * the caller's decision; sshd refuses a signature without user presence
     * unless the key's options say `no-touch-required`.
     */
    readonly sk?: SkSignatureDetails;
  };

const VALID: SignatureCheck = Object.freeze({ valid: true });
const INVALID: SignatureCheck = Object.freeze({ valid: false });

/**
 * Verifies a signature as {@link verifySignature} does and keeps what a FIDO
 * (`sk-*`) signature carries besides: its flags and counter, for the caller's
 * user-presence and user-verification policy. Never throws for bad input.
 *
 * @example
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { SSHWriter } from "../wire.ts";
 * import { checkSignature, skSignedMessage } from "./verify.ts";
 * const secret = new Uint8Array(32).fill(5), data = new Uint8Array([1, 2, 3]);
 * const key = { type: "sk-ed25519" as const, publicKey: ed25519.getPublicKey(secret), application: "ssh:" };
 * const flags = 0x00; // the authenticator was not touched
 * const sig = new SSHWriter().writeStringUtf8("sk-ssh-ed25519@openssh.com")
 *   .writeString(ed25519.sign(skSignedMessage("ssh:", flags, 9, data), secret))
 *   .writeByte(flags).writeUint32(9).toBytes();
 * const r = checkSignature(key, sig, data);
 * console.log(r.valid, r.valid && r.sk?.userPresent); // true false
 * ```
 */
export function checkSignature(
  key: KeyMaterial,
  signatureBlob: Uint8Array,
  data: Uint8Array,
  options?: VerifyOptions,
): SignatureCheck {
  if (key.type === "sk-ed25519" || key.type === "sk-ecdsa") {
    const r = verifySkSignature(key, signatureBlob, data, options);
    if (!r.valid) return INVALID;
    const { flags, counter, userPresent, userVerified } = r;
    return { valid: true, sk: { flags, counter, userPresent, userVerified } };
  }
  const outer = readOuter(signatureBlob);
  if (outer === null || outer.reader.remaining !== 0) return INVALID;
  const { algorithm, inner } = outer;
  if (!algorithmAllowed(key, algorithm, options)) return INVALID;
  let ok = false;
  try {
    switch (key.type) {
      case "ed25519":
        ok = inner.length === 64 && key.publicKey.length === 32 &&
          curve25519Backend().ed25519Verify(inner, data, key.publicKey);
        break;
      case "ecdsa":
        ok = ecdsaVerifySsh(key.curve, key.publicKey, inner, data);
        break;
      case "rsa": {
        const hash = rsaHashForAlgorithm(algorithm);
        ok = hash !== undefined && rsaVerifyPkcs1v15(key.n, key.e, hash, data, inner);
        break;
      }
      case "dsa":
        ok = dsaVerifySsh(key, inner, data);
        break;
    }
  } catch {
    ok = false;
  }
  return ok ? VALID : INVALID;
}

/** FIDO authenticator flag: the user touched the key. */
export const SK_FLAG_USER_PRESENCE = 0x01;
/** FIDO authenticator flag: the user was verified (PIN or biometrics). */
export const SK_FLAG_USER_VERIFICATION = 0x04;

/** What a FIDO authenticator attested with a signature (PROTOCOL.u2f); the signature covers it. */
export interface SkSignatureDetails {
  /** Raw authenticator flags byte. */
  readonly flags: number;
  /** Signature counter of the authenticator. */
  readonly counter: number;
  /** Flag 0x01: the user touched the key. */
  readonly userPresent: boolean;
  /** Flag 0x04: the user was verified. */
  readonly userVerified: boolean;
}

/** Result of {@link verifySkSignature}: the authenticator's flags and counter when valid. */
export type SkVerifyResult =
  | { readonly valid: false }
  | (SkSignatureDetails & {
    readonly valid: true;
    /** The signature algorithm. */
    readonly algorithm: string;
  });

/**
 * The message a FIDO authenticator signs for an SSH signature (PROTOCOL.u2f):
 * `sha256(application) || flags || uint32 counter || sha256(data)`.
 *
 * @example
 * ```ts
 * import { skSignedMessage } from "./verify.ts";
 * console.log(skSignedMessage("ssh:", 1, 7, new Uint8Array(0)).length); // 69
 * ```
 */
export function skSignedMessage(
  application: string,
  flags: number,
  counter: number,
  data: Uint8Array,
): Uint8Array {
  return new SSHWriter(69)
    .writeBytes(sha256(utf8(application)))
    .writeByte(flags)
    .writeUint32(counter)
    .writeBytes(sha256(data))
    .toBytes();
}

/**
 * Verifies an `sk-ssh-ed25519@openssh.com` or `sk-ecdsa-sha2-nistp256@openssh.com`
 * signature and returns the authenticator flags and counter. Checking
 * `userPresent` (and `userVerified`, when required) is the caller's policy decision.
 * Never throws for bad input: `{ valid: false }`.
 *
 * @example
 * ```ts
 * import { verifySkSignature } from "./verify.ts";
 * const key = { type: "sk-ed25519" as const, publicKey: new Uint8Array(32), application: "ssh:" };
 * console.log(verifySkSignature(key, new Uint8Array(4), new Uint8Array(0)).valid); // false
 * ```
 */
export function verifySkSignature(
  key: SkKeyMaterial,
  signatureBlob: Uint8Array,
  data: Uint8Array,
  options?: VerifyOptions,
): SkVerifyResult {
  const invalid = { valid: false } as const;
  const outer = readOuter(signatureBlob);
  if (outer === null) return invalid;
  const { algorithm, inner, reader } = outer;
  if (!algorithmAllowed(key, algorithm, options)) return invalid;
  let flags: number;
  let counter: number;
  try {
    flags = reader.readByte("sk flags");
    counter = reader.readUint32("sk counter");
    reader.assertEnd("sk signature");
  } catch {
    return invalid;
  }
  const message = skSignedMessage(key.application, flags, counter, data);
  let ok = false;
  try {
    if (key.type === "sk-ed25519") {
      ok = inner.length === 64 && key.publicKey.length === 32 &&
        ed25519.verify(inner, message, key.publicKey, { zip215: false });
    } else {
      ok = ecdsaVerifySsh("nistp256", key.publicKey, inner, message);
    }
  } catch {
    ok = false;
  }
  if (!ok) return invalid;
  return {
    valid: true,
    algorithm,
    flags,
    counter,
    userPresent: (flags & SK_FLAG_USER_PRESENCE) !== 0,
    userVerified: (flags & SK_FLAG_USER_VERIFICATION) !== 0,
  };
}
