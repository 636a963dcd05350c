/**
 * SSHAgent.serveForwarded() binds a forwarded agent channel to its session for forwarding
 * before serving it, as ssh does: the far host cannot then bind the channel to a session of
 * its own and have a key restricted to another destination sign there.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SessionBind } from "../../agent/extensions.ts";
import { SSHWriter } from "../../core/wire.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { AgentClient } from "./client.ts";
import { serveAgent, SSHAgent } from "./ssh_agent.ts";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";

const hostA = generatePrivateKey("ed25519"); // where the key may be used
const hostB = generatePrivateKey("ed25519"); // the host the agent was forwarded to
const user = generatePrivateKey("ed25519", { comment: "restricted to A" });

function agentForA(): SSHAgent {
  const agent = new SSHAgent();
  agent.add(user, {
    destinations: [{
      from: { username: "", hostname: "", hostKeys: [] },
      to: {
        username: "",
        hostname: "hostA",
        hostKeys: [{ keyBlob: hostA.publicBlob, isCA: false }],
      },
    }],
  });
  return agent;
}

/** The far end of a forwarded channel that `agent` serves with serveForwarded(). */
function forwarded(agent: SSHAgent, source: (f: boolean) => SessionBind | undefined) {
  const a = new TransformStream<Uint8Array, Uint8Array>();
  const b = new TransformStream<Uint8Array, Uint8Array>();
  const served = agent.serveForwarded({ readable: a.readable, writable: b.writable }, source);
  return { far: new AgentClient({ readable: b.readable, writable: a.writable }), served };
}

/** What B tries: bind the channel to B's own session with A, then sign B's login to A. */
async function signForA(ch: AgentClient): Promise<boolean> {
  const sid = crypto.getRandomValues(new Uint8Array(32));
  await ch.sessionBind({
    hostKeyBlob: hostA.publicBlob,
    sessionId: sid,
    signature: hostA.sign(sid),
    isForwarding: false,
  }).catch(() => {});
  const req = new SSHWriter().writeString(sid).writeByte(50).writeStringUtf8("alice")
    .writeStringUtf8("ssh-connection").writeStringUtf8("publickey-hostbound-v00@openssh.com")
    .writeByte(1).writeStringUtf8("ssh-ed25519").writeString(user.publicBlob)
    .writeString(hostA.publicBlob).toBytes();
  return await ch.sign(user.publicBlob, req).then(() => true, () => false);
}

test("SSHAgent.serveForwarded() binds the channel for forwarding first: a far host gets no signature for another", async () => {
  const sid = crypto.getRandomValues(new Uint8Array(32));
  const bind = (isForwarding: boolean): SessionBind => ({
    hostKeyBlob: hostB.publicBlob,
    sessionId: sid,
    signature: hostB.sign(sid),
    isForwarding,
  });
  const { far } = forwarded(agentForA(), bind);
  try {
    assert.equal(await signForA(far), false);
  } finally {
    far.close();
  }
});

test("SSHAgent.serveForwarded() closes the channel unserved when the session has no binding", async () => {
  const { far, served } = forwarded(agentForA(), () => undefined);
  await served;
  await assert.rejects(far.listIdentities());
  far.close();
});

test("serveAgent() answers one request at a time and stops while its socket's buffer is full", async () => {
  const agent = new SSHAgent();
  for (let i = 0; i < 20; i++) agent.add(generatePrivateKey("ed25519", { comment: `k${i}` }));
  let handlers!: SocketHandlers;
  const written: Uint8Array[] = [];
  let paused = false;
  const socket: ByteSocket = {
    // Full after every write, as a peer that never reads leaves it.
    write: (d) => (written.push(d), false),
    end: () => {},
    destroy: () => {},
    pause: () => void (paused = true),
    resume: () => void (paused = false),
    setHandlers: (h) => void (handlers = h),
  };
  const served = serveAgent(agent, socket);
  // 6000 REQUEST_IDENTITIES in one read: about 1 KiB of reply each.
  const requests = new Uint8Array(5 * 6000);
  for (let i = 0; i < 6000; i++) requests.set([0, 0, 0, 1, 11], i * 5);
  handlers.data(requests);
  const settle = () => new Promise((r) => setTimeout(r, 20));
  await settle();
  assert.equal(written.length, 1, "one reply, then it waits for the buffer to drain");
  assert.equal(paused, true, "and reads no more meanwhile");
  handlers.drain();
  await settle();
  assert.equal(written.length, 2);
  assert.ok(written[0]!.length > 1000 && written[0]![4] === 12, "an identities answer");
  handlers.close();
  await served;
});
