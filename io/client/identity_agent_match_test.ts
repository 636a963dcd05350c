/**
 * Identity files whose private key cannot be loaded still name agent keys, as ssh's
 * pubkey_prepare matches agent keys against identity files by their public halves (the
 * `.pub` beside them, an OpenSSH-format key's unencrypted public section, or a path that is
 * a public key): a passphrase-protected IdentityFile or default `~/.ssh/id_ed25519` whose key
 * the agent holds, or `IdentityFile ~/.ssh/x.pub` for a key only an agent (1Password,
 * Secretive, gpg-agent) holds, logs in with `IdentitiesOnly yes`; without it, that agent key
 * is offered first, before the agent's others (a server's MaxAuthTries is not spent on
 * them). A passphrase-protected key the agent does not hold is skipped as before (decrypted
 * with `passphrase`).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { SSHAgent } from "../agent/ssh_agent.ts";
import { runChildScript } from "../runtime/_child_test_util.ts";
import { listen } from "../server/listen.ts";
import { connect } from "./connect.ts";

/** Set in the child process of the default-key test (its $HOME is a fake home). */
const CHILD_ENV = "SSHTS_IDENTITY_AGENT_MATCH_CHILD";

// The child: connects with the config file it is given (no IdentityFile: the default keys
// of its $HOME), prints the outcome as JSON and exits, before any test is registered.
if (process.env[CHILD_ENV] !== undefined) {
  let outcome: { ok: boolean; code?: string; message?: string };
  try {
    const conn = await connect("target", { config: process.env[CHILD_ENV]!, knownHosts: null });
    await conn.close();
    outcome = { ok: true };
  } catch (e) {
    const err = e as Error & { code?: string };
    outcome = { ok: false, ...(err.code ? { code: err.code } : {}), message: err.message };
  }
  console.log(JSON.stringify(outcome));
  process.exit(0);
}

const hostKey = generatePrivateKey("ed25519");
const PASSPHRASE = "pw";

interface Setup {
  readonly dir: string;
  readonly port: number;
  readonly agent: SSHAgent;
  readonly agentPath: string;
  /** The keys the server was offered, in order: "<name> query" or "<name> signed". */
  readonly offers: string[];
  /** A name for each key the offers list (others are "other"). */
  readonly names: Map<string, string>;
}

/**
 * A server accepting only `allowed` (MaxAuthTries 6), an SSHAgent on a UNIX socket, and a
 * temporary directory for the key and config files.
 */
async function withSetup(allowed: SSHKey, fn: (s: Setup) => Promise<void>): Promise<void> {
  const offers: string[] = [];
  const names = new Map<string, string>();
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    maxAuthTries: 6,
    validatePublicKey: (_user, k) => {
      const fp = k.key?.getFingerprint() ?? "?";
      offers.push(`${names.get(fp) ?? "other"} ${k.signed ? "signed" : "query"}`);
      return k.key?.equals(allowed) ?? false;
    },
    processFactory: (p) => p.write("ok\n"),
  });
  const dir = mkdtempSync(join(tmpdir(), "sshts-idagent-"));
  const agent = new SSHAgent();
  const agentPath = join(dir, "agent.sock");
  const listener = await agent.listen(agentPath);
  try {
    await fn({ dir, port: server.address.port, agent, agentPath, offers, names });
  } finally {
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
    await server.close();
  }
}

/** Writes an ssh_config for Host "target" (our server, the agent) with `lines` added. */
function writeConfig(s: Setup, lines: readonly string[]): string {
  const path = join(s.dir, "config");
  writeFileSync(
    path,
    [
      "Host target",
      "  HostName 127.0.0.1",
      `  Port ${s.port}`,
      "  User tester",
      `  IdentityAgent ${s.agentPath}`,
      ...lines.map((l) => `  ${l}`),
      "",
    ].join("\n"),
  );
  return path;
}

/** Writes `key` passphrase-protected (OpenSSH format, no `.pub` beside it). */
function writeEncrypted(path: string, key: SSHKey): void {
  writeFileSync(path, key.exportPrivateKey("openssh", { passphrase: PASSPHRASE, rounds: 2 }), {
    mode: 0o600,
  });
}

function named(s: Setup, entries: Record<string, SSHKey>): void {
  for (const [name, key] of Object.entries(entries)) s.names.set(key.getFingerprint(), name);
}

async function loginOutput(host: string, options: Parameters<typeof connect>[1]): Promise<string> {
  await using conn = await connect(host, { knownHosts: null, ...options });
  return String((await conn.run("x")).stdout);
}

test("IdentitiesOnly yes + a passphrase-protected IdentityFile the agent holds: the agent's copy signs", async () => {
  const enc = generatePrivateKey("ed25519");
  const other = generatePrivateKey("ed25519");
  await withSetup(enc, async (s) => {
    named(s, { enc, other });
    const file = join(s.dir, "id_enc");
    writeEncrypted(file, enc);
    s.agent.add(other);
    s.agent.add(enc);
    const config = writeConfig(s, [`IdentityFile ${file}`, "IdentitiesOnly yes"]);
    assert.equal(await loginOutput("target", { config }), "ok\n");
    // Only the identity's agent key: the agent's other key is not offered.
    assert.deepEqual(s.offers, ["enc query", "enc signed"]);
  });
});

