/**
 * Writing keys in every format we support. {@link SSHKey}'s `exportPublicKey` and
 * `exportPrivateKey` call these; they work on raw {@link KeyMaterial}.
 *
 * Text formats come back as strings (ending in a newline), DER formats as bytes.
 *
 * @module
 */

import { encodePublicKeyBlob } from "../../core/publickey/blob.ts";
import type { KeyMaterial } from "../../core/publickey/types.ts";
import type { RandomSource } from "../../core/random.ts";
import { hasPrivate } from "../_material.ts";
import { encodeOpenSSHPrivateKey } from "./openssh_private.ts";
import { encryptLegacyPem } from "./openssl_pem.ts";
import { encodePem } from "./pem.ts";
import {
  encodeOpensslDsaPrivateKey,
  encodePkcs1PrivateKey,
  encodePkcs1PublicKey,
} from "./pkcs1.ts";
import { encodePkcs8PrivateKey } from "./pkcs8.ts";
import { encryptPkcs8 } from "./pkcs8_encrypted.ts";
import { formatOpenSSHPublicKeyLine, formatRfc4716 } from "./public_formats.ts";
import { encodeSec1PrivateKey } from "./sec1.ts";
import { encodeSpki } from "./spki.ts";
import { KeyExportError } from "../errors.ts";

/** Public key formats: text ones give a string, `-der` ones bytes. */
export type PublicKeyFormat =
  | "openssh"
  | "rfc4716"
  | "pkcs1-pem"
  | "pkcs1-der"
  | "spki-pem"
  | "spki-der";

/**
 * Private key formats. `pem` is what `ssh-keygen -m PEM` writes: PKCS#1 for RSA,
 * SEC1 for ECDSA, OpenSSL's DSA form, and PKCS#8 for Ed25519 (which has no other
 * PEM form).
 */
export type PrivateKeyFormat =
  | "openssh"
  | "pem"
  | "pkcs1-pem"
  | "pkcs1-der"
  | "sec1-pem"
  | "sec1-der"
  | "pkcs8-pem"
  | "pkcs8-der";

/** Options for {@link exportPrivateKeyMaterial}. */
export interface ExportPrivateKeyOptions {
  /** Encrypt with this passphrase (not possible for PKCS#1 and SEC1 DER). */
  readonly passphrase?: string | Uint8Array;
  /**
   * Cipher: for "openssh" an OpenSSH name (default "aes256-ctr"; also aes128/192-ctr,
   * aes128/256-gcm@openssh.com, chacha20-poly1305@openssh.com, aes*-cbc); for PKCS#8
   * an OpenSSL name (default "aes-256-cbc"); for legacy PEM (default "aes-128-cbc",
   * as ssh-keygen).
   */
  readonly cipher?: string;
  /** bcrypt rounds for "openssh" (default 16), PBKDF2 iterations for PKCS#8 (default 2048). */
  readonly rounds?: number;
  /** Randomness for salts, IVs and check integers. */
  readonly random?: RandomSource;
}

/**
 * Encodes a public key in `format`.
 *
 * @example
 * ```ts
 * import { exportPublicKeyMaterial } from "./export.ts";
 * const k = { type: "ed25519", publicKey: new Uint8Array(32).fill(1) } as const;
 * console.log((exportPublicKeyMaterial(k, "me", "openssh") as string).startsWith("ssh-ed25519 "));
 * ```
 */
export function exportPublicKeyMaterial(
  key: KeyMaterial,
  comment: string,
  format: PublicKeyFormat,
): string | Uint8Array {
  switch (format) {
    case "openssh":
      return formatOpenSSHPublicKeyLine(encodePublicKeyBlob(key), comment);
    case "rfc4716":
      return formatRfc4716(encodePublicKeyBlob(key), comment);
    case "pkcs1-pem":
    case "pkcs1-der": {
      if (key.type !== "rsa") {
        throw new KeyExportError(
          `Cannot export ${key.type} public key as PKCS#1: it holds only RSA`,
        );
      }
      const der = encodePkcs1PublicKey(key);
      return format === "pkcs1-der" ? der : encodePem("RSA PUBLIC KEY", der);
    }
    case "spki-pem":
    case "spki-der": {
      const der = encodeSpki(key);
      return format === "spki-der" ? der : encodePem("PUBLIC KEY", der);
    }
    default:
      throw new KeyExportError(`Cannot export public key: unknown format '${format}'`);
  }
}

