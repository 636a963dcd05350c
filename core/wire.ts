/**
 * SSH wire types (RFC 4251 §5): a bounds-checked reader and a growable writer.
 *
 * The reader never reads past its end: every read that would throws a
 * {@link WireError} saying what was being read and how many bytes were missing.
 * Lengths read from the wire are checked against what is left before any
 * allocation, so a hostile length cannot make us allocate.
 *
 * @module
 */

import { WireError } from "./errors.ts";
import { MAX_MPINT, MAX_NAME_LIST_LENGTH } from "./limits.ts";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

export { MAX_NAME_LIST_LENGTH };

/** Below this length a string's characters are joined in JavaScript rather than decoded. */
const SHORT_ASCII = 24;

/** Up to this length an ASCII string is written a character at a time rather than encoded. */
const SHORT_UTF8 = 64;

/**
 * Reads SSH wire types from a byte array.
 *
 * @example Read a uint32 and a string
 * ```ts
 * import { SSHReader } from "./wire.ts";
 * const r = new SSHReader(new Uint8Array([0, 0, 0, 7, 0, 0, 0, 2, 104, 105]));
 * console.log(r.readUint32(), r.readStringUtf8()); // 7 "hi"
 * r.assertEnd("example");
 * ```
 */
export class SSHReader {
  #bytes: Uint8Array;
  #view: DataView;
  #pos: number;
  #end: number;

  /** Reads `bytes` from `start` (default 0) to `end` (default its length). */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    if (start < 0 || end > bytes.length || start > end) {
      throw new RangeError(`SSHReader range ${start}..${end} is outside 0..${bytes.length}`);
    }
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  /** Current read position, as an offset into the underlying array. */
  get position(): number {
    return this.#pos;
  }

  /** How many bytes are left to read. */
  get remaining(): number {
    return this.#end - this.#pos;
  }