test("a passphrase-protected IdentityFile the agent does not hold is skipped as before; `passphrase` decrypts it", async () => {
  const enc = generatePrivateKey("ed25519");
  const other = generatePrivateKey("ed25519");
  await withSetup(enc, async (s) => {
    named(s, { enc, other });
    const file = join(s.dir, "id_enc");
    writeEncrypted(file, enc);
    s.agent.add(other);
    const config = writeConfig(s, [`IdentityFile ${file}`, "IdentitiesOnly yes"]);
    await assert.rejects(
      loginOutput("target", { config }),
      (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
    );
    assert.deepEqual(s.offers, []);
    assert.equal(await loginOutput("target", { config, passphrase: PASSPHRASE }), "ok\n");
    assert.deepEqual(s.offers, ["enc signed"]);
  });
});

test("IdentitiesOnly yes + IdentityFile naming only a .pub: the agent holding the key signs", async () => {
  const agentOnly = generatePrivateKey("ed25519");
  const other = generatePrivateKey("ed25519");
  await withSetup(agentOnly, async (s) => {
    named(s, { agentOnly, other });
    const pub = join(s.dir, "agentonly.pub");
    writeFileSync(pub, agentOnly.exportPublicKey());
    s.agent.add(other);
    s.agent.add(agentOnly);
    const config = writeConfig(s, [`IdentityFile ${pub}`, "IdentitiesOnly yes"]);
    assert.equal(await loginOutput("target", { config }), "ok\n");
    assert.deepEqual(s.offers, ["agentOnly query", "agentOnly signed"]);
  });
});

test("IdentitiesOnly yes + an encrypted IdentityFile whose public key is only in <path>.pub (PKCS#8)", async () => {
  const enc = generatePrivateKey("ecdsa");
  const other = generatePrivateKey("ed25519");
  await withSetup(enc, async (s) => {
    named(s, { enc, other });
    const file = join(s.dir, "id_pem");
    // PKCS#8 keeps no public key in clear: only the `.pub` beside it tells the key.
    writeFileSync(file, enc.exportPrivateKey("pkcs8-pem", { passphrase: PASSPHRASE }), {
      mode: 0o600,
    });
    writeFileSync(`${file}.pub`, enc.exportPublicKey());
    s.agent.add(other);
    s.agent.add(enc);
    const config = writeConfig(s, [`IdentityFile ${file}`, "IdentitiesOnly yes"]);
    assert.equal(await loginOutput("target", { config }), "ok\n");
    assert.deepEqual(s.offers, ["enc query", "enc signed"]);
  });
});

test("without IdentitiesOnly, the agent key of an encrypted IdentityFile goes before 6 other agent keys (MaxAuthTries 6)", async () => {
  const enc = generatePrivateKey("ed25519");
  const others = Array.from({ length: 6 }, () => generatePrivateKey("ed25519"));
  await withSetup(enc, async (s) => {
    named(s, { enc });
    const file = join(s.dir, "id_enc");
    writeEncrypted(file, enc);
    for (const k of others) s.agent.add(k);
    s.agent.add(enc);
    const config = writeConfig(s, [`IdentityFile ${file}`]);
    assert.equal(await loginOutput("target", { config }), "ok\n");
    assert.deepEqual(s.offers, ["enc query", "enc signed"]);
  });
});

test("connect({ clientKeys }) with an encrypted key file or a .pub the agent holds uses the agent's copy", async () => {
  const enc = generatePrivateKey("ed25519");
  const other = generatePrivateKey("ed25519");
  await withSetup(enc, async (s) => {
    named(s, { enc, other });
    const file = join(s.dir, "id_enc");
    writeEncrypted(file, enc);
    writeFileSync(join(s.dir, "enc.pub"), enc.exportPublicKey());
    const direct = {
      config: false as const,
      port: s.port,
      username: "tester",
      agent: s.agentPath,
      identitiesOnly: true,
    };
    // Not in the agent: the key file fails connect() as before.
    s.agent.add(other);
    await assert.rejects(
      loginOutput("127.0.0.1", { ...direct, clientKeys: [file] }),
      /encrypted|passphrase/,
    );
    s.agent.add(enc);
    for (const path of [file, join(s.dir, "enc.pub")]) {
      s.offers.length = 0;
      assert.equal(await loginOutput("127.0.0.1", { ...direct, clientKeys: [path] }), "ok\n");
      assert.deepEqual(s.offers, ["enc query", "enc signed"], path);
    }
  });
});

test("IdentitiesOnly yes + the default ~/.ssh/id_ed25519 encrypted and in the agent (a child with its own $HOME)", async () => {
  const enc = generatePrivateKey("ed25519");
  const other = generatePrivateKey("ed25519");
  await withSetup(enc, async (s) => {
    named(s, { enc, other });
    const home = join(s.dir, "home");
    mkdirSync(join(home, ".ssh"), { recursive: true, mode: 0o700 });
    writeEncrypted(join(home, ".ssh", "id_ed25519"), enc);
    s.agent.add(other);
    s.agent.add(enc);
    const config = writeConfig(s, ["IdentitiesOnly yes"]);
    const self = fileURLToPath(import.meta.url);
    // The server and the agent answering the child live in this process.
    const out = await runChildScript(self, { HOME: home, USER: "tester", [CHILD_ENV]: config });
    assert.deepEqual(out, { ok: true });
    assert.deepEqual(s.offers, ["enc query", "enc signed"]);
  });
});
