/**
 * The options and result shapes of the client: {@link ConnectOptions} for
 * `connect()`, what `getExtraInfo()` reports, and the options of running
 * processes, opening channels and forwarding.
 *
 * @module
 */

import type {
  ClientConnection,
  ClientConnectionOptions,
  HostKeysProvedEvent,
} from "../../core/client/client_connection.ts";
import type { KexInitLists, NegotiatedAlgorithms } from "../../core/transport/kexinit.ts";
import type { RandomSource } from "../../core/random.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { X509CertificateInput } from "../keys/x509_verifier.ts";
import type { LogOptions } from "../engine/logger.ts";
import type { ForwardedConnectionInfo, SSHStreamConnection } from "../forward/stream.ts";
import type { PrivateKeyInput } from "../keys/files.ts";
import type { KnownHostKeys } from "../keys/known_hosts.ts";
import type { RevokedKeysSource } from "../keys/revoked_keys.ts";
import type { KnownHosts } from "../../keys/trust/known_hosts.ts";
import type { ClientKeyPair, HostKeyInfo } from "../keys/types.ts";
import type { ByteSocket, NodeDuplexLike, WebDuplex } from "../runtime/socket.ts";

export type { NodeDuplexLike } from "../runtime/socket.ts";
import type { ProcessOptions } from "./session.ts";
import type { X11ClientOptions } from "./x11_forward.ts";
import type { AgentOption } from "../agent/connect_agent.ts";
import type { HostBasedCredentials, StagedAuth } from "./staged_auth.ts";

/**
 * A connection other connections can be tunnelled through (`ConnectOptions.tunnel`):
 * an `SSHClientConnection` is one.
 */
export interface TunnelConnection {
  /** Opens a channel (a direct-tcpip one, for a tunnel) and resolves once the server confirms it. */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options?: OpenChannelOptions,
  ): Promise<ChannelIO>;
}

