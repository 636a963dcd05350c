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
import { basename, hasGlob, joinPath, unescapeGlob } from "../../sftp/path.ts";
import { nameMatcher, sanitize, SCPError, type SCPTimes } from "../../sftp/scp/records.ts";
import { connect, type ConnectHooks } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ConnectOptions } from "../client/options.ts";
import type { SFTPClient } from "../sftp/client.ts";
import { FsBackend } from "../sftp/fs_backend.ts";
import {
  entryRefusal,
  item,
  MAX_TRANSFER_DEPTH,
  narrowMadeDirectory,
  OWNER_WX,
} from "../sftp/transfer.ts";
import { BackendTarget, sendPath } from "./backend_io.ts";
import { type LocalFailure, type RemoteScp, startRemoteScp } from "./remote.ts";
import { SCPSender } from "./sender.ts";
import {
  hasShellGlob,
  mayShareServer,
  refuseAliasedPaths,
  refuseCopyOntoItself,
  sftpPatternOf,
  sourceFromHome,
} from "./same_file.ts";
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
 * import type { SCPOptions } from "@sshts/ssh";
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
   * subsystem. A remote `~/` is the home directory either way; over SFTP,
   * `~user/` asks the server (expand-path@openssh.com, as OpenSSH's scp does),
   * and a server without that extension makes `"auto"` fall back and `"sftp"`
   * throw an {@link SCPError}.
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
 * A local source needs a remote destination: with a local destination, any
 * local source is refused (an SCPError, reason `usage`) before anything is
 * copied (AsyncSSH's scp() refuses local to local too; use `node:fs` for that).
 * A remote file is never copied onto itself: when the target is the source
 * (or a directory's copy would land inside it), on one connection or on two
 * that reach the same server, the copy is refused before the target is opened.
 * Over SFTP the server's canonical paths are compared (across two connections
 * also the attributes, and a probe of the target's access time, so that
 * look-alike files of two users are still copied); a legacy-only server
 * leaves only the paths as written, so an alias through a symbolic link, or a
 * relative path against an absolute one, is not caught there.
 *
 * Safe against a hostile server in the legacy protocol: names must be what
 * was asked for (or match its `*`/`?` glob), be one path component and
 * carry no control characters; the destination directory's own mode is
 * never changed; sizes, modes, times and record lengths are checked; remote
 * paths are quoted for the remote shell. A file cut mid-way is removed when
 * it is a regular file the transfer created or truncated; written through a
 * symbolic link, the link stays and the file it leads to is emptied; a device,
 * FIFO or socket is never truncated nor removed (the error says which). A cut
 * remote-to-remote transfer rejects once the destination's `scp -t` ended,
 * so what it does with its partial file is done by then (one that has not ended
 * 10 s after our EOF has its channel closed); an abort through `signal` closes
 * the channels at once instead.
 *
 * @example Upload a tree, download a file
 * ```ts
 * import { mkdtemp, readFile, writeFile } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { connect, generatePrivateKey, listen, MemoryBackend, scp } from "@sshts/ssh";
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
    // As AsyncSSH's scp() ("Local copy not supported"), but before anything was copied.
    const local = dst.kind === "local" ? srcs.find((s) => s.kind === "local") : undefined;
    if (local) {
      throw new SCPError(
        `${sanitize(local.label)}: a local source needs a remote destination ` +
          "(scp() does not copy local to local)",
        { reason: "usage", path: local.label },
      );
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
  // Not `[[conn, path], "local"]`: two sources, the first a pair.
  return Array.isArray(x) && x.length === 2 && typeof x[0] === "object" && x[0] !== null &&
    !Array.isArray(x[0]) && typeof x[1] === "string";
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

/**
 * SFTP cannot do this copy: the server refused the sftp subsystem, or a path needs an
 * extension it lacks. `"auto"` falls back to legacy SCP; `"sftp"` throws it.
 */
class SubsystemRefused extends SCPError {
  constructor(message: string, options: ErrorOptions & { path?: string } = {}) {
    super(message, { ...options, reason: "remote" });
  }
}

/**
 * A remote path for SFTP, where paths are relative to the home directory: a leading "~" or
 * "~/" means it, as the remote shell reads it in the legacy protocol (and as OpenSSH's scp
 * reads it over SFTP); `~user/...` is left for {@link expandOtherHome}.
 */
function sftpEnd<E extends End>(e: E): E {
  if (e.kind !== "remote") return e;
  const path = sourceFromHome(e.path);
  return path === undefined || path === e.path ? e : { ...e, path };
}

/**
 * `~user/rest` with the user's home directory the server names (expand-path@openssh.com, as
 * OpenSSH's scp asks in SFTP mode); the rest is kept as written, globs included. A server
 * without the extension cannot say: SFTP is refused for the copy (`"auto"` falls back to
 * the legacy protocol, whose remote shell expands it).
 */
async function expandOtherHome<E extends End>(e: E, sftp: SFTPClient): Promise<E> {
  if (e.kind !== "remote" || sourceFromHome(e.path) !== undefined) return e;
  if (!sftp.extensions.has("expand-path@openssh.com")) {
    throw new SubsystemRefused(
      `${e.label}: the server has no expand-path extension, which a ~user path needs over SFTP`,
      { path: e.label },
    );
  }
  const slash = e.path.indexOf("/");
  const home = await sftp.expandPath(slash < 0 ? e.path : e.path.slice(0, slash));
  return { ...e, path: slash < 0 ? home : joinPath(home, e.path.slice(slash + 1)) };
}

async function viaSftp(srcEnds: End[], dstEnd: End, o: SCPOptions): Promise<void> {
  let srcs = srcEnds.map(sftpEnd);
  let dst = sftpEnd(dstEnd);
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
    const expand = (e: End) => e.kind === "remote" ? expandOtherHome(e, sessions.get(e.conn)!) : e;
    srcs = await Promise.all(srcs.map(expand));
    dst = await expand(dst);
    const many = srcs.length > 1 || srcs.some((s) => s.kind === "remote" && hasGlob(s.path));
    if (many) {
      const isDir = dst.kind === "remote"
        ? await sessions.get(dst.conn)!.isDir(dst.path)
        : await new FsBackend({ root: "/", openSpecialFiles: true }).stat(dst.path).then(
          isDirectory,
          () => false,
        );
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
      if (src.kind === "local") {
        // Local to local was refused in scp().
        if (dst.kind === "remote") await sessions.get(dst.conn)!.put(src.path, dst.path, tp);
        continue;
      }
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
          const to = sessions.get(dst.conn)!;
          const shared = mayShareServer(src.conn, dst.conn);
          await item(o, p, () => sftpCrossCopy(from, p, to, dst.path, o, shared));
        }
      }
    }
  } finally {
    for (const s of sessions.values()) await s.close().catch(() => {});
  }
}

/**
 * Remote to remote over two SFTP sessions (two connections): through us, file by file.
 * `shared`: the two connections may reach one server, where the target may be the source.
 */
async function sftpCrossCopy(
  a: SFTPClient,
  src: string,
  b: SFTPClient,
  dst: string,
  o: SCPOptions,
  shared: boolean,
  depth = 0,
): Promise<void> {
  let target = dst;
  // Below the top, `dst` is a name from a's listing, checked there: never "into" it.
  if (depth === 0 && await b.isDir(dst)) target = joinPath(dst, basename(src));
  const attrs = await a.stat(src);
  if (depth === 0 && shared) {
    // Opening the target truncates it: refuse before, when it is the source.
    await refuseCopyOntoItself(a, src, attrs, b, target, {
      recurse: o.recurse ?? false,
      sameConnection: false,
    });
  }
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
    const created = !(await b.isDir(target));
    if (created) await b.mkdir(target, perm | OWNER_WX);
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
        return sftpCrossCopy(a, child, b, joinPath(target, name), o, shared, depth + 1);
      });
    }
    // The exact mode once the children are in: the source's (a directory that was there
    // keeps its own unless `preserve`).
    if (o.preserve) await b.setstat(target, { permissions: perm, ...times });
    else if (created) await narrowMadeDirectory(b, target, perm);
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
  const many = srcs.length > 1 || srcs.some((s) => s.kind === "remote" && hasShellGlob(s.path));
  const local = new FsBackend({ root: "/", openSpecialFiles: true });
  const signal = o.signal;
  if (dst.kind === "remote") {
    // Before anything is opened: sources that would be copied onto themselves.
    const refused = await refuseLegacySelfCopies(srcs, dst, o);
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
    // Our own files we could not send: reported as ours, not as the remote's failure.
    const skipped: string[] = [];
    let firstSkipped: LocalFailure | undefined;
    await item(o, dst.label, async () => {
      try {
        await tx.start();
        for (const src of srcs) {
          if (refused.has(src)) continue;
          if (src.kind === "local") {
            await sendPath(tx, local, src.path, {
              recurse,
              preserve,
              signal,
              onProgress: (d, n, p) => o.onProgress?.(d, n, p, dst.label),
              onSkipped: (message, cause, path) => {
                skipped.push(message);
                firstSkipped ??= { cause, path };
              },
            });
          } else {
            await pull(
              src,
              () => new RelayTarget(tx, () => to.cut()),
              { recurse, preserve, signal },
              (d, n, p) => o.onProgress?.(d, n, `${src.label}/${p}`, dst.label),
            );
          }
        }
        warnings.push(...tx.warnings);
        await to.finish(warnings, skipped, firstSkipped);
      } catch (e) {
        // The remote ends first (and deals with a partial file) unless this was an abort.
        if (signal?.aborted) to.abort();
        else await to.cut();
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
    if (src.kind !== "remote") continue; // a local one was refused in scp()
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
 * Refuses, before any `scp -t` starts, the remote sources that the legacy relay would copy
 * onto themselves (`scp -t` truncates the target while `scp -f` reads it) or, with
 * `recurse`, into themselves: those on the destination's server. Compared over SFTP when
 * both connections have it (canonical paths, see {@link refuseCopyOntoItself}), else by
 * the paths as written on one server and user ({@link refuseAliasedPaths}). Each refusal
 * is an item of its own: with an `errorHandler` that returns, that source is skipped (it
 * is in the set returned).
 */
async function refuseLegacySelfCopies(
  srcs: readonly End[],
  dst: End & { readonly kind: "remote" },
  o: SCPOptions,
): Promise<Set<End>> {
  const refused = new Set<End>();
  const recurse = o.recurse ?? false;
  const sessions = new Map<SSHClientConnection, Promise<SFTPClient | null>>();
  const sftpOf = (conn: SSHClientConnection) => {
    let s = sessions.get(conn);
    if (!s) sessions.set(conn, s = conn.startSftp().catch(() => null));
    return s;
  };
  try {
    for (const src of srcs) {
      if (src.kind !== "remote" || !mayShareServer(src.conn, dst.conn)) continue;
      let ok = false;
      await item(o, src.label, async () => {
        o.signal?.throwIfAborted();
        const a = await sftpOf(src.conn);
        const b = await sftpOf(dst.conn);
        // Undefined for `~user/...`: another user's home, which neither check can place.
        const path = sourceFromHome(src.path);
        // The destination's "~" is the home directory too (the remote shell expands it).
        const to = sourceFromHome(dst.path);
        if (path !== undefined && to !== undefined && a && b) {
          // The names the remote shell expands it to (a "[" is quoted there: a literal).
          const paths = hasShellGlob(path)
            ? await a.glob(sftpPatternOf(path)).catch(() => [])
            : [unescapeGlob(path)];
          const intoDir = await b.isDir(to).catch(() => false);
          for (const p of paths) {
            const attrs = await a.stat(p).catch(() => undefined);
            if (!attrs) continue; // the transfer reports it
            const target = intoDir ? joinPath(to, basename(p)) : to;
            await refuseCopyOntoItself(a, p, attrs, b, target, {
              recurse,
              sameConnection: src.conn === dst.conn,
            });
          }
        } else if (
          path !== undefined && (src.conn === dst.conn ||
            src.conn.getExtraInfo().username === dst.conn.getExtraInfo().username)
        ) {
          refuseAliasedPaths(src.path, dst.path, recurse);
        }
        ok = true;
      });
      if (!ok) refused.add(src);
    }
  } finally {
    for (const s of sessions.values()) await s.then((c) => c?.close()).catch(() => {});
  }
  return refused;
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
    const target = await makeTarget();
    const relayed = target instanceof RelayTarget;
    const r = await runSink(from.stream, target, {
      recurse,
      expect: nameMatcher(src.path),
      requested: src.path,
      signal,
      onProgress,
    });
    // A relay's refusals are the destination's, which reports them itself.
    const first = r.targetError;
    await from.finish(
      r.warnings,
      relayed ? [] : r.targetErrors,
      first === undefined
        ? undefined
        : { cause: first, path: first instanceof SCPError ? first.path : undefined },
    );
  } catch (e) {
    from.abort();
    throw e;
  }
}

/**
 * A sink target that forwards what one remote sends to another remote's `scp -t`. A file
 * the source fails to finish cuts the destination's transfer (`cut`, which resolves once
 * the destination ended): padding it out to its announced size would leave a
 * complete-looking file (OpenSSH's `scp -t` keeps what a cut file got; ours removes it).
 */
class RelayTarget implements SinkTarget {
  readonly #tx: SCPSender;
  readonly #cut: () => Promise<void>;
  constructor(tx: SCPSender, cut: () => Promise<void>) {
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
      abort: async () => {
        await this.#cut();
        return "cut short" as const;
      },
    };
  }
}
