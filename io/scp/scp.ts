/**
 * `scp()`: copies files between local paths and SSH servers, as AsyncSSH's
 * `scp()` and OpenSSH's `scp` do: local to remote, remote to local, and
 * remote to remote through us. Over SFTP by default (as OpenSSH 9+), or the
 * legacy SCP protocol (`scp -t` / `scp -f`) with `protocol: "scp"`.
 *
 * @module
 */

import { hostPathLib } from "../runtime/host_fs.ts";
import { isDirectory } from "../../sftp/attrs.ts";
import { basename, hasGlob, joinPath } from "../../sftp/path.ts";
import { nameMatcher, sanitize, SCPError, type SCPTimes } from "../../sftp/scp/records.ts";
import { connect, type ConnectHooks } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ConnectOptions } from "../client/options.ts";
import type { SFTPClient } from "../sftp/client.ts";
import { FsBackend } from "../sftp/fs_backend.ts";
import { entryRefusal, item, MAX_TRANSFER_DEPTH } from "../sftp/transfer.ts";
import { BackendTarget, sendPath } from "./backend_io.ts";
import { type RemoteScp, startRemoteScp } from "./remote.ts";
import { SCPSender } from "./sender.ts";
import { runSink, type SinkFile, type SinkTarget } from "./sink.ts";

/**
 * One end of a copy: a local path, a `[connection, remotePath]` pair, or a
 * `"host:path"` / `"user@host:path"` string (connected with
 * `options.connect`). A string is remote when a ":" comes before any "/";
 * write `./a:b` for a local name with a colon.
 *
 * @example
 * ```ts ignore
 * const sources: SCPLocation[] = ["./report.pdf", [conn, "/srv/logs"], "deploy@db.example:dump.sql"];
 * ```
 */
export type SCPLocation = string | readonly [SSHClientConnection, string];

/**
 * Options of {@link scp}.
 *
 * @example
 * ```ts
 * import type { SCPOptions } from "./scp.ts";
 * const options: SCPOptions = {
 *   recurse: true, preserve: true, protocol: "scp", signal: AbortSignal.timeout(60_000),
 *   connect: { username: "deploy", port: 2222 },
 *   onProgress: (done, total, src, dst) => console.log(`${src} -> ${dst}: ${done}/${total}`),
 * };
 * ```
 */
export interface SCPOptions {
  /** Copy directories and their contents. */
  readonly recurse?: boolean;
  /** Keep modification and access times and permission bits. */
  readonly preserve?: boolean;
  /** Progress per file: bytes done and total, source and destination. */
  readonly onProgress?: (done: number, total: number, src: string, dst: string) => void;
  /** Stops the copy. */
  readonly signal?: AbortSignal;
  /**
   * `"sftp"`: the SFTP subsystem (OpenSSH 9+'s default); `"scp"`: the legacy
   * protocol (`scp -t` / `scp -f` run by the remote shell); `"auto"` (the
   * default): SFTP, falling back to legacy SCP when the server refuses the
   * subsystem.
   */
  readonly protocol?: "auto" | "sftp" | "scp";
  /** How to connect for `"host:path"` locations (username, keys, known hosts, ...). */
  readonly connect?: ConnectOptions & ConnectHooks;
  /**
   * Called when part of the copy fails (AsyncSSH's `error_handler`): return to go on with
   * the rest, throw to stop the copy with that error. Over SFTP each file, link, directory
   * and unmatched source fails on its own; with the legacy protocol a download's source
   * fails as a whole (with what its remote `scp -f` reported), an upload at its end (the
   * errors the remote `scp -t` reported and survived). Never called for an abort through
   * `signal`. Without it the first failure stops the copy.
   */
  readonly errorHandler?: (error: Error, path: string) => void | Promise<void>;
}

type End =
  | { readonly kind: "local"; readonly path: string; readonly label: string }
  | {
    readonly kind: "remote";
    readonly conn: SSHClientConnection;
    readonly path: string;
    readonly label: string;
  };

const REMOTE = /^(?:([^@/]+)@)?(\[[^\]/]+\]|[^:/[\]]+):(.*)$/s;

