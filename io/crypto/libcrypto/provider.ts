/**
 * The "libcrypto" packet-protection provider: AES-GCM, chacha20-poly1305, and
 * AES-CTR/CBC with HMAC or UMAC, sealed and opened in place by the system's
 * OpenSSL 3 through the runtime's FFI (./binding.ts). Registered on Deno and Bun
 * where it is loaded, ahead of `node:crypto` and WebCrypto, for the algorithms
 * {@link LIBCRYPTO_WINS} lists — each once it gave its known answer here
 * (./known_answers.ts): a libcrypto that loads but cannot do one leaves it to the others.
 *
 * @module
 */

import {
  CipherMacOpener,
  CipherMacSealer,
  type PacketMac,
} from "../../../core/crypto/cipher_mac.ts";
import {
  registerPacketProtection,
  unregisterPacketProtection,
} from "../../../core/crypto/registry.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "../../../core/crypto/types.ts";
import { umacTagLengthOf } from "../../../core/crypto/umac.ts";
import { currentRuntime, type Runtime } from "../../runtime/env.ts";
import { checkSupported, MAC_HASHES, packetMacFor } from "../_native.ts";
import { libcrypto, type LibCryptoSymbols } from "./binding.ts";
import { LibcryptoChaChaPolyOpener, LibcryptoChaChaPolySealer } from "./chacha_poly.ts";
import { blockCipher, LibcryptoHmac, libcryptoTransform } from "./cipher_mac.ts";
import { hasPoly1305 } from "./contexts.ts";
import { LIBCRYPTO_PROVIDER, LibcryptoGcmOpener, LibcryptoGcmSealer } from "./gcm.ts";
import { libcryptoPasses } from "./known_answers.ts";

export { LIBCRYPTO_PROVIDER };

const CHACHA = "chacha20-poly1305@openssh.com";
const GCM = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"];
const CTR = ["aes128-ctr", "aes192-ctr", "aes256-ctr"];
const CBC = ["aes128-cbc", "aes192-cbc", "aes256-cbc"];

/**
 * Where libcrypto beats the runtime's other native paths, per runtime (seal+open round
 * trips of 32 KiB per CPU-second, then bench/run.ts end to end; this machine, 2026-12-05):
 *
 * - Deno 2.9: everything. Its `node:crypto` AES-GCM runs at ≈ 85 MB/s and WebCrypto's
 *   at ≈ 630, libcrypto's at 1,770–2,000; chacha20-poly1305 418 → 1,526; AES-CTR with
 *   HMAC-SHA-256 161 → 691 (its `node:crypto` copies every packet in and out).
 * - Bun 1.4: chacha20-poly1305 only, which BoringSSL lacks (the portable WebAssembly
 *   runs at 240, libcrypto at 1,321). Its own AES-GCM and AES-CTR are as fast end to
 *   end (gcm ↓ 611–621 MB/s against 570–583, the same ↑; ctr within noise), because
 *   they open into a fresh buffer the channel then owns (no payload copy), and they
 *   cost less memory per idle connection (a libcrypto AES-GCM context holds 1.5 KiB).
 * - Node: no FFI.
 */
export const LIBCRYPTO_WINS: Readonly<Record<Runtime, readonly string[]>> = {
  node: [],
  deno: [CHACHA, ...GCM, ...CTR, ...CBC],
  bun: [CHACHA],
};

/** The libcrypto factory, with the `supports()` method the registry looks for. */
export interface LibcryptoPacketProtection extends PacketProtectionFactory {
  /** True when libcrypto here can do the cipher (+ MAC). */
  supports(cipher: string, mac: string | null): boolean;
}

