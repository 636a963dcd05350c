/**
 * {@link SSHKey}: one public or private key with its comment, and everything the
 * rest of the library asks of a key: algorithm names, the public blob,
 * fingerprints, export to every format, and (private keys) signing.
 *
 * @module
 */

import { signatureAlgorithmsForKey } from "../core/publickey/algorithms.ts";
import { encodePublicKeyBlob, parsePublicKeyBlob } from "../core/publickey/blob.ts";
import { signData } from "../core/publickey/sign.ts";
import type { KeyMaterial } from "../core/publickey/types.ts";
import { type VerifyOptions, verifySignature } from "../core/publickey/verify.ts";
import { LocalProtocolError } from "../core/errors.ts";
import type { RandomSource } from "../core/random.ts";
import { equalBytes } from "../core/wire.ts";
import {
  exportPrivateKeyMaterial,
  type ExportPrivateKeyOptions,
  exportPublicKeyMaterial,
  type PrivateKeyFormat,
  type PublicKeyFormat,
} from "./formats/export.ts";
import { fingerprintBlob, type FingerprintHash } from "./fingerprint.ts";
import { checkKeyMaterial, hasPrivate, keyBits, keyTypeName, publicOnly } from "./_material.ts";
import { KeyImportError } from "./errors.ts";

/** Whether two byte arrays hold the same bytes, stopping at the first difference (public data). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Public key formats {@link SSHKey.exportPublicKey} returns as text (the `-der` ones give bytes). */
export type TextPublicFormat = Exclude<PublicKeyFormat, "pkcs1-der" | "spki-der">;
/** Private key formats {@link SSHKey.exportPrivateKey} returns as text (the `-der` ones give bytes). */
export type TextPrivateFormat = Exclude<PrivateKeyFormat, "pkcs1-der" | "sec1-der" | "pkcs8-der">;

/**
 * A public or private SSH key. Create one with `importPrivateKey`,
 * `importPublicKey`, `generatePrivateKey`, {@link SSHKey.fromMaterial} or
 * {@link SSHKey.fromPublicBlob}.
 *
 * @example Fingerprint and export a key
 * ```ts
 * import { SSHKey } from "@sshts/ssh";
 * const key = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }, "me");
 * console.log(key.getAlgorithm(), key.getFingerprint().startsWith("SHA256:"));
 * console.log(key.exportPublicKey("openssh"));
 * ```
 */
export class SSHKey {
  /** The raw key material (private fields present for private keys). */
  readonly material: KeyMaterial;
  #comment: string;
  #blob: Uint8Array | undefined;
  /** The blob as OpenSSH serialises the material (differs from #blob only for odd encodings). */
  #canonical: Uint8Array | undefined;

  private constructor(material: KeyMaterial, comment: string) {
    this.material = material;
    this.#comment = comment;
  }

  /**
   * Wraps raw key material. Private material is checked for consistency (the
   * public part must follow from the private part); a bad key throws
   * {@link KeyImportError}.
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const k = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(2) });
   * console.log(k.hasPrivateKey()); // false
   * ```
   */
  static fromMaterial(material: KeyMaterial, comment = ""): SSHKey {
    checkKeyMaterial(material, "key");
    return new SSHKey(material, comment);
  }

  /**
   * Decodes an SSH public key blob (as sent on the wire).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const a = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(3) });
   * console.log(SSHKey.fromPublicBlob(a.publicBlob).equals(a)); // true
   * ```
   */
  static fromPublicBlob(blob: Uint8Array, comment = ""): SSHKey {
    let parsed;
    try {
      parsed = parsePublicKeyBlob(blob);
    } catch (e) {
      throw new KeyImportError(`Cannot import public key: ${(e as Error).message}`, { cause: e });
    }
    const key = new SSHKey(parsed.key, comment);
    key.#blob = blob.slice();
    return key;
  }

  /**
   * The key type name ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * console.log(SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }).getAlgorithm());
   * ```
   */
  getAlgorithm(): string {
    return keyTypeName(this.material);
  }

