/**
 * connect() with an ssh_config file, against our own server in the same
 * process (fast, no external programs): the file picks the address, port,
 * user and environment; options given to connect() win; `config: false`
 * ignores it; unknown host keys follow StrictHostKeyChecking.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as net from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import process from "node:process";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { connect } from "./connect.ts";
import type { SSHClientConnection } from "./connection.ts";
import type { ConnectOptions } from "./options.ts";
import { connectWithConfig } from "./ssh_config.ts";

const hostKey = generatePrivateKey("ed25519");

async function withSetup(
  fn: (
    server: SSHServer,
    dir: string,
    seen: { users: string[]; env: Record<string, string>[] },
  ) => Promise<void>,
): Promise<void> {
  const seen = { users: [] as string[], env: [] as Record<string, string>[] };
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    // The variable SetEnv sends (listen() accepts none unless named, as sshd).
    acceptEnv: ["GREETING"],
    validatePassword: (user) => {
      seen.users.push(user);
      return true;
    },
    processFactory: async (p) => {
      seen.env.push({ ...p.env });
      await p.write("done\n");
    },
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-connect-config-"));
  try {
    await fn(server, dir, seen);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
}

test("connect() takes HostName, Port, User and SetEnv from a config file", async () => {
  await withSetup(async (server, dir, seen) => {
    const config = join(dir, "config");
    writeFileSync(
      config,
      `Host app\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  User cfguser\n  SetEnv GREETING=hello\n`,
    );
    {
      await using conn = await connect("app", { config, password: "pw", knownHosts: null });
      assert.equal(conn.getExtraInfo().host, "127.0.0.1");
      assert.equal(conn.getExtraInfo().port, server.address.port);
      assert.equal((await conn.run("x")).stdout, "done\n");
    }
    assert.deepEqual(seen.users, ["cfguser"]);
    assert.equal(seen.env[0]?.GREETING, "hello");
    // Options given to connect() win over the file.
    {
      await using conn = await connect("app", {
        config,
        password: "pw",
        knownHosts: null,
        username: "explicit",
      });
      assert.equal(conn.getExtraInfo().username, "explicit");
    }
    // config: false ignores the file: "app" is then not a resolvable host name.
    await assert.rejects(
      connect("app", { config: false, password: "pw", knownHosts: null, connectTimeout: 5000 }),
    );
  });
});

test("connect() follows StrictHostKeyChecking from the config file for unknown host keys", async () => {
  await withSetup(async (server, dir) => {
    const config = join(dir, "config");
    const known = join(dir, "known_hosts");
    const block = (alias: string, strict: string) =>
      `Host ${alias}\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  UserKnownHostsFile ${known}\n` +
      `  GlobalKnownHostsFile none\n  StrictHostKeyChecking ${strict}\n`;
    writeFileSync(
      config,
      block("strict", "yes") + block("ask", "ask") + block("new", "accept-new"),
    );
    writeFileSync(known, "");
    await assert.rejects(
      connect("strict", { config, password: "pw" }),
      /not known|verification failed/i,
    );
    await assert.rejects(
      connect("ask", { config, password: "pw" }),
      /not known|verification failed/i,
    );
    {
      await using conn = await connect("new", { config, password: "pw" });
      assert.equal((await conn.run("x")).stdout, "done\n");
    }
    assert.match(
      readFileSync(known, "utf8"),
      new RegExp(`^\\[127\\.0\\.0\\.1\\]:${server.address.port} ssh-ed25519 `),
    );
    // Now known: StrictHostKeyChecking yes accepts it.
    await using again = await connect("strict", { config, password: "pw" });
    assert.equal((await again.run("x")).stdout, "done\n");
  });
});

test("accept-new with a known_hosts that cannot be written connects and warns, as ssh", async () => {
  await withSetup(async (server, dir) => {
    const config = join(dir, "config");
    // The file's directory is a file: neither mkdir nor the append can succeed.
    writeFileSync(join(dir, "not-a-dir"), "");
    const known = join(dir, "not-a-dir", "known_hosts");
    writeFileSync(
      config,
      `Host new\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  UserKnownHostsFile ${known}\n` +
        "  GlobalKnownHostsFile none\n  StrictHostKeyChecking accept-new\n",
    );
    const warnings: string[] = [];
    await using conn = await connect("new", {
      config,
      password: "pw",
      logger: { warn: (m) => void warnings.push(m) },
    });
    assert.equal((await conn.run("x")).stdout, "done\n");
    assert.ok(warnings.some((w) => /Failed to add the host/.test(w)), warnings.join("\n"));
  });
});

test("StrictHostKeyChecking no lets a changed key through without password or forwarding; revoked keys never", async () => {
  await withSetup(async (server, dir, seen) => {
    const config = join(dir, "config");
    const known = join(dir, "known_hosts");
    const port = server.address.port;
    const block = (alias: string, strict: string) =>
      `Host ${alias}\n  HostName 127.0.0.1\n  Port ${port}\n  UserKnownHostsFile ${known}\n` +
      `  GlobalKnownHostsFile none\n  StrictHostKeyChecking ${strict}\n`;
    writeFileSync(config, block("no", "no") + block("new", "accept-new"));
    const other = generatePrivateKey("ed25519").publicKey().exportPublicKey("openssh");
    // A changed key: "no" connects (as ssh), but the impostor gets no password.
    writeFileSync(known, `[127.0.0.1]:${port} ${other}\n`);
    await assert.rejects(
      connect("no", { config, password: "s3cret", clientKeys: [], agent: false }),
      /authenticat|permission denied|keyboard-interactive/i,
    );
    assert.deepEqual(seen.users, [], "no password was tried");
    // Only another key is listed, as revoked: the host is new to accept-new (as ssh, whose
    // lookup skips @revoked lines when it tells a changed key from a new host), even with a
    // wildcard @revoked line, which must not block every new host.
    const mine = hostKey.publicKey().exportPublicKey("openssh");
    for (const pattern of [`[127.0.0.1]:${port}`, "*"]) {
      writeFileSync(known, `@revoked ${pattern} ${other}\n`);
      {
        await using conn = await connect("new", { config, password: "pw" });
        assert.equal((await conn.run("x")).stdout, "done\n");
      }
      assert.equal(readFileSync(known, "utf8").includes(mine), true, "learned");
    }
    // The presented key revoked under the bare name, the server on another port: the check
    // falls back to the bare name (as ssh), so the revocation holds there too, in every mode.
    for (const alias of ["new", "no"]) {
      writeFileSync(known, `@revoked 127.0.0.1 ${mine}\n`);
      await assert.rejects(connect(alias, { config, password: "pw" }), /revoked/);
      assert.equal(readFileSync(known, "utf8"), `@revoked 127.0.0.1 ${mine}\n`, "nothing learned");
    }
    // The presented key itself revoked under the address only (the name is "localhost"):
    // refused even with "no".
    writeFileSync(known, `@revoked [127.0.0.1]:${port} ${mine}\n`);
    writeFileSync(
      config,
      block("no", "no").replace("HostName 127.0.0.1", "HostName localhost") + "  CheckHostIP yes\n",
    );
    await assert.rejects(connect("no", { config, password: "pw" }), /revoked|host key|verif/i);
  });
});

test("connect() refuses a config file OpenSSH would refuse, naming the line", async () => {
  await withSetup(async (_server, dir) => {
    const config = join(dir, "config");
    writeFileSync(config, "Host x\n  Bogus yes\n");
    await assert.rejects(connect("x", { config }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ERR_CONFIG_SYNTAX");
      assert.match((e as Error).message, /line 2: Bad configuration option: bogus/);
      return true;
    });
  });
});

test("connect() refuses a ProxyJump loop, and a chain of more than 16 hops, before connecting", async () => {
  await withSetup(async (server, dir, seen) => {
    const config = join(dir, "config");
    const hosts = Array.from({ length: 18 }, (_, i) => `Host h${i}\n  ProxyJump h${i + 1}\n`);
    writeFileSync(
      config,
      "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\n" + hosts.join("") +
        `Host *\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  User me\n`,
    );
    await assert.rejects(connect("a", { config, password: "pw" }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ERR_CONFIG_INVALID");
      assert.match((e as Error).message, /ProxyJump loop: me@a:\d+ → me@b:\d+ → me@a:\d+$/);
      return true;
    });
    // The user in the host argument is the user, not part of the name (was "me@me@a").
    await assert.rejects(
      connect("me@a", { config, password: "pw" }),
      /ProxyJump loop: me@a:\d+ → me@b:\d+ → me@a:\d+$/,
    );
    await assert.rejects(connect("h0", { config, password: "pw" }), /longer than 16 hops/);
    assert.deepEqual(seen.users, [], "nothing logged in");
  });
});

test("connect() takes ForwardX11 + ForwardX11Trusted (every session asks for X11, a refusal is no failure) and KbdInteractiveDevices", async () => {
  const submethods: string[] = [];
  let x11Asked = 0;
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    getKbdintChallenge: (_user, sub) => (submethods.push(sub), true),
    // Refused: the session goes on without X11, as ssh's does.
    x11ForwardingRequested: () => (x11Asked++, false),
    processFactory: (p) => p.exit(0),
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-connect-config-"));
  const saved = process.env.DISPLAY;
  process.env.DISPLAY = ":97"; // a display is needed to ask; nothing connects to it here
  try {
    const config = join(dir, "config");
    writeFileSync(
      config,
      `Host app\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  ForwardX11 yes\n` +
        `  ForwardX11Trusted yes\n` +
        `  KbdInteractiveDevices pam,bsdauth\n  PreferredAuthentications keyboard-interactive\n`,
    );
    await using conn = await connect("app", {
      config,
      knownHosts: null,
      agent: false,
      kbdintResponses: () => [],
    });
    assert.deepEqual(submethods, ["pam,bsdauth"]);
    assert.equal((await conn.run("x")).exitStatus, 0);
    assert.equal(x11Asked, 1, "the session asked for X11");
    assert.equal((await conn.run("x", { x11Forwarding: false })).exitStatus, 0);
    assert.equal(x11Asked, 1);
    // Asked for by the call itself, a refusal fails it.
    await assert.rejects(conn.run("x", { x11Forwarding: true }), /refused X11 forwarding/);
  } finally {
    if (saved === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("connect() takes ForwardX11Trusted no: untrusted X11 from XAuthLocation's xauth, no fallback", async () => {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: (p) => p.exit(0),
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-connect-config-"));
  const saved = process.env.DISPLAY;
  process.env.DISPLAY = ":97"; // nothing listens there: only the set-up is looked at
  try {
    const config = join(dir, "config");
    const xauth = join(dir, "no-such-xauth");
    const warnings: string[] = [];
    writeFileSync(
      config,
      `Host app\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  ForwardX11 yes\n` +
        `  ForwardX11Trusted no\n  ForwardX11Timeout 5m\n  XAuthLocation ${xauth}\n`,
    );
    await using conn = await connect("app", {
      config,
      knownHosts: null,
      agent: false,
      password: "pw",
      logger: { warn: (m) => warnings.push(m) },
    });
    // The xauth named is asked for a restricted cookie; without one, no X11 forwarding at all
    // (never the display's own cookie): ForwardX11's sessions go on without it, warned.
    assert.equal((await conn.run("x")).exitStatus, 0);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      new RegExp(`X11 forwarding not set up: Untrusted X11 forwarding set-up failed: ${xauth}`),
    );
    await assert.rejects(
      conn.run("x", { x11Forwarding: true }),
      (e: unknown) => {
        assert.match(
          (e as Error).message,
          new RegExp(`^Untrusted X11 forwarding set-up failed: ${xauth} generated no cookie`),
        );
        return true;
      },
    );
    assert.equal((await conn.run("x", { x11Forwarding: false })).exitStatus, 0);
  } finally {
    if (saved === undefined) delete process.env.DISPLAY;
    else process.env.DISPLAY = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test("StrictHostKeyChecking no with a changed key: no staged password, no agent or X11 channel, no key proofs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-impostor-"));
  const passwords: string[] = [];
  let agentOpened: boolean | undefined;
  try {
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey, generatePrivateKey("ecdsa")],
      authFailureDelay: 0,
      validatePassword: (_u, pw) => (passwords.push(pw), true),
      validatePublicKey: () => true,
      // The impostor asks for the user's agent as soon as it let the client in.
      authCompleted: (conn) => {
        void conn.openChannel("auth-agent@openssh.com").then(
          (ch) => ((agentOpened = true), ch.close()),
          () => (agentOpened = false),
        );
      },
      processFactory: (p) => p.exit(0),
    });
    const known = join(dir, "known_hosts");
    const other = generatePrivateKey("ed25519").publicKey().exportPublicKey("openssh");
    writeFileSync(known, `[127.0.0.1]:${server.address.port} ${other}\n`);
    const config = join(dir, "config");
    writeFileSync(
      config,
      `Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile ${known}\n` +
        "  GlobalKnownHostsFile none\n  ForwardAgent yes\n",
    );
    const proved: unknown[] = [];
    await assert.rejects(connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      config,
      agent: false,
      clientKeys: [],
      authenticate: async (a) => void await a.password("hunter2"),
    }));
    assert.deepEqual(passwords, [], "the staged password was withheld");
    // With a key it logs in, but the server gets no agent and no proofs are reported.
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      config,
      agent: false,
      clientKeys: [generatePrivateKey("ed25519")],
      hostKeyRotation: true,
      onHostKeysProved: (e) => void proved.push(e),
    });
    assert.equal(conn.hostKeyUntrusted, true);
    await conn.run("true");
    for (let i = 0; i < 50 && agentOpened === undefined; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(agentOpened, false, "the agent channel was refused");
    assert.deepEqual(proved, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("accept-new never learns a name with pattern characters, and ends a file's last line first", async () => {
  await withSetup(async (server, dir) => {
    const known = join(dir, "known_hosts");
    // The last line has no newline: the new entry must not be joined to it.
    const other = generatePrivateKey("ed25519").publicKey().exportPublicKey("openssh");
    writeFileSync(known, `trusted.example ${other}`);
    const config = join(dir, "config");
    writeFileSync(
      config,
      `Host *\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  UserKnownHostsFile ${known}\n` +
        "  GlobalKnownHostsFile none\n  StrictHostKeyChecking accept-new\n",
    );
    await using _c = await connect("new.example", { config, password: "pw" });
    const lines = readFileSync(known, "utf8").trim().split("\n");
    assert.equal(lines.length, 2);
    assert.ok(lines[0]!.startsWith("trusted.example "));
    assert.ok(lines[1]!.includes(" ssh-ed25519 "));
    // A name of "*" would be written as a pattern trusting the key for every host.
    writeFileSync(
      config,
      `Host wild\n  HostKeyAlias *\n` + readFileSync(config, "utf8"),
    );
    await assert.rejects(connect("wild", { config, password: "pw" }));
    assert.ok(!readFileSync(known, "utf8").includes("*"));
  });
});

test("accept-new with CheckHostIP refuses a new name whose address lists another key", async () => {
  await withSetup(async (server, dir, seen) => {
    const known = join(dir, "known_hosts");
    const other = generatePrivateKey("ed25519").publicKey().exportPublicKey("openssh");
    writeFileSync(known, `[127.0.0.1]:${server.address.port} ${other}\n`);
    const config = join(dir, "config");
    writeFileSync(
      config,
      // The name is "localhost" (IPv4 only); known_hosts lists another key for its address.
      `Host server.example\n  HostName localhost\n  AddressFamily inet\n` +
        `  Port ${server.address.port}\n` +
        `  UserKnownHostsFile ${known}\n  GlobalKnownHostsFile none\n` +
        "  StrictHostKeyChecking accept-new\n  CheckHostIP yes\n",
    );
    await assert.rejects(connect("server.example", { config, password: "pw" }));
    assert.deepEqual(seen.users, [], "no password went out");
    assert.equal(
      readFileSync(known, "utf8").split("\n").filter(Boolean).length,
      1,
      "nothing learned",
    );
  });
});

test("PubkeyAcceptedAlgorithms limits what signs (agent keys, RSA's hash), not only key files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-pka-"));
  try {
    const seen: (readonly string[] | undefined)[] = [];
    const direct = (_host: string, o: ConnectOptions): Promise<SSHClientConnection> => {
      seen.push(o.clientSignatureAlgs);
      return Promise.reject(new Error("stop"));
    };
    for (
      const line of [
        "PubkeyAcceptedAlgorithms ssh-ed25519",
        "PubkeyAcceptedAlgorithms +ssh-rsa",
        "",
      ]
    ) {
      const file = join(dir, "config");
      writeFileSync(file, `Host *\n  ${line}\n`, { mode: 0o600 });
      await assert.rejects(
        connectWithConfig("example", { config: file, clientKeys: [], agent: false }, direct),
        /stop/,
      );
    }
    assert.deepEqual(seen[0], ["ssh-ed25519"]);
    assert.ok(seen[1]?.includes("ssh-rsa"), "+ssh-rsa allows SHA-1 RSA signatures");
    assert.ok(seen[1]?.includes("rsa-sha2-512"), "on top of the defaults");
    assert.equal(seen[2], undefined, "the default list leaves the client's own defaults");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("IdentityFile ~otheruser/… expands to that user's home (a missing file is skipped)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-tilde-"));
  try {
    const reached: unknown[] = [];
    const direct = (_host: string, o: ConnectOptions): Promise<SSHClientConnection> => {
      reached.push(o.clientKeys);
      return Promise.reject(new Error("stop"));
    };
    const file = join(dir, "config");
    // root's home exists wherever these tests run; the key file under it does not.
    writeFileSync(file, "Host *\n  IdentityFile ~root/.ssh/sshts-no-such-key\n", { mode: 0o600 });
    await assert.rejects(connectWithConfig("example", { config: file }, direct), /stop/);
    assert.equal(reached.length, 1, "no expansion error before connecting");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a config's ProxyCommand ends when connect() fails before the connection exists", {
  skip: process.platform === "win32" && "no sh",
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-proxy-leak-"));
  try {
    const pidFile = join(dir, "pid");
    const file = join(dir, "config");
    // The command writes its pid, then becomes `sleep` (same pid): it never connects.
    writeFileSync(
      file,
      `Host x\n  HostName 127.0.0.1\n  ProxyCommand sh -c 'echo $$ > ${pidFile}; exec sleep 30'\n`,
      { mode: 0o600 },
    );
    // As connect() with an aborted signal or a key file it cannot read: no connection yet
    // (here once the command has started and written its pid).
    let pid = 0;
    const direct = async (): Promise<SSHClientConnection> => {
      for (let i = 0; i < 100 && !(pid > 0); i++) {
        await new Promise((r) => setTimeout(r, 50));
        pid = Number(readFileSync(pidFile, { encoding: "utf8", flag: "a+" }).trim());
      }
      throw new Error("stop");
    };
    await assert.rejects(connectWithConfig("x", { config: file }, direct), /stop/);
    assert.ok(pid > 0, "the proxy command ran");
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    if (alive) process.kill(pid, "SIGKILL");
    assert.equal(alive, false, "the proxy command was left running");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("connectTimeout covers a ProxyJump chain: a silent jump host fails in time, named", async () => {
  // A jump host that accepts TCP and never says a word.
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const dir = mkdtempSync(join(tmpdir(), "sshts-jump-timeout-"));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const file = join(dir, "config");
    writeFileSync(
      file,
      `Host target\n  HostName 127.0.0.1\n  ProxyJump hole\n` +
        `Host hole\n  HostName 127.0.0.1\n  Port ${port}\n`,
      { mode: 0o600 },
    );
    const started = performance.now();
    await assert.rejects(
      connect("target", { config: file, connectTimeout: 500, password: "pw" }),
      (e: unknown) => {
        assert.equal((e as { code?: string }).code, "ERR_TIMEOUT");
        assert.match((e as Error).message, /^ProxyJump host hole: Connect to 127\.0\.0\.1:\d+ /);
        return true;
      },
    );
    assert.ok(performance.now() - started < 5_000, "the jump host got the whole 30 s default");
  } finally {
    rmSync(dir, { recursive: true, force: true });
    silent.close();
  }
});

test("ProxyJump errors name the jump host: its refused login, its refused forward", async () => {
  const hopKey = generatePrivateKey("ed25519");
  let forward = false;
  const jump = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePublicKey: (user, k) =>
      user === "hopper" && (k.key?.equals(hopKey.publicKey()) ?? false),
    connectionRequested: () => forward,
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-jump-errors-"));
  try {
    writeFileSync(join(dir, "key"), hopKey.exportPrivateKey("openssh"), { mode: 0o600 });
    const file = join(dir, "config");
    writeFileSync(
      file,
      `Host target\n  HostName 127.0.0.1\n  Port 1\n  ProxyJump jumpbox,stranger@jumpbox\n` +
        `Host jumpbox\n  HostName 127.0.0.1\n  Port ${jump.address.port}\n  User hopper\n` +
        `  IdentityFile ${join(dir, "key")}\n  IdentitiesOnly yes\n  IdentityAgent none\n` +
        "Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n",
      { mode: 0o600 },
    );
    // The second hop: jumpbox forwards nothing, so it cannot even reach itself.
    await assert.rejects(connect("target", { config: file, password: "pw" }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ERR_CHANNEL_OPEN");
      assert.match(
        (e as Error).message,
        /^ProxyJump host jumpbox cannot reach stranger@jumpbox: Channel open refused/,
      );
      return true;
    });
    forward = true;
    // Through the first hop, the second refuses "stranger".
    await assert.rejects(connect("target", { config: file, password: "pw" }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ERR_PERMISSION_DENIED");
      assert.match((e as Error).message, /^ProxyJump host stranger@jumpbox: Permission denied/);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await jump.close();
  }
});

test("connect({ configOptions }) applies them as ssh -o does: to the destination, not to its jump hosts", async () => {
  const forwards: string[] = [];
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePublicKey: () => true,
    connectionRequested: (host, port) => {
      forwards.push(`${host}:${port}`);
      return true;
    },
    processFactory: (p) => p.exit(0),
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-config-options-"));
  try {
    const config = join(dir, "config");
    writeFileSync(join(dir, "key"), generatePrivateKey("ed25519").exportPrivateKey("openssh"), {
      mode: 0o600,
    });
    writeFileSync(
      config,
      `Host *\n  HostName 127.0.0.1\n  Port ${server.address.port}\n  User me\n` +
        "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n" +
        `  IdentityFile ${join(dir, "key")}\n  IdentitiesOnly yes\n  IdentityAgent none\n`,
    );
    // `ssh -J jumpbox target`: the jump host does not jump through itself.
    const options = ["ProxyJump jumpbox", "SetEnv A=1"];
    await using conn = await connect("target", { config, configOptions: options });
    assert.equal((await conn.run("x")).exitStatus, 0);
    assert.deepEqual(forwards, [`127.0.0.1:${server.address.port}`]);
    // The first value wins, as with -o: an option beats the file's line.
    await using direct = await connect("target", {
      config,
      configOptions: ["Port 1", "ProxyJump none"],
      port: server.address.port, // and connect()'s own port beats both
    });
    assert.equal((await direct.run("x")).exitStatus, 0);
    assert.equal(forwards.length, 1, "no jump");
    await assert.rejects(
      connect("target", { config: false, configOptions: ["Port 1"] }),
      /configOptions are ssh_config settings: not with config: false/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
});

test("AddressFamily's TCP connect fails as connect()'s own: a refused port is ERR_CONNECTION_REFUSED", async () => {
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const dir = mkdtempSync(join(tmpdir(), "sshts-family-"));
  try {
    const file = join(dir, "config");
    writeFileSync(file, `Host x\n  HostName 127.0.0.1\n  Port ${port}\n  AddressFamily inet\n`, {
      mode: 0o600,
    });
    await assert.rejects(connect("x", { config: file, password: "pw" }), (e: unknown) => {
      assert.equal((e as { code?: string }).code, "ERR_CONNECTION_REFUSED");
      assert.match((e as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
