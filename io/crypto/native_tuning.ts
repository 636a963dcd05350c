/**
 * Where the native provider pays off, per runtime: the algorithms it wins at
 * and the packet sizes below which the portable code is faster. Measured
 * figures are in each table's comment.
 *
 * @module
 */

import type { Runtime } from "../runtime/env.ts";
import { CIPHER_ALGORITHMS } from "./_native.ts";

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
 *
 * Node's GCM threshold is 0 all the same: the portable GCM keeps an 8 KiB GHASH
 * table and a key schedule per direction, about 20 KiB per connection (idle
 * connections measured 21 → 42 KiB on each side once AES-GCM became Node's first
 * cipher), against 4–5 µs more per small packet natively (seal+open of 32–128 B:
 * 6.4–7.1 µs native, 1.8–4.1 portable; 2026-12-05), some 35 µs per login.
 */
export const SMALL_PACKET_THRESHOLDS: Readonly<Record<Runtime, SmallPacketThresholds>> = {
  node: { gcm: 0, chacha: 4096, mac: 256 },
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
 * import { CHACHA_JS_THRESHOLDS } from "./native_tuning.ts";
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

/**
 * Where WebCrypto AES-GCM with packets in flight (io/crypto/webcrypto_gcm.ts, driven by
 * io/engine's driver) beats `node:crypto`'s synchronous AES-GCM. Measured on this machine
 * (32 KiB, MB/s, one direction): Deno 2.9 `node:crypto` ≈ 45, WebCrypto one at a time
 * ≈ 250, 8–16 in flight 540–700. Node and Bun's `node:crypto` AES-GCM (≈ 1,600 and
 * ≈ 3,400 MB/s round trip) is faster than any WebCrypto pipeline there.
 *
 * @example
 * ```ts
 * import { WEBCRYPTO_GCM_WINS } from "./native_tuning.ts";
 * console.log(WEBCRYPTO_GCM_WINS.deno); // true
 * ```
 */
export const WEBCRYPTO_GCM_WINS: Readonly<Record<Runtime, boolean>> = {
  node: false,
  deno: true,
  bun: false,
};
