// Self-test of the real-peer fixtures: each peer starts, OpenSSH's own client logs in to it, and
// stopping it leaves nothing behind. If these fail, every other conformance test would too.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import process from "node:process";
import {
  conformanceTest,
  ensureTrixieTree,
  findExecutable,
  type KeyInfo,
  opensshClientArgs,
  PEER_NAMES,
  type PeerFixture,
  type PeerName,
  renderSshdConfig,
  runCommand,
  runTrixieCommand,
  startPeer,
  trixieTempDir,
  unavailableMessage,
  withPeer,
} from "./fixtures/mod.ts";
import { descendantsOf, isProcessAlive } from "./fixtures/command.ts";

const EXPECTED_VERSION: Record<PeerName, RegExp> = {
  "openssh": /^OpenSSH_9\./,
  "openssh-trixie": /^OpenSSH_10\./,
  "dropbear": /^dropbear_20\d\d\./,
};

/** Runs `echo ok` with OpenSSH's client, offering `key` and insisting on `hostKeyAlgorithm`. */
async function sshEchoOk(fixture: PeerFixture, key: KeyInfo, hostKeyAlgorithm: string) {
  return await runCommand([
    "ssh",
    ...opensshClientArgs(fixture, {
      identity: key,
      options: [`HostKeyAlgorithms=${hostKeyAlgorithm}`, "PreferredAuthentications=publickey"],
    }),
    "echo ok",
  ], { timeoutMs: 30_000 });
}

/** Logs in with the account's password through sshpass, by `password` or `keyboard-interactive`. */
async function sshPasswordEchoOk(fixture: PeerFixture, method: string) {
  return await runCommand([
    "sshpass",
    "-e",
    "ssh",
    ...opensshClientArgs(fixture, {
      batchMode: false,
      options: [`PreferredAuthentications=${method}`, "NumberOfPasswordPrompts=1"],
    }),
    "echo ok",
  ], { env: { ...process.env, SSHPASS: fixture.user.password }, timeoutMs: 30_000 });
}

test("renderSshdConfig() lets typed options and raw directives replace the defaults", () => {
  const { text, files } = renderSshdConfig(
    {
      kexAlgorithms: ["curve25519-sha256", "mlkem768x25519-sha256"],
      passwordAuthentication: false,
      sftp: "internal-sftp",
      trustedUserCAKeys: ["ssh-ed25519 AAAA ca"],
      acceptEnv: ["LANG", "LC_*"],
      sshdConfig: { logLevel: "DEBUG3", MaxSessions: 3, UseDNS: null, HostKey: ["{dir}/k"] },
      sshdConfigTail: "Match User nobody\n  ForceCommand {dir}/x",
    },
    {
      host: "127.0.0.1",
      port: 2222,
      dir: "/run/x",
      hostKeyPaths: ["/run/x/a", "/run/x/b"],
      sftpServerPath: "/usr/lib/openssh/sftp-server",
      hasPerSourcePenalties: true,
    },
  );
  const lines = text.trim().split("\n");
  assert.ok(lines.includes("ListenAddress 127.0.0.1:2222"));
  assert.ok(lines.includes("KexAlgorithms curve25519-sha256,mlkem768x25519-sha256"));
  assert.ok(lines.includes("PasswordAuthentication no"));
  assert.ok(lines.includes("Subsystem sftp internal-sftp"));
  assert.ok(lines.includes("TrustedUserCAKeys /run/x/trusted_user_ca_keys"));
  assert.ok(lines.includes("AcceptEnv LANG LC_*"));
  assert.ok(lines.includes("LogLevel DEBUG3"));
  assert.ok(!lines.includes("LogLevel VERBOSE"));
  assert.ok(lines.includes("MaxSessions 3"));
  assert.ok(lines.includes("PerSourcePenalties no"));
  assert.ok(!lines.some((line) => line.startsWith("UseDNS")));
  assert.deepEqual(lines.filter((line) => line.startsWith("HostKey ")), ["HostKey /run/x/k"]);
  assert.deepEqual(lines.slice(-2), ["Match User nobody", "  ForceCommand /run/x/x"]);
  assert.equal(files["trusted_user_ca_keys"], "ssh-ed25519 AAAA ca\n");
});

test("unavailableMessage() is one line that says how to enable the peer", () => {
  const line = unavailableMessage("dropbear", {
    available: false,
    reason: "dropbear not found",
    hint: "install dropbear-bin or run `bash .ci/run`",
  });
  assert.ok(!line.includes("\n"));
  assert.match(
    line,
    /^conformance: (skipped|required but unavailable) — dropbear not found; install dropbear-bin/,
  );
  assert.match(line, /SSH_CONFORMANCE/);
  const other = unavailableMessage("openssh-trixie", {
    available: false,
    reason: "chroot not found",
    hint: "install coreutils",
  });
  assert.match(other, / — openssh-trixie: chroot not found; install coreutils /);
});

