/**
 * Test helpers: files at a user's trust path (authorized_keys, principals) that
 * sshd will not read — a FIFO, a file past the size limit.
 */
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Why the FIFO and /dev/zero tests are skipped (false: they run). */
export const NO_FIFOS: string | false = process.platform === "win32" &&
  "Windows has no FIFOs (mkfifo) nor /dev/zero";

/**
 * Makes `dir/fifo` a FIFO (unless `NO_FIFOS`) and `dir/big` `line` repeated to
 * more than `maxBytes`. (No /dev/zero here: a build without the fix would read it
 * until memory runs out; trust_file_test.ts tries it on readTrustFile() alone.)
 */
export function hostileFiles(dir: string, line: string, maxBytes: number): void {
  writeFileSync(join(dir, "big"), line.repeat(Math.ceil((maxBytes + 1) / line.length)));
  if (NO_FIFOS) return;
  execFileSync("mkfifo", [join(dir, "fifo")]);
}

/**
 * Opens `dir/fifo` for writing, without blocking, `times` times, so that reads a
 * build without the fix parked in open() return (and the test can end). Opening
 * fails (ENXIO) when nobody is reading, as it should be.
 */
export function releaseFifo(dir: string, times = 16): void {
  if (NO_FIFOS) return;
  for (let i = 0; i < times; i++) {
    try {
      closeSync(openSync(join(dir, "fifo"), constants.O_WRONLY | constants.O_NONBLOCK));
    } catch { /* no reader left */ }
  }
}

/** `p`, or a rejection saying `what` did not finish within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}