  /**
   * The signature algorithms this key can make, most preferred first
   * (RSA: rsa-sha2-512, rsa-sha2-256, ssh-rsa).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const k = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) });
   * console.log(k.getSigAlgorithms()); // ["ssh-ed25519"]
   * ```
   */
  getSigAlgorithms(): string[] {
    return [...signatureAlgorithmsForKey(this.material)];
  }

  /**
   * Size in bits as ssh-keygen reports it (256 for Ed25519, the modulus for RSA).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * console.log(SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }).getBits()); // 256
   * ```
   */
  getBits(): number {
    return keyBits(this.material);
  }

  /**
   * The SSH public key blob (RFC 4253 §6.6): what goes on the wire. A key read
   * with {@link fromPublicBlob} keeps the bytes it was read from, even an encoding
   * OpenSSH would not write (an mpint with leading zero bytes);
   * {@link getFingerprint} and {@link equals} go by the key, not by those bytes.
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * console.log(SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }).publicBlob.length); // 51
   * ```
   */
  get publicBlob(): Uint8Array {
    this.#blob ??= encodePublicKeyBlob(this.material);
    return this.#blob;
  }

  /**
   * True when this key can sign (holds a private part).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * console.log(SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }).hasPrivateKey()); // false
   * ```
   */
  hasPrivateKey(): boolean {
    return hasPrivate(this.material);
  }

  /**
   * The fingerprint exactly as `ssh-keygen -l` prints it: `SHA256:<unpadded
   * base64>` (default) or `MD5:<colon hex>`. As OpenSSH, of the key as it
   * serialises it: one key has one fingerprint, however a peer encoded its blob.
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const k = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) });
   * console.log(k.getFingerprint(), k.getFingerprint("md5"));
   * ```
   */
  getFingerprint(hash: FingerprintHash = "sha256"): string {
    return fingerprintBlob(this.#canonicalBlob(), hash);
  }

  /**
   * The blob as OpenSSH serialises this key. The parser accepts what OpenSSH
   * accepts (and normalises), such as mpints with leading zero bytes, so raw
   * blobs of one key can differ: a revocation list compared byte for byte
   * would miss the revoked key sent in another encoding.
   */
  #canonicalBlob(): Uint8Array {
    return this.#canonical ??= encodePublicKeyBlob(this.material);
  }

  /**
   * The comment (from the key file, or set with {@link setComment}).
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * console.log(SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }, "me").getComment()); // "me"
   * ```
   */
  getComment(): string {
    return this.#comment;
  }

  /**
   * Replaces the comment.
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const k = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) });
   * k.setComment("deploy@ci");
   * console.log(k.getComment()); // "deploy@ci"
   * ```
   */
  setComment(comment: string): void {
    this.#comment = comment;
  }

