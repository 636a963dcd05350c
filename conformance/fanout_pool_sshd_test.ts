/**
 * SSHPool against real OpenSSH (9.2 and 10.x): `maxSessions` (10, sshd's MaxSessions
 * default) commands run at once on one connection and more wait their turn, although
 * sshd frees a closed session only after going round its loop (an open read with the
 * close is refused, "no more sessions"); with a MaxSessions below the pool's, every
 * command still runs.
 */
import assert from "node:assert/strict";
import { conformanceTest, type PeerFixture } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { OPENSSH_PEERS } from "./client_peer.ts";
import { connectMany } from "../io/fanout/pool.ts";

/** connectMany() options logging in to `f` as its test user. */
function poolOptions(f: PeerFixture) {
  return {
    username: f.user.name,
    clientKeys: [f.clientKeys[0]!.privateKeyText],
    knownHosts: f.knownHostsPath,
    kexAlgs: ["curve25519-sha256"],
    config: false,
  } as const;
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `SSHPool runs 40 commands at once on ${peer} (MaxSessions 10): all succeed`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      const host = { host: f.host, port: f.port };
      await using pool = await connectMany([host], poolOptions(f));
      for (let round = 0; round < 3; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 40 }, () => pool.run(host, "true")),
        );
        const failed = results.filter((r) => r.status === "rejected");
        assert.deepEqual(failed, [], `round ${round}: ${failed.length} of 40 failed`);
        for (const r of results) assert.equal(r.status === "fulfilled" && r.value.exitStatus, 0);
      }
    },
  );

  conformanceTest(
    `SSHPool on ${peer} with MaxSessions 2, below the pool's 10: every command runs`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, { sshdConfig: { MaxSessions: 2 } });
      const host = { host: f.host, port: f.port };
      await using pool = await connectMany([host], poolOptions(f));
      const runs = Array.from({ length: 20 }, (_, i) => pool.run(host, `echo ${i}`));
      const results = await Promise.all(runs);
      assert.deepEqual(results.map((r) => r.stdout), runs.map((_, i) => `${i}\n`));
    },
  );
}
