/**
 * glob(3) with GLOB_TILDE for `Include`, over an injected directory listing:
 * `*`, `?` and `[...]` per path component (a leading dot must be matched
 * explicitly), backslash escapes, sorted results, only paths that exist.
 *
 * @module
 */

/** What the glob needs to look at (byte-string paths). */
export interface GlobIO {
  readDir(path: string): Promise<readonly string[] | undefined>;
  exists(path: string): Promise<boolean>;
  /** $HOME, or the user's home directory. */
  readonly home: string;
  userHome(user: string): string | undefined;
}

/** Most directory entries one glob may produce (a hostile tree cannot make it unbounded). */
const MAX_GLOB_RESULTS = 4096;

function hasMagic(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "\\") {
      i++;
      continue;
    }
    if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/** PATH_MAX: OpenSSH's glob() matches nothing for a pattern this long or longer. */
const PATH_MAX = 4096;

/** The `[:name:]` classes of OpenBSD glob's charclass.h, over byte values (the C locale). */
const CLASSES: Readonly<Record<string, (c: number) => boolean>> = {
  alnum: (c) => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a),
  alpha: (c) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a,
  blank: (c) => c === 0x20 || c === 0x09,
  cntrl: (c) => c < 0x20 || c === 0x7f,
  digit: (c) => c >= 0x30 && c <= 0x39,
  graph: (c) => c > 0x20 && c < 0x7f,
  lower: (c) => c >= 0x61 && c <= 0x7a,
  print: (c) => c >= 0x20 && c < 0x7f,
  punct: (c) =>
    c > 0x20 && c < 0x7f &&
    !((c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a)),
  space: (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d),
  upper: (c) => c >= 0x41 && c <= 0x5a,
  xdigit: (c) => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66),
};

/** One member of a `[...]` set: a range of bytes, or a character class. */
type SetItem = { readonly lo: number; readonly hi: number } | {
  readonly cls: (c: number) => boolean;
};

/** One element of a compiled component, as OpenBSD glob0 compiles it. */
type GlobToken =
  | { readonly kind: "star" }
  | { readonly kind: "one" }
  | { readonly kind: "char"; readonly c: number }
  | { readonly kind: "set"; readonly negate: boolean; readonly items: readonly SetItem[] };

/** A compiled component; `truncated` when OpenBSD glob's `[:alnum:]` quirk ends the pattern there. */
interface Compiled {
  readonly toks: readonly GlobToken[];
  readonly truncated: boolean;
}

/**
 * Compiles one path component as OpenBSD's glob0 (which OpenSSH uses on Linux): a backslash
 * protects the next character, `[` opens a set only when an unprotected `]` follows, `[!`
 * negates, `[:alpha:]` and the other classes, adjacent stars collapse. Undefined for an
 * unknown class (glob then matches nothing). Bug for bug, a set with `[:alnum:]` (class
 * number 0, stored as the string's terminating NUL) is the end of the whole pattern.
 */
export function compileComponent(pat: string): Compiled | undefined {
  const ch: number[] = [];
  const prot: boolean[] = [];
  for (let i = 0; i < pat.length; i++) {
    if (pat[i] === "\\") {
      ch.push(i + 1 < pat.length ? pat.charCodeAt(++i) : 0x5c);
      prot.push(true);
    } else {
      ch.push(pat.charCodeAt(i));
      prot.push(false);
    }
  }
  const n = ch.length;
  const is = (q: number, c: string) => q < n && !prot[q] && ch[q] === c.charCodeAt(0);
  const out: GlobToken[] = [];
  let q = 0;
  while (q < n) {
    const c = ch[q]!;
    const p = prot[q]!;
    q++;
    if (p) {
      out.push({ kind: "char", c });
      continue;
    }
    if (c === 0x2a) {
      if (out[out.length - 1]?.kind !== "star") out.push({ kind: "star" });
      continue;
    }
    if (c === 0x3f) {
      out.push({ kind: "one" });
      continue;
    }
    if (c !== 0x5b) {
      out.push({ kind: "char", c });
      continue;
    }
    const negate = is(q, "!");
    if (negate) q++;
    let closed = false;
    for (let k = q + 1; k < n && !closed; k++) closed = is(k, "]");
    if (q >= n || !closed) {
      // No closing bracket: a literal '['.
      if (negate) q--;
      out.push({ kind: "char", c });
      continue;
    }
    const items: SetItem[] = [];
    let alnum = false;
    let cc = ch[q]!;
    let cp = prot[q]!;
    q++;
    for (;;) {
      if (!cp && cc === 0x5b && is(q, ":")) {
        let err = 0;
        do {
          // g_charclass: the name runs to the next ':', which must be followed by ']'.
          let colon = q + 1;
          while (colon < n && !is(colon, ":")) colon++;
          if (colon >= n || !is(colon + 1, "]")) {
            err = 1;
            break;
          }
          const name = prot.slice(q + 1, colon).some((x) => x)
            ? undefined
            : String.fromCharCode(...ch.slice(q + 1, colon));
          const cls = name === undefined || !Object.hasOwn(CLASSES, name)
            ? undefined
            : CLASSES[name];
          if (cls === undefined) return undefined;
          if (name === "alnum") alnum = true;
          items.push({ cls });
          q = colon + 2;
          if (q >= n) break;
          cc = ch[q]!;
          cp = prot[q]!;
          q++;
        } while (!cp && cc === 0x5b && is(q, ":"));
        if (q >= n && err === 0) break; // the class used up the closing bracket
        if (!cp && cc === 0x5d) break;
      }
      if (is(q, "-") && q + 1 < n && !is(q + 1, "]")) {
        items.push({ lo: cc, hi: ch[q + 1]! });
        q += 2;
      } else items.push({ lo: cc, hi: cc });
      if (q >= n) break;
      cc = ch[q]!;
      cp = prot[q]!;
      q++;
      if (!cp && cc === 0x5d) break;
    }
    out.push({ kind: "set", negate, items });
    if (alnum) return { toks: out, truncated: true };
  }
  return { toks: out, truncated: false };
}

