/**
 * `ProxyCommand`: runs the command with the user's shell (`$SHELL -c "exec
 * <command>"`, as `ssh` does) and uses its standard input and output as the
 * byte stream SSH runs over. Its standard error stays ours.
 *
 * @module
 */

import { spawn } from "node:child_process";
import process from "node:process";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { environment } from "../runtime/env.ts";

/**
 * How long a proxy command gets to exit after its stdin closes before it is sent SIGTERM, and
 * after SIGTERM before it is sent SIGKILL.
 */
export const PROXY_COMMAND_EXIT_GRACE_MS = 2_000;

/** How long the end of a command's output waits for its exit status (a failure is told first). */
const PROXY_COMMAND_STATUS_WAIT_MS = 100;

/**
 * Spawns `command` (tokens already expanded) and returns its stdio as a socket: a
 * string runs with the user's shell (`$SHELL -c "exec …"`, as ssh), an argument list
 * as it is. The socket errors if the command cannot start; closing the socket ends the
 * command.
 *
 * @example
 * ```ts
 * import { spawnProxyCommand } from "@sshts/ssh";
 * // A real one: spawnProxyCommand("nc server 22"), then connect("server", { sock }).
 * const sock = spawnProxyCommand("echo SSH-2.0-demo");
 * const line = await new Promise<string>((resolve) => {
 *   let got = "";
 *   sock.setHandlers({
 *     data: (b) => void (got += new TextDecoder().decode(b)),
 *     end: () => resolve(got.trim()),
 *     error: () => {},
 *     drain: () => {},
 *     close: () => resolve(got.trim()),
 *   });
 * });
 * sock.destroy();
 * console.log(line); // "SSH-2.0-demo"
 * ```
 */
export function spawnProxyCommand(
  command: string | readonly string[],
  options: { readonly env?: Readonly<Record<string, string | undefined>> | undefined } = {},
): ByteSocket {
  const env = options.env ?? environment();
  const shell = env.SHELL || "/bin/sh";
  if (typeof command !== "string" && command.length === 0) {
    throw new RangeError("ProxyCommand: the argument list is empty");
  }
  const [file, args] = typeof command === "string"
    ? [shell, ["-c", `exec ${command}`]]
    : [command[0]!, command.slice(1)];
  const child = spawn(file, args, {
    stdio: ["pipe", "pipe", "inherit"],
    env: env as Record<string, string>,
  });
  let handlers: SocketHandlers | undefined;
  const early: (() => void)[] = [];
  const deliver = (f: (h: SocketHandlers) => void) => {
    if (handlers) f(handlers);
    else early.push(() => f(handlers!));
  };
  let closed = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let forceTimer: ReturnType<typeof setTimeout> | undefined;
  let exited = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    if (killTimer !== undefined) clearTimeout(killTimer);
    deliver((h) => h.close());
  };
  // SIGTERM, then SIGKILL if the command has not exited after the grace period: one that
  // ignores SIGTERM (a shell's `trap '' TERM`) would otherwise run on, and its child
  // handle keep this process from exiting, long after the connection ended.
  const terminate = () => {
    if (exited) return;
    child.kill("SIGTERM");
    forceTimer ??= setTimeout(() => {
      // process.kill, not child.kill: Deno's ChildProcess sends nothing after a first kill().
      if (!exited && child.pid !== undefined) {
        try {
          process.kill(child.pid, "SIGKILL");
        } catch { /* gone meanwhile */ }
      }
    }, PROXY_COMMAND_EXIT_GRACE_MS);
    // Only the command itself keeps the process alive, as long as it runs.
    (forceTimer as { unref?: () => void }).unref?.();
  };
  // A command that fails on its own (not one we ended) says so, with its status: else the
  // connection only saw its output end ("closed before the SSH version exchange").
  let ended = false;
  child.on("exit", (code, signal) => {
    exited = true;
    if (forceTimer !== undefined) clearTimeout(forceTimer);
    if (!ended && !closed && (code !== 0 || signal !== null)) {
      const failure = new Error(
        `ProxyCommand ${
          JSON.stringify(typeof command === "string" ? command : command.join(" "))
        } ${signal !== null ? `was killed by ${signal}` : `exited with status ${code}`}`,
      );
      deliver((h) => h.error(failure));
    }
    if (endPending !== undefined) sendEnd();
  });
  child.on("error", (e) => {
    deliver((h) => h.error(new Error(`ProxyCommand failed to start: ${e.message}`, { cause: e })));
    finish();
  });
  child.stdout!.on("data", (d: Uint8Array) => deliver((h) => h.data(d)));
  // The command's output ending usually means it is exiting: its status, if a failure, is
  // told first (a little wait for it; a command that closes its output and runs on is not
  // held up longer).
  let endPending: ReturnType<typeof setTimeout> | undefined;
  const sendEnd = () => {
    if (endPending !== undefined) clearTimeout(endPending);
    endPending = undefined;
    deliver((h) => h.end());
  };
  child.stdout!.on("end", () => {
    if (exited) return sendEnd();
    endPending = setTimeout(sendEnd, PROXY_COMMAND_STATUS_WAIT_MS);
    (endPending as { unref?: () => void }).unref?.();
  });
  child.stdin!.on("drain", () => deliver((h) => h.drain()));
  child.stdin!.on("error", () => {/* EPIPE: the command went away; its exit reports it */});
  child.on("close", () => finish());
  return {
    write: (data) => (child.stdin!.writable ? child.stdin!.write(data) : false),
    end() {
      ended = true;
      child.stdin!.end();
      killTimer ??= setTimeout(terminate, PROXY_COMMAND_EXIT_GRACE_MS);
      (killTimer as { unref?: () => void }).unref?.();
    },
    destroy() {
      ended = true;
      child.stdin!.destroy();
      child.stdout!.destroy();
      terminate();
      finish();
    },
    pause: () => child.stdout!.pause(),
    resume: () => child.stdout!.resume(),
    setHandlers(h) {
      handlers = h;
      for (const f of early.splice(0)) f();
    },
  };
}
