/**
 * A fast Poly1305 (RFC 8439 §2.5) for the chacha20-poly1305@openssh.com hot path.
 *
 * Why our own: the MAC is the bottleneck of a pure-JS ChaCha20-Poly1305. noble's
 * (13-bit limbs, `Math.imul`, 100 multiplications per block) runs at ≈ 120–250
 * MB/s here; this one at ≈ 1.5–3× that (see bench/cipher_throughput.ts).
 *
 * How: the 130-bit accumulator lives in six 22-bit limbs held in float64s, and
 * products are float multiplications — exact, because every column sum stays far
 * below 2^53. Blocks are consumed two at a time, h = (h + m1)·r² + m2·r, so one
 * carry chain serves two blocks and the two halves can run in parallel. The carry
 * is done in two parallel rounds (every limb at once) instead of one serial chain,
 * which shortens the dependency path per block.
 *
 * Bounds (why it is exact): r and r² are kept in balanced limbs, |limb| ≤ 2^21;
 * the "wrapped" limbs 20·r_j (2^132 ≡ 20 mod 2^130 − 5) are ≤ 20·2^21. After the
 * two carry rounds every limb of h is in [−2^21 − 2^12, 2^21 + 2^12], so h + m has
 * |limb| < 2^22.6 and a column is at most 101·2^22.6·2^21 + 101·2^22·2^21 < 2^51.
 * Rounding uses the 1.5·2^52 trick ((x + R) − R rounds x), exact for |x| < 2^51.
 *
 * Where WebAssembly works, `./wasm/poly1305_wasm.ts` (same API, 1.7–2.6× faster)
 * is used instead: `createPoly1305()` there picks. This one is the fallback for
 * engines without WebAssembly (or a policy that forbids compiling it).
 *
 * Nothing is allocated per packet: the state is reused (`init` per packet), and
 * words are read through a cached `Uint32Array` over the caller's buffer when it
 * is 4-byte aligned (else through a small aligned scratch copy).
 *
 * @module
 */

const TWO22 = 4194304; // 2^22, the limb radix
const INV22 = 1 / TWO22;
const ROUND = 6755399441055744; // 1.5·2^52: (x + ROUND) − ROUND rounds x to an integer
const MASK22 = 0x3fffff;
const HIBIT = 1 << 18; // 2^128 is bit 18 of limb 5 (which holds bits 110..131)
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Bytes copied at a time when the input is not 4-byte aligned. */
const SCRATCH_BYTES = 2048;

/**
 * Incremental Poly1305 with a reusable state: `init(key)`, any number of
 * `update()` calls, then `finish(out)`. Allocates only in the constructor.
 *
 * @example Tag a message (RFC 8439 §2.5.2)
 * ```ts
 * import { Poly1305 } from "./poly1305.ts";
 * const mac = new Poly1305();
 * const tag = new Uint8Array(16);
 * mac.init(new Uint8Array(32).fill(7));
 * mac.update(new TextEncoder().encode("Cryptographic Forum Research Group"));
 * mac.finish(tag);
 * ```
 */
export class Poly1305 {
  // r (0..5), r² (6..11) in balanced limbs, and the accumulator h (12..17). A
  // Float64Array, not fields: storing a double into an object field can box it
  // (allocate) on every write; typed-array stores never do.
  readonly #s = new Float64Array(18);
  readonly #pad = new Uint32Array(4); // s, the second key half, as LE words
  readonly #scratch = new Uint8Array(SCRATCH_BYTES); // aligned copy of unaligned input
  readonly #scratchWords = new Uint32Array(this.#scratch.buffer);
  #partialLen = 0; // bytes of an unfinished block waiting in #scratch[0..16]
  #viewBuffer: ArrayBufferLike | null = null; // cached word view of the caller's buffer
  #view: Uint32Array<ArrayBufferLike> = new Uint32Array(0);

