/**
 * Host key checking for X.509 host keys (RFC 6187): the chain must lead to a
 * trusted certificate, allow secureShellServer and name the host.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { readdir, readFile, stat } from "node:fs/promises";
import { importX509Certificates, X509Certificate } from "../../keys/x509/certificate.ts";
import { expandHome } from "../runtime/env.ts";
import { checkX509SSHKey } from "../../keys/x509/ssh.ts";
import { wallClock } from "../runtime/env.ts";
import { hostLabel, type KnownHostsCheckInfo } from "./known_hosts.ts";

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
  options: {
    now?: () => number;
    /** The purpose the host certificate must allow; default "secureShellServer". */
    purpose?: string;
  } = {},
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
      now: (options.now ?? wallClock)(),
      purpose: options.purpose ?? "secureShellServer",
      principal: info.host,
    });
    if (r.valid) return true;
    throw new SSHError(
      "ERR_HOST_KEY_NOT_VERIFIABLE",
      `X.509 host certificate for ${hostLabel(info.host, info.port)} is not trusted: ${r.reason}`,
    );
  };
}

/**
 * Trusted X.509 certificates from objects, PEM or DER bytes, PEM text, file
 * paths or directories (AsyncSSH's x509_trusted_certs and
 * x509_trusted_cert_paths; an OpenSSL hash directory is read whole); a file or
 * text may hold several certificates.
 *
 * @example
 * ```ts ignore
 * const roots = await loadX509Certificates(["/etc/ssh/ca.pem", pemText]);
 * ```
 */
export async function loadX509Certificates(
  inputs: readonly (X509Certificate | string | Uint8Array)[],
): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  for (const i of inputs) {
    if (i instanceof X509Certificate) out.push(i);
    else if (typeof i === "string" && !i.includes("-----BEGIN")) {
      const path = expandHome(i);
      if ((await stat(path)).isDirectory()) {
        // An OpenSSL hash directory (c_rehash: <hash>.0, ...) or any folder of certificates:
        // every file that holds certificates counts, others are skipped.
        for (const name of (await readdir(path)).sort()) {
          try {
            out.push(...importX509Certificates(new Uint8Array(await readFile(`${path}/${name}`))));
          } catch { /* not a certificate file */ }
        }
      } else out.push(...importX509Certificates(new Uint8Array(await readFile(path))));
    } else out.push(...importX509Certificates(i));
  }
  return out;
}
