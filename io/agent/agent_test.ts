/**
 * Our agent client against our in-process agent: over a UNIX socket and in
 * memory, every operation, the checks the client makes on replies, and what
 * happens on hostile replies. The real-peer versions are in
 * conformance/agent_*_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import * as net from "node:net";
import { join } from "node:path";
import { SSHReader } from "../../core/wire.ts";
import { AgentError } from "../../agent/errors.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { SSHKeyPair } from "../../keys/key_pair.ts";
import { AgentClient, connectAgent } from "./client.ts";
import { SSHAgent } from "./ssh_agent.ts";
import { withSocketDir } from "./_test_util.ts";

const ed = generatePrivateKey("ed25519", { comment: "ed" });
const rsa = generatePrivateKey("rsa", { keySize: 1024 });
const data = new TextEncoder().encode("data");

function sigAlg(sig: Uint8Array): string {
  return new SSHReader(sig).readStringAscii();
}

test("connectAgent() reaches SSHAgent.listen() over a 0600 UNIX socket: every operation", async () => {
  await withSocketDir(async (dir) => {
    const agent = new SSHAgent({ confirm: () => true });
    const path = join(dir, "agent.sock");
    await using listener = await agent.listen(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await using client = await connectAgent(path);
    assert.deepEqual(await client.listIdentities(), []);
    await client.addIdentity(ed, { lifetime: 60, confirm: true });
    await client.addIdentity(rsa, { comment: "rsa key" });
    const ca = generatePrivateKey("ed25519");
    const cert = createCertificate({
      key: ed,
      caKey: ca,
      type: "user",
      keyId: "me",
      principals: ["me"],
    });
    await client.addIdentity(new SSHKeyPair(ed, cert));
    const keys = await client.listIdentities();
    assert.deepEqual(keys.map((k) => [k.keyType, k.comment]), [
      ["ssh-ed25519", "ed"],
      ["ssh-rsa", "rsa key"],
      ["ssh-ed25519-cert-v01@openssh.com", "ed"], // the pair's comment: the key's
    ]);
    assert.ok(keys[2]!.certificate?.key.equals(ed));
    assert.equal(agent.list()[0]!.confirm, true);
    assert.ok(ed.verify(data, await client.sign(ed, data)));
    assert.ok(ed.verify(data, await client.sign(keys[2]!, data)));
    for (const algorithm of ["rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"]) {
      const sig = await client.sign(rsa, data, { algorithm });
      assert.equal(sigAlg(sig), algorithm);
      assert.ok(rsa.verify(data, sig, { allowedAlgorithms: [algorithm] }));
    }
    assert.equal(sigAlg(await client.sign(rsa, data)), "rsa-sha2-512");
    assert.deepEqual(await client.queryExtensions(), ["query", "session-bind@openssh.com"]);
    await client.lock("pw");
    assert.deepEqual(await client.listIdentities(), []);
    await assert.rejects(client.sign(ed, data), (e) => (e as AgentError).kind === "failure");
    await assert.rejects(client.unlock("wrong"), AgentError);
    await client.unlock("pw");
    await client.removeIdentity(rsa);
    await assert.rejects(client.removeIdentity(rsa), /refused to remove/);
    assert.equal((await client.listIdentities()).length, 2);
    await client.removeAllIdentities();
    assert.equal(agent.list().length, 0);
    await listener.close();
    await assert.rejects(stat(path)); // the socket file is gone
  });
});

test("SSHAgent.connect() serves an AgentClient in memory", async () => {
  const agent = new SSHAgent();
  agent.add(ed);
  const client = agent.connect();
  assert.equal((await client.listIdentities())[0]?.comment, "ed");
  assert.ok(ed.verify(data, await client.sign(ed.publicBlob, data)));
  client.close();
  await assert.rejects(client.listIdentities(), (e) => (e as AgentError).kind === "closed");
});

test("connectAgent() without a path or socket fails with AgentError 'unavailable'", async () => {
  await withSocketDir(async (dir) => {
    await assert.rejects(
      connectAgent(join(dir, "missing.sock")),
      (e) => e instanceof AgentError && e.kind === "unavailable",
    );
  });
});

/** A fake agent on a socket that answers every request with `reply` (a whole frame). */
async function fakeAgent(dir: string, reply: Uint8Array): Promise<net.Server> {
  const server = net.createServer((s) => s.on("data", () => s.write(reply)));
  await new Promise<void>((r) => server.listen(join(dir, "fake.sock"), r));
  return server;
}

