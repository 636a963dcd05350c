/**
 * X.509 certificates as SSH keys (RFC 6187): the `x509v3-*` key blob of a
 * certificate chain, a key pair that authenticates with one, and the trust
 * check a client (host keys) or server (user keys) makes on such a blob.
 *
 * @module
 */

import { LocalProtocolError } from "../../core/errors.ts";
import type { RandomSource } from "../../core/random.ts";
import { SSHReader, SSHWriter } from "../../core/wire.ts";
import {
  encodeX509KeyBlob,
  parseX509KeyBlob,
  x509AlgorithmsForKey,
  x509SignatureAlgorithm,
} from "../../core/publickey/x509_blob.ts";
import type { SSHKey } from "../ssh_key.ts";
import { X509Certificate } from "./certificate.ts";
import { validateX509Chain, type X509ValidateResult } from "./chain.ts";
import { KeyImportError } from "../errors.ts";

/**
 * The `x509v3-*` algorithms a certificate's key can be used with, most preferred
 * first (RSA: x509v3-rsa2048-sha256 for 2048 bits and more, then x509v3-ssh-rsa).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate, x509Algorithms } from "@sshts/ssh";
 * const k = generatePrivateKey("ecdsa", { keySize: 384 });
 * console.log(x509Algorithms(generateX509CACertificate(k, k, "CN=x", { now: Date.now() }))); // ["x509v3-ecdsa-sha2-nistp384"]
 * ```
 */
export function x509Algorithms(cert: X509Certificate): string[] {
  return x509AlgorithmsForKey(cert.publicKey.material);
}

/**
 * The RFC 6187 key blob of a chain (end entity first).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate, encodeX509SSHKey } from "@sshts/ssh";
 * const k = generatePrivateKey("ed25519");
 * console.log(encodeX509SSHKey([generateX509CACertificate(k, k, "CN=x", { now: Date.now() })]).length > 100); // true
 * ```
 */
export function encodeX509SSHKey(
  chain: readonly X509Certificate[],
  algorithm: string = x509Algorithms(chain[0]!)[0]!,
): Uint8Array {
  if (!chain[0] || !x509Algorithms(chain[0]).includes(algorithm)) {
    throw new LocalProtocolError(`Cannot use '${algorithm}' with this certificate's key`);
  }
  return encodeX509KeyBlob(algorithm, chain.map((c) => c.der));
}

/**
 * Decodes an RFC 6187 key blob into its algorithm and certificates. Throws
 * {@link KeyImportError}.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
 * import { decodeX509SSHKey, encodeX509SSHKey } from "@sshts/ssh";
 * const k = generatePrivateKey("ed25519");
 * const blob = encodeX509SSHKey([generateX509CACertificate(k, k, "CN=x", { now: Date.now() })]);
 * console.log(decodeX509SSHKey(blob).algorithm); // "x509v3-ssh-ed25519"
 * ```
 */
export function decodeX509SSHKey(
  blob: Uint8Array,
): { algorithm: string; certificates: X509Certificate[] } {
  let parsed;
  try {
    parsed = parseX509KeyBlob(blob);
  } catch (e) {
    throw new KeyImportError(`Cannot import X.509 key: ${(e as Error).message}`, { cause: e });
  }
  const certificates = parsed.certificates.map((der) => X509Certificate.fromDer(der));
  if (!x509Algorithms(certificates[0]!).includes(parsed.algorithm)) {
    throw new KeyImportError(
      `Cannot import X.509 key: its certificate's key cannot be '${parsed.algorithm}'`,
    );
  }
  return { algorithm: parsed.algorithm, certificates };
}

/**
 * A private key with an X.509 certificate chain for it, usable as a client key
 * (`connect({ clientKeys })`) or, through `io/`, as a host key.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509UserCertificate, X509KeyPair } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), key = generatePrivateKey("ecdsa");
 * const pair = new X509KeyPair(key, [generateX509UserCertificate(ca, key, "CN=me", { now: Date.now() })]);
 * console.log(pair.keyType); // "x509v3-ecdsa-sha2-nistp256"
 * ```
 */
export class X509KeyPair {
  /** The private key the end-entity certificate certifies. */
  readonly key: SSHKey;
  /** The certificates sent to the peer, end-entity first, then its issuers. */
  readonly chain: readonly X509Certificate[];
  /** The `x509v3-*` algorithm this pair presents. */
  readonly keyType: string;
  /** The RFC 6187 blob. */
  readonly publicKeyBlob: Uint8Array;