/**
 * Copies `sources` to `destination`. With several sources (or a glob) the
 * destination must be a directory. Connections made from `"host:path"`
 * strings are closed afterwards; `[conn, path]` pairs stay open.
 *
 * Safe against a hostile server in the legacy protocol: names must be what
 * was asked for (or match its `*`/`?` glob), be one path component and
 * carry no control characters; the destination directory's own mode is
 * never changed; sizes, modes, times and record lengths are checked; a file
 * cut mid-way is removed; remote paths are quoted for the remote shell.
 *
 * @example Upload a tree, download a file
 * ```ts
 * import { mkdtemp, readFile, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { connect, generatePrivateKey, listen, MemoryBackend, scp } from "../../mod.ts";
 * const backend = new MemoryBackend(); // or { root: "/srv/files" }: a jailed directory
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   scp: { backend },
 *   sftp: { backend },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "deploy",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * const site = await mkdtemp(join(tmpdir(), "site-"));
 * await writeFile(join(site, "index.html"), "<h1>hi</h1>\n");
 * await scp(site, [conn, "/www"], { recurse: true, preserve: true }); // over SFTP
 * await scp([conn, "/www/index.html"], join(site, "copy.html"), {
 *   protocol: "scp", // the legacy scp -f
 *   onProgress: (done, total, src) => console.log(src, done, "/", total),
 * });
 * console.log(await readFile(join(site, "copy.html"), "utf8")); // <h1>hi</h1>
 * ```
 */
export async function scp(
  sources: SCPLocation | readonly SCPLocation[],
  destination: SCPLocation,
  options: SCPOptions = {},
): Promise<void> {
  const list: readonly SCPLocation[] = isPair(sources)
    ? [sources]
    : typeof sources === "string"
    ? [sources]
    : sources as readonly SCPLocation[];
  if (list.length === 0) throw new SCPError("scp() needs at least one source", { reason: "usage" });
  const opened = new Map<string, Promise<SSHClientConnection>>();
  try {
    const resolve = (loc: SCPLocation) => resolveEnd(loc, opened, options);
    const srcs: End[] = [];
    for (const s of list) srcs.push(await resolve(s));
    const dst = await resolve(destination);
    options.signal?.throwIfAborted();
    if (dst.kind === "local" && srcs.every((s) => s.kind === "local")) {
      throw new SCPError("scp() needs a remote source or destination", { reason: "usage" });
    }
    const protocol = options.protocol ?? "auto";
    if (protocol !== "scp") {
      try {
        return await viaSftp(srcs, dst, options);
      } catch (e) {
        if (protocol === "sftp" || !(e instanceof SubsystemRefused)) throw e;
      }
    }
    await viaScp(srcs, dst, options);
  } catch (e) {
    // An abort closes channels: report the abort rather than what it broke.
    if (options.signal?.aborted) throw options.signal.reason;
    throw e;
  } finally {
    for (const c of opened.values()) {
      await c.then((conn) => conn.close()).catch(() => {});
    }
  }
}

function isPair(x: unknown): x is readonly [SSHClientConnection, string] {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === "object" && x[0] !== null &&
    typeof x[1] === "string";
}

async function resolveEnd(
  loc: SCPLocation,
  opened: Map<string, Promise<SSHClientConnection>>,
  options: SCPOptions,
): Promise<End> {
  if (typeof loc !== "string") {
    const [conn, path] = loc;
    return { kind: "remote", conn, path: path || ".", label: path };
  }
  const m = REMOTE.exec(loc);
  if (!m) return { kind: "local", path: hostPathLib.resolve(loc), label: loc };
  const user = m[1];
  const host = m[2]!.replace(/^\[(.*)\]$/, "$1");
  const key = `${user ?? ""}@${host}`;
  let c = opened.get(key);
  if (!c) {
    c = connect(host, { ...options.connect, ...(user !== undefined ? { username: user } : {}) });
    opened.set(key, c);
  }
  return { kind: "remote", conn: await c, path: m[3] || ".", label: loc };
}

// ---- SFTP ----

/** The server refused the sftp subsystem ("auto" falls back to legacy SCP). */
class SubsystemRefused extends Error {}

