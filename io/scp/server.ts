/**
 * The SCP server: answers `scp -t` (upload) and `scp -f` (download) exec
 * requests itself, without a shell, on the same backend as the SFTP server
 * (a local directory jailed as `listen({ sftp: { root } })` jails it, or any
 * {@link SFTPBackend}). `listen({ scp })` plugs it in.
 *
 * @module
 */

import type { SFTPBackend } from "../../sftp/backend.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { GlobBudget } from "../../sftp/path.ts";
import {
  isScpCommand,
  parseScpCommand,
  sanitize,
  type SCPCommand,
  SCPError,
} from "../../sftp/scp/records.ts";
import type { ServerConnectionContext } from "../server/context.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { configuredBackend } from "../sftp/fs_backend.ts";
import { type FileSessionLimits, inFileSession } from "../sftp/session_limits.ts";
import { BackendTarget, expandSource, sendPath } from "./backend_io.ts";
import { SCPSender } from "./sender.ts";
import { runSink } from "./sink.ts";
import { SCPStream } from "./stream.ts";

/** How listen() runs a session's process (the shape of its `processFactory`). */
export type SCPProcessFactory = (process: SSHServerProcess) => void | Promise<void>;

/**
 * What the SCP server serves: a directory (`root`, jailed) or a `backend`,
 * as the `sftp` option of `listen()` takes them.
 *
 * @example
 * ```ts
 * import type { SCPServerConfig } from "@sshts/ssh";
 * const drop: SCPServerConfig = { root: "/srv/drop", readOnly: true };
 * ```
 */
export interface SCPServerConfig {
  /** Serve this local directory as "/" (symlinks leading out are refused). */
  readonly root?: string;
  /** Refuse uploads (`scp -t`); with `root`, the backend refuses every change too. */
  readonly readOnly?: boolean;
  /** With `root`: the client's home directory inside it (default "/"). */
  readonly home?: string;
  /** Serve this backend instead of a directory. */
  // deno-lint-ignore no-explicit-any
  readonly backend?: SFTPBackend<any>;
}

/**
 * The `scp` option of `listen()`: one configuration, or a function that
 * picks one per connection (per-user roots); undefined refuses scp.
 *
 * @example
 * ```ts ignore
 * await using server = await listen({ port: 2222, hostKeys, validatePassword,
 *   scp: (conn) => ({ root: `/srv/users/${conn.username}` }),
 *   sftp: (conn) => ({ root: `/srv/users/${conn.username}` }) });
 * ```
 */
export type SCPServerOption =
  | SCPServerConfig
  | ((
    conn: ServerConnectionContext,
  ) => SCPServerConfig | undefined | Promise<SCPServerConfig | undefined>);

function backendOf(config: SCPServerConfig): SFTPBackend<unknown> {
  const backend = configuredBackend(config);
  if (!backend) throw new Error("The scp option needs a root or a backend");
  return backend;
}

/**
 * Runs one parsed scp command on `process`'s channel against `backend`.
 * Resolves with the exit status: 0, or 1 when any item failed (the client
 * was told which, as `\x01` records).
 *
 * @example
 * ```ts ignore
 * const status = await serveScp(process, backend, parseScpCommand("scp -t /incoming"));
 * ```
 */
export async function serveScp<H>(
  process: SSHServerProcess,
  backend: SFTPBackend<H>,
  cmd: SCPCommand,
  options: { readonly readOnly?: boolean } = {},
): Promise<number> {
  const ch = process.channel;
  const s = new SCPStream(ch.readable(0), (b) => ch.write(b));
  if (cmd.mode === "to") {
    const dest = cmd.paths[0]!;
    let target: BackendTarget<H>;
    try {
      if (options.readOnly) throw new SCPError("Read-only: uploads are refused");
      target = await BackendTarget.open(backend, dest, {
        preserve: cmd.preserve,
        targetIsDirectory: cmd.targetIsDirectory,
      });
    } catch (e) {
      await s.send({ type: "warning", message: `scp: ${(e as Error).message}` });
      s.cancel();
      return 1;
    }
    const r = await runSink(s, target, { recurse: cmd.recurse });
    return r.warnings.length > 0 ? 1 : 0;
  }
  const tx = new SCPSender(s);
  // A client that leaves stops the expansion of its patterns and what is left to send.
  const closed = new AbortController();
  void ch.whenPeerClosed().then(() => closed.abort(new SCPError("The channel closed")));
  await tx.start();
  // One command's patterns share one set of glob limits: a client sending many is held to them.
  const budget = new GlobBudget();
  for (const pattern of cmd.paths) {
    let paths: string[];
    try {
      paths = await expandSource(backend, pattern, closed.signal, budget);
    } catch (e) {
      closed.signal.throwIfAborted();
      // Over the glob limits: the client is told, as OpenSSH's sftp says "Too many matches".
      await tx.warn(`${pattern}: ${e instanceof SFTPError ? e.peerMessage : (e as Error).message}`);
      continue;
    }
    if (paths.length === 0) await tx.warn(`${pattern}: No such file or directory`);
    for (const p of paths) {
      await sendPath(tx, backend, p, {
        recurse: cmd.recurse,
        preserve: cmd.preserve,
        signal: closed.signal,
      });
    }
  }
  s.cancel();
  return tx.warnings.length > 0 ? 1 : 0;
}

/**
 * A process factory that answers scp commands as `option` says and hands
 * every other command (and shells) to `fallback` (used by `listen()`); an scp
 * command counts as one of the connection's file sessions in `limits` when given.
 *
 * @example
 * ```ts ignore
 * const factory = scpProcessFactory({ root: "/srv/drop" }, undefined);
 * ```
 */
export function scpProcessFactory(
  option: SCPServerOption,
  fallback: SCPProcessFactory | undefined,
  limits?: FileSessionLimits,
): SCPProcessFactory {
  return async (process) => {
    const command = process.command;
    if (command === undefined || process.subsystem !== undefined || !isScpCommand(command)) {
      if (fallback) return await fallback(process);
      throw new Error("Only scp is available on this server");
    }
    let status = 1;
    try {
      status = await inFileSession(limits, async () => {
        const cmd = parseScpCommand(command);
        const config = typeof option === "function"
          ? await option(process.connection as ServerConnectionContext)
          : option;
        if (!config) throw new SCPError("scp is not available for this user");
        return await serveScp(process, backendOf(config), cmd, {
          ...(config.readOnly !== undefined ? { readOnly: config.readOnly } : {}),
        });
      }, (message) => new SCPError(message));
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      await process.writeStderr(`scp: ${sanitize(text)}\n`).catch(() => {});
      status = 1;
    }
    process.exit(status);
  };
}
