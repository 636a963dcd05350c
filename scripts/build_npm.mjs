#!/usr/bin/env node
// Builds the npm package: compiles every entry point listed in deno.json "exports" to
// JavaScript and declaration files (TypeScript's tsc, with rewriteRelativeImportExtensions
// turning "./x.ts" imports into "./x.js"), then bundles the JavaScript with esbuild into
// one file per entry point plus the chunks they share (dist/_chunks/), beside tsc's
// declaration files; and checks that package.json "exports" publishes the same entry
// points. `npm pack` runs it (prepack); the packaging tests run it too.
//
// Why bundle: Node's ES module loader costs about half a millisecond per module
// (resolve, read, compile, link), and the library is some 300 modules: importing it took
// 196 ms of a process's start on Node 24 against 87 ms as a bundle (measured
// 2026-12-05). Shared chunks (esbuild's code splitting) keep one copy of every module
// however many entry points a program imports, so a class is the same class through
// "@sshts/ssh" and "@sshts/ssh/keys". Names are kept (keepNames) for stack traces and
// `constructor.name`; nothing is minified.
//
// The runtime dependencies (@noble/*, pako) are bundled too: loaded as their own 60-odd
// modules they cost another 40-60 ms of every process's start on Node (import of
// dist/mod.js 197-240 ms against 153-171, 2026-12-06) and 20 ms on Bun. Their licences
// go into dist/THIRD_PARTY_LICENSES.txt. package.json depends on @noble/curves alone, whose
// types the declaration files name; the others are devDependencies (the sources' own), so a
// user's install does not fetch a second copy of what the bundle holds. @types/node is an
// optional peer: the main entry point's declarations name node:net types.
//
// deno.json "exports" is the one list of entry points: adding "./sftp": "./sftp/mod.ts"
// there is the whole change for the build, the JSR publish and the packaging checks;
// `node scripts/build_npm.mjs --sync-exports` then rewrites package.json "exports" and the
// package's own specifiers in deno.json "imports" from it (the build and the entry point
// test fail, printing the expected block, until they agree).
//
// Plain JavaScript on purpose: npm runs prepack with the machine's Node (20+).
//
// Usage: node scripts/build_npm.mjs [--sync-exports] [--out DIR]
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The build directory `package.json` "files" and "exports" point into. */
export const DIST = "dist";

/**
 * Entry points from deno.json: [{ name: "./core", source: "./core/mod.ts" }, ...].
 * @returns {{ name: string, source: string }[]}
 */
export function entryPoints() {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const exp = typeof deno.exports === "string" ? { ".": deno.exports } : deno.exports;
  return Object.entries(exp).map(([name, source]) => ({ name, source }));
}

/** What package.json "exports" must say for the entry points in deno.json. */
export function expectedPackageExports() {
  const out = {};
  for (const { name, source } of entryPoints()) {
    const js = `./${DIST}/${source.replace(/^\.\//, "").replace(/\.ts$/, ".js")}`;
    out[name] = { types: js.replace(/\.js$/, ".d.ts"), import: js, default: js };
  }
  return out;
}

/** What deno.json "imports" must map the package's own specifiers to (for doc examples). */
export function expectedSelfImports() {
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
  const out = {};
  for (const { name, source } of entryPoints()) {
    out[deno.name + (name === "." ? "" : name.slice(1))] = source;
  }
  return out;
}

// deno.json maps "@sshts/ssh", "@sshts/ssh/core", ... to the entry point sources, so the
// doc examples import the package by name and run against this checkout.
function checkSelfImports(sync) {
  const denoPath = join(root, "deno.json");
  const deno = JSON.parse(readFileSync(denoPath, "utf8"));
  const want = expectedSelfImports();
  const imports = deno.imports ?? {};
  const own = Object.fromEntries(
    Object.entries(imports).filter(([k]) => k === deno.name || k.startsWith(deno.name + "/")),
  );
  if (JSON.stringify(own) === JSON.stringify(want)) return;
  if (sync) {
    const others = Object.entries(imports).filter(([k]) => !(k in own));
    deno.imports = Object.fromEntries([...others, ...Object.entries(want)]);
    writeFileSync(denoPath, JSON.stringify(deno, null, 2) + "\n");
    console.error("build_npm: deno.json imports of the package's own entry points rewritten");
    return;
  }
  throw new Error(
    'build_npm: deno.json "imports" does not map the package\'s entry points; run ' +
      "`node scripts/build_npm.mjs --sync-exports` or add:\n" + JSON.stringify(want, null, 2),
  );
}

