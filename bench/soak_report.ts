/**
 * The soak run's report (`bench/soak.ts`): a Markdown table and an SVG plot from the run's data.
 * Also a script that renders a saved run again:
 * `node_modules/.bin/node bench/soak_report.ts bench/results/soak-node-….json` rewrites the
 * `.md` and `.svg` beside it.
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** One sample of the server's state. */
export interface Sample {
  t: number;
  rss: number;
  heap: number;
  external: number;
  connections: number;
  connectionsTotal: number;
  closedBy: Record<string, number>;
}

/** What a soak run records. */
export interface SoakData {
  runtime: string;
  version?: string;
  workers: number;
  seconds: number;
  sampleMs?: number;
  startedAt: string;
  rekeys: number;
  samples: Sample[];
  ops: Record<
    string,
    {
      count: number;
      ok: number;
      latencies: number[];
      errors: Record<string, number>;
      bytes: number;
    }
  >;
}

/** Why each way a server connection ended is expected under this workload. */
const EXPLAINED: Record<string, string> = {
  clean: "closed by the client with DISCONNECT (login, exec, bulk, forward connections)",
  ERR_BY_APPLICATION: "the client's DISCONNECT (by application)",
  ERR_PEER_DISCONNECTED: "the client's DISCONNECT (login, exec, bulk, forward connections)",
  ERR_CONNECTION_LOST: "`abrupt` drops the socket; `bad` stalls and leaves",
  ERR_VERSION: "`bad` sends garbage instead of an identification line",
  ERR_PACKET_LENGTH: "`bad` sends garbage after its identification line",
  ERR_PADDING: "`bad` garbage after the identification line",
  ERR_PROTOCOL: "`bad` garbage after the identification line",
  ERR_WIRE_TRUNCATED: "`bad` garbage after the identification line",
  ERR_WIRE_MALFORMED: "`bad` garbage after the identification line",
  ERR_WIRE_LIMIT: "`bad` garbage after the identification line",
  ERR_KEX_FAILED: "`bad` garbage parsed as a KEXINIT",
  ERR_PERMISSION_DENIED: "`bad` logs in with a wrong password",
};

const pct = (xs: readonly number[], p: number) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "-");
const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/** Warm-up: the first fifth of the run (6 minutes of 30), at least one sample. */
function warmupSeconds(d: SoakData): number {
  return d.seconds / 5;
}

/** Renders the report: Markdown, SVG, and the number of unexplained errors. */
export function renderSoak(d: SoakData): { table: string; svg: string; unexplained: number } {
  const samples = d.samples;
  const last = samples.at(-1)!;
  const sampleMs = d.sampleMs ??
    (samples.length > 2 ? Math.round((samples[2]!.t - samples[1]!.t) * 1000) : 0);
  const lines: string[] = [];
  lines.push(
    `Soak run: ${d.runtime}${d.version ? ` ${d.version}` : ""}, ${d.workers} workers, ${
      f1(d.seconds / 60)
    } min from ${d.startedAt}; ${last.connectionsTotal} server connections, ${d.rekeys} client-side rekeys on the bulk connections.`,
    "",
    "| operation | count | per s | p50 ms | p99 ms | MB/s (all workers) | errors |",
    "| :-- | --: | --: | --: | --: | --: | :-- |",
  );
  let unexplained = 0;
  for (const [o, s] of Object.entries(d.ops)) {
    const errs = Object.entries(s.errors).map(([k, v]) => `${k} ×${v}`).join(", ") || "0";
    unexplained += Object.values(s.errors).reduce((a, b) => a + b, 0);
    lines.push(
      `| ${o} | ${s.count} | ${f1(s.count / d.seconds)} | ${f1(pct(s.latencies, 50))} | ${
        f1(pct(s.latencies, 99))
      } | ${s.bytes ? f1(s.bytes / 1e6 / d.seconds) : "-"} | ${errs} |`,
    );
  }
  lines.push("", "| server: connections ended by | count | why expected |", "| :-- | --: | :-- |");
  for (const [code, n] of Object.entries(last.closedBy).sort((a, b) => b[1] - a[1])) {
    const why = EXPLAINED[code];
    if (!why) unexplained += n;
    lines.push(`| ${code} | ${n} | ${why ?? "**unexplained**"} |`);
  }
  const warm = samples.filter((s) => s.t >= warmupSeconds(d));
  const rssW = warm.map((s) => s.rss);
  const heapW = warm.map((s) => s.heap);
  lines.push(
    "",
    `Server memory after a full collection, sampled every ${sampleMs / 1000} s: start ${
      mib(samples[0]!.rss)
    } MiB RSS, ${mib(samples[0]!.heap)} MiB heap; after warm-up (from ${
      f1((warm[0]?.t ?? 0) / 60)
    } min to the end) RSS ${mib(Math.min(...rssW))}–${mib(Math.max(...rssW))} MiB, heap ${
      mib(Math.min(...heapW))
    }–${mib(Math.max(...heapW))} MiB.`,
    "",
    "| minute | RSS MiB | heap MiB | open connections |",
    "| --: | --: | --: | --: |",
  );
  const step = Math.max(1, Math.round(samples.length / 12));
  for (let i = 0; i < samples.length; i += step) {
    const s = samples[i]!;
    lines.push(`| ${f1(s.t / 60)} | ${mib(s.rss)} | ${mib(s.heap)} | ${s.connections} |`);
  }
  if ((samples.length - 1) % step !== 0) {
    lines.push(
      `| ${f1(last.t / 60)} | ${mib(last.rss)} | ${mib(last.heap)} | ${last.connections} |`,
    );
  }
  lines.push("", `Unexplained errors: ${unexplained}.`);
  return { table: lines.join("\n"), svg: plot(d), unexplained };
}

