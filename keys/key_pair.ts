/**
 * {@link SSHKeyPair}: a private key, optionally with an OpenSSH certificate for
 * it — what a client authenticates with and a server proves its host key with.
 * With a certificate, the pair presents the certificate blob and its
 * `*-cert-v01@openssh.com` algorithms, and signs with the key.
 *
 * @module
 */

import {
  certificateAlgorithm,
  isCertificateAlgorithm,
  plainAlgorithm,
} from "../core/publickey/certificate.ts";
import { LocalProtocolError } from "../core/errors.ts";
import type { RandomSource } from "../core/random.ts";
import type { SSHCertificate } from "./certificates/certificate.ts";
import type { SSHKey } from "./ssh_key.ts";

/**
 * A private key and, optionally, its certificate. It has the shape `connect()`
 * takes in `clientKeys` (`keyType`, `publicKeyBlob`, `sign`).
 *
 * @example Authenticate with a certificate
 * ```ts
 * import { createCertificate, generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), key = generatePrivateKey("ed25519");
 * const cert = createCertificate({ key, caKey: ca, type: "user", keyId: "me", principals: ["me"] });
 * const pair = new SSHKeyPair(key, cert);
 * console.log(pair.keyType); // "ssh-ed25519-cert-v01@openssh.com"
 * ```
 */
export class SSHKeyPair {
  /** The private key. */
  readonly key: SSHKey;
  /** The certificate for the key, if any. */
  readonly certificate: SSHCertificate | undefined;

  /**
   * Pairs a private key with an optional certificate for it. Throws
   * {@link LocalProtocolError} when the key has no private part or the
   * certificate is for another key.
   */
  constructor(key: SSHKey, certificate?: SSHCertificate) {
    if (!key.hasPrivateKey()) {
      throw new LocalProtocolError(
        `Key ${key.getFingerprint()} has no private part to sign with`,
      );
    }
    if (certificate && !certificate.key.equals(key)) {
      throw new LocalProtocolError(
        `Certificate '${certificate.keyId}' is for key ${certificate.getFingerprint()}, ` +
          `not ${key.getFingerprint()}`,
      );
    }
    this.key = key;
    this.certificate = certificate;
  }

  /**
   * The key type presented: the certificate type, or the key's type.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
   * console.log(new SSHKeyPair(generatePrivateKey("ecdsa")).keyType); // "ecdsa-sha2-nistp256"
   * ```
   */
  get keyType(): string {
    return this.certificate ? this.certificate.typeName : this.key.getAlgorithm();
  }

  /**
   * The blob presented: the certificate, or the public key.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(new SSHKeyPair(k).publicKeyBlob.length === k.publicBlob.length); // true
   * ```
   */
  get publicKeyBlob(): Uint8Array {
    return this.certificate ? this.certificate.blob : this.key.publicBlob;
  }

  /**
   * Signature algorithms, most preferred first (certificate forms with a
   * certificate: `rsa-sha2-512-cert-v01@openssh.com`, …).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
   * console.log(new SSHKeyPair(generatePrivateKey("ed25519")).getSigAlgorithms()); // ["ssh-ed25519"]
   * ```
   */
  getSigAlgorithms(): string[] {
    const plain = this.key.getSigAlgorithms();
    return this.certificate ? plain.map(certificateAlgorithm) : plain;
  }

  /**
   * The comment: the certificate's if it has one, else the key's.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
   * console.log(new SSHKeyPair(generatePrivateKey("ed25519", { comment: "me" })).getComment()); // "me"
   * ```
   */
  getComment(): string {
    return this.certificate?.getComment() || this.key.getComment();
  }

  /**
   * Signs `data` for `algorithm`, which may be a certificate algorithm: the
   * signature is made by the key with the plain algorithm inside (as SSH wants).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, SSHKeyPair } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * const sig = new SSHKeyPair(k).sign(new Uint8Array(3), "ssh-ed25519-cert-v01@openssh.com");
   * console.log(k.verify(new Uint8Array(3), sig)); // true
   * ```
   */
  sign(data: Uint8Array, algorithm?: string, random?: RandomSource): Uint8Array {
    const alg = algorithm === undefined
      ? undefined
      : isCertificateAlgorithm(algorithm)
      ? plainAlgorithm(algorithm)
      : algorithm;
    return this.key.sign(data, alg, random);
  }
}
