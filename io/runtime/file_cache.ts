/**
 * What a process derives from files it reads again at every `connect()` — the bytes of
 * `~/.ssh/config` and `/etc/ssh/ssh_config`, the parsed known_hosts files — kept while the
 * files do not change. `ssh` reads them once per process; a library connects many times
 * from one process, and reading and parsing them again each time (open, fstat, read, close:
 * a trip through the runtime's file thread pool each; a thousand-line hashed known_hosts
 * takes 15 ms to parse) cost more CPU than the login itself. One `stat` per file now tells
 * whether what was derived still holds.
 *
 * A file is known by its device, inode, size, mode, owner, modification and change times:
 * a write, a replacement (rename over it), a `chmod` or a `chown` changes one of them (the
 * mode and owner are there because Deno reports the change time in whole seconds). File
 * times advance in clock ticks (milliseconds), so two writes of the same size within one
 * tick could look alike: what was derived from a file modified less than {@link SETTLE_MS}
 * before it was read is not kept, and is derived again next time (as git treats a "racily
 * clean" index entry). A missing file is remembered as missing; one that is not a regular
 * file (a directory, a FIFO, a device) is never kept: `read` decides about it every time.
 *
 * @module
 */

import { statSync } from "node:fs";
import { readAllowed, readDenial } from "./env.ts";

/** What was derived from a file modified this recently (ms) when read is not kept. */
export const SETTLE_MS = 2_000;

/** Sets of files kept per cache: a bound for callers that name many different files. */
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

/**
 * A path's identity, "missing", or undefined when nothing derived from it may be kept.
 *
 * A synchronous `stat`, on purpose: it is one system call (2–5 µs on Node and Bun, 20–30 on
 * Deno), where the asynchronous forms cost a trip through the runtime's file thread pool
 * (30–75 µs of CPU, with an exception object for each missing file), and `connect()` asks
 * for six to ten files at every connection. The cost: a `stat` that hangs (a hard-mounted
 * network home directory whose server is down) holds the event loop, where the thread pool
 * would hold one of its four threads — and DNS lookups and every other file operation with
 * them once four have hung; `ssh` makes the same calls.
 */
function identityOf(path: string, now: number): string | undefined {
  let s;
  try {
    // ENOENT gives undefined instead of an exception (Node, Deno and Bun; Node's ENOTDIR too).
    s = statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    // EACCES, a Deno permission, ...: read (and fail) every time.
    return isMissing(e) ? "missing" : undefined;
  }
  if (s === undefined) return "missing";
  if (!s.isFile() || now - s.mtimeMs < SETTLE_MS || now - s.ctimeMs < SETTLE_MS) {
    return undefined;
  }
  const i: FileIdentity = s;
  return `${i.dev}:${i.ino}:${i.size}:${i.mode}:${i.uid}:${i.gid}:${i.mtimeMs}:${i.ctimeMs}`;
}

/** Errors that mean "no such file" to a reader. */
function isMissing(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * Derives a value from the contents of a list of files, and keeps it while `stat` shows
 * every one of them unchanged. `read` does the reading with its own checks (a FIFO, a
 * device or an oversized file is its to refuse, by throwing or by returning undefined);
 * a file that does not exist reads as undefined. `derive` must not keep the buffers it is
 * given past its return, nor may callers change what it returns (it is handed out again).
 *
 * @example
 * ```ts
 * import { mkdtemp, readFile, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { DerivedFromFiles } from "./file_cache.ts";
 * const dir = await mkdtemp(join(tmpdir(), "cfg-"));
 * await writeFile(join(dir, "a"), "Host *\n");
 * const lines = new DerivedFromFiles(
 *   async (p) => new Uint8Array(await readFile(p)),
 *   (files) => files.map((b) => (b ? new TextDecoder().decode(b).split("\n").length - 1 : 0)),
 * );
 * console.log(await lines.get([join(dir, "a"), join(dir, "absent")])); // [1, 0]
 * ```
 */
export class DerivedFromFiles<T> {
  readonly #read: (path: string) => Promise<Uint8Array | undefined>;
  readonly #derive: (files: readonly (Uint8Array | undefined)[]) => T;
  readonly #now: () => number;
  readonly #kept = new Map<string, { readonly ids: string; readonly value: T }>();

  /** `now` is the clock file times are compared with (tests give their own). */
  constructor(
    read: (path: string) => Promise<Uint8Array | undefined>,
    derive: (files: readonly (Uint8Array | undefined)[]) => T,
    now: () => number = Date.now,
  ) {
    this.#read = read;
    this.#derive = derive;
    this.#now = now;
  }

  /** The value for `paths` (read and derived again unless every file is unchanged). */
  async get(paths: readonly string[]): Promise<T> {
    const key = paths.join("\0");
    const now = this.#now();
    // Not even a stat without read permission: in a terminal, Deno would prompt for it.
    const ids = paths.map((p) => readAllowed(p) ? identityOf(p, now) : undefined);
    const keepable = ids.every((id) => id !== undefined);
    const joined = ids.join("\0");
    const kept = this.#kept.get(key);
    if (keepable && kept !== undefined && kept.ids === joined) return kept.value;
    // What was derived from older contents goes now, even if reading the new ones fails.
    this.#kept.delete(key);
    const contents = await Promise.all(
      paths.map((p, i) => (ids[i] === "missing" ? undefined : this.#readOrMissing(p))),
    );
    const value = this.#derive(contents);
    // Contents read after the stat may be newer than `ids`: then the next stat differs and
    // reads again.
    if (keepable) {
      if (this.#kept.size >= MAX_CACHED_FILES) this.#kept.delete(this.#kept.keys().next().value!);
      this.#kept.set(key, { ids: joined, value });
    }
    return value;
  }

  async #readOrMissing(path: string): Promise<Uint8Array | undefined> {
    const denied = readDenial(path);
    if (denied) throw denied;
    try {
      return await this.#read(path);
    } catch (e) {
      if (isMissing(e)) return undefined; // removed since the stat
      throw e;
    }
  }
}

/**
 * The bytes of single files, kept while unchanged: {@link DerivedFromFiles} of one file.
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
  readonly #files: DerivedFromFiles<Uint8Array | undefined>;

  /** `now` is the clock file times are compared with (tests give their own). */
  constructor(read: (path: string) => Promise<Uint8Array>, now: () => number = Date.now) {
    this.#files = new DerivedFromFiles(read, ([bytes]) => bytes, now);
  }

  /**
   * The file's bytes (a copy the caller may keep and change), or undefined when it does
   * not exist (ENOENT, ENOTDIR). Other errors, and `read`'s, are thrown as they come.
   */
  async read(path: string): Promise<Uint8Array | undefined> {
    return (await this.#files.get([path]))?.slice();
  }
}
