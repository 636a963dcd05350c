/**
 * The native packet-protection provider ("node:crypto"): AES-CTR/CBC/GCM, HMAC
 * and the ChaCha20 keystream from `node:crypto` (OpenSSL or BoringSSL), which
 * Node, Deno and Bun all ship — each with its own gaps and speeds, so what exists
 * is probed at run time and what is faster is decided per runtime (see
 * {@link NATIVE_WINS}).
 *
 * Per-packet costs that shaped the code (measured on this machine, Node 24):
 * - `createCipheriv`/`createHmac` with a raw key cost ≈ 20 µs each; with a
 *   `KeyObject` made once per direction ≈ 4 µs. Keys are imported once.
 * - `createHmac` per packet is slower than copying two pre-keyed `Hash` states
 *   (inner and outer pad absorbed once): ≈ 6× for small packets, 1.5× at 32 KiB.
 * - A native cipher object for 4 bytes costs more than ChaCha20 in JS, so the
 *   chacha20-poly1305 length field and Poly1305 key come from our JS ChaCha20,
 *   and packets below a per-runtime threshold go to the portable path (which
 *   does the whole packet in WebAssembly where it can).
 * - No `node:crypto` API writes into a caller's buffer: every `update()` returns
 *   a new Buffer that is copied back into the packet (one allocation + one copy).
 * - There is no native Poly1305 (`createHmac("poly1305")` is refused on all three
 *   runtimes), so chacha20-poly1305 uses our WebAssembly Poly1305
 *   (core/crypto/wasm/), or our JS one where WebAssembly is unavailable.
 *
 * @module
 */

import {
  type CipherGCMTypes,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createSecretKey,
  type Hash,
  type KeyObject,
} from "node:crypto";
import { chacha20Block, ChaCha20Key, chacha20XorInPlace } from "../core/crypto/chacha20.ts";
import {
  CipherMacOpener,
  CipherMacSealer,
  type PacketMac,
  type PacketTransform,
} from "../core/crypto/cipher_mac.ts";
import { checkKeyLengths } from "../core/crypto/check_keys.ts";
import { constantTimeEqual } from "../core/crypto/constant_time.ts";
import { GcmOpener, GcmSealer } from "../core/crypto/noble_aes_gcm.ts";
import { type HmacHash, NobleHmac } from "../core/crypto/noble_hmac.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "../core/crypto/noble_chacha20_poly1305.ts";
import type { WasmMode } from "../core/crypto/wasm/kernels.ts";
import { createPoly1305, type Poly1305Mac } from "../core/crypto/wasm/poly1305_wasm.ts";
import { registerPacketProtection, unregisterPacketProtection } from "../core/crypto/registry.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "../core/crypto/types.ts";

/** The provider name native sealers and openers report. */
export const NATIVE_PROVIDER = "node:crypto";

/** The JavaScript runtimes this library runs on. */
export type Runtime = "node" | "deno" | "bun";

/**
 * The runtime this code runs on (Deno and Bun are recognised by their globals).
 *
 * @example
 * ```ts
 * import { currentRuntime } from "./native_crypto.ts";
 * console.log(currentRuntime()); // "deno", "node" or "bun"
 * ```
 */
export function currentRuntime(): Runtime {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return "deno";
  if (g.Bun !== undefined) return "bun";
  return "node";
}

/** Our cipher wire names → OpenSSL cipher names. */
const CIPHER_ALGORITHMS: Readonly<Record<string, string>> = {
  "chacha20-poly1305@openssh.com": "chacha20",
  "aes128-gcm@openssh.com": "aes-128-gcm",
  "aes256-gcm@openssh.com": "aes-256-gcm",
  "aes128-ctr": "aes-128-ctr",
  "aes192-ctr": "aes-192-ctr",
  "aes256-ctr": "aes-256-ctr",
  "aes128-cbc": "aes-128-cbc",
  "aes256-cbc": "aes-256-cbc",
};

/** Our MAC wire names → hash names. */
const MAC_HASHES: Readonly<Record<string, HmacHash>> = {
  "hmac-sha2-256-etm@openssh.com": "sha256",
  "hmac-sha2-512-etm@openssh.com": "sha512",
  "hmac-sha1-etm@openssh.com": "sha1",
  "hmac-sha2-256": "sha256",
  "hmac-sha2-512": "sha512",
  "hmac-sha1": "sha1",
};

