/**
 * The outgoing half of SSH zlib compression: one zlib stream (RFC 1950 header, RFC
 * 1951 blocks, never a trailer) per direction, flushed at the end of every packet.
 *
 * The deflate engine is pako's line-by-line port of zlib, so what we send is what
 * zlib itself would send and every zlib-based peer reads it.
 *
 * @module
 */

import { Z_BUF_ERROR, Z_OK, Z_SYNC_FLUSH, zlibDeflate, zlibDeflateInit2, ZStream } from "pako";
import { LocalProtocolError } from "../errors.ts";
import { CompressionError } from "./compression_error.ts";
import type { Compressor, CompressorOptions } from "./types.ts";

/** Default zlib level: OpenSSH's choice (see {@link CompressorOptions}). */
export const DEFAULT_ZLIB_LEVEL = 6;

/** zlib's `Z_DEFLATED`, the only compression method RFC 1950 defines. */
const Z_DEFLATED = 8;
/** 32 KiB window: the largest, and what every SSH implementation uses. */
const WINDOW_BITS = 15;
/** zlib's default memory level: about 256 KiB of state per stream. */
const MEM_LEVEL = 8;
/** zlib's default strategy. */
const Z_DEFAULT_STRATEGY = 0;
/**
 * Output buffer kept between packets. Most packets (channel data is at most 32 KiB
 * per packet with OpenSSH) compress into it, so the hot path allocates only the result.
 */
const SCRATCH_SIZE = 32 * 1024 + 1024;

/**
 * Compresses payloads for "zlib" and "zlib@openssh.com" with a sync flush per packet.
 * The two methods differ only in when the transport starts using them.
 *
 * @example Compress a packet
 * ```ts
 * import { ZlibCompressor } from "./zlib_compressor.ts";
 * const c = new ZlibCompressor("zlib@openssh.com");
 * const out = c.compress(new TextEncoder().encode("ls -la\n"));
 * console.log(out.subarray(-4)); // Uint8Array [0, 0, 255, 255]
 * ```
 */
export class ZlibCompressor implements Compressor {
  /** Wire name this compressor was created for. */
  readonly name: string;
  #strm = new ZStream();
  #scratch: Uint8Array<ArrayBuffer> | null = null;
  #failed = false;

  /** Starts a new stream; the first packet carries the 2-byte zlib header. */
  constructor(name: string, options: CompressorOptions = {}) {
    const level = options.level ?? DEFAULT_ZLIB_LEVEL;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new LocalProtocolError(
        `Cannot create ${name} compressor: level ${level} is not an integer from 0 to 9`,
      );
    }
    this.name = name;
    const status = zlibDeflateInit2(
      this.#strm,
      level,
      Z_DEFLATED,
      WINDOW_BITS,
      MEM_LEVEL,
      Z_DEFAULT_STRATEGY,
    );
    if (status !== Z_OK) {
      throw new CompressionError(`Cannot start ${name} compression: zlib status ${status}`);
    }
  }

  /** Compresses one payload; see {@link Compressor.compress}. */
  compress(payload: Uint8Array): Uint8Array {
    if (this.#failed) {
      throw new CompressionError(`Cannot compress packet: the ${this.name} stream failed earlier`);
    }
    const strm = this.#strm;
    strm.input = payload;
    strm.next_in = 0;
    strm.avail_in = payload.length;
    // zlib's worst case for one flushed packet is a few bytes per 16 KiB stored block
    // plus the header and the flush marker; the loop below grows if ever needed.
    let out = this.#outputBuffer(payload.length + (payload.length >>> 10) + 64);
    let produced = 0;
    for (;;) {
      strm.output = out;
      strm.next_out = produced;
      strm.avail_out = out.length - produced;
      const status = zlibDeflate(strm, Z_SYNC_FLUSH);
      produced = strm.next_out;
      // Z_BUF_ERROR only means "nothing to do" (an empty payload right after a flush).
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        this.#failed = true;
        throw new CompressionError(
          `Cannot compress packet: zlib status ${status}${strm.msg ? ` (${strm.msg})` : ""}`,
        );
      }
      if (strm.avail_out !== 0) break; // zlib stops early only when output is full
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out.subarray(0, produced));
      out = bigger;
    }
    // Drop references so a large payload is not kept alive by the stream.
    strm.input = EMPTY;
    strm.output = EMPTY;
    return out.slice(0, produced);
  }

  #outputBuffer(size: number): Uint8Array<ArrayBuffer> {
    if (size > SCRATCH_SIZE) return new Uint8Array(size);
    this.#scratch ??= new Uint8Array(SCRATCH_SIZE);
    return this.#scratch;
  }
}

const EMPTY = new Uint8Array(0);
