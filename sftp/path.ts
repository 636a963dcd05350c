/**
 * POSIX path helpers for remote paths (SFTP paths always use "/"), and glob
 * patterns as `sftp` and the shell understand them: `*`, `?`, `[...]`, `\`.
 *
 * @module
 */

import { SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";

/**
 * Why `name`, from a server's directory listing, cannot be used as one component of a
 * local or remote path — or undefined when it can. A hostile server lists names such as
 * `../../.profile` to make a recursive download write outside its destination; OpenSSH's
 * `sftp` refuses any listed name with a "/" ("Server sent suspect path").
 *
 * @example
 * ```ts
 * import { unsafeEntryName } from "./path.ts";
 * console.log(unsafeEntryName("notes.txt")); // undefined
 * console.log(unsafeEntryName("../x")); // 'it contains "/"'
 * ```
 */
export function unsafeEntryName(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name === "." || name === "..") return `it is "${name}"`;
  if (name.includes("/")) return 'it contains "/"';
  if (name.includes("\0")) return "it contains a NUL";
  return undefined;
}

/**
 * Joins path parts with "/" (a part starting with "/" restarts from the root).
 *
 * @example
 * ```ts
 * import { joinPath } from "./path.ts";
 * console.log(joinPath("/srv", "drop", "a.txt")); // "/srv/drop/a.txt"
 * ```
 */
export function joinPath(...parts: string[]): string {
  let out = "";
  for (const p of parts) {
    if (p === "") continue;
    if (p.startsWith("/") || out === "") out = p;
    else out = out.endsWith("/") ? out + p : `${out}/${p}`;
  }
  return out;
}

/**
 * Normalizes a path: collapses "//" and ".", resolves ".." lexically (never
 * above the root for absolute paths; kept at the front of relative ones).
 *
 * @example
 * ```ts
 * import { normalizePath } from "./path.ts";
 * console.log(normalizePath("/a/./b/../../../c/")); // "/c"
 * ```
 */
export function normalizePath(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const body = out.join("/");
  return absolute ? `/${body}` : body || ".";
}

/**
 * A path ending in "/" that names more than the root ("d/", "a/b//") must name a directory
 * (or a link to one), as the system calls resolve it: returns the path without those
 * slashes, or undefined for a path that has none ("d"), and for "/", "//" and "".
 *
 * @example
 * ```ts
 * import { trailingSlashBase } from "./path.ts";
 * console.log(trailingSlashBase("a/b//"), trailingSlashBase("a/b"), trailingSlashBase("/")); // "a/b" undefined undefined
 * ```
 */
export function trailingSlashBase(path: string): string | undefined {
  if (!path.endsWith("/")) return undefined;
  const base = path.replace(/\/+$/, "");
  return base === "" ? undefined : base;
}

/**
 * Resolves `path` against the directory `cwd` (absolute) and normalizes it.
 *
 * @example
 * ```ts
 * import { resolvePath } from "./path.ts";
 * console.log(resolvePath("/home/me", "../you/x")); // "/home/you/x"
 * ```
 */
export function resolvePath(cwd: string, path: string): string {
  return normalizePath(path.startsWith("/") ? path : joinPath(cwd, path));
}

/**
 * The last component of a path ("" for "/").
 *
 * @example
 * ```ts
 * import { basename } from "./path.ts";
 * console.log(basename("/var/log/syslog")); // "syslog"
 * ```
 */
export function basename(path: string): string {
  const p = path.replace(/\/+$/, "");
  const i = p.lastIndexOf("/");
  return i < 0 ? p : p.slice(i + 1);
}

/**
 * Everything before the last component ("/" for "/x", "." for "x").
 *
 * @example
 * ```ts
 * import { dirname } from "./path.ts";
 * console.log(dirname("/var/log/syslog")); // "/var/log"
 * ```
 */
export function dirname(path: string): string {
  const p = path.replace(/\/+$/, "");
  const i = p.lastIndexOf("/");
  if (i < 0) return ".";
  if (i === 0) return "/";
  return p.slice(0, i);
}

/**
 * Whether `path` is `dir` or lies below it, compared as text (canonical paths, such as a
 * server's realpath, give the answer for the file system).
 *
 * @example
 * ```ts
 * import { isAtOrBelow } from "./path.ts";
 * console.log(isAtOrBelow("/srv/app/x", "/srv/app"), isAtOrBelow("/srv/apple", "/srv/app")); // true false
 * ```
 */
export function isAtOrBelow(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : dir + "/");
}

/**
 * Whether a path component holds glob characters (unescaped `*`, `?` or `[`).
 *
 * @example
 * ```ts
 * import { hasGlob } from "./path.ts";
 * console.log(hasGlob("*.log"), hasGlob("plain.txt")); // true false
 * ```
 */
export function hasGlob(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") i++;
    else if (c === "*" || c === "?" || c === "[") return true;
  }
  return false;
}

/**
 * Removes glob escapes ("\\*" becomes "*").
 *
 * @example
 * ```ts
 * import { unescapeGlob } from "./path.ts";
 * console.log(unescapeGlob("a\\*b")); // "a*b"
 * ```
 */
