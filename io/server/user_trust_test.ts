/**
 * listen()'s server-wide user trust, as sshd's TrustedUserCAKeys,
 * AuthorizedPrincipalsFile and RevokedKeys: our client logs in on loopback with
 * certificates and keys; revocation is checked before anything (an
 * authorized_keys line, a CA, a hook) could vouch for a key.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import {
  generateUserCertificate,
  type GenerateUserCertificateOptions,
  SSHCertificate,
} from "../../keys/certificates/certificate.ts";
import { formatKnownHostsLine } from "../../keys/trust/known_hosts.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { parseKRL } from "../../keys/trust/krl.ts";
import { krl as krlBytes } from "../../keys/trust/_krl_test_util.ts";
import { keygenTest } from "../../keys/_ssh_keygen_test_util.ts";
import { clientKeyFromSSHKey } from "../keys/signers.ts";
import { connect } from "../client/connect.ts";
import type { ConnectOptions } from "../client/options.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import {
  authorizedPrincipalsFor,
  loadPublicKeysSource,
  PRINCIPALS_FILE_MAX_BYTES,
  principalsPath,
} from "./user_trust.ts";
import { hostileFiles, NO_FIFOS, releaseFifo, within } from "../keys/_trust_file_test_util.ts";

const hostKey = generatePrivateKey("ed25519");
const ca = generatePrivateKey("ed25519");
const otherCa = generatePrivateKey("ecdsa");
const user = generatePrivateKey("ed25519");

function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    processFactory: async (p) => {
      await p.write(`ran ${p.command}`);
      p.exit(0);
    },
    ...options,
  });
}

function login(s: SSHServer, username: string, options: ConnectOptions = {}) {
  return connect("127.0.0.1", {
    port: s.address.port,
    username,
    knownHosts: null,
    agent: false,
    connectTimeout: 10_000,
    ...options,
  });
}

function withCert(
  cert: GenerateUserCertificateOptions,
  signer: SSHKey = ca,
  keyId = "k",
): ConnectOptions {
  return {
    clientKeys: [clientKeyFromSSHKey(user, generateUserCertificate(signer, user, keyId, cert))],
  };
}

const denied = (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED";

test("listen({ trustedUserCAKeys }) lets in a certificate naming the user, and nobody else", async () => {
  await using s = await server({ trustedUserCAKeys: [ca.publicKey()] });
  const cert = withCert({ principals: ["alice"] });
  {
    await using conn = await login(s, "alice", cert);
    assert.equal(conn.getExtraInfo().username, "alice");
  }
  await assert.rejects(login(s, "bob", cert), denied);
  // Another CA's certificate.
  await assert.rejects(
    login(s, "alice", withCert({ principals: ["alice"] }, otherCa)),
    denied,
  );
  // The plain key of the certificate is not trusted by the CA.
  await assert.rejects(login(s, "alice", { clientKeys: [user] }), denied);
});

test("listen({ trustedUserCAKeys }) reads CA keys from a file, text and key lists", async () => {
  const dir = mkdtempSync(join(tmpdir(), "user-ca-"));
  try {
    const path = join(dir, "user_ca.pub");
    writeFileSync(path, `# CAs\n${otherCa.exportPublicKey()}${ca.exportPublicKey()}`);
    for (const source of [path, [path], ca.exportPublicKey(), [otherCa.publicKey(), ca]]) {
      await using s = await server({ trustedUserCAKeys: source });
      await using conn = await login(s, "alice", withCert({ principals: ["alice"] }));
      assert.equal(conn.getExtraInfo().username, "alice");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen({ trustedUserCAKeys }) refuses an expired certificate", async () => {
  await using s = await server({ trustedUserCAKeys: [ca.publicKey()] });
  const past = withCert({
    principals: ["alice"],
    validAfter: new Date(Date.now() - 7200_000),
    validBefore: new Date(Date.now() - 3600_000),
  });
  await assert.rejects(login(s, "alice", past), denied);
});

test("listen({ trustedUserCAKeys }) applies the certificate's force-command and permissions", async () => {
  await using s = await server({ trustedUserCAKeys: [ca.publicKey()] });
  await using conn = await login(
    s,
    "alice",
    withCert({ principals: ["alice"], forceCommand: "uptime", permitPty: false }),
  );
  const p = s.getConnections()[0]!.permissions;
  assert.equal(p.forcedCommand, "uptime");
  assert.equal(p.pty, false);
  assert.equal((await conn.run("rm -rf /")).stdout, "ran uptime");
});

test("listen({ authorizedPrincipals }) as a function decides the principals per user", async () => {
  const asked: string[] = [];
  await using s = await server({
    trustedUserCAKeys: [ca.publicKey()],
    authorizedPrincipals: (u, conn) => {
      asked.push(`${u}@${conn.remoteAddress}`);
      return u === "deploy" ? ["ops", "release"] : undefined;
    },
  });
  const ops = withCert({ principals: ["ops"] });
  {
    await using conn = await login(s, "deploy", ops);
    assert.equal(conn.getExtraInfo().username, "deploy");
  }
  // The user name is no longer enough for deploy.
  await assert.rejects(login(s, "deploy", withCert({ principals: ["deploy"] })), denied);
  // Others keep the default, their own name.
  await assert.rejects(login(s, "alice", ops), denied);
  {
    await using conn = await login(s, "alice", withCert({ principals: ["alice"] }));
    assert.equal(conn.getExtraInfo().username, "alice");
  }
  assert.ok(asked.includes("deploy@127.0.0.1"));
});

test("listen({ authorizedPrincipals }) is not asked for a certificate no trusted CA signed", async () => {
  const asked: string[] = [];
  await using s = await server({
    trustedUserCAKeys: [ca.publicKey()],
    authorizedPrincipals: (u) => {
      asked.push(u);
      return ["ops"];
    },
  });
  // A self-made CA, five certificates in one connection: sshd checks the CA first.
  const keys = Array.from({ length: 5 }, () => {
    const k = generatePrivateKey("ed25519");
    return clientKeyFromSSHKey(
      k,
      generateUserCertificate(otherCa, k, "x", { principals: ["ops"] }),
    );
  });
  await assert.rejects(login(s, "no-such-user", { clientKeys: keys }), denied);
  assert.deepEqual(asked, []);
  // Nor for one naming the trusted CA that it did not sign (its signature spoilt).
  const blob = generateUserCertificate(ca, user, "x", { principals: ["ops"] }).blob.slice();
  blob[blob.length - 1]! ^= 1;
  const forged = clientKeyFromSSHKey(user, SSHCertificate.fromBlob(blob));
  await assert.rejects(login(s, "deploy", { clientKeys: [forged] }), denied);
  assert.deepEqual(asked, []);
  // A certificate of the trusted CA is looked up.
  {
    await using conn = await login(s, "deploy", withCert({ principals: ["ops"] }));
    assert.equal(conn.getExtraInfo().username, "deploy");
  }
  assert.deepEqual(asked, ["deploy"]);
});

test("listen({ authorizedPrincipals }) reads per-user files with their options", async () => {
  const dir = mkdtempSync(join(tmpdir(), "principals-"));
  try {
    mkdirSync(join(dir, "p"));
    writeFileSync(join(dir, "p", "deploy"), '# deploy\ncommand="backup",no-pty ops\nrelease\n');
    await using s = await server({
      trustedUserCAKeys: [ca.publicKey()],
      authorizedPrincipals: join(dir, "p", "%u"),
    });
    {
      await using conn = await login(s, "deploy", withCert({ principals: ["ops"] }));
      assert.equal((await conn.run("id")).stdout, "ran backup");
      const p = s.getConnections()[0]!.permissions;
      assert.equal(p.pty, false);
    }
    {
      await using conn = await login(s, "deploy", withCert({ principals: ["release"] }));
      assert.equal((await conn.run("id")).stdout, "ran id");
    }
    // No file for alice: nobody is accepted for her, not even her own name.
    await assert.rejects(login(s, "alice", withCert({ principals: ["alice"] })), denied);
    // A user name that would leave the directory.
    await assert.rejects(login(s, "../p/deploy", withCert({ principals: ["ops"] })), denied);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen({ authorizedPrincipals }) refuses a principals file that is a FIFO or too large, and keeps serving", async () => {
  const dir = mkdtempSync(join(tmpdir(), "principals-"));
  try {
    writeFileSync(join(dir, "alice"), "alice\n");
    hostileFiles(dir, "big\n", PRINCIPALS_FILE_MAX_BYTES);
    await using s = await server({
      trustedUserCAKeys: [ca.publicKey()],
      authorizedPrincipals: join(dir, "%u"),
    });
    const attempt = (name: string) =>
      within(login(s, name, withCert({ principals: [name] })), 8_000, `login as ${name}`);
    // More connections than Node's file thread pool has threads, each reading the user's file.
    const hostile = NO_FIFOS ? ["big"] : ["fifo", "fifo", "fifo", "fifo", "fifo", "big"];
    const refused = await Promise.allSettled(hostile.map(attempt));
    for (const r of refused) {
      assert.equal(r.status, "rejected");
      assert.ok(denied(r.reason), String(r.reason));
    }
    // The server still reads files and lets others in, promptly.
    await within(readFile(join(dir, "alice")), 2_000, "a file read in the server's process");
    await using conn = await attempt("alice");
    assert.equal(conn.getExtraInfo().username, "alice");
  } finally {
    releaseFifo(dir);
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen({ revokedKeys }) refuses a key authorized_keys lists", async () => {
  const line = user.exportPublicKey();
  {
    await using s = await server({ authorizedClientKeys: line });
    await using conn = await login(s, "alice", { clientKeys: [user] });
    assert.equal(conn.getExtraInfo().username, "alice");
  }
  await using s = await server({ authorizedClientKeys: line, revokedKeys: [user.publicKey()] });
  await assert.rejects(login(s, "alice", { clientKeys: [user] }), denied);
});

test("listen({ revokedKeys }) refuses the certificates of a revoked CA however it is trusted", async () => {
  const cert = withCert({ principals: ["alice"] });
  for (
    const trust of [
      { trustedUserCAKeys: [ca.publicKey()] },
      { authorizedClientKeys: `cert-authority ${ca.exportPublicKey()}` },
    ]
  ) {
    await using s = await server({ ...trust, revokedKeys: ca.exportPublicKey() });
    await assert.rejects(login(s, "alice", cert), denied);
  }
  // A revoked certified key too.
  await using s = await server({ trustedUserCAKeys: [ca.publicKey()], revokedKeys: [user] });
  await assert.rejects(login(s, "alice", cert), denied);
});

test("listen({ revokedKeys }) refuses before validatePublicKey and validateCertificate are asked", async () => {
  let asked = 0;
  await using s = await server({
    revokedKeys: [user.publicKey()],
    validatePublicKey: () => (asked++, true),
    validateCertificate: () => (asked++, true),
  });
  await assert.rejects(login(s, "alice", { clientKeys: [user] }), denied);
  await assert.rejects(login(s, "alice", withCert({ principals: ["alice"] })), denied);
  assert.equal(asked, 0);
  // Another key still goes to the hook.
  await using conn = await login(s, "alice", { clientKeys: [generatePrivateKey("ed25519")] });
  assert.equal(conn.getExtraInfo().username, "alice");
  assert.equal(asked, 1);
  await using s2 = await server({
    revokedKeys: [ca.publicKey()],
    validateCertificate: () => (asked++, true),
  });
  await assert.rejects(login(s2, "alice", withCert({ principals: ["alice"] })), denied);
  assert.equal(asked, 1);
});

test("listen({ revokedKeys }) refuses a revoked client host key for hostbased", async () => {
  const clientHost = generatePrivateKey("ecdsa");
  const hostBased = {
    hostKey: clientKeyFromSSHKey(clientHost),
    localHostname: "c",
    localUsername: "alice",
  };
  const knownClientHosts = { text: formatKnownHostsLine(["127.0.0.1"], 22, clientHost) };
  let asked = 0;
  await using s = await server({
    knownClientHosts,
    revokedKeys: [clientHost.publicKey()],
    validateHostBasedUser: () => (asked++, true),
  });
  await assert.rejects(login(s, "alice", { clientKeys: [], hostBased }), denied);
  assert.equal(asked, 0);
});

test("listen({ revokedKeys }) rereads its file for each connection", async () => {
  const dir = mkdtempSync(join(tmpdir(), "revoked-"));
  try {
    const path = join(dir, "revoked_keys");
    writeFileSync(path, "# nothing yet\n");
    await using s = await server({
      authorizedClientKeys: user.exportPublicKey(),
      revokedKeys: path,
    });
    {
      await using conn = await login(s, "alice", { clientKeys: [user] });
      assert.equal(conn.getExtraInfo().username, "alice");
    }
    writeFileSync(path, user.exportPublicKey());
    await assert.rejects(login(s, "alice", { clientKeys: [user] }), denied);
    // Unreadable now: every key is refused.
    rmSync(path);
    await assert.rejects(
      login(s, "alice", { clientKeys: [generatePrivateKey("ed25519")] }),
      denied,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

keygenTest(
  "listen({ revokedKeys }) refuses keys and certificates an ssh-keygen -k KRL revokes",
  async (k) => {
    const lost = generatePrivateKey("ecdsa");
    const hashed = generatePrivateKey("ed25519");
    k.write("ca.pub", ca.exportPublicKey());
    k.write(
      "spec",
      `serial: 5-7\nid: gone\nkey: ${lost.exportPublicKey()}sha256: ${hashed.exportPublicKey()}`,
    );
    k.run(["-k", "-f", k.path("revoked.krl"), "-s", k.path("ca.pub"), k.path("spec")]);
    const bytes = readFileSync(k.path("revoked.krl"));
    for (
      const revokedKeys of [k.path("revoked.krl"), bytes, parseKRL(bytes), [
        hashed.publicKey(),
        bytes,
      ]]
    ) {
      await using s = await server({
        trustedUserCAKeys: [ca.publicKey()],
        validatePublicKey: () => true,
        revokedKeys,
      });
      const cert = (serial: number, keyId = "k") =>
        withCert({ principals: ["alice"], serial }, ca, keyId);
      for (
        const refused of [cert(5), cert(7), cert(0, "gone"), { clientKeys: [lost] }, {
          clientKeys: [hashed],
        }]
      ) {
        await assert.rejects(login(s, "alice", refused), denied);
      }
      for (const ok of [cert(4), cert(8), { clientKeys: [user] }]) {
        await using conn = await login(s, "alice", ok);
        assert.equal(conn.getExtraInfo().username, "alice");
      }
    }
  },
);

test("listen() refuses to start with a missing or malformed trust file or KRL", async () => {
  const dir = mkdtempSync(join(tmpdir(), "trust-files-"));
  try {
    const importError = (re: RegExp) => (e: Error & { code?: string }) =>
      e.name === "KeyImportError" && e.code === "ERR_KEY_IMPORT" && re.test(e.message);
    await assert.rejects(
      server({ revokedKeys: join(dir, "missing") }),
      importError(/Cannot load revokedKeys: Cannot read public key file/),
    );
    writeFileSync(join(dir, "bad"), "ssh-ed25519 AAAAnotbase64!!\n");
    await assert.rejects(
      server({ trustedUserCAKeys: join(dir, "bad") }),
      importError(/Cannot load trustedUserCAKeys: .*line 1/),
    );
    writeFileSync(
      join(dir, "krl"),
      new Uint8Array([...new TextEncoder().encode("SSHKRL\n\0"), 0, 0, 0, 1]),
    );
    await assert.rejects(
      server({ revokedKeys: join(dir, "krl") }),
      importError(/Cannot load revokedKeys from .*krl: Cannot parse key revocation list: /),
    );
    // A KRL lists revoked keys, not CAs to trust.
    writeFileSync(join(dir, "empty.krl"), krlBytes([]));
    await assert.rejects(
      server({ trustedUserCAKeys: join(dir, "empty.krl") }),
      importError(/key revocation list \(KRL\), not a list of public keys/),
    );
    await assert.rejects(
      server({ trustedUserCAKeys: [ca], authorizedPrincipals: "/etc/ssh/%h/principals" }),
      /unknown escape '%h'/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadPublicKeysSource(), principalsPath() and authorizedPrincipalsFor() read sshd's settings", async () => {
  assert.equal((await loadPublicKeysSource([ca, ca.exportPublicKey()])).length, 2);
  assert.equal(principalsPath("/p/%u/%%u", "bob"), "/p/bob/%u");
  assert.throws(() => principalsPath("/p/%", "bob"), /unknown escape '%'/);
  const conn = {} as Parameters<typeof authorizedPrincipalsFor>[2];
  assert.equal(await authorizedPrincipalsFor(() => null, "bob", conn), undefined);
  await assert.rejects(
    authorizedPrincipalsFor(() => "ops" as unknown as string[], "bob", conn),
    /must return a list of principal names/,
  );
  for (const name of ["", ".", "..", "a/b", "a\\b", "a\0"]) {
    assert.deepEqual(await authorizedPrincipalsFor("/tmp/%u", name, conn), []);
  }
});
