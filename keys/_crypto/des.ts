/**
 * DES and Triple DES (FIPS 46-3, SP 800-67) in CBC mode, only to read and write
 * old encrypted key files (DES-EDE3-CBC legacy PEM, PBES1, PKCS#12 3DES). Written
 * plainly for clarity, not speed: key files are a few kilobytes. Never used on
 * the wire. Internal to keys/.
 *
 * @module
 */

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
// The final permutation is the inverse of IP.
const FP = new Array<number>(64);
for (let i = 0; i < 64; i++) FP[IP[i]! - 1] = i + 1;

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

/** The 16 round subkeys, each as 8 six-bit groups. */
function subkeys(key: Uint8Array): number[][] {
  const cd = permute(key, PC1); // 56 bits
  let c = 0, d = 0;
  for (let i = 1; i <= 28; i++) {
    c = (c << 1) | getBit(cd, i);
    d = (d << 1) | getBit(cd, i + 28);
  }
  const keys: number[][] = [];
  for (const s of SHIFTS) {
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
    const groups: number[] = [];
    for (let g = 0; g < 8; g++) {
      let v = 0;
      for (let j = 1; j <= 6; j++) v = (v << 1) | getBit(k, g * 6 + j);
      groups.push(v);
    }
    keys.push(groups);
  }
  return keys;
}

/** The round function f(R, K). */
function feistel(r: number, k: number[]): number {
  let out = 0;
  for (let g = 0; g < 8; g++) {
    // Expansion E: six bits centred on nibble g, wrapping around the 32-bit half.
    // Rotating left by 4g+5 brings bits 4g..4g+5 (bit 0 being bit 32) to the bottom.
    const n = (4 * g + 5) % 32;
    const six = (((r << n) | (r >>> (32 - n))) & 0x3f) ^ k[g]!;
    const row = ((six & 0x20) >> 4) | (six & 1);
    const col = (six >> 1) & 0xf;
    out = (out << 4) | S[g]![row * 16 + col]!;
  }
  // Permutation P.
  let p = 0;
  for (let i = 0; i < 32; i++) p = (p << 1) | ((out >>> (32 - P[i]!)) & 1);
  return p >>> 0;
}

function crypt(block: Uint8Array, keys: number[][], decrypt: boolean): Uint8Array {
  const ip = permute(block, IP);
  let l = ((ip[0]! << 24) | (ip[1]! << 16) | (ip[2]! << 8) | ip[3]!) >>> 0;
  let r = ((ip[4]! << 24) | (ip[5]! << 16) | (ip[6]! << 8) | ip[7]!) >>> 0;
  for (let i = 0; i < 16; i++) {
    const k = keys[decrypt ? 15 - i : i]!;
    [l, r] = [r, (l ^ feistel(r, k)) >>> 0];
  }
  const pre = new Uint8Array([r >>> 24, r >>> 16, r >>> 8, r, l >>> 24, l >>> 16, l >>> 8, l]);
  return permute(pre, FP);
}

/**
 * Encrypts or decrypts one 8-byte block with DES (8-byte key) or Triple DES
 * EDE (24-byte key K1|K2|K3).
 */
export function desBlock(key: Uint8Array, block: Uint8Array, encrypt: boolean): Uint8Array {
  if (key.length === 8) return crypt(block, subkeys(key), !encrypt);
  if (key.length !== 24) throw new RangeError(`DES key must be 8 or 24 bytes, not ${key.length}`);
  const [k1, k2, k3] = [0, 8, 16].map((o) => subkeys(key.subarray(o, o + 8)));
  return encrypt
    ? crypt(crypt(crypt(block, k1!, false), k2!, true), k3!, false)
    : crypt(crypt(crypt(block, k3!, true), k2!, false), k1!, true);
}

/** DES / 3DES in CBC mode over whole blocks (the caller pads). */
export function desCbc(
  key: Uint8Array,
  iv: Uint8Array,
  data: Uint8Array,
  encrypt: boolean,
): Uint8Array {
  if (data.length % 8 !== 0) throw new RangeError("DES-CBC data must be whole 8-byte blocks");
  if (key.length !== 8 && key.length !== 24) throw new RangeError("DES key must be 8 or 24 bytes");
  // Key schedules are computed once per call, not per block.
  const ks = key.length === 8
    ? [subkeys(key)]
    : [0, 8, 16].map((o) => subkeys(key.subarray(o, o + 8)));
  const one = (b: Uint8Array): Uint8Array => {
    if (ks.length === 1) return crypt(b, ks[0]!, !encrypt);
    return encrypt
      ? crypt(crypt(crypt(b, ks[0]!, false), ks[1]!, true), ks[2]!, false)
      : crypt(crypt(crypt(b, ks[2]!, true), ks[1]!, false), ks[0]!, true);
  };
  const out = new Uint8Array(data.length);
  let prev: Uint8Array = iv.slice(0, 8);
  for (let o = 0; o < data.length; o += 8) {
    const block = data.slice(o, o + 8);
    if (encrypt) {
      for (let i = 0; i < 8; i++) block[i] = block[i]! ^ prev[i]!;
      prev = one(block);
      out.set(prev, o);
    } else {
      const p = one(block);
      for (let i = 0; i < 8; i++) out[o + i] = p[i]! ^ prev[i]!;
      prev = block;
    }
  }
  return out;
}
