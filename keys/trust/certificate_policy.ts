/**
 * Whether to trust an OpenSSH certificate, as `ssh` and `sshd` decide it: host
 * certificates against known_hosts `@cert-authority` keys, user certificates
 * against `TrustedUserCAKeys` or authorized_keys `cert-authority` lines (with
 * `principals=`), and the options a certificate carries into the session
 * (`force-command`, `source-address`, the `permit-*` extensions) or asks of a
 * FIDO key's signatures (`no-touch-required`, `verify-required`).
 *
 * Pure functions: the server's public key check and the client's host key
 * verifier call them with the parsed files and the current time.
 *
 * @module
 */

import { isCertificateAlgorithm } from "../../core/publickey/certificate.ts";
import { SSHReader } from "../../core/wire.ts";
import {
  type AuthorizedKeyEntry,
  type AuthorizedKeyOptions,
  authorizedKeyRefusal,
  type AuthorizedKeys,
  isExpired,
  lookupAuthorizedKey,
  matchFrom,
  parseAuthorizedKeyOptions,
} from "./authorized_keys.ts";
import type { AuthorizedPrincipalEntry } from "./authorized_principals.ts";
import { type CertificateCheckResult, SSHCertificate } from "../certificates/certificate.ts";
import { matchCidrList, matchPattern } from "./host_patterns.ts";
import { SSHKey } from "../ssh_key.ts";

/** Options of {@link checkHostCertificate}. */
export interface HostCertificateCheckOptions {
  /** The host name the client connected to (as typed, or its HostKeyAlias). */
  readonly host: string;
  /** CA keys trusted for this host (known_hosts `@cert-authority` lines that match it). */
  readonly trustedCAs: readonly SSHKey[];
  /** Revoked keys (known_hosts `@revoked`): neither the host key nor the CA may be one. */
  readonly revokedKeys?: readonly SSHKey[];
  /** Current time, ms since the epoch. */
  readonly now: number;
  /** CA signature algorithms accepted (default: all but ssh-rsa and ssh-dss). */
  readonly allowedSignatureAlgorithms?: readonly string[];
  /**
   * `host` is the pattern, matched against each principal, rather than a principal
   * pattern matched against `host` (OpenSSH's `sshkey_cert_check_host` with
   * `wildcard_pattern`, as ssh-agent checks a destination hop such as `-h '*.example.com'`):
   * a certificate for principal `*` is then valid for no host but one named `*`.
   */
  readonly hostIsPattern?: boolean;
}

function isRevoked(key: SSHKey, revoked: readonly SSHKey[] | undefined): boolean {
  return revoked?.some((r) => r.equals(key)) ?? false;
}

function toCertificate(cert: SSHCertificate | Uint8Array): SSHCertificate {
  return cert instanceof SSHCertificate ? cert : SSHCertificate.fromBlob(cert);
}

/**
 * Checks a host certificate as `ssh` does: a host certificate, signed by one of
 * `trustedCAs` (neither it nor the host key revoked), valid now, listing a
 * principal that matches `host` (principals may hold `*`/`?` wildcards, as
 * OpenSSH 8.8+ allows), and no critical options (none are defined for hosts).
 *
 * @example
 * ```ts
 * import { createCertificate, checkHostCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), host = generatePrivateKey("ed25519");
 * const cert = createCertificate({ key: host, caKey: ca, type: "host", keyId: "web", principals: ["*.example.com"] });
 * console.log(checkHostCertificate(cert, { host: "www.example.com", trustedCAs: [ca], now: Date.now() }));
 * // { valid: true }
 * ```
 */
export function checkHostCertificate(
  cert: SSHCertificate | Uint8Array,
  options: HostCertificateCheckOptions,
): CertificateCheckResult {
  const c = toCertificate(cert);
  if (isRevoked(c.key, options.revokedKeys)) return { valid: false, reason: "host key is revoked" };
  if (isRevoked(c.signatureKey, options.revokedKeys)) {
    return { valid: false, reason: "certificate authority key is revoked" };
  }
  const r = c.checkValidity({
    now: options.now,
    type: "host",
    trustedCAs: options.trustedCAs,
    ...(options.allowedSignatureAlgorithms
      ? { allowedSignatureAlgorithms: options.allowedSignatureAlgorithms }
      : {}),
  });
  if (!r.valid) return r;
  if (c.criticalOptions.size > 0) {
    return {
      valid: false,
      reason: `host certificate has critical option '${[...c.criticalOptions.keys()][0]}'`,
    };
  }
  if (c.principals.length === 0) return { valid: false, reason: "certificate lists no principals" };
  const host = options.host.toLowerCase();
  const matches = options.hostIsPattern
    ? (p: string) => matchPattern(p.toLowerCase(), host)
    : (p: string) => matchPattern(host, p.toLowerCase());
  if (!c.principals.some(matches)) {
    return { valid: false, reason: `certificate is not valid for host '${options.host}'` };
  }
  return { valid: true };
}

