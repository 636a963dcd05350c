/**
 * Identity files whose private key cannot be loaded name agent keys, against OpenSSH 9.2's
 * sshd and ssh-agent, side by side with OpenSSH's own ssh: a passphrase-protected
 * IdentityFile or one naming only a `.pub` (1Password, Secretive, gpg-agent) logs in with
 * `IdentitiesOnly yes` through the agent holding its key; without IdentitiesOnly that key goes
 * before the agent's six other keys (sshd's MaxAuthTries is 6); and connect() offers keys in
 * the order ssh does (sshconnect2.c's pubkey_prepare: agent keys matching identity files, in
 * the agent's order, then the agent's others), as sshd's log shows.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { connect } from "../io/client/connect.ts";
import { connectAgent } from "../io/agent/client.ts";
import { importPrivateKey } from "../keys/formats/import.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import type { SSHKey } from "../keys/ssh_key.ts";
import { conformanceTest, runCommand } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { startOpenSSHAgent } from "./agent_fixture.ts";

/** The keys sshd's log says were offered (failed or accepted), by name, from `log`. */
function offered(log: string, names: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const m of log.matchAll(/(Failed|Accepted) publickey for \S+ from .* ssh2: \S+ (\S+)/g)) {
    out.push(`${names.get(m[2]!) ?? m[2]} ${m[1]!.toLowerCase()}`);
  }
  return out;
}

conformanceTest(
  "IdentityFile naming an encrypted key or a .pub the agent holds: ssh and connect() log in alike",
  { peers: ["openssh"] },
  async () => {
    const f = await sharedPeer("openssh");
    const userKey = importPrivateKey(
      f.clientKeys.find((k) => k.name === "ed25519")!.privateKeyText,
    );
    const others = Array.from({ length: 6 }, () => generatePrivateKey("ed25519"));
    const names = new Map<string, string>([[userKey.getFingerprint(), "user"]]);
    others.forEach((k, i) => names.set(k.getFingerprint(), `other${i}`));
    await using agent = await startOpenSSHAgent("openssh");
    {
      await using setup = await connectAgent(agent.hostSocket);
      for (const k of others) await setup.addIdentity(k);
      await setup.addIdentity(userKey);
    }
    const dir = mkdtempSync(join(tmpdir(), "sshts-idonly-agent-"));
    try {
      const file = (name: string, text: string) => {
        writeFileSync(join(dir, name), text, { mode: 0o600 });
        return join(dir, name);
      };
      const enc = file(
        "id_enc",
        userKey.exportPrivateKey("openssh", { passphrase: "secret", rounds: 4 }),
      );
      const pub = (k: SSHKey, name: string) => file(`${name}.pub`, k.exportPublicKey());
      const host = (alias: string, lines: readonly string[]) =>
        [
          `Host ${alias}`,
          `  HostName ${f.host}`,
          `  Port ${f.port}`,
          `  User ${f.user.name}`,
          `  IdentityAgent ${agent.hostSocket}`,
          `  UserKnownHostsFile ${f.knownHostsPath}`,
          "  GlobalKnownHostsFile none",
          "  StrictHostKeyChecking yes",
          "  BatchMode yes",
          "  PreferredAuthentications publickey",
          ...lines.map((l) => `  ${l}`),
          "",
        ].join("\n");
      const config = file(
        "config",
        [
          host("enc-only", [`IdentityFile ${enc}`, "IdentitiesOnly yes"]),
          host("pub-only", [`IdentityFile ${pub(userKey, "user")}`, "IdentitiesOnly yes"]),
          host("enc-noonly", [`IdentityFile ${enc}`]),
          // Files in another order than the agent's: ssh offers the agent's order.
          host("order", [
            `IdentityFile ${enc}`,
            `IdentityFile ${pub(others[4]!, "other4")}`,
            `IdentityFile ${pub(others[1]!, "other1")}`,
            "IdentitiesOnly yes",
          ]),
        ].join("\n"),
      );
      const expected: Record<string, string[]> = {
        "enc-only": ["user accepted"],
        "pub-only": ["user accepted"],
        "enc-noonly": ["user accepted"],
        "order": ["other1 failed", "other4 failed", "user accepted"],
      };
      for (const [alias, want] of Object.entries(expected)) {
        let before = (await f.readLog()).length;
        const ssh = await runCommand(["ssh", "-F", config, alias, "echo ok"], {
          env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
        });
        assert.equal(ssh.status, 0, `ssh ${alias}: ${ssh.stderr}`);
        const bySsh = offered((await f.readLog()).slice(before), names);
        assert.deepEqual(bySsh, want, `ssh ${alias}`);
        before = (await f.readLog()).length;
        {
          await using conn = await connect(alias, { config });
          assert.equal((await conn.run("echo ok", { check: true })).stdout, "ok\n");
        }
        assert.deepEqual(offered((await f.readLog()).slice(before), names), bySsh, alias);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
