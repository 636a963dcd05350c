/**
 * Text formats of public keys that carry an SSH blob: OpenSSH's one-line form
 * (`type base64 comment`, as in `.pub` files) and RFC 4716's
 * `---- BEGIN SSH2 PUBLIC KEY ----` block with headers.
 *
 * @module
 */

import { SSHReader } from "../../core/wire.ts";
import { decodeBase64, encodeBase64 } from "../_base64.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";

/** One OpenSSH public key line, decoded. */
export interface OpenSSHPublicKeyLine {
  /** The type name written on the line ("ssh-ed25519"...). */
  readonly type: string;
  /** The decoded blob. */
  readonly blob: Uint8Array;
  /** Everything after the base64 (may be empty). */
  readonly comment: string;
}

/** The key type written inside a blob (its first string), or undefined if unreadable. */
export function blobKeyType(blob: Uint8Array): string | undefined {
  try {
    return new SSHReader(blob).readStringAscii("key type", 256);
  } catch {
    return undefined;
  }
}

/**
 * Decodes `type base64 [comment]`. The type must match the blob's own type.
 *
 * @example
 * ```ts
 * import { parseOpenSSHPublicKeyLine } from "./public_formats.ts";
 * const line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGrnvNsrvW7rdYp0atkUHdf8p3eY4Z2MfCVYnQ3eBP2W me@host";
 * console.log(parseOpenSSHPublicKeyLine(line).comment); // "me@host"
 * ```
 */
export function parseOpenSSHPublicKeyLine(line: string): OpenSSHPublicKeyLine {
  const m = splitPublicKeyLine(line);
  if (!m) {
    throw new KeyImportError(
      "Cannot import public key: expected 'type base64 [comment]' on one line",
    );
  }
  const type = m.type;
  const blob = decodeBase64(m.base64, "public key base64");
  const inner = blobKeyType(blob);
  if (inner === undefined) throw new KeyImportError("Cannot import public key: blob is truncated");
  if (inner !== type) {
    throw new KeyImportError(
      `Cannot import public key: line says '${type}' but the key is '${inner}'`,
    );
  }
  return { type, blob, comment: m.comment };
}

/**
 * `type base64 [comment]` cut into its fields, in one pass: blanks (space, tab) between
 * the fields, surrounding white space trimmed, no line break anywhere. (A regular
 * expression with overlapping blank runs took cubic time on a line of blanks ending in a
 * lone "\r": seconds per authorized_keys line a user controls; one regular expression per
 * character, 30 µs an RSA-4096 line: an authorized_keys or known_hosts file of thousands of
 * lines held the event loop for 100 ms and more.) Linear, a character code compared per
 * character.
 */
export function splitPublicKeyLine(
  line: string,
): { type: string; base64: string; comment: string } | undefined {
  const t = line.trim();
  if (LINE_BREAK.test(t)) return undefined;
  // The type runs to the first white space (any, as trim() counts it), which must be a blank.
  let i = t.search(/\s/);
  if (i <= 0 || !isBlank(t.charCodeAt(i))) return undefined;
  const type = t.slice(0, i);
  while (isBlank(t.charCodeAt(i))) i++;
  const start = i;
  while (i < t.length && isBase64Char(t.charCodeAt(i))) i++;
  if (i === start) return undefined;
  const base64 = t.slice(start, i);
  if (i < t.length && !isBlank(t.charCodeAt(i))) return undefined;
  while (isBlank(t.charCodeAt(i))) i++;
  return { type, base64, comment: t.slice(i) };
}

/** Line breaks, as {@link splitPublicKeyLine} and {@link checkOneLineComment} count them. */
const LINE_BREAK = /[\r\n\u2028\u2029]/;

/** Space or tab (NaN, past the end, is neither). */
function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** `[A-Za-z0-9+/=]`. */
function isBase64Char(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x2f && c <= 0x39) ||
    c === 0x2b || c === 0x3d;
}

