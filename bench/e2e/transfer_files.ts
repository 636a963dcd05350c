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
 * Removes what earlier runs wrote and flushes the page cache's dirty data, untimed, so
 * every transfer writes a new file on a quiet disk: overwriting a file of the same size
 * (`O_TRUNC`) made ext4 free the old blocks and write back the new ones inside the timed
 * run (`auto_da_alloc`: 60–150 ms per 256 MiB here), for some rows and not others.
 */
export async function clearDestinations(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => fsp.rm(p, { force: true })));
  await new Promise<void>((resolve) => spawn("sync").on("close", () => resolve()));
}
