/**
 * X.500 distinguished names for X.509 certificates: parsing the text forms
 * people write (`CN=alice, O=Example` as in RFC 4514, or OpenSSL's
 * `/O=Example/CN=alice`), encoding them as DER `Name`, and printing a DER name
 * back as text. Internal to keys/.
 *
 * @module
 */

import {
  type DerElement,
  derElement,
  derOid,
  DerReader,
  derSequence,
  DerTag,
} from "../formats/asn1.ts";
import { KeyImportError } from "../errors.ts";

/** Short names of the attribute types we read and write, with their OIDs. */
const ATTRIBUTES: readonly (readonly [string, string, number])[] = [
  ["CN", "2.5.4.3", DerTag.UTF8_STRING],
  ["SN", "2.5.4.4", DerTag.UTF8_STRING],
  ["serialNumber", "2.5.4.5", DerTag.PRINTABLE_STRING],
  ["C", "2.5.4.6", DerTag.PRINTABLE_STRING],
  ["L", "2.5.4.7", DerTag.UTF8_STRING],
  ["ST", "2.5.4.8", DerTag.UTF8_STRING],
  ["street", "2.5.4.9", DerTag.UTF8_STRING],
  ["O", "2.5.4.10", DerTag.UTF8_STRING],
  ["OU", "2.5.4.11", DerTag.UTF8_STRING],
  ["title", "2.5.4.12", DerTag.UTF8_STRING],
  ["GN", "2.5.4.42", DerTag.UTF8_STRING],
  ["emailAddress", "1.2.840.113549.1.9.1", DerTag.IA5_STRING],
  ["DC", "0.9.2342.19200300.100.1.25", DerTag.IA5_STRING],
  ["UID", "0.9.2342.19200300.100.1.1", DerTag.UTF8_STRING],
];

const BY_NAME = new Map(ATTRIBUTES.map(([n, oid, tag]) => [n.toLowerCase(), { oid, tag }]));
const BY_OID = new Map(ATTRIBUTES.map(([n, oid]) => [oid, n]));

/** Splits on unescaped separators. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === "\\" && i + 1 < s.length) {
      cur += c + s[++i]!;
    } else if (c === sep) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unescapeValue(v: string): string {
  return v.replace(
    /\\([0-9a-fA-F]{2}|.)/g,
    (_m, e: string) => e.length === 2 ? String.fromCharCode(parseInt(e, 16)) : e,
  );
}

/**
 * Encodes a distinguished name given as text. `CN=alice, O=Example` lists the
 * most specific attribute first (RFC 4514) and is stored in reverse; OpenSSL's
 * `/C=US/O=Example/CN=alice` is stored in the order written. Throws
 * {@link KeyImportError} for an unknown attribute or a malformed name.
 *
 * @example
 * ```ts
 * import { encodeName, nameToString } from "./name.ts";
 * console.log(nameToString(encodeName("CN=alice, O=Example"))); // "CN=alice, O=Example"
 * ```
 */