/** Options of {@link connect}. */
export interface ConnectOptions extends LogOptions {
  /** TCP port; default 22. */
  readonly port?: number;
  /** User to log in as; default the local user name. */
  readonly username?: string;
  /**
   * Password, or a function asked on each attempt (return null to stop). It also answers
   * keyboard-interactive "Password:" prompts when there is no `kbdintResponses`; each such
   * round is an attempt of its own, numbered on from 1.
   */
  readonly password?: string | ((attempt: number) => string | null | Promise<string | null>);
  /**
   * Answers a server's password change request; default: refuse. Not called (the change
   * is refused) on a connection marked untrusted by `markHostKeyUntrusted`.
   */
  readonly passwordChange?: (
    prompt: string,
  ) =>
    | { oldPassword: string; newPassword: string }
    | null
    | Promise<{ oldPassword: string; newPassword: string } | null>;
  /**
   * Called when the server accepted the new password given by `passwordChange`
   * (AsyncSSH's `password_changed`). Authentication goes on (or is done).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: (_user, pw) => pw === "old" && { changePassword: "Expired:" },
   *   changePassword: (_user, _old, pw) => pw.length >= 12 || { changePassword: "Too short:" },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "old",
   *   knownHosts: null, // a server in this process
   *   passwordChange: () => ({ oldPassword: "old", newPassword: "correct horse battery" }),
   *   onPasswordChanged: () => console.log("saved"), // a real client stores the new one
   * });
   * ```
   */
  readonly onPasswordChanged?: () => void;
  /**
   * Called when the server did not accept the new password given by
   * `passwordChange` (AsyncSSH's `password_change_failed`): `reason` "refused"
   * (the request failed; other methods may follow) or "retry" (the server asks
   * again with `prompt`, and `passwordChange` is called again).
   *
   * @example
   * ```ts
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: (_user, pw) => pw === "old" && { changePassword: "Expired:" },
   *   changePassword: (_user, _old, pw) => pw.length >= 12 || { changePassword: "Too short:" },
   * });
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "old",
   *   knownHosts: null, // a server in this process
   *   passwordChange: (prompt) => ({
   *     oldPassword: "old",
   *     newPassword: prompt === "Expired:" ? "short" : "long enough now",
   *   }),
   *   onPasswordChangeFailed: (r) => console.log(r.reason, r.prompt), // retry Too short:
   * });
   * ```
   */
  readonly onPasswordChangeFailed?: (
    result: { readonly reason: "refused" | "retry"; readonly prompt: string },
  ) => void;
  /**
   * Answers keyboard-interactive prompts; default: answer password prompts with `password`.
   * The name, instruction and prompts are the server's text as sent (see `onBanner`).
   * Return one answer per prompt, or null to skip keyboard-interactive (the next method is
   * tried). Any other number of answers is a bug the server cannot recover from: `connect()`
   * rejects with a `LocalProtocolError` (ERR_LOCAL_PROTOCOL) naming the prompts.
   *
   * @example
   * ```ts ignore
   * await connect("example.com", {
   *   kbdintResponses: (_name, _instruction, prompts) =>
   *     prompts.map((p) => /code/i.test(p.prompt) ? readOtp() : ""),
   * });
   * ```
   */
  readonly kbdintResponses?: (
    name: string,
    instruction: string,
    prompts: readonly { prompt: string; echo: boolean }[],
  ) => readonly string[] | null | Promise<readonly string[] | null>;
  /**
   * Keys to authenticate with, in order: key objects, key text or file paths (`~` expands).
   * Default: `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa` where they exist and need no passphrase.
   */
  readonly clientKeys?: readonly (ClientKeyPair | PrivateKeyInput)[];
  /**
   * Authenticate step by step yourself (libssh2's `userauth_*`): called once the
   * server answered "none", with an {@link StagedAuth} whose methods each try
   * one method and resolve with the server's answer (partial success
   * included). `clientKeys`, `password`, `hostBased` and the agent are then not
   * tried on their own. If it returns without success, `connect()` rejects
   * with ERR_PERMISSION_DENIED.
   */
  readonly authenticate?: (auth: StagedAuth) => void | Promise<void>;
  /**
   * Host-based authentication (RFC 4252 §9): the client host's key signs, and
   * the server checks it against its known hosts and `shosts.equiv`. Tried
   * first, as OpenSSH orders methods.
   */
  readonly hostBased?: {
    /** The client host's private key: a key object, key text or a file path. */
    readonly hostKey: ClientKeyPair | PrivateKeyInput;
    /** The client host's name as the server knows it. */
    readonly localHostname: string;
    /** The local user (default: `username`). */
    readonly localUsername?: string;
  };
  /** Authentication methods in preference order (default hostbased, publickey, keyboard-interactive, password). */
  readonly preferredAuth?: readonly string[];
  /** Passphrase for encrypted `clientKeys`. */
  readonly passphrase?: string;
  /**
   * The agent whose keys are tried (after the named `clientKeys`) and that
   * `agentForwarding` forwards: a UNIX socket path, an agent in this process
   * (`SSHAgent`), or false for none. Default: `SSH_AUTH_SOCK` when set (as
   * OpenSSH). With only a `password` given, used only when named here.
   */
  readonly agent?: AgentOption;
  /**
   * How many ms the agent may take to answer each request (listing its keys,
   * signing), for authentication and for each forwarded agent connection's
   * session binding; a request it has not answered by then fails and that
   * agent connection is closed (authentication goes on with the other keys).
   * Default 30 000 (`DEFAULT_AGENT_TIMEOUT_MS`); 0 (or anything above 2^31 − 1,
   * about 24.8 days) waits without limit; negative or NaN is a `RangeError`. Raise
   * it for keys added with `confirm` (`ssh-add -c`): the agent answers only
   * once a human has confirmed.
   */
  readonly agentTimeout?: number;
  /**
   * Try only the keys named in `clientKeys` (agent keys only when they match
   * one), as OpenSSH's IdentitiesOnly. Default false: every agent key is tried
   * after the named ones.
   */
  readonly identitiesOnly?: boolean;
  /**
   * Skip `clientKeys` that are encrypted when `passphrase` is missing or wrong,
   * instead of failing (AsyncSSH's ignore_encrypted). Default discovery under
   * `~/.ssh` always skips them.
   */
  readonly ignoreEncrypted?: boolean;
  /**
   * Forward the agent to every session (`auth-agent-req@openssh.com`, as
   * `ssh -A`) and serve the server's `auth-agent@openssh.com` channels from it,
   * bound to this session. Set `onAgentChannel` to handle them yourself instead.
   */
  readonly agentForwarding?: boolean;
  /** Decides whether to trust the server's host key (instead of known_hosts). Throw or return false to refuse. */
  readonly hostKeyVerifier?: (info: HostKeyInfo) => boolean | Promise<boolean>;
  /**
   * known_hosts to check the host key against: file paths, `{ text }`, a parsed
   * `KnownHosts` (`readKnownHosts`, `parseKnownHosts`), key lists trusted for
   * any host (`{ trustedHostKeys, trustedCAKeys, revokedKeys }`), or null to
   * trust any key (tests only). Default `~/.ssh/known_hosts` and `/etc/ssh/ssh_known_hosts`.
   */
  readonly knownHosts?:
    | null
    | string
    | readonly string[]
    | { readonly text: string }
    | KnownHosts
    | KnownHostKeys;
  /**
   * What to do with a host key known_hosts does not list (OpenSSH's
   * StrictHostKeyChecking): "yes" (the default) refuses it; "accept-new"
   * (trust on first use, paramiko's `AutoAddPolicy`) appends an unknown host's
   * key to the first known_hosts file and connects, but still refuses a changed
   * key; "no" also accepts a changed key, marking the connection untrusted
   * (`hostKeyUntrusted`: no password or keyboard-interactive answers, no agent or
   * X11 forwarding). A revoked key is refused in every mode; a known_hosts file
   * that cannot be written only warns, as ssh.
   *
   * The files are `knownHosts` (a path or a list: the first is written) or
   * `~/.ssh/known_hosts`; with an ssh_config applied (`config`), its
   * UserKnownHostsFile, HostKeyAlias and CheckHostIP, and this wins over its
   * StrictHostKeyChecking (ProxyJump hosts keep the file's). "accept-new" and "no"
   * with a `knownHosts` that is no file (`{ text }`, a parsed `KnownHosts`, key
   * lists) are a TypeError: a key accepted but never recorded would be accepted
   * again on every connection, whatever it is. So is any value with
   * `hostKeyVerifier` or `knownHosts: null`.
   *
   * @example Trust on first use
   * ```ts
   * import { mkdtemp, readFile } from "node:fs/promises";
   * import { tmpdir } from "node:os";
   * import { join } from "node:path";
   * import { connect, generatePrivateKey, listen } from "@sshts/ssh";
   * await using server = await listen({
   *   host: "127.0.0.1",
   *   port: 0,
   *   hostKeys: [generatePrivateKey("ed25519")],
   *   validatePassword: () => true,
   * });
   * const knownHosts = join(await mkdtemp(join(tmpdir(), "kh-")), "known_hosts");
   * await using conn = await connect("127.0.0.1", {
   *   port: server.address.port,
   *   username: "me",
   *   password: "secret",
   *   knownHosts, // default ~/.ssh/known_hosts
   *   strictHostKeyChecking: "accept-new",
   * });
   * console.log(await readFile(knownHosts, "utf8")); // "[127.0.0.1]:… ssh-ed25519 AAAA…"
   * ```
   */
  readonly strictHostKeyChecking?: "yes" | "accept-new" | "no";
  /**
   * Hash the host name of the lines `strictHostKeyChecking` "accept-new" or "no"
   * adds to known_hosts (OpenSSH's HashKnownHosts, as `ssh-keygen -H` writes them).
   * Default false, or an ssh_config's HashKnownHosts, which this wins over. Not
   * with `hostKeyVerifier` (a TypeError).
   *
   * @example
   * ```ts ignore
   * import { connect } from "@sshts/ssh";
   * await connect("server.example", { strictHostKeyChecking: "accept-new", hashKnownHosts: true });
   * ```
   */
  readonly hashKnownHosts?: boolean;
  /**
   * Host keys to refuse (OpenSSH's RevokedHostKeys), checked before `knownHosts`
   * or `hostKeyVerifier` can accept the key, even with `knownHosts: null`: a
   * file path holding public keys, one a line, or a binary KRL (`ssh-keygen
   * -k`, told apart by its magic); key text; KRL bytes; a parsed
   * `KeyRevocationList`; or a list of these, key objects and blobs. A host
   * certificate is refused when its key or CA is revoked, or a KRL revokes its
   * serial or key ID; an X.509 host key when its certificate's key or an issuer's
   * (of the chain the server sent) is. A revoked key fails `connect()` with an `SSHError`
   * (ERR_HOST_KEY_NOT_VERIFIABLE); a file that cannot be read or parsed with a
   * `KeyImportError` before connecting. Read once per `connect()`.
   *
   * @example Refuse a retired server key and a KRL's keys
   * ```ts ignore
   * import { connect } from "@sshts/ssh";
   * await connect("server.example", {
   *   username: "me",
   *   revokedHostKeys: "/etc/ssh/revoked_host_keys.krl", // or key lines, or [key, ...]
   * });
   * ```
   */
  readonly revokedHostKeys?: RevokedKeysSource;
  /**
   * Trusted X.509 certificates for `x509v3-*` host keys (RFC 6187; AsyncSSH's
   * `x509_trusted_certs`): certificate objects, PEM text or DER. With this (or
   * `x509TrustedCertPaths`) set, the X.509 host key algorithms are offered
   * first (unless `serverHostKeyAlgs` is given) and an X.509 host key must
   * chain to one of these, allow one of `x509Purposes` and name the host;
   * plain keys and OpenSSH certificates are still checked by `hostKeyVerifier`
   * or `knownHosts`.
   *
   * @example
   * ```ts ignore
   * await connect("h.example", { x509TrustedCerts: [await Deno.readTextFile("ca.pem")] });
   * ```
   */
  readonly x509TrustedCerts?: readonly X509CertificateInput[];
  /**
   * Files (PEM or DER) or directories of trusted X.509 certificates (AsyncSSH's
   * `x509_trusted_cert_paths`); every file of a directory is tried.
   */
  readonly x509TrustedCertPaths?: readonly string[];
  /**
   * Purposes an X.509 host certificate must allow (one of them; AsyncSSH's
   * `x509_purposes`): names such as "secureShellServer" or OIDs, or "any".
   * Default "secureShellServer".
   */
  readonly x509Purposes?: string | readonly string[];
  /**
   * Look the host key up in known_hosts under this name instead of the host's
   * (OpenSSH's HostKeyAlias; the name is matched as written, without a port,
   * and the IP address is not checked).
   */
  readonly hostKeyAlias?: string;
  /**
   * Also look the server's IP address up in known_hosts (OpenSSH's CheckHostIP,
   * default true): a different key of the same type under the address is reported
   * as a changed host key, and a key revoked under the address is refused. As ssh,
   * a key listed under the address alone does not make the name trusted.
   */
  readonly checkHostIP?: boolean;
  /**
   * Signature algorithms to use for our keys, e.g. `["rsa-sha2-512"]` to offer
   * RSA keys with SHA-512 only (OpenSSH's PubkeyAcceptedAlgorithms on the client).
   * Default: every algorithm the server accepts, rsa-sha2-512 first.
   */
  readonly clientSignatureAlgs?: readonly string[];
  /** Kex methods in preference order. */
  readonly kexAlgs?: readonly string[];
  /** Ciphers in preference order. */
  readonly encryptionAlgs?: readonly string[];
  /** MACs in preference order. */
  readonly macAlgs?: readonly string[];
  /** Compression methods in preference order. */
  readonly compressionAlgs?: readonly string[];
  /** Host key algorithms in preference order. */
  readonly serverHostKeyAlgs?: readonly string[];
  /** Aborts the connect (and closes the connection once made). */
  readonly signal?: AbortSignal;
  /**
   * Gives up connecting after this many ms (TCP connect, handshake and authentication
   * together), rejecting with a `ConnectTimeoutError` that names the phase. Default
   * 30 000 (`DEFAULT_CONNECT_TIMEOUT_MS`); 0, `Infinity` or more than 2^31 − 1 wait
   * without limit; a negative or NaN value is a `RangeError`.
   */
  readonly connectTimeout?: number;
  /**
   * An already-open byte stream to run SSH over instead of TCP: a {@link WebDuplex}, or a
   * Node `stream.Duplex` (a connected `net.Socket`, an `ssh2` channel to a jump host),
   * taken through `Duplex.toWeb()`. Once the connection has started on it, it is the
   * connection's: closed with it, or when the handshake or authentication fails. An error
   * before that (a bad option, a key file that cannot be read) leaves it untouched, for the
   * caller to close or use again.
   */
  readonly sock?: WebDuplex | ByteSocket | NodeDuplexLike;
  /**
   * Reach the server through a command's standard input and output instead of TCP, as
   * ssh's `ProxyCommand` (which an ssh_config `ProxyCommand` also sets): a string runs with
   * the user's shell after `%h`, `%p`, `%r`, `%n` and `%%` are replaced (host, port, user,
   * the host as given, a percent sign); an argument list runs as it is, without a shell.
   * Its standard error stays the process's. Not with `sock` or `tunnel`.
   *
   * @example
   * ```ts ignore
   * await connect("db.internal", { proxyCommand: "ssh -W %h:%p bastion" });
   * await connect("db.internal", { proxyCommand: ["nc", "-X", "5", "-x", "proxy:1080", "db.internal", "22"] });
   * ```
   */
  readonly proxyCommand?: string | readonly string[];
  /** Rekey after this many bytes. */
  readonly rekeyBytes?: number;
  /** Rekey after this many ms. */
  readonly rekeyInterval?: number;
  /** Offer strict kex (default true). */
  readonly strictKex?: boolean;
  /** Refuse servers without strict kex. */
  readonly requireStrictKex?: boolean;
  /** Keepalive interval in ms (0 = off). */
  readonly keepaliveInterval?: number;
  /** Unanswered keepalives before the connection is declared dead (default 3). */
  readonly keepaliveCountMax?: number;
  /**
   * Called with the server's authentication banner, as the server sent it: pass it through
   * `escapeControls()` before showing it in a terminal (a hostile server's escape sequences
   * could otherwise move the cursor or hide text). A byte that is not UTF-8 (a Latin-1
   * Banner file) comes as a lone U+DC80–U+DCFF, which `escapeControls()` shows as `\xNN`.
   */
  readonly onBanner?: (message: string) => void;
  /**
   * Called for each DEBUG message the server sends (OpenSSH sends them, e.g.,
   * for authorized_keys options in effect); `alwaysDisplay` asks that the user see it.
   */
  readonly onDebug?: (message: string, alwaysDisplay: boolean) => void;
  /** Randomness (tests only). */
  readonly random?: RandomSource;
  /**
   * Software version in our identification line (after `SSH-2.0-`; printable
   * ASCII, no space or '-'). Default: this library's.
   */
  readonly clientVersion?: string;
  /**
   * Keyboard-interactive submethods to ask for (RFC 4256 section 3.1), e.g.
   * `["pam"]` or `"skey,pam"`; the server passes them to its challenge logic. Default none.
   */
  readonly kbdintSubmethods?: string | readonly string[];
  /**
   * Refuse a server that lets us in before any credential was sent ("none", or
   * keyboard-interactive without an answered prompt, or a success that arrives
   * while a key is still signing or the password still being asked for):
   * `connect()` rejects with ERR_PERMISSION_DENIED. Guards credentials-free
   * logins to a spoofed server when the host key is not checked. Default false.
   */
  readonly disableTrivialAuth?: boolean;
  /** Local address to bind before connecting (TCP only; not with `sock`/`tunnel`). */
  readonly localAddress?: string;
  /** Local port to bind before connecting (TCP only). */
  readonly localPort?: number;
  /** Resolve the host name to IPv4 (4) or IPv6 (6) only. */
  readonly family?: 4 | 6;
  /** Per-channel window (bytes). */
  readonly windowSize?: number;
  /**
   * Largest data packet we accept per channel (default 32 KiB; at most 261,875 bytes, what fits in a 256 KiB packet: a larger request is lowered to it; a size that is not a positive integer is refused).
   */
  readonly maxPacketSize?: number;
  /**
   * Run this connection through another one (a jump host): the new connection
   * travels in a direct-tcpip channel of `tunnel` to `host`:`port`, as
   * `ssh -J`. Tunnelled connections can be tunnels themselves.
   */
  readonly tunnel?: TunnelConnection;
  /**
   * Ask the server to prove the other host keys it announces (OpenSSH's
   * UpdateHostKeys) and pass the proven ones to `onHostKeysProved`. Default: on when
   * `onHostKeysProved` is given, else off (the exchange delays the first session by
   * ~40 ms against sshd, whose reply meets Nagle's algorithm).
   */
  readonly hostKeyRotation?: boolean;
  /** Called with the host keys the server proved it holds besides the one it used. */
  readonly onHostKeysProved?: (event: HostKeysProvedEvent) => void;
  /**
   * OpenSSH client configuration to apply (`config/`): by default `~/.ssh/config`
   * and `/etc/ssh/ssh_config`, as `ssh` reads them; a path or paths read those
   * instead (as `ssh -F`); false applies none. Options given here win over it. With
   * `sock` the configuration is applied only when this is given.
   */
  readonly config?: string | readonly string[] | false;
  /**
   * Settings as `ssh -o` gives them ("Keyword value" or "Keyword=value"), for this
   * destination only: they come before the configuration files (the first value of a
   * keyword wins), and its jump hosts do not get them, as ssh's own `-o` and `-J` reach
   * only the host named on the command line. `["ProxyJump bastion"]` is `ssh -J bastion`.
   * Not with `config: false`.
   */
  readonly configOptions?: readonly string[];
  /** Environment variables sent with every session (each call's `env` wins); SendEnv/SetEnv fill it. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Names of this process's environment variables to send with every session, `*` and `?`
   * wildcards allowed (AsyncSSH's `send_env`; ssh_config's `SendEnv`, which it replaces
   * when given). A name also in `env` is sent with `env`'s value. The server must accept
   * them (OpenSSH's AcceptEnv).
   *
   * @example
   * ```ts ignore
   * await connect("build-host", { sendEnv: ["LANG", "LC_*"] });
   * ```
   */
  readonly sendEnv?: readonly string[];
  /**
   * Session defaults for every `createProcess`, `createSession` and `run` on this
   * connection (AsyncSSH's connection-level term_type/term_size/term_modes and
   * x11_*): a terminal (`term`) and X11 forwarding. A call's own options win.
   */
  readonly sessionDefaults?: Pick<ProcessOptions, "term" | "x11Forwarding">;
  /**
   * The local display that `x11Forwarding: true` forwards to, and how: `display`
   * (default `DISPLAY`), `xauthority`, and `trusted` (default true, as `ssh -Y`; false, as
   * `ssh -X` with `ForwardX11Trusted no`, has `xauth` generate a restricted cookie that
   * expires after `timeout`). ssh_config's ForwardX11Trusted, ForwardX11Timeout and
   * XAuthLocation fill it. See `setUpX11Forwarding`.
   */
  readonly x11Display?: X11ClientOptions;
}

