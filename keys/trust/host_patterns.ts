/**
 * OpenSSH's host pattern language, shared by known_hosts and the `from=` option
 * of authorized_keys: comma-separated patterns with `*` and `?` wildcards,
 * `!` negation (a negated match vetoes the whole list), case-insensitive host
 * names, and CIDR address ranges (`192.0.2.0/24`, `2001:db8::/32`).
 *
 * @module
 */

import { utf8 } from "../../core/wire.ts";

/**
 * Matches `text` against one glob pattern (`*` any run, `?` one character).
 * Iterative with backtracking to the last star, so it is linear-ish and cannot
 * blow up on hostile patterns.
 *
 * @example
 * ```ts
 * import { matchPattern } from "@sshts/ssh/config";
 * console.log(matchPattern("web1.example.com", "web?.example.*")); // true
 * ```
 */
export function matchPattern(text: string, pattern: string): boolean {
  let t = 0, p = 0, star = -1, mark = 0;
  while (t < text.length) {
    const c = pattern[p];
    if (c === "*") {
      star = p++;
      mark = t;
    } else if (c !== undefined && (c === "?" || c === text[t])) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Splits a pattern list on commas, each item trimmed; empty items are kept. */
export function patternItems(list: string | readonly string[]): string[] {
  return (typeof list === "string" ? list.split(",") : list).map((s) => s.trim());
}

/** Splits a pattern list on commas, dropping empty items. */
export function splitPatternList(list: string | readonly string[]): string[] {
  return patternItems(list).filter((s) => s !== "");
}

/**
 * ASCII letters in lower case, nothing else: OpenSSH lowercases host names and patterns with
 * tolower() byte by byte, so "\u212A" (KELVIN SIGN, which JavaScript lowercases to "k") or
 * "\u0130" stay as they are there, and must here.
 */
export function asciiLowerCase(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** Longest item match_pattern_list reads, in bytes (its buffer is 1024 bytes). */
const MAX_SUBPATTERN_BYTES = 1023;

/** An item's length in UTF-8 bytes reaches {@link MAX_SUBPATTERN_BYTES}. */
function overlong(item: string): boolean {
  if (item.length >= MAX_SUBPATTERN_BYTES) return true;
  if (item.length * 3 < MAX_SUBPATTERN_BYTES) return false;
  return utf8(item).length >= MAX_SUBPATTERN_BYTES;
}

/**
 * OpenSSH's match_pattern_list: 1 when some positive pattern matches and no
 * negated one does, -1 when a negated pattern matches, 0 otherwise. With
 * `lowercase` (host names) the text is compared in lower case (ASCII letters only, as
 * OpenSSH). As there, an item of 1023 bytes or more (after its `!`) ends the list with 0,
 * whatever matched before it: `ssh` and `ssh-keygen -F` find no host on such a line.
 *
 * @example
 * ```ts
 * import { matchPatternList } from "@sshts/ssh";
 * console.log(matchPatternList("a.example.com", "*.example.com,!b.example.com")); // 1
 * console.log(matchPatternList("b.example.com", "*.example.com,!b.example.com")); // -1
 * ```
 */
export function matchPatternList(
  text: string,
  patterns: string | readonly string[],
  lowercase = true,
): -1 | 0 | 1 {
  return matchPatternItems(text, splitPatternList(patterns), lowercase);
}

/**
 * {@link matchPatternList} over items already split, taken as they are (not trimmed, as
 * OpenSSH takes them: a known_hosts host field holds no spaces or tabs, and other white
 * space in it is part of a name there).
 *
 * @example
 * ```ts
 * import { matchPatternItems } from "./host_patterns.ts";
 * console.log(matchPatternItems("a.example.com", ["*.example.com", "!b.example.com"])); // 1
 * console.log(matchPatternItems("a.example.com", ["\u00a0a.example.com"])); // 0
 * ```
 */
export function matchPatternItems(
  text: string,
  items: readonly string[],
  lowercase = true,
): -1 | 0 | 1 {
  const s = lowercase ? asciiLowerCase(text) : text;
  let positive = false;
  for (const item of items) {
    const negated = item.startsWith("!");
    const pat = negated ? item.slice(1) : item;
    if (overlong(pat)) return 0;
    if (matchPattern(s, lowercase ? asciiLowerCase(pat) : pat)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** A parsed IP address: 4 or 16 bytes. */
export type IpBytes = Uint8Array;

/**
 * Parses an IPv4 or IPv6 address (IPv6 may use `::`, an embedded IPv4 tail and
 * a `%zone`, which is ignored). Returns undefined when it is not an address.
 *
 * @example
 * ```ts
 * import { parseIpAddress } from "./host_patterns.ts";
 * console.log(parseIpAddress("192.0.2.1")?.length, parseIpAddress("2001:db8::1")?.length); // 4 16
 * ```
 */
export function parseIpAddress(text: string): IpBytes | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    if (parts.some((x) => x > 255)) return undefined;
    return new Uint8Array(parts);
  }
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = halves.map((h) => (h === "" ? [] : h.split(":")));
  // An IPv4 tail ("::ffff:192.0.2.1") stands for the last two groups.
  const last = groups[groups.length - 1]!;
  if (last.length > 0 && last[last.length - 1]!.includes(".")) {
    const v4 = parseIpAddress(last.pop()!);
    if (!v4 || v4.length !== 4) return undefined;
    last.push(((v4[0]! << 8) | v4[1]!).toString(16), ((v4[2]! << 8) | v4[3]!).toString(16));
  }
  const head = groups[0]!;
  const tail = groups.length === 2 ? groups[1]! : [];
  const explicit = head.length + tail.length;
  if (groups.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const all = [...head, ...Array<string>(8 - explicit).fill("0"), ...tail];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    const w = parseInt(g, 16);
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  }
  return out;
}

/**
 * Parses `address[/masklen]`. Returns undefined when it is not an address
 * (OpenSSH then treats the item as a wildcard pattern) and "invalid" when it is
 * an address with a bad mask or host bits set (OpenSSH then fails the match).
 */
export function parseCidr(text: string): { net: IpBytes; bits: number } | "invalid" | undefined {
  const slash = text.indexOf("/");
  const addr = parseIpAddress(slash < 0 ? text : text.slice(0, slash));
  if (!addr) return undefined;
  let bits = addr.length * 8;
  if (slash >= 0) {
    const m = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(m)) return undefined;
    bits = Number(m);
    if (bits > addr.length * 8) return "invalid";
  }
  // Host bits must be zero ("10.0.0.1/8" is a mistake, not 10.0.0.0/8).
  for (let i = 0; i < addr.length * 8; i++) {
    if (i >= bits && (addr[i >> 3]! >> (7 - (i & 7))) & 1) return "invalid";
  }
  return { net: addr, bits };
}

function inNetwork(addr: IpBytes, net: IpBytes, bits: number): boolean {
  if (addr.length !== net.length) return false;
  for (let i = 0; i < bits; i++) {
    const m = 7 - (i & 7);
    if (((addr[i >> 3]! >> m) & 1) !== ((net[i >> 3]! >> m) & 1)) return false;
  }
  return true;
}

/**
 * OpenSSH's addr_match_list: matches an address against CIDR ranges or
 * wildcard patterns. 1 match, 0 none, -1 negated match, -2 a malformed range or an
 * empty item.
 *
 * @example
 * ```ts
 * import { matchAddressList } from "./host_patterns.ts";
 * console.log(matchAddressList("192.0.2.7", "10.0.0.0/8,192.0.2.0/24")); // 1
 * ```
 */
export function matchAddressList(
  addr: string,
  patterns: string | readonly string[],
): -2 | -1 | 0 | 1 {
  const a = parseIpAddress(addr);
  let result: -1 | 0 | 1 = 0;
  // An empty item ("10.0.0.0/8,", "a,,b") is malformed, as in OpenSSH: not skipped, so a
  // from= with a typo denies rather than allowing on what remains.
  for (const item of patternItems(patterns)) {
    if (item === "") return -2;
    const negated = item.startsWith("!");
    const pat = negated ? item.slice(1) : item;
    if (pat === "") return -2;
    const cidr = parseCidr(pat);
    if (cidr === "invalid") return -2;
    const hit = cidr
      ? a !== undefined && inNetwork(a, cidr.net, cidr.bits)
      : matchPattern(addr, pat);
    if (hit) {
      if (negated) return -1;
      result = 1;
    }
  }
  return result;
}

/** The longest item of a CIDR list OpenSSH reads: INET6_ADDRSTRLEN + 3 for "/128". */
const MAX_CIDR_ITEM = 46 + 3;

/**
 * OpenSSH's addr_match_cidr_list, how sshd reads a certificate's `source-address`: a
 * comma-separated list of addresses and CIDR ranges, nothing else. 1 when `addr` is in one
 * of them, 0 when in none, -2 when the list is malformed — an empty item, a blank, a
 * wildcard, a negation, a host name or a range with host bits set — which refuses every
 * client (it is not a `from=` pattern list).
 *
 * @example
 * ```ts
 * import { matchCidrList } from "./host_patterns.ts";
 * console.log(matchCidrList("10.1.2.3", "10.0.0.0/8,192.0.2.1")); // 1
 * console.log(matchCidrList("10.1.2.3", "10.*")); // -2
 * ```
 */
export function matchCidrList(addr: string, list: string): -2 | 0 | 1 {
  const a = parseIpAddress(addr);
  let result: 0 | 1 = 0;
  for (const item of list.split(",")) {
    const cidr = item.length <= MAX_CIDR_ITEM && /^[0-9a-fA-F.:/]+$/.test(item)
      ? parseCidr(item)
      : undefined;
    if (cidr === undefined || cidr === "invalid") return -2;
    if (a !== undefined && inNetwork(a, cidr.net, cidr.bits)) result = 1;
  }
  return result;
}

/**
 * OpenSSH's match_host_and_ip: true only when the host name or the address
 * matches a positive pattern and neither matches a negated one (nor is any
 * CIDR range malformed). This is how `from="..."` is evaluated.
 *
 * @example
 * ```ts
 * import { matchHostAndAddress } from "@sshts/ssh";
 * console.log(matchHostAndAddress("ci.example.com", "10.1.2.3", "*.example.com,!10.1.0.0/16")); // false
 * ```
 */
export function matchHostAndAddress(
  host: string,
  addr: string,
  patterns: string | readonly string[],
): boolean {
  const ip = matchAddressList(addr, patterns);
  if (ip === -2 || ip === -1) return false;
  const h = matchPatternList(host, patterns);
  if (h === -1) return false;
  return h === 1 || ip === 1;
}
