/**
 * OpenSSH certificates (PROTOCOL.certkeys): a public key plus identity,
 * principals, validity period and options, signed by a CA key. Parsing,
 * signature verification, validity checks and creation (what `ssh-keygen -s`
 * does).
 *
 * Blob layout: `string type` (`*-cert-v01@openssh.com`), `string nonce`, the
 * plain key's fields, `uint64 serial`, `uint32 type` (1 user, 2 host),
 * `string key id`, `string principals`, `uint64 valid after`, `uint64 valid
 * before`, `string critical options`, `string extensions`, `string reserved`,
 * `string signature key`, then `string signature` over everything before it.
 *
 * @module
 */

import { parseCertificateTime } from "./validity.ts";
import { readPublicKeyBody, writePublicKeyBody } from "../../core/publickey/blob.ts";
import {
  certificateAlgorithm,
  isCertificateAlgorithm,
  plainAlgorithm,
} from "../../core/publickey/certificate.ts";
import type { KeyMaterial } from "../../core/publickey/types.ts";
import { verifySignature } from "../../core/publickey/verify.ts";
import { SSHError } from "../../core/errors.ts";
import { type RandomSource, systemRandom } from "../../core/random.ts";
import { equalBytes, SSHReader, SSHWriter } from "../../core/wire.ts";
import { decodeBase64, encodeBase64 } from "../_base64.ts";
import { checkOneLineComment, splitPublicKeyLine } from "../formats/public_formats.ts";
import { matchCidrList } from "../trust/host_patterns.ts";
import { fingerprintBlob, type FingerprintHash } from "../fingerprint.ts";
import { SSHKey } from "../ssh_key.ts";
import { KeyImportError } from "../errors.ts";

/** OpenSSH's limit on principals per certificate (SSHKEY_CERT_MAX_PRINCIPALS). */
const MAX_PRINCIPALS = 256;
/**
 * The longest `-cert.pub` line importCertificate reads, as authorized_keys and
 * known_hosts lines are capped: a line is text someone else may have written.
 */
export const MAX_CERTIFICATE_LINE = 64 * 1024;
/** `valid before` of a certificate that never expires. */
export const CERT_FOREVER = 0xffffffffffffffffn;
/** Extensions `ssh-keygen -s` grants user certificates by default. */
export const DEFAULT_USER_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({
  "permit-X11-forwarding": "",
  "permit-agent-forwarding": "",
  "permit-port-forwarding": "",
  "permit-pty": "",
  "permit-user-rc": "",
});

/** Certificate kinds. */
export type CertificateType = "user" | "host";

/**
 * The plain key type a certificate type wraps ("ssh-ed25519-cert-v01@openssh.com"
 * → "ssh-ed25519"), or undefined for a name that is not a certificate type.
 *
 * @example
 * ```ts
 * import { plainKeyType } from "@sshts/ssh";
 * console.log(plainKeyType("ssh-rsa-cert-v01@openssh.com")); // "ssh-rsa"
 * ```
 */
export function plainKeyType(certType: string): string | undefined {
  return isCertificateAlgorithm(certType) ? plainAlgorithm(certType) : undefined;
}

/**
 * The certificate type name for a plain key type.
 *
 * @example
 * ```ts
 * import { certKeyType } from "@sshts/ssh";
 * console.log(certKeyType("ssh-ed25519")); // "ssh-ed25519-cert-v01@openssh.com"
 * ```
 */
export function certKeyType(plainType: string): string {
  return certificateAlgorithm(plainType);
}

function readPackedStrings(b: Uint8Array, what: string): string[] {
  const r = new SSHReader(b);
  const out: string[] = [];
  while (r.remaining > 0) {
    if (out.length >= MAX_PRINCIPALS) {
      throw new KeyImportError(`Cannot import certificate: too many ${what}`);
    }
    out.push(r.readStringUtf8(what, 4096));
  }
  return out;
}

