/**
 * PuTTY private key files (`.ppk`), versions 2 and 3, as PuTTY's `puttygen`
 * writes them (import only).
 *
 * A file is `Key: value` header lines: `PuTTY-User-Key-File-<v>: <type>`,
 * `Encryption` (`none` or `aes256-cbc`), `Comment`, `Public-Lines` (an SSH
 * public key blob in base64), for v3 with encryption the Argon2 parameters
 * (`Key-Derivation`, `Argon2-Memory`, `Argon2-Passes`, `Argon2-Parallelism`,
 * `Argon2-Salt`), `Private-Lines` (the private fields, encrypted with
 * AES-256-CBC and padded to 16 bytes) and `Private-MAC` over everything.
 *
 * - v2: cipher key `SHA-1(0,pass) || SHA-1(1,pass)` (32 bytes), zero IV; MAC
 *   HMAC-SHA-1 keyed with `SHA-1("putty-private-key-file-mac-key" || pass)`.
 * - v3: Argon2 (id, i or d, as the file says) of the passphrase gives 80 bytes:
 *   cipher key, IV, MAC key; MAC HMAC-SHA-256 (empty MAC key when unencrypted).
 *   Argon2 is `@noble/hashes/argon2.js` (pure, synchronous): about 1–2.5 s for
 *   PuTTY's default parameters here, so costs beyond a few times the default are
 *   refused rather than run (raise {@link PuttyDecodeOptions.maxArgon2Cost}).
 *
 * The comment is covered by the MAC as the bytes in the file: it is taken exactly
 * as written (an empty one, trailing blanks and all), and a comment that is not
 * UTF-8 (PuTTYgen writes whatever bytes it was given) is read from the file's
 * bytes when they are passed as a `Uint8Array`, and reads back with U+FFFD in
 * place of the bad bytes.
 *
 * @module
 */

import { argon2d, argon2i, argon2id } from "@noble/hashes/argon2.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { cbc } from "@noble/ciphers/aes.js";
import { parsePublicKeyBlob } from "../../core/publickey/blob.ts";
import type { KeyMaterial } from "../../core/publickey/types.ts";
import {
  equalBytes,
  latin1Bytes,
  latin1String,
  SSHReader,
  SSHWriter,
  utf8,
} from "../../core/wire.ts";
import { decodeBase64 } from "../_base64.ts";
import { completeRsa } from "../_material.ts";
import { CURVES, padScalar } from "../_curves.ts";
import { KeyImportError } from "../errors.ts";

/** Largest Argon2 memory we run, in KiB (PuTTY's default is 8192). */
const MAX_ARGON2_MEMORY_KIB = 256 * 1024;
/**
 * Largest Argon2 cost (memory KiB × passes) run unless raised: 4× PuTTY's default of
 * 8192 KiB × 21 passes (PuTTYgen picks the passes that take 100 ms on the machine
 * that saves the key: 13 to about 40 on current machines), about 3 s here.
 */
export const DEFAULT_MAX_ARGON2_COST = 8192 * 21 * 4;
/** Most Argon2 lanes we accept. */
const MAX_ARGON2_PARALLELISM = 16;
/**
 * Argon2 salt lengths we accept, in bytes: RFC 9106 (and @noble/hashes, which throws a
 * plain Error below it) wants at least 8; PuTTY writes 16.
 */
const MIN_ARGON2_SALT = 8;
const MAX_ARGON2_SALT = 1024;
/** Most base64 lines in one section (a 16384-bit RSA key needs under 40). */
const MAX_SECTION_LINES = 1024;

/**
 * True when `text` looks like a PuTTY private key file.
 *
 * @example
 * ```ts
 * import { isPuttyPrivateKey } from "@sshts/ssh";
 * console.log(isPuttyPrivateKey("PuTTY-User-Key-File-3: ssh-ed25519\n")); // true
 * ```
 */
export function isPuttyPrivateKey(text: string): boolean {
  return /^\s*PuTTY-User-Key-File-\d+:/.test(text);
}

function fail(why: string): never {
  throw new KeyImportError(`Cannot import PuTTY private key: ${why}`);
}

/** Options for {@link parsePuttyPrivateKey}. */
export interface PuttyDecodeOptions {
  /**
   * Refuse v3 files whose Argon2 cost (memory in KiB × passes) exceeds this (default
   * {@link DEFAULT_MAX_ARGON2_COST}). Memory alone is capped at 256 MiB whatever this is.
   */
  readonly maxArgon2Cost?: number;
}

/** Reads `Key: value` lines and base64 sections. */
class PpkReader {
  /** The lines as written (only the line breaks removed, as PuTTY reads them). */
  readonly #lines: string[];
  #i = 0;

  constructor(text: string) {
    // isPuttyPrivateKey() lets blank lines before the header through: skip them here too.
    this.#lines = text.replace(/^\uFEFF/, "").replace(/^\s+/, "").split(/\r\n|\n|\r/);
  }

