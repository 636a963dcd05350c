/**
 * UMAC (RFC 4418) with 32-, 64-, 96- and 128-bit tags, and the SSH packet MACs
 * built on it: `umac-64@openssh.com`, `umac-128@openssh.com` and their `-etm`
 * forms (OpenSSH PROTOCOL; the nonce is the packet sequence number as 8 bytes,
 * big-endian, and the MAC covers the packet without the sequence number).
 *
 * Layout of the computation (RFC 4418 §3–§5):
 * - the 16-byte key drives AES-128 in a counter-style KDF that makes the NH,
 *   polynomial and inner-product keys, and the key of the pad function (PDF);
 * - L1 (NH): the message in 1024-byte chunks, read as little-endian 32-bit words,
 *   against big-endian key words; one 64-bit output per chunk and per stream
 *   (2 streams for 64-bit tags, 4 for 128-bit ones, keys shifted by 16 bytes);
 * - L2: a polynomial hash mod 2^64 − 59 over the NH outputs (skipped when the
 *   message is one chunk), switching to mod 2^128 − 159 after 2^14 chunks
 *   (16 MiB; never reached by SSH packets, done with BigInt);
 * - L3: an inner product mod 2^36 − 5, then the low 32 bits XOR a key word;
 * - the tag is that hash XOR an AES encryption of the nonce (for 32/64-bit tags
 *   the nonce's low bits pick a slice, so consecutive nonces share one AES call).
 *
 * NH runs in WebAssembly SIMD where the kernels have it (64- and 128-bit tags:
 * ./wasm/umac_nh_module.ts), else, like everything else here, on JavaScript numbers:
 * 32×32-bit products are split into 32×16-bit halves so every partial sum stays
 * below 2^53 and exact.
 *
 * @module
 */

import { unsafe } from "@noble/ciphers/aes.js";
import type { PacketMac } from "./cipher_mac.ts";
import { getWasmKernels, WASM_LAYOUT, type WasmKernels } from "./wasm/kernels.ts";

export type { PacketMac };

/** UMAC's key length in bytes (AES-128). */
export const UMAC_KEY_LENGTH = 16;

/** Tag lengths RFC 4418 defines, in bytes. */
export type UmacTagLength = 4 | 8 | 12 | 16;

// L1 chunk: 1024 bytes (RFC 4418 §5.2.1, "L1-HASH").
const CHUNK = 1024;
// NH outputs hashed by POLY64 before POLY128 takes over (RFC 4418 §5.3: 2^14 × 8 bytes).
const POLY64_CHUNKS = 1 << 14;
const TWO32 = 4294967296;
const P36 = 68719476731; // 2^36 - 5
const P128 = (1n << 128n) - 159n;
const MAX_WORD_128 = (1n << 128n) - (1n << 96n);
const MASK_64_HI = 0x01ffffff;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function be32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function putLE(b: Uint8Array, i: number, x: number): void {
  b[i] = x & 0xff, b[i + 1] = (x >>> 8) & 0xff, b[i + 2] = (x >>> 16) & 0xff, b[i + 3] = x >>> 24;
}

function bswap(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** AES-128 of the 16 bytes `inp[0..16]` with expanded key `xk`, into `out[o..o+16]`. */
function aesBlock(xk: Uint32Array, inp: Uint8Array, out: Uint8Array, o: number): void {
  // noble's state words are the block's bytes read little-endian.
  const e = unsafe.encrypt(xk, le32(inp, 0), le32(inp, 4), le32(inp, 8), le32(inp, 12));
  putLE(out, o, e.s0), putLE(out, o + 4, e.s1), putLE(out, o + 8, e.s2), putLE(out, o + 12, e.s3);
}

/** RFC 4418 §3.2.1 KDF: AES of uint64(index) || uint64(i), i = 1, 2, …, truncated. */
function kdf(xk: Uint32Array, index: number, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 16) * 16);
  const t = new Uint8Array(16);
  t[7] = index;
  for (let i = 0; i * 16 < length; i++) {
    t[12] = ((i + 1) >>> 24) & 0xff, t[13] = ((i + 1) >>> 16) & 0xff;
    t[14] = ((i + 1) >>> 8) & 0xff, t[15] = (i + 1) & 0xff;
    aesBlock(xk, t, out, i * 16);
  }
  return out.subarray(0, length);
}