/** Connect options after keys and the host key check were resolved. */
export type ResolvedConnectOptions = Omit<ConnectOptions, "clientKeys"> & {
  readonly clientKeys: readonly ClientKeyPair[];
  /** `hostBased` with its key loaded. */
  readonly hostBasedResolved?: HostBasedCredentials;
  /**
   * Builds the engine instead of a normal client engine (an OpenSSH master's
   * proxy mode runs the connection protocol without transport or authentication).
   */
  readonly engine?: (options: ClientConnectionOptions) => ClientConnection;
  /** The OpenSSH master's socket the connection runs over (with `engine`). */
  readonly controlPath?: string;
  /**
   * Where the server's agent channels go once a session asks for agent forwarding itself
   * (`agentForwarding: true` on one call, not the connection): the connection's agent.
   */
  readonly agentForwarderOnDemand?: (engine: ClientConnection) => (c: SSHStreamConnection) => void;
};

/** Negotiated parameters and peer facts (AsyncSSH's get_extra_info). */
export interface ClientExtraInfo {
  /**
   * The host name (or address) connected to: as given to connect(), or, for an ssh_config
   * alias, the `HostName` it names.
   */
  readonly host: string;
  /** The TCP port connected to. */
  readonly port: number;
  /** The user authenticated as. */
  readonly username: string;
  /** The server's identification line, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2". */
  readonly serverVersion: string | undefined;
  /** Our identification line. */
  readonly clientVersion: string;
  /** What the last key exchange agreed on (null before the first one finished). */
  readonly algorithms: NegotiatedAlgorithms | null;
  /** What the server offered in its last KEXINIT. */
  readonly serverAlgorithms: KexInitLists | null;
  /** Whether strict kex (the Terrapin countermeasure) is in force. */
  readonly strictKex: boolean;
  /** Key exchanges completed: 1 after the handshake, +1 per rekey. */
  readonly kexCount: number;
  /** The server's host key (or certificate) blob. */
  readonly hostKeyBlob: Uint8Array | null;
  /** Which implementation seals and opens packets each way ("node:crypto", "noble", ...). */
  readonly cryptoProviders: { send: string; receive: string };
  /** Our end of the socket, when the adapter knows it. */
  readonly localAddress: string | undefined;
  /** Our port, when the adapter knows it. */
  readonly localPort: number | undefined;
  /**
   * The OpenSSH master's socket when the connection runs over one (ssh_config
   * `ControlMaster`/`ControlPath`), else undefined. The master owns the transport and
   * does not share it: `serverVersion`, `algorithms`, `serverAlgorithms` and
   * `hostKeyBlob` are then unknown (undefined or null), `kexCount` is 0, and
   * `clientVersion` was never sent.
   */
  readonly controlPath: string | undefined;
}

