/**
 * `connect()`: resolves the client's keys and host key check, opens the byte
 * stream (TCP, a caller's socket, or a channel of a jump host), and waits
 * until the new {@link SSHClientConnection} is authenticated.
 *
 * @module
 */

import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import { socketFromChannel } from "../forward/tunnel.ts";
import {
  defaultIdentityKeys,
  identityPublicKey,
  isPublicIdentityKey,
  loadKeyFile,
  looksLikeKeyText,
  type PrivateKeyInput,
  readPrivateKey,
} from "../keys/files.ts";
import { loadRevokedKeys, type RevokedKeys } from "../keys/revoked_keys.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import type { KnownHosts } from "../../keys/trust/known_hosts.ts";
import { parseKeyOrCertificate } from "../../keys/trust/certificate_policy.ts";
import {
  DEFAULT_KNOWN_HOSTS_FILES,
  hostLabel,
  knownHostsFromKeys,
  type KnownHostsVerifier,
  knownHostsVerifier,
} from "../keys/known_hosts.ts";
import { defaultAlgorithms } from "../crypto/suite.ts";
import { isX509Algorithm, X509_ALGORITHMS } from "../../core/publickey/x509_blob.ts";
import { loadX509Certificates, x509HostKeyVerifier } from "../keys/x509_verifier.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import type { ClientKeyPair, HostKeyInfo } from "../keys/types.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS, FAILED_CONNECT_GRACE_MS } from "../limits.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import { openTcpSocket } from "../runtime/tcp.ts";
import { timeoutDelay } from "../runtime/timer.ts";
import { checkConnectionNumbers, checkInteger } from "../../core/engine/option_checks.ts";
import { spawnProxyCommand } from "../config/proxy_command.ts";
import { expandTokens } from "../../config/tokens.ts";
import { validHostname, validRemoteUser } from "../../config/_values.ts";
import { SSHConfigError } from "../../config/errors.ts";
import { localUsername } from "../runtime/env.ts";
import { byteSocketOf } from "../runtime/web_duplex.ts";
import { DisconnectError, DisconnectReason, SSHError } from "../../core/errors.ts";
import { Log } from "../engine/logger.ts";
import { valueKind } from "../engine/channel.ts";
import { timeoutOr } from "./auth.ts";
import { SSHClientConnection } from "./connection.ts";
import { abortable, abortError } from "../engine/errors.ts";
import {
  classifyConnectFailure,
  type ConnectPhase,
  ConnectTimeoutError,
  markConnectPhase,
} from "./errors.ts";
import type { ConnectOptions } from "./options.ts";
import { connectWithConfig } from "./ssh_config.ts";
import {
  checkHostKeyPolicyOptions,
  hostKeyPolicy,
  type HostKeyVerdict,
} from "./host_key_policy.ts";
import { abortWhenSignalled } from "./abort_link.ts";
import { type ConnectDeadline, connectDeadline } from "./deadline.ts";
import {
  type AgentAuth,
  forwardAgentChannel,
  type ForwardAgentOptions,
  loadAgentKeys,
  openAgent,
  sessionBindSource,
} from "../agent/connect_agent.ts";
import type { SSHStreamConnection } from "../forward/stream.ts";
import { refuseOtherNames } from "../engine/option_names.ts";

// The default lives with the other limits (ssh_config's jump chains use it too).
export { DEFAULT_CONNECT_TIMEOUT_MS } from "../limits.ts";

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

/**
 * Opens an SSH connection and authenticates.
 *
 * @example Run a command
 * ```ts ignore
 * import { connect } from "@sshts/ssh";
 * await using conn = await connect("127.0.0.1", {
 *   port: 2222, username: "me", password: "secret", hostKeyVerifier: () => true,
 * });
 * const { stdout } = await conn.run("echo hello", { check: true });
 * ```
 */