// NH's result for one stream, left here to avoid allocating a pair per call.
let nhHi = 0;
let nhLo = 0;

/**
 * NH (RFC 4418 §5.2.2) of `nWords` message words (a multiple of 8) against the
 * key words from `k[ko]`, plus `bits`, mod 2^64; the result is in nhHi/nhLo.
 */
function nh(m: Uint32Array, nWords: number, k: Uint32Array, ko: number, bits: number): void {
  let hi = 0, lo = bits;
  // s0 = Σ a·(b mod 2^16), s1 = Σ a·(b >> 16): each term < 2^48, so 32 terms
  // (8 blocks) stay below 2^53; then they are folded into hi:lo.
  let s0 = 0, s1 = 0, n = 0;
  for (let i = 0; i < nWords; i += 8) {
    const kk = ko + i;
    let a = (m[i]! + k[kk]!) >>> 0, b = (m[i + 4]! + k[kk + 4]!) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m[i + 1]! + k[kk + 1]!) >>> 0, b = (m[i + 5]! + k[kk + 5]!) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m[i + 2]! + k[kk + 2]!) >>> 0, b = (m[i + 6]! + k[kk + 6]!) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m[i + 3]! + k[kk + 3]!) >>> 0, b = (m[i + 7]! + k[kk + 7]!) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    if (++n === 8 || i + 8 >= nWords) {
      // hi:lo += s1·2^16 + s0 (mod 2^64).
      const l0 = s0 >>> 0, h0 = (s0 - l0) / TWO32;
      const l1 = s1 & 0xffff, h1 = (s1 - l1) / 65536;
      const sum = lo + l0 + l1 * 65536;
      lo = sum >>> 0;
      hi = (hi + h0 + h1 + (sum - lo) / TWO32) >>> 0;
      s0 = s1 = n = 0;
    }
  }
  nhHi = hi, nhLo = lo;
}

// The second stream's result of nh2().
let nhHi2 = 0;
let nhLo2 = 0;

/**
 * NH for two neighbouring streams at once (key words from `k[ko]` and `k[ko + 4]`), reading
 * each message word once: results in nhHi/nhLo and nhHi2/nhLo2. Same arithmetic as {@link nh}.
 */
