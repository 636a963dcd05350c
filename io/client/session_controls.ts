/**
 * libssh2's session controls, as values and small functions: the algorithm
 * lists per kind (default and supported, and what this run time can actually
 * do), the negotiated method per kind and direction, and the host key hash as
 * raw bytes. {@link SSHClientConnection} wraps them as methods.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { DEFAULT_COMPRESSION, SUPPORTED_COMPRESSION } from "../../core/compression/registry.ts";
import {
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  SUPPORTED_CIPHERS,
  SUPPORTED_MACS,
} from "../../core/crypto/registry.ts";
import { DEFAULT_KEX, SUPPORTED_KEX } from "../../core/kex/registry.ts";
import {
  DEFAULT_HOST_KEY_ALGORITHMS,
  DEFAULT_PUBLIC_KEY_ALGORITHMS,
  SUPPORTED_HOST_KEY_ALGORITHMS,
  SUPPORTED_SIGNATURE_ALGORITHMS,
} from "../../core/publickey/algorithms.ts";
import type { NegotiatedAlgorithms } from "../../core/transport/kexinit.ts";
import { defaultSuite } from "../crypto/suite.ts";

/**
 * A kind of algorithm a connection negotiates (libssh2's `LIBSSH2_METHOD_*`):
 * key exchange, host key, cipher, MAC, compression, and the user signature
 * algorithms offered in publickey authentication.
 */
export type AlgorithmKind = "kex" | "hostKey" | "cipher" | "mac" | "compression" | "signature";

/** Every {@link AlgorithmKind}, in libssh2's order. */
export const ALGORITHM_KINDS: readonly AlgorithmKind[] = Object.freeze([
  "kex",
  "hostKey",
  "cipher",
  "mac",
  "compression",
  "signature",
]);

/**
 * The default algorithms per kind, most preferred first (OpenSSH's order). `connect()`
 * offers these, except that on Node and Bun, where native AES-GCM runs on a CPU with
 * AES instructions, it puts AES-GCM before chacha20-poly1305 (half the CPU per byte).
 *
 * @example
 * ```ts
 * import { DEFAULT_ALGORITHMS } from "@sshts/ssh";
 * console.log(DEFAULT_ALGORITHMS.cipher[0]); // "chacha20-poly1305@openssh.com"
 * ```
 */
export const DEFAULT_ALGORITHMS: Readonly<Record<AlgorithmKind, readonly string[]>> = Object
  .freeze({
    kex: DEFAULT_KEX,
    hostKey: DEFAULT_HOST_KEY_ALGORITHMS,
    cipher: DEFAULT_CIPHERS,
    mac: DEFAULT_MACS,
    compression: DEFAULT_COMPRESSION,
    signature: DEFAULT_PUBLIC_KEY_ALGORITHMS,
  });

/**
 * Everything the library implements, per kind: the defaults plus the legacy
 * algorithms one can enable by naming them (e.g. `kexAlgs`, `encryptionAlgs`).
 *
 * @example
 * ```ts
 * import { SUPPORTED_ALGORITHMS } from "@sshts/ssh";
 * console.log(SUPPORTED_ALGORITHMS.cipher.includes("aes128-cbc")); // true
 * ```
 */
export const SUPPORTED_ALGORITHMS: Readonly<Record<AlgorithmKind, readonly string[]>> = Object
  .freeze({
    kex: SUPPORTED_KEX,
    hostKey: SUPPORTED_HOST_KEY_ALGORITHMS,
    cipher: SUPPORTED_CIPHERS,
    mac: SUPPORTED_MACS,
    compression: SUPPORTED_COMPRESSION,
    signature: SUPPORTED_SIGNATURE_ALGORITHMS,
  });

/**
 * The algorithms of `kind` this run time can use now (libssh2's
 * `session_supported_algs`): the supported list, less what the algorithm
 * suite cannot find (a cipher or kex whose implementation is missing here).
 *
 * @example
 * ```ts
 * import { supportedAlgorithms } from "@sshts/ssh";
 * console.log(supportedAlgorithms("mac").includes("hmac-sha2-256")); // true
 * ```
 */
export function supportedAlgorithms(kind: AlgorithmKind): string[] {
  const suite = defaultSuite();
  const all = SUPPORTED_ALGORITHMS[kind];
  switch (kind) {
    case "kex":
      return all.filter((n) => suite.kex(n) !== undefined);
    case "cipher":
      return all.filter((n) => suite.cipher(n) !== undefined);
    case "mac":
      return all.filter((n) => suite.mac(n) !== undefined);
    default:
      return [...all];
  }
}

/** A direction of traffic: client to server or server to client. */
export type Direction = "c2s" | "s2c";

/**
 * The method the last key exchange agreed on for `kind` and `direction`
 * (libssh2's `session_methods`); the direction matters for cipher, MAC and
 * compression only. Undefined before the first exchange; "" for the MAC of an
 * AEAD cipher. "signature" is not negotiated in KEXINIT: undefined.
 *
 * @example
 * ```ts
 * import { negotiatedMethod } from "@sshts/ssh";
 * console.log(negotiatedMethod(null, "cipher")); // undefined
 * ```
 */
export function negotiatedMethod(
  algorithms: NegotiatedAlgorithms | null,
  kind: AlgorithmKind,
  direction: Direction = "c2s",
): string | undefined {
  if (!algorithms) return undefined;
  const c2s = direction === "c2s";
  switch (kind) {
    case "kex":
      return algorithms.kex;
    case "hostKey":
      return algorithms.hostKey;
    case "cipher":
      return c2s ? algorithms.cipherC2S : algorithms.cipherS2C;
    case "mac":
      return c2s ? algorithms.macC2S : algorithms.macS2C;
    case "compression":
      return c2s ? algorithms.compressionC2S : algorithms.compressionS2C;
    default:
      return undefined;
  }
}

/** A host key hash libssh2 offers (`LIBSSH2_HOSTKEY_HASH_MD5`, `_SHA1`, `_SHA256`). */
export type HostKeyHashKind = "md5" | "sha1" | "sha256";

/**
 * The hash of a host key blob as raw bytes (libssh2's `hostkey_hash`); null
 * without a blob. SHA-256 base64 without padding is what `ssh` prints.
 *
 * @example
 * ```ts
 * import { hashHostKey } from "@sshts/ssh";
 * console.log(hashHostKey(new Uint8Array([1]), "sha256")?.length); // 32
 * ```
 */
export function hashHostKey(blob: Uint8Array | null, kind: HostKeyHashKind): Uint8Array | null {
  if (!blob) return null;
  if (kind !== "md5" && kind !== "sha1" && kind !== "sha256") {
    throw new TypeError(`Unknown host key hash ${String(kind)}`);
  }
  return new Uint8Array(createHash(kind).update(blob).digest());
}
