/**
 * The portable packet-protection provider ("noble"): every cipher and MAC in
 * pure TypeScript over @noble/ciphers and @noble/hashes (plus our own ChaCha20,
 * Poly1305 and GHASH where noble's were the bottleneck, and UMAC). Always registered; runs
 * anywhere JavaScript runs.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import { checkKeyLengths } from "./check_keys.ts";
import { CipherMacOpener, CipherMacSealer, type PacketTransform } from "./cipher_mac.ts";
import { AesCbc, AesCtr } from "./noble_aes.ts";
import { GcmOpener, GcmSealer } from "./noble_aes_gcm.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "./noble_chacha20_poly1305.ts";
import { hmacHashOf, NobleHmac } from "./noble_hmac.ts";
import { legacyTransform } from "./legacy_ciphers.ts";
import type { PacketMac } from "./cipher_mac.ts";
import { UmacPacketMac, umacTagLengthOf } from "./umac.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
  PacketSealer,
} from "./types.ts";

const PROVIDER = "noble";

function macFor(mac: MacInfo, key: Uint8Array): PacketMac {
  const umac = umacTagLengthOf(mac.name);
  if (umac !== undefined) return new UmacPacketMac(key, umac);
  const hash = hmacHashOf(mac.name);
  if (hash === undefined) {
    throw new LocalProtocolError(`Cannot create MAC ${mac.name}: not implemented`);
  }
  return new NobleHmac(hash, key, mac.macLength);
}

function transformFor(
  cipher: CipherInfo,
  keys: DirectionKeys,
  direction: "encrypt" | "decrypt",
): PacketTransform {
  const legacy = legacyTransform(cipher.name, keys, direction);
  if (legacy !== undefined) return legacy;
  if (cipher.name.endsWith("-ctr")) {
    const ctr = new AesCtr(keys.encKey, keys.iv, "128");
    return { blockSize: 16, process: (d, s, e) => ctr.xor(d, s, e) };
  }
  if (cipher.name.endsWith("-cbc")) {
    const cbc = new AesCbc(keys.encKey, keys.iv, direction);
    return { blockSize: 16, process: (d, s, e) => cbc.process(d, s, e) };
  }
  throw new LocalProtocolError(`Cannot create cipher ${cipher.name}: not implemented`);
}

function isChaCha(cipher: CipherInfo): boolean {
  return cipher.name === "chacha20-poly1305@openssh.com";
}

function isGcm(cipher: CipherInfo): boolean {
  return cipher.name === "aes128-gcm@openssh.com" || cipher.name === "aes256-gcm@openssh.com";
}

/**
 * The portable provider's factory.
 *
 * @example Seal and open one packet
 * ```ts
 * import { noblePacketProtection } from "./noble_provider.ts";
 * import { getCipherInfo } from "./registry.ts";
 * const c = getCipherInfo("chacha20-poly1305@openssh.com")!;
 * const keys = { encKey: new Uint8Array(64), iv: new Uint8Array(0), macKey: new Uint8Array(0) };
 * const sealer = noblePacketProtection.createSealer(c, null, keys);
 * const opener = noblePacketProtection.createOpener(c, null, keys);
 * const packet = new Uint8Array([0, 0, 0, 8, 4, 1, 2, 3, 4, 5, 6, 7]);
 * const tag = new Uint8Array(16);
 * sealer.seal(0, packet, tag);
 * console.log(opener.open(0, packet, tag)); // true
 * ```
 */
export const noblePacketProtection: PacketProtectionFactory = Object.freeze({
  provider: PROVIDER,
  createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer {
    checkKeyLengths("sealer", cipher, mac, keys);
    if (isChaCha(cipher)) return new ChaChaPolySealer(keys);
    if (isGcm(cipher)) return new GcmSealer(keys);
    const m = mac!;
    return new CipherMacSealer({
      transform: transformFor(cipher, keys, "encrypt"),
      mac: macFor(m, keys.macKey),
      etm: m.etm,
      provider: PROVIDER,
    });
  },
  createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener {
    checkKeyLengths("opener", cipher, mac, keys);
    if (isChaCha(cipher)) return new ChaChaPolyOpener(keys);
    if (isGcm(cipher)) return new GcmOpener(keys);
    const m = mac!;
    return new CipherMacOpener({
      transform: transformFor(cipher, keys, "decrypt"),
      mac: macFor(m, keys.macKey),
      etm: m.etm,
      provider: PROVIDER,
    });
  },
});
