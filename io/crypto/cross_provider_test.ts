/**
 * Every packet-protection provider this runtime has (the portable one, `node:crypto` with
 * every packet native, libcrypto where it is loaded, WebCrypto's AES-GCM before a driver
 * attaches) seals the same bytes for the same keys and opens the others' packets, across the
 * sequence number's wrap at 2^32 (and AES-GCM's invocation counter's at 2^64), for packets
 * of every length around the block and MAC boundaries and at the maximum; and every one of
 * them refuses the same packet with a flipped bit or cut short, without throwing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import {
  getCipherInfo,
  getMacInfo,
  getPacketProtection,
  SUPPORTED_CIPHERS,
} from "../../core/crypto/registry.ts";
import type {
  CipherInfo,
  DirectionKeys,
  MacInfo,
  PacketOpener,
  PacketProtectionFactory,
} from "../../core/crypto/types.ts";
import { toHex } from "../../core/wire.ts";
import { MAX_PACKET_LENGTH } from "../../core/limits.ts";
import { libcrypto } from "./libcrypto/binding.ts";
import { createLibcryptoPacketProtection } from "./libcrypto/provider.ts";
import { createNativePacketProtection } from "./native_provider.ts";
import { createWebCryptoGcmProtection } from "./webcrypto_gcm.ts";

type Factory = PacketProtectionFactory & { supports?(c: string, m: string | null): boolean };

const PROVIDERS: { name: string; f: Factory }[] = [
  { name: "noble", f: getPacketProtection({ provider: "noble" }) },
  {
    name: "node:crypto",
    f: createNativePacketProtection({ smallPacketThreshold: { gcm: 0, chacha: 0, mac: 0 } }),
  },
  { name: "webcrypto", f: createWebCryptoGcmProtection() },
];
const loaded = libcrypto();
if (loaded.available) {
  PROVIDERS.push({ name: "libcrypto", f: createLibcryptoPacketProtection(loaded.lib) });
}

/** One MAC of each kind per non-AEAD cipher keeps the run short; the AES ones get them all. */
const MACS = [
  "umac-64-etm@openssh.com",
  "umac-128@openssh.com",
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512",
  "hmac-sha1-etm@openssh.com",
  "hmac-sha1",
  "hmac-md5-96",
];

function pairs(): { cipher: CipherInfo; mac: MacInfo | null }[] {
  const out: { cipher: CipherInfo; mac: MacInfo | null }[] = [];
  for (const name of SUPPORTED_CIPHERS) {
    const cipher = getCipherInfo(name)!;
    if (cipher.aead) out.push({ cipher, mac: null });
    else {
      const macs = name.startsWith("aes") ? MACS : MACS.slice(0, 3);
      for (const m of macs) out.push({ cipher, mac: getMacInfo(m)! });
    }
  }
  return out;
}

function providersFor(cipher: CipherInfo, mac: MacInfo | null) {
  return PROVIDERS.filter((p) =>
    p.f.supports === undefined || p.f.supports(cipher.name, cipher.aead ? null : mac!.name)
  );
}

/**
 * packet_length values around block boundaries and the 1 KiB WebCrypto threshold, and the
 * largest one allowed (the slow legacy ciphers: the small ones only).
 */
function lengths(block: number, lengthInClear: boolean, small = false): number[] {
  const ok = (l: number) => l >= 5 && (lengthInClear ? l : l + 4) % block === 0;
  const out: number[] = [];
  for (const base of small ? [0, 16, 32, 64] : [0, 16, 32, 64, 1024]) {
    for (let l = base - 24; l <= base + 24; l++) if (ok(l)) out.push(l);
  }
  if (!small) {
    let max = MAX_PACKET_LENGTH;
    while (!ok(max)) max--;
    out.push(max);
  }
  return [...new Set(out)];
}

function slow(cipher: CipherInfo): boolean {
  return !cipher.aead && !cipher.name.startsWith("aes");
}

function packetOf(rnd: (n: number) => Uint8Array, len: number): Uint8Array {
  const p = rnd(4 + len);
  new DataView(p.buffer).setUint32(0, len);
  p[4] = 4;
  return p;
}

/** decryptLength on a copy of the first block, then open: the plaintext, or null. */
function openCopy(o: PacketOpener, seq: number, sealed: Uint8Array, tag: Uint8Array) {
  const p = sealed.slice();
  if (p.length >= o.firstBlockLength) o.decryptLength(seq, p.subarray(0, o.firstBlockLength));
  return o.open(seq, p, tag) ? p.subarray(4) : null;
}