export function connect(
  host: string,
  options: ConnectOptions & ConnectHooks = {},
): Promise<SSHClientConnection> {
  if (typeof host !== "string") {
    const shape = typeof host === "object" && host !== null && "host" in host
      ? " (ssh2's connect({ host, port, ... }) is connect(host, { port, ... }) here)"
      : "";
    return Promise.reject(
      new TypeError(
        `connect(host, options): host must be a string; got ${valueKind(host)}${shape}`,
      ),
    );
  }
  try {
    refuseOtherNames("connect", options, OTHER_CONNECT_NAMES);
  } catch (e) {
    return Promise.reject(e);
  }
  // OpenSSH's client configuration first: it may pick the host name, user, keys, a
  // jump host, a proxy command or a master socket. Not with `config: false`, nor by
  // default over a caller's own socket (where `host` may be any label).
  if (options.config === false && options.configOptions !== undefined) {
    return Promise.reject(
      new TypeError("connect(): configOptions are ssh_config settings: not with config: false"),
    );
  }
  const skip = options.config === false ||
    (options.config === undefined && options.configOptions === undefined &&
      options.sock !== undefined);
  return skip ? connectDirect(host, options) : connectWithConfig(host, options, connectDirect);
}

/**
 * Names people reach for that connect() calls otherwise (ssh2's and node-ssh's, AsyncSSH's,
 * ssh_config's words), each with ours: given, they were ignored, and the connection went
 * without the key, the timeout or the check meant.
 */
const OTHER_CONNECT_NAMES: Readonly<Record<string, string>> = {
  privateKey: "clientKeys (key text, a path or a parsed key, in a list)",
  privateKeyPath: "clientKeys (a path, in a list)",
  privateKeys: "clientKeys",
  identityFile: "clientKeys",
  client_keys: "clientKeys",
  user: "username",
  readyTimeout: "connectTimeout",
  timeout: "connectTimeout (a command's own is run()'s timeout)",
  hostVerifier: "hostKeyVerifier",
  hostHash: "hostKeyVerifier (its argument has the key's fingerprint)",
  known_hosts: "knownHosts",
  agentForward: "agentForwarding",
  algorithms: "kexAlgs, encryptionAlgs, macAlgs and serverHostKeyAlgs",
  ident: "clientVersion",
  forceIPv4: "family: 4",
  forceIPv6: "family: 6",
};

/**
 * Hooks of `connect()` that see the connection object itself. They sit beside
 * `ConnectOptions` (not in it) because the options module comes before the
 * connection class in the import graph.
 */
export interface ConnectHooks {
  /**
   * Called with the connection as soon as it exists, before the key exchange
   * and authentication (AsyncSSH's `connection_made`): set `onGlobalRequest`,
   * `onChannelOpen` and the like here. If it throws, the connection is
   * dropped and `connect()` rejects with that error.
   */
  readonly connectionMade?: (conn: SSHClientConnection) => void;
}

/** connect() without the OpenSSH client configuration. */
async function connectDirect(
  host: string,
  options: ConnectOptions,
): Promise<SSHClientConnection> {
  const { conn, signal, agentAuth, explainFailure, clear, giveUp } = await startConnection(
    host,
    options,
  );
  try {
    await conn.whenAuthenticated(signal);
  } catch (e) {
    // Let our DISCONNECT (saying why) reach the server before the socket goes. Not waited
    // for past a deadline or an abort: a peer that let the time pass is unlikely to answer
    // within the grace, and the caller gave up (the DISCONNECT still goes, see giveUp).
    if (signal?.aborted) giveUp();
    else await conn.shutdown(FAILED_CONNECT_GRACE_MS);
    throw explainFailure(e);
  } finally {
    clear();
    agentAuth?.close();
  }
  abortWhenSignalled(conn, options.signal);
  return conn;
}

