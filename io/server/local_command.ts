/**
 * Runs what a session asks for as a local program, the way sshd does without a terminal:
 * `runLocalCommand(process)` in a `processFactory`.
 *
 * @module
 */

import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { Readable, Writable } from "node:stream";
import { constants as osConstants } from "node:os";
import nodeProcess from "node:process";
import type { SSHServerProcess } from "./process.ts";
import { envVar } from "../runtime/env.ts";

/** Options of {@link runLocalCommand}. */
export interface LocalCommandOptions {
  /** The shell that runs the command (`<shell> -c <command>`); default `/bin/sh`. */
  readonly shell?: string;
  /** The working directory (default the server's own). */
  readonly cwd?: string;
  /**
   * The environment the command starts with, before the session's variables
   * (`process.env`: what the client sent and `acceptEnv` let through, and the server's own,
   * `SSH_ORIGINAL_COMMAND`, `SSH_AUTH_SOCK`...); default `PATH`, `HOME`, `USER`, `LOGNAME`,
   * `SHELL` and `LANG`
   * from the server's environment, never all of it (a server's secrets stay its own).
   */
  readonly env?: Readonly<Record<string, string>>;
  /** The command to run instead of the one the client asked for (an `exec` request's). */
  readonly command?: string;
}

/** The variables a command gets from the server's own environment by default. */
const INHERITED = ["PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG"] as const;

/**
 * Runs the session's command (`exec`), or a shell (`shell`: `<shell> -i` without a terminal),
 * as a local child process and ends the session as it ends: its exit status, or the signal
 * that killed it. The client's input goes to its stdin (EOF as the client sends EOF), its
 * stdout and stderr to the client's, each at the pace the other side reads; the client's
 * `signal` requests are delivered to it and to what it started (its process group, as sshd
 * signals it), so an interrupt reaches the running program, not only the shell waiting for
 * it. When the client stops reading (OpenSSH's
 * `eow@openssh.com`) or closes the session, the child's output pipes close, as sshd closes
 * them: a child that still writes gets SIGPIPE. No pseudo-terminal: a session that asked
 * for one runs without it (Node has no pty of its own), and a subsystem is refused here.
 *
 * The child runs as the server's user: a server for several accounts runs each login's
 * commands under that account by other means (a `sudo -u` or `runuser` prefix in `shell`).
 * Resolves when the session has ended; rejects when the command cannot start (and the
 * session ends with status 127, as a shell's "command not found").
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, runLocalCommand } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: (process) => runLocalCommand(process),
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * const r = await conn.run("echo $((6 * 7)); exit 3", { input: "" });
 * console.log(r.stdout, r.exitStatus); // "42\n" 3
 * ```
 */
export async function runLocalCommand(
  process: SSHServerProcess,
  options: LocalCommandOptions = {},
): Promise<void> {
  const shell = options.shell ?? "/bin/sh";
  const command = options.command ?? process.command;
  if (command === undefined && process.subsystem !== undefined) {
    process.writeStderr(`Subsystem ${process.subsystem} is not served here\n`).catch(() => {});
    process.exit(1);
    return;
  }
  const args = command === undefined ? ["-i"] : ["-c", command];
  const env: Record<string, string> = options.env ? { ...options.env } : inheritedEnv();
  Object.assign(env, process.env);
  let child: ChildProcessWithoutNullStreams;
  let ended: Promise<{ code: number | null; signal: string | null }>;
  try {
    // A shell that cannot start throws here (Deno without --allow-run) or fails at once.
    child = spawn(shell, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env,
      // A process group of its own: signals and the hang-up reach what the shell runs.
      detached: nodeProcess.platform !== "win32",
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    });
    const started = child;
    ended = new Promise((resolve) =>
      started.once("close", (code, signal) => resolve({ code, signal }))
    );
    await new Promise<void>((resolve, reject) => {
      started.once("spawn", resolve);
      started.once("error", reject);
    });
  } catch (e) {
    await process.writeStderr(`${shell}: ${(e as Error).message}\n`).catch(() => {});
    process.exit(127);
    throw e;
  }
  const group = child;
  const kill = (signal: NodeJS.Signals): void => {
    try {
      if (group.pid !== undefined && nodeProcess.platform !== "win32") {
        nodeProcess.kill(-group.pid, signal);
        return;
      }
    } catch { /* the group is gone (its leader was reaped): the child alone, if still there */ }
    group.kill(signal);
  };
  process.onSignal = (name) => {
    const signal = `SIG${name}` as keyof typeof osConstants.signals;
    if (signal in osConstants.signals) kill(signal as NodeJS.Signals);
  };
  // The client closed the channel (or it is gone for good): what still runs is hung up on,
  // as a terminal's end would — at once, not when the held close completes (the exit
  // status still goes out first if the hang-up ends it in time).
  void Promise.race([process.channel.whenPeerClosed(), process.channel.closedPromise]).then(() => {
    if (child.exitCode === null && child.signalCode === null) kill("SIGHUP");
  });
  // Input ends with the client's EOF, and flows beside the rest: the client may keep it
  // open after the command exited (rsync's does until the exit status); what the child no
  // longer takes is dropped. Output ends when the child's pipes do (or the client's reading
  // does: then the pipes are closed under the child).
  child.stdin.on("error", () => {}); // EPIPE from a child that stopped reading: its business
  void process.stdin.pipeTo(Writable.toWeb(child.stdin) as WritableStream<Uint8Array>)
    .catch(() => {});
  await process.redirect({
    stdout: outputOf(child.stdout),
    stderr: outputOf(child.stderr),
    sendEof: false,
  }).catch(() => {});
  const { code, signal } = await ended;
  if (signal) process.exitWithSignal(signal.replace(/^SIG/, ""));
  else process.exit(code ?? 255);
}

/**
 * A child's output pipe as a byte stream, read at the pace it is consumed. Not
 * `Readable.toWeb()`: a redirection the client ended (its close, eow) cancels it with the
 * write's error, which Deno's passed on to the pipe's destroy, where it came back as an
 * unhandled rejection that failed the program. Cancelled, the pipe is closed under the
 * child (which gets SIGPIPE if it writes on), and the reason goes nowhere.
 */
function outputOf(pipe: Readable): ReadableStream<Uint8Array> {
  pipe.on("error", () => {}); // the pipe closed under the child: its business
  return new ReadableStream<Uint8Array>({
    start(c) {
      pipe.on("data", (b: Uint8Array) => {
        c.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        if ((c.desiredSize ?? 0) <= 0) pipe.pause();
      });
      pipe.once("end", () => {
        try {
          c.close();
        } catch { /* cancelled already */ }
      });
      pipe.once("close", () => {
        try {
          c.close();
        } catch { /* closed or cancelled already */ }
      });
    },
    pull() {
      pipe.resume();
    },
    cancel() {
      pipe.destroy();
    },
  }, { highWaterMark: 64 * 1024, size: (b) => b.byteLength });
}

function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const v = envVar(name);
    if (v !== undefined) env[name] = v;
  }
  return env;
}
