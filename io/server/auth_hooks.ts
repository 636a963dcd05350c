/**
 * Turns the server engine's authentication events into verdicts by asking the
 * application's hooks and `authorizedClientKeys`, with safe defaults: a method
 * with no hook refuses; a key of `revokedKeys` (or a certificate of one, or by
 * one) is refused before anything is asked; a certificate needs
 * `trustedUserCAKeys`, a `cert-authority` line or a `validateCertificate` hook
 * and keeps its own limits either way; a FIDO key's
 * signature must attest what sshd asks (user presence, user verification); a
 * key's authorized_keys options become the connection's permissions.
 *
 * @module
 */

import type { Log } from "../engine/logger.ts";
import type { AuthVerdict, KbdintChallenge, ServerAuthEvent } from "../../core/auth/server_auth.ts";
import { SSHReader } from "../../core/wire.ts";
import type { AuthorizedKeyEntry, AuthorizedKeyOptions } from "../../keys/trust/authorized_keys.ts";
import type { AuthorizedPrincipalEntry } from "../../keys/trust/authorized_principals.ts";
import {
  applyCertificateLimits,
  type AuthorizedKeyVerdict,
  bothPermissions,
  checkAuthorizedKey,
  checkHostCertificate,
  parseKeyOrCertificate,
  type SecurityKeyRequirements,
} from "../../keys/trust/certificate_policy.ts";
import type { SkSignatureDetails } from "../../core/publickey/verify.ts";
import { isCertificateAlgorithm, plainAlgorithm } from "../../core/publickey/certificate.ts";
import { type KnownHosts, matchKnownHosts } from "../../keys/trust/known_hosts.ts";
import type { X509Certificate } from "../../keys/x509/certificate.ts";
import { type KnownHostsSource, readKnownHosts } from "../keys/known_hosts.ts";
import { checkX509Purposes } from "../keys/x509_verifier.ts";
import { isX509Algorithm } from "../../core/publickey/x509_blob.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { type ConnectionPermissions, permissionsFromOptions, UNRESTRICTED } from "./permissions.ts";
import {
  authorizedKeysFor,
  type AuthorizedKeysSource,
  matchAuthorizedKey,
} from "../keys/authorized_keys.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { PublicKeyAuthOptions, ServerHooks } from "./options.ts";
import {
  authorizedPrincipalsFor,
  type AuthorizedPrincipalsSource,
  loadPublicKeysSource,
  type PublicKeysSource,
} from "./user_trust.ts";
import { loadRevokedKeys, type RevokedKeys, type RevokedKeysSource } from "../keys/revoked_keys.ts";
import { wallClock } from "../runtime/env.ts";

const YES: AuthVerdict = { result: "success" };
const NO: AuthVerdict = { result: "failure" };

/** The prompt used when keyboard-interactive stands in for a password. */
export const PASSWORD_PROMPT: KbdintChallenge = {
  prompts: [{ prompt: "Password: ", echo: false }],
};

/** What the handler needs from its connection. */
export interface AuthContext {
  /** The connection being authenticated. */
  readonly conn: ServerConnectionContext;
  /** The hook of this name, per-connection hooks first. */
  hook<K extends keyof ServerHooks>(name: K): ServerHooks[K];
  /** `authorizedClientKeys` for this connection (it may be replaced in beginAuth). */
  authorizedKeys(): AuthorizedKeysSource | undefined;
  /** User signature algorithms accepted. */
  readonly signatureAlgorithms: readonly string[];
  /** The listen options' trust settings: user CAs, principals, revoked keys, client hosts, X.509. */
  readonly trust?: ClientTrustOptions;
  /** `publicKeyAuthOptions`: what every FIDO key's signature must attest. */
  readonly publicKeyAuthOptions?: PublicKeyAuthOptions | undefined;
  /** The connection's log (what authentication decided, where it is worth saying). */
  readonly log?: Log;
  /** `authenticationMethods`: chains of methods, each to complete in order. */
  readonly authenticationMethods?: readonly (readonly string[])[] | undefined;
}

