/**
 * Where keys come from in `io/`: key objects, key text, or files (with `~`
 * expanded), and the default locations under `~/.ssh`. The parsing itself lives
 * in `keys/`; this module only reads files.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { SSHError } from "../core/errors.ts";
import { isCertificateAlgorithm, plainAlgorithm } from "../core/publickey/certificate.ts";
import { SSHReader } from "../core/wire.ts";
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  keyTypeForSignatureAlgorithm,
} from "../core/publickey/algorithms.ts";
import { importCertificate, SSHCertificate } from "../keys/certificate.ts";
import { checkHostCertificate } from "../keys/certificate_policy.ts";
import { importPrivateKey } from "../keys/import.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import { type KnownHosts, matchKnownHosts, parseKnownHosts } from "../keys/known_hosts.ts";
import { SSHKey } from "../keys/ssh_key.ts";
import type { X509Certificate } from "../keys/x509.ts";
import { checkX509SSHKey, type X509KeyPair } from "../keys/x509_ssh.ts";
import type { ClientKeyPair, HostKeyInfo } from "./client.ts";
import type { ServerHostKey } from "./server.ts";

/** A private key given as an object, key text, or a file path. */
export type PrivateKeyInput = SSHKey | string | Uint8Array;

/** Expands a leading `~` to the home directory. */
export function expandHome(path: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return path;
}

