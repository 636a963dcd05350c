/**
 * connect()'s `strictHostKeyChecking` and `hashKnownHosts` (paramiko's AutoAddPolicy, ssh's
 * StrictHostKeyChecking), against our own server in this process with a temporary
 * known_hosts: "accept-new" records an unknown key (plain, or hashed) and then trusts it;
 * a changed key is refused by "yes" and "accept-new", and let through by "no" with the
 * connection marked untrusted; the same without an ssh_config (`config: false`, `sock`, the
 * default ~/.ssh/known_hosts) and with one (the option wins over its StrictHostKeyChecking
 * and HashKnownHosts); combinations it cannot honour are TypeErrors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "../../keys/generate.ts";
import { matchKnownHosts, parseKnownHosts } from "../../keys/trust/known_hosts.ts";
import { hostKeyFromSSHKey } from "../keys/signers.ts";
import { runChildScript } from "../runtime/_child_test_util.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { connect } from "./connect.ts";
import type { ConnectOptions } from "./options.ts";

/** Set in the child process of the default-known_hosts test (its $HOME is a fake home). */
const CHILD_ENV = "SSHTS_STRICT_HOST_KEY_CHECKING_CHILD";

// The child: connects to the port it is given with accept-new and no knownHosts (the default
// ~/.ssh/known_hosts of its $HOME), prints the outcome as JSON and exits, before any test is
// registered.
if (process.env[CHILD_ENV] !== undefined) {
  let outcome: { ok: boolean; message?: string };
  try {
    const conn = await connect("127.0.0.1", {
      port: Number(process.env[CHILD_ENV]),
      username: "u",
      password: "pw",
      config: false,
      agent: false,
      strictHostKeyChecking: "accept-new",
    });
    await conn.close();
    outcome = { ok: true };
  } catch (e) {
    outcome = { ok: false, message: (e as Error).message };
  }
  console.log(JSON.stringify(outcome));
  process.exit(0);
}

const hostKey = generatePrivateKey("ed25519");
const ecdsaKey = generatePrivateKey("ecdsa-sha2-nistp256");
const otherKey = generatePrivateKey("ed25519");

interface Setup {
  readonly server: SSHServer;
  readonly port: number;
  readonly dir: string;
  /** The temporary known_hosts file (not created). */
  readonly known: string;
  /** Passwords the server was sent. */
  readonly passwords: string[];
}