/** Trust settings of `listen()` the handler applies (see `ListenOptions`). */
export interface ClientTrustOptions {
  /** `knownClientHosts`. */
  readonly knownClientHosts?: KnownHostsSource | undefined;
  /** `trustClientHost`. */
  readonly trustClientHost?: boolean | undefined;
  /** `x509TrustedCerts`, loaded. */
  readonly x509TrustedCerts?: readonly X509Certificate[] | undefined;
  /** `x509Purposes`. */
  readonly x509Purposes?: string | readonly string[] | undefined;
  /** `trustedUserCAKeys` (read for each connection). */
  readonly trustedUserCAKeys?: PublicKeysSource | undefined;
  /** `authorizedPrincipals`. */
  readonly authorizedPrincipals?: AuthorizedPrincipalsSource | undefined;
  /** `revokedKeys` (read for each connection). */
  readonly revokedKeys?: RevokedKeysSource | undefined;
}

/** Which methods to offer, from the options and the hooks present. */
export function offeredMethods(
  ctx: Pick<AuthContext, "hook" | "authorizedKeys" | "trust">,
  flags: {
    publicKeyAuth?: boolean | undefined;
    passwordAuth?: boolean | undefined;
    kbdintAuth?: boolean | undefined;
    hostBasedAuth?: boolean | undefined;
    knownClientHosts?: unknown;
    authenticationMethods?: readonly (readonly string[])[] | undefined;
  },
): string[] {
  const has = (n: keyof ServerHooks) => ctx.hook(n) !== undefined;
  const methods: string[] = [];
  const pk = flags.publicKeyAuth ??
    (ctx.authorizedKeys() !== undefined || has("validatePublicKey") ||
      has("validateCertificate") || ctx.trust?.trustedUserCAKeys !== undefined ||
      (ctx.trust?.x509TrustedCerts?.length ?? 0) > 0);
  if (
    flags.hostBasedAuth ?? (has("validateHostBasedUser") || flags.knownClientHosts !== undefined)
  ) {
    methods.push("hostbased");
  }
  if (pk) methods.push("publickey");
  if (flags.kbdintAuth ?? (has("getKbdintChallenge") || has("validatePassword"))) {
    methods.push("keyboard-interactive");
  }
  if (flags.passwordAuth ?? has("validatePassword")) methods.push("password");
  const chains = flags.authenticationMethods;
  if (chains === undefined) return methods;
  // At the start, only what begins a chain.
  return methods.filter((m) => chains.some((c) => c[0] === m));
}

/**
 * A RangeError when a chain of `authenticationMethods` names a method that is not offered
 * (its hook unset: the chain could never complete).
 *
 * @example
 * ```ts
 * import { checkChainsOffered } from "./auth_hooks.ts";
 * checkChainsOffered([["password"]], ["password", "publickey"]); // fine
 * ```
 */
export function checkChainsOffered(
  chains: readonly (readonly string[])[],
  offered: readonly string[],
): void {
  for (const chain of chains) {
    for (const m of chain) {
      if (!offered.includes(m)) {
        throw new RangeError(
          `authenticationMethods names ${JSON.stringify(m)}, which is not offered ` +
            `(offered: ${offered.join(", ") || "none"}; set its hook)`,
        );
      }
    }
  }
}

/**
 * Checks `authenticationMethods`: lists of known methods, none empty, no method twice in a
 * list. Throws a RangeError saying what is wrong.
 *
 * @example
 * ```ts
 * import { checkAuthenticationMethods } from "./auth_hooks.ts";
 * checkAuthenticationMethods([["publickey", "keyboard-interactive"]]); // fine
 * ```
 */
