/**
 * The SFTP server side: runs our server engine on a session channel whose
 * client asked for the "sftp" subsystem, serving a backend (the local file
 * system under a root, or any {@link SFTPBackend}). `listen({ sftp })` plugs
 * it in.
 *
 * @module
 */

import { releaseTransient } from "../../core/transient_buffers.ts";
import { setImmediate } from "node:timers";
import { concatBytes } from "../../core/wire.ts";
import type { SFTPBackend } from "../../sftp/backend.ts";
import { SFTPServerEngine } from "../../sftp/server_engine.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { ServerConnectionContext } from "../server/context.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { FsBackend } from "./fs_backend.ts";

/** Replies smaller than this wait (until the event loop's check phase) to share a packet. */
const SMALL_REPLY = 4096;
/** Most bytes of small replies sent as one channel write (one packet of a 32 KiB-packet peer). */
const SMALL_REPLIES_LIMIT = 32 * 1024;

/**
 * The engine's `send`: small replies (STATUS, HANDLE, ATTRS) made while one batch of file
 * operations completes go out together, in one channel packet and one socket write, as sshd
 * sends what sftp-server writes to its pipe; an OpenSSH `put` otherwise costs a packet and a
 * write syscall per 32 KiB. A small reply returns at once (nothing of it is borrowed); a big
 * one (DATA) first sends the small ones before it, in order, and returns when it was taken.
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
): {
  send: (chunks: Uint8Array[]) => Promise<void> | undefined;
  /** Sends the small replies still waiting and resolves when the channel took them. */
  flush: () => Promise<void>;
} {
  let small: Uint8Array[] = [];
  let smallBytes = 0;
  let scheduled = false;
  const write = (c: Uint8Array) => channel.write(c).catch(onError);
  const flushSmall = () => {
    const sent = small.length
      ? write(small.length === 1 ? small[0]! : concatBytes(...small))
      : Promise.resolve();
    small = [];
    smallBytes = 0;
    return sent;
  };
  const send = (chunks: Uint8Array[]) => {
    let last: Promise<void> | undefined;
    for (const c of chunks) {
      if (c.length >= SMALL_REPLY) {
        flushSmall();
        last = write(c);
        continue;
      }
      if (smallBytes + c.length > SMALL_REPLIES_LIMIT) flushSmall();
      small.push(c);
      smallBytes += c.length;
    }
    if (small.length && !scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        flushSmall();
      });
    }
    return last;
  };
  return { send, flush: flushSmall };
}

/**
 * What one SFTP session serves: a directory (`root`, jailed) or a `backend`.
 *
 * @example
 * ```ts
 * import type { SFTPServerConfig } from "./server.ts";
 * const drop: SFTPServerConfig = { root: "/srv/drop", readOnly: true };
 * // listen({ ..., sftp: drop })
 * ```
 */
export interface SFTPServerConfig {
  /** Serve this local directory as "/" (symlinks leading out are refused). */
  readonly root?: string;
  /** With `root`: refuse every change. */
  readonly readOnly?: boolean;
  /** With `root`: the client's home directory inside it (default "/"). */
  readonly home?: string;
  /** Serve this backend instead of a directory. */
  // deno-lint-ignore no-explicit-any
  readonly backend?: SFTPBackend<any>;
  /** Handles a client may hold open (default 256). */
  readonly maxHandles?: number;
  /** Extensions to leave out of VERSION and refuse (to mimic a server that lacks them). */
  readonly disabledExtensions?: readonly string[];
}

/**
 * The `sftp` option of `listen()`: one configuration for everyone, or a
 * function that picks one per connection (per-user roots). Returning
 * undefined refuses the subsystem.
 */
export type SFTPServerOption =
  | SFTPServerConfig
  | ((
    conn: ServerConnectionContext,
  ) => SFTPServerConfig | undefined | Promise<SFTPServerConfig | undefined>);

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
  } = {},
): Promise<void> {
  let engine: SFTPServerEngine<H> | undefined = undefined;
  const replies = replySender(channel, () => void engine?.close());
  engine = new SFTPServerEngine(backend, {
    send: replies.send,
    now: () => Date.now(),
    // Chunks copied whole into requests are freed at once, not at the next GC.
    release: releaseTransient,
    ...(options.maxHandles !== undefined ? { maxHandles: options.maxHandles } : {}),
    ...(options.disabledExtensions ? { disabledExtensions: options.disabledExtensions } : {}),
  });
  const e = engine;
  const reader = channel.readable(0).getReader();
  void e.whenClosed().then(() => reader.cancel().catch(() => {}));
  try {
    for (;;) {
      const { value, done } = await reader.read();
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
 * A process factory that serves SFTP as `option` says (used by `listen()`).
 *
 * @example
 * ```ts
 * import { sftpProcessFactory } from "./server.ts";
 * const sftpFactory = sftpProcessFactory((conn) => ({ root: `/srv/users/${conn.username}` }));
 * // listen({ ..., sftpFactory })
 * ```
 */
export function sftpProcessFactory(
  option: SFTPServerOption,
): (process: SSHServerProcess) => Promise<void> {
  return async (process) => {
    const config = typeof option === "function"
      ? await option(process.connection as ServerConnectionContext)
      : option;
    if (!config) throw new Error("SFTP is not available for this user");
    const backend = config.backend ??
      (config.root !== undefined
        ? new FsBackend({
          root: config.root,
          ...(config.readOnly !== undefined ? { readOnly: config.readOnly } : {}),
          ...(config.home !== undefined ? { home: config.home } : {}),
        })
        : undefined);
    if (!backend) throw new Error("The sftp option needs a root or a backend");
    await serveSftp(process.channel, backend, {
      ...(config.maxHandles !== undefined ? { maxHandles: config.maxHandles } : {}),
      ...(config.disabledExtensions ? { disabledExtensions: config.disabledExtensions } : {}),
    });
  };
}
