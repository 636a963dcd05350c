/**
 * Reading keys in any supported format, with the format detected from the data:
 * OpenSSH (`openssh-key-v1`, encrypted or not), PKCS#1, SEC1, OpenSSL DSA and
 * PKCS#8 (plain or encrypted) as PEM or DER, OpenSSL's legacy encrypted PEM,
 * and for public keys the OpenSSH one-line form, RFC 4716, PKCS#1, SPKI and raw
 * SSH blobs.
 *
 * Every failure is a {@link KeyImportError} saying what was wrong; a wrong
 * passphrase says "incorrect passphrase".
 *
 * @module
 */

import type { KeyMaterial } from "../../core/publickey/types.ts";
import { Asn1Error, DerReader } from "./asn1.ts";
import { checkKeyMaterial } from "../_material.ts";
import { decodeOpenSSHPrivateKey, isOpenSSHPrivateKey } from "./openssh_private.ts";
import { decryptLegacyPem, isLegacyEncryptedPem } from "./openssl_pem.ts";
import { parsePem, type PemBlock } from "./pem.ts";
import { parseOpensslDsaPrivateKey, parsePkcs1PrivateKey, parsePkcs1PublicKey } from "./pkcs1.ts";
import { parsePkcs8PrivateKey } from "./pkcs8.ts";
import { decryptPkcs8 } from "./pkcs8_encrypted.ts";
import { parseOpenSSHPublicKeyLine, parseRfc4716 } from "./public_formats.ts";
import { parseSec1PrivateKey } from "./sec1.ts";
import { isPuttyPrivateKey, parsePuttyPrivateKey } from "./putty.ts";
import { parseSpki } from "./spki.ts";
import { SSHKey } from "../ssh_key.ts";
import { KeyImportError } from "../errors.ts";

/** Options for {@link importPrivateKey}. */
export interface ImportPrivateKeyOptions {
  /** Passphrase for an encrypted key. */
  readonly passphrase?: string | Uint8Array;
  /** Most bcrypt rounds to run for an OpenSSH key (default 1024, ~13 s). */
  readonly maxKdfRounds?: number;
  /** Most PBKDF2 iterations to run for PKCS#8 (default 1,000,000). */
  readonly maxIterations?: number;
  /**
   * Most Argon2 cost (memory in KiB × passes) to run for a PuTTY v3 key (default
   * 688,128: four times PuTTY's default, about 3 s).
   */
  readonly maxArgon2Cost?: number;
}

const PRIVATE_LABELS = new Set([
  "OPENSSH PRIVATE KEY",
  "RSA PRIVATE KEY",
  "EC PRIVATE KEY",
  "DSA PRIVATE KEY",
  "PRIVATE KEY",
  "ENCRYPTED PRIVATE KEY",
]);

const textDecoder = new TextDecoder("utf-8");

function normalize(
  p: string | Uint8Array | ImportPrivateKeyOptions | undefined,
): ImportPrivateKeyOptions {
  if (p === undefined) return {};
  if (typeof p === "string" || p instanceof Uint8Array) return { passphrase: p };
  return p;
}

/**
 * Turns any Error raised while decoding into a KeyImportError (the original as its
 * cause): decoding runs other libraries' code (@noble's KDFs and curves throw plain
 * Error on parameters a file chose), and a caller matches on one class and code.
 */
export function asImportError(e: unknown, what: string): KeyImportError {
  if (e instanceof KeyImportError) return e;
  if (e instanceof Error) {
    return new KeyImportError(`Cannot import ${what}: ${e.message}`, { cause: e });
  }
  throw e;
}

function needPassphrase(o: ImportPrivateKeyOptions): string | Uint8Array {
  if (o.passphrase === undefined || o.passphrase.length === 0) {
    throw new KeyImportError(
      "Cannot import private key: it is encrypted and no passphrase was given",
    );
  }
  return o.passphrase;
}