/**
 * The libcrypto factory over a loaded library.
 *
 * @example Seal with libcrypto, open portably: the bytes are the same
 * ```ts ignore
 * import { libcrypto } from "./binding.ts";
 * import { createLibcryptoPacketProtection } from "./provider.ts";
 * import { getCipherInfo, getPacketProtection } from "../../../core/crypto/registry.ts";
 * const loaded = libcrypto();
 * if (loaded.available) {
 *   const f = createLibcryptoPacketProtection(loaded.lib);
 *   const c = getCipherInfo("aes128-gcm@openssh.com")!;
 *   const keys = { encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) };
 *   const packet = new Uint8Array(20), tag = new Uint8Array(16);
 *   packet[3] = 16;
 *   f.createSealer(c, null, keys).seal(0, packet, tag);
 *   const opener = getPacketProtection({ provider: "noble" }).createOpener(c, null, keys);
 *   console.log(opener.open(0, packet, tag)); // true
 * }
 * ```
 */
export function createLibcryptoPacketProtection(
  lib: LibCryptoSymbols,
): LibcryptoPacketProtection {
  // Each algorithm is claimed only once it gave its known answer here (./known_answers.ts): a
  // libcrypto that loads but cannot do it leaves it to the other providers.
  const supports = (cipher: string, mac: string | null): boolean => {
    if (cipher === CHACHA) return hasPoly1305(lib) && libcryptoPasses(lib, cipher);
    if (GCM.includes(cipher)) return libcryptoPasses(lib, cipher);
    if (blockCipher(lib, cipher) === undefined || mac === null) return false;
    if (umacTagLengthOf(mac) !== undefined) return libcryptoPasses(lib, cipher);
    const hash = MAC_HASHES[mac];
    return hash !== undefined && libcryptoPasses(lib, cipher) &&
      libcryptoPasses(lib, `hmac-${hash}`);
  };
  const macFor = (mac: MacInfo, key: Uint8Array): PacketMac =>
    packetMacFor(mac, key, (hash, k) => new LibcryptoHmac(lib, hash, k));
  const check = (what: string, cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys) =>
    checkSupported("libcrypto", supports, what, cipher, mac, keys);
  return Object.freeze({
    provider: LIBCRYPTO_PROVIDER,
    supports,
    createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer {
      check("sealer", cipher, mac, keys);
      if (cipher.name === CHACHA) return new LibcryptoChaChaPolySealer(lib, keys);
      if (GCM.includes(cipher.name)) return new LibcryptoGcmSealer(lib, keys);
      return new CipherMacSealer({
        transform: libcryptoTransform(lib, cipher, keys, "encrypt"),
        mac: macFor(mac!, keys.macKey),
        etm: mac!.etm,
        provider: LIBCRYPTO_PROVIDER,
      });
    },
    createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener {
      check("opener", cipher, mac, keys);
      if (cipher.name === CHACHA) return new LibcryptoChaChaPolyOpener(lib, keys);
      if (GCM.includes(cipher.name)) return new LibcryptoGcmOpener(lib, keys);
      return new CipherMacOpener({
        transform: libcryptoTransform(lib, cipher, keys, "decrypt"),
        mac: macFor(mac!, keys.macKey),
        etm: mac!.etm,
        provider: LIBCRYPTO_PROVIDER,
      });
    },
  });
}

/**
 * Registers the libcrypto provider (priority 30, ahead of `node:crypto` and WebCrypto)
 * for the algorithms it wins here, when libcrypto is loaded; returns the cipher names it
 * took over (none on Node, or where it is not loaded: see `libcrypto()`).
 *
 * @example
 * ```ts
 * import { registerLibcrypto } from "./provider.ts";
 * console.log(registerLibcrypto()); // e.g. ["chacha20-poly1305@openssh.com", ...] on Deno
 * ```
 */
export function registerLibcrypto(options: { readonly priority?: number } = {}): string[] {
  unregisterPacketProtection(LIBCRYPTO_PROVIDER);
  const loaded = libcrypto();
  const wins = LIBCRYPTO_WINS[currentRuntime()];
  if (!loaded.available || wins.length === 0) return [];
  const factory = createLibcryptoPacketProtection(loaded.lib);
  registerPacketProtection(factory, {
    priority: options.priority ?? 30,
    supports: (c, m) => wins.includes(c) && factory.supports(c, m),
  });
  return wins.filter((c) =>
    factory.supports(c, c.includes("@openssh.com") ? null : "hmac-sha2-256")
  );
}
