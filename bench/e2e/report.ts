/**
 * The JSON record of one benchmark run, written to `bench/results/<timestamp>.json`
 * (git-ignored): machine, options, the fixture, and every raw timing behind the tables.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { ResultRow } from "./measure.ts";
import type { BenchOptions } from "./options.ts";

/** What the JSON file holds. */
export interface BenchReport {
  /** ISO time the run started. */
  readonly startedAt: string;
  /** Seconds the whole run took. */
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpuModel: string;
    readonly cpuCount: number;
    readonly memoryGiB: number;
    readonly kernel: string;
    /** Runtime that ran `bench/run.ts`. */
    readonly runner: string;
    /** 1-minute load average at the start and at the end: other work skews the figures. */
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly options: BenchOptions;
  /** The server every subject talked to. */
  readonly server: { readonly banner: string };
  /** How the figures were taken, in words. */
  readonly method: Readonly<Record<string, string>>;
  readonly rows: readonly ResultRow[];
}

/** The runtime running this code, with its version. */
export function runnerName(): string {
  const g = globalThis as {
    Deno?: { version: { deno: string } };
    Bun?: { version: string };
  };
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  return `node ${process.versions.node}`;
}

/** The 1-minute load average (0 where the platform has none). */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

/** Facts about this machine worth keeping next to the numbers. */
export function machineInfo(startLoad: number): BenchReport["machine"] {
  const cpu = cpus();
  return {
    loadAverage: { start: startLoad, end: loadAverage() },
    cpuModel: cpu[0]?.model ?? "unknown",
    cpuCount: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    runner: runnerName(),
  };
}

/**
 * Writes the report as `<dir>/<timestamp>.json` and returns the path.
 *
 * @example
 * ```ts ignore
 * const path = writeReport("bench/results", report);
 * ```
 */
export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, "-");
  const path = join(dir, `${stamp}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
