/**
 * Renders result rows as two aligned Markdown tables: absolute figures, then ratios against
 * OpenSSH and against the `ssh2` package on the same runtime. Failed cells read `n/a (k)` with
 * the reason as footnote k; a row whose every cell failed for one reason says so in one line.
 *
 * @module
 */

import type { BulkCell, HandshakeCell, ResultRow } from "./measure.ts";
import { geometricMean } from "./stats.ts";
import type { CipherSetting, Direction } from "./types.ts";

/** What the tables show. */
export interface TableSpec {
  readonly rows: readonly ResultRow[];
  readonly settings: readonly CipherSetting[];
  readonly bulk: boolean;
  readonly handshake: boolean;
}

const ARROW: Record<Direction, string> = { upload: "↑", download: "↓" };

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function ratio(x: number): string {
  return x.toFixed(2);
}

/**
 * Aligns cells into a Markdown table; the first `left` columns are left-aligned. A row with
 * fewer cells than the header ends with its last cell unpadded (a reason spanning the rest).
 */
function render(header: readonly string[], body: readonly (readonly string[])[], left = 2): string {
  const full = body.filter((r) => r.length === header.length);
  const widths = header.map((h, i) =>
    Math.max(
      h.length,
      ...full.map((r) => r[i]!.length),
      ...body.filter((r) => i < r.length - 1).map((r) => r[i]!.length),
    )
  );
  const pad = (cell: string, i: number) =>
    i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!);
  const line = (cells: readonly string[]) =>
    cells.length === header.length
      ? `| ${cells.map(pad).join(" | ")} |`
      : `| ${[...cells.slice(0, -1).map(pad), cells[cells.length - 1]].join(" | ")} |`;
  const rule = `|${
    widths.map((w, i) => (i < left ? `:${"-".repeat(w + 1)}` : `${"-".repeat(w + 1)}:`)).join("|")
  }|`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

/** Collects failure reasons as numbered footnotes. */
class Footnotes {
  readonly #notes: string[] = [];
  ref(error: string): string {
    let i = this.#notes.indexOf(error);
    if (i < 0) i = this.#notes.push(error) - 1;
    return `n/a (${i + 1})`;
  }
  render(): string {
    return this.#notes.map((note, i) => `(${i + 1}) ${note}`).join("\n");
  }
}

type Cell = BulkCell | HandshakeCell | undefined;

function cellsOf(row: ResultRow, spec: TableSpec): Cell[] {
  const cells: Cell[] = [];
  if (spec.bulk) {
    for (const s of spec.settings) {
      cells.push(row.bulk[s.short]?.upload, row.bulk[s.short]?.download);
    }
  }
  if (spec.handshake) cells.push(row.handshake, row.handshakeNagle);
  return cells;
}

/** The single reason every measured cell of a row failed for, if there is one. */
function commonFailure(row: ResultRow, spec: TableSpec): string | undefined {
  const measured = cellsOf(row, spec).filter((c): c is NonNullable<Cell> => c !== undefined);
  if (measured.length === 0) return undefined;
  const errors = new Set(measured.map((c) => (c.ok ? undefined : c.error)));
  if (errors.size !== 1) return undefined;
  const [only] = errors;
  return only;
}

function rowName(row: ResultRow): [string, string] {
  return [
    row.subject,
    row.variant === undefined ? row.runtimeLabel : `${row.runtimeLabel} (${row.variant})`,
  ];
}

/**
 * The absolute table: MB/s per cipher and direction, handshake ms (median), rounds/s, and
 * handshake ms with Nagle's algorithm on.
 *
 * @example
 * ```ts ignore
 * console.log(absoluteTable({ rows, settings, bulk: true, handshake: true }));
 * ```
 */
export function absoluteTable(spec: TableSpec): string {
  const header = ["subject", "runtime"];
  if (spec.bulk) {
    for (const s of spec.settings) {
      header.push(`${s.short} ${ARROW.upload}`, `${s.short} ${ARROW.download}`);
    }
  }
  if (spec.handshake) header.push("hs ms", "hs/s", "hs ms Nagle");
  const notes = new Footnotes();
  const body = spec.rows.map((row) => {
    const common = commonFailure(row, spec);
    if (common !== undefined) return [...rowName(row), `n/a (${common})`];
    const cells = [...rowName(row)];
    const bulkCell = (c: BulkCell | undefined) =>
      c === undefined ? "—" : c.ok ? fmt(c.mbps) : notes.ref(c.error);
    if (spec.bulk) {
      for (const s of spec.settings) {
        cells.push(bulkCell(row.bulk[s.short]?.upload), bulkCell(row.bulk[s.short]?.download));
      }
    }
    if (spec.handshake) {
      const h = row.handshake;
      const n = row.handshakeNagle;
      cells.push(
        h === undefined ? "—" : h.ok ? fmt(h.medianMs) : notes.ref(h.error),
        h === undefined || !h.ok ? "—" : fmt(h.roundsPerSecond),
        n === undefined ? "—" : n.ok ? fmt(n.medianMs) : notes.ref(n.error),
      );
    }
    return cells;
  });
  const table = render(header, body);
  const footnotes = notes.render();
  return footnotes === "" ? table : `${table}\n\n${footnotes}`;
}

/** Throughput (higher is better) and handshake time (lower is better) of a row, by column. */
function figures(row: ResultRow, spec: TableSpec): (number | undefined)[] {
  const out: (number | undefined)[] = [];
  if (spec.bulk) {
    for (const s of spec.settings) {
      for (const d of ["upload", "download"] as const) {
        const c = row.bulk[s.short]?.[d];
        out.push(c?.ok ? c.mbps : undefined);
      }
    }
  }
  if (spec.handshake) out.push(row.handshake?.ok ? row.handshake.medianMs : undefined);
  return out;
}