function tokenMatches(t: GlobToken, k: number): boolean {
  switch (t.kind) {
    case "one":
      return true;
    case "char":
      return t.c === k;
    case "set": {
      const ok = t.items.some((it) => "cls" in it ? it.cls(k) : it.lo <= k && k <= it.hi);
      return ok !== t.negate;
    }
    default:
      return false;
  }
}

/**
 * OpenBSD glob's match(): iterative, backtracking only to the last star (Russ Cox's
 * algorithm), so no pattern makes it recurse or go exponential.
 */
function matchCompiled(name: string, toks: readonly GlobToken[]): boolean {
  let n = 0, t = 0, nextN = -1, nextT = -1;
  for (;;) {
    if (t < toks.length) {
      const tok = toks[t]!;
      if (tok.kind === "star") {
        while (t < toks.length && toks[t]!.kind === "star") t++;
        if (t === toks.length) return true;
        if (n >= name.length) return false;
        nextN = n + 1;
        nextT = t - 1;
        continue;
      }
      if (n < name.length && tokenMatches(tok, name.charCodeAt(n))) {
        n++;
        t++;
        continue;
      }
    } else if (n >= name.length) return true;
    if (nextN < 0 || nextN > name.length) return false;
    t = nextT;
    n = nextN;
  }
}

/** fnmatch of one component, without the leading-dot rule (done by the caller). */
export function matchComponent(name: string, pat: string): boolean {
  const c = compileComponent(pat);
  return c !== undefined && matchCompiled(name, c.toks);
}

function tilde(pattern: string, io: GlobIO): string {
  if (pattern[0] !== "~") return pattern;
  const slash = pattern.indexOf("/");
  const name = slash < 0 ? pattern.slice(1) : pattern.slice(1, slash);
  const rest = slash < 0 ? "" : pattern.slice(slash);
  const home = name === "" ? io.home : io.userHome(name);
  return home === undefined ? pattern : home + rest;
}

/**
 * Expands `pattern`: matching paths in sorted order (empty when nothing
 * matches).
 */
export async function glob(pattern: string, io: GlobIO): Promise<string[]> {
  if (pattern.length >= PATH_MAX) return [];
  const p = tilde(pattern, io);
  if (!hasMagic(p)) {
    const path = unescape(p);
    return (await io.exists(path)) ? [path] : [];
  }
  const absolute = p.startsWith("/");
  const parts = p.split("/").filter((s, i) => s !== "" || i === 0);
  let bases: string[] = [absolute ? "/" : ""];
  for (let k = absolute ? 1 : 0; k < parts.length; k++) {
    const comp = parts[k]!;
    const magic = hasMagic(comp);
    const compiled = magic ? compileComponent(comp) : undefined;
    if (magic && compiled === undefined) return [];
    // The `[:alnum:]` quirk: the rest of the pattern, later components included, is gone.
    if (compiled?.truncated) k = parts.length;
    // A leading dot must be matched by a dot (escaped or not); readdir(3) also lists
    // "." and "..", which such a pattern matches as OpenSSH's glob does.
    const first = compiled?.toks[0];
    const dot = first?.kind === "char" && first.c === 0x2e;
    const next: string[] = [];
    for (const base of bases) {
      const join = (
        n: string,
      ) => (base === "" ? n : base.endsWith("/") ? base + n : `${base}/${n}`);
      if (compiled === undefined) {
        next.push(join(unescape(comp)));
        continue;
      }
      const entries = await io.readDir(base === "" ? "." : base);
      if (!entries) continue;
      const names = dot ? [".", ".."] : [];
      for (const e of entries) if (e !== "." && e !== "..") names.push(e);
      for (const e of names) {
        if (e.startsWith(".") && !dot) continue;
        if (matchCompiled(e, compiled.toks)) next.push(join(e));
        if (next.length > MAX_GLOB_RESULTS) break;
      }
    }
    bases = next;
    if (bases.length === 0) return [];
  }
  const out: string[] = [];
  for (const b of bases) if (await io.exists(b)) out.push(b);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
