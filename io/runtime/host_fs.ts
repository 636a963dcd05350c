/**
 * `node:fs/promises` for paths that may not be UTF-8. A name on the host is bytes; a
 * string path from `node:fs` decodes them lossily (Latin-1 `caf\xe9` reads as
 * `"caf\uFFFD"`, which names nothing). These calls take and give the escaped form of
 * `core/escaped_utf8.ts` — each byte of an invalid sequence as U+DC80–U+DCFF, as the
 * SFTP codec decodes names — and hand `node:fs` the exact bytes as a Buffer when the
 * path holds such a byte. Paths that are valid UTF-8 go through as strings, unchanged.
 *
 * Deno's `node:fs` turns a Buffer path back into a string (its file APIs take UTF-8
 * only), so there a path holding escaped bytes fails with `EILSEQ` instead of naming
 * another file, and names it lists come decoded lossily, as Deno gives them (its
 * `opendir` also refuses `{ encoding: "buffer" }`).
 *
 * Bun 1.x replaces lone surrogates with U+FFFD in every `node:path` function and gives
 * `undefined` names from a directory opened with `{ encoding: "buffer" }`: paths go
 * through {@link hostPathLib}, and a directory's byte names come from `readdir`.
 *
 * @module
 */

import type * as fs from "node:fs";
import * as fsSync from "node:fs";
import * as fsp from "node:fs/promises";
import * as nodePath from "node:path";
import { Buffer } from "node:buffer";
import { decodeEscapedUtf8, encodeEscapedUtf8, hasEscapedBytes } from "../../core/escaped_utf8.ts";
import process from "node:process";
import { currentRuntime } from "./env.ts";

const RUNTIME = currentRuntime();
/**
 * Whether `node:fs` takes a path's bytes: not on Deno (its file APIs take UTF-8 strings),
 * nor on Windows (whose names are UTF-16: Node decodes a Buffer path as UTF-8, lossily).
 */
const BYTE_PATHS = RUNTIME !== "deno" && process.platform !== "win32";

/**
 * The argument `node:fs` needs for an escaped path: the string itself, or its bytes.
 *
 * @example
 * ```ts
 * import { hostPath } from "./host_fs.ts";
 * console.log(hostPath("/srv/readme")); // "/srv/readme"
 * ```
 */