export function encodeName(text: string): Uint8Array {
  const t = text.trim();
  let rdns: string[];
  if (t === "") rdns = [];
  else if (t.startsWith("/")) rdns = splitEscaped(t.slice(1), "/");
  else rdns = splitEscaped(t, ",").reverse();
  const sets = rdns.map((rdn) => {
    const atvs = splitEscaped(rdn, "+").map((atv) => {
      const eq = atv.indexOf("=");
      if (eq <= 0) throw new KeyImportError(`Cannot encode name '${text}': expected TYPE=value`);
      const type = atv.slice(0, eq).trim();
      const value = unescapeValue(atv.slice(eq + 1).trim());
      const known = BY_NAME.get(type.toLowerCase());
      const oid = known?.oid ?? (/^\d+(\.\d+)+$/.test(type) ? type : undefined);
      if (oid === undefined) {
        throw new KeyImportError(`Cannot encode name '${text}': unknown attribute '${type}'`);
      }
      const tag = known?.tag ?? DerTag.UTF8_STRING;
      return derSequence(derOid(oid), derElement(tag, new TextEncoder().encode(value)));
    });
    return derElement(DerTag.SET, concat(atvs));
  });
  return derSequence(...sets);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

function escapeValue(v: string): string {
  return v.replace(/([,+"\\<>;=])/g, "\\$1").replace(/^([ #])/, "\\$1").replace(/ $/, "\\ ")
    // Control characters as \XX (RFC 4514 allows it): a peer's name ends up in error
    // messages and logs, where a raw newline or terminal escape would forge lines.
    .replace(CONTROL, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}

/**
 * Prints a DER `Name` as RFC 4514 text, most specific attribute first.
 *
 * @example
 * ```ts
 * import { encodeName, nameToString } from "./name.ts";
 * console.log(nameToString(encodeName("/C=US/O=Example/CN=alice"))); // "CN=alice, O=Example, C=US"
 * ```
 */
export function nameToString(der: Uint8Array): string {
  return readRdns(der).map((rdn) =>
    rdn.map(({ oid, value }) =>
      `${BY_OID.get(oid) ?? oid}=${escapeValue(new TextDecoder().decode(value.content))}`
    ).join("+")
  ).reverse().join(", ");
}

/** One attribute of a name: its type and its value as read. */
interface Attribute {
  readonly oid: string;
  readonly value: DerElement;
}

/** The RDNs of a DER `Name` in the order stored, each its attributes. */
function readRdns(der: Uint8Array): Attribute[][] {
  const top = new DerReader(der, "Name");
  const seq = top.readSequence("Name");
  top.assertEnd();
  const rdns: Attribute[][] = [];
  while (!seq.done) {
    const set = seq.child(seq.readTagged(DerTag.SET, "RDN"), "RDN");
    const rdn: Attribute[] = [];
    while (!set.done) {
      const atv = set.readSequence("attribute");
      const oid = atv.readOid("attribute type");
      const value = atv.read("attribute value");
      atv.assertEnd();
      rdn.push({ oid, value });
    }
    rdns.push(rdn);
  }
  return rdns;
}

/** Decodes a directory string value to text for comparison; undefined for other types. */
function stringValue(tag: number, b: Uint8Array): string | undefined {
  switch (tag) {
    case DerTag.UTF8_STRING:
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(b);
    case DerTag.PRINTABLE_STRING:
    case DerTag.IA5_STRING:
    case 0x12: // NumericString
    case 0x1a: // VisibleString
    case 0x14: { // TeletexString, read as Latin-1 as OpenSSL does
      let out = "";
      for (const c of b) out += String.fromCharCode(c);
      return out;
    }
    case 0x1e: // BMPString
      if (b.length % 2) return undefined;
      return new TextDecoder("utf-16be", { fatal: true, ignoreBOM: true }).decode(b);
    case 0x1c: { // UniversalString
      if (b.length % 4) return undefined;
      let out = "";
      for (let i = 0; i < b.length; i += 4) {
        const cp = ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
        if (cp > 0x10ffff) return undefined;
        out += String.fromCodePoint(cp);
      }
      return out;
    }
  }
  return undefined;
}

/**
 * A key under which two DER `Name`s are equal when RFC 5280 §7.1 (and OpenSSL's
 * `X509_NAME_cmp`) takes them as the same name: string values compared as text
 * whatever their string type, ASCII case folded, leading and trailing white space
 * dropped and inner runs of it collapsed to one space; other values byte for byte.
 * Issuer and subject names are matched with it. Throws {@link KeyImportError} for
 * a malformed name.
 *
 * @example
 * ```ts
 * import { canonicalName, encodeName } from "./name.ts";
 * console.log(canonicalName(encodeName("CN=Test  CA")) === canonicalName(encodeName("cn=test ca"))); // true
 * ```
 */
export function canonicalName(der: Uint8Array): string {
  const rdns = readRdns(der).map((rdn) => {
    const atvs = rdn.map(({ oid, value }) => {
      const text = textValue(value);
      return JSON.stringify(
        text === undefined ? [oid, value.tag, [...value.content]] : [
          oid,
          // ASCII white space only, as OpenSSL folds it (no-break spaces and BOMs stay).
          text.replace(/[ \t\n\v\f\r]+/g, " ").replace(/^ | $/g, "").replace(
            /[A-Z]/g,
            (c) => c.toLowerCase(),
          ),
        ],
      );
    });
    return `[${atvs.sort().join(",")}]`;
  });
  return `[${rdns.join(",")}]`;
}

/** A directory string's text; undefined for another type or one not valid in its encoding. */
function textValue(value: DerElement): string | undefined {
  try {
    return stringValue(value.tag, value.content);
  } catch {
    return undefined;
  }
}

/**
 * The common names (CN) of a DER `Name`, in the order stored; values that are no
 * directory string are left out. Throws {@link KeyImportError} for a malformed name.
 *
 * @example
 * ```ts
 * import { commonNames, encodeName } from "./name.ts";
 * console.log(commonNames(encodeName("CN=alice, O=Example"))); // ["alice"]
 * ```
 */
export function commonNames(der: Uint8Array): string[] {
  return readRdns(der).flat().filter((a) => a.oid === "2.5.4.3").map((a) => textValue(a.value))
    .filter((t) => t !== undefined);
}
