/**
 * The packet-protection seam: how the transport seals and opens binary packets.
 *
 * A packet as the transport hands it over is laid out in one buffer:
 * `uint32 packet_length | byte padding_length | payload | padding`. Sealers encrypt
 * it in place and write the tag (or MAC) into `tagOut`; openers work in place too,
 * so the hot path allocates nothing per packet.
 *
 * Implementations come from a provider (see `registry.ts`): the portable `@noble`
 * provider is always there; `io/` may register native (`node:crypto`) ones that
 * pass the same known-answer tests.
 *
 * @module
 */

/** Keys and IV for one direction, as derived by the key exchange (RFC 4253 §7.2). */
export interface DirectionKeys {
  /** Initial IV (or nonce material); its length is the cipher's `ivLength`. */
  readonly iv: Uint8Array;
  /** Encryption key; its length is the cipher's `keyLength`. */
  readonly encKey: Uint8Array;
  /** Integrity key; its length is the MAC's `keyLength` (empty for AEAD ciphers). */
  readonly macKey: Uint8Array;
}

/** Static facts about a cipher, used by negotiation and key derivation. */
export interface CipherInfo {
  /** Wire name, e.g. "aes128-gcm@openssh.com". */
  readonly name: string;
  /** Key bytes to derive. */
  readonly keyLength: number;
  /** IV bytes to derive. */
  readonly ivLength: number;
  /** Cipher block size; padding aligns to max(8, blockSize). */
  readonly blockSize: number;
  /** True when the cipher authenticates itself; the negotiated MAC is then ignored. */
  readonly aead: boolean;
  /** Tag bytes appended by an AEAD cipher (0 otherwise). */
  readonly tagLength: number;
}

/** Static facts about a MAC. */
export interface MacInfo {
  /** Wire name, e.g. "hmac-sha2-256-etm@openssh.com". */
  readonly name: string;
  /** Key bytes to derive. */
  readonly keyLength: number;
  /** MAC bytes appended to each packet. */
  readonly macLength: number;
  /** Encrypt-then-MAC: the length field stays in clear and the MAC covers the ciphertext. */
  readonly etm: boolean;
}

/** Seals outgoing packets for one direction. Stateful (keystream, counters). */
export interface PacketSealer {
  /** Padding alignment the transport must use (max(8, block size)). */
  readonly blockSize: number;
  /** Bytes of tag/MAC appended after the packet. */
  readonly tagLength: number;
  /** True when the 4-byte length is not encrypted (AES-GCM, ETM): padding then aligns the rest. */
  readonly lengthInClear: boolean;
  /** Which implementation this is ("noble", "node:crypto", ...), for getExtraInfo() and benches. */
  readonly provider: string;
  /**
   * Encrypts `packet` in place (the whole packet, length field first) and writes
   * `tagLength` bytes of tag into `tagOut`.
   */
  seal(seq: number, packet: Uint8Array, tagOut: Uint8Array): void;
  /**
   * Optional, for sealers whose library returns its output in a new buffer anyway
   * (`node:crypto`): seals `packet` (length field first, no room for the tag) and returns
   * the sealed packet as chunks to send in order (e.g. length field, ciphertext, tag).
   * The chunks must not share memory with `packet`, which the transport reuses for the
   * next packet: that saves the packet's allocation and the copy back into it.
   */
  sealDetached?(seq: number, packet: Uint8Array): Uint8Array[];
}

/** Opens incoming packets for one direction. Stateful. */
export interface PacketOpener {
  /** Bytes the transport must have before calling `decryptLength` (4 or a block). */
  readonly firstBlockLength: number;
  /** Bytes of tag/MAC that follow the packet. */
  readonly tagLength: number;
  /** Padding alignment this direction's packets must satisfy. */
  readonly blockSize: number;
  /** True when the length field is sent in clear. */
  readonly lengthInClear: boolean;
  /** Which implementation this is. */
  readonly provider: string;
  /**
   * Returns the packet_length field given the first `firstBlockLength` bytes of the
   * packet. Must not modify `first` for AEAD/ETM modes; for the classic
   * encrypt-and-MAC mode it may decrypt that block in place (and `open` then skips it).
   */
  decryptLength(seq: number, first: Uint8Array): number;
  /**
   * Verifies and decrypts `packet` (length field first, `4 + packet_length` bytes)
   * in place; `tag` holds the received tag/MAC. Returns false when authentication
   * fails (the transport then disconnects with MAC_ERROR). Never throws for bad data.
   */
  open(seq: number, packet: Uint8Array, tag: Uint8Array): boolean;
  /**
   * Optional, for `lengthInClear` openers whose library returns its output in a
   * new buffer anyway (`node:crypto`): like `open` (it may still decrypt `packet` in
   * place, e.g. for small packets), but returns a buffer holding the decrypted bytes after the length field
   * (padding_length, payload, padding) and owned by the caller; null when
   * authentication fails. The transport then hands the payload on without the
   * copy back into its receive buffer and the copy out of it (see PacketReceiver).
   */
  openDetached?(seq: number, packet: Uint8Array, tag: Uint8Array): Uint8Array | null;
}

/** Creates sealers and openers for one negotiated cipher (+ MAC unless AEAD). */
export interface PacketProtectionFactory {
  /** Which implementation this is. */
  readonly provider: string;
  /** Builds a sealer; `mac` is null for AEAD ciphers. */
  createSealer(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketSealer;
  /** Builds an opener; `mac` is null for AEAD ciphers. */
  createOpener(cipher: CipherInfo, mac: MacInfo | null, keys: DirectionKeys): PacketOpener;
}
