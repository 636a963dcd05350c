// Our agent client against OpenSSH's own ssh-agent (9.2 on this machine, 10.x from the trixie
// tree): every operation, with keys added by ssh-add and by us, constraints (lifetime, confirm,
// restrict-destination) and the session-bind extension.

import assert from "node:assert/strict";
import { SSHReader, SSHWriter } from "../core/wire.ts";
import { AgentError } from "../agent/errors.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import { connectAgent } from "../io/agent/client.ts";
import { conformanceTest } from "./fixtures/mod.ts";
import { type OpenSSHVersion, startOpenSSHAgent } from "./agent_fixture.ts";

const VERSIONS: readonly OpenSSHVersion[] = ["openssh", "openssh-trixie"];
const data = new TextEncoder().encode("conformance");

const ed = generatePrivateKey("ed25519", { comment: "ours-ed25519" });
const ec = generatePrivateKey("ecdsa", { keySize: 384, comment: "ours-ecdsa" });
const rsa = generatePrivateKey("rsa", { keySize: 2048, comment: "ours-rsa" });
const ca = generatePrivateKey("ed25519");
const cert = createCertificate({ key: ec, caKey: ca, type: "user", keyId: "c", principals: ["u"] });

function sigAlg(sig: Uint8Array): string {
  return new SSHReader(sig).readStringAscii();
}

/** The data a client signs for publickey(-hostbound) authentication. */
function userauth(sid: Uint8Array, user: string, key: SSHKey, hostKeyBlob?: Uint8Array) {
  const w = new SSHWriter().writeString(sid).writeByte(50).writeStringUtf8(user)
    .writeStringUtf8("ssh-connection")
    .writeStringUtf8(hostKeyBlob ? "publickey-hostbound-v00@openssh.com" : "publickey")
    .writeBoolean(true).writeStringUtf8(key.getAlgorithm()).writeString(key.publicBlob);
  if (hostKeyBlob) w.writeString(hostKeyBlob);
  return w.toBytes();
}

