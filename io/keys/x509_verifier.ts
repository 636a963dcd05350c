/**
 * Host key checking for X.509 host keys (RFC 6187): the chain must lead to a
 * trusted certificate, allow secureShellServer and name the host.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import type { X509Certificate } from "../../keys/x509/certificate.ts";
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
      now: (options.now ?? wallClock)(),
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
