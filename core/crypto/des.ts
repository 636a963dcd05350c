/**
 * DES and Triple DES (FIPS 46-3, SP 800-67): the `3des-cbc` SSH cipher (RFC
 * 4253 §6.3: three-key EDE, 24-byte key) and the DES-based key-file formats of
 * keys/ (DES-EDE3-CBC legacy PEM, PBES1, PKCS#12 3DES).
 *
 * Table-driven: the initial and final permutations are byte-indexed lookup
 * tables, and expansion, S-boxes and permutation P are folded into eight
 * 64-entry "SP" tables, all built once from the FIPS tables below. Triple DES
 * runs the 48 rounds between one initial and one final permutation (IP after FP
 * is the identity, so the inner ones cancel).
 *
 * @module
 */

import { type BlockCipher, CbcTransform, ecb } from "./block_cipher.ts";

// Tables from FIPS 46-3, 1-based bit numbers with bit 1 the most significant.
// deno-fmt-ignore
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4,
  62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24, 16, 8,
  57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3,
  61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];
// deno-fmt-ignore
const P = [
  16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
  2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25,
];
// deno-fmt-ignore
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18,
  10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36,
  63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
  14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
// deno-fmt-ignore
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4,
  26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30, 40,
  51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
// deno-fmt-ignore
const SHIFTS = [
  1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1,
];
const S = [
  "e4d12fb83a6c5907 0f74e2d1a6cb9538 41e8d62bfc973a50 fc8249175b3ea06d",
  "f18e6b34972dc05a 3d47f28ec01a69b5 0e7ba4d158c6932f d8a13f42b67c05e9",
  "a09e63f51dc7b428 d709346a285ecbf1 d6498f30b12c5ae7 1ad069874fe3b52c",
  "7de3069a1285bc4f d8b56f03472c1ae9 a690cb7df13e5284 3f06a1d8945bc72e",
  "2c417ab6853fd0e9 eb2c47d150fa3986 421bad78f9c5630e b8c71e2d6f09a453",
  "c1af92680d34e75b af427c9561de0b38 9ef528c3704a1db6 432c95fabe17608d",
  "4b2ef08d3c975a61 d0b7491ae35c2f86 14bdc37eaf680592 6bd814a7950fe23c",
  "d2846fb1a93e50c7 1fd8a374c56b0e92 7b419ce206adf358 21e74a8dfc90356b",
].map((box) => Array.from(box.replaceAll(" ", ""), (c) => parseInt(c, 16)));

function getBit(b: Uint8Array, n: number): number {
  return (b[(n - 1) >> 3]! >> (7 - ((n - 1) & 7))) & 1;
}

function permute(input: Uint8Array, table: readonly number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(table.length / 8));
  for (let i = 0; i < table.length; i++) {
    if (getBit(input, table[i]!)) out[i >> 3] = out[i >> 3]! | (0x80 >> (i & 7));
  }
  return out;
}

/** A 64-bit permutation as 8 byte-indexed tables of (high word, low word) pairs. */
function permutationTables(table: readonly number[]): Uint32Array {
  const t = new Uint32Array(8 * 256 * 2);
  for (let i = 0; i < 64; i++) {
    const from = table[i]! - 1; // input bit, 0 = most significant
    const byte = from >> 3, mask = 0x80 >> (from & 7);
    const word = i < 32 ? 0 : 1, bit = 1 << (31 - (i & 31));
    for (let v = 0; v < 256; v++) {
      const at = (byte * 256 + v) * 2 + word;
      if (v & mask) t[at] = t[at]! | bit;
    }
  }
  return t;
}

const FP_TABLE = new Array<number>(64);
for (let i = 0; i < 64; i++) FP_TABLE[IP[i]! - 1] = i + 1;
const IP_LOOKUP = permutationTables(IP);
const FP_LOOKUP = permutationTables(FP_TABLE);

