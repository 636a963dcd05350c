/**
 * The "none" method: payloads pass through unchanged (RFC 4253 §6.2).
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import { CompressionError } from "./compression_error.ts";
import type { Compressor, Decompressor } from "./types.ts";

/**
 * Returns every payload as it is, without copying.
 *
 * @example
 * ```ts
 * import { NoneCompressor } from "./none.ts";
 * const p = new Uint8Array([1, 2, 3]);
 * console.log(new NoneCompressor().compress(p) === p); // true
 * ```
 */
export class NoneCompressor implements Compressor {
  /** Always "none". */
  readonly name = "none";

  /** Returns `payload` itself. */
  compress(payload: Uint8Array): Uint8Array {
    return payload;
  }
}

/**
 * Returns every payload as it is, but still enforces `maxOutput`, so callers can treat
 * every method alike.
 *
 * @example
 * ```ts
 * import { NoneDecompressor } from "./none.ts";
 * console.log(new NoneDecompressor().decompress(new Uint8Array(3), 10).length); // 3
 * ```
 */
export class NoneDecompressor implements Decompressor {
  /** Always "none". */
  readonly name = "none";

  /** Returns `data` itself; throws a CompressionError when it is over `maxOutput`. */
  decompress(data: Uint8Array, maxOutput: number): Uint8Array {
    if (!Number.isSafeInteger(maxOutput) || maxOutput < 0) {
      throw new LocalProtocolError(
        `Cannot decompress packet: maxOutput ${maxOutput} is not a non-negative integer`,
      );
    }
    if (data.length > maxOutput) {
      throw new CompressionError(
        `Cannot accept packet: its ${data.length}-byte payload is over the ${maxOutput}-byte limit`,
      );
    }
    return data;
  }
}
