/**
 * Shared pieces of the native (`node:crypto`) provider: its name, the wire
 * name tables, and the byte helpers every native construction uses.
 *
 * @module
 */

import type { PacketMac } from "../../core/crypto/cipher_mac.ts";
import { checkKeyLengths } from "../../core/crypto/check_keys.ts";
import type { HmacHash } from "../../core/crypto/noble_hmac.ts";
import type { CipherInfo, DirectionKeys, MacInfo } from "../../core/crypto/types.ts";
import { UmacPacketMac, umacTagLengthOf } from "../../core/crypto/umac.ts";

/** The provider name native sealers and openers report. */
export const NATIVE_PROVIDER = "node:crypto";

/** Our cipher wire names → OpenSSL cipher names. */
export const CIPHER_ALGORITHMS: Readonly<Record<string, string>> = {
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
export const MAC_HASHES: Readonly<Record<string, HmacHash>> = {
  "hmac-sha2-256-etm@openssh.com": "sha256",
  "hmac-sha2-512-etm@openssh.com": "sha512",
  "hmac-sha1-etm@openssh.com": "sha1",
  "hmac-sha2-256": "sha256",
  "hmac-sha2-512": "sha512",
  "hmac-sha1": "sha1",
};

/**
 * What a native factory checks before it builds a sealer or opener: the key lengths, and
 * that `supports` takes the cipher (with its MAC, unless AEAD); `implementation` names
 * the library in the RangeError for one it does not.
 */
export function checkSupported(
  implementation: string,
  supports: (cipher: string, mac: string | null) => boolean,
  what: string,
  cipher: CipherInfo,
  mac: MacInfo | null,
  keys: DirectionKeys,
): void {
  checkKeyLengths(what, cipher, mac, keys);
  if (!supports(cipher.name, cipher.aead ? null : mac?.name ?? null)) {
    throw new RangeError(
      `Cannot create ${what}: ${implementation} does not implement ` +
        `${cipher.name}${mac && !cipher.aead ? ` with ${mac.name}` : ""}`,
    );
  }
}

/**
 * The packet MAC a native cipher pairs with: our UMAC (no native library has one, and
 * no per-packet native call could beat it), else the library's HMAC from `hmac`.
 */
export function packetMacFor(
  mac: MacInfo,
  key: Uint8Array,
  hmac: (hash: HmacHash, key: Uint8Array) => PacketMac,
): PacketMac {
  const umac = umacTagLengthOf(mac.name);
  if (umac !== undefined) return new UmacPacketMac(key, umac);
  return hmac(MAC_HASHES[mac.name]!, key);
}

/** Swaps the bytes of a 32-bit word. */
export function bswap32(x: number): number {
  return ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);
}

/**
 * OpenSSL's ChaCha20 IV for OpenSSH's layout: state word 12 (block counter,
 * little-endian) then words 13–15 as the "nonce" — word 13 is the counter's high
 * word (0), words 14–15 the 8-byte nonce uint64be(seq).
 */
export function chachaIv(counter: number, seq: number, out = new Uint8Array(16)): Uint8Array {
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
export function putBack(data: Uint8Array, start: number, expected: number, out: Uint8Array): void {
  if (out.length !== expected) {
    throw new RangeError(`node:crypto returned ${out.length} bytes for ${expected}`);
  }
  data.set(out, start);
}