function keysFor(rnd: (n: number) => Uint8Array, c: CipherInfo, m: MacInfo | null): DirectionKeys {
  const iv = rnd(c.ivLength);
  // AES-GCM: an invocation counter two packets short of its wrap.
  if (c.ivLength === 12) iv.fill(0xff, 4, 11), iv[11] = 0xfe;
  return { encKey: rnd(c.keyLength), iv, macKey: rnd(m?.keyLength ?? 0) };
}

test("every provider seals the same bytes and opens the others' across the seq wrap", () => {
  const rnd = seededRandom(0x2f32);
  for (const { cipher, mac } of pairs()) {
    const ps = providersFor(cipher, mac);
    const label = `${cipher.name}${mac ? `+${mac.name}` : ""}`;
    const keys = keysFor(rnd, cipher, mac);
    const sealers = ps.map((p) => p.f.createSealer(cipher, mac, keys));
    const openers = ps.map((p) => p.f.createOpener(cipher, mac, keys));
    const { blockSize, lengthInClear, tagLength } = sealers[0]!;
    let seq = 0xffffffff - 3;
    // The largest packet: once per cipher (with its first MAC), and in both MAC orders.
    const small = slow(cipher) || (mac !== null && mac.name !== MACS[0] && mac.name !== MACS[3]);
    for (const len of lengths(blockSize, lengthInClear, small)) {
      const plain = packetOf(rnd, len);
      let first: string | undefined;
      let sealed: Uint8Array | undefined, tag: Uint8Array | undefined;
      sealers.forEach((s, i) => {
        const p = plain.slice(), t = new Uint8Array(tagLength);
        s.seal(seq, p, t);
        const bytes = toHex(p) + toHex(t);
        if (first === undefined) [first, sealed, tag] = [bytes, p, t];
        else assert.equal(bytes, first, `${label} len ${len}: ${ps[i]!.name} seals differently`);
      });
      openers.forEach((o, i) => {
        const got = openCopy(o, seq, sealed!, tag!);
        assert.ok(got !== null, `${label} len ${len} seq ${seq}: ${ps[i]!.name} refused`);
        assert.equal(toHex(got), toHex(plain.subarray(4)), `${label}: ${ps[i]!.name} plaintext`);
      });
      seq = (seq + 1) >>> 0;
    }
  }
});

test("every provider refuses a flipped bit or a cut packet or tag, without throwing", () => {
  const rnd = seededRandom(0x7a3e);
  for (const { cipher, mac } of pairs()) {
    const ps = providersFor(cipher, mac);
    const label = `${cipher.name}${mac ? `+${mac.name}` : ""}`;
    const keys = keysFor(rnd, cipher, mac);
    const s = ps[0]!.f.createSealer(cipher, mac, keys);
    const len = lengths(s.blockSize, s.lengthInClear).find((l) => l > 1030)!;
    const seq = 0xffffffff;
    const p = packetOf(rnd, len), t = new Uint8Array(s.tagLength);
    s.seal(seq, p, t);
    const total = p.length + t.length;
    const spots = [
      0,
      3,
      4,
      5,
      p.length - 1,
      p.length,
      total - 1,
      ...[0, 1, 2].map(() => {
        return new DataView(rnd(4).buffer).getUint32(0) % total;
      }),
    ];
    for (const provider of ps) {
      const fresh = () => provider.f.createOpener(cipher, mac, keys);
      for (const at of spots) {
        const p2 = p.slice(), t2 = t.slice();
        if (at < p.length) p2[at]! ^= 0x10;
        else t2[at - p.length]! ^= 0x10;
        assert.equal(openCopy(fresh(), seq, p2, t2), null, `${label}: ${provider.name} bit ${at}`);
      }
      for (const cut of [1, 8, 16]) {
        const short = p.subarray(0, p.length - cut);
        assert.equal(openCopy(fresh(), seq, short, t), null, `${label}: ${provider.name} -${cut}`);
        const t3 = t.subarray(0, Math.max(0, t.length - cut));
        assert.equal(openCopy(fresh(), seq, p, t3), null, `${label}: ${provider.name} tag -${cut}`);
      }
    }
  }
});
