/**
 * `connect()`: resolves the client's keys and host key check, opens the byte
 * stream (TCP, a caller's socket, or a channel of a jump host), and waits
 * until the new {@link SSHClientConnection} is authenticated.
 *
 * @module
 */

import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import { socketFromChannel } from "../forward/tunnel.ts";
import { loadDefaultClientKeys, type PrivateKeyInput, readPrivateKey } from "../keys/files.ts";
import { DEFAULT_KNOWN_HOSTS_FILES, knownHostsVerifier } from "../keys/known_hosts.ts";
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
    : await openTcpSocket(host, port, signal, {
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      ...(options.family !== undefined ? { family: options.family } : {}),
    }).catch((e) => {
      throw timeoutOr(e, signal, `Cannot connect to ${host}:${port}: ${(e as Error).message}`);
    });
  const conn = new SSHClientConnection(host, port, socket, {
    ...options,
    clientKeys,
    hostKeyVerifier,
  });
  const bindSource = sessionBindSource(conn.engine);
  agentAuth?.attach(bindSource);
  if (options.agentForwarding) {
    conn.onAgentChannel = (c) => void forwardAgentChannel(c.channel, options.agent, bindSource);
  }
  try {
    options.connectionMade?.(conn);
  } catch (e) {
    conn.abort();
    agentAuth?.close();
    throw e;
  }
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

function isClientKeyPair(k: ClientKeyPair | PrivateKeyInput): k is ClientKeyPair {
  return typeof k === "object" && "publicKeyBlob" in k && "keyType" in k;
}

async function resolveClientKeys(
  options: ConnectOptions,
): Promise<{ keys: ClientKeyPair[]; agentAuth: AgentAuth | undefined }> {
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
    named.push(
      isClientKeyPair(k) ? k : clientKeyFromSSHKey(await readPrivateKey(k, options.passphrase)),
    );
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
