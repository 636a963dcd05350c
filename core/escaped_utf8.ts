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

const strict = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** A low surrogate in the escape range, paired or not: the slow path then checks. */
const ESCAPE_UNIT = /[\uDC80-\uDCFF]/;

/**
 * Decodes bytes as UTF-8; each byte of an invalid sequence becomes U+DC80 + (byte − 0x80).
 *
 * @example
 * ```ts
 * import { decodeEscapedUtf8 } from "./escaped_utf8.ts";
 * decodeEscapedUtf8(new Uint8Array([0x63, 0x61, 0x66, 0xe9])); // "caf\uDCE9"
 * ```
 */
export function decodeEscapedUtf8(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeSlow(bytes);
  }
}

/**
 * Encodes a string as UTF-8, except that a lone U+DC80–U+DCFF becomes the byte it
 * escapes; other lone surrogates become U+FFFD, as `TextEncoder` makes them.
 *
 * @example
 * ```ts
 * import { encodeEscapedUtf8 } from "./escaped_utf8.ts";
 * encodeEscapedUtf8("caf\uDCE9"); // Uint8Array [0x63, 0x61, 0x66, 0xe9]
 * ```
 */
export function encodeEscapedUtf8(text: string): Uint8Array {
  if (!ESCAPE_UNIT.test(text)) return encoder.encode(text);
  const out: number[] = [];
  let run = 0; // start of the text not yet encoded
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (prev >= 0xd800 && prev <= 0xdbff) continue; // the second half of a pair
    for (const b of encoder.encode(text.slice(run, i))) out.push(b);
    out.push(c - 0xdc00);
    run = i + 1;
  }
  for (const b of encoder.encode(text.slice(run))) out.push(b);
  return Uint8Array.from(out);
}

/** Whether a string holds escaped bytes, so that it names something UTF-8 cannot spell. */
export function hasEscapedBytes(text: string): boolean {
  if (!ESCAPE_UNIT.test(text)) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (prev < 0xd800 || prev > 0xdbff) return true;
  }
  return false;
}

/** How many continuation bytes follow a lead byte, and the range the first one must be in. */
function sequence(lead: number): [count: number, lo: number, hi: number] | undefined {
  if (lead >= 0xc2 && lead <= 0xdf) return [1, 0x80, 0xbf];
  if (lead === 0xe0) return [2, 0xa0, 0xbf];
  if (lead === 0xed) return [2, 0x80, 0x9f]; // not the surrogates
  if (lead >= 0xe1 && lead <= 0xef) return [2, 0x80, 0xbf];
  if (lead === 0xf0) return [3, 0x90, 0xbf];
  if (lead === 0xf4) return [3, 0x80, 0x8f]; // not past U+10FFFF
  if (lead >= 0xf1 && lead <= 0xf3) return [3, 0x80, 0xbf];
  return undefined;
}

/** The length of the valid UTF-8 sequence at `i`, or 0 when the byte there starts none. */
function validAt(bytes: Uint8Array, i: number): number {
  const lead = bytes[i]!;
  if (lead < 0x80) return 1;
  const s = sequence(lead);
  if (s === undefined) return 0;
  const [count, lo, hi] = s;
  if (i + count >= bytes.length) return 0;
  const first = bytes[i + 1]!;
  if (first < lo || first > hi) return 0;
  for (let k = 2; k <= count; k++) {
    const b = bytes[i + k]!;
    if (b < 0x80 || b > 0xbf) return 0;
  }
  return count + 1;
}

function decodeSlow(bytes: Uint8Array): string {
  let text = "";
  let run = 0; // start of the valid bytes not yet decoded
  let i = 0;
  while (i < bytes.length) {
    const n = validAt(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (run < i) text += strict.decode(bytes.subarray(run, i));
    text += String.fromCharCode(0xdc00 + bytes[i]!);
    i++;
    run = i;
  }
  if (run < bytes.length) text += strict.decode(bytes.subarray(run));
  return text;
}
