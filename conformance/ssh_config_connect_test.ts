/**
 * `connect("alias")` with everything defined in an ssh_config file, against
 * real sshd fixtures: ProxyCommand (`ssh -W %h:%p` and `nc %h %p`), a two-hop
 * ProxyJump chain, LocalForward/SetEnv/User/IdentityFile/UserKnownHostsFile
 * from the file, StrictHostKeyChecking, and reuse of a running OpenSSH
 * ControlMaster (`ssh -M -S sock -fN`) in proxy mode: one TCP connection and
 * one authentication in sshd's log for both clients.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "../mod.ts";
import { conformanceTest, freePort, type PeerFixture, startPeer } from "./fixtures/mod.ts";

/** A Host block that logs `alias` in to `f` with its ed25519 client key and known_hosts. */
function hostBlock(alias: string, f: PeerFixture, extra = ""): string {
  const key = f.clientKeys.find((k) => k.name === "ed25519")!;
  return [
    `Host ${alias}`,
    `  HostName ${f.host}`,
    `  Port ${f.port}`,
    `  User ${f.user.name}`,
    `  IdentityFile ${key.privateKeyPath}`,
    `  IdentitiesOnly yes`,
    `  UserKnownHostsFile ${f.knownHostsPath}`,
    `  GlobalKnownHostsFile none`,
    `  StrictHostKeyChecking yes`,
    `  BatchMode yes`,
    extra,
    "",
  ].join("\n");
}

function count(log: string, re: RegExp): number {
  return log.split("\n").filter((l) => re.test(l)).length;
}

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "sshts-config-"));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

conformanceTest(
  "connect({ proxyCommand }) reaches sshd through nc, and wins over the config file's ProxyCommand",
  { peers: ["openssh"] },
  async () => {
    await using f = await startPeer("openssh");
    await withDir(async (dir) => {
      const config = join(dir, "config");
      // The file's ProxyCommand cannot work: the explicit option must be the one used.
      writeFileSync(config, hostBlock("target", f, "  ProxyCommand /bin/false"));
      const key = f.clientKeys.find((k) => k.name === "ed25519")!;
      for (const proxyCommand of ["nc %h %p", ["nc", f.host, String(f.port)]]) {
        await using conn = await connect("target", { config, proxyCommand });
        const r = await conn.run("echo $USER", { check: true });
        assert.equal(r.stdout.trim(), f.user.name);
      }
      await using direct = await connect(f.host, {
        port: f.port,
        username: f.user.name,
        clientKeys: [key.privateKeyPath],
        knownHosts: f.knownHostsPath,
        agent: false,
        config: false,
        proxyCommand: "nc %h %p",
      });
      assert.equal((await direct.run("echo ok", { check: true })).stdout, "ok\n");
      assert.equal(count(await f.readLog(), /Accepted publickey for /), 3);
    });
  },
);

conformanceTest(
  "connect(alias) reaches sshd through ProxyCommand ssh -W %h:%p and nc %h %p from a config file",
  { peers: ["openssh"] },
  async () => {
    await using f = await startPeer("openssh", { allowTcpForwarding: true });
    await withDir(async (dir) => {
      const config = join(dir, "config");
      writeFileSync(
        config,
        hostBlock("bastion", f) +
          hostBlock("via-ssh", f, `  ProxyCommand ssh -F ${config} -W %h:%p bastion`) +
          hostBlock("via-nc", f, "  ProxyCommand nc %h %p"),
      );
      for (const alias of ["via-ssh", "via-nc"]) {
        await using conn = await connect(alias, { config });
        const r = await conn.run("echo $USER; echo $SSH_CONNECTION", { check: true });
        const [user, sshConnection] = r.stdout.trim().split("\n");
        assert.equal(user, f.user.name);
        // The session's TCP connection came from the proxy, on loopback.
        assert.match(sshConnection!, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+$/);
      }
      const log = await f.readLog();
      // via-ssh: ssh's own login to bastion, then ours through it; via-nc: ours.
      assert.equal(count(log, /Accepted publickey for /), 3, log);
    });
  },
);

conformanceTest(
  "connect(alias) follows a two-hop ProxyJump chain defined in a config file",
  { peers: ["openssh", "openssh-trixie"] },
  async () => {
    await using a = await startPeer("openssh", { allowTcpForwarding: true });
    await using b = await startPeer("openssh-trixie", { allowTcpForwarding: true });
    await withDir(async (dir) => {
      const config = join(dir, "config");
      writeFileSync(
        config,
        hostBlock("hop1", a) + hostBlock("hop2", b) +
          hostBlock("target", a, "  ProxyJump hop1,hop2\n  SetEnv SSHTS_CONFIG_TEST=via-config"),
      );
      await using conn = await connect("target", { config });
      const r = await conn.run("echo $SSH_CONNECTION", { check: true });
      assert.match(r.stdout, /^127\.0\.0\.1 /);
      const [logA, logB] = [await a.readLog(), await b.readLog()];
      // a: hop1's login and the target's login (through hop2); b: hop2's login (through hop1).
      assert.equal(count(logA, /Accepted publickey for /), 2, logA);
      assert.equal(count(logB, /Accepted publickey for /), 1, logB);
      assert.equal(conn.getExtraInfo().host, a.host);
    });
  },
);