  peekKey(): string | undefined {
    return /^([A-Za-z0-9-]+):/.exec(this.#lines[this.#i] ?? "")?.[1];
  }

  /** The value of a `key: value` line, trailing blanks removed. */
  field(key: string): string {
    return this.rawField(key).trimEnd();
  }

  /**
   * The value exactly as written after `key: `. Editors strip the blank of an empty
   * value's `key: `, so `key:` alone is an empty value too.
   */
  rawField(key: string): string {
    const line = this.#lines[this.#i] ?? "";
    const prefix = `${key}: `;
    if (line.startsWith(prefix)) {
      this.#i++;
      return line.slice(prefix.length); // blanks only is a comment too (puttygen -C "  ")
    }
    if (line.trimEnd() !== `${key}:`) fail(`expected '${key}' on line ${this.#i + 1}`);
    this.#i++;
    return "";
  }

  section(key: string): Uint8Array {
    const count = Number(this.field(key));
    if (!Number.isInteger(count) || count < 0 || count > MAX_SECTION_LINES) {
      fail(`bad ${key} count`);
    }
    if (this.#i + count > this.#lines.length) fail(`${key} runs past the end of the file`);
    const b64 = this.#lines.slice(this.#i, this.#i + count).join("");
    this.#i += count;
    return decodeBase64(b64, key);
  }
}

function unhex(s: string, what: string): Uint8Array {
  if (!/^([0-9a-fA-F]{2})*$/.test(s)) fail(`${what} is not hex`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function smallInt(s: string, what: string, max: number): number {
  if (!/^\d{1,10}$/.test(s)) fail(`${what} is not a number`);
  const n = Number(s);
  if (n < 1 || n > max) fail(`${what} ${n} is out of range (1..${max})`);
  return n;
}

interface Keys {
  cipherKey: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

function v2Keys(pass: Uint8Array, encrypted: boolean): Keys {
  const seq = (n: number) => sha1(new SSHWriter().writeUint32(n).writeBytes(pass).toBytes());
  const cipherKey = new Uint8Array(40);
  cipherKey.set(seq(0));
  cipherKey.set(seq(1), 20);
  return {
    cipherKey: cipherKey.subarray(0, 32),
    iv: new Uint8Array(16),
    macKey: sha1(
      new SSHWriter().writeBytes(utf8("putty-private-key-file-mac-key"))
        .writeBytes(encrypted ? pass : new Uint8Array(0)).toBytes(),
    ),
  };
}

function v3Keys(r: PpkReader, pass: Uint8Array, maxCost: number): Keys {
  const kdf = r.field("Key-Derivation");
  const fn = kdf === "Argon2id"
    ? argon2id
    : kdf === "Argon2i"
    ? argon2i
    : kdf === "Argon2d"
    ? argon2d
    : fail(`unknown key derivation '${kdf}'`);
  const m = smallInt(r.field("Argon2-Memory"), "Argon2-Memory", MAX_ARGON2_MEMORY_KIB);
  const t = smallInt(r.field("Argon2-Passes"), "Argon2-Passes", Math.max(1, maxCost));
  const p = smallInt(r.field("Argon2-Parallelism"), "Argon2-Parallelism", MAX_ARGON2_PARALLELISM);
  const salt = unhex(r.field("Argon2-Salt"), "Argon2-Salt");
  if (m * t > maxCost) {
    fail(
      `Argon2 cost ${m} KiB × ${t} passes is over the limit of ${maxCost} ` +
        "(raise maxArgon2Cost to allow)",
    );
  }
  if (m < 8 * p) fail("Argon2-Memory is below 8 KiB per lane");
  if (salt.length < MIN_ARGON2_SALT || salt.length > MAX_ARGON2_SALT) {
    fail(`Argon2-Salt of ${salt.length} bytes is outside ${MIN_ARGON2_SALT}..${MAX_ARGON2_SALT}`);
  }
  const out = fn(pass, salt, { t, m, p, dkLen: 80 });
  return { cipherKey: out.subarray(0, 32), iv: out.subarray(32, 48), macKey: out.subarray(48) };
}

function readPrivateFields(type: string, pub: KeyMaterial, priv: Uint8Array): KeyMaterial {
  const r = new SSHReader(priv);
  // The rest of the buffer is padding to 16 bytes: not checked (the MAC covers it).
  switch (pub.type) {
    case "rsa": {
      const d = r.readMpint("RSA d");
      const p = r.readMpint("RSA p");
      const q = r.readMpint("RSA q");
      const qi = r.readMpint("RSA iqmp");
      return completeRsa({ ...pub, d, p, q, qi });
    }
    case "dsa":
      return { ...pub, x: r.readMpint("DSA x") };
    case "ecdsa": {
      const scalar = padScalar(CURVES[pub.curve], r.readString("ECDSA private key", 256));
      if (!scalar) fail("ECDSA private key does not fit its curve");
      return { ...pub, privateKey: scalar };
    }
    case "ed25519": {
      const seed = r.readString("Ed25519 private key", 64);
      if (seed.length !== 32) fail(`Ed25519 private key is ${seed.length} bytes, not 32`);
      return { ...pub, seed: seed.slice() };
    }
    default:
      return fail(`unsupported key type '${type}'`);
  }
}

const lossyUtf8 = new TextDecoder("utf-8");

/**
 * The byte strings the comment may have been when the MAC was made, most likely first:
 * as written, then without trailing blanks (an editor's). From bytes, the bytes; from a
 * string, its UTF-8, then, when every char is below 256 (a file read as Latin-1 or
 * "binary"), its chars as bytes.
 */
function commentCandidates(raw: string, fromBytes: boolean): Uint8Array[] {
  const texts = raw === raw.trimEnd() ? [raw] : [raw, raw.trimEnd()];
  const out: Uint8Array[] = [];
  for (const t of texts) {
    if (fromBytes) {
      out.push(latin1Bytes(t));
      continue;
    }
    out.push(utf8(t));
    const codes = Array.from(t, (c) => c.charCodeAt(0));
    if (codes.some((c) => c > 0x7f) && codes.every((c) => c <= 0xff)) out.push(latin1Bytes(t));
  }
  return out;
}

/**
 * Decodes a PuTTY `.ppk` private key (v2 or v3, unencrypted or AES-256-CBC).
 * The MAC is always checked; a mismatch on an encrypted file means a wrong
 * passphrase. Pass the file's bytes (not text) to read a comment that is not UTF-8.
 * Throws {@link KeyImportError}.
 *
 * @example
 * ```ts
 * import { parsePuttyPrivateKey } from "./putty.ts";
 * try { parsePuttyPrivateKey("PuTTY-User-Key-File-1: ssh-rsa\n"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function parsePuttyPrivateKey(
  data: string | Uint8Array,
  passphrase?: string | Uint8Array,
  options: PuttyDecodeOptions = {},
): { key: KeyMaterial; comment: string } {
  const fromBytes = data instanceof Uint8Array;
  const r = new PpkReader(fromBytes ? latin1String(data).replace(/^\xef\xbb\xbf/, "") : data);
  const header = r.peekKey();
  const version = header === "PuTTY-User-Key-File-2"
    ? 2
    : header === "PuTTY-User-Key-File-3"
    ? 3
    : fail(`unsupported file version '${header ?? "none"}' (only 2 and 3 are read)`);
  const type = r.field(header!);
  const encryption = r.field("Encryption");
  if (encryption !== "none" && encryption !== "aes256-cbc") {
    fail(`unsupported encryption '${encryption}'`);
  }
  const encrypted = encryption !== "none";
  const rawComment = r.rawField("Comment");
  const publicBlob = r.section("Public-Lines");
  // Before any key derivation: a key type this library cannot use is said at once.
  const pub = parsePublicKeyBlob(publicBlob);
  if (pub.algorithm !== type) {
    fail(`header says '${type}' but the public key is '${pub.algorithm}'`);
  }
  let pass: Uint8Array = new Uint8Array(0);
  if (encrypted) {
    if (passphrase === undefined || passphrase.length === 0) {
      fail("it is encrypted and no passphrase was given");
    }
    pass = typeof passphrase === "string" ? utf8(passphrase) : passphrase;
  }
  const maxCost = options.maxArgon2Cost ?? DEFAULT_MAX_ARGON2_COST;
  const keys = version === 3
    ? (encrypted
      ? v3Keys(r, pass, maxCost)
      : { cipherKey: pass, iv: pass, macKey: new Uint8Array(0) })
    : v2Keys(pass, encrypted);
  const stored = r.section("Private-Lines");
  const mac = unhex(r.field("Private-MAC"), "Private-MAC");
  let priv = stored;
  if (encrypted) {
    if (stored.length === 0 || stored.length % 16 !== 0) {
      fail("encrypted private part is not a whole number of AES blocks");
    }
    priv = cbc(keys.cipherKey, keys.iv, { disablePadding: true }).decrypt(stored);
  }
  const macOver = (comment: Uint8Array) => {
    const macData = new SSHWriter(priv.length + publicBlob.length + comment.length + 128)
      .writeStringUtf8(type).writeStringUtf8(encryption).writeString(comment)
      .writeString(publicBlob).writeString(priv).toBytes();
    return version === 3 ? hmac(sha256, keys.macKey, macData) : hmac(sha1, keys.macKey, macData);
  };
  const commentBytes = commentCandidates(rawComment, fromBytes)
    .find((c) => equalBytes(macOver(c), mac));
  if (!commentBytes) {
    const hint = rawComment.includes("\uFFFD")
      ? " (or its comment is not UTF-8: pass the file's bytes, not text)"
      : "";
    fail(
      (encrypted ? "incorrect passphrase (MAC mismatch)" : "MAC mismatch (the file is corrupt)") +
        hint,
    );
  }
  const comment = !fromBytes && equalBytes(commentBytes, utf8(rawComment))
    ? rawComment
    : lossyUtf8.decode(commentBytes);
  return { key: readPrivateFields(type, pub.key, priv), comment };
}
