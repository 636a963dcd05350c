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
  child.on("exit", () => {
    exited = true;
    if (forceTimer !== undefined) clearTimeout(forceTimer);
  });
  child.on("error", (e) => {
    deliver((h) => h.error(new Error(`ProxyCommand failed to start: ${e.message}`, { cause: e })));
    finish();
  });
  child.stdout!.on("data", (d: Uint8Array) => deliver((h) => h.data(d)));
  child.stdout!.on("end", () => deliver((h) => h.end()));
  child.stdin!.on("drain", () => deliver((h) => h.drain()));
  child.stdin!.on("error", () => {/* EPIPE: the command went away; its exit reports it */});
  child.on("close", () => finish());
  return {
    write: (data) => (child.stdin!.writable ? child.stdin!.write(data) : false),
    end() {
      child.stdin!.end();
      killTimer ??= setTimeout(terminate, PROXY_COMMAND_EXIT_GRACE_MS);
      (killTimer as { unref?: () => void }).unref?.();
    },
    destroy() {
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
