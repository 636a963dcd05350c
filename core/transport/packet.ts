/**
 * The binary packet protocol (RFC 4253 §6): framing, padding, sequence numbers,
 * encryption and MAC through the {@link PacketSealer}/{@link PacketOpener} seam,
 * and compression.
 *
 * Incoming bytes collect in one reused buffer; packets are decrypted in place
 * there and the payload handed up as a view (valid until the next `push`).
 * Outgoing packets are built in one allocation each: header, payload, padding and
 * tag, sealed in place, handed to the caller without further copies.
 *
 * @module
 */

import type { PacketOpener, PacketSealer } from "../crypto/types.ts";
import { DisconnectError, DisconnectReason } from "../errors.ts";
import { INITIAL_RECEIVE_BUFFER, MAX_PACKET_LENGTH, MAX_PAYLOAD_LENGTH } from "../limits.ts";
import type { RandomSource } from "../random.ts";
import { markTransient } from "../transient_buffers.ts";
import { alignedLead, concatBytes } from "../wire.ts";

/** Compresses one packet payload (with a sync flush). */
export interface PayloadCompressor {
  /** Compresses one payload, flushing so the peer can decompress it at once. */
  compress(payload: Uint8Array): Uint8Array;
}

/** Decompresses one packet payload, refusing output over `maxOutput` bytes. */
export interface PayloadDecompressor {
  /** Decompresses one payload; throws when the output would pass `maxOutput` bytes. */
  decompress(data: Uint8Array, maxOutput: number): Uint8Array;
}

export { MAX_PACKET_LENGTH, MAX_PAYLOAD_LENGTH };

function packetError(code: "ERR_PACKET_LENGTH" | "ERR_PADDING" | "ERR_MAC", message: string) {
  return new DisconnectError(
    code,
    code === "ERR_MAC" ? DisconnectReason.MAC_ERROR : DisconnectReason.PROTOCOL_ERROR,
    message,
  );
}

/** The receive buffer of a receiver that holds no bytes. */
const EMPTY = new Uint8Array(0);

/**
 * Reads packets from the incoming byte stream of one direction.
 *
 * Copies per packet on the receive path, socket chunk to the `ReadableStream` consumer:
 * 1. the socket chunk into this receive buffer (`push`; the buffer is reused, it grows
 *    only for a larger packet; while still the small first one it is dropped whenever it
 *    runs empty, so an idle connection holds none): the one copy;
 * 2. decryption: in place in that buffer (noble, WebAssembly), or, with an opener that has
 *    `openDetached` (node:crypto AES-GCM, ETM ciphers), into the library's own fresh output;
 * 3. channel data: a detached opener's output is handed on as it is (`payloadOwned`); an
 *    in-place opener's payload is lent as a view of this buffer (`payloadStable`, with the
 *    engine option `borrowChannelData`, which `connect()` and `listen()` set) and copied
 *    once by its consumer (into a BYOB reader's buffer, an SFTP reply, or the chunk ChannelIO
 *    queues), or else sliced out once by the connection layer (later packets overwrite it).
 * So: one copy per data packet, and at most one allocation (the consumer's chunk), plus
 * whatever the crypto library allocates (node:crypto: its output and a decipher object per
 * GCM packet).
 * That chunk is marked transient (core/transient_buffers.ts): a consumer inside the library
 * that copies it whole (the SFTP and SCP framers, a forwarded socket once written) frees it
 * at once instead of leaving it to the garbage collector.
 */
export class PacketReceiver {
  /** Allocated on the first bytes: a connection that never sends any costs no buffer. */
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** packet_length of the packet in progress, once its first block was read. */
  #pendingLength = -1;
  #opener: PacketOpener | null = null;
  #decompressor: PayloadDecompressor | null = null;
  /** Sequence number of the next packet (uint32, wraps). */
  seq = 0;
  /**
   * Whether the payload `next()` last returned is a buffer of its own (a detached
   * opener's output) that the caller may keep; otherwise it is a view of the receive
   * buffer, overwritten by later packets, and whatever outlives the call must be copied.
   */
  payloadOwned = false;
  /**
   * Whether the payload `next()` last returned, when not owned, is a view of the receive
   * buffer that stays as it is until the next `push` (not a decompressor's output, which
   * the next packet may overwrite).
   */
  payloadStable = false;
  /** Packets and bytes received since the last key change, for rekey limits. */
  packetsSinceKex = 0;
  bytesSinceKex = 0;

