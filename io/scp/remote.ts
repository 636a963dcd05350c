/**
 * Running the remote half of legacy SCP from a client: `scp -t` / `scp -f`
 * on an exec channel, paths quoted for the remote shell (CVE-2020-15778),
 * the remote's stderr collected (bounded, escaped) for error messages; and
 * libssh2's primitives on top: {@link scpSend} and {@link scpRecv}.
 *
 * @module
 */

import { sanitize, SCPError, shellQuote } from "../../sftp/scp/records.ts";
import { basename } from "../../sftp/path.ts";
import { SSHClientProcess } from "../client/process.ts";
import { startSession } from "../client/session.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { abortable } from "../engine/errors.ts";
import { SCP_CUT_GRACE_MS } from "../limits.ts";
import { SCPSender } from "./sender.ts";
import { SCPStream } from "./stream.ts";

/** What SCP needs from a client connection: opening a session channel. */
export interface SCPProcessStarter {
  /** Opens a channel (the client connection's `openChannel`). */
  openChannel(
    channelType: string,
    data?: Uint8Array,
    options?: { readonly streams?: 1 | 2; readonly window?: number; readonly maxPacket?: number },
  ): Promise<ChannelIO>;
}

/**
 * Receive window of an scp channel: file data streams one way, so a window
 * of 16 MiB keeps a fast link busy between window adjustments (OpenSSH's is 2 MiB).
 */
export const SCP_WINDOW = 16 * 1024 * 1024;
/** Largest channel data packet we accept on an scp channel: fewer, bigger packets. */
export const SCP_MAX_CHANNEL_PACKET = 128 * 1024;

/** How much of the remote's stderr is kept for messages: enough for a page of errors. */
const MAX_STDERR = 16 * 1024;

/**
 * A remote `scp` process: its SCP stream, and its stderr and exit status
 * once it ends.
 */
/** A local failure during a transfer: what was thrown, and the path concerned. */
export interface LocalFailure {
  readonly cause: unknown;
  readonly path: string | undefined;
}

export interface RemoteScp {
  /** Records and data on the process's stdin/stdout. */
  readonly stream: SCPStream;
  /** The process. */
  readonly process: SSHClientProcess;
  /**
   * Sends EOF and waits for the exit; throws {@link SCPError} on a failure exit, or
   * (`reason: "local"`) when `localErrors`, our own failures we told the remote of, are
   * not empty: the remote's failure exit then only echoes them. `first`, the first of those
   * (what was thrown, and the local path), gives the error its `cause` and `path`.
   */
  finish(
    warnings?: readonly string[],
    localErrors?: readonly string[],
    first?: LocalFailure,
  ): Promise<void>;
  /** Closes the channel at once. */
  abort(): void;
  /**
   * Ends the transfer early and waits for the remote to end: stops reading, sends EOF and
   * waits for the channel to close, so that what the remote does about a partial file
   * (our server removes it, OpenSSH's `scp -t` keeps it) is done when this resolves. Never
   * rejects; an abort through the signal closes the channel at once.
   */
  cut(): Promise<void>;
  /** What the remote wrote on stderr so far (escaped). */
  stderr(): string;
}

/** Options of {@link startRemoteScp}. */
export interface RemoteScpOptions {
  /** `-t` (we send) or `-f` (we receive). */
  readonly mode: "to" | "from";
  /** The remote paths (quoted here; `*` and `?` stay globs for `-f`; a leading `~` is the home directory). */
  readonly paths: readonly string[];
  /** `-r`. */
  readonly recurse?: boolean;
  /** `-p`. */
  readonly preserve?: boolean;
  /** `-d`. */
  readonly targetIsDirectory?: boolean;
  /** Stops starting the process. */
  readonly signal?: AbortSignal | undefined;
  /** How long `cut()` waits for the remote to end (default {@link SCP_CUT_GRACE_MS}; tests). */
  readonly cutGraceMs?: number;
}

/**
 * The command line for a remote scp (exported for tests).
 *
 * @example
 * ```ts
 * import { scpCommandLine } from "./remote.ts";
 * console.log(scpCommandLine({ mode: "to", paths: ["a b; rm -rf ~"] })); // "scp -t 'a b; rm -rf ~'"
 * ```
 */
