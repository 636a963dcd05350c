/**
 * Validation of derived key material against the negotiated algorithms, shared
 * by every packet-protection provider.
 *
 * @module
 */

import { LocalProtocolError } from "../errors.ts";
import type { CipherInfo, DirectionKeys, MacInfo } from "./types.ts";

/**
 * Checks the derived key material against the algorithms' lengths. A mismatch
 * is a bug in the caller (key derivation), so it throws at once.
 *
 * @example
 * ```ts
 * import { checkKeyLengths } from "./check_keys.ts";
 * import { getCipherInfo } from "./registry.ts";
 * checkKeyLengths("sealer", getCipherInfo("aes128-gcm@openssh.com")!, null, {
 *   encKey: new Uint8Array(16), iv: new Uint8Array(12), macKey: new Uint8Array(0),
 * });
 * ```
 */
export function checkKeyLengths(
  what: string,
  cipher: CipherInfo,
  mac: MacInfo | null,
  keys: DirectionKeys,
): void {
  const fail = (field: string, got: number, want: number): never => {
    throw new LocalProtocolError(
      `Cannot create ${cipher.name} ${what}: ${field} is ${got} bytes, ${want} needed`,
    );
  };
  if (keys.encKey.length !== cipher.keyLength) {
    fail("the encryption key", keys.encKey.length, cipher.keyLength);
  }
  if (keys.iv.length !== cipher.ivLength) fail("the IV", keys.iv.length, cipher.ivLength);
  if (!cipher.aead) {
    if (mac === null) {
      throw new LocalProtocolError(`Cannot create ${cipher.name} ${what}: a MAC is required`);
    }
    if (keys.macKey.length !== mac.keyLength) {
      fail(`the ${mac.name} key`, keys.macKey.length, mac.keyLength);
    }
  }
}
