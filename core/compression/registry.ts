/**
 * Compression methods by wire name, and the factories the transport calls once the
 * key exchange has picked one per direction.
 *
 * @module
 */

import { SSHError } from "../errors.ts";
import { NoneCompressor, NoneDecompressor } from "./none.ts";
import type { Compressor, CompressorOptions, Decompressor } from "./types.ts";
import { ZlibCompressor } from "./zlib_compressor.ts";
import { ZlibDecompressor } from "./zlib_decompressor.ts";

/**
 * Wire names of the compression methods (RFC 4253 §6.2, OpenSSH PROTOCOL §2.2).
 *
 * @example
 * ```ts
 * import { COMPRESSION_METHODS } from "./registry.ts";
 * console.log(COMPRESSION_METHODS.ZLIB_OPENSSH); // "zlib@openssh.com"
 * ```
 */
export const COMPRESSION_METHODS = {
  /** No compression. */
  NONE: "none",
  /** zlib, started only once user authentication has succeeded. */
  ZLIB_OPENSSH: "zlib@openssh.com",
  /** zlib, started right after the first NEWKEYS (before authentication). */
  ZLIB: "zlib",
} as const;

/** A compression wire name this library implements. */
export type CompressionName = (typeof COMPRESSION_METHODS)[keyof typeof COMPRESSION_METHODS];

/**
 * What we offer unless told otherwise, in preference order: no compression first
 * (links are fast and compressing costs CPU), then the delayed zlib that OpenSSH
 * offers, which never decompresses data from an unauthenticated peer.
 *
 * @example
 * ```ts
 * import { DEFAULT_COMPRESSION } from "./registry.ts";
 * console.log(DEFAULT_COMPRESSION.join(",")); // "none,zlib@openssh.com"
 * ```
 */
export const DEFAULT_COMPRESSION: readonly CompressionName[] = Object.freeze([
  COMPRESSION_METHODS.NONE,
  COMPRESSION_METHODS.ZLIB_OPENSSH,
]);

/**
 * Every method we can use. Plain "zlib" is supported for old peers but not offered by
 * default: it inflates data before the peer has authenticated.
 *
 * @example
 * ```ts
 * import { SUPPORTED_COMPRESSION } from "./registry.ts";
 * console.log(SUPPORTED_COMPRESSION.includes("zlib")); // true
 * ```
 */
export const SUPPORTED_COMPRESSION: readonly CompressionName[] = Object.freeze([
  COMPRESSION_METHODS.NONE,
  COMPRESSION_METHODS.ZLIB_OPENSSH,
  COMPRESSION_METHODS.ZLIB,
]);

/**
 * True when `name` is a compression method this library implements.
 *
 * @example
 * ```ts
 * import { isSupportedCompression } from "./registry.ts";
 * console.log(isSupportedCompression("zlib"), isSupportedCompression("lz4")); // true false
 * ```
 */
export function isSupportedCompression(name: string): name is CompressionName {
  return (SUPPORTED_COMPRESSION as readonly string[]).includes(name);
}

/**
 * True when the method starts only after user authentication succeeds
 * ("zlib@openssh.com"); false when it starts at NEWKEYS ("zlib", "none").
 * The transport uses this to decide when to switch the codec in.
 *
 * @example
 * ```ts
 * import { isDelayedCompression } from "./registry.ts";
 * console.log(isDelayedCompression("zlib@openssh.com"), isDelayedCompression("zlib")); // true false
 * ```
 */
export function isDelayedCompression(name: string): boolean {
  return name === COMPRESSION_METHODS.ZLIB_OPENSSH;
}

/**
 * Creates the compressor for one outgoing direction. Throws an SSHError with code
 * ERR_UNSUPPORTED_ALGORITHM for a name not in {@link SUPPORTED_COMPRESSION}.
 *
 * @example
 * ```ts
 * import { createCompressor } from "./registry.ts";
 * const c = createCompressor("zlib@openssh.com", { level: 6 });
 * console.log(c.compress(new Uint8Array(100)).length < 100); // true
 * ```
 */
export function createCompressor(name: string, options: CompressorOptions = {}): Compressor {
  switch (name) {
    case COMPRESSION_METHODS.NONE:
      return new NoneCompressor();
    case COMPRESSION_METHODS.ZLIB_OPENSSH:
    case COMPRESSION_METHODS.ZLIB:
      return new ZlibCompressor(name, options);
    default:
      throw unsupported("compressor", name);
  }
}

/**
 * Creates the decompressor for one incoming direction. Throws an SSHError with code
 * ERR_UNSUPPORTED_ALGORITHM for a name not in {@link SUPPORTED_COMPRESSION}.
 *
 * @example
 * ```ts
 * import { createCompressor, createDecompressor } from "./registry.ts";
 * const d = createDecompressor("zlib");
 * const bytes = d.decompress(createCompressor("zlib").compress(new Uint8Array(5)), 100);
 * console.log(bytes.length); // 5
 * ```
 */
export function createDecompressor(name: string): Decompressor {
  switch (name) {
    case COMPRESSION_METHODS.NONE:
      return new NoneDecompressor();
    case COMPRESSION_METHODS.ZLIB_OPENSSH:
    case COMPRESSION_METHODS.ZLIB:
      return new ZlibDecompressor(name);
    default:
      throw unsupported("decompressor", name);
  }
}

function unsupported(what: string, name: string): SSHError {
  return new SSHError(
    "ERR_UNSUPPORTED_ALGORITHM",
    `Cannot create ${what}: unsupported compression method '${name}' ` +
      `(supported: ${SUPPORTED_COMPRESSION.join(", ")})`,
  );
}
