/**
 * HMAC-SHA1/SHA2 packet MACs over @noble/hashes, for the portable provider.
 *
 * The keyed state (inner and outer pads already absorbed) is built once per
 * direction; each packet clones it into a reused working state with noble's
 * `_cloneInto` (its documented way to copy a hash state without allocating),
 * so the per-packet cost is the hashing itself.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import type { PacketMac } from "./cipher_mac.ts";

/** Digest names of the HMACs we implement. */
export type HmacHash = "sha1" | "sha256" | "sha512";

/** The hash behind each HMAC we implement, by digest name. */
const HASHES = { sha1, sha256, sha512 } as const;

/**
 * The digest of an SSH HMAC wire name ("hmac-sha2-256-etm@openssh.com" → "sha256"),
 * or undefined when it is not one of ours.
 *
 * @example
 * ```ts
 * import { hmacHashOf } from "./noble_hmac.ts";
 * console.log(hmacHashOf("hmac-sha2-512")); // "sha512"
 * ```
 */
export function hmacHashOf(macName: string): HmacHash | undefined {
  switch (macName) {
    case "hmac-sha2-256":
    case "hmac-sha2-256-etm@openssh.com":
      return "sha256";
    case "hmac-sha2-512":
    case "hmac-sha2-512-etm@openssh.com":
      return "sha512";
    case "hmac-sha1":
    case "hmac-sha1-etm@openssh.com":
      return "sha1";
    default:
      return undefined;
  }
}

/** The part of noble's keyed HMAC state we use. */
interface Hmac {
  readonly outputLen: number;
  update(data: Uint8Array): unknown;
  digestInto(out: Uint8Array): void;
  clone(): Hmac;
  _cloneInto(to?: Hmac): Hmac;
}

/**
 * An HMAC over `uint32 seq || data` with a reusable keyed state.
 *
 * @example
 * ```ts
 * import { NobleHmac } from "./noble_hmac.ts";
 * const mac = new NobleHmac("sha256", new Uint8Array(32));
 * const out = new Uint8Array(32);
 * mac.compute(7, new Uint8Array(16), 0, 16, out);
 * ```
 */
export class NobleHmac implements PacketMac {
  readonly length: number;
  readonly #keyed: Hmac;
  #work: Hmac;
  readonly #seq = new Uint8Array(4);
  readonly #digest: Uint8Array;

  /** Keys the HMAC once. */
  constructor(hash: HmacHash, key: Uint8Array) {
    this.#keyed = hmac.create(HASHES[hash], key) as unknown as Hmac;
    this.#work = this.#keyed.clone();
    this.length = this.#keyed.outputLen;
    this.#digest = new Uint8Array(this.length);
  }

  /** Writes the MAC of `uint32(seq) || data[start..end]` to `out[0..length]`. */
  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
    const s = this.#seq;
    s[0] = seq >>> 24, s[1] = (seq >>> 16) & 0xff, s[2] = (seq >>> 8) & 0xff, s[3] = seq & 0xff;
    const w = (this.#work = this.#keyed._cloneInto(this.#work));
    w.update(s);
    w.update(data.subarray(start, end));
    w.digestInto(this.#digest);
    out.set(this.#digest);
  }
}
