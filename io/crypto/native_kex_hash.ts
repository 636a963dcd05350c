/**
 * The kex hashes (exchange hash, key derivation) from `node:crypto`: a login hashes a few
 * kilobytes (both KEXINITs and the keys) and derives six keys, which `@noble/hashes` does in
 * JavaScript at a fifth of the speed on the larger inputs (a 3 KB SHA-256: 39 µs against 8).
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  KEX_HASH_LENGTH,
  type KexHashBackend,
  registerKexHashBackend,
} from "../../core/kex/hash.ts";
import type { KexHashName } from "../../core/kex/types.ts";
import { concatBytes, toHex } from "../../core/wire.ts";

/** The node:crypto backend (not yet checked: see {@link registerNativeKexHash}). */
export const NODE_KEX_HASH: KexHashBackend = Object.freeze({
  name: "node:crypto",
  digest(name: KexHashName, data: Uint8Array): Uint8Array {
    // The kex hash names are node:crypto's names for them.
    const d = createHash(name).update(data).digest();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  },
});

/**
 * Each hash's known answer: H(pattern ‖ H("abc" ‖ H(""))), with pattern the 1,000 bytes
 * (31·i + 7) mod 256 — an empty, a short and a multi-block input in one chain. Fixed
 * answers rather than the portable hashes' own: their first run would cost a process
 * 10 ms of compiling (the tests check these against `@noble/hashes`).
 */
export const KEX_HASH_KNOWN_ANSWERS: Readonly<Record<KexHashName, string>> = Object.freeze({
  sha1: "003bc98117350b69b73a712f9749bf92d89a457b",
  sha224: "37855168c05fbe8a32463d72eedbe1cd2913da4bb41fc4ef58eb9d82",
  sha256: "59be72ef473d5c41ffe8f88f0cb1accf5e178172810787509d26245cc7814a54",
  sha384:
    "251844a2110ef20861387774eb149193468ba9372b678cc0d3468e44712268ae5365cd5003d661610248db4645783688",
  sha512:
    "5f557e0bd4bd2967188fd0aa62e95b1bde5a1696f86aca122c753860f0785567a70a709361d899f412245df245db3852894968fa925b30042959fd0e4b055588",
});

/**
 * The chain of {@link KEX_HASH_KNOWN_ANSWERS} through `backend`, as hex.
 *
 * @example
 * ```ts
 * import { NOBLE_KEX_HASH } from "../../core/kex/hash.ts";
 * import { KEX_HASH_KNOWN_ANSWERS, knownAnswerChain } from "./native_kex_hash.ts";
 * console.log(knownAnswerChain(NOBLE_KEX_HASH, "sha256") === KEX_HASH_KNOWN_ANSWERS.sha256); // true
 * ```
 */
export function knownAnswerChain(backend: KexHashBackend, name: KexHashName): string {
  const pattern = new Uint8Array(1000);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 31 + 7) & 0xff;
  const h1 = backend.digest(name, new Uint8Array(0));
  const h2 = backend.digest(name, concatBytes(new Uint8Array([0x61, 0x62, 0x63]), h1));
  return toHex(backend.digest(name, concatBytes(pattern, h2)));
}

/**
 * Installs the node:crypto kex hashes when this runtime has them and they give the
 * {@link KEX_HASH_KNOWN_ANSWERS}; returns the backend's name, or undefined when the portable
 * one stays.
 *
 * @example
 * ```ts
 * import { registerNativeKexHash } from "./native_kex_hash.ts";
 * console.log(registerNativeKexHash()); // "node:crypto" on Node, Deno and Bun
 * ```
 */
export function registerNativeKexHash(): string | undefined {
  try {
    for (const name of Object.keys(KEX_HASH_LENGTH) as KexHashName[]) {
      if (knownAnswerChain(NODE_KEX_HASH, name) !== KEX_HASH_KNOWN_ANSWERS[name]) return undefined;
    }
  } catch {
    return undefined; // a runtime without one of the hashes
  }
  registerKexHashBackend(NODE_KEX_HASH);
  return NODE_KEX_HASH.name;
}