test("AgentClient.sign() refuses a signature made with another algorithm than asked", async () => {
  await withSocketDir(async (dir) => {
    // Answers with an ssh-rsa signature whatever was asked (an old agent ignoring flags).
    const sig = rsa.sign(data, "ssh-rsa");
    const reply = new Uint8Array(4 + 1 + 4 + sig.length);
    const v = new DataView(reply.buffer);
    v.setUint32(0, 1 + 4 + sig.length);
    reply[4] = 14;
    v.setUint32(5, sig.length);
    reply.set(sig, 9);
    const server = await fakeAgent(dir, reply);
    try {
      await using client = await connectAgent(join(dir, "fake.sock"));
      await assert.rejects(
        client.sign(rsa, data, { algorithm: "rsa-sha2-256" }),
        (e) => e instanceof AgentError && e.kind === "signature" && /ssh-rsa/.test(e.message),
      );
      // The connection stays usable: the same reply is right for what it says.
      assert.equal(sigAlg(await client.sign(rsa, data, { algorithm: "ssh-rsa" })), "ssh-rsa");
    } finally {
      server.close();
    }
  });
});

test("AgentClient fails on a reply frame over 256 KiB and closes", async () => {
  await withSocketDir(async (dir) => {
    const server = await fakeAgent(dir, Uint8Array.of(0, 0x10, 0, 0, 12));
    try {
      const client = await connectAgent(join(dir, "fake.sock"));
      await assert.rejects(client.listIdentities(), (e) => (e as AgentError).kind === "frame");
      assert.equal(client.closed, true);
    } finally {
      server.close();
    }
  });
});

test("AgentClient opens its stream lazily and detach() hands the raw stream over", async () => {
  const agent = new SSHAgent();
  agent.add(ed);
  let opened = 0;
  const client = new AgentClient(() => {
    opened++;
    const a = new TransformStream<Uint8Array, Uint8Array>();
    const b = new TransformStream<Uint8Array, Uint8Array>();
    void agent.serve({ readable: a.readable, writable: b.writable });
    return Promise.resolve({ readable: b.readable, writable: a.writable });
  });
  assert.equal(opened, 0);
  assert.equal((await client.listIdentities()).length, 1);
  assert.equal(opened, 1);
  const raw = await client.detach();
  const got: Uint8Array[] = [];
  const replied = new Promise<void>((resolve) =>
    raw.setHandlers({
      data: (c) => {
        got.push(c.slice());
        resolve();
      },
      end: () => {},
      error: () => {},
      drain: () => {},
      close: () => {},
    })
  );
  raw.write(Uint8Array.of(0, 0, 0, 1, 19)); // REMOVE_ALL_IDENTITIES
  await replied;
  assert.deepEqual(got[0], Uint8Array.of(0, 0, 0, 1, 6));
  assert.equal(agent.list().length, 0);
  await assert.rejects(client.listIdentities(), /handed over/);
  raw.destroy();
});

