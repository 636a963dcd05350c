/**
 * agentForwarding asked for by one call, not the connection: the server's agent channels go
 * to the connection's agent once a session asks (refused before, as ssh does).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen } from "../server/listen.ts";
import { SSHAgent } from "../agent/ssh_agent.ts";
import { connect } from "./connect.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519", { comment: "forwarded" });

test("agentForwarding on one call (not the connection) forwards the connection's agent", async () => {
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authorizedClientKeys: userKey.exportPublicKey(),
    agentForwardingRequested: () => true,
    processFactory: async (p) => {
      const keys = p.agent ? await p.agent.listIdentities() : [];
      await p.write(`${p.agent !== undefined} ${keys.map((k) => k.comment).join()}`);
    },
  });
  try {
    const agent = new SSHAgent();
    agent.add(userKey);
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      knownHosts: null,
      clientKeys: [],
      agent,
    });
    assert.equal(conn.onAgentChannel, undefined, "no agent channel taken before a call asks");
    assert.equal((await conn.run("x")).stdout, "false ");
    assert.equal((await conn.run("x", { agentForwarding: true })).stdout, "true forwarded");
  } finally {
    await server.close();
  }
});

test("a server's agent channel before any session asked for forwarding is refused, and the log says why", async () => {
  const opened: boolean[] = [];
  let done!: () => void;
  const tried = new Promise<void>((r) => done = r);
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authorizedClientKeys: userKey.exportPublicKey(),
    authCompleted: (conn) => {
      void conn.openChannel("auth-agent@openssh.com").then(
        (ch) => (opened.push(true), ch.close(), done()),
        () => (opened.push(false), done()),
      );
    },
    processFactory: (p) => p.exit(0),
  });
  try {
    const agent = new SSHAgent();
    agent.add(userKey);
    const debug: string[] = [];
    await using _conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      knownHosts: null,
      clientKeys: [],
      agent,
      logger: { debug: (m) => void debug.push(m) },
      logLevel: "debug",
    });
    await tried;
    assert.deepEqual(opened, [false]);
    assert.ok(
      debug.some((m) =>
        /refused the server's auth-agent@openssh.com channel: no session asked/.test(m)
      ),
      debug.join("\n"),
    );
  } finally {
    await server.close();
  }
});