  /** Starts a new MAC with the 32-byte one-time key `key[offset..offset+32]`. */
  init(key: Uint8Array, offset = 0): void {
    if (offset < 0 || key.length - offset < 32) {
      throw new RangeError(`Poly1305 needs a 32-byte key, got ${key.length - offset} bytes`);
    }
    // r with the RFC 8439 clamp: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff.
    const w0 = le32(key, offset) & 0x0fffffff;
    const w1 = le32(key, offset + 4) & 0x0ffffffc;
    const w2 = le32(key, offset + 8) & 0x0ffffffc;
    const w3 = le32(key, offset + 12) & 0x0ffffffc;
    let r0 = w0 & MASK22;
    let r1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
    let r2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
    let r3 = (w2 >>> 2) & MASK22;
    let r4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
    let r5 = w3 >>> 14;
    // Balance the limbs into [−2^21, 2^21) (r5 < 2^14 + 1 stays small).
    if (r0 >= 2097152) (r0 -= TWO22), r1++;
    if (r1 >= 2097152) (r1 -= TWO22), r2++;
    if (r2 >= 2097152) (r2 -= TWO22), r3++;
    if (r3 >= 2097152) (r3 -= TWO22), r4++;
    if (r4 >= 2097152) (r4 -= TWO22), r5++;
    this.#s[0] = r0,
      this.#s[1] = r1,
      this.#s[2] = r2,
      this.#s[3] = r3,
      this.#s[4] = r4,
      this.#s[5] = r5;
    // r² by the same multiply-and-carry as the block step, starting from h = r.
    this.#s[6] =
      this.#s[7] =
      this.#s[8] =
      this.#s[9] =
      this.#s[10] =
      this.#s[11] =
        0;
    this.#s[12] = r0,
      this.#s[13] = r1,
      this.#s[14] = r2,
      this.#s[15] = r3,
      this.#s[16] = r4,
      this.#s[17] = r5;
    this.#mulR();
    this.#s[6] = this.#s[12]!, this.#s[7] = this.#s[13]!, this.#s[8] = this.#s[14]!;
    this.#s[9] = this.#s[15]!, this.#s[10] = this.#s[16]!, this.#s[11] = this.#s[17]!;
    this.#s[12] =
      this.#s[13] =
      this.#s[14] =
      this.#s[15] =
      this.#s[16] =
      this.#s[17] =
        0;
    for (let i = 0; i < 4; i++) this.#pad[i] = le32(key, offset + 16 + 4 * i);
    this.#partialLen = 0;
  }

