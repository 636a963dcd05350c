/**
 * PEM armor (RFC 7468, with the RFC 1421 headers OpenSSL's legacy encrypted keys
 * use): `-----BEGIN LABEL-----`, optional `Name: value` headers and a blank line,
 * base64 body, `-----END LABEL-----`. Malformed armor is a {@link KeyImportError}.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "../_base64.ts";
import { KeyImportError } from "../errors.ts";

/** One decoded PEM block. */
export interface PemBlock {
  /** The label between BEGIN and the dashes, e.g. "RSA PRIVATE KEY". */
  readonly label: string;
  /** RFC 1421 headers in order (e.g. Proc-Type, DEK-Info); names as written. */
  readonly headers: ReadonlyMap<string, string>;
  /** The decoded body. */
  readonly body: Uint8Array;
}

const BEGIN = /^-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[ -~]*[\x21-\x2c\x2e-\x7e])?)-----$/;
const END = /^-----END ([ -~]*)-----$/;

/**
 * True when `text` contains a PEM BEGIN line.
 *
 * @example
 * ```ts
 * import { looksLikePem } from "./pem.ts";
 * console.log(looksLikePem("-----BEGIN PUBLIC KEY-----\n")); // true
 * ```
 */
export function looksLikePem(text: string): boolean {
  return /(^|\n)\s*-----BEGIN [^\n]*-----/.test(text);
}

/**
 * Decodes every PEM block in `text`, in order. Text outside blocks is ignored
 * (OpenSSL allows explanatory text around them); a block that starts but is
 * malformed throws {@link KeyImportError}.
 *
 * @example
 * ```ts
 * import { parsePem } from "./pem.ts";
 * const blocks = parsePem("-----BEGIN X-----\nAQID\n-----END X-----\n");
 * console.log(blocks[0]!.label, blocks[0]!.body); // "X" Uint8Array [1, 2, 3]
 * ```
 */
export function parsePem(text: string): PemBlock[] {
  const lines = text.split(/\r?\n|\r/);
  const blocks: PemBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]!.trim());
    if (!begin) continue;
    const label = begin[1]!;
    // A block indented as a whole (pasted into YAML, say): header continuation lines are
    // told by the blanks beyond that indentation, or every header after the first was
    // taken for a continuation and an encrypted key read as plain DER.
    const indent = /^[ \t]*/.exec(lines[i]!)![0];
    const headers = new Map<string, string>();
    let body = "";
    let j = i + 1;
    // RFC 1421 headers: present only when the first line has a colon and no base64 can.
    if (j < lines.length && lines[j]!.includes(":")) {
      let last: string | undefined;
      for (; j < lines.length; j++) {
        const line = lines[j]!.startsWith(indent) ? lines[j]!.slice(indent.length) : lines[j]!;
        if (line.trim() === "") {
          j++;
          break;
        }
        if (/^[ \t]/.test(line) && last !== undefined) {
          headers.set(last, headers.get(last)! + line.trim());
          continue;
        }
        const colon = line.indexOf(":");
        if (colon <= 0 || END.test(line.trim())) {
          throw new KeyImportError(`Cannot parse PEM block "${label}": malformed header line`);
        }
        last = line.slice(0, colon).trim();
        headers.set(last, line.slice(colon + 1).trim());
      }
    }
    let ended = false;
    for (; j < lines.length; j++) {
      const line = lines[j]!.trim();
      const end = END.exec(line);
      if (end) {
        if (end[1] !== label) {
          throw new KeyImportError(
            `Cannot parse PEM block "${label}": it ends with "${end[1]}" instead`,
          );
        }
        ended = true;
        break;
      }
      if (line.startsWith("-----")) {
        throw new KeyImportError(`Cannot parse PEM block "${label}": unexpected line "${line}"`);
      }
      body += line;
    }
    if (!ended) throw new KeyImportError(`Cannot parse PEM block "${label}": no END line`);
    blocks.push({ label, headers, body: decodeBase64(body, `PEM block "${label}"`) });
    i = j;
  }
  return blocks;
}

/**
 * Decodes the single PEM block in `text`, throwing when there is none.
 *
 * @example
 * ```ts
 * import { parsePemBlock } from "./pem.ts";
 * console.log(parsePemBlock("-----BEGIN X-----\nAA==\n-----END X-----").body.length); // 1
 * ```
 */
export function parsePemBlock(text: string): PemBlock {
  const blocks = parsePem(text);
  if (blocks.length === 0) throw new KeyImportError("Cannot parse PEM: no BEGIN line found");
  return blocks[0]!;
}

/**
 * Encodes a PEM block with 64-character lines, as OpenSSL writes (OpenSSH's
 * own private key files use 70: pass `lineWidth`).
 *
 * @example
 * ```ts
 * import { encodePem } from "./pem.ts";
 * console.log(encodePem("X", new Uint8Array([1, 2, 3])));
 * // -----BEGIN X-----\nAQID\n-----END X-----\n
 * ```
 */
export function encodePem(
  label: string,
  body: Uint8Array,
  headers?: ReadonlyMap<string, string> | Iterable<readonly [string, string]>,
  lineWidth = 64,
): string {
  const b64 = encodeBase64(body);
  let out = `-----BEGIN ${label}-----\n`;
  if (headers) {
    let any = false;
    for (const [k, v] of headers) {
      out += `${k}: ${v}\n`;
      any = true;
    }
    if (any) out += "\n";
  }
  for (let i = 0; i < b64.length; i += lineWidth) out += b64.slice(i, i + lineWidth) + "\n";
  return out + `-----END ${label}-----\n`;
}