async function viaSftp(srcs: End[], dst: End, o: SCPOptions): Promise<void> {
  const sessions = new Map<SSHClientConnection, SFTPClient>();
  const sftpOf = async (conn: SSHClientConnection) => {
    let s = sessions.get(conn);
    if (!s) {
      try {
        s = await conn.startSftp();
      } catch (e) {
        throw new SubsystemRefused("The server refused the sftp subsystem", { cause: e });
      }
      sessions.set(conn, s);
    }
    return s;
  };
  try {
    // Open every session first: a refusal falls back before anything was copied.
    for (const e of [...srcs, dst]) if (e.kind === "remote") await sftpOf(e.conn);
    const many = srcs.length > 1 || srcs.some((s) => s.kind === "remote" && hasGlob(s.path));
    if (many) {
      const isDir = dst.kind === "remote"
        ? await sessions.get(dst.conn)!.isDir(dst.path)
        : await new FsBackend({ root: "/" }).stat(dst.path).then(isDirectory, () => false);
      if (!isDir) {
        throw new SCPError(`${dst.label}: Not a directory`, { reason: "usage", path: dst.label });
      }
    }
    const t = {
      ...(o.recurse !== undefined ? { recurse: o.recurse } : {}),
      ...(o.preserve !== undefined ? { preserve: o.preserve } : {}),
      ...(o.signal !== undefined ? { signal: o.signal } : {}),
      ...(o.errorHandler !== undefined ? { errorHandler: o.errorHandler } : {}),
    };
    for (const src of srcs) {
      const progress = o.onProgress;
      const tp = progress
        ? { ...t, onProgress: (d: number, n: number, s: string, p: string) => progress(d, n, s, p) }
        : t;
      if (src.kind === "local" && dst.kind === "remote") {
        await sessions.get(dst.conn)!.put(src.path, dst.path, tp);
        continue;
      }
      if (src.kind === "local") continue; // local to local was refused above
      const from = sessions.get(src.conn)!;
      let paths: string[] = [];
      await item(o, src.label, async () => {
        paths = hasGlob(basename(src.path)) ? await from.glob(src.path) : [src.path];
        if (paths.length === 0) {
          throw new SCPError(`${src.label}: No match`, { reason: "remote", path: src.label });
        }
      });
      for (const p of paths) {
        if (dst.kind === "local") await from.get(p, dst.path, tp);
        else if (dst.conn === src.conn) await from.copy(p, dst.path, tp);
        else {
          await item(o, p, () => sftpCrossCopy(from, p, sessions.get(dst.conn)!, dst.path, o));
        }
      }
    }
  } finally {
    for (const s of sessions.values()) await s.close().catch(() => {});
  }
}

/** Remote to remote over two SFTP sessions (two servers): through us, file by file. */
async function sftpCrossCopy(
  a: SFTPClient,
  src: string,
  b: SFTPClient,
  dst: string,
  o: SCPOptions,
  depth = 0,
): Promise<void> {
  let target = dst;
  // Below the top, `dst` is a name from a's listing, checked there: never "into" it.
  if (depth === 0 && await b.isDir(dst)) target = joinPath(dst, basename(src));
  const attrs = await a.stat(src);
  const times = { atime: attrs.atime ?? 0, mtime: attrs.mtime ?? 0 };
  const perm = (attrs.permissions ?? 0o644) & 0o777;
  if (isDirectory(attrs)) {
    if (!o.recurse) {
      throw new SCPError(`${src}: Is a directory (use recurse)`, { reason: "usage", path: src });
    }
    if (depth >= MAX_TRANSFER_DEPTH) {
      throw new SCPError(
        `${src}: directories nested deeper than ${MAX_TRANSFER_DEPTH} levels (a link loop?)`,
        { reason: "limit", path: src },
      );
    }
    if (!(await b.isDir(target))) await b.mkdir(target, perm);
    const seen = new Set<string>();
    for (const name of (await a.listdir(src)).sort()) {
      const child = joinPath(src, name);
      await item(o, child, () => {
        // What a's server lists becomes a path on b: one component, once (see forEachEntry).
        const unsafe = entryRefusal(name, seen);
        if (unsafe) {
          throw new SCPError(
            `${sanitize(src)}: the server listed ${
              JSON.stringify(sanitize(name))
            }: refused, ${unsafe}`,
            { reason: "bad-name", path: src },
          );
        }
        return sftpCrossCopy(a, child, b, joinPath(target, name), o, depth + 1);
      });
    }
    if (o.preserve) await b.setstat(target, { permissions: perm, ...times });
    return;
  }
  const size = attrs.size ?? 0;
  await using rf = await a.open(src, "r");
  await using wf = await b.open(target, "w", { permissions: perm });
  let off = 0;
  o.onProgress?.(0, size, src, target);
  for (;;) {
    o.signal?.throwIfAborted();
    const chunk = await rf.read(255 * 1024, off);
    if (chunk.length === 0) break;
    await wf.write(chunk, off);
    off += chunk.length;
    o.onProgress?.(off, size, src, target);
  }
  if (o.preserve) await wf.setstat({ permissions: perm, ...times });
}

// ---- legacy SCP ----

