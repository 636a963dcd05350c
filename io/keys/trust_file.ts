/**
 * Reads the files a user may control that decide who logs in — authorized_keys,
 * authorized principals — as sshd opens them (auth_openfile): without blocking
 * (`O_NONBLOCK`, so a FIFO cannot park a thread of the runtime's file pool), only
 * when the open file is a regular file (not a FIFO, a device such as /dev/zero, a
 * directory), and no larger than a limit, read from the file that was checked.
 *
 * @module
 */

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { KeyImportError } from "../../keys/errors.ts";
import { readDenial } from "../runtime/env.ts";

/** Options of {@link readTrustFile}. */
export interface TrustFileOptions {
  /** The largest file read; a larger one throws. */
  readonly maxBytes: number;
}

/**
 * The bytes of the regular file at `path`, opened without blocking (O_NONBLOCK
 * where the platform has it) and checked on the open handle. Errors opening it
 * (ENOENT, EACCES, ...) are thrown as they come; a file that is not a regular
 * file, or holds more than `maxBytes`, throws a `KeyImportError` (ERR_KEY_IMPORT)
 * naming it.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { readTrustFile } from "./trust_file.ts";
 * const path = join(await mkdtemp(join(tmpdir(), "trust-")), "principals");
 * await writeFile(path, "ops\n");
 * console.log((await readTrustFile(path, { maxBytes: 1024 })).length); // 4
 * ```
 */
export async function readTrustFile(path: string, options: TrustFileOptions): Promise<Uint8Array> {
  const { maxBytes } = options;
  const tooLarge = () =>
    new KeyImportError(`Cannot read ${path}: it is larger than ${maxBytes} bytes`);
  const denied = readDenial(path); // as Deno without a terminal, never its prompt
  if (denied) throw denied;
  // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer (Windows has none).
  const handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const st = await handle.stat();
    if (!st.isFile()) {
      throw new KeyImportError(`Cannot read ${path}: it is not a regular file`);
    }
    if (st.size > maxBytes) throw tooLarge();
    // Sized by fstat, grown if the file grows meanwhile, never past maxBytes + 1.
    let buf = new Uint8Array(st.size + 1);
    let n = 0;
    for (;;) {
      if (n === buf.length) {
        if (n > maxBytes) throw tooLarge();
        const bigger = new Uint8Array(Math.min(buf.length * 2, maxBytes + 1));
        bigger.set(buf);
        buf = bigger;
      }
      const { bytesRead } = await handle.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > maxBytes) throw tooLarge();
    return buf.subarray(0, n);
  } finally {
    await handle.close();
  }
}