/** S-box g's output for a six-bit input, placed as nibble g and permuted by P. */
const SP = new Uint32Array(8 * 64);
for (let g = 0; g < 8; g++) {
  for (let six = 0; six < 64; six++) {
    const row = ((six & 0x20) >> 4) | (six & 1);
    const col = (six >> 1) & 0xf;
    const word = S[g]![row * 16 + col]! << (28 - 4 * g);
    let p = 0;
    for (let i = 0; i < 32; i++) p = (p << 1) | ((word >>> (32 - P[i]!)) & 1);
    SP[g * 64 + six] = p >>> 0;
  }
}

/** Applies a permutation table to the 64-bit value (hi, lo), writing into `out`. */
function applyPermutation(t: Uint32Array, hi: number, lo: number, out: Uint32Array): void {
  let a = 0, b = 0;
  for (let k = 0; k < 4; k++) {
    const i = (k * 256 + ((hi >>> (24 - 8 * k)) & 0xff)) * 2;
    const j = ((k + 4) * 256 + ((lo >>> (24 - 8 * k)) & 0xff)) * 2;
    a |= t[i]! | t[j]!;
    b |= t[i + 1]! | t[j + 1]!;
  }
  out[0] = a >>> 0;
  out[1] = b >>> 0;
}

/** The 16 round keys of one DES key, each as 8 six-bit groups (128 bytes). */
function roundKeys(key: Uint8Array): Uint8Array {
  const cd = permute(key, PC1); // 56 bits
  let c = 0, d = 0;
  for (let i = 1; i <= 28; i++) {
    c = (c << 1) | getBit(cd, i);
    d = (d << 1) | getBit(cd, i + 28);
  }
  const out = new Uint8Array(16 * 8);
  SHIFTS.forEach((s, round) => {
    c = ((c << s) | (c >>> (28 - s))) & 0xfffffff;
    d = ((d << s) | (d >>> (28 - s))) & 0xfffffff;
    const bits = new Uint8Array(7);
    for (let i = 0; i < 28; i++) {
      if ((c >> (27 - i)) & 1) bits[i >> 3] = bits[i >> 3]! | (0x80 >> (i & 7));
      if ((d >> (27 - i)) & 1) {
        bits[(i + 28) >> 3] = bits[(i + 28) >> 3]! | (0x80 >> ((i + 28) & 7));
      }
    }
    const k = permute(bits, PC2);
    for (let g = 0; g < 8; g++) {
      let v = 0;
      for (let j = 1; j <= 6; j++) v = (v << 1) | getBit(k, g * 6 + j);
      out[round * 8 + g] = v;
    }
  });
  return out;
}

/**
 * 16 rounds on (state[0], state[1]) = (L, R), with the round keys forwards or
 * backwards; leaves (R16, L16) in place of (L, R), i.e. without the final swap.
 */
function rounds(state: Uint32Array, k: Uint8Array, decrypt: boolean): void {
  let l = state[0]!, r = state[1]!;
  for (let i = 0; i < 16; i++) {
    const o = (decrypt ? 15 - i : i) * 8;
    // Expansion E: group g is bits 4g..4g+5 (bit 0 = DES bit 32), found by
    // rotating left by 4g+5.
    const f = SP[(((r << 5) | (r >>> 27)) & 0x3f) ^ k[o]!]! |
      SP[64 + ((((r << 9) | (r >>> 23)) & 0x3f) ^ k[o + 1]!)]! |
      SP[128 + ((((r << 13) | (r >>> 19)) & 0x3f) ^ k[o + 2]!)]! |
      SP[192 + ((((r << 17) | (r >>> 15)) & 0x3f) ^ k[o + 3]!)]! |
      SP[256 + ((((r << 21) | (r >>> 11)) & 0x3f) ^ k[o + 4]!)]! |
      SP[320 + ((((r << 25) | (r >>> 7)) & 0x3f) ^ k[o + 5]!)]! |
      SP[384 + ((((r << 29) | (r >>> 3)) & 0x3f) ^ k[o + 6]!)]! |
      SP[448 + ((((r << 1) | (r >>> 31)) & 0x3f) ^ k[o + 7]!)]!;
    const t = (l ^ f) >>> 0;
    l = r;
    r = t;
  }
  state[0] = r;
  state[1] = l;
}