function nh2(m: Uint32Array, nWords: number, k: Uint32Array, ko: number, bits: number): void {
  let hi = 0, lo = bits, hi2 = 0, lo2 = bits;
  let s0 = 0, s1 = 0, t0 = 0, t1 = 0, n = 0;
  for (let i = 0; i < nWords; i += 8) {
    const kk = ko + i;
    const m0 = m[i]!, m1 = m[i + 1]!, m2 = m[i + 2]!, m3 = m[i + 3]!;
    const m4 = m[i + 4]!, m5 = m[i + 5]!, m6 = m[i + 6]!, m7 = m[i + 7]!;
    const k4 = k[kk + 4]!, k5 = k[kk + 5]!, k6 = k[kk + 6]!, k7 = k[kk + 7]!;
    let a = (m0 + k[kk]!) >>> 0, b = (m4 + k4) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m1 + k[kk + 1]!) >>> 0, b = (m5 + k5) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m2 + k[kk + 2]!) >>> 0, b = (m6 + k6) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m3 + k[kk + 3]!) >>> 0, b = (m7 + k7) >>> 0;
    s0 += a * (b & 0xffff), s1 += a * (b >>> 16);
    a = (m0 + k4) >>> 0, b = (m4 + k[kk + 8]!) >>> 0;
    t0 += a * (b & 0xffff), t1 += a * (b >>> 16);
    a = (m1 + k5) >>> 0, b = (m5 + k[kk + 9]!) >>> 0;
    t0 += a * (b & 0xffff), t1 += a * (b >>> 16);
    a = (m2 + k6) >>> 0, b = (m6 + k[kk + 10]!) >>> 0;
    t0 += a * (b & 0xffff), t1 += a * (b >>> 16);
    a = (m3 + k7) >>> 0, b = (m7 + k[kk + 11]!) >>> 0;
    t0 += a * (b & 0xffff), t1 += a * (b >>> 16);
    if (++n === 8 || i + 8 >= nWords) {
      let l0 = s0 >>> 0, h0 = (s0 - l0) / TWO32;
      let l1 = s1 & 0xffff, h1 = (s1 - l1) / 65536;
      let sum = lo + l0 + l1 * 65536;
      lo = sum >>> 0;
      hi = (hi + h0 + h1 + (sum - lo) / TWO32) >>> 0;
      l0 = t0 >>> 0, h0 = (t0 - l0) / TWO32;
      l1 = t1 & 0xffff, h1 = (t1 - l1) / 65536;
      sum = lo2 + l0 + l1 * 65536;
      lo2 = sum >>> 0;
      hi2 = (hi2 + h0 + h1 + (sum - lo2) / TWO32) >>> 0;
      s0 =
        s1 =
        t0 =
        t1 =
        n =
          0;
    }
  }
  nhHi = hi, nhLo = lo, nhHi2 = hi2, nhLo2 = lo2;
}

/** Chunks one WebAssembly NH call takes: its results fill {@link WASM_LAYOUT}.nhOut. */
const WASM_NH_CHUNKS = 256;

/** The WebAssembly NH for one stream count. */
interface WasmNh {
  readonly kernels: WasmKernels;
  nh(msg: number, chunks: number, key: number, out: number): void;
}

/**
 * The NH key in the kernels' memory belongs to one `Umac` at a time (a connection's two
 * directions take turns): the last one to load it. Its key words never change.
 */
let loadedNhKey: Uint32Array | null = null;

function wasmNh(streams: 2 | 4): WasmNh | null {
  const k = getWasmKernels("auto");
  const x = k?.nh;
  if (!k || !x) return null;
  return { kernels: k, nh: streams === 2 ? x.umac_nh2 : x.umac_nh4 };
}

/** The kernels' NH key region as words: room for four streams' keys (CHUNK + 48 bytes). */
function nhKeyWords(k: WasmKernels): Uint32Array {
  return new Uint32Array(k.memory.buffer, WASM_LAYOUT.nhKey, (CHUNK + 3 * 16) / 4);
}

/** The NH results as words, made once (the kernels' memory never grows). */
let outView: Uint32Array | undefined;
function nhOutWords(k: WasmKernels): Uint32Array {
  if (outView === undefined || outView.buffer !== k.memory.buffer) {
    outView = new Uint32Array(k.memory.buffer, WASM_LAYOUT.nhOut, WASM_NH_CHUNKS * 4 * 2);
  }
  return outView;
}

/**
 * One POLY64 step (RFC 4418 §5.3.1): y = (k·y + m) mod p64 with p64 = 2^64 − 59,
 * y as four 16-bit limbs in `y[o..o+4]` (least significant first, kept below
 * 2^64 but not always below p64), k = kHi·2^32 + kLo with both halves < 2^25.
 */