  #need(n: number, what: string): void {
    if (n > this.#end - this.#pos) {
      throw new WireError(
        "ERR_WIRE_TRUNCATED",
        `Cannot read ${what}: ${this.#end - this.#pos} bytes left, ${n} needed`,
      );
    }
  }

  /** Reads one byte. */
  readByte(what = "byte"): number {
    this.#need(1, what);
    return this.#bytes[this.#pos++]!;
  }

  /** Reads a boolean (any non-zero byte is true, RFC 4251). */
  readBoolean(what = "boolean"): boolean {
    return this.readByte(what) !== 0;
  }

  /** Reads a big-endian uint32. */
  readUint32(what = "uint32"): number {
    this.#need(4, what);
    const v = this.#view.getUint32(this.#pos);
    this.#pos += 4;
    return v;
  }

  /** Reads a big-endian uint64 as a bigint. */
  readUint64(what = "uint64"): bigint {
    this.#need(8, what);
    const v = this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    return v;
  }

  /** Reads `n` raw bytes as a view into the underlying array (no copy). */
  readBytes(n: number, what = "bytes"): Uint8Array {
    this.#need(n, what);
    const v = this.#bytes.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return v;
  }

  /**
   * Reads a `string` (uint32 length + bytes) as a view into the underlying array.
   * `maxLength` bounds what we accept before looking at the bytes.
   */
  readString(what = "string", maxLength = Infinity): Uint8Array {
    const n = this.readUint32(`${what} length`);
    if (n > maxLength) {
      throw new WireError(
        "ERR_WIRE_LIMIT",
        `Cannot read ${what}: length ${n} exceeds ${maxLength}`,
      );
    }
    return this.readBytes(n, what);
  }

  /** Reads a `string` and decodes it as UTF-8 (invalid UTF-8 is a WireError). */
  readStringUtf8(what = "string", maxLength = Infinity): string {
    const b = this.readString(what, maxLength);
    try {
      return utf8Decoder.decode(b);
    } catch {
      throw new WireError("ERR_WIRE_MALFORMED", `Cannot read ${what}: not valid UTF-8`);
    }
  }

  /** Reads a `string` holding US-ASCII printable text (algorithm names and the like). */
  readStringAscii(what = "string", maxLength = Infinity): string {
    const b = this.readString(what, maxLength);
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      if (c < 0x20 || c > 0x7e) {
        throw new WireError(
          "ERR_WIRE_MALFORMED",
          `Cannot read ${what}: byte 0x${
            c.toString(16).padStart(2, "0")
          } at ${i} is not printable ASCII`,
        );
      }
    }
    // Checked ASCII decodes the same as UTF-8: one native call for long strings (KEXINIT's
    // name-lists; a character at a time cost 50–60 µs per KEXINIT), a loop for short ones.
    if (b.length > SHORT_ASCII) return utf8Decoder.decode(b);
    let s = "";
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  }

  /**
   * Reads a `name-list` (comma-separated ASCII names, RFC 4251 §5). RFC 4251 forbids
   * empty names, and by default an empty name is a WireError. `emptyName: "endOfList"`
   * reads the way OpenSSH's `match_list()` does instead: the list ends at the first empty
   * name and anything after it is ignored (so a trailing comma is harmless). Only KEXINIT
   * uses it; see `decodeKexInit`.
   */
  readNameList(
    what = "name-list",
    options: { readonly emptyName?: "reject" | "endOfList" } = {},
  ): string[] {
    const s = this.readStringAscii(what, MAX_NAME_LIST_LENGTH);
    if (s === "") return [];
    const names = s.split(",");
    const empty = names.indexOf("");
    if (empty < 0) return names;
    if (options.emptyName === "endOfList") return names.slice(0, empty);
    throw new WireError("ERR_WIRE_MALFORMED", `Cannot read ${what}: empty name in "${s}"`);
  }

  /**
   * Reads an `mpint` as a bigint (two's complement, big-endian; RFC 4251 §5).
   * Rejects non-minimal encodings only where the extra byte carries no meaning.
   */
  readMpint(what = "mpint", maxBytes = MAX_MPINT): bigint {
    const b = this.readString(what, maxBytes);
    return mpintBytesToBigInt(b);
  }

  /**
   * Reads an mpint that must be non-negative and returns its magnitude bytes
   * (no leading zero byte).
   */
  readMpintMagnitude(what = "mpint", maxBytes = MAX_MPINT): Uint8Array {
    const b = this.readString(what, maxBytes);
    if (b.length > 0 && (b[0]! & 0x80) !== 0) {
      throw new WireError("ERR_WIRE_MALFORMED", `Cannot read ${what}: negative value`);
    }
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    return b.subarray(i);
  }

  /** Throws unless every byte was consumed (trailing garbage is malformed input). */
  assertEnd(what = "message"): void {
    if (this.#pos !== this.#end) {
      throw new WireError(
        "ERR_WIRE_MALFORMED",
        `Cannot parse ${what}: ${this.#end - this.#pos} unexpected trailing bytes`,
      );
    }
  }
}

/** Decodes mpint content bytes (two's complement, big-endian) to a bigint. */
export function mpintBytesToBigInt(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let v = bytesToBigInt(b);
  if ((b[0]! & 0x80) !== 0) v -= 1n << BigInt(b.length * 8);
  return v;
}

