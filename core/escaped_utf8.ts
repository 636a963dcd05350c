/**
 * Names that are bytes on the wire, as strings that lose none of them. A file name
 * on a POSIX server is any bytes but `/` and NUL; one written in Latin-1 long ago
 * (`caf\xe9`) is not UTF-8, and decoding it the usual way turns the byte into U+FFFD:
 * the name can then be listed but never opened, renamed or removed again, since the
 * server is asked for different bytes.
 *
 * Here each byte that is not part of valid UTF-8 becomes a lone low surrogate,
 * U+DC80–U+DCFF (`0xE9` → `"\uDCE9"`), as Python's `surrogateescape` does for file
 * names; encoding turns those back into the same bytes. Valid UTF-8 decodes as usual,
 * and a string without such surrogates encodes as `TextEncoder` does. Lone surrogates
 * cannot occur in text decoded from UTF-8, so the mapping is unambiguous.
 *
 * @module
 */

// A leading byte-order mark is part of the name: not stripped.
const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/** A low surrogate in the escape range, paired or not: the slow path then checks. */
const ESCAPE_UNIT = /[\uDC80-\uDCFF]/;

/**
 * Decodes bytes as UTF-8; each byte of an invalid sequence becomes U+DC80 + (byte − 0x80).
 *
 * @example
 * ```ts
 * import { decodeEscapedUtf8 } from "@sshts/ssh";
 * decodeEscapedUtf8(new Uint8Array([0x63, 0x61, 0x66, 0xe9])); // "caf\uDCE9"
 * ```
 */
export function decodeEscapedUtf8(bytes: Uint8Array): string {
  const text = lenient.decode(bytes);
  // No U+FFFD: nothing was replaced (a real U+FFFD also takes the exact path below).
  return text.includes("\uFFFD") ? decodeExact(bytes) : text;
}

/**
 * Encodes a string as UTF-8, except that a lone U+DC80–U+DCFF becomes the byte it
 * escapes; other lone surrogates become U+FFFD, as `TextEncoder` makes them.
 *
 * @example
 * ```ts
 * import { encodeEscapedUtf8 } from "@sshts/ssh";
 * encodeEscapedUtf8("caf\uDCE9"); // Uint8Array [0x63, 0x61, 0x66, 0xe9]
 * ```
 */
export function encodeEscapedUtf8(text: string): Uint8Array {
  if (!ESCAPE_UNIT.test(text)) return encoder.encode(text);
  const out = new Uint8Array(text.length * 3);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && isLow(text.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      out[o++] = c - 0xdc00; // an escaped byte (a paired one was taken above)
    } else {
      const u = c >= 0xd800 && c <= 0xdfff ? 0xfffd : c; // a lone surrogate, as TextEncoder
      out[o++] = 0xe0 | (u >> 12);
      out[o++] = 0x80 | ((u >> 6) & 0x3f);
      out[o++] = 0x80 | (u & 0x3f);
    }
  }
  return out.slice(0, o);
}

/** Whether a string holds escaped bytes, so that it names something UTF-8 cannot spell. */
export function hasEscapedBytes(text: string): boolean {
  if (!ESCAPE_UNIT.test(text)) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && isLow(text.charCodeAt(i + 1))) i++;
    else if (c >= 0xdc80 && c <= 0xdcff) return true;
  }
  return false;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none. */
function validAt(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  // The continuation bytes after the lead, and the range the first one must be in
  // (narrower after E0, ED, F0 and F4: no overlong forms, surrogates or past U+10FFFF).
  let count: number, lo = 0x80, hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) count = 1;
  else if (lead >= 0xe0 && lead <= 0xef) {
    count = 2;
    if (lead === 0xe0) lo = 0xa0;
    else if (lead === 0xed) hi = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    count = 3;
    if (lead === 0xf0) lo = 0x90;
    else if (lead === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + count >= bytes.length) return 0;
  const first = bytes[i + 1]!;
  if (first < lo || first > hi) return 0;
  for (let k = 2; k <= count; k++) {
    const b = bytes[i + k]!;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return count + 1;
}

/** One pass over the bytes into UTF-16 code units, escaping each byte no sequence takes. */
function decodeExact(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length); // never more units than bytes
  let u = 0;
  for (let i = 0; i < bytes.length;) {
    const n = validAt(bytes, i);
    const b = bytes[i]!;
    if (n === 0) {
      units[u++] = 0xdc00 + b;
      i++;
      continue;
    }
    let cp = n === 1 ? b : b & (0xff >> (n + 1));
    for (let k = 1; k < n; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
    if (cp >= 0x10000) {
      units[u++] = 0xd800 + ((cp - 0x10000) >> 10);
      units[u++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    } else {
      units[u++] = cp;
    }
    i += n;
  }
  let text = "";
  const CHUNK = 4096; // fromCharCode's arguments go on the stack
  for (let k = 0; k < u; k += CHUNK) {
    text += String.fromCharCode.apply(null, units.subarray(k, Math.min(u, k + CHUNK)) as never);
  }
  return text;
}
