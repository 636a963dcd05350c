/**
 * runLocalCommand(): a session's command as a local child process — output, status,
 * stdin, stderr, signals, environment, a command that cannot start, a shell without a
 * terminal, a subsystem refused, and output the client stops reading.
 */
import { test } from "node:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import nodeProcess from "node:process";
import assert from "node:assert/strict";
import { runLocalCommand } from "./local_command.ts";
import { loopback } from "./_loopback_test_util.ts";

test("runLocalCommand(): by default the command gets a few of the server's variables, not its secrets", async () => {
  nodeProcess.env.SSHTS_TEST_SERVER_SECRET = "do not leak";
  try {
    await using t = await loopback({ processFactory: (p) => runLocalCommand(p) });
    const r = await t.conn.run('echo "${SSHTS_TEST_SERVER_SECRET:-unset} $PATH"');
    const [secret, path] = r.stdout.trim().split(" ");
    assert.equal(secret, "unset");
    assert.equal(path, nodeProcess.env.PATH);
  } finally {
    delete nodeProcess.env.SSHTS_TEST_SERVER_SECRET;
  }
});

test("runLocalCommand(): stdout, stderr, exit status, stdin to EOF, environment", async () => {
  await using t = await loopback({
    acceptEnv: ["GIT_PROTOCOL"],
    processFactory: (p) => runLocalCommand(p, { env: { PATH: "/usr/bin:/bin", FROM: "server" } }),
  });
  const r = await t.conn.run("echo out; echo err >&2; exit 7");
  assert.deepEqual([r.stdout, r.stderr, r.exitStatus], ["out\n", "err\n", 7]);
  const big = "x".repeat(3 * 1024 * 1024);
  const wc = await t.conn.run("wc -c", { input: big });
  assert.equal(wc.stdout.trim(), String(big.length));
  const env = await t.conn.run('echo "$FROM $GIT_PROTOCOL ${HOME:-no home}"', {
    env: { GIT_PROTOCOL: "version=2" },
  });
  // The env given replaces the inherited variables (no HOME here), the session's go on top.
  assert.equal(env.stdout, "server version=2 no home\n");
  // Output larger than every window, read to the end.
  const seq = await t.conn.run("seq 1 200000");
  assert.equal(seq.stdout.split("\n").length, 200001);
});

test("runLocalCommand(): the client's signal reaches the child, which ends by it", async () => {
  await using t = await loopback({ processFactory: (p) => runLocalCommand(p) });
  const p = await t.conn.createProcess("echo ready; exec sleep 30");
  const reader = p.stdout.getReader();
  await reader.read();
  await p.signal("TERM");
  reader.releaseLock();
  const r = await p.wait();
  assert.equal(r.exitSignal?.signal, "TERM");
});

test("runLocalCommand(): a shell that cannot start ends with 127; a subsystem is refused", async () => {
  await using t = await loopback({
    processFactory: (p) =>
      runLocalCommand(p, { shell: "/nonexistent/sh" }).catch(() => {/* said to the client */}),
  });
  const r = await t.conn.run("true");
  assert.equal(r.exitStatus, 127);
  assert.match(r.stderr, /\/nonexistent\/sh/);
  await using u = await loopback({ processFactory: (p) => runLocalCommand(p) });
  const s = await u.conn.run({ subsystem: "nope" });
  assert.equal(s.exitStatus, 1);
  assert.match(s.stderr, /Subsystem nope is not served here/);
  // A shell request without a terminal: an interactive shell reading the client's input.
  const sh = await u.conn.run({ shell: true }, { input: "echo from-shell\nexit 4\n" });
  assert.match(sh.stdout, /from-shell/);
  assert.equal(sh.exitStatus, 4);
});

test("runLocalCommand(): the client closing the session ends a child that still writes", async () => {
  let ended!: (v: string) => void;
  const childEnd = new Promise<string>((r) => ended = r);
  await using t = await loopback({
    processFactory: (p) => runLocalCommand(p).then(() => ended("ended"), (e) => ended(String(e))),
  });
  const p = await t.conn.createProcess("yes");
  const reader = p.stdout.getReader();
  await reader.read();
  p.channel.close();
  assert.equal(await childEnd, "ended");
});

/** Whether a process with this pid is there (signal 0 checks without sending). */
function alive(pid: number): boolean {
  try {
    nodeProcess.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether a child of `parent` named `name` runs (Linux's /proc: pid (comm) state ppid ...). */
function hasChild(name: string, parent: number): boolean {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === name && ppid === parent) return true;
    } catch { /* gone meanwhile */ }
  }
  return false;
}

/** Waits (at most ~10 s) until a child of `parent` named `name` runs. */
async function running(name: string, parent: number): Promise<void> {
  for (let i = 0; i < 500 && !hasChild(name, parent); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!hasChild(name, parent)) throw new Error(`no ${name} under ${parent}`);
}

/** Waits (at most ~4 s) for a process to be gone; says whether it went. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

test(
  "runLocalCommand(): a signal reaches the program the shell runs, not only the shell (its process group, as sshd)",
  {
    skip: !existsSync("/proc/self/stat") && "no /proc to see the shell's child",
  },
  async () => {
    await using t = await loopback({ processFactory: (p) => runLocalCommand(p) });
    // sh waits for its foreground sleep: signalled alone, it would sit there for 300 s.
    const p = await t.conn.createProcess("echo $$; sleep 300; echo after");
    const reader = p.stdout.getReader();
    const sh = Number(new TextDecoder().decode((await reader.read()).value).trim());
    // Sent once sleep runs (before, the shell's own SIGINT handling is still in the child).
    await running("sleep", sh);
    await p.signal("INT");
    reader.releaseLock();
    const r = await p.wait({ timeout: 20_000 });
    assert.doesNotMatch(new TextDecoder().decode(r.stdout as Uint8Array), /after/);
    assert.equal(r.exitSignal?.signal, "INT");
  },
);

test("runLocalCommand(): the session's end hangs up on what the shell started, not only the shell", async () => {
  await using t = await loopback({ processFactory: (p) => runLocalCommand(p).catch(() => {}) });
  const p = await t.conn.createProcess("sleep 300 & echo $$ $!; wait");
  const reader = p.stdout.getReader();
  const [sh, sleep] = new TextDecoder().decode((await reader.read()).value).trim().split(" ")
    .map(Number) as [number, number];
  assert.ok(sh > 0 && sleep > 0);
  try {
    p.channel.close();
    assert.ok(await gone(sh), "the shell outlived its session");
    assert.ok(await gone(sleep), `sleep ${sleep} outlived its session`);
  } finally {
    if (alive(sleep)) nodeProcess.kill(sleep, "SIGKILL");
  }
});
