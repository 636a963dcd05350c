/**
 * X.509 certificates (RFC 5280) for SSH: parse, inspect, verify and create
 * user, host and CA certificates, in DER and PEM.
 *
 * Pure and synchronous, built on this folder's DER code and the same signing
 * and verification code as SSH keys (RSA PKCS#1 v1.5 with SHA-1/256/512, ECDSA
 * on P-256/384/521 with SHA-256/384/512, Ed25519). `@peculiar/x509` was tried
 * first: it needs a global `Reflect` metadata polyfill at import time (through
 * tsyringe; it throws on Deno, Node and Bun without one), WebCrypto keys and
 * async calls — none of which suits `keys/` (no runtime APIs, usable from the
 * synchronous engine), so it is not used.
 *
 * Principals: host principals go into subjectAltName as dNSName (or
 * iPAddress for an address), user principals as an otherName with the UPN OID
 * (1.3.6.1.4.1.311.20.2.3, UTF8String); reading collects DNS names, addresses,
 * e-mail addresses and UPNs.
 *
 * @module
 */

import { DerReader, DerTag } from "../formats/asn1.ts";
import { encodePem, parsePem } from "../formats/pem.ts";
import { parseSpki } from "../formats/spki.ts";
import { SSHKey } from "../ssh_key.ts";
import { commonNames, nameToString } from "./name.ts";
import { KeyImportError } from "../errors.ts";
import { parseExtensions, type X509Extensions } from "./extensions.ts";
import { verifyX509Signature } from "./signature.ts";
import { readTime } from "./time.ts";

/**
 * A parsed X.509 certificate. Create one with {@link importX509Certificate} or
 * the `generateX509*Certificate` functions.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
 * const ca = generatePrivateKey("ecdsa");
 * const cert = generateX509CACertificate(ca, ca, "CN=Example CA", { now: Date.now() });
 * console.log(cert.subject, cert.isCA); // "CN=Example CA" true
 * ```
 */
export class X509Certificate {
  /** The whole certificate, DER. */
  readonly der: Uint8Array;
  /** The signed part (TBSCertificate), DER. */
  readonly tbs: Uint8Array;
  /** The X.509 version as people count it: 1, 2 or 3. */
  readonly version: number;
  /** The serial number the issuer chose. */
  readonly serial: bigint;
  /** Issuer and subject as RFC 4514 text. */
  readonly issuer: string;
  /** The subject's distinguished name as RFC 4514 text. */
  readonly subject: string;
  /** Issuer and subject as DER, for exact comparison. */
  readonly issuerDer: Uint8Array;
  /** The subject's distinguished name as DER, for exact comparison. */
  readonly subjectDer: Uint8Array;
  /** Start of validity (inclusive). */
  readonly notBefore: Date;
  /** End of validity (inclusive). */
  readonly notAfter: Date;
  /** The certified public key. */
  readonly publicKey: SSHKey;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** The extensions this library understands, decoded. */
  readonly extensions: X509Extensions;
  /** Signature algorithm OID. */
  readonly signatureAlgorithm: string;
  /** The issuer's signature over `tbs` (the BIT STRING contents). */
  readonly signature: Uint8Array;
  #comment: string;

  private constructor(der: Uint8Array, comment: string) {
    this.der = der.slice();
    this.#comment = comment;
    const top = new DerReader(this.der, "certificate");
    const cert = top.readSequence("Certificate");
    const tbsEl = cert.read("TBSCertificate");
    if (tbsEl.tag !== DerTag.SEQUENCE) {
      throw new KeyImportError("Cannot parse certificate: bad TBS");
    }
    this.tbs = tbsEl.encoded;
    const sigAlg = cert.readSequence("signatureAlgorithm");
    this.signatureAlgorithm = sigAlg.readOid("signature algorithm");
    this.signature = cert.readBitString("signature").slice();
    cert.assertEnd();
    top.assertEnd();
    const t = cert.child(tbsEl.content, "TBSCertificate");
    const v = t.readOptionalExplicit(0, "version");
    this.version = v ? v.readSmallInteger("version", 2) + 1 : 1;
    v?.assertEnd("version");
    this.serial = t.readInteger("serialNumber");
    const inner = t.readSequence("signature");
    if (inner.readOid("signature algorithm") !== this.signatureAlgorithm) {
      throw new KeyImportError("Cannot parse certificate: the two signature algorithms differ");
    }
    this.issuerDer = t.read("issuer").encoded.slice();
    const validity = t.readSequence("validity");
    this.notBefore = readTime(validity, "notBefore");
    this.notAfter = readTime(validity, "notAfter");
    this.subjectDer = t.read("subject").encoded.slice();
    this.issuer = nameToString(this.issuerDer);
    this.subject = nameToString(this.subjectDer);
    this.spki = t.read("subjectPublicKeyInfo").encoded.slice();
    this.publicKey = SSHKey.fromMaterial(parseSpki(this.spki));
    t.readOptionalImplicit(1, "issuerUniqueID");
    t.readOptionalImplicit(2, "subjectUniqueID");
    const ext = t.readOptionalExplicit(3, "extensions");
    this.extensions = ext ? parseExtensions(ext) : { unknownCritical: [] };
    t.assertEnd();
  }