export function scpCommandLine(o: RemoteScpOptions): string {
  const flags = `${o.recurse ? " -r" : ""}${o.preserve ? " -p" : ""}${
    o.targetIsDirectory ? " -d" : ""
  }`;
  // A leading "~" or "~user" stays the home directory for both (`scp file host:~`).
  const words = o.paths.map((p) => shellQuote(p, { globs: o.mode === "from", home: true }));
  const dashes = o.paths.some((p) => p.startsWith("-")) ? " --" : "";
  return `scp${flags} -${o.mode === "to" ? "t" : "f"}${dashes} ${words.join(" ")}`;
}

/**
 * Starts `scp -t` or `scp -f` on the connection.
 *
 * @example
 * ```ts ignore
 * const r = await startRemoteScp(conn, { mode: "from", paths: ["/etc/hostname"] });
 * ```
 */
export async function startRemoteScp(
  conn: SCPProcessStarter,
  o: RemoteScpOptions,
): Promise<RemoteScp> {
  const command = scpCommandLine(o);
  o.signal?.throwIfAborted();
  const ch = await conn.openChannel("session", undefined, {
    window: SCP_WINDOW,
    maxPacket: SCP_MAX_CHANNEL_PACKET,
  });
  // Made before the exec request: exit-status may arrive in the same read as its reply.
  const process = new SSHClientProcess(ch, command);
  try {
    await abortable(o.signal, () => startSession(ch, command, {}), () => {});
  } catch (e) {
    ch.close();
    throw e;
  }
  const stream = new SCPStream(process.rawOutput(0), (b) => ch.write(b));
  const dec = new TextDecoder();
  let err = "";
  const errDone = (async () => {
    try {
      for await (const chunk of process.rawOutput(1)) {
        if (err.length < MAX_STDERR) err += dec.decode(chunk, { stream: true });
      }
    } catch { /* channel gone */ }
  })();
  const stderr = () => sanitize(err.slice(0, MAX_STDERR).trimEnd());
  const abort = () => {
    stream.cancel();
    process.close();
  };
  // An abort closes the channel: whatever waits on it ends.
  o.signal?.addEventListener("abort", abort, { once: true });
  void ch.closedPromise.then(() => o.signal?.removeEventListener("abort", abort));
  const finish = async (
    warnings: readonly string[] = [],
    localErrors: readonly string[] = [],
    first?: LocalFailure,
  ) => {
    try {
      ch.sendEof();
    } catch { /* already closed */ }
    await ch.closedPromise;
    await errDone;
    stream.cancel();
    const status = process.exitStatus;
    const failed = (status !== null && status !== 0) || process.exitSignal !== null;
    if (failed || warnings.length > 0) {
      const parts = [...warnings];
      const e = stderr();
      if (e && !parts.some((w) => e.includes(w))) parts.push(e);
      if (localErrors.length > 0) {
        // The remote scp exits 1 for the errors we sent it, and prints them: ours to name.
        const remote = parts.filter((p) => !localErrors.some((l) => p.includes(l)));
        throw new SCPError(
          localErrors.join("; ") +
            (remote.length > 0 ? `; the remote scp also reported: ${remote.join("; ")}` : ""),
          {
            reason: "local",
            ...(first === undefined ? {} : { cause: first.cause }),
            ...(first?.path === undefined ? {} : { path: first.path }),
          },
        );
      }
      throw new SCPError(
        `Remote scp ${
          failed ? `failed (exit ${status ?? process.exitSignal?.signal})` : "reported errors"
        }` +
          (parts.length > 0 ? `: ${parts.join("; ")}` : ""),
        { reason: "remote" },
      );
    }
  };
  let cutting: Promise<void> | undefined;
  const cutGrace = o.cutGraceMs ?? SCP_CUT_GRACE_MS;
  const cut = () =>
    cutting ??= (async () => {
      stream.cancel();
      try {
        ch.sendEof();
      } catch { /* already closed */ }
      // Not forever: past the grace the channel is closed from here, and not waited for.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<false>((r) => (timer = setTimeout(() => r(false), cutGrace)));
      const ended = await Promise.race([ch.closedPromise.then(() => true, () => true), grace]);
      clearTimeout(timer);
      if (ended) await errDone;
      else ch.close();
    })();
  return { stream, process, finish, abort, cut, stderr };
}