function readOptions(b: Uint8Array, what: string, dataless: Set<string>): Map<string, string> {
  const r = new SSHReader(b);
  const out = new Map<string, string>();
  let prev: string | undefined;
  while (r.remaining > 0) {
    const name = r.readStringUtf8(`${what} name`, 1024);
    const data = r.readString(`${what} data`, 64 * 1024);
    if (prev !== undefined && name <= prev) {
      throw new KeyImportError(
        `Cannot import certificate: ${what} are not sorted or repeat '${name}'`,
      );
    }
    prev = name;
    // Values are themselves SSH strings; flags have empty data.
    let value = "";
    if (data.length === 0) dataless.add(name);
    else {
      const dr = new SSHReader(data);
      value = dr.readStringUtf8(`${what} '${name}' value`);
      dr.assertEnd(`${what} '${name}'`);
    }
    out.set(name, value);
  }
  return out;
}

/** Flags sshd knows, by section: one carrying data makes it refuse the certificate. */
const CRITICAL_FLAGS = new Set(["verify-required"]);
const EXTENSION_FLAGS = new Set([
  "no-touch-required",
  "permit-X11-forwarding",
  "permit-agent-forwarding",
  "permit-port-forwarding",
  "permit-pty",
  "permit-user-rc",
]);

/** Critical options sshd knows that carry a value: without one it refuses the certificate. */
const CRITICAL_VALUES = new Set(["force-command", "source-address"]);

/**
 * Why sshd (auth-options.c cert_option_list) would refuse these options although each is
 * well formed: a known flag with data, or a force-command or source-address without a value
 * (read as "", a forced command of nothing could pass for none). `dataless`: the names of
 * each section that had no data.
 */
function optionProblem(
  critical: ReadonlyMap<string, string>,
  criticalDataless: ReadonlySet<string>,
  extensions: ReadonlyMap<string, string>,
  extensionsDataless: ReadonlySet<string>,
): string | undefined {
  for (const name of critical.keys()) {
    if (CRITICAL_FLAGS.has(name) && !criticalDataless.has(name)) {
      return `critical option '${name}' is a flag but carries data`;
    }
    if (CRITICAL_VALUES.has(name) && criticalDataless.has(name)) {
      return `critical option '${name}' has no value`;
    }
  }
  for (const name of extensions.keys()) {
    if (EXTENSION_FLAGS.has(name) && !extensionsDataless.has(name)) {
      return `extension '${name}' is a flag but carries data`;
    }
  }
  return undefined;
}

function writeOptions(options: ReadonlyMap<string, string> | Readonly<Record<string, string>>) {
  const entries = options instanceof Map ? [...options] : Object.entries(options);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const w = new SSHWriter();
  for (const [name, value] of entries) {
    w.writeStringUtf8(name);
    w.writeString(
      value === "" ? new Uint8Array(0) : new SSHWriter().writeStringUtf8(value).toBytes(),
    );
  }
  return w.toBytes();
}

/** What {@link SSHCertificate.checkValidity} checks against. */
export interface CertificateCheckOptions {
  /** Current time, milliseconds since the epoch. */
  readonly now: number;
  /** The certificate must be of this kind. */
  readonly type?: CertificateType;
  /** The user name or host name the certificate must list as a principal. */
  readonly principal?: string;
  /** Trusted CA keys; the signing key must be one of them. */
  readonly trustedCAs?: readonly SSHKey[];
  /**
   * The client address, checked against a `source-address` critical option; without it
   * a certificate that has one is refused (its limit cannot be checked).
   */
  readonly clientAddress?: string;
  /** Signature algorithms accepted from the CA (default: all but ssh-rsa and ssh-dss). */
  readonly allowedSignatureAlgorithms?: readonly string[];
}

/** The outcome of a check: valid, or why not. */
export type CertificateCheckResult = { readonly valid: true } | {
  readonly valid: false;
  readonly reason: string;
};

/**
 * An OpenSSH certificate. Create one by parsing ({@link importCertificate},
 * {@link SSHCertificate.fromBlob}) or signing ({@link createCertificate}).
 *
 * @example Check a user certificate
 * ```ts
 * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519");
 * const user = generatePrivateKey("ecdsa");
 * const cert = createCertificate({ key: user, caKey: ca, type: "user", keyId: "alice", principals: ["alice"] });
 * const r = cert.checkValidity({ now: Date.now(), type: "user", principal: "alice", trustedCAs: [ca] });
 * console.log(r.valid); // true
 * ```
 */
