/**
 * The JSR package: `deno publish --dry-run` is clean (no slow types, no warnings)
 * and publishes exactly the library (the module graph of the entry points, plus
 * README.md, LICENSE and deno.json); and those files, with their bare specifiers
 * rewritten through deno.json's import map as JSR does on publish, work from a
 * script outside the repository under Deno with no configuration.
 *
 * Runs under Node only (see packaging_helpers.ts).
 */
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bin, entryPoints, nodeHostTest, ROOT, run, tempDir } from "./packaging_helpers.ts";

let publishing: Promise<{ files: string[]; output: string }> | undefined;
/** `deno publish --dry-run` once per process: the files it would publish (relative paths). */
function dryRun(): Promise<{ files: string[]; output: string }> {
  publishing ??= (async () => {
    // --no-check: the static checks type-check the same graph (`deno check .`); publishing's
    // own checks (slow types, the file list, the license) still run. Saves about a minute.
    const r = await run([bin("deno"), "publish", "--dry-run", "--allow-dirty", "--no-check"], {
      timeoutMs: 240_000,
    });
    const output = r.stdout + r.stderr;
    const files = [...output.matchAll(/^\s+(file:\/\/\S+) \(/gm)]
      .map((m) => relative(ROOT, fileURLToPath(m[1]!)))
      .sort();
    return { files, output };
  })();
  return publishing;
}

/** Every local module the entry points import (their module graph), relative to the root. */
async function libraryGraph(): Promise<string[]> {
  const files = new Set<string>();
  for (const e of await entryPoints()) {
    const r = await run([bin("deno"), "info", "--json", e.source], { timeoutMs: 120_000 });
    const info = JSON.parse(r.stdout) as { modules: { specifier: string }[] };
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file:")) continue;
      const path = relative(ROOT, fileURLToPath(m.specifier));
      if (!path.startsWith("node_modules/")) files.add(path); // npm dependencies, not ours
    }
  }
  return [...files].sort();
}

nodeHostTest(
  "deno publish --dry-run is clean and publishes exactly the library, README.md, LICENSE and deno.json",
  { timeoutMs: 300_000 },
  async () => {
    const { files, output } = await dryRun();
    assert.doesNotMatch(output, /warning\[|error\[/, output);
    assert.match(output, /Dry run complete/);
    const expected = [...await libraryGraph(), "LICENSE", "README.md", "deno.json"].sort();
    // Modules the entry points do not reach may ship only if they are public-looking library
    // modules (a folder's mod.ts); private (_x.ts) ones are test helpers, and nothing from
    // tests, benchmarks, fixtures or tooling may ship.
    assert.deepEqual(
      files.filter((f) =>
        !expected.includes(f) &&
        (!/^(core|keys|io|sftp|agent|config)\/.+\.ts$/.test(f) ||
          /(^|\/)_|_test|testdata|testing\//.test(f))
      ),
      [],
      "published but not library files (add them to deno.json publish.exclude)",
    );
    assert.deepEqual(
      expected.filter((f) => !files.includes(f)),
      [],
      "library files missing from the publish list (publish.exclude drops them)",
    );
  },
);

/** Rewrites bare specifiers through an import map, as JSR does when it publishes. */
function rewriteBare(code: string, imports: Record<string, string>, fromFile: string): string {
  return code.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([@\w][\w@/.:-]*)\2/g,
    (m, head, q, spec: string) => {
      if (spec.startsWith("node:") || spec.startsWith("npm:") || spec.startsWith("jsr:")) return m;
      const key = Object.keys(imports)
        .filter((k) => k === spec || (k.endsWith("/") && spec.startsWith(k)))
        .sort((a, b) => b.length - a.length)[0];
      assert.ok(key !== undefined, `${fromFile}: "${spec}" is not in deno.json "imports"`);
      let target = imports[key]! + spec.slice(key.length);
      if (target.startsWith("./")) {
        target = relative(dirname(fromFile), target.slice(2)) || ".";
        if (!target.startsWith(".")) target = "./" + target;
      }
      return `${head}${q}${target}${q}`;
    },
  );
}

nodeHostTest(
  "the published files run from a script outside the repository under Deno, with no configuration",
  { timeoutMs: 300_000 },
  async () => {
    const { files } = await dryRun();
    const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
      imports: Record<string, string>;
    };
    const pkg = await tempDir("jsr-package");
    const user = await tempDir("jsr-user");
    try {
      for (const f of files) {
        await mkdir(dirname(join(pkg.path, f)), { recursive: true });
        if (!f.endsWith(".ts")) {
          await copyFile(join(ROOT, f), join(pkg.path, f));
          continue;
        }
        const code = await readFile(join(ROOT, f), "utf8");
        // Only code, not examples in comments: JSR rewrites the module graph's imports.
        const rewritten = code.split(/(\/\*[\s\S]*?\*\/)/).map((part) =>
          part.startsWith("/*") ? part : rewriteBare(part, deno.imports, f)
        ).join("");
        await writeFile(join(pkg.path, f), rewritten);
      }
      const modUrl = pathToFileURL(join(pkg.path, "mod.ts")).href;
      const script = join(user.path, "main.ts");
      await writeFile(
        script,
        `import { addKnownHost, connect, generatePrivateKey, hostKeyFromSSHKey, listen } from "${modUrl}";
const hostKey = generatePrivateKey("ed25519");
await using server = await listen({
  port: 0,
  host: "127.0.0.1",
  hostKeys: [hostKeyFromSSHKey(hostKey)],
  validatePassword: (user, password) => user === "demo" && password === "demo",
  processFactory: async (p) => { await p.write("ran " + p.command + "\\n"); },
});
const { port } = server.address;
await using conn = await connect("127.0.0.1", {
  port,
  username: "demo",
  password: "demo",
  knownHosts: { text: addKnownHost("", "127.0.0.1", port, hostKey.publicKey()) },
});
console.log((await conn.run("outside")).stdout.trim());
`,
      );
      const r = await run([bin("deno"), "run", "-A", "--no-config", script], {
        cwd: user.path,
        timeoutMs: 180_000,
      });
      assert.equal(r.stdout.trim(), "ran outside");
    } finally {
      await pkg.remove();
      await user.remove();
    }
  },
);
