/**
 * Injected randomness. The engines never call a global random source directly:
 * they take a {@link RandomSource}, so tests can replay a handshake byte for byte.
 *
 * @module
 */

import { chacha20 } from "@noble/ciphers/chacha.js";

/** Returns `n` random bytes. */
export type RandomSource = (n: number) => Uint8Array;

/**
 * The default source: the platform's CSPRNG (`crypto.getRandomValues`, a web
 * platform API present in every runtime and browser); requests of up to 256 bytes come
 * from a 4 KiB draw of it, each byte handed out once.
 *
 * @example
 * ```ts
 * import { systemRandom } from "@sshts/ssh/core";
 * console.log(systemRandom(16).length); // 16
 * ```
 */
export const systemRandom: RandomSource = (n: number): Uint8Array => {
  // Only whole sizes from the pool: a negative or fractional one must never move its
  // position back over bytes already handed out (new Uint8Array refuses it below instead).
  if (Number.isInteger(n) && n >= 0 && n <= POOLED_REQUEST_MAX) return fromPool(n);
  const out = new Uint8Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let o = 0; o < n; o += 65536) {
    crypto.getRandomValues(out.subarray(o, Math.min(n, o + 65536)));
  }
  return out;
};

/**
 * Small requests (a KEXINIT cookie, the first padding draw of each direction, a salt, an
 * ephemeral key) are served from one draw of the CSPRNG: Node's `getRandomValues` costs
 * about 4 µs a call whatever the size (0.1–0.5 on Bun and Deno). Bytes are zeroed in the
 * pool as they are handed out, so it never holds what a caller already has; it does hold up
 * to 4 KiB of bytes not yet handed out, as OpenSSL's generator holds its state. (A V8 startup
 * snapshot taken after a small request would carry those bytes to every process started from
 * it: take snapshots before any connection or key generation.)
 */
const POOL_BYTES = 4096;
const POOLED_REQUEST_MAX = 256;
const pool = new Uint8Array(POOL_BYTES);
let poolAt = POOL_BYTES;

function fromPool(n: number): Uint8Array {
  if (poolAt + n > POOL_BYTES) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const out = pool.slice(poolAt, poolAt + n);
  pool.fill(0, poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/**
 * A deterministic source for tests: a ChaCha20 keystream from a seed. Never use
 * it for real connections.
 *
 * @example Two sources with the same seed agree
 * ```ts
 * import { seededRandom } from "@sshts/ssh/core";
 * const a = seededRandom(1), b = seededRandom(1);
 * console.log(a(8).join() === b(8).join()); // true
 * ```
 */
export function seededRandom(seed: number | Uint8Array): RandomSource {
  const key = new Uint8Array(32);
  if (typeof seed === "number") new DataView(key.buffer).setUint32(0, seed >>> 0);
  else key.set(seed.subarray(0, 32));
  const nonce = new Uint8Array(12);
  let counter = 0;
  let pool = new Uint8Array(0);
  let pos = 0;
  return (n) => {
    const out = new Uint8Array(n);
    let o = 0;
    while (o < n) {
      if (pos >= pool.length) {
        pool = chacha20(key, nonce, new Uint8Array(4096), undefined, counter);
        counter += 64;
        pos = 0;
      }
      const take = Math.min(n - o, pool.length - pos);
      out.set(pool.subarray(pos, pos + take), o);
      o += take;
      pos += take;
    }
    return out;
  };
}
