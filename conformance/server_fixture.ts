/**
 * Our server against real clients: `listen()` in the test process with the fixture keys, and
 * OpenSSH's `ssh` (9.2 on this machine, 10.x from the trixie tree) or Dropbear's `dbclient`
 * pointed at it. Used by the `server_*_test.ts` files.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after } from "node:test";
import { listen, type SSHServer } from "../io/server/listen.ts";
import { type ListenOptions } from "../io/server/options.ts";
import type { SSHServerProcess } from "../io/server/process.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import {
  type CommandResult,
  ensureKeyMaterial,
  type KeyInfo,
  type KeyMaterial,
  type KeyName,
  runCommand,
  TEST_PASSWORD,
  TEST_USER,
  trixieCommand,
  type TrixieTempDir,
  trixieTempDir,
} from "./fixtures/mod.ts";
import { killTreeSync } from "./fixtures/command.ts";

/** The OpenSSH clients we drive: this machine's 9.2 and the trixie tree's 10.x. */
export type SshClient = "openssh" | "openssh-trixie";
export const SSH_CLIENTS: readonly SshClient[] = ["openssh", "openssh-trixie"];

/** The fixture key material (host and client keys made by ssh-keygen). */
export function keys(): Promise<KeyMaterial> {
  return ensureKeyMaterial();
}

/** Everything a test server needs to be reached: its port and the host keys it serves. */
export interface TestServer extends AsyncDisposable {
  readonly server: SSHServer;
  readonly port: number;
  /** known_hosts lines for every host key it serves. */
  readonly knownHosts: string;
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * A small shell for tests: `echo`, `whoami`, `exit N`, `cat`, `env NAME`, `stderr TEXT`,
 * `info` (what the session asked for, as JSON), `sha256` (of stdin), `wait` (until stdin
 * ends); without a command, a prompt that runs those line by line until `exit`.
 */
export async function testShell(p: SSHServerProcess): Promise<void> {
  if (p.command === undefined && p.subsystem === undefined) {
    const decoder = new TextDecoder();
    await p.write("$ ");
    let buf = "";
    const reader = p.stdin.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        if (line === "exit") return;
        await runLine(p, line);
        await p.write("$ ");
      }
    }
  }
  await runLine(p, p.command ?? `subsystem ${p.subsystem}`);
}

async function runLine(p: SSHServerProcess, line: string): Promise<void> {
  const [cmd = "", ...args] = line.trim().split(/\s+/);
  const rest = args.join(" ");
  switch (cmd) {
    case "":
      return;
    case "echo":
      return p.write(`${rest}\n`);
    case "whoami":
      return p.write(`${p.username}\n`);
    case "exit":
      return p.exit(Number(args[0] ?? 0));
    case "kill":
      return p.exitWithSignal(args[0] ?? "TERM", false, "killed on request");
    case "stderr":
      return p.writeStderr(`${rest}\n`);
    case "env":
      return p.write(`${p.env[args[0] ?? ""] ?? ""}\n`);
    case "info":
      return p.write(
        JSON.stringify({
          command: p.command,
          originalCommand: p.originalCommand,
          subsystem: p.subsystem,
          term: p.terminalType,
          size: p.terminalSize ? [p.terminalSize.columns, p.terminalSize.rows] : null,
          env: p.env,
          user: p.username,
          method: p.connection?.authMethod,
        }) + "\n",
      );
    case "cat":
      for await (const chunk of p.stdin) await p.write(chunk);
      return;
    case "sha256": {
      const h = createHash("sha256");
      for await (const chunk of p.stdin) h.update(chunk);
      return p.write(`${h.digest("hex")}\n`);
    }
    case "wait":
      await p.write("waiting\n");
      for await (const _ of p.stdin) { /* until EOF */ }
      return p.write("done\n");
    default:
      await p.writeStderr(`${cmd}: command not found\n`);
      return p.exit(127);
  }
}

/** Authorized keys text for the fixture client keys. */
export async function authorizedKeysText(options = ""): Promise<string> {
  const m = await keys();
  return m.clientKeys.map((k) => `${options ? options + " " : ""}${k.publicKeyLine}`).join("\n") +
    "\n";
}

/**
 * Starts our server on a free loopback port with the fixture host keys (given as file paths),
 * the fixture client keys authorized, the test password accepted, and {@link testShell}.
 */
