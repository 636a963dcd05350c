/**
 * Test helpers for the packet-protection tests: hex, packet building, and an
 * independent reference of every SSH packet format built only from noble's
 * one-shot primitives (noble's own ChaCha20, Poly1305, AES modes, GCM and HMAC —
 * none of the code under test), so the providers can be checked against it.
 * Noble has no 3DES, Blowfish, CAST-128, SEED or RC4: for those the reference
 * uses our one-block primitives (checked against RFC and OpenSSL vectors in
 * their own tests) with CBC and the RC4 discard written out here.
 *
 * @module
 */

import { cbc, ctr, gcm } from "@noble/ciphers/aes.js";
import { chacha20orig } from "@noble/ciphers/chacha.js";
import { poly1305 } from "@noble/ciphers/_poly1305.js";
import { hmac } from "@noble/hashes/hmac.js";
import { referenceUmac } from "./_umac_reference.ts";
import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha224, sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import type { RandomSource } from "../random.ts";
import { type BlockCipher, ecb } from "./block_cipher.ts";
import { Blowfish } from "./blowfish.ts";
import { Cast128 } from "./cast128.ts";
import { Des } from "./des.ts";
import { Rc4 } from "./rc4.ts";
import { Seed } from "./seed.ts";
import type { CipherInfo, DirectionKeys, MacInfo } from "./types.ts";

/**
 * Hex string (whitespace ignored) to bytes.
 *
 * @example
 * ```ts
 * import { unhex } from "./_test_util.ts";
 * console.log(unhex("0a ff")); // Uint8Array [10, 255]
 * ```
 */
export function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Bytes to lowercase hex.
 *
 * @example
 * ```ts
 * import { hex } from "./_test_util.ts";
 * console.log(hex(new Uint8Array([10, 255]))); // "0aff"
 * ```
 */
export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * Builds a correctly padded plaintext packet (`uint32 length | byte padding |
 * payload | padding`) for a cipher+MAC, aligned the way OpenSSH aligns it.
 *
 * @example
 * ```ts
 * import { makePacket } from "./_test_util.ts";
 * import { seededRandom } from "../random.ts";
 * import { getCipherInfo } from "./registry.ts";
 * const p = makePacket(seededRandom(1), 10, getCipherInfo("aes128-ctr")!, null);
 * console.log(p.length % 16); // 0
 * ```
 */
export function makePacket(
  random: RandomSource,
  payloadLength: number,
  cipher: CipherInfo,
  mac: MacInfo | null,
): Uint8Array {
  const block = Math.max(8, cipher.blockSize);
  // The length field is outside the alignment for AEAD ciphers and ETM MACs.
  const excludeLength = cipher.aead || (mac?.etm ?? false);
  const covered = (excludeLength ? 1 : 5) + payloadLength;
  let pad = block - (covered % block);
  if (pad < 4) pad += block;
  const packetLength = 1 + payloadLength + pad;
  const p = new Uint8Array(4 + packetLength);
  new DataView(p.buffer).setUint32(0, packetLength);
  p[4] = pad;
  p.set(random(payloadLength + pad), 5);
  return p;
}

function hashOf(macName: string) {
  if (macName.includes("sha2-512") || macName.startsWith("hmac-sha512@")) return sha512;
  if (macName.includes("sha2-256") || macName.startsWith("hmac-sha256")) return sha256;
  if (macName.startsWith("hmac-sha384@")) return sha384;
  if (macName.startsWith("hmac-sha224@")) return sha224;
  if (macName.startsWith("hmac-md5")) return md5;
  return sha1;
}

/** The legacy block ciphers by wire name (their one-block primitives have their own KATs). */
const LEGACY_BLOCK: Readonly<Record<string, (key: Uint8Array) => BlockCipher>> = {
  "3des-cbc": (k) => new Des(k),
  "blowfish-cbc": (k) => new Blowfish(k),
  "cast128-cbc": (k) => new Cast128(k),
  "seed-cbc@ssh.com": (k) => new Seed(k),
};

/** CBC written out block by block over ECB, independent of the CbcTransform under test. */
function referenceCbc(cipher: BlockCipher, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const bs = cipher.blockSize;
  const out = new Uint8Array(data.length);
  let prev: Uint8Array = iv.slice();
  for (let o = 0; o < data.length; o += bs) {
    const block = data.slice(o, o + bs).map((b, i) => b ^ prev[i]!);
    prev = ecb(cipher, block, "encrypt");
    out.set(prev, o);
  }
  return out;
}

function referenceStream(name: string, keys: DirectionKeys, stream: Uint8Array): Uint8Array {
  if (Object.hasOwn(LEGACY_BLOCK, name)) {
    return referenceCbc(LEGACY_BLOCK[name]!(keys.encKey), keys.iv, stream);
  }
  if (name.startsWith("arcfour")) {
    // RFC 4345: arcfour128/256 drop the first 1,536 keystream bytes.
    const skip = name === "arcfour" ? 0 : 1536;
    const ks = new Uint8Array(skip + stream.length);
    new Rc4(keys.encKey).xor(ks, 0, ks.length);
    return stream.map((b, i) => b ^ ks[skip + i]!);
  }
  return name.endsWith("-ctr")
    ? ctr(keys.encKey, keys.iv).encrypt(stream)
    : cbc(keys.encKey, keys.iv, { disablePadding: true }).encrypt(stream);
}

function seqBytes(seq: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, seq >>> 0);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), (o += p.length);
  return out;
}

/** One sealed packet of the reference: the encrypted packet and its tag/MAC. */
export interface SealedPacket {
  /** The encrypted packet (length field first). */
  readonly packet: Uint8Array;
  /** The tag or MAC. */
  readonly tag: Uint8Array;
}

