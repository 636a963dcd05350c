/**
 * The SFTP server side: runs our server engine on a session channel whose
 * client asked for the "sftp" subsystem, serving a backend (the local file
 * system under a root, or any {@link SFTPBackend}). `listen({ sftp })` plugs
 * it in.
 *
 * @module
 */

import { releaseTransient } from "../../core/transient_buffers.ts";
import { SFTP_REPLY_BUFFER_HIGH, SFTP_REPLY_BUFFER_LOW } from "../limits.ts";
import { setImmediate } from "node:timers";
import type { SFTPBackend } from "../../sftp/backend.ts";
import { type HandleBudget, SFTPServerEngine } from "../../sftp/server_engine.ts";
import { type SymlinkOrder, symlinkOrder } from "../../sftp/symlink_order.ts";
import { type ChannelIO, readOwned } from "../engine/channel.ts";
import type { ServerConnectionContext } from "../server/context.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { checkServedRoot, configuredBackend } from "./fs_backend.ts";
import { type FileSessionLimits, inFileSession } from "./session_limits.ts";
import { SmallWriteBatcher } from "./small_writes.ts";

/**
 * The engine's `send`: small replies (STATUS, HANDLE, ATTRS) made while one batch of file
 * operations completes go out together, in one channel packet and one socket write, as sshd
 * sends what sftp-server writes to its pipe; an OpenSSH `put` otherwise costs a packet and a
 * write syscall per 32 KiB. A small reply is copied and returns at once; a big one (DATA)
 * first sends the small ones before it, in order, and returns when it was taken. Once more
 * than `high` bytes of replies wait for the client's window (it does not read them), `send`
 * returns a promise that resolves when they drained to `low`: the engine stops answering,
 * then stops reading, and the client's window, not our memory, holds what it sends.
 *
 * @example
 * ```ts ignore
 * const replies = replySender(channel, () => engine.close());
 * new SFTPServerEngine(backend, { send: replies.send });
 * ```
 */
export function replySender(
  channel: Pick<ChannelIO, "write">,
  onError: () => void,
  limits: { readonly high?: number; readonly low?: number } = {},
): {
  send: (chunks: Uint8Array[]) => Promise<void> | undefined;
  /** Sends the small replies still waiting and resolves when the channel took them. */
  flush: () => Promise<void>;
} {
  const high = limits.high ?? SFTP_REPLY_BUFFER_HIGH;
  const low = Math.min(limits.low ?? SFTP_REPLY_BUFFER_LOW, high);
  // Bytes handed to the channel and not yet sent (its write resolves once they went out).
  let queued = 0;
  let lowWaiters: (() => void)[] = [];
  const write = (c: Uint8Array): Promise<void> => {
    queued += c.length;
    return channel.write(c).catch(onError).finally(() => {
      queued -= c.length;
      if (queued + batcher.bytes <= low && lowWaiters.length) {
        const w = lowWaiters;
        lowWaiters = [];
        for (const f of w) f();
      }
    });
  };
  // Small replies wait until the event loop's check phase to share a packet.
  const batcher = new SmallWriteBatcher(write);
  let scheduled = false;
  const send = (chunks: Uint8Array[]) => {
    let last: Promise<void> | undefined;
    for (const c of chunks) last = batcher.add(c) ?? last;
    if (last) return last;
    if (queued + batcher.bytes > high) {
      // The client is not taking its replies: hold the engine until they drained.
      void batcher.flush();
      return new Promise<void>((r) => lowWaiters.push(r));
    }
    if (batcher.pending && !scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        void batcher.flush();
      });
    }
    return undefined;
  };
  return { send, flush: () => batcher.flush() };
}

/**
 * What one SFTP session serves: a directory (`root`, jailed) or a `backend`.
 *
 * @example
 * ```ts
 * import type { SFTPServerConfig } from "@sshts/ssh";
 * const drop: SFTPServerConfig = { root: "/srv/drop", readOnly: true };
 * // listen({ ..., sftp: drop })
 * ```
 */
export interface SFTPServerConfig {
  /** Serve this local directory as "/" (symlinks leading out are refused). */
  readonly root?: string;
  /**
   * Refuse every change (PERMISSION_DENIED), to the directory of `root` or to `backend`
   * (served through `readOnlyBackend()`).
   */
  readonly readOnly?: boolean;
  /** With `root`: the client's home directory inside it (default "/"). */
  readonly home?: string;
  /**
   * With `root`: let clients change owners and groups and set setuid/setgid bits (as
   * sftp-server running as the user does). Off by default: a server running as root would
   * let every client plant setuid-root files.
   */
  readonly allowOwnership?: boolean;
  /**
   * With `root`: make path lookups at once on the event loop (default true), as sshd's
   * `sftp-server` does; false for a root on a network file system that may stall (see
   * `FsBackendOptions.syncLookups`).
   */
  readonly syncLookups?: boolean;
  /** Serve this backend instead of a directory. */
  // deno-lint-ignore no-explicit-any
  readonly backend?: SFTPBackend<any>;
  /** Handles a client may hold open (default 256). */
  readonly maxHandles?: number;
  /** Extensions to leave out of VERSION and refuse (to mimic a server that lacks them). */
  readonly disabledExtensions?: readonly string[];
  /**
   * Receive window of the session in bytes (default: the connection's, 2 MiB unless
   * `windowSize` says otherwise): how much a client may send ahead, and so what one
   * session may buffer while the disk is slower than the link. Wider is not faster by
   * itself: with 16 MiB, OpenSSH's `sftp` put to us ran slower on Deno and Bun here.
   */
  readonly window?: number;
}