export function unescapeGlob(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/**
 * Compiles one path component's glob into a RegExp (`*` and `?` never match
 * "/"; a leading "." must be matched explicitly, as in the shell). A bracket range out of
 * order ("[z-a]") is a RangeError.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./path.ts";
 * const re = globToRegExp("*.[ch]");
 * console.log(re.test("main.c"), re.test(".hidden.c")); // true false
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i]!);
    } else if (c === "*") {
      re += "[^/]*";
    } else if (c === "?") {
      re += "[^/]";
    } else if (c === "[") {
      const end = findClassEnd(pattern, i);
      if (end < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, end);
      let negate = false;
      if (body.startsWith("!") || body.startsWith("^")) {
        negate = true;
        body = body.slice(1);
      }
      const cls = classBody(body);
      // A negated class never matches "/" (fnmatch's FNM_PATHNAME): "[!.]*" is one name.
      re += negate ? `[^/${cls}]` : `[${cls}]`;
      i = end;
    } else {
      re += escapeRe(c);
    }
  }
  const leadingDot = pattern.startsWith(".") || pattern.startsWith("\\.");
  try {
    return new RegExp(`^${leadingDot ? "" : "(?!\\.)"}${re}$`, "s");
  } catch {
    // A range out of order ("[z-a]"): the shell matches nothing with it; say which.
    throw new RangeError(`Invalid glob pattern "${pattern}": a bracket range is out of order`);
  }
}

function findClassEnd(p: string, open: number): number {
  let j = open + 1;
  if (p[j] === "!" || p[j] === "^") j++;
  if (p[j] === "]") j++; // a leading "]" is literal
  for (; j < p.length; j++) {
    if (p[j] === "\\") j++; // an escaped character, "]" too, is one member
    else if (p[j] === "]") return j;
  }
  return -1;
}

/**
 * A bracket expression's members as a RegExp class body: "\\x" is the character x (so
 * "[a\\-z]" is a, - and z, as the shell reads it), an unescaped "-" between two members
 * a range, and what a RegExp class would read otherwise ("\\", "]", "[", "^") escaped.
 */
function classBody(body: string): string {
  let out = "";
  for (let k = 0; k < body.length; k++) {
    let ch = body[k]!;
    let escaped = false;
    if (ch === "\\" && k + 1 < body.length) {
      ch = body[++k]!;
      escaped = true;
    }
    out += ch === "-" && !escaped ? "-" : /[\\\][^-]/.test(ch) ? `\\${ch}` : ch;
  }
  return out;
}

function escapeRe(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

/**
 * Directory entries one {@link expandGlob} reads, each directory it lists counting as one
 * more (OpenSSH's GLOB_LIMIT_READDIR): matches fan out, and links such as `a -> .` make
 * each further `/*` double the work, so a 70-byte pattern would otherwise never finish.
 */
export const GLOB_MAX_READDIR = 16384;
/**
 * Directories one {@link expandGlob} lists, as many as {@link GLOB_MAX_STAT} checks: each
 * costs at least what a check costs (an open, a read and a close; about 1 ms on a local
 * disk), where entries come in batches.
 */
export const GLOB_MAX_DIRECTORIES = 2048;
/**
 * Existence checks one {@link expandGlob} makes (OpenSSH's GLOB_LIMIT_STAT): a literal
 * last component after a glob costs one per directory matched before it.
 */
export const GLOB_MAX_STAT = 2048;
/**
 * Paths one {@link expandGlob} holds at once: its matches, or the directories the next
 * component is matched in (OpenSSH bounds them by their bytes alone). As many as the
 * entries it may read: a listing that was read whole is never refused for its matches.
 */
export const GLOB_MAX_MATCHES = GLOB_MAX_READDIR;
/**
 * Bytes of those paths (OpenSSH's GLOB_LIMIT_MALLOC is 64 KiB; ours is larger as a server's
 * `scp -f` had no limit): each component of a deep pattern makes every path longer.
 */
export const GLOB_MAX_PATH_BYTES = 1 << 20;

/** What {@link expandGlob} needs from a file system (remote or local). */
export interface GlobFileSystem {
  /**
   * Names in a directory (without "." and ".."), or null when it is not a readable
   * directory. A lazy iterable is read only as far as the expansion's limits allow, and
   * closed (`return()`) when the expansion stops early.
   */
  readdir(dir: string): Promise<Iterable<string> | AsyncIterable<string> | null>;
  /** Whether a path exists. */
  exists(path: string): Promise<boolean>;
}

/**
 * What expansions may still spend: directory entries read, directories listed and
 * existence checks, starting at {@link GLOB_MAX_READDIR}, {@link GLOB_MAX_DIRECTORIES}
 * and {@link GLOB_MAX_STAT}. One budget shared by several {@link expandGlob} calls holds
 * them all to one set of limits, as a server must for one command's many patterns (an
 * `scp -f` with a thousand `*\/*\/*` patterns would otherwise cost a thousand expansions).
 *
 * @example
 * ```ts
 * import { expandGlob, GlobBudget } from "./path.ts";
 * const fs = { readdir: async () => ["a", "b"], exists: async () => true };
 * const budget = new GlobBudget();
 * for (const p of ["/x/*", "/y/*"]) await expandGlob(p, fs, { budget });
 * console.log(budget.directories); // 2046: two directories listed of the 2048 allowed
 * ```
 */
export class GlobBudget {
  /** Directory entries left to read (each directory listed counts as one more). */
  readdir: number = GLOB_MAX_READDIR;
  /** Directories left to list. */
  directories: number = GLOB_MAX_DIRECTORIES;
  /** Existence checks left. */
  stat: number = GLOB_MAX_STAT;
}

/** Options of {@link expandGlob}. */
export interface GlobOptions {
  /** Stops the expansion (rejecting with the signal's reason) before its next directory or check. */
  readonly signal?: AbortSignal | undefined;
  /** Limits shared with other expansions (default: this expansion's own). */
  readonly budget?: GlobBudget | undefined;
}

/**
 * Expands a glob pattern against a file system: each "/"-separated component
 * with glob characters matches names in the directories found so far; the
 * others are taken literally. Returns the matching paths, sorted (an empty
 * list when nothing matches; a pattern without glob characters returns itself
 * if it exists). Like OpenSSH's glob, a matched directory that is a symbolic link
 * is searched too, within limits: over {@link GLOB_MAX_READDIR},
 * {@link GLOB_MAX_DIRECTORIES}, {@link GLOB_MAX_STAT} (per expansion, or per
 * {@link GlobBudget} shared by several), {@link GLOB_MAX_MATCHES} or {@link GLOB_MAX_PATH_BYTES} it
 * rejects with an {@link SFTPError} (SSH_FX_FAILURE) saying "Too many matches".
 *
 * @example
 * ```ts
 * import { expandGlob } from "./path.ts";
 * const tree: Record<string, string[]> = { "/logs": ["a.log", "b.txt", "c.log"] };
 * const fs = {
 *   readdir: async (d: string) => tree[d] ?? null,
 *   exists: async (p: string) => p in tree || Object.entries(tree).some(([d, n]) => n.some((x) => `${d}/${x}` === p)),
 * };
 * console.log(await expandGlob("/logs/*.log", fs)); // ["/logs/a.log", "/logs/c.log"]
 * ```
 */
export async function expandGlob(
  pattern: string,
  fs: GlobFileSystem,
  options: GlobOptions = {},
): Promise<string[]> {
  const signal = options.signal;
  const tooMany = (what: string) =>
    new SFTPError(SFTPStatus.FAILURE, `Too many matches: ${what}`, {
      path: pattern,
      operation: "glob",
    });
  const absolute = pattern.startsWith("/");
  const parts = pattern.split("/").filter((p) => p !== "");
  let bases = [absolute ? "/" : ""];
  let lastLiteral = true;
  const left = options.budget ?? new GlobBudget();
  for (const part of parts) {
    const next: string[] = [];
    let bytes = 0;
    const hold = (path: string) => {
      bytes += path.length;
      if (next.length >= GLOB_MAX_MATCHES) throw tooMany(`more than ${GLOB_MAX_MATCHES} paths`);
      if (bytes > GLOB_MAX_PATH_BYTES) {
        throw tooMany(`more than ${GLOB_MAX_PATH_BYTES} bytes of paths`);
      }
      next.push(path);
    };
    if (!hasGlob(part)) {
      const name = unescapeGlob(part);
      for (const b of bases) hold(b === "" ? name : joinPath(b, name));
      lastLiteral = true;
    } else {
      const re = globToRegExp(part);
      const readTooMany = () => tooMany(`more than ${GLOB_MAX_READDIR} directory entries read`);
      for (const b of bases) {
        signal?.throwIfAborted();
        if (--left.readdir < 0) throw readTooMany();
        if (--left.directories < 0) {
          throw tooMany(`more than ${GLOB_MAX_DIRECTORIES} directories listed`);
        }
        const names = await fs.readdir(b === "" ? "." : b);
        if (!names) continue;
        const found: string[] = [];
        for await (const n of names) {
          if (--left.readdir < 0) throw readTooMany();
          if (n !== "." && n !== ".." && re.test(n)) found.push(n);
          if (found.length > GLOB_MAX_MATCHES) throw tooMany(`more than ${GLOB_MAX_MATCHES} paths`);
        }
        for (const n of found.sort()) hold(b === "" ? n : joinPath(b, n));
      }
      lastLiteral = false;
    }
    bases = next;
    if (bases.length === 0) return [];
  }
  if (parts.length === 0) return [absolute ? "/" : "."];
  if (lastLiteral) {
    const out: string[] = [];
    for (const b of bases) {
      signal?.throwIfAborted();
      if (--left.stat < 0) throw tooMany(`more than ${GLOB_MAX_STAT} paths checked`);
      if (await fs.exists(b)) out.push(b);
    }
    return out;
  }
  return bases;
}
