/**
 * Helpers for the client conformance tests: log in to a fixture, the two
 * OpenSSH peers, and a cipher each runtime is fast at.
 *
 * @module
 */

import type { PeerFixture, PeerName } from "./fixtures/mod.ts";
import { connect } from "../io/client/connect.ts";
import { type ConnectOptions } from "../io/client/options.ts";
import { type SSHClientConnection } from "../io/client/connection.ts";

/** The OpenSSH peers the client conformance tests run against (9.2 and 10.x). */
export const OPENSSH_PEERS: readonly PeerName[] = ["openssh", "openssh-trixie"];

/** The fastest cipher on this runtime (Deno's node:crypto AES-GCM is slow; see io/crypto/native_provider.ts). */
export function fastCipher(): string {
  return "Deno" in globalThis ? "chacha20-poly1305@openssh.com" : "aes128-gcm@openssh.com";
}

/**
 * Logs in to `f` as its test user with its first client key.
 *
 * @example
 * ```ts ignore
 * await using conn = await login(await sharedPeer("openssh"));
 * ```
 */
export function login(
  f: PeerFixture,
  options: ConnectOptions = {},
): Promise<SSHClientConnection> {
  return connect(f.host, {
    port: f.port,
    username: f.user.name,
    clientKeys: [f.clientKeys[0]!.privateKeyText],
    knownHosts: f.knownHostsPath,
    kexAlgs: ["curve25519-sha256"],
    ...options,
  });
}
