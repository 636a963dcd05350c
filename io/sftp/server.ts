/**
 * The SFTP server side: runs our server engine on a session channel whose
 * client asked for the "sftp" subsystem, serving a backend (the local file
 * system under a root, or any {@link SFTPBackend}). `listen({ sftp })` plugs
 * it in.
 *
 * @module
 */

import { releaseTransient } from "../../core/transient_buffers.ts";
import type { SFTPBackend } from "../../sftp/backend.ts";
import { SFTPServerEngine } from "../../sftp/server_engine.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { ServerConnectionContext } from "../server/context.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { FsBackend } from "./fs_backend.ts";

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
  const send = (chunks: Uint8Array[]): Promise<void> | undefined => {
    let last: Promise<void> | undefined;
    for (const c of chunks) last = channel.write(c);
    return last?.catch(() => void engine?.close());
  };
  engine = new SFTPServerEngine(backend, {
    send,
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