function plot(d: SoakData): string {
  const samples = d.samples;
  const W = 720, H = 300, L = 50, R = 20, T = 26, B = 40;
  const tMax = Math.max(...samples.map((s) => s.t), 1) / 60;
  const yMax = Math.ceil(Math.max(...samples.map((s) => s.rss)) / 2 ** 20 / 40) * 40;
  const x = (t: number) => L + ((t / 60) / tMax) * (W - L - R);
  const y = (v: number) => H - B - (v / 2 ** 20 / yMax) * (H - T - B);
  const path = (k: "rss" | "heap") =>
    samples.map((s, i) => `${i ? "L" : "M"}${x(s.t).toFixed(1)},${y(s[k]).toFixed(1)}`).join(" ");
  const marks: string[] = [];
  for (let v = 0; v <= yMax; v += yMax / 4) {
    const yy = y(v * 2 ** 20).toFixed(1);
    marks.push(
      `<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#ddd"/>` +
        `<text x="${L - 6}" y="${Number(yy) + 4}" text-anchor="end" font-size="11">${v}</text>`,
    );
  }
  const tStep = tMax > 10 ? 5 : tMax > 2 ? 1 : 0.5;
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    marks.push(
      `<text x="${x(t * 60).toFixed(1)}" y="${
        H - B + 16
      }" text-anchor="middle" font-size="11">${t}</text>`,
    );
  }
  const wx = x(warmupSeconds(d)).toFixed(1);
  marks.push(
    `<line x1="${wx}" x2="${wx}" y1="${T}" y2="${H - B}" stroke="#999" stroke-dasharray="4 3"/>` +
      `<text x="${Number(wx) + 4}" y="${T + 12}" font-size="11" fill="#666">warm-up ends</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${marks.join("\n")}
<path d="${path("rss")}" fill="none" stroke="#d62728" stroke-width="2"/>
<path d="${path("heap")}" fill="none" stroke="#1f77b4" stroke-width="2"/>
<text x="${L}" y="${
    T - 10
  }" font-size="12">Server memory during the soak run (${d.runtime}), MiB after a full GC: <tspan fill="#d62728">RSS</tspan>, <tspan fill="#1f77b4">heap</tspan></text>
<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">minutes</text>
</svg>
`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file?.endsWith(".json")) {
    console.error("usage: soak_report.ts bench/results/soak-<runtime>-<time>.json");
    process.exit(2);
  }
  const d = JSON.parse(readFileSync(file, "utf8")) as SoakData;
  const { table, svg } = renderSoak(d);
  const base = file.slice(0, -".json".length);
  writeFileSync(`${base}.md`, table + "\n");
  writeFileSync(`${base}.svg`, svg);
  console.log(table);
}
