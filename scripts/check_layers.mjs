#!/usr/bin/env node
// Enforces the layer rules of DESIGN.md on the source tree, reading files as text:
//
// - imports point down only: core <- keys <- sftp/agent/config <- io <- mod.ts
//   (bench/, conformance/, examples/ and scripts/ may import anything);
// - the pure folders (core, keys, sftp, agent, config) use no runtime API:
//   no `node:*` import, `Deno.`, `Bun.`, `process.`, `Buffer`, `setTimeout`,
//   `setInterval` or `require(` outside comments and strings (test files
//   `*_test.ts` and `_test_*` helpers are exempt);
// - no import cycles among non-test modules (type-only imports count too).
//
// Usage: node scripts/check_layers.mjs   (exits 1 and lists the problems)
// As a library: checkLayers(files) with files = { "core/wire.ts": "source", ... }.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Rank of each layer: a file may import files of its own rank or lower. */
const RANKS = { core: 0, keys: 1, sftp: 2, agent: 2, config: 2, io: 3, "mod.ts": 4 };

/** Folders that may import anything (tools and tests against real peers). */
const FREE = new Set(["bench", "conformance", "examples", "scripts"]);

/** Folders that must not touch a runtime API. */
const PURE = new Set(["core", "keys", "sftp", "agent", "config"]);

/** Runtime APIs a pure folder must not use, found in code (not comments or strings). */
const RUNTIME_APIS = [
  { name: "Deno.", re: /(?<![\w$.])Deno\s*\./ },
  { name: "Bun.", re: /(?<![\w$.])Bun\s*\./ },
  { name: "process.", re: /(?<![\w$.])process\s*\./ },
  { name: "Buffer", re: /(?<![\w$.])Buffer\b/ },
  { name: "setTimeout", re: /(?<![\w$])setTimeout\b/ },
  { name: "setInterval", re: /(?<![\w$])setInterval\b/ },
  { name: "require(", re: /(?<![\w$.])require\s*\(/ },
];

/**
 * Whether `path` is a test file or test helper (exempt from the runtime rule and
 * from cycle detection): `*_test.ts`, or a `_test_*` helper such as `_test_util.ts`.
 *
 * @param {string} path
 * @returns {boolean}
 */
export function isTestFile(path) {
  const base = posix.basename(path);
  return /_test\.[cm]?[jt]s$/.test(base) || base.startsWith("_test_") || base.includes("_test_");
}

/**
 * The layer a file belongs to: a rank key of RANKS, "free", or undefined (not checked).
 *
 * @param {string} path
 * @returns {string | undefined}
 */
export function layerOf(path) {
  const top = path.split("/")[0] ?? "";
  if (path === "mod.ts") return "mod.ts";
  if (FREE.has(top)) return "free";
  return top in RANKS && path.includes("/") ? top : undefined;
}

/**
 * Blanks comments and the text of string and template literals (keeping
 * `${...}` expressions and line breaks), so code patterns match only in code.
 * Quotes stay, so import specifiers can still be read with {@link importsOf}
 * from the original source.
 *
 * @param {string} src
 * @returns {string}
 */
export function codeOnly(src) {
  let out = "";
  let i = 0;
  /** @type {number[]} */
  const braces = []; // template nesting: brace depth at each `${`
  let depth = 0;
  const blank = (s) => s.replace(/[^\n]/g, " ");
  while (i < src.length) {
    const c = src[i];
    const d = src[i + 1];
    if (c === "/" && d === "/") {
      const end = src.indexOf("\n", i);
      const j = end === -1 ? src.length : end;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      const j = end === -1 ? src.length : end + 2;
      out += blank(src.slice(i, j));
      i = j;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      out += c + blank(src.slice(i + 1, j)) + (src[j] === c ? c : "");
      i = src[j] === c ? j + 1 : j;
    } else if (c === "`" || (c === "}" && braces.length > 0 && braces.at(-1) === depth)) {
      // A template's text, from its start (or the end of a `${}`) to its end or next `${`.
      if (c === "}") {
        braces.pop();
        depth--;
      }
      let j = i + 1;
      while (j < src.length && src[j] !== "`" && !(src[j] === "$" && src[j + 1] === "{")) {
        j += src[j] === "\\" ? 2 : 1;
      }
      out += c + blank(src.slice(i + 1, j));
      if (j < src.length && src[j] === "$") {
        out += "${";
        depth++;
        braces.push(depth);
        i = j + 2;
      } else {
        if (j < src.length) out += "`";
        i = j + 1;
      }
    } else if (c === "/" && regexMayStart(out.slice(-64))) {
      // A regular expression literal: skip to its closing slash (outside a class).
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== "\n" && (inClass || src[j] !== "/")) {
        if (src[j] === "[") inClass = true;
        else if (src[j] === "]") inClass = false;
        j += src[j] === "\\" ? 2 : 1;
      }
      out += "/" + blank(src.slice(i + 1, j)) + (src[j] === "/" ? "/" : "");
      i = src[j] === "/" ? j + 1 : j;
    } else {
      if (c === "{") depth++;
      else if (c === "}") depth--;
      out += c;
      i++;
    }
  }
  return out;
}

