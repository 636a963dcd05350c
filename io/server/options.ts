/**
 * The options and hooks of `listen()`. Hooks are plain typed callbacks (sync or
 * async); each has a safe default that refuses. They can be given once for the
 * whole server, or per connection through `serverFactory` (as AsyncSSH's
 * `server_factory`), whose hooks take precedence.
 *
 * @module
 */

import type { LogOptions } from "../engine/logger.ts";
import type { SFTPServerOption } from "../sftp/server.ts";
import type { SCPServerOption } from "../scp/server.ts";
import type { KbdintChallenge } from "../../core/auth/server_auth.ts";
import type { Modulus } from "../../core/kex/moduli.ts";
import type { RandomSource } from "../../core/random.ts";
import type { AuthorizedKeyEntry, AuthorizedKeyOptions } from "../../keys/trust/authorized_keys.ts";
import type { AuthorizedKeyVerdict } from "../../keys/trust/certificate_policy.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import type { AuthorizedKeysSource } from "../keys/authorized_keys.ts";
import type { KnownHostsSource } from "../keys/known_hosts.ts";
import type { X509CertificateInput } from "../keys/x509_verifier.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { HostKeyInput } from "./host_keys.ts";
import type { SSHServerProcess } from "./process.ts";
import type { WebDuplex } from "../runtime/socket.ts";
import type { X11Request, X11ServerOptions } from "./x11.ts";
import type { AuthorizedPrincipalsSource, PublicKeysSource } from "./user_trust.ts";
import type { RevokedKeysSource } from "../keys/revoked_keys.ts";

/** A value or a promise of it: every hook may be sync or async. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * A public key offered for authentication, for {@link ServerHooks.validatePublicKey}.
 * See {@link PublicKeyAuthInfo.signed}: the hook is asked for unsigned queries too.
 */
export interface PublicKeyAuthInfo {
  /** Signature algorithm, e.g. "rsa-sha2-512". */
  readonly algorithm: string;
  /** The public key blob as sent. */
  readonly keyBlob: Uint8Array;
  /** The key, parsed; undefined for certificates and key types we cannot parse. */
  readonly key: SSHKey | undefined;
  /**
   * True when the request carries a signature over this session by the key, checked
   * already: accepting it logs the user in. False for a query ("would you accept
   * this key?", RFC 4252 §7): nothing proves the client holds the private key
   * (anyone may ask about a public key), and accepting it only tells the client to
   * sign. A client normally asks the same key twice, query then signed request;
   * count or record logins on signed requests only.
   */
  readonly signed: boolean;
}

/**
 * A certificate offered for authentication, for {@link ServerHooks.validateCertificate}.
 * See {@link CertificateAuthInfo.signed}: the hook is asked for unsigned queries too.
 */
export interface CertificateAuthInfo {
  /** Signature algorithm, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly algorithm: string;
  /** The whole certificate blob. */
  readonly certificateBlob: Uint8Array;
  /** `cert-authority` entries of `authorizedClientKeys` (with their `principals`, `from`, ...). */
  readonly authorities: readonly AuthorizedKeyEntry[];
  /**
   * True when the request carries a signature over this session by the certified
   * key, checked already: accepting it logs the user in. False for a query: nothing
   * proves the client holds the key (a certificate is public), and accepting it only
   * tells the client to sign. Count or record logins on signed requests only.
   */
  readonly signed: boolean;
}

/** The client host of a hostbased request (its signature already checked). */
export interface HostBasedClientInfo {
  /**
   * The client host's name as it claims it (OpenSSH sends a trailing dot). Only with
   * `trustClientHost` was the key checked against `knownClientHosts` under this name;
   * by default it was checked under the client's address (`conn.remoteAddress`) and
   * this name is the client's word alone: decide by the address, not by this.
   */
  readonly hostname: string;
  /** The user on the client host. */
  readonly username: string;
  /** Signature algorithm, e.g. "ssh-ed25519-cert-v01@openssh.com". */
  readonly algorithm: string;
  /** The client host's public key blob. */
  readonly keyBlob: Uint8Array;
}

/**
 * What every FIDO (`sk-*`) key's signature must attest, for `listen({
 * publicKeyAuthOptions })` (sshd's `PubkeyAuthOptions`). Keys of other types
 * are not affected.
 */
export interface PublicKeyAuthOptions {
  /**
   * The user touched the key (sshd's `touch-required`), even when the key's
   * authorized_keys line says `no-touch-required` or its certificate has that
   * extension. Default false: each key's own options decide, and they require
   * a touch unless they say otherwise.
   */
  readonly touchRequired?: boolean;
  /**
   * The user was verified, by PIN or biometrics (sshd's `verify-required`), as
   * if every key's line said `verify-required`. Default false.
   */
  readonly verifyRequired?: boolean;
}

/** What `validatePassword` may answer: yes, no, or "expired: ask for a new one with this prompt". */
export type PasswordVerdict = boolean | { readonly changePassword: string };

