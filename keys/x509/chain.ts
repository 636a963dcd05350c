/**
 * X.509 chain validation against trusted certificates, as SSH servers and
 * clients that accept X.509 keys (RFC 6187) do: signatures up to a trust
 * anchor, validity periods, CA flags and path lengths, key usage, unknown
 * critical extensions, the end entity's purpose and (optionally) a principal.
 *
 * @module
 */

import { ipBytes, X509_PURPOSES } from "./extensions.ts";
import { type X509Certificate } from "./certificate.ts";
import { canonicalName } from "./name.ts";
import { equalBytes } from "../../core/wire.ts";

/** Longest chain we follow. */
const MAX_CHAIN_DEPTH = 10;

/**
 * Most certificates a chain may hold (an RFC 6187 blob carries at most 16): every
 * one whose subject matches costs a signature check at each step, so a huge list of
 * same-named certificates would otherwise take seconds to refuse.
 */
const MAX_CHAIN_CERTS = 64;

/** Options of {@link validateX509Chain}. */
export interface X509ValidateOptions {
  /** Trust anchors (root or intermediate CA certificates, or end-entity certificates trusted as is). */
  readonly trustedCerts: readonly X509Certificate[];
  /** Current time, ms since the epoch. */
  readonly now: number;
  /**
   * The purpose the end-entity certificate must allow: a name from
   * {@link X509_PURPOSES} (e.g. "secureShellClient") or an OID. A certificate
   * without extendedKeyUsage allows any purpose, as does anyExtendedKeyUsage.
   */
  readonly purpose?: string;
  /**
   * A name the end-entity certificate must list among its principals (subjectAltName): a
   * host name or address. For a user, {@link userPrincipal}.
   */
  readonly principal?: string;
  /**
   * A user name the end-entity certificate must be for: one of its
   * {@link X509Certificate.userPrincipals} (e-mail addresses and UPNs, or its common
   * names when it has no subjectAltName), compared exactly.
   */
  readonly userPrincipal?: string;
}

/** The outcome of {@link validateX509Chain}. */
export type X509ValidateResult =
  | {
    readonly valid: true;
    /** The path from the end entity to the trust anchor. */
    readonly path: readonly X509Certificate[];
  }
  | { readonly valid: false; readonly reason: string };

const canonical = new WeakMap<Uint8Array, string>();

/** True when two DER names are the same name (RFC 5280 §7.1, as OpenSSL compares them). */
function sameName(a: Uint8Array, b: Uint8Array): boolean {
  if (equalBytes(a, b)) return true;
  const key = (n: Uint8Array) => {
    let k = canonical.get(n);
    if (k === undefined) {
      try {
        k = canonicalName(n);
      } catch {
        k = ""; // unreadable: equal to nothing but itself (the byte comparison above)
      }
      canonical.set(n, k);
    }
    return k;
  };
  const ka = key(a);
  return ka !== "" && ka === key(b);
}

/**
 * Is `principal` one of the end entity's names? Exactly, as AsyncSSH compares them
 * (user names are case-sensitive), except that an address matches however it is
 * written ("2001:db8::1" and "2001:DB8:0:0::1" are one address).
 */
function namesPrincipal(c: X509Certificate, principal: string): boolean {
  if (c.principals.includes(principal)) return true;
  const ip = ipBytes(principal);
  return ip !== undefined && (c.extensions.subjectAltName?.ip ?? []).some((a) => {
    const b = ipBytes(a);
    return b !== undefined && equalBytes(b, ip);
  });
}

function timeProblem(c: X509Certificate, now: number): string | undefined {
  if (now < c.notBefore.getTime()) return `certificate '${c.subject}' is not yet valid`;
  if (now > c.notAfter.getTime()) return `certificate '${c.subject}' has expired`;
  return undefined;
}

/**
 * Why `ca` cannot sign `child` at this depth (intermediates below it), or undefined.
 * `trusted`: `ca` is one of the caller's trusted certificates, where a version 1 or 2
 * self-issued root (which cannot say it is a CA) is taken as one, as OpenSSL does; any
 * other certificate must say so (basicConstraints cA), or any leaf a CA issued could
 * sign more — a trusted version 1 end-entity certificate included.
 */
