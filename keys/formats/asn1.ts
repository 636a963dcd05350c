/**
 * A small DER (X.690) reader and writer: just what key formats need (SEQUENCE,
 * INTEGER, BIT/OCTET STRING, OID, NULL, context tags). The reader is bounds-checked
 * and depth-limited: malformed input throws {@link Asn1Error} (a
 * {@link KeyImportError}) saying what was being read, never another exception,
 * and a declared length is checked against the bytes present before anything
 * is allocated.
 *
 * @module
 */

import { bigIntToMpintBytes, concatBytes, mpintBytesToBigInt } from "../../core/wire.ts";
import { KeyImportError } from "../errors.ts";

/** Deepest nesting we follow; key structures need 5, a margin is kept. */
export const MAX_DER_DEPTH = 32;

/** Universal tags used by key formats. */
export const DerTag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/**
 * DER input could not be decoded. A {@link KeyImportError}, so key import reports
 * it directly.
 *
 * @example
 * ```ts
 * import { Asn1Error, DerReader } from "./asn1.ts";
 * try {
 *   new DerReader(new Uint8Array([0x30, 0x05])).readSequence("key");
 * } catch (e) {
 *   console.log(e instanceof Asn1Error, (e as Error).message);
 * }
 * ```
 */
export class Asn1Error extends KeyImportError {
  /** Creates a DER decoding error. */
  constructor(message: string) {
    super(message);
    this.name = "Asn1Error";
  }
}

/** One decoded element: its identifier octet and a view of its content. */
export interface DerElement {
  /** The identifier octet (class, constructed bit and tag number). */
  readonly tag: number;
  /** The content octets (a view, not a copy). */
  readonly content: Uint8Array;
  /** The whole element, header included (a view). */
  readonly encoded: Uint8Array;
}

function tagName(tag: number): string {
  for (const [k, v] of Object.entries(DerTag)) if (v === tag) return k.replaceAll("_", " ");
  if ((tag & 0xc0) === 0x80) return `[${tag & 0x1f}]`;
  return `tag 0x${tag.toString(16).padStart(2, "0")}`;
}

/**
 * Reads DER elements one after another from a byte range.
 *
 * @example Read a SEQUENCE of two INTEGERs
 * ```ts
 * import { DerReader } from "./asn1.ts";
 * const r = new DerReader(new Uint8Array([0x30, 6, 2, 1, 5, 2, 1, 0x7f]));
 * const seq = r.readSequence("pair");
 * console.log(seq.readInteger("a"), seq.readInteger("b")); // 5n 127n
 * seq.assertEnd("pair");
 * ```
 */
export class DerReader {
  readonly #bytes: Uint8Array;
  readonly #what: string;
  readonly #depth: number;
  #pos = 0;

  /** Reads `bytes`; `what` names the structure in error messages. */
  constructor(bytes: Uint8Array, what = "DER data", depth = 0) {
    if (depth > MAX_DER_DEPTH) {
      throw new Asn1Error(`Cannot parse ${what}: nested deeper than ${MAX_DER_DEPTH} levels`);
    }
    this.#bytes = bytes;
    this.#what = what;
    this.#depth = depth;
  }

  /** True when every byte was read. */
  get done(): boolean {
    return this.#pos >= this.#bytes.length;
  }

  /** The identifier octet of the next element, or undefined at the end. */
  peekTag(): number | undefined {
    return this.#bytes[this.#pos];
  }

