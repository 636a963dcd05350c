/**
 * Key files for `io/`: private keys and certificates given as objects, key text
 * or file paths (with `~` expanded), and the default identities under `~/.ssh`.
 * The parsing itself lives in `keys/`; this module only reads files.
 *
 * @module
 */

import {
  importCertificate,
  plainKeyType,
  SSHCertificate,
} from "../../keys/certificates/certificate.ts";
import {
  importPrivateKey,
  importPrivateKeyList,
  type ImportPrivateKeyOptions,
  importPublicKey,
  importPublicKeyList,
} from "../../keys/formats/import.ts";
import { inspectOpenSSHPrivateKey } from "../../keys/formats/openssh_private.ts";
import { parsePem } from "../../keys/formats/pem.ts";
import { blobKeyType, formatOpenSSHPublicKeyLine } from "../../keys/formats/public_formats.ts";
import { KeyImportError } from "../../keys/errors.ts";
import { SSHKeyPair } from "../../keys/key_pair.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { expandHome, fileCredentials, readAllowed } from "../runtime/env.ts";
import { DerivedFromFiles } from "../runtime/file_cache.ts";
import { defaultSuite } from "../crypto/suite.ts";
import { clientKeyFromSSHKey } from "./signers.ts";
import type { ClientKeyPair } from "./types.ts";
import { readTrustFile } from "./trust_file.ts";

/** A private key given as an object, key text, or a file path. */
export type PrivateKeyInput = SSHKey | string | Uint8Array;

/** Key text rather than a file path: PEM, PuTTY, or several lines. */
export function looksLikeKeyText(s: string): boolean {
  return s.includes("-----BEGIN ") || s.startsWith("PuTTY-User-Key-File") || s.includes("\n");
}

/**
 * Reads a private key from an object, text, bytes or a file; `passphrase` as
 * `importPrivateKey()` takes it (a string, bytes, or options such as `maxArgon2Cost`).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, readPrivateKey } from "@sshts/ssh";
 * // A path ("~/.ssh/id_ed25519"), key text, bytes or an SSHKey.
 * const text = generatePrivateKey("ed25519").exportPrivateKey("openssh");
 * const key = await readPrivateKey(text);
 * console.log(key.getAlgorithm()); // "ssh-ed25519"
 * ```
 */