/** Options of {@link SSHClientConnection.run}. */
export interface RunOptions extends ProcessOptions {
  /** Bytes or text to send to stdin (EOF follows). */
  readonly input?: string | Uint8Array;
  /** Reject with ProcessError on a non-zero exit status or a signal. */
  readonly check?: boolean;
  /** Give up after this many ms (the channel is closed; ProcessTimeoutError). */
  readonly timeout?: number;
  /** Give up when this aborts (the channel is closed; the signal's reason is thrown). */
  readonly signal?: AbortSignal;
  /**
   * Give up when stdout or stderr brings more than this many bytes (the channel is
   * closed; ProcessOutputLimitError, with the first `maxOutput` bytes of each). Default:
   * no limit, the whole output is held in memory.
   */
  readonly maxOutput?: number;
}

/** The `signal` of the forwarding methods. */
export interface ForwardSignalOptions {
  /**
   * Stops the forwarding: while it is being set up, the call rejects with the
   * signal's reason (and nothing stays listening); afterwards, the listener closes.
   */
  readonly signal?: AbortSignal;
}

/** Options of {@link SSHClientConnection.forwardLocalPort}. */
export interface LocalPortForwardOptions extends ForwardSignalOptions {
  /** Local address to listen on ("*" = every IPv4 address, as ssh; default "127.0.0.1"). */
  readonly listenHost?: string;
  /** Local port; 0 picks a free one (see the listener's `port`). */
  readonly listenPort: number;
  /** Where the server connects to. */
  readonly destHost: string;
  /** The port the server connects to. */
  readonly destPort: number;
}