/** What a certificate (and the authorized_keys line that trusted it) lets the session do. */
export interface SessionPermissions {
  /** A pty may be allocated (`permit-pty`). */
  readonly pty: boolean;
  /** Agent forwarding allowed (`permit-agent-forwarding`). */
  readonly agentForwarding: boolean;
  /** Port forwarding allowed (`permit-port-forwarding`). */
  readonly portForwarding: boolean;
  /** X11 forwarding allowed (`permit-X11-forwarding`). */
  readonly x11Forwarding: boolean;
  /** ~/.ssh/rc may run (`permit-user-rc`). */
  readonly userRc: boolean;
}

/**
 * What the signatures of a FIDO (`sk-*`) key must attest for a login, as sshd
 * asks it: the authenticator flags a signature carries (PROTOCOL.u2f). Keys of
 * other types sign without flags and are not held to these.
 */
export interface SecurityKeyRequirements {
  /**
   * The user touched the key (flag 0x01). Required unless the authorized_keys
   * line says `no-touch-required` or the certificate has that extension (both,
   * when a certificate comes through a `cert-authority` line).
   */
  readonly touchRequired: boolean;
  /**
   * The user was verified, by PIN or biometrics (flag 0x04): the line's
   * `verify-required` or the certificate's `verify-required` critical option.
   */
  readonly verifyRequired: boolean;
}

/**
 * What a user certificate carries into the session by itself: its critical
 * options (`force-command`, `source-address`, `verify-required`) and extensions
 * (`permit-*`, `no-touch-required`).
 */
export interface UserCertificateLimits extends SecurityKeyRequirements {
  /** The `force-command` critical option, when present. */
  readonly forceCommand?: string;
  /** The `source-address` critical option, when present. */
  readonly sourceAddress?: string;
  /** From the `permit-*` extensions. */
  readonly permissions: SessionPermissions;
}

/**
 * The limits a user certificate sets by itself, trusted or not (see
 * {@link checkUserCertificate} for trust): sshd applies them to every
 * certificate login, on top of the options of the line that vouched for it.
 *
 * @example
 * ```ts
 * import { generateUserCertificate, userCertificateLimits, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = generateUserCertificate(ca, user, "k", { forceCommand: "backup", permitPty: false });
 * const l = userCertificateLimits(cert);
 * console.log(l.forceCommand, l.permissions.pty, l.touchRequired); // "backup" false true
 * ```
 */
export function userCertificateLimits(cert: SSHCertificate | Uint8Array): UserCertificateLimits {
  const c = toCertificate(cert);
  const forceCommand = c.criticalOptions.get("force-command");
  const sourceAddress = c.criticalOptions.get("source-address");
  return {
    ...(forceCommand !== undefined ? { forceCommand } : {}),
    ...(sourceAddress !== undefined ? { sourceAddress } : {}),
    permissions: {
      pty: c.extensions.has("permit-pty"),
      agentForwarding: c.extensions.has("permit-agent-forwarding"),
      portForwarding: c.extensions.has("permit-port-forwarding"),
      x11Forwarding: c.extensions.has("permit-X11-forwarding"),
      userRc: c.extensions.has("permit-user-rc"),
    },
    touchRequired: !c.extensions.has("no-touch-required"),
    verifyRequired: c.criticalOptions.has("verify-required"),
  };
}

/** A user certificate that was accepted, and what it carries into the session. */
export interface UserCertificateAccepted extends UserCertificateLimits {
  /** Discriminant: the certificate was accepted. */
  readonly valid: true;
  /** The certificate principal that matched. */
  readonly principal: string;
}

/** The outcome of {@link checkUserCertificate}. */
export type UserCertificateCheckResult = UserCertificateAccepted | {
  readonly valid: false;
  readonly reason: string;
};