function looksLikeKeyText(s: string): boolean {
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
  return importPrivateKey(data, passphrase);
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

/**
 * Turns a private key (or a key pair), with an optional certificate for it,
 * into the client's signing interface. With a certificate the client presents
 * the certificate (`ssh-ed25519-cert-v01@openssh.com`, …) and signs with the key.
 *
 * @example
 * ```ts ignore
 * const pair = clientKeyFromSSHKey(await readPrivateKey("~/.ssh/id_ed25519"),
 *   await readCertificate("~/.ssh/id_ed25519-cert.pub"));
 * ```
 */
export function clientKeyFromSSHKey(
  key: SSHKey | SSHKeyPair,
  certificate?: SSHCertificate,
): ClientKeyPair {
  const pair = key instanceof SSHKeyPair
    ? (certificate ? new SSHKeyPair(key.key, certificate) : key)
    : new SSHKeyPair(key, certificate);
  return {
    keyType: pair.keyType,
    publicKeyBlob: pair.publicKeyBlob,
    sign: (data, algorithm) => pair.sign(data, algorithm),
  };
}

/**
 * Turns a private key, with an optional host certificate for it, into a server
 * host key. With a certificate the key is served under the certificate
 * algorithms (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-512-cert-v01@openssh.com`,
 * …); pass the plain key as well to serve clients that don't ask for certificates.
 *
 * @example
 * ```ts ignore
 * const key = await readPrivateKey("/etc/ssh/ssh_host_ed25519_key");
 * const hostKeys = [hostKeyFromSSHKey(key),
 *   hostKeyFromSSHKey(key, await readCertificate("/etc/ssh/ssh_host_ed25519_key-cert.pub"))];
 * ```
 */
export function hostKeyFromSSHKey(key: SSHKey, certificate?: SSHCertificate): ServerHostKey {
  if (!key.hasPrivateKey()) {
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `Host key ${key.getFingerprint()} has no private part`,
    );
  }
  if (certificate && certificate.certType !== "host") {
    throw new SSHError(
      "ERR_LOCAL_PROTOCOL",
      `Certificate '${certificate.keyId}' is a user certificate, not a host certificate`,
    );
  }
  const pair = new SSHKeyPair(key, certificate);
  return {
    // ssh-rsa-cert-v01 (SHA-1) is not served, as OpenSSH no longer offers it.
    hostKeyAlgorithms: certificate
      ? pair.getSigAlgorithms().filter((a) => a !== "ssh-rsa-cert-v01@openssh.com")
      : pair.getSigAlgorithms(),
    publicKeyBlob: pair.publicKeyBlob,
    signSync: (data, algorithm) => pair.sign(data, algorithm),
  };
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

/** Default known_hosts files, in OpenSSH's order. */
export const DEFAULT_KNOWN_HOSTS_FILES = ["~/.ssh/known_hosts", "/etc/ssh/ssh_known_hosts"];

/** Facts the known_hosts verifier checks. */
export type KnownHostsCheckInfo = HostKeyInfo & { address?: string | undefined };

/** A known_hosts host key verifier, with the host key algorithm order it suits. */
export interface KnownHostsVerifier {
  /** True to accept; throws an `SSHError` (ERR_HOST_KEY_NOT_VERIFIABLE) saying why not. */
  (info: KnownHostsCheckInfo): boolean;
  /**
   * Host key algorithms in the order to offer for `host` (OpenSSH's
   * order_hostkeyalgs): the algorithms known_hosts can vouch for come first —
   * certificate forms when a `@cert-authority` line matches the host, the key
   * types known for it — then the rest of `base` (default
   * {@link DEFAULT_HOST_KEY_ALGORITHMS}). With nothing known for the host, `base` as is.
   */
  hostKeyAlgorithms(
    host: string,
    port: number,
    address?: string,
    base?: readonly string[],
  ): string[];
  /** The parsed known_hosts. */
  readonly knownHosts: KnownHosts;
}

function hostLabel(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Builds a host key verifier from known_hosts text (or files), as `ssh` checks:
 * a plain host key must be listed for the host; a host certificate must be
 * signed by a `@cert-authority` key for the host, valid now and name the host
 * among its principals — and when no CA line matches, the certified key itself
 * is looked up as a plain key (as OpenSSH falls back). Keys and CAs marked
 * `@revoked` are refused. Failures throw an `SSHError` with
 * ERR_HOST_KEY_NOT_VERIFIABLE saying why and how to trust the key.
 *
 * @example
 * ```ts ignore
 * const verify = await knownHostsVerifier({ files: ["~/.ssh/known_hosts"] });
 * const algs = verify.hostKeyAlgorithms("server.example", 22);
 * ```
 */
export async function knownHostsVerifier(
  source: { files: readonly string[] } | { text: string },
  options: { now?: () => number } = {},
): Promise<KnownHostsVerifier> {
  let text = "";
  if ("text" in source) text = source.text;
  else {
    for (const f of source.files) {
      try {
        text += new TextDecoder().decode(await readFile(expandHome(f))) + "\n";
      } catch { /* a missing file trusts nothing */ }
    }
  }
  const kh = parseKnownHosts(text);
  const now = options.now ?? Date.now;
  const refuse = (message: string): never => {
    throw new SSHError("ERR_HOST_KEY_NOT_VERIFIABLE", message);
  };
  const checkPlain = (key: SSHKey, info: KnownHostsCheckInfo, via: string): true => {
    const m = matchKnownHosts(kh, info.host, info.address, info.port);
    if (m.revokedKeys.some((k) => k.equals(key))) {
      refuse(`Host key ${key.getFingerprint()} is revoked in known_hosts`);
    }
    if (m.trustedHostKeys.some((k) => k.equals(key))) return true;
    return refuse(
      `Host key for ${hostLabel(info.host, info.port)} is not known ` +
        `(${key.getAlgorithm()} ${key.getFingerprint()}${via}); ` +
        `add it to known_hosts or pass hostKeyVerifier`,
    );
  };
  const verify = ((info: KnownHostsCheckInfo): boolean => {
    let type = "";
    try {
      type = new SSHReader(info.keyBlob).readStringAscii("key type", 256);
    } catch { /* fromPublicBlob below says what is wrong */ }
    if (!isCertificateAlgorithm(type)) {
      return checkPlain(SSHKey.fromPublicBlob(info.keyBlob), info, "");
    }
    const cert = SSHCertificate.fromBlob(info.keyBlob);
    const m = matchKnownHosts(kh, info.host, info.address, info.port);
    if (m.trustedCAKeys.length === 0 || !m.trustedCAKeys.some((k) => k.equals(cert.signatureKey))) {
      // As ssh: no CA vouches for this host, so the certified key must be known itself.
      return checkPlain(cert.key, info, `, certified by ${cert.signatureKey.getFingerprint()}`);
    }
    const r = checkHostCertificate(cert, {
      host: info.host,
      trustedCAs: m.trustedCAKeys,
      revokedKeys: m.revokedKeys,
      now: now(),
    });
    if (r.valid) return true;
    return refuse(
      `Host certificate '${cert.keyId}' for ${hostLabel(info.host, info.port)} is not ` +
        `acceptable: ${r.reason}`,
    );
  }) as KnownHostsVerifier;
  verify.hostKeyAlgorithms = (host, port, address, base = DEFAULT_HOST_KEY_ALGORITHMS) => {
    const m = matchKnownHosts(kh, host, address, port);
    const knownTypes = new Set(m.trustedHostKeys.map((k) => k.getAlgorithm()));
    const haveCA = m.trustedCAKeys.length > 0;
    const vouched = (alg: string): boolean => {
      if (isCertificateAlgorithm(alg)) return haveCA;
      const t = keyTypeForSignatureAlgorithm(alg);
      return t !== undefined && knownTypes.has(t);
    };
    const first = base.filter(vouched);
    // Known plain key types also vouch for their certificate forms (ssh falls back to the key).
    const certsOfKnown = base.filter((a) =>
      !first.includes(a) && isCertificateAlgorithm(a) &&
      knownTypes.has(keyTypeForSignatureAlgorithm(plainAlgorithm(a)) ?? "")
    );
    if (first.length === 0 && certsOfKnown.length === 0) return [...base];
    const head = [...certsOfKnown, ...first].sort((a, b) => base.indexOf(a) - base.indexOf(b));
    return [...head, ...base.filter((a) => !head.includes(a))];
  };
  Object.defineProperty(verify, "knownHosts", { value: kh });
  return verify;
}

/**
 * Turns a key with an X.509 chain into a server host key served under its
 * `x509v3-*` algorithm (RFC 6187).
 *
 * @example
 * ```ts ignore
 * const hostKeys = [hostKeyFromX509(new X509KeyPair(key, [hostCert, intermediate]))];
 * ```
 */
export function hostKeyFromX509(pair: X509KeyPair): ServerHostKey {
  return {
    hostKeyAlgorithms: pair.getSigAlgorithms(),
    publicKeyBlob: pair.publicKeyBlob,
    signSync: (data, algorithm) => pair.sign(data, algorithm),
  };
}

/**
 * A host key verifier for X.509 host keys: the chain must lead to one of
 * `trustedCerts`, allow secureShellServer (or any purpose) and name the host
 * (DNS name or address) in its subjectAltName. Plain keys and OpenSSH
 * certificates are passed to `fallback` (refused without one).
 *
 * @example
 * ```ts ignore
 * await connect("h.example", {
 *   serverHostKeyAlgs: ["x509v3-ecdsa-sha2-nistp256", "ssh-ed25519"],
 *   hostKeyVerifier: x509HostKeyVerifier(await readX509("ca.pem"), await knownHostsVerifier({ files })),
 * });
 * ```
 */
export function x509HostKeyVerifier(
  trustedCerts: readonly X509Certificate[],
  fallback?: (info: KnownHostsCheckInfo) => boolean | Promise<boolean>,
  options: { now?: () => number } = {},
): (info: KnownHostsCheckInfo) => boolean | Promise<boolean> {
  return (info) => {
    if (!info.algorithm.startsWith("x509v3-")) {
      if (fallback) return fallback(info);
      throw new SSHError(
        "ERR_HOST_KEY_NOT_VERIFIABLE",
        `Host key for ${hostLabel(info.host, info.port)} is not an X.509 certificate`,
      );
    }
    const r = checkX509SSHKey(info.keyBlob, {
      trustedCerts,
      now: (options.now ?? Date.now)(),
      purpose: "secureShellServer",
      principal: info.host,
    });
    if (r.valid) return true;
    throw new SSHError(
      "ERR_HOST_KEY_NOT_VERIFIABLE",
      `X.509 host certificate for ${hostLabel(info.host, info.port)} is not trusted: ${r.reason}`,
    );
  };
}
