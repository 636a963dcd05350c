/**
 * OpenSSH 9.2's `ssh` logs in to our listen() by host-based authentication
 * checked against `knownClientHosts` (AsyncSSH's `known_client_hosts`), with
 * and without `trustClientHost`.
 *
 * `ssh` signs with the setuid helper `/usr/lib/openssh/ssh-keysign`, which
 * uses this machine's host keys (/etc/ssh/ssh_host_*_key; the test reads only
 * their .pub halves) and refuses to run unless the system-wide
 * /etc/ssh/ssh_config says `EnableSSHKeysign yes`. So that the machine's file
 * is never edited, each `ssh` runs in its own mount namespace
 * (`unshare --mount`) with a two-line ssh_config bind-mounted over that path.
 * The OpenSSH 10.x client would need the same inside the trixie tree (its own
 * ssh-keysign and host keys); only the system client is run here.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after } from "node:test";
import { conformanceTest, runCommand } from "./fixtures/mod.ts";
import { keys } from "./server_fixture.ts";
import { listen, type SSHServer } from "../io/server/listen.ts";
import type { ListenOptions } from "../io/server/options.ts";

const KEYSIGN = "/usr/lib/openssh/ssh-keysign";
const HOST_KEY_PUBS = ["ed25519", "ecdsa", "rsa"]
  .map((t) => `/etc/ssh/ssh_host_${t}_key.pub`)
  .filter((p) => existsSync(p));

const dir = mkdtempSync(join(tmpdir(), "sshts-hostbased-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const keysignConfig = join(dir, "ssh_config");
writeFileSync(keysignConfig, "Host *\n  EnableSSHKeysign yes\n");

/** The machine's host public keys as known_hosts lines for `name`. */
function knownHostsFor(name: string): string {
  return HOST_KEY_PUBS.map((p) => {
    const [type, b64] = readFileSync(p, "utf8").trim().split(/\s+/);
    return `${name} ${type} ${b64}\n`;
  }).join("");
}

interface Seen {
  hostname: string;
  username: string;
  algorithm: string;
}

async function server(extra: Partial<ListenOptions>, seen: Seen[]): Promise<SSHServer> {
  const m = await keys();
  return await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: m.hostKeys.map((k) => k.privateKeyPath),
    authFailureDelay: 0,
    validateHostBasedUser: (user, client) => {
      seen.push({
        hostname: client.hostname,
        username: client.username,
        algorithm: client.algorithm,
      });
      return user === "hbuser" && client.username === "root";
    },
    processFactory: async (p) => {
      await p.write(`${p.connection?.username} ${p.connection?.authMethod}\n`);
      p.exit(0);
    },
    ...extra,
  });
}

/** Runs `ssh` as root with host-based authentication only, in its own mount namespace. */
function sshHostBased(port: number, user = "hbuser") {
  const ssh = [
    "ssh",
    "-F",
    "/dev/null",
    "-p",
    String(port),
    "-o",
    "HostbasedAuthentication=yes",
    "-o",
    "EnableSSHKeysign=yes",
    "-o",
    "PreferredAuthentications=hostbased",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    `${user}@127.0.0.1`,
    "whoami",
  ];
  const script = `mount --bind "$1" /etc/ssh/ssh_config && shift && exec "$@"`;
  return runCommand(
    [
      "unshare",
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      script,
      "sh",
      keysignConfig,
      ...ssh,
    ],
    { timeoutMs: 30_000 },
  );
}

function keysignUsable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (mount namespace, setuid ssh-keysign)";
  if (!existsSync(KEYSIGN) || (statSync(KEYSIGN).mode & 0o4000) === 0) {
    return `${KEYSIGN} is missing or not setuid`;
  }
  if (HOST_KEY_PUBS.length === 0) return "no /etc/ssh/ssh_host_*_key.pub";
  return undefined;
}

conformanceTest(
  "OpenSSH 9.2 ssh (ssh-keysign) logs in to listen() by hostbased checked against knownClientHosts",
  { peers: ["openssh"] },
  async () => {
    const why = keysignUsable();
    if (why) throw new Error(`Cannot run ssh-keysign here: ${why}`);
    const seen: Seen[] = [];
    {
      await using s = await server(
        { knownClientHosts: { text: knownHostsFor("127.0.0.1") } },
        seen,
      );
      const r = await sshHostBased(s.address.port);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "hbuser hostbased\n");
      // The hook decides the user: root may not log in as someone else.
      const other = await sshHostBased(s.address.port, "nobody");
      assert.notEqual(other.status, 0);
      assert.match(other.stderr, /Permission denied/);
    }
    assert.ok(seen.length >= 1);
    assert.equal(seen[0]!.username, "root");
    assert.match(seen[0]!.hostname, /\.$/, "OpenSSH sends the host name with a trailing dot");
    const claimed = seen[0]!.hostname.slice(0, -1);

    // A key known for another address only: refused before the hook is asked.
    seen.length = 0;
    {
      await using s = await server(
        { knownClientHosts: { text: knownHostsFor("192.0.2.1") } },
        seen,
      );
      const r = await sshHostBased(s.address.port);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /Permission denied/);
      assert.equal(seen.length, 0);
    }

    // trustClientHost: the line names the host as ssh announced it, not its address.
    {
      const text = knownHostsFor(claimed);
      await using byAddress = await server({ knownClientHosts: { text } }, seen);
      assert.notEqual((await sshHostBased(byAddress.address.port)).status, 0);
      await using byName = await server(
        { knownClientHosts: { text }, trustClientHost: true },
        seen,
      );
      const r = await sshHostBased(byName.address.port);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "hbuser hostbased\n");
    }
  },
);
