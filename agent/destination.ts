/**
 * Destination constraints (OpenSSH's `restrict-destination-v00@openssh.com`)
 * checked against the `session-bind@openssh.com` bindings of an agent
 * connection: which hops a key may be forwarded through, and where it may sign.
 * The rules follow OpenSSH's ssh-agent (identity_permitted, match_key_hop and
 * parse_userauth_request), so keys behave the same in both agents.
 *
 * @module
 */

import { keyTypeForSignatureAlgorithm } from "../core/publickey/algorithms.ts";
import {
  certificateTypeForAlgorithm,
  isCertificateAlgorithm,
} from "../core/publickey/certificate.ts";
import { equalBytes, SSHReader } from "../core/wire.ts";
import type { SSHCertificate } from "../keys/certificates/certificate.ts";
import { checkHostCertificate } from "../keys/trust/certificate_policy.ts";
import { matchPattern } from "../keys/trust/host_patterns.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import type { DestinationConstraint, DestinationHop } from "./constraints.ts";

/** One `session-bind@openssh.com` recorded on an agent connection. */
export interface SessionBinding {
  /** The host key (or host certificate) the session was bound to. */
  readonly hostKey: SSHKey | SSHCertificate;
  /** Its blob, as sent. */
  readonly hostKeyBlob: Uint8Array;
  /** The session identifier (the first exchange hash). */
  readonly sessionId: Uint8Array;
  /** Bound for forwarding (true) or for authentication (false). */
  readonly forwarded: boolean;
}

/** What a public key authentication request to be signed says (parse_userauth_request). */
export interface UserauthRequestInfo {
  /** The user the request logs in as. */
  readonly username: string;
  /** The session identifier it is signed for. */
  readonly sessionId: Uint8Array;
  /** The server host key inside a `publickey-hostbound-v00@openssh.com` request. */
  readonly hostKeyBlob: Uint8Array | undefined;
}

const USERAUTH_REQUEST = 50;
const HOSTBOUND = "publickey-hostbound-v00@openssh.com";

function isCertificate(k: SSHKey | SSHCertificate): k is SSHCertificate {
  return "signatureKey" in k;
}

/**
 * Does a host key (or certificate) match a hop? A plain key must be listed (not
 * as a CA); a certificate must be signed by a listed CA and valid for the hop's
 * host name.
 */
function matchHop(key: SSHKey | SSHCertificate, hop: DestinationHop, now: number): boolean {
  for (const hk of hop.hostKeys) {
    if (!isCertificate(key)) {
      if (!hk.isCA && equalBytes(key.publicBlob, hk.keyBlob)) return true;
      continue;
    }
    if (!hk.isCA || !equalBytes(key.signatureKey.publicBlob, hk.keyBlob)) continue;
    // As OpenSSH: the hop's name is the pattern (`ssh-add -h '*.example.com'`), matched
    // against the certificate's principals; a principal `*` is not valid for every hop.
    const r = checkHostCertificate(key, {
      host: hop.hostname || "(ORIGIN)",
      trustedCAs: [key.signatureKey],
      now,
      hostIsPattern: true,
    });
    if (r.valid) return true;
  }
  return false;
}

/** The first constraint permitting the step from `from` to `to` for `user`, if any. */
function permittedBy(
  constraints: readonly DestinationConstraint[],
  from: SSHKey | SSHCertificate | undefined,
  to: SSHKey | SSHCertificate | undefined,
  user: string | undefined,
  now: number,
): DestinationConstraint | undefined {
  for (const d of constraints) {
    if (from === undefined) {
      if (d.from.hostname !== "" || d.from.hostKeys.length !== 0) continue;
    } else if (!matchHop(from, d.from, now)) continue;
    if (to !== undefined && !matchHop(to, d.to, now)) continue;
    if (d.to.username !== "" && user !== undefined && !matchPattern(user, d.to.username)) continue;
    return d;
  }
  return undefined;
}

/**
 * Whether a key with these destination constraints may be seen (listed,
 * removed, replaced) or, with `user` given, used to sign on a connection with
 * these bindings. Unconstrained keys always may; constrained keys may on an
 * unbound (local) connection, but not on one whose session-bind failed.
 *
 * @example
 * ```ts
 * import { identityPermitted } from "./destination.ts";
 * console.log(identityPermitted([], [], false, undefined, Date.now())); // true
 * ```
 */
export function identityPermitted(
  constraints: readonly DestinationConstraint[],
  bindings: readonly SessionBinding[],
  bindFailed: boolean,
  user: string | undefined,
  now: number,
): boolean {
  if (constraints.length === 0) return true;
  if (bindFailed && bindings.length === 0) return false;
  if (bindings.length === 0) return true;
  let from: SSHKey | SSHCertificate | undefined;
  for (let i = 0; i < bindings.length; i++) {
    const b = bindings[i]!;
    const last = i === bindings.length - 1;
    if (last) {
      // A signature is for the final hop: it must not be a forwarding binding.
      if (b.forwarded && user !== undefined) return false;
    } else if (!b.forwarded) {
      return false; // forwarding through a connection bound for authentication
    }
    if (!permittedBy(constraints, from, b.hostKey, last ? user : undefined, now)) return false;
    from = b.hostKey;
  }
  // Listing through a forwarding hop: show only keys usable beyond it.
  const lastBind = bindings[bindings.length - 1]!;
  if (lastBind.forwarded && user === undefined) {
    if (!permittedBy(constraints, lastBind.hostKey, undefined, undefined, now)) return false;
  }
  return true;
}

/**
 * Parses data to be signed as a public key authentication request for `keyBlob`
 * (RFC 4252 §7, or its host-bound form), or returns undefined when it is not one.
 *
 * @example
 * ```ts
 * import { parseUserauthRequest } from "./destination.ts";
 * console.log(parseUserauthRequest(new Uint8Array(10), "ssh-ed25519", new Uint8Array(51))); // undefined
 * ```
 */
export function parseUserauthRequest(
  data: Uint8Array,
  keyType: string,
  keyBlob: Uint8Array,
): UserauthRequestInfo | undefined {
  try {
    const r = new SSHReader(data);
    const sessionId = r.readString("session id", 1024);
    if (sessionId.length === 0) return undefined;
    if (r.readByte("message type") !== USERAUTH_REQUEST) return undefined;
    const username = r.readStringUtf8("user", 1024);
    const service = r.readStringAscii("service", 256);
    const method = r.readStringAscii("method", 256);
    const sigFollows = r.readByte("has signature");
    const algorithm = r.readStringAscii("algorithm", 256);
    const blob = r.readString("key", 64 * 1024);
    if (service !== "ssh-connection" || sigFollows !== 1 || !equalBytes(blob, keyBlob)) {
      return undefined;
    }
    if (keyTypeOfAlgorithm(algorithm) !== keyType) return undefined;
    let hostKeyBlob: Uint8Array | undefined;
    if (method === HOSTBOUND) hostKeyBlob = r.readString("host key", 64 * 1024).slice();
    else if (method !== "publickey") return undefined;
    if (r.remaining !== 0) return undefined;
    return { username, sessionId: sessionId.slice(), hostKeyBlob };
  } catch {
    return undefined;
  }
}

/** The key type a signature algorithm names (certificate algorithms give certificate types). */
function keyTypeOfAlgorithm(algorithm: string): string | undefined {
  if (isCertificateAlgorithm(algorithm)) return certificateTypeForAlgorithm(algorithm);
  return keyTypeForSignatureAlgorithm(algorithm);
}
