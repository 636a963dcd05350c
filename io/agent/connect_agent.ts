/**
 * The agent in `connect()`: which agent to use (`agent` option, default
 * `SSH_AUTH_SOCK`), its keys in OpenSSH's order, binding the agent to the
 * session (`session-bind@openssh.com`) before it signs, and serving forwarded
 * `auth-agent@openssh.com` channels from it (`agentForwarding`).
 *
 * @module
 */

import type { SessionBind } from "../../agent/extensions.ts";
import { AgentKeyring } from "../../agent/keyring.ts";
import { equalBytes } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeByteSocket } from "../forward/bridge.ts";
import {
  type AgentClient,
  type AgentClientOptions,
  type AgentKey,
  agentSocketFromEnv,
  connectAgent,
} from "./client.ts";
import { connectKeyring } from "./ssh_agent.ts";
import { Log } from "../engine/logger.ts";

/**
 * Which agent `connect()` uses: a UNIX socket path, an agent in this process
 * (`SSHAgent` or any `AgentKeyring`), or false for none. Default: the socket in
 * `SSH_AUTH_SOCK`, when set.
 */
export type AgentOption = string | false | AgentKeyring;

/** A key `connect()` can sign with (the shape of its `ClientKeyPair`). */
export interface AgentSignerKey {
  readonly keyType: string;
  readonly publicKeyBlob: Uint8Array;
  sign(data: Uint8Array, algorithm: string): Uint8Array | Promise<Uint8Array>;
  readonly query?: boolean;
}

/** Session facts for `session-bind@openssh.com`, read when the agent first signs or forwards. */
export type SessionBindSource = (isForwarding: boolean) => SessionBind | undefined;

/**
 * Opens a client for an agent option; undefined when there is no agent
 * (option false, or no `SSH_AUTH_SOCK`). Rejects when the agent cannot be reached.
 * `options.timeout` bounds each reply (default 30 s, see `AgentClientOptions`).
 *
 * @example
 * ```ts ignore
 * const client = await openAgent(undefined, { timeout: 10_000 }); // SSH_AUTH_SOCK
 * ```
 */
export async function openAgent(
  option: AgentOption | undefined,
  options: AgentClientOptions = {},
): Promise<AgentClient | undefined> {
  if (option === false) return undefined;
  if (option instanceof AgentKeyring) return connectKeyring(option, options);
  const path = option ?? agentSocketFromEnv();
  if (!path) return undefined;
  return await connectAgent(path, options);
}

/** Options of {@link loadAgentKeys}. */
export interface LoadAgentKeysOptions {
  /** Keys named by the caller (files, key objects, certificates), in order. */
  readonly named: readonly AgentSignerKey[];
  /** Keys from default locations (`~/.ssh/id_*`), used after the agent's. */
  readonly defaults: readonly AgentSignerKey[];
  /**
   * Public keys (blobs) of identity files, named or default, whose private key is not loaded
   * (encrypted, or only a public key file): as ssh's pubkey_prepare, the agent keys matching
   * them are preferred, and kept with `identitiesOnly`; the agent signs for them.
   */
  readonly identities?: readonly Uint8Array[];
  /**
   * Use only agent keys that match a named or default key or one of `identities`, as
   * OpenSSH's IdentitiesOnly.
   */
  readonly identitiesOnly: boolean;
}

/** The agent's part of a connection's authentication. */
export interface AgentAuth {
  /** Every key to try, in order: named keys, then the agent's, then default files. */
  readonly keys: readonly AgentSignerKey[];
  /** Whether the agent listed `blob`'s key (itself or a certificate for it). */
  holds(blob: Uint8Array): boolean;
  /** Gives the session facts the agent is bound to before its first signature. */
  attach(source: SessionBindSource): void;
  /** Closes the agent connection (after authentication). */
  close(): void;
}

/**
 * Lists the agent's keys and orders every key as OpenSSH does, so the keys the
 * caller named are tried first (a server's MaxAuthTries is then not spent on
 * others): named keys; agent keys matching a named or default key or one of
 * `identities` (identity files whose private key is not loaded) — or, for
 * certificates, whose key does — in the agent's order, signed by the agent; the
 * other agent keys (unless `identitiesOnly`); default key files the agent does
 * not hold. Agent keys of a type we cannot read are left out, as ssh skips them.
 * Agent keys are queried before signing (a confirm prompt only for keys the
 * server accepts); the agent is bound to the session before its first signature.
 *
 * @example
 * ```ts ignore
 * const auth = await loadAgentKeys(client, { named: [], defaults: [], identitiesOnly: false });
 * ```
 */
