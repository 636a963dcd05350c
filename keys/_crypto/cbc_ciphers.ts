/**
 * CBC block ciphers with PKCS#7 padding for the OpenSSL-style encrypted key
 * formats (PKCS#8 PBES2, legacy "Proc-Type: 4,ENCRYPTED" PEM), by OpenSSL's
 * names. Internal to keys/.
 *
 * @module
 */

import { cbc } from "@noble/ciphers/aes.js";
import { desCbc } from "../../core/crypto/des.ts";
import {
  OID_AES128_CBC,
  OID_AES192_CBC,
  OID_AES256_CBC,
  OID_DES_CBC,
  OID_DES_EDE3_CBC,
} from "../_oids.ts";

/** One CBC cipher. */
export interface CbcCipher {
  /** OpenSSL name as in DEK-Info, lower case ("aes-256-cbc", "des-ede3-cbc"). */
  readonly name: string;
  readonly oid: string;
  readonly keyLength: number;
  readonly ivLength: number;
  /** Encrypts with PKCS#7 padding. */
  encrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  /** Decrypts and removes PKCS#7 padding; undefined when the padding is wrong. */
  decrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array | undefined;
}

/** Removes PKCS#7 padding, or undefined when it is not valid. */
export function unpad(b: Uint8Array, blockSize: number): Uint8Array | undefined {
  if (b.length === 0 || b.length % blockSize !== 0) return undefined;
  const n = b[b.length - 1]!;
  if (n === 0 || n > blockSize) return undefined;
  for (let i = b.length - n; i < b.length; i++) if (b[i] !== n) return undefined;
  return b.subarray(0, b.length - n);
}

/** Adds PKCS#7 padding. */
export function pad(b: Uint8Array, blockSize: number): Uint8Array {
  const n = blockSize - (b.length % blockSize);
  const out = new Uint8Array(b.length + n).fill(n);
  out.set(b);
  return out;
}

function aes(bits: number, oid: string): CbcCipher {
  return {
    name: `aes-${bits}-cbc`,
    oid,
    keyLength: bits / 8,
    ivLength: 16,
    encrypt: (key, iv, data) => cbc(key, iv, { disablePadding: true }).encrypt(pad(data, 16)),
    decrypt: (key, iv, data) => {
      if (data.length === 0 || data.length % 16 !== 0) return undefined;
      return unpad(cbc(key, iv, { disablePadding: true }).decrypt(data), 16);
    },
  };
}

function des(name: string, oid: string, keyLength: number): CbcCipher {
  return {
    name,
    oid,
    keyLength,
    ivLength: 8,
    encrypt: (key, iv, data) => desCbc(key, iv, pad(data, 8), true),
    decrypt: (key, iv, data) => {
      if (data.length === 0 || data.length % 8 !== 0) return undefined;
      return unpad(desCbc(key, iv, data, false), 8);
    },
  };
}

/** All CBC ciphers, by lower-case OpenSSL name. */
export const CBC_CIPHERS: ReadonlyMap<string, CbcCipher> = new Map(
  [
    aes(128, OID_AES128_CBC),
    aes(192, OID_AES192_CBC),
    aes(256, OID_AES256_CBC),
    des("des-ede3-cbc", OID_DES_EDE3_CBC, 24),
    des("des-cbc", OID_DES_CBC, 8),
  ].map((c) => [c.name, c]),
);

/** The CBC cipher with this OID, if supported. */
export function cbcCipherByOid(oid: string): CbcCipher | undefined {
  for (const c of CBC_CIPHERS.values()) if (c.oid === oid) return c;
  return undefined;
}