/** What a client asked a session to run (see `ServerHooks.processRequested`). */
export interface ProcessRequest {
  /** "shell", "exec" or "subsystem". */
  readonly type: "shell" | "exec" | "subsystem";
  /** The command of an exec request (bytes that are not UTF-8 as U+DC80–U+DCFF). */
  readonly command?: string;
  /** The subsystem's name (e.g. "sftp"). */
  readonly subsystem?: string;
  /** The terminal type when the session asked for a pty. */
  readonly term?: string;
  /** The environment variables the session was given. */
  readonly env: Readonly<Record<string, string>>;
}

/** Runs a session: exec, shell or subsystem. When it returns, the process exits (0, or 1 on error). */
export type ProcessFactory = (process: SSHServerProcess) => MaybePromise<void>;

/**
 * A remote forward the application serves itself: what `serverRequested` (or
 * `unixServerRequested`) returns to accept a client's `ssh -R` without the server
 * listening on a socket (only an object is one: any other truthy answer means "listen").
 * The forward counts toward `maxRemoteForwards` until the client cancels it or the
 * connection ends, and `close` is then called, once — also when the forward is refused
 * after all (its key held already, no port for a port 0 request, the connection gone
 * while the hook decided).
 *
 * @example
 * ```ts
 * import type { VirtualRemoteForward } from "@sshts/ssh";
 * const forward: VirtualRemoteForward = { port: 8080, close: () => console.log("gone") };
 * ```
 */
export interface VirtualRemoteForward {
  /**
   * The port to report to a client that asked for port 0 (1–65535; without it such a
   * request is refused). Ignored for a fixed port, which keeps the port asked for.
   */
  readonly port?: number;
  /** Called once when the client cancels the forward or the connection ends. */
  close?(): void;
}