for (const peer of PEER_NAMES) {
  conformanceTest(`${peer} fixture accepts OpenSSH ssh with every client key and host key`, {
    peers: [peer],
  }, async () => {
    await withPeer(peer, {}, async (fixture) => {
      assert.match(fixture.version, EXPECTED_VERSION[peer]);
      assert.equal(fixture.host, "127.0.0.1");
      assert.equal(fixture.hostKeys.length, 3);
      assert.equal(fixture.knownHostsLines.length, 3);
      for (const [i, key] of fixture.clientKeys.entries()) {
        const hostKey = fixture.hostKeys[i]!;
        const result = await sshEchoOk(fixture, key, hostKey.algorithms[0]!);
        assert.equal(
          result.stdout,
          "ok\n",
          `ssh -i ${key.name}, host key ${hostKey.algorithms[0]}: ${result.stderr}`,
        );
        assert.equal(result.status, 0);
      }
    });
  });
}

for (const peer of PEER_NAMES) {
  conformanceTest(`${peer} fixture accepts the account's password`, {
    peers: [peer],
  }, async () => {
    assert.ok(findExecutable("sshpass"), "sshpass is needed; apt-get install sshpass");
    await withPeer(peer, {}, async (fixture) => {
      const methods = fixture.kind === "openssh"
        ? ["password", "keyboard-interactive"]
        : ["password"];
      for (const method of methods) {
        const result = await sshPasswordEchoOk(fixture, method);
        assert.equal(result.stdout, "ok\n", `${method}: ${result.stderr}`);
      }
    });
  });
}

conformanceTest("openssh fixture refuses a password when PasswordAuthentication is off", {
  peers: ["openssh"],
}, async () => {
  await withPeer("openssh", {
    passwordAuthentication: false,
    kbdInteractiveAuthentication: false,
  }, async (fixture) => {
    const result = await sshPasswordEchoOk(fixture, "password");
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /Permission denied/);
  });
});

conformanceTest("the trixie tree's ssh -Q kex lists mlkem768x25519-sha256", {
  peers: ["openssh-trixie"],
}, async () => {
  await ensureTrixieTree(); // builds the tree if it is missing
  const result = await runTrixieCommand(["ssh", "-Q", "kex"], { check: true });
  assert.ok(result.stdout.split("\n").includes("mlkem768x25519-sha256"), result.stdout);
});

conformanceTest("the trixie tree's ssh logs in to the system sshd", {
  peers: ["openssh", "openssh-trixie"],
}, async () => {
  await ensureTrixieTree();
  await withPeer("openssh", {}, async (fixture) => {
    await using scratch = trixieTempDir();
    const key = fixture.clientKeys[0]!;
    const result = await runTrixieCommand([
      "ssh",
      ...opensshClientArgs(fixture, {
        identity: key,
        identityPath: scratch.write("id", key.privateKeyText),
        knownHostsPath: scratch.write("known_hosts", fixture.knownHostsLines.join("\n") + "\n"),
      }),
      "echo ok",
    ], { timeoutMs: 30_000 });
    assert.equal(result.stdout, "ok\n", result.stderr);
  });
});

for (const peer of PEER_NAMES) {
  conformanceTest(`${peer} fixture stop() leaves no process or directory behind`, {
    peers: [peer],
  }, async () => {
    const fixture = await startPeer(peer);
    // Hold a session open so there is a per-connection server process to clean up too.
    const session = runCommand([
      "ssh",
      ...opensshClientArgs(fixture, { identity: fixture.clientKeys[0] }),
      "sleep 30",
    ], { timeoutMs: 60_000 });
    let children: number[] = [];
    for (let i = 0; i < 200 && children.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      children = descendantsOf(fixture.pid);
    }
    assert.ok(children.length > 0, "the session never started");
    await fixture.stop();
    await fixture.stop(); // idempotent
    await session;
    assert.equal(isProcessAlive(fixture.pid), false);
    for (const pid of children) assert.equal(isProcessAlive(pid), false, `pid ${pid} survived`);
    assert.equal(existsSync(fixture.dir), false);
  });
}

conformanceTest("dropbear fixture refuses options it cannot honour", {
  peers: ["dropbear"],
}, async () => {
  await assert.rejects(
    startPeer("dropbear", { ciphers: ["aes128-ctr"] }),
    /Cannot start dropbear with option ciphers/,
  );
});
