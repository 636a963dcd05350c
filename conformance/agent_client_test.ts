// connect() with an agent against sshd (OpenSSH 9.2 and 10.x): logging in with no key files,
// only an agent (OpenSSH's ssh-agent with ssh-add'ed keys, destination-restricted to this server,
// and our SSHAgent), and agent forwarding: the remote ssh-add lists our keys, and a second hop
// from the server logs in with the forwarded agent, even with a key restricted to that path.

import assert from "node:assert/strict";
import { connect } from "../io/client/connect.ts";
import type { ConnectOptions } from "../io/client/options.ts";
import { SSHAgent } from "../io/agent/ssh_agent.ts";
import { connectAgent } from "../io/agent/client.ts";
import { importPrivateKey, importPublicKey } from "../keys/formats/import.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import type { DestinationConstraint } from "../agent/constraints.ts";
import { conformanceTest, type PeerFixture } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { type OpenSSHVersion, startOpenSSHAgent } from "./agent_fixture.ts";

const OPENSSH_PEERS: readonly OpenSSHVersion[] = ["openssh", "openssh-trixie"];

// DEBUG1 logs the authentication method, so the tests can see publickey-hostbound in use.
const OPTIONS = { logLevel: "DEBUG1" } as const;

function base(f: PeerFixture, options: ConnectOptions): ConnectOptions {
  return {
    port: f.port,
    username: f.user.name,
    knownHosts: f.knownHostsPath,
    kexAlgs: ["curve25519-sha256"],
    ...options,
  };
}

/** Only `fixture` may be logged in to, from here or (forwarded) from itself. */
function restrictedTo(f: PeerFixture): DestinationConstraint[] {
  const hostKeys = f.hostKeys.map((h) => ({
    keyBlob: importPublicKey(h.publicKeyLine).publicBlob,
    isCA: false,
  }));
  const to = { username: f.user.name, hostname: "fixture", hostKeys };
  return [
    { from: { username: "", hostname: "", hostKeys: [] }, to },
    { from: { username: "", hostname: "fixture", hostKeys }, to },
  ];
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `connect() logs in to ${peer} with only an agent: ssh-agent (destination-restricted) and SSHAgent`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, OPTIONS);
      const userKey = importPrivateKey(f.clientKeys[0]!.privateKeyText);
      // OpenSSH's own agent, holding the key only for this server: connect() must bind the session.
      await using agent = await startOpenSSHAgent(peer);
      await using setup = await connectAgent(agent.hostSocket);
      await setup.addIdentity(userKey, { destinations: restrictedTo(f) });
      const unrelated = generatePrivateKey("ed25519");
      await setup.addIdentity(unrelated); // tried after the named key, never accepted
      {
        await using conn = await connect(f.host, base(f, { agent: agent.hostSocket }));
        assert.equal((await conn.run("echo ok", { check: true })).stdout, "ok\n");
      }
      assert.match(await f.readLog(), /publickey-hostbound-v00@openssh\.com/);
      // identitiesOnly with a named key the agent does not hold: the agent's keys are not tried.
      await assert.rejects(
        connect(
          f.host,
          base(f, {
            agent: agent.hostSocket,
            identitiesOnly: true,
            clientKeys: [generatePrivateKey("ed25519")],
          }),
        ),
        (e) => (e as { code?: string }).code === "ERR_PERMISSION_DENIED",
      );
      // Our in-process agent, through SSH_AUTH_SOCK-style socket and in memory.
      const ours = new SSHAgent();
      ours.add(userKey);
      await using l = await ours.listen(`${agent.dir.hostPath}/ours.sock`);
      {
        await using conn = await connect(f.host, base(f, { agent: l.path }));
        assert.equal((await conn.run("echo ok", { check: true })).stdout, "ok\n");
      }
      {
        await using conn = await connect(f.host, base(f, { agent: ours }));
        assert.equal((await conn.run("echo ok", { check: true })).stdout, "ok\n");
      }
      // agent: false leaves nothing to log in with.
      await assert.rejects(connect(f.host, base(f, { agent: false, clientKeys: [] })));
    },
  );

  conformanceTest(
    `agentForwarding through ${peer}: remote ssh-add -l lists our keys, a second hop logs in with them`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, OPTIONS);
      const userKey = importPrivateKey(f.clientKeys[0]!.privateKeyText);
      await using agent = await startOpenSSHAgent(peer);
      await using setup = await connectAgent(agent.hostSocket);
      // Restricted to this server, and to hops from it to itself.
      await setup.addIdentity(userKey, { destinations: restrictedTo(f), comment: "fwd-key" });
      await using conn = await connect(
        f.host,
        base(f, { agent: agent.hostSocket, agentForwarding: true }),
      );
      const list = await conn.run("ssh-add -l", { check: true });
      assert.match(list.stdout, new RegExp(userKey.getFingerprint().replace(/[+/]/g, ".")));
      assert.match(list.stdout, /fwd-key/);
      // The second hop: ssh on the server back to the same server, with the forwarded agent.
      const hop = await conn.run(
        `ssh -F /dev/null -p ${f.port} -o BatchMode=yes -o StrictHostKeyChecking=no ` +
          `-o UserKnownHostsFile=/dev/null -o PreferredAuthentications=publickey ` +
          `${f.user.name}@127.0.0.1 echo second-hop`,
      );
      assert.equal(hop.exitStatus, 0, hop.stderr);
      assert.equal(hop.stdout, "second-hop\n");
      // Without forwarding (sshd keeps it for the whole connection once asked), no agent.
      await using plain = await connect(f.host, base(f, { agent: agent.hostSocket }));
      const none = await plain.run("ssh-add -l");
      assert.equal(none.exitStatus, 2, none.stdout + none.stderr); // "Could not open a connection"
    },
  );
}