/**
 * Where the native path beats the portable one, per runtime. Measured as the
 * best of 25–30 timed runs of one seal+open round trip of a 32 KiB payload (µs,
 * and MB/s of payload), portable → native, on this machine (2 shared cores;
 * bench/cipher_throughput.ts prints medians, which the machine's load halves):
 *
 * - Node 24: chacha20-poly1305 214 → 116 µs (153 → 282 MB/s; native ChaCha20 +
 *   our JS Poly1305, which is then the limit); aes128-gcm 826 → 20 µs
 *   (40 → 1,650); aes128-ctr + hmac-sha2-256-etm 977 → 79 µs (34 → 414).
 * - Deno 2.9: chacha20-poly1305 233 → 151 µs (141 → 217); aes128-gcm 761 →
 *   351 µs (43 → 93: Deno's GCM is slow, still 2× ours); aes128-ctr +
 *   hmac-sha2-256-etm 2,150 → 383 µs (15 → 86).
 * - Bun 1.4: no native ChaCha20 (`createCipheriv("chacha20")` throws, so the
 *   probe leaves it to the portable path); aes128-gcm 740 → 9.7 µs
 *   (44 → 3,380); aes128-ctr + hmac-sha2-256-etm 995 → 64 µs (33 → 515).
 *
 * The chacha20-poly1305 figures above predate the WebAssembly kernels
 * (core/crypto/wasm/). With them (seal+open of 32 KiB, MB/s, median of 9
 * interleaved runs, load ≈ 1.5): Node 24 native ChaCha20 + WebAssembly Poly1305
 * 436 against 289 all-WebAssembly (and 238 with the JS Poly1305); Deno 2.9 374
 * against 306 (206 with the JS Poly1305). Native ChaCha20 still wins at bulk
 * sizes, so it stays in this list; below {@link SMALL_PACKET_THRESHOLDS} the
 * all-WebAssembly path takes over.
 *
 * So every algorithm that is available natively wins on every runtime at bulk
 * sizes; small packets are routed by {@link SMALL_PACKET_THRESHOLDS}, not here.
 * Keep this table when a runtime regresses: drop the algorithm from its list.
 */
export const NATIVE_WINS: Readonly<Record<Runtime, readonly string[]>> = {
  node: Object.keys(CIPHER_ALGORITHMS),
  deno: Object.keys(CIPHER_ALGORITHMS),
  bun: Object.keys(CIPHER_ALGORITHMS),
};

/**
 * Sizes (bytes after the length field) below which the native provider hands
 * the work to the portable code — same bytes, same state — because the fixed
 * cost of a native call (object creation, crossing into C++) exceeds doing the
 * work in JS. From best-of-25 timings of seal+open per packet on this machine:
 *
 * - Node 24: GCM native 7.3 µs vs JS 3.3 µs at 64 B, 6.8 vs 8.4 at 256 B;
 *   ChaCha20-Poly1305 native 10.4 vs 9.4 µs at 1 KiB, 14.2 vs 16.0 at 2 KiB;
 *   HMAC-SHA-256 `createHmac(KeyObject)` 2.4 vs 1.7 µs at 64 B, 2.5 vs 2.9 at 256 B.
 * - Deno 2.9: GCM 24.2 vs 26.4 µs at 1 KiB (14 vs 24 at 512 B);
 *   ChaCha20-Poly1305 15.9 vs 17.5 µs at 2 KiB; HMAC (Hash.copy) 3.3 vs 3.2 at 256 B.
 * - Bun 1.4: native wins from the smallest packet (GCM 1.7 vs 2.9 µs at 64 B,
 *   HMAC 0.65 vs 1.95 µs).
 *
 * - ChaCha20-Poly1305 against the portable path in WebAssembly (SIMD ChaCha20 +
 *   Poly1305, one call per packet), seal+open MB/s, median of 9 interleaved runs:
 *   Node 24 fused WebAssembly 289 vs native ChaCha20 + WebAssembly Poly1305 252
 *   at 4 KiB, 340 vs 451 at 32 KiB; Deno 2.9: 315 vs 257 at 8 KiB, 326 vs 385
 *   at 32 KiB. Without WebAssembly, {@link CHACHA_JS_THRESHOLDS} apply.
 *
 * AES-CTR/CBC keep one native cipher per direction (no per-packet setup) and
 * win at every size, so only their MAC has a threshold.
 */
