/**
 * OpenSSH's pattern language for `Host` lines, `Match` criteria and algorithm
 * lists, exactly as `match.c` implements it: `*` matches any run of bytes, `?`
 * one byte, everything else itself (case-sensitively unless said otherwise); a
 * pattern list is comma-separated, and a `!`-negated entry that matches vetoes
 * the whole list. An empty entry matches only the empty string; there is no
 * escape character and no `[...]` class.
 *
 * The functions take and return ordinary strings; non-ASCII text is compared
 * as its UTF-8 bytes, as OpenSSH does (so `?` matches one byte of "é").
 *
 * @module
 */

import { lower, toBytes } from "./_bytes.ts";

/** Longest sub-pattern `match_pattern_list` considers (its buffer is 1024 bytes). */
const MAX_SUBPATTERN = 1023;

/** match_pattern over byte strings; iterative, with backtracking to the last star. */
export function matchPatternBytes(s: string, pattern: string): boolean {
  let si = 0, pi = 0, star = -1, mark = 0;
  while (si < s.length) {
    const c = pattern[pi];
    if (c === "*") {
      while (pattern[pi] === "*") pi++;
      if (pi === pattern.length) return true;
      star = pi;
      mark = si;
    } else if (c !== undefined && (c === "?" || c === s[si])) {
      pi++;
      si++;
    } else if (star >= 0) {
      pi = star;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[pi] === "*") pi++;
  return pi === pattern.length;
}

/** match_pattern_list over byte strings: 1, 0, or -1 for a negated match. */
export function matchPatternListBytes(s: string, list: string, dolower: boolean): -1 | 0 | 1 {
  let positive = false;
  let i = 0;
  const len = list.length;
  while (i < len) {
    let negated = false;
    if (list[i] === "!") {
      negated = true;
      i++;
    }
    let end = list.indexOf(",", i);
    if (end < 0) end = len;
    let sub = list.slice(i, end);
    if (sub.length >= MAX_SUBPATTERN) return 0;
    i = end < len ? end + 1 : end;
    if (dolower) sub = lower(sub);
    if (matchPatternBytes(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/**
 * Whether `text` matches one OpenSSH pattern (`*` and `?` wildcards).
 *
 * @example
 * ```ts
 * import { matchPattern } from "@sshts/ssh/config";
 * console.log(matchPattern("web1.example.com", "web?.example.*")); // true
 * console.log(matchPattern("Web1", "web1")); // false: patterns are case-sensitive
 * ```
 */
export function matchPattern(text: string, pattern: string): boolean {
  return matchPatternBytes(toBytes(text), toBytes(pattern));
}

/**
 * OpenSSH's match_pattern_list: 1 when some entry of the comma-separated
 * `list` matches and no negated one does, -1 when a negated entry matches, 0
 * otherwise. With `lowercasePatterns` the patterns (not the text) are
 * lower-cased first.
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
  list: string,
  lowercasePatterns = false,
): -1 | 0 | 1 {
  return matchPatternListBytes(toBytes(text), toBytes(list), lowercasePatterns);
}

/**
 * OpenSSH's match_hostname: the host name and the patterns are compared in
 * lower case.
 *
 * @example
 * ```ts
 * import { matchHostname } from "@sshts/ssh/config";
 * console.log(matchHostname("DB1.Example.COM", "db?.example.com")); // 1
 * ```
 */
export function matchHostname(host: string, list: string): -1 | 0 | 1 {
  return matchPatternListBytes(lower(toBytes(host)), toBytes(list), true);
}

/**
 * Keeps the names of the comma-separated `names` that match (or, with
 * `deny`, that do not match) the pattern list `filter`.
 */
export function filterList(names: string, filter: string, deny: boolean): string {
  // As filter_list: a comma goes in only after a non-empty result.
  let out = "";
  for (const n of names.split(",")) {
    const r = matchPatternListBytes(n, filter, false);
    if ((deny && r !== 1) || (!deny && r === 1)) {
      if (out !== "") out += ",";
      out += n;
    }
  }
  return out;
}
