/**
 * Revoked keys as sshd's RevokedKeys and ssh's RevokedHostKeys read them: a
 * list of public keys or an OpenSSH binary key revocation list (KRL, told apart
 * by its magic), from key objects, text, bytes or files. Used by `listen({
 * revokedKeys })` and `connect({ revokedHostKeys })`.
 *
 * @module
 */

import {
  isX509Algorithm,
  publicKeyFromX509,
  readX509CertifiedKey,
} from "../../core/publickey/x509_blob.ts";
import { SSHReader } from "../../core/wire.ts";
import {
  importCertificate,
  plainKeyType,
  type SSHCertificate,
} from "../../keys/certificates/certificate.ts";
import { KeyImportError } from "../../keys/errors.ts";
import { parseKeyOrCertificate } from "../../keys/trust/certificate_policy.ts";
import { importPublicKeyList } from "../../keys/formats/import.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { isKRL, KeyRevocationList, MAX_KRL_BYTES, parseKRL } from "../../keys/trust/krl.ts";
import { expandHome } from "../runtime/env.ts";
import { loadPublicKeys, type PublicKeyInput } from "./files.ts";
import { readTrustFile } from "./trust_file.ts";

/**
 * Revoked keys, for `listen({ revokedKeys })` and `connect({ revokedHostKeys })`:
 * one file path (a list of public keys, one a line, or a binary KRL as
 * `ssh-keygen -k` writes it), key text, the bytes of a KRL, a parsed
 * {@link KeyRevocationList}, or a list of any of these, key objects and wire blobs.
 */
export type RevokedKeysSource =
  | string
  | Uint8Array
  | KeyRevocationList
  | readonly (PublicKeyInput | KeyRevocationList)[];

/** Loaded {@link RevokedKeysSource}: the keys listed and the KRLs, checked together. */
export class RevokedKeys {
  /** The keys listed one by one. */
  readonly keys: readonly SSHKey[];
  /** The binary KRLs. */
  readonly lists: readonly KeyRevocationList[];

  /**
   * Creates the set from plain keys and KRLs.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, RevokedKeys } from "@sshts/ssh";
   * const lost = generatePrivateKey("ed25519").publicKey();
   * console.log(new RevokedKeys([lost], []).isRevoked(lost)); // true
   * ```
   */
  constructor(keys: readonly SSHKey[], lists: readonly KeyRevocationList[]) {
    this.keys = keys;
    this.lists = lists;
  }

  /** True when nothing is revoked (no keys, no KRLs). */
  get empty(): boolean {
    return this.keys.length === 0 && this.lists.length === 0;
  }

  /**
   * True when `subject` is revoked, as sshd and ssh check (sshkey_check_revoked):
   * a key listed, or revoked by a KRL; a certificate whose key or CA key is
   * listed, or that a KRL revokes (by its key, serial, key ID or CA).
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey, RevokedKeys } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * const cert = createCertificate({ key: generatePrivateKey("ed25519"), caKey: ca, type: "host", keyId: "h" });
   * console.log(new RevokedKeys([ca.publicKey()], []).isRevoked(cert)); // true
   * ```
   */
  isRevoked(subject: SSHKey | SSHCertificate): boolean {
    const listed = (k: SSHKey) => this.keys.some((r) => r.equals(k));
    if (
      subject instanceof SSHKey
        ? listed(subject)
        : listed(subject.key) || listed(subject.signatureKey)
    ) {
      return true;
    }
    return this.lists.some((l) => l.isRevoked(subject));
  }

  /**
   * True when the key in a wire blob is revoked: an OpenSSH key or certificate as
   * {@link isRevoked} checks it; an `x509v3-*` key when the key of its end-entity
   * certificate, or of any certificate of the chain it carries (its issuers), is listed
   * or revoked by a KRL — X.509 keys carry no OpenSSH serial or key ID. A blob that does
   * not parse counts as revoked: nothing that cannot be checked gets past a revocation list.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509UserCertificate, RevokedKeys } from "@sshts/ssh";
   * import { encodeX509KeyBlob } from "../../core/publickey/x509_blob.ts";
   * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
   * const cert = generateX509UserCertificate(ca, user, "CN=me", { now: Date.now(), issuer: "CN=CA" });
   * const blob = encodeX509KeyBlob("x509v3-ssh-ed25519", [cert.der]);
   * console.log(new RevokedKeys([user.publicKey()], []).isRevokedKeyBlob(blob)); // true
   * ```
   */
  isRevokedKeyBlob(blob: Uint8Array): boolean {
    if (this.empty) return false;
    let type: string;
    try {
      type = new SSHReader(blob).readStringAscii("key type", 128);
    } catch {
      return true;
    }
    if (!isX509Algorithm(type)) {
      let subject: SSHKey | SSHCertificate;
      try {
        subject = parseKeyOrCertificate(blob);
      } catch {
        return true;
      }
      return this.isRevoked(subject);
    }
    let keys: SSHKey[];
    try {
      const { key, certificates } = readX509CertifiedKey(blob);
      keys = [SSHKey.fromMaterial(key)];
      // The issuers' keys: a key of an algorithm we cannot read is skipped (it signs
      // nothing we would accept).
      for (const der of certificates.slice(1)) {
        try {
          keys.push(SSHKey.fromMaterial(publicKeyFromX509(der)));
        } catch {
          // Not a key type SSH knows.
        }
      }
    } catch {
      return true;
    }
    return keys.some((k) => this.isRevoked(k));
  }
}