export const SMALL_PACKET_THRESHOLDS: Readonly<Record<Runtime, SmallPacketThresholds>> = {
  node: { gcm: 128, chacha: 4096, mac: 256 },
  deno: { gcm: 1024, chacha: 16384, mac: 256 },
  bun: { gcm: 0, chacha: 0, mac: 0 },
};

/**
 * The chacha20-poly1305 thresholds when the portable path is JavaScript (no
 * WebAssembly SIMD here, or `wasm: "poly1305"`/`"none"`): native ChaCha20-Poly1305
 * 10.4 vs JS 9.4 µs at 1 KiB, 14.2 vs 16.0 at 2 KiB on Node 24; 15.9 vs 17.5 µs
 * at 2 KiB on Deno 2.9 (best of 25, seal+open).
 *
 * @example
 * ```ts
 * import { CHACHA_JS_THRESHOLDS } from "./native_crypto.ts";
 * console.log(CHACHA_JS_THRESHOLDS.node); // 1536
 * ```
 */
export const CHACHA_JS_THRESHOLDS: Readonly<Record<Runtime, number>> = {
  node: 1536,
  deno: 2048,
  bun: 0,
};

/** Per-algorithm sizes below which the portable code does the work (see above). */
export interface SmallPacketThresholds {
  /** AES-GCM: bytes after the length field. */
  readonly gcm: number;
  /** chacha20-poly1305: bytes after the length field. */
  readonly chacha: number;
  /** HMAC: bytes of MAC input. */
  readonly mac: number;
}

/** What the running runtime's `node:crypto` can do, found by trying it. */
export interface NativeAvailability {
  /** Cipher wire names that work natively. */
  readonly ciphers: readonly string[];
  /** MAC wire names that work natively. */
  readonly macs: readonly string[];
}

let availability: NativeAvailability | undefined;

/**
 * Probes `node:crypto` once: each cipher and hash is tried on a small input, and
 * ChaCha20's IV layout (OpenSSL's 4-byte counter + 12-byte nonce) is checked
 * against our JS ChaCha20, so a runtime whose implementation differs is not used.
 *
 * @example
 * ```ts
 * import { probeNativeCrypto } from "./native_crypto.ts";
 * console.log(probeNativeCrypto().ciphers.includes("aes128-ctr"));
 * ```
 */
export function probeNativeCrypto(): NativeAvailability {
  if (availability) return availability;
  const ciphers: string[] = [];
  for (const [name, alg] of Object.entries(CIPHER_ALGORITHMS)) {
    try {
      if (alg === "chacha20") {
        if (chachaLayoutMatches()) ciphers.push(name);
        continue;
      }
      const keyLength = Number(/-(\d+)-/.exec(alg)?.[1]) / 8;
      const iv = new Uint8Array(alg.endsWith("gcm") ? 12 : 16);
      const c = createCipheriv(alg, createSecretKey(new Uint8Array(keyLength)), iv);
      if (c.update(new Uint8Array(32)).length === 32) ciphers.push(name);
    } catch {
      // Not available on this runtime: the portable provider covers it.
    }
  }
  const macs: string[] = [];
  for (const [name, hash] of Object.entries(MAC_HASHES)) {
    try {
      createHash(hash).update(new Uint8Array(1)).copy().digest();
      macs.push(name);
    } catch {
      // As above.
    }
  }
  availability = Object.freeze({ ciphers: Object.freeze(ciphers), macs: Object.freeze(macs) });
  return availability;
}

function chachaLayoutMatches(): boolean {
  const key = new Uint8Array(32).map((_, i) => i);
  const seq = 0x01020304;
  const native = createCipheriv("chacha20", createSecretKey(key), chachaIv(1, seq))
    .update(new Uint8Array(64));
  const js = new Uint8Array(64);
  chacha20XorInPlace(new ChaCha20Key(key), 1, 0, 0, bswap32(seq), js);
  return constantTimeEqual(native, 0, js, 0, 64);
}

function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/**
 * OpenSSL's ChaCha20 IV for OpenSSH's layout: state word 12 (block counter,
 * little-endian) then words 13–15 as the "nonce" — word 13 is the counter's high
 * word (0), words 14–15 the 8-byte nonce uint64be(seq).
 */
