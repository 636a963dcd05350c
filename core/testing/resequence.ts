/**
 * Lets an engine play a peer that orders its messages differently from ours. The
 * engine runs with {@link PacketResequencer.suite}: its packets come out built but not
 * yet encrypted, a test reorders them (or adds some), and the resequencer seals them
 * in their new order with the engine's real keys and fresh sequence numbers. What the
 * other engine reads is exactly what such a peer would put on the wire.
 *
 * {@link asyncSshOrder} is AsyncSSH 2.10's order: it never holds connection messages
 * back during a rekey, and sends an IGNORE before every packet once encryption is on.
 *
 * @module
 */

import type { PacketSealer } from "../crypto/types.ts";
import { Msg } from "../transport/messages.ts";
import type { TransportSuite } from "../transport/suite.ts";

/** One packet as the engine built it, before encryption. */
export interface HeldPacket {
  /** Keys it goes out under: 0 before the first NEWKEYS, +1 after each. */
  readonly epoch: number;
  /** Message number (first payload byte); -1 for the version line. */
  readonly type: number;
  /** `uint32 packet_length | byte padding_length | payload | padding`, or the version line. */
  readonly bytes: Uint8Array;
}

/** Seals an engine's packets in an order the test chooses; see the module doc. */
export class PacketResequencer {
  /** The suite to give the engine that plays the peer. */
  readonly suite: TransportSuite;
  readonly #sealers: PacketSealer[] = [];
  readonly #epochOf = new WeakMap<ArrayBufferLike, number>();
  readonly #strictKex: boolean;
  #epoch = 0;
  #seq = 0;
  #lastSeq = -1;

  /** Wraps `inner`; `strictKex` says whether sequence numbers restart at each NEWKEYS. */
  constructor(inner: TransportSuite, options: { readonly strictKex: boolean }) {
    this.#strictKex = options.strictKex;
    const sealers = this.#sealers;
    const epochOf = this.#epochOf;
    this.suite = {
      ...inner,
      createSealer: (cipher, mac, keys) => {
        const real = inner.createSealer(cipher, mac, keys);
        sealers.push(real);
        const epoch = sealers.length;
        return {
          blockSize: real.blockSize,
          tagLength: 0,
          lengthInClear: real.lengthInClear,
          provider: "resequencer",
          seal: (_seq, packet) => void epochOf.set(packet.buffer, epoch),
        };
      },
    };
  }

  /** Sequence number of the last packet sealed (-1 before any). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Splits what the engine wrote (one packet per chunk, or the version line) into packets. */
  split(chunks: readonly Uint8Array[]): HeldPacket[] {
    return chunks.map((bytes) => {
      const epoch = this.#epochOf.get(bytes.buffer) ?? 0;
      const isVersion = epoch === 0 && bytes.length >= 4 &&
        String.fromCharCode(...bytes.subarray(0, 4)) === "SSH-";
      return { epoch, type: isVersion ? -1 : bytes[5]!, bytes };
    });
  }

  /** A new packet with `payload` for `epoch`, padded as that epoch's keys require. */
  build(epoch: number, payload: Uint8Array): HeldPacket {
    const s = epoch > 0 ? this.#sealers[epoch - 1]! : undefined;
    const block = s ? s.blockSize : 8;
    const covered = s?.lengthInClear ? 1 + payload.length : 5 + payload.length;
    let pad = block - (covered % block);
    if (pad < 4) pad += block;
    const len = 1 + payload.length + pad;
    const bytes = new Uint8Array(4 + len);
    new DataView(bytes.buffer).setUint32(0, len);
    bytes[4] = pad;
    bytes.set(payload, 5);
    return { epoch, type: payload[0]!, bytes };
  }

  /** The sequence number the next packet sealed under `epoch` gets. */
  nextSeq(epoch: number): number {
    return epoch !== this.#epoch && this.#strictKex ? 0 : this.#seq;
  }

