/**
 * The default algorithm suite: the kex methods, ciphers, MACs, compression and
 * signature checks of `core/`, wired into the {@link TransportSuite} seam, plus
 * the default preference lists (OpenSSH's order).
 *
 * @module
 */

import { createCompressor, createDecompressor, DEFAULT_COMPRESSION } from "../compression/mod.ts";
import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  getCipherInfo,
  getMacInfo,
  getPacketProtection,
} from "../crypto/registry.ts";
import { deriveDirectionKeys } from "../kex/derive.ts";
import { DEFAULT_KEX, getKexMethod } from "../kex/registry.ts";
import {
  checkKeyBlobSignature,
  DEFAULT_HOST_KEY_ALGORITHMS,
  DEFAULT_PUBLIC_KEY_ALGORITHMS,
  verifyKeyBlobSignature,
} from "../publickey/mod.ts";
import type { TransportSuite } from "../transport/suite.ts";
import type { AlgorithmPreferences } from "../transport/transport.ts";

/**
 * Verifies `signature` over `data` with the key in `keyBlob`, requiring
 * `algorithm`: plain keys, OpenSSH certificates (the certified key signs) and
 * X.509 (`x509v3-*`). False on any problem. Certificate trust is the caller's
 * decision (the host key verifier, the server's public key check).
 *
 * @example
 * ```ts
 * import { verifyWithBlob } from "@sshts/ssh/core";
 * console.log(verifyWithBlob("ssh-ed25519", new Uint8Array(0), new Uint8Array(0), new Uint8Array(0))); // false
 * ```
 */
export function verifyWithBlob(
  algorithm: string,
  keyBlob: Uint8Array,
  signature: Uint8Array,
  data: Uint8Array,
): boolean {
  return verifyKeyBlobSignature(algorithm, keyBlob, signature, data);
}

/**
 * Creates the default suite. `packetProtection` defaults to the registry's best
 * provider per algorithm (native ones win where `io/` registered them).
 *
 * @example
 * ```ts
 * import { createDefaultSuite } from "@sshts/ssh/core";
 * const suite = createDefaultSuite();
 * console.log(suite.kex("curve25519-sha256")?.hash); // "sha256"
 * ```
 */
export function createDefaultSuite(options: { provider?: string } = {}): TransportSuite {
  const protection = () =>
    getPacketProtection(options.provider ? { provider: options.provider } : {});
  return {
    kex: getKexMethod,
    cipher: getCipherInfo,
    mac: getMacInfo,
    createSealer: (c, m, k) => protection().createSealer(c, m, k),
    createOpener: (c, m, k) => protection().createOpener(c, m, k),
    createCompressor: (name) => (name === "none" ? null : createCompressor(name)),
    createDecompressor: (name) => (name === "none" ? null : createDecompressor(name)),
    deriveKeys: deriveDirectionKeys,
    verifyHostKeySignature: verifyWithBlob,
    verifyUserSignature: checkKeyBlobSignature,
  };
}

/**
 * The default preference lists, most preferred first.
 *
 * @example
 * ```ts
 * import { defaultAlgorithmPreferences } from "@sshts/ssh/core";
 * console.log(defaultAlgorithmPreferences().kex[0]);
 * ```
 */
export function defaultAlgorithmPreferences(): AlgorithmPreferences {
  return {
    kex: DEFAULT_KEX,
    hostKey: DEFAULT_HOST_KEY_ALGORITHMS,
    cipher: DEFAULT_CIPHERS,
    mac: DEFAULT_MACS,
    compression: DEFAULT_COMPRESSION,
  };
}

/** Signature algorithms a server announces in server-sig-algs. */
export function defaultServerSigAlgs(): readonly string[] {
  return DEFAULT_PUBLIC_KEY_ALGORITHMS;
}
