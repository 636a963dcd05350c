/**
 * Runs every measurement of one subject against the fixture and turns raw timings into a
 * result row: MB/s (median of the runs) per cipher and direction, and handshake figures. A
 * failing measurement becomes an error entry in its cell, never an exception.
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

/**
 * Measures one subject: handshakes, then every cipher setting in both directions.
 *
 * @example
 * ```ts ignore
 * const row = await measureSubject(subject, target, options, console.error);
 * ```
 */
export async function measureSubject(
  subject: Subject,
  target: Target,
  options: BenchOptions,
  log: Log,
): Promise<ResultRow> {
  const row: ResultRow = {
    subject: subject.name,
    runtime: subject.runtime,
    runtimeLabel: subject.runtimeLabel,
    warnings: [],
    bulk: {},
  };
  const name = `${subject.name} (${subject.runtimeLabel})`;
  let skipReason: string | undefined;

  const handshake = async (noDelay: boolean): Promise<HandshakeCell> => {
    if (skipReason !== undefined) return { ok: false, error: skipReason };
    try {
      const r = await subject.handshakes({
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
        `${name} handshake${noDelay ? "" : " (Nagle)"}: ${fmt(cell.medianMs)} ms median, ` +
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
      if (isTimeout(error)) skipReason = `skipped: an earlier job ${error}`;
      log(`${name} handshake${noDelay ? "" : " (Nagle)"}: n/a (${error})`);
      return { ok: false, error };
    }
  };

  if (options.handshake) {
    row.handshake = await handshake(true);
    if (options.nagle && subject.canDisableNoDelay) row.handshakeNagle = await handshake(false);
  }

  if (options.bulk) {
    const bytes = options.mib * MIB;
    for (const setting of options.settings) {
      const cells: Partial<Record<Direction, BulkCell>> = {};
      row.bulk[setting.short] = cells;
      for (const direction of options.directions) {
        if (skipReason !== undefined) {
          cells[direction] = { ok: false, error: skipReason };
          continue;
        }
        const what = `${name} ${setting.short} ${direction === "upload" ? "↑" : "↓"}`;
        try {
          const r = await subject.bulk({
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
          cells[direction] = {
            ok: true,
            mbps,
            runsMbps,
            runsMs: r.runsMs,
            ...(cpuSecPerGiB === undefined ? {} : { cpuSecPerGiB }),
            ...(r.info === undefined ? {} : { info: r.info }),
          };
          const cpu = cpuSecPerGiB === undefined ? "" : `, CPU ${fmt(cpuSecPerGiB)} s/GiB`;
          log(`${what}: ${fmt(mbps)} MB/s (runs: ${runsMbps.map(fmt).join(", ")})${cpu}`);
        } catch (e) {
          const error = errorText(e);
          if (isTimeout(error)) skipReason = `skipped: an earlier job ${error}`;
          cells[direction] = { ok: false, error };
          log(`${what}: n/a (${error})`);
        }
      }
    }
  }
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
  return row;
}
