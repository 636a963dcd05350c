/**
 * One home directory for a connection: ssh_config's ~ (where ~/.ssh/config is found), the
 * default keys and the default known_hosts all come from $HOME where it is set (as Node's
 * os.homedir() and AsyncSSH read it). The config came from the account's home (getpwuid)
 * while the keys and known_hosts came from $HOME: two homes in one connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "../../keys/generate.ts";
import { formatKnownHostsLine } from "../../keys/trust/known_hosts.ts";
import { listen } from "../server/listen.ts";
import { runChildScript } from "./_child_test_util.ts";

const PROBE = fileURLToPath(new URL("./_home_probe_test_util.ts", import.meta.url));

test("connect() reads ~/.ssh/config, the default key and known_hosts from one home: $HOME", async () => {
  const home = await mkdtemp(join(tmpdir(), "sshts-home-"));
  const hostKey = generatePrivateKey("ed25519");
  const userKey = generatePrivateKey("ed25519");
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePublicKey: (user, k) =>
      user === "from-config" && (k.key?.equals(userKey.publicKey()) ?? false),
    processFactory: (p) => p.write(`${p.username}\n`),
  });
  try {
    const port = server.address.port;
    await mkdir(join(home, ".ssh"), { mode: 0o700 });
    await writeFile(
      join(home, ".ssh", "config"),
      `Host 127.0.0.1\n  Port ${port}\n  User from-config\n`,
    );
    await writeFile(join(home, ".ssh", "id_ed25519"), userKey.exportPrivateKey("openssh"), {
      mode: 0o600,
    });
    await writeFile(
      join(home, ".ssh", "known_hosts"),
      `${formatKnownHostsLine("127.0.0.1", port, hostKey.publicKey())}\n`,
    );
    // The server answering the child lives in this process.
    const out = await runChildScript(PROBE, { HOME: home, USER: "tester" });
    assert.deepEqual(out, { out: "from-config\n" });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});
