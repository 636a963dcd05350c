/**
 * OpenSSH certificates against real OpenSSH (9.2 and 10.x): our client logs in
 * with user certificates sshd trusts through TrustedUserCAKeys, and accepts
 * sshd host certificates (signed by us or by `ssh-keygen -s`) through
 * known_hosts `@cert-authority`; OpenSSH's own `ssh` logs in with certificates
 * we sign, accepts host certificates we sign, and our server accepts `ssh`
 * presenting a user certificate from an authorized_keys `cert-authority` line.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { conformanceTest, ensureKeyMaterial, type PeerName, runCommand } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { connect } from "../io/client/connect.ts";
import { hostKeyFromSSHKey } from "../io/keys/signers.ts";
import { listen } from "../io/server/listen.ts";
import { SSHError } from "../core/errors.ts";
import { parseAuthorizedKeys } from "../keys/trust/authorized_keys.ts";
import {
  generateHostCertificate,
  generateUserCertificate,
  importCertificate,
} from "../keys/certificates/certificate.ts";
import { checkAuthorizedKey } from "../keys/trust/certificate_policy.ts";
import { type GenerateAlgorithm, generatePrivateKey } from "../keys/generate.ts";
import { importPublicKey } from "../keys/formats/import.ts";
import { SSHKeyPair } from "../keys/key_pair.ts";
import { formatKnownHostsLine } from "../keys/trust/known_hosts.ts";

/** Process output as text, whichever form run() gives it in. */
const text = (b: string | Uint8Array): string =>
  typeof b === "string" ? b : new TextDecoder().decode(b);

const OPENSSH_PEERS: readonly PeerName[] = ["openssh", "openssh-trixie"];
const userCa = generatePrivateKey("ed25519", { comment: "user-ca" });
const rsaUserCa = generatePrivateKey("rsa", { keySize: 2048, comment: "rsa-user-ca" });
const hostCa = generatePrivateKey("ecdsa", { comment: "host-ca" });
const trusted = [userCa.exportPublicKey().trim(), rsaUserCa.exportPublicKey().trim()];

