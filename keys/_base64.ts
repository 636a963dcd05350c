/**
 * Base64 (RFC 4648 §4) for key files. Our own, because `atob`/`btoa` work on
 * binary strings and are lenient in ways that hide corrupt files. Internal to keys/.
 *
 * @module
 */

import { KeyImportError } from "./errors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Encodes bytes as padded base64 (or unpadded when `pad` is false). */
export function encodeBase64(bytes: Uint8Array, pad = true): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! +
      ALPHABET[v & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = bytes[i]! << 16;
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + (pad ? "==" : "");
  } else if (rest === 2) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! +
      (pad ? "=" : "");
  }
  return out;
}

/**
 * Decodes base64, skipping ASCII whitespace (PEM bodies are wrapped). Padding is
 * optional; anything else that is not in the alphabet, or data after padding,
 * is a {@link KeyImportError} naming `what`.
 */
export function decodeBase64(text: string, what = "base64 data"): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let bits = 0;
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (c === 0x3d) { // '='
      padding++;
      continue;
    }
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0 || padding > 0) {
      throw new KeyImportError(
        `Cannot decode ${what}: ${
          padding > 0 ? "data after '=' padding" : `invalid base64 character at offset ${i}`
        }`,
      );
    }
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // 6 leftover bits can never come from whole bytes; padding must complete a quantum.
  if (bits === 6 || padding > 2 || (padding > 0 && (bits / 2 !== padding))) {
    throw new KeyImportError(`Cannot decode ${what}: truncated base64`);
  }
  return out.slice(0, o);
}
