/**
 * README.md's TypeScript blocks run as written, on Node, the client blocks against
 * the README's own server block, which must keep running until the test stops it.
 * (`npm test`'s static checks type-check them: `deno check --doc-only README.md`.) The only rewrites are the
 * package specifiers (to this checkout's entry points) and the example port 2222
 * (to a free one).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { pathToFileURL } from "node:url";
import { freePort } from "./fixtures/mod.ts";
import {
  bin,
  entryPoints,
  nodeHostTest,
  packageName,
  ROOT,
  run,
  tempDir,
} from "./packaging_helpers.ts";

const EXAMPLE_PORT = "2222";

/** The ```ts blocks of a Markdown text, in order. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

/** Points the package's specifiers at this checkout's entry point files. */
async function rewriteImports(code: string): Promise<string> {
  const name = await packageName();
  const entries = await entryPoints();
  return code.replace(/(["'])(@[\w-]+\/[\w-]+)(\/[\w/-]+)?\1/g, (m, q, pkg, sub) => {
    if (pkg !== name) return m;
    const entry = entries.find((e) => e.name === (sub ? "." + sub : "."));
    assert.ok(entry, `README imports ${pkg}${sub ?? ""}, which is not an entry point`);
    return q + pathToFileURL(join(ROOT, entry.source)).href + q;
  });
}

test("tsBlocks() finds fenced ts blocks and nothing else", () => {
  const md = "text\n```ts\nconst a = 1;\n```\n```sh\nls\n```\n```ts\nb();\n```\n";
  assert.deepEqual(tsBlocks(md), ["const a = 1;\n", "b();\n"]);
});

nodeHostTest(
  "README's ts blocks run: the server keeps running, the client logs in to it",
  { timeoutMs: 180_000 },
  async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const blocks = tsBlocks(readme);
    const name = await packageName();
    assert.ok(blocks.length >= 2, "README has a client and a server block");
    for (const b of blocks) assert.ok(b.includes(`from "${name}`), `imports ${name}:\n${b}`);
    const servers = blocks.filter((b) => /\blisten\(/.test(b));
    const clients = blocks.filter((b) => !/\blisten\(/.test(b));
    assert.equal(servers.length, 1, "one server block");
    assert.ok(clients.some((b) => b.includes("connect(")), "a client block");

    const dir = await tempDir("readme");
    let server: ReturnType<typeof spawn> | undefined;
    try {
      const port = String(await freePort());
      const prepare = async (b: string, file: string) => {
        const code = (await rewriteImports(b)).replaceAll(EXAMPLE_PORT, port);
        await writeFile(join(dir.path, file), code);
        return join(dir.path, file);
      };

      // Start the server block; it prints its known_hosts line and keeps running.
      const serverFile = await prepare(servers[0]!, "server.ts");
      server = spawn(bin("node"), [serverFile], {
        cwd: dir.path,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      let exited: number | null | undefined;
      server.stdout!.on("data", (c) => (output += c));
      server.stderr!.on("data", (c) => (output += c));
      server.on("exit", (code) => (exited = code));
      const knownHosts = await new Promise<string[]>((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`No known_hosts line:\n${output}`)),
          30_000,
        );
        const poll = setInterval(() => {
          const lines = output.split("\n").filter((l) =>
            /^\S+ (ssh|ecdsa)-\S+ [A-Za-z0-9+/=]+/.test(l)
          );
          if (lines.length > 0 || exited !== undefined) {
            clearTimeout(deadline);
            clearInterval(poll);
            if (lines.length > 0) resolve(lines);
            else reject(new Error(`The server block exited (${exited}):\n${output}`));
          }
        }, 50);
      });
      assert.ok(
        knownHosts[0]!.includes(`:${port}`),
        "the known_hosts line names the server's port",
      );
      await writeFile(join(dir.path, "known_hosts"), knownHosts.join("\n") + "\n");

      for (const [i, b] of clients.entries()) {
        const file = await prepare(b, `client${i}.ts`);
        const r = await run([bin("node"), file], { cwd: dir.path, timeoutMs: 60_000 });
        if (b.includes('conn.run("uname -a"')) {
          assert.match(r.stdout, /^0 you ran uname -a$/m, `client block output:\n${r.stdout}`);
          assert.match(r.stdout, /^hello$/m, `client block output (cat):\n${r.stdout}`);
        }
        if (b.includes("readLines(")) {
          assert.match(r.stdout, /^one\ntwo$/m, `client block output (readLines):\n${r.stdout}`);
          assert.match(
            r.stdout,
            /^\S+ SSH-2\.0-/m,
            `negotiated cipher, server version:\n${r.stdout}`,
          );
        }
      }

      // Without known_hosts the same client is refused: the trust is not implicit.
      const client = clients.find((b) => b.includes("knownHosts"))!;
      const file = await prepare(client, "client_untrusted.ts");
      await writeFile(join(dir.path, "known_hosts"), "");
      await assert.rejects(run([bin("node"), file], { cwd: dir.path }), /host key/i);

      assert.equal(exited, undefined, `the server block still runs:\n${output}`);
    } finally {
      server?.kill("SIGTERM");
      await dir.remove();
    }
  },
);
