/**
 * The hash functions of the kex methods and the part of the exchange hash every
 * method shares (RFC 4253 §8): `string V_C, string V_S, string I_C, string I_S,
 * string K_S`.
 *
 * @module
 */

import { sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { SSHWriter, utf8 } from "../wire.ts";
import type { KexContext, KexHashName } from "./types.ts";

/**
 * Output length of each kex hash, in bytes.
 *
 * @example
 * ```ts
 * import { KEX_HASH_LENGTH } from "./hash.ts";
 * console.log(KEX_HASH_LENGTH.sha512); // 64
 * ```
 */
export const KEX_HASH_LENGTH: Readonly<Record<KexHashName, number>> = Object.freeze({
  sha1: 20,
  sha224: 28,
  sha256: 32,
  sha384: 48,
  sha512: 64,
});

/** The kex hashes, one-shot and synchronous (so the engine stays sans-IO). */
export interface KexHashBackend {
  /** Names the backend (for reporting: "noble", "node:crypto"). */
  readonly name: string;
  /** The digest of `data`. */
  digest(name: KexHashName, data: Uint8Array): Uint8Array;
}

/** The portable backend (`@noble/hashes`). */
export const NOBLE_KEX_HASH: KexHashBackend = Object.freeze({
  name: "noble",
  digest(name: KexHashName, data: Uint8Array): Uint8Array {
    switch (name) {
      case "sha1":
        return sha1(data);
      case "sha224":
        return sha224(data);
      case "sha256":
        return sha256(data);
      case "sha384":
        return sha384(data);
      case "sha512":
        return sha512(data);
    }
  },
});

let backend: KexHashBackend = NOBLE_KEX_HASH;

/**
 * Installs a backend for every later kex hash (null: back to noble). `io/` registers
 * node:crypto's after checking known answers; this does not check.
 *
 * @example
 * ```ts
 * import { NOBLE_KEX_HASH, registerKexHashBackend } from "./hash.ts";
 * registerKexHashBackend(NOBLE_KEX_HASH);
 * ```
 */
export function registerKexHashBackend(b: KexHashBackend | null): void {
  backend = b ?? NOBLE_KEX_HASH;
}

/**
 * The backend in use.
 *
 * @example
 * ```ts
 * import { kexHashBackend } from "./hash.ts";
 * console.log(kexHashBackend().name); // "noble" unless io/ registered another
 * ```
 */
export function kexHashBackend(): KexHashBackend {
  return backend;
}

/**
 * Hashes `data` with the named kex hash (the exchange hash, key derivation).
 *
 * @example
 * ```ts
 * import { kexDigest } from "./hash.ts";
 * console.log(kexDigest("sha256", new Uint8Array(0)).length); // 32
 * ```
 */
export function kexDigest(name: KexHashName, data: Uint8Array): Uint8Array {
  return backend.digest(name, data);
}

/**
 * Starts the exchange hash input: the version strings, both KEXINIT payloads
 * (message number included) and the host key blob, each as an SSH `string`.
 *
 * @example
 * ```ts
 * import { exchangeHashWriter } from "./hash.ts";
 * const ctx = {
 *   clientVersion: "SSH-2.0-a", serverVersion: "SSH-2.0-b",
 *   clientKexInit: new Uint8Array([20]), serverKexInit: new Uint8Array([20]),
 *   random: (n: number) => new Uint8Array(n),
 * };
 * console.log(exchangeHashWriter(ctx, new Uint8Array(0)).length); // 40
 * ```
 */
export function exchangeHashWriter(ctx: KexContext, hostKeyBlob: Uint8Array): SSHWriter {
  return new SSHWriter(
    ctx.clientKexInit.length + ctx.serverKexInit.length + hostKeyBlob.length + 2048,
  )
    .writeString(utf8(ctx.clientVersion))
    .writeString(utf8(ctx.serverVersion))
    .writeString(ctx.clientKexInit)
    .writeString(ctx.serverKexInit)
    .writeString(hostKeyBlob);
}