/** Options of {@link checkUserCertificate}. */
export interface UserCertificateCheckOptions {
  /** The user logging in. */
  readonly username: string;
  /** Trusted user CA keys (`TrustedUserCAKeys`, or the key of a `cert-authority` line). */
  readonly trustedCAs: readonly SSHKey[];
  /**
   * Principals accepted for this user (`AuthorizedPrincipalsFile`, or a
   * `principals=` option); one of the certificate's must be among them.
   * Default: the user name.
   */
  readonly principals?: readonly string[];
  /**
   * The client's address, checked against `source-address`; without it a certificate
   * that has one is refused.
   */
  readonly clientAddress?: string;
  /** Current time, ms since the epoch. */
  readonly now: number;
  /** Revoked keys (`RevokedKeys`): neither the user key nor the CA may be one. */
  readonly revokedKeys?: readonly SSHKey[];
  /** CA signature algorithms accepted (default: all but ssh-rsa and ssh-dss). */
  readonly allowedSignatureAlgorithms?: readonly string[];
}

/**
 * Checks a user certificate as `sshd` does: a user certificate, signed by a
 * trusted CA, valid now, one of its principals accepted (by default the user
 * name; a certificate without principals is refused), the client address
 * allowed by `source-address` (a list of addresses and CIDR ranges, as sshd
 * reads it: any other item refuses), no unknown critical options, nothing revoked.
 * On success it returns the principal and the certificate's limits
 * ({@link userCertificateLimits}): the forced command, the session permissions
 * from the extensions, and what a FIDO key's signatures must attest.
 *
 * @example
 * ```ts
 * import { createCertificate, checkUserCertificate, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = createCertificate({
 *   key: user, caKey: ca, type: "user", keyId: "alice", principals: ["alice"],
 *   criticalOptions: { "force-command": "uptime" },
 * });
 * const r = checkUserCertificate(cert, { username: "alice", trustedCAs: [ca], now: Date.now() });
 * console.log(r.valid && r.forceCommand); // "uptime"
 * ```
 */
export function checkUserCertificate(
  cert: SSHCertificate | Uint8Array,
  options: UserCertificateCheckOptions,
): UserCertificateCheckResult {
  const c = toCertificate(cert);
  const no = (reason: string): UserCertificateCheckResult => ({ valid: false, reason });
  if (isRevoked(c.key, options.revokedKeys)) return no("user key is revoked");
  if (isRevoked(c.signatureKey, options.revokedKeys)) {
    return no("certificate authority key is revoked");
  }
  const r = c.checkValidity({
    now: options.now,
    type: "user",
    trustedCAs: options.trustedCAs,
    ...(options.clientAddress !== undefined ? { clientAddress: options.clientAddress } : {}),
    ...(options.allowedSignatureAlgorithms
      ? { allowedSignatureAlgorithms: options.allowedSignatureAlgorithms }
      : {}),
  });
  if (!r.valid) return r;
  if (c.principals.length === 0) return no("certificate lists no principals");
  const accepted = options.principals ?? [options.username];
  const principal = c.principals.find((p) => accepted.includes(p));
  if (principal === undefined) {
    return no(
      options.principals
        ? "none of the certificate's principals is accepted for this user"
        : `certificate is not valid for user '${options.username}'`,
    );
  }
  return { valid: true, principal, ...userCertificateLimits(c) };
}

/** Options of {@link checkAuthorizedKey}. */
export interface AuthorizedKeyCheckOptions {
  /** The user logging in. */
  readonly username: string;
  /** The client: reverse-resolved host name (or the address), address, and the time. */
  readonly client: { readonly host: string; readonly addr: string; readonly now: number };
  /** The user's authorized_keys (plain keys and `cert-authority` lines). */
  readonly authorizedKeys?: AuthorizedKeys | readonly AuthorizedKeyEntry[];
  /** `TrustedUserCAKeys`: CAs trusted for every user. */
  readonly trustedUserCAKeys?: readonly SSHKey[];
  /**
   * `AuthorizedPrincipalsFile` for this user: principals accepted with
   * `trustedUserCAKeys` (default: the user name). Entries of
   * `parseAuthorizedPrincipals()` bring their line's options: the first line, in
   * file order, naming one of the certificate's principals applies (its `from=`,
   * `expiry-time`, `command=`, `no-pty`, ...), as sshd applies it. A plain name
   * counts as a line without options: a certificate's `no-touch-required` alone
   * does not waive touch (sshd's merge needs both to waive it).
   */
  readonly authorizedPrincipals?: readonly (string | AuthorizedPrincipalEntry)[];
  /** `RevokedKeys`. */
  readonly revokedKeys?: readonly SSHKey[];
}

