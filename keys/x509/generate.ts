/**
 * Creating X.509 user, host and CA certificates signed by an SSH key. The
 * validity defaults need the current time: callers pass `now` (or `validAfter`),
 * so nothing here reads a clock.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { bytesToBigInt } from "../../core/wire.ts";
import {
  derBitString,
  derElement,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
  DerTag,
} from "../formats/asn1.ts";
import { encodeSpki } from "../formats/spki.ts";
import { SSHKey } from "../ssh_key.ts";
import { encodeName } from "./name.ts";
import { KeyGenerationError, KeyImportError } from "../errors.ts";
import { encodeTime } from "./time.ts";
import { X509Certificate } from "./certificate.ts";
import { algorithmIdentifier, signX509 } from "./signature.ts";
import { extension, ipBytes, keyUsageBits, OID, X509_PURPOSES } from "./extensions.ts";

/** What the validity is reckoned from: the current time, or an explicit start. */
export type X509Validity = { readonly now: number } | { readonly validAfter: Date };

/** Validity starts this long before `now`, for peers whose clocks run slow. */
const CLOCK_SKEW_MS = 60_000;

/** Default validity: one year. */
const DEFAULT_VALIDITY_MS = 365 * 86400_000;

/** The key identifier of a public key: SHA-1 of its SPKI (RFC 5280 §4.2.1.2 method 1). */
export function keyId(spki: Uint8Array): Uint8Array {
  // RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING value.
  const r = new DerReader(spki).readSequence("SubjectPublicKeyInfo");
  r.read("algorithm");
  return sha1(r.readTagged(DerTag.BIT_STRING, "subjectPublicKey").subarray(1));
}

/** Options shared by the `generateX509*Certificate` functions (AsyncSSH's parameters). */
export interface X509CertificateOptions {
  /** Issuer name; default the subject (self-signed). Ignored when `issuerCertificate` is given. */
  readonly issuer?: string;
  /** The issuer's certificate: its subject becomes the issuer, its key id the authority key id. */
  readonly issuerCertificate?: X509Certificate;
  /** Serial number; default 64 random bits. */
  readonly serial?: bigint;
  /** Start of validity; default `now` minus a minute (for clock skew). */
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
  /**
   * The current time (ms since the epoch) the default validity starts from. Needed
   * unless `validAfter` is given: `keys/` reads no clock.
   */
  readonly now?: number;
}

export interface BuildOptions extends X509CertificateOptions {
  readonly kind: "user" | "host" | "ca";
}

export function buildCertificate(
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
  if (o.validAfter === undefined && o.now === undefined) {
    throw new KeyGenerationError("Cannot create certificate: give `now` or `validAfter`");
  }
  const start = o.validAfter ?? new Date(o.now! - CLOCK_SKEW_MS);
  const end = o.validBefore ?? new Date(start.getTime() + DEFAULT_VALIDITY_MS);
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
 * import { generatePrivateKey, generateX509UserCertificate } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ecdsa");
 * const cert = generateX509UserCertificate(ca, user, "CN=alice", { now: Date.now(), issuer: "CN=CA", principals: ["alice"] });
 * console.log(cert.principals); // ["alice"]
 * ```
 */
export function generateX509UserCertificate(
  signingKey: SSHKey,
  userKey: SSHKey,
  subject: string,
  options: X509CertificateOptions & X509Validity,
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
 * import { generatePrivateKey, generateX509HostCertificate } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), host = generatePrivateKey("ed25519");
 * const cert = generateX509HostCertificate(ca, host, "CN=web", { now: Date.now(), issuer: "CN=CA", principals: ["web.example"] });
 * console.log(cert.extensions.extendedKeyUsage); // ["1.3.6.1.5.5.7.3.22"]
 * ```
 */
export function generateX509HostCertificate(
  signingKey: SSHKey,
  hostKey: SSHKey,
  subject: string,
  options: X509CertificateOptions & X509Validity,
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
 * import { generatePrivateKey, generateX509CACertificate } from "@sshts/ssh";
 * const root = generatePrivateKey("ecdsa");
 * const cert = generateX509CACertificate(root, root, "CN=Root", { now: Date.now(), caPathLength: 1 });
 * console.log(cert.extensions.basicConstraints); // { ca: true, pathLength: 1 }
 * ```
 */
export function generateX509CACertificate(
  signingKey: SSHKey,
  caKey: SSHKey,
  subject: string,
  options: X509CertificateOptions & X509Validity,
): X509Certificate {
  return buildCertificate(signingKey, caKey, subject, { ...options, kind: "ca" });
}
