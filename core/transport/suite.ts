/**
 * The algorithm suite a transport runs with: where it finds kex methods, ciphers,
 * MACs, compression and host-key signature checks. The default suite wires the
 * modules of `core/`; callers can swap parts (a native cipher provider, a test
 * double) without the transport knowing.
 *
 * @module
 */

import type { CipherInfo, MacInfo, PacketOpener, PacketSealer } from "../crypto/types.ts";
import type { DirectionKeys } from "../crypto/types.ts";
import type { KexHashName, KexMethod } from "../kex/types.ts";
import type { SignatureCheck } from "../publickey/verify.ts";
import type { PayloadCompressor, PayloadDecompressor } from "./packet.ts";

/** Key material sizes one direction needs from the key derivation. */
export interface KeySizes {
  /** IV bytes. */
  readonly ivLength: number;
  /** Encryption key bytes. */
  readonly keyLength: number;
  /** Integrity key bytes (0 for AEAD ciphers). */
  readonly macKeyLength: number;
}

/** Everything the transport needs from the algorithm modules. */
export interface TransportSuite {
  /** Looks up a kex method by wire name. */
  kex(name: string): KexMethod | undefined;
  /** Looks up cipher facts by wire name. */
  cipher(name: string): CipherInfo | undefined;
  /** Looks up MAC facts by wire name. */
  mac(name: string): MacInfo | undefined;
  /** Builds a sealer for outgoing packets. */
  createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer;
  /** Builds an opener for incoming packets. */
  createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener;
  /** Creates a compressor for a compression method ("none" gives null). */
  createCompressor(name: string): PayloadCompressor | null;
  /** Creates a decompressor for a compression method ("none" gives null). */
  createDecompressor(name: string): PayloadDecompressor | null;
  /** Derives one direction's keys (RFC 4253 §7.2): letters A/C/E or B/D/F. */
  deriveKeys(
    hash: KexHashName,
    sharedSecret: Uint8Array,
    exchangeHash: Uint8Array,
    sessionId: Uint8Array,
    letters: readonly [string, string, string],
    sizes: KeySizes,
  ): DirectionKeys;
  /**
   * Verifies the server's signature over the exchange hash with the host key blob,
   * for the negotiated host key algorithm. Throws a typed error when the blob is bad.
   */
  verifyHostKeySignature(
    hostKeyAlgorithm: string,
    hostKeyBlob: Uint8Array,
    signature: Uint8Array,
    exchangeHash: Uint8Array,
  ): boolean;
  /**
   * Verifies a user's (or client host's) signature for publickey and hostbased
   * authentication. Invalid for any problem, including malformed blobs and
   * algorithms that do not match the key. A valid FIDO (`sk-*`) signature
   * carries its authenticator's flags and counter (`sk`): the server's user
   * presence and verification policy needs them, so a suite that wraps another
   * must pass them on (the default is `checkKeyBlobSignature`).
   */
  verifyUserSignature(
    algorithm: string,
    keyBlob: Uint8Array,
    signature: Uint8Array,
    data: Uint8Array,
  ): SignatureCheck;
}