function chachaIv(counter: number, seq: number, out = new Uint8Array(16)): Uint8Array {
  out.fill(0);
  out[0] = counter & 0xff;
  out[1] = (counter >>> 8) & 0xff;
  out[2] = (counter >>> 16) & 0xff;
  out[3] = counter >>> 24;
  out[12] = seq >>> 24;
  out[13] = (seq >>> 16) & 0xff;
  out[14] = (seq >>> 8) & 0xff;
  out[15] = seq & 0xff;
  return out;
}

/** Copies `out` (a native result) back into `data[start..]`, checking its length. */
function putBack(data: Uint8Array, start: number, expected: number, out: Uint8Array): void {
  if (out.length !== expected) {
    throw new RangeError(`node:crypto returned ${out.length} bytes for ${expected}`);
  }
  data.set(out, start);
}

/** A native block/stream cipher whose state (counter, chain) runs across packets. */
function nativeTransform(
  cipher: CipherInfo,
  keys: DirectionKeys,
  direction: "encrypt" | "decrypt",
): PacketTransform {
  const alg = CIPHER_ALGORITHMS[cipher.name]!;
  const key = createSecretKey(keys.encKey);
  const c = direction === "encrypt" || alg.endsWith("ctr")
    ? createCipheriv(alg, key, keys.iv)
    : createDecipheriv(alg, key, keys.iv);
  c.setAutoPadding(false);
  return {
    blockSize: 16,
    process(data, start, end) {
      putBack(data, start, end - start, c.update(data.subarray(start, end)));
    },
  };
}

/**
 * HMAC over `uint32 seq || data` natively. Two ways, picked per runtime by
 * measurement: `createHmac` with a `KeyObject` imported once (fastest on Node),
 * or copying two pre-keyed hash states — H(K⊕opad || H(K⊕ipad || m)), RFC 2104 —
 * which is 2× faster than `createHmac` on Deno and equal on Bun. Inputs shorter
 * than `threshold` go to the portable HMAC (same result).
 */
class NativeHmac implements PacketMac {
  readonly length: number;
  readonly #hash: string;
  readonly #key: KeyObject | null;
  readonly #inner: Hash | null;
  readonly #outer: Hash | null;
  readonly #seq = new Uint8Array(4);
  readonly #small: NobleHmac;
  readonly #threshold: number;

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
}

/** Nonce state of AES-GCM (RFC 5647 §7.1): fixed field and invocation counter. */
class GcmNonce {
  readonly bytes = new Uint8Array(12);
  #hi: number;
  #lo: number;

  constructor(iv: Uint8Array) {
    this.bytes.set(iv);
    const v = new DataView(iv.buffer, iv.byteOffset, 12);
    this.#hi = v.getUint32(4);
    this.#lo = v.getUint32(8);
  }