test("loadAgentKeys() orders keys as OpenSSH: named, agent keys matching them, other agent keys, default files", async () => {
  const { loadAgentKeys } = await import("./connect_agent.ts");
  const { clientKeyFromSSHKey } = await import("../keys/signers.ts");
  const named = generatePrivateKey("ed25519");
  const namedInAgentToo = generatePrivateKey("ed25519");
  const defaultInAgent = generatePrivateKey("ed25519");
  const defaultOnly = generatePrivateKey("ed25519");
  const agentOnly = generatePrivateKey("ed25519");
  const ca = generatePrivateKey("ed25519");
  const certForNamed = createCertificate({
    key: named,
    caKey: ca,
    type: "user",
    keyId: "c",
    principals: ["u"],
  });
  const agent = new SSHAgent();
  for (const k of [agentOnly, defaultInAgent, namedInAgentToo]) agent.add(k);
  agent.add(new SSHKeyPair(named, certForNamed));
  const blobs = (keys: readonly { publicKeyBlob: Uint8Array }[]) =>
    keys.map((k) => k.publicKeyBlob);
  const options = {
    named: [named, namedInAgentToo].map((k) => clientKeyFromSSHKey(k)),
    defaults: [defaultInAgent, defaultOnly].map((k) => clientKeyFromSSHKey(k)),
  };
  const all = await loadAgentKeys(agent.connect(), { ...options, identitiesOnly: false });
  assert.deepEqual(blobs(all.keys), [
    named.publicBlob,
    namedInAgentToo.publicBlob, // the caller's copy: the agent's duplicate is dropped
    defaultInAgent.publicBlob, // agent keys matching the caller's keys come next
    certForNamed.blob,
    agentOnly.publicBlob, // then the agent's other keys
    defaultOnly.publicBlob, // then default files the agent does not hold
  ]);
  assert.ok(all.keys[2]!.query, "agent keys are queried before signing");
  all.close();
  const only = await loadAgentKeys(agent.connect(), { ...options, identitiesOnly: true });
  assert.deepEqual(blobs(only.keys), [
    named.publicBlob,
    namedInAgentToo.publicBlob,
    defaultInAgent.publicBlob,
    certForNamed.blob,
    defaultOnly.publicBlob,
  ]);
  only.close();
});

test("SSHAgent answers a request whose client half-closed right after sending it", async () => {
  await withSocketDir(async (dir) => {
    const agent = new SSHAgent({
      confirm: () => new Promise((r) => setTimeout(() => r(true), 50)),
    });
    agent.add(ed, { confirm: true });
    await using _l = await agent.listen(join(dir, "a.sock"));
    const sock = net.connect({ path: join(dir, "a.sock"), allowHalfOpen: true });
    await new Promise((r) => sock.once("connect", r));
    const chunks: Uint8Array[] = [];
    sock.on("data", (c: Uint8Array) => chunks.push(c));
    const ended = new Promise((r) => sock.once("end", r));
    const { encodeAgentFrame } = await import("../../agent/protocol.ts");
    const { encodeAgentRequest, decodeAgentReply } = await import("../../agent/messages.ts");
    sock.end(encodeAgentFrame(encodeAgentRequest({
      type: "sign",
      keyBlob: ed.publicBlob,
      data,
      flags: 0,
    })));
    await ended;
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) all.set(c, (o += c.length) - c.length);
    assert.equal(decodeAgentReply(all.subarray(4)).type, "signResponse");
    sock.destroy();
  });
});

test("AgentClient.getKeys(): an agent key chosen by the caller logs in through connect({ clientKeys })", async () => {
  const { connect } = await import("../client/connect.ts");
  const { listen } = await import("../server/listen.ts");
  const allowed = generatePrivateKey("ed25519"), other = generatePrivateKey("ecdsa");
  const agent = new SSHAgent();
  agent.add(other, { comment: "other" });
  agent.add(allowed, { comment: "deploy" });
  await using client = agent.connect();
  const offered: string[] = [];
  await using server = await listen({
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    validatePublicKey: (_user, { key }) => {
      offered.push(key?.getFingerprint() ?? "?");
      return key?.equals(allowed) ?? false;
    },
  });
  const login = (clientKeys: Awaited<ReturnType<AgentClient["getKeys"]>>) =>
    connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      knownHosts: null,
      agent: false,
      clientKeys,
    });
  const keys = await client.getKeys();
  assert.deepEqual(keys.map((k) => k.comment), ["other", "deploy"]);
  await using _conn = await login(keys.filter((k) => k.comment === "deploy"));
  assert.equal(server.getConnections()[0]?.authMethod, "publickey");
  // Only the chosen key was offered (agent: false, nothing else tried): asked about, then signed.
  assert.deepEqual(offered, [allowed.getFingerprint(), allowed.getFingerprint()]);
  await assert.rejects(
    login(keys.filter((k) => k.comment === "other")),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
});
