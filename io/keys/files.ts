/**
 * Key files for `io/`: private keys and certificates given as objects, key text
 * or file paths (with `~` expanded), and the default identities under `~/.ssh`.
 * The parsing itself lives in `keys/`; this module only reads files.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { SSHError } from "../../core/errors.ts";
import { importCertificate, SSHCertificate } from "../../keys/certificates/certificate.ts";
import {
  importPrivateKey,
  importPublicKey,
  importPublicKeyList,
} from "../../keys/formats/import.ts";
import { KeyImportError } from "../../keys/errors.ts";
import { SSHKeyPair } from "../../keys/key_pair.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { expandHome } from "../runtime/env.ts";
import { clientKeyFromSSHKey } from "./signers.ts";
import type { ClientKeyPair } from "./types.ts";

/** A private key given as an object, key text, or a file path. */
export type PrivateKeyInput = SSHKey | string | Uint8Array;

/** Key text rather than a file path: PEM, PuTTY, or several lines. */
export function looksLikeKeyText(s: string): boolean {
  return s.includes("-----BEGIN ") || s.startsWith("PuTTY-User-Key-File") || s.includes("\n");
}

/**
 * Reads a private key from an object, text, bytes or a file.
 *
 * @example
 * ```ts ignore
 * const key = await readPrivateKey("~/.ssh/id_ed25519");
 * ```
 */
export async function readPrivateKey(input: PrivateKeyInput, passphrase?: string): Promise<SSHKey> {
  if (input instanceof SSHKey) return input;
  if (input instanceof Uint8Array) return importPrivateKey(input, passphrase);
  if (looksLikeKeyText(input)) return importPrivateKey(input, passphrase);
  const path = expandHome(input);
  let data: Uint8Array;
  try {
    data = new Uint8Array(await readFile(path));
  } catch (e) {
    throw new SSHError(
      "ERR_KEY_IMPORT",
      `Cannot read private key file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  try {
    return importPrivateKey(data, passphrase);
  } catch (e) {
    // Name the file: with several keys, "incorrect passphrase" alone does not say which.
    if (e instanceof KeyImportError) {
      throw new KeyImportError(`${e.message} (key file ${path})`, { cause: e });
    }
    throw e;
  }
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
    text = new TextDecoder().decode(await readFile(path));
  } catch (e) {
    throw new SSHError(
      "ERR_KEY_IMPORT",
      `Cannot read certificate file ${path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return importCertificate(text);
}

/** Options of {@link loadKeyPairs}. */
export interface LoadKeyPairsOptions {
  /** Passphrase for encrypted keys. */
  readonly passphrase?: string;
  /** Skip keys that are missing, encrypted without a passphrase or unreadable (default false: throw). */
  readonly ignoreErrors?: boolean;
}

async function readOptionalCertificate(path: string): Promise<SSHCertificate | undefined> {
  let text: string;
  try {
    text = new TextDecoder().decode(await readFile(expandHome(path)));
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
 * ```ts ignore
 * await using conn = await connect("host", { clientKeys: await loadKeyPairs(["~/.ssh/id_ed25519"]) });
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
    try {
      const key = await readPrivateKey(k, options.passphrase);
      const isPath = typeof k === "string" && !looksLikeKeyText(k);
      const cert = isPath ? await readOptionalCertificate(`${k}-cert.pub`) : undefined;
      if (cert) out.push(new SSHKeyPair(key, cert));
      out.push(new SSHKeyPair(key));
    } catch (e) {
      if (!options.ignoreErrors) throw e;
    }
  }
  return out;
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

/** A public key given as an object, key text (OpenSSH line, RFC 4716, PEM), bytes, or a file path. */
export type PublicKeyInput = SSHKey | string | Uint8Array;

/** Text that is a key or certificate itself, not a file path. */
function isKeyText(s: string): boolean {
  return looksLikeKeyText(s) ||
    /^(ssh-|ecdsa-|sk-|x509v3-|rsa-)\S*\s+[A-Za-z0-9+/=]/.test(s.trim());
}

async function readText(path: string, what: string): Promise<string> {
  const full = expandHome(path);
  try {
    return new TextDecoder().decode(await readFile(full));
  } catch (e) {
    throw new SSHError(
      "ERR_KEY_IMPORT",
      `Cannot read ${what} file ${full}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/**
 * Reads a public key from an object, key text, bytes or a file
 * (AsyncSSH's read_public_key): the first key of the file.
 *
 * @example
 * ```ts ignore
 * const key = await readPublicKey("~/.ssh/id_ed25519.pub");
 * ```
 */
export async function readPublicKey(input: PublicKeyInput): Promise<SSHKey> {
  if (input instanceof SSHKey) return input;
  if (input instanceof Uint8Array || isKeyText(input)) return importPublicKey(input);
  return importPublicKey(await readText(input, "public key"));
}

/**
 * Reads every public key of a file, or of key text (AsyncSSH's
 * read_public_key_list): OpenSSH lines and RFC 4716 blocks; comments skipped.
 *
 * @example
 * ```ts ignore
 * const keys = await readPublicKeyList("~/.ssh/authorized_keys.pub");
 * ```
 */
export async function readPublicKeyList(input: string): Promise<SSHKey[]> {
  return importPublicKeyList(isKeyText(input) ? input : await readText(input, "public key"));
}

/**
 * Loads public keys (AsyncSSH's load_public_keys): a list of keys, key texts
 * or files (each file may hold several), or one file path.
 *
 * @example
 * ```ts ignore
 * const trusted = await loadPublicKeys(["~/.ssh/id_ed25519.pub", "ssh-ed25519 AAAA... ci"]);
 * ```
 */
export async function loadPublicKeys(
  inputs: string | readonly PublicKeyInput[],
): Promise<SSHKey[]> {
  if (typeof inputs === "string") return await readPublicKeyList(inputs);
  const out: SSHKey[] = [];
  for (const i of inputs) {
    if (typeof i === "string") out.push(...await readPublicKeyList(i));
    else out.push(await readPublicKey(i));
  }
  return out;
}

/**
 * Reads every OpenSSH certificate of a file or text, one per line
 * (AsyncSSH's read_certificate_list); comments and blank lines skipped.
 *
 * @example
 * ```ts ignore
 * const certs = await readCertificateList("~/.ssh/certs.pub");
 * ```
 */
export async function readCertificateList(input: string): Promise<SSHCertificate[]> {
  const text = isKeyText(input) ? input : await readText(input, "certificate");
  return text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => importCertificate(l));
}

/**
 * Loads certificates (AsyncSSH's load_certificates): a list of certificate
 * objects, texts, blobs or files (each file may hold several), or one file path.
 *
 * @example
 * ```ts ignore
 * const certs = await loadCertificates(["~/.ssh/id_ed25519-cert.pub"]);
 * ```
 */
export async function loadCertificates(
  inputs: string | readonly CertificateInput[],
): Promise<SSHCertificate[]> {
  if (typeof inputs === "string") return await readCertificateList(inputs);
  const out: SSHCertificate[] = [];
  for (const i of inputs) {
    if (typeof i === "string") out.push(...await readCertificateList(i));
    else out.push(await readCertificate(i));
  }
  return out;
}