/** Big-endian magnitude bytes of a non-negative bigint, minimal length (0 → empty). */
export function bigIntToBytes(v: bigint, length?: number): Uint8Array {
  if (v < 0n) throw new RangeError("bigIntToBytes() takes a non-negative value");
  let hex = v === 0n ? "" : v.toString(16);
  if (hex.length % 2) hex = "0" + hex;
  const n = hex.length / 2;
  const size = length ?? n;
  if (n > size) throw new RangeError(`Value needs ${n} bytes, only ${size} allowed`);
  const out = new Uint8Array(size);
  for (let i = 0; i < n; i++) out[size - n + i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Big-endian bytes to a non-negative bigint. */
export function bytesToBigInt(b: Uint8Array): bigint {
  if (b.length <= 8) {
    let v = 0n;
    for (let i = 0; i < b.length; i++) v = (v << 8n) | BigInt(b[i]!);
    return v;
  }
  // Through hex: linear, where shifting a growing bigint a byte at a time is quadratic
  // (a 64 KB DER INTEGER took 2.4 s that way).
  let hex = "0x";
  for (let i = 0; i < b.length; i++) hex += HEX_BYTES[b[i]!]!;
  return BigInt(hex);
}

/** "00".."ff", by byte value. */
const HEX_BYTES: readonly string[] = Array.from(
  { length: 256 },
  (_, i) => i.toString(16).padStart(2, "0"),
);

/**
 * Lowercase hex of `bytes`, two digits a byte.
 *
 * @example
 * ```ts
 * import { toHex } from "./wire.ts";
 * console.log(toHex(new Uint8Array([0, 15, 255]))); // "000fff"
 * ```
 */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (let i = 0; i < bytes.length; i++) hex += HEX_BYTES[bytes[i]!]!;
  return hex;
}

/**
 * The bytes of `hex` (either case): for constants and already-checked text. A string that is
 * not an even number of hex digits is a RangeError, never bytes made up from it.
 *
 * @example
 * ```ts
 * import { fromHex } from "./wire.ts";
 * console.log(fromHex("000fFF").join()); // "0,15,255"
 * ```
 */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new RangeError(`Not hex: ${hex.length > 40 ? `${hex.slice(0, 40)}...` : hex}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A buffer a writer builds in, with its DataView. */
interface Scratch {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** The size of the scratch buffers writers build in (room for a KEXINIT or an exchange hash). */
const SCRATCH_SIZE = 8192;

/** Idle scratch buffers kept for the next writers. */
const MAX_IDLE_SCRATCH = 8;

/**
 * Scratch buffers that finished writers gave back ({@link SSHWriter.toBytes},
 * {@link SSHWriter.release}). A writer builds in one and copies out only the bytes written:
 * making each message's buffer cost two allocations (the buffer and its DataView, an
 * ArrayBuffer of its own each time: microseconds apiece in V8), and a result of 64 bytes or
 * less is then a small on-heap array.
 */
const idleScratch: Scratch[] = [];

/** The buffer of a writer that gave its scratch back (its next write grows a new one). */
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

function takeScratch(capacity: number): Scratch {
  if (capacity <= SCRATCH_SIZE) {
    const s = idleScratch.pop();
    if (s) return s;
    capacity = SCRATCH_SIZE;
  }
  const bytes = new Uint8Array(capacity);
  return { bytes, view: new DataView(bytes.buffer) };
}

/**
 * Builds SSH wire-encoded data in a growable buffer.
 *
 * @example Build a message
 * ```ts
 * import { SSHWriter } from "./wire.ts";
 * const bytes = new SSHWriter().writeByte(5).writeStringUtf8("ssh-userauth").toBytes();
 * console.log(bytes.length); // 17
 * ```
 */
export class SSHWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;
  /** The pooled scratch this writer builds in, until it gives it back. */
  #scratch: Scratch | undefined;

  /** Starts with room for `capacity` bytes (it grows as needed). */
  constructor(capacity = 256) {
    const s = takeScratch(capacity);
    if (s.bytes.length === SCRATCH_SIZE) this.#scratch = s;
    this.#buf = s.bytes;
    this.#view = s.view;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#len;
  }

  #ensure(n: number): void {
    const need = this.#len + n;
    if (need <= this.#buf.length) return;
    let cap = Math.max(64, this.#buf.length * 2);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#giveBack();
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  /** Returns the scratch buffer to the pool; the writer keeps a private copy of its bytes. */
  #giveBack(): void {
    const s = this.#scratch;
    if (!s) return;
    this.#scratch = undefined;
    if (idleScratch.length < MAX_IDLE_SCRATCH) idleScratch.push(s);
  }

  /**
   * Zeroes what was written and gives the writer's buffer back for other writers to reuse,
   * after the bytes of {@link view} were used: no view of it may be used afterwards. The
   * writer stays usable (empty). Writers whose bytes are taken with {@link toBytes} need not
   * call it.
   *
   * @example
   * ```ts
   * import { SSHWriter } from "./wire.ts";
   * const w = new SSHWriter().writeUint32(7);
   * const sum = w.view().reduce((a, b) => a + b, 0); // use the view...
   * w.release(); // ...then hand the buffer back
   * console.log(sum, w.length); // 7 0
   * ```
   */
  release(): void {
    // What was written may be secret (an exchange hash's input holds the shared secret).
    this.#buf.fill(0, 0, this.#len);
    this.#len = 0;
    if (!this.#scratch) return;
    this.#giveBack();
    this.#buf = EMPTY_BYTES;
    this.#view = EMPTY_VIEW;
  }

  /** Appends one byte. */
  writeByte(v: number): this {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
    return this;
  }

  /** Appends a boolean byte. */
  writeBoolean(v: boolean): this {
    return this.writeByte(v ? 1 : 0);
  }

  /** Appends a big-endian uint32. */
  writeUint32(v: number): this {
    this.#ensure(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  /** Appends a big-endian uint64. */
  writeUint64(v: bigint): this {
    this.#ensure(8);
    this.#view.setBigUint64(this.#len, v);
    this.#len += 8;
    return this;
  }

  /** Appends raw bytes. */
  writeBytes(b: Uint8Array): this {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** Appends a `string` (uint32 length + bytes). */
  writeString(b: Uint8Array): this {
    this.writeUint32(b.length);
    return this.writeBytes(b);
  }

  /** Appends a `string` holding the UTF-8 encoding of `s`. */
  writeStringUtf8(s: string): this {
    const n = s.length;
    // Room for the worst case (3 bytes per UTF-16 unit), written in place: no encoded copy.
    this.#ensure(4 + 3 * n);
    const start = this.#len + 4;
    let written = 0;
    if (n <= SHORT_UTF8) {
      // Short names and the like: plain ASCII is copied a unit at a time, faster than a call
      // into the encoder.
      const buf = this.#buf;
      for (; written < n; written++) {
        const c = s.charCodeAt(written);
        if (c > 0x7f) break;
        buf[start + written] = c;
      }
    }
    if (written < n) {
      written = utf8Encoder.encodeInto(s, this.#buf.subarray(start)).written;
    }
    this.#view.setUint32(this.#len, written);
    this.#len = start + written;
    return this;
  }

  /** Appends a `name-list`. */
  writeNameList(names: readonly string[]): this {
    return this.writeStringUtf8(names.join(","));
  }

  /** Appends an `mpint` for a bigint (any sign). */
  writeMpint(v: bigint): this {
    return this.writeString(bigIntToMpintBytes(v));
  }

  /** Appends an `mpint` for the non-negative number whose big-endian magnitude is `b`. */
  writeMpintMagnitude(b: Uint8Array): this {
    let i = 0;
    while (i < b.length && b[i] === 0) i++;
    const mag = b.subarray(i);
    if (mag.length > 0 && (mag[0]! & 0x80) !== 0) {
      this.writeUint32(mag.length + 1);
      this.writeByte(0);
      return this.writeBytes(mag);
    }
    return this.writeString(mag);
  }

  /**
   * A copy of the bytes written. The writer's pooled buffer goes back for reuse; writing on
   * afterwards works (from a private copy).
   */
  toBytes(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    if (this.#scratch) {
      this.#giveBack();
      // Writes after toBytes() are rare: the next one grows into a new buffer (every write
      // ensures room first, and `out` has none to spare), so `out` itself is never written.
      this.#buf = out;
      this.#view = EMPTY_VIEW;
    }
    return out;
  }

  /** A view of the bytes written (valid until the next write). */
  view(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }
}

/** The content bytes of the mpint encoding of `v` (two's complement, minimal). */
export function bigIntToMpintBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  if (v > 0n) {
    const mag = bigIntToBytes(v);
    if ((mag[0]! & 0x80) === 0) return mag;
    const out = new Uint8Array(mag.length + 1);
    out.set(mag, 1);
    return out;
  }
  // Negative: find the smallest byte length whose two's complement range holds v.
  let len = 1;
  while (-(1n << BigInt(len * 8 - 1)) > v) len++;
  return bigIntToBytes((1n << BigInt(len * 8)) + v, len);
}

/** Encodes a UTF-8 string (shared encoder). */
export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/**
 * Bytes as a string of one char per byte (Latin-1): an exact key for Sets and Maps, or
 * text whose bytes must survive whatever their encoding. {@link latin1Bytes} reverses it.
 *
 * @example
 * ```ts
 * import { latin1Bytes, latin1String } from "./wire.ts";
 * console.log(latin1Bytes(latin1String(new Uint8Array([0xe9, 0x41])))); // Uint8Array [233, 65]
 * ```
 */
export function latin1String(b: Uint8Array): string {
  let s = "";
  // In slices: spreading a large array as arguments would overflow the stack.
  for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode(...b.subarray(i, i + 8192));
  return s;
}

/**
 * The bytes of a {@link latin1String} (each char's low byte).
 *
 * @example
 * ```ts
 * import { latin1Bytes } from "./wire.ts";
 * console.log(latin1Bytes("\xe9A")); // Uint8Array [233, 65]
 * ```
 */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * The bytes in all of `parts` together.
 *
 * @example
 * ```ts
 * import { totalLength } from "./wire.ts";
 * console.log(totalLength([new Uint8Array(3), new Uint8Array(4)])); // 7
 * ```
 */
export function totalLength(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/**
 * Where in a fresh buffer to start, 0–15 bytes in, so that `source` copied to offset `at`
 * lands at an address congruent to its own mod 16; 0 for a source under 1 KiB. Bun copies
 * a large buffer up to ten times slower when the destination lies 1–15 bytes past the
 * source modulo 4 KiB (`TypedArray.prototype.set`, measured on Bun 1.4 with page-aligned
 * buffers: 32 KiB in 9.5–15 µs against 0.7–1.0; V8 copies at full speed either way), and
 * congruent addresses never do.
 *
 * @example
 * ```ts
 * import { alignedLead } from "./wire.ts";
 * const body = new Uint8Array(4096).subarray(3);
 * const lead = alignedLead(body, 14);
 * console.log((lead + 14) % 16 === body.byteOffset % 16); // true
 * ```
 */
export function alignedLead(source: Uint8Array, at: number): number {
  return source.length >= ALIGNED_COPY_MIN ? (source.byteOffset - at) & 15 : 0;
}

/** Copies shorter than this go wherever they land: the difference is too small. */
const ALIGNED_COPY_MIN = 1024;

/** Concatenates byte arrays, into a new ArrayBuffer-backed one. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(totalLength(parts));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Constant-time equality of two byte arrays (length is not secret). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

/**
 * A copy of `s` that keeps no larger string alive. V8 makes a substring of 13 or more
 * characters (from `split`, `slice`) a view into its parent: an algorithm name kept for a
 * connection's life would keep the whole name-list it was read from. Shorter strings are
 * copies already.
 *
 * @example
 * ```ts
 * import { ownString } from "./wire.ts";
 * const list = "curve25519-sha256,ecdh-sha2-nistp256";
 * console.log(ownString(list.split(",")[0]!)); // "curve25519-sha256"
 * ```
 */
export function ownString(s: string): string {
  // Concatenating makes a new flat string; the slice of it is then a view of that copy.
  return s.length < 13 ? s : (s + " ").slice(0, -1);
}