/**
 * What libssh2's scp_send64 takes: the mode, the exact size, optional times.
 *
 * @example
 * ```ts ignore
 * const w = await conn.scpSend("/tmp/a.bin", { size: 1024, mode: 0o600, mtime: 1700000000 });
 * ```
 */
export interface SCPSendOptions {
  /** Permission bits (default 0o644). */
  readonly mode?: number;
  /** The exact number of bytes that will be written. */
  readonly size: number;
  /** Modification time, seconds (with `atime`: sent as a T record, `scp -p`). */
  readonly mtime?: number;
  /** Access time, seconds. */
  readonly atime?: number;
  /** Stops the transfer. */
  readonly signal?: AbortSignal;
}

/**
 * libssh2's scp_send64: uploads one file of an announced size with `scp -t`.
 * The returned stream takes exactly `size` bytes: writing more is an error,
 * and closing it early is an error (the transfer is cut; the remote discards
 * the file, or a remote that keeps partial files has a short one), which
 * rejects once the remote ended. Closing it waits for the remote to confirm.
 *
 * @example
 * ```ts ignore
 * const w = await scpSend(conn, "/tmp/hello.txt", { size: 6, mode: 0o600 });
 * const writer = w.getWriter();
 * await writer.write(new TextEncoder().encode("hello\n"));
 * await writer.close();
 * ```
 */
export async function scpSend(
  conn: SCPProcessStarter,
  path: string,
  options: SCPSendOptions,
): Promise<WritableStream<Uint8Array>> {
  const { size } = options;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new SCPError(`scpSend needs a size (a whole number of bytes), got ${size}`, {
      reason: "usage",
    });
  }
  const name = basename(path);
  if (name === "" || name === "." || name === "..") {
    throw new SCPError(`scpSend needs a file path, got ${JSON.stringify(path)}`, {
      reason: "usage",
    });
  }
  const times = options.mtime !== undefined
    ? { mtime: options.mtime, atime: options.atime ?? options.mtime }
    : undefined;
  const r = await startRemoteScp(conn, {
    mode: "to",
    paths: [path],
    preserve: times !== undefined,
    signal: options.signal,
  });
  const tx = new SCPSender(r.stream);
  try {
    await tx.start();
    if (!(await tx.beginFile(name, options.mode ?? 0o644, size, times))) {
      throw new SCPError(`The remote refused "${path}": ${tx.warnings.join("; ")}`, {
        reason: "remote",
        path,
      });
    }
  } catch (e) {
    r.abort();
    throw withStderr(e, r);
  }
  return new WritableStream<Uint8Array>({
    write: async (chunk) => {
      options.signal?.throwIfAborted();
      try {
        await tx.data(chunk);
        // A write that failed (the channel or connection went) is remembered by the stream,
        // not thrown: stop here, or a piped source would be read to its end for nothing.
        const failed = r.stream.writeError;
        if (failed !== undefined) {
          const sent = size - tx.remaining;
          throw new SCPError(
            `scpSend("${path}") was cut after ${sent} of the ${size} bytes announced: ` +
              `${failed instanceof Error ? failed.message : String(failed)}`,
            { reason: "cut", path, cause: failed },
          );
        }
      } catch (e) {
        r.abort();
        throw withStderr(e, r);
      }
    },
    close: async () => {
      if (tx.remaining > 0) {
        // Cut the channel rather than pad the file with zeros: OpenSSH's sink would keep a
        // padded file of the full size, which looks complete.
        const sent = size - tx.remaining;
        // Waits for the remote to end, so that a partial file it removes is gone by now.
        if (options.signal?.aborted) r.abort();
        else await r.cut();
        throw new SCPError(
          `scpSend("${path}") was closed after ${sent} of the ${size} bytes announced; ` +
            "the transfer was cut (a remote that keeps partial files has a short one)",
          { reason: "cut", path },
        );
      }
      try {
        await tx.endFile();
        await r.finish(tx.warnings);
      } catch (e) {
        r.abort();
        throw withStderr(e, r);
      }
    },
    abort: () => r.abort(),
  });
}