  /**
   * The public half as its own key (same comment).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(k.publicKey().hasPrivateKey()); // false
   * ```
   */
  publicKey(): SSHKey {
    const k = new SSHKey(publicOnly(this.material), this.#comment);
    k.#blob = this.#blob;
    k.#canonical = this.#canonical;
    return k;
  }

  /**
   * True when both keys have the same public part (as OpenSSH's `sshkey_equal`:
   * the key, whichever encoding either blob was read from).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(k.equals(k.publicKey())); // true
   * ```
   */
  equals(other: SSHKey): boolean {
    if (this === other) return true;
    const a = this.material;
    const b = other.material;
    // Each type has its own type name, the blob's first field.
    if (a.type !== b.type) return false;
    // The bytes each was read from, when both were: the same bytes are the same key. A plain
    // byte compare, where encoding a key from its numbers costs (an RSA-4096 key 40 µs, and
    // authorized_keys is searched with every line's key).
    if (
      this.#blob !== undefined && other.#blob !== undefined && sameBytes(this.#blob, other.#blob)
    ) {
      return true;
    }
    // Otherwise the numbers themselves, which the canonical blob encodes one to one (two
    // encodings of one key differ only in their mpints' leading zero bytes).
    if (a.type === "rsa" && b.type === "rsa") return a.n === b.n && a.e === b.e;
    if (a.type === "dsa" && b.type === "dsa") {
      return a.p === b.p && a.q === b.q && a.g === b.g && a.y === b.y;
    }
    return equalBytes(this.#canonicalBlob(), other.#canonicalBlob());
  }

  /**
   * Signs `data` and returns the SSH signature blob (`string algorithm, string
   * signature`). `algorithm` defaults to the key's preferred one (rsa-sha2-512 for
   * RSA); `random` blinds RSA. A public key, or an algorithm the key cannot make,
   * throws {@link LocalProtocolError}.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "@sshts/ssh";
   * const key = generatePrivateKey("ed25519");
   * const data = new TextEncoder().encode("hello");
   * console.log(key.publicKey().verify(data, key.sign(data))); // true
   * ```
   */
  sign(data: Uint8Array, algorithm?: string, random?: RandomSource): Uint8Array {
    if (!this.hasPrivateKey()) {
      throw new LocalProtocolError("Cannot sign: this key has no private part");
    }
    return signData(this.material, algorithm ?? this.getSigAlgorithms()[0]!, data, random);
  }

  /**
   * Verifies an SSH signature blob over `data`. Never throws for bad input: a
   * malformed, wrong or disallowed signature (ssh-rsa and ssh-dss are refused
   * unless `options.allowedAlgorithms` lists them) gives false.
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "@sshts/ssh";
   * const key = generatePrivateKey("ecdsa");
   * const data = new TextEncoder().encode("hello");
   * console.log(key.verify(data, key.sign(data)), key.verify(data, new Uint8Array(3))); // true false
   * ```
   */
  verify(data: Uint8Array, signature: Uint8Array, options?: VerifyOptions): boolean {
    return verifySignature(this.material, signature, data, options);
  }

  /**
   * Encodes the public key. Text formats return a string, `-der` formats bytes.
   *
   * @example
   * ```ts
   * import { SSHKey } from "@sshts/ssh";
   * const k = SSHKey.fromMaterial({ type: "ed25519", publicKey: new Uint8Array(32).fill(1) }, "me");
   * console.log(k.exportPublicKey("rfc4716"));
   * ```
   */
  exportPublicKey(format?: TextPublicFormat): string;
  /** Encodes the public key as DER bytes (PKCS#1 for RSA only, or SubjectPublicKeyInfo). */
  exportPublicKey(format: "pkcs1-der" | "spki-der"): Uint8Array;
  /** Encodes the public key in any format: a string for text formats, bytes for `-der`. */
  exportPublicKey(format: PublicKeyFormat): string | Uint8Array;
  exportPublicKey(format: PublicKeyFormat = "openssh"): string | Uint8Array {
    return exportPublicKeyMaterial(this.material, this.#comment, format);
  }

  /**
   * Encodes the private key, encrypted when `options.passphrase` is given
   * (OpenSSH format: bcrypt_pbkdf + aes256-ctr by default).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519", { comment: "me" });
   * console.log(k.exportPrivateKey("openssh", { passphrase: "s3cret", rounds: 2 }).split("\n")[0]);
   * ```
   */
  exportPrivateKey(format?: TextPrivateFormat, options?: ExportPrivateKeyOptions): string;
  /** Encodes the private key as DER bytes (PKCS#1 for RSA, SEC1 for ECDSA, or PKCS#8). */
  exportPrivateKey(
    format: "pkcs1-der" | "sec1-der" | "pkcs8-der",
    options?: ExportPrivateKeyOptions,
  ): Uint8Array;
  /** Encodes the private key in any format: a string for text formats, bytes for `-der`. */
  exportPrivateKey(
    format: PrivateKeyFormat,
    options?: ExportPrivateKeyOptions,
  ): string | Uint8Array;
  exportPrivateKey(
    format: PrivateKeyFormat = "openssh",
    options: ExportPrivateKeyOptions = {},
  ): string | Uint8Array {
    return exportPrivateKeyMaterial(this.material, this.#comment, format, options);
  }
}