  next(): void {
    this.#lo = (this.#lo + 1) >>> 0;
    if (this.#lo === 0) this.#hi = (this.#hi + 1) >>> 0;
    const b = this.bytes;
    b[4] = this.#hi >>> 24, b[5] = (this.#hi >>> 16) & 0xff;
    b[6] = (this.#hi >>> 8) & 0xff, b[7] = this.#hi & 0xff;
    b[8] = this.#lo >>> 24, b[9] = (this.#lo >>> 16) & 0xff;
    b[10] = (this.#lo >>> 8) & 0xff, b[11] = this.#lo & 0xff;
  }
}

/**
 * Options of {@link createNativePacketProtection}.
 *
 * @example Native everywhere, no WebAssembly (the pre-WebAssembly behaviour)
 * ```ts
 * import { createNativePacketProtection } from "./native_crypto.ts";
 * const f = createNativePacketProtection({
 *   smallPacketThreshold: { gcm: 0, chacha: 0, mac: 0 },
 *   wasm: "none",
 * });
 * ```
 */
export interface NativePacketProtectionOptions {
  /**
   * Sizes below which packets are done in JS (same output). Defaults to
   * {@link SMALL_PACKET_THRESHOLDS} for the runtime; zeros make every packet
   * native (tests, benches).
   */
  readonly smallPacketThreshold?: SmallPacketThresholds;
  /**
   * WebAssembly use by chacha20-poly1305 (Poly1305, and the small-packet path):
   * "auto" (default), "poly1305", or "none" for JavaScript only (tests).
   */
  readonly wasm?: WasmMode;
}

class NativeGcmSealer implements PacketSealer {
  readonly blockSize = 16;
  readonly tagLength = 16;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #nonce: GcmNonce;
  readonly #small: GcmSealer;
  readonly #threshold: number;

  constructor(alg: CipherGCMTypes, keys: DirectionKeys, threshold: number) {
    this.#alg = alg;
    this.#key = createSecretKey(keys.encKey);
    this.#nonce = new GcmNonce(keys.iv);
    this.#small = new GcmSealer(keys);
    this.#threshold = threshold;
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    const len = packet.length;
    if (len < 4 || ((len - 4) & 15) !== 0 || tagOut.length < 16) {
      throw new RangeError(
        `Cannot seal AES-GCM packet: ${len - 4} bytes after the length field is not a ` +
          `multiple of 16, or the tag buffer is short`,
      );
    }
    if (len - 4 < this.#threshold) {
      this.#small.seal(seq, packet, tagOut);
    } else {
      const c = createCipheriv(this.#alg, this.#key, this.#nonce.bytes);
      c.setAAD(packet.subarray(0, 4));
      putBack(packet, 4, len - 4, c.update(packet.subarray(4)));
      c.final();
      tagOut.set(c.getAuthTag());
      this.#small.skip();
    }
    this.#nonce.next();
  }
}

class NativeGcmOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 16;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #alg: CipherGCMTypes;
  readonly #key: KeyObject;
  readonly #nonce: GcmNonce;
  readonly #small: GcmOpener;
  readonly #threshold: number;

  constructor(alg: CipherGCMTypes, keys: DirectionKeys, threshold: number) {
    this.#alg = alg;
    this.#key = createSecretKey(keys.encKey);
    this.#nonce = new GcmNonce(keys.iv);
    this.#small = new GcmOpener(keys);
    this.#threshold = threshold;
  }

  decryptLength(_seq: number, first: Uint8Array): number {
    return ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    const len = packet.length;
    if (len < 4 || ((len - 4) & 15) !== 0 || tag.length < 16) return false;
    let ok: boolean;
    if (len - 4 < this.#threshold) {
      ok = this.#small.open(seq, packet, tag);
    } else {
      this.#small.skip();
      ok = true;
      try {
        const d = createDecipheriv(this.#alg, this.#key, this.#nonce.bytes);
        d.setAAD(packet.subarray(0, 4));
        d.setAuthTag(tag.subarray(0, 16));
        // OpenSSL hands out plaintext before checking the tag: keep it aside and
        // write it into the packet only once final() has verified the tag.
        const plain = d.update(packet.subarray(4));
        d.final();
        putBack(packet, 4, len - 4, plain);
      } catch {
        ok = false;
      }
    }
    this.#nonce.next();
    return ok;
  }
}

/** The small-packet threshold for a portable implementation ("wasm", "js", ...). */
type ChaChaThreshold = (implementation: string) => number;

/** Native ChaCha20 for the payload; JS for the 4-byte length and the Poly1305 key. */
class NativeChaChaPoly {
  readonly main: ChaCha20Key; // K_2, JS (Poly1305 key block)
  readonly header: ChaCha20Key; // K_1, JS (length)
  readonly mainKey: KeyObject; // K_2, native (payload)
  readonly poly: Poly1305Mac;
  readonly tag = new Uint8Array(16);
  readonly iv = new Uint8Array(16);
  readonly len = new Uint8Array(4);

  constructor(keys: DirectionKeys, wasm: WasmMode) {
    this.poly = createPoly1305({ wasm });
    this.main = new ChaCha20Key(keys.encKey.subarray(0, 32));
    this.header = new ChaCha20Key(keys.encKey.subarray(32, 64));
    this.mainKey = createSecretKey(keys.encKey.subarray(0, 32));
  }

  initPoly(seq: number): void {
    chacha20Block(this.main, 0, 0, 0, bswap32(seq));
    this.poly.init(this.main.blockBytes, 0);
    this.main.blockBytes.fill(0, 0, 32);
  }

  cryptLength(seq: number, data: Uint8Array): void {
    chacha20XorInPlace(this.header, 0, 0, 0, bswap32(seq), data, 0, 4);
  }

  cryptPayload(seq: number, packet: Uint8Array): void {
    const c = createCipheriv("chacha20", this.mainKey, chachaIv(1, seq, this.iv));
    putBack(packet, 4, packet.length - 4, c.update(packet.subarray(4)));
  }
}

class NativeChaChaPolySealer implements PacketSealer {
  readonly blockSize = 8;
  readonly tagLength = 16;
  readonly lengthInClear = true; // as the portable one: padding excludes the length field
  readonly provider = NATIVE_PROVIDER;
  readonly #st: NativeChaChaPoly;
  readonly #small: ChaChaPolySealer;
  readonly #threshold: number;

  constructor(keys: DirectionKeys, threshold: ChaChaThreshold, wasm: WasmMode) {
    this.#st = new NativeChaChaPoly(keys, wasm);
    this.#small = new ChaChaPolySealer(keys, { wasm });
    this.#threshold = threshold(this.#small.implementation);
  }

  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void {
    if (packet.length - 4 < this.#threshold) return this.#small.seal(seq, packet, tagOut);
    if (tagOut.length < 16) {
      throw new RangeError("Cannot seal chacha20-poly1305 packet: the tag buffer is short");
    }
    const st = this.#st;
    st.initPoly(seq);
    st.cryptLength(seq, packet);
    st.cryptPayload(seq, packet);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(tagOut, 0);
  }
}

class NativeChaChaPolyOpener implements PacketOpener {
  readonly firstBlockLength = 4;
  readonly tagLength = 16;
  readonly blockSize = 8;
  readonly lengthInClear = true;
  readonly provider = NATIVE_PROVIDER;
  readonly #st: NativeChaChaPoly;
  readonly #small: ChaChaPolyOpener;
  readonly #threshold: number;

  constructor(keys: DirectionKeys, threshold: ChaChaThreshold, wasm: WasmMode) {
    this.#st = new NativeChaChaPoly(keys, wasm);
    this.#small = new ChaChaPolyOpener(keys, { wasm });
    this.#threshold = threshold(this.#small.implementation);
  }

  decryptLength(seq: number, first: Uint8Array): number {
    return this.#small.decryptLength(seq, first);
  }

  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean {
    if (packet.length < 4 || tag.length < 16) return false;
    if (packet.length - 4 < this.#threshold) return this.#small.open(seq, packet, tag);
    const st = this.#st;
    st.initPoly(seq);
    st.poly.update(packet, 0, packet.length);
    st.poly.finish(st.tag, 0);
    if (!constantTimeEqual(st.tag, 0, tag, 0, 16)) return false;
    st.cryptLength(seq, packet);
    st.cryptPayload(seq, packet);
    return true;
  }
}

/** A native factory, with the `supports()` method the registry looks for. */
export interface NativePacketProtection extends PacketProtectionFactory {
  /** True when this runtime's `node:crypto` can do the cipher (+ MAC). */
  supports(cipher: string, mac: string | null): boolean;
}

/**
 * Creates the native factory. It supports what {@link probeNativeCrypto} found
 * (a non-AEAD cipher needs its MAC natively too) and throws for the rest.
 *
 * @example Seal natively, open portably: the bytes are the same
 * ```ts
 * import { createNativePacketProtection } from "./native_crypto.ts";
 * import { getCipherInfo, getPacketProtection } from "../core/crypto/registry.ts";
 * const native = createNativePacketProtection({ smallPacketThreshold: { gcm: 0, chacha: 0, mac: 0 } });
 * const c = getCipherInfo("aes128-gcm@openssh.com")!;
 * const keys = { encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) };
 * const packet = new Uint8Array(20), tag = new Uint8Array(16);
 * packet[3] = 16;
 * native.createSealer(c, null, keys).seal(0, packet, tag);
 * const opener = getPacketProtection({ provider: "noble" }).createOpener(c, null, keys);
 * console.log(opener.open(0, packet, tag)); // true
 * ```
 */
export function createNativePacketProtection(
  options: NativePacketProtectionOptions = {},
): NativePacketProtection {
  const runtime = currentRuntime();
  const thresholds = options.smallPacketThreshold ?? SMALL_PACKET_THRESHOLDS[runtime];
  const wasm = options.wasm ?? "auto";
  // The portable path's speed decides where native ChaCha20 starts to pay off.
  const chachaThreshold: ChaChaThreshold = (implementation) =>
    options.smallPacketThreshold !== undefined || implementation === "wasm"
      ? thresholds.chacha
      : CHACHA_JS_THRESHOLDS[runtime];
  const supports = (cipher: string, mac: string | null): boolean => {
    const avail = probeNativeCrypto();
    if (!avail.ciphers.includes(cipher)) return false;
    if (cipher === "chacha20-poly1305@openssh.com" || cipher.includes("-gcm@")) return true;
    return mac !== null && avail.macs.includes(mac);
  };
  const check = (what: string, cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys) => {
    checkKeyLengths(what, cipher, mac, keys);
    if (!supports(cipher.name, cipher.aead ? null : mac?.name ?? null)) {
      throw new RangeError(
        `Cannot create ${what}: node:crypto on ${currentRuntime()} does not implement ` +
          `${cipher.name}${mac && !cipher.aead ? ` with ${mac.name}` : ""}`,
      );
    }
  };
  return Object.freeze({
    provider: NATIVE_PROVIDER,
    supports,
    createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer {
      check("sealer", cipher, mac, keys);
      if (cipher.name === "chacha20-poly1305@openssh.com") {
        return new NativeChaChaPolySealer(keys, chachaThreshold, wasm);
      }
      const alg = CIPHER_ALGORITHMS[cipher.name]!;
      if (alg.endsWith("gcm")) {
        return new NativeGcmSealer(alg as CipherGCMTypes, keys, thresholds.gcm);
      }
      return new CipherMacSealer({
        transform: nativeTransform(cipher, keys, "encrypt"),
        mac: new NativeHmac(MAC_HASHES[mac!.name]!, keys.macKey, thresholds.mac),
        etm: mac!.etm,
        provider: NATIVE_PROVIDER,
      });
    },
    createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener {
      check("opener", cipher, mac, keys);
      if (cipher.name === "chacha20-poly1305@openssh.com") {
        return new NativeChaChaPolyOpener(keys, chachaThreshold, wasm);
      }
      const alg = CIPHER_ALGORITHMS[cipher.name]!;
      if (alg.endsWith("gcm")) {
        return new NativeGcmOpener(alg as CipherGCMTypes, keys, thresholds.gcm);
      }
      return new CipherMacOpener({
        transform: nativeTransform(cipher, keys, "decrypt"),
        mac: new NativeHmac(MAC_HASHES[mac!.name]!, keys.macKey, thresholds.mac),
        etm: mac!.etm,
        provider: NATIVE_PROVIDER,
      });
    },
  });
}

/** Options of {@link registerNativeCrypto}. */
export interface RegisterNativeCryptoOptions {
  /** Priority in the registry (the portable provider has 0). Default 10. */
  readonly priority?: number;
  /**
   * "faster" (default): only algorithms where native wins on this runtime
   * ({@link NATIVE_WINS}); "available": everything that works natively.
   */
  readonly select?: "faster" | "available";
}

/**
 * Registers the native provider for the algorithms where it is available and
 * faster on this runtime; returns the cipher and MAC wire names it took over
 * (a non-AEAD cipher goes native only together with a native MAC). Calling it
 * again replaces the earlier registration.
 *
 * @example
 * ```ts
 * import { registerNativeCrypto } from "./native_crypto.ts";
 * console.log(registerNativeCrypto()); // e.g. ["chacha20-poly1305@openssh.com", ..., "hmac-sha1"]
 * ```
 */
export function registerNativeCrypto(options: RegisterNativeCryptoOptions = {}): string[] {
  const runtime = currentRuntime();
  const avail = probeNativeCrypto();
  const wins = new Set(
    options.select === "available" ? avail.ciphers : NATIVE_WINS[runtime],
  );
  const ciphers = avail.ciphers.filter((c) => wins.has(c));
  const factory = createNativePacketProtection();
  unregisterPacketProtection(NATIVE_PROVIDER);
  if (ciphers.length === 0) return [];
  registerPacketProtection(factory, {
    priority: options.priority ?? 10,
    supports: (c, m) => wins.has(c) && factory.supports(c, m),
  });
  const needsMac = ciphers.some((c) => !c.includes("@openssh.com"));
  return [...ciphers, ...(needsMac ? avail.macs : [])];
}
