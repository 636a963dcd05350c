/**
 * The incoming half of SSH zlib compression: one inflate stream per direction whose
 * 32 KiB window carries over from packet to packet. Each packet's output is capped,
 * so a peer cannot make us allocate more than the caller allows.
 *
 * Peers may flush with Z_PARTIAL_FLUSH (OpenSSH does, as RFC 4253 §6.2 says), which
 * leaves a packet's last bits to be completed by the next packet; inflate keeps them.
 *
 * @module
 */

import {
  Z_BUF_ERROR,
  Z_NEED_DICT,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  zlibInflate,
  zlibInflateInit2,
  ZStream,
} from "pako";
import { LocalProtocolError } from "../errors.ts";
import { CompressionError } from "./compression_error.ts";
import type { Decompressor } from "./types.ts";

/** 32 KiB window, which also accepts streams made with any smaller window. */
const WINDOW_BITS = 15;
/** The `data_type` bit zlib sets once it reads a block marked final (BFINAL). */
const LAST_BLOCK = 64;
/** Output buffer kept between packets (see the compressor's SCRATCH_SIZE). */
const SCRATCH_SIZE = 32 * 1024 + 1024;

/**
 * Decompresses payloads for "zlib" and "zlib@openssh.com".
 *
 * @example Decompress what a compressor made
 * ```ts
 * import { ZlibCompressor } from "./zlib_compressor.ts";
 * import { ZlibDecompressor } from "./zlib_decompressor.ts";
 * const c = new ZlibCompressor("zlib");
 * const d = new ZlibDecompressor("zlib");
 * const text = new TextDecoder().decode(d.decompress(c.compress(new TextEncoder().encode("hi")), 1024));
 * console.log(text); // "hi"
 * ```
 */
export class ZlibDecompressor implements Decompressor {
  /** Wire name this decompressor was created for. */
  readonly name: string;
  #strm = new ZStream();
  #scratch: Uint8Array<ArrayBuffer> | null = null;
  #failed: string | null = null;

  /** Starts a new stream; the first packet must begin with the 2-byte zlib header. */
  constructor(name: string) {
    this.name = name;
    const status = zlibInflateInit2(this.#strm, WINDOW_BITS);
    if (status !== Z_OK) {
      throw new CompressionError(`Cannot start ${name} decompression: zlib status ${status}`);
    }
  }

  /** Decompresses one packet; see {@link Decompressor.decompress}. */
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
      throw new LocalProtocolError(
        `Cannot decompress packet: maxOutput ${maxOutput} is not a non-negative integer`,
      );
    }
    if (this.#failed !== null) {
      throw new CompressionError(
        `Cannot decompress packet: the ${this.name} stream failed earlier (${this.#failed})`,
      );
    }
    try {
      return this.#inflate(data, maxOutput);
    } catch (e) {
      // Any failure leaves the inflate state mid-way: poison the stream for good.
      this.#failed = e instanceof Error ? e.message : String(e);
      if (e instanceof CompressionError) throw e;
      throw new CompressionError(`Cannot decompress packet: ${this.#failed}`, { cause: e });
    } finally {
      this.#strm.input = EMPTY;
      this.#strm.output = EMPTY;
    }
  }

  #inflate(data: Uint8Array, maxOutput: number): Uint8Array {
    const strm = this.#strm;
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.length;
    // One byte more than allowed: filling it proves the packet is over the limit
    // without ever holding more than maxOutput + 1 bytes.
    const limit = maxOutput + 1;
    this.#scratch ??= new Uint8Array(SCRATCH_SIZE);
    let out = this.#scratch.subarray(0, Math.min(limit, SCRATCH_SIZE));
    let produced = 0;
    for (;;) {
      strm.output = out;
      strm.next_out = produced;
      strm.avail_out = out.length - produced;
      const status = zlibInflate(strm, Z_SYNC_FLUSH);
      produced = strm.next_out;
      // zlib flags "decoding the last block" in data_type (64); the trailer that
      // would make inflate return Z_STREAM_END never comes in SSH, so look at the flag.
      if (status === Z_STREAM_END || (strm.data_type & LAST_BLOCK) !== 0) {
        throw new CompressionError(
          "Cannot decompress packet: the peer ended the compression stream, " +
            "which must last for the whole connection",
        );
      }
      if (status === Z_NEED_DICT) {
        throw new CompressionError("Cannot decompress packet: the stream asks for a dictionary");
      }
      if (status !== Z_OK && status !== Z_BUF_ERROR) {
        throw new CompressionError(
          `Cannot decompress packet: ${strm.msg || `zlib status ${status}`}`,
        );
      }
      // inflate returns with room left only once the input is used up.
      if (strm.avail_out !== 0) break;
      if (out.length >= limit) {
        throw new CompressionError(
          `Cannot decompress packet: it inflates to more than ${maxOutput} bytes`,
        );
      }
      const bigger = new Uint8Array(Math.min(limit, out.length * 2)); // at most log2 copies
      bigger.set(out.subarray(0, produced));
      out = bigger;
    }
    return out.slice(0, produced);
  }
}

const EMPTY = new Uint8Array(0);
