/**
 * Packet-protection throughput on any runtime: prints, per algorithm and
 * provider, the seal+open MB/s (median of several timed runs) of a packet whose
 * payload is 32 KiB by default; then chacha20-poly1305 by implementation (pure
 * JavaScript, JavaScript + WebAssembly Poly1305, all WebAssembly, native ChaCha20
 * with either Poly1305), so the WebAssembly kernels' gain shows in one run; then
 * the primitives we replaced (Poly1305, ChaCha20, GHASH) next to noble's.
 *
 *   node_modules/.bin/deno run -A bench/cipher_throughput.ts
 *   node_modules/.bin/node bench/cipher_throughput.ts
 *   node_modules/.bin/bun bench/cipher_throughput.ts
 *
 * Options: `--size=N` payload bytes (repeatable: `--size=256 --size=32768`),
 * `--runs=N` timed runs per case (default 7), `--ms=N` minimum ms per run
 * (default 150), `--no-primitives`, `--only-chacha` (just the chacha20-poly1305
 * sections), `--cpu` (rates per second of this process's CPU time, user+sys,
 * instead of wall time: steadier on a loaded machine, where wall time counts the
 * time other processes hold the core).
 *
 * The chacha20-poly1305 sections also time seal and open separately (open
 * restores the sealed packet with one copy per call, included in its time).
 *
 * MB/s counts payload bytes once per seal+open pair, so it is the rate at which
 * one connection could both send and receive. Machine noise matters: the median
 * is reported, and the best run beside it.
 *
 * @module
 */