function checkPackageExports(sync) {
  checkSelfImports(sync);
  const pkgPath = join(root, "package.json");
  const pkgText = readFileSync(pkgPath, "utf8");
  const pkg = JSON.parse(pkgText);
  const want = expectedPackageExports();
  if (JSON.stringify(pkg.exports) === JSON.stringify(want)) return;
  if (sync) {
    pkg.exports = want;
    writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + "\n");
    console.error("build_npm: package.json exports rewritten from deno.json");
    return;
  }
  throw new Error(
    'build_npm: package.json "exports" does not match deno.json\'s entry points; run ' +
      "`node scripts/build_npm.mjs --sync-exports` or set it to:\n" +
      JSON.stringify(want, null, 2),
  );
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

// Relative module specifiers ending in .ts in import/export/import() forms.
const TS_SPECIFIER =
  /((?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g;

/** Where the chunks shared by the entry points go, under the build directory. */
export const CHUNKS = "_chunks";

/**
 * Bundles tsc's JavaScript in `staged` into `outDir`: each entry point at its own path
 * (what package.json "exports" names), the modules several of them use in shared chunks.
 * Node built-ins, `bun:` modules and the dependencies stay imports.
 */
async function bundle(staged, outDir) {
  let esbuild;
  try {
    esbuild = await import("esbuild");
  } catch {
    throw new Error("build_npm: esbuild is missing; run npm install");
  }
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: entryPoints().map((e) => join(staged, e.source.replace(/\.ts$/, ".js"))),
    outbase: staged,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["node:*", "bun:*"],
    metafile: true,
    chunkNames: `${CHUNKS}/chunk_[hash]`,
    keepNames: true,
    legalComments: "none",
    logLevel: "silent",
  });
  if (result.errors.length > 0 || result.warnings.length > 0) {
    const messages = [...result.errors, ...result.warnings].map((m) => m.text).join("\n");
    throw new Error(`build_npm: esbuild reported:\n${messages}`);
  }
  writeThirdPartyLicenses(Object.keys(result.metafile.inputs), outDir);
}

/** The Zlib licence, as zlib's sources carry it (for a package that names it but ships only another licence's text). */
const ZLIB_LICENSE =
  `The zlib code (C) 1995-2013 Jean-loup Gailly and Mark Adler, under the Zlib licence:

  This software is provided 'as-is', without any express or implied
  warranty.  In no event will the authors be held liable for any damages
  arising from the use of this software.

  Permission is granted to anyone to use this software for any purpose,
  including commercial applications, and to alter it and redistribute it
  freely, subject to the following restrictions:

  1. The origin of this software must not be misrepresented; you must not
     claim that you wrote the original software. If you use this software
     in a product, an acknowledgment in the product documentation would be
     appreciated but is not required.
  2. Altered source versions must be plainly marked as such, and must not be
     misrepresented as being the original software.
  3. This notice may not be removed or altered from any source distribution.`;

/** The licence file's name in the package: every bundled package's licence, whole. */
export const THIRD_PARTY_LICENSES = "THIRD_PARTY_LICENSES.txt";

/**
 * Writes the licences of the packages bundled from node_modules (their LICENSE files, and
 * the licence named in their package.json) into `outDir`; fails when one has no licence
 * file, since its notice must ship with the code.
 */
