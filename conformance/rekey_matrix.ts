/**
 * The rekey matrix shared by `rekey_client_test.ts` and `rekey_server_test.ts`, after OpenSSH's
 * regress/rekey.sh: 320 KiB each way through `cat` (hash-checked) with rekey limits from 16 bytes
 * to 256 KiB, set on our side or on OpenSSH's.
 *
 * Which combinations: as rekey.sh, every cipher and every MAC once each (with the others at their
 * defaults) at a 256 KiB limit, every key exchange once with the AEAD ciphers in turn (rekey.sh
 * runs every AEAD cipher with every key exchange), and the limits 16, 1K, 128K and 256K with
 * default algorithms, each set by us and by the peer.
 * That is the full matrix, run on Node. Deno and Bun run a representative one (three key
 * exchanges, one cipher per construction, limits 16 and 256K each side) to keep CI time down.
 *
 * @module
 */

import { createHash } from "node:crypto";
import * as net from "node:net";
import { getCipherInfo, SUPPORTED_CIPHERS, SUPPORTED_MACS } from "../core/crypto/registry.ts";
import { SUPPORTED_KEX } from "../core/kex/registry.ts";

/** True on Node (full matrix); Deno and Bun run the representative one. */
export const FULL_MATRIX = !("Deno" in globalThis) && !("Bun" in globalThis);

/** Bytes sent each way per connection (OpenSSH's test uses a 300 KB file). */
export const REKEY_DATA_BYTES = 320 * 1024;

/** One connection of the matrix. */
export interface RekeyCase {
  /** Key exchange to force (default: each side's default). */
  readonly kex?: string;
  /** Cipher to force. */
  readonly cipher?: string;
  /** MAC to force (with a non-AEAD cipher). */
  readonly mac?: string;
  /** Rekey limit in bytes on our side. */
  readonly ours?: number;
  /** Rekey limit in bytes on the OpenSSH side (sshd's or ssh's RekeyLimit). */
  readonly peer?: number;
}

/** A short label for failure lists. */
export function caseLabel(c: RekeyCase): string {
  return [
    c.kex,
    c.cipher,
    c.mac,
    c.ours !== undefined ? `ours=${c.ours}` : "",
    c.peer !== undefined ? `peer=${c.peer}` : "",
  ].filter(Boolean).join(" ");
}

const KIB = 1024;
/** The limits rekey.sh tries: 16, 1k, 128k, 256k. */
export const LIMITS: readonly number[] = FULL_MATRIX
  ? [16, KIB, 128 * KIB, 256 * KIB]
  : [16, 256 * KIB];

/** Representative key exchanges for Deno and Bun (those the peer offers). */
const FEW_KEX = ["curve25519-sha256", "ecdh-sha2-nistp256", "mlkem768x25519-sha256"];

/** The first of each cipher construction for Deno and Bun. */
const FEW_CIPHERS = [
  { cipher: "chacha20-poly1305@openssh.com" },
  { cipher: "aes128-gcm@openssh.com" },
  { cipher: "aes256-ctr", mac: "hmac-sha2-256-etm@openssh.com" },
  { cipher: "aes128-ctr", mac: "hmac-sha1" },
];

/** The matrix against a peer that offers `kex`, `ciphers` and `macs`. */
export function rekeyCases(
  peer: { kex: readonly string[]; ciphers: readonly string[]; macs: readonly string[] },
): RekeyCase[] {
  const big = 256 * KIB;
  const kexes = SUPPORTED_KEX.filter((k) => peer.kex.includes(k));
  const ciphers = SUPPORTED_CIPHERS.filter((c) => peer.ciphers.includes(c));
  const macs = SUPPORTED_MACS.filter((m) => peer.macs.includes(m));
  const out: RekeyCase[] = [];
  for (const n of LIMITS) out.push({ ours: n }, { peer: n });
  if (!FULL_MATRIX) {
    for (const kex of FEW_KEX.filter((k) => kexes.includes(k))) out.push({ kex, ours: 1024 });
    for (const c of FEW_CIPHERS) {
      if (ciphers.includes(c.cipher) && (!c.mac || macs.includes(c.mac))) {
        out.push({ ...c, ours: 16 * KIB });
      }
    }
    return out;
  }
  // rekey.sh runs every AEAD cipher with every key exchange ("AEAD ciphers are magical"); here
  // each key exchange runs once, with the AEAD ciphers in turn, to keep CI time down.
  const aead = ciphers.filter((c) => getCipherInfo(c)!.aead);
  kexes.forEach((kex, i) => out.push({ kex, cipher: aead[i % aead.length]!, ours: big }));
  for (const cipher of ciphers) out.push({ cipher, ours: big });
  for (const mac of macs) out.push({ cipher: "aes128-ctr", mac, ours: big });
  return out;
}

/** Deterministic printable data (so `cat`'s output compares as text). */
export function rekeyData(bytes = REKEY_DATA_BYTES): Uint8Array {
  const b = new Uint8Array(bytes);
  let s = 0x2545f491;
  for (let i = 0; i < b.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    b[i] = 33 + ((s >>> 0) % 90);
    if (i % 100 === 99) b[i] = 10;
  }
  return b;
}

/** SHA-256 of some bytes, as hex. */
export function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

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

/** A TCP echo server on loopback; `close()` stops it and its sockets. */
export async function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Sends `data` through a TCP port that echoes and resolves the SHA-256 of what came back. */
export async function echoThrough(port: number, data: Uint8Array): Promise<string> {
  const sock = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const got = createHash("sha256");
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => {
      got.update(b);
      received += b.length;
    });
    sock.on("end", () => resolve());
    sock.on("error", reject);
  });
  for (let off = 0; off < data.length; off += 64 * KIB) {
    if (!sock.write(data.slice(off, off + 64 * KIB))) {
      await new Promise((r) => sock.once("drain", r));
    }
  }
  sock.end();
  await done;
  sock.destroy();
  if (received !== data.length) {
    throw new Error(`echo returned ${received} of ${data.length} bytes`);
  }
  return got.digest("hex");
}
