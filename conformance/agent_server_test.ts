// Agent forwarding into our server: OpenSSH's ssh -A (9.2 and 10.x) with keys in its own
// ssh-agent; our session lists and signs with the forwarded keys through process.agent, and a
// child process (OpenSSH's ssh-add) reaches them through SSH_AUTH_SOCK.

import assert from "node:assert/strict";
import process from "node:process";
import { generatePrivateKey } from "../keys/generate.ts";
import { conformanceTest, runCommand } from "./fixtures/mod.ts";
import {
  SSH_CLIENTS,
  sshArgv,
  type SshClient,
  startServer,
  type TestServer,
} from "./server_fixture.ts";
import { startOpenSSHAgent } from "./agent_fixture.ts";

const forwarded = generatePrivateKey("ecdsa", { comment: "forwarded-key" });
const data = new TextEncoder().encode("signed through the forwarded agent");

/**
 * Runs `ssh -A` with the agent at `socket` (as the client sees it). IdentityAgent names it as
 * well: ssh drops ForwardAgent when it has no agent of its own (check_agent_present), and the
 * fixture's IdentityAgent=none would unset SSH_AUTH_SOCK.
 */
async function sshA(client: SshClient, server: TestServer, socket: string, command: string) {
  const { argv, env } = await sshArgv(client, server, {
    identity: "ed25519",
    options: [`ForwardAgent=${socket}`, `IdentityAgent=${socket}`],
    command,
  });
  return await runCommand(argv, {
    env: { ...process.env as Record<string, string>, ...env },
    timeoutMs: 30_000,
  });
}

for (const client of SSH_CLIENTS) {
  conformanceTest(
    `ssh -A (${client}) into listen(): the session lists and signs with the forwarded keys`,
    { peers: [client] },
    async () => {
      await using agent = await startOpenSSHAgent(client);
      const keyPath = agent.dir.write("id_fwd", forwarded.exportPrivateKey("openssh"));
      assert.equal((await agent.sshAdd([keyPath])).status, 0);
      await using server = await startServer({
        agentForwardingRequested: () => true,
        processFactory: async (p) => {
          if (!p.agent || !p.agentSocketPath) return await p.write("no agent\n");
          const keys = await p.agent.listIdentities();
          const mine = keys.find((k) => k.key?.equals(forwarded));
          const sig = mine ? await p.agent.sign(mine, data) : new Uint8Array(0);
          // A child process finds the agent through SSH_AUTH_SOCK.
          const child = await runCommand(["ssh-add", "-l"], {
            env: { ...process.env as Record<string, string>, SSH_AUTH_SOCK: p.env.SSH_AUTH_SOCK! },
          });
          await p.write(
            `${keys.map((k) => k.comment).join(",")} ${forwarded.verify(data, sig)}\n` +
              child.stdout,
          );
        },
      });
      const r = await sshA(client, server, agent.toolSocket, "x");
      assert.equal(r.status, 0, r.stderr);
      const [first, second] = r.stdout.split("\n");
      assert.equal(first, "forwarded-key true"); // ssh-add sends the key file's comment
      assert.ok(second?.includes(forwarded.getFingerprint()), r.stdout);
      // Without the hook the server refuses: the session has no agent.
      await using plain = await startServer();
      const refused = await sshA(client, plain, agent.toolSocket, "env SSH_AUTH_SOCK");
      assert.equal(refused.status, 0, refused.stderr);
      assert.equal(refused.stdout, "\n");
    },
  );
}