export function hostPath(path: string): string | Buffer {
  // Deno lists a name that is not UTF-8 with U+FFFD in it: such a path may name another file.
  const lossy = RUNTIME === "deno" && path.includes("\uFFFD");
  if (!lossy && !hasEscapedBytes(path)) return path;
  if (lossy || !BYTE_PATHS) {
    throw Object.assign(
      new Error(
        `Illegal byte sequence: ${
          RUNTIME === "deno" ? "Deno's" : "this system's"
        } file APIs cannot name a path that is not UTF-8${
          lossy ? " (Deno lists such a name with U+FFFD)" : ""
        }: ${JSON.stringify(path)}`,
      ),
      { code: "EILSEQ" },
    );
  }
  const b = encodeEscapedUtf8(path);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A path or name `node:fs` gave as bytes, in the escaped form. */
function fromHost(p: string | Buffer): string {
  return typeof p === "string" ? p : decodeEscapedUtf8(p);
}

const asBuffer = { encoding: "buffer" } as const;

/** How Bun decodes a name it lists as a string (a leading byte-order mark kept). */
const lossyDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * The `node:fs/promises` calls the SFTP server and the transfers make, on escaped paths.
 *
 * @example
 * ```ts
 * import { tmpdir } from "node:os";
 * import { hostFs } from "./host_fs.ts";
 * const st = await hostFs.lstat(tmpdir());
 * console.log(st.isDirectory()); // true
 * ```
 */
export const hostFs = {
  lstat: (p: string): Promise<fs.Stats> => on(() => fsp.lstat(hostPath(p))),
  stat: (p: string): Promise<fs.Stats> => on(() => fsp.stat(hostPath(p))),
  open: (p: string, flags: string | number, mode?: number): Promise<fsp.FileHandle> =>
    on(() => fsp.open(hostPath(p), flags, mode)),
  mkdir: async (p: string, options?: number | fs.MakeDirectoryOptions): Promise<void> => {
    await on(() => fsp.mkdir(hostPath(p), options));
  },
  rmdir: (p: string): Promise<void> => on(() => fsp.rmdir(hostPath(p))),
  rm: (p: string, options?: fs.RmOptions): Promise<void> => on(() => fsp.rm(hostPath(p), options)),
  unlink: (p: string): Promise<void> => on(() => fsp.unlink(hostPath(p))),
  rename: (from: string, to: string): Promise<void> =>
    on(() => fsp.rename(hostPath(from), hostPath(to))),
  link: (from: string, to: string): Promise<void> =>
    on(() => fsp.link(hostPath(from), hostPath(to))),
  symlink: (target: string, p: string): Promise<void> =>
    on(() => fsp.symlink(hostPath(target), hostPath(p))),
  chmod: (p: string, mode: number): Promise<void> => on(() => fsp.chmod(hostPath(p), mode)),
  chown: (p: string, uid: number, gid: number): Promise<void> =>
    on(() => fsp.chown(hostPath(p), uid, gid)),
  lchown: (p: string, uid: number, gid: number): Promise<void> =>
    on(() => fsp.lchown(hostPath(p), uid, gid)),
  utimes: (p: string, atime: number, mtime: number): Promise<void> =>
    on(() => fsp.utimes(hostPath(p), atime, mtime)),
  lutimes: (p: string, atime: number, mtime: number): Promise<void> =>
    on(() => fsp.lutimes(hostPath(p), atime, mtime)),
  truncate: (p: string, size: number): Promise<void> => on(() => fsp.truncate(hostPath(p), size)),
  statfs: (p: string): Promise<fs.StatsFs> => on(() => fsp.statfs(hostPath(p))),
  realpath: async (p: string): Promise<string> =>
    fromHost(await on(() => fsp.realpath(hostPath(p), asBuffer))),
  readlink: async (p: string): Promise<string> =>
    fromHost(await on(() => fsp.readlink(hostPath(p), asBuffer))),
  /** The names in a directory. */
  readdir: async (p: string): Promise<string[]> =>
    (await on(() => fsp.readdir(hostPath(p), asBuffer))).map(fromHost),
  /** A directory opened for reading; its entries' names are escaped strings. */
  opendir: async (p: string): Promise<HostDir> => {
    const host = await on(() => Promise.resolve(hostPath(p)));
    // Bun names a buffer-encoded directory's entries `undefined`: it reads strings (see
    // HostDir). Deno refuses the option (and has only lossy names to give).
    if (RUNTIME === "bun") return new HostDir(await fsp.opendir(host), host);
    if (RUNTIME === "deno") return new HostDir(await fsp.opendir(host));
    // @types/node leaves "buffer" out of opendir's encodings.
    return new HostDir(await fsp.opendir(host, asBuffer as unknown as fs.OpenDirOptions));
  },
};

/**
 * The lookups of {@link hostFs} made at once, on the calling thread: path resolution's
 * lstat and realpath, which on a local file system take microseconds, where a round trip
 * through the thread pool costs several times that in CPU (an SFTP server's metadata
 * requests spent most of their time there). Errors are thrown as `node:fs` throws them.
 *
 * @example
 * ```ts
 * import { tmpdir } from "node:os";
 * import { hostFsSync } from "./host_fs.ts";
 * console.log(hostFsSync.lstat(tmpdir()).isDirectory()); // true
 * ```
 */
export const hostFsSync = {
  lstat: (p: string): fs.Stats => fsSync.lstatSync(hostPath(p)),
  realpath: (p: string): string => fromHost(fsSync.realpathSync.native(hostPath(p), asBuffer)),
};

/** `call()`'s promise, or a rejected one when it throws (hostPath's EILSEQ) before making it. */
function on<T>(call: () => Promise<T>): Promise<T> {
  try {
    return call();
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * A directory being read, whose entries' names come as escaped strings.
 *
 * @example
 * ```ts
 * import { tmpdir } from "node:os";
 * import { hostFs } from "./host_fs.ts";
 * const dir = await hostFs.opendir(tmpdir());
 * const first = await dir.read(); // a name, or null at the end
 * await dir.close();
 * console.log(first === null || typeof first === "string"); // true
 * ```
 */
export class HostDir {
  readonly #dir: fs.Dir;
  /** Where a directory read as strings is (Bun), to look up the bytes of a lossy name. */
  readonly #path: string | Buffer | undefined;
  /** Escaped names by their lossy decoding, read once the first lossy name comes. */
  #byLossy: Map<string, string[]> | undefined;

  /**
   * Wraps a directory `node:fs` opened with `{ encoding: "buffer" }`, or one opened with
   * string names at `path` (whose names that are not UTF-8 are then read again as bytes).
   */
  constructor(dir: fs.Dir, path?: string | Buffer) {
    this.#dir = dir;
    this.#path = path;
  }

  /** The next entry's name, or null after the last. */
  async read(): Promise<string | null> {
    const e = await this.#dir.read();
    if (e === null) return null;
    // Opened with encoding "buffer", the name is a Buffer (typed as a string by @types/node).
    const name = e.name as string | Buffer;
    if (typeof name !== "string" || this.#path === undefined || !name.includes("\uFFFD")) {
      return fromHost(name);
    }
    this.#byLossy ??= await this.#lossyNames(this.#path);
    // A name that went away meanwhile stays as the runtime gave it.
    return this.#byLossy.get(name)?.shift() ?? name;
  }

  async #lossyNames(path: string | Buffer): Promise<Map<string, string[]>> {
    const map = new Map<string, string[]>();
    for (const b of await fsp.readdir(path, asBuffer)) {
      const lossy = lossyDecoder.decode(b);
      if (!lossy.includes("\uFFFD")) continue;
      const list = map.get(lossy);
      if (list) list.push(decodeEscapedUtf8(b));
      else map.set(lossy, [decodeEscapedUtf8(b)]);
    }
    return map;
  }

  /** Closes the directory. */
  close(): Promise<void> {
    return this.#dir.close();
  }
}

/**
 * The percent form a path takes through Bun's `node:path`: `%` and each escaped byte
 * as `%xx`, so that nothing is a lone surrogate; `/` and `.` are left alone.
 */
function protect(p: string): string {
  return p.replace(
    /%|(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g,
    (c) => c === "%" ? "%25" : "%" + (c.charCodeAt(0) - 0xdc00).toString(16),
  );
}

function unprotect(p: string): string {
  return p.replace(
    /%(25|[89a-f][0-9a-f])/g,
    (_, h: string) => h === "25" ? "%" : String.fromCharCode(0xdc00 + parseInt(h, 16)),
  );
}

/** The working directory as `node:path` sees it. */
const workingDir = () => process.cwd();

/**
 * `fn` with its path arguments and result protected on Bun when they hold escaped bytes.
 * `fn` gets the working directory to use (protected with the rest: Bun's `resolve()`
 * would take it as it is, and `unprotect` then change any `%xx` in it).
 */
function keepingBytes<A extends string[], R extends string | boolean>(
  fn: (cwd: () => string, ...args: A) => R,
): (...args: A) => R {
  if (RUNTIME !== "bun") return (...args: A) => fn(workingDir, ...args);
  return (...args: A) => {
    if (!args.some(hasEscapedBytes)) return fn(workingDir, ...args);
    const r = fn(() => protect(workingDir()), ...args.map(protect) as A);
    return (typeof r === "string" ? unprotect(r) : r) as R;
  };
}

/**
 * `node:path` for host paths in the escaped form (what {@link hostFs} takes): the same
 * functions, which on Bun keep escaped bytes instead of turning them into U+FFFD.
 *
 * @example
 * ```ts
 * import { hostPathLib } from "./host_fs.ts";
 * console.log(hostPathLib.join("/srv", "caf\uDCE9") === "/srv/caf\uDCE9"); // true
 * ```
 */
export const hostPathLib: Pick<
  typeof nodePath,
  "join" | "dirname" | "basename" | "resolve" | "relative" | "isAbsolute" | "sep"
> = {
  join: keepingBytes((_cwd, ...p: string[]) => nodePath.join(...p)),
  dirname: keepingBytes((_cwd, p: string) => nodePath.dirname(p)),
  basename: keepingBytes((_cwd, p: string) => nodePath.basename(p)),
  resolve: keepingBytes((cwd, ...p: string[]) => nodePath.resolve(cwd(), ...p)),
  relative: keepingBytes((cwd, from: string, to: string) =>
    nodePath.relative(nodePath.resolve(cwd(), from), nodePath.resolve(cwd(), to))
  ),
  isAbsolute: keepingBytes((_cwd, p: string) => nodePath.isAbsolute(p)),
  sep: nodePath.sep,
};