/**
 * Parses decrypted DER. CBC with a wrong key still yields valid padding about once
 * in 256 tries; the garbage then fails to parse, which is reported as a wrong
 * passphrase. But when the plaintext is one whole DER SEQUENCE that starts with a version
 * (garbage is that about once in 2^40 tries), the passphrase was right and the key inside is what
 * cannot be read (EC explicit parameters, an unsupported algorithm): that error is
 * thrown as it is, not as "incorrect passphrase".
 */
function afterDecrypt(der: Uint8Array, parse: (d: Uint8Array) => KeyMaterial): KeyMaterial {
  try {
    return parse(der);
  } catch (e) {
    if (e instanceof KeyImportError) {
      if (isOneDerSequence(der)) throw e;
      throw new KeyImportError("Cannot import private key: incorrect passphrase", { cause: e });
    }
    throw e;
  }
}

/**
 * True when `der` is exactly one well-formed DER SEQUENCE that starts with a version
 * INTEGER 0 or 1 (PKCS#8, PKCS#1 and SEC1 all do): random bytes are that about once in
 * 2^40 tries.
 */
function isOneDerSequence(der: Uint8Array): boolean {
  try {
    const top = new DerReader(der, "decrypted private key");
    const seq = top.readSequence("decrypted private key");
    top.assertEnd();
    const version = seq.readInteger("version");
    return version === 0n || version === 1n;
  } catch {
    return false;
  }
}

/** Sniffs which DER private key structure `der` is and decodes it. */
function parsePrivateDer(der: Uint8Array, o: ImportPrivateKeyOptions): KeyMaterial {
  const top = new DerReader(der, "DER private key");
  const seq = top.readSequence("DER private key");
  const first = seq.read("first element");
  if (first.tag === 0x30) {
    const pw = needPassphrase(o);
    const opts = o.maxIterations !== undefined ? { maxIterations: o.maxIterations } : {};
    return afterDecrypt(decryptPkcs8(der, pw, opts), parsePkcs8PrivateKey);
  }
  if (first.tag !== 0x02) {
    throw new KeyImportError("Cannot import private key: unrecognized DER structure");
  }
  const second = seq.peekTag();
  if (second === 0x30) return parsePkcs8PrivateKey(der);
  if (second === 0x04) return parseSec1PrivateKey(der);
  let count = 1;
  while (!seq.done) {
    seq.read("element");
    count++;
  }
  if (count === 9) return parsePkcs1PrivateKey(der);
  if (count === 6) return parseOpensslDsaPrivateKey(der);
  throw new KeyImportError("Cannot import private key: unrecognized DER structure");
}

function parsePrivatePem(
  block: PemBlock,
  o: ImportPrivateKeyOptions,
): { key: KeyMaterial; comment: string } {
  const parsers: Record<string, (d: Uint8Array) => KeyMaterial> = {
    "RSA PRIVATE KEY": parsePkcs1PrivateKey,
    "EC PRIVATE KEY": (d) => parseSec1PrivateKey(d),
    "DSA PRIVATE KEY": parseOpensslDsaPrivateKey,
    "PRIVATE KEY": parsePkcs8PrivateKey,
  };
  if (block.label === "OPENSSH PRIVATE KEY") {
    return decodeOpenSSHPrivateKey(block.body, o.passphrase, {
      ...(o.maxKdfRounds !== undefined ? { maxKdfRounds: o.maxKdfRounds } : {}),
    });
  }
  if (block.label === "ENCRYPTED PRIVATE KEY") {
    const opts = o.maxIterations !== undefined ? { maxIterations: o.maxIterations } : {};
    return {
      key: afterDecrypt(decryptPkcs8(block.body, needPassphrase(o), opts), parsePkcs8PrivateKey),
      comment: "",
    };
  }
  const parse = parsers[block.label];
  if (!parse) {
    throw new KeyImportError(`Cannot import private key: unsupported PEM type "${block.label}"`);
  }
  if (isLegacyEncryptedPem(block)) {
    return { key: afterDecrypt(decryptLegacyPem(block, needPassphrase(o)), parse), comment: "" };
  }
  return { key: parse(block.body), comment: "" };
}

