/**
 * Runs every measurement against the fixture, cell by cell across the subjects, and turns raw
 * timings into one result row per subject: MB/s (median of the runs) per cipher and direction,
 * and handshake figures. A failing measurement becomes an error entry in its cell, never an
 * exception.
 *
 * @module
 */

import type { BenchOptions } from "./options.ts";
import { median, megabytesPerSecond } from "./stats.ts";
import type { Direction, Subject, Target } from "./types.ts";

/** One throughput cell. */
export type BulkCell =
  | {
    readonly ok: true;
    /** MB/s over the runs: their median, or the best with `--best`. */
    readonly mbps: number;
    /** MB/s of each run. */
    readonly runsMbps: readonly number[];
    /** Milliseconds of each run. */
    readonly runsMs: readonly number[];
    /**
     * Client CPU seconds (user+sys of the client process over a whole run: connect, transfer,
     * close) per GiB moved, median of the runs; when the subject reports `info.cpuMs`.
     */
    readonly cpuSecPerGiB?: number;
    readonly info?: Readonly<Record<string, unknown>>;
  }
  | { readonly ok: false; readonly error: string };

/** One handshake cell. */
export type HandshakeCell =
  | {
    readonly ok: true;
    /** Median milliseconds per round. */
    readonly medianMs: number;
    /** Rounds per second over all timed rounds (sequential). */
    readonly roundsPerSecond: number;
    /** Milliseconds of each timed round. */
    readonly roundsMs: readonly number[];
    readonly info?: Readonly<Record<string, unknown>>;
  }
  | { readonly ok: false; readonly error: string };

/** Everything measured for one subject. */
export interface ResultRow {
  readonly subject: string;
  readonly runtime: string;
  readonly runtimeLabel: string;
  /**
   * What kind of build ran, when a worker says (`info.variant`), e.g. `addon` / `no addon` for
   * ssh2's native crypto addon.
   */
  variant?: string;
  /** Problems that did not spoil a measurement but should be seen (`info.warnings`). */
  readonly warnings: string[];
  /** Cipher short name → direction → cell. Missing when not measured. */
  readonly bulk: Record<string, Partial<Record<Direction, BulkCell>>>;
  /** Handshakes with TCP_NODELAY on. */
  handshake?: HandshakeCell;
  /** Handshakes with TCP_NODELAY off (Nagle's algorithm on), where the subject allows it. */
  handshakeNagle?: HandshakeCell;
}

/** Where progress lines go. */
export type Log = (line: string) => void;

const MIB = 1024 * 1024;

/** Time limit for one bulk job: start-up slack plus `runs` transfers at a floor of 4 MB/s. */
function bulkTimeoutMs(options: BenchOptions): number {
  if (options.timeoutSeconds !== undefined) return options.timeoutSeconds * 1000;
  return 30_000 + (options.runs * options.mib * MIB) / 4e6 * 1000;
}

/** Time limit for one handshake job: start-up slack plus 3 s a round. */
function handshakeTimeoutMs(options: BenchOptions): number {
  if (options.timeoutSeconds !== undefined) return options.timeoutSeconds * 1000;
  return 30_000 + (options.rounds + options.warmup) * 3000;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split("\n")[0]!.trim() || "failed without a message";
}

/** A timeout makes further jobs of the same subject pointless (each would wait as long). */
function isTimeout(error: string): boolean {
  return /timed out/i.test(error);
}

/** What measuring one subject keeps between its cells. */
interface SubjectState {
  readonly subject: Subject;
  readonly name: string;
  readonly row: ResultRow;
  /** Set after a timeout: the subject's later jobs would only wait as long. */
  skipReason: string | undefined;
}

/** Measures one subject's handshake cell (TCP_NODELAY on or off). */
async function handshakeCell(
  st: SubjectState,
  target: Target,
  options: BenchOptions,
  log: Log,
  noDelay: boolean,
): Promise<HandshakeCell> {
  if (st.skipReason !== undefined) return { ok: false, error: st.skipReason };
  try {
    const r = await st.subject.handshakes({
      target,
      rounds: options.rounds,
      warmup: options.warmup,
      noDelay,
      timeoutMs: handshakeTimeoutMs(options),
    });
    const total = r.roundsMs.reduce((a, b) => a + b, 0);
    const cell: HandshakeCell = {
      ok: true,
      medianMs: median(r.roundsMs),
      roundsPerSecond: r.roundsMs.length / (total / 1000),
      roundsMs: r.roundsMs,
      ...(r.info === undefined ? {} : { info: r.info }),
    };
    const phases = r.info?.phaseMedians as Record<string, number> | undefined;
    log(
      `${st.name} handshake${noDelay ? "" : " (Nagle)"}: ${fmt(cell.medianMs)} ms median, ` +
        `${fmt(cell.roundsPerSecond)} rounds/s` +
        (phases === undefined
          ? ""
          : ` (medians: ${
            Object.entries(phases).map(([k, v]) => `${k.replace(/Ms$/, "")} ${fmt(v)} ms`)
              .join(", ")
          })`),
    );
    return cell;
  } catch (e) {
    const error = errorText(e);
    if (isTimeout(error)) st.skipReason = `skipped: an earlier job ${error}`;
    log(`${st.name} handshake${noDelay ? "" : " (Nagle)"}: n/a (${error})`);
    return { ok: false, error };
  }
}

