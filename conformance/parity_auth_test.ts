/**
 * #20's server authentication rows with OpenSSH's `ssh` (9.2 and 10.x)
 * against listen(): a banner chosen per user with sendAuthBanner() from
 * beginAuth reaches ssh (which prints banners on stderr). Host-based
 * authentication with `knownClientHosts` is tested with our client
 * (io/server/auth_parity_test.ts): OpenSSH's ssh signs through the setuid
 * ssh-keysign, which only the system-wide ssh_config can enable.
 */
import assert from "node:assert/strict";
import { conformanceTest, TEST_USER } from "./fixtures/mod.ts";
import { runSsh, SSH_CLIENTS, type SshClient, startServer } from "./server_fixture.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

for (const client of SSH_CLIENTS) {
  const v = VERSION[client];

  conformanceTest(
    `OpenSSH ${v} ssh shows the banner listen() sends from beginAuth with sendAuthBanner()`,
    { peers: [client] },
    async () => {
      await using server = await startServer({
        beginAuth: (user, conn) => {
          conn.sendAuthBanner(`Hello ${user}, this is a per-user banner\n`);
          return true;
        },
      });
      const r = await runSsh(client, server, { identity: "ed25519", command: "echo in" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "in\n");
      assert.match(r.stderr, new RegExp(`Hello ${TEST_USER}, this is a per-user banner`));
    },
  );
}