import process from "node:process";
import { poly1305 as noblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { ghash as nobleGhash } from "@noble/ciphers/_polyval.js";
import { chacha20orig } from "@noble/ciphers/chacha.js";
import { gcm as nobleGcm } from "@noble/ciphers/aes.js";
import { ChaCha20Key, chacha20XorInPlace } from "../core/crypto/chacha20.ts";
import { Ghash } from "../core/crypto/ghash.ts";
import { NobleHmac } from "../core/crypto/noble_hmac.ts";
import { UmacPacketMac } from "../core/crypto/umac.ts";
import { NativeHmac } from "../io/crypto/native_hmac.ts";
import { ChaChaPolyOpener, ChaChaPolySealer } from "../core/crypto/noble_chacha20_poly1305.ts";
import { Poly1305 } from "../core/crypto/poly1305.ts";
import { getCipherInfo, getMacInfo, getPacketProtection } from "../core/crypto/registry.ts";
import type { PacketProtectionFactory } from "../core/crypto/types.ts";
import { getWasmKernels, WASM_LAYOUT, type WasmMode } from "../core/crypto/wasm/kernels.ts";
import { WasmPoly1305 } from "../core/crypto/wasm/poly1305_wasm.ts";
import {
  createNativePacketProtection,
  type NativePacketProtection,
} from "../io/crypto/native_provider.ts";
import { currentRuntime } from "../io/runtime/env.ts";

/** Cipher (+ MAC for the non-AEAD ones) combinations measured. */
const CASES: readonly (readonly [string, string | null])[] = [
  ["chacha20-poly1305@openssh.com", null],
  ["aes128-gcm@openssh.com", null],
  ["aes256-gcm@openssh.com", null],
  ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes256-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes128-ctr", "hmac-sha2-512-etm@openssh.com"],
  ["aes128-ctr", "umac-64-etm@openssh.com"],
  ["aes128-ctr", "umac-128-etm@openssh.com"],
  ["aes128-cbc", "hmac-sha2-256"],
];

function option(name: string): string[] {
  const prefix = `--${name}=`;
  return process.argv.filter((a) => a.startsWith(prefix)).map((a) => a.slice(prefix.length));
}

const sizes = option("size").map(Number);
const SIZES = sizes.length > 0 ? sizes : [32768];
const RUNS = Number(option("runs")[0] ?? 7);
const MIN_MS = Number(option("ms")[0] ?? 150);
const ONLY_CHACHA = process.argv.includes("--only-chacha");
const PRIMITIVES = !process.argv.includes("--no-primitives") && !ONLY_CHACHA;
const CPU = process.argv.includes("--cpu");

/** Seconds of wall time, or of this process's CPU time with `--cpu`. */
function clock(): number {
  if (!CPU) return performance.now() / 1000;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Times `fn` (which processes `bytes` per call): median and best MB/s. */
function measure(fn: () => void, bytes: number): { median: number; best: number } {
  for (let i = 0, t0 = performance.now(); i < 20 || performance.now() - t0 < 50; i++) fn();
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = performance.now(), c0 = clock();
    while (performance.now() - t0 < MIN_MS) fn(), n++;
    rates.push((n * bytes) / (clock() - c0) / 1e6);
  }
  rates.sort((a, b) => a - b);
  return { median: rates[rates.length >> 1]!, best: rates[rates.length - 1]! };
}

/** A seal+open round trip of one packet with `payload` bytes. */
function roundTrip(
  factory: PacketProtectionFactory,
  cipherName: string,
  macName: string | null,
  payload: number,
): () => void {
  const cipher = getCipherInfo(cipherName)!;
  const mac = macName ? getMacInfo(macName)! : null;
  const keys = {
    encKey: new Uint8Array(cipher.keyLength).fill(7),
    iv: new Uint8Array(cipher.ivLength).fill(9),
    macKey: new Uint8Array(mac && !cipher.aead ? mac.keyLength : 0).fill(5),
  };
  const sealer = factory.createSealer(cipher, mac, keys);
  const opener = factory.createOpener(cipher, mac, keys);
  const block = sealer.blockSize;
  const covered = (sealer.lengthInClear ? 1 : 5) + payload;
  let pad = block - (covered % block);
  if (pad < 4) pad += block;
  const packetLength = 1 + payload + pad;
  // One buffer as the transport lays it out: packet, then tag.
  const buf = new Uint8Array(4 + packetLength + sealer.tagLength);
  const packet = buf.subarray(0, 4 + packetLength), tag = buf.subarray(4 + packetLength);
  new DataView(buf.buffer).setUint32(0, packetLength);
  buf[4] = pad;
  let seq = 0;
  return () => {
    sealer.seal(seq, packet, tag);
    opener.decryptLength(seq, packet.subarray(0, opener.firstBlockLength));
    if (!opener.open(seq, packet, tag)) throw new Error(`${cipherName}: open failed`);
    seq = (seq + 1) >>> 0;
  };
}

/**
 * Seal alone and open alone of one packet with `payload` bytes (AEAD ciphers):
 * open copies a sealed packet back in before each call (one 32 KiB copy is
 * ~2 µs, a few % of the open).
 */
function sealAndOpen(
  factory: PacketProtectionFactory,
  cipherName: string,
  payload: number,
): [() => void, () => void] {
  const cipher = getCipherInfo(cipherName)!;
  const keys = {
    encKey: new Uint8Array(cipher.keyLength).fill(7),
    iv: new Uint8Array(cipher.ivLength).fill(9),
    macKey: new Uint8Array(0),
  };
  const sealer = factory.createSealer(cipher, null, keys);
  const opener = factory.createOpener(cipher, null, keys);
  const block = sealer.blockSize;
  const covered = (sealer.lengthInClear ? 1 : 5) + payload;
  let pad = block - (covered % block);
  if (pad < 4) pad += block;
  const packetLength = 1 + payload + pad;
  const buf = new Uint8Array(4 + packetLength + sealer.tagLength);
  const packet = buf.subarray(0, 4 + packetLength), tag = buf.subarray(4 + packetLength);
  new DataView(buf.buffer).setUint32(0, packetLength);
  buf[4] = pad;
  let seq = 0;
  const seal = () => sealer.seal(seq++ >>> 0, packet, tag);
  const sealed = buf.slice();
  sealer.seal(7, sealed.subarray(0, 4 + packetLength), sealed.subarray(4 + packetLength));
  const open = () => {
    buf.set(sealed);
    opener.decryptLength(7, packet.subarray(0, opener.firstBlockLength));
    if (!opener.open(7, packet, tag)) throw new Error(`${cipherName}: open failed`);
  };
  return [seal, open];
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function row(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

/** The chacha20-poly1305 portable path with a given WebAssembly mode, as a factory. */
function portableChaCha(wasm: WasmMode): PacketProtectionFactory {
  return {
    provider: `noble (wasm: ${wasm})`,
    createSealer: (_c, _m, keys) => new ChaChaPolySealer(keys, { wasm }),
    createOpener: (_c, _m, keys) => new ChaChaPolyOpener(keys, { wasm }),
  };
}

const runtime = currentRuntime();
const versions = process.versions as Record<string, string | undefined>;
const version = runtime === "deno"
  ? versions.deno
  : runtime === "bun"
  ? versions.bun
  : versions.node;
console.log(
  `# cipher throughput on ${runtime} ${version ?? ""} — seal+open, MB/s (median / best)` +
    (CPU ? ", per CPU second" : ""),
);

const noble = getPacketProtection({ provider: "noble" });
// Thresholds at 0 so the native column is the native path even for small sizes.
const native: NativePacketProtection = createNativePacketProtection({
  smallPacketThreshold: { gcm: 0, chacha: 0, mac: 0 },
});
const hybrid: NativePacketProtection = createNativePacketProtection();

for (const size of ONLY_CHACHA ? [] : SIZES) {
  console.log(`\n## payload ${size} bytes`);
  const widths = [52, 16, 16, 16];
  console.log(row(["algorithm", "noble", "node:crypto", "native+small"], widths));
  for (const [c, m] of CASES) {
    const label = m ? `${c} + ${m}` : c;
    const cells = [label];
    const nb = measure(roundTrip(noble, c, m, size), size);
    cells.push(`${fmt(nb.median)} / ${fmt(nb.best)}`);
    for (const f of [native, hybrid]) {
      if (!f.supports(c, m)) {
        cells.push("n/a");
        continue;
      }
      const r = measure(roundTrip(f, c, m, size), size);
      cells.push(`${fmt(r.median)} / ${fmt(r.best)}`);
    }
    console.log(row(cells, widths));
  }
}

{
  // chacha20-poly1305 by implementation: the before/after of the WebAssembly kernels.
  const chacha = "chacha20-poly1305@openssh.com";
  const zero = { gcm: 0, chacha: 0, mac: 0 };
  const rows: [string, PacketProtectionFactory][] = [
    ["portable: JS ChaCha20 + JS Poly1305", portableChaCha("none")],
    ["portable: JS ChaCha20 + wasm Poly1305", portableChaCha("poly1305")],
    ["portable: wasm ChaCha20 (SIMD) + wasm Poly1305", portableChaCha("auto")],
    [
      "node:crypto ChaCha20 + JS Poly1305",
      createNativePacketProtection({ smallPacketThreshold: zero, wasm: "none" }),
    ],
    [
      "node:crypto ChaCha20 + wasm Poly1305",
      createNativePacketProtection({ smallPacketThreshold: zero }),
    ],
    [
      "what connections use (native+small, else portable)",
      hybrid.supports(chacha, null) ? hybrid : portableChaCha("auto"),
    ],
  ];
  const k = getWasmKernels();
  const kernels = k === null ? "none" : k.packet === null ? "Poly1305 only" : "SIMD";
  for (const size of SIZES) {
    console.log(
      `\n## ${chacha} by implementation, payload ${size} bytes (wasm kernels: ${kernels})`,
    );
    const widths = [52, 16];
    for (const [name, f] of rows) {
      if ("supports" in f && !(f as NativePacketProtection).supports(chacha, null)) {
        console.log(row([name, "n/a"], widths));
        continue;
      }
      const r = measure(roundTrip(f, chacha, null, size), size);
      console.log(row([name, `${fmt(r.median)} / ${fmt(r.best)}`], widths));
    }
    console.log(`\n## ${chacha} seal and open separately, payload ${size} bytes`);
    console.log(row(["", "seal", "open"], [52, 16, 16]));
    for (const [name, f] of rows) {
      if ("supports" in f && !(f as NativePacketProtection).supports(chacha, null)) continue;
      const [seal, open] = sealAndOpen(f, chacha, size);
      const cells = [seal, open].map((fn) => {
        const r = measure(fn, size);
        return `${fmt(r.median)} / ${fmt(r.best)}`;
      });
      console.log(row([name, ...cells], [52, 16, 16]));
    }
  }
}

if (PRIMITIVES) {
  const N = 32768;
  const data = new Uint8Array(N).fill(3);
  const key = new Uint8Array(32).fill(1);
  const tag = new Uint8Array(16);
  const poly = new Poly1305();
  const wasmPoly = WasmPoly1305.create();
  const wasm = getWasmKernels();
  const ck = new ChaCha20Key(key);
  const nonce8 = new Uint8Array(8), out = new Uint8Array(N);
  const h = new Uint8Array(16).fill(2);
  const g = new Ghash(h);
  const umac64 = new UmacPacketMac(key.subarray(0, 16), 8);
  const umac128 = new UmacPacketMac(key.subarray(0, 16), 16);
  const hmacNoble = new NobleHmac("sha256", key);
  const hmacNative = new NativeHmac("sha256", key, 0);
  const tag32 = new Uint8Array(32);
  let seq = 0;
  console.log(`\n## primitives, ${N} bytes, MB/s (median / best)`);
  const widths = [52, 16];
  const prim: [string, () => void][] = [
    ["poly1305: noble", () => noblePoly1305(data, key)],
    ["poly1305: ours (core/crypto/poly1305.ts)", () => {
      poly.init(key);
      poly.update(data);
      poly.finish(tag);
    }],
    ["poly1305: ours, wasm (copy in + 26-bit limbs)", () => {
      wasmPoly?.init(key);
      wasmPoly?.update(data);
      wasmPoly?.finish(tag);
    }],
    ["chacha20 (64-bit nonce): noble chacha20orig", () => chacha20orig(key, nonce8, data, out)],
    ["chacha20 (64-bit nonce): ours, in place", () => chacha20XorInPlace(ck, 1, 0, 0, 5, data)],
    ["chacha20 (64-bit nonce): ours, wasm SIMD (copy in+out)", () => {
      if (wasm?.packet == null) return;
      wasm.memory.set(data, WASM_LAYOUT.data);
      wasm.packet.chacha_xor(WASM_LAYOUT.keyInput, 1, 0, 0, 5, WASM_LAYOUT.data, N);
      data.set(wasm.memory.subarray(WASM_LAYOUT.data, WASM_LAYOUT.data + N));
    }],
    ["ghash: noble (tables built per call)", () => nobleGhash(data, h)],
    ["ghash: ours (tables per key)", () => {
      g.reset();
      g.update(data, 0, N);
    }],
    [
      "aes-128-gcm encrypt: noble one-shot",
      () => nobleGcm(key.subarray(0, 16), tag.subarray(0, 12)).encrypt(data),
    ],
    ["umac-64: ours (core/crypto/umac.ts)", () => umac64.compute(seq++, data, 0, N, tag)],
    ["umac-128: ours", () => umac128.compute(seq++, data, 0, N, tag)],
    ["hmac-sha2-256: noble", () => hmacNoble.compute(seq++, data, 0, N, tag32)],
    ["hmac-sha2-256: node:crypto", () => hmacNative.compute(seq++, data, 0, N, tag32)],
  ];
  for (const [name, fn] of prim) {
    const r = measure(fn, N);
    console.log(row([name, `${fmt(r.median)} / ${fmt(r.best)}`], widths));
  }
}
