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

import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { ECDSA_CURVES } from "../core/publickey/ecdsa.ts";
import { rsaVerifyPkcs1v15 } from "../core/publickey/rsa.ts";
import type { KeyMaterial } from "../core/publickey/types.ts";
import { type RandomSource, systemRandom } from "../core/random.ts";
import { bigIntToBytes, bytesToBigInt, SSHReader } from "../core/wire.ts";
import {
  derBitString,
  derElement,
  derExplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
  DerTag,
} from "./asn1.ts";
import { encodePem, parsePem } from "./pem.ts";
import { encodeSpki, parseSpki } from "./spki.ts";
import { SSHKey } from "./ssh_key.ts";
import { encodeName, nameToString } from "./x509_name.ts";
import { KeyImportError } from "./errors.ts";

/** Extended key usage purposes by name (RFC 5280, RFC 6187 §2.2). */
export const X509_PURPOSES: Readonly<Record<string, string>> = Object.freeze({
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  secureShellClient: "1.3.6.1.5.5.7.3.21",
  secureShellServer: "1.3.6.1.5.5.7.3.22",
  any: "2.5.29.37.0",
});

const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  upn: "1.3.6.1.4.1.311.20.2.3",
} as const;

/** Signature algorithms by OID: key type and hash. */
const SIG_ALGS: Readonly<Record<string, { key: string; hash: string; name: string }>> = {
  "1.2.840.113549.1.1.5": { key: "rsa", hash: "sha1", name: "sha1WithRSAEncryption" },
  "1.2.840.113549.1.1.11": { key: "rsa", hash: "sha256", name: "sha256WithRSAEncryption" },
  "1.2.840.113549.1.1.13": { key: "rsa", hash: "sha512", name: "sha512WithRSAEncryption" },
  "1.2.840.10045.4.3.2": { key: "ecdsa", hash: "sha256", name: "ecdsa-with-SHA256" },
  "1.2.840.10045.4.3.3": { key: "ecdsa", hash: "sha384", name: "ecdsa-with-SHA384" },
  "1.2.840.10045.4.3.4": { key: "ecdsa", hash: "sha512", name: "ecdsa-with-SHA512" },
  "1.3.101.112": { key: "ed25519", hash: "", name: "Ed25519" },
};

const HASHES: Readonly<Record<string, (b: Uint8Array) => Uint8Array>> = {
  sha256,
  sha384,
  sha512,
};

/** One key usage name (RFC 5280 §4.2.1.3). */
export type X509KeyUsage =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/** Key usage bits (RFC 5280 §4.2.1.3), by name, in bit order. */
const KEY_USAGE_BITS: readonly X509KeyUsage[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

/** The extensions this library reads; others are kept as raw `unknown` entries. */
export interface X509Extensions {
  /** basicConstraints: a CA, and how many CAs may follow it below. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number };
  /** keyUsage: the usages whose bits are set; undefined when the extension is absent. */
  readonly keyUsage?: readonly X509KeyUsage[];
  /** extendedKeyUsage purpose OIDs. */
  readonly extendedKeyUsage?: readonly string[];
  /** subjectAltName entries by kind (IP addresses as text); undefined when the extension is absent. */
  readonly subjectAltName?: {
    readonly dns: readonly string[];
    readonly ip: readonly string[];
    readonly email: readonly string[];
    readonly upn: readonly string[];
  };
  /** subjectKeyIdentifier: the key id of this certificate's key. */
  readonly subjectKeyIdentifier?: Uint8Array;
  /** authorityKeyIdentifier keyIdentifier: the key id of the issuer's key. */
  readonly authorityKeyIdentifier?: Uint8Array;
  /** OIDs of critical extensions this library does not understand. */
  readonly unknownCritical: readonly string[];
}

function ipText(b: Uint8Array): string {
  if (b.length === 4) return [...b].join(".");
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 2) parts.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return parts.join(":");
}

function ipBytes(s: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    return b.every((x) => x <= 255) ? new Uint8Array(b) : undefined;
  }
  if (!s.includes(":") || !/^[0-9a-fA-F:]+$/.test(s)) return undefined;
  const [head, tail] = s.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const fill = s.includes("::") ? 8 - h.length - t.length : 0;
  const groups = [...h, ...Array(fill).fill("0"), ...t];
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

function readBits(content: Uint8Array): boolean[] {
  const unused = content[0] ?? 0;
  const bits: boolean[] = [];
  for (let i = 1; i < content.length; i++) {
    for (let b = 7; b >= 0; b--) bits.push(((content[i]! >> b) & 1) === 1);
  }
  return bits.slice(0, Math.max(0, bits.length - unused));
}