function unsupportedText(text: string): never {
  const t = text.trimStart();
  if (t.startsWith("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----")) {
    throw new KeyImportError(
      "Cannot import private key: ssh.com (SECSH) private keys are not supported",
    );
  }
  throw new KeyImportError("Cannot import private key: no private key found (unrecognized format)");
}

/**
 * Imports a private key, detecting its format. `passphrase` (or
 * `options.passphrase`) decrypts an encrypted key.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, importPrivateKey } from "@sshts/ssh";
 * const text = generatePrivateKey("ed25519").exportPrivateKey("openssh", { passphrase: "pw", rounds: 1 });
 * console.log(importPrivateKey(text, "pw").getAlgorithm()); // "ssh-ed25519"
 * ```
 */
export function importPrivateKey(
  data: string | Uint8Array,
  passphrase?: string | Uint8Array | ImportPrivateKeyOptions,
): SSHKey {
  const o = normalize(passphrase);
  let decoded: { key: KeyMaterial; comment: string };
  try {
    if (data instanceof Uint8Array && isOpenSSHPrivateKey(data)) {
      decoded = decodeOpenSSHPrivateKey(data, o.passphrase, o);
    } else if (data instanceof Uint8Array && data[0] === 0x30) {
      decoded = { key: parsePrivateDer(data, o), comment: "" };
    } else {
      const text = typeof data === "string" ? data : textDecoder.decode(data);
      if (isPuttyPrivateKey(text)) {
        // The bytes when we have them: the MAC covers the comment's bytes, which need not
        // be UTF-8.
        decoded = parsePuttyPrivateKey(
          data,
          o.passphrase,
          o.maxArgon2Cost !== undefined ? { maxArgon2Cost: o.maxArgon2Cost } : {},
        );
      } else {
        const block = parsePem(text).find((b) => PRIVATE_LABELS.has(b.label));
        if (!block) unsupportedText(text);
        decoded = parsePrivatePem(block, o);
      }
    }
    checkKeyMaterial(decoded.key, "private key");
    return SSHKey.fromMaterial(decoded.key, decoded.comment);
  } catch (e) {
    throw asImportError(e, "private key");
  }
}

/**
 * Imports every private key in a text (several PEM blocks, as in a bundle),
 * all with the same passphrase.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, importPrivateKeyList } from "@sshts/ssh";
 * const text = generatePrivateKey("ed25519").exportPrivateKey() +
 *   generatePrivateKey("ecdsa").exportPrivateKey("pkcs8-pem");
 * console.log(importPrivateKeyList(text).length); // 2
 * ```
 */
export function importPrivateKeyList(
  text: string,
  passphrase?: string | Uint8Array | ImportPrivateKeyOptions,
): SSHKey[] {
  const o = normalize(passphrase);
  const keys: SSHKey[] = [];
  let blocks: PemBlock[];
  try {
    blocks = parsePem(text).filter((b) => PRIVATE_LABELS.has(b.label));
  } catch (e) {
    throw asImportError(e, "private key list");
  }
  blocks.forEach((block, i) => {
    try {
      const d = parsePrivatePem(block, o);
      keys.push(SSHKey.fromMaterial(d.key, d.comment));
    } catch (e) {
      const err = asImportError(e, "private key");
      throw new KeyImportError(`Cannot import private key ${i + 1} of the list: ${err.message}`, {
        cause: err,
      });
    }
  });
  return keys;
}

function publicFromPem(block: PemBlock): SSHKey {
  switch (block.label) {
    case "PUBLIC KEY":
      return SSHKey.fromMaterial(parseSpki(block.body));
    case "RSA PUBLIC KEY":
      return SSHKey.fromMaterial(parsePkcs1PublicKey(block.body));
    default:
      throw new KeyImportError(`Cannot import public key: unsupported PEM type "${block.label}"`);
  }
}

