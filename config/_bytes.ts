/**
 * Byte strings: OpenSSH reads its configuration as bytes, so `?` matches one
 * byte and `tolower` touches only ASCII. Inside `config/` every string coming
 * from a file, the environment or the caller is held as a "byte string" (one
 * UTF-16 unit per byte, 0-255); it is turned back into ordinary text at the
 * edges.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8");

/** Ordinary text to a byte string (its UTF-8 bytes, one char each). */
export function toBytes(s: string): string {
  // Fast path: pure ASCII is its own byte string.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s;
  return fromRaw(encoder.encode(s));
}

/** Raw bytes to a byte string. */
export function fromRaw(b: Uint8Array): string {
  // Fast path: ASCII bytes (nearly every configuration file) decode to themselves, and the
  // decoder does it in one call; spreading a file's bytes as arguments costs tens of µs.
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    if (b[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return decoder.decode(b);
  let out = "";
  const CHUNK = 8192;
  for (let i = 0; i < b.length; i += CHUNK) {
    out += String.fromCharCode(...b.subarray(i, i + CHUNK));
  }
  return out;
}

/** A byte string back to ordinary text (UTF-8; invalid sequences become U+FFFD). */
export function fromBytes(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s;
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i) & 0xff;
  return decoder.decode(b);
}

/** C's tolower over a byte string (ASCII letters only, as in the C locale). */
export function lower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** C's isspace in the C locale. */
export function isSpace(c: string | undefined): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}

/** C's isdigit. */
export function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** C's isalnum in the C locale. */
export function isAlnum(c: string | undefined): boolean {
  return c !== undefined && /^[0-9A-Za-z]$/.test(c);
}

/**
 * OpenBSD strtonum over [min, max]: optional leading space and sign, decimal
 * digits, nothing after. Returns undefined when invalid or out of range.
 */
export function strtonum(s: string, min: number, max: number): number | undefined {
  const m = /^[ \t\n\r\f\v]*([+-]?)(\d+)$/.exec(s);
  if (!m) return undefined;
  const n = Number((m[1] === "-" ? "-" : "") + m[2]);
  if (!Number.isFinite(n) || n < min || n > max) return undefined;
  return n;
}

/** strtonum for values that need 64 bits. */
export function strtonumBig(s: string, min: bigint, max: bigint): bigint | undefined {
  const m = /^[ \t\n\r\f\v]*([+-]?)(\d+)$/.exec(s);
  if (!m) return undefined;
  const n = BigInt((m[1] === "-" ? "-" : "") + m[2]);
  if (n < min || n > max) return undefined;
  return n;
}

/** INT_MAX of the C implementation. */
export const INT_MAX = 2147483647;
