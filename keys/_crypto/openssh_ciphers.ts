/**
 * The ciphers OpenSSH can protect a private key file with (`ssh-keygen -Z`), as
 * used there: one message, sequence number 0, no associated data. Internal to keys/.
 *
 * @module
 */

import { cbc, ctr, gcm } from "@noble/ciphers/aes.js";
import { chacha20orig } from "@noble/ciphers/chacha.js";
import { poly1305 } from "@noble/ciphers/_poly1305.js";
import { desCbc } from "../../core/crypto/des.ts";
import { equalBytes } from "../../core/wire.ts";

/** One key-file cipher. */
export interface KeyFileCipher {
  readonly name: string;
  /** Plaintext is padded to a multiple of this. */
  readonly blockSize: number;
  readonly keyLength: number;
  readonly ivLength: number;
  /** Bytes of authentication tag stored after the ciphertext. */
  readonly tagLength: number;
  /** Encrypts (data length is a multiple of blockSize); returns ciphertext and tag. */
  encrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): { data: Uint8Array; tag: Uint8Array };
  /** Decrypts, or returns undefined when the tag does not verify. */
  decrypt(
    key: Uint8Array,
    iv: Uint8Array,
    data: Uint8Array,
    tag: Uint8Array,
  ): Uint8Array | undefined;
}

const NO_TAG = new Uint8Array(0);

function aesCtr(bits: number): KeyFileCipher {
  return {
    name: `aes${bits}-ctr`,
    blockSize: 16,
    keyLength: bits / 8,
    ivLength: 16,
    tagLength: 0,
    encrypt: (key, iv, data) => ({ data: ctr(key, iv).encrypt(data), tag: NO_TAG }),
    decrypt: (key, iv, data) => ctr(key, iv).decrypt(data),
  };
}

function aesCbc(bits: number): KeyFileCipher {
  return {
    name: `aes${bits}-cbc`,
    blockSize: 16,
    keyLength: bits / 8,
    ivLength: 16,
    tagLength: 0,
    encrypt: (key, iv, data) => ({
      data: cbc(key, iv, { disablePadding: true }).encrypt(data),
      tag: NO_TAG,
    }),
    decrypt: (key, iv, data) => cbc(key, iv, { disablePadding: true }).decrypt(data),
  };
}

function aesGcm(bits: number): KeyFileCipher {
  return {
    name: `aes${bits}-gcm@openssh.com`,
    blockSize: 16,
    keyLength: bits / 8,
    ivLength: 12,
    tagLength: 16,
    encrypt: (key, iv, data) => {
      const out = gcm(key, iv).encrypt(data);
      return { data: out.subarray(0, data.length), tag: out.subarray(data.length) };
    },
    decrypt: (key, iv, data, tag) => {
      const joined = new Uint8Array(data.length + tag.length);
      joined.set(data);
      joined.set(tag, data.length);
      try {
        return gcm(key, iv).decrypt(joined);
      } catch {
        return undefined;
      }
    },
  };
}

/** 3des-cbc, which `ssh-keygen -Z 3des-cbc` still writes (never the default for new files). */
const tripleDesCbc: KeyFileCipher = {
  name: "3des-cbc",
  blockSize: 8,
  keyLength: 24,
  ivLength: 8,
  tagLength: 0,
  encrypt: (key, iv, data) => ({ data: desCbc(key, iv, data, true), tag: NO_TAG }),
  decrypt: (key, iv, data) => desCbc(key, iv, data, false),
};

/**
 * OpenSSH's chacha20-poly1305: K_main is the first 32 key bytes (the second 32
 * only encrypt packet lengths, unused here); nonce is the sequence number 0;
 * block 0 of the keystream is the Poly1305 key, data starts at block 1.
 */
const chachaPoly: KeyFileCipher = {
  name: "chacha20-poly1305@openssh.com",
  blockSize: 8,
  keyLength: 64,
  ivLength: 0,
  tagLength: 16,
  encrypt: (key, _iv, data) => {
    const k = key.subarray(0, 32);
    const nonce = new Uint8Array(8);
    const polyKey = chacha20orig(k, nonce, new Uint8Array(32), undefined, 0);
    const out = chacha20orig(k, nonce, data, undefined, 1);
    return { data: out, tag: poly1305(out, polyKey) };
  },
  decrypt: (key, _iv, data, tag) => {
    const k = key.subarray(0, 32);
    const nonce = new Uint8Array(8);
    const polyKey = chacha20orig(k, nonce, new Uint8Array(32), undefined, 0);
    if (!equalBytes(poly1305(data, polyKey), tag)) return undefined;
    return chacha20orig(k, nonce, data, undefined, 1);
  },
};

const none: KeyFileCipher = {
  name: "none",
  blockSize: 8,
  keyLength: 0,
  ivLength: 0,
  tagLength: 0,
  encrypt: (_k, _iv, data) => ({ data, tag: NO_TAG }),
  decrypt: (_k, _iv, data) => data,
};

/** Key-file ciphers by name. */
export const KEY_FILE_CIPHERS: ReadonlyMap<string, KeyFileCipher> = new Map(
  [
    none,
    aesCtr(128),
    aesCtr(192),
    aesCtr(256),
    aesCbc(128),
    aesCbc(192),
    aesCbc(256),
    aesGcm(128),
    aesGcm(256),
    chachaPoly,
    tripleDesCbc,
  ].map((c) => [c.name, c]),
);
