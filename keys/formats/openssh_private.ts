/**
 * OpenSSH's own private key format, `openssh-key-v1` (OpenSSH PROTOCOL.key): the
 * body of "OPENSSH PRIVATE KEY" PEM blocks, unencrypted or encrypted with
 * bcrypt_pbkdf and one of the ciphers `ssh-keygen -Z` offers.
 *
 * Layout: magic "openssh-key-v1\0", cipher name, kdf name, kdf options, key count
 * (always 1), the public key blob, then the (encrypted) private section:
 * two equal check integers, the private key fields, the comment, and padding
 * 1, 2, 3, ... to the cipher's block size. A wrong passphrase shows up as
 * differing check integers (or a failed tag for the AEAD ciphers).
 *
 * @module
 */

import type { KeyMaterial } from "../../core/publickey/types.ts";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { concatBytes, equalBytes, SSHReader, SSHWriter, utf8 } from "../../core/wire.ts";
import { WireError } from "../../core/errors.ts";
import { bcryptPbkdf } from "../_crypto/bcrypt_pbkdf.ts";
import { encodePublicKeyBlob } from "../../core/publickey/blob.ts";
import { curveByName, CURVES, padScalar } from "../_curves.ts";
import { completeRsa, keyTypeName } from "../_material.ts";
import { KEY_FILE_CIPHERS } from "../_crypto/openssh_ciphers.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";

const lossyUtf8 = new TextDecoder("utf-8");

/** The magic string that starts every openssh-key-v1 file. */
const MAGIC = utf8("openssh-key-v1\0");

/** Largest bcrypt round count we run unless the caller raises it: ~13 s of work. */
export const DEFAULT_MAX_KDF_ROUNDS = 1024;

/** Default for new files, as ssh-keygen: aes256-ctr, 16 rounds, 16-byte salt. */
export const DEFAULT_KEY_FILE_CIPHER = "aes256-ctr";
/** ssh-keygen's default bcrypt round count (`-a`). */
export const DEFAULT_KDF_ROUNDS = 16;
const SALT_LENGTH = 16;

/** What can be learned from a key file without the passphrase. */
export interface OpenSSHKeyFileInfo {
  /** Cipher name ("none" when not encrypted). */
  readonly cipher: string;
  /** KDF name ("none" or "bcrypt"). */
  readonly kdf: string;
  /** bcrypt rounds, when encrypted. */
  readonly rounds?: number;
  /** The public key blob stored in clear. */
  readonly publicBlob: Uint8Array;
  /** True when a passphrase is needed. */
  readonly encrypted: boolean;
}

/** A decrypted private key and its comment. */
export interface DecodedPrivateKey {
  readonly key: KeyMaterial;
  readonly comment: string;
}

/** Options for decoding. */
export interface OpenSSHDecodeOptions {
  /** Refuse files whose bcrypt rounds exceed this (default {@link DEFAULT_MAX_KDF_ROUNDS}). */
  readonly maxKdfRounds?: number;
}

/** Options for encoding. */
export interface OpenSSHEncodeOptions {
  /** Encrypts the file when given (a non-empty passphrase). */
  readonly passphrase?: string | Uint8Array;
  /** Cipher (default aes256-ctr). */
  readonly cipher?: string;
  /** bcrypt rounds (default 16). */
  readonly rounds?: number;
  /** Randomness for the salt and check integers. */
  readonly random?: RandomSource;
}

/**
 * True when `bin` starts with the openssh-key-v1 magic.
 *
 * @example
 * ```ts
 * import { isOpenSSHPrivateKey } from "./openssh_private.ts";
 * console.log(isOpenSSHPrivateKey(new TextEncoder().encode("openssh-key-v1\0..."))); // true
 * ```
 */
export function isOpenSSHPrivateKey(bin: Uint8Array): boolean {
  return bin.length >= MAGIC.length && equalBytes(bin.subarray(0, MAGIC.length), MAGIC);
}

interface Outer extends OpenSSHKeyFileInfo {
  readonly salt: Uint8Array;
  readonly encryptedSection: Uint8Array;
  readonly tag: Uint8Array;
}