/** True when `b` starts like an SSH key blob: a short printable type string. */
function looksLikeBlob(b: Uint8Array): boolean {
  if (b.length < 8 || b[0] !== 0 || b[1] !== 0 || b[2] !== 0) return false;
  const n = b[3]!;
  if (n < 3 || n > 64 || b.length < 4 + n) return false;
  for (let i = 4; i < 4 + n; i++) if (b[i]! < 0x21 || b[i]! > 0x7e) return false;
  return true;
}

/**
 * Imports a public key, detecting its format: an OpenSSH `.pub` line, RFC 4716,
 * PKCS#1 or SPKI (PEM or DER), or a raw SSH blob.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, importPublicKey } from "@sshts/ssh";
 * const key = generatePrivateKey("ed25519", { comment: "me" });
 * const pub = importPublicKey(key.exportPublicKey("openssh"));
 * console.log(pub.equals(key), pub.getComment()); // true "me"
 * ```
 */
export function importPublicKey(data: string | Uint8Array): SSHKey {
  try {
    if (data instanceof Uint8Array) {
      if (data[0] === 0x30) {
        try {
          return SSHKey.fromMaterial(parseSpki(data));
        } catch (e) {
          if (!(e instanceof Asn1Error)) throw e;
          return SSHKey.fromMaterial(parsePkcs1PublicKey(data));
        }
      }
      if (looksLikeBlob(data)) return SSHKey.fromPublicBlob(data);
      data = textDecoder.decode(data);
    }
    const list = importPublicKeyList(data);
    if (list.length === 0) throw new KeyImportError("Cannot import public key: no key found");
    return list[0]!;
  } catch (e) {
    throw asImportError(e, "public key");
  }
}

/** The index of the first line after `start` that `isEnd` accepts (the last line if none). */
function blockEnd(
  lines: readonly string[],
  start: number,
  isEnd: (line: string) => boolean,
): number {
  for (let j = start + 1; j < lines.length; j++) if (isEnd(lines[j]!)) return j;
  return lines.length - 1;
}

/**
 * Imports every public key in a text: OpenSSH lines (blank lines and `#`
 * comments skipped), RFC 4716 blocks and PEM public keys, in order. A bad
 * entry throws, naming its line.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, importPublicKeyList } from "@sshts/ssh";
 * const a = generatePrivateKey("ed25519"), b = generatePrivateKey("ecdsa");
 * const text = "# keys\n" + a.exportPublicKey() + b.exportPublicKey("rfc4716");
 * console.log(importPublicKeyList(text).length); // 2
 * ```
 */
export function importPublicKeyList(text: string): SSHKey[] {
  const keys: SSHKey[] = [];
  const lines = text.split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      // A block is parsed from its own lines only (joining the rest of the text for each
      // block made a file of many blocks quadratic: 8,000 blocks took 12 s).
      if (line.startsWith("---- BEGIN SSH2 PUBLIC KEY ----")) {
        const end = blockEnd(lines, i, (l) => l.trim().startsWith("---- END SSH2 PUBLIC KEY ----"));
        const r = parseRfc4716(lines.slice(i, end + 1).join("\n"));
        keys.push(SSHKey.fromPublicBlob(r.blob, r.comment));
        i = end;
        continue;
      }
      if (line.startsWith("-----BEGIN ")) {
        const end = blockEnd(lines, i, (l) => /^-----END .*-----/.test(l));
        const [block] = parsePem(lines.slice(i, end + 1).join("\n") + "\n");
        if (!block) throw new KeyImportError("Cannot import public key: malformed PEM block");
        keys.push(publicFromPem(block));
        i = end;
        continue;
      }
      const parsed = parseOpenSSHPublicKeyLine(line);
      keys.push(SSHKey.fromPublicBlob(parsed.blob, parsed.comment));
    } catch (e) {
      const err = asImportError(e, "public key");
      throw new KeyImportError(`${err.message} (line ${i + 1})`, { cause: err });
    }
  }
  return keys;
}