function parseExtensions(r: DerReader): X509Extensions {
  const ext: {
    -readonly [K in keyof X509Extensions]: X509Extensions[K];
  } = { unknownCritical: [] };
  const unknown: string[] = [];
  const seq = r.readSequence("extensions");
  const seen = new Set<string>();
  while (!seq.done) {
    const e = seq.readSequence("extension");
    const oid = e.readOid("extension id");
    if (seen.has(oid)) {
      throw new KeyImportError(`Cannot parse certificate: extension ${oid} repeats`);
    }
    seen.add(oid);
    let critical = false;
    if (e.peekTag() === 0x01) critical = e.read("critical").content[0] !== 0;
    const value = new DerReader(e.readOctetString("extension value"), `extension ${oid}`);
    e.assertEnd();
    switch (oid) {
      case OID.basicConstraints: {
        const bc = value.readSequence("basicConstraints");
        let ca = false;
        let pathLength: number | undefined;
        if (bc.peekTag() === 0x01) ca = bc.read("cA").content[0] !== 0;
        if (bc.peekTag() === DerTag.INTEGER) pathLength = bc.readSmallInteger("pathLen", 1000);
        ext.basicConstraints = pathLength === undefined ? { ca } : { ca, pathLength };
        break;
      }
      case OID.keyUsage: {
        const bits = readBits(value.readTagged(DerTag.BIT_STRING, "keyUsage"));
        ext.keyUsage = KEY_USAGE_BITS.filter((_, i) => bits[i]);
        break;
      }
      case OID.extKeyUsage: {
        const s = value.readSequence("extKeyUsage");
        const oids: string[] = [];
        while (!s.done) oids.push(s.readOid("purpose"));
        ext.extendedKeyUsage = oids;
        break;
      }
      case OID.subjectAltName: {
        const s = value.readSequence("subjectAltName");
        const san = {
          dns: [] as string[],
          ip: [] as string[],
          email: [] as string[],
          upn: [] as string[],
        };
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        while (!s.done) {
          const g = s.read("general name");
          if (g.tag === 0x82) san.dns.push(text(g.content));
          else if (g.tag === 0x81) san.email.push(text(g.content));
          else if (g.tag === 0x87) san.ip.push(ipText(g.content));
          else if (g.tag === 0xa0) {
            const on = s.child(g.content, "otherName");
            const typeId = on.readOid("otherName type");
            const v = on.readOptionalExplicit(0, "otherName value");
            if (typeId === OID.upn && v) san.upn.push(text(v.read("UPN").content));
          }
        }
        ext.subjectAltName = san;
        break;
      }
      case OID.subjectKeyId:
        ext.subjectKeyIdentifier = value.readOctetString("subjectKeyIdentifier").slice();
        break;
      case OID.authorityKeyId: {
        const s = value.readSequence("authorityKeyIdentifier");
        const id = s.readOptionalImplicit(0, "keyIdentifier");
        if (id) ext.authorityKeyIdentifier = id.slice();
        break;
      }
      default:
        if (critical) unknown.push(oid);
    }
  }
  ext.unknownCritical = unknown;
  return ext;
}

function readTime(r: DerReader, what: string): Date {
  const e = r.read(what);
  const s = new TextDecoder().decode(e.content);
  let m: RegExpExecArray | null;
  if (e.tag === DerTag.UTC_TIME && (m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))) {
    const yy = Number(m[1]);
    return new Date(
      Date.UTC(yy < 50 ? 2000 + yy : 1900 + yy, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!),
    );
  }
  if (
    e.tag === DerTag.GENERALIZED_TIME && (m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s))
  ) {
    return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  }
  throw new KeyImportError(`Cannot parse certificate: bad ${what} '${s}'`);
}

function encodeTime(d: Date): Uint8Array {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "") + "Z";
  const year = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year >= 1950 && year < 2050
    ? derElement(DerTag.UTC_TIME, new TextEncoder().encode(digits.slice(2)))
    : derElement(DerTag.GENERALIZED_TIME, new TextEncoder().encode(digits));
}