function readOuter(bin: Uint8Array): Outer {
  if (!isOpenSSHPrivateKey(bin)) fail("missing openssh-key-v1 magic");
  const r = new SSHReader(bin, MAGIC.length);
  const cipher = r.readStringAscii("cipher name", 64);
  const kdf = r.readStringAscii("kdf name", 64);
  const kdfOptions = r.readString("kdf options", 1024);
  const count = r.readUint32("key count");
  if (count !== 1) fail(`it holds ${count} keys; exactly 1 is supported`);
  const publicBlob = r.readString("public key", 64 * 1024);
  const c = KEY_FILE_CIPHERS.get(cipher);
  if (!c) fail(`unsupported cipher '${cipher}'`);
  const encryptedSection = r.readString("private section", 256 * 1024);
  const tag = r.readBytes(c.tagLength, "authentication tag");
  r.assertEnd("OpenSSH private key");
  let salt: Uint8Array = new Uint8Array(0);
  let rounds: number | undefined;
  if (kdf === "bcrypt") {
    const k = new SSHReader(kdfOptions);
    salt = k.readString("bcrypt salt", 1024);
    rounds = k.readUint32("bcrypt rounds");
    k.assertEnd("bcrypt options");
    if (cipher === "none") fail("kdf 'bcrypt' with cipher 'none'");
  } else if (kdf === "none") {
    if (cipher !== "none") fail(`cipher '${cipher}' without a kdf`);
    if (kdfOptions.length !== 0) fail("kdf 'none' with options");
  } else {
    fail(`unsupported kdf '${kdf}'`);
  }
  if (encryptedSection.length % c.blockSize !== 0) {
    fail(`private section length ${encryptedSection.length} is not a multiple of ${c.blockSize}`);
  }
  return {
    cipher,
    kdf,
    ...(rounds !== undefined ? { rounds } : {}),
    publicBlob,
    encrypted: cipher !== "none",
    salt,
    encryptedSection,
    tag,
  };
}

function fail(why: string): never {
  throw new KeyImportError(`Cannot import OpenSSH private key: ${why}`);
}

/** Runs a parse step, turning wire errors into KeyImportError. */
function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KeyImportError) throw e;
    if (e instanceof WireError) fail(e.message);
    throw e;
  }
}

/**
 * Reads the parts of a key file that are stored in clear (no passphrase needed).
 *
 * @example
 * ```ts
 * import { encodeOpenSSHPrivateKey, inspectOpenSSHPrivateKey } from "./openssh_private.ts";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * const seed = new Uint8Array(32).fill(1);
 * const key = { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed } as const;
 * console.log(inspectOpenSSHPrivateKey(encodeOpenSSHPrivateKey(key, "me")).encrypted); // false
 * ```
 */
export function inspectOpenSSHPrivateKey(bin: Uint8Array): OpenSSHKeyFileInfo {
  const o = guarded(() => readOuter(bin));
  return {
    cipher: o.cipher,
    kdf: o.kdf,
    ...(o.rounds !== undefined ? { rounds: o.rounds } : {}),
    publicBlob: o.publicBlob,
    encrypted: o.encrypted,
  };
}

function passphraseBytes(p: string | Uint8Array): Uint8Array {
  return typeof p === "string" ? utf8(p) : p;
}

/**
 * Decodes (and decrypts) an openssh-key-v1 file body.
 * An encrypted file without `passphrase`, or with a wrong one, throws
 * {@link KeyImportError} saying so.
 *
 * @example Round trip with a passphrase
 * ```ts
 * import { decodeOpenSSHPrivateKey, encodeOpenSSHPrivateKey } from "./openssh_private.ts";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * const seed = new Uint8Array(32).fill(1);
 * const key = { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed } as const;
 * const bin = encodeOpenSSHPrivateKey(key, "me", { passphrase: "pw", rounds: 1 });
 * console.log(decodeOpenSSHPrivateKey(bin, "pw").comment); // "me"
 * ```
 */
