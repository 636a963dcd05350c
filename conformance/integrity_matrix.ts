/**
 * The integrity matrix shared by `integrity_client_test.ts` and `integrity_server_test.ts`, after
 * OpenSSH's regress/integrity.sh: which cipher and MAC pairs to try, which byte offsets to flip,
 * and how to read each receiver's verdict.
 *
 * Node runs the full matrix (every cipher with every MAC); Deno and Bun
 * run a reduced one (the first pair of each construction: ChaCha20-Poly1305, AES-GCM,
 * encrypt-then-MAC, encrypt-and-MAC) to keep CI time down. Two offsets each way per pair.
 * UMAC is a MAC construction of its own but the ciphers around it are the HMAC pairs' ones:
 * its four MACs go with the first non-AEAD cipher only (full matrix), and the reduced matrix
 * adds one UMAC pair per mode (ETM, encrypt-and-MAC), so it grows by 4 pairs (2 reduced).
 *
 * @module
 */

import { getCipherInfo, SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import type { RelayDirection } from "./fixtures/relay.ts";

/** True on Node (full matrix); Deno and Bun run the reduced one. */
export const FULL_MATRIX = !("Deno" in globalThis) && !("Bun" in globalThis);

/**
 * The AsyncSSH-era legacy names (3des, Blowfish, CAST-128, RC4, SEED, aes192-cbc, the MD5 and
 * -96 MACs, SSH.com's HMAC names): not in the matrix against listen() (with them it grew to 276
 * pairs and did not finish in time); integrity_legacy_test.ts covers each of them once instead.
 */
export const LEGACY = /^(3des|blowfish|cast128|arcfour|seed|aes192-cbc)|md5|-96|@ssh\.com/;

/** One cipher, with a MAC unless the cipher is an AEAD. */
export interface CipherMac {
  readonly cipher: string;
  readonly mac?: string;
}

/** The reduced matrix takes the first pair of each packet construction both sides have. */
const CONSTRUCTIONS: readonly ((p: CipherMac) => boolean)[] = [
  (p) => p.cipher.startsWith("chacha20-poly1305"),
  (p) => p.cipher.includes("-gcm@"),
  (p) => p.mac?.endsWith("-etm@openssh.com") === true,
  (p) => p.mac !== undefined && !p.mac.endsWith("-etm@openssh.com"),
];

/**
 * Every cipher and MAC pair both sides support (AEAD ciphers alone); on Deno and Bun only the
 * first pair of each construction (ChaCha20-Poly1305, AES-GCM, encrypt-then-MAC,
 * encrypt-and-MAC).
 */
export function cipherMacPairs(
  peerCiphers: readonly string[],
  peerMacs: readonly string[],
): CipherMac[] {
  const all: CipherMac[] = [];
  const umac: CipherMac[] = [];
  for (const cipher of SUPPORTED_CIPHERS) {
    if (!peerCiphers.includes(cipher)) continue;
    if (getCipherInfo(cipher)!.aead) {
      all.push({ cipher });
      continue;
    }
    for (const mac of SUPPORTED_MACS) {
      if (!peerMacs.includes(mac)) continue;
      if (!isUmac(mac)) all.push({ cipher, mac });
      else if (umac.every((p) => p.cipher === cipher)) umac.push({ cipher, mac });
    }
  }
  if (FULL_MATRIX) return [...all, ...umac];
  const reduced = CONSTRUCTIONS.map((c) => all.find(c));
  const umacModes = [
    umac.find((p) => p.mac!.includes("-etm@")),
    umac.find((p) => !p.mac!.includes("-etm@")),
  ];
  return [...reduced, ...umacModes].filter((p) => p !== undefined);
}

function isUmac(mac: string): boolean {
  return mac.startsWith("umac-");
}

/** A short label: `aes128-ctr+hmac-sha1`. */
export function label(p: CipherMac): string {
  return p.mac ? `${p.cipher}+${p.mac}` : p.cipher;
}

/** Seeded 32-bit generator (mulberry32), so every run flips the same bytes. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * Offsets after NEWKEYS to flip for one pair and direction: one in the first packet's header
 * (length, padding length, the first block) and one further on (auth traffic, and on the full
 * matrix the bulk data after it). Seeded by the pair and direction, so each pair hits different
 * places and every run the same ones.
 */
export function flipOffsets(p: CipherMac, dir: RelayDirection, salt = ""): number[] {
  const rnd = seeded(hash(`${label(p)}/${dir}/${salt}`));
  const pick = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo));
  return [pick(0, 16), pick(16, FULL_MATRIX ? 6000 : 600)];
}

/** Bytes the workload moves each way after authentication: enough to reach every offset. */
export const WORKLOAD_BYTES = 32 * 1024;

/** Our engine's verdicts on a corrupted packet. */
export const OUR_CODES: readonly string[] = ["ERR_MAC", "ERR_PACKET_LENGTH"];

/**
 * What OpenSSH (sshd's log, ssh's stderr) and Dropbear (its log) say about a corrupted packet.
 * OpenSSH: "Corrupted MAC on input" / "Bad packet length N." (logged without the client's port),
 * then either a fatal line naming the port, "message authentication code incorrect" or (an
 * AEAD/ETM length, SSH_ERR_CONN_CORRUPT) "Connection corrupted", or, after an authenticated
 * session's non-ETM packet failed and OpenSSH read on to hide which check failed (its CBC-oracle
 * countermeasure), "Finished discarding for ... port N". Dropbear: "Integrity error" (MAC or
 * length) and "Error decrypting" (ChaCha20-Poly1305's tag).
 */
export const PEER_VERDICT =
  /Corrupted MAC on input|message authentication code incorrect|Bad packet length|Packet corrupt|Connection corrupted|Finished discarding|Integrity error|Error decrypting/;

/** Deterministic workload bytes. */
export function workload(): Uint8Array {
  const b = new Uint8Array(WORKLOAD_BYTES);
  const rnd = seeded(7);
  for (let i = 0; i < b.length; i++) b[i] = 32 + Math.floor(rnd() * 90);
  b[b.length - 1] = 10;
  return b;
}

/** Counts of verdicts, for the one summary line each test prints. */
export class Tally {
  readonly counts = new Map<string, number>();
  trials = 0;
  add(verdict: string): void {
    this.trials++;
    this.counts.set(verdict, (this.counts.get(verdict) ?? 0) + 1);
  }
  toString(): string {
    return `${this.trials} flips: ` +
      [...this.counts].map(([k, v]) => `${k} ${v}`).join(", ");
  }
}

/** Trials in flight at once: most of a trial is waiting (peers forking, the relay's filler). */
export const TRIAL_CONCURRENCY = 3;

/** Runs `fn` over items, `limit` at a time. */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