/** The outcome of {@link checkAuthorizedKey}. */
export type AuthorizedKeyVerdict =
  | (SecurityKeyRequirements & {
    readonly accepted: true;
    /** The authorized_keys line that allowed it (absent when `trustedUserCAKeys` did). */
    readonly entry?: AuthorizedKeyEntry;
    /** The authorized principals line that allowed a certificate of `trustedUserCAKeys`, if any. */
    readonly principalEntry?: AuthorizedPrincipalEntry;
    /** The certificate, when the client presented one. */
    readonly certificate?: SSHCertificate;
    /** The certificate principal that matched. */
    readonly principal?: string;
    /** The command to force, from the line's `command=` or the certificate's `force-command`. */
    readonly forceCommand?: string;
    /** The permissions of the line and the certificate together. */
    readonly permissions: SessionPermissions;
  })
  | { readonly accepted: false; readonly reason: string };

function linePermissions(o: AuthorizedKeyOptions): SessionPermissions {
  return {
    pty: o.pty,
    agentForwarding: o.agentForwarding,
    portForwarding: o.portForwarding,
    x11Forwarding: o.x11Forwarding,
    userRc: o.userRc,
  };
}

/** What two sets of permissions allow together: each one both grant. */
export function bothPermissions(a: SessionPermissions, b: SessionPermissions): SessionPermissions {
  return {
    pty: a.pty && b.pty,
    agentForwarding: a.agentForwarding && b.agentForwarding,
    portForwarding: a.portForwarding && b.portForwarding,
    x11Forwarding: a.x11Forwarding && b.x11Forwarding,
    userRc: a.userRc && b.userRc,
  };
}

/** The limits of a line (or other options) and a certificate together. */
type CombinedLimits = SecurityKeyRequirements & {
  readonly forceCommand?: string;
  readonly permissions: SessionPermissions;
};

/**
 * Combines the options that vouched for a certificate with the certificate's own
 * limits as sshd merges them (`sshauthopt_merge`): a permission needs both, the
 * touch requirement is waived only by both, `verify-required` by either; forced
 * commands on both must agree (the reason why not, otherwise).
 */
function combineLimits(
  line: AuthorizedKeyOptions,
  cert: UserCertificateLimits,
  file = "authorized_keys",
): CombinedLimits | string {
  if (
    line.command !== undefined && cert.forceCommand !== undefined &&
    line.command !== cert.forceCommand
  ) {
    return `the certificate's force-command differs from the ${file} command`;
  }
  const forceCommand = line.command ?? cert.forceCommand;
  return {
    ...(forceCommand !== undefined ? { forceCommand } : {}),
    permissions: bothPermissions(linePermissions(line), cert.permissions),
    touchRequired: !line.noTouchRequired || cert.touchRequired,
    verifyRequired: line.verifyRequired || cert.verifyRequired,
  };
}

/**
 * The server's public key decision, as `sshd` makes it: is the key (or
 * certificate) in `keyBlob` allowed to log in as `username`? A plain key must
 * be on a non-CA authorized_keys line (with `from=` and `expiry-time` obeyed;
 * a line with `principals=` is refused, as sshd does: the reason says which line).
 * A certificate must be trusted through `trustedUserCAKeys` (principals from
 * `authorizedPrincipals`, default the user name) or an authorized_keys
 * `cert-authority` line (principals from its `principals=` option, default the
 * user name), and pass {@link checkUserCertificate}; a forced command on both
 * the line and the certificate must agree. When several `cert-authority` lines
 * hold the signing key (say with different `principals=` or `from=`), each is
 * tried in file order as sshd tries them: the first that accepts wins, and a
 * refusal gives the last line's reason. Revoked keys and CAs (the user key, the
 * certified key or the signing CA) are refused before anything else is asked.
 * Malformed blobs are refused, never thrown. An accepted verdict says what the
 * session may do and what a FIDO key's signature must attest
 * (`touchRequired`, `verifyRequired`), the line's and the certificate's
 * options merged as sshd merges them.
 *
 * The signature itself is checked by the transport; this is the policy only.
 *
 * @example Wire into `listen({ validatePublicKey })`
 * ```ts
 * import { parseAuthorizedKeys, createCertificate, checkAuthorizedKey } from "@sshts/ssh";
 * import { generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ecdsa");
 * const ak = parseAuthorizedKeys(`cert-authority,principals="ops" ${ca.exportPublicKey()}`);
 * const cert = createCertificate({ key: user, caKey: ca, type: "user", keyId: "k", principals: ["ops"] });
 * const verdict = checkAuthorizedKey(cert.blob, {
 *   username: "deploy", authorizedKeys: ak,
 *   client: { host: "192.0.2.9", addr: "192.0.2.9", now: Date.now() },
 * });
 * console.log(verdict.accepted); // true
 * ```
 */
