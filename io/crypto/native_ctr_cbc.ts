/**
 * AES-CTR and AES-CBC through `node:crypto`: one native cipher per direction
 * whose state (counter, chain) runs across packets.
 *
 * @module
 */

import { createCipheriv, createDecipheriv, createSecretKey } from "node:crypto";
import type { PacketTransform } from "../../core/crypto/cipher_mac.ts";
import type { CipherInfo, DirectionKeys } from "../../core/crypto/types.ts";
import { CIPHER_ALGORITHMS, putBack } from "./_native.ts";

/** A native block/stream cipher whose state (counter, chain) runs across packets. */
export function nativeTransform(
  cipher: CipherInfo,
  keys: DirectionKeys,
  direction: "encrypt" | "decrypt",
): PacketTransform {
  const alg = CIPHER_ALGORITHMS[cipher.name]!;
  const key = createSecretKey(keys.encKey);
  const c = direction === "encrypt" || alg.endsWith("ctr")
    ? createCipheriv(alg, key, keys.iv)
    : createDecipheriv(alg, key, keys.iv);
  c.setAutoPadding(false);
  return {
    blockSize: 16,
    process(data, start, end) {
      putBack(data, start, end - start, c.update(data.subarray(start, end)));
    },
    processDetached(data, start, end) {
      const out = c.update(data.subarray(start, end));
      if (out.length !== end - start) {
        throw new RangeError(`node:crypto returned ${out.length} bytes for ${end - start}`);
      }
      // A plain Uint8Array view: callers hand it on as channel data.
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    },
  };
}
