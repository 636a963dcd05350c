/**
 * One command from a fresh process: what a script that runs `ssh host true` through the
 * library costs its user, start to exit — the runtime's start, the import, connecting with
 * the default algorithms (against OpenSSH 9.2, `sntrup761x25519-sha512` for us and
 * OpenSSH's client, `curve25519-sha256` for ssh2, which lacks the hybrids), `exec true`,
 * closing. Nothing in the process is warm: every module is loaded, and every function
 * compiled, for the first time.
 *
 * Subjects: the npm package (`dist/`, built here with `scripts/build_npm.mjs`) on each
 * Node and on Bun, the sources on Deno (as JSR serves them), `ssh2` on each Node, and
 * OpenSSH's `ssh`. Each cell is the median over `--runs` fresh processes: wall time from
 * spawning to exit, and, for the JavaScript clients, the phases timed inside the process
 * (import, connect, exec and close).
 *
 * ```sh
 * node_modules/.bin/node bench/first_command.ts [--runs 9] [--no-build]
 * ```
 *
 * Benchmarks report; they never assert.
 *
 * @module
 */

import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import { opensshClientArgs, startPeer } from "../conformance/fixtures/mod.ts";
import { detectRuntimes, REPO_ROOT } from "./e2e/runtimes.ts";

const runsIndex = process.argv.indexOf("--runs");
const RUNS = runsIndex >= 0 ? Number(process.argv[runsIndex + 1]) : 9;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a positive whole number");

if (!process.argv.includes("--no-build")) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, "scripts", "build_npm.mjs")], {
    cwd: REPO_ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`build_npm failed:\n${r.stderr}`);
}

interface Target {
  host: string;
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

/** Our client: import the package, connect with defaults, run `true`, close; print phases. */
const oursCode = (module: string, t: Target) =>
  `const t0 = performance.now();
const { connect } = await import(${JSON.stringify(module)});
const t1 = performance.now();
const conn = await connect(${JSON.stringify(t.host)}, {
  port: ${t.port}, username: ${JSON.stringify(t.user)}, clientKeys: [${JSON.stringify(t.keyPath)}],
  knownHosts: ${JSON.stringify(t.knownHostsPath)}, config: false, agent: false,
});
const t2 = performance.now();
const r = await conn.run("true");
await conn.close();
if (r.exitStatus !== 0) throw new Error("exit " + r.exitStatus);
console.log(JSON.stringify({ import: t1 - t0, connect: t2 - t1, exec: performance.now() - t2 }));
`;

/** ssh2 alike: require, connect (its defaults), exec `true`, end. */
const ssh2Code = (t: Target) =>
  `import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const t0 = performance.now();
const { Client } = createRequire(${JSON.stringify(join(REPO_ROOT, "x.js"))})("ssh2");
const t1 = performance.now();
const c = new Client();
let t2 = 0;
c.on("ready", () => {
  t2 = performance.now();
  c.exec("true", (err, stream) => {
    if (err) throw err;
    stream.on("close", (code) => {
      if (code !== 0) throw new Error("exit " + code);
      console.log(JSON.stringify({ import: t1 - t0, connect: t2 - t1, exec: performance.now() - t2 }));
      c.end();
    });
    stream.resume();
  });
}).on("error", (e) => { throw e; }).connect({
  host: ${JSON.stringify(t.host)}, port: ${t.port}, username: ${JSON.stringify(t.user)},
  privateKey: readFileSync(${JSON.stringify(t.keyPath)}),
});
`;

interface Cell {
  wall: number;
  phases?: { import: number; connect: number; exec: number };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Runs `argv` RUNS times (after one untimed run that fills the disk cache); medians. */
function measure(argv: string[]): Cell {
  const walls: number[] = [];
  const phases: { import: number; connect: number; exec: number }[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { cwd: REPO_ROOT, encoding: "utf8" });
    const wall = performance.now() - t0;
    if (r.status !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr || r.stdout}`);
    if (i === 0) continue;
    walls.push(wall);
    const last = r.stdout.trim().split("\n").at(-1) ?? "";
    if (last.startsWith("{")) phases.push(JSON.parse(last));
  }
  return {
    wall: median(walls),
    ...(phases.length > 0
      ? {
        phases: {
          import: median(phases.map((p) => p.import)),
          connect: median(phases.map((p) => p.connect)),
          exec: median(phases.map((p) => p.exec)),
        },
      }
      : {}),
  };
}

const fixture = await startPeer("openssh");
const scratch = join(REPO_ROOT, ".cache", "first-command-bench");
mkdirSync(scratch, { recursive: true });
const rows: [string, Cell][] = [];
try {
  const key = fixture.clientKeys.find((k) => k.keyType === "ssh-ed25519") ?? fixture.clientKeys[0]!;
  const target: Target = {
    host: fixture.host,
    port: fixture.port,
    user: fixture.user.name,
    keyPath: key.privateKeyPath,
    knownHostsPath: fixture.knownHostsPath,
  };
  const script = (name: string, code: string) => {
    const file = join(scratch, name);
    writeFileSync(file, code);
    return file;
  };
  const dist = pathToFileURL(join(REPO_ROOT, "dist", "mod.js")).href;
  const sources = pathToFileURL(join(REPO_ROOT, "mod.ts")).href;
  const { runtimes } = detectRuntimes();
  for (const rt of runtimes) {
    const module = rt.id === "deno" ? sources : dist;
    const ours = script(`ours_${rt.id}.mjs`, oursCode(module, target));
    rows.push([
      `sshts, ${rt.label} (${rt.id === "deno" ? "sources" : "npm dist/"})`,
      measure(rt.command(ours)),
    ]);
    if (rt.id.startsWith("node")) {
      rows.push([
        `ssh2, ${rt.label}`,
        measure(rt.command(script(`ssh2_${rt.id}.mjs`, ssh2Code(target)))),
      ]);
    }
  }
  rows.push([
    "OpenSSH ssh",
    measure(["ssh", ...opensshClientArgs(fixture, { identity: key }), "true"]),
  ]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await fixture.stop();
}

const f = (x: number | undefined) => (x === undefined ? "—" : x.toFixed(1));
const header = ["client", "wall ms", "import", "connect", "exec + close"];
const cells = rows.map(([name, c]) => [
  name,
  f(c.wall),
  f(c.phases?.import),
  f(c.phases?.connect),
  f(c.phases?.exec),
]);
const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
const line = (r: string[]) =>
  `| ${r.map((c, i) => (i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
console.log(
  `\nOne command from a fresh process against ${fixture.version}, median of ${RUNS} (${
    new Date().toISOString()
  })\n`,
);
console.log(line(header));
console.log(
  `|${
    widths.map((w, i) => (i > 0 ? "-".repeat(w + 1) + ":" : ":" + "-".repeat(w + 1))).join("|")
  }|`,
);
for (const r of cells) console.log(line(r));