/** A connection being set up by {@link startConnection}, not yet authenticated. */
export interface StartedConnection {
  /** The connection; its handshake and authentication run on their own. */
  readonly conn: SSHClientConnection;
  /** `options.signal` and `connectTimeout` together, for waiting on authentication. */
  readonly signal: AbortSignal | undefined;
  /** The agent's part in authentication; close it once authentication ended. */
  readonly agentAuth: AgentAuth | undefined;
  /** Turns a failed authentication wait into the error to throw (phase, hints, a log line). */
  readonly explainFailure: (e: unknown) => unknown;
  /** Ends the attempt's deadline (its timer): call once authentication ended either way. */
  readonly clear: () => void;
  /**
   * Closes a connection given up on (an abort, the deadline) without holding the process:
   * the DISCONNECT goes, then the socket once that is written, not waiting for the peer.
   */
  readonly giveUp: () => void;
}

/**
 * What `connect()` does before it waits for authentication: resolves keys and
 * the host key check, opens the byte stream and starts the handshake.
 *
 * @example
 * ```ts ignore
 * const { conn, signal } = await startConnection("host", { username: "me" });
 * await conn.whenAuthenticated(signal).catch(() => console.log(conn.engine.authMethods));
 * ```
 */
export async function startConnection(
  host: string,
  options: ConnectOptions = {},
): Promise<StartedConnection> {
  if (options.signal?.aborted) throw abortError(options.signal);
  checkConnectNumbers(options);
  checkHostKeyPolicyOptions(options);
  const timeoutMs = timeoutDelay(
    options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_MS,
    "connectTimeout",
  ) ?? 0;
  const deadline = connectDeadline(options.signal, timeoutMs);
  // The agent connection opened for authentication, once there is one: a failure before the
  // connection exists (a refused TCP connect, an abort, a known_hosts file that cannot be read)
  // must close it too, or its socket keeps the process alive.
  const opened: { agentAuth?: AgentAuth | undefined } = {};
  try {
    return await startWithDeadline(host, options, timeoutMs, deadline, opened);
  } catch (e) {
    deadline.clear();
    opened.agentAuth?.close();
    throw e;
  }
}

/**
 * Refuses numbers that would otherwise go wrong quietly or late (a NaN rekey limit never
 * rekeys, a bad window fails the first channel): a RangeError naming the option.
 */
function checkConnectNumbers(options: ConnectOptions): void {
  if (options.port !== undefined) checkInteger(options.port, "port", 1, 65535);
  if (options.localPort !== undefined) checkInteger(options.localPort, "localPort", 0, 65535);
  checkConnectionNumbers(options);
}

