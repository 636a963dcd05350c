/**
 * Signers from keys: a private key (with an optional certificate, or an X.509
 * chain) becomes the client's {@link ClientKeyPair} or the server's
 * {@link ServerHostKey}.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import type { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { SSHKeyPair } from "../../keys/key_pair.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import type { X509KeyPair } from "../../keys/x509/ssh.ts";
import type { ClientKeyPair, ServerHostKey } from "./types.ts";
// Signing with the system random source lets ECDSA use a native signer (its nonce is random);
// without one, core signs deterministically (RFC 6979) on the portable path.
import { systemRandom } from "../../core/random.ts";

/**
 * Turns a private key (or a key pair), with an optional certificate for it,
 * into the client's signing interface. With a certificate the client presents
 * the certificate (`ssh-ed25519-cert-v01@openssh.com`, …) and signs with the key.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, clientKeyFromSSHKey } from "@sshts/ssh";
 * // With a certificate: clientKeyFromSSHKey(key, await readCertificate("~/.ssh/id_ed25519-cert.pub"))
 * const pair = clientKeyFromSSHKey(generatePrivateKey("ed25519"));
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
    sign: (data, algorithm) => pair.sign(data, algorithm, systemRandom),
  };
}

/**
 * Turns a private key, with an optional host certificate for it, into a server
 * host key. With a certificate the key is served under the certificate
 * algorithms (`ssh-ed25519-cert-v01@openssh.com`, `rsa-sha2-512-cert-v01@openssh.com`,
 * …); pass the plain key as well to serve clients that don't ask for certificates.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, hostKeyFromSSHKey } from "@sshts/ssh";
 * // From a file: hostKeyFromSSHKey(await readPrivateKey("/etc/ssh/ssh_host_ed25519_key")), and
 * // with its certificate as a second argument.
 * const hostKey = hostKeyFromSSHKey(generatePrivateKey("ed25519"));
 * console.log(hostKey.hostKeyAlgorithms); // ["ssh-ed25519"]
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
    signSync: (data, algorithm) => pair.sign(data, algorithm, systemRandom),
  };
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
    signSync: (data, algorithm) => pair.sign(data, algorithm, systemRandom),
  };
}

/**
 * Turns a key with an X.509 chain into a client key for public key
 * authentication under its `x509v3-*` algorithm (RFC 6187).
 *
 * @example
 * ```ts ignore
 * await connect(host, { clientKeys: [clientKeyFromX509(new X509KeyPair(key, [userCert]))] });
 * ```
 */
export function clientKeyFromX509(pair: X509KeyPair): ClientKeyPair {
  return {
    keyType: pair.keyType,
    publicKeyBlob: pair.publicKeyBlob,
    sign: (data, algorithm) => pair.sign(data, algorithm, systemRandom),
  };
}