  #fail(msg: string): never {
    throw new Asn1Error(`Cannot parse ${this.#what}: ${msg}`);
  }

  /** Reads the next element of any tag. */
  read(what = "element"): DerElement {
    const b = this.#bytes;
    const start = this.#pos;
    if (start >= b.length) this.#fail(`${what} is missing (end of data)`);
    const tag = b[start]!;
    if ((tag & 0x1f) === 0x1f) this.#fail(`${what} uses a high tag number, not supported`);
    let p = start + 1;
    if (p >= b.length) this.#fail(`${what} has no length byte`);
    let len = b[p++]!;
    if (len === 0x80) this.#fail(`${what} uses indefinite length (BER, not DER)`);
    if (len > 0x80) {
      const n = len - 0x80;
      if (n > 4) this.#fail(`${what} length uses ${n} bytes (at most 4 allowed)`);
      if (p + n > b.length) this.#fail(`${what} length is truncated`);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p++]!;
      if (len < 0x80 || (n > 1 && b[p - n] === 0)) {
        this.#fail(`${what} length is not minimally encoded`);
      }
    }
    if (len > b.length - p) {
      this.#fail(`${what} declares ${len} bytes but only ${b.length - p} remain`);
    }
    this.#pos = p + len;
    return {
      tag,
      content: b.subarray(p, p + len),
      encoded: b.subarray(start, p + len),
    };
  }

  /** Reads an element that must carry `tag`, returning its content. */
  readTagged(tag: number, what: string): Uint8Array {
    const e = this.read(what);
    if (e.tag !== tag) this.#fail(`${what}: expected ${tagName(tag)}, found ${tagName(e.tag)}`);
    return e.content;
  }

  /** Reads a SEQUENCE and returns a reader over its content. */
  readSequence(what: string): DerReader {
    return new DerReader(this.readTagged(DerTag.SEQUENCE, what), what, this.#depth + 1);
  }

  /** Reads a signed INTEGER. */
  readInteger(what: string): bigint {
    const c = this.readTagged(DerTag.INTEGER, what);
    if (c.length === 0) this.#fail(`${what} is an empty INTEGER`);
    return mpintBytesToBigInt(c); // the same two's complement, read in linear time
  }

  /** Reads an INTEGER that must be ≥ 0. */
  readUnsigned(what: string): bigint {
    const v = this.readInteger(what);
    if (v < 0n) this.#fail(`${what} is negative`);
    return v;
  }

  /** Reads an INTEGER that must fit in a safe JS number (versions, counts). */
  readSmallInteger(what: string, max = 0x7fffffff): number {
    const v = this.readInteger(what);
    if (v < 0n || v > BigInt(max)) this.#fail(`${what} ${v} is out of range 0..${max}`);
    return Number(v);
  }

  /** Reads an OCTET STRING. */
  readOctetString(what: string): Uint8Array {
    return this.readTagged(DerTag.OCTET_STRING, what);
  }

  /** Reads a BIT STRING holding whole bytes (no unused bits), as is every key bit string. */
  readBitString(what: string): Uint8Array {
    const c = this.readTagged(DerTag.BIT_STRING, what);
    if (c.length === 0) this.#fail(`${what} is an empty BIT STRING`);
    if (c[0] !== 0) this.#fail(`${what} has ${c[0]} unused bits (whole bytes expected)`);
    return c.subarray(1);
  }

  /** Reads an OBJECT IDENTIFIER in dotted form ("1.2.840.113549.1.1.1"). */
  readOid(what: string): string {
    const c = this.readTagged(DerTag.OID, what);
    if (c.length === 0 || c.length > 64) this.#fail(`${what} has an invalid length ${c.length}`);
    if ((c[c.length - 1]! & 0x80) !== 0) this.#fail(`${what} ends inside a subidentifier`);
    const arcs: number[] = [];
    let v = 0;
    let first = true;
    for (let i = 0; i < c.length; i++) {
      const x = c[i]!;
      if (v === 0 && x === 0x80) this.#fail(`${what} has a non-minimal subidentifier`);
      v = v * 128 + (x & 0x7f);
      if (v > Number.MAX_SAFE_INTEGER / 256) this.#fail(`${what} has an oversized subidentifier`);
      if ((x & 0x80) === 0) {
        if (first) {
          const a = v < 40 ? 0 : v < 80 ? 1 : 2;
          arcs.push(a, v - 40 * a);
          first = false;
        } else {
          arcs.push(v);
        }
        v = 0;
      }
    }
    return arcs.join(".");
  }

  /** Reads a BOOLEAN: one content byte, 0x00 or 0xFF as DER requires. */
  readBoolean(what: string): boolean {
    const c = this.readTagged(DerTag.BOOLEAN, what);
    if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) {
      this.#fail(`${what} is not a DER BOOLEAN (one byte, 00 or FF)`);
    }
    return c[0] === 0xff;
  }

  /** Reads a NULL. */
  readNull(what: string): void {
    const c = this.readTagged(DerTag.NULL, what);
    if (c.length !== 0) this.#fail(`${what} is a NULL with content`);
  }

  /**
   * Reads an explicit context tag `[n]` (constructed) when it is next, returning a
   * reader over its content; undefined when the next element is something else.
   */
  readOptionalExplicit(n: number, what: string): DerReader | undefined {
    if (this.peekTag() !== (0xa0 | n)) return undefined;
    return new DerReader(this.read(what).content, what, this.#depth + 1);
  }

  /**
   * Reads an implicit primitive context tag `[n]` when it is next, returning its
   * content; undefined otherwise.
   */
  readOptionalImplicit(n: number, what: string): Uint8Array | undefined {
    if (this.peekTag() !== (0x80 | n)) return undefined;
    return this.read(what).content;
  }

  /** A reader over the content of a constructed element already read. */
  child(content: Uint8Array, what: string): DerReader {
    return new DerReader(content, what, this.#depth + 1);
  }

  /** Throws unless every byte was read. */
  assertEnd(what = this.#what): void {
    if (!this.done) {
      throw new Asn1Error(
        `Cannot parse ${what}: ${this.#bytes.length - this.#pos} unexpected trailing bytes`,
      );
    }
  }
}

/**
 * Encodes one element from its identifier octet and content.
 *
 * @example
 * ```ts
 * import { derElement, DerTag } from "./asn1.ts";
 * console.log(derElement(DerTag.NULL, new Uint8Array(0))); // Uint8Array [5, 0]
 * ```
 */
export function derElement(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else if (n < 0x1000000) header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  else header = [tag, 0x84, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(header.length + n);
  out.set(header);
  out.set(content, header.length);
  return out;
}

/**
 * Encodes a SEQUENCE of already-encoded elements.
 *
 * @example
 * ```ts
 * import { derInteger, derSequence } from "./asn1.ts";
 * console.log(derSequence(derInteger(1n)).length); // 5
 * ```
 */
export function derSequence(...elements: Uint8Array[]): Uint8Array {
  return derElement(DerTag.SEQUENCE, concatBytes(...elements));
}

/**
 * Encodes an INTEGER (any sign, minimal two's complement).
 *
 * @example
 * ```ts
 * import { derInteger } from "./asn1.ts";
 * console.log(derInteger(128n)); // Uint8Array [2, 2, 0, 128]
 * ```
 */
export function derInteger(v: bigint | number): Uint8Array {
  const b = bigIntToMpintBytes(BigInt(v));
  return derElement(DerTag.INTEGER, b.length === 0 ? new Uint8Array(1) : b);
}

/**
 * Encodes an OCTET STRING.
 *
 * @example
 * ```ts
 * import { derOctetString } from "./asn1.ts";
 * console.log(derOctetString(new Uint8Array([1])).length); // 3
 * ```
 */
export function derOctetString(b: Uint8Array): Uint8Array {
  return derElement(DerTag.OCTET_STRING, b);
}

/**
 * Encodes a BIT STRING of whole bytes.
 *
 * @example
 * ```ts
 * import { derBitString } from "./asn1.ts";
 * console.log(derBitString(new Uint8Array([0xff]))); // Uint8Array [3, 2, 0, 255]
 * ```
 */
export function derBitString(b: Uint8Array): Uint8Array {
  const c = new Uint8Array(b.length + 1);
  c.set(b, 1);
  return derElement(DerTag.BIT_STRING, c);
}

/**
 * Encodes a NULL.
 *
 * @example
 * ```ts
 * import { derNull } from "./asn1.ts";
 * console.log(derNull()); // Uint8Array [5, 0]
 * ```
 */
export function derNull(): Uint8Array {
  return new Uint8Array([DerTag.NULL, 0]);
}

/**
 * Encodes an OBJECT IDENTIFIER from dotted form.
 *
 * @example
 * ```ts
 * import { derOid } from "./asn1.ts";
 * console.log(derOid("1.3.101.112")); // Uint8Array [6, 3, 43, 101, 112]
 * ```
 */
export function derOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new RangeError(`Invalid OID "${oid}"`);
  }
  const out: number[] = [];
  const push = (v: number) => {
    const groups = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) groups.unshift((v & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return derElement(DerTag.OID, new Uint8Array(out));
}

/**
 * Encodes an explicit constructed context tag `[n]` around encoded elements.
 *
 * @example
 * ```ts
 * import { derExplicit, derInteger } from "./asn1.ts";
 * console.log(derExplicit(0, derInteger(1n))[0]); // 160
 * ```
 */
export function derExplicit(n: number, ...elements: Uint8Array[]): Uint8Array {
  return derElement(0xa0 | n, concatBytes(...elements));
}