  /** Pairs a private key with a chain whose first certificate is for it. */
  constructor(key: SSHKey, chain: readonly X509Certificate[], algorithm?: string) {
    if (!key.hasPrivateKey()) throw new LocalProtocolError("X509KeyPair needs a private key");
    if (!chain[0] || !chain[0].publicKey.equals(key)) {
      throw new LocalProtocolError("The first certificate of the chain is not for this key");
    }
    this.key = key;
    this.chain = chain;
    this.keyType = algorithm ?? x509Algorithms(chain[0])[0]!;
    this.publicKeyBlob = encodeX509SSHKey(chain, this.keyType);
  }

  /**
   * The algorithms this pair signs with (just its key type).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509CACertificate, X509KeyPair } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(new X509KeyPair(k, [generateX509CACertificate(k, k, "CN=x", { now: Date.now() })]).getSigAlgorithms());
   * ```
   */
  getSigAlgorithms(): string[] {
    return [this.keyType];
  }

  /**
   * Signs for an `x509v3-*` algorithm, in the format RFC 6187 gives it
   * (`rsa2048-sha256`, `ssh-rsa`, `ecdsa-sha2-*`, `ssh-ed25519`).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509CACertificate, X509KeyPair } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * const pair = new X509KeyPair(k, [generateX509CACertificate(k, k, "CN=x", { now: Date.now() })]);
   * console.log(pair.sign(new Uint8Array(1)).length); // 83
   * ```
   */
  sign(data: Uint8Array, algorithm: string = this.keyType, random?: RandomSource): Uint8Array {
    const sigAlg = x509SignatureAlgorithm(algorithm);
    if (sigAlg === undefined || algorithm !== this.keyType) {
      throw new LocalProtocolError(`Cannot sign with '${algorithm}' using a ${this.keyType} key`);
    }
    if (sigAlg !== "rsa2048-sha256") return this.key.sign(data, sigAlg, random);
    const r = new SSHReader(this.key.sign(data, "rsa-sha2-256", random));
    r.readString("algorithm");
    return new SSHWriter().writeStringUtf8(sigAlg).writeString(r.readString("signature"))
      .toBytes();
  }
}

/** Options of {@link checkX509SSHKey}. */
export interface X509SSHKeyCheckOptions {
  /** Trust anchors: the chain must end at (or be issued by) one of these. */
  readonly trustedCerts: readonly X509Certificate[];
  /** Current time, milliseconds since the epoch, for the validity checks. */
  readonly now: number;
  /** "secureShellClient" for user keys, "secureShellServer" for host keys (default: none checked). */
  readonly purpose?: string;
  /** The host name or address the end-entity certificate must list (subjectAltName). */
  readonly principal?: string;
  /** The user the end-entity certificate must be for (see `X509Certificate.userPrincipals`). */
  readonly userPrincipal?: string;
}

/**
 * The trust decision for an `x509v3-*` key blob: decodes it and validates its
 * chain with {@link validateX509Chain}. Never throws: a bad blob is invalid.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { generateX509CACertificate, generateX509HostCertificate } from "@sshts/ssh";
 * import { checkX509SSHKey, encodeX509SSHKey } from "@sshts/ssh";
 * const caKey = generatePrivateKey("ecdsa"), hostKey = generatePrivateKey("ed25519");
 * const ca = generateX509CACertificate(caKey, caKey, "CN=CA", { now: Date.now() });
 * const host = generateX509HostCertificate(caKey, hostKey, "CN=h", { now: Date.now(), issuerCertificate: ca, principals: ["h.example"] });
 * const r = checkX509SSHKey(encodeX509SSHKey([host]), {
 *   trustedCerts: [ca], now: Date.now(), purpose: "secureShellServer", principal: "h.example",
 * });
 * console.log(r.valid); // true
 * ```
 */
export function checkX509SSHKey(
  blob: Uint8Array,
  options: X509SSHKeyCheckOptions,
): X509ValidateResult {
  let certificates: X509Certificate[];
  try {
    certificates = decodeX509SSHKey(blob).certificates;
  } catch (e) {
    return { valid: false, reason: (e as Error).message };
  }
  return validateX509Chain(certificates, options);
}
