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