/** Measures one subject's throughput cell: one cipher setting in one direction. */
async function bulkCell(
  st: SubjectState,
  target: Target,
  options: BenchOptions,
  log: Log,
  setting: BenchOptions["settings"][number],
  direction: Direction,
): Promise<BulkCell> {
  if (st.skipReason !== undefined) return { ok: false, error: st.skipReason };
  const bytes = options.mib * MIB;
  const what = `${st.name} ${setting.short} ${direction === "upload" ? "↑" : "↓"}`;
  try {
    const r = await st.subject.bulk({
      target,
      setting,
      direction,
      bytes,
      runs: options.runs,
      timeoutMs: bulkTimeoutMs(options),
    });
    const runsMbps = r.runsMs.map((ms) => megabytesPerSecond(bytes, ms));
    const mbps = options.stat === "best" ? Math.max(...runsMbps) : median(runsMbps);
    const cpuMs = r.info?.cpuMs as readonly number[] | undefined;
    const cpuSecPerGiB = Array.isArray(cpuMs) && cpuMs.length > 0
      ? median(cpuMs) / 1000 / (bytes / (1024 * MIB))
      : undefined;
    const cpu = cpuSecPerGiB === undefined ? "" : `, CPU ${fmt(cpuSecPerGiB)} s/GiB`;
    log(`${what}: ${fmt(mbps)} MB/s (runs: ${runsMbps.map(fmt).join(", ")})${cpu}`);
    return {
      ok: true,
      mbps,
      runsMbps,
      runsMs: r.runsMs,
      ...(cpuSecPerGiB === undefined ? {} : { cpuSecPerGiB }),
      ...(r.info === undefined ? {} : { info: r.info }),
    };
  } catch (e) {
    const error = errorText(e);
    if (isTimeout(error)) st.skipReason = `skipped: an earlier job ${error}`;
    log(`${what}: n/a (${error})`);
    return { ok: false, error };
  }
}

/**
 * The subjects in the order cell number `cell` measures them: rotated by one more for each
 * cell, and backwards in every other round of as many cells as there are subjects, so that
 * neither who goes first nor who follows whom stays fixed (with two subjects and two
 * directions, rotation alone would put the same one first in every upload cell).
 */
function cellOrder<T>(items: readonly T[], cell: number): T[] {
  const n = items.length;
  if (n === 0) return [];
  const k = cell % n;
  const order = [...items.slice(k), ...items.slice(0, k)];
  return Math.floor(cell / n) % 2 === 0 ? order : order.reverse();
}

/**
 * Measures every subject, cell by cell: the handshakes of all subjects (then, where a subject
 * can, with Nagle's algorithm on), then each cipher setting and direction for all subjects, so
 * that every ratio compares figures taken minutes apart at most. Measuring one subject whole
 * before the next (as this bench did until 2026-12-07) put our figures several minutes after
 * OpenSSH's and ssh2's, and a shared machine's speed drifts by more than the differences
 * measured in that time. The order changes from cell to cell (see `cellOrder`).
 *
 * @example
 * ```ts ignore
 * const rows = await measureSubjects(subjects, target, options, console.error);
 * ```
 */
export async function measureSubjects(
  subjects: readonly Subject[],
  target: Target,
  options: BenchOptions,
  log: Log,
  interrupted: () => boolean = () => false,
): Promise<ResultRow[]> {
  const states: SubjectState[] = subjects.map((subject) => ({
    subject,
    name: `${subject.name} (${subject.runtimeLabel})`,
    row: {
      subject: subject.name,
      runtime: subject.runtime,
      runtimeLabel: subject.runtimeLabel,
      warnings: [],
      bulk: {},
    },
    skipReason: undefined,
  }));
  let cell = 0;
  if (options.handshake) {
    for (const st of cellOrder(states, cell++)) {
      if (interrupted()) break;
      st.row.handshake = await handshakeCell(st, target, options, log, true);
    }
    if (options.nagle) {
      for (const st of cellOrder(states, cell++)) {
        if (interrupted()) break;
        if (!st.subject.canDisableNoDelay) continue;
        st.row.handshakeNagle = await handshakeCell(st, target, options, log, false);
      }
    }
  }
  if (options.bulk) {
    for (const setting of options.settings) {
      for (const direction of options.directions) {
        for (const st of cellOrder(states, cell++)) {
          if (interrupted()) break;
          const cells = st.row.bulk[setting.short] ??= {};
          cells[direction] = await bulkCell(st, target, options, log, setting, direction);
        }
      }
    }
  }
  for (const st of states) finishRow(st.row, st.name, log);
  return states.map((st) => st.row);
}

/** Takes the build variant and the warnings the workers reported into the row. */
function finishRow(row: ResultRow, name: string, log: Log): void {
  const infos = [
    row.handshake,
    row.handshakeNagle,
    ...Object.values(row.bulk).flatMap((c) => [c.upload, c.download]),
  ].flatMap((c) => (c?.ok && c.info !== undefined ? [c.info] : []));
  const variant = infos.map((i) => i.variant).find((v) => typeof v === "string");
  if (typeof variant === "string") row.variant = variant;
  for (const info of infos) {
    for (const w of Array.isArray(info.warnings) ? info.warnings : []) {
      if (typeof w === "string" && !row.warnings.includes(w)) row.warnings.push(w);
    }
  }
  for (const w of row.warnings) log(`${name}: warning: ${w}`);
}
