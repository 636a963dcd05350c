/**
 * A session's forwarded agent (`process.agent`) after a failed use: the next use opens a
 * new channel, as sshd opens one per use (a single client failed for the rest of the
 * session after its first timeout or refused channel).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import { SSHAgent } from "./ssh_agent.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519", { comment: "forwarded" });

test("process.agent opens a new channel for the use after one that failed", async () => {
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authorizedClientKeys: userKey.exportPublicKey(),
    agentForwardingRequested: () => true,
    processFactory: async (p) => {
      const first = await p.agent!.listIdentities().then(() => "ok", (e: Error) => e.name);
      const second = await p.agent!.listIdentities().then(
        (keys) => keys.map((k) => k.comment).join(),
        (e: Error) => `${e.name}: ${e.message}`,
      );
      await p.write(`${first} ${second}`);
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
      agentForwarding: true,
    });
    // The first agent channel the server opens is dropped at once; the next ones are served.
    const serve = conn.onAgentChannel!;
    let opened = 0;
    conn.onAgentChannel = (c) => (opened++ === 0 ? c.close() : serve(c));
    assert.equal((await conn.run("x")).stdout, "AgentError forwarded");
    assert.equal(opened, 2);
  } finally {
    await server.close();
  }
});
