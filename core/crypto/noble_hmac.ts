/**
 * HMAC packet MACs (MD5, SHA-1, SHA-2) over @noble/hashes, for the portable
 * provider, including the truncated "-96" forms (RFC 4253 §6.4: the first 12
 * bytes of the HMAC).
 *
 * The keyed state (inner and outer pads already absorbed) is built once per
 * direction; each packet clones it into a reused working state with noble's
 * `_cloneInto` (its documented way to copy a hash state without allocating),
 * so the per-packet cost is the hashing itself.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { PacketMac } from "./cipher_mac.ts";

/** Digest names of the HMACs we implement. */
export type HmacHash = "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

/** The hash behind each HMAC we implement, by digest name. */
const HASHES = { md5, sha1, sha224, sha256, sha384, sha512 } as const;

/** The digest of each HMAC wire name that is not one of the common ones below. */
const LEGACY_HASHES: Readonly<Record<string, HmacHash>> = {
  "hmac-md5": "md5",
  "hmac-md5-etm@openssh.com": "md5",
  "hmac-md5-96": "md5",
  "hmac-md5-96-etm@openssh.com": "md5",
  "hmac-sha1-96": "sha1",
  "hmac-sha1-96-etm@openssh.com": "sha1",
  "hmac-sha2-256-96": "sha256",
  "hmac-sha2-256-96-etm@openssh.com": "sha256",
  "hmac-sha2-512-96": "sha512",
  "hmac-sha2-512-96-etm@openssh.com": "sha512",
  "hmac-sha224@ssh.com": "sha224",
  "hmac-sha256@ssh.com": "sha256",
  "hmac-sha256-2@ssh.com": "sha256",
  "hmac-sha384@ssh.com": "sha384",
  "hmac-sha512@ssh.com": "sha512",
};

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
      return Object.hasOwn(LEGACY_HASHES, macName) ? LEGACY_HASHES[macName] : undefined;
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
 * An HMAC over `uint32 seq || data` with a reusable keyed state, optionally
 * truncated to its first `length` bytes.
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

  /** Keys the HMAC once; `length` (default: the digest length) truncates the output. */
  constructor(hash: HmacHash, key: Uint8Array, length?: number) {
    this.#keyed = hmac.create(HASHES[hash], key) as unknown as Hmac;
    this.#work = this.#keyed.clone();
    const full = this.#keyed.outputLen;
    if (length !== undefined && (!Number.isInteger(length) || length < 1 || length > full)) {
      throw new RangeError(
        `HMAC-${hash} output can be truncated to 1..${full} bytes, not ${length}`,
      );
    }
    this.length = length ?? full;
    this.#digest = new Uint8Array(full);
  }

  /** Writes the MAC of `uint32(seq) || data[start..end]` to `out[0..length]`. */
  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
    const s = this.#seq;
    s[0] = seq >>> 24, s[1] = (seq >>> 16) & 0xff, s[2] = (seq >>> 8) & 0xff, s[3] = seq & 0xff;
    const w = (this.#work = this.#keyed._cloneInto(this.#work));
    w.update(s);
    w.update(data.subarray(start, end));
    w.digestInto(this.#digest);
    if (this.length === this.#digest.length) out.set(this.#digest);
    else out.set(this.#digest.subarray(0, this.length));
  }
}