/** Whether a `/` after `before` starts a regular expression (not a division). */
function regexMayStart(before) {
  const m = /(\S+)\s*$/.exec(before);
  if (!m) return true;
  const last = m[1];
  return /[(,=:[!&|?{};+\-*%<>~^]$/.test(last) ||
    /(^|[^\w$])(return|typeof|case|in|of)$/.test(last);
}

/**
 * The module specifiers `src` imports or re-exports (static, side-effect and
 * dynamic imports with a literal specifier), with their line numbers.
 *
 * @param {string} src
 * @returns {{ spec: string, line: number }[]}
 */
export function importsOf(src) {
  const code = codeOnly(src);
  const out = [];
  const re =
    /\b(?:import|export)\b[\s\w{},*$]*?\bfrom\s*(["'])|\bimport\s*(["'])|\bimport\s*\(\s*(["'])/g;
  for (let m; (m = re.exec(code));) {
    const start = m.index + m[0].length; // just after the opening quote
    const quote = m[1] ?? m[2] ?? m[3];
    const end = src.indexOf(quote, start);
    if (end === -1) continue;
    const line = src.slice(0, m.index).split("\n").length;
    out.push({ spec: src.slice(start, end), line });
  }
  return out;
}

/**
 * Checks a source tree. `files` maps repository-relative POSIX paths to their
 * text; only `.ts` files are checked. Returns one line per problem (empty when
 * the tree follows the rules).
 *
 * @param {Record<string, string>} files
 * @returns {string[]}
 */
export function checkLayers(files) {
  const problems = [];
  const paths = Object.keys(files).filter((p) => /\.[cm]?ts$/.test(p)).sort();
  /** @type {Map<string, string[]>} */
  const graph = new Map();
  for (const path of paths) {
    const src = files[path];
    const layer = layerOf(path);
    const test = isTestFile(path);
    const deps = [];
    for (const { spec, line } of importsOf(src)) {
      const where = `${path}:${line}`;
      if (spec.startsWith("node:")) {
        if (PURE.has(layer ?? "") && !test) {
          problems.push(`${where}: runtime API in pure folder ${layer}/: import "${spec}"`);
        }
        continue;
      }
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      const target = posix.normalize(posix.join(posix.dirname(path), spec));
      if (target in files) deps.push(target);
      const to = layerOf(target);
      if (
        layer !== undefined && layer !== "free" && to !== undefined && to !== "free" &&
        RANKS[to] > RANKS[layer]
      ) {
        problems.push(`${where}: upward import: ${layer} must not import ${to} ("${spec}")`);
      } else if (layer !== undefined && layer !== "free" && to === "free") {
        problems.push(`${where}: ${layer} must not import from ${target.split("/")[0]}/`);
      }
    }
    if (!test) graph.set(path, deps.filter((d) => !isTestFile(d)));
    if (PURE.has(layer ?? "") && !test) {
      const code = codeOnly(src).split("\n");
      code.forEach((text, n) => {
        for (const api of RUNTIME_APIS) {
          if (api.re.test(text)) {
            problems.push(`${path}:${n + 1}: runtime API in pure folder ${layer}/: ${api.name}`);
          }
        }
      });
    }
  }
  for (const cycle of findCycles(graph)) problems.push(`import cycle: ${cycle.join(" -> ")}`);
  return problems;
}

/**
 * The import cycles of a module graph: one per strongly connected set of modules
 * (Tarjan's algorithm), each as a path from its first module back to it.
 *
 * @param {Map<string, string[]>} graph
 * @returns {string[][]}
 */
export function findCycles(graph) {
  const index = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const sets = [];
  let next = 0;
  for (const root of [...graph.keys()].sort()) {
    if (index.has(root)) continue;
    // Iterative DFS: deep trees must not overflow the call stack.
    const work = [[root, 0]];
    index.set(root, next);
    low.set(root, next++);
    stack.push(root);
    onStack.add(root);
    while (work.length) {
      const top = work[work.length - 1];
      const node = top[0];
      const deps = (graph.get(node) ?? []).filter((d) => graph.has(d));
      if (top[1] < deps.length) {
        const dep = deps[top[1]++];
        if (!index.has(dep)) {
          index.set(dep, next);
          low.set(dep, next++);
          stack.push(dep);
          onStack.add(dep);
          work.push([dep, 0]);
        } else if (onStack.has(dep)) {
          low.set(node, Math.min(low.get(node), index.get(dep)));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(node)));
      }
      if (low.get(node) === index.get(node)) {
        const set = [];
        let m;
        do {
          m = stack.pop();
          onStack.delete(m);
          set.push(m);
        } while (m !== node);
        const selfLoop = (graph.get(node) ?? []).includes(node);
        if (set.length > 1 || selfLoop) sets.push(set);
      }
    }
  }
  return sets.map((set) => cyclePath(graph, new Set(set)));
}

/** A path through `members` (one strongly connected set) from its first module back to it. */
function cyclePath(graph, members) {
  const start = [...members].sort()[0];
  const prev = new Map([[start, ""]]);
  const queue = [start];
  while (queue.length) {
    const node = queue.shift();
    for (const dep of graph.get(node) ?? []) {
      if (!members.has(dep)) continue;
      if (dep === start) {
        const path = [start];
        for (let n = node; n !== start; n = prev.get(n)) path.splice(1, 0, n);
        return [...path, start];
      }
      if (!prev.has(dep)) {
        prev.set(dep, node);
        queue.push(dep);
      }
    }
  }
  return [start, start];
}

const SKIP_DIRS = new Set(["node_modules", ".git", ".cache", "results"]);

/**
 * Reads every `.ts` file under `root` into a map for {@link checkLayers}.
 *
 * @param {string} root
 * @returns {Record<string, string>}
 */
export function readTree(root) {
  /** @type {Record<string, string>} */
  const files = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (SKIP_DIRS.has(name)) continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.[cm]?ts$/.test(name)) {
        files[relative(root, p).split("\\").join("/")] = readFileSync(p, "utf8");
      }
    }
  };
  walk(root);
  return files;
}

/** The repository root (this script lives in scripts/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = readTree(REPO_ROOT);
  const problems = checkLayers(files);
  for (const p of problems) console.error(p);
  console.log(
    problems.length
      ? `check_layers: ${problems.length} problem(s) in ${Object.keys(files).length} files`
      : `check_layers: ${Object.keys(files).length} files follow the layer rules`,
  );
  process.exit(problems.length ? 1 : 0);
}