  /**
   * Decodes a DER certificate. Throws {@link KeyImportError}.
   *
   * @example
   * ```ts
   * import { X509Certificate } from "@sshts/ssh";
   * try { X509Certificate.fromDer(new Uint8Array([0x30, 0])); } catch (e) { console.log((e as Error).name); }
   * ```
   */
  static fromDer(der: Uint8Array, comment = ""): X509Certificate {
    try {
      return new X509Certificate(der, comment);
    } catch (e) {
      if (e instanceof KeyImportError) throw e;
      throw new KeyImportError(`Cannot parse certificate: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * True when this is a CA certificate (basicConstraints cA).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509UserCertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509UserCertificate(k, k, "CN=u", { now: Date.now() }).isCA); // false
   * ```
   */
  get isCA(): boolean {
    return this.extensions.basicConstraints?.ca === true;
  }

  /**
   * The names the certificate is for: its subjectAltName DNS names, addresses,
   * e-mail addresses and UPNs, in that order.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509HostCertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509HostCertificate(k, k, "CN=h", { now: Date.now(), principals: ["h.example", "192.0.2.1"] }).principals);
   * // ["h.example", "192.0.2.1"]
   * ```
   */
  get principals(): string[] {
    const s = this.extensions.subjectAltName;
    return s ? [...s.dns, ...s.ip, ...s.email, ...s.upn] : [];
  }

  /**
   * The user names the certificate is for, as AsyncSSH reads them: its subjectAltName
   * e-mail addresses and UPNs or, when it has no subjectAltName at all, its subject's
   * common names. A server lets a certificate log in only as one of these.
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509UserCertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509UserCertificate(k, k, "CN=alice", { now: Date.now() }).userPrincipals); // ["alice"]
   * ```
   */
  get userPrincipals(): string[] {
    const s = this.extensions.subjectAltName;
    return s ? [...s.email, ...s.upn] : commonNames(this.subjectDer);
  }

  /**
   * The comment kept with the certificate (not part of it).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509CACertificate(k, k, "CN=ca", { now: Date.now(), comment: "root" }).getComment()); // "root"
   * ```
   */
  getComment(): string {
    return this.#comment;
  }

  /**
   * True when `issuerKey` signed this certificate (any supported algorithm).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ecdsa", { keySize: 384 });
   * const cert = generateX509CACertificate(k, k, "CN=ca", { now: Date.now() });
   * console.log(cert.verifySignature(k)); // true
   * ```
   */
  verifySignature(issuerKey: SSHKey): boolean {
    return verifyX509Signature(
      issuerKey.material,
      this.signatureAlgorithm,
      this.signature,
      this.tbs,
    );
  }

  /**
   * The certificate as PEM (`-----BEGIN CERTIFICATE-----`).
   *
   * @example
   * ```ts
   * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509CACertificate(k, k, "CN=ca", { now: Date.now() }).exportPem().split("\n")[0]);
   * // "-----BEGIN CERTIFICATE-----"
   * ```
   */
  exportPem(): string {
    return encodePem("CERTIFICATE", this.der);
  }
}

/**
 * Imports X.509 certificates from PEM text (every CERTIFICATE block, in order)
 * or one DER certificate. Throws {@link KeyImportError}.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
 * import { importX509Certificates } from "@sshts/ssh";
 * const k = generatePrivateKey("ed25519");
 * const pem = generateX509CACertificate(k, k, "CN=a", { now: Date.now() }).exportPem() + generateX509CACertificate(k, k, "CN=b", { now: Date.now() }).exportPem();
 * console.log(importX509Certificates(pem).map((c) => c.subject)); // ["CN=a", "CN=b"]
 * ```
 */
export function importX509Certificates(data: string | Uint8Array): X509Certificate[] {
  if (data instanceof Uint8Array && data[0] === 0x30) return [X509Certificate.fromDer(data)];
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  const blocks = parsePem(text).filter((b) => b.label === "CERTIFICATE");
  if (blocks.length === 0) {
    throw new KeyImportError("Cannot import certificate: no CERTIFICATE block");
  }
  return blocks.map((b) => X509Certificate.fromDer(b.body));
}

/**
 * Imports one X.509 certificate (the first in PEM text, or DER).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
 * import { importX509Certificate } from "@sshts/ssh";
 * const k = generatePrivateKey("ed25519");
 * const der = generateX509CACertificate(k, k, "CN=a", { now: Date.now() }).der;
 * console.log(importX509Certificate(der).subject); // "CN=a"
 * ```
 */
export function importX509Certificate(data: string | Uint8Array): X509Certificate {
  return importX509Certificates(data)[0]!;
}