async function startWithDeadline(
  host: string,
  options: ConnectOptions,
  timeoutMs: number,
  deadline: ConnectDeadline,
  opened: { agentAuth?: AgentAuth | undefined },
): Promise<StartedConnection> {
  const port = options.port ?? 22;
  const signal = deadline.signal;
  let phase: ConnectPhase = "setup";
  // A timeout names host, port and phase; the caller's abort rejects with its reason.
  const explain = (e: unknown): unknown => {
    if (options.signal?.aborted) return abortError(options.signal);
    let out = e;
    if (deadline.timedOut) {
      out = new ConnectTimeoutError(host, port, phase, timeoutMs, { cause: e });
    } else if (
      e instanceof DisconnectError && e.code === "ERR_CONNECTION_LOST" &&
      !e.message.includes(`${host}:${port}`)
    ) {
      const during = phase === "auth" ? "authentication" : "the SSH handshake";
      out = new DisconnectError(
        e.code,
        e.reason,
        `Connection to ${host}:${port} lost during ${during}: ${e.message}`,
        { cause: e, fromPeer: e.fromPeer },
      );
    }
    markConnectPhase(out, phase);
    return out;
  };
  const log = Log.from(options, `[sshts client ${host}:${port}]`);
  // Checked here: a bad agent timeout would otherwise make the agent silently unused.
  if (options.agentTimeout !== undefined) timeoutDelay(options.agentTimeout, "agentTimeout");
  // What connect() reads first (keys, the agent, known_hosts, certificates) is under the
  // deadline and the caller's signal too: an agent that never answers must not hold it.
  // abortable() hands what comes too late to `discard` (an agent connection opened too late
  // is closed, or it would keep the process alive); the work's own failures (a key file or
  // known_hosts that cannot be read) are the setup phase's.
  const inTime = <T>(start: () => Promise<T>, discard: (late: T) => unknown = () => {}) =>
    abortable(signal, start, discard).catch((e: unknown) => {
      if (signal?.aborted) throw explain(e);
      markConnectPhase(e, "setup");
      throw e;
    });
  const { keys: clientKeys, agentAuth } = await inTime(
    () => resolveClientKeys(options, signal),
    (late) => late.agentAuth?.close(),
  );
  opened.agentAuth = agentAuth;
  log.debug(`${clientKeys.length} client key(s) loaded`);
  if (options.proxyCommand !== undefined && (options.sock || options.tunnel)) {
    throw new TypeError("connect(): proxyCommand cannot be combined with sock or tunnel");
  }
  log.info(
    options.sock
      ? "connecting over the given socket"
      : options.proxyCommand !== undefined
      ? `connecting to ${host}:${port} through a proxy command`
      : options.tunnel
      ? `connecting to ${host}:${port} through a tunnel`
      : `connecting to ${host}:${port}${timeoutMs > 0 ? ` (timeout ${timeoutMs} ms)` : ""}`,
  );
  // known_hosts, unless hostKeyVerifier decides or knownHosts: null trusts every key.
  const kh = options.knownHosts;
  const source = options.hostKeyVerifier !== undefined || kh === null
    ? undefined
    : knownHostsSource(kh);
  const knownHosts = source && await inTime(() => knownHostsVerifier(source));
  // strictHostKeyChecking "accept-new" and "no" (ssh's, over these files): a key they do not
  // vouch for is learned into the first file (checkHostKeyPolicyOptions made sure there is one).
  const strict = options.strictHostKeyChecking;
  const verdict: HostKeyVerdict = {};
  const baseVerifier = options.hostKeyVerifier ??
    (knownHosts === undefined
      ? acceptAnyHostKey
      : (strict === "accept-new" || strict === "no") && source !== undefined && "files" in source
      ? hostKeyPolicy(knownHosts, {
        mode: strict,
        learnInto: source.files[0],
        hashed: options.hashKnownHosts ?? false,
        address: addressOf,
      }, verdict)
      : knownHosts);
  const x509Trusted = options.x509TrustedCerts || options.x509TrustedCertPaths
    ? await inTime(() =>
      loadX509Certificates(options.x509TrustedCerts, options.x509TrustedCertPaths)
    )
    : undefined;
  // X.509 host keys are checked against the trusted certificates, the rest as before.
  const checkedVerifier = x509Trusted
    ? x509HostKeyVerifier(
      x509Trusted,
      baseVerifier,
      options.x509Purposes !== undefined ? { purposes: options.x509Purposes } : {},
    )
    : baseVerifier;
  // As ssh's RevokedHostKeys: a revoked host key is refused before anything can vouch for it.
  const revokedHostKeys = options.revokedHostKeys;
  const hostKeyVerifier = revokedHostKeys !== undefined
    ? refuseRevokedHostKeys(
      await inTime(() => loadRevokedKeys(revokedHostKeys, "revokedHostKeys")),
      checkedVerifier,
    )
    : checkedVerifier;
  // Read before the transport opens: a key that cannot be read must not leave a proxy
  // command running, or a socket or jump channel open.
  const hb = options.hostBased;
  const readHostKey = (k: PrivateKeyInput) => inTime(() => readPrivateKey(k));
  const hostBased = hb
    ? {
      hostKey: isClientKeyPair(hb.hostKey)
        ? hb.hostKey
        : clientKeyFromSSHKey(await readHostKey(hb.hostKey)),
      localHostname: hb.localHostname,
      ...(hb.localUsername !== undefined ? { localUsername: hb.localUsername } : {}),
    }
    : undefined;
  phase = "tcp";
  const socket = options.sock
    ? byteSocketOf(options.sock)
    : options.proxyCommand !== undefined
    ? spawnProxyCommand(proxyCommandFor(options.proxyCommand, host, port, options.username))
    : options.tunnel
    // A jump host: the server at the other end of the channel connects for us
    // (a ChannelOpenError says why it could not).
    ? socketFromChannel(
      await options.tunnel.openChannel(
        "direct-tcpip",
        encodeTcpipOpen(host, port, "127.0.0.1", 0),
        { streams: 1, ...(signal ? { signal } : {}) },
      ).catch((e) => {
        if (signal?.aborted) throw explain(e);
        markConnectPhase(e, "tcp");
        throw e;
      }),
    )
    : await openTcpSocket(host, port, signal, {
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      ...(options.family !== undefined ? { family: options.family } : {}),
    }).catch((e) => {
      if (signal?.aborted) throw explain(e);
      const err = classifyConnectFailure(e, host, port) ??
        timeoutOr(e, signal, `Cannot connect to ${host}:${port}: ${(e as Error).message}`);
      markConnectPhase(err, "tcp");
      throw err;
    });
  phase = "handshake";
  if (socket.remoteAddress !== undefined) {
    log.info(
      `TCP connected to ${socket.remoteAddress}:${socket.remotePort} from ` +
        `${socket.localAddress}:${socket.localPort}`,
    );
  }
  // As ssh: offer first the host key algorithms known_hosts can vouch for (order_hostkeyalgs).
  const vouching = knownHosts ??
    ("hostKeyAlgorithms" in baseVerifier ? baseVerifier as KnownHostsVerifier : undefined);
  const known = !options.serverHostKeyAlgs && vouching !== undefined
    ? orderHostKeyAlgorithms(vouching, host, port, socket, options)
    : undefined;
  // As AsyncSSH: with trusted X.509 certificates, X.509 host key algorithms come first.
  const ordered = x509Trusted && !options.serverHostKeyAlgs
    ? [...X509_ALGORITHMS, ...(known ?? defaultAlgorithms().hostKey)]
    : known;
  let conn: SSHClientConnection;
  // Where the server's agent channels go once forwarding is asked for (by the connection,
  // or by one session: then the first time it asks).
  const agentForwarder = (engine: SSHClientConnection["engine"]) =>
    agentChannelForwarder(
      { agent: options.agent, timeout: options.agentTimeout, source: sessionBindSource(engine) },
      conn.logger,
    );
  try {
    conn = new SSHClientConnection(host, port, socket, {
      ...options,
      ...(ordered ? { serverHostKeyAlgs: ordered } : {}),
      clientKeys,
      hostKeyVerifier,
      ...(hostBased ? { hostBasedResolved: hostBased } : {}),
      // A session's own `agentForwarding: true` forwards to the connection's agent too.
      ...(options.agentForwarding || options.agent === false
        ? {}
        : { agentForwarderOnDemand: agentForwarder }),
    });
  } catch (e) {
    // The connection never took the transport over: what we opened goes with the error.
    if (!options.sock) socket.destroy();
    throw e;
  }
  // For strictHostKeyChecking "no" to mark, should it let a changed key through (the key
  // exchange, and so the check, comes later).
  verdict.conn = conn;
  agentAuth?.attach(sessionBindSource(conn.engine));
  if (options.agentForwarding) conn.onAgentChannel = agentForwarder(conn.engine);
  try {
    (options as ConnectHooks).connectionMade?.(conn);
  } catch (e) {
    conn.abort();
    throw e; // startConnection closes the agent
  }
  /** Explains a failed authentication wait: phase, a "no credentials" hint, a log line. */
  const explainFailure = (e: unknown): unknown => {
    if (conn.engine.transport.kexCount > 0) phase = "auth";
    const err = noCredentialsHint(explain(e), clientKeys.length, options);
    log.warn(`connect failed in the ${phase} phase: ${(err as Error).message}`);
    return err;
  };
  return {
    conn,
    signal,
    agentAuth,
    explainFailure,
    clear: deadline.clear,
    giveUp: () => giveUpConnection(conn, socket),
  };
}