export function checkAuthenticationMethods(chains: unknown): void {
  const known = ["publickey", "password", "keyboard-interactive", "hostbased"];
  if (!Array.isArray(chains) || chains.length === 0) {
    throw new RangeError("authenticationMethods must be a non-empty list of method lists");
  }
  for (const c of chains) {
    if (!Array.isArray(c) || c.length === 0) {
      throw new RangeError("authenticationMethods: each entry must be a non-empty list of methods");
    }
    for (const m of c) {
      if (!known.includes(m)) {
        throw new RangeError(
          `authenticationMethods: unknown method ${JSON.stringify(m)} (known: ${known.join(", ")})`,
        );
      }
    }
    if (new Set(c).size !== c.length) {
      throw new RangeError(`authenticationMethods: a method appears twice in [${c.join(", ")}]`);
    }
  }
}

/** The authentication events that are a client's request (those answered with a verdict). */
export type AuthRequestEvent = Extract<ServerAuthEvent, { readonly id: number }>;

/**
 * The method an authentication event is a request of ("publickey", "password",
 * "keyboard-interactive", "hostbased", "none").
 *
 * @example
 * ```ts
 * import { authMethodOf } from "./auth_hooks.ts";
 * console.log(authMethodOf({ type: "authKbdint", id: 1, username: "u", submethods: "" })); // "keyboard-interactive"
 * ```
 */
export function authMethodOf(e: AuthRequestEvent): string {
  switch (e.type) {
    case "authNone":
      return "none";
    case "authPassword":
      return "password";
    case "authPublicKey":
      return "publickey";
    case "authKbdint":
      return "keyboard-interactive";
    case "authHostbased":
      return "hostbased";
  }
}

/** Answers authentication events for one connection. */
export class AuthHandler {
  readonly #ctx: AuthContext;
  #begun: Promise<boolean> | undefined;
  #keys: Promise<readonly AuthorizedKeyEntry[]> | undefined;
  #knownHosts: Promise<KnownHosts> | undefined;
  #userCAs: Promise<readonly SSHKey[]> | undefined;
  /** `authorizedPrincipals` for the user (asked once per connection: the user name cannot change). */
  #principals: Promise<readonly (string | AuthorizedPrincipalEntry)[] | undefined> | undefined;
  /** `revokedKeys`, loaded; undefined when they could not be read (every key is refused). */
  #revoked: Promise<RevokedKeys | undefined> | undefined;
  /** Permissions of the request that succeeded last (applied when "authenticated" arrives). */
  permissions: ConnectionPermissions = UNRESTRICTED;
  /** The key (or OpenSSH certificate) of the last publickey signature accepted. */
  authKey: SSHKey | SSHCertificate | undefined;

  /** Creates the handler. */
  constructor(ctx: AuthContext) {
    this.#ctx = ctx;
  }

  /** Forgets loaded authorized keys (after `setAuthorizedKeys`). */
  reloadKeys(): void {
    this.#keys = undefined;
  }