/** Per-connection hooks. Every one is optional; a missing hook refuses. */
export interface ServerHooks {
  /** A client connected (before the handshake). */
  connectionMade?(conn: ServerConnectionContext): void;
  /**
   * The connection closed. `error` is undefined when this side closed it (`close()`,
   * `disconnect()`, the server's `close()`); after `abort()` it is the abort's error
   * (`ERR_BY_APPLICATION`, not from the peer); otherwise it says
   * why: the peer's DISCONNECT (a `DisconnectError` with `fromPeer` — reason 11,
   * BY_APPLICATION, is a client's ordinary logout), a connection lost or cut, a protocol
   * error.
   */
  connectionLost?(conn: ServerConnectionContext, error: Error | undefined): void;
  /** Authentication succeeded (`conn.username` and `getExtraInfo().authMethod` are set). */
  authCompleted?(conn: ServerConnectionContext): void;
  /** The client sent a DEBUG message (`alwaysDisplay`: it asks that it be shown). */
  debugReceived?(conn: ServerConnectionContext, message: string, alwaysDisplay: boolean): void;
  /**
   * Called first for each user, before any method (AsyncSSH's `begin_auth`): return `true`
   * when the user must authenticate. **Returning `false` lets the user in without any
   * authentication** (logged as a warning) — it does not refuse the user; refuse in the
   * method hooks. Only `false` does: nothing returned, or anything else, asks for
   * authentication, as a missing hook does.
   */
  beginAuth?(username: string, conn: ServerConnectionContext): MaybePromise<boolean | void>;
  /** Checks a password; enables "password" (and "keyboard-interactive" with a Password: prompt). */
  validatePassword?(
    username: string,
    password: string,
    conn: ServerConnectionContext,
  ): MaybePromise<PasswordVerdict>;
  /**
   * Handles a password change (after `{ changePassword }`, AsyncSSH's
   * `change_password`): true accepts the new password and logs the user in,
   * false refuses, `{ changePassword: prompt }` asks the client for another
   * new password (e.g. too weak). Asked only once this connection's
   * `validatePassword` (or `changePassword`) answered `{ changePassword }`: a
   * client's change request the server did not ask for is refused, as sshd
   * refuses it, and no hook sees it. (The old password comes again with the
   * new one; the example checks it anyway.)
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * const passwords = new Map([["me", "old"]]);
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: (user, pw) => pw === passwords.get(user) && { changePassword: "Expired:" },
   *   changePassword: (user, old, pw) => {
   *     if (old !== passwords.get(user)) return false;
   *     if (pw.length < 12) return { changePassword: "Too short; choose another:" };
   *     passwords.set(user, pw);
   *     return true;
   *   },
   * });
   * const tries = ["short", "a much longer one"];
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "old",
   *   knownHosts: null, // a server in this process
   *   passwordChange: () => ({ oldPassword: "old", newPassword: tries.shift()! }),
   *   onPasswordChangeFailed: (r) => console.log(r.reason, r.prompt), // retry Too short; …
   * });
   * console.log(passwords.get("me")); // a much longer one
   * ```
   */
  changePassword?(
    username: string,
    oldPassword: string,
    newPassword: string,
    conn: ServerConnectionContext,
  ): MaybePromise<PasswordVerdict>;
  /**
   * Is this public key allowed for this user? Asked when `authorizedClientKeys` did not
   * already allow it, and never for a key of `revokedKeys`. Asked for a client's
   * unsigned query as well as for its signed request: `key.signed` tells them apart.
   * Signatures are checked before a signed request is asked about, and a FIDO
   * (`sk-*`) key's must show the user touched it, as sshd's default (put the key in
   * `authorizedClientKeys` with `no-touch-required` to waive that).
   *
   * @example Count a key's logins, not the queries about it
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * const deployKey = generatePrivateKey("ed25519").publicKey();
   * let logins = 0;
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePublicKey: (_user, k) => {
   *     const ok = k.key?.equals(deployKey) ?? false;
   *     if (ok && k.signed) logins++; // a query proves nothing: anyone can send a public key
   *     return ok;
   *   },
   * });
   * console.log(server.address.port > 0, logins); // true 0
   * ```
   */
  validatePublicKey?(
    username: string,
    key: PublicKeyAuthInfo,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean>;
  /**
   * Is this certificate allowed for this user? The hook for certificate trust
   * (CA, principals, validity). Answer false to refuse, true to accept, the
   * options of what vouched for it (an authorized_keys line's: `permitopen=`,
   * `environment=`, `command=`, ...) or a `checkAuthorizedKey()` verdict. Once
   * accepted, the certificate's own limits apply as sshd applies them, merged
   * with those options: its `force-command` (refused when it differs from a
   * `command=`), its `permit-*` extensions (a certificate without `permit-pty`
   * gets no pty), `source-address`, and for FIDO keys `no-touch-required` and
   * `verify-required`; a critical option the server does not know refuses it.
   * Options answered are held to their `from=` (the client's address) and
   * `expiry-time` as sshd holds a line; a verdict was held to them when made.
   * Without this hook, `authorizedClientKeys`' `cert-authority` lines decide as
   * sshd's do. Not asked for a certificate `trustedUserCAKeys` accepts, nor for
   * one whose key or CA is in `revokedKeys` (refused). Asked for a client's
   * unsigned query as well as for its signed request: `certificate.signed` tells
   * them apart (only a signed request proves the client holds the key).
   *
   * @example Trust a CA from code, with its certificates' limits
   * ```ts
   * import { checkAuthorizedKey, generatePrivateKey, listen, parseAuthorizedKeys } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519");
   * const authorities = parseAuthorizedKeys(`cert-authority,principals="ops" ${ca.exportPublicKey()}`);
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validateCertificate: (username, c, conn) =>
   *     checkAuthorizedKey(c.certificateBlob, {
   *       username,
   *       authorizedKeys: authorities,
   *       client: { host: conn.remoteAddress ?? "", addr: conn.remoteAddress ?? "", now: Date.now() },
   *     }),
   * });
   * console.log(server.address.port > 0); // true
   * ```
   */
  validateCertificate?(
    username: string,
    certificate: CertificateAuthInfo,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean | AuthorizedKeyOptions | AuthorizedKeyVerdict>;
  /** First keyboard-interactive challenge (null/false refuses; true accepts without questions). */
  getKbdintChallenge?(
    username: string,
    submethods: string,
    conn: ServerConnectionContext,
  ): MaybePromise<KbdintChallenge | boolean | null>;
  /** Checks answers; returns true/false or a further challenge. */
  validateKbdintResponse?(
    username: string,
    responses: readonly string[],
    conn: ServerConnectionContext,
  ): MaybePromise<KbdintChallenge | boolean>;
  /**
   * Hostbased authentication check (signature already verified; never asked for a key
   * of `revokedKeys`). With `knownClientHosts` it is asked only for a client host key
   * it lists; without it, this hook alone vouches for the host key
   * (`client.keyBlob`): check it, not just the user names.
   */
  validateHostBasedUser?(
    username: string,
    client: HostBasedClientInfo,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean>;
  /**
   * A client asks for a session channel. Return true to run `processFactory`, a
   * function to run that instead, or false to refuse. Default: allow when
   * `processFactory` or `sftpFactory` is set.
   */
  sessionRequested?(conn: ServerConnectionContext): MaybePromise<boolean | ProcessFactory>;
  /**
   * A client asks a session to run something (AsyncSSH's `shell_requested`,
   * `exec_requested` and `subsystem_requested`): return false to refuse this one request
   * (the client sees it refused; the session stays open for another), true to start the
   * process. `command` is what the client asked for even under a forced command. Asked
   * after the session's pty, env, agent and X11 requests. Default: every request runs.
   */
  processRequested?(
    request: ProcessRequest,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean>;
  /**
   * A client asks to reach destHost:destPort through us (`ssh -L`, `ssh -D`,
   * direct-tcpip). Return true to have the server connect there itself, a
   * duplex to carry the channel, or false to refuse (the default).
   */
  connectionRequested?(
    destHost: string,
    destPort: number,
    originHost: string,
    originPort: number,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean | WebDuplex | null | undefined>;
  /**
   * A client asks us to listen on listenHost:listenPort and forward connections
   * back (`ssh -R`, tcpip-forward; port 0 picks a free port). Return true to
   * have the server listen there, a {@link VirtualRemoteForward} to accept the
   * forward without a socket (the application then pushes connections with
   * `conn.openConnection(listenHost, port)`: a tunnel gateway that routes by
   * name, say), or false to refuse. Default: refuse.
   *
   * @example Accept `ssh -R 80:localhost:3000` without binding port 80
   * ```ts ignore
   * const tunnels = new Map<string, ServerConnectionContext>();
   * await listen({
   *   ...options,
   *   serverRequested: (host, port, conn) => {
   *     if (port !== 80) return false;
   *     tunnels.set(conn.username!, conn);
   *     // Only this connection's entry goes (the user may have logged in again since).
   *     return { close: () => tunnels.get(conn.username!) === conn && tunnels.delete(conn.username!) };
   *   },
   * });
   * // Later, for a request meant for alice's tunnel:
   * await using c = await tunnels.get("alice")!.openConnection("localhost", 80);
   * ```
   */
  serverRequested?(
    listenHost: string,
    listenPort: number,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean | VirtualRemoteForward>;
  /** As `connectionRequested`, for a UNIX socket path (direct-streamlocal@openssh.com). */
  unixConnectionRequested?(
    destPath: string,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean | WebDuplex | null | undefined>;
  /**
   * As `serverRequested`, for a UNIX socket path (streamlocal-forward@openssh.com); a
   * {@link VirtualRemoteForward} (its `port` unused) accepts it without a socket, and
   * `conn.openUnixConnection(listenPath)` pushes connections.
   */
  unixServerRequested?(
    listenPath: string,
    conn: ServerConnectionContext,
  ): MaybePromise<boolean | VirtualRemoteForward>;
  /**
   * A session asks to forward the client's agent (`ssh -A`,
   * auth-agent-req@openssh.com). Return true to allow: the session's process
   * then has `agent` (a client of the forwarded agent) and `agentSocketPath`
   * (also in its env as SSH_AUTH_SOCK) for child processes. authorized_keys
   * `no-agent-forwarding` still refuses. Default: refuse.
   */
  agentForwardingRequested?(conn: ServerConnectionContext): MaybePromise<boolean>;
  /**
   * A session asks for X11 forwarding (`ssh -X`/`-Y`, x11-req). Return true to
   * allow: the server then listens on a display (see `x11Forwarding` for the
   * settings), and the session's process gets `x11Display` (also `DISPLAY`) and
   * an Xauthority file with the client's cookie (`XAUTHORITY`). authorized_keys
   * `no-x11-forwarding` still refuses. Default: allow when `x11Forwarding` is set.
   *
   * @example Only for one user, and only with a single connection
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   x11Forwarding: true,
   *   x11ForwardingRequested: (conn, req) => conn.username === "alice" && req.singleConnection,
   * });
   * ```
   */
  x11ForwardingRequested?(
    conn: ServerConnectionContext,
    request: X11Request,
  ): MaybePromise<boolean>;
}

/** Options of `listen()`. */
export interface ListenOptions extends ServerHooks, LogOptions {
  /**
   * Stops the server when it aborts (as `close()`): before it is listening,
   * `listen()` rejects with the signal's reason.
   */
  readonly signal?: AbortSignal;
  /** Address to bind; default "127.0.0.1". Use "0.0.0.0" or "::" for all interfaces. */
  readonly host?: string;
  /** Port; 0 picks a free one (see `server.address`). Default 22. */
  readonly port?: number;
  /**
   * Listen queue length (pending connections the kernel holds); default the runtime's (511).
   * On Deno and Bun, this option, `ipv6Only` and `reusePort` make `listen()` accept through
   * the runtime's `node:net` instead of `Deno.listen` or `Bun.listen` (which have none of
   * them): Deno's `node:net` server stops accepting for good once an accept fails for want
   * of file descriptors, and Bun's writes cost more CPU.
   */
  readonly backlog?: number;
  /**
   * With `host: "::"`, accept IPv6 only (no IPv4-mapped addresses). The address
   * family otherwise follows `host` ("0.0.0.0" or "127.0.0.1" for IPv4, "::" or "::1" for IPv6).
   * Honoured on Node and Bun; Deno's `node:net` ignores it (the socket stays dual-stack).
   */
  readonly ipv6Only?: boolean;
  /**
   * Set SO_REUSEPORT so several servers can share the port (Linux, BSD; needs a
   * runtime whose `node:net` supports it, e.g. Node 23.1+). SO_REUSEADDR is always set.
   */
  readonly reusePort?: boolean;
  /** Host keys (at least one): key objects, key text, or private key file paths. */
  readonly hostKeys: readonly HostKeyInput[];
  /** Passphrase for encrypted host key files. */
  readonly passphrase?: string;
  /**
   * Keys allowed to log in, with their OpenSSH options enforced: an
   * `authorized_keys` file path, its text, a parsed list, a list of keys
   * (`SSHKey`, as lines without options) and entries, or a function of the
   * user name returning one of those (e.g. the user's own file; a string it
   * returns is always a path, since it is built from the name the client chose:
   * return `parseAuthorizedKeys(text)` for text; a user name that could leave the path's
   * directory — empty, `.`, `..`, or holding `/`, `\` or NUL — gets no keys from one). A list
   * holding anything else is a `TypeError` from `listen()`. A file is
   * read once per connection, opened without blocking, as sshd opens it: one
   * that is not a regular file (a FIFO, a link to /dev/zero) or is larger than
   * 4 MiB refuses every key; a missing one has none.
   */
  readonly authorizedClientKeys?: AuthorizedKeysSource;
  /**
   * CA keys trusted to sign user certificates for every user (sshd's
   * `TrustedUserCAKeys`): a file path, key text, or a list of key objects, key
   * texts and paths (every key of a file counts). A certificate one of them
   * signed logs in as a user it names among its principals — or, with
   * `authorizedPrincipals`, names one of the principals accepted for that user —
   * if valid now, from an address its `source-address` allows, and not revoked.
   * Its own limits apply as for a `cert-authority` line: `force-command`, the
   * `permit-*` extensions (no `permit-pty`, no pty), and for FIDO keys
   * `no-touch-required` and `verify-required`. Checked before
   * `authorizedClientKeys`' `cert-authority` lines and before the
   * `validateCertificate` hook, which decide the certificates it does not
   * accept. Files are read when `listen()` starts (a missing or malformed one
   * throws `KeyImportError`) and again for each connection. Setting this
   * offers "publickey".
   *
   * @example Trust the company CA; user certificates name their users
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * const ca = generatePrivateKey("ed25519"); // e.g. "/etc/ssh/user_ca.pub"
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   trustedUserCAKeys: [ca.publicKey()],
   * });
   * console.log(server.address.port > 0); // true
   * ```
   */
  readonly trustedUserCAKeys?: PublicKeysSource;
  /**
   * The certificate principals each user accepts from `trustedUserCAKeys`,
   * instead of the user name: a file path pattern (sshd's
   * `AuthorizedPrincipalsFile`; `%u` is the user name, `%%` a `%`) whose lines
   * are principals, each optionally after authorized_keys options (`from=`,
   * `command=`, `no-pty`, ...; the first line naming one of the certificate's
   * principals applies), or a function of the user and connection (sshd's
   * `AuthorizedPrincipalsCommand`) returning the principals, or null/undefined
   * for the default (the user name); a name it returns counts as a line
   * without options, so a FIDO certificate's `no-touch-required` alone does not
   * waive the touch (sshd merges both). The principals are asked for once per
   * connection, and only for a certificate one of `trustedUserCAKeys` signed. A
   * missing file, one that is not a regular file (a FIFO, a link to /dev/zero:
   * it is opened without blocking, as sshd opens it) or larger than 1 MiB, and
   * a user name that could leave the pattern's directory, accept nobody. `authorizedClientKeys`'
   * `cert-authority` lines keep their own `principals=`.
   *
   * @example Per-user principals from code, or from files
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * const teams: Record<string, string[]> = { deploy: ["ops", "release"] };
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   trustedUserCAKeys: [generatePrivateKey("ed25519").publicKey()],
   *   authorizedPrincipals: (user) => teams[user], // or "/etc/ssh/principals/%u"
   * });
   * console.log(server.address.port > 0); // true
   * ```
   */
  readonly authorizedPrincipals?: AuthorizedPrincipalsSource;
  /**
   * Revoked public keys (sshd's `RevokedKeys`): a file path, key text, or a list
   * of key objects, key texts and paths, as `trustedUserCAKeys`. A revoked key
   * is refused for publickey and hostbased authentication, checked first as
   * sshd does: whatever lists it — an authorized_keys line, a `cert-authority`
   * line, `trustedUserCAKeys`, `knownClientHosts` — and whatever the
   * `validatePublicKey`, `validateCertificate` and `validateHostBasedUser` hooks
   * would answer (they are not asked). A certificate is refused when its key
   * or the CA that signed it is revoked; an X.509 (`x509v3-*`) key when its
   * certificate's key or the key of a certificate of the chain it sent is. Files are read when `listen()` starts
   * (a missing or malformed one throws `KeyImportError`) and again for each
   * connection; when that fails, every key is refused. A file may be a list of
   * public keys or a binary OpenSSH key revocation list (KRL, `ssh-keygen -k`),
   * which also revokes certificates by serial number or key ID; KRL bytes or a
   * parsed `KeyRevocationList` (`parseKRL()`) do too.
   *
   * @example Refuse a lost laptop's key however it is trusted
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * const lost = generatePrivateKey("ed25519");
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   authorizedClientKeys: lost.exportPublicKey(),
   *   revokedKeys: [lost.publicKey()], // or "/etc/ssh/revoked_keys", a key list or a KRL
   * });
   * console.log(server.address.port > 0); // true
   * ```
   */
  readonly revokedKeys?: RevokedKeysSource;
  /**
   * Client host keys trusted for host-based authentication (AsyncSSH's
   * `known_client_hosts`, sshd's `ssh_known_hosts` with
   * `HostbasedAuthentication yes`): a known_hosts file path, several paths, or
   * `{ text }`. Plain keys, `@cert-authority` lines (host certificates) and
   * `@revoked` lines apply. The client host is looked up by the address it
   * connected from (no reverse DNS, as sshd with `UseDNS no`), or by the name
   * it claims with `trustClientHost`. A key it does not list is refused before
   * `validateHostBasedUser` is asked; without that hook the user must have the
   * same name on both hosts, other than "root" (AsyncSSH's default; sshd's
   * `hosts.equiv`, which lets no one in as root).
   * Setting this offers "hostbased".
   *
   * @example Trust the hosts of /etc/ssh/ssh_known_hosts
   * ```ts ignore
   * await listen({ hostKeys, knownClientHosts: "/etc/ssh/ssh_known_hosts",
   *   validateHostBasedUser: (user, client) => user === client.username && user !== "root" });
   * ```
   */
  readonly knownClientHosts?: KnownHostsSource;
  /**
   * Look the client host up in `knownClientHosts` by the host name it sends
   * (trailing dot removed) instead of its address (AsyncSSH's
   * `trust_client_host`, sshd's `HostbasedUsesNameFromPacketOnly`): lines for
   * its address then do not apply. Default false.
   */
  readonly trustClientHost?: boolean;
  /**
   * Trusted X.509 certificates for `x509v3-*` client keys (RFC 6187; AsyncSSH's
   * server `x509_trusted_certs`): objects, PEM text or DER. A client whose
   * certificate chains to one of these, allows one of `x509Purposes` and is for
   * the user (one of its subjectAltName e-mail addresses or UPNs or, without a
   * subjectAltName, its common name, as AsyncSSH reads it) is let in by
   * "publickey"; any other X.509 key is refused. Setting this also accepts the `x509v3-*`
   * signature algorithms (unless `signatureAlgs` is given) and offers publickey.
   *
   * @example
   * ```ts ignore
   * await listen({ hostKeys, x509TrustedCerts: [caPem], x509Purposes: "secureShellClient" });
   * ```
   */
  readonly x509TrustedCerts?: readonly X509CertificateInput[];
  /** Files (PEM/DER) or directories of trusted X.509 certificates (AsyncSSH's `x509_trusted_cert_paths`). */
  readonly x509TrustedCertPaths?: readonly string[];
  /**
   * Purposes a client certificate must allow (one of them; AsyncSSH's
   * `x509_purposes`): names such as "secureShellClient" or OIDs, or "any".
   * Default "secureShellClient".
   */
  readonly x509Purposes?: string | readonly string[];
  /** Hooks per connection (state per client); they take precedence over the ones given here. */
  readonly serverFactory?: (conn: ServerConnectionContext) => ServerHooks;
  /** Offer publickey (default: when `authorizedClientKeys`, `trustedUserCAKeys`, `x509TrustedCerts(Paths)` or `validatePublicKey`/`validateCertificate` is set). */
  readonly publicKeyAuth?: boolean;
  /**
   * What every FIDO (`sk-ssh-ed25519@openssh.com`, `sk-ecdsa-sha2-nistp256@openssh.com`)
   * key's signature must attest, as sshd's `PubkeyAuthOptions`. Without it each key's
   * options decide, as with sshd: a signature must show the user touched the key
   * unless the authorized_keys line says `no-touch-required` (and, for a certificate
   * through a `cert-authority` line, the certificate has that extension too), and must
   * show the user was verified when the line says `verify-required` or the certificate
   * has that critical option.
   *
   * @example Every security key must ask for its PIN
   * ```ts
   * import { generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   authorizedClientKeys: "", // the users' sk-* keys
   *   publicKeyAuthOptions: { verifyRequired: true },
   * });
   * console.log(server.address.port > 0); // true
   * ```
   */
  readonly publicKeyAuthOptions?: PublicKeyAuthOptions;
  /** Offer password (default: when `validatePassword` is set). */
  readonly passwordAuth?: boolean;
  /** Offer keyboard-interactive (default: when a kbdint hook or `validatePassword` is set). */
  readonly kbdintAuth?: boolean;
  /** Offer hostbased (default: when `validateHostBasedUser` or `knownClientHosts` is set). */
  readonly hostBasedAuth?: boolean;
  /**
   * Several methods, one after another (sshd's `AuthenticationMethods`): each list is a chain
   * of methods a user completes in order, and a user is in once every method of one list
   * succeeded — a success before that is a partial success (RFC 4252 §5.1) that offers the
   * methods next in the lists still open. Only the first methods of the lists are offered at
   * the start. A key's authorized_keys options (and its certificate's) hold for the session
   * whatever came after it. Methods: "publickey", "password", "keyboard-interactive",
   * "hostbased"; each must be offered (its hook set), and appear once per list.
   *
   * @example Public key, then a one-time code; or password, then the code
   * ```ts
   * import type { ListenOptions } from "@sshts/ssh";
   * const twoSteps: ListenOptions["authenticationMethods"] = [
   *   ["publickey", "keyboard-interactive"],
   *   ["password", "keyboard-interactive"],
   * ];
   * console.log(twoSteps.length); // 2
   * ```
   */
  readonly authenticationMethods?: readonly (readonly string[])[];
  /**
   * Runs each exec/shell/subsystem session. Its return exits 0; a thrown error exits 1 with
   * the error's message on the client's stderr (and the error in the server's log as a
   * warning): throw only what the client may read, and report the rest yourself.
   */
  readonly processFactory?: ProcessFactory;
  /** Runs the "sftp" subsystem (the SFTP server plugs in here). */
  readonly sftpFactory?: ProcessFactory;
  /**
   * Serve the "sftp" subsystem: `{ root }` (a local directory, jailed; `readOnly`
   * refuses changes), `{ backend }` (any SFTPBackend), or a function of the
   * connection returning either (per-user roots). `sftpFactory` takes precedence.
   */
  readonly sftp?: SFTPServerOption;
  /**
   * Answer `scp -t` / `scp -f` exec requests without a shell: `{ root }` (a
   * local directory, jailed as for `sftp`; `readOnly` refuses uploads),
   * `{ backend }`, or a function of the connection returning either. Other
   * commands still go to `processFactory`. (`scp` in SFTP mode needs `sftp`.)
   */
  readonly scp?: SCPServerOption;
  /**
   * Session channels (shells, commands, subsystems, SFTP) one connection may have open at
   * once, as sshd's MaxSessions: one more is refused at its open (ADMINISTRATIVELY_PROHIBITED,
   * "Too many sessions"). Each session holds a receive window and its requests' state until
   * it closes, so this bounds what one client can make the server hold. Default 10; 0
   * refuses every session (forwarding still works).
   *
   * @example
   * ```ts ignore
   * await listen({ ...options, maxSessions: 32 }); // a client that multiplexes more
   * ```
   */
  readonly maxSessions?: number;
  /**
   * SFTP and scp sessions (from `sftp` and `scp`) one connection may run at once (sshd's
   * MaxSessions); one more is refused with an error on its channel. Default 10.
   *
   * @example
   * ```ts ignore
   * await listen({ ...options, sftp: { root: "/srv" }, maxFileSessions: 4 });
   * ```
   */
  readonly maxFileSessions?: number;
  /**
   * Files (SFTP handles) one connection's SFTP sessions may hold open together; an open
   * beyond it gets SSH_FX_FAILURE "Too many open files on this connection". All connections
   * share the process's file descriptors: keep this times the connections you expect under
   * `ulimit -n`. Default 256.
   *
   * @example
   * ```ts ignore
   * await listen({ ...options, sftp: { root: "/srv" }, maxOpenFilesPerConnection: 64 });
   * ```
   */
  readonly maxOpenFilesPerConnection?: number;
  /** Edit input lines on pty sessions (echo, cursor keys, history), as AsyncSSH. Default true. */
  readonly lineEditor?: boolean;
  /** Lines kept for history recall per session (default 1000). */
  readonly lineHistorySize?: number;
  /** Longest input line the editor accepts (default 1024). */
  readonly maxLineLength?: number;
  /**
   * Allow X11 forwarding (sshd's `X11Forwarding`): true, or the display settings
   * (`displayOffset` default 10, `useLocalhost` default true, `authPath`,
   * `xauthProgram`). Each allowed session gets its own display on TCP port
   * 6000 + n; each X connection to it becomes an `x11` channel to the client.
   * With `x11ForwardingRequested` set, the hook decides and this gives the
   * settings. Default false.
   *
   * @example `ssh -X` sessions can run X programs
   * ```ts ignore
   * import { spawn } from "node:child_process";
   * await listen({ ..., x11Forwarding: true, processFactory: (p) => new Promise((done) => {
   *   const child = spawn("sh", ["-c", p.command ?? "xterm"], { env: { ...process.env, ...p.env } });
   *   child.stdout.on("data", (b) => p.write(b));
   *   child.on("close", () => done());
   * }) });
   * ```
   */
  readonly x11Forwarding?: boolean | X11ServerOptions;
  /** Grant pty requests (default true; authorized_keys `no-pty` still refuses). */
  readonly allowPty?: boolean;
  /**
   * Environment variable names (patterns with `*`, `?` and `!` to exclude) a client's `env`
   * requests (`ssh -o SetEnv=…`, `SendEnv`) may set in its sessions, as sshd's AcceptEnv.
   * Default none, as sshd: a variable such as `LD_PRELOAD`, `BASH_ENV` or `PATH` changes
   * what a program (a forced command too) does. Debian's sshd_config accepts
   * `["LANG", "LC_*"]`. Whatever this says, names that are empty or hold `=`, values with
   * NUL, the variables the server sets (`SERVER_SET_ENV`: `SSH_ORIGINAL_COMMAND`,
   * `SSH_AUTH_SOCK`, `DISPLAY`, `SSH_CONNECTION`, `PATH`, …) and those of the key's
   * authorized_keys `environment=` options are refused.
   *
   * @example The client's locale reaches the session
   * ```ts ignore
   * await listen({ ..., acceptEnv: ["LANG", "LC_*"], processFactory: (p) => {
   *   p.write(`${p.env.LANG ?? "no LANG"}\n`); // ssh -o SetEnv=LANG=C.UTF-8 host: "C.UTF-8"
   * } });
   * ```
   */
  readonly acceptEnv?: readonly string[];
  /**
   * Apply authorized_keys `environment="NAME=value"` options to sessions, as sshd's
   * PermitUserEnvironment: `true` for every name, or name patterns (`*`, `?`, `!`).
   * Default false, as sshd: whoever can edit a user's authorized_keys could otherwise set
   * `LD_PRELOAD` or `PATH` for the programs the server runs, a forced command's too. The
   * variables the server sets itself (`SERVER_SET_ENV`) are never taken from it. The
   * options stay visible in `conn.permissions.environment` either way.
   *
   * @example
   * ```ts ignore
   * await listen({ ..., permitUserEnvironment: ["LANG", "TZ"] });
   * ```
   */
  readonly permitUserEnvironment?: boolean | readonly string[];
  /**
   * Let remote forwards listen on the address the client asks for. Default false:
   * as OpenSSH's `GatewayPorts no`, listeners bind loopback only (127.0.0.1 and ::1,
   * or just the one of them the client named). With it, "" and "*" bind every address
   * of both families and "localhost" both loopback addresses, as sshd's
   * `GatewayPorts clientspecified`.
   */
  readonly gatewayPorts?: boolean;
  /**
   * Let remote forwards listen on ports below 1024. Default false: as sshd refuses them to
   * users other than root — a server running as root to bind port 22 would otherwise bind
   * any privileged port a client asks for. Applies when `serverRequested` answers true (the
   * server would bind the port), not to a {@link VirtualRemoteForward}.
   */
  readonly allowPrivilegedPorts?: boolean;
  /**
   * Remote forwards (`ssh -R` listeners: tcpip-forward and streamlocal-forward) one connection
   * may hold at once, counting those its hooks are still deciding; one more is refused without
   * asking the hook, and logged. Each is a listening socket of this process. Default 64.
   *
   * @example
   * ```ts ignore
   * await listen({ ...options, serverRequested: () => true, maxRemoteForwards: 8 });
   * ```
   */
  readonly maxRemoteForwards?: number;
  /** Announce all host keys after login (hostkeys-00@openssh.com) so clients can learn new ones. Default true. */
  readonly sendHostKeys?: boolean;
  /** Banner shown before authentication. */
  readonly banner?: string;
  /** Login grace time in ms (default 120 s; 0 = none). */
  readonly loginTimeout?: number;
  /** Failed authentication attempts per connection (default 6). */
  readonly maxAuthTries?: number;
  /** Delay added per failed attempt (ms, default 250). */
  readonly authFailureDelay?: number;
  /**
   * Unauthenticated connections allowed at once, as OpenSSH's MaxStartups: a number is a hard
   * limit; `{ start, rate, full }` drops new connections with probability `rate`% once `start`
   * are pending, rising linearly to 100% at `full`. Default `{ start: 10, rate: 30, full: 100 }`.
   */
  readonly maxStartups?: number | {
    readonly start: number;
    readonly rate: number;
    readonly full: number;
  };
  /** Most connections at once (default unlimited). */
  readonly maxConnections?: number;
  /** Most channels per connection (default 1024). */
  readonly maxChannels?: number;
  /** Keepalive interval (ms, 0 = off). */
  readonly keepaliveInterval?: number;
  /**
   * Unanswered keepalives before the client is declared dead (default 3). 0 keeps probing
   * and never drops the client, as sshd's ClientAliveCountMax 0.
   */
  readonly keepaliveCountMax?: number;
  /** Kex methods (default: OpenSSH 10's server list, no finite-field DH). */
  readonly kexAlgs?: readonly string[];
  /** Ciphers in preference order. */
  readonly encryptionAlgs?: readonly string[];
  /** MACs in preference order. */
  readonly macAlgs?: readonly string[];
  /**
   * Compression methods in preference order (default `none` and `zlib@openssh.com`, as
   * sshd: the client's first choice the server has wins). zlib here is JavaScript (pako),
   * some 2-3 times slower than sshd's C zlib: a client that asks for it (AsyncSSH does by
   * default, `ssh -C` does) makes a bulk transfer cost about one CPU second per 20 MB on
   * each side. `["none"]` refuses it where the link is fast and the CPU is not.
   */
  readonly compressionAlgs?: readonly string[];
  /** Host key algorithms to offer (default: every safe one the host keys serve; ssh-rsa only if listed). */
  readonly serverHostKeyAlgs?: readonly string[];
  /** Signature algorithms accepted from users and client hosts (publickey, hostbased) and announced in server-sig-algs. */
  readonly signatureAlgs?: readonly string[];
  /** Groups for diffie-hellman-group-exchange (default: RFC 3526 groups). */
  readonly moduli?: readonly Modulus[];
  /** Rekey after this many bytes. */
  readonly rekeyBytes?: number;
  /** Rekey after this many ms. */
  readonly rekeyInterval?: number;
  /** Randomness (tests only). */
  readonly random?: RandomSource;
  /** Per-channel window we grant (bytes). */
  readonly windowSize?: number;
  /**
   * Largest data packet we accept per channel (default 32 KiB; at most 261,875 bytes, what fits in a 256 KiB packet: a larger request is lowered to it; a size that is not a positive integer is refused).
   */
  readonly maxPacketSize?: number;
  /**
   * Software version in our identification line (default `sshts_<version>`). Clients
   * tune themselves by it: OpenSSH's `ssh` sends `eow@openssh.com` (which stops a
   * command's output once `ssh host cmd | head` has read enough) only to a server whose
   * version starts "OpenSSH", and AsyncSSH and the `ssh2` package pick the order of an
   * SFTP symlink's paths by it (see `symlinkOrder()`).
   */
  readonly serverVersion?: string;
}