/**
 * Closes a connection whose connect() was given up on. The caller does not wait for it, so
 * nothing may keep the process alive for it either: `shutdown()` alone waits up to its grace
 * for the peer to close its side (a silent peer never does), and the socket held the process
 * that long after connect() rejected. Here the socket closes as soon as our DISCONNECT and
 * FIN are written (`closeAfterFlush`), which closes the connection and ends shutdown()'s
 * timer; the grace still bounds a socket that cannot flush, or has no `closeAfterFlush`.
 */
function giveUpConnection(conn: SSHClientConnection, socket: ByteSocket): void {
  void conn.shutdown(FAILED_CONNECT_GRACE_MS); // DISCONNECT written (or queued), then our FIN
  // Once connect() has rejected: the caller learns of the failure before the connection
  // closes (Bun's socket closes within `end()`).
  setImmediate(() => socket.closeAfterFlush?.());
}

/*
 * The functions the connection keeps (its host key verifier, its agent channel handler) are
 * made out here, not as closures in startWithDeadline: such a closure keeps that whole scope
 * (the connect deadline, its timer and signals, the options) alive for the connection's life.
 */

/** `knownHosts: null`: every host key is accepted. */
function acceptAnyHostKey(): boolean {
  return true;
}

/** The address the host key is checked under too: the one `hostKeyLookup` gives (CheckHostIP). */
function addressOf(info: HostKeyInfo): string | undefined {
  return info.address;
}