export async function startServer(
  extra: Partial<ListenOptions> = {},
  moreHostKeys: readonly SSHKey[] = [],
): Promise<TestServer> {
  const m = await keys();
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [...m.hostKeys.map((k) => k.privateKeyPath), ...moreHostKeys],
    authorizedClientKeys: await authorizedKeysText(),
    validatePassword: (user, password) => user === TEST_USER && password === TEST_PASSWORD,
    processFactory: testShell,
    authFailureDelay: 0,
    ...extra,
  });
  const port = server.address.port;
  const lines = [
    ...m.hostKeys.map((k) => k.publicKeyLine),
    ...moreHostKeys.map((k) => k.exportPublicKey("openssh").trim()),
  ];
  const knownHosts = lines.map((l) => `[127.0.0.1]:${port} ${l}`).join("\n") + "\n";
  const close = () => server.close();
  return { server, port, knownHosts, close, [Symbol.asyncDispose]: close };
}

let localDir: string | undefined;
let trixieDir: TrixieTempDir | undefined;

after(async () => {
  written.clear();
  if (localDir) rmSync(localDir, { recursive: true, force: true });
  localDir = undefined;
  await trixieDir?.remove();
  trixieDir = undefined;
});

const written = new Map<string, string>();
let privateFiles = 0;

/** The path on this machine of a file `clientFile` wrote (inside the tree for trixie). */
export function hostPathOf(client: SshClient, clientPath: string): string {
  return client === "openssh-trixie"
    ? join(trixieDir!.hostPath, clientPath.split("/").pop()!)
    : clientPath;
}

/**
 * Writes a file where `client` can read it and returns its path as the client sees it. Each
 * name and contents is written once (clients running at the same time must never see it
 * half-written). The file name carries a digest of the contents: a name reused with other
 * contents (`known_hosts_<port>` of a later server on a recycled port, where Bun runs every
 * file in one process and the cleanup hook runs once) is a new file, never the old one.
 */
export function clientFile(client: SshClient, name: string, contents: string | Uint8Array): string {
  const digest = createHash("sha256").update(contents).digest("hex").slice(0, 12);
  const fileName = `${digest}_${name}`;
  const key = `${client}/${fileName}`;
  const done = written.get(key);
  if (done !== undefined) return done;
  if (client === "openssh-trixie") {
    trixieDir ??= trixieTempDir();
    const path = trixieDir.write(fileName, contents);
    written.set(key, path);
    return path;
  }
  localDir ??= mkdtempSync(join(tmpdir(), "sshts-server-conf-"));
  const path = join(localDir, fileName);
  writeFileSync(path, contents, { mode: 0o600 });
  written.set(key, path);
  return path;
}

/** How to run the client. */
export interface SshRun {
  /** Client key to offer; default none (then public key authentication is off). */
  readonly identity?: KeyName | KeyInfo;
  /** Log in with the test password through an askpass helper (for password or keyboard-interactive). */
  readonly password?: string;
  /** Extra `-o` options. */
  readonly options?: readonly string[];
  /** Extra arguments before the host (e.g. `-L ...`, `-tt`). */
  readonly args?: readonly string[];
  /** The remote command. */
  readonly command?: string;
  /** User name; default the fixture's. */
  readonly user?: string;
  /** known_hosts contents (default: every host key of the server), in a file of its own. */
  readonly knownHosts?: string;
}

/** The argv that runs `client` against `server` as described. */
export async function sshArgv(
  client: SshClient,
  server: TestServer,
  run: SshRun,
): Promise<{ argv: string[]; env: Record<string, string> }> {
  const m = await keys();
  const known = run.knownHosts === undefined
    ? clientFile(client, `known_hosts_${server.port}`, server.knownHosts)
    : clientFile(client, `known_hosts_${server.port}_${++privateFiles}`, run.knownHosts);
  // ssh keeps the first value it sees for an option: the caller's come first.
  const args = (run.options ?? []).flatMap((o) => ["-o", o]);
  args.push(
    "-F",
    "/dev/null",
    "-p",
    String(server.port),
    "-l",
    run.user ?? TEST_USER,
    "-o",
    `UserKnownHostsFile=${known}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "IdentityAgent=none",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "UpdateHostKeys=no",
  );
  const env: Record<string, string> = {};
  if (run.identity !== undefined) {
    const k = typeof run.identity === "string"
      ? m.clientKeys.find((c) => c.name === run.identity)!
      : run.identity;
    const tag = createHash("sha256").update(k.privateKeyText).digest("hex").slice(0, 8);
    args.push("-i", clientFile(client, `id_${k.name}_${tag}`, k.privateKeyText));
  } else {
    args.push("-o", "PubkeyAuthentication=no");
  }
  if (run.password !== undefined) {
    // SSH_ASKPASS works the same inside the chroot and out, for password and kbdint prompts.
    const script = clientFile(
      client,
      `askpass_${createHash("sha256").update(run.password).digest("hex").slice(0, 8)}`,
      `#!/bin/sh\nprintf '%s\\n' '${run.password.replace(/'/g, "'\\''")}'\n`,
    );
    makeExecutable(client, script);
    env.SSH_ASKPASS = script;
    env.SSH_ASKPASS_REQUIRE = "force";
    env.DISPLAY = ":0";
    args.push("-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1");
  } else {
    args.push("-o", "BatchMode=yes");
  }
  args.push(...(run.args ?? []), "127.0.0.1");
  if (run.command !== undefined) args.push(run.command);
  const argv = client === "openssh-trixie" ? trixieCommand(["ssh", ...args]) : ["ssh", ...args];
  return { argv, env };
}