  /** Absorbs `data[start..end]`. */
  update(data: Uint8Array, start = 0, end: number = data.length): void {
    if (start < 0 || end > data.length || start > end) {
      throw new RangeError(`Poly1305 range ${start}..${end} is outside 0..${data.length}`);
    }
    let pos = start;
    if (this.#partialLen > 0) {
      const take = Math.min(16 - this.#partialLen, end - pos);
      this.#scratch.set(data.subarray(pos, pos + take), this.#partialLen);
      this.#partialLen += take;
      pos += take;
      if (this.#partialLen < 16) return;
      if (!LITTLE_ENDIAN) this.#copyWords(this.#scratch, 0, 16);
      this.#blocks(this.#scratchWords, 0, 1, HIBIT);
      this.#partialLen = 0;
    }
    const full = pos + ((end - pos) & ~15);
    if (full > pos) {
      const at = data.byteOffset + pos;
      if (LITTLE_ENDIAN && (at & 3) === 0) {
        if (this.#viewBuffer !== data.buffer) {
          this.#viewBuffer = data.buffer;
          this.#view = new Uint32Array(data.buffer, 0, data.buffer.byteLength >>> 2);
        }
        this.#blocks(this.#view, at >>> 2, (full - pos) >>> 4, HIBIT);
      } else {
        for (let p = pos; p < full; p += SCRATCH_BYTES) {
          const n = Math.min(SCRATCH_BYTES, full - p);
          this.#copyWords(data, p, n);
          this.#blocks(this.#scratchWords, 0, n >>> 4, HIBIT);
        }
      }
    }
    if (full < end) {
      this.#scratch.set(data.subarray(full, end));
      this.#partialLen = end - full;
    }
  }

  /** Writes the 16-byte tag to `out[offset..offset+16]`; call `init` before reusing. */
  finish(out: Uint8Array, offset = 0): void {
    if (offset < 0 || out.length - offset < 16) {
      throw new RangeError(`Poly1305 tag needs 16 bytes, got ${out.length - offset}`);
    }
    if (this.#partialLen > 0) {
      // Last short block: append a 1 byte, zero-fill, and do not add 2^128.
      const p = this.#scratch;
      p[this.#partialLen] = 1;
      p.fill(0, this.#partialLen + 1, 16);
      if (!LITTLE_ENDIAN) this.#copyWords(p, 0, 16);
      this.#blocks(this.#scratchWords, 0, 1, 0);
      this.#partialLen = 0;
    }
    // Normalise to limbs in [0, 2^22) with floor-carries; the second pass settles
    // the wrap-around of the first (the value is then in [0, 2^130)).
    let h0 = this.#s[12]!,
      h1 = this.#s[13]!,
      h2 = this.#s[14]!,
      h3 = this.#s[15]!,
      h4 = this.#s[16]!,
      h5 = this.#s[17]!;
    for (let pass = 0; pass < 2; pass++) {
      let c = Math.floor(h0 * INV22);
      h0 -= c * TWO22, h1 += c;
      c = Math.floor(h1 * INV22);
      h1 -= c * TWO22, h2 += c;
      c = Math.floor(h2 * INV22);
      h2 -= c * TWO22, h3 += c;
      c = Math.floor(h3 * INV22);
      h3 -= c * TWO22, h4 += c;
      c = Math.floor(h4 * INV22);
      h4 -= c * TWO22, h5 += c;
      c = Math.floor(h5 / 1048576); // bits from 2^130 up wrap around times 5
      h5 -= c * 1048576, h0 += 5 * c;
    }
    // h ≥ p exactly when h + 5 ≥ 2^130; then the tag uses h + 5 − 2^130.
    let g0 = h0 + 5, c = Math.floor(g0 * INV22);
    g0 -= c * TWO22;
    let g1 = h1 + c;
    c = Math.floor(g1 * INV22), g1 -= c * TWO22;
    let g2 = h2 + c;
    c = Math.floor(g2 * INV22), g2 -= c * TWO22;
    let g3 = h3 + c;
    c = Math.floor(g3 * INV22), g3 -= c * TWO22;
    let g4 = h4 + c;
    c = Math.floor(g4 * INV22), g4 -= c * TWO22;
    const g5 = h5 + c;
    if (g5 >= 1048576) h0 = g0, h1 = g1, h2 = g2, h3 = g3, h4 = g4, h5 = g5 - 1048576;
    // The low 128 bits as four words (limbs sit at bits 0, 22, 44, 66, 88, 110),
    // plus s, mod 2^128. Every intermediate stays below 2^53.
    const pad = this.#pad;
    let acc = h0 + h1 * TWO22; // < 2^44
    let word = acc % 4294967296;
    acc = (acc - word) / 4294967296;
    let sum = word + pad[0]!;
    let carry = sum >= 4294967296 ? 1 : 0;
    store32(out, offset, sum);
    acc += h2 * 4096; // h2 at bit 44 = 32 + 12
    word = acc % 4294967296;
    acc = (acc - word) / 4294967296;
    sum = word + pad[1]! + carry;
    carry = sum >= 4294967296 ? 1 : 0;
    store32(out, offset + 4, sum);
    acc += h3 * 4 + h4 * 16777216; // h3 at bit 66 = 64 + 2, h4 at 88 = 64 + 24
    word = acc % 4294967296;
    acc = (acc - word) / 4294967296;
    sum = word + pad[2]! + carry;
    carry = sum >= 4294967296 ? 1 : 0;
    store32(out, offset + 8, sum);
    acc += h5 * 16384; // h5 at bit 110 = 96 + 14
    sum = (acc % 4294967296) + pad[3]! + carry;
    store32(out, offset + 12, sum);
    this.#s[12] =
      this.#s[13] =
      this.#s[14] =
      this.#s[15] =
      this.#s[16] =
      this.#s[17] =
        0;
  }

  /** Copies `n` bytes of `src` from `p` into the scratch as little-endian words. */
  #copyWords(src: Uint8Array, p: number, n: number): void {
    if (LITTLE_ENDIAN) {
      this.#scratch.set(src.subarray(p, p + n));
      return;
    }
    const w = this.#scratchWords;
    for (let i = 0; i < n; i += 4) w[i >>> 2] = le32(src, p + i);
  }

  /** h = h·r mod p (used once per key to get r²). */
  #mulR(): void {
    const r0 = this.#s[0]!,
      r1 = this.#s[1]!,
      r2 = this.#s[2]!,
      r3 = this.#s[3]!,
      r4 = this.#s[4]!,
      r5 = this.#s[5]!;
    const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;
    const h0 = this.#s[12]!,
      h1 = this.#s[13]!,
      h2 = this.#s[14]!,
      h3 = this.#s[15]!,
      h4 = this.#s[16]!,
      h5 = this.#s[17]!;
    const d0 = (h0 * r0 + h1 * s5) + (h2 * s4 + h3 * s3) + (h4 * s2 + h5 * s1);
    const d1 = (h0 * r1 + h1 * r0) + (h2 * s5 + h3 * s4) + (h4 * s3 + h5 * s2);
    const d2 = (h0 * r2 + h1 * r1) + (h2 * r0 + h3 * s5) + (h4 * s4 + h5 * s3);
    const d3 = (h0 * r3 + h1 * r2) + (h2 * r1 + h3 * r0) + (h4 * s5 + h5 * s4);
    const d4 = (h0 * r4 + h1 * r3) + (h2 * r2 + h3 * r1) + (h4 * r0 + h5 * s5);
    const d5 = (h0 * r5 + h1 * r4) + (h2 * r3 + h3 * r2) + (h4 * r1 + h5 * r0);
    this.#carry(d0, d1, d2, d3, d4, d5);
  }

  /** Two parallel carry rounds of the column sums d0..d5 into h. */
  #carry(d0: number, d1: number, d2: number, d3: number, d4: number, d5: number): void {
    const c0 = (d0 * INV22 + ROUND) - ROUND, c1 = (d1 * INV22 + ROUND) - ROUND;
    const c2 = (d2 * INV22 + ROUND) - ROUND, c3 = (d3 * INV22 + ROUND) - ROUND;
    const c4 = (d4 * INV22 + ROUND) - ROUND, c5 = (d5 * INV22 + ROUND) - ROUND;
    const f0 = (d0 - c0 * TWO22) + 20 * c5, f1 = (d1 - c1 * TWO22) + c0;
    const f2 = (d2 - c2 * TWO22) + c1, f3 = (d3 - c3 * TWO22) + c2;
    const f4 = (d4 - c4 * TWO22) + c3, f5 = (d5 - c5 * TWO22) + c4;
    const e0 = (f0 * INV22 + ROUND) - ROUND, e1 = (f1 * INV22 + ROUND) - ROUND;
    const e2 = (f2 * INV22 + ROUND) - ROUND, e3 = (f3 * INV22 + ROUND) - ROUND;
    const e4 = (f4 * INV22 + ROUND) - ROUND, e5 = (f5 * INV22 + ROUND) - ROUND;
    this.#s[12] = (f0 - e0 * TWO22) + 20 * e5;
    this.#s[13] = (f1 - e1 * TWO22) + e0;
    this.#s[14] = (f2 - e2 * TWO22) + e1;
    this.#s[15] = (f3 - e3 * TWO22) + e2;
    this.#s[16] = (f4 - e4 * TWO22) + e3;
    this.#s[17] = (f5 - e5 * TWO22) + e4;
  }

  /**
   * Absorbs `count` 16-byte blocks from little-endian words `u[w..]`; `top` is
   * 2^128's limb bit, or 0 for the padded final block.
   */
  #blocks(u: Uint32Array, w: number, count: number, top: number): void {
    const r0 = this.#s[0]!,
      r1 = this.#s[1]!,
      r2 = this.#s[2]!,
      r3 = this.#s[3]!,
      r4 = this.#s[4]!,
      r5 = this.#s[5]!;
    const s1 = 20 * r1, s2 = 20 * r2, s3 = 20 * r3, s4 = 20 * r4, s5 = 20 * r5;
    const q0 = this.#s[6]!,
      q1 = this.#s[7]!,
      q2 = this.#s[8]!,
      q3 = this.#s[9]!,
      q4 = this.#s[10]!,
      q5 = this.#s[11]!;
    const p1 = 20 * q1, p2 = 20 * q2, p3 = 20 * q3, p4 = 20 * q4, p5 = 20 * q5;
    let h0 = this.#s[12]!,
      h1 = this.#s[13]!,
      h2 = this.#s[14]!,
      h3 = this.#s[15]!,
      h4 = this.#s[16]!,
      h5 = this.#s[17]!;
    const pairsEnd = w + ((count >>> 1) << 3);
    for (let j = w; j < pairsEnd; j += 8) {
      // h = (h + m1)·r² + m2·r
      let w0 = u[j]!, w1 = u[j + 1]!, w2 = u[j + 2]!, w3 = u[j + 3]!;
      h0 += w0 & MASK22;
      h1 += ((w0 >>> 22) | (w1 << 10)) & MASK22;
      h2 += ((w1 >>> 12) | (w2 << 20)) & MASK22;
      h3 += (w2 >>> 2) & MASK22;
      h4 += ((w2 >>> 24) | (w3 << 8)) & MASK22;
      h5 += (w3 >>> 14) | top;
      w0 = u[j + 4]!, w1 = u[j + 5]!, w2 = u[j + 6]!, w3 = u[j + 7]!;
      const m0 = w0 & MASK22;
      const m1 = ((w0 >>> 22) | (w1 << 10)) & MASK22;
      const m2 = ((w1 >>> 12) | (w2 << 20)) & MASK22;
      const m3 = (w2 >>> 2) & MASK22;
      const m4 = ((w2 >>> 24) | (w3 << 8)) & MASK22;
      const m5 = (w3 >>> 14) | top;
      const d0 = (h0 * q0 + h1 * p5) + (h2 * p4 + h3 * p3) + (h4 * p2 + h5 * p1) +
        ((m0 * r0 + m1 * s5) + (m2 * s4 + m3 * s3) + (m4 * s2 + m5 * s1));
      const d1 = (h0 * q1 + h1 * q0) + (h2 * p5 + h3 * p4) + (h4 * p3 + h5 * p2) +
        ((m0 * r1 + m1 * r0) + (m2 * s5 + m3 * s4) + (m4 * s3 + m5 * s2));
      const d2 = (h0 * q2 + h1 * q1) + (h2 * q0 + h3 * p5) + (h4 * p4 + h5 * p3) +
        ((m0 * r2 + m1 * r1) + (m2 * r0 + m3 * s5) + (m4 * s4 + m5 * s3));
      const d3 = (h0 * q3 + h1 * q2) + (h2 * q1 + h3 * q0) + (h4 * p5 + h5 * p4) +
        ((m0 * r3 + m1 * r2) + (m2 * r1 + m3 * r0) + (m4 * s5 + m5 * s4));
      const d4 = (h0 * q4 + h1 * q3) + (h2 * q2 + h3 * q1) + (h4 * q0 + h5 * p5) +
        ((m0 * r4 + m1 * r3) + (m2 * r2 + m3 * r1) + (m4 * r0 + m5 * s5));
      const d5 = (h0 * q5 + h1 * q4) + (h2 * q3 + h3 * q2) + (h4 * q1 + h5 * q0) +
        ((m0 * r5 + m1 * r4) + (m2 * r3 + m3 * r2) + (m4 * r1 + m5 * r0));
      // Carry inlined (same as #carry): two parallel rounds.
      const c0 = (d0 * INV22 + ROUND) - ROUND, c1 = (d1 * INV22 + ROUND) - ROUND;
      const c2 = (d2 * INV22 + ROUND) - ROUND, c3 = (d3 * INV22 + ROUND) - ROUND;
      const c4 = (d4 * INV22 + ROUND) - ROUND, c5 = (d5 * INV22 + ROUND) - ROUND;
      const f0 = (d0 - c0 * TWO22) + 20 * c5, f1 = (d1 - c1 * TWO22) + c0;
      const f2 = (d2 - c2 * TWO22) + c1, f3 = (d3 - c3 * TWO22) + c2;
      const f4 = (d4 - c4 * TWO22) + c3, f5 = (d5 - c5 * TWO22) + c4;
      const e0 = (f0 * INV22 + ROUND) - ROUND, e1 = (f1 * INV22 + ROUND) - ROUND;
      const e2 = (f2 * INV22 + ROUND) - ROUND, e3 = (f3 * INV22 + ROUND) - ROUND;
      const e4 = (f4 * INV22 + ROUND) - ROUND, e5 = (f5 * INV22 + ROUND) - ROUND;
      h0 = (f0 - e0 * TWO22) + 20 * e5;
      h1 = (f1 - e1 * TWO22) + e0;
      h2 = (f2 - e2 * TWO22) + e1;
      h3 = (f3 - e3 * TWO22) + e2;
      h4 = (f4 - e4 * TWO22) + e3;
      h5 = (f5 - e5 * TWO22) + e4;
    }
    this.#s[12] = h0,
      this.#s[13] = h1,
      this.#s[14] = h2,
      this.#s[15] = h3,
      this.#s[16] = h4,
      this.#s[17] = h5;
    if (count & 1) {
      // An odd block left: h = (h + m)·r.
      const j = pairsEnd;
      const w0 = u[j]!, w1 = u[j + 1]!, w2 = u[j + 2]!, w3 = u[j + 3]!;
      this.#s[12] = h0 + (w0 & MASK22);
      this.#s[13] = h1 + (((w0 >>> 22) | (w1 << 10)) & MASK22);
      this.#s[14] = h2 + (((w1 >>> 12) | (w2 << 20)) & MASK22);
      this.#s[15] = h3 + ((w2 >>> 2) & MASK22);
      this.#s[16] = h4 + (((w2 >>> 24) | (w3 << 8)) & MASK22);
      this.#s[17] = h5 + ((w3 >>> 14) | top);
      this.#mulR();
    }
  }
}

function le32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function store32(out: Uint8Array, o: number, v: number): void {
  // v may exceed 2^32 by the carry; only its low 32 bits are stored.
  const x = v % 4294967296;
  out[o] = x & 0xff;
  out[o + 1] = (x >>> 8) & 0xff;
  out[o + 2] = (x >>> 16) & 0xff;
  out[o + 3] = x >>> 24;
}

/**
 * One-shot Poly1305: returns the 16-byte tag of `msg` under the 32-byte one-time `key`.
 * Allocates a state and the tag; the packet path reuses a {@link Poly1305} instead.
 *
 * @example
 * ```ts
 * import { poly1305 } from "./poly1305.ts";
 * const tag = poly1305(new Uint8Array(32).fill(1), new Uint8Array(64));
 * console.log(tag.length); // 16
 * ```
 */
export function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const mac = new Poly1305();
  const tag = new Uint8Array(16);
  mac.init(key);
  mac.update(msg);
  mac.finish(tag);
  return tag;
}
