/**
 * Command-line options of `bench/run.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { CIPHER_SETTINGS, type CipherSetting, EXTRA_CIPHER_SETTINGS } from "./types.ts";

/** Subject names `--only` accepts. */
export const SUBJECT_NAMES: readonly string[] = ["openssh", "ssh2", "sshts"];

/** The key exchange every client is pinned to unless `--kex` says otherwise. */
export const DEFAULT_KEX: readonly string[] = ["curve25519-sha256"];

/** What one benchmark run does. */
export interface BenchOptions {
  /** MiB moved per transfer. */
  readonly mib: number;
  /** Transfers per cipher and direction. */
  readonly runs: number;
  /** Which run is reported: the median (default) or the best (`--best`). */
  readonly stat: "median" | "best";
  /** Timed handshake rounds. */
  readonly rounds: number;
  /** Untimed handshake rounds before them. */
  readonly warmup: number;
  /** `subject` or `subject/runtime` entries; empty means all. */
  readonly only: readonly string[];
  /** The cipher settings to measure. */
  readonly settings: readonly CipherSetting[];
  /** Key exchange methods every client offers; `undefined` leaves each client's defaults. */
  readonly kex: readonly string[] | undefined;
  /** Measure bulk throughput. */
  readonly bulk: boolean;
  /** Measure handshakes. */
  readonly handshake: boolean;
  /** Also measure handshakes with Nagle's algorithm on, where a subject allows it. */
  readonly nagle: boolean;
  /** Per-job time limit override in seconds, or `undefined` for one computed from the sizes. */
  readonly timeoutSeconds: number | undefined;
  /** Where to write the JSON results (a directory). */
  readonly resultsDir: string;
  /** Whether this is a `--quick` smoke run. */
  readonly quick: boolean;
  /** Bulk directions to measure (`--direction`). */
  readonly directions: readonly ("upload" | "download")[];
  /** With `--profile`: where worker processes write their CPU profiles. */
  readonly profileDir: string | undefined;
}

/** The usage text printed by `--help` and after a bad option. */
export const USAGE =
  `usage: node_modules/.bin/node bench/run.ts [options]   (or: npm run bench -- [options])

  --mib N          MiB per transfer (default 256; --quick: 8)
  --runs N         transfers per cipher and direction (default 3; --quick: 1)
  --best           report the best run instead of the median (for a busy machine)
  --rounds N       timed handshake rounds (default 20; --quick: 3)
  --warmup N       untimed handshake rounds first (default 1)
  --quick          small sizes, one run: a smoke test
  --only LIST      subjects to run: openssh, ssh2, sshts, or subject/runtime
                   (e.g. --only openssh,ssh2/deno,sshts); runtimes: node, node20, deno, bun
  --cipher LIST    gcm, chacha, ctr, ctr-umac (aes128-ctr with umac-64-etm), or full cipher
                   names (default: gcm, chacha, ctr)
  --kex LIST       key exchange every client offers (default curve25519-sha256);
                   "default" keeps each client's own preference list
  --no-bulk        skip throughput
  --no-handshake   skip handshakes
  --no-nagle       skip the extra handshake run with TCP_NODELAY off (ssh2 only)
  --timeout S      time limit per worker job in seconds (default: from the sizes)
  --results DIR    where the JSON results go (default bench/results)
  --direction D    up or down: one bulk direction only (default: both)
  --profile        write a CPU profile of the worker (--cpu-prof on node, deno and bun) for
                   one cell into DIR/profiles; needs --only subject/runtime (ssh2 or sshts),
                   one --cipher and one --direction (or --no-bulk for the handshakes)
  --help           this text
`;

function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`--${name} needs a whole number, not "${text}"`);
  }
  return n;
}