export async function readPrivateKey(
  input: PrivateKeyInput,
  passphrase?: string | Uint8Array | ImportPrivateKeyOptions,
): Promise<SSHKey> {
  if (input instanceof SSHKey) return input;
  nativeKeyChecks();
  if (input instanceof Uint8Array) return importPrivateKey(input, passphrase);
  if (looksLikeKeyText(input)) return importPrivateKey(input, passphrase);
  const path = expandHome(input);
  let data: Uint8Array;
  try {
    data = await readKeyFile(path);
  } catch (e) {
    throw new KeyImportError(
      `Cannot read private key file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return namingFile(path, () => importPrivateKey(data, passphrase));
}

/**
 * Installs native crypto before private keys are imported: each import checks that the
 * public half follows from the private one, and for Ed25519 the portable derivation costs
 * about a millisecond, node:crypto's a fifth of that (and the key import a first signature
 * would make anyway). connect() and listen() install it too; a key read before either is
 * checked the fast way as well.
 */
function nativeKeyChecks(): void {
  defaultSuite();
}

/**
 * Runs an import of `path`'s contents; a key import error names the file (with several
 * keys, "incorrect passphrase" alone does not say which).
 */
function namingFile<T>(path: string, importFrom: () => T): T {
  try {
    return importFrom();
  } catch (e) {
    if (e instanceof KeyImportError) {
      throw new KeyImportError(`${e.message} (key file ${path})`, { cause: e });
    }
    throw e;
  }
}

/**
 * Reads every private key of a file (or text, or bytes) holding several PEM blocks one after
 * another (AsyncSSH's `read_private_key_list`): OpenSSH, PKCS#1, PKCS#8 or SEC1 blocks, all
 * decrypted with the one passphrase. A block that cannot be read fails the whole list, naming
 * its position and the file.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, readPrivateKeyList } from "@sshts/ssh";
 * const text = generatePrivateKey("ed25519").exportPrivateKey("openssh") +
 *   generatePrivateKey("ecdsa").exportPrivateKey("pkcs8-pem");
 * const keys = await readPrivateKeyList(text); // or a path: "~/.ssh/team_keys.pem"
 * console.log(keys.map((k) => k.getAlgorithm())); // ["ssh-ed25519", "ecdsa-sha2-nistp256"]
 * ```
 */
export async function readPrivateKeyList(
  input: string | Uint8Array,
  passphrase?: string,
): Promise<SSHKey[]> {
  nativeKeyChecks();
  if (input instanceof Uint8Array) {
    return importPrivateKeyList(new TextDecoder().decode(input), passphrase);
  }
  if (looksLikeKeyText(input)) return importPrivateKeyList(input, passphrase);
  const path = expandHome(input);
  const text = await readText(path, "private key");
  return namingFile(path, () => importPrivateKeyList(text, passphrase));
}

/** A certificate given as an object, `-cert.pub` text, its blob, or a file path. */
export type CertificateInput = SSHCertificate | string | Uint8Array;

/**
 * Reads an OpenSSH certificate from an object, text, blob or a `-cert.pub` file.
 *
 * @example
 * ```ts ignore
 * const cert = await readCertificate("~/.ssh/id_ed25519-cert.pub");
 * ```
 */
export async function readCertificate(input: CertificateInput): Promise<SSHCertificate> {
  if (input instanceof SSHCertificate) return input;
  if (input instanceof Uint8Array) return importCertificate(input);
  if (/-cert-v01@openssh\.com\s+[A-Za-z0-9+/=]/.test(input)) return importCertificate(input);
  const path = expandHome(input);
  let text: string;
  try {
    text = new TextDecoder().decode(await readKeyFile(path));
  } catch (e) {
    throw new KeyImportError(
      `Cannot read certificate file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return importCertificate(text);
}

/** A public key given as an object, key text (OpenSSH, RFC 4716 or PEM), its blob, or a file path. */
export type PublicKeyInput = SSHKey | string | Uint8Array;

/** Most bytes read from one key, certificate or public key list file. */
export const KEY_FILE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A key file's bytes, read as the trust files are: a path that is a FIFO (which would wait
 * for a writer), a device or a directory is refused, and so is a file over
 * {@link KEY_FILE_MAX_BYTES}.
 */
function readKeyFile(path: string): Promise<Uint8Array> {
  return readTrustFile(path, { maxBytes: KEY_FILE_MAX_BYTES });
}

/** Reads a file as text, or throws a `KeyImportError` (ERR_KEY_IMPORT) naming it. */
async function readText(path: string, what: string): Promise<string> {
  const p = expandHome(path);
  try {
    return new TextDecoder().decode(await readKeyFile(p));
  } catch (e) {
    throw new KeyImportError(`Cannot read ${what} file ${p}: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Key text rather than a path: a line "type base64…", PEM, RFC 4716, or several lines. */
function looksLikePublicKeyText(s: string): boolean {
  return looksLikeKeyText(s) || s.startsWith("---- BEGIN SSH2") ||
    /^\S+\s+[A-Za-z0-9+/]{20,}={0,2}(\s|$)/.test(s.trim());
}

/**
 * Reads one public key (AsyncSSH's `read_public_key`): from a key object, its
 * text (OpenSSH `.pub` line, RFC 4716 or PEM), its wire blob, or a file path
 * (`~` expands). A certificate (file, line or blob) gives its certified key, with
 * the certificate's comment.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { generatePrivateKey, readPublicKey } from "@sshts/ssh";
 * const path = join(await mkdtemp(join(tmpdir(), "keys-")), "id_ed25519.pub");
 * await writeFile(path, generatePrivateKey("ed25519").exportPublicKey());
 * const key = await readPublicKey(path); // "~/" paths expand too
 * console.log(key.getFingerprint());
 * ```
 */
export async function readPublicKey(input: PublicKeyInput): Promise<SSHKey> {
  if (input instanceof SSHKey) return input;
  if (input instanceof Uint8Array) return importPublicBlob(input);
  const text = looksLikePublicKeyText(input) ? input : await readText(input, "public key");
  return importPublicKey(certifiedKeyLines(text));
}

/** The certified key of a certificate, with the certificate's comment. */
function certifiedKey(cert: SSHCertificate): SSHKey {
  return SSHKey.fromPublicBlob(cert.key.publicBlob, cert.getComment());
}

/** A key's wire blob (or DER), or a certificate's blob giving its certified key. */
function importPublicBlob(blob: Uint8Array): SSHKey {
  const type = blobKeyType(blob);
  if (type !== undefined && plainKeyType(type) !== undefined) {
    return certifiedKey(importCertificate(blob));
  }
  return importPublicKey(blob);
}

/**
 * `text` with each certificate line replaced by its certified key's line, for the
 * public key importers (which refuse certificates): in place, so keys keep the file's
 * order and errors its line numbers.
 */
function certifiedKeyLines(text: string): string {
  if (!text.includes("-cert-v01@openssh.com")) return text;
  const lines = text.split(/\r?\n|\r/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const blank = line.search(/[ \t]/);
    if (blank < 0 || plainKeyType(line.slice(0, blank)) === undefined) continue;
    try {
      const key = certifiedKey(importCertificate(line));
      lines[i] = formatOpenSSHPublicKeyLine(key.publicBlob, key.getComment()).trimEnd();
    } catch (e) {
      throw new KeyImportError(`${(e as Error).message} (line ${i + 1})`, { cause: e });
    }
  }
  return lines.join("\n");
}

/**
 * Loads public keys (AsyncSSH's `load_public_keys`): key objects, key text
 * with one or more keys (authorized_keys-style lines without options,
 * RFC 4716 or PEM blocks), or file paths whose every key is read, in order. A
 * single string is one file path or one text. A certificate line or blob gives
 * its certified key.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { generatePrivateKey, loadPublicKeys } from "@sshts/ssh";
 * const dir = await mkdtemp(join(tmpdir(), "keys-"));
 * await writeFile(join(dir, "me.pub"), generatePrivateKey("ed25519").exportPublicKey());
 * await writeFile(join(dir, "team.pub"), generatePrivateKey("ecdsa").exportPublicKey());
 * const keys = await loadPublicKeys([join(dir, "me.pub"), join(dir, "team.pub")]);
 * console.log(keys.length); // 2
 * ```
 */
export async function loadPublicKeys(
  inputs: string | readonly (PublicKeyInput)[],
): Promise<SSHKey[]> {
  const list = typeof inputs === "string" ? [inputs] : inputs;
  const out: SSHKey[] = [];
  for (const k of list) {
    if (k instanceof SSHKey) out.push(k);
    else if (k instanceof Uint8Array) out.push(importPublicBlob(k));
    else {
      const text = looksLikePublicKeyText(k) ? k : await readText(k, "public key");
      out.push(...importPublicKeyList(certifiedKeyLines(text)));
    }
  }
  return out;
}

/**
 * Loads OpenSSH certificates (AsyncSSH's `load_certificates`): certificate
 * objects, blobs, `-cert.pub` text (one or more lines), or file paths whose
 * every certificate line is read, in order. A single string is one path or one text.
 *
 * @example
 * ```ts ignore
 * const certs = await loadCertificates(["~/.ssh/id_ed25519-cert.pub"]);
 * console.log(certs[0]?.keyId);
 * ```
 */
export async function loadCertificates(
  inputs: string | readonly CertificateInput[],
): Promise<SSHCertificate[]> {
  const list = typeof inputs === "string" ? [inputs] : inputs;
  const out: SSHCertificate[] = [];
  for (const c of list) {
    if (c instanceof SSHCertificate) out.push(c);
    else if (c instanceof Uint8Array) out.push(importCertificate(c));
    else {
      const text = /-cert-v01@openssh\.com\s+[A-Za-z0-9+/=]/.test(c)
        ? c
        : await readText(c, "certificate");
      for (const line of text.split(/\r?\n/)) {
        const t = line.trim();
        if (t !== "" && !t.startsWith("#")) out.push(importCertificate(t));
      }
    }
  }
  return out;
}

/** Options of {@link loadKeyPairs}. */
export interface LoadKeyPairsOptions {
  /** Passphrase for encrypted keys. */
  readonly passphrase?: string;
  /**
   * Skip keys that are missing, encrypted without a passphrase or unreadable, and
   * `-cert.pub` certificates that are unreadable or for another key (their key still
   * loads). Default false: throw.
   */
  readonly ignoreErrors?: boolean;
}

async function readOptionalCertificate(path: string): Promise<SSHCertificate | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readKeyFile(expandHome(path)));
  } catch {
    return undefined; // no certificate beside the key
  }
  return importCertificate(text);
}

/**
 * Loads private keys and, for each key given as a file, the certificate in
 * `<path>-cert.pub` beside it (AsyncSSH's `load_keypairs`). A key with a
 * certificate gives two pairs, the certificate first, then the plain key, so
 * servers that trust only the key still accept it. A certificate for another
 * key is an error. The pairs can go straight into `connect({ clientKeys })`.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, loadKeyPairs } from "@sshts/ssh";
 * // Unreadable entries are skipped with ignoreErrors; here one key given as text.
 * const pairs = await loadKeyPairs(
 *   ["/nonexistent/id_ed25519", generatePrivateKey("ed25519").exportPrivateKey("openssh")],
 *   { ignoreErrors: true },
 * );
 * console.log(pairs.length); // 1
 * // await using conn = await connect("host", { clientKeys: pairs });
 * ```
 */
export async function loadKeyPairs(
  keys: readonly (PrivateKeyInput | SSHKeyPair)[],
  options: LoadKeyPairsOptions = {},
): Promise<SSHKeyPair[]> {
  const out: SSHKeyPair[] = [];
  for (const k of keys) {
    if (k instanceof SSHKeyPair) {
      out.push(k);
      continue;
    }
    let key: SSHKey;
    try {
      key = await readPrivateKey(k, options.passphrase);
    } catch (e) {
      if (!options.ignoreErrors) throw e;
      continue;
    }
    const isPath = typeof k === "string" && !looksLikeKeyText(k);
    if (isPath) out.push(...await certifiedPair(key, `${k}-cert.pub`, options));
    out.push(new SSHKeyPair(key));
  }
  return out;
}

/**
 * The pair of `key` with the certificate at `certPath`, if there is one. With
 * `ignoreErrors` a certificate that cannot be read or is for another key gives none:
 * its own try, so a bad `-cert.pub` costs only itself, not the valid key beside it.
 */
async function certifiedPair(
  key: SSHKey,
  certPath: string,
  options: LoadKeyPairsOptions,
): Promise<SSHKeyPair[]> {
  try {
    const cert = await readOptionalCertificate(certPath);
    return cert ? [new SSHKeyPair(key, cert)] : [];
  } catch (e) {
    if (!options.ignoreErrors) throw e;
    return [];
  }
}

/** Default identity files, in OpenSSH's order. */
export const DEFAULT_IDENTITY_FILES = ["~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"];

/**
 * Loads the default keys that exist and need no passphrase (with their
 * `-cert.pub` certificates); others are skipped.
 */
export async function loadDefaultClientKeys(): Promise<ClientKeyPair[]> {
  const pairs = await loadKeyPairs(DEFAULT_IDENTITY_FILES, { ignoreErrors: true });
  return pairs.map((p) => clientKeyFromSSHKey(p));
}

/**
 * {@link loadDefaultClientKeys} for `connect()`: the default identity files through
 * {@link loadIdentities}, kept while unchanged. A file whose private key is not loaded
 * (encrypted, say) but whose public key can be read gives a {@link publicIdentityKey} in its
 * place, for `connect()` to match against the agent's keys, as ssh does.
 */
export async function defaultIdentityKeys(): Promise<ClientKeyPair[]> {
  return identityClientKeys(await loadIdentities(DEFAULT_IDENTITY_FILES));
}

/**
 * The keys identity files give `connect()`: each file's pairs (as {@link clientKeyFromSSHKey}
 * makes them), each preceded by its key certified by any of `certificates` that certify it
 * (ssh_config's CertificateFile), or the file's {@link publicIdentityKey} where only the
 * public key could be read.
 *
 * @example
 * ```ts
 * import { identityClientKeys, loadIdentities } from "./files.ts";
 * const keys = identityClientKeys(await loadIdentities(["/nonexistent/id_ed25519"]));
 * console.log(keys.length); // 0
 * ```
 */
export function identityClientKeys(
  ids: readonly IdentityFileKeys[],
  certificates: readonly SSHCertificate[] = [],
): ClientKeyPair[] {
  const out: ClientKeyPair[] = [];
  for (const id of ids) {
    for (const p of id.pairs) {
      for (const cert of certificates) {
        if (!p.certificate && cert.key.equals(p.key)) {
          out.push(clientKeyFromSSHKey(new SSHKeyPair(p.key, cert)));
        }
      }
      out.push(clientKeyFromSSHKey(p));
    }
    if (id.publicKey !== undefined) out.push(publicIdentityKey(id.publicKey));
  }
  return out;
}

/** The keys {@link publicIdentityKey} made. */
const publicIdentities = new WeakSet<object>();

/**
 * The public key of an identity file whose private key is not loaded (encrypted, or only a
 * public key file: `IdentityFile ~/.ssh/x.pub` for a key an agent such as 1Password or
 * Secretive holds), as a client key for `connect()`: it cannot sign; it names the agent key
 * to use, as ssh's pubkey_prepare matches agent keys against identity files by their public
 * halves — those go first and `IdentitiesOnly` keeps them. Without an agent holding it, it is
 * not offered.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "../../keys/generate.ts";
 * import { isPublicIdentityKey, publicIdentityKey } from "./files.ts";
 * const k = publicIdentityKey(generatePrivateKey("ed25519"));
 * console.log(isPublicIdentityKey(k)); // true
 * ```
 */
export function publicIdentityKey(key: SSHKey): ClientKeyPair {
  const k: ClientKeyPair = {
    keyType: key.getAlgorithm(),
    publicKeyBlob: key.publicBlob,
    sign: () => {
      throw new KeyImportError(
        `The private key of identity ${key.getFingerprint()} is not loaded: only an agent ` +
          "holding it can sign",
      );
    },
  };
  publicIdentities.add(k);
  return k;
}

/** Whether `k` is a {@link publicIdentityKey}: a public key to match agent keys against. */
export function isPublicIdentityKey(k: unknown): boolean {
  return typeof k === "object" && k !== null && publicIdentities.has(k);
}

/** Runs `f`; undefined where it throws (a file `connect()` finds by itself is skipped then). */
function orSkipped<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}

/** The public keys a key file holds in clear. */
interface PublicHalves {
  /** The file read as a public key file (a `.pub`: its first key). */
  readonly asPublicKey: SSHKey | undefined;
  /** The public section of an OpenSSH-format private key, stored unencrypted in every one. */
  readonly openSSHSection: SSHKey | undefined;
}

const NO_PUBLIC_HALVES: PublicHalves = { asPublicKey: undefined, openSSHSection: undefined };

/** What {@link PublicHalves} `bytes` give (none where they are neither). */
function publicHalvesOf(bytes: Uint8Array): PublicHalves {
  const text = new TextDecoder().decode(bytes);
  return {
    asPublicKey: orSkipped(() => importPublicKey(text)),
    openSSHSection: orSkipped(() => {
      const block = parsePem(text).find((b) => b.label === "OPENSSH PRIVATE KEY");
      return block && SSHKey.fromPublicBlob(inspectOpenSSHPrivateKey(block.body).publicBlob);
    }),
  };
}

/**
 * The public key of the identity file at `path` (expanded), where ssh's sshkey_load_public
 * finds it: the file itself as a public key, then `<path>.pub`, then the unencrypted public
 * section of an OpenSSH-format private key. Undefined when none gives one; a file that
 * cannot be read (or, on Deno, may not be: no prompt) gives none.
 */
async function keptPublicKey(cache: IdentityFileCache, path: string): Promise<SSHKey | undefined> {
  const halves = (p: string) =>
    cache.publicHalves.get([p]).catch((): PublicHalves => NO_PUBLIC_HALVES);
  const own = await halves(path);
  if (own.asPublicKey !== undefined) return own.asPublicKey;
  const beside = await halves(`${path}.pub`);
  return beside.asPublicKey ?? own.openSSHSection;
}

/**
 * The public key of an identity file, for matching agent keys against when its private key
 * cannot be loaded: the file itself as a public key, `<path>.pub`, or an OpenSSH-format
 * key's unencrypted public section (as ssh's sshkey_load_public looks), kept while the files
 * are unchanged. Undefined when none of them gives one.
 *
 * @example
 * ```ts
 * import { identityPublicKey } from "./files.ts";
 * console.log(await identityPublicKey("/nonexistent/id_ed25519")); // undefined
 * ```
 */
export async function identityPublicKey(path: string): Promise<SSHKey | undefined> {
  const cache = identityFileCache();
  const expanded = orSkipped(() => expandHome(path));
  if (expanded === undefined) return undefined;
  const key = await keptPublicKey(cache, expanded);
  // Credentials changed while the files were read: read them again, as whom we are now.
  return identityFileCache() === cache ? key : identityPublicKey(path);
}

/**
 * The key of each identity file `connect()` finds by itself, and of each certificate beside
 * one, kept while the file is unchanged (io/runtime/file_cache.ts), as the `ssh_config` and
 * known_hosts files are: reading and importing a key file costs about half a millisecond of
 * CPU (open, fstat, read and close through the runtime's file pool, the parse, the check of
 * the public half), one `stat` a few microseconds. Only what needs no passphrase is kept — a
 * key stored unencrypted, which the process could read again at any time; an encrypted key
 * is kept as unusable (undefined), which holds no secret. Kept for the credentials they were
 * read with ({@link fileCredentials}): a process that gives up its privileges reads again,
 * as itself. A key file that changes, goes or becomes unreadable drops what was kept of it.
 */
class IdentityFileCache {
  readonly credentials = fileCredentials();
  readonly keys = new DerivedFromFiles<SSHKey | undefined>(
    readKeyFile,
    ([bytes]) => bytes && orSkipped(() => importPrivateKey(bytes)),
  );
  /** The public keys a file holds in clear (no secret: kept whatever the file is). */
  readonly publicHalves = new DerivedFromFiles<PublicHalves>(
    readKeyFile,
    ([bytes]) => bytes === undefined ? NO_PUBLIC_HALVES : publicHalvesOf(bytes),
  );
  /** A certificate, "missing" (no such file), or "bad" (one that does not import). */
  readonly certificates = new DerivedFromFiles<SSHCertificate | "missing" | "bad">(
    readKeyFile,
    ([bytes]) =>
      bytes === undefined
        ? "missing"
        : orSkipped(() => importCertificate(new TextDecoder().decode(bytes))) ?? "bad",
  );
}

let identityCache: IdentityFileCache | undefined;

/** The identity cache for the process's present credentials. */
function identityFileCache(): IdentityFileCache {
  nativeKeyChecks();
  const credentials = fileCredentials();
  if (identityCache?.credentials !== credentials) identityCache = new IdentityFileCache();
  return identityCache;
}

/**
 * What `cache` holds for a key file and the certificate beside it: the key (undefined where
 * it is missing, unreadable or encrypted) and the certificate, "missing", or "bad" where it
 * cannot be read or does not import (not asked for without a key).
 */
async function keptFiles(
  cache: IdentityFileCache,
  keyPath: string,
  certPath: string,
): Promise<{ key: SSHKey | undefined; cert: SSHCertificate | "missing" | "bad" }> {
  const key = await cache.keys.get([keyPath]).catch(() => undefined);
  const cert = key === undefined
    ? "bad" as const
    // One it may not read (Deno) is as good as missing: there may be none.
    : !readAllowed(certPath)
    ? "missing" as const
    : await cache.certificates.get([certPath]).catch(() => "bad" as const);
  return { key, cert };
}

/**
 * The kept pairs of the key file at `path` and its `-cert.pub` (the certified pair first),
 * or undefined when either file needs reading afresh to say what it gives: the key is
 * missing, unreadable or encrypted, or the certificate is unreadable, does not import or is
 * for another key.
 */
async function keptPairs(path: string): Promise<SSHKeyPair[] | undefined> {
  const cache = identityFileCache();
  const keyPath = expandHome(path);
  const { key, cert } = await keptFiles(cache, keyPath, `${keyPath}-cert.pub`);
  // Credentials changed while the files were read: read them again, as whom we are now.
  if (identityFileCache() !== cache) return keptPairs(path);
  if (key === undefined || cert === "bad") return undefined;
  if (cert === "missing") return [new SSHKeyPair(key)];
  const certified = orSkipped(() => new SSHKeyPair(key, cert));
  return certified ? [certified, new SSHKeyPair(key)] : undefined;
}

/**
 * `loadKeyPairs([path], { passphrase })` for a key file named in `connect()`'s `clientKeys`:
 * without a passphrase, what {@link keptPairs} has; else, and for files it cannot answer
 * for, read afresh — so a missing or encrypted key or a bad certificate fails as
 * `loadKeyPairs` fails.
 *
 * @example
 * ```ts
 * import { loadKeyFile } from "./files.ts";
 * await loadKeyFile("/nonexistent/id_ed25519").catch((e) => console.log(e.code)); // "ERR_KEY_IMPORT"
 * ```
 */
export async function loadKeyFile(path: string, passphrase?: string): Promise<SSHKeyPair[]> {
  const kept = passphrase === undefined ? await keptPairs(path) : undefined;
  return kept ?? await loadKeyPairs([path], passphrase === undefined ? {} : { passphrase });
}

/**
 * The key pairs of identity files as `connect()` loads them by itself (`IdentityFile`, the
 * default `~/.ssh/id_*`): `loadKeyPairs(paths, { ignoreErrors: true })` without a passphrase,
 * for files unchanged since the last call without reading them again. Missing, unreadable and
 * encrypted keys are skipped, and so are certificates that are unreadable or for another key.
 *
 * @example
 * ```ts
 * import { loadIdentityFiles } from "./files.ts";
 * const pairs = await loadIdentityFiles(["/nonexistent/id_ed25519"]);
 * console.log(pairs.length); // 0
 * ```
 */
export async function loadIdentityFiles(paths: readonly string[]): Promise<SSHKeyPair[]> {
  return (await keptIdentities(paths, false)).flatMap((id) => id.pairs);
}

/** What one identity file gives `connect()` ({@link loadIdentities}). */
export interface IdentityFileKeys {
  /** Its key pairs (the certified pair first), as {@link loadIdentityFiles} gives them. */
  readonly pairs: readonly SSHKeyPair[];
  /**
   * Where no pair was loaded (the key is encrypted, missing, or the path is a public key
   * file): its public key if one can be read (see {@link identityPublicKey}), for matching
   * the agent's keys against. Undefined when pairs were loaded.
   */
  readonly publicKey: SSHKey | undefined;
}

/**
 * Identity files as `connect()` reads them (`IdentityFile`, the default `~/.ssh/id_*`), in
 * order: each file's pairs as {@link loadIdentityFiles} loads them (kept while unchanged) or,
 * with `passphrase`, as `loadKeyPairs([path], { ignoreErrors: true, passphrase })` does;
 * and for a file that gives none, its public key where one can be read — the agent may hold
 * the key (ssh matches agent keys against identity files by their public halves).
 *
 * @example
 * ```ts
 * import { loadIdentities } from "./files.ts";
 * const [id] = await loadIdentities(["/nonexistent/id_ed25519"]);
 * console.log(id!.pairs.length, id!.publicKey); // 0 undefined
 * ```
 */
export async function loadIdentities(
  paths: readonly string[],
  options: { readonly passphrase?: string } = {},
): Promise<IdentityFileKeys[]> {
  const { passphrase } = options;
  if (passphrase === undefined) return await keptIdentities(paths, true);
  const out: IdentityFileKeys[] = [];
  for (const path of paths) {
    const pairs = await loadKeyPairs([path], { ignoreErrors: true, passphrase });
    const publicKey = pairs.length === 0 ? await identityPublicKey(path) : undefined;
    out.push({ pairs, publicKey });
  }
  return out;
}

/**
 * Each identity file's kept pairs and, with `withPublic`, the public key of one that gives
 * none.
 */
async function keptIdentities(
  paths: readonly string[],
  withPublic: boolean,
): Promise<IdentityFileKeys[]> {
  const cache = identityFileCache();
  const out: IdentityFileKeys[] = [];
  for (const p of paths) {
    // A `~` path without a home directory to expand it (Deno without sys or env access) is
    // skipped, as a key that cannot be read.
    const path = orSkipped(() => expandHome(p));
    if (path === undefined) {
      out.push({ pairs: [], publicKey: undefined });
      continue;
    }
    const { key, cert } = await keptFiles(cache, path, `${path}-cert.pub`);
    if (key === undefined) {
      const publicKey = withPublic ? await keptPublicKey(cache, path) : undefined;
      out.push({ pairs: [], publicKey });
      continue;
    }
    const certified = typeof cert === "object"
      ? orSkipped(() => new SSHKeyPair(key, cert))
      : undefined;
    const pairs = certified ? [certified, new SSHKeyPair(key)] : [new SSHKeyPair(key)];
    out.push({ pairs, publicKey: undefined });
  }
  // Credentials changed while the files were read: read them again, as whom we are now.
  return identityFileCache() === cache ? out : keptIdentities(paths, withPublic);
}