function issuerProblem(
  ca: X509Certificate,
  child: X509Certificate,
  below: number,
  trusted: boolean,
): string | undefined {
  if (!sameName(ca.subjectDer, child.issuerDer)) return "names do not chain";
  const v1Root = trusted && ca.version < 3 && ca.extensions.basicConstraints === undefined &&
    sameName(ca.subjectDer, ca.issuerDer);
  if (!ca.isCA && !v1Root) return `'${ca.subject}' is not a CA`;
  const ku = ca.extensions.keyUsage;
  if (ku && !ku.includes("keyCertSign")) return `'${ca.subject}' may not sign certificates`;
  const pathLength = ca.extensions.basicConstraints?.pathLength;
  if (pathLength !== undefined && below > pathLength) {
    return `'${ca.subject}' allows ${pathLength} intermediate CAs below it, not ${below}`;
  }
  if (!child.verifySignature(ca.publicKey)) return `signature by '${ca.subject}' does not verify`;
  return undefined;
}

/**
 * Validates `chain` (end entity first, then any intermediates in any order, as
 * in an RFC 6187 key blob) against `trustedCerts`. Every certificate on the
 * path must be valid now and have no unknown critical extension; each issuer
 * must be a CA allowed to sign certificates, within its path length, whose
 * signature verifies; the path must end at a trusted certificate. Then the end
 * entity's purpose and principal are checked.
 *
 * @example
 * ```ts
 * import { generatePrivateKey } from "@sshts/ssh";
 * import { generateX509CACertificate, generateX509UserCertificate } from "@sshts/ssh";
 * import { validateX509Chain } from "@sshts/ssh";
 * const rootKey = generatePrivateKey("ecdsa"), userKey = generatePrivateKey("ed25519");
 * const root = generateX509CACertificate(rootKey, rootKey, "CN=Root", { now: Date.now() });
 * const user = generateX509UserCertificate(rootKey, userKey, "CN=alice", {
 *   now: Date.now(), issuerCertificate: root, principals: ["alice"],
 * });
 * const r = validateX509Chain([user], {
 *   trustedCerts: [root], now: Date.now(), purpose: "secureShellClient", userPrincipal: "alice",
 * });
 * console.log(r.valid); // true
 * ```
 */
export function validateX509Chain(
  chain: readonly X509Certificate[],
  options: X509ValidateOptions,
): X509ValidateResult {
  const no = (reason: string): X509ValidateResult => ({ valid: false, reason });
  const leaf = chain[0];
  if (!leaf) return no("no certificate given");
  if (chain.length > MAX_CHAIN_CERTS) {
    return no(`${chain.length} certificates given (at most ${MAX_CHAIN_CERTS})`);
  }
  const check = (c: X509Certificate): string | undefined =>
    timeProblem(c, options.now) ??
      (c.extensions.unknownCritical.length
        ? `certificate '${c.subject}' has unknown critical extension ${
          c.extensions.unknownCritical[0]
        }`
        : undefined);
  const path: X509Certificate[] = [leaf];
  let current = leaf;
  const leafProblem = check(leaf);
  if (leafProblem) return no(leafProblem);
  const isTrusted = (c: X509Certificate) =>
    options.trustedCerts.some((t) => equalBytes(t.der, c.der));
  let anchored = isTrusted(leaf);
  let lastReason = `no trusted certificate issued '${leaf.subject}' (issuer '${leaf.issuer}')`;
  while (!anchored) {
    if (path.length > MAX_CHAIN_DEPTH) return no("the chain is too long");
    const below = path.length - 1; // CA certificates already on the path below the next issuer
    const anchor = options.trustedCerts.find((t) => {
      const p = issuerProblem(t, current, below, true) ?? check(t);
      if (p && sameName(t.subjectDer, current.issuerDer)) lastReason = p;
      return p === undefined;
    });
    if (anchor) {
      if (!equalBytes(anchor.der, current.der)) path.push(anchor);
      anchored = true;
      break;
    }
    const next = chain.slice(1).find((c) =>
      !path.includes(c) && issuerProblem(c, current, below, isTrusted(c)) === undefined
    );
    if (!next) return no(lastReason);
    const p = check(next);
    if (p) return no(p);
    path.push(next);
    current = next;
    anchored = isTrusted(next);
  }
  if (options.purpose !== undefined) {
    const want = X509_PURPOSES[options.purpose] ?? options.purpose;
    const eku = leaf.extensions.extendedKeyUsage;
    if (eku && !eku.includes(want) && !eku.includes(X509_PURPOSES.any!)) {
      return no(`certificate '${leaf.subject}' is not for ${options.purpose}`);
    }
  }
  if (options.principal !== undefined && !namesPrincipal(leaf, options.principal)) {
    return no(`certificate '${leaf.subject}' is not valid for '${options.principal}'`);
  }
  if (
    options.userPrincipal !== undefined && !leaf.userPrincipals.includes(options.userPrincipal)
  ) {
    return no(`certificate '${leaf.subject}' is not for user '${options.userPrincipal}'`);
  }
  return { valid: true, path };
}
