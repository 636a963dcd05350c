/**
 * The error raised when a compressed stream cannot be decoded or would grow too large.
 *
 * @module
 */

import { DisconnectError, DisconnectReason } from "../errors.ts";

/**
 * Compressed data from the peer is corrupt, ends the stream, or inflates to more than
 * the caller allows. The connection must end with reason COMPRESSION_ERROR (RFC 4253
 * §11.1), so this is a {@link DisconnectError} that already carries that reason; the
 * stream that raised it is unusable afterwards.
 *
 * @example Tell a compression failure apart
 * ```ts
 * import { CompressionError } from "@sshts/ssh";
 * const e = new CompressionError("Cannot decompress packet: invalid distance too far back");
 * console.log(e.code, e.reason); // "ERR_COMPRESSION" 6
 * ```
 */
export class CompressionError extends DisconnectError {
  /** Creates the error with code ERR_COMPRESSION and reason COMPRESSION_ERROR. */
  constructor(message: string, options?: ErrorOptions) {
    super("ERR_COMPRESSION", DisconnectReason.COMPRESSION_ERROR, message, options);
    this.name = "CompressionError";
  }
}