function withStderr(e: unknown, r: RemoteScp): unknown {
  const err = r.stderr();
  if (e instanceof SCPError && err && !e.message.includes(err)) {
    return new SCPError(`${e.message} (remote stderr: ${err})`, {
      reason: e.reason,
      ...(e.path !== undefined ? { path: e.path } : {}),
      cause: e,
    });
  }
  return e;
}

/**
 * What {@link scpRecv} reports about the file (libssh2's struct stat subset).
 *
 * @example
 * ```ts ignore
 * const { stat } = await conn.scpRecv("/etc/hostname");
 * console.log(stat.mode.toString(8), stat.size, stat.mtime);
 * ```
 */
export interface SCPFileStat {
  /** Permission bits. */
  readonly mode: number;
  /** Size in bytes: the readable carries exactly this many. */
  readonly size: number;
  /** Modification time, seconds. */
  readonly mtime: number | undefined;
  /** Access time, seconds. */
  readonly atime: number | undefined;
}

/**
 * libssh2's scp_recv2: downloads one file with `scp -f`, returning its
 * attributes and a stream of exactly its bytes. The remote must send the
 * name asked for (CVE-2019-6111) and a regular file; a stream that ends
 * early errors with the byte count.
 *
 * @example
 * ```ts ignore
 * const { stat, readable } = await scpRecv(conn, "/etc/hostname");
 * console.log(stat.size, await new Response(readable).text());
 * ```
 */
export async function scpRecv(
  conn: SCPProcessStarter,
  path: string,
  options: { readonly signal?: AbortSignal } = {},
): Promise<{ stat: SCPFileStat; readable: ReadableStream<Uint8Array<ArrayBuffer>> }> {
  const want = basename(path);
  const r = await startRemoteScp(conn, {
    mode: "from",
    paths: [path.replace(/[*?\\]/g, "\\$&")],
    preserve: true,
    signal: options.signal,
  });
  const s = r.stream;
  let stat: SCPFileStat;
  try {
    await s.sendAck();
    let times: { mtime: number; atime: number } | undefined;
    for (;;) {
      const rec = await s.record();
      if (rec === null) {
        throw new SCPError(`The remote sent nothing for "${path}"`, { reason: "remote", path });
      }
      if (rec.type === "times") {
        times = rec;
        await s.sendAck();
        continue;
      }
      if (rec.type === "warning" || rec.type === "fatal") {
        throw new SCPError(`The remote refused "${path}": ${rec.message}`, {
          reason: "remote",
          path,
        });
      }
      if (rec.type !== "file") {
        throw new SCPError(
          `The remote sent a ${rec.type} record for "${path}"; a file was expected`,
          {
            path,
          },
        );
      }
      if (rec.name !== want) {
        throw new SCPError(
          `Peer sent an unexpected name ${JSON.stringify(rec.name)} (asked for ${
            JSON.stringify(want)
          })`,
          { reason: "unexpected-name", path: rec.name },
        );
      }
      stat = { mode: rec.mode, size: rec.size, mtime: times?.mtime, atime: times?.atime };
      break;
    }
    await s.sendAck();
  } catch (e) {
    if (e instanceof SCPError && e.reason !== "remote") {
      await s.send({ type: "fatal", message: `scp: ${e.message}` }).catch(() => {});
    }
    r.abort();
    throw withStderr(e, r);
  }
  const size = stat.size;
  let done = 0;
  const readable = new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull: async (controller) => {
      try {
        options.signal?.throwIfAborted();
        if (done < size) {
          const d = await s.data(Math.min(256 * 1024, size - done));
          if (d === null) {
            throw new SCPError(
              `The transfer of "${path}" was cut after ${done} of ${size} bytes`,
              { reason: "cut", path },
            );
          }
          done += d.length;
          controller.enqueue(d.slice());
          if (done < size) return;
        }
        const a = await s.ack();
        if (a.type !== "ok") {
          throw new SCPError(`The remote failed while sending "${path}": ${a.message}`, {
            reason: "remote",
            path,
          });
        }
        await s.sendAck();
        await r.finish();
        controller.close();
      } catch (e) {
        r.abort();
        controller.error(withStderr(e, r));
      }
    },
    cancel: () => r.abort(),
  }, { highWaterMark: 0 });
  return { stat, readable };
}