export class SSHCertificate {
  /** The whole certificate blob. */
  readonly blob: Uint8Array;
  /** Certificate type name, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly typeName: string;
  /** The certified public key. */
  readonly key: SSHKey;
  /** The CA's random nonce (makes the signed data unpredictable). */
  readonly nonce: Uint8Array;
  /** The serial number the CA chose (0 when it chose none). */
  readonly serial: bigint;
  /** Whether this certifies a user key or a host key. */
  readonly certType: CertificateType;
  /** The CA's free-form identifier for the key, logged by sshd. */
  readonly keyId: string;
  /** Principals (user or host names); empty means any (OpenSSH refuses that for users). */
  readonly principals: readonly string[];
  /** Seconds since the epoch. */
  readonly validAfter: bigint;
  /** Seconds since the epoch; {@link CERT_FOREVER} when it never expires. */
  readonly validBefore: bigint;
  /** Critical options by name (e.g. "force-command"); flags map to "". */
  readonly criticalOptions: ReadonlyMap<string, string>;
  /** Extensions by name (e.g. "permit-pty"); flags map to "". */
  readonly extensions: ReadonlyMap<string, string>;
  /**
   * Why sshd would refuse this certificate's options although they decode (a flag such as
   * `permit-pty` carrying data, a `force-command` or `source-address` without a value), or
   * undefined. {@link checkValidity} refuses such a user certificate (ssh ignores a host
   * certificate's extensions).
   */
  readonly optionProblem: string | undefined;
  /** The CA's public key. */
  readonly signatureKey: SSHKey;
  /** The CA's signature blob. */
  readonly signature: Uint8Array;
  /** The bytes the signature covers. */
  readonly signedData: Uint8Array;
  #comment: string;
  /** The last {@link verifySignature} answer, with copies of what it was computed over. */
  #verified:
    | {
      readonly allowed: string | undefined;
      readonly ok: boolean;
      readonly signature: Uint8Array;
      readonly signedData: Uint8Array;
    }
    | undefined;

  private constructor(blob: Uint8Array, comment: string) {
    this.blob = blob.slice();
    this.#comment = comment;
    const r = new SSHReader(this.blob);
    this.typeName = r.readStringAscii("certificate type", 256);
    const plain = plainKeyType(this.typeName);
    if (!plain) {
      throw new KeyImportError(
        `Cannot import certificate: '${this.typeName}' is not a certificate type`,
      );
    }
    this.nonce = r.readString("nonce", 1024);
    const material: KeyMaterial = readPublicKeyBody(plain, r);
    this.key = SSHKey.fromMaterial(material, comment);
    this.serial = r.readUint64("serial");
    const type = r.readUint32("certificate kind");
    if (type !== 1 && type !== 2) {
      throw new KeyImportError(`Cannot import certificate: unknown kind ${type}`);
    }
    this.certType = type === 1 ? "user" : "host";
    this.keyId = r.readStringUtf8("key id", 64 * 1024);
    this.principals = readPackedStrings(r.readString("principals", 256 * 1024), "principals");
    this.validAfter = r.readUint64("valid after");
    this.validBefore = r.readUint64("valid before");
    const criticalDataless = new Set<string>();
    this.criticalOptions = readOptions(
      r.readString("critical options", 256 * 1024),
      "critical options",
      criticalDataless,
    );
    const extensionsDataless = new Set<string>();
    this.extensions = readOptions(
      r.readString("extensions", 256 * 1024),
      "extensions",
      extensionsDataless,
    );
    this.optionProblem = optionProblem(
      this.criticalOptions,
      criticalDataless,
      this.extensions,
      extensionsDataless,
    );
    r.readString("reserved", 64 * 1024);
    const caBlob = r.readString("signature key", 64 * 1024);
    if (plainKeyType(new SSHReader(caBlob).readStringAscii("CA key type", 256))) {
      throw new KeyImportError("Cannot import certificate: its CA key is itself a certificate");
    }
    this.signatureKey = SSHKey.fromPublicBlob(caBlob);
    this.signedData = this.blob.subarray(0, r.position);
    this.signature = r.readString("signature", 16 * 1024);
    r.assertEnd("certificate");
  }

