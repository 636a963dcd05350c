/**
 * Any key blob the transport meets — a plain key, an OpenSSH certificate or an
 * X.509 chain (RFC 6187) — reduced to the key that signs, and signature checks
 * against such a blob for a negotiated algorithm. This is what host key
 * signatures (kex) and user signatures (publickey, hostbased) are verified with.
 *
 * @module
 */

import { keyTypeForSignatureAlgorithm } from "./algorithms.ts";
import { parsePublicKeyBlob } from "./blob.ts";
import {
  certificateTypeForAlgorithm,
  isCertificateAlgorithm,
  plainAlgorithm,
  readCertifiedKey,
} from "./certificate.ts";
import type { KeyMaterial } from "./types.ts";
import { checkSignature, type SignatureCheck } from "./verify.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { isX509Algorithm, readX509CertifiedKey, x509SignatureAlgorithm } from "./x509_blob.ts";
import { MAX_NAME, MAX_SIGNATURE } from "../limits.ts";

/** What kind of blob a key came in. */
export type KeyBlobKind = "plain" | "openssh-certificate" | "x509";

/** The signing key of a blob. */
export interface SigningKeyOfBlob {
  /** The type name the blob starts with. */
  readonly blobType: string;
  readonly kind: KeyBlobKind;
  /** The key that makes signatures (the certified key for certificates). */
  readonly key: KeyMaterial;
}

/**
 * Decodes any key blob to the key that signs with it. Throws `KeyBlobError` or
 * `UnsupportedKeyTypeError` for a bad or unknown blob.
 *
 * @example
 * ```ts
 * import { encodePublicKeyBlob } from "@sshts/ssh/core";
 * import { signingKeyOfBlob } from "./key_blob.ts";
 * const blob = encodePublicKeyBlob({ type: "ed25519", publicKey: new Uint8Array(32).fill(9) });
 * console.log(signingKeyOfBlob(blob).kind); // "plain"
 * ```
 */
export function signingKeyOfBlob(blob: Uint8Array): SigningKeyOfBlob {
  const blobType = new SSHReader(blob).readStringAscii("key type", MAX_NAME);
  if (isCertificateAlgorithm(blobType)) {
    return { blobType, kind: "openssh-certificate", key: readCertifiedKey(blob).key };
  }
  if (isX509Algorithm(blobType)) {
    return { blobType, kind: "x509", key: readX509CertifiedKey(blob).key };
  }
  return { blobType, kind: "plain", key: parsePublicKeyBlob(blob).key };
}

/** Renames the algorithm inside a signature blob (keeping any trailer). */
function renameSignature(signature: Uint8Array, from: string, to: string): Uint8Array | null {
  try {
    const r = new SSHReader(signature);
    if (r.readStringAscii("signature algorithm", MAX_NAME) !== from) return null;
    const inner = r.readString("signature", MAX_SIGNATURE);
    r.assertEnd("signature");
    return new SSHWriter().writeStringUtf8(to).writeString(inner).toBytes();
  } catch {
    return null;
  }
}

/**
 * Verifies `signature` over `data` made by the key of `keyBlob` for the
 * negotiated `algorithm`: a plain signature algorithm (`rsa-sha2-512` with an
 * `ssh-rsa` blob), a certificate algorithm (`rsa-sha2-512-cert-v01@openssh.com`
 * with an `ssh-rsa-cert-v01@openssh.com` blob, the signature made by the
 * certified key) or an `x509v3-*` algorithm. The blob must be of the type the
 * algorithm needs. Only the signature is checked: whether a certificate is
 * trusted is for the caller, and so is whether a FIDO key's user touched it
 * (see {@link checkKeyBlobSignature}). Returns false on any problem; never throws.
 *
 * @example
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { encodePublicKeyBlob, signData } from "@sshts/ssh/core";
 * import { verifyKeyBlobSignature } from "./key_blob.ts";
 * const seed = new Uint8Array(32).fill(3);
 * const key = { type: "ed25519" as const, publicKey: ed25519.getPublicKey(seed), seed };
 * const data = new Uint8Array([1, 2, 3]);
 * const sig = signData(key, "ssh-ed25519", data);
 * console.log(verifyKeyBlobSignature("ssh-ed25519", encodePublicKeyBlob(key), sig, data)); // true
 * ```
 */
export function verifyKeyBlobSignature(
  algorithm: string,
  keyBlob: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): boolean {
  return checkKeyBlobSignature(algorithm, keyBlob, signature, data).valid;
}

const INVALID: SignatureCheck = Object.freeze({ valid: false });

/**
 * Checks a signature as {@link verifyKeyBlobSignature} does and, for a FIDO key
 * (`sk-*`, plain or certified), returns the flags and counter its authenticator
 * signed: user authentication must refuse a signature without user presence
 * unless the key's options waive it, as sshd does. Never throws.
 *
 * @example
 * ```ts
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * import { encodePublicKeyBlob, checkKeyBlobSignature } from "@sshts/ssh/core";
 * import { SSHWriter } from "../wire.ts";
 * import { skSignedMessage } from "./verify.ts";
 * const secret = new Uint8Array(32).fill(4), data = new Uint8Array([7]);
 * const key = { type: "sk-ed25519" as const, publicKey: ed25519.getPublicKey(secret), application: "ssh:" };
 * const sig = new SSHWriter().writeStringUtf8("sk-ssh-ed25519@openssh.com")
 *   .writeString(ed25519.sign(skSignedMessage("ssh:", 0x05, 3, data), secret))
 *   .writeByte(0x05).writeUint32(3).toBytes();
 * const r = checkKeyBlobSignature("sk-ssh-ed25519@openssh.com", encodePublicKeyBlob(key), sig, data);
 * console.log(r.valid && r.sk); // { flags: 5, counter: 3, userPresent: true, userVerified: true }
 * ```
 */
export function checkKeyBlobSignature(
  algorithm: string,
  keyBlob: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): SignatureCheck {
  try {
    if (isX509Algorithm(algorithm)) {
      const sigAlg = x509SignatureAlgorithm(algorithm);
      if (sigAlg === undefined) return INVALID;
      const { algorithm: blobAlg, key } = readX509CertifiedKey(keyBlob);
      if (blobAlg !== algorithm) return INVALID;
      if (sigAlg === "rsa2048-sha256") {
        // The same PKCS#1 v1.5 SHA-256 signature as rsa-sha2-256, under another name.
        const renamed = renameSignature(signature, sigAlg, "rsa-sha2-256");
        return renamed === null
          ? INVALID
          : checkSignature(key, renamed, data, { allowedAlgorithms: ["rsa-sha2-256"] });
      }
      return checkSignature(key, signature, data, { allowedAlgorithms: [sigAlg] });
    }
    if (isCertificateAlgorithm(algorithm)) {
      const certType = certificateTypeForAlgorithm(algorithm);
      const certified = readCertifiedKey(keyBlob);
      if (certType === undefined || certified.certificateType !== certType) return INVALID;
      return checkSignature(certified.key, signature, data, {
        allowedAlgorithms: [plainAlgorithm(algorithm)],
      });
    }
    const { algorithm: keyType, key } = parsePublicKeyBlob(keyBlob);
    // The algorithm must belong to the key's type (rsa-sha2-256 for ssh-rsa keys, and so on).
    if (keyTypeForSignatureAlgorithm(algorithm) !== keyType) return INVALID;
    return checkSignature(key, signature, data, { allowedAlgorithms: [algorithm] });
  } catch {
    return INVALID;
  }
}