/** Options of {@link SSHClientConnection.forwardRemotePort}. */
export interface RemotePortForwardOptions extends ForwardSignalOptions {
  /** Address the server listens on ("" = all, "localhost" = loopback; default "localhost"). */
  readonly listenHost?: string;
  /** Port on the server; 0 lets the server pick (see the listener's `port`). */
  readonly listenPort: number;
  /** Where we connect to for each forwarded connection. */
  readonly destHost: string;
  /** The port we connect to for each forwarded connection. */
  readonly destPort: number;
}

/** Options of `startServer()` and `startUnixServer()`: which forwarded connections to take. */
export interface RemoteAcceptOptions {
  /**
   * Decides whether to take a connection the server forwards, from where it comes (its
   * `originHost`, `originPort`, the listener's address): anything but true refuses it before
   * it is opened (the server's client sees its connection fail, as with ssh2's `reject()`).
   * Default: take every one.
   */
  readonly accept?: (info: ForwardedConnectionInfo) => boolean | Promise<boolean>;
}

/** Options of {@link SSHClientConnection.forwardSocks}. */
export interface SocksForwardOptions extends ForwardSignalOptions {
  /** Local address to listen on ("*" = every IPv4 address, as ssh; default "127.0.0.1"). */
  readonly listenHost?: string;
  /** Local port; 0 picks a free one. */
  readonly listenPort: number;
}

/** Options of {@link SSHClientConnection.openChannel}. */
export interface OpenChannelOptions {
  /** Readable streams to keep: 2 for sessions (stdout, stderr), 1 for forwarding. */
  readonly streams?: 1 | 2;
  /**
   * Gives up waiting for the server's confirmation when this aborts (the
   * promise rejects with the signal's reason; a channel confirmed later is closed).
   */
  readonly signal?: AbortSignal;
  /** Receive window for this channel (default: the connection's `windowSize`). */
  readonly window?: number;
  /**
   * Largest data packet we accept on this channel (default: the connection's
   * `maxPacketSize`; at most 261,875 bytes, what fits in a 256 KiB packet).
   */
  readonly maxPacket?: number;
  /** Same as `window` (the name `connect()` and `createProcess` use). */
  readonly windowSize?: number;
  /** Same as `maxPacket` (the name `connect()` and `createProcess` use). */
  readonly maxPacketSize?: number;
}

/** Handles one connection to a remote listener started by `startServer`. */
export type RemoteConnectionHandler = (conn: SSHStreamConnection) => void | Promise<void>;