/** Where `knownHosts` (not null) has connect() read known_hosts from. */
function knownHostsSource(
  kh: Exclude<ConnectOptions["knownHosts"], null>,
): { files: readonly string[] } | { text: string } | { parsed: KnownHosts } {
  return kh === undefined
    ? { files: DEFAULT_KNOWN_HOSTS_FILES }
    : typeof kh === "string"
    ? { files: [kh] }
    : isStringList(kh)
    ? { files: kh }
    : "text" in kh
    ? { text: kh.text }
    : "entries" in kh
    ? { parsed: kh }
    : { parsed: knownHostsFromKeys(kh) };
}

/**
 * `revokedHostKeys`: refuses a revoked host key, a host certificate whose key
 * or CA is revoked (or whose serial or key ID a KRL revokes), or an X.509 host key
 * whose certificate's key or an issuer's is, with an `SSHError`
 * (ERR_HOST_KEY_NOT_VERIFIABLE); other keys go on to `verify`.
 */
function refuseRevokedHostKeys(
  revoked: RevokedKeys,
  verify: (info: HostKeyInfo) => boolean | Promise<boolean>,
): (info: HostKeyInfo) => boolean | Promise<boolean> {
  return (info) => {
    if (revoked.empty) return verify(info);
    if (isX509Algorithm(info.algorithm)) {
      if (revoked.isRevokedKeyBlob(info.keyBlob)) {
        throw new SSHError(
          "ERR_HOST_KEY_NOT_VERIFIABLE",
          `X.509 host key (${info.algorithm}) for ${hostLabel(info.host, info.port)} is ` +
            "revoked by revokedHostKeys (its certificate's key or an issuer's)",
        );
      }
      return verify(info);
    }
    const subject = parseKeyOrCertificate(info.keyBlob);
    if (revoked.isRevoked(subject)) {
      const key = subject instanceof SSHCertificate ? subject.key : subject;
      const what = subject instanceof SSHCertificate
        ? `Host certificate '${subject.keyId}' (${key.getAlgorithm()} ${key.getFingerprint()}, ` +
          `CA ${subject.signatureKey.getFingerprint()})`
        : `Host key ${key.getAlgorithm()} ${key.getFingerprint()}`;
      throw new SSHError(
        "ERR_HOST_KEY_NOT_VERIFIABLE",
        `${what} for ${hostLabel(info.host, info.port)} is revoked by revokedHostKeys`,
      );
    }
    return verify(info);
  };
}

