/**
 * The compression seam: what the transport calls for each packet payload
 * (RFC 4253 §6.2).
 *
 * One compressor per outgoing direction and one decompressor per incoming direction,
 * each a single stream that packets pass through in sequence order. Every key
 * exchange starts fresh streams: create new ones at each NEWKEYS in that direction,
 * even when the method stays the same ("the compression context is initialized after
 * each key exchange", RFC 4253 §6.2; OpenSSH re-initializes zlib there too). For
 * "zlib@openssh.com" the first stream starts only after user authentication succeeds
 * (see `isDelayedCompression`); after that, at each NEWKEYS like "zlib".
 *
 * @module
 */

/**
 * Compresses outgoing payloads of one direction, one packet at a time.
 *
 * @example Compress two packets of one stream
 * ```ts
 * import { createCompressor } from "./registry.ts";
 * const c = createCompressor("zlib@openssh.com");
 * const first = c.compress(new TextEncoder().encode("hello"));
 * const second = c.compress(new TextEncoder().encode("hello")); // shorter: refers back
 * console.log(first.length, second.length);
 * ```
 */
export interface Compressor {
  /** Wire name of the method, e.g. "zlib@openssh.com". */
  readonly name: string;
  /**
   * Compresses one packet payload and returns bytes the peer can decompress at once.
   * For zlib the result ends with a sync flush (`00 00 ff ff`), except that an empty
   * payload after another packet may compress to nothing at all. The returned array
   * is the caller's; `payload` is not kept.
   */
  compress(payload: Uint8Array): Uint8Array;
}

/**
 * Decompresses incoming payloads of one direction, one packet at a time.
 *
 * @example Decompress with a bound
 * ```ts
 * import { createCompressor, createDecompressor } from "./registry.ts";
 * const c = createCompressor("zlib");
 * const d = createDecompressor("zlib");
 * const out = d.decompress(c.compress(new Uint8Array(1000)), 35000);
 * console.log(out.length); // 1000
 * ```
 */
export interface Decompressor {
  /** Wire name of the method, e.g. "zlib@openssh.com". */
  readonly name: string;
  /**
   * Decompresses one packet's compressed payload. Throws a `CompressionError` (code
   * ERR_COMPRESSION) when the data is corrupt, when the peer ends the stream, or
   * when the output would exceed `maxOutput` bytes (a decompression bomb never
   * allocates more than that). After an error the decompressor refuses all input.
   */
  decompress(data: Uint8Array, maxOutput: number): Uint8Array;
}

/** Options for {@link createCompressor}. */
export interface CompressorOptions {
  /**
   * zlib level 0 (store) to 9 (smallest). Default 6, as OpenSSH uses: it is where
   * size stops improving much while speed still falls.
   */
  readonly level?: number;
}
