/**
 * Host key checking for X.509 host keys (RFC 6187): the chain must lead to a
 * trusted certificate, allow secureShellServer and name the host.
 *
 * @module
 */

import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { SSHError } from "../../core/errors.ts";
import { importX509Certificates, X509Certificate } from "../../keys/x509/certificate.ts";
import { checkX509SSHKey } from "../../keys/x509/ssh.ts";
import type { X509ValidateResult } from "../../keys/x509/chain.ts";
import { expandHome, wallClock } from "../runtime/env.ts";
import { hostLabel, type KnownHostsCheckInfo } from "./known_hosts.ts";

/** A trusted X.509 certificate: parsed, or PEM text (one or more certificates), or DER bytes. */
export type X509CertificateInput = X509Certificate | string | Uint8Array;

/** Most files read from one trusted-certificate directory (a CA store has a few hundred). */
const MAX_CERT_DIR_FILES = 10_000;

/**
 * Loads trusted X.509 certificates (AsyncSSH's `x509_trusted_certs` and
 * `x509_trusted_cert_paths`): `certs` as objects, PEM text or DER; `paths` as
 * PEM/DER files (`~` expands) or directories, whose files are all read (an
 * OpenSSL hashed directory such as /etc/ssl/certs works: every file in it is
 * tried; files that hold no certificate are skipped). A named file that holds
 * no certificate is an error.
 *
 * @example
 * ```ts ignore
 * const trusted = await loadX509Certificates([], ["/etc/ssh/ca.pem"]);
 * ```
 */
export async function loadX509Certificates(
  certs: readonly X509CertificateInput[] = [],
  paths: readonly string[] = [],
): Promise<X509Certificate[]> {
  const out: X509Certificate[] = [];
  for (const c of certs) {
    out.push(...(c instanceof X509Certificate ? [c] : importX509Certificates(c)));
  }
  for (const raw of paths) {
    const p = expandHome(raw);
    if ((await stat(p)).isDirectory()) {
      const names = (await readdir(p)).sort().slice(0, MAX_CERT_DIR_FILES);
      for (const name of names) {
        try {
          out.push(...importX509Certificates(new Uint8Array(await readFile(join(p, name)))));
        } catch { /* not a certificate (or unreadable): a store holds other files too */ }
      }
    } else {
      out.push(...importX509Certificates(new Uint8Array(await readFile(p))));
    }
  }
  return out;
}

/**
 * Checks an `x509v3-*` key blob against trusted certificates for any of
 * `purposes` ("any", a name such as "secureShellClient", or an OID; a list
 * passes when one purpose is allowed). `principal` (a host) and `userPrincipal`
 * (a user) are checked when given.
 *
 * @example
 * ```ts ignore
 * const r = checkX509Purposes(blob, trusted, ["secureShellClient"], { now: Date.now() });
 * ```
 */
export function checkX509Purposes(
  blob: Uint8Array,
  trustedCerts: readonly X509Certificate[],
  purposes: string | readonly string[],
  options: { now: number; principal?: string; userPrincipal?: string },
): X509ValidateResult {
  const list = typeof purposes === "string" ? [purposes] : purposes;
  const any = list.length === 0 || list.includes("any");
  let last: X509ValidateResult = { valid: false, reason: "no purpose given" };
  for (const purpose of any ? [undefined] : list) {
    last = checkX509SSHKey(blob, {
      trustedCerts,
      now: options.now,
      ...(purpose !== undefined ? { purpose } : {}),
      ...(options.principal !== undefined ? { principal: options.principal } : {}),
      ...(options.userPrincipal !== undefined ? { userPrincipal: options.userPrincipal } : {}),
    });
    if (last.valid) return last;
  }
  return last;
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
  options: {
    now?: () => number;
    /** Purposes the host certificate must allow (one of); default "secureShellServer"; "any" for none. */
    purposes?: string | readonly string[];
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
    const r = checkX509Purposes(
      info.keyBlob,
      trustedCerts,
      options.purposes ?? "secureShellServer",
      {
        now: (options.now ?? wallClock)(),
        principal: info.host,
      },
    );
    if (r.valid) return true;
    throw new SSHError(
      "ERR_HOST_KEY_NOT_VERIFIABLE",
      `X.509 host certificate for ${hostLabel(info.host, info.port)} is not trusted: ${r.reason}`,
    );
  };
}
