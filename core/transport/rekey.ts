/**
 * When to rekey (RFC 4253 §9, RFC 4344 §3): after so many bytes or packets in either
 * direction under one set of keys, or after so much time. The transport asks this
 * policy after each send and receive, and for its time deadline.
 *
 * @module
 */

import { DEFAULT_REKEY_BYTES, DEFAULT_REKEY_PACKETS } from "../limits.ts";

/** Traffic under the current keys, as a packet sender or receiver counts it. */
export interface TrafficCounter {
  /** Packets since the last key change. */
  readonly packetsSinceKex: number;
  /** Bytes since the last key change. */
  readonly bytesSinceKex: number;
  /** Block size of the cipher in use (0 or absent: none yet). */
  readonly cipherBlockSize?: number;
}

/**
 * Most packets under one set of keys, whatever `rekeyPackets` says (OpenSSH's MAX_PACKETS,
 * RFC 4344 §3.1): past 2^32 the sequence number wraps, and chacha20-poly1305 takes its
 * nonce from it, so one key would seal two packets with the same nonce.
 */
export const MAX_REKEY_PACKETS = 2 ** 31;

/**
 * Most bytes under one key of a cipher whose blocks are under 16 bytes (3des-cbc,
 * blowfish-cbc, and chacha20-poly1305 as OpenSSH counts it), whatever `rekeyBytes` says:
 * OpenSSH's cap for them (RFC 4344 §3.2; the birthday bound of 64-bit blocks, Sweet32).
 */
export const SMALL_BLOCK_REKEY_BYTES = 2 ** 30;

/** Rekey limits; each has a default with its reason in `core/limits.ts`. */
export interface RekeyLimits {
  /** Rekey after this many bytes in either direction. Default 1 GiB. */
  readonly rekeyBytes?: number;
  /** Rekey after this many packets in either direction. Default and most 2^31. */
  readonly rekeyPackets?: number;
  /** Rekey after this many milliseconds. Default: no time limit (as OpenSSH). */
  readonly rekeyIntervalMs?: number;
}

/**
 * The rekey limits of one connection.
 *
 * @example
 * ```ts
 * import { RekeyPolicy } from "./rekey.ts";
 * const p = new RekeyPolicy({ rekeyBytes: 1000, rekeyIntervalMs: 60_000 });
 * const quiet = { packetsSinceKex: 1, bytesSinceKex: 10 };
 * console.log(p.dueByTraffic(quiet, { packetsSinceKex: 9, bytesSinceKex: 1000 })); // true
 * console.log(p.deadline(5_000)); // 65000
 * ```
 */
export class RekeyPolicy {
  readonly #bytes: number;
  readonly #packets: number;
  readonly #intervalMs: number | undefined;

  /** Takes the limits from the transport options. */
  constructor(limits: RekeyLimits) {
    this.#bytes = limits.rekeyBytes ?? DEFAULT_REKEY_BYTES;
    this.#packets = Math.min(limits.rekeyPackets ?? DEFAULT_REKEY_PACKETS, MAX_REKEY_PACKETS);
    this.#intervalMs = limits.rekeyIntervalMs || undefined;
  }

  /** Whether either direction crossed the byte or packet limit. */
  dueByTraffic(sent: TrafficCounter, received: TrafficCounter): boolean {
    return this.#due(sent) || this.#due(received);
  }

  #due(c: TrafficCounter): boolean {
    const block = c.cipherBlockSize ?? 0;
    const bytes = block > 0 && block < 16
      ? Math.min(this.#bytes, SMALL_BLOCK_REKEY_BYTES)
      : this.#bytes;
    return c.bytesSinceKex >= bytes || c.packetsSinceKex >= this.#packets;
  }

  /** When the time limit expires for keys installed at `lastKexAt`; undefined without one. */
  deadline(lastKexAt: number): number | undefined {
    return this.#intervalMs === undefined ? undefined : lastKexAt + this.#intervalMs;
  }
}