export function decodeOpenSSHPrivateKey(
  bin: Uint8Array,
  passphrase?: string | Uint8Array,
  options: OpenSSHDecodeOptions = {},
): DecodedPrivateKey {
  const o = guarded(() => readOuter(bin));
  const cipher = KEY_FILE_CIPHERS.get(o.cipher)!;
  let plain = o.encryptedSection;
  if (o.encrypted) {
    if (passphrase === undefined || passphrase.length === 0) {
      throw new KeyImportError(
        "Cannot import private key: it is encrypted and no passphrase was given",
      );
    }
    const maxRounds = options.maxKdfRounds ?? DEFAULT_MAX_KDF_ROUNDS;
    const rounds = o.rounds!;
    if (rounds < 1 || rounds > maxRounds) {
      fail(`bcrypt rounds ${rounds} outside 1..${maxRounds} (raise maxKdfRounds to allow)`);
    }
    if (o.salt.length === 0) fail("empty bcrypt salt");
    const keyIv = bcryptPbkdf(
      passphraseBytes(passphrase),
      o.salt,
      cipher.keyLength + cipher.ivLength,
      rounds,
    );
    const dec = cipher.decrypt(
      keyIv.subarray(0, cipher.keyLength),
      keyIv.subarray(cipher.keyLength),
      o.encryptedSection,
      o.tag,
    );
    if (!dec) throw new KeyImportError("Cannot import private key: incorrect passphrase");
    plain = dec;
  }
  return guarded(() => {
    const r = new SSHReader(plain);
    const check1 = r.readUint32("check integer");
    const check2 = r.readUint32("check integer");
    if (check1 !== check2) {
      if (o.encrypted) throw new KeyImportError("Cannot import private key: incorrect passphrase");
      fail("check integers differ (corrupt file)");
    }
    const key = readPrivateFields(r);
    // ssh-keygen stores whatever bytes it was given (a Latin-1 "café" too): a comment that
    // is not UTF-8 reads with U+FFFD in place of the bad bytes (as a .pub line does), not
    // as an unreadable key.
    const comment = lossyUtf8.decode(r.readString("comment", 64 * 1024));
    // Padding is 1, 2, 3, ... up to the block size.
    for (let i = 1; r.remaining > 0; i++) {
      if (r.readByte("padding") !== (i & 0xff)) fail("invalid padding");
    }
    if (!equalBytes(encodePublicKeyBlob(key), o.publicBlob)) {
      fail("the public key does not match the private key");
    }
    return { key, comment };
  });
}

/**
 * Reads the key type and private fields (sshkey_private_deserialize): the body of
 * a key file's private section, and of an agent's add-identity request.
 * Malformed input throws {@link KeyImportError} or a `WireError`.
 */
export function readPrivateFields(r: SSHReader): KeyMaterial {
  const type = r.readStringAscii("key type", 256);
  const mp = (what: string) => {
    const v = r.readMpint(what, 2049);
    if (v < 0n) fail(`${what} is negative`);
    return v;
  };
  switch (type) {
    case "ssh-ed25519": {
      const publicKey = r.readString("Ed25519 public key");
      const secret = r.readString("Ed25519 private key");
      if (publicKey.length !== 32 || secret.length !== 64) fail("Ed25519 key has a wrong length");
      const seed = secret.slice(0, 32);
      if (!equalBytes(secret.subarray(32), publicKey)) {
        fail("Ed25519 private key does not contain its public key");
      }
      return { type: "ed25519", publicKey: publicKey.slice(), seed };
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521": {
      const curveName = r.readStringAscii("curve name", 64);
      const info = curveByName(curveName);
      if (!info || `ecdsa-sha2-${curveName}` !== type) {
        fail(`curve '${curveName}' does not match key type ${type}`);
      }
      const publicKey = r.readString("EC point", 1024).slice();
      const d = r.readMpintMagnitude("EC private scalar", info.size + 1);
      const privateKey = padScalar(info, d);
      if (!privateKey) fail(`EC private scalar is too long for ${curveName}`);
      return { type: "ecdsa", curve: info.name, publicKey, privateKey };
    }
    case "ssh-rsa": {
      const n = mp("n"), e = mp("e"), d = mp("d"), qi = mp("iqmp"), p = mp("p"), q = mp("q");
      return completeRsa({ type: "rsa", n, e, d, p, q, qi });
    }
    case "ssh-dss": {
      const p = mp("p"), q = mp("q"), g = mp("g"), y = mp("y"), x = mp("x");
      return { type: "dsa", p, q, g, y, x };
    }
    case "sk-ssh-ed25519@openssh.com":
    case "sk-ecdsa-sha2-nistp256@openssh.com":
      throw new KeyImportError(
        `Cannot import private key: ${type} keys live on a security key; signing with them ` +
          "needs the authenticator, which is not supported",
      );
    default:
      return fail(`unsupported key type '${type}'`);
  }
}

/**
 * Writes the key type and private fields (sshkey_private_serialize), as key files
 * and agent add-identity requests carry them. Throws {@link KeyExportError} for a
 * public key or a type that cannot be written.
 */
