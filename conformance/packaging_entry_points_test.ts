/**
 * The entry points: deno.json and package.json publish the same ones, each has a
 * `@module` doc with an example, and every entry point but "." (the runtime
 * adapters) bundles for the browser with no reference to a runtime API.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  bin,
  entryPoints,
  nodeHostTest,
  ROOT,
  run,
  runtimeReferences,
  tempDir,
} from "./packaging_helpers.ts";

/** Entry points that may use runtime APIs (sockets, files): only the top level. */
const RUNTIME_ENTRY_POINTS = new Set(["."]);

test("deno.json and package.json publish the same entry points, with types and import conditions, and deno.json maps them for doc examples", async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
    exports: Record<string, Record<string, string>>;
    types: string;
  };
  const entries = await entryPoints();
  assert.ok(entries.some((e) => e.name === "./core") && entries.some((e) => e.name === "./keys"));
  assert.deepEqual(Object.keys(pkg.exports), entries.map((e) => e.name));
  for (const { name, source } of entries) {
    const js = "./dist/" + source.slice(2).replace(/\.ts$/, ".js");
    assert.deepEqual(pkg.exports[name], {
      types: js.replace(/\.js$/, ".d.ts"),
      import: js,
      default: js,
    }, `package.json exports["${name}"]; run node scripts/build_npm.mjs --sync-exports`);
  }
  assert.equal(pkg.types, pkg.exports["."]!.types);
  // Doc examples import the package by name; deno.json maps those names to the sources.
  const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
    name: string;
    imports: Record<string, string>;
  };
  for (const { name, source } of entries) {
    const specifier = deno.name + (name === "." ? "" : name.slice(1));
    assert.equal(deno.imports[specifier], source, `deno.json imports["${specifier}"]`);
  }
});

test("every entry point has a @module doc with an example that imports the package", async () => {
  for (const { name, source } of await entryPoints()) {
    const text = await readFile(join(ROOT, source), "utf8");
    const doc = text.match(/^\/\*\*([\s\S]*?)\*\//)?.[1] ?? "";
    assert.match(doc, /@module/, `${source} starts with a @module doc`);
    assert.match(doc, /@example/, `${source}'s module doc has an example`);
    const specifier = name === "." ? "@sshts/ssh" : `@sshts/ssh/${name.slice(2)}`;
    assert.ok(doc.includes(`from "${specifier}"`), `${source}'s example imports "${specifier}"`);
  }
});

test("README.md's entry point table lists every entry point, and its links point into the package", async () => {
  const readme = await readFile(join(ROOT, "README.md"), "utf8");
  for (const { name } of await entryPoints()) {
    const specifier = name === "." ? "@sshts/ssh" : `@sshts/ssh/${name.slice(2)}`;
    assert.match(readme, new RegExp(`^\\| \`${specifier}\` +\\|`, "m"), `a row for ${specifier}`);
  }
  // The package holds dist/, LICENSE and README.md: a relative link to anything else is
  // dead on npm and JSR (the text names such files as being in the source repository).
  const links = [...readme.matchAll(/\]\(([^)#]+)[^)]*\)/g)].map((m) => m[1]!);
  assert.deepEqual(links.filter((l) => !/^[a-z]+:/.test(l) && l !== "LICENSE"), []);
});

for (const { name, source } of await entryPoints()) {
  if (RUNTIME_ENTRY_POINTS.has(name)) continue;
  nodeHostTest(
    `entry point "${name}" bundles for the browser with no node: import, Buffer, process, Deno or Bun`,
    { timeoutMs: 120_000 },
    async () => {
      const dir = await tempDir("bundle");
      try {
        const out = join(dir.path, "bundle.js");
        await run([bin("deno"), "bundle", "--platform", "browser", "-o", out, source]);
        const code = await readFile(out, "utf8");
        assert.ok(code.length > 1_000, `the bundle of ${source} has the library in it`);
        assert.deepEqual(runtimeReferences(code), [], `runtime references in ${name}'s bundle`);
      } finally {
        await dir.remove();
      }
    },
  );
}

test("runtimeReferences() finds runtime globals and ignores method names", async () => {
  const { runtimeReferences } = await import("./packaging_helpers.ts");
  assert.deepEqual(runtimeReferences("this.process(x); a.Buffer; process(v) {}"), []);
  assert.equal(runtimeReferences('import "node:net"').length, 1);
  assert.equal(runtimeReferences("const e = process.env").length, 1);
  assert.equal(runtimeReferences("Buffer.from(x)").length, 1);
  assert.equal(runtimeReferences("globalThis.process?.env").length, 1);
  assert.equal(runtimeReferences("Deno.connect()").length, 1);
});