/**
 * The ratio table: each cell is `vs OpenSSH / vs ssh2 on the same runtime`, above 1 meaning
 * better than the baseline (throughput divided by the baseline's; for handshakes, the
 * baseline's time divided by ours). The last column is the geometric mean of the throughput
 * ratios.
 *
 * @example
 * ```ts ignore
 * console.log(ratioTable({ rows, settings, bulk: true, handshake: true }));
 * ```
 */
export function ratioTable(spec: TableSpec): string {
  const header = ["subject", "runtime"];
  if (spec.bulk) {
    for (const s of spec.settings) {
      header.push(`${s.short} ${ARROW.upload}`, `${s.short} ${ARROW.download}`);
    }
  }
  if (spec.handshake) header.push("hs");
  if (spec.bulk) header.push("MB/s geomean");
  const openssh = spec.rows.find((r) => r.subject === "openssh");
  const throughputColumns = spec.bulk ? spec.settings.length * 2 : 0;
  const body = spec.rows.map((row) => {
    const ssh2 = spec.rows.find((r) => r.subject === "ssh2" && r.runtime === row.runtime);
    const mine = figures(row, spec);
    const vsOpenssh = openssh === undefined ? [] : figures(openssh, spec);
    const vsSsh2 = ssh2 === undefined || row.subject === "openssh" ? [] : figures(ssh2, spec);
    const ratios = (base: (number | undefined)[]) =>
      mine.map((x, i) => {
        const b = base[i];
        if (x === undefined || b === undefined) return undefined;
        return i < throughputColumns ? x / b : b / x;
      });
    const a = ratios(vsOpenssh);
    const b = ratios(vsSsh2);
    const cells = [...rowName(row)];
    for (let i = 0; i < mine.length; i++) {
      const x = a[i];
      const y = b[i];
      cells.push(
        x === undefined && y === undefined
          ? "—"
          : `${x === undefined ? "—" : ratio(x)} / ${y === undefined ? "—" : ratio(y)}`,
      );
    }
    if (spec.bulk) {
      const ga = geometricMean(a.slice(0, throughputColumns).filter((v) => v !== undefined));
      const gb = geometricMean(b.slice(0, throughputColumns).filter((v) => v !== undefined));
      cells.push(
        ga === undefined && gb === undefined
          ? "—"
          : `${ga === undefined ? "—" : ratio(ga)} / ${gb === undefined ? "—" : ratio(gb)}`,
      );
    }
    return cells;
  });
  return render(header, body);
}

/**
 * Client CPU seconds per GiB moved (user+sys of the client process, median of the runs; lower
 * is better), per cipher and direction: the honest figure on a loaded machine, where wall-clock
 * throughput depends on what else runs. Empty when no cell has a CPU figure.
 *
 * @example
 * ```ts ignore
 * console.log(cpuTable({ rows, settings, bulk: true, handshake: false }));
 * ```
 */
export function cpuTable(spec: TableSpec): string {
  if (!spec.bulk) return "";
  const cellsWithCpu = spec.rows.flatMap((r) =>
    spec.settings.flatMap((s) => [r.bulk[s.short]?.upload, r.bulk[s.short]?.download])
  ).filter((c) => c?.ok && c.cpuSecPerGiB !== undefined);
  if (cellsWithCpu.length === 0) return "";
  const header = ["subject", "runtime"];
  for (const s of spec.settings) {
    header.push(`${s.short} ${ARROW.upload} CPU s/GiB`, `${s.short} ${ARROW.download} CPU s/GiB`);
  }
  const body = spec.rows.map((row) => {
    const cells = [...rowName(row)];
    for (const s of spec.settings) {
      for (const d of ["upload", "download"] as const) {
        const c = row.bulk[s.short]?.[d];
        cells.push(c?.ok && c.cpuSecPerGiB !== undefined ? c.cpuSecPerGiB.toFixed(2) : "—");
      }
    }
    return cells;
  });
  return render(header, body);
}

/** `send` when both directions use the same provider, else `send/receive`. */
function providers(info: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const p = info?.cryptoProviders as { send?: unknown; receive?: unknown } | undefined;
  if (typeof p?.send !== "string" || typeof p.receive !== "string") return undefined;
  return p.send === p.receive ? p.send : `${p.send}/${p.receive}`;
}

/**
 * Lines to print under the tables: warnings workers reported, and which crypto provider each
 * cipher used where a worker says (`info.cryptoProviders`, from `conn.getExtraInfo()`).
 *
 * @example
 * ```ts ignore
 * console.log(notes({ rows, settings, bulk: true, handshake: true }).join("\n"));
 * ```
 */
export function notes(spec: TableSpec): string[] {
  const lines: string[] = [];
  for (const row of spec.rows) {
    const [name, runtime] = rowName(row);
    for (const w of row.warnings) lines.push(`- ${name} (${runtime}) warning: ${w}`);
    const used = spec.settings.flatMap((s) => {
      const cells = [row.bulk[s.short]?.upload, row.bulk[s.short]?.download];
      const p = cells.map((c) => (c?.ok ? providers(c.info) : undefined)).find((x) => x);
      return p === undefined ? [] : [`${s.short} ${p}`];
    });
    if (used.length > 0) lines.push(`- ${name} (${runtime}) crypto: ${used.join(", ")}`);
  }
  return lines;
}
