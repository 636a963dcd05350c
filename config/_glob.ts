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

/** fnmatch of one component, without FNM_PERIOD handling (done by the caller). */
export function matchComponent(name: string, pat: string): boolean {
  const memo = new Map<number, boolean>();
  const rec = (ni: number, pi: number): boolean => {
    const key = ni * (pat.length + 1) + pi;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    let r: boolean;
    if (pi >= pat.length) r = ni >= name.length;
    else {
      const c = pat[pi]!;
      if (c === "*") r = rec(ni, pi + 1) || (ni < name.length && rec(ni + 1, pi));
      else if (ni >= name.length) r = false;
      else if (c === "?") r = rec(ni + 1, pi + 1);
      else if (c === "[") {
        const cls = parseClass(pat, pi);
        if (!cls) r = name[ni] === "[" && rec(ni + 1, pi + 1);
        else r = cls.test(name[ni]!) && rec(ni + 1, cls.end);
      } else if (c === "\\" && pi + 1 < pat.length) {
        r = name[ni] === pat[pi + 1] && rec(ni + 1, pi + 2);
      } else r = name[ni] === c && rec(ni + 1, pi + 1);
    }
    memo.set(key, r);
    return r;
  };
  return rec(0, 0);
}

function parseClass(
  pat: string,
  start: number,
): { test: (c: string) => boolean; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (pat[i] === "!") {
    negate = true;
    i++;
  }
  const ranges: [string, string][] = [];
  let first = true;
  while (i < pat.length && (pat[i] !== "]" || first)) {
    first = false;
    let lo = pat[i]!;
    if (lo === "\\" && i + 1 < pat.length) lo = pat[++i]!;
    i++;
    if (pat[i] === "-" && i + 1 < pat.length && pat[i + 1] !== "]") {
      let hi = pat[i + 1]!;
      i += 2;
      if (hi === "\\" && i < pat.length) hi = pat[i++]!;
      ranges.push([lo, hi]);
    } else ranges.push([lo, lo]);
  }
  if (pat[i] !== "]") return undefined;
  return {
    test: (c) => ranges.some(([lo, hi]) => c >= lo && c <= hi) !== negate,
    end: i + 1,
  };
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
    const next: string[] = [];
    for (const base of bases) {
      const join = (
        n: string,
      ) => (base === "" ? n : base.endsWith("/") ? base + n : `${base}/${n}`);
      if (!hasMagic(comp)) {
        next.push(join(unescape(comp)));
        continue;
      }
      const entries = await io.readDir(base === "" ? "." : base);
      if (!entries) continue;
      for (const e of entries) {
        if (e === "." || e === "..") continue;
        if (e.startsWith(".") && !comp.startsWith(".")) continue;
        if (matchComponent(e, comp)) next.push(join(e));
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