function tempDir(): { path: (name: string) => string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "sshts-cert-"));
  return {
    path: (name) => join(dir, name),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

const sshBase = (port: number, knownHosts: string) => [
  "ssh",
  "-F",
  "/dev/null",
  "-p",
  String(port),
  "-o",
  "BatchMode=yes",
  "-o",
  `UserKnownHostsFile=${knownHosts}`,
  "-o",
  "GlobalKnownHostsFile=/dev/null",
  "-o",
  "StrictHostKeyChecking=yes",
  "-o",
  "IdentitiesOnly=yes",
  "-o",
  "IdentityAgent=none",
  "-o",
  "ConnectTimeout=10",
];

for (const peer of OPENSSH_PEERS) {
  const cases: [GenerateAlgorithm, typeof userCa, string][] = [
    ["ed25519", userCa, "ssh-ed25519-cert-v01@openssh.com"],
    ["ecdsa", rsaUserCa, "ecdsa-sha2-nistp256-cert-v01@openssh.com"],
    ["rsa", userCa, "rsa-sha2-512-cert-v01@openssh.com"],
  ];
  for (const [alg, ca, certAlg] of cases) {
    conformanceTest(
      `connect() authenticates to ${peer} with a ${certAlg} user certificate (TrustedUserCAKeys)`,
      { peers: [peer] },
      async () => {
        const f = await sharedPeer(peer, { trustedUserCAKeys: trusted });
        // A fresh key, in no authorized_keys: only the certificate can let it in.
        const key = generatePrivateKey(alg, alg === "rsa" ? { keySize: 2048 } : {});
        const cert = generateUserCertificate(ca, key, "sshts-test", {
          principals: [f.user.name],
          validBefore: new Date(Date.now() + 3600_000),
        });
        await using conn = await connect(f.host, {
          port: f.port,
          username: f.user.name,
          clientKeys: [new SSHKeyPair(key, cert)],
          knownHosts: f.knownHostsPath,
          preferredAuth: ["publickey"],
        });
        const r = await conn.run("whoami", { check: true });
        assert.equal(text(r.stdout).trim(), f.user.name);
        assert.match(await f.readLog(), new RegExp(`Accepted publickey .*ID sshts-test`));
      },
    );
  }

  conformanceTest(
    `connect() is refused by ${peer} with a user certificate for another principal`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, { trustedUserCAKeys: trusted });
      const key = generatePrivateKey("ed25519");
      const cert = generateUserCertificate(userCa, key, "wrong", { principals: ["someone-else"] });
      await assert.rejects(
        connect(f.host, {
          port: f.port,
          username: f.user.name,
          clientKeys: [new SSHKeyPair(key, cert)],
          knownHosts: f.knownHostsPath,
          preferredAuth: ["publickey"],
        }),
        (e: unknown) => e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED",
      );
    },
  );

  conformanceTest(
    `OpenSSH ssh logs in to ${peer} with a user certificate we signed`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer, { trustedUserCAKeys: trusted });
      using dir = tempDir();
      const key = generatePrivateKey("ecdsa", { keySize: 384 });
      const cert = generateUserCertificate(rsaUserCa, key, "for-openssh-ssh", {
        principals: [f.user.name],
        sigAlg: "rsa-sha2-256",
      });
      writeFileSync(dir.path("id"), key.exportPrivateKey("openssh"), { mode: 0o600 });
      writeFileSync(dir.path("id-cert.pub"), cert.exportCertificate());
      const r = await runCommand([
        ...sshBase(f.port, f.knownHostsPath),
        "-i",
        dir.path("id"),
        "-l",
        f.user.name,
        f.host,
        "echo cert-ok",
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "cert-ok\n");
    },
  );

  conformanceTest(
    `OpenSSH ssh accepts ${peer}'s host certificate we signed via @cert-authority`,
    { peers: [peer] },
    async () => {
      const keys = await ensureKeyMaterial();
      const hostPub = importPublicKey(
        keys.hostKeys.find((k) => k.name === "ed25519")!.publicKeyLine,
      );
      const cert = generateHostCertificate(hostCa, hostPub, "fixture-host", {
        principals: ["127.0.0.1"],
        validBefore: new Date(Date.now() + 3600_000),
      });
      const f = await sharedPeer(peer, {
        hostKeys: ["ed25519"],
        files: { "host-cert.pub": cert.exportCertificate() },
        sshdConfig: { HostCertificate: "{dir}/host-cert.pub" },
      });
      using dir = tempDir();
      // Only the CA is known: a plain host key check cannot pass.
      writeFileSync(
        dir.path("known_hosts"),
        formatKnownHostsLine(f.host, f.port, hostCa, { marker: "cert-authority" }),
      );
      const client = f.clientKeys.find((k) => k.name === "ed25519")!;
      const r = await runCommand([
        ...sshBase(f.port, dir.path("known_hosts")),
        "-v",
        "-i",
        client.privateKeyPath,
        "-l",
        f.user.name,
        f.host,
        "echo host-cert-ok",
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "host-cert-ok\n");
      assert.match(r.stderr, /Server host certificate: ssh-ed25519-cert-v01@openssh.com/);

      // And our client takes the same path.
      await using conn = await connect(f.host, {
        port: f.port,
        username: f.user.name,
        clientKeys: [client.privateKeyPath],
        knownHosts: dir.path("known_hosts"),
      });
      assert.equal(conn.getExtraInfo().algorithms?.hostKey, "ssh-ed25519-cert-v01@openssh.com");
    },
  );

  for (const hostKeyName of ["ed25519", "rsa-3072"] as const) {
    conformanceTest(
      `connect() accepts ${peer}'s ${hostKeyName} host certificate signed by ssh-keygen -s`,
      { peers: [peer] },
      async () => {
        const keys = await ensureKeyMaterial();
        const host = keys.hostKeys.find((k) => k.name === hostKeyName)!;
        using dir = tempDir();
        const run = async (argv: string[]) => {
          const r = await runCommand(argv);
          assert.equal(r.status, 0, r.stderr);
        };
        await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", dir.path("ca")]);
        writeFileSync(dir.path("host.pub"), host.publicKeyLine + "\n");
        await run([
          "ssh-keygen",
          "-q",
          "-s",
          dir.path("ca"),
          "-h",
          "-I",
          "keygen-host",
          "-n",
          "127.0.0.1,localhost",
          "-V",
          "-5m:+1h",
          dir.path("host.pub"),
        ]);
        const certText = readFileSync(dir.path("host-cert.pub"), "utf8");
        const f = await sharedPeer(peer, {
          hostKeys: [hostKeyName],
          files: { "host-cert.pub": certText },
          sshdConfig: { HostCertificate: "{dir}/host-cert.pub" },
        });
        const caPub = importPublicKey(readFileSync(dir.path("ca.pub"), "utf8"));
        await using conn = await connect(f.host, {
          port: f.port,
          username: f.user.name,
          password: f.user.password,
          preferredAuth: ["password"],
          knownHosts: {
            text: formatKnownHostsLine(f.host, f.port, caPub, { marker: "cert-authority" }),
          },
        });
        const info = conn.getExtraInfo();
        assert.equal(
          info.algorithms?.hostKey,
          hostKeyName === "rsa-3072"
            ? "rsa-sha2-512-cert-v01@openssh.com"
            : "ssh-ed25519-cert-v01@openssh.com",
        );
        assert.deepEqual(info.hostKeyBlob, importCertificate(certText).blob);
        assert.equal(text((await conn.run("echo ok", { check: true })).stdout), "ok\n");
      },
    );
  }
}