/**
 * A parsed X.509 certificate. Create one with {@link importX509Certificate} or
 * the `generateX509*Certificate` functions.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509CACertificate } from "./x509.ts";
 * const ca = generatePrivateKey("ecdsa");
 * const cert = generateX509CACertificate(ca, ca, "CN=Example CA");
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
   * import { X509Certificate } from "./x509.ts";
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
   * import { generatePrivateKey } from "./generate.ts";
   * import { generateX509UserCertificate } from "./x509.ts";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509UserCertificate(k, k, "CN=u").isCA); // false
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
   * import { generatePrivateKey } from "./generate.ts";
   * import { generateX509HostCertificate } from "./x509.ts";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509HostCertificate(k, k, "CN=h", { principals: ["h.example", "192.0.2.1"] }).principals);
   * // ["h.example", "192.0.2.1"]
   * ```
   */
  get principals(): string[] {
    const s = this.extensions.subjectAltName;
    return s ? [...s.dns, ...s.ip, ...s.email, ...s.upn] : [];
  }

  /**
   * The comment kept with the certificate (not part of it).
   *
   * @example
   * ```ts
   * import { generatePrivateKey } from "./generate.ts";
   * import { generateX509CACertificate } from "./x509.ts";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509CACertificate(k, k, "CN=ca", { comment: "root" }).getComment()); // "root"
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
   * import { generatePrivateKey } from "./generate.ts";
   * import { generateX509CACertificate } from "./x509.ts";
   * const k = generatePrivateKey("ecdsa", { keySize: 384 });
   * const cert = generateX509CACertificate(k, k, "CN=ca");
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
   * import { generatePrivateKey } from "./generate.ts";
   * import { generateX509CACertificate } from "./x509.ts";
   * const k = generatePrivateKey("ed25519");
   * console.log(generateX509CACertificate(k, k, "CN=ca").exportPem().split("\n")[0]);
   * // "-----BEGIN CERTIFICATE-----"
   * ```
   */
  exportPem(): string {
    return encodePem("CERTIFICATE", this.der);
  }
}

