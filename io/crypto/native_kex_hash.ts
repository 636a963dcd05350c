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
  NOBLE_KEX_HASH,
  registerKexHashBackend,
} from "../../core/kex/hash.ts";
import type { KexHashName } from "../../core/kex/types.ts";

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
 * Installs the node:crypto kex hashes when this runtime has them and they give the same
 * digests as the portable ones (empty, short and multi-block inputs, every hash); returns the
 * backend's name, or undefined when the portable one stays.
 *
 * @example
 * ```ts
 * import { registerNativeKexHash } from "./native_kex_hash.ts";
 * console.log(registerNativeKexHash()); // "node:crypto" on Node, Deno and Bun
 * ```
 */
export function registerNativeKexHash(): string | undefined {
  try {
    const inputs = [new Uint8Array(0), new TextEncoder().encode("abc"), new Uint8Array(1000)];
    inputs[2]!.forEach((_, i, a) => (a[i] = (i * 31 + 7) & 0xff));
    for (const name of Object.keys(KEX_HASH_LENGTH) as KexHashName[]) {
      for (const data of inputs) {
        const a = NODE_KEX_HASH.digest(name, data), b = NOBLE_KEX_HASH.digest(name, data);
        if (a.length !== b.length || a.some((v, i) => v !== b[i])) return undefined;
      }
    }
  } catch {
    return undefined; // a runtime without one of the hashes
  }
  registerKexHashBackend(NODE_KEX_HASH);
  return NODE_KEX_HASH.name;
}
