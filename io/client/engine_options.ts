/**
 * The client engine's options from `connect()`'s: keys offered, methods
 * enabled, algorithm preferences, rekeying and keepalive settings.
 *
 * @module
 */

import type { ClientPublicKey } from "../../core/auth/client_auth.ts";
import type { ClientConnectionOptions } from "../../core/client/client_connection.ts";
import type { AlgorithmPreferences } from "../../core/transport/transport.ts";
import { defaultAlgorithms, defaultSuite } from "../crypto/suite.ts";
import { localUsername } from "../runtime/env.ts";
import { clientHostKey } from "./auth.ts";
import type { ResolvedConnectOptions } from "./options.ts";

/**
 * What the client engine is built with for `options` (the user defaults to the local one).
 * With `asyncKex` set: whoever drives the engine answers its `kexWait` events, as
 * `EngineDriver` does (io/engine/driver.ts).
 *
 * @example
 * ```ts ignore
 * const engine = new ClientConnection(clientEngineOptions({ ...options, clientKeys: [] }));
 * ```
 */
export function clientEngineOptions(
  options: ResolvedConnectOptions,
): ClientConnectionOptions & { readonly username: string } {
  const staged = options.authenticate !== undefined;
  const username = options.username ?? localUsername();
  const keys = staged ? [] : options.clientKeys ?? [];
  const publicKeys: ClientPublicKey[] = keys.map((k) => ({
    keyType: k.keyType,
    publicKeyBlob: k.publicKeyBlob,
    ...(k.query ? { query: true } : {}),
  }));
  const algs = defaultAlgorithms();
  const algorithms: AlgorithmPreferences = {
    kex: options.kexAlgs ?? algs.kex,
    hostKey: options.serverHostKeyAlgs ?? algs.hostKey,
    cipher: options.encryptionAlgs ?? algs.cipher,
    mac: options.macAlgs ?? algs.mac,
    compression: options.compressionAlgs ?? algs.compression,
  };
  const hb = options.hostBasedResolved;
  return {
    username,
    publicKeys,
    ...(hb && !staged ? { hostKeys: [clientHostKey(hb, username)] } : {}),
    ...(staged ? { staged: true } : {}),
    ...(options.clientSignatureAlgs ? { signatureAlgorithms: options.clientSignatureAlgs } : {}),
    password: options.password !== undefined,
    keyboardInteractive: options.password !== undefined || options.kbdintResponses !== undefined,
    suite: defaultSuite(),
    algorithms,
    // ChannelIO copies lent data where it keeps it (see ChannelIO's #deliver).
    borrowChannelData: true,
    // The driver answers kexWait events (WebCrypto's ML-KEM on Deno and Bun).
    asyncKex: true,
    ...(options.preferredAuth ? { preferredMethods: options.preferredAuth } : {}),
    ...(options.random ? { random: options.random } : {}),
    ...(options.clientVersion !== undefined ? { softwareVersion: options.clientVersion } : {}),
    ...(options.kbdintSubmethods !== undefined
      ? {
        kbdintSubmethods: typeof options.kbdintSubmethods === "string"
          ? options.kbdintSubmethods
          : options.kbdintSubmethods.join(","),
      }
      : {}),
    ...(options.strictKex !== undefined ? { strictKex: options.strictKex } : {}),
    ...(options.requireStrictKex !== undefined
      ? { requireStrictKex: options.requireStrictKex }
      : {}),
    ...(options.rekeyBytes !== undefined ? { rekeyBytes: options.rekeyBytes } : {}),
    ...(options.rekeyInterval !== undefined ? { rekeyIntervalMs: options.rekeyInterval } : {}),
    ...(options.keepaliveInterval !== undefined
      ? { keepaliveIntervalMs: options.keepaliveInterval }
      : {}),
    ...(options.keepaliveCountMax !== undefined
      ? { keepaliveCountMax: options.keepaliveCountMax }
      : {}),
    ...(options.hostKeyRotation !== undefined || options.onHostKeysProved !== undefined
      ? { hostKeyRotation: options.hostKeyRotation ?? true }
      : {}),
  };
}