function verifyX509Signature(
  key: KeyMaterial,
  algOid: string,
  signature: Uint8Array,
  data: Uint8Array,
): boolean {
  const alg = SIG_ALGS[algOid];
  if (!alg || alg.key !== key.type) return false;
  try {
    switch (key.type) {
      case "rsa":
        return (alg.hash === "sha1" || alg.hash === "sha256" || alg.hash === "sha512") &&
          rsaVerifyPkcs1v15(key.n, key.e, alg.hash, data, signature);
      case "ed25519":
        return signature.length === 64 && ed25519.verify(signature, data, key.publicKey);
      case "ecdsa": {
        const info = ECDSA_CURVES[key.curve];
        const r = new DerReader(signature, "ECDSA signature");
        const seq = r.readSequence("ECDSA-Sig-Value");
        const rv = seq.readInteger("r");
        const sv = seq.readInteger("s");
        seq.assertEnd();
        r.assertEnd();
        if (rv <= 0n || rv >= info.order || sv <= 0n || sv >= info.order) return false;
        const compact = new Uint8Array(2 * info.size);
        compact.set(bigIntToBytes(rv, info.size), 0);
        compact.set(bigIntToBytes(sv, info.size), info.size);
        return info.curve.verify(compact, HASHES[alg.hash]!(data), key.publicKey, {
          prehash: false,
          lowS: false,
        });
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** Signs `tbs` with an SSH key for X.509; returns the algorithm OID and signature value. */
function signX509(
  key: SSHKey,
  tbs: Uint8Array,
  random: RandomSource,
): { oid: string; sig: Uint8Array } {
  const m = key.material;
  const inner = (blob: Uint8Array) => {
    const r = new SSHReader(blob);
    r.readString("algorithm");
    return r.readString("signature");
  };
  switch (m.type) {
    case "rsa":
      return { oid: "1.2.840.113549.1.1.11", sig: inner(key.sign(tbs, "rsa-sha2-256", random)) };
    case "ed25519":
      return { oid: "1.3.101.112", sig: inner(key.sign(tbs, "ssh-ed25519", random)) };
    case "ecdsa": {
      // SSH signs ECDSA with the curve's hash, which is also what X.509 names here.
      const oid = {
        nistp256: "1.2.840.10045.4.3.2",
        nistp384: "1.2.840.10045.4.3.3",
        nistp521: "1.2.840.10045.4.3.4",
      }[m.curve];
      const r = new SSHReader(inner(key.sign(tbs, `ecdsa-sha2-${m.curve}`, random)));
      const rv = r.readMpint("r");
      const sv = r.readMpint("s");
      return { oid, sig: derSequence(derInteger(rv), derInteger(sv)) };
    }
    default:
      throw new KeyImportError(`Cannot sign a certificate with a ${m.type} key`);
  }
}

function algorithmIdentifier(oid: string): Uint8Array {
  return oid.startsWith("1.2.840.113549.1.1.")
    ? derSequence(derOid(oid), derNull())
    : derSequence(derOid(oid));
}

function keyId(spki: Uint8Array): Uint8Array {
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
  const r = new DerReader(spki).readSequence("SubjectPublicKeyInfo");
  r.read("algorithm");
  return sha1(r.readTagged(DerTag.BIT_STRING, "subjectPublicKey").subarray(1));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? derSequence(derOid(oid), derElement(0x01, new Uint8Array([0xff])), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

function keyUsageBits(usages: readonly X509KeyUsage[]): Uint8Array {
  const idx = usages.map((u) => KEY_USAGE_BITS.indexOf(u));
  const last = Math.max(...idx);
  const bytes = new Uint8Array(Math.floor(last / 8) + 1);
  for (const i of idx) bytes[i >> 3]! |= 0x80 >> (i & 7);
  const unused = bytes.length * 8 - 1 - last;
  const out = new Uint8Array(bytes.length + 1);
  out[0] = unused;
  out.set(bytes, 1);
  return derElement(DerTag.BIT_STRING, out);
}

/** Options shared by the `generateX509*Certificate` functions (AsyncSSH's parameters). */
export interface X509CertificateOptions {
  /** Issuer name; default the subject (self-signed). Ignored when `issuerCertificate` is given. */
  readonly issuer?: string;
  /** The issuer's certificate: its subject becomes the issuer, its key id the authority key id. */
  readonly issuerCertificate?: X509Certificate;
  /** Serial number; default 64 random bits. */
  readonly serial?: bigint;
  /** Start of validity; default now minus a minute (for clock skew). */
  readonly validAfter?: Date;
  /** End of validity; default one year after `validAfter`. */
  readonly validBefore?: Date;
  /** User or host names, as subjectAltName (see the module notes). */
  readonly principals?: readonly string[];
  /** extendedKeyUsage purposes: names from {@link X509_PURPOSES} or OIDs; "any" or [] for none. */
  readonly purposes?: string | readonly string[];
  /** basicConstraints pathLenConstraint of a CA certificate. */
  readonly caPathLength?: number;
  /** Comment kept with the certificate (not part of it); default "". */
  readonly comment?: string;
  /** Randomness for the default serial (and RSA blinding); default the system's secure source. */
  readonly random?: RandomSource;
  /** Current time (ms) for the default validity; default Date.now(). */
  readonly now?: number;
}

interface BuildOptions extends X509CertificateOptions {
  readonly kind: "user" | "host" | "ca";
}

function buildCertificate(
  signingKey: SSHKey,
  subjectKey: SSHKey,
  subject: string,
  o: BuildOptions,
): X509Certificate {
  const random = o.random ?? systemRandom;
  const spki = encodeSpki(subjectKey.material);
  const issuerDer = o.issuerCertificate
    ? o.issuerCertificate.subjectDer
    : encodeName(o.issuer ?? subject);
  const issuerSpki = o.issuerCertificate
    ? o.issuerCertificate.spki
    : encodeSpki(signingKey.material);
  const serialBytes = random(8);
  serialBytes[0]! &= 0x7f;
  const serial = o.serial ?? (bytesToBigInt(serialBytes) || 1n);
  const start = o.validAfter ?? new Date((o.now ?? Date.now()) - 60_000);
  const end = o.validBefore ?? new Date(start.getTime() + 365 * 86400_000);
  const exts: Uint8Array[] = [];
  const isCA = o.kind === "ca";
  exts.push(
    extension(
      OID.basicConstraints,
      true,
      isCA
        ? derSequence(
          derElement(0x01, new Uint8Array([0xff])),
          ...(o.caPathLength !== undefined ? [derInteger(o.caPathLength)] : []),
        )
        : derSequence(),
    ),
  );
  exts.push(
    extension(
      OID.keyUsage,
      true,
      keyUsageBits(isCA ? ["digitalSignature", "keyCertSign", "cRLSign"] : ["digitalSignature"]),
    ),
  );
  const defaultPurpose = o.kind === "user"
    ? "secureShellClient"
    : o.kind === "host"
    ? "secureShellServer"
    : "any";
  const purposes = typeof o.purposes === "string" ? [o.purposes] : o.purposes ?? [defaultPurpose];
  const oids = purposes.filter((p) => p !== "any").map((p) => {
    const oid = X509_PURPOSES[p] ?? (/^\d+(\.\d+)+$/.test(p) ? p : undefined);
    if (!oid) throw new KeyImportError(`Cannot create certificate: unknown purpose '${p}'`);
    return oid;
  });
  if (oids.length > 0) {
    exts.push(extension(OID.extKeyUsage, false, derSequence(...oids.map(derOid))));
  }
  if (o.principals?.length) {
    const names = o.principals.map((p) => {
      if (o.kind === "host") {
        const ip = ipBytes(p);
        return ip ? derElement(0x87, ip) : derElement(0x82, new TextEncoder().encode(p));
      }
      return derElement(
        0xa0,
        new Uint8Array([
          ...derOid(OID.upn),
          ...derExplicit(0, derElement(DerTag.UTF8_STRING, new TextEncoder().encode(p))),
        ]),
      );
    });
    exts.push(extension(OID.subjectAltName, false, derSequence(...names)));
  }
  exts.push(extension(OID.subjectKeyId, false, derOctetString(keyId(spki))));
  exts.push(
    extension(OID.authorityKeyId, false, derSequence(derElement(0x80, keyId(issuerSpki)))),
  );
  const probe = signX509(signingKey, new Uint8Array(0), random).oid;
  const tbs = derSequence(
    derExplicit(0, derInteger(2)),
    derInteger(serial),
    algorithmIdentifier(probe),
    issuerDer,
    derSequence(encodeTime(start), encodeTime(end)),
    encodeName(subject),
    spki,
    derExplicit(3, derSequence(...exts)),
  );
  const { oid, sig } = signX509(signingKey, tbs, random);
  const der = derSequence(tbs, algorithmIdentifier(oid), derBitString(sig));
  return X509Certificate.fromDer(der, o.comment ?? "");
}

/**
 * Creates an X.509 user certificate for `userKey`, signed by `signingKey`
 * (AsyncSSH's `generate_x509_user_certificate`): not a CA, purpose
 * secureShellClient unless `purposes` says otherwise, `principals` as UPNs.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509UserCertificate } from "./x509.ts";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ecdsa");
 * const cert = generateX509UserCertificate(ca, user, "CN=alice", { issuer: "CN=CA", principals: ["alice"] });
 * console.log(cert.principals); // ["alice"]
 * ```
 */
export function generateX509UserCertificate(
  signingKey: SSHKey,
  userKey: SSHKey,
  subject: string,
  options: X509CertificateOptions = {},
): X509Certificate {
  return buildCertificate(signingKey, userKey, subject, { ...options, kind: "user" });
}

/**
 * Creates an X.509 host certificate for `hostKey` (AsyncSSH's
 * `generate_x509_host_certificate`): purpose secureShellServer by default,
 * `principals` as DNS names or IP addresses.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509HostCertificate } from "./x509.ts";
 * const ca = generatePrivateKey("ed25519"), host = generatePrivateKey("ed25519");
 * const cert = generateX509HostCertificate(ca, host, "CN=web", { issuer: "CN=CA", principals: ["web.example"] });
 * console.log(cert.extensions.extendedKeyUsage); // ["1.3.6.1.5.5.7.3.22"]
 * ```
 */
export function generateX509HostCertificate(
  signingKey: SSHKey,
  hostKey: SSHKey,
  subject: string,
  options: X509CertificateOptions = {},
): X509Certificate {
  return buildCertificate(signingKey, hostKey, subject, { ...options, kind: "host" });
}

/**
 * Creates an X.509 CA certificate for `caKey` (self-signed when `signingKey` is
 * `caKey`; AsyncSSH's `generate_x509_ca_certificate`): cA with an optional
 * path length, key usage keyCertSign and cRLSign.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509CACertificate } from "./x509.ts";
 * const root = generatePrivateKey("ecdsa");
 * const cert = generateX509CACertificate(root, root, "CN=Root", { caPathLength: 1 });
 * console.log(cert.extensions.basicConstraints); // { ca: true, pathLength: 1 }
 * ```
 */
export function generateX509CACertificate(
  signingKey: SSHKey,
  caKey: SSHKey,
  subject: string,
  options: X509CertificateOptions = {},
): X509Certificate {
  return buildCertificate(signingKey, caKey, subject, { ...options, kind: "ca" });
}

/**
 * Imports X.509 certificates from PEM text (every CERTIFICATE block, in order)
 * or one DER certificate. Throws {@link KeyImportError}.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509CACertificate, importX509Certificates } from "./x509.ts";
 * const k = generatePrivateKey("ed25519");
 * const pem = generateX509CACertificate(k, k, "CN=a").exportPem() + generateX509CACertificate(k, k, "CN=b").exportPem();
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
 * import { generatePrivateKey } from "./generate.ts";
 * import { generateX509CACertificate, importX509Certificate } from "./x509.ts";
 * const k = generatePrivateKey("ed25519");
 * const der = generateX509CACertificate(k, k, "CN=a").der;
 * console.log(importX509Certificate(der).subject); // "CN=a"
 * ```
 */
export function importX509Certificate(data: string | Uint8Array): X509Certificate {
  return importX509Certificates(data)[0]!;
}