async function withSetup(
  fn: (s: Setup) => Promise<void>,
  hostKeys = [hostKeyFromSSHKey(hostKey)],
): Promise<void> {
  const passwords: string[] = [];
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys,
    authFailureDelay: 0,
    validatePassword: (_user, pw) => (passwords.push(pw), true),
    validatePublicKey: () => true,
    processFactory: (p) => p.write("done\n"),
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-strict-hkc-"));
  try {
    await fn({
      server,
      port: server.address.port,
      dir,
      known: join(dir, "known_hosts"),
      passwords,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
}

/** Logs in to the server without an ssh_config, with `knownHosts` the setup's file. */
function login(s: Setup, o: ConnectOptions = {}) {
  return connect("127.0.0.1", {
    port: s.port,
    username: "u",
    password: "pw",
    config: false,
    agent: false,
    connectTimeout: 10_000,
    knownHosts: s.known,
    ...o,
  });
}

/** The file's lines (none when it does not exist). */
function lines(path: string): string[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Whether the known_hosts file lists `key` for `[127.0.0.1]:port`. */
function lists(path: string, port: number, key = hostKey): boolean {
  return matchKnownHosts(parseKnownHosts(readFileSync(path, "utf8")), "127.0.0.1", undefined, port)
    .trustedHostKeys.some((k) => k.equals(key.publicKey()));
}

test("accept-new records an unknown host's key as a plain line, then trusts it (config: false)", async () => {
  await withSetup(async (s) => {
    // The default, "yes", refuses the unknown key (and records nothing).
    await assert.rejects(login(s), /not known/);
    await assert.rejects(login(s, { strictHostKeyChecking: "yes" }), /not known/);
    assert.deepEqual(lines(s.known), []);
    {
      await using conn = await login(s, { strictHostKeyChecking: "accept-new" });
      assert.equal((await conn.run("x")).stdout, "done\n");
      assert.equal(conn.hostKeyUntrusted, false);
    }
    const written = lines(s.known);
    assert.equal(written.length, 1);
    assert.equal(
      written[0],
      `[127.0.0.1]:${s.port} ${hostKey.publicKey().exportPublicKey("openssh").trim()}`,
    );
    // Now known: the default checks it, and accept-new adds nothing more.
    {
      await using conn = await login(s);
      assert.equal((await conn.run("x")).stdout, "done\n");
    }
    {
      await using _c = await login(s, { strictHostKeyChecking: "accept-new" });
    }
    assert.equal(lines(s.known).length, 1);
  });
});

test("hashKnownHosts: true records the line hashed, which then vouches for the host", async () => {
  await withSetup(async (s) => {
    {
      await using _c = await login(s, {
        strictHostKeyChecking: "accept-new",
        hashKnownHosts: true,
      });
    }
    const written = lines(s.known);
    assert.equal(written.length, 1);
    assert.match(written[0]!, /^\|1\|[^ ]+ ssh-ed25519 /);
    assert.ok(!written[0]!.includes("127.0.0.1"));
    assert.ok(lists(s.known, s.port));
    await using conn = await login(s);
    assert.equal((await conn.run("x")).stdout, "done\n");
  });
});

test("a changed key: refused by yes and accept-new, let through by no as untrusted (no password)", async () => {
  await withSetup(async (s) => {
    const before = `[127.0.0.1]:${s.port} ${otherKey.publicKey().exportPublicKey("openssh")}\n`;
    writeFileSync(s.known, before);
    for (const strict of [undefined, "yes", "accept-new"] as const) {
      await assert.rejects(
        login(s, strict === undefined ? {} : { strictHostKeyChecking: strict }),
        /has changed/,
      );
    }
    // "no": connects, but the possible impostor gets no password.
    const warnings: string[] = [];
    await assert.rejects(
      login(s, {
        strictHostKeyChecking: "no",
        clientKeys: [],
        logger: { warn: (m) => void warnings.push(m) },
      }),
      /authenticat|permission denied/i,
    );
    assert.deepEqual(s.passwords, [], "no password was sent");
    assert.ok(warnings.some((w) => /has changed.*untrusted/.test(w)), warnings.join("\n"));
    // With a key it logs in, marked untrusted; the changed key is not recorded.
    await using conn = await login(s, {
      strictHostKeyChecking: "no",
      clientKeys: [generatePrivateKey("ed25519")],
    });
    assert.equal(conn.hostKeyUntrusted, true);
    assert.equal((await conn.run("x")).stdout, "done\n");
    assert.equal(readFileSync(s.known, "utf8"), before);
  });
});

test("no records an unknown host's key and trusts the connection; revoked keys are refused in every mode", async () => {
  await withSetup(async (s) => {
    {
      await using conn = await login(s, { strictHostKeyChecking: "no" });
      assert.equal(conn.hostKeyUntrusted, false);
    }
    assert.ok(lists(s.known, s.port));
    const revoked = `@revoked * ${hostKey.publicKey().exportPublicKey("openssh")}\n`;
    writeFileSync(s.known, revoked);
    for (const strict of ["yes", "accept-new", "no"] as const) {
      await assert.rejects(login(s, { strictHostKeyChecking: strict }), /revoked/);
    }
    assert.equal(readFileSync(s.known, "utf8"), revoked, "nothing learned");
  });
});

test("accept-new writes to the first of several knownHosts files, and keeps known_hosts' key type order", async () => {
  await withSetup(async (s) => {
    const second = join(s.dir, "second");
    // The host is known by its ECDSA key: the server (which also has an Ed25519 key) is asked
    // for that one first, so the known host is not mistaken for a changed one.
    writeFileSync(second, `[127.0.0.1]:${s.port} ${ecdsaKey.publicKey().exportPublicKey()}\n`);
    {
      await using conn = await login(s, {
        knownHosts: [s.known, second],
        strictHostKeyChecking: "accept-new",
      });
      assert.equal(conn.negotiatedMethod("hostKey"), "ecdsa-sha2-nistp256");
    }
    assert.deepEqual(lines(s.known), [], "a known host is not recorded again");
    writeFileSync(second, "");
    {
      await using _c = await login(s, {
        knownHosts: [s.known, second],
        strictHostKeyChecking: "accept-new",
      });
    }
    assert.equal(lines(s.known).length, 1);
    assert.deepEqual(lines(second), []);
  }, [hostKeyFromSSHKey(hostKey), hostKeyFromSSHKey(ecdsaKey)]);
});

test("over a caller's socket (no ssh_config): accept-new records the name given, CheckHostIP holds", async () => {
  await withSetup(async (s) => {
    const bySocket = async (o: ConnectOptions) => {
      const sock = net.connect(s.port, "127.0.0.1");
      await new Promise<void>((res, rej) => sock.once("connect", res).once("error", rej));
      return await connect("server.example", {
        port: s.port,
        username: "u",
        password: "pw",
        agent: false,
        knownHosts: s.known,
        sock: socketFromNodeSocket(sock),
        ...o,
      });
    };
    {
      await using _c = await bySocket({ strictHostKeyChecking: "accept-new" });
    }
    assert.deepEqual(lines(s.known), [
      `[server.example]:${s.port} ${hostKey.publicKey().exportPublicKey("openssh").trim()}`,
    ]);
    // Another key under the server's address: accept-new does not learn a new name over it.
    writeFileSync(s.known, `[127.0.0.1]:${s.port} ${otherKey.publicKey().exportPublicKey()}\n`);
    await assert.rejects(bySocket({ strictHostKeyChecking: "accept-new" }), /changed/);
    assert.equal(lines(s.known).length, 1);
  });
});

test("with no knownHosts, accept-new records into ~/.ssh/known_hosts (a child with its own $HOME)", async () => {
  await withSetup(async (s) => {
    const home = join(s.dir, "home");
    const self = fileURLToPath(import.meta.url);
    // The server answering the child lives in this process.
    const run = () =>
      runChildScript(self, { HOME: home, USER: "tester", [CHILD_ENV]: `${s.port}` });
    assert.deepEqual(await run(), { ok: true });
    const file = join(home, ".ssh", "known_hosts");
    assert.ok(lists(file, s.port));
    assert.deepEqual(await run(), { ok: true });
    assert.equal(lines(file).length, 1);
  });
});

test("with an ssh_config, the option wins over its StrictHostKeyChecking and HashKnownHosts", async () => {
  await withSetup(async (s) => {
    const config = join(s.dir, "config");
    const block = (alias: string, more: string) =>
      `Host ${alias}\n  HostName 127.0.0.1\n  Port ${s.port}\n  User u\n` +
      `  UserKnownHostsFile ${s.known}\n  GlobalKnownHostsFile none\n${more}`;
    writeFileSync(
      config,
      block("strict", "  StrictHostKeyChecking yes\n  HashKnownHosts yes\n") +
        block("new", "  StrictHostKeyChecking accept-new\n") +
        block("plain", ""),
    );
    const viaConfig = (alias: string, o: ConnectOptions = {}) =>
      connect(alias, { config, password: "pw", agent: false, connectTimeout: 10_000, ...o });
    // The file's "yes" and its default ("ask") refuse; the option overrides both.
    await assert.rejects(viaConfig("strict"), /not known/);
    await assert.rejects(viaConfig("plain"), /not known/);
    // The option's "yes" overrides the file's accept-new.
    await assert.rejects(viaConfig("new", { strictHostKeyChecking: "yes" }), /not known/);
    assert.deepEqual(lines(s.known), []);
    {
      // HashKnownHosts yes from the file, hashKnownHosts: false from the option: plain.
      await using conn = await viaConfig("strict", {
        strictHostKeyChecking: "accept-new",
        hashKnownHosts: false,
      });
      assert.equal((await conn.run("x")).stdout, "done\n");
    }
    assert.deepEqual(lines(s.known), [
      `[127.0.0.1]:${s.port} ${hostKey.publicKey().exportPublicKey("openssh").trim()}`,
    ]);
    // The file's HashKnownHosts yes holds when the option does not say.
    writeFileSync(s.known, "");
    {
      await using _c = await viaConfig("strict", { strictHostKeyChecking: "accept-new" });
    }
    assert.match(lines(s.known)[0]!, /^\|1\|/);
    // No-then-untrusted through the config too.
    writeFileSync(s.known, `[127.0.0.1]:${s.port} ${otherKey.publicKey().exportPublicKey()}\n`);
    await assert.rejects(viaConfig("plain", { strictHostKeyChecking: "accept-new" }), /changed/);
    await using conn = await viaConfig("plain", {
      strictHostKeyChecking: "no",
      clientKeys: [generatePrivateKey("ed25519")],
    });
    assert.equal(conn.hostKeyUntrusted, true);
    assert.deepEqual(s.passwords, ["pw", "pw"], "only the accept-new logins sent the password");
  });
});

test("with an ssh_config and an explicit knownHosts file, the option applies to that file", async () => {
  await withSetup(async (s) => {
    const config = join(s.dir, "config");
    const other = join(s.dir, "config_known_hosts");
    writeFileSync(
      config,
      `Host app\n  HostName 127.0.0.1\n  Port ${s.port}\n  UserKnownHostsFile ${other}\n` +
        "  GlobalKnownHostsFile none\n  StrictHostKeyChecking yes\n",
    );
    {
      await using _c = await connect("app", {
        config,
        username: "u",
        password: "pw",
        agent: false,
        knownHosts: s.known,
        strictHostKeyChecking: "accept-new",
      });
    }
    assert.ok(lists(s.known, s.port));
    assert.deepEqual(lines(other), []);
  });
});

test("combinations strictHostKeyChecking cannot honour are TypeErrors, before connecting", async () => {
  await withSetup(async (s) => {
    const bad: [ConnectOptions, RegExp][] = [
      [{ strictHostKeyChecking: "accept-new", hostKeyVerifier: () => true }, /hostKeyVerifier/],
      [{ strictHostKeyChecking: "yes", hostKeyVerifier: () => true }, /hostKeyVerifier/],
      [{ hashKnownHosts: true, hostKeyVerifier: () => true }, /hostKeyVerifier/],
      [{ strictHostKeyChecking: "no", knownHosts: null }, /knownHosts: null/],
      [{ strictHostKeyChecking: "accept-new", knownHosts: { text: "" } }, /file path/],
      [{ strictHostKeyChecking: "no", knownHosts: parseKnownHosts("") }, /file path/],
      [
        { strictHostKeyChecking: "accept-new", knownHosts: { trustedHostKeys: [] } },
        /file path/,
      ],
      [{ strictHostKeyChecking: "accept-new", knownHosts: [] }, /empty list/],
      [{ strictHostKeyChecking: "ask" as "yes" }, /"yes", "accept-new" or "no"/],
      [{ strictHostKeyChecking: true as unknown as "yes" }, /"yes", "accept-new" or "no"/],
      [{ hashKnownHosts: "yes" as unknown as boolean }, /boolean/],
    ];
    const config = join(s.dir, "config");
    writeFileSync(config, `Host app\n  HostName 127.0.0.1\n  Port ${s.port}\n`);
    for (const [o, why] of bad) {
      // Without an ssh_config, and with one (refused before the file is read).
      await assert.rejects(login(s, o), (e) => e instanceof TypeError && why.test(e.message));
      await assert.rejects(
        connect("app", { config, password: "pw", ...o }),
        (e) => e instanceof TypeError && why.test(e.message),
      );
    }
    assert.deepEqual(s.passwords, [], "nothing connected");
    // "yes" with in-memory known_hosts is the default behaviour: it checks them.
    const text = `[127.0.0.1]:${s.port} ${hostKey.publicKey().exportPublicKey()}\n`;
    await using conn = await login(s, { strictHostKeyChecking: "yes", knownHosts: { text } });
    assert.equal(conn.hostKeyUntrusted, false);
  });
});
