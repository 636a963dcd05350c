/**
 * Agent forwarding between our client and our server in one process: the
 * client forwards an in-process SSHAgent, the server's session lists and signs
 * through `process.agent` and through the socket in SSH_AUTH_SOCK (removed at
 * session end); refused by default, by the hook, and by no-agent-forwarding.
 * The real-peer versions are in conformance/agent_client_test.ts and
 * conformance/agent_server_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { type ChannelEngine, ChannelIO } from "../engine/channel.ts";
import { listen } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { connectAgent } from "./client.ts";
import { startSessionAgent } from "./server_forwarding.ts";
import { SSHAgent } from "./ssh_agent.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519", { comment: "forwarded" });
const data = new TextEncoder().encode("sign me");

async function session(
  options: Partial<ListenOptions>,
  body: (p: SSHServerProcess) => Promise<string>,
  authorizedKeys = userKey.exportPublicKey(),
): Promise<{ stdout: string; paths: string[] }> {
  const paths: string[] = [];
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authorizedClientKeys: authorizedKeys,
    processFactory: async (p) => {
      if (p.agentSocketPath) paths.push(p.agentSocketPath);
      await p.write(await body(p));
    },
    ...options,
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
    const r = await conn.run("x");
    return { stdout: r.stdout, paths };
  } finally {
    await server.close();
  }
}

test("listen() with agentForwardingRequested gives the session the client's agent and a socket", async () => {
  const { stdout, paths } = await session(
    { agentForwardingRequested: () => true },
    async (p) => {
      assert.ok(p.agent && p.agentSocketPath);
      assert.equal(p.env.SSH_AUTH_SOCK, p.agentSocketPath);
      const keys = await p.agent.listIdentities();
      const sig = await p.agent.sign(keys[0]!.keyBlob, data);
      // A child process would connect to the socket.
      await using child = await connectAgent(p.agentSocketPath);
      const childKeys = await child.listIdentities();
      return `${keys[0]!.comment} ${userKey.verify(data, sig)} ${childKeys.length}`;
    },
  );
  assert.equal(stdout, "forwarded true 1");
  assert.equal(paths.length, 1);
  // Removed when the session ended.
  for (let i = 0; i < 50 && existsSync(paths[0]!); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(existsSync(paths[0]!), false);
});

test("listen() refuses agent forwarding by default, by the hook, and for no-agent-forwarding keys", async () => {
  const probe = (p: SSHServerProcess) =>
    Promise.resolve(`${p.agent === undefined} ${p.env.SSH_AUTH_SOCK === undefined}`);
  assert.equal((await session({}, probe)).stdout, "true true");
  assert.equal(
    (await session({ agentForwardingRequested: () => false }, probe)).stdout,
    "true true",
  );
  assert.equal(
    (await session(
      { agentForwardingRequested: () => Promise.resolve(true) },
      probe,
      `no-agent-forwarding ${userKey.exportPublicKey()}`,
    )).stdout,
    "true true",
  );
});

test("listen() answers auth-agent-req@openssh.com with failure when nothing could allow it", async () => {
  for (const allow of [false, true]) {
    const server = await listen({
      port: 0,
      hostKeys: [hostKey],
      authorizedClientKeys: userKey.exportPublicKey(),
      processFactory: () => {},
      ...(allow ? { agentForwardingRequested: () => true } : {}),
    });
    try {
      await using conn = await connect("127.0.0.1", {
        port: server.address.port,
        username: "u",
        knownHosts: null,
        clientKeys: [userKey],
        agent: false,
      });
      const ch = await conn.openSession();
      assert.equal(await ch.request("auth-agent-req@openssh.com", undefined, true), allow);
      ch.close();
    } finally {
      await server.close();
    }
  }
});

/** A channel engine that only records whether the channel was closed. */
class ClosingEngine implements ChannelEngine {
  closed = false;
  channelClosed = false;
  sendData(_id: number, data: Uint8Array): number {
    return data.length;
  }
  writableBytes(): number {
    return 1 << 20;
  }
  consume(): void {}
  setWindowSize(): void {}
  sendEof(): void {}
  closeChannel(): void {
    this.channelClosed = true;
  }
  sendChannelRequest(): void {}
  replyChannelRequest(): void {}
}

test("startSessionAgent() closes an agent channel that opens after the session ended", async () => {
  let asked!: () => void;
  const openAsked = new Promise<void>((r) => (asked = r));
  let grant!: (ch: ChannelIO) => void;
  let endSession!: () => void;
  const agent = await startSessionAgent(
    {
      openChannel: () => {
        asked();
        return new Promise<ChannelIO>((r) => (grant = r));
      },
    },
    new Promise<void>((r) => (endSession = r)),
  );
  const local = net.connect(agent.socketPath);
  local.on("error", () => {});
  await openAsked; // a child connected to SSH_AUTH_SOCK: the server asks for a channel
  endSession(); // and the session ends before the client answers
  await agent.close();
  const engine = new ClosingEngine();
  const pump = { pump() {}, whenDrained: () => Promise.resolve(), socketFull: false };
  grant(new ChannelIO(1, engine, pump, 1 << 20));
  for (let i = 0; i < 50 && !engine.channelClosed; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  local.destroy();
  assert.equal(engine.channelClosed, true);
});