  /**
   * The verdict for one event; hooks that throw count as refusals. With
   * `authenticationMethods`, a method's success completes its step of the chains: a partial
   * success until one chain is complete.
   */
  async verdict(e: AuthRequestEvent): Promise<AuthVerdict> {
    const v = await this.#methodVerdict(e);
    const chains = this.#ctx.authenticationMethods;
    if (chains === undefined || v.result !== "success" || this.#skipped) return v;
    // A publickey query's yes is only "this key would do": its signature decides.
    if (e.type === "authPublicKey" && !e.signed) return v;
    // A change of user name starts over (RFC 4252 §5: state may be reset).
    if (this.#chainUser !== e.username) {
      this.#chainUser = e.username;
      this.#completed = [];
      this.#keyPermissions = undefined;
    }
    const method = authMethodOf(e);
    const done = [...this.#completed, method];
    const open = chains.filter((c) => done.every((m, i) => c[i] === m));
    if (open.length === 0) return NO; // not next in any chain (the engine offers none such)
    this.#completed = done;
    // The key's options hold for the session, whatever comes after it.
    if (method === "publickey" || method === "hostbased") this.#keyPermissions = this.permissions;
    if (open.some((c) => c.length === done.length)) {
      if (this.#keyPermissions) this.permissions = this.#keyPermissions;
      return YES;
    }
    const next = [...new Set(open.map((c) => c[done.length]!))];
    return { result: "partial", methods: next };
  }

  /** Methods completed in the chain so far, and for which user. */
  #completed: string[] = [];
  #chainUser: string | undefined;
  /** The permissions of the chain's publickey or hostbased step, which the session keeps. */
  #keyPermissions: ConnectionPermissions | undefined;
  /** beginAuth let the user in without authentication (no chain applies). */
  #skipped = false;

  async #methodVerdict(e: AuthRequestEvent): Promise<AuthVerdict> {
    const { conn } = this.#ctx;
    // As AsyncSSH: beginAuth runs once per user before the first method; false lets the user
    // in. Only false: a hook that returns nothing (one that only logs the name) or anything
    // else asks for authentication, as a missing hook does.
    this.#begun ??= Promise.resolve(this.#ctx.hook("beginAuth")?.(e.username, conn) ?? true)
      .then((required) => required !== false);
    if (!(await this.#begun)) {
      this.#ctx.log?.warn(
        `beginAuth returned false: ${JSON.stringify(e.username)} logs in without authentication`,
      );
      this.permissions = UNRESTRICTED;
      this.#skipped = true;
      return YES;
    }
    switch (e.type) {
      case "authNone":
        return NO;
      case "authPassword":
        return await this.#password(e.username, e.password, e.newPassword);
      case "authPublicKey":
        return await this.#publicKey(e);
      case "authKbdint":
        return await this.#kbdint(e.username, e.submethods, e.responses);
      case "authHostbased": {
        this.permissions = UNRESTRICTED;
        // The same algorithms as publickey: no SHA-1 (ssh-rsa) or DSA unless signatureAlgs says so.
        if (!this.#algorithmAccepted(e.algorithm)) return NO;
        // Before anything that could vouch for it.
        if (await this.#isRevokedBlob(e.keyBlob)) return NO;
        const known = this.#ctx.trust?.knownClientHosts;
        if (known !== undefined && !(await this.#knownClientHost(known, e))) return NO;
        const hook = this.#ctx.hook("validateHostBasedUser");
        const client = {
          hostname: e.clientHostname,
          username: e.clientUsername,
          algorithm: e.algorithm,
          keyBlob: e.keyBlob,
        };
        // As AsyncSSH: with trusted client hosts and no hook, the same user name on both hosts;
        // but never "root" (sshd ignores hosts.equiv for root: only root's own .shosts lets a
        // remote user in as root), and never an empty name.
        const ok = hook
          ? await hook(e.username, client, conn)
          : known !== undefined && e.username === e.clientUsername && e.username !== "" &&
            e.username !== "root";
        return ok === true ? YES : NO;
      }
      default:
        return NO;
    }
  }

  /**
   * Whether `knownClientHosts` vouches for the client host key: looked up by
   * the client's address (or its claimed name with `trustClientHost`); a host
   * certificate needs a matching `@cert-authority` line and must name the host.
   */
  async #knownClientHost(
    source: KnownHostsSource,
    e: { keyBlob: Uint8Array; clientHostname: string },
  ): Promise<boolean> {
    const kh = await (this.#knownHosts ??= readKnownHosts(source));
    const addr = this.#ctx.conn.remoteAddress ?? "";
    const claimed = e.clientHostname.replace(/\.$/, "");
    const host = this.#ctx.trust?.trustClientHost ? claimed : addr;
    if (host === "") return false;
    // By that one name, as sshd looks up only the name from the packet with
    // HostbasedUsesNameFromPacketOnly: a key (or CA) listed under the client's address must not
    // vouch for whatever name the client claims, which the hook is then told.
    const m = matchKnownHosts(kh, host);
    try {
      if (isCertificateAlgorithm(blobType(e.keyBlob))) {
        return checkHostCertificate(e.keyBlob, {
          host,
          trustedCAs: m.trustedCAKeys,
          revokedKeys: m.revokedKeys,
          now: wallClock(),
        }).valid;
      }
      const key = SSHKey.fromPublicBlob(e.keyBlob);
      return m.trustedHostKeys.some((k) => k.equals(key));
    } catch {
      return false;
    }
  }

  /**
   * An `x509v3-*` client key: trusted when its chain ends at one of
   * `x509TrustedCerts`, allows one of `x509Purposes` (default
   * secureShellClient) and is for the user, as AsyncSSH reads it: the user is one
   * of its subjectAltName e-mail addresses or UPNs or, without a subjectAltName,
   * its common name. A certificate for no user is for none (as sshd refuses a
   * certificate without principals from a trusted CA). Without trusted
   * certificates every X.509 key is refused.
   */
  #x509(user: string, keyBlob: Uint8Array): boolean {
    const trusted = this.#ctx.trust?.x509TrustedCerts;
    if (!trusted?.length) return false;
    const r = checkX509Purposes(
      keyBlob,
      trusted,
      this.#ctx.trust?.x509Purposes ?? "secureShellClient",
      { now: wallClock(), userPrincipal: user },
    );
    return r.valid;
  }

  /**
   * The verdict on a certificate: a `validateCertificate` hook's, or sshd's default
   * policy (a `cert-authority` line in the user's authorized_keys vouches for
   * certificates naming the user, or its `principals=`, valid now, from an allowed
   * address). Either way the certificate's own limits apply, with the options of
   * the line (or of the hook's answer) as sshd merges them.
   */
  async #certificate(
    user: string,
    request: KeyRequest,
    subject: SSHKey | SSHCertificate | undefined,
    entries: readonly AuthorizedKeyEntry[],
  ): Promise<LineVerdict> {
    const { algorithm, keyBlob, signed } = request;
    const { conn } = this.#ctx;
    const addr = conn.remoteAddress ?? "";
    const client = { host: addr, addr, now: wallClock() };
    const trust = this.#ctx.trust;
    const cas = trust?.trustedUserCAKeys !== undefined
      ? await (this.#userCAs ??= loadPublicKeysSource(trust.trustedUserCAKeys).catch(() => []))
      : [];
    // As sshd (user_cert_trusted_ca): the principals are asked for only once one of
    // trustedUserCAKeys signed the certificate, so a self-made CA runs no principals
    // function and reads no principals file. (A revoked CA or key was refused before.)
    const source = trust?.authorizedPrincipals;
    const principals = source !== undefined && signedByOneOf(subject, cas)
      ? await (this.#principals ??= authorizedPrincipalsFor(source, user, conn))
      : undefined;
    /** checkAuthorizedKey() with `trustedUserCAKeys` and these authorized_keys lines. */
    const check = (lines: readonly AuthorizedKeyEntry[]): LineVerdict => {
      const v = checkAuthorizedKey(subject ?? keyBlob, {
        username: user,
        authorizedKeys: lines,
        client,
        ...(cas.length > 0 ? { trustedUserCAKeys: cas } : {}),
        ...(principals !== undefined ? { authorizedPrincipals: principals } : {}),
      });
      return v.accepted ? { ...v, options: lineOptions(v) } : v;
    };
    const validate = this.#ctx.hook("validateCertificate");
    if (!validate) return check(entries);
    // trustedUserCAKeys first; the hook decides the certificates it does not accept.
    if (cas.length > 0) {
      const v = check([]);
      if (v.accepted) return v;
    }
    const answer = await validate(user, {
      algorithm,
      certificateBlob: keyBlob,
      authorities: entries.filter((e) => e.options.certAuthority),
      signed,
    }, conn);
    if (!answer) return REFUSED;
    /**
     * The certificate's own limits with `options` (those of the line behind the
     * answer), whose `from=` and `expiry-time` refuse as sshd's line would.
     */
    const limited = (options: AuthorizedKeyOptions | undefined): LineVerdict => {
      const v = applyCertificateLimits(subject instanceof SSHCertificate ? subject : keyBlob, {
        clientAddress: addr,
        now: client.now,
        ...(options ? { options } : {}),
      });
      return v.accepted ? { ...v, options } : v;
    };
    if (typeof answer === "object" && "accepted" in answer) {
      // A checkAuthorizedKey() verdict: its line applies (an authorized_keys line, or the
      // principals line behind a trustedUserCAKeys verdict), and it is held to the certificate.
      if (!answer.accepted) return answer;
      const own = limited(withoutClientChecks(lineOptions(answer)));
      return own.accepted ? narrower(own, answer) : own;
    }
    // true, or the options of a line that vouched for it.
    return limited(answer === true ? undefined : answer);
  }

  async #password(user: string, password: string, newPassword?: string): Promise<AuthVerdict> {
    const { conn } = this.#ctx;
    this.permissions = UNRESTRICTED;
    if (newPassword !== undefined) {
      const ok = await this.#ctx.hook("changePassword")?.(user, password, newPassword, conn);
      // `{ changePassword }` again: the new password is not good enough; ask once more.
      if (typeof ok === "object" && ok !== null) {
        return { result: "changePassword", prompt: ok.changePassword };
      }
      return ok === true ? YES : NO;
    }
    const v = await this.#ctx.hook("validatePassword")?.(user, password, conn);
    if (typeof v === "object" && v !== null) {
      return { result: "changePassword", prompt: v.changePassword };
    }
    return v === true ? YES : NO;
  }

  async #kbdint(
    user: string,
    submethods: string,
    responses: readonly string[] | undefined,
  ): Promise<AuthVerdict> {
    const { conn } = this.#ctx;
    this.permissions = UNRESTRICTED;
    const challenge = (c: KbdintChallenge | boolean | null | undefined): AuthVerdict =>
      c === true ? YES : !c ? NO : { result: "challenge", challenge: c };
    const get = this.#ctx.hook("getKbdintChallenge");
    if (get) {
      if (!responses) return challenge(await get(user, submethods, conn));
      return challenge(await this.#ctx.hook("validateKbdintResponse")?.(user, responses, conn));
    }
    // Password through keyboard-interactive, as OpenSSH offers it with PAM.
    const check = this.#ctx.hook("validatePassword");
    if (!check) return NO;
    if (!responses) return { result: "challenge", challenge: PASSWORD_PROMPT };
    return (await check(user, responses[0] ?? "", conn)) === true ? YES : NO;
  }

  async #publicKey(e: Extract<ServerAuthEvent, { type: "authPublicKey" }>): Promise<AuthVerdict> {
    const grant = await this.#publicKeyGrant(e.username, e);
    if (grant === undefined) return NO;
    if (!e.signed) return YES; // a query: PK_OK, and the signature that follows decides
    if (!this.#attested(e.keyBlob, e.sk, grant)) return NO;
    this.permissions = grant.permissions;
    this.authKey = parsedKey(e.keyBlob);
    return YES;
  }

  /** What the key may do once its signature is in, and what that must attest; undefined refuses it. */
  async #publicKeyGrant(user: string, request: KeyRequest): Promise<KeyGrant | undefined> {
    const { conn } = this.#ctx;
    const { algorithm, keyBlob, signed } = request;
    if (!this.#algorithmAccepted(algorithm)) return undefined;
    if (isX509Algorithm(blobType(keyBlob))) {
      // As for OpenSSH keys: revocation first (the certificate's key, or an issuer's).
      if (await this.#isRevokedBlob(keyBlob)) return undefined;
      return this.#x509(user, keyBlob) ? ANY_KEY : undefined;
    }
    // One parse serves revocation, the CA check and the line match (undefined: it does not parse).
    const subject = parsedKey(keyBlob);
    // As sshd, revocation first: no authorized_keys line, CA or hook can accept a revoked key.
    if (await this.#isRevoked(subject)) return undefined;
    const source = this.#ctx.authorizedKeys();
    const entries = source ? await (this.#keys ??= authorizedKeysFor(source, user)) : [];
    if (isCertificateAlgorithm(blobType(keyBlob))) {
      const v = await this.#certificate(user, request, subject, entries);
      if (!v.accepted) return undefined;
      const { touchRequired, verifyRequired } = v;
      return { permissions: certificatePermissions(v, v.options), touchRequired, verifyRequired };
    }
    if (!(subject instanceof SSHKey)) return undefined;
    const key = subject;
    const entry = matchAuthorizedKey(entries, key, conn.remoteAddress ?? "");
    if (entry) {
      return {
        permissions: permissionsFromOptions(entry.options),
        touchRequired: !entry.options.noTouchRequired,
        verifyRequired: entry.options.verifyRequired,
      };
    }
    const ok = await this.#ctx.hook("validatePublicKey")?.(
      user,
      { algorithm, keyBlob, key, signed },
      conn,
    );
    return ok === true ? ANY_KEY : undefined;
  }

  /**
   * Whether `revokedKeys` refuses a key (parsed from its blob): a plain key
   * listed there or revoked by a KRL, or a certificate whose key or signing CA
   * is, or whose serial or key ID a KRL revokes. With revoked keys configured, a
   * blob that did not parse (undefined), or a list that could not be read, refuses too.
   */
  async #isRevoked(subject: SSHKey | SSHCertificate | undefined): Promise<boolean> {
    const revoked = await this.#revokedKeys();
    if (revoked === null) return false;
    if (revoked === undefined) return true;
    if (revoked.empty) return false;
    return subject === undefined || revoked.isRevoked(subject);
  }

  /**
   * {@link #isRevoked} for a key blob of any kind, `x509v3-*` keys included (their
   * certificates' keys; see `RevokedKeys.isRevokedKeyBlob`).
   */
  async #isRevokedBlob(blob: Uint8Array): Promise<boolean> {
    const revoked = await this.#revokedKeys();
    if (revoked === null) return false;
    return revoked === undefined || revoked.isRevokedKeyBlob(blob);
  }

  /** `revokedKeys`, loaded once: null when none are configured, undefined when unreadable. */
  #revokedKeys(): Promise<RevokedKeys | undefined> | null {
    const source = this.#ctx.trust?.revokedKeys;
    if (source === undefined) return null;
    return this.#revoked ??= loadRevokedKeys(source).catch(() => undefined);
  }

  /**
   * Whether the signature algorithm is one we accept from users (`signatureAlgs`,
   * default server-sig-algs): a certificate algorithm by the plain one it wraps
   * (`sk-ssh-ed25519-cert-v01@openssh.com` by `sk-ssh-ed25519@openssh.com`).
   */
  #algorithmAccepted(algorithm: string): boolean {
    return this.#ctx.signatureAlgorithms.includes(plainAlgorithm(algorithm));
  }

  /**
   * Whether a signature attests what its FIDO (`sk-*`) key must, as sshd checks
   * it: user presence unless the key's options waive it, user verification where
   * they ask for it, and whatever `publicKeyAuthOptions` asks of every key. Other
   * keys attest nothing and need not.
   */
  #attested(
    keyBlob: Uint8Array,
    sk: SkSignatureDetails | undefined,
    need: SecurityKeyRequirements,
  ): boolean {
    if (!plainAlgorithm(blobType(keyBlob)).startsWith("sk-")) return true;
    if (sk === undefined) return false; // a FIDO signature that lost its flags: nothing to go by
    const all = this.#ctx.publicKeyAuthOptions;
    if ((need.touchRequired || all?.touchRequired) && !sk.userPresent) return false;
    return !((need.verifyRequired || all?.verifyRequired) && !sk.userVerified);
  }
}

/**
 * A publickey request as the hooks see it: `signed` false for a query, which
 * proves nothing about the private key (the hooks are told, and must not count it
 * as a login).
 */
type KeyRequest = Pick<
  Extract<ServerAuthEvent, { type: "authPublicKey" }>,
  "algorithm" | "keyBlob" | "signed"
>;

/** What an accepted key may do, and what its FIDO signatures must attest. */
interface KeyGrant extends SecurityKeyRequirements {
  readonly permissions: ConnectionPermissions;
}

/** A key a hook (or an X.509 trust anchor) let in: no options, sshd's default FIDO policy. */
const ANY_KEY: KeyGrant = Object.freeze({
  permissions: UNRESTRICTED,
  touchRequired: true,
  verifyRequired: false,
});

/** An accepted verdict. */
type Accepted = Extract<AuthorizedKeyVerdict, { accepted: true }>;

/** A verdict with the options of the line (or hook answer) behind it. */
type LineVerdict =
  | (Accepted & { readonly options: AuthorizedKeyOptions | undefined })
  | Extract<AuthorizedKeyVerdict, { accepted: false }>;

const REFUSED: LineVerdict = { accepted: false, reason: "refused by validateCertificate" };

/**
 * Both verdicts at once: each permission if both grant it, the forced command of
 * either (refused when they differ), each FIDO requirement if either asks it.
 */
function narrower(
  a: Accepted & { readonly options: AuthorizedKeyOptions | undefined },
  b: Accepted,
): LineVerdict {
  if (
    a.forceCommand !== undefined && b.forceCommand !== undefined &&
    a.forceCommand !== b.forceCommand
  ) {
    return {
      accepted: false,
      reason: "the verdict's forced command differs from the certificate's",
    };
  }
  const forceCommand = a.forceCommand ?? b.forceCommand;
  return {
    ...a,
    ...(forceCommand !== undefined ? { forceCommand } : {}),
    permissions: bothPermissions(a.permissions, b.permissions),
    touchRequired: a.touchRequired || b.touchRequired,
    verifyRequired: a.verifyRequired || b.verifyRequired,
  };
}

/**
 * What a certificate login may do: the options of the line (or hook answer) that
 * vouched for it (its `permitopen=`, `environment=`, ...) narrowed by the
 * certificate's own extensions — a certificate without `permit-pty` gets no pty
 * however permissive the line is, as with sshd — and the forced command of
 * either (they were checked to agree).
 */
function certificatePermissions(
  verdict: Accepted,
  options: AuthorizedKeyOptions | undefined,
): ConnectionPermissions {
  const line = options ? permissionsFromOptions(options) : UNRESTRICTED;
  const both = verdict.permissions;
  return {
    ...line,
    forcedCommand: verdict.forceCommand ?? line.forcedCommand,
    pty: line.pty && both.pty,
    portForwarding: line.portForwarding && both.portForwarding,
    agentForwarding: line.agentForwarding && both.agentForwarding,
    x11Forwarding: line.x11Forwarding && both.x11Forwarding,
  };
}

/**
 * `options` without `from=` and `expiry-time`: for a checkAuthorizedKey() verdict,
 * which checked them already against the client the application gave it (perhaps
 * with a host name from DNS, which a second check by address alone would refuse).
 */
function withoutClientChecks(
  options: AuthorizedKeyOptions | undefined,
): AuthorizedKeyOptions | undefined {
  if (options === undefined) return undefined;
  const { from: _from, expiryTime: _expiry, ...rest } = options;
  return rest;
}

/** The options of the authorized_keys or authorized principals line behind a verdict. */
function lineOptions(v: Accepted): AuthorizedKeyOptions | undefined {
  return (v.entry ?? v.principalEntry)?.options;
}

/**
 * Whether `keyBlob` is a certificate one of `cas` signed: it names the CA and the
 * CA's signature verifies (as sshd verifies it when it decodes the certificate).
 */
function signedByOneOf(
  subject: SSHKey | SSHCertificate | undefined,
  cas: readonly SSHKey[],
): boolean {
  if (!(subject instanceof SSHCertificate)) return false;
  try {
    return cas.some((k) => k.equals(subject.signatureKey)) && subject.verifySignature();
  } catch {
    return false;
  }
}

/** A key blob parsed as a key or a certificate, or undefined when it does not parse. */
function parsedKey(blob: Uint8Array): SSHKey | SSHCertificate | undefined {
  try {
    return parseKeyOrCertificate(blob);
  } catch {
    return undefined;
  }
}

/** The key type named at the start of a public key blob ("" when unreadable). */
function blobType(blob: Uint8Array): string {
  try {
    return new SSHReader(blob).readStringAscii("key type", 128);
  } catch {
    return "";
  }
}