function list(text: string | undefined): string[] {
  return (text ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Every setting `--cipher` can name: the default ones, then those measured only on request. */
const NAMEABLE_SETTINGS: readonly CipherSetting[] = [...CIPHER_SETTINGS, ...EXTRA_CIPHER_SETTINGS];

function pickSettings(names: readonly string[]): CipherSetting[] {
  if (names.length === 0) return [...CIPHER_SETTINGS];
  return names.map((name) => {
    const setting = NAMEABLE_SETTINGS.find((s) =>
      s.short === name || s.cipher === name || s.cipher.startsWith(name)
    );
    if (setting === undefined) {
      throw new Error(
        `Unknown cipher "${name}": choose from ${NAMEABLE_SETTINGS.map((s) => s.short).join(", ")}`,
      );
    }
    return setting;
  });
}

/**
 * Parses the command line; throws with a one-line message on a bad option. Returns `undefined`
 * for `--help`.
 *
 * @example
 * ```ts ignore
 * const options = parseBenchOptions(["--quick", "--only", "openssh"]);
 * ```
 */
export function parseBenchOptions(
  argv: readonly string[],
  defaultResultsDir: string,
): BenchOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      mib: { type: "string" },
      runs: { type: "string" },
      rounds: { type: "string" },
      warmup: { type: "string" },
      quick: { type: "boolean" },
      best: { type: "boolean" },
      only: { type: "string" },
      cipher: { type: "string" },
      kex: { type: "string" },
      "no-bulk": { type: "boolean" },
      "no-handshake": { type: "boolean" },
      "no-nagle": { type: "boolean" },
      timeout: { type: "string" },
      results: { type: "string" },
      direction: { type: "string" },
      profile: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return undefined;
  const quick = values.quick === true;
  const only = list(values.only);
  for (const entry of only) {
    const name = entry.split("/")[0]!;
    if (!SUBJECT_NAMES.includes(name)) {
      throw new Error(
        `Unknown subject "${name}" in --only: choose from ${SUBJECT_NAMES.join(", ")}`,
      );
    }
  }
  const kexList = list(values.kex);
  const runs = positiveInt("runs", values.runs, quick ? 1 : 3);
  const mib = positiveInt("mib", values.mib, quick ? 8 : 256);
  const rounds = positiveInt("rounds", values.rounds, quick ? 3 : 20);
  if (runs < 1 || mib < 1 || rounds < 1) {
    throw new Error("--runs, --mib and --rounds must be at least 1");
  }
  const direction = values.direction;
  if (direction !== undefined && direction !== "up" && direction !== "down") {
    throw new Error(`--direction takes up or down, not "${direction}"`);
  }
  const directions = direction === undefined
    ? (["upload", "download"] as const)
    : direction === "up"
    ? (["upload"] as const)
    : (["download"] as const);
  const settings = pickSettings(list(values.cipher));
  const resultsDir = values.results ?? defaultResultsDir;
  if (values.profile === true) {
    const one = only.length === 1 && only[0]!.includes("/") && !only[0]!.startsWith("openssh");
    const bulkCell = values["no-bulk"] !== true;
    if (!one || (bulkCell && (settings.length !== 1 || directions.length !== 1))) {
      throw new Error(
        "--profile profiles one cell: give --only subject/runtime (ssh2 or sshts), " +
          "one --cipher and one --direction, or --no-bulk for the handshakes",
      );
    }
  }
  return {
    directions,
    profileDir: values.profile === true ? join(resultsDir, "profiles") : undefined,
    mib,
    runs,
    stat: values.best === true ? "best" : "median",
    rounds,
    warmup: positiveInt("warmup", values.warmup, 1),
    only,
    settings,
    kex: kexList.length === 0 ? DEFAULT_KEX : kexList[0] === "default" ? undefined : kexList,
    bulk: values["no-bulk"] !== true,
    handshake: values["no-handshake"] !== true,
    nagle: values["no-nagle"] !== true,
    timeoutSeconds: values.timeout === undefined
      ? undefined
      : positiveInt("timeout", values.timeout, 0),
    resultsDir,
    quick,
  };
}

/**
 * Whether `--only` lets a subject run.
 *
 * @example
 * ```ts
 * import { selected } from "./options.ts";
 * console.log(selected(["ssh2/deno"], "ssh2", "node")); // false
 * ```
 */
export function selected(only: readonly string[], name: string, runtime: string): boolean {
  if (only.length === 0) return true;
  return only.some((entry) => entry === name || entry === `${name}/${runtime}`);
}