  /**
   * Seals one packet at an explicit sequence number without moving this sealer on:
   * the same packet position can be filled many times. Only for ciphers whose sealing
   * depends on the sequence number alone (chacha20-poly1305@openssh.com), not on
   * what was sealed before (CTR and GCM keep a counter).
   */
  sealAt(p: HeldPacket, seq: number): Uint8Array {
    if (p.epoch === 0) return p.bytes;
    const s = this.#sealers[p.epoch - 1]!;
    const out = new Uint8Array(p.bytes.length + s.tagLength);
    out.set(p.bytes);
    s.seal(seq, out.subarray(0, p.bytes.length), out.subarray(p.bytes.length));
    return out;
  }

  /**
   * Seals packets in the given order. A packet goes out under the keys of its `epoch`
   * (which may differ from the one it was built under: all epochs use the same cipher
   * in these tests); epochs must not decrease.
   */
  seal(packets: readonly HeldPacket[]): Uint8Array[] {
    return packets.map((p) => {
      if (p.type === -1) return p.bytes;
      if (p.epoch !== this.#epoch) {
        if (p.epoch < this.#epoch) throw new Error("Packets cannot go back to older keys");
        this.#epoch = p.epoch;
        if (this.#strictKex) this.#seq = 0;
      }
      const seq = this.#seq;
      this.#lastSeq = seq;
      this.#seq = (this.#seq + 1) >>> 0;
      return this.sealAt(p, seq);
    });
  }
}

const isConnection = (p: HeldPacket) => p.type >= Msg.GLOBAL_REQUEST && p.type <= 127;

/**
 * Reorders one engine's output the way AsyncSSH 2.10 orders its own, as read from
 * its `connection.py` (`send_packet`, `_send_kexinit`):
 * - a rekey starts inside the send of the message that crossed the byte limit, so the
 *   KEXINIT goes out ahead of the connection messages queued just before it;
 * - nothing is held back during the exchange: the connection messages our engine
 *   queued until its NEWKEYS go out before that NEWKEYS, under the old keys (a NEWKEYS
 *   that ends a batch waits one batch for them);
 * - once encryption is on, every packet but IGNORE and EXT_INFO follows an empty IGNORE.
 *
 * Returns a function from one batch of chunks to the chunks to deliver; call it for
 * every batch, empty ones included.
 */
export function asyncSshOrder(
  r: PacketResequencer,
  log?: (types: readonly number[]) => void,
): (chunks: readonly Uint8Array[]) => Uint8Array[] {
  let heldNewKeys: HeldPacket | undefined;
  return (chunks) => {
    const input = r.split(chunks);
    const out: HeldPacket[] = [];
    const release = (i: number): number => {
      // Connection messages flushed right after the NEWKEYS go out before it, under its keys.
      const nk = heldNewKeys!;
      heldNewKeys = undefined;
      while (i < input.length && isConnection(input[i]!)) {
        out.push({ ...input[i++]!, epoch: nk.epoch });
      }
      out.push(nk);
      return i;
    };
    let i = heldNewKeys ? release(0) : 0;
    for (; i < input.length; i++) {
      const p = input[i]!;
      if (p.type === Msg.KEXINIT) {
        let at = out.length;
        while (at > 0 && isConnection(out[at - 1]!) && out[at - 1]!.epoch === p.epoch) at--;
        out.splice(at, 0, p);
      } else if (p.type === Msg.NEWKEYS && p.epoch > 0) {
        heldNewKeys = p;
        if (i + 1 < input.length) i = release(i + 1) - 1;
      } else out.push(p);
    }
    const withIgnores: HeldPacket[] = [];
    for (const p of out) {
      if (p.epoch > 0 && p.type !== Msg.IGNORE && p.type !== Msg.EXT_INFO) {
        withIgnores.push(r.build(p.epoch, new Uint8Array([Msg.IGNORE, 0, 0, 0, 0])));
      }
      withIgnores.push(p);
    }
    log?.(withIgnores.map((p) => p.type));
    return r.seal(withIgnores);
  };
}
