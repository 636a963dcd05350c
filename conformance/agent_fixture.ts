/**
 * OpenSSH's `ssh-agent` and `ssh-add` for the agent conformance tests: OpenSSH 9.2
 * (this machine) or 10.x (the trixie tree, under chroot), with a scratch
 * directory both sides can reach and an askpass program that answers yes, no
 * or a passphrase, so confirm prompts and `ssh-add -x` run unattended.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type CommandResult, runCommand, trixieCommand, trixieTempDir } from "./fixtures/mod.ts";
import { killTreeSync, sleep } from "./fixtures/command.ts";

/** Which OpenSSH runs the agent tools. */
export type OpenSSHVersion = "openssh" | "openssh-trixie";

/** A scratch directory seen by the tools (chroot path) and by us (host path). */
export interface ToolDir {
  readonly hostPath: string;
  readonly toolPath: string;
  /** Writes a file (mode 0600, or `mode`); returns its path as the tools see it. */
  write(name: string, contents: string | Uint8Array, mode?: number): string;
  /** The host path of a file the tools see at `toolPath/name`. */
  host(name: string): string;
  remove(): Promise<void>;
}

/** Makes a scratch directory the given OpenSSH's tools can use. */
export function toolDir(version: OpenSSHVersion): ToolDir {
  if (version === "openssh-trixie") {
    const t = trixieTempDir();
    return {
      hostPath: t.hostPath,
      toolPath: t.chrootPath,
      write(name, contents, mode = 0o600) {
        const p = t.write(name, contents);
        chmodSync(join(t.hostPath, name), mode);
        return p;
      },
      host: (name) => join(t.hostPath, name),
      remove: () => t.remove(),
    };
  }
  const dir = mkdtempSync(join(tmpdir(), "sshts-agent-conf-"));
  return {
    hostPath: dir,
    toolPath: dir,
    write(name, contents, mode = 0o600) {
      const p = join(dir, name);
      writeFileSync(p, contents, { mode });
      chmodSync(p, mode);
      return p;
    },
    host: (name) => join(dir, name),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The argv running `argv` with the given OpenSSH (chroot for 10.x). */
export function toolCommand(version: OpenSSHVersion, argv: readonly string[]): string[] {
  return version === "openssh-trixie" ? trixieCommand(argv) : [...argv];
}

/**
 * Runs an OpenSSH tool with `SSH_AUTH_SOCK` (as the tool sees it) and an askpass
 * that prints `askpassAnswer` (or exits 1 when it is null).
 */
export async function runTool(
  version: OpenSSHVersion,
  dir: ToolDir,
  argv: readonly string[],
  options: { socket?: string; askpassAnswer?: string | null; input?: string } = {},
): Promise<CommandResult> {
  const env: string[] = [];
  if (options.socket) env.push(`SSH_AUTH_SOCK=${options.socket}`);
  if (options.askpassAnswer !== undefined) {
    env.push(
      `SSH_ASKPASS=${askpass(dir, options.askpassAnswer)}`,
      "SSH_ASKPASS_REQUIRE=force",
      "DISPLAY=:0",
    );
  }
  return await runCommand(
    toolCommand(version, ["env", "-i", "PATH=/usr/bin:/bin", "HOME=/root", ...env, ...argv]),
    { timeoutMs: 30_000, ...(options.input !== undefined ? { input: options.input } : {}) },
  );
}

let askpassCount = 0;

/** Writes an askpass program answering `answer` (null: refuses, exit 1); returns its tool path. */
export function askpass(dir: ToolDir, answer: string | null): string {
  const body = answer === null ? "exit 1" : `printf '%s\\n' '${answer.replace(/'/g, "")}'`;
  return dir.write(`askpass-${askpassCount++}`, `#!/bin/sh\n${body}\n`, 0o700);
}

/** Whether something accepts connections on the UNIX socket at `path`. */
function accepts(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/** A running `ssh-agent`. */
export interface RunningAgent extends AsyncDisposable {
  /** The socket path on this machine (for our client). */
  readonly hostSocket: string;
  /** The socket path as the tools see it (for `ssh-add`). */
  readonly toolSocket: string;
  readonly dir: ToolDir;
  readonly version: OpenSSHVersion;
  /** Sets what the agent's confirm prompt answers: "yes" or null (refuse). */
  setConfirm(answer: string | null): void;
  /** Runs `ssh-add` (of the same OpenSSH) against this agent. */
  sshAdd(args: readonly string[], askpassAnswer?: string | null): Promise<CommandResult>;
  stop(): Promise<void>;
}

/**
 * Starts `ssh-agent -D` in a scratch directory. Its askpass answers confirm
 * prompts with what {@link RunningAgent.setConfirm} last set (default "yes").
 */
export async function startOpenSSHAgent(version: OpenSSHVersion): Promise<RunningAgent> {
  const dir = toolDir(version);
  const setConfirm = (answer: string | null) => void dir.write("confirm", answer ?? "no");
  setConfirm("yes");
  const confirmScript = dir.write(
    "confirm-askpass",
    `#!/bin/sh\na=$(cat ${dir.toolPath}/confirm)\n[ "$a" = no ] && exit 1\nprintf '%s\\n' "$a"\n`,
    0o700,
  );
  const toolSocket = `${dir.toolPath}/agent.sock`;
  const hostSocket = dir.host("agent.sock");
  const argv = toolCommand(version, [
    "env",
    "-i",
    "PATH=/usr/bin:/bin",
    `SSH_ASKPASS=${confirmScript}`,
    "SSH_ASKPASS_REQUIRE=force",
    "DISPLAY=:0",
    "ssh-agent",
    "-D",
    "-a",
    toolSocket,
  ]);
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Uint8Array) => (stderr += new TextDecoder().decode(c)));
  const deadline = Date.now() + 10_000;
  // The socket file appears at bind(), before listen(): wait until a connection succeeds.
  while (!existsSync(hostSocket) || !(await accepts(hostSocket))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      if (child.pid) killTreeSync(child.pid, "SIGKILL");
      await dir.remove();
      throw new Error(`ssh-agent (${version}) did not start: ${stderr}`);
    }
    await sleep(20);
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (child.pid && child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        killTreeSync(child.pid, "SIGTERM");
        await Promise.race([exited, sleep(3000)]);
        if (child.exitCode === null) killTreeSync(child.pid, "SIGKILL");
      }
      await dir.remove();
    })();
  process.once("exit", () => {
    if (child.pid && child.exitCode === null) killTreeSync(child.pid, "SIGKILL");
  });
  return {
    hostSocket,
    toolSocket,
    dir,
    version,
    setConfirm,
    sshAdd: (args, askpassAnswer) =>
      runTool(version, dir, ["ssh-add", ...args], {
        socket: toolSocket,
        ...(askpassAnswer !== undefined ? { askpassAnswer } : {}),
      }),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