  /** Installs the keys negotiated by NEWKEYS (null = no encryption). */
  setOpener(opener: PacketOpener | null): void {
    this.#opener = opener;
    this.packetsSinceKex = 0;
    this.bytesSinceKex = 0;
  }

  /** Installs (or removes) decompression. */
  setDecompressor(d: PayloadDecompressor | null): void {
    this.#decompressor = d;
  }

  /** The opener in use (for reporting). */
  get opener(): PacketOpener | null {
    return this.#opener;
  }

  /** Block size of the cipher in use, 0 before the first NEWKEYS (for rekey limits). */
  get cipherBlockSize(): number {
    return this.#opener?.blockSize ?? 0;
  }

  /** Bytes buffered but not yet consumed as packets. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends bytes from the peer. */
  push(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.#end + data.length > this.#buf.length) {
      const live = this.#end - this.#start;
      if (live + data.length <= this.#buf.length && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let cap = Math.max(this.#buf.length, INITIAL_RECEIVE_BUFFER);
        while (cap < live + data.length) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(data, this.#end);
    this.#end += data.length;
  }

  /**
   * Drops the empty receive buffer while it is still the small first one: a connection
   * between packets (idle, or interactive: a buffer per burst is cheap at this size) then
   * holds none. A buffer grown by bulk traffic stays, so that traffic allocates nothing per
   * read. Views handed out earlier stay valid: the buffer is dropped, not reused or freed.
   */
  #releaseSmallBuffer(): void {
    if (this.#buf.length !== 0 && this.#buf.length <= INITIAL_RECEIVE_BUFFER) {
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
    }
  }

  /** Takes back the bytes buffered but not consumed (used when the version line had trailing data). */
  takeBuffered(): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    this.#pendingLength = -1;
    return out;
  }