export async function loadAgentKeys(
  client: AgentClient,
  options: LoadAgentKeysOptions,
): Promise<AgentAuth> {
  let listed: AgentKey[] = [];
  try {
    listed = await client.listIdentities();
  } catch {
    // An agent that fails to list is no agent (as ssh: logged, not fatal).
  }
  let source: SessionBindSource | undefined;
  let bound: Promise<void> | undefined;
  const bind = () =>
    bound ??= (async () => {
      const info = source?.(false);
      if (!info) return;
      // Agents without the extension (or refusing it) still sign unrestricted keys.
      await client.sessionBind(info).catch(() => {});
    })();
  const agentKey = (k: AgentKey): AgentSignerKey => ({
    keyType: k.keyType,
    publicKeyBlob: k.keyBlob,
    query: true,
    sign: async (data, algorithm) => {
      await bind();
      return await client.sign(k.keyBlob, data, { algorithm });
    },
  });
  const known = [
    ...options.named.map((n) => n.publicKeyBlob),
    ...options.defaults.map((d) => d.publicKeyBlob),
    ...options.identities ?? [],
  ];
  const matches = (k: AgentKey, blob: Uint8Array) =>
    equalBytes(blob, k.keyBlob) ||
    (k.certificate !== undefined && equalBytes(blob, k.certificate.key.publicBlob));
  const matchesKnown = (k: AgentKey) => known.some((blob) => matches(k, blob));
  const isNamed = (blob: Uint8Array) =>
    options.named.some((n) => equalBytes(n.publicKeyBlob, blob));
  const preferred: AgentSignerKey[] = [];
  const rest: AgentSignerKey[] = [];
  for (const k of listed) {
    // A key type we cannot read (garbage, or a type from a newer agent) is not offered: it
    // would spend one of the server's MaxAuthTries. ssh skips unknown types likewise.
    if (k.key === undefined) continue;
    if (isNamed(k.keyBlob)) continue; // the caller's own copy signs
    if (matchesKnown(k)) preferred.push(agentKey(k));
    else if (!options.identitiesOnly) rest.push(agentKey(k));
  }
  const inAgent = (blob: Uint8Array) => listed.some((k) => equalBytes(k.keyBlob, blob));
  const keys = [
    ...options.named,
    ...preferred,
    ...rest,
    ...options.defaults.filter((d) => !inAgent(d.publicKeyBlob) && !isNamed(d.publicKeyBlob)),
  ];
  return {
    keys,
    holds: (blob) => listed.some((k) => k.key !== undefined && matches(k, blob)),
    attach: (s) => void (source = s),
    close: () => client.close(),
  };
}

/** Options of {@link forwardAgentChannel}. */
export interface ForwardAgentOptions {
  /** The agent to forward (`connect()`'s `agent` option; default `SSH_AUTH_SOCK`). */
  readonly agent: AgentOption | undefined;
  /** How long the session binding waits for the agent's reply (`connect()`'s `agentTimeout`). */
  readonly timeout?: number | undefined;
  /** The session facts the forwarded connection is bound to. */
  readonly source: SessionBindSource | undefined;
  /** Where failures to reach the agent are logged. */
  readonly log?: Log;
}

/**
 * Serves one forwarded `auth-agent@openssh.com` channel from the local agent:
 * opens a new agent connection, binds it to the session for forwarding (as
 * ssh does), then relays the channel's bytes both ways until either side ends.
 *
 * @example
 * ```ts ignore
 * conn.onAgentChannel = (c) =>
 *   void forwardAgentChannel(c.channel, { agent: agentOption, source: bindSource });
 * ```
 */
export async function forwardAgentChannel(
  channel: ChannelIO,
  options: ForwardAgentOptions,
): Promise<void> {
  const { source, log = Log.none } = options;
  let client: AgentClient | undefined;
  try {
    client = await openAgent(
      options.agent,
      options.timeout === undefined ? {} : { timeout: options.timeout },
    );
    if (!client) log.warn("agent forwarding: no agent to forward (no SSH_AUTH_SOCK)");
  } catch (e) {
    log.warn(`agent forwarding: cannot reach the agent: ${(e as Error).message}`);
  }
  if (!client) {
    channel.close();
    return;
  }
  log.debug("agent forwarding: serving a forwarded agent channel");
  const info = source?.(true);
  if (info) await client.sessionBind(info).catch(() => {});
  let raw;
  try {
    raw = await client.detach();
  } catch {
    channel.close();
    client.close();
    return;
  }
  await bridgeByteSocket(raw, channel);
}

/** What {@link sessionBindSource} reads: the client engine's transport. */
export interface BindableEngine {
  /** The session identifier, the server's host key and its signature over the exchange. */
  readonly transport: {
    readonly sessionId: Uint8Array | null;
    readonly hostKeyBlob: Uint8Array | null;
    readonly sessionSignature: Uint8Array | null;
  };
}

/**
 * The session facts of a client engine, for `session-bind@openssh.com`
 * (undefined before the first key exchange completes).
 *
 * @example
 * ```ts ignore
 * const source = sessionBindSource(conn.engine);
 * ```
 */
export function sessionBindSource(engine: BindableEngine): SessionBindSource {
  return (isForwarding) => {
    const t = engine.transport;
    if (!t.sessionId || !t.hostKeyBlob || !t.sessionSignature) return undefined;
    return {
      hostKeyBlob: t.hostKeyBlob,
      sessionId: t.sessionId,
      signature: t.sessionSignature,
      isForwarding,
    };
  };
}
