/**
 * The files the transfer benches (`bench/sftp_bench.ts`, `bench/scp_bench.ts`) copy: the
 * source they make, and the destinations they clear before each run.
 *
 * @module
 */

import { spawn } from "node:child_process";
import * as fsp from "node:fs/promises";

/** Writes `bytes` of xorshift noise to `path` (incompressible, the same on every run). */
export async function makeFile(path: string, bytes: number): Promise<void> {
  const fh = await fsp.open(path, "w");
  const block = new Uint8Array(1024 * 1024);
  let x = 0x9e3779b9;
  try {
    for (let off = 0; off < bytes; off += block.length) {
      for (let i = 0; i < block.length; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        block[i] = x;
        block[i + 1] = x >>> 8;
        block[i + 2] = x >>> 16;
        block[i + 3] = x >>> 24;
      }
      await fh.write(block, 0, Math.min(block.length, bytes - off), off);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Makes a tree of `files` small files (100 B to 4 KiB each, the same on every run) in
 * `fanout` subdirectories of `dir`, the shape of a source tree or a web site's assets;
 * resolves with the bytes written.
 */
export async function makeTree(dir: string, files: number, fanout = 30): Promise<number> {
  let x = 0x2545f491;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  let total = 0;
  for (let d = 0; d < fanout; d++) await fsp.mkdir(`${dir}/d${d}`, { recursive: true });
  for (let i = 0; i < files; i++) {
    const body = new Uint8Array(100 + (next() % 3997));
    for (let j = 0; j < body.length; j++) body[j] = next();
    await fsp.writeFile(`${dir}/d${i % fanout}/f${i}.dat`, body);
    total += body.length;
  }
  return total;
}

/**
 * Removes what earlier runs wrote and flushes the page cache's dirty data, untimed, so
 * every transfer writes a new file on a quiet disk: overwriting a file of the same size
 * (`O_TRUNC`) made ext4 free the old blocks and write back the new ones inside the timed
 * run (`auto_da_alloc`: 60–150 ms per 256 MiB here), for some rows and not others.
 */
export async function clearDestinations(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => fsp.rm(p, { recursive: true, force: true })));
  await new Promise<void>((resolve) => spawn("sync").on("close", () => resolve()));
}

/**
 * Reads each file (each file under a directory) through once, untimed, so the transfer that follows reads it from the page
 * cache. This VM pages out what nobody touched for about a minute (DAMON's proactive
 * reclaim: `/sys/kernel/mm/damon`), so a 256 MiB source read at the start of one round was
 * read from the disk again in a later one, at a third of the speed, for whichever subject
 * came first: `scp -f` gets of 170–290 MB/s between rounds of 700 on the same file.
 */
export async function warmFiles(paths: readonly string[]): Promise<void> {
  const buf = new Uint8Array(1024 * 1024);
  for (const p of paths) {
    if ((await fsp.stat(p)).isDirectory()) {
      const names = await fsp.readdir(p);
      await warmFiles(names.map((n) => `${p}/${n}`));
      continue;
    }
    const fh = await fsp.open(p, "r");
    try {
      while ((await fh.read(buf, 0, buf.length, null)).bytesRead > 0) { /* into the cache */ }
    } finally {
      await fh.close();
    }
  }
}

/** A bench row: one get and one put (milliseconds each), and the files they write. */
export interface TransferSubject {
  readonly subject: string;
  /** What its runs write (removed before each run). */
  readonly writes: readonly string[];
  /**
   * A long-lived process of ours serves this row (our server): it gets one untimed get and
   * put before the timed rounds. A server runs for days; the first transfers of a fresh
   * process include the JIT compiler's warm-up (about 1.3× the CPU of later ones on Node
   * here), which `sshd`, compiled ahead of time, does not have. Clients of ours are not
   * warmed: each round starts a fresh process, as a command-line copy does.
   */
  readonly longLived?: boolean;
  /** The files its get reads (warmed into the page cache before each run, untimed). */
  readonly reads: readonly string[];
  run(): Promise<{ get: number; put: number }>;
}

/** Before each run of a subject: its destinations cleared, its sources in the page cache. */
export async function prepareRun(s: TransferSubject): Promise<void> {
  await clearDestinations(s.writes);
  await warmFiles(s.reads);
}

/**
 * Runs the untimed first transfer of every long-lived subject and reports its speed (so
 * the cold figure is shown, not hidden).
 */
export async function warmUpLongLived(
  subjects: readonly TransferSubject[],
  mbs: (ms: number) => number,
  log: (line: string) => void,
  unit = "MB/s",
): Promise<void> {
  for (const s of subjects.filter((x) => x.longLived)) {
    await prepareRun(s);
    const r = await s.run();
    log(
      `  warm-up (untimed, fresh process): ${s.subject} get ${mbs(r.get).toFixed(0)}, put ${
        mbs(r.put).toFixed(0)
      } ${unit}`,
    );
  }
}
