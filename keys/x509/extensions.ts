/**
 * X.509 extensions (RFC 5280 §4.2): the purposes and key usages this library
 * names, reading a certificate's extensions, and encoding the ones it writes.
 *
 * @module
 */

import {
  derElement,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
  DerTag,
} from "../formats/asn1.ts";
import { KeyImportError } from "../errors.ts";

/** Extended key usage purposes by name (RFC 5280, RFC 6187 §2.2). */
export const X509_PURPOSES: Readonly<Record<string, string>> = Object.freeze({
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  codeSigning: "1.3.6.1.5.5.7.3.3",
  emailProtection: "1.3.6.1.5.5.7.3.4",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  secureShellClient: "1.3.6.1.5.5.7.3.21",
  secureShellServer: "1.3.6.1.5.5.7.3.22",
  any: "2.5.29.37.0",
});

export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  upn: "1.3.6.1.4.1.311.20.2.3",
} as const;

/** One key usage name (RFC 5280 §4.2.1.3). */
export type X509KeyUsage =
  | "digitalSignature"
  | "nonRepudiation"
  | "keyEncipherment"
  | "dataEncipherment"
  | "keyAgreement"
  | "keyCertSign"
  | "cRLSign"
  | "encipherOnly"
  | "decipherOnly";

/** Key usage bits (RFC 5280 §4.2.1.3), by name, in bit order. */
export const KEY_USAGE_BITS: readonly X509KeyUsage[] = [
  "digitalSignature",
  "nonRepudiation",
  "keyEncipherment",
  "dataEncipherment",
  "keyAgreement",
  "keyCertSign",
  "cRLSign",
  "encipherOnly",
  "decipherOnly",
];

/** The extensions this library reads; others are kept as raw `unknown` entries. */
export interface X509Extensions {
  /** basicConstraints: a CA, and how many CAs may follow it below. */
  readonly basicConstraints?: { readonly ca: boolean; readonly pathLength?: number };
  /** keyUsage: the usages whose bits are set; undefined when the extension is absent. */
  readonly keyUsage?: readonly X509KeyUsage[];
  /** extendedKeyUsage purpose OIDs. */
  readonly extendedKeyUsage?: readonly string[];
  /** subjectAltName entries by kind (IP addresses as text); undefined when the extension is absent. */
  readonly subjectAltName?: {
    readonly dns: readonly string[];
    readonly ip: readonly string[];
    readonly email: readonly string[];
    readonly upn: readonly string[];
  };
  /** subjectKeyIdentifier: the key id of this certificate's key. */
  readonly subjectKeyIdentifier?: Uint8Array;
  /** authorityKeyIdentifier keyIdentifier: the key id of the issuer's key. */
  readonly authorityKeyIdentifier?: Uint8Array;
  /** OIDs of critical extensions this library does not understand. */
  readonly unknownCritical: readonly string[];
}

/**
 * An iPAddress general name as text: dotted IPv4, or IPv6 in the RFC 5952 form
 * (lower case, no leading zeros, the longest run of two or more zero groups as
 * "::"), as AsyncSSH (Python's `ipaddress`) and people write it. Undefined for
 * another length (an address with a mask belongs in name constraints only).
 */
