/**
 * Numeric host addresses as glibc's getaddrinfo(AI_NUMERICHOST) reads them and
 * getnameinfo(NI_NUMERICHOST) prints them, and OpenSSH's CIDR lists
 * (`addrmatch.c`), for hostname canonicalisation and `Match localnetwork`.
 *
 * @module
 */

import { matchPatternBytes } from "./patterns.ts";

/** A parsed address. */
export interface Address {
  readonly family: 4 | 6;
  /** 4 or 16 bytes. */
  readonly bytes: Uint8Array;
  /** IPv6 zone (`%eth0`), kept as written. */
  readonly scope?: string;
}

/** inet_aton: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x). */
function parseIPv4(s: string): Uint8Array | undefined {
  if (s === "" || !/^[0-9a-fA-FxX.]+$/.test(s)) return undefined;
  const parts = s.split(".");
  if (parts.length > 4) return undefined;
  const vals: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(p)) v = parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = p.length === 1 ? 0 : parseInt(p.slice(1), 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return undefined;
    if (!Number.isFinite(v) || v > 0xffffffff) return undefined;
    vals.push(v);
  }
  const n = vals.length;
  for (let i = 0; i < n - 1; i++) if (vals[i]! > 255) return undefined;
  const last = vals[n - 1]!;
  if (last >= 2 ** (8 * (5 - n))) return undefined;
  let v = 0;
  for (let i = 0; i < n - 1; i++) v = v * 256 + vals[i]!;
  v = v * 2 ** (8 * (5 - n)) + last;
  return new Uint8Array([(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]);
}

/** Strict dotted quad (inside IPv6 text). */
function parseDottedQuad(s: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const t = m[i + 1]!;
    if (t.length > 1 && t[0] === "0") return undefined;
    const v = Number(t);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseIPv6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return undefined;
  const parseSide = (t: string): number[] | undefined => {
    if (t === "") return [];
    const out: number[] = [];
    const items = t.split(":");
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (it.includes(".")) {
        if (i !== items.length - 1) return undefined;
        const q = parseDottedQuad(it);
        if (!q) return undefined;
        out.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
        out.push(parseInt(it, 16));
      }
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const head = parseSide(s.slice(0, dbl));
    const tail = parseSide(s.slice(dbl + 2));
    if (!head || !tail) return undefined;
    if (s.slice(dbl + 2).startsWith(":") || s.slice(0, dbl).endsWith(":")) return undefined;
    if (head.length + tail.length > 7) return undefined;
    words = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseSide(s);
    if (!all || all.length !== 8) return undefined;
    words = all;
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = words[i]! >> 8;
    out[2 * i + 1] = words[i]! & 255;
  }
  return out;
}

/**
 * Parses a numeric address as getaddrinfo(AI_NUMERICHOST) would: inet_aton
 * forms for IPv4 (`127.1`, `0x7f.1`), RFC 4291 text for IPv6 with an optional
 * `%zone`. `family` restricts the result (AddressFamily).
 */
export function parseAddress(s: string, family: 0 | 4 | 6 = 0): Address | undefined {
  if (family !== 6) {
    const v4 = parseIPv4(s);
    if (v4) return { family: 4, bytes: v4 };
  }
  if (family !== 4) {
    const pct = s.indexOf("%");
    const body = pct >= 0 ? s.slice(0, pct) : s;
    const scope = pct >= 0 ? s.slice(pct + 1) : undefined;
    if (scope === "") return undefined;
    const v6 = parseIPv6(body);
    if (v6) return scope === undefined ? { family: 6, bytes: v6 } : { family: 6, bytes: v6, scope };
  }
  return undefined;
}

/** getnameinfo(NI_NUMERICHOST) text of an address (glibc's inet_ntop). */
export function formatAddress(a: Address): string {
  const b = a.bytes;
  if (a.family === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (
      i === 6 && bestBase === 0 &&
      (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))
    ) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += words[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ":";
  return a.scope !== undefined ? `${out}%${a.scope}` : out;
}

/** addr_pton_cidr: 0 ok, -1 unparsable, -2 bad mask or host bits set. */
function parseCidr(s: string): { r: 0; net: Address; mask: number } | { r: -1 | -2 } {
  if (s.length >= 64) return { r: -1 };
  const slash = s.indexOf("/");
  let mask = 999;
  let body = s;
  if (slash >= 0) {
    body = s.slice(0, slash);
    const m = s.slice(slash + 1);
    if (!/^[ \t\n\r\f\v]*\+?\d+$/.test(m)) return { r: -1 };
    const n = Number(m.trim());
    if (n > 2147483647) return { r: -1 };
    mask = n;
  }
  const a = parseAddress(body);
  if (!a) return { r: -1 };
  if (slash < 0) mask = a.family === 4 ? 32 : 128;
  if (mask > (a.family === 4 ? 32 : 128)) return { r: -2 };
  for (let bit = mask; bit < a.bytes.length * 8; bit++) {
    if ((a.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return { r: -2 };
  }
  return { r: 0, net: a, mask };
}

function netMatch(host: Address, net: Address, mask: number): boolean {
  if (host.family !== net.family) return false;
  for (let bit = 0; bit < mask; bit++) {
    const hb = (host.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
    const nb = (net.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1;
    if (hb !== nb) return false;
  }
  // addr_cmp also compares IPv6 scope ids (both zero unless zoned).
  return (host.scope ?? "") === (net.scope ?? "") || host.family === 4;
}

/**
 * addr_match_cidr_list: with `addr` undefined only checks the list (0 or -1);
 * otherwise 1 when `addr` lies in some entry, 0 when not, -1 on a bad list.
 */
export function addrMatchCidrList(addr: string | undefined, list: string): -1 | 0 | 1 {
  let tryAddr: Address | undefined;
  if (addr !== undefined) {
    tryAddr = parseAddress(addr);
    if (!tryAddr) return 0;
  }
  let ret: -1 | 0 | 1 = 0;
  for (const cp of list.split(",")) {
    if (cp === "") return -1;
    if (cp.length > 46 + 3) return -1;
    if (!/^[0-9a-fA-F.:/]*$/.test(cp)) ret = -1;
    const c = parseCidr(cp);
    if (c.r !== 0) return -1;
    if (tryAddr && netMatch(tryAddr, c.net, c.mask)) ret = 1;
  }
  return ret;
}

/** addr_match_list (CIDR or wildcard entries, with negation); -2 on a bad entry. */
export function addrMatchList(addr: string | undefined, list: string): -2 | -1 | 0 | 1 {
  let tryAddr: Address | undefined;
  if (addr !== undefined) {
    tryAddr = parseAddress(addr);
    if (!tryAddr) return 0;
  }
  let ret: -2 | -1 | 0 | 1 = 0;
  for (let cp of list.split(",")) {
    const neg = cp.startsWith("!");
    if (neg) cp = cp.slice(1);
    if (cp === "") return -2;
    const c = parseCidr(cp);
    if (c.r === -2) return -2;
    const found = c.r === 0
      ? tryAddr !== undefined && netMatch(tryAddr, c.net, c.mask)
      : addr !== undefined && matchPatternBytes(addr, cp);
    if (found) {
      if (neg) return -1;
      ret = 1;
    }
  }
  return ret;
}
