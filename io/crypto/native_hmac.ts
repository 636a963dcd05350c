/**
 * HMAC (SHA-1, SHA-2) through `node:crypto`, for the packet MACs.
 *
 * @module
 */

import { createHash, createHmac, createSecretKey, type Hash, type KeyObject } from "node:crypto";
import type { PacketMac } from "../../core/crypto/cipher_mac.ts";
import { type HmacHash, NobleHmac } from "../../core/crypto/noble_hmac.ts";
import { currentRuntime } from "../runtime/env.ts";

/**
 * HMAC over `uint32 seq || data` natively. Two ways, picked per runtime by
 * measurement: `createHmac` with a `KeyObject` imported once (fastest on Node),
 * or copying two pre-keyed hash states — H(K⊕opad || H(K⊕ipad || m)), RFC 2104 —
 * which is 2× faster than `createHmac` on Deno and equal on Bun. Inputs shorter
 * than `threshold` go to the portable HMAC (same result).
 */
export class NativeHmac implements PacketMac {
  readonly length: number;
  readonly #hash: string;
  readonly #key: KeyObject | null;
  readonly #inner: Hash | null;
  readonly #outer: Hash | null;
  readonly #seq = new Uint8Array(4);
  readonly #small: NobleHmac;
  readonly #threshold: number;

  /** Keys the MAC; inputs shorter than `threshold` bytes go to the portable HMAC. */
  constructor(hash: HmacHash, key: Uint8Array, threshold: number) {
    this.#hash = hash;
    this.#small = new NobleHmac(hash, key);
    this.#threshold = threshold;
    this.length = this.#small.length;
    if (currentRuntime() === "node") {
      this.#key = createSecretKey(key);
      this.#inner = this.#outer = null;
      return;
    }
    this.#key = null;
    const blockLen = hash === "sha512" ? 128 : 64;
    const k = new Uint8Array(blockLen);
    k.set(key.length > blockLen ? createHash(hash).update(key).digest() : key);
    for (let i = 0; i < blockLen; i++) k[i]! ^= 0x36;
    this.#inner = createHash(hash).update(k);
    for (let i = 0; i < blockLen; i++) k[i]! ^= 0x36 ^ 0x5c;
    this.#outer = createHash(hash).update(k);
    k.fill(0);
  }

  /** Writes the MAC of `uint32 seq || data[start..end]` to `out`. */
  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
    if (end - start < this.#threshold) return this.#small.compute(seq, data, start, end, out);
    const s = this.#seq;
    s[0] = seq >>> 24, s[1] = (seq >>> 16) & 0xff, s[2] = (seq >>> 8) & 0xff, s[3] = seq & 0xff;
    const body = data.subarray(start, end);
    if (this.#key !== null) {
      out.set(createHmac(this.#hash, this.#key).update(s).update(body).digest());
      return;
    }
    const inner = this.#inner!.copy().update(s).update(body).digest();
    out.set(this.#outer!.copy().update(inner).digest());
  }

  /** Writes the MAC of `uint32 seq || a || b` to `out` (for detached ETM sealing). */
  compute2(seq: number, a: Uint8Array, b: Uint8Array, out: Uint8Array): void {
    if (a.length + b.length < this.#threshold) {
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      return this.#small.compute(seq, joined, 0, joined.length, out);
    }
    const s = this.#seq;
    s[0] = seq >>> 24, s[1] = (seq >>> 16) & 0xff, s[2] = (seq >>> 8) & 0xff, s[3] = seq & 0xff;
    if (this.#key !== null) {
      out.set(createHmac(this.#hash, this.#key).update(s).update(a).update(b).digest());
      return;
    }
    const inner = this.#inner!.copy().update(s).update(a).update(b).digest();
    out.set(this.#outer!.copy().update(inner).digest());
  }
}
