/**
 * `deno bench` microbenchmarks: seal+open of one packet with a 32 KiB payload
 * for every cipher (CTR and CBC with HMAC), portable ("noble") and native
 * ("node:crypto") side by side in one group per algorithm, noble as the baseline.
 *
 *   node_modules/.bin/deno bench -A bench/cipher_bench.ts
 *
 * For Node and Bun (no `Deno.bench`) use bench/cipher_throughput.ts, which runs
 * the same round trip on all three runtimes and prints MB/s.
 *
 * @module
 */

import { getCipherInfo, getMacInfo, getPacketProtection } from "../core/crypto/registry.ts";
import type { PacketProtectionFactory } from "../core/crypto/types.ts";
import { createNativePacketProtection } from "../io/crypto/native_provider.ts";
import { NativeHmac } from "../io/crypto/native_hmac.ts";
import { NobleHmac } from "../core/crypto/noble_hmac.ts";
import { UmacPacketMac } from "../core/crypto/umac.ts";
import type { PacketMac } from "../core/crypto/cipher_mac.ts";

const PAYLOAD = 32 * 1024;

const CASES: readonly (readonly [string, string | null])[] = [
  ["chacha20-poly1305@openssh.com", null],
  ["aes128-gcm@openssh.com", null],
  ["aes256-gcm@openssh.com", null],
  ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes192-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes256-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes128-ctr", "hmac-sha2-512-etm@openssh.com"],
  ["aes128-ctr", "hmac-sha2-256"],
  ["aes128-ctr", "umac-64-etm@openssh.com"],
  ["aes128-ctr", "umac-128-etm@openssh.com"],
  ["aes128-ctr", "umac-64@openssh.com"],
  ["aes128-cbc", "hmac-sha2-256"],
  ["aes256-cbc", "hmac-sha2-256"],
];

/** One seal+open round trip, in a buffer laid out as the transport does it. */
function roundTrip(f: PacketProtectionFactory, cipherName: string, macName: string | null) {
  const cipher = getCipherInfo(cipherName)!;
  const mac = macName ? getMacInfo(macName)! : null;
  const keys = {
    encKey: new Uint8Array(cipher.keyLength).fill(7),
    iv: new Uint8Array(cipher.ivLength).fill(9),
    macKey: new Uint8Array(mac && !cipher.aead ? mac.keyLength : 0).fill(5),
  };
  const sealer = f.createSealer(cipher, mac, keys);
  const opener = f.createOpener(cipher, mac, keys);
  const covered = (sealer.lengthInClear ? 1 : 5) + PAYLOAD;
  let pad = sealer.blockSize - (covered % sealer.blockSize);
  if (pad < 4) pad += sealer.blockSize;
  const buf = new Uint8Array(5 + PAYLOAD + pad + sealer.tagLength);
  const packet = buf.subarray(0, 5 + PAYLOAD + pad), tag = buf.subarray(5 + PAYLOAD + pad);
  new DataView(buf.buffer).setUint32(0, 1 + PAYLOAD + pad);
  buf[4] = pad;
  let seq = 0;
  return () => {
    sealer.seal(seq, packet, tag);
    opener.decryptLength(seq, packet.subarray(0, opener.firstBlockLength));
    if (!opener.open(seq, packet, tag)) throw new Error(`${cipherName}: open failed`);
    seq = (seq + 1) >>> 0;
  };
}

const noble = getPacketProtection({ provider: "noble" });
const native = createNativePacketProtection();

for (const [c, m] of CASES) {
  const group = m ? `${c} + ${m}` : c;
  Deno.bench({ name: `noble ${group}`, group, baseline: true, fn: roundTrip(noble, c, m) });
  if (native.supports(c, m)) {
    Deno.bench({ name: `node:crypto ${group}`, group, fn: roundTrip(native, c, m) });
  }
}

// The MACs alone over a 32 KiB packet: UMAC (ours, JS) against HMAC-SHA-256.
{
  const data = new Uint8Array(PAYLOAD + 16).fill(3);
  const out = new Uint8Array(64);
  const macs: [string, PacketMac][] = [
    ["umac-64 (ours)", new UmacPacketMac(new Uint8Array(16).fill(1), 8)],
    ["umac-128 (ours)", new UmacPacketMac(new Uint8Array(16).fill(1), 16)],
    ["hmac-sha2-256 (noble)", new NobleHmac("sha256", new Uint8Array(32).fill(1))],
    ["hmac-sha2-256 (node:crypto)", new NativeHmac("sha256", new Uint8Array(32).fill(1), 0)],
  ];
  for (const [name, mac] of macs) {
    let seq = 0;
    Deno.bench({
      name: `MAC alone: ${name}`,
      group: "MAC alone, 32 KiB",
      baseline: name.includes("noble"),
      fn: () => mac.compute(seq++ >>> 0, data, 0, data.length, out),
    });
  }
}