  /**
   * Returns the next complete payload, or undefined when more bytes are needed.
   * Throws DisconnectError for bad length, padding or MAC.
   */
  next(): Uint8Array | undefined {
    const op = this.#opener;
    const firstLen = op ? op.firstBlockLength : 8;
    const tagLen = op ? op.tagLength : 0;
    const block = op ? op.blockSize : 8;
    const avail = this.#end - this.#start;
    if (this.#pendingLength < 0) {
      if (avail < firstLen) {
        if (avail === 0) this.#releaseSmallBuffer();
        return undefined;
      }
      const first = this.#buf.subarray(this.#start, this.#start + firstLen);
      const len = op
        ? op.decryptLength(this.seq, first)
        : ((first[0]! << 24) | (first[1]! << 16) | (first[2]! << 8) | first[3]!) >>> 0;
      // Sizes are checked before waiting for the body, so a bad length costs no memory.
      if (len < 5 || len > MAX_PACKET_LENGTH) {
        throw packetError("ERR_PACKET_LENGTH", `Bad packet length ${len}`);
      }
      const aligned = op?.lengthInClear ? len : len + 4;
      if (aligned % block !== 0) {
        throw packetError(
          "ERR_PACKET_LENGTH",
          `Packet length ${len} is not a multiple of the block size ${block}`,
        );
      }
      this.#pendingLength = len;
    }
    const len = this.#pendingLength;
    const total = 4 + len + tagLen;
    if (avail < total) return undefined;
    const packet = this.#buf.subarray(this.#start, this.#start + 4 + len);
    // Detached: `body` is the opener's fresh output (padding_length onwards), offset 1 less.
    let body: Uint8Array | null = null;
    if (op) {
      const tag = this.#buf.subarray(this.#start + 4 + len, this.#start + total);
      const ok = op.openDetached && op.lengthInClear
        ? (body = op.openDetached(this.seq, packet, tag)) !== null
        : op.open(this.seq, packet, tag);
      if (!ok) {
        throw packetError(
          "ERR_MAC",
          "Corrupted MAC on input: the packet failed its integrity check",
        );
      }
    }
    this.#start += total;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    this.#pendingLength = -1;
    this.seq = (this.seq + 1) >>> 0;
    this.packetsSinceKex++;
    this.bytesSinceKex += total;
    const padding = body ? body[0]! : packet[4]!;
    if (padding < 4 || padding > len - 1) {
      throw packetError("ERR_PADDING", `Bad padding length ${padding} in a packet of ${len} bytes`);
    }
    const payload = body ? body.subarray(1, len - padding) : packet.subarray(5, 4 + len - padding);
    if (payload.length === 0) throw packetError("ERR_PADDING", "Packet has an empty payload");
    this.payloadOwned = body !== null && !this.#decompressor;
    this.payloadStable = body === null && !this.#decompressor;
    if (this.#decompressor) {
      let inflated: Uint8Array;
      try {
        inflated = this.#decompressor.decompress(payload, MAX_PAYLOAD_LENGTH);
      } catch (e) {
        throw new DisconnectError(
          "ERR_COMPRESSION",
          DisconnectReason.COMPRESSION_ERROR,
          `Cannot decompress packet: ${(e as Error).message}`,
        );
      }
      // Every message has its type byte: one that inflates to nothing is as malformed as
      // an empty payload.
      if (inflated.length === 0) throw packetError("ERR_PADDING", "Packet has an empty payload");
      return inflated;
    }
    return payload;
  }
}

/** Largest padding pool: one RNG call per ~4 KiB of padding on a busy connection. */
const PADDING_POOL_MAX = 4096;
/** First padding pool: padding is at most 255 bytes, and idle connections send few packets. */
const PADDING_POOL_FIRST = 256;