/**
 * Seals a run of consecutive packets (sequence numbers `firstSeq`, `firstSeq+1`, …)
 * with the reference construction. Stream state (CTR keystream, CBC chain, GCM
 * invocation counter) runs across the packets, as on a connection.
 *
 * @example
 * ```ts
 * import { referenceSeal, makePacket } from "./_test_util.ts";
 * import { seededRandom } from "../random.ts";
 * import { getCipherInfo } from "./registry.ts";
 * const c = getCipherInfo("aes128-gcm@openssh.com")!;
 * const keys = { encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0) };
 * const [out] = referenceSeal(c, null, keys, 0, [makePacket(seededRandom(1), 3, c, null)]);
 * ```
 */
export function referenceSeal(
  cipher: CipherInfo,
  mac: MacInfo | null,
  keys: DirectionKeys,
  firstSeq: number,
  packets: readonly Uint8Array[],
): SealedPacket[] {
  const name = cipher.name;
  if (name === "chacha20-poly1305@openssh.com") {
    const k2 = keys.encKey.subarray(0, 32), k1 = keys.encKey.subarray(32, 64);
    return packets.map((p, i) => {
      const nonce = new Uint8Array(8);
      new DataView(nonce.buffer).setUint32(4, (firstSeq + i) >>> 0);
      const encLen = chacha20orig(k1, nonce, p.subarray(0, 4));
      const encBody = chacha20orig(k2, nonce, p.subarray(4), undefined, 1);
      const polyKey = chacha20orig(k2, nonce, new Uint8Array(32));
      const packet = concat([encLen, encBody]);
      return { packet, tag: poly1305(packet, polyKey) };
    });
  }
  if (name.includes("-gcm@")) {
    const view = new DataView(keys.iv.buffer, keys.iv.byteOffset, 12);
    let inv = view.getBigUint64(4);
    return packets.map((p) => {
      const nonce = new Uint8Array(12);
      nonce.set(keys.iv.subarray(0, 4));
      new DataView(nonce.buffer).setBigUint64(4, inv);
      inv = (inv + 1n) & 0xffffffffffffffffn;
      const out = gcm(keys.encKey, nonce, p.subarray(0, 4)).encrypt(p.subarray(4));
      return {
        packet: concat([p.subarray(0, 4), out.subarray(0, out.length - 16)]),
        tag: out.subarray(out.length - 16),
      };
    });
  }
  const m = mac!;
  const hash = hashOf(m.name);
  const start = m.etm ? 4 : 0;
  // The cipher runs over the encrypted parts of all packets as one stream.
  const stream = concat(packets.map((p) => p.subarray(start)));
  const enc = referenceStream(name, keys, stream);
  let o = 0;
  return packets.map((p, i) => {
    const seq = seqBytes(firstSeq + i);
    const ct = enc.subarray(o, o + p.length - start);
    o += p.length - start;
    const packet = concat([p.subarray(0, start), ct]);
    const macked = m.etm ? packet : p;
    if (m.name.startsWith("umac-")) {
      // UMAC: no sequence number in the input; it is the nonce, as uint64 big-endian.
      const nonce = concat([new Uint8Array(4), seq]);
      const tag = referenceUmac(keys.macKey, macked, nonce, m.macLength as 8 | 16);
      return { packet, tag };
    }
    const tag = hmac(hash, keys.macKey, concat([seq, macked]));
    return { packet, tag: tag.subarray(0, m.macLength) };
  });
}

/**
 * Key material of the right sizes for a cipher+MAC, from a random source.
 *
 * @example
 * ```ts
 * import { keysFor } from "./_test_util.ts";
 * import { seededRandom } from "../random.ts";
 * import { getCipherInfo } from "./registry.ts";
 * console.log(keysFor(seededRandom(1), getCipherInfo("aes256-ctr")!, null).encKey.length); // 32
 * ```
 */
export function keysFor(
  random: RandomSource,
  cipher: CipherInfo,
  mac: MacInfo | null,
): DirectionKeys {
  return {
    encKey: random(cipher.keyLength),
    iv: random(cipher.ivLength),
    macKey: cipher.aead || mac === null ? new Uint8Array(0) : random(mac.keyLength),
  };
}

/** Every implemented cipher+MAC pair (AEAD ciphers once, with a null MAC). */
export interface AlgorithmPair {
  /** The cipher. */
  readonly cipher: CipherInfo;
  /** The MAC, or null for AEAD ciphers. */
  readonly mac: MacInfo | null;
  /** "cipher" or "cipher + mac", for messages. */
  readonly label: string;
}

/**
 * Lists every cipher+MAC pair from the given tables.
 *
 * @example
 * ```ts
 * import { allPairs } from "./_test_util.ts";
 * import { getCipherInfo, getMacInfo, SUPPORTED_CIPHERS, SUPPORTED_MACS } from "./registry.ts";
 * const pairs = allPairs(
 *   SUPPORTED_CIPHERS.map((n) => getCipherInfo(n)!),
 *   SUPPORTED_MACS.map((n) => getMacInfo(n)!),
 * );
 * ```
 */
export function allPairs(ciphers: CipherInfo[], macs: MacInfo[]): AlgorithmPair[] {
  const out: AlgorithmPair[] = [];
  for (const cipher of ciphers) {
    if (cipher.aead) out.push({ cipher, mac: null, label: cipher.name });
    else for (const mac of macs) out.push({ cipher, mac, label: `${cipher.name} + ${mac.name}` });
  }
  return out;
}