export function checkAuthorizedKey(
  keyBlob: Uint8Array | SSHKey | SSHCertificate,
  options: AuthorizedKeyCheckOptions,
): AuthorizedKeyVerdict {
  const no = (reason: string): AuthorizedKeyVerdict => ({ accepted: false, reason });
  let subject: SSHKey | SSHCertificate;
  try {
    subject = keyBlob instanceof Uint8Array ? parseKeyOrCertificate(keyBlob) : keyBlob;
  } catch (e) {
    return no(`unusable key: ${(e as Error).message}`);
  }
  const entries = options.authorizedKeys === undefined
    ? []
    : Array.isArray(options.authorizedKeys)
    ? options.authorizedKeys as readonly AuthorizedKeyEntry[]
    : (options.authorizedKeys as AuthorizedKeys).entries;
  if (subject instanceof SSHKey) {
    if (isRevoked(subject, options.revokedKeys)) return no("key is revoked");
    const { entry, reason } = lookupAuthorizedKey(entries, subject, options.client);
    if (!entry) return no(reason);
    return {
      accepted: true,
      entry,
      ...(entry.options.command !== undefined ? { forceCommand: entry.options.command } : {}),
      permissions: linePermissions(entry.options),
      touchRequired: !entry.options.noTouchRequired,
      verifyRequired: entry.options.verifyRequired,
    };
  }
  const cert = subject;
  // Revocation first, as sshd: whatever would vouch for the certificate.
  if (isRevoked(cert.key, options.revokedKeys)) return no("user key is revoked");
  if (isRevoked(cert.signatureKey, options.revokedKeys)) {
    return no("certificate authority key is revoked");
  }
  const common = {
    username: options.username,
    clientAddress: options.client.addr,
    now: options.client.now,
  };
  let reason = "certificate authority is not trusted";
  if (options.trustedUserCAKeys?.some((k) => k.equals(cert.signatureKey))) {
    const v = trustedCAVerdict(cert, options.trustedUserCAKeys, options, common);
    if (v.accepted) return v;
    reason = v.reason;
  }
  // Every cert-authority line holding the signing key, in file order, as sshd tries
  // them: the first that accepts wins; the reason is the last line's refusal.
  for (const entry of entries) {
    if (!entry.options.certAuthority || !entry.key.equals(cert.signatureKey)) continue;
    const why = authorizedKeyRefusal(entry, options.client);
    if (why !== undefined) {
      reason = `line ${entry.line}: ${why}`;
      continue;
    }
    const r = checkUserCertificate(cert, {
      ...common,
      trustedCAs: [entry.key],
      ...(entry.options.principals ? { principals: entry.options.principals } : {}),
    });
    if (!r.valid) {
      reason = `line ${entry.line}: ${r.reason}`;
      continue;
    }
    const limits = combineLimits(entry.options, r);
    if (typeof limits === "string") {
      reason = `line ${entry.line}: ${limits}`;
      continue;
    }
    return { accepted: true, entry, certificate: cert, principal: r.principal, ...limits };
  }
  return no(reason);
}

/**
 * The verdict on a certificate signed by one of `trustedUserCAKeys`: its
 * principals against `authorizedPrincipals` (default the user name) and, when
 * the principal came from a principals file line, that line's options
 * (`from=`, `expiry-time`, `command=`, ...) merged with the certificate's limits.
 */