/** Random padding comes from a pool refilled in chunks that double up to 4 KiB. */
class PaddingPool {
  #pool: Uint8Array = new Uint8Array(0);
  #pos = 0;
  readonly #random: RandomSource;
  constructor(random: RandomSource) {
    this.#random = random;
  }
  fill(dst: Uint8Array): void {
    if (this.#pos + dst.length > this.#pool.length) {
      const size = this.#pool.length === 0
        ? PADDING_POOL_FIRST
        : Math.min(PADDING_POOL_MAX, this.#pool.length * 2);
      this.#pool = this.#random(size);
      this.#pos = 0;
    }
    dst.set(this.#pool.subarray(this.#pos, this.#pos + dst.length));
    this.#pos += dst.length;
  }
}

/** Builds and seals outgoing packets for one direction. */
export class PacketSender {
  #sealer: PacketSealer | null = null;
  #compressor: PayloadCompressor | null = null;
  readonly #padding: PaddingPool;
  /** Sequence number of the next packet (uint32, wraps). */
  seq = 0;
  /** Packets and bytes sent since the last key change, for rekey limits. */
  packetsSinceKex = 0;
  bytesSinceKex = 0;

  /** Uses `random` for padding bytes. */
  constructor(random: RandomSource) {
    this.#padding = new PaddingPool(random);
  }

  /** Installs the keys negotiated by NEWKEYS (null = no encryption). */
  setSealer(sealer: PacketSealer | null): void {
    this.#sealer = sealer;
    this.packetsSinceKex = 0;
    this.bytesSinceKex = 0;
  }

  /** Installs (or removes) compression. */
  setCompressor(c: PayloadCompressor | null): void {
    this.#compressor = c;
  }

  /** The sealer in use (for reporting). */
  get sealer(): PacketSealer | null {
    return this.#sealer;
  }

  /** Block size of the cipher in use, 0 before the first NEWKEYS (for rekey limits). */
  get cipherBlockSize(): number {
    return this.#sealer?.blockSize ?? 0;
  }

  /** Payload bytes that fit in one packet under the peer's limits. */
  get maxPayload(): number {
    return MAX_PAYLOAD_LENGTH;
  }

  /**
   * Seals one packet whose payload is `head` followed by `body` (body may be empty).
   * Splitting lets channel data go from the caller's buffer into the packet with one copy.
   */
  seal(head: Uint8Array, body?: Uint8Array): Uint8Array {
    const chunks: Uint8Array[] = [];
    this.sealTo(chunks, head, body);
    return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
  }

  /**
   * Like {@link seal}, but appends the sealed packet to `out` as one or more chunks (in
   * order): with a sealer that has `sealDetached`, a large packet is assembled in a shared
   * scratch buffer and goes out as the library's own output, with no buffer of its own.
   */
  sealTo(out: Uint8Array[], head: Uint8Array, body?: Uint8Array): void {
    let h = head;
    let b = body;
    if (this.#compressor) {
      const joined = b && b.length ? concatBytes(h, b) : h;
      h = this.#compressor.compress(joined);
      b = undefined;
    }
    const payloadLen = h.length + (b ? b.length : 0);
    const s = this.#sealer;
    const block = s ? s.blockSize : 8;
    const tagLen = s ? s.tagLength : 0;
    const covered = s?.lengthInClear ? 1 + payloadLen : 5 + payloadLen;
    let pad = block - (covered % block);
    if (pad < 4) pad += block;
    const packetLen = 1 + payloadLen + pad;
    const detached = s !== null && s.sealDetached !== undefined && packetLen >= DETACH_MIN;
    // The body lands where Bun copies it at full speed (see alignedLead).
    const lead = b ? alignedLead(b, 5 + h.length) : 0;
    const buf = detached
      ? scratch(lead + 4 + packetLen).subarray(lead)
      : lead === 0
      ? new Uint8Array(4 + packetLen + tagLen)
      : new Uint8Array(lead + 4 + packetLen + tagLen).subarray(lead);
    buf[0] = packetLen >>> 24;
    buf[1] = (packetLen >>> 16) & 0xff;
    buf[2] = (packetLen >>> 8) & 0xff;
    buf[3] = packetLen & 0xff;
    buf[4] = pad;
    buf.set(h, 5);
    if (b) buf.set(b, 5 + h.length);
    this.#padding.fill(buf.subarray(5 + payloadLen, 4 + packetLen));
    if (detached) {
      for (const c of s.sealDetached!(this.seq, buf.subarray(0, 4 + packetLen))) {
        // The ciphertext is a buffer of its own: the socket frees it once written out.
        if (c.length >= DETACH_MIN / 2) markTransient(c);
        out.push(c);
      }
    } else {
      if (s) s.seal(this.seq, buf.subarray(0, 4 + packetLen), buf.subarray(4 + packetLen));
      // A buffer of its own that only the socket keeps: freed once written, not left to the
      // collector (a bulk upload sealed in place allocates one per packet).
      if (buf.length >= DETACH_MIN) markTransient(buf);
      out.push(buf);
    }
    this.seq = (this.seq + 1) >>> 0;
    this.packetsSinceKex++;
    this.bytesSinceKex += 4 + packetLen + tagLen;
  }
}

/**
 * Packets at least this long (packet_length) are sealed detached where the sealer can:
 * below it, one allocation of the packet costs less than the extra chunks.
 */
const DETACH_MIN = 2048;

/**
 * One scratch buffer for every connection's detached sealing: `sealDetached` returns
 * chunks that do not share its memory, and sealing is synchronous, so nothing refers to
 * the buffer between two packets. It grows to the largest packet sealed this way.
 */
let scratchBuf = new Uint8Array(0);

function scratch(n: number): Uint8Array {
  if (scratchBuf.length < n) scratchBuf = new Uint8Array(Math.max(n, 64 * 1024));
  return scratchBuf.subarray(0, n);
}