/** The askpass helper must be executable (clientFile writes 0600). */
function makeExecutable(client: SshClient, path: string): void {
  chmodSync(hostPathOf(client, path), 0o700);
}

/** Runs `client` against `server` to completion. */
export async function runSsh(
  client: SshClient,
  server: TestServer,
  run: SshRun,
  options: { input?: string | Uint8Array; timeoutMs?: number } = {},
): Promise<CommandResult> {
  const { argv, env } = await sshArgv(client, server, run);
  return runCommand(argv, {
    env: { ...process.env as Record<string, string>, ...env },
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.input !== undefined ? { input: options.input } : {}),
  });
}

/** A client process kept running while the test talks to it. */
export class LiveProcess implements AsyncDisposable {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly exited: Promise<{ status: number | null; signal: string | null }>;
  #waiters: (() => void)[] = [];

  /** Spawns `argv` with pipes. */
  constructor(argv: readonly string[], env: Record<string, string> = {}) {
    this.child = spawn(argv[0]!, argv.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env as Record<string, string>, ...env },
    });
    const wake = () => {
      const w = this.#waiters;
      this.#waiters = [];
      for (const f of w) f();
    };
    this.child.stdout!.on("data", (b: Buffer) => {
      this.stdout += b.toString("utf8");
      wake();
    });
    this.child.stderr!.on("data", (b: Buffer) => {
      this.stderr += b.toString("utf8");
      wake();
    });
    this.child.stdin!.on("error", () => {});
    this.exited = new Promise((resolve) => {
      this.child.on("close", (status, signal) => {
        resolve({ status, signal });
        wake();
      });
    });
    let closed = false;
    void this.exited.then(() => (closed = true));
    this.#isClosed = () => closed;
  }

  readonly #isClosed: () => boolean;

  /** Resolves when stdout (or stderr) matches; rejects after `timeoutMs` or if the process ends first. */
  async waitFor(
    pattern: RegExp,
    stream: "stdout" | "stderr" = "stdout",
    timeoutMs = 20_000,
  ): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this[stream].match(pattern);
      if (m) return m;
      if (this.#isClosed()) {
        throw new Error(
          `Process ended before ${stream} matched ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `Timed out waiting for ${stream} to match ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Writes to the process's stdin. */
  write(data: string | Uint8Array): void {
    this.child.stdin!.write(typeof data === "string" ? encoder.encode(data) : data);
  }

  /** Closes the process's stdin. */
  end(): void {
    this.child.stdin!.end();
  }

  /** Kills the process (and anything it started) and waits for it. */
  async kill(): Promise<void> {
    if (!this.#isClosed() && this.child.pid !== undefined) killTreeSync(this.child.pid, "SIGKILL");
    await this.exited;
  }

  /** Kills the process. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.kill();
  }
}

/** Starts `client` against `server` and keeps it running. */
export async function spawnSsh(
  client: SshClient,
  server: TestServer,
  run: SshRun,
  wrap: (argv: string[]) => string[] = (a) => a,
): Promise<LiveProcess> {
  const { argv, env } = await sshArgv(client, server, run);
  return new LiveProcess(wrap(argv), env);
}

/** Reads a whole stream as text. */
export function concatText(chunks: readonly Uint8Array[]): string {
  return Buffer.concat(chunks).toString("utf8");
}
