/**
 * When OpenSSH's `ssh` can write no more of a command's output (`ssh host yes | head -c 100`:
 * head exits, ssh's stdout is a broken pipe), it sends `eow@openssh.com` — to a server whose
 * version starts "OpenSSH" only (compat.c's SSH_NEW_OPENSSH) — and sshd then stops reading
 * the command's stdout, so that the command dies of SIGPIPE. Our server ignored the request
 * even with such a `serverVersion`: the command ran on, writing into a channel nobody read.
 * Also here: `runLocalCommand()` ends the session with the command while the client's input
 * is still open (rsync's client waits for the exit status before it closes its input), and
 * a ControlMaster gets the exit status of a command that sent EOF first.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { Readable } from "node:stream";
import { conformanceTest, runCommand } from "./fixtures/mod.ts";
import { SSH_CLIENTS, sshArgv, startServer } from "./server_fixture.ts";
import { runLocalCommand, type SSHServerProcess } from "../mod.ts";

const VERSION = { "openssh": "9.2", "openssh-trixie": "10.x" } as const;

/** Runs `argv | head -c 100` and gives head's output with the pipeline's status. */
function throughHead(argv: readonly string[], env: Record<string, string>) {
  return runCommand(["sh", "-c", '"$@" | head -c 100', "sh", ...argv], {
    env: { ...process.env as Record<string, string>, ...env },
    timeoutMs: 20_000,
  });
}

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh host cmd | head: eow@openssh.com stops the output (a write loop fails, a child dies of SIGPIPE)`,
    { peers: [client] },
    async () => {
      let loopEnded!: (message: string) => void;
      const loopError = new Promise<string>((r) => loopEnded = r);
      const children: Promise<string>[] = [];
      await using server = await startServer({
        serverVersion: "OpenSSH_9.9_sshts",
        processFactory: async (p: SSHServerProcess) => {
          const chunk = new Uint8Array(32 * 1024).fill(0x79);
          if (p.command === "loop") {
            try {
              for (;;) await p.write(chunk);
            } catch (e) {
              loopEnded((e as Error).message);
            }
            p.exit(141);
            return;
          }
          // A real command: its stdout redirected to the client's.
          const child = spawn("yes", [], { stdio: ["ignore", "pipe", "ignore"] });
          children.push(
            new Promise((r) => child.on("exit", (code, signal) => r(signal ?? `exit ${code}`))),
          );
          await p.redirect({ stdout: Readable.toWeb(child.stdout) as ReadableStream<Uint8Array> });
          const end = await children.at(-1)!;
          if (end.startsWith("SIG")) p.exitWithSignal(end.slice(3));
          else p.exit(Number(end.slice(5)));
        },
      });
      for (const command of ["loop", "yes"]) {
        const { argv, env } = await sshArgv(client, server, { identity: "ed25519", command });
        const r = await throughHead(argv, env);
        assert.equal(r.stdout, command === "yes" ? "y\n".repeat(50) : "y".repeat(100), command);
      }
      assert.match(await loopError, /the client stopped reading the output \(eow@openssh\.com\)/);
      // The child's pipe was closed under it, as sshd does: it ended by itself (SIGPIPE, or
      // EPIPE where the runtime spawns children with SIGPIPE ignored, as Node does).
      assert.match(await children[0]!, /^(SIGPIPE|exit 1)$/);
    },
  );

  conformanceTest(
    `OpenSSH ${v} ssh: runLocalCommand() ends with the command, while the client's input is still open`,
    { peers: [client] },
    async () => {
      // runLocalCommand() ends the session with the command, the client's input still open.
      await using server = await startServer({
        processFactory: (p: SSHServerProcess) => runLocalCommand(p),
      });
      const { argv, env } = await sshArgv(client, server, {
        identity: "ed25519",
        command: "read line; echo got $line",
      });
      // ssh's stdin gets one line and stays open: the exit status must come without its EOF.
      const ssh = spawn(argv[0]!, argv.slice(1), {
        stdio: ["pipe", "pipe", "ignore"],
        env: { ...process.env, ...env },
      });
      let out = "";
      ssh.stdout.on("data", (d) => out += d);
      ssh.stdin.write("hello\n");
      const status = await new Promise<number | string>((resolve) => {
        const timer = setTimeout(() => resolve("still running after 15 s"), 15_000);
        ssh.on("exit", (code) => {
          clearTimeout(timer);
          resolve(code ?? 255);
        });
      });
      ssh.kill();
      assert.deepEqual([status, out], [0, "got hello\n"]);
    },
  );
}

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh through a ControlMaster gets the exit status of a command that sent EOF and exits a moment later`,
    { peers: [client] },
    async () => {
      // Ansible's setup: every command through one master. The master closes a session once
      // both sides sent EOF; a CLOSE answered before exit-status went out lost the status
      // ("Control master terminated unexpectedly", 255).
      await using server = await startServer({
        processFactory: async (p: SSHServerProcess) => {
          for await (const _ of p.stdin) { /* to the client's EOF */ }
          await p.write("out\n");
          p.writeEof(); // as redirect() does once its sources end
          await new Promise((r) => setTimeout(r, 50));
          p.exit(3);
        },
      });
      const control = `${tmpdir()}/sshts-mux-${process.pid}-${server.port}`;
      const mux = [
        "-o",
        "ControlMaster=auto",
        "-o",
        `ControlPath=${control}`,
        "-o",
        "ControlPersist=30",
      ];
      const run = async (command: string) => {
        const { argv, env } = await sshArgv(client, server, {
          identity: "ed25519",
          args: mux,
          command,
        });
        return runCommand(argv, {
          env: { ...process.env as Record<string, string>, ...env },
          input: "in\n",
          timeoutMs: 20_000,
        });
      };
      try {
        for (let i = 0; i < 5; i++) {
          const r = await run(`cmd ${i}`);
          assert.deepEqual([r.status, r.stdout], [3, "out\n"], r.stderr);
        }
      } finally {
        const { argv, env } = await sshArgv(client, server, {
          identity: "ed25519",
          args: [...mux, "-O", "exit"],
        });
        await runCommand(argv, {
          env: { ...process.env as Record<string, string>, ...env },
          timeoutMs: 10_000,
        }).catch(() => {});
      }
    },
  );
}
