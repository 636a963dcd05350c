/**
 * Server-side keepalive (`listen({ keepaliveInterval, keepaliveCountMax })`, as sshd's
 * ClientAliveInterval/ClientAliveCountMax): a client that goes silent after logging in is
 * detected and its connection, socket and session freed. Tried with OpenSSH's `ssh` (9.2 and
 * 10.x) stopped with SIGSTOP, and with a raw SSH client whose socket stops reading while the
 * server still has output for it. A live, idle client answers the probes and stays.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { test } from "node:test";
import type { SSHServerConnection } from "../io/server/connection.ts";
import { listen } from "../io/server/listen.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { conformanceTest } from "./fixtures/mod.ts";
import { RawClient } from "./post_auth_hostile_client.ts";
import { spawnSsh, SSH_CLIENTS, startServer, testShell } from "./server_fixture.ts";

const INTERVAL_MS = 300;
const COUNT_MAX = 2;

/** `pid` and every process below it (from /proc). */
function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
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

/** Resolves with the connection's close error and when it came, or "timeout". */
function lostWithin(
  lost: Promise<{ error: Error | undefined; at: number }>,
  ms: number,
): Promise<{ error: Error | undefined; at: number } | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    lost,
    new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms))),
  ]).finally(() => clearTimeout(timer));
}

for (const client of SSH_CLIENTS) {
  conformanceTest(
    `listen({ keepaliveInterval }) drops ${client} ssh stopped with SIGSTOP and frees its session`,
    { peers: [client] },
    async () => {
      let onLost!: (v: { error: Error | undefined; at: number }) => void;
      const lost = new Promise<{ error: Error | undefined; at: number }>((r) => (onLost = r));
      let sessionEnded = false;
      await using server = await startServer({
        keepaliveInterval: INTERVAL_MS,
        keepaliveCountMax: COUNT_MAX,
        processFactory: async (p) => {
          try {
            await testShell(p);
          } finally {
            sessionEnded = true;
          }
        },
        connectionLost: (_c: SSHServerConnection, error) =>
          onLost({ error, at: performance.now() }),
      });
      await using ssh = await spawnSsh(client, server, { identity: "ed25519", command: "wait" });
      await ssh.waitFor(/waiting/);
      // Idle but answering: still connected after several intervals.
      await new Promise((r) => setTimeout(r, INTERVAL_MS * 4));
      assert.equal(server.server.connections, 1, "a live client stays");
      const stopped = processTree(ssh.child.pid!);
      signalAll(stopped, "SIGSTOP");
      const t0 = performance.now();
      try {
        const r = await lostWithin(lost, 10_000);
        assert.notEqual(r, "timeout", "the silent client was not dropped");
        if (r === "timeout") return;
        assert.equal((r.error as { code?: string })?.code, "ERR_KEEPALIVE");
        const ms = r.at - t0;
        // COUNT_MAX probes unanswered, then give up: about three intervals, give or take one.
        assert.ok(ms >= INTERVAL_MS && ms < INTERVAL_MS * 10, `dropped after ${ms.toFixed(0)} ms`);
        assert.equal(server.server.connections, 0, "its connection is freed");
        for (let i = 0; i < 40 && !sessionEnded; i++) {
          await new Promise((res) => setTimeout(res, 25));
        }
        assert.ok(sessionEnded, "its session ended");
      } finally {
        signalAll(stopped, "SIGCONT");
      }
    },
  );
}

test(
  "listen({ keepaliveInterval }) drops a client whose socket stops reading while output is pending",
  {
    timeout: 30_000,
  },
  async () => {
    let onLost!: (v: { error: Error | undefined; at: number }) => void;
    const lost = new Promise<{ error: Error | undefined; at: number }>((r) => (onLost = r));
    let flooding = true;
    const server = await listen({
      port: 0,
      hostKeys: [generatePrivateKey("ssh-ed25519")],
      validatePassword: (u, p) => u === "silent" && p === "silent-pw",
      authFailureDelay: 0,
      keepaliveInterval: INTERVAL_MS,
      keepaliveCountMax: COUNT_MAX,
      processFactory: async (p) => {
        // Output until the channel goes: the client's window, then the socket, fill up.
        const chunk = new Uint8Array(32 * 1024).fill(120);
        try {
          for (;;) await p.write(chunk);
        } catch {
          /* the connection went */
        } finally {
          flooding = false;
        }
      },
      connectionLost: (_c, error) => onLost({ error, at: performance.now() }),
    });
    const c = new RawClient(server.address.port, "silent", "silent-pw");
    try {
      await c.until((ev) => ev.some((e) => e.type === "authSuccess"));
      const { id } = await c.session();
      c.engine.sendChannelRequest(
        id,
        "exec",
        true,
        new Uint8Array([0, 0, 0, 5, 102, 108, 111, 111, 100]),
      );
      c.pump();
      await c.until((ev) => ev.some((e) => e.type === "channelData"));
      c.pause();
      const t0 = performance.now();
      const r = await lostWithin(lost, 10_000);
      assert.notEqual(r, "timeout", "the silent client was not dropped");
      if (r === "timeout") return;
      assert.equal((r.error as { code?: string })?.code, "ERR_KEEPALIVE");
      const ms = r.at - t0;
      assert.ok(ms < INTERVAL_MS * 10, `dropped after ${ms.toFixed(0)} ms`);
      assert.equal(server.connections, 0, "its connection is freed");
      for (let i = 0; i < 40 && flooding; i++) await new Promise((res) => setTimeout(res, 25));
      assert.equal(flooding, false, "its session's writer was released");
    } finally {
      c.destroy();
      await server.close();
    }
  },
);