/** `agentForwarding`: each agent channel the server opens goes to the agent in `forward.agent`. */
function agentChannelForwarder(
  forward: ForwardAgentOptions,
  log: Log,
): (c: SSHStreamConnection) => void {
  return (c) => void forwardAgentChannel(c.channel, { ...forward, log });
}

/** known_hosts' preferred host key algorithms for this host, or undefined for the default. */
function orderHostKeyAlgorithms(
  verifier: KnownHostsVerifier,
  host: string,
  port: number,
  socket: ByteSocket,
  options: ConnectOptions,
): string[] | undefined {
  const alias = options.hostKeyAlias;
  const address = alias === undefined && options.checkHostIP !== false
    ? socket.remoteAddress
    : undefined;
  const base = defaultAlgorithms().hostKey;
  const algs = verifier.hostKeyAlgorithms(
    alias ?? host,
    alias === undefined ? port : 22,
    address,
    base,
  );
  return algs.length && algs.join() !== base.join() ? algs : undefined;
}

/** A key that is encrypted and the passphrase was missing or wrong. */
function isPassphraseError(e: unknown): boolean {
  for (let x = e; x instanceof Error; x = x.cause) {
    if (/encrypted and no passphrase|incorrect passphrase/.test(x.message)) return true;
  }
  return false;
}

function isStringList(x: unknown): x is readonly string[] {
  return Array.isArray(x);
}

/** A login refused while we had nothing to offer: say which options would have given something. */
function noCredentialsHint(e: unknown, keys: number, options: ConnectOptions): unknown {
  if (
    !(e instanceof DisconnectError) || e.code !== "ERR_PERMISSION_DENIED" || keys > 0 ||
    options.password !== undefined || options.kbdintResponses !== undefined ||
    options.hostBased !== undefined || options.authenticate !== undefined
  ) return e;
  return new DisconnectError(
    e.code,
    DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE,
    `${e.message}. No credentials were given: pass \`password\`, \`clientKeys\` (key files, ` +
      "text or key objects, with `passphrase` for encrypted ones), `kbdintResponses` or " +
      "`agent` (an ssh-agent socket; SSH_AUTH_SOCK), " +
      "or put an unencrypted key at ~/.ssh/id_ed25519, id_ecdsa or id_rsa",
    { cause: e },
  );
}

function isClientKeyPair(k: ClientKeyPair | PrivateKeyInput): k is ClientKeyPair {
  return typeof k === "object" && "publicKeyBlob" in k && "keyType" in k;
}