export function ipText(b: Uint8Array): string | undefined {
  if (b.length === 4) return [...b].join(".");
  if (b.length !== 16) return undefined;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  return best < 0
    ? hex(groups)
    : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/**
 * The bytes of an IPv4 or IPv6 address in text (IPv6 may end in dotted IPv4, as
 * `::ffff:192.0.2.1`); undefined when `s` is not one.
 */
export function ipBytes(s: string): Uint8Array | undefined {
  const v4 = (t: string) => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
    const b = m?.slice(1).map(Number);
    return b?.every((x) => x <= 255) ? b : undefined;
  };
  const four = v4(s);
  if (four) return new Uint8Array(four);
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const part = (t: string | undefined, last: boolean): number[] | undefined => {
    if (!t) return [];
    const out: number[] = [];
    const items = t.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (g.includes(".")) {
        const b = last && i === items.length - 1 ? v4(g) : undefined;
        if (!b) return undefined;
        out.push((b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = part(halves[0], halves.length === 1);
  const tail = halves.length === 2 ? part(halves[1], true) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return undefined;
  const groups = [...head, ...Array<number>(fill).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((v, i) => {
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  return out;
}

export function readBits(content: Uint8Array): boolean[] {
  const unused = content[0] ?? 0;
  const bits: boolean[] = [];
  for (let i = 1; i < content.length; i++) {
    for (let b = 7; b >= 0; b--) bits.push(((content[i]! >> b) & 1) === 1);
  }
  return bits.slice(0, Math.max(0, bits.length - unused));
}

/** The most intermediate CAs a pathLenConstraint is taken to allow (larger values are clamped). */
const MAX_PATH_LENGTH = 0x7fffffff;

/**
 * Decodes the `Extensions` SEQUENCE in `r` (the content of the `[3]` tag). Strict
 * as OpenSSL is: a malformed value of an extension this library reads (a BOOLEAN
 * that is not 00/FF, bytes left over, a negative path length, a BIT STRING with more
 * than 7 unused bits) makes the certificate unreadable rather than being guessed at.
 */
export function parseExtensions(r: DerReader): X509Extensions {
  const ext: {
    -readonly [K in keyof X509Extensions]: X509Extensions[K];
  } = { unknownCritical: [] };
  const unknown: string[] = [];
  const seq = r.readSequence("extensions");
  r.assertEnd("extensions");
  const seen = new Set<string>();
  while (!seq.done) {
    const e = seq.readSequence("extension");
    const oid = e.readOid("extension id");
    if (seen.has(oid)) {
      throw new KeyImportError(`Cannot parse certificate: extension ${oid} repeats`);
    }
    seen.add(oid);
    let critical = false;
    if (e.peekTag() === DerTag.BOOLEAN) critical = e.readBoolean("critical");
    const value = new DerReader(e.readOctetString("extension value"), `extension ${oid}`);
    e.assertEnd();
    switch (oid) {
      case OID.basicConstraints: {
        const bc = value.readSequence("basicConstraints");
        let ca = false;
        let pathLength: number | undefined;
        if (bc.peekTag() === DerTag.BOOLEAN) ca = bc.readBoolean("cA");
        if (bc.peekTag() === DerTag.INTEGER) {
          const n = bc.readInteger("pathLenConstraint");
          if (n < 0n) {
            throw new KeyImportError("Cannot parse certificate: negative pathLenConstraint");
          }
          pathLength = n > BigInt(MAX_PATH_LENGTH) ? MAX_PATH_LENGTH : Number(n);
        }
        bc.assertEnd();
        ext.basicConstraints = pathLength === undefined ? { ca } : { ca, pathLength };
        break;
      }
      case OID.keyUsage: {
        const c = value.readTagged(DerTag.BIT_STRING, "keyUsage");
        if (c.length === 0 || c[0]! > 7 || (c.length === 1 && c[0] !== 0)) {
          throw new KeyImportError("Cannot parse certificate: malformed keyUsage BIT STRING");
        }
        const bits = readBits(c);
        ext.keyUsage = KEY_USAGE_BITS.filter((_, i) => bits[i]);
        break;
      }
      case OID.extKeyUsage: {
        const s = value.readSequence("extKeyUsage");
        const oids: string[] = [];
        while (!s.done) oids.push(s.readOid("purpose"));
        ext.extendedKeyUsage = oids;
        break;
      }
      case OID.subjectAltName: {
        const s = value.readSequence("subjectAltName");
        const san = {
          dns: [] as string[],
          ip: [] as string[],
          email: [] as string[],
          upn: [] as string[],
        };
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        while (!s.done) {
          const g = s.read("general name");
          if (g.tag === 0x82) san.dns.push(text(g.content));
          else if (g.tag === 0x81) san.email.push(text(g.content));
          else if (g.tag === 0x87) {
            // Another length is no address (OpenSSL shows it as <invalid>): no principal.
            const ip = ipText(g.content);
            if (ip !== undefined) san.ip.push(ip);
          } else if (g.tag === 0xa0) {
            const on = s.child(g.content, "otherName");
            const typeId = on.readOid("otherName type");
            const v = on.readOptionalExplicit(0, "otherName value");
            on.assertEnd();
            if (typeId === OID.upn && v) {
              const upn = v.read("UPN");
              v.assertEnd();
              if (upn.tag === DerTag.UTF8_STRING) san.upn.push(text(upn.content));
            }
          }
        }
        ext.subjectAltName = san;
        break;
      }
      case OID.subjectKeyId:
        ext.subjectKeyIdentifier = value.readOctetString("subjectKeyIdentifier").slice();
        break;
      case OID.authorityKeyId: {
        const s = value.readSequence("authorityKeyIdentifier");
        const id = s.readOptionalImplicit(0, "keyIdentifier");
        if (id) ext.authorityKeyIdentifier = id.slice();
        break;
      }
      default:
        if (critical) unknown.push(oid);
        continue;
    }
    value.assertEnd();
  }
  ext.unknownCritical = unknown;
  return ext;
}

export function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? derSequence(derOid(oid), derElement(0x01, new Uint8Array([0xff])), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

export function keyUsageBits(usages: readonly X509KeyUsage[]): Uint8Array {
  const idx = usages.map((u) => KEY_USAGE_BITS.indexOf(u));
  const last = Math.max(...idx);
  const bytes = new Uint8Array(Math.floor(last / 8) + 1);
  for (const i of idx) bytes[i >> 3]! |= 0x80 >> (i & 7);
  const unused = bytes.length * 8 - 1 - last;
  const out = new Uint8Array(bytes.length + 1);
  out[0] = unused;
  out.set(bytes, 1);
  return derElement(DerTag.BIT_STRING, out);
}