function trustedCAVerdict(
  cert: SSHCertificate,
  trustedCAs: readonly SSHKey[],
  options: AuthorizedKeyCheckOptions,
  common: { username: string; clientAddress: string; now: number },
): AuthorizedKeyVerdict {
  const listed = options.authorizedPrincipals;
  const r = checkUserCertificate(cert, {
    ...common,
    trustedCAs,
    ...(listed ? { principals: listed.map((p) => typeof p === "string" ? p : p.principal) } : {}),
  });
  if (!r.valid) return { accepted: false, reason: r.reason };
  // sshd: the first principals line, in file order, that names one of the certificate's.
  const line = listed?.find((p) =>
    cert.principals.includes(typeof p === "string" ? p : p.principal)
  );
  if (line !== undefined && typeof line !== "string") {
    // sshd parses the flag on a principals line, then refuses the login it matches.
    const why = line.options.certAuthority
      ? "cert-authority flag invalid here"
      : authorizedKeyRefusal(line, options.client);
    if (why !== undefined) {
      return { accepted: false, reason: `authorized principals line ${line.line}: ${why}` };
    }
    const limits = combineLimits(line.options, r, "authorized principals");
    if (typeof limits === "string") {
      return { accepted: false, reason: `authorized principals line ${line.line}: ${limits}` };
    }
    return {
      accepted: true,
      principalEntry: line,
      certificate: cert,
      principal: line.principal,
      ...limits,
    };
  }
  if (typeof line === "string") {
    // A principal without options (a list, or sshd's AuthorizedPrincipalsCommand output): sshd
    // still merges the default options, so only the certificate cannot waive touch by itself.
    const limits = combineLimits(NO_OPTIONS, r, "authorized principals") as CombinedLimits;
    return { accepted: true, certificate: cert, principal: line, ...limits };
  }
  // No authorizedPrincipals (the user name is the principal): the certificate alone says, as sshd.
  const { forceCommand, permissions, touchRequired, verifyRequired } = r;
  return {
    accepted: true,
    certificate: cert,
    principal: r.principal,
    ...(forceCommand !== undefined ? { forceCommand } : {}),
    permissions,
    touchRequired,
    verifyRequired,
  };
}

/** The options of a principals line with none: everything permitted, touch required. */
const NO_OPTIONS: AuthorizedKeyOptions = Object.freeze(parseAuthorizedKeyOptions(""));

/** Why a certificate's `source-address` refuses `clientAddress` (see {@link matchCidrList}). */
function sourceAddressRefusal(list: string, clientAddress: string): string | undefined {
  const m = matchCidrList(clientAddress, list);
  if (m === -2) {
    return `the certificate's source-address "${list}" is not a list of addresses and CIDR ranges`;
  }
  return m === 1 ? undefined : `source address ${clientAddress} is not allowed by the certificate`;
}

/** Options of {@link applyCertificateLimits}. */
export interface CertificateLimitsOptions {
  /** The options of what vouched for the certificate (e.g. an authorized_keys line's), if any. */
  readonly options?: AuthorizedKeyOptions;
  /**
   * The client's address, checked against the certificate's `source-address`
   * and the options' `from=` (options with `from=` and no address refuse).
   */
  readonly clientAddress?: string;
  /**
   * Current time, ms since the epoch, checked against the options'
   * `expiry-time` (options with `expiry-time` and no time refuse).
   */
  readonly now?: number;
}

const CERTIFICATE_CRITICAL_OPTIONS = new Set([
  "force-command",
  "source-address",
  "verify-required",
]);

