/**
 * What NEWKEYS switches on (RFC 4253 §7.2, §6.2): the keys derived from the exchange
 * for one direction, the sealer or opener built from them, and compression, which
 * restarts at every NEWKEYS and, for `zlib@openssh.com`, waits for authentication.
 *
 * @module
 */

import type { CipherInfo, DirectionKeys, MacInfo } from "../crypto/types.ts";
import { SSHError } from "../errors.ts";
import type { KexResult } from "../kex/types.ts";
import type { NegotiatedAlgorithms } from "./kexinit.ts";
import type { PacketReceiver, PacketSender } from "./packet.ts";
import type { TransportSuite } from "./suite.ts";

/** Which way packets go, seen from this side. */
export type Direction = "send" | "receive";

/** The negotiated algorithms and key letters (RFC 4253 §7.2) of one direction. */
export interface DirectionAlgorithms {
  readonly cipher: string;
  readonly mac: string;
  readonly compression: string;
  /** IV, encryption key and integrity key letters: A/C/E client to server, B/D/F back. */
  readonly letters: readonly [string, string, string];
}

/**
 * The algorithms and key letters one direction uses: what the client sends is
 * client-to-server.
 *
 * @example
 * ```ts
 * import { directionAlgorithms } from "./new_keys.ts";
 * const n = {
 *   kex: "curve25519-sha256", hostKey: "ssh-ed25519",
 *   cipherC2S: "aes128-ctr", cipherS2C: "aes256-ctr", macC2S: "hmac-sha2-256",
 *   macS2C: "hmac-sha2-512", compressionC2S: "none", compressionS2C: "none",
 * };
 * console.log(directionAlgorithms(n, "server", "send").cipher); // "aes256-ctr"
 * ```
 */
export function directionAlgorithms(
  n: NegotiatedAlgorithms,
  role: "client" | "server",
  direction: Direction,
): DirectionAlgorithms {
  const clientToServer = (role === "client") === (direction === "send");
  return clientToServer
    ? {
      cipher: n.cipherC2S,
      mac: n.macC2S,
      compression: n.compressionC2S,
      letters: ["A", "C", "E"],
    }
    : {
      cipher: n.cipherS2C,
      mac: n.macS2C,
      compression: n.compressionS2C,
      letters: ["B", "D", "F"],
    };
}

/** Derives one direction's keys from a finished exchange. Throws when an algorithm is missing. */
export function deriveNewKeys(
  suite: TransportSuite,
  kexMethod: string,
  result: KexResult,
  sessionId: Uint8Array,
  algs: DirectionAlgorithms,
): { cipher: CipherInfo; mac: MacInfo | null; keys: DirectionKeys } {
  const cipher = suite.cipher(algs.cipher);
  if (!cipher) {
    throw new SSHError("ERR_KEX_FAILED", `Cipher ${algs.cipher} negotiated but not available`);
  }
  const mac = cipher.aead ? null : suite.mac(algs.mac) ?? null;
  if (!cipher.aead && !mac) {
    throw new SSHError("ERR_KEX_FAILED", `MAC ${algs.mac} negotiated but not available`);
  }
  const method = suite.kex(kexMethod)!;
  const keys = suite.deriveKeys(
    method.hash,
    result.sharedSecret,
    result.exchangeHash,
    sessionId,
    algs.letters,
    {
      ivLength: cipher.ivLength,
      keyLength: cipher.keyLength,
      macKeyLength: mac ? mac.keyLength : 0,
    },
  );
  return { cipher, mac, keys };
}

/**
 * Compression of both directions. Streams restart at every NEWKEYS (RFC 4253 §6.2;
 * OpenSSH re-initializes zlib there too); `zlib@openssh.com` starts once
 * authentication succeeded.
 */
export class CompressionSwitch {
  readonly #suite: TransportSuite;
  readonly #sender: PacketSender;
  readonly #receiver: PacketReceiver;
  // Per direction: the negotiated name, and whether it is running (fields, not two objects
  // per connection).
  #sendName = "none";
  #receiveName = "none";
  #sendOn = false;
  #receiveOn = false;
  #authenticated = false;

  /** Controls the compression of `sender` and `receiver`. */
  constructor(suite: TransportSuite, sender: PacketSender, receiver: PacketReceiver) {
    this.#suite = suite;
    this.#sender = sender;
    this.#receiver = receiver;
  }

  /** Installs compression `name` for one direction at its NEWKEYS. */
  set(direction: Direction, name: string): void {
    if (direction === "send") this.#sendName = name;
    else this.#receiveName = name;
    const on = name !== "none" && !(name === "zlib@openssh.com" && !this.#authenticated);
    this.#install(direction, on ? name : null);
  }

  /**
   * Whether what we send will be compressed once authentication succeeds
   * (`zlib@openssh.com` negotiated, not started yet): the peer starts decompressing when
   * it sends its USERAUTH_SUCCESS, so nothing may be sent between an authentication
   * request and its answer.
   */
  get sendDelayed(): boolean {
    return this.#sendName === "zlib@openssh.com" && !this.#sendOn;
  }

  /** Authentication succeeded: delayed compression starts now. */
  onAuthenticated(): void {
    this.#authenticated = true;
    if (this.#sendName === "zlib@openssh.com" && !this.#sendOn) {
      this.#install("send", this.#sendName);
    }
    if (this.#receiveName === "zlib@openssh.com" && !this.#receiveOn) {
      this.#install("receive", this.#receiveName);
    }
  }

  #install(direction: Direction, name: string | null): void {
    if (direction === "send") {
      this.#sender.setCompressor(name ? this.#suite.createCompressor(name) : null);
      this.#sendOn = name !== null;
    } else {
      this.#receiver.setDecompressor(name ? this.#suite.createDecompressor(name) : null);
      this.#receiveOn = name !== null;
    }
  }
}