function polyStep(
  y: Float64Array,
  o: number,
  kHi: number,
  kLo: number,
  mHi: number,
  mLo: number,
): void {
  const y0 = y[o]!, y1 = y[o + 1]!, y2 = y[o + 2]!, y3 = y[o + 3]!;
  // Products at bit offsets 0, 16, 32, 48, 64, 80; each < 2^42. 2^64 ≡ 59 (mod p64).
  let d0 = y0 * kLo + 59 * (y2 * kHi) + mLo;
  let d1 = y1 * kLo + 59 * (y3 * kHi);
  let d2 = y2 * kLo + y0 * kHi + mHi;
  let d3 = y3 * kLo + y1 * kHi;
  for (;;) {
    // Normalize to 16-bit limbs; a carry out of bit 64 comes back as 59·carry.
    let c = Math.floor(d0 / 65536);
    d0 -= c * 65536;
    d1 += c, c = Math.floor(d1 / 65536), d1 -= c * 65536;
    d2 += c, c = Math.floor(d2 / 65536), d2 -= c * 65536;
    d3 += c, c = Math.floor(d3 / 65536), d3 -= c * 65536;
    if (c === 0) break;
    d0 += 59 * c;
  }
  y[o] = d0, y[o + 1] = d1, y[o + 2] = d2, y[o + 3] = d3;
}

/** Reduces a limb value below p64 (it is below 2^64 already). */
function polyFinish(y: Float64Array, o: number): void {
  if (y[o + 3] === 0xffff && y[o + 2] === 0xffff && y[o + 1] === 0xffff && y[o]! >= 0xffc5) {
    y[o] = y[o]! - 0xffc5, y[o + 1] = y[o + 2] = y[o + 3] = 0;
  }
}

/**
 * UMAC with a 4-, 8-, 12- or 16-byte tag: `update()` any number of times, then
 * `final(nonce)`, which also resets it for the next message.
 *
 * @example RFC 4418's first test vector
 * ```ts
 * import { Umac } from "./umac.ts";
 * const enc = new TextEncoder();
 * const umac = new Umac(enc.encode("abcdefghijklmnop"), 8);
 * const tag = umac.final(enc.encode("bcdefghi"));
 * console.log([...tag].map((b) => b.toString(16).padStart(2, "0")).join("")); // "6e155fad26900be1"
 * ```
 */
export class Umac {
  /** Tag bytes. */
  readonly tagLength: UmacTagLength;
  readonly #streams: number;
  readonly #pdfKey: Uint32Array;
  readonly #nhKey: Uint32Array;
  readonly #polyKey: Float64Array; // per stream: k64 hi, k64 lo
  readonly #polyKey128: bigint[];
  readonly #ipKey: Float64Array; // per stream: 8 keys mod p36
  readonly #ipTrans: Uint32Array;
  // The current L1 chunk (word-aligned so NH reads it as 32-bit words).
  readonly #buf = new Uint8Array(CHUNK);
  readonly #words = new Uint32Array(this.#buf.buffer);
  #fill = 0;
  #chunks = 0;
  readonly #poly = new Float64Array(16); // per stream: 4 limbs
  readonly #poly128: bigint[] = [];
  readonly #pending128: bigint[] = [];
  readonly #hash = new Uint8Array(16);
  // The pad cache: the AES input block it was made from, and the output.
  readonly #padIn = new Uint8Array(16);
  readonly #padOut = new Uint8Array(16);
  #padValid = false;
  /** The WebAssembly NH for this tag length, or null (no SIMD, 32- or 96-bit tags). */
  readonly #wasm: WasmNh | null;

