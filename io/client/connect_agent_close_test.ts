/**
 * connect() closes the agent connection it opened for authentication when it fails before
 * the SSH connection exists (a refused TCP connect, a file that cannot be read, an abort):
 * a socket left open to the agent would keep the process alive after the error.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "./connect.ts";
import { connectErrorPhase, ConnectTimeoutError } from "./errors.ts";

/**
 * An agent on a UNIX socket that holds no keys (it answers every request with an empty
 * identities list) and counts the connections open to it.
 */
async function emptyAgent(answer = true): Promise<
  {
    path: string;
    accepted(): number;
    open(): number;
    closed(): Promise<void>;
    close(): Promise<void>;
  }
> {
  const dir = await mkdtemp(join(tmpdir(), "sshts-agent-close-"));
  const path = join(dir, "agent.sock");
  const sockets = new Set<net.Socket>();
  let wake: (() => void) | undefined;
  let accepted = 0;
  const server = net.createServer((sock) => {
    accepted++;
    sockets.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => {
      sockets.delete(sock);
      if (sockets.size === 0) wake?.();
    });
    // SSH_AGENT_IDENTITIES_ANSWER with no keys, for each request.
    // A silent agent still reads (and drops) what it is sent, so it sees the client's end.
    if (answer) sock.on("data", () => sock.write(new Uint8Array([0, 0, 0, 5, 12, 0, 0, 0, 0])));
    else sock.resume();
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    accepted: () => accepted,
    open: () => sockets.size,
    // Resolves once no connection is open, or after 10 s with one still open (then the
    // test's count fails; the wait is generous, a closed socket is seen at once).
    closed: () => {
      if (sockets.size === 0) return Promise.resolve();
      let timer: ReturnType<typeof setTimeout> | undefined;
      return new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, 10_000);
      }).finally(() => clearTimeout(timer));
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const cases: [string, (agent: string, port: number) => Record<string, unknown>][] = [
  ["a refused TCP connect", (agent, port) => ({ agent, port })],
  [
    "a revokedHostKeys file that cannot be read",
    (agent, port) => ({ agent, port, revokedHostKeys: "/nonexistent/sshts-krl" }),
  ],
  [
    "a proxy command refused for its host name",
    (agent, port) => ({ agent, port, proxyCommand: "nc %h %p", host: "bad host;" }),
  ],
];

for (const [what, options] of cases) {
  test(`connect() closes the agent connection after ${what}`, async () => {
    const agent = await emptyAgent();
    try {
      const port = await closedPort();
      const { host = "127.0.0.1", ...rest } = options(agent.path, port);
      const e = await connect(host as string, {
        username: "u",
        knownHosts: null,
        config: false,
        connectTimeout: 0,
        ...rest,
      }).then(() => undefined, (x) => x);
      assert.ok(e instanceof Error, "connect() should have failed");
      assert.equal(agent.accepted(), 1, "connect() should have asked the agent for keys");
      await agent.closed();
      assert.equal(agent.open(), 0);
    } finally {
      await agent.close();
    }
  });
}

test("connectTimeout and the signal cover an agent that never answers, and its connection is closed", async () => {
  for (const by of ["timeout", "abort"] as const) {
    const agent = await emptyAgent(false);
    try {
      const port = await closedPort();
      const ac = new AbortController();
      if (by === "abort") setTimeout(() => ac.abort(new Error("stop")), 300);
      const t0 = Date.now();
      const e = await connect("127.0.0.1", {
        port,
        username: "u",
        knownHosts: null,
        config: false,
        agent: agent.path,
        agentTimeout: 30_000,
        connectTimeout: by === "timeout" ? 300 : 0,
        signal: ac.signal,
      }).then(() => undefined, (x: unknown) => x);
      // Well before the agent's own 30 s: it was the deadline (or the abort) that ended it.
      assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
      if (by === "timeout") {
        assert.ok(e instanceof ConnectTimeoutError, String(e));
        assert.equal(e.phase, "setup");
        assert.equal(connectErrorPhase(e), "setup");
      } else {
        assert.ok(e instanceof Error && /stop/.test(e.message), String(e));
      }
      assert.equal(agent.accepted(), 1);
      await agent.closed();
      assert.equal(agent.open(), 0, "the agent connection opened too late is closed");
    } finally {
      await agent.close();
    }
  }
});