conformanceTest(
  "connect(alias) applies User, Port, LocalForward and refuses unknown host keys per StrictHostKeyChecking",
  { peers: ["openssh"] },
  async () => {
    await using f = await startPeer("openssh", { allowTcpForwarding: true });
    await withDir(async (dir) => {
      const config = join(dir, "config");
      const fwdPort = await freePort();
      const emptyKnownHosts = join(dir, "empty_known_hosts");
      writeFileSync(emptyKnownHosts, "");
      const newKnownHosts = join(dir, "new_known_hosts");
      writeFileSync(
        config,
        hostBlock("fwd", f, `  LocalForward 127.0.0.1:${fwdPort} 127.0.0.1:${f.port}`) +
          hostBlock("strict", f).replace(f.knownHostsPath, emptyKnownHosts) +
          hostBlock("acceptnew", f).replace(f.knownHostsPath, newKnownHosts).replace(
            "StrictHostKeyChecking yes",
            "StrictHostKeyChecking accept-new",
          ),
      );
      {
        await using conn = await connect("fwd", { config });
        // The forward reaches sshd itself: its banner comes back through the tunnel.
        const banner = await new Promise<string>((resolve, reject) => {
          const s = net.connect(fwdPort, "127.0.0.1");
          s.once("data", (d) => {
            s.destroy();
            resolve(String(d));
          });
          s.once("error", reject);
        });
        assert.match(banner, /^SSH-2\.0-OpenSSH/);
        assert.equal(conn.getExtraInfo().username, f.user.name);
      }
      await assert.rejects(connect("strict", { config }), /not known|verification failed/i);
      writeFileSync(newKnownHosts, "");
      {
        await using conn = await connect("acceptnew", { config });
        assert.equal((await conn.run("echo ok")).stdout, "ok\n");
      }
      assert.match(
        readFileSync(newKnownHosts, "utf8"),
        new RegExp(`^\\[127\\.0\\.0\\.1\\]:${f.port} `),
      );
    });
  },
);

conformanceTest(
  "connect(alias) reuses a running OpenSSH ControlMaster: one TCP connection, one authentication",
  { peers: ["openssh"] },
  async () => {
    await using f = await startPeer("openssh", { allowTcpForwarding: true });
    await withDir(async (dir) => {
      const config = join(dir, "config");
      const sock = join(dir, "cm.sock");
      writeFileSync(config, hostBlock("shared", f, `  ControlPath ${sock}`));
      const master = spawnSync("ssh", ["-F", config, "-M", "-S", sock, "-fN", "shared"], {
        encoding: "utf8",
        timeout: 30_000,
      });
      assert.equal(master.status, 0, master.stderr);
      try {
        const ac = new AbortController();
        let made: unknown;
        await using conn = await connect("shared", {
          config,
          signal: ac.signal,
          connectionMade: (c) => void (made = c),
        });
        assert.equal(made, conn, "connectionMade sees the multiplexed connection");
        assert.throws(() => conn.sendDebug("x"), /owns the transport/);
        const info = conn.getExtraInfo();
        assert.equal(info.controlPath, sock, "getExtraInfo() names the master's socket");
        assert.equal(info.algorithms, null, "the master's algorithms are not ours to report");
        const r = await conn.run("echo multiplexed; echo $SSH_CONNECTION", { check: true });
        assert.match(r.stdout, /^multiplexed\n127\.0\.0\.1 /);
        // A second session and a direct-tcpip channel over the same master.
        assert.equal((await conn.run("echo again")).stdout, "again\n");
        // A window widened after the open goes through the proxy's own channel table.
        const wide = await conn.createProcess("head -c 6000000 /dev/zero");
        wide.channel.setWindowSize(8 << 20);
        let got = 0;
        for await (const chunk of wide.stdout) got += chunk.length;
        assert.equal(got, 6_000_000);
        assert.equal((await wide.wait()).exitStatus, 0);
        // The connect's signal closes the connection once made, over a master as over TCP.
        ac.abort();
        await conn.closed.catch(() => {});
        const log = await f.readLog();
        // One authentication (the master's); every session ran on that one TCP connection.
        assert.equal(count(log, /Accepted publickey for /), 1, log);
        const port = /Accepted publickey for \S+ from 127\.0\.0\.1 port (\d+)/.exec(log)![1];
        const sessions = log.split("\n").filter((l) => /Starting session: /.test(l));
        assert.equal(sessions.length, 3, log);
        for (const l of sessions) assert.ok(l.includes(`port ${port} `), l);
        // Besides the fixture's readiness probe, no other TCP connection reached sshd.
        const logins = log.split("\n").filter((l) => /^Connection from /.test(l));
        assert.equal(logins.filter((l) => !l.includes(`port ${port} `)).length, 1, log);
      } finally {
        spawnSync("ssh", ["-F", config, "-S", sock, "-O", "exit", "shared"], { timeout: 10_000 });
      }
    });
  },
);