async function viaScp(srcs: End[], dst: End, o: SCPOptions): Promise<void> {
  const recurse = o.recurse ?? false;
  const preserve = o.preserve ?? false;
  const many = srcs.length > 1 || srcs.some((s) => s.kind === "remote" && hasGlob(s.path));
  const local = new FsBackend({ root: "/" });
  const signal = o.signal;
  if (dst.kind === "remote") {
    // Everything goes into one `scp -t` on the destination.
    const to = await startRemoteScp(dst.conn, {
      mode: "to",
      paths: [dst.path],
      recurse,
      preserve,
      targetIsDirectory: many,
      signal,
    });
    const tx = new SCPSender(to.stream);
    const warnings: string[] = [];
    await item(o, dst.label, async () => {
      try {
        await tx.start();
        for (const src of srcs) {
          if (src.kind === "local") {
            await sendPath(tx, local, src.path, {
              recurse,
              preserve,
              signal,
              onProgress: (d, n, p) => o.onProgress?.(d, n, p, dst.label),
            });
          } else {
            await pull(
              src,
              () => new RelayTarget(tx, () => to.abort()),
              { recurse, preserve, signal },
              (d, n, p) => o.onProgress?.(d, n, `${src.label}/${p}`, dst.label),
            );
          }
        }
        warnings.push(...tx.warnings);
        await to.finish(warnings);
      } catch (e) {
        to.abort();
        throw e;
      }
    });
    return;
  }
  // Remote to local: one `scp -f` per source.
  const target = await BackendTarget.open(local, dst.path, {
    preserve,
    targetIsDirectory: many,
  });
  for (const src of srcs) {
    if (src.kind !== "remote") continue;
    await item(o, src.label, () =>
      pull(
        src,
        () => many ? target : BackendTarget.open(local, dst.path, { preserve }),
        { recurse, preserve, signal },
        (d, n, p) => o.onProgress?.(d, n, src.label, p),
      ));
  }
}

/**
 * Runs one remote `scp -f` of `src` into the target `makeTarget` gives once the
 * remote side started, then finishes it; a failure aborts the remote side.
 */
async function pull(
  src: End & { readonly kind: "remote" },
  makeTarget: () => SinkTarget | Promise<SinkTarget>,
  o: {
    readonly recurse: boolean;
    readonly preserve: boolean;
    readonly signal: AbortSignal | undefined;
  },
  onProgress: (done: number, total: number, path: string) => void,
): Promise<void> {
  const { recurse, preserve, signal } = o;
  const from: RemoteScp = await startRemoteScp(src.conn, {
    mode: "from",
    paths: [src.path],
    recurse,
    preserve,
    signal,
  });
  try {
    const r = await runSink(from.stream, await makeTarget(), {
      recurse,
      expect: nameMatcher(src.path),
      requested: src.path,
      signal,
      onProgress,
    });
    await from.finish(r.warnings);
  } catch (e) {
    from.abort();
    throw e;
  }
}

/**
 * A sink target that forwards what one remote sends to another remote's `scp -t`. A file
 * the source fails to finish cuts the destination's transfer (`cut`): `scp -t` keeps what
 * a file got, so padding it out to its announced size would leave a complete-looking file.
 */
class RelayTarget implements SinkTarget {
  readonly #tx: SCPSender;
  readonly #cut: () => void;
  constructor(tx: SCPSender, cut: () => void) {
    this.#tx = tx;
    this.#cut = cut;
  }

  async enterDir(
    _dirs: readonly string[],
    name: string,
    mode: number,
    times: SCPTimes | undefined,
  ): Promise<void> {
    if (!(await this.#tx.dir(name, mode, times))) {
      throw new SCPError(`${name}: ${this.#tx.warnings.at(-1) ?? "refused by the destination"}`);
    }
  }

  async leaveDir(): Promise<void> {
    await this.#tx.end();
  }

  async openFile(
    dirs: readonly string[],
    name: string,
    mode: number,
    size: number,
    times: SCPTimes | undefined,
  ): Promise<SinkFile> {
    const tx = this.#tx;
    if (!(await tx.beginFile(name, mode, size, times))) {
      throw new SCPError(`${name}: ${tx.warnings.at(-1) ?? "refused by the destination"}`);
    }
    const path = [...dirs, name].join("/");
    return {
      path,
      write: (d) => tx.data(d),
      finish: async () => {
        if (!(await tx.endFile())) {
          throw new SCPError(`${path}: ${tx.warnings.at(-1) ?? "refused by the destination"}`);
        }
      },
      abort: () => {
        this.#cut();
        return Promise.resolve("cut short" as const);
      },
    };
  }
}