/**
 * The verdict for a user certificate that something other than
 * {@link checkAuthorizedKey} trusted (an application's own CA check, e.g. a
 * `listen()` `validateCertificate` hook): accepted with the certificate's own
 * limits — `force-command`, the `permit-*` extensions, `no-touch-required`,
 * `verify-required` — merged with `options` as sshd merges a line's; refused
 * when a user certificate is not one, its `source-address` excludes
 * `clientAddress`, it has a critical option nobody can enforce (PROTOCOL.certkeys
 * says refuse), or its forced command differs from the options'. The options
 * refuse as sshd's line would: an `expiry-time` passed at `now`, a `from=`
 * that `clientAddress` does not match (matched as an address: no DNS), or
 * either with nothing given to check it against. Whether to trust the
 * certificate (CA, validity, principals) is not looked at. Never throws.
 *
 * @example
 * ```ts
 * import { generateUserCertificate, applyCertificateLimits, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = generateUserCertificate(ca, user, "k", { forceCommand: "backup", permitPty: false });
 * const v = applyCertificateLimits(cert, { clientAddress: "192.0.2.9" });
 * console.log(v.accepted && [v.forceCommand, v.permissions.pty]); // ["backup", false]
 * ```
 *
 * @example The options of the line that vouched for it, from= and expiry-time included
 * ```ts
 * import { generateUserCertificate, parseAuthorizedKeyOptions } from "@sshts/ssh";
 * import { applyCertificateLimits, generatePrivateKey } from "@sshts/ssh";
 * const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
 * const cert = generateUserCertificate(ca, user, "k", {});
 * const options = parseAuthorizedKeyOptions('from="10.0.0.0/8",expiry-time="20300101Z"');
 * const at = (clientAddress: string) =>
 *   applyCertificateLimits(cert, { options, clientAddress, now: Date.UTC(2025, 0, 1) }).accepted;
 * console.log(at("10.1.2.3"), at("192.0.2.9")); // true false
 * ```
 */
export function applyCertificateLimits(
  cert: SSHCertificate | Uint8Array,
  options: CertificateLimitsOptions = {},
): AuthorizedKeyVerdict {
  const no = (reason: string): AuthorizedKeyVerdict => ({ accepted: false, reason });
  let c: SSHCertificate;
  try {
    c = toCertificate(cert);
  } catch (e) {
    return no(`unusable certificate: ${(e as Error).message}`);
  }
  if (c.certType !== "user") return no("not a user certificate");
  if (c.optionProblem !== undefined) return no(`certificate ${c.optionProblem}`);
  for (const name of c.criticalOptions.keys()) {
    if (!CERTIFICATE_CRITICAL_OPTIONS.has(name)) {
      return no(`certificate has an unknown critical option '${name}'`);
    }
  }
  const limits = userCertificateLimits(c);
  if (limits.sourceAddress !== undefined && options.clientAddress !== undefined) {
    const why = sourceAddressRefusal(limits.sourceAddress, options.clientAddress);
    if (why !== undefined) return no(why);
  }
  if (options.options === undefined) {
    const { forceCommand, permissions, touchRequired, verifyRequired } = limits;
    return {
      accepted: true,
      certificate: c,
      ...(forceCommand !== undefined ? { forceCommand } : {}),
      permissions,
      touchRequired,
      verifyRequired,
    };
  }
  const refused = optionsRefusal(options.options, options);
  if (refused !== undefined) return no(refused);
  const merged = combineLimits(options.options, limits);
  if (typeof merged === "string") return no(merged);
  return { accepted: true, certificate: c, ...merged };
}

/**
 * Why the options that vouched for a certificate refuse this client, as sshd's
 * `auth_authorise_keyopts()` refuses on a merged line: an `expiry-time` passed,
 * a `from=` the address does not match. One with nothing to check it against
 * refuses too: a restriction someone wrote is never skipped.
 */
function optionsRefusal(
  o: AuthorizedKeyOptions,
  { clientAddress, now }: CertificateLimitsOptions,
): string | undefined {
  if (o.expiryTime !== undefined) {
    if (now === undefined) return "the options' expiry-time needs now to be checked";
    if (isExpired(o, now)) return "entry expired";
  }
  if (o.from !== undefined) {
    if (clientAddress === undefined) return "the options' from= needs clientAddress to be checked";
    if (!matchFrom(o.from, clientAddress, clientAddress)) {
      return `not from a permitted host (from="${o.from.join(",")}")`;
    }
  }
  return undefined;
}

/**
 * Decodes a key blob as a plain key or an OpenSSH certificate.
 *
 * @example
 * ```ts
 * import { parseKeyOrCertificate, generatePrivateKey } from "@sshts/ssh";
 * const k = generatePrivateKey("ed25519");
 * console.log(parseKeyOrCertificate(k.publicBlob).constructor.name); // "SSHKey"
 * ```
 */
export function parseKeyOrCertificate(blob: Uint8Array): SSHKey | SSHCertificate {
  let type = "";
  try {
    type = new SSHReader(blob).readStringAscii("key type", 256);
  } catch { /* SSHKey.fromPublicBlob reports it */ }
  return isCertificateAlgorithm(type) ? SSHCertificate.fromBlob(blob) : SSHKey.fromPublicBlob(blob);
}