/**
 * The keys of a revocation file that is a list, as sshd's `sshkey_in_file` reads
 * it: a certificate line stands for its certified key (revoking that key and every
 * certificate of it), as `loadPublicKeys()` reads one; other lines as
 * `importPublicKeyList()` does, with its line numbers in errors.
 */
function importRevokedKeyList(text: string): SSHKey[] {
  if (!text.includes("-cert-v01@openssh.com")) return importPublicKeyList(text);
  const lines = text.split(/\r?\n|\r/);
  const certified: SSHKey[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const blank = line.search(/[ \t]/);
    if (blank < 0 || plainKeyType(line.slice(0, blank)) === undefined) continue;
    try {
      certified.push(importCertificate(line).key);
    } catch (e) {
      throw new KeyImportError(`${(e as Error).message} (line ${i + 1})`, { cause: e });
    }
    lines[i] = ""; // read above; blank keeps the other lines' numbers
  }
  return [...importPublicKeyList(lines.join("\n")), ...certified];
}

/** Errors opening a path that mean it names no file (so the string is key text, or missing). */
const NOT_A_PATH = new Set(["ENOENT", "ENOTDIR", "ENAMETOOLONG", "EINVAL"]);

/**
 * A revocation file's bytes, read through the same checks as authorized_keys (a regular
 * file, opened without blocking) and refused past the KRL size cap before it is all in
 * memory; undefined when the string names no file.
 */
async function readRevocationFile(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readTrustFile(path, { maxBytes: MAX_KRL_BYTES });
  } catch (e) {
    if (NOT_A_PATH.has((e as { code?: string }).code ?? "")) return undefined;
    throw e;
  }
}

/**
 * Loads a {@link RevokedKeysSource}. A file is a KRL when it starts with the KRL
 * magic, otherwise a list of public keys (blank lines and `#` comments
 * skipped; a certificate line revokes its certified key, as sshd reads it). A file that cannot be read, an entry that is not a public key, or
 * a malformed KRL throws a `KeyImportError` (ERR_KEY_IMPORT) naming it.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, loadRevokedKeys } from "@sshts/ssh";
 * const lost = generatePrivateKey("ed25519");
 * const revoked = await loadRevokedKeys(`# lost laptop\n${lost.exportPublicKey()}`);
 * console.log(revoked.isRevoked(lost.publicKey())); // true
 * ```
 */
export async function loadRevokedKeys(
  source: RevokedKeysSource,
  what = "revoked keys",
): Promise<RevokedKeys> {
  const list = typeof source === "string" || source instanceof Uint8Array ||
      source instanceof KeyRevocationList
    ? [source]
    : source;
  const keys: SSHKey[] = [];
  const lists: KeyRevocationList[] = [];
  for (const s of list) {
    let file: string | undefined;
    try {
      if (s instanceof KeyRevocationList) lists.push(s);
      else if (s instanceof Uint8Array && isKRL(s)) lists.push(parseKRL(s));
      else if (typeof s === "string" && !s.includes("\n")) {
        const bytes = await readRevocationFile(expandHome(s));
        if (bytes === undefined) keys.push(...await loadPublicKeys([s])); // key text, or says why not
        else {
          file = s;
          if (isKRL(bytes)) lists.push(parseKRL(bytes));
          else keys.push(...importRevokedKeyList(new TextDecoder().decode(bytes)));
        }
      } else keys.push(...await loadPublicKeys([s]));
    } catch (e) {
      const from = file !== undefined ? ` from ${file}` : "";
      throw new KeyImportError(`Cannot load ${what}${from}: ${(e as Error).message}`, { cause: e });
    }
  }
  return new RevokedKeys(keys, lists);
}