/**
 * Throws {@link KeyExportError} for a comment holding a line break (as
 * {@link splitPublicKeyLine} counts them): written out, it would end the line or header it
 * belongs to and start another that no reader takes for a key (`ssh-keygen` reads the
 * first half, and an authorized_keys file gains a stray line).
 *
 * @example
 * ```ts
 * import { checkOneLineComment } from "./public_formats.ts";
 * checkOneLineComment("me@host", "public key"); // fine
 * try { checkOneLineComment("a\nb", "public key"); } catch (e) { console.log((e as Error).message); }
 * ```
 */
export function checkOneLineComment(comment: string, what: string): void {
  if (LINE_BREAK.test(comment)) {
    throw new KeyExportError(`Cannot export ${what}: the comment contains a line break`);
  }
}

/**
 * Formats a blob as an OpenSSH public key line with a trailing newline.
 *
 * @example
 * ```ts
 * import { formatOpenSSHPublicKeyLine } from "./public_formats.ts";
 * const blob = new Uint8Array([0, 0, 0, 1, 120]);
 * console.log(formatOpenSSHPublicKeyLine(blob, "c")); // "x AAAAAXg= c\n"
 * ```
 */
export function formatOpenSSHPublicKeyLine(blob: Uint8Array, comment = ""): string {
  checkOneLineComment(comment, "public key");
  const type = blobKeyType(blob) ?? "unknown";
  return `${type} ${encodeBase64(blob)}${comment ? " " + comment : ""}\n`;
}

/** A decoded RFC 4716 block. */
export interface Rfc4716PublicKey {
  readonly blob: Uint8Array;
  /** Header tags and values in order (tags as written; Comment unquoted). */
  readonly headers: ReadonlyMap<string, string>;
  /** The Comment header, unquoted, or "". */
  readonly comment: string;
}

const RFC4716_BEGIN = "---- BEGIN SSH2 PUBLIC KEY ----";
const RFC4716_END = "---- END SSH2 PUBLIC KEY ----";

/**
 * True when `text` contains an RFC 4716 public key block.
 *
 * @example
 * ```ts
 * import { looksLikeRfc4716 } from "./public_formats.ts";
 * console.log(looksLikeRfc4716("---- BEGIN SSH2 PUBLIC KEY ----\n")); // true
 * ```
 */
export function looksLikeRfc4716(text: string): boolean {
  return text.includes(RFC4716_BEGIN);
}

/**
 * Decodes the first RFC 4716 block in `text`; `rest` is the text after it.
 *
 * @example
 * ```ts
 * import { parseRfc4716 } from "./public_formats.ts";
 * const text = '---- BEGIN SSH2 PUBLIC KEY ----\nComment: "a \\\nb"\nAAAAAXg=\n---- END SSH2 PUBLIC KEY ----\n';
 * console.log(parseRfc4716(text).comment); // "a b"
 * ```
 */
export function parseRfc4716(text: string): Rfc4716PublicKey & { rest: string } {
  const start = text.indexOf(RFC4716_BEGIN);
  if (start < 0) throw new KeyImportError("Cannot import RFC 4716 public key: no BEGIN line");
  const endAt = text.indexOf(RFC4716_END, start);
  if (endAt < 0) throw new KeyImportError("Cannot import RFC 4716 public key: no END line");
  const lines = text.slice(start + RFC4716_BEGIN.length, endAt).split(/\r?\n|\r/);
  const headers = new Map<string, string>();
  let body = "";
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const colon = line.indexOf(":");
    if (colon < 0 || body !== "") break;
    const tag = line.slice(0, colon).trim();
    if (tag.length === 0 || tag.length > 64) {
      throw new KeyImportError(`Cannot import RFC 4716 public key: invalid header '${tag}'`);
    }
    const header = readRfc4716HeaderValue(lines, i, line.slice(colon + 1).trimStart());
    i = header.last;
    headers.set(tag, header.value);
  }
  for (; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.includes(":")) {
      throw new KeyImportError("Cannot import RFC 4716 public key: header after the key body");
    }
    body += line;
  }
  const blob = decodeBase64(body, "RFC 4716 key body");
  if (blob.length === 0) throw new KeyImportError("Cannot import RFC 4716 public key: empty body");
  let comment = "";
  for (const [k, v] of headers) {
    if (k.toLowerCase() === "comment") {
      comment = v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
    }
  }
  return { blob, headers, comment, rest: text.slice(endAt + RFC4716_END.length) };
}

