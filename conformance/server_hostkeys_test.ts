/**
 * Host key rotation with OpenSSH's `ssh` (9.2 and 10.x, `UpdateHostKeys=yes`): our server
 * announces every host key after login (hostkeys-00@openssh.com), ssh asks it to prove the
 * ones it did not know (hostkeys-prove-00@openssh.com), checks the signatures, and adds them
 * to known_hosts.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { conformanceTest } from "./fixtures/mod.ts";
import {
  hostPathOf,
  keys,
  spawnSsh,
  SSH_CLIENTS,
  type SshClient,
  startServer,
} from "./server_fixture.ts";

const VERSION: Record<SshClient, string> = { "openssh": "9.2", "openssh-trixie": "10.x" };

for (const client of SSH_CLIENTS) {
  for (const known of ["ed25519", "rsa-3072"] as const) {
    conformanceTest(
      `OpenSSH ${
        VERSION[client]
      } ssh learns the other host keys of listen() after verifying ${known}`,
      { peers: [client] },
      async () => {
        const m = await keys();
        await using server = await startServer();
        const knownKey = m.hostKeys.find((k) => k.name === known)!;
        const knownHosts = `[127.0.0.1]:${server.port} ${knownKey.publicKeyLine}\n`;
        const run = {
          identity: "ed25519" as const,
          knownHosts,
          options: [
            "UpdateHostKeys=yes",
            "LogLevel=VERBOSE",
            // Keys outside HostKeyAlgorithms are not learned: list all, the known one first.
            `HostKeyAlgorithms=${
              known === "rsa-3072" ? "rsa-sha2-256," : ""
            }ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512`,
          ],
          command: "wait",
        };
        await using ssh = await spawnSsh(client, server, run);
        const others = m.hostKeys.filter((k) => k !== knownKey);
        for (const k of others) {
          await ssh.waitFor(
            new RegExp(`Adding new key for .*: ${k.keyType} ${escape(k.fingerprint)}`),
            "stderr",
          );
        }
        ssh.end();
        assert.equal((await ssh.exited).status, 0, ssh.stderr);
        const learned = readFileSync(hostPathOf(client, learnedPath(ssh.stderr)), "utf8");
        for (const k of m.hostKeys) {
          assert.ok(
            learned.includes(k.publicKeyLine.split(" ")[1]!),
            `${k.name} missing:\n${learned}`,
          );
        }
      },
    );
  }
}

/** The known_hosts file ssh says it added keys to. */
function learnedPath(stderr: string): string {
  const m = /Adding new key for \S+ to (\S+):/.exec(stderr);
  assert.ok(m, stderr);
  return m[1]!;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}