/**
 * DES (8-byte key) or three-key Triple DES EDE (24-byte key K1|K2|K3) as a
 * {@link BlockCipher}. Parity bits are ignored, as everywhere.
 *
 * @example
 * ```ts
 * import { Des } from "./des.ts";
 * const des = new Des(new Uint8Array(24).fill(1));
 * const w = new Uint32Array([0x01234567, 0x89abcdef]);
 * des.encryptWords(w);
 * des.decryptWords(w);
 * console.log(w[0]!.toString(16)); // "1234567"
 * ```
 */
export class Des implements BlockCipher {
  readonly blockSize = 8 as const;
  readonly #keys: readonly Uint8Array[];
  readonly #t = new Uint32Array(2);

  /** Expands an 8-byte (DES) or 24-byte (3DES EDE) key. */
  constructor(key: Uint8Array) {
    if (key.length !== 8 && key.length !== 24) {
      throw new RangeError(`DES key must be 8 or 24 bytes, not ${key.length}`);
    }
    this.#keys = key.length === 8
      ? [roundKeys(key)]
      : [0, 8, 16].map((o) => roundKeys(key.subarray(o, o + 8)));
  }

  /** Encrypts one block (2 big-endian words) in place. */
  encryptWords(w: Uint32Array): void {
    this.#run(w, false);
  }

  /** Decrypts one block in place. */
  decryptWords(w: Uint32Array): void {
    this.#run(w, true);
  }

  #run(w: Uint32Array, decrypt: boolean): void {
    const t = this.#t, keys = this.#keys;
    applyPermutation(IP_LOOKUP, w[0]!, w[1]!, t);
    if (keys.length === 1) {
      rounds(t, keys[0]!, decrypt);
    } else {
      // EDE: E(K1) D(K2) E(K3); decryption D(K3) E(K2) D(K1). Each stage ends
      // unswapped, which is exactly the next stage's (L, R) once IP∘FP cancels.
      const [k1, k2, k3] = keys as [Uint8Array, Uint8Array, Uint8Array];
      rounds(t, decrypt ? k3 : k1, decrypt);
      rounds(t, k2, !decrypt);
      rounds(t, decrypt ? k1 : k3, decrypt);
    }
    applyPermutation(FP_LOOKUP, t[0]!, t[1]!, w);
  }
}

/**
 * Encrypts or decrypts one 8-byte block with DES (8-byte key) or Triple DES
 * EDE (24-byte key K1|K2|K3); returns a new array.
 *
 * @example
 * ```ts
 * import { desBlock } from "./des.ts";
 * const c = desBlock(new Uint8Array(8), new Uint8Array(8), true);
 * console.log(c.length); // 8
 * ```
 */
export function desBlock(key: Uint8Array, block: Uint8Array, encrypt: boolean): Uint8Array {
  if (block.length !== 8) throw new RangeError(`DES block must be 8 bytes, not ${block.length}`);
  return ecb(new Des(key), block, encrypt ? "encrypt" : "decrypt");
}

/**
 * DES / 3DES in CBC mode over whole blocks (the caller pads); returns a new array.
 *
 * @example
 * ```ts
 * import { desCbc } from "./des.ts";
 * const key = new Uint8Array(24).fill(3), iv = new Uint8Array(8);
 * const c = desCbc(key, iv, new Uint8Array(16), true);
 * console.log(desCbc(key, iv, c, false)); // 16 zero bytes
 * ```
 */
export function desCbc(
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  encrypt: boolean,
): Uint8Array {
  if (data.length % 8 !== 0) throw new RangeError("DES-CBC data must be whole 8-byte blocks");
  const out = data.slice();
  new CbcTransform(new Des(key), iv.subarray(0, 8), encrypt ? "encrypt" : "decrypt")
    .process(out, 0, out.length);
  return out;
}