export function writePrivateFields(w: SSHWriter, k: KeyMaterial): void {
  w.writeStringUtf8(keyTypeName(k));
  switch (k.type) {
    case "ed25519":
      if (!k.seed) break;
      w.writeString(k.publicKey).writeString(concatBytes(k.seed, k.publicKey));
      return;
    case "ecdsa":
      if (!k.privateKey) break;
      w.writeStringUtf8(k.curve).writeString(k.publicKey)
        .writeMpintMagnitude(padScalar(CURVES[k.curve], k.privateKey)!);
      return;
    case "rsa": {
      const c = completeRsa(k);
      if (c.d === undefined || c.p === undefined || c.q === undefined) break;
      w.writeMpint(c.n).writeMpint(c.e).writeMpint(c.d).writeMpint(c.qi!)
        .writeMpint(c.p).writeMpint(c.q);
      return;
    }
    case "dsa":
      if (k.x === undefined) break;
      w.writeMpint(k.p).writeMpint(k.q).writeMpint(k.g).writeMpint(k.y).writeMpint(k.x);
      return;
    default:
      throw new KeyExportError(`Cannot export ${k.type} key in OpenSSH format: not supported`);
  }
  throw new KeyExportError("Cannot export private key: the key has no private part");
}

/**
 * Encodes a private key as an openssh-key-v1 file body (wrap it with
 * `encodePem("OPENSSH PRIVATE KEY", body, { lineWidth: 70 })`). With a
 * passphrase the file is encrypted with bcrypt_pbkdf and `cipher`.
 *
 * @example
 * ```ts
 * import { encodeOpenSSHPrivateKey } from "./openssh_private.ts";
 * import { ed25519 } from "@noble/curves/ed25519.js";
 * const seed = new Uint8Array(32).fill(1);
 * const key = { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed } as const;
 * console.log(encodeOpenSSHPrivateKey(key, "me").length > 100); // true
 * ```
 */
export function encodeOpenSSHPrivateKey(
  key: KeyMaterial,
  comment: string,
  options: OpenSSHEncodeOptions = {},
): Uint8Array {
  const random = options.random ?? systemRandom;
  const encrypt = options.passphrase !== undefined && options.passphrase.length > 0;
  const cipherName = encrypt ? options.cipher ?? DEFAULT_KEY_FILE_CIPHER : "none";
  const cipher = KEY_FILE_CIPHERS.get(cipherName);
  if (!cipher || (encrypt && cipherName === "none")) {
    throw new KeyExportError(
      `Cannot export OpenSSH private key: unsupported cipher '${cipherName}'`,
    );
  }
  const rounds = options.rounds ?? DEFAULT_KDF_ROUNDS;
  if (encrypt && (!Number.isInteger(rounds) || rounds < 1 || rounds > 0xffffffff)) {
    throw new KeyExportError(`Cannot export OpenSSH private key: invalid rounds ${rounds}`);
  }
  const inner = new SSHWriter();
  const check = random(4);
  inner.writeBytes(check).writeBytes(check);
  writePrivateFields(inner, key);
  inner.writeStringUtf8(comment);
  for (let i = 1; inner.length % cipher.blockSize !== 0; i++) inner.writeByte(i);
  let section = inner.toBytes();
  let tag: Uint8Array = new Uint8Array(0);
  let kdfOptions: Uint8Array = new Uint8Array(0);
  if (encrypt) {
    const salt = random(SALT_LENGTH);
    kdfOptions = new SSHWriter().writeString(salt).writeUint32(rounds).toBytes();
    const keyIv = bcryptPbkdf(
      passphraseBytes(options.passphrase!),
      salt,
      cipher.keyLength + cipher.ivLength,
      rounds,
    );
    const out = cipher.encrypt(
      keyIv.subarray(0, cipher.keyLength),
      keyIv.subarray(cipher.keyLength),
      section,
    );
    section = out.data;
    tag = out.tag;
  }
  return new SSHWriter(section.length + 512)
    .writeBytes(MAGIC)
    .writeStringUtf8(cipherName)
    .writeStringUtf8(encrypt ? "bcrypt" : "none")
    .writeString(kdfOptions)
    .writeUint32(1)
    .writeString(encodePublicKeyBlob(key))
    .writeString(section)
    .writeBytes(tag)
    .toBytes();
}