function writeThirdPartyLicenses(inputs, outDir) {
  // Each package directory once (the innermost node_modules/ names it: a nested copy, or a
  // second version, is a package of its own), sorted by name.
  const packageDirs = new Map();
  for (const input of inputs) {
    const m = input.match(/^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
    if (m) packageDirs.set(m[1], m[2]);
  }
  const ordered = [...packageDirs].sort((a, b) =>
    a[1].localeCompare(b[1]) || a[0].localeCompare(b[0])
  );
  const sections = ordered.map(([dir, name]) => {
    const pkgDir = join(root, dir);
    const meta = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    const file = readdirSync(pkgDir).find((f) => /^licen[cs]e(\.|$)/i.test(f));
    if (file === undefined) throw new Error(`build_npm: ${name} has no licence file to ship`);
    let text = readFileSync(join(pkgDir, file), "utf8").trim();
    const expression = String(meta.license).replace(/^\((.*)\)$/, "$1");
    // pako is "MIT AND Zlib" (its deflate and inflate are ports of zlib) but ships only its
    // MIT text: the Zlib licence, with zlib's authors, goes beside it.
    if (/\bZlib\b/.test(expression) && !/Permission is granted to anyone/.test(text)) {
      text += `\n\n${ZLIB_LICENSE}`;
    }
    return `${name} ${meta.version} (${expression})\n${"-".repeat(60)}\n${text}\n`;
  });
  const header = "Bundled into this package's dist/ files: the packages below, under their own " +
    "licences.\n\n";
  writeFileSync(join(outDir, THIRD_PARTY_LICENSES), header + sections.join("\n"));
}

/** Compiles the entry points into `outDir` (default dist/). Returns the files written. */
export async function build({ outDir = join(root, DIST), sync = false } = {}) {
  checkPackageExports(sync);
  const tsc = join(root, "node_modules", ".bin", "tsc");
  if (!existsSync(tsc)) {
    throw new Error("build_npm: node_modules/.bin/tsc is missing; run npm install");
  }
  const work = join(root, ".cache", "npm-build");
  mkdirSync(work, { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  // tsc writes every module here; the JavaScript goes on to esbuild, the declarations to
  // outDir as they are.
  const staged = join(work, "tsc-out");
  rmSync(staged, { recursive: true, force: true });
  const tsconfig = {
    compilerOptions: {
      // ES2022 runs on Node 20+, Bun, Deno and current browsers; tsc lowers `using`.
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      // DOM for WebAssembly and Web Streams types the code uses beside Node's.
      lib: ["ES2023", "ESNext.Disposable", "DOM", "DOM.Iterable", "DOM.AsyncIterable"],
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")],
      rewriteRelativeImportExtensions: true,
      declaration: true,
      noEmitOnError: true,
      outDir: staged,
      rootDir: root,
      strict: true,
      exactOptionalPropertyTypes: true,
      noUncheckedIndexedAccess: true,
      noImplicitOverride: true,
      erasableSyntaxOnly: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      newLine: "lf",
    },
    files: entryPoints().map((e) => join(root, e.source)),
  };
  const configPath = join(work, "tsconfig.json");
  writeFileSync(configPath, JSON.stringify(tsconfig, null, 2));
  const r = spawnSync(tsc, ["-p", configPath], { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`build_npm: tsc failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }
  const stagedFiles = walk(staged);
  for (const f of stagedFiles) {
    const text = readFileSync(f, "utf8");
    if (f.endsWith(".d.ts")) {
      // tsc rewrites extensions in JavaScript but leaves declaration files' imports as
      // written; point them at the emitted files so every TypeScript resolves them.
      const fixed = text.replace(TS_SPECIFIER, (_m, a, p, b) => `${a}${p}.js${b}`);
      if (fixed !== text) writeFileSync(f, fixed);
    } else if (f.endsWith(".js")) {
      // Doc comments keep their examples' imports as written; check the code only.
      const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
      const left = code.match(TS_SPECIFIER);
      if (left) throw new Error(`build_npm: ${relative(root, f)} still imports ${left[0]}`);
    } else {
      throw new Error(`build_npm: unexpected output ${relative(root, f)}`);
    }
  }
  for (const f of stagedFiles) {
    if (!f.endsWith(".d.ts")) continue;
    const to = join(outDir, relative(staged, f));
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(f, to);
  }
  await bundle(staged, outDir);
  const files = walk(outDir);
  for (const e of entryPoints()) {
    const js = join(outDir, e.source.replace(/\.ts$/, ".js"));
    if (!existsSync(js)) throw new Error(`build_npm: entry point ${e.name} not emitted`);
  }
  return files.map((f) => relative(outDir, f)).sort();
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const started = Date.now();
  try {
    const files = await build({
      sync: args.includes("--sync-exports"),
      ...(outIndex >= 0 ? { outDir: resolve(args[outIndex + 1]) } : {}),
    });
    // stderr: `npm pack --json` prints its JSON on stdout after prepack.
    console.error(
      `build_npm: ${files.length} files in ${DIST}/ (${
        ((Date.now() - started) / 1000).toFixed(1)
      }s)`,
    );
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