  /**
   * Decodes a certificate blob (as in a `-cert.pub` file or on the wire). Does
   * not verify the signature: call {@link verifySignature} or {@link checkValidity}.
   *
   * @example
   * ```ts
   * import { createCertificate, SSHCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * const c = createCertificate({ key: ca, caKey: ca, type: "host", keyId: "h" });
   * console.log(SSHCertificate.fromBlob(c.blob).keyId); // "h"
   * ```
   */
  static fromBlob(blob: Uint8Array, comment = ""): SSHCertificate {
    try {
      return new SSHCertificate(blob, comment);
    } catch (e) {
      if (e instanceof KeyImportError) throw e;
      if (e instanceof SSHError) {
        throw new KeyImportError(`Cannot import certificate: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * The certificate type name.
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * console.log(createCertificate({ key: ca, caKey: ca, type: "host", keyId: "h" }).getAlgorithm());
   * // "ssh-ed25519-cert-v01@openssh.com"
   * ```
   */
  getAlgorithm(): string {
    return this.typeName;
  }

  /**
   * Signature algorithms for authenticating with this certificate
   * (RSA: rsa-sha2-512-cert-v01@openssh.com, ...).
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * console.log(createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" }).getSigAlgorithms());
   * ```
   */
  getSigAlgorithms(): string[] {
    return this.key.getSigAlgorithms().map((a) => certKeyType(a));
  }

  /**
   * The fingerprint of the certified key, as `ssh-keygen -l` prints for a certificate.
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519"), k = generatePrivateKey("ed25519");
   * const c = createCertificate({ key: k, caKey: ca, type: "user", keyId: "u" });
   * console.log(c.getFingerprint() === k.getFingerprint()); // true
   * ```
   */
  getFingerprint(hash: FingerprintHash = "sha256"): string {
    return fingerprintBlob(this.key.publicBlob, hash);
  }

  /**
   * The comment after the certificate in its file.
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * console.log(createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u", comment: "c" }).getComment());
   * ```
   */
  getComment(): string {
    return this.#comment;
  }

  /**
   * Replaces the comment.
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * const c = createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" });
   * c.setComment("me");
   * ```
   */
  setComment(comment: string): void {
    this.#comment = comment;
  }

  /**
   * True when the CA's signature over the certificate is valid (and made with an
   * allowed algorithm: by default not ssh-rsa or ssh-dss, as OpenSSH's
   * CASignatureAlgorithms).
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * console.log(createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" }).verifySignature()); // true
   * ```
   */
  verifySignature(allowedAlgorithms?: readonly string[]): boolean {
    // A server checks one certificate more than once per login (is it one of the trusted
    // CAs'? then every rule at once): the last answer is kept with the bytes it was for.
    const allowed = allowedAlgorithms?.join(",");
    const last = this.#verified;
    if (
      last !== undefined && last.allowed === allowed &&
      equalBytes(last.signature, this.signature) &&
      equalBytes(last.signedData, this.signedData)
    ) {
      return last.ok;
    }
    const ok = verifySignature(
      this.signatureKey.material,
      this.signature,
      this.signedData,
      allowedAlgorithms ? { allowedAlgorithms } : undefined,
    );
    this.#verified = {
      allowed,
      ok,
      signature: this.signature.slice(),
      signedData: this.signedData.slice(),
    };
    return ok;
  }

  /**
   * Checks everything sshd and ssh check: signature, trusted CA, kind, validity
   * period, principal, source-address, and no unknown critical options. The
   * `force-command` and `verify-required` critical options are known, not met
   * here: what they ask — the command, user verification on each FIDO
   * signature — is enforced where the session and the signature are
   * (`checkUserCertificate` reports both; `listen()` applies them).
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519"), host = generatePrivateKey("ecdsa");
   * const cert = createCertificate({ key: host, caKey: ca, type: "host", keyId: "h", principals: ["h.example"] });
   * console.log(cert.checkValidity({ now: Date.now(), type: "user" })); // { valid: false, reason: ... }
   * ```
   */
  checkValidity(options: CertificateCheckOptions): CertificateCheckResult {
    const no = (reason: string): CertificateCheckResult => ({ valid: false, reason });
    if (options.type && options.type !== this.certType) {
      return no(`certificate is a ${this.certType} certificate, not a ${options.type} certificate`);
    }
    if (options.trustedCAs && !options.trustedCAs.some((k) => k.equals(this.signatureKey))) {
      return no("certificate is signed by an untrusted CA");
    }
    if (!this.verifySignature(options.allowedSignatureAlgorithms)) {
      return no("certificate signature is invalid or uses a disallowed algorithm");
    }
    // sshd's check of a user certificate's options; ssh ignores a host certificate's
    // extensions (and refuses any critical option: checkHostCertificate).
    if (this.certType === "user" && this.optionProblem !== undefined) {
      return no(`certificate ${this.optionProblem}`);
    }
    const now = BigInt(Math.floor(options.now / 1000));
    if (now < this.validAfter) return no("certificate is not yet valid");
    if (now >= this.validBefore) return no("certificate has expired");
    if (options.principal !== undefined) {
      if (this.principals.length === 0) return no("certificate lists no principals");
      if (!this.principals.includes(options.principal)) {
        return no(`certificate is not valid for '${options.principal}'`);
      }
    }
    for (const [name, value] of this.criticalOptions) {
      // Known, and the caller's to apply (see above): not reasons to refuse.
      if (name === "force-command" || name === "verify-required") continue;
      if (name === "source-address") {
        // Without the client's address the restriction cannot be met: refused, as sshd
        // (which always knows it) would refuse an address outside it.
        if (options.clientAddress === undefined) {
          return no("the certificate is limited by source-address and no client address was given");
        }
        // As sshd: addresses and CIDR ranges only (not a from= list of patterns), and a
        // list it cannot read refuses every client.
        const m = matchCidrList(options.clientAddress, value);
        if (m === -2) {
          return no(
            `the certificate's source-address "${value}" is not a list of addresses and CIDR ranges`,
          );
        }
        if (m !== 1) {
          return no(`source address ${options.clientAddress} is not allowed by the certificate`);
        }
        continue;
      }
      return no(`certificate has an unknown critical option '${name}'`);
    }
    return { valid: true };
  }

  /**
   * The certificate as a `-cert.pub` line (with a trailing newline).
   *
   * @example
   * ```ts
   * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * console.log(createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" }).exportCertificate());
   * ```
   */
  exportCertificate(): string {
    checkOneLineComment(this.#comment, "certificate");
    return `${this.typeName} ${encodeBase64(this.blob)}${
      this.#comment ? " " + this.#comment : ""
    }\n`;
  }
}

/**
 * Imports a certificate from a `-cert.pub` line or its blob.
 *
 * @example
 * ```ts
 * import { createCertificate, importCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519");
 * const line = createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" }).exportCertificate();
 * console.log(importCertificate(line).keyId); // "u"
 * ```
 */
export function importCertificate(data: string | Uint8Array): SSHCertificate {
  if (data instanceof Uint8Array) return SSHCertificate.fromBlob(data);
  const line = data.split(/\r?\n/).find((l) => l.trim() && !l.trim().startsWith("#")) ?? "";
  if (line.length > MAX_CERTIFICATE_LINE) {
    throw new KeyImportError(
      `Cannot import certificate: the line is over ${MAX_CERTIFICATE_LINE} characters`,
    );
  }
  // Split in one pass: a regular expression backtracked quadratically on a comment
  // holding a long run of blanks and then another character (80,000 blanks: 5 s).
  const m = splitPublicKeyLine(line);
  if (!m) throw new KeyImportError("Cannot import certificate: expected 'type base64 [comment]'");
  const cert = SSHCertificate.fromBlob(decodeBase64(m.base64, "certificate base64"), m.comment);
  if (cert.typeName !== m.type) {
    throw new KeyImportError(
      `Cannot import certificate: line says '${m.type}' but the blob is '${cert.typeName}'`,
    );
  }
  return cert;
}

/** Options for {@link createCertificate}. */
export interface CreateCertificateOptions {
  /** The key to certify (its public part is used). */
  readonly key: SSHKey;
  /** The CA's private key. */
  readonly caKey: SSHKey;
  /** Whether to certify a user key or a host key. */
  readonly type: CertificateType;
  /** A free-form identifier for the key, logged by sshd (`ssh-keygen -I`). */
  readonly keyId: string;
  /** Principals (user or host names); default none. */
  readonly principals?: readonly string[];
  /** Serial number (default 0). */
  readonly serial?: bigint | number;
  /**
   * Start of validity: seconds since the epoch, a Date, or a time string as
   * `ssh-keygen -V` takes it ("-1d", "+1w2d", "20250101[HHMM[SS]]" UTC,
   * "always"; relative ones need `now`). Default 0: always.
   */
  readonly validAfter?: bigint | number | Date | string;
  /** End of validity, as `validAfter` ("+52w", "forever", ...). Default forever. */
  readonly validBefore?: bigint | number | Date | string;
  /** The current time (ms since the epoch) that relative validity strings count from. */
  readonly now?: number;
  /** Critical options, e.g. { "force-command": "ls", "source-address": "10.0.0.0/8" }. */
  readonly criticalOptions?: Readonly<Record<string, string>>;
  /** Extensions; default for user certificates: {@link DEFAULT_USER_EXTENSIONS}, none for hosts. */
  readonly extensions?: Readonly<Record<string, string>>;
  /** CA signature algorithm (default the CA key's preferred, rsa-sha2-512 for RSA). */
  readonly signatureAlgorithm?: string;
  /** Comment kept with the certificate for export (default ""). */
  readonly comment?: string;
  /** Randomness for the nonce (and RSA blinding). */
  readonly random?: RandomSource;
}

/**
 * A uint64 field's value, or a RangeError naming it: the writer keeps the low 64 bits,
 * so -1 went out as 2^64 - 1 (a validAfter of -1 made a certificate never valid) and
 * 2^64 as 0.
 */
function uint64(name: string, v: bigint | number): bigint {
  if (typeof v === "number" && !Number.isSafeInteger(v)) {
    throw new RangeError(`Cannot create certificate: ${name} ${v} is not an integer`);
  }
  const b = BigInt(v);
  if (b < 0n || b > CERT_FOREVER) {
    throw new RangeError(`Cannot create certificate: ${name} ${b} is outside 0..2^64-1`);
  }
  return b;
}

function seconds(
  name: string,
  v: bigint | number | Date | string | undefined,
  fallback: bigint,
  now: number | undefined,
): bigint {
  if (v === undefined) return fallback;
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) {
      throw new RangeError(`Cannot create certificate: ${name} is an invalid Date`);
    }
    return uint64(name, Math.floor(ms / 1000));
  }
  if (typeof v === "string") return parseCertificateTime(v, now);
  return uint64(name, v);
}

/**
 * OpenSSH reads the key id, principals and option names and values as C strings: one
 * holding a NUL makes the whole certificate unreadable ("invalid format").
 */
function checkCString(name: string, v: string): void {
  if (v.includes("\0")) throw new RangeError(`Cannot create certificate: ${name} contains a NUL`);
}

function checkOptionStrings(what: string, options: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(options)) {
    checkCString(`${what} name '${name}'`, name);
    checkCString(`${what} '${name}'`, value);
  }
}

/**
 * Signs a certificate for `key` with `caKey`, as `ssh-keygen -s` does.
 *
 * @example
 * ```ts
 * import { createCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = createCertificate({
 *   key: user, caKey: ca, type: "user", keyId: "alice@laptop", principals: ["alice"],
 *   validBefore: new Date(Date.now() + 3600_000), criticalOptions: { "force-command": "uptime" },
 * });
 * console.log(cert.exportCertificate().startsWith("ssh-ed25519-cert-v01@openssh.com "));
 * ```
 */
export function createCertificate(options: CreateCertificateOptions): SSHCertificate {
  const random = options.random ?? systemRandom;
  const key = options.key.material;
  const typeName = certKeyType(options.key.getAlgorithm());
  if (options.type !== "user" && options.type !== "host") {
    throw new RangeError(
      `Cannot create certificate: type '${options.type}' is neither 'user' nor 'host'`,
    );
  }
  const serial = uint64("serial", options.serial ?? 0);
  const validAfter = seconds("validAfter", options.validAfter, 0n, options.now);
  const validBefore = seconds("validBefore", options.validBefore, CERT_FOREVER, options.now);
  // As ssh-keygen -V refuses it: such a certificate is valid at no time.
  if (validBefore <= validAfter) {
    throw new RangeError(
      `Cannot create certificate: empty validity interval (validBefore ${validBefore} is not ` +
        `after validAfter ${validAfter})`,
    );
  }
  checkCString("keyId", options.keyId);
  const principalList = options.principals ?? [];
  if (principalList.length > MAX_PRINCIPALS) {
    throw new RangeError(
      `Cannot create certificate: ${principalList.length} principals, OpenSSH reads at most ` +
        MAX_PRINCIPALS,
    );
  }
  const principals = new SSHWriter();
  for (const p of principalList) {
    checkCString("principal", p);
    principals.writeStringUtf8(p);
  }
  const extensions = options.extensions ?? (options.type === "user" ? DEFAULT_USER_EXTENSIONS : {});
  checkOptionStrings("critical option", options.criticalOptions ?? {});
  checkOptionStrings("extension", extensions);
  const w = new SSHWriter(1024)
    .writeStringUtf8(typeName)
    .writeString(random(32));
  writePublicKeyBody(key, w);
  w.writeUint64(serial)
    .writeUint32(options.type === "user" ? 1 : 2)
    .writeStringUtf8(options.keyId)
    .writeString(principals.toBytes())
    .writeUint64(validAfter)
    .writeUint64(validBefore)
    .writeString(writeOptions(options.criticalOptions ?? {}))
    .writeString(writeOptions(extensions))
    .writeString(new Uint8Array(0))
    .writeString(options.caKey.publicBlob);
  const signature = options.caKey.sign(w.view(), options.signatureAlgorithm, random);
  w.writeString(signature);
  return SSHCertificate.fromBlob(w.toBytes(), options.comment ?? "");
}

/** Options of {@link generateUserCertificate} (AsyncSSH's parameters, camelCase). */
export interface GenerateUserCertificateOptions {
  /** Serial number (default 0). */
  readonly serial?: bigint | number;
  /** User names the certificate is valid for. */
  readonly principals?: readonly string[];
  /**
   * Start of validity: seconds since the epoch, a Date, or a time string as
   * `ssh-keygen -V` takes it ("-1d", "+1w2d", "20250101[HHMM[SS]]" UTC,
   * "always"; relative ones need `now`). Default 0: always.
   */
  readonly validAfter?: bigint | number | Date | string;
  /** End of validity, as `validAfter` ("+52w", "forever", ...). Default forever. */
  readonly validBefore?: bigint | number | Date | string;
  /** The current time (ms since the epoch) that relative validity strings count from. */
  readonly now?: number;
  /** Critical option `force-command`. */
  readonly forceCommand?: string;
  /** Critical option `source-address`: address patterns (CIDR) the client must come from. */
  readonly sourceAddress?: string | readonly string[];
  /** Extension `permit-X11-forwarding` (default true). */
  readonly permitX11Forwarding?: boolean;
  /** Extension `permit-agent-forwarding` (default true). */
  readonly permitAgentForwarding?: boolean;
  /** Extension `permit-port-forwarding` (default true). */
  readonly permitPortForwarding?: boolean;
  /** Extension `permit-pty` (default true). */
  readonly permitPty?: boolean;
  /** Extension `permit-user-rc` (default true). */
  readonly permitUserRc?: boolean;
  /** FIDO keys must show user presence (default true; false adds `no-touch-required`). */
  readonly touchRequired?: boolean;
  /** CA signature algorithm (default the CA key's preferred). */
  readonly sigAlg?: string;
  /** Comment kept with the certificate for export (default ""). */
  readonly comment?: string;
  /** Randomness for the nonce (and RSA blinding); default the system's secure source. */
  readonly random?: RandomSource;
}

/**
 * Signs a user certificate for `userKey` with `caKey` (AsyncSSH's
 * `generate_user_certificate`).
 *
 * @example
 * ```ts
 * import { generateUserCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = generateUserCertificate(ca, user, "alice@laptop", {
 *   principals: ["alice"], validBefore: new Date(Date.now() + 8 * 3600_000), permitPty: false,
 * });
 * console.log(cert.extensions.has("permit-pty")); // false
 * ```
 */
export function generateUserCertificate(
  caKey: SSHKey,
  userKey: SSHKey,
  keyId: string,
  options: GenerateUserCertificateOptions = {},
): SSHCertificate {
  const critical: Record<string, string> = {};
  if (options.forceCommand !== undefined) critical["force-command"] = options.forceCommand;
  if (options.sourceAddress !== undefined) {
    critical["source-address"] = typeof options.sourceAddress === "string"
      ? options.sourceAddress
      : options.sourceAddress.join(",");
  }
  const extensions: Record<string, string> = {};
  if (options.permitX11Forwarding ?? true) extensions["permit-X11-forwarding"] = "";
  if (options.permitAgentForwarding ?? true) extensions["permit-agent-forwarding"] = "";
  if (options.permitPortForwarding ?? true) extensions["permit-port-forwarding"] = "";
  if (options.permitPty ?? true) extensions["permit-pty"] = "";
  if (options.permitUserRc ?? true) extensions["permit-user-rc"] = "";
  if (options.touchRequired === false) extensions["no-touch-required"] = "";
  return createCertificate({
    key: userKey,
    caKey,
    type: "user",
    keyId,
    criticalOptions: critical,
    extensions,
    ...commonCertificateOptions(options),
  });
}

/** Options of {@link generateHostCertificate}. */
export interface GenerateHostCertificateOptions {
  /** Serial number (default 0). */
  readonly serial?: bigint | number;
  /** Host names the certificate is valid for (wildcards allowed). */
  readonly principals?: readonly string[];
  /**
   * Start of validity: seconds since the epoch, a Date, or a time string as
   * `ssh-keygen -V` takes it ("-1d", "+1w2d", "20250101[HHMM[SS]]" UTC,
   * "always"; relative ones need `now`). Default 0: always.
   */
  readonly validAfter?: bigint | number | Date | string;
  /** End of validity, as `validAfter` ("+52w", "forever", ...). Default forever. */
  readonly validBefore?: bigint | number | Date | string;
  /** The current time (ms since the epoch) that relative validity strings count from. */
  readonly now?: number;
  /** CA signature algorithm (default the CA key's preferred, rsa-sha2-512 for RSA). */
  readonly sigAlg?: string;
  /** Comment kept with the certificate for export (default ""). */
  readonly comment?: string;
  /** Randomness for the nonce (and RSA blinding); default the system's secure source. */
  readonly random?: RandomSource;
}

function commonCertificateOptions(o: GenerateHostCertificateOptions) {
  return {
    ...(o.serial !== undefined ? { serial: o.serial } : {}),
    ...(o.principals !== undefined ? { principals: o.principals } : {}),
    ...(o.validAfter !== undefined ? { validAfter: o.validAfter } : {}),
    ...(o.validBefore !== undefined ? { validBefore: o.validBefore } : {}),
    ...(o.now !== undefined ? { now: o.now } : {}),
    ...(o.sigAlg !== undefined ? { signatureAlgorithm: o.sigAlg } : {}),
    ...(o.comment !== undefined ? { comment: o.comment } : {}),
    ...(o.random !== undefined ? { random: o.random } : {}),
  };
}

/**
 * Signs a host certificate for `hostKey` with `caKey` (AsyncSSH's
 * `generate_host_certificate`).
 *
 * @example
 * ```ts
 * import { generateHostCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), host = generatePrivateKey("ecdsa");
 * const cert = generateHostCertificate(ca, host, "web1", { principals: ["web1.example.com"] });
 * console.log(cert.certType); // "host"
 * ```
 */
export function generateHostCertificate(
  caKey: SSHKey,
  hostKey: SSHKey,
  keyId: string,
  options: GenerateHostCertificateOptions = {},
): SSHCertificate {
  return createCertificate({
    key: hostKey,
    caKey,
    type: "host",
    keyId,
    ...commonCertificateOptions(options),
  });
}