  /** Derives every subkey from the 16-byte `key`. */
  constructor(key: Uint8Array, tagLength: UmacTagLength) {
    if (key.length !== UMAC_KEY_LENGTH) {
      throw new RangeError(`UMAC needs a ${UMAC_KEY_LENGTH}-byte key, got ${key.length} bytes`);
    }
    if (tagLength !== 4 && tagLength !== 8 && tagLength !== 12 && tagLength !== 16) {
      throw new RangeError(`UMAC tags are 4, 8, 12 or 16 bytes, not ${tagLength}`);
    }
    this.tagLength = tagLength;
    const streams = (this.#streams = tagLength / 4);
    const xk = unsafe.expandKeyLE(key);
    this.#pdfKey = unsafe.expandKeyLE(kdf(xk, 0, 16));
    const l1 = kdf(xk, 1, CHUNK + (streams - 1) * 16);
    this.#nhKey = new Uint32Array(l1.length / 4);
    for (let i = 0; i < this.#nhKey.length; i++) this.#nhKey[i] = be32(l1, i * 4);
    const l2 = kdf(xk, 2, streams * 24);
    this.#polyKey = new Float64Array(streams * 2);
    this.#polyKey128 = [];
    for (let s = 0; s < streams; s++) {
      this.#polyKey[2 * s] = be32(l2, 24 * s) & MASK_64_HI;
      this.#polyKey[2 * s + 1] = be32(l2, 24 * s + 4) & MASK_64_HI;
      let k = 0n;
      for (let i = 0; i < 4; i++) {
        k = (k << 32n) | BigInt(be32(l2, 24 * s + 8 + 4 * i) & MASK_64_HI);
      }
      this.#polyKey128.push(k);
    }
    const l3 = kdf(xk, 3, streams * 64);
    this.#ipKey = new Float64Array(streams * 8);
    for (let i = 0; i < streams * 8; i++) {
      this.#ipKey[i] = Number(
        ((BigInt(be32(l3, 8 * i)) << 32n) | BigInt(be32(l3, 8 * i + 4))) % BigInt(P36),
      );
    }
    const l4 = kdf(xk, 4, streams * 4);
    this.#ipTrans = new Uint32Array(streams);
    for (let s = 0; s < streams; s++) this.#ipTrans[s] = be32(l4, 4 * s);
    this.#wasm = LITTLE_ENDIAN && (streams === 2 || streams === 4) ? wasmNh(streams) : null;
    this.#reset();
  }

  #reset(): void {
    this.#fill = 0;
    this.#chunks = 0;
    this.#poly.fill(0);
    for (let s = 0; s < this.#streams; s++) this.#poly[4 * s] = 1;
    this.#poly128.length = 0;
    this.#pending128.length = 0;
  }

  /**
   * Which NH hashes the chunks: "webassembly" (SIMD kernels, 64- and 128-bit tags) or
   * "javascript" (everywhere else, and with `setWasmKernelsEnabled(false)`).
   */
  get nhImplementation(): "webassembly" | "javascript" {
    return this.#wasm !== null ? "webassembly" : "javascript";
  }

  /** Adds `data[start..end]` to the message. */
  update(data: Uint8Array, start = 0, end: number = data.length): this {
    if (start < 0 || end > data.length || start > end) {
      throw new RangeError(`UMAC update range ${start}..${end} is outside ${data.length} bytes`);
    }
    const buf = this.#buf;
    while (start < end) {
      if (this.#wasm !== null && this.#fill + (end - start) > CHUNK) {
        start = this.#wasmChunks(this.#wasm, data, start, end);
        continue;
      }
      if (this.#fill === CHUNK) {
        // More data follows a full chunk, so it is not the last one: hash it.
        this.#chunkDone(CHUNK);
        this.#fill = 0;
      }
      const n = Math.min(CHUNK - this.#fill, end - start);
      buf.set(data.subarray(start, start + n), this.#fill);
      this.#fill += n;
      start += n;
    }
    return this;
  }

  /** NH of the buffered `bytes` (zero-padded to 32), fed to the L2 hash of each stream. */
  #chunkDone(bytes: number): void {
    const nWords = this.#loadWords(bytes);
    const streams = this.#streams;
    let s = 0;
    for (; s + 1 < streams; s += 2) {
      nh2(this.#words, nWords, this.#nhKey, 4 * s, bytes * 8);
      const hi2 = nhHi2, lo2 = nhLo2;
      this.#l2(s, nhHi, nhLo);
      this.#l2(s + 1, hi2, lo2);
    }
    if (s < streams) {
      nh(this.#words, nWords, this.#nhKey, 4 * s, bytes * 8);
      this.#l2(s, nhHi, nhLo);
    }
    this.#chunks++;
  }

  /**
   * Hashes every whole chunk of the buffered bytes followed by `data[start..end]` that more
   * data follows, with the WebAssembly NH (the last chunk stays for `final()`, which must
   * see it); returns where the rest starts (at most {@link CHUNK} bytes before `end`, and
   * nothing buffered).
   */
  #wasmChunks(w: WasmNh, data: Uint8Array, start: number, end: number): number {
    const k = w.kernels, mem = k.memory, streams = this.#streams, at = WASM_LAYOUT.data;
    if (loadedNhKey !== this.#nhKey) {
      nhKeyWords(k).set(this.#nhKey);
      loadedNhKey = this.#nhKey;
    }
    const out = nhOutWords(k);
    while (this.#fill + (end - start) > CHUNK) {
      // The message goes on with the buffered part of a chunk, then `data`.
      const fill = this.#fill;
      const chunks = Math.min(Math.floor((fill + end - start - 1) / CHUNK), WASM_NH_CHUNKS);
      const take = chunks * CHUNK - fill;
      if (fill > 0) mem.set(this.#buf.subarray(0, fill), at);
      mem.set(data.subarray(start, start + take), at + fill);
      this.#fill = 0;
      w.nh(at, chunks, WASM_LAYOUT.nhKey, WASM_LAYOUT.nhOut);
      for (let c = 0, o = 0; c < chunks; c++) {
        for (let s = 0; s < streams; s++, o += 2) this.#l2(s, out[o + 1]!, out[o]!);
        this.#chunks++;
      }
      start += take;
    }
    return start;
  }

  /** Zero-pads the buffer to a 32-byte multiple (32 for an empty message); returns its words. */
  #loadWords(bytes: number): number {
    const padded = bytes === 0 ? 32 : (bytes + 31) & ~31;
    this.#buf.fill(0, bytes, padded);
    const nWords = padded / 4;
    if (!LITTLE_ENDIAN) {
      for (let i = 0; i < nWords; i++) {
        this.#words[i] = bswap(this.#words[i]!);
      }
    }
    return nWords;
  }

  /** Feeds one NH output to stream `s`'s L2 hash (POLY64, then POLY128 after 2^14 outputs). */
  #l2(s: number, hi: number, lo: number): void {
    if (this.#chunks < POLY64_CHUNKS) {
      const kHi = this.#polyKey[2 * s]!, kLo = this.#polyKey[2 * s + 1]!;
      if (hi === 0xffffffff) {
        // Words ≥ 2^64 − 2^32 are sent as the marker p64 − 1, then as m − 59.
        polyStep(this.#poly, 4 * s, kHi, kLo, 0xffffffff, 0xffffffc4);
        polyStep(this.#poly, 4 * s, kHi, kLo, lo < 59 ? hi - 1 : hi, (lo - 59) >>> 0);
      } else {
        polyStep(this.#poly, 4 * s, kHi, kLo, hi, lo);
      }
      return;
    }
    if (this.#chunks === POLY64_CHUNKS) {
      // Switch to POLY128: its first word is the finished POLY64 value.
      polyFinish(this.#poly, 4 * s);
      const y = this.#poly;
      const y64 = BigInt(y[4 * s + 3]! * 65536 + y[4 * s + 2]!) << 32n |
        BigInt(y[4 * s + 1]! * 65536 + y[4 * s]!);
      this.#poly128[s] = (this.#polyKey128[s]! + y64) % P128;
      this.#pending128[s] = -1n;
    }
    this.#word64For128(s, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** Adds a 64-bit word to POLY128's input, which takes them in pairs. */
  #word64For128(s: number, w: bigint): void {
    const prev = this.#pending128[s]!;
    if (prev < 0n) {
      this.#pending128[s] = w;
      return;
    }
    this.#pending128[s] = -1n;
    const m = (prev << 64n) | w;
    const k = this.#polyKey128[s]!;
    let y = this.#poly128[s]!;
    if (m >= MAX_WORD_128) {
      y = (k * y + (P128 - 1n)) % P128;
      y = (k * y + (m - 159n)) % P128;
    } else {
      y = (k * y + m) % P128;
    }
    this.#poly128[s] = y;
  }

  /**
   * Finishes the message and writes the tag for `nonce` (1–16 bytes) into
   * `out[0..tagLength]` (a new array when absent); resets for the next message.
   */
  final(nonce: Uint8Array, out: Uint8Array = new Uint8Array(this.tagLength)): Uint8Array {
    if (nonce.length < 1 || nonce.length > 16) {
      throw new RangeError(`UMAC nonces are 1 to 16 bytes, not ${nonce.length}`);
    }
    if (out.length < this.tagLength) {
      throw new RangeError(`UMAC needs ${this.tagLength} bytes for the tag, got ${out.length}`);
    }
    const streams = this.#streams;
    const hash = this.#hash;
    if (this.#chunks === 0) {
      // One chunk: no L2, L3 sees 0^64 || NH.
      const nWords = this.#loadWords(this.#fill);
      for (let s = 0; s < streams; s += 2) {
        if (s + 1 < streams) nh2(this.#words, nWords, this.#nhKey, 4 * s, this.#fill * 8);
        else nh(this.#words, nWords, this.#nhKey, 4 * s, this.#fill * 8);
        const hi2 = nhHi2, lo2 = nhLo2;
        this.#l3(s, 0, 0, 0, 0, nhHi >>> 16, nhHi & 0xffff, nhLo >>> 16, nhLo & 0xffff);
        if (s + 1 < streams) {
          this.#l3(s + 1, 0, 0, 0, 0, hi2 >>> 16, hi2 & 0xffff, lo2 >>> 16, lo2 & 0xffff);
        }
      }
    } else {
      this.#chunkDone(this.#fill);
      for (let s = 0; s < streams; s++) {
        if (this.#chunks <= POLY64_CHUNKS) {
          polyFinish(this.#poly, 4 * s);
          const y = this.#poly, o = 4 * s;
          this.#l3(s, 0, 0, 0, 0, y[o + 3]!, y[o + 2]!, y[o + 1]!, y[o]!);
        } else {
          this.#word64For128(s, 0x8000000000000000n);
          if (this.#pending128[s]! >= 0n) this.#word64For128(s, 0n);
          const y = this.#poly128[s]!;
          const c = (i: number) => Number((y >> BigInt(112 - 16 * i)) & 0xffffn);
          this.#l3(s, c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7));
        }
      }
    }
    this.#pad(nonce);
    const pad = this.#padOut;
    // 32/64-bit tags take the nonce-selected slice of the AES output.
    const at = this.tagLength <= 8 ? (nonce[nonce.length - 1]! & (16 / this.tagLength - 1)) : 0;
    for (let i = 0; i < this.tagLength; i++) out[i] = hash[i]! ^ pad[at * this.tagLength + i]!;
    this.#reset();
    return out;
  }

  /** L3 (RFC 4418 §5.4) of stream `s` over eight 16-bit chunks (most significant first). */
  #l3(
    s: number,
    c0: number,
    c1: number,
    c2: number,
    c3: number,
    c4: number,
    c5: number,
    c6: number,
    c7: number,
  ): void {
    const k = this.#ipKey, o = 8 * s;
    // Each product < 2^52; reducing each keeps the sum exact.
    let y = (c0 * k[o]!) % P36 + (c1 * k[o + 1]!) % P36 + (c2 * k[o + 2]!) % P36 +
      (c3 * k[o + 3]!) % P36;
    y += (c4 * k[o + 4]!) % P36 + (c5 * k[o + 5]!) % P36 + (c6 * k[o + 6]!) % P36 +
      (c7 * k[o + 7]!) % P36;
    const v = ((y % P36) >>> 0) ^ this.#ipTrans[s]!;
    const h = this.#hash;
    h[4 * s] = v >>> 24, h[4 * s + 1] = (v >>> 16) & 0xff;
    h[4 * s + 2] = (v >>> 8) & 0xff, h[4 * s + 3] = v & 0xff;
  }

  /** The PDF's AES output for `nonce` (RFC 4418 §3.1), cached across nonces that share it. */
  #pad(nonce: Uint8Array): void {
    const mask = this.tagLength === 4 ? 3 : this.tagLength === 8 ? 1 : 0;
    const last = nonce.length - 1;
    const inp = this.#padIn;
    let same = this.#padValid;
    for (let i = 0; i < 16 && same; i++) {
      const b = i < last ? nonce[i]! : i === last ? nonce[i]! & ~mask : 0;
      if (inp[i] !== b) same = false;
    }
    if (same) return;
    inp.fill(0);
    inp.set(nonce);
    inp[last] = inp[last]! & ~mask;
    aesBlock(this.#pdfKey, inp, this.#padOut, 0);
    this.#padValid = true;
  }
}

/**
 * The SSH packet MAC over UMAC (`umac-64@openssh.com`, `umac-128@openssh.com` and
 * their `-etm` forms): the tag of the packet bytes, with uint64(seq) big-endian
 * as the nonce.
 *
 * @example
 * ```ts
 * import { UmacPacketMac } from "./umac.ts";
 * const mac = new UmacPacketMac(new Uint8Array(16), 8);
 * const tag = new Uint8Array(8);
 * mac.compute(3, new Uint8Array(32), 0, 32, tag);
 * ```
 */
export class UmacPacketMac implements PacketMac {
  readonly length: number;
  readonly #umac: Umac;
  readonly #nonce = new Uint8Array(8);

  /** Keys UMAC with the 16-byte `key`; `tagLength` is 8 (umac-64) or 16 (umac-128). */
  constructor(key: Uint8Array, tagLength: 8 | 16) {
    this.#umac = new Umac(key, tagLength);
    this.length = tagLength;
  }

  /** Writes the tag of `data[start..end]` with nonce uint64(seq) to `out[0..length]`. */
  compute(seq: number, data: Uint8Array, start: number, end: number, out: Uint8Array): void {
    this.#umac.update(data, start, end).final(this.#nonceFor(seq), out);
  }

  /**
   * Writes the tag of `a || b` (not joined first) with nonce uint64(seq) to `out`: with a
   * cipher that encrypts into a buffer of its own, an ETM sealer then seals detached.
   */
  compute2(seq: number, a: Uint8Array, b: Uint8Array, out: Uint8Array): void {
    this.#umac.update(a).update(b).final(this.#nonceFor(seq), out);
  }

  #nonceFor(seq: number): Uint8Array {
    const n = this.#nonce;
    n[4] = seq >>> 24, n[5] = (seq >>> 16) & 0xff, n[6] = (seq >>> 8) & 0xff, n[7] = seq & 0xff;
    return n;
  }
}

/**
 * The tag length of an SSH UMAC wire name (8 or 16), or undefined for other MACs.
 *
 * @example
 * ```ts
 * import { umacTagLengthOf } from "./umac.ts";
 * console.log(umacTagLengthOf("umac-128-etm@openssh.com")); // 16
 * ```
 */
export function umacTagLengthOf(macName: string): 8 | 16 | undefined {
  switch (macName) {
    case "umac-64@openssh.com":
    case "umac-64-etm@openssh.com":
      return 8;
    case "umac-128@openssh.com":
    case "umac-128-etm@openssh.com":
      return 16;
    default:
      return undefined;
  }
}
