/**
 * End-to-end benchmark: in one run, against one OpenSSH 9.2 `sshd` on loopback, it measures
 * bulk throughput (both directions, three cipher settings) and handshakes for OpenSSH's own
 * client, the `ssh2` npm package on every runtime, and this library on Node, Deno and Bun,
 * then prints absolute and ratio tables and writes every timing to `bench/results/`.
 *
 * Run: `node_modules/.bin/node bench/run.ts [--quick] [--only …] [--cipher …]` (also under
 * `deno run -A` and `bun`), or `npm run bench -- [options]`. See bench/README.md.
 *
 * Benchmarks report; they never assert speeds.
 *
 * @module
 */

import { join } from "node:path";
import process from "node:process";
import { conformanceAvailable, type PeerFixture, startPeer } from "../conformance/fixtures/mod.ts";
import { measureSubjects, type ResultRow } from "./e2e/measure.ts";
import { type BenchOptions, parseBenchOptions, USAGE } from "./e2e/options.ts";
import { type BenchReport, loadAverage, machineInfo, writeReport } from "./e2e/report.ts";
import { detectRuntimes, REPO_ROOT } from "./e2e/runtimes.ts";
import { killAllChildren } from "./e2e/spawn.ts";
import { planSubjects } from "./e2e/subjects.ts";
import { absoluteTable, cpuTable, notes, ratioTable } from "./e2e/table.ts";
import type { Target } from "./e2e/types.ts";

/** How the figures are taken, printed under the tables and stored in the JSON. */
const METHOD: Readonly<Record<string, string>> = {
  order: "Cell by cell: each handshake or cipher-and-direction cell is measured for every " +
    "subject before the next cell (each cell starting with the next subject in turn, every " +
    "other round backwards), so the figures a ratio compares are taken at most minutes apart.",
  throughput: "MB/s = 10^6 bytes/s; the median (or with --best the best) of --runs transfers, " +
    "each on a fresh connection. ↑ = client→server (`cat > /dev/null`), ↓ = server→client " +
    "(`head -c N /dev/zero`).",
  timing: "A transfer is timed from the remote command's start marker (it first echoes one to " +
    "stderr) arriving at the client until the channel closes (the `ssh` process exits, for " +
    "OpenSSH): process start, handshake and the server's session set-up are left out alike.",
  handshake: "Handshake: connect + key exchange + public-key auth (ed25519) + `exec true` + " +
    "close, sequential; median ms per round and rounds/s over the timed rounds, after the " +
    "warm-up rounds. OpenSSH's includes starting the `ssh` process.",
  nagle: "hs ms Nagle: the same with TCP_NODELAY off (ssh2's own socket); other subjects " +
    "choose themselves (sshts and OpenSSH set TCP_NODELAY).",
  ratios: "Ratio cells: vs OpenSSH / vs ssh2 on the same runtime; above 1 = better than the " +
    "baseline (throughput ÷ baseline; baseline handshake ms ÷ ours).",
};

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function targetOf(fixture: PeerFixture, options: BenchOptions): Target {
  const key = fixture.clientKeys.find((k) => k.name === "ed25519") ?? fixture.clientKeys[0];
  if (key === undefined) throw new Error("Cannot benchmark: the fixture has no client keys");
  return {
    host: fixture.host,
    port: fixture.port,
    user: fixture.user.name,
    keyPath: key.privateKeyPath,
    knownHostsPath: fixture.knownHostsPath,
    hostKeyBlobs: fixture.hostKeys.map((k) => k.publicKeyLine.split(/\s+/)[1] ?? ""),
    kex: options.kex,
  };
}

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2), join(REPO_ROOT, "bench", "results"));
  } catch (e) {
    process.stderr.write(`bench: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  const server = conformanceAvailable("openssh");
  if (!server.available) {
    log(`bench: cannot start the OpenSSH server fixture: ${server.reason}; ${server.hint}`);
    return 1;
  }
  const started = new Date();
  const startLoad = loadAverage();
  const { runtimes, missing } = detectRuntimes();
  for (const name of missing) log(`bench: runtime not found, left out: ${name}`);
  const plan = planSubjects(runtimes, options.only, options.profileDir);
  for (const u of plan.unavailable) log(`bench: ${u.name} left out: ${u.reason}`);
  if (plan.subjects.length === 0) {
    log("bench: nothing to measure (check --only)");
    return 2;
  }

  let fixture: PeerFixture | undefined;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    log("bench: interrupted; stopping workers and the server");
    killAllChildren();
    void (fixture?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const rows: ResultRow[] = [];
  try {
    const macs = [
      ...new Set(options.settings.flatMap((s) => (s.mac === undefined ? [] : [s.mac]))),
      "hmac-sha2-256",
    ];
    fixture = await startPeer("openssh", {
      ciphers: options.settings.map((s) => s.cipher),
      macs,
      logLevel: "INFO",
    });
    log(
      `bench: ${fixture.banner} on ${fixture.host}:${fixture.port}; ` +
        `${options.mib} MiB × ${options.runs} run(s), ${options.rounds} handshake rounds` +
        (options.quick ? " (quick)" : ""),
    );
    const target = targetOf(fixture, options);
    rows.push(...await measureSubjects(plan.subjects, target, options, log, () => interrupted));
    const spec = {
      rows,
      settings: options.settings,
      bulk: options.bulk,
      handshake: options.handshake,
    };
    const report: BenchReport = {
      startedAt: started.toISOString(),
      durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
      machine: machineInfo(startLoad),
      options,
      server: { banner: fixture.banner },
      method: METHOD,
      rows,
    };
    const path = writeReport(options.resultsDir, report);
    const m = report.machine;
    process.stdout.write(
      [
        "",
        `End-to-end benchmark, ${started.toISOString()} — ${m.cpuModel} × ${m.cpuCount}, ` +
        `load ${m.loadAverage.start}→${m.loadAverage.end}, runner ${m.runner}, ` +
        `server ${fixture.banner}` +
        (options.kex === undefined ? "" : `, kex ${options.kex.join(",")}`) +
        `; ${options.mib} MiB per transfer, ${options.stat} of ${options.runs} run(s); ` +
        `${options.rounds} handshake rounds`,
        "",
        absoluteTable(spec),
        "",
        ...(rows.some((r) => r.subject === "openssh" || r.subject === "ssh2") && rows.length > 1
          ? [ratioTable(spec), ""]
          : []),
        ...(cpuTable(spec) === "" ? [] : [cpuTable(spec), ""]),
        ...notes(spec),
        ...Object.values(METHOD).map((line) => `- ${line}`),
        "",
        `Results: ${path}`,
        "",
      ].join("\n"),
    );
    return 0;
  } finally {
    killAllChildren();
    await fixture?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

process.exitCode = await main().catch((e: unknown) => {
  log(`bench: ${e instanceof Error ? e.message : String(e)}`);
  return 1;
});