async function resolveClientKeys(
  options: ConnectOptions,
  signal?: AbortSignal,
): Promise<{ keys: ClientKeyPair[]; agentAuth: AgentAuth | undefined }> {
  // Staged authentication brings its own keys.
  if (options.authenticate) return { keys: [], agentAuth: undefined };
  // With only a password given, don't go looking for keys (as AsyncSSH), unless an
  // agent was named explicitly.
  if (
    options.clientKeys === undefined && options.password !== undefined &&
    (options.agent === undefined || options.agent === false)
  ) {
    return { keys: [], agentAuth: undefined };
  }
  const named: ClientKeyPair[] = [];
  // The public keys of identity files whose private key is not loaded (encrypted, or only a
  // `.pub`): as ssh's pubkey_prepare, the agent's copy signs for them, and those agent keys
  // go first (and stay with identitiesOnly).
  const identities: Uint8Array[] = [];
  // Key files of `clientKeys` that could not be loaded, with why: used through the agent if
  // it holds their key, else failing connect() as before.
  const unloaded: { blob: Uint8Array; error: unknown }[] = [];
  for (const k of options.clientKeys ?? []) {
    if (isPublicIdentityKey(k)) {
      identities.push((k as ClientKeyPair).publicKeyBlob);
      continue;
    }
    try {
      if (isClientKeyPair(k)) named.push(k);
      else if (typeof k === "string" && !looksLikeKeyText(k)) {
        // A key file: its certificate `<path>-cert.pub` comes along (as ssh's -i).
        named.push(...await loadKeyFile(k, options.passphrase));
      } else named.push(clientKeyFromSSHKey(await readPrivateKey(k, options.passphrase)));
    } catch (e) {
      // ignoreEncrypted (AsyncSSH's ignore_encrypted): a key we cannot decrypt is skipped.
      const skipped = options.ignoreEncrypted === true && isPassphraseError(e);
      const pub = options.agent !== false && typeof k === "string" && !looksLikeKeyText(k)
        ? await identityPublicKey(k)
        : undefined;
      if (pub === undefined) {
        if (!skipped) throw e;
        continue;
      }
      identities.push(pub.publicBlob);
      if (!skipped) unloaded.push({ blob: pub.publicBlob, error: e });
    }
  }
  const defaults: ClientKeyPair[] = [];
  if (options.clientKeys === undefined && options.password === undefined) {
    for (const k of await defaultIdentityKeys()) {
      if (isPublicIdentityKey(k)) identities.push(k.publicKeyBlob);
      else defaults.push(k);
    }
  }
  /** Throws the error of the first unloaded key file whose key `held` says is not there. */
  const failUnheld = (held: (blob: Uint8Array) => boolean) => {
    const missing = unloaded.find((u) => !held(u.blob));
    if (missing !== undefined) throw missing.error;
  };
  // A missing or broken agent is no agent (as ssh): the other keys are still tried.
  const agent = await openAgent(options.agent, opt("timeout", options.agentTimeout))
    .catch(() => undefined);
  if (!agent) {
    failUnheld(() => false);
    return { keys: [...named, ...defaults], agentAuth: undefined };
  }
  // The connect's deadline or abort ends a wait on an agent that does not answer: its
  // connection is closed, which fails the request (connect() has given up by then).
  const stop = () => agent.close();
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    const agentAuth = await loadAgentKeys(agent, {
      named,
      defaults,
      identities,
      identitiesOnly: options.identitiesOnly ?? false,
    });
    try {
      failUnheld(agentAuth.holds);
    } catch (e) {
      agentAuth.close();
      throw e;
    }
    return { keys: [...agentAuth.keys], agentAuth };
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

/**
 * The `proxyCommand` option with ssh's tokens replaced (`%h` host, `%p` port, `%r` user, `%n`
 * the host as given, `%%` a percent sign); an argument list is used as it is.
 */
function proxyCommandFor(
  command: string | readonly string[],
  host: string,
  port: number,
  username: string | undefined,
): string | readonly string[] {
  if (typeof command !== "string") return command;
  const user = username ?? localUsername();
  // The tokens land in a shell command unquoted, as ssh's do: refuse what ssh refuses in a
  // host or user name (shell metacharacters, spaces, a leading "-"; CVE-2023-51385), also
  // when no ssh_config was read to check them.
  const checks = [["host", host, validHostname(host)], ["user", user, validRemoteUser(user)]];
  for (const [what, value, ok] of checks) {
    if (!ok) {
      throw new SSHConfigError(
        "ERR_CONFIG_INVALID",
        `Cannot run proxyCommand: the ${what} name ${
          JSON.stringify(value)
        } has characters a shell would interpret`,
      );
    }
  }
  return expandTokens(command, { h: host, n: host, p: String(port), r: user });
}