/**
 * The `sftp` option of `listen()`: one configuration for everyone, or a
 * function that picks one per connection (per-user roots). Returning
 * undefined refuses the subsystem. `conn.username` is the name the client chose: check it
 * before building a path from it (one holding `/` or `..` leads out of the directory meant).
 */
export type SFTPServerOption =
  | SFTPServerConfig
  | ((
    conn: ServerConnectionContext,
  ) => SFTPServerConfig | undefined | Promise<SFTPServerConfig | undefined>);

/** The order the client on `conn` sends SYMLINK's paths in (OpenSSH's without one). */
function clientSymlinkOrder(conn: ServerConnectionContext | undefined): SymlinkOrder {
  const info = conn?.getExtraInfo();
  return symlinkOrder(info?.clientVersion, info?.serverVersion ?? "");
}

/**
 * Serves one SFTP session on `channel` until the client closes it (or breaks
 * the protocol); every handle it left open is closed. Input is read only as
 * fast as requests are answered, so a client's window, not our memory, holds
 * what it sends ahead.
 *
 * @example
 * ```ts ignore
 * await serveSftp(process.channel, new MemoryBackend());
 * ```
 */
export async function serveSftp<H>(
  channel: ChannelIO,
  backend: SFTPBackend<H>,
  options: {
    readonly maxHandles?: number;
    readonly disabledExtensions?: readonly string[];
    /** Open handles shared with the connection's other sessions. */
    readonly handleBudget?: HandleBudget;
    /** Receive window of the channel (default: as opened). */
    readonly window?: number;
    /** The order the client sends SYMLINK's paths in (default OpenSSH's; see `symlinkOrder()`). */
    readonly symlinkOrder?: SymlinkOrder;
    /** What the backend threw that is no SFTPError (the client was told only "Failure"). */
    readonly onBackendError?: (error: unknown, request: string) => void;
  } = {},
): Promise<void> {
  if (options.window !== undefined) channel.setWindowSize(options.window);
  let engine: SFTPServerEngine<H> | undefined = undefined;
  const replies = replySender(channel, () => void engine?.close());
  engine = new SFTPServerEngine(backend, {
    send: replies.send,
    now: () => Date.now(),
    // Chunks copied whole into requests are freed at once, not at the next GC.
    release: releaseTransient,
    ...(options.maxHandles !== undefined ? { maxHandles: options.maxHandles } : {}),
    ...(options.handleBudget ? { handleBudget: options.handleBudget } : {}),
    ...(options.disabledExtensions ? { disabledExtensions: options.disabledExtensions } : {}),
    ...(options.symlinkOrder ? { symlinkOrder: options.symlinkOrder } : {}),
    ...(options.onBackendError ? { onBackendError: options.onBackendError } : {}),
  });
  const e = engine;
  const reader = channel.readable(0).getReader();
  void e.whenClosed().then(() => reader.cancel().catch(() => {}));
  // A closed channel ends the session at once: nobody can take the replies, and a long request
  // (a copy-data, a big read) stops at its next step instead of running on for nobody.
  void channel.whenPeerClosed().then(() => e.close());
  try {
    for (;;) {
      const { value, done } = await readOwned(reader);
      if (done || e.closed) break;
      e.receiveData(value);
      if (!e.wantsData) await e.whenWantsData();
    }
    await e.idle();
  } catch {
    /* the channel failed: close below */
  } finally {
    reader.releaseLock();
    await e.close();
    await replies.flush();
  }
}

/**
 * A process factory that serves SFTP as `option` says (used by `listen()`), within the
 * connection's `limits` on file sessions and open files when given.
 *
 * @example
 * ```ts
 * import { sftpProcessFactory } from "@sshts/ssh";
 * const sftpFactory = sftpProcessFactory((conn) => ({ root: `/srv/users/${conn.username}` }));
 * // listen({ ..., sftpFactory })
 * ```
 */
export function sftpProcessFactory(
  option: SFTPServerOption,
  limits?: FileSessionLimits,
): (process: SSHServerProcess) => Promise<void> {
  return (process) =>
    inFileSession(limits, async () => {
      const conn = process.connection;
      const config = typeof option === "function"
        ? await option(conn as ServerConnectionContext)
        : option;
      if (!config) throw new Error("SFTP is not available for this user");
      const backend = configuredBackend(config);
      if (!backend) throw new Error("The sftp option needs a root or a backend");
      await checkServedRoot(config);
      await serveSftp(process.channel, backend, {
        ...(config.maxHandles !== undefined ? { maxHandles: config.maxHandles } : {}),
        ...(limits ? { handleBudget: limits } : {}),
        ...(config.disabledExtensions ? { disabledExtensions: config.disabledExtensions } : {}),
        ...(config.window !== undefined ? { window: config.window } : {}),
        symlinkOrder: clientSymlinkOrder(conn),
        // A backend's bug (what it threw without an SFTP status) is the operator's to see.
        onBackendError: (e, request) =>
          (conn as { logWarning?: (m: string) => void }).logWarning?.(
            `sftp: the backend failed on ${request} (the client got "Failure"): ${
              (e as Error)?.stack ?? String(e)
            }`,
          ),
      });
    });
}
