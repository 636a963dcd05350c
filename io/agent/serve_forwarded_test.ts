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
import { SSHAgent } from "./ssh_agent.ts";

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