/** RFC 4716 §3.3: a header value, continuation lines joined, is at most 1024 bytes. */
export const RFC4716_MAX_HEADER_VALUE_BYTES = 1024;

/**
 * The value of the header starting on `lines[first]` (`start` is its text after the
 * colon): a trailing backslash continues it on the next line (RFC 4716 §3.3). The pieces
 * are joined once (adding each to the value so far re-copied it: quadratic in the
 * number of continuation lines); `last` is the index of the header's last line.
 */
function readRfc4716HeaderValue(
  lines: readonly string[],
  first: number,
  start: string,
): { value: string; last: number } {
  // Blanks after the backslash (an editor's, or a CRLF file's) do not stop it continuing.
  const pieces = [start.trimEnd()];
  let i = first;
  while (pieces[pieces.length - 1]!.endsWith("\\") && i + 1 < lines.length) {
    pieces[pieces.length - 1] = pieces[pieces.length - 1]!.slice(0, -1);
    pieces.push(lines[++i]!.trimEnd());
  }
  const value = pieces.join("").trim();
  if (new TextEncoder().encode(value).length > RFC4716_MAX_HEADER_VALUE_BYTES) {
    throw new KeyImportError(
      `Cannot import RFC 4716 public key: a header value is over ${RFC4716_MAX_HEADER_VALUE_BYTES} bytes`,
    );
  }
  return { value, last: i };
}

/**
 * Encodes a blob as an RFC 4716 block (70-character lines, as ssh-keygen writes).
 *
 * @example
 * ```ts
 * import { formatRfc4716 } from "./public_formats.ts";
 * console.log(formatRfc4716(new Uint8Array([0, 0, 0, 1, 120]), "me").split("\n")[1]); // 'Comment: "me"'
 * ```
 */
export function formatRfc4716(blob: Uint8Array, comment = ""): string {
  checkOneLineComment(comment, "RFC 4716 public key");
  let out = RFC4716_BEGIN + "\n";
  if (comment) {
    const value = `"${comment.replaceAll('"', "'")}"`;
    // parseRfc4716 refuses a longer one, so the block would not import back.
    if (new TextEncoder().encode(value).length > RFC4716_MAX_HEADER_VALUE_BYTES) {
      throw new KeyExportError(
        `Cannot export RFC 4716 public key: the comment is over ${
          RFC4716_MAX_HEADER_VALUE_BYTES - 2
        } bytes`,
      );
    }
    // Header lines are limited to 72 bytes; continue longer ones with a backslash.
    let header = `Comment: ${value}`;
    while (new TextEncoder().encode(header).length > 72) {
      let cut = 70;
      while (new TextEncoder().encode(header.slice(0, cut)).length > 70) cut--;
      // Never between the halves of a surrogate pair: each half alone is not UTF-8 (it
      // is written as U+FFFD), so the comment would not read back.
      if (/[\uD800-\uDBFF]/.test(header[cut - 1]!)) cut--;
      out += header.slice(0, cut) + "\\\n";
      header = header.slice(cut);
    }
    out += header + "\n";
  }
  const b64 = encodeBase64(blob);
  for (let i = 0; i < b64.length; i += 70) out += b64.slice(i, i + 70) + "\n";
  return out + RFC4716_END + "\n";
}
