/**
 * Keepalive against real OpenSSH: with `keepaliveInterval`, a server that
 * stops answering (its processes stopped with SIGSTOP) is detected and the
 * connection ends with ERR_KEEPALIVE; a live one keeps the connection up.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { conformanceTest, startPeer } from "./fixtures/mod.ts";
import { login, OPENSSH_PEERS } from "./client_peer.ts";

/** `pid` and every process below it (from /proc). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // Field 4 (ppid) follows the ")" that ends the command name.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch { /* gone meanwhile */ }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  return out;
}

function signalAll(pids: readonly number[], signal: "SIGSTOP" | "SIGCONT"): void {
  for (const p of pids) {
    try {
      process.kill(p, signal);
    } catch { /* exited */ }
  }
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `keepaliveInterval detects ${peer} stopped with SIGSTOP`,
    { peers: [peer] },
    async () => {
      // Its own fixture: the test freezes it.
      await using f = await startPeer(peer);
      const conn = await login(f, { keepaliveInterval: 300, keepaliveCountMax: 2 });
      let stopped: number[] = [];
      try {
        // Idle but answered: still up after several intervals.
        await new Promise((r) => setTimeout(r, 1200));
        assert.equal((await conn.run("echo alive")).stdout, "alive\n");
        stopped = processTree(f.pid);
        assert.ok(stopped.length >= 2, "the listener and the session's processes");
        signalAll(stopped, "SIGSTOP");
        const t0 = performance.now();
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<"timeout">((
          r,
        ) => (timer = setTimeout(() => r("timeout"), 10_000)));
        const won = await Promise.race([conn.closed, timeout]);
        clearTimeout(timer);
        assert.notEqual(won, "timeout");
        const ms = performance.now() - t0;
        assert.equal((conn.closeError as { code?: string })?.code, "ERR_KEEPALIVE");
        assert.match(conn.closeError!.message, /No response from the server to 2 keepalives/);
        // Three intervals of silence (two probes unanswered, then give up), give or take one.
        assert.ok(ms >= 500 && ms < 3000, `detected after ${ms.toFixed(0)} ms`);
      } finally {
        signalAll(stopped, "SIGCONT");
        conn.abort();
      }
    },
  );
}
