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
 * - There is no native UMAC: a native cipher pairs with our UMAC (core/crypto/umac.ts),
 *   which is faster than any per-packet native call could make its one AES block.
 * - There is no native Poly1305 (`createHmac("poly1305")` is refused on all three
 *   runtimes), so chacha20-poly1305 uses our WebAssembly Poly1305
 *   (core/crypto/wasm/), or our JS one where WebAssembly is unavailable.
 *
 * @module
 */
import type { CipherGCMTypes } from "node:crypto";
import { CipherMacOpener, CipherMacSealer, type PacketMac } from "../../core/crypto/cipher_mac.ts";
import { umacTagLengthOf } from "../../core/crypto/umac.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "../../core/crypto/types.ts";
import type { WasmMode } from "../../core/crypto/wasm/kernels.ts";
import { currentRuntime } from "../runtime/env.ts";
import { checkSupported, CIPHER_ALGORITHMS, NATIVE_PROVIDER, packetMacFor } from "./_native.ts";
import {
  type ChaChaThreshold,
  NativeChaChaPolyOpener,
  NativeChaChaPolySealer,
} from "./native_chacha_poly.ts";
import { nativeTransform } from "./native_ctr_cbc.ts";
import { NativeGcmOpener, NativeGcmSealer } from "./native_gcm.ts";
import { NativeHmac } from "./native_hmac.ts";
import { probeNativeCrypto } from "./native_probe.ts";
import {
  CHACHA_JS_THRESHOLDS,
  SMALL_PACKET_THRESHOLDS,
  type SmallPacketThresholds,
} from "./native_tuning.ts";

export { NATIVE_PROVIDER };

/**
 * Options of {@link createNativePacketProtection}.
 *
 * @example Native everywhere, no WebAssembly (the pre-WebAssembly behaviour)
 * ```ts
 * import { createNativePacketProtection } from "./native_provider.ts";
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
 * import { createNativePacketProtection } from "./native_provider.ts";
 * import { getCipherInfo, getPacketProtection } from "../../core/crypto/registry.ts";
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
    return mac !== null && (avail.macs.includes(mac) || umacTagLengthOf(mac) !== undefined);
  };
  // UMAC has no node:crypto form: the native cipher pairs with our UMAC, which
  // runs at node:crypto HMAC-SHA-256's speed or better (bench/cipher_bench.ts).
  const macFor = (mac: MacInfo, key: Uint8Array): PacketMac =>
    packetMacFor(mac, key, (hash, k) => new NativeHmac(hash, k, thresholds.mac));
  const check = (what: string, cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys) =>
    checkSupported(`node:crypto on ${currentRuntime()}`, supports, what, cipher, mac, keys);
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
        mac: macFor(mac!, keys.macKey),
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
        mac: macFor(mac!, keys.macKey),
        etm: mac!.etm,
        provider: NATIVE_PROVIDER,
      });
    },
  });
}