/**
 * Encodes a private key in `format`, encrypted when a passphrase is given.
 *
 * @example
 * ```ts
 * import { exportPrivateKeyMaterial } from "./export.ts";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * const seed = new Uint8Array(32).fill(1);
 * const k = { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed } as const;
 * const text = exportPrivateKeyMaterial(k, "me", "openssh") as string;
 * console.log(text.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----")); // true
 * ```
 */
export function exportPrivateKeyMaterial(
  key: KeyMaterial,
  comment: string,
  format: PrivateKeyFormat,
  options: ExportPrivateKeyOptions = {},
): string | Uint8Array {
  if (!hasPrivate(key)) {
    throw new KeyExportError("Cannot export private key: this key has only a public part");
  }
  const encrypt = options.passphrase !== undefined && options.passphrase.length > 0;
  const random = options.random !== undefined ? { random: options.random } : {};
  if (format === "pem") {
    if (key.type === "rsa") format = "pkcs1-pem";
    else if (key.type === "ecdsa") format = "sec1-pem";
    else if (key.type === "ed25519") format = "pkcs8-pem";
  }
  const traditional = (label: string, der: Uint8Array): string => {
    if (!encrypt) return encodePem(label, der);
    const { headers, body } = encryptLegacyPem(der, options.passphrase!, {
      ...(options.cipher !== undefined ? { cipher: options.cipher } : {}),
      ...random,
    });
    return encodePem(label, body, headers);
  };
  const derOnly = (der: Uint8Array, what: string): Uint8Array => {
    if (encrypt) {
      throw new KeyExportError(
        `Cannot export ${what} DER with a passphrase: the format has no encryption (use PKCS#8)`,
      );
    }
    return der;
  };
  switch (format) {
    case "openssh":
      return encodePem(
        "OPENSSH PRIVATE KEY",
        encodeOpenSSHPrivateKey(key, comment, {
          ...(encrypt ? { passphrase: options.passphrase! } : {}),
          ...(options.cipher !== undefined ? { cipher: options.cipher } : {}),
          ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
          ...random,
        }),
        undefined,
        70,
      );
    case "pem":
      if (key.type === "dsa") {
        return traditional("DSA PRIVATE KEY", encodeOpensslDsaPrivateKey(key));
      }
      break;
    case "pkcs1-pem":
    case "pkcs1-der":
      if (key.type !== "rsa") break;
      return format === "pkcs1-pem"
        ? traditional("RSA PRIVATE KEY", encodePkcs1PrivateKey(key))
        : derOnly(encodePkcs1PrivateKey(key), "PKCS#1");
    case "sec1-pem":
    case "sec1-der":
      if (key.type !== "ecdsa") break;
      return format === "sec1-pem"
        ? traditional("EC PRIVATE KEY", encodeSec1PrivateKey(key))
        : derOnly(encodeSec1PrivateKey(key), "SEC1");
    case "pkcs8-pem":
    case "pkcs8-der": {
      let der = encodePkcs8PrivateKey(key);
      if (encrypt) {
        der = encryptPkcs8(der, options.passphrase!, {
          ...(options.cipher !== undefined ? { cipher: options.cipher } : {}),
          ...(options.rounds !== undefined ? { iterations: options.rounds } : {}),
          ...random,
        });
      }
      if (format === "pkcs8-der") return der;
      return encodePem(encrypt ? "ENCRYPTED PRIVATE KEY" : "PRIVATE KEY", der);
    }
    default:
      throw new KeyExportError(`Cannot export private key: unknown format '${format}'`);
  }
  throw new KeyExportError(`Cannot export ${key.type} private key as ${format}: no such encoding`);
}
