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
  loadDefaultClientKeys,
  loadKeyPairs,
  looksLikeKeyText,
  type PrivateKeyInput,
  readPrivateKey,
} from "../keys/files.ts";
import {
  DEFAULT_KNOWN_HOSTS_FILES,
  type KnownHostsVerifier,
  knownHostsVerifier,
} from "../keys/known_hosts.ts";
import { defaultAlgorithms } from "../crypto/suite.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import type { ClientKeyPair } from "../keys/types.ts";
import { FAILED_CONNECT_GRACE_MS } from "../limits.ts";
import type { ByteSocket, WebDuplex } from "../runtime/socket.ts";
import { openTcpSocket } from "../runtime/tcp.ts";
import { socketFromWebDuplex } from "../runtime/web_duplex.ts";
import { timeoutOr } from "./auth.ts";
import { SSHClientConnection } from "./connection.ts";
import type { ConnectOptions } from "./options.ts";
import { connectWithConfig } from "./ssh_config.ts";
import {
  type AgentAuth,
  forwardAgentChannel,
  loadAgentKeys,
  openAgent,
  sessionBindSource,
} from "../agent/connect_agent.ts";

function opt<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function isByteSocket(s: WebDuplex | ByteSocket): s is ByteSocket {
  return typeof (s as ByteSocket).setHandlers === "function";
}

/**
 * Opens an SSH connection and authenticates.
 *
 * @example Run a command
 * ```ts ignore
 * import { connect } from "./connect.ts";
 * await using conn = await connect("127.0.0.1", {
 *   port: 2222, username: "me", password: "secret", hostKeyVerifier: () => true,
 * });
 * const { stdout } = await conn.run("echo hello", { check: true });
 * ```
 */
export function connect(
  host: string,
  options: ConnectOptions = {},
): Promise<SSHClientConnection> {
  // OpenSSH's client configuration first: it may pick the host name, user, keys, a
  // jump host, a proxy command or a master socket. Not with `config: false`, nor by
  // default over a caller's own socket (where `host` may be any label).
  const skip = options.config === false ||
    (options.config === undefined && options.sock !== undefined);
  return skip ? connectDirect(host, options) : connectWithConfig(host, options, connectDirect);
}

/** connect() without the OpenSSH client configuration. */
async function connectDirect(
  host: string,
  options: ConnectOptions,
): Promise<SSHClientConnection> {
  const { conn, signal, agentAuth } = await startConnection(host, options);
  try {
    await conn.whenAuthenticated(signal);
  } catch (e) {
    // Let our DISCONNECT (saying why) reach the server before the socket goes.
    await conn.shutdown(FAILED_CONNECT_GRACE_MS);
    throw e;
  } finally {
    agentAuth?.close();
  }
  options.signal?.addEventListener("abort", () => conn.abort(), { once: true });
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
  const port = options.port ?? 22;
  const signals: AbortSignal[] = [];
  if (options.signal) signals.push(options.signal);
  if (options.connectTimeout) signals.push(AbortSignal.timeout(options.connectTimeout));
  const signal = signals.length ? AbortSignal.any(signals) : undefined;
  const { keys: clientKeys, agentAuth } = await resolveClientKeys(options);
  const kh = options.knownHosts;
  const hostKeyVerifier = options.hostKeyVerifier ??
    (kh === null ? () => true : await knownHostsVerifier(
      kh === undefined
        ? { files: DEFAULT_KNOWN_HOSTS_FILES }
        : typeof kh === "string"
        ? { files: [kh] }
        : "text" in kh
        ? { text: kh.text }
        : { files: kh as readonly string[] },
    ));
  const socket = options.sock
    ? (isByteSocket(options.sock) ? options.sock : socketFromWebDuplex(options.sock))
    : options.tunnel
    // A jump host: the server at the other end of the channel connects for us
    // (a ChannelOpenError says why it could not).
    ? socketFromChannel(
      await options.tunnel.openChannel(
        "direct-tcpip",
        encodeTcpipOpen(host, port, "127.0.0.1", 0),
        { streams: 1 },
      ),
    )
    : await openTcpSocket(host, port, signal).catch((e) => {
      throw timeoutOr(e, signal, `Cannot connect to ${host}:${port}: ${(e as Error).message}`);
    });
  const hb = options.hostBased;
  const hostBased = hb
    ? {
      hostKey: isClientKeyPair(hb.hostKey)
        ? hb.hostKey
        : clientKeyFromSSHKey(await readPrivateKey(hb.hostKey)),
      localHostname: hb.localHostname,
      ...(hb.localUsername !== undefined ? { localUsername: hb.localUsername } : {}),
    }
    : undefined;
  // As ssh: offer first the host key algorithms known_hosts can vouch for (order_hostkeyalgs).
  const ordered = !options.serverHostKeyAlgs && "hostKeyAlgorithms" in hostKeyVerifier
    ? orderHostKeyAlgorithms(hostKeyVerifier as KnownHostsVerifier, host, port, socket, options)
    : undefined;
  const conn = new SSHClientConnection(host, port, socket, {
    ...options,
    ...(ordered ? { serverHostKeyAlgs: ordered } : {}),
    clientKeys,
    hostKeyVerifier,
    ...(hostBased ? { hostBasedResolved: hostBased } : {}),
  });
  const bindSource = sessionBindSource(conn.engine);
  agentAuth?.attach(bindSource);
  if (options.agentForwarding) {
    conn.onAgentChannel = (c) => void forwardAgentChannel(c.channel, options.agent, bindSource);
  }
  return { conn, signal, agentAuth };
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

function isClientKeyPair(k: ClientKeyPair | PrivateKeyInput): k is ClientKeyPair {
  return typeof k === "object" && "publicKeyBlob" in k && "keyType" in k;
}

async function resolveClientKeys(
  options: ConnectOptions,
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
  for (const k of options.clientKeys ?? []) {
    if (isClientKeyPair(k)) named.push(k);
    else if (typeof k === "string" && !looksLikeKeyText(k)) {
      // A key file: its certificate `<path>-cert.pub` comes along (as ssh's -i).
      named.push(...await loadKeyPairs([k], opt("passphrase", options.passphrase)));
    } else named.push(clientKeyFromSSHKey(await readPrivateKey(k, options.passphrase)));
  }
  const defaults = options.clientKeys === undefined && options.password === undefined
    ? await loadDefaultClientKeys()
    : [];
  // A missing or broken agent is no agent (as ssh): the other keys are still tried.
  const agent = await openAgent(options.agent).catch(() => undefined);
  if (!agent) return { keys: [...named, ...defaults], agentAuth: undefined };
  const agentAuth = await loadAgentKeys(agent, {
    named,
    defaults,
    identitiesOnly: options.identitiesOnly ?? false,
  });
  return { keys: [...agentAuth.keys], agentAuth };
}
