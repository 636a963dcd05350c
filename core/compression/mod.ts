/**
 * SSH payload compression (RFC 4253 §6.2): "none", "zlib" and "zlib@openssh.com".
 * A pure codec: the transport decides when each method starts and feeds packets in order.
 *
 * @example Round trip over one connection direction
 * ```ts
 * import { createCompressor, createDecompressor } from "./mod.ts";
 * const out = createCompressor("zlib@openssh.com");
 * const inn = createDecompressor("zlib@openssh.com");
 * for (const line of ["ls\n", "ls\n", "pwd\n"]) {
 *   const wire = out.compress(new TextEncoder().encode(line));
 *   console.log(new TextDecoder().decode(inn.decompress(wire, 256 * 1024)));
 * }
 * ```
 *
 * @module
 */

export { CompressionError } from "./compression_error.ts";
export type { Compressor, CompressorOptions, Decompressor } from "./types.ts";
export {
  COMPRESSION_METHODS,
  type CompressionName,
  createCompressor,
  createDecompressor,
  DEFAULT_COMPRESSION,
  isDelayedCompression,
  isSupportedCompression,
  SUPPORTED_COMPRESSION,
} from "./registry.ts";
export { NoneCompressor, NoneDecompressor } from "./none.ts";
export { DEFAULT_ZLIB_LEVEL, ZlibCompressor } from "./zlib_compressor.ts";
export { ZlibDecompressor } from "./zlib_decompressor.ts";
