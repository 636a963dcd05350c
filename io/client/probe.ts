/**
 * Asking a server about itself without logging in: its host key
 * (AsyncSSH's `get_server_host_key`) and the authentication methods it
 * offers a user (`get_server_auth_methods`).
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { isCertificateAlgorithm } from "../../core/publickey/certificate.ts";
import { SSHReader } from "../../core/wire.ts";
import { SSHCertificate } from "../../keys/certificates/certificate.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { FAILED_CONNECT_GRACE_MS } from "../limits.ts";
import { startConnection } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";

/** Options of the probes: how to reach the server (port, socket, tunnel, timeout, algorithms). */
export type ProbeOptions = Omit<
  ConnectOptions,
  "clientKeys" | "password" | "agent" | "agentForwarding" | "kbdintResponses"
>;

/** A server's host key, as {@link getServerHostKey} found it. */
export interface ServerHostKeyProbe {
  /** The host key algorithm negotiated, e.g. "ssh-ed25519" or "rsa-sha2-512". */
  readonly algorithm: string;
  /** The key (or certificate) blob as sent. */
  readonly keyBlob: Uint8Array;
  /** The key; for a host certificate, the certified key. */
  readonly key: SSHKey;
  /** The host certificate, when the server sent one. */
  readonly certificate: SSHCertificate | undefined;
  /** The server's identification line. */
  readonly serverVersion: string | undefined;
}

/**
 * Fetches a server's host key without authenticating (AsyncSSH's
 * `get_server_host_key`): the key exchange runs until the server proved it
 * holds the key, then the connection is dropped. No known_hosts check is made;
 * `serverHostKeyAlgs` picks which of the server's keys to ask for.
 *
 * @example
 * ```ts ignore
 * const { key } = await getServerHostKey("127.0.0.1", { port: 2222, connectTimeout: 5000 });
 * console.log(key.getFingerprint());
 * ```
 */
export async function getServerHostKey(
  host: string,
  options: ProbeOptions = {},
): Promise<ServerHostKeyProbe> {
  let found: { algorithm: string; keyBlob: Uint8Array } | undefined;
  const { conn, signal, clear } = await startConnection(host, {
    ...options,
    clientKeys: [],
    agent: false,
    hostKeyVerifier: (info) => {
      found = { algorithm: info.algorithm, keyBlob: info.keyBlob };
      return false; // enough: say goodbye
    },
  });
  try {
    await conn.whenAuthenticated(signal);
  } catch (e) {
    if (!found) throw e;
  } finally {
    clear();
    await conn.shutdown(FAILED_CONNECT_GRACE_MS);
  }
  if (!found) throw new SSHError("ERR_PROTOCOL", "The server authenticated us before the key");
  const type = new SSHReader(found.keyBlob).readStringAscii("key type", 256);
  const certificate = isCertificateAlgorithm(type)
    ? SSHCertificate.fromBlob(found.keyBlob)
    : undefined;
  return {
    ...found,
    key: certificate ? certificate.key : SSHKey.fromPublicBlob(found.keyBlob),
    certificate,
    serverVersion: conn.engine.transport.peerVersion?.line,
  };
}

/**
 * The authentication methods a server offers `username` (AsyncSSH's
 * `get_server_auth_methods`): the "none" request's answer, e.g.
 * `["publickey", "password"]`. Empty when the server let the user in with
 * "none". The host key is checked as `connect()` checks it (known_hosts by
 * default; pass `hostKeyVerifier` or `knownHosts: null` to skip).
 *
 * @example
 * ```ts ignore
 * const methods = await getServerAuthMethods("127.0.0.1", { port: 2222, username: "me" });
 * if (methods.includes("publickey")) console.log("keys work here");
 * ```
 */
export async function getServerAuthMethods(
  host: string,
  options: ProbeOptions & { readonly username?: string },
): Promise<string[]> {
  const { conn, signal, clear } = await startConnection(host, {
    ...options,
    clientKeys: [],
    agent: false,
    preferredAuth: [],
  });
  try {
    await conn.whenAuthenticated(signal);
    return [];
  } catch (e) {
    const methods = conn.engine.authMethods;
    if (!conn.engine.transport.algorithms || methods.length === 0) throw e;
    return [...methods];
  } finally {
    clear();
    await conn.shutdown(FAILED_CONNECT_GRACE_MS);
  }
}
