/**
 * Known-answer checks of the libcrypto constructions, run once per library and
 * algorithm before the provider claims it: a libcrypto that loads but cannot do an
 * algorithm (an OpenSSL 3 whose configuration fetches no AES — `default_properties =
 * fips=yes` without the FIPS module, a provider that refuses it — or a library that
 * only looks like OpenSSL 3) is then left to `node:crypto` and the portable provider,
 * instead of failing every connection that negotiates it when its keys are made. A
 * wrong answer counts as a failure too: no silent wrong bytes on the wire.
 *
 * The expected bytes are the portable provider's (the tests check them against it).
 *
 * @module
 */

import type { HmacHash } from "../../../core/crypto/noble_hmac.ts";
import { getCipherInfo } from "../../../core/crypto/registry.ts";
import { constantTimeEqual } from "../../../core/crypto/constant_time.ts";
import type { DirectionKeys } from "../../../core/crypto/types.ts";
import { fromHex } from "../../../core/wire.ts";
import type { LibCryptoSymbols } from "./binding.ts";
import { LibcryptoChaChaPolyOpener, LibcryptoChaChaPolySealer } from "./chacha_poly.ts";
import { LibcryptoHmac, libcryptoTransform } from "./cipher_mac.ts";
import { LibcryptoGcmOpener, LibcryptoGcmSealer } from "./gcm.ts";

/**
 * Expected outputs: an AEAD cipher's sealed packet and tag (seq 7, packet_length 32), an
 * AES-CTR/CBC cipher's encryption of 32 bytes, an HMAC of `uint32(7) || 36 bytes`. Keys:
 * bytes 1, 2, 3, …; IVs: 0xa0, 0xa1, …; data: 3, 10, 17, … (i·7 + 3); for the AEAD
 * ciphers the first 4 bytes are the packet_length field, 32.
 *
 * @example
 * ```ts
 * import { KNOWN_ANSWERS } from "./known_answers.ts";
 * console.log(Object.keys(KNOWN_ANSWERS).length); // 12
 * ```
 */
export const KNOWN_ANSWERS: Readonly<Record<string, string>> = Object.freeze({
  "chacha20-poly1305@openssh.com":
    "0a6c9e2124990775c11efee28014147b4dd3582b4350b5cf4f8838b4a555f8995503610dd55d6e22cfc63d375493b9553e21fc25",
  "aes128-gcm@openssh.com":
    "000000201d25ba925def48c66025ab05805f560c31ec7ae5d4059a2e6f1e039d5553281c36dd476358d9e67f1ab6e33f37befb42",
  "aes256-gcm@openssh.com":
    "00000020a6f71052c6f713542850c70782ffa10cd8412dbdf3dad944e0950021b1a429cd5da868800038cf3f8f99d86b4cc52619",
  "aes128-ctr": "4561c2b15539d757a071b9417dcd267ac71fed6caf1087fc47b77cd579ee2d1c",
  "aes192-ctr": "0cdc996121ee9568e74b040000fb9d28c1577b1864ce923254cdb8a02f18e0fc",
  "aes256-ctr": "a13630c5f24ffa6526584a1012b0a2c547e558a25fba3f228e89361a04a554b6",
  "aes128-cbc": "35017b8315c32f13ab35ce275525fc2d505e56f47797fb824806f821661c65bf",
  "aes192-cbc": "cb93c20845acdff36b6c51642d62324cc8f9446c5b77c1f075db40945a7ba371",
  "aes256-cbc": "ced2b7f57e6950241b03076bc90daba0b53f724b8dfb8031ec5dae3b40b7abcc",
  "hmac-sha1": "1935c6c27bf22aac36936d641198cabe1555ed14",
  "hmac-sha256": "a91aa51065377666f469039e3ec068b58fa7e71cd491fa9ebbe1bb21dbbb04d5",
  "hmac-sha512":
    "9d3647fc67dbe7e02671e7feee83d7aefac39b9f6973019651e5bf417bf92b82a769f773914a552d536cf392286067d662899a0c041052b69549a998c76b6576",
});

const HMAC_KEY_LENGTHS: Readonly<Partial<Record<HmacHash, number>>> = {
  sha1: 20,
  sha256: 32,
  sha512: 64,
};