conformanceTest(
  "our server accepts OpenSSH ssh presenting a user certificate from an authorized_keys cert-authority line",
  { peers: ["openssh"] },
  async () => {
    const hostKey = generatePrivateKey("ed25519");
    const hostCert = generateHostCertificate(hostCa, hostKey, "ours", {
      principals: ["127.0.0.1"],
    });
    const authorized = parseAuthorizedKeys(
      `cert-authority,principals="deployers" ${userCa.exportPublicKey()}`,
    );
    await using server = await listen({
      port: 0,
      hostKeys: [hostKeyFromSSHKey(hostKey, hostCert), hostKeyFromSSHKey(hostKey)],
      validateCertificate: (username, c, conn) =>
        checkAuthorizedKey(c.certificateBlob, {
          username,
          authorizedKeys: authorized,
          client: {
            host: conn.remoteAddress ?? "",
            addr: (conn.remoteAddress ?? "").replace(/^::ffff:/, ""),
            now: Date.now(),
          },
        }),
      processFactory: async (p) => {
        await p.write(`hello ${p.command}\n`);
      },
    });
    using dir = tempDir();
    const key = generatePrivateKey("ed25519");
    const cert = generateUserCertificate(userCa, key, "ssh-client", { principals: ["deployers"] });
    writeFileSync(dir.path("id"), key.exportPrivateKey("openssh"), { mode: 0o600 });
    writeFileSync(dir.path("id-cert.pub"), cert.exportCertificate());
    writeFileSync(
      dir.path("known_hosts"),
      formatKnownHostsLine("127.0.0.1", server.address.port, hostCa, { marker: "cert-authority" }),
    );
    const r = await runCommand([
      ...sshBase(server.address.port, dir.path("known_hosts")),
      "-v",
      "-i",
      dir.path("id"),
      "-l",
      "deploy",
      "127.0.0.1",
      "uptime",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "hello uptime\n");
    assert.match(r.stderr, /Server host certificate: ssh-ed25519-cert-v01@openssh.com/);
    assert.match(r.stderr, /Authenticated .*using "publickey"/);
  },
);