for (const version of VERSIONS) {
  conformanceTest(
    `AgentClient drives ${version}'s ssh-agent: add every key type and a certificate, list, sign, remove, lock`,
    { peers: [version] },
    async () => {
      await using agent = await startOpenSSHAgent(version);
      await using client = await connectAgent(agent.hostSocket);
      await client.addIdentity(ed);
      await client.addIdentity(ec);
      await client.addIdentity(rsa, { comment: "renamed" });
      await client.addIdentity(new SSHKeyPair(ec, cert), { comment: "cert" });
      // ssh-add -l sees what we added, with our comments.
      const listed = await agent.sshAdd(["-l"]);
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(
        listed.stdout,
        new RegExp(`${ed.getFingerprint().replace(/[+/]/g, ".")} ours-ed25519`),
      );
      assert.match(listed.stdout, /renamed \(RSA\)/);
      assert.match(listed.stdout, /cert \(ECDSA-CERT\)/);
      const keys = await client.listIdentities();
      assert.deepEqual(keys.map((k) => k.keyType), [
        "ssh-ed25519",
        "ecdsa-sha2-nistp384",
        "ssh-rsa",
        "ecdsa-sha2-nistp384-cert-v01@openssh.com",
      ]);
      assert.ok(keys[3]!.certificate?.key.equals(ec));
      assert.ok(ed.verify(data, await client.sign(ed, data)));
      assert.ok(ec.verify(data, await client.sign(ec, data)));
      assert.ok(ec.verify(data, await client.sign(cert, data)));
      for (const algorithm of ["rsa-sha2-256", "rsa-sha2-512"]) {
        const sig = await client.sign(rsa, data, { algorithm });
        assert.equal(sigAlg(sig), algorithm);
        assert.ok(rsa.verify(data, sig, { allowedAlgorithms: [algorithm] }));
      }
      // 9.2 and 10.0 do not know "query" (OpenSSH added it in 10.3): a clean refusal.
      await assert.rejects(
        client.queryExtensions(),
        (e) => e instanceof AgentError && e.kind === "failure",
      );
      await client.removeIdentity(ec);
      await assert.rejects(client.removeIdentity(ec), (e) => (e as AgentError).kind === "failure");
      assert.equal((await client.listIdentities()).length, 3);
      await client.lock("sesame");
      assert.deepEqual(await client.listIdentities(), []);
      await assert.rejects(client.sign(ed, data), (e) => (e as AgentError).kind === "failure");
      await assert.rejects(client.unlock("wrong"), (e) => (e as AgentError).kind === "failure");
      await client.unlock("sesame");
      assert.equal((await client.listIdentities()).length, 3);
      await client.removeAllIdentities();
      assert.deepEqual(await client.listIdentities(), []);
      assert.match((await agent.sshAdd(["-l"])).stdout, /no identities/);
    },
  );

  conformanceTest(
    `keys ssh-add (${version}) loads, with lifetime and confirm, are used through AgentClient`,
    { peers: [version] },
    async () => {
      await using agent = await startOpenSSHAgent(version);
      const key = agent.dir.write("id_ed25519", ed.exportPrivateKey("openssh"));
      agent.dir.write("id_ecdsa", ec.exportPrivateKey("openssh"));
      agent.dir.write("id_ecdsa-cert.pub", cert.exportCertificate());
      await using client = await connectAgent(agent.hostSocket);
      // A lifetime of 2 s: usable at once, gone after.
      const addCert = await agent.sshAdd(["-t", "2", `${agent.dir.toolPath}/id_ecdsa`]);
      assert.equal(addCert.status, 0, addCert.stderr);
      assert.match(addCert.stderr, /Certificate added/);
      assert.ok(ec.verify(data, await client.sign(cert, data)));
      const add = await agent.sshAdd(["-c", key]);
      assert.equal(add.status, 0, add.stderr);
      const keys = await client.listIdentities();
      assert.ok(keys.some((k) => k.keyType === "ssh-ed25519"));
      // Confirm: the agent's askpass says yes, then no.
      assert.ok(ed.verify(data, await client.sign(ed, data)));
      agent.setConfirm(null);
      await assert.rejects(client.sign(ed, data), (e) => (e as AgentError).kind === "failure");
      // The ECDSA key and its certificate go away when their lifetime ends.
      const deadline = Date.now() + 8000;
      while ((await client.listIdentities()).length > 1 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual((await client.listIdentities()).map((k) => k.keyType), ["ssh-ed25519"]);
      await assert.rejects(client.sign(ec, data), AgentError);
    },
  );

  conformanceTest(
    `${version}'s ssh-agent honours our restrict-destination constraints and session binds`,
    { peers: [version] },
    async () => {
      await using agent = await startOpenSSHAgent(version);
      const hostA = generatePrivateKey("ed25519"), hostB = generatePrivateKey("ecdsa");
      await using setup = await connectAgent(agent.hostSocket);
      await setup.addIdentity(ed, {
        destinations: [{
          from: { username: "", hostname: "", hostKeys: [] },
          to: {
            username: "git",
            hostname: "a.example",
            hostKeys: [{ keyBlob: hostA.publicBlob, isCA: false }],
          },
        }],
      });
      await setup.addIdentity(rsa); // unconstrained
      // Unbound connection: the constrained key is listed but signs nothing.
      assert.equal((await setup.listIdentities()).length, 2);
      await assert.rejects(setup.sign(ed, data), (e) => (e as AgentError).kind === "failure");
      // A connection bound to host A signs a login there as "git", and nothing else.
      const sid = crypto.getRandomValues(new Uint8Array(32));
      await using a = await connectAgent(agent.hostSocket);
      await a.sessionBind({
        hostKeyBlob: hostA.publicBlob,
        sessionId: sid,
        signature: hostA.sign(sid),
        isForwarding: false,
      });
      const good = await a.sign(ed, userauth(sid, "git", ed, hostA.publicBlob));
      assert.ok(ed.verify(userauth(sid, "git", ed, hostA.publicBlob), good));
      await assert.rejects(a.sign(ed, userauth(sid, "root", ed)), AgentError);
      await assert.rejects(a.sign(ed, userauth(new Uint8Array(32), "git", ed)), AgentError);
      // A second authentication bind on the same connection is refused.
      await assert.rejects(
        a.sessionBind({
          hostKeyBlob: hostB.publicBlob,
          sessionId: sid.map((x) => x ^ 1),
          signature: hostB.sign(sid.map((x) => x ^ 1)),
          isForwarding: false,
        }),
        (e) => (e as AgentError).kind === "failure",
      );
      // Bound to host B: the constrained key is hidden, the other one still signs.
      await using b = await connectAgent(agent.hostSocket);
      await b.sessionBind({
        hostKeyBlob: hostB.publicBlob,
        sessionId: sid,
        signature: hostB.sign(sid),
        isForwarding: false,
      });
      assert.deepEqual((await b.listIdentities()).map((k) => k.keyType), ["ssh-rsa"]);
      // A forged bind fails.
      await using c = await connectAgent(agent.hostSocket);
      await assert.rejects(
        c.sessionBind({
          hostKeyBlob: hostA.publicBlob,
          sessionId: sid,
          signature: hostB.sign(sid),
          isForwarding: false,
        }),
        AgentError,
      );
    },
  );
}