const results = new WeakMap<LibCryptoSymbols, Map<string, boolean>>();

function bytes(n: number, f: (i: number) => number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = f(i) & 0xff;
  return b;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && constantTimeEqual(a, 0, b, 0, a.length);
}

function data(n: number): Uint8Array {
  return bytes(n, (i) => i * 7 + 3);
}

function cipherKeys(name: string): DirectionKeys {
  const info = getCipherInfo(name)!;
  return {
    encKey: bytes(info.keyLength, (i) => i + 1),
    iv: bytes(info.ivLength, (i) => 0xa0 + i),
    macKey: new Uint8Array(0),
  };
}

/** Seals the known packet, compares, opens it again (and refuses it with a changed tag). */
function checkAead(lib: LibCryptoSymbols, name: string, expected: Uint8Array): boolean {
  const keys = cipherKeys(name);
  const chacha = name === "chacha20-poly1305@openssh.com";
  const sealer = chacha
    ? new LibcryptoChaChaPolySealer(lib, keys)
    : new LibcryptoGcmSealer(lib, keys);
  const plain = data(36);
  plain.set([0, 0, 0, 32]);
  const packet = plain.slice();
  const tag = new Uint8Array(16);
  sealer.seal(7, packet, tag);
  if (!same(packet, expected.subarray(0, 36)) || !same(tag, expected.subarray(36))) return false;
  const opener = () =>
    chacha ? new LibcryptoChaChaPolyOpener(lib, keys) : new LibcryptoGcmOpener(lib, keys);
  const bad = tag.slice();
  bad[0]! ^= 1;
  if (opener().open(7, packet.slice(), bad)) return false;
  const o = opener();
  if (o.decryptLength(7, packet.subarray(0, 4)) !== 32 || !o.open(7, packet, tag)) return false;
  return same(packet.subarray(4), plain.subarray(4));
}

/** Encrypts the known 32 bytes, compares, and decrypts them back. */
function checkTransform(lib: LibCryptoSymbols, name: string, expected: Uint8Array): boolean {
  const info = getCipherInfo(name)!;
  const keys = cipherKeys(name);
  const d = data(32);
  libcryptoTransform(lib, info, keys, "encrypt").process(d, 0, 32);
  if (!same(d, expected)) return false;
  libcryptoTransform(lib, info, keys, "decrypt").process(d, 0, 32);
  return same(d, data(32));
}

function checkHmac(lib: LibCryptoSymbols, hash: HmacHash, expected: Uint8Array): boolean {
  const length = HMAC_KEY_LENGTHS[hash];
  if (length === undefined) return false;
  const mac = new LibcryptoHmac(lib, hash, bytes(length, (i) => i + 1));
  const out = new Uint8Array(mac.length);
  mac.compute(7, data(36), 0, 36, out);
  return same(out, expected);
}

function run(lib: LibCryptoSymbols, name: string): boolean {
  const answer = KNOWN_ANSWERS[name];
  if (answer === undefined) return false;
  const expected = fromHex(answer);
  try {
    if (name.startsWith("hmac-")) return checkHmac(lib, name.slice(5) as HmacHash, expected);
    if (getCipherInfo(name)?.aead) return checkAead(lib, name, expected);
    return checkTransform(lib, name, expected);
  } catch {
    // A context libcrypto would not make or key (an algorithm its providers lack).
    return false;
  }
}

/**
 * Whether this libcrypto gives the known answer for `name`: a cipher wire name
 * (chacha20-poly1305, AES-GCM, AES-CTR/CBC) or `hmac-<hash>` (sha1, sha256, sha512).
 * Checked once per library and name; false for names it has no answer for.
 *
 * @example
 * ```ts ignore
 * import { libcrypto } from "./binding.ts";
 * import { libcryptoPasses } from "./known_answers.ts";
 * const loaded = libcrypto();
 * if (loaded.available) console.log(libcryptoPasses(loaded.lib, "aes128-gcm@openssh.com"));
 * ```
 */
export function libcryptoPasses(lib: LibCryptoSymbols, name: string): boolean {
  let byName = results.get(lib);
  if (byName === undefined) results.set(lib, byName = new Map());
  let ok = byName.get(name);
  if (ok === undefined) byName.set(name, ok = run(lib, name));
  return ok;
}
