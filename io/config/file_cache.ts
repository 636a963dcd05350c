/**
 * The configuration files a process reads again at every `connect()`, kept while they do
 * not change. `ssh` reads `~/.ssh/config` and `/etc/ssh/ssh_config` once per process; a
 * library connects many times from one process, and reading and decoding them again each
 * time (open, fstat, read, close: a trip through the runtime's file thread pool each)
 * cost more CPU than the rest of a login. One `stat` now tells whether the bytes kept
 * are still the file's.
 *
 * A file is known by its device, inode, size, mode, owner, modification and change times:
 * a write, a replacement (rename over it), a `chmod` or a `chown` changes one of them (the
 * mode and owner are there because Deno reports the change time in whole seconds). File times advance in
 * clock ticks (milliseconds), so two writes of the same size within one tick could look
 * alike: a file modified less than {@link SETTLE_MS} before it was read is not kept, and
 * is read again next time (as git treats a "racily clean" index entry).
 *
 * @module
 */

import { stat } from "node:fs/promises";

/** A file modified this recently (ms) when read is read again next time, not kept. */
export const SETTLE_MS = 2_000;

/** Files kept per cache: each connection reads a handful; a bound for callers that vary. */
export const MAX_CACHED_FILES = 64;

/** The identity of a file's contents as `stat` reports it. */
interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

interface Kept {
  readonly id: string;
  readonly bytes: Uint8Array;
}

function identity(s: FileIdentity): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mode}:${s.uid}:${s.gid}:${s.mtimeMs}:${s.ctimeMs}`;
}

/** Errors that mean "no such file" to a configuration reader. */
function isMissing(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Reads regular files through `read`, keeping each one's bytes while `stat` shows the
 * file unchanged. `read` does the real reading with its own checks (a FIFO, a device or
 * an oversized file is its to refuse); only regular files are kept. Not shared between
 * callers: each system that reads configuration holds its own.
 *
 * @example
 * ```ts
 * import { mkdtemp, writeFile, readFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { FileCache } from "./file_cache.ts";
 * const path = join(await mkdtemp(join(tmpdir(), "cfg-")), "config");
 * await writeFile(path, "Host *\n");
 * const cache = new FileCache(async (p) => new Uint8Array(await readFile(p)));
 * console.log((await cache.read(path))?.length); // 7
 * console.log(await cache.read(join(path, "..", "absent"))); // undefined
 * ```
 */
export class FileCache {
  readonly #read: (path: string) => Promise<Uint8Array>;
  readonly #now: () => number;
  readonly #kept = new Map<string, Kept>();

  /** `now` is the clock file times are compared with (tests give their own). */
  constructor(read: (path: string) => Promise<Uint8Array>, now: () => number = Date.now) {
    this.#read = read;
    this.#now = now;
  }

  /**
   * The file's bytes (a copy the caller may keep and change), or undefined when it does
   * not exist (ENOENT, ENOTDIR). Other errors, and `read`'s, are thrown as they come.
   */
  async read(path: string): Promise<Uint8Array | undefined> {
    let s;
    try {
      s = await stat(path);
    } catch (e) {
      if (isMissing(e)) {
        this.#kept.delete(path);
        return undefined;
      }
      return await this.#read(path); // let the reader report it as it does
    }
    if (!s.isFile()) return await this.#read(path);
    const id = identity(s);
    const kept = this.#kept.get(path);
    if (kept !== undefined && kept.id === id) return kept.bytes.slice();
    const bytes = await this.#read(path);
    this.#kept.delete(path);
    // Bytes read after the stat may be newer than `id`: then the next stat differs and
    // reads again. Kept only once the file has settled (see SETTLE_MS).
    if (this.#now() - s.mtimeMs >= SETTLE_MS && this.#now() - s.ctimeMs >= SETTLE_MS) {
      if (this.#kept.size >= MAX_CACHED_FILES) {
        this.#kept.delete(this.#kept.keys().next().value!);
      }
      this.#kept.set(path, { id, bytes: bytes.slice() });
    }
    return bytes;
  }
}
