/**
 * The agent client's reply timeout: an agent that accepts the connection and
 * never answers fails the request (and those queued behind it) with
 * AgentError "timeout" and the connection is closed; a timeout of 0 waits;
 * a working agent is unaffected; connect() goes on without a hung agent.
 * Fake agents here never answer, so a short timeout is deterministic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { join } from "node:path";
import { AgentError } from "../../agent/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { ByteSocket, WebDuplex } from "../runtime/socket.ts";
import { AgentClient, connectAgent, DEFAULT_AGENT_TIMEOUT_MS } from "./client.ts";
import { SSHAgent } from "./ssh_agent.ts";
import { withSocketDir } from "./_test_util.ts";

const ed = generatePrivateKey("ed25519", { comment: "ed" });
const data = new TextEncoder().encode("data");

function isTimeout(what: string, ms: number): (e: unknown) => boolean {
  return (e) =>
    e instanceof AgentError && e.kind === "timeout" && e.code === "ERR_AGENT" &&
    e.message.includes(`the ${what} request within ${ms} ms`);
}

/** A UNIX socket agent that reads requests and never answers; `ended` settles when a client leaves. */
async function silentAgent(
  dir: string,
): Promise<{ path: string; server: net.Server; ended: Promise<void> }> {
  const path = join(dir, "silent.sock");
  let ended!: () => void;
  const endedP = new Promise<void>((r) => ended = r);
  const server = net.createServer((s) => {
    s.on("data", () => {});
    s.on("close", () => ended());
    s.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  return { path, server, ended: endedP };
}

/** An in-memory agent stream that never answers (its requests pile up unread). */
function silentDuplex(): WebDuplex {
  const toAgent = new TransformStream<Uint8Array, Uint8Array>();
  const fromAgent = new TransformStream<Uint8Array, Uint8Array>();
  void toAgent.readable.pipeTo(new WritableStream()).catch(() => {});
  return { readable: fromAgent.readable, writable: toAgent.writable };
}

test("connectAgent({ timeout }) rejects an unanswered request with AgentError 'timeout', rejects the queued ones and closes the connection", async () => {
  await withSocketDir(async (dir) => {
    const { path, server, ended } = await silentAgent(dir);
    try {
      const client = await connectAgent(path, { timeout: 50 });
      const signing = client.sign(ed, data);
      const queued = [client.listIdentities(), client.removeAllIdentities()];
      await assert.rejects(signing, isTimeout("sign", 50));
      for (const q of queued) await assert.rejects(q, isTimeout("sign", 50));
      assert.equal(client.closed, true);
      await ended; // the agent saw the connection go
      await assert.rejects(client.listIdentities(), (e) => (e as AgentError).kind === "timeout");
    } finally {
      server.close();
    }
  });
});

test("AgentClient({ timeout }) names an extension that timed out", async () => {
  await using client = new AgentClient(silentDuplex(), { timeout: 50 });
  await assert.rejects(client.queryExtensions(), isTimeout('extension "query"', 50));
  assert.equal(client.closed, true);
});

test("AgentClient({ timeout }) counts opening its stream: a late stream is destroyed", async () => {
  let open!: (s: ByteSocket) => void;
  const client = new AgentClient(() => new Promise<ByteSocket>((r) => open = r), { timeout: 50 });
  await assert.rejects(client.listIdentities(), isTimeout("requestIdentities", 50));
  assert.equal(client.closed, true);
  let destroyed = false;
  open({
    write: () => true,
    end: () => {},
    destroy: () => void (destroyed = true),
    pause: () => {},
    resume: () => {},
    setHandlers: () => assert.fail("a stream opened after the timeout is not used"),
  });
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(destroyed, true);
});

test("AgentClient({ timeout: 0 }) waits for a reply until close(), which rejects it with 'closed' (and clears a timer)", async () => {
  assert.equal(DEFAULT_AGENT_TIMEOUT_MS, 30_000);
  // With 60 s, a timer close() failed to clear would hold this test file open for a minute.
  for (const timeout of [0, Infinity, 60_000]) {
    const client = new AgentClient(silentDuplex(), { timeout });
    let settled = false;
    const listing = client.listIdentities().finally(() => settled = true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, false);
    client.close();
    await assert.rejects(listing, (e) => (e as AgentError).kind === "closed");
  }
});

test("AgentClient({ timeout }) above 2^31 - 1 ms waits without limit (setTimeout would fire it after 1 ms)", async () => {
  for (const timeout of [2 ** 31 - 1, 2 ** 31, 4 * 7 * 24 * 3_600_000]) {
    const client = new AgentClient(silentDuplex(), { timeout });
    let settled = false;
    const listing = client.listIdentities().finally(() => settled = true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, `timeout ${timeout}`);
    client.close();
    await assert.rejects(listing, (e) => (e as AgentError).kind === "closed");
  }
});

test("AgentClient and connectAgent() refuse a negative, NaN or non-number timeout when made", async () => {
  for (const timeout of [-1, -Infinity, NaN]) {
    assert.throws(() => new AgentClient(silentDuplex(), { timeout }), RangeError, `${timeout}`);
    await assert.rejects(connectAgent("/nonexistent/agent.sock", { timeout }), RangeError);
  }
  assert.throws(
    () => new AgentClient(silentDuplex(), { timeout: "100" as unknown as number }),
    TypeError,
  );
});

test("connect({ agentTimeout }) rejects a negative or NaN value rather than silently not using the agent", async () => {
  const { connect } = await import("../client/connect.ts");
  for (const agentTimeout of [-1, NaN]) {
    await assert.rejects(
      connect("127.0.0.1", { port: 1, username: "u", knownHosts: null, agentTimeout }),
      (e) => e instanceof RangeError && /agentTimeout/.test(e.message),
    );
  }
});

test("SSHAgent.connect({ timeout }): a working agent answers within it and the client stays open after", async () => {
  const agent = new SSHAgent();
  await using client = agent.connect({ timeout: 1_000 });
  await client.addIdentity(ed);
  assert.equal((await client.listIdentities()).length, 1);
  assert.ok(ed.verify(data, await client.sign(ed, data)));
  // The requests' timers were cleared: none fires once its time has passed.
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(client.closed, false);
  assert.equal((await client.listIdentities()).length, 1);
});

test("connect({ agent, agentTimeout }) gives up on an agent that never answers and logs in with the password", async () => {
  const { connect } = await import("../client/connect.ts");
  const { listen } = await import("../server/listen.ts");
  await withSocketDir(async (dir) => {
    const { path, server: agentServer, ended } = await silentAgent(dir);
    try {
      await using server = await listen({
        port: 0,
        hostKeys: [generatePrivateKey("ed25519")],
        authFailureDelay: 0,
        validatePassword: (_user, password) => password === "pw",
      });
      await using _conn = await connect("127.0.0.1", {
        port: server.address.port,
        username: "u",
        knownHosts: null,
        agent: path,
        agentTimeout: 50,
        password: "pw",
        connectTimeout: 20_000, // without agentTimeout, the listing would wait till this
      });
      assert.match(server.getConnections()[0]?.authMethod ?? "", /password|keyboard-interactive/);
      await ended; // the agent connection is closed
    } finally {
      agentServer.close();
    }
  });
});
