/**
 * Against OpenSSH 9.2 and 10.x: getServerHostKey, getServerAuthMethods, staged
 * authentication on one connection, the session controls, and host-based
 * authentication from connect() (sshd with HostbasedAuthentication, the
 * client host in the test user's ~/.shosts and ~/.ssh/known_hosts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chownSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { conformanceTest, type PeerFixture, type PeerName, withPeer } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { connect } from "../io/client/connect.ts";
import { getServerAuthMethods, getServerHostKey } from "../io/client/probe.ts";
import { clientKeyFromSSHKey } from "../io/keys/signers.ts";
import { readPrivateKey } from "../io/keys/files.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { importPublicKey } from "../keys/formats/import.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";

const PEERS: readonly PeerName[] = ["openssh", "openssh-trixie"];

/**
 * Runs `fn` with the test user's ~/.shosts and ~/.ssh/known_hosts holding these lines (the
 * user's own, as sshd wants them), then puts known_hosts back as it was.
 */
async function withShosts(
  f: PeerFixture,
  shostsLines: string,
  knownHostsLines: string,
  fn: () => Promise<void>,
): Promise<void> {
  const shosts = join(f.user.hostHome, ".shosts");
  const kh = join(f.user.hostHome, ".ssh", "known_hosts");
  let before: string | undefined;
  try {
    before = readFileSync(kh, "utf8");
  } catch { /* none yet */ }
  try {
    writeFileSync(shosts, shostsLines, { mode: 0o600 });
    writeFileSync(kh, (before ?? "") + knownHostsLines, { mode: 0o600 });
    chownSync(shosts, f.user.uid, f.user.gid);
    chownSync(kh, f.user.uid, f.user.gid);
    await fn();
  } finally {
    rmSync(shosts, { force: true });
    if (before === undefined) rmSync(kh, { force: true });
    else writeFileSync(kh, before);
  }
}

for (const peer of PEERS) {
  conformanceTest(`getServerHostKey and getServerAuthMethods against ${peer}`, {
    peers: [peer],
  }, async () => {
    const f = await sharedPeer(peer);
    const probe = await getServerHostKey(f.host, {
      port: f.port,
      config: false,
      serverHostKeyAlgs: ["ssh-ed25519"],
      connectTimeout: 10_000,
    });
    const ed = f.hostKeys.find((k) => k.name === "ed25519")!;
    assert.ok(probe.key.equals(importPublicKey(ed.publicKeyLine)));
    assert.equal(probe.serverVersion, f.banner);
    const methods = await getServerAuthMethods(f.host, {
      port: f.port,
      config: false,
      username: f.user.name,
      knownHosts: f.knownHostsPath,
    });
    assert.ok(methods.includes("publickey") && methods.includes("password"), methods.join());
  });

  conformanceTest(`staged authentication and session controls against ${peer}`, {
    peers: [peer],
  }, async () => {
    const f = await sharedPeer(peer);
    const key = clientKeyFromSSHKey(await readPrivateKey(f.clientKeys[0]!.privateKeyPath));
    const answers: [string, boolean][] = [];
    await using conn = await connect(f.host, {
      port: f.port,
      config: false,
      username: f.user.name,
      knownHosts: f.knownHostsPath,
      keepaliveInterval: 30_000,
      authenticate: async (auth) => {
        assert.ok(auth.methods.includes("password"));
        answers.push(["password", (await auth.password("wrong")).success]);
        answers.push([
          "publickey other",
          (await auth.publicKey(clientKeyFromSSHKey(generatePrivateKey("ed25519")))).success,
        ]);
        answers.push(["publickey", (await auth.publicKey(key)).success]);
      },
    });
    assert.deepEqual(answers, [["password", false], ["publickey other", false], [
      "publickey",
      true,
    ]]);
    const blob = importPublicKey(
      f.hostKeys.find((k) =>
        k.keyType === conn.negotiatedMethod("hostKey") ||
        k.algorithms.includes(conn.negotiatedMethod("hostKey")!)
      )!.publicKeyLine,
    ).publicBlob;
    assert.deepEqual(
      conn.hostKeyHash("sha256"),
      new Uint8Array(createHash("sha256").update(blob).digest()),
    );
    assert.equal(conn.sendKeepalive(), 30);
    assert.equal((await conn.run("echo ok", { check: true })).stdout, "ok\n");
    assert.equal(conn.negotiatedMethod("cipher", "c2s"), conn.getExtraInfo().algorithms?.cipherC2S);
  });

  conformanceTest(`host-based authentication from connect() against ${peer}`, {
    peers: [peer],
  }, async () => {
    const clientHost = generatePrivateKey("ed25519");
    await withPeer(peer, {
      sshdConfig: {
        HostbasedAuthentication: true,
        HostbasedUsesNameFromPacketOnly: true,
        IgnoreRhosts: "shosts-only",
        IgnoreUserKnownHosts: false,
      },
    }, async (f) => {
      await withShosts(
        f,
        `client.example ${f.user.name}\n`,
        `client.example ${clientHost.publicKey().exportPublicKey()}\n`,
        async () => {
          await using conn = await connect(f.host, {
            port: f.port,
            config: false,
            username: f.user.name,
            knownHosts: f.knownHostsPath,
            agent: false,
            // A user key sshd does not know: only the host key can get us in.
            clientKeys: [clientKeyFromSSHKey(generatePrivateKey("ed25519"))],
            hostBased: {
              hostKey: clientHost,
              localHostname: "client.example",
              localUsername: f.user.name,
            },
            preferredAuth: ["hostbased"],
          });
          assert.equal((await conn.run("whoami", { check: true })).stdout.trim(), f.user.name);
        },
      );
    });
  });

  conformanceTest(`host-based authentication with RSA and a host certificate against ${peer}`, {
    peers: [peer],
  }, async () => {
    const rsa = generatePrivateKey("rsa", { keySize: 2048 });
    const ca = generatePrivateKey("ed25519");
    const certified = generatePrivateKey("ed25519");
    // sshd's default (HostbasedUsesNameFromPacketOnly no, UseDNS no): it looks the client
    // up by its address, whatever name we send; a certificate must name that address.
    const cert = createCertificate({
      key: certified,
      caKey: ca,
      type: "host",
      keyId: "client",
      principals: ["127.0.0.1"],
    });
    await withPeer(peer, {
      logLevel: "DEBUG1",
      sshdConfig: {
        HostbasedAuthentication: true,
        UseDNS: false,
        IgnoreRhosts: "shosts-only",
        IgnoreUserKnownHosts: false,
      },
    }, async (f) => {
      await withShosts(
        f,
        `127.0.0.1 ${f.user.name}\n`,
        `127.0.0.1 ${rsa.publicKey().exportPublicKey()}\n` +
          `@cert-authority 127.0.0.1 ${ca.publicKey().exportPublicKey()}\n`,
        async () => {
          for (
            const hostKey of [clientKeyFromSSHKey(rsa), clientKeyFromSSHKey(certified, cert)]
          ) {
            await using conn = await connect(f.host, {
              port: f.port,
              config: false,
              username: f.user.name,
              knownHosts: f.knownHostsPath,
              agent: false,
              clientKeys: [],
              hostBased: { hostKey, localHostname: "Client.Example" },
              preferredAuth: ["hostbased"],
            });
            assert.equal((await conn.run("whoami", { check: true })).stdout.trim(), f.user.name);
          }
          const log = await f.readLog();
          // RSA signs with SHA-2, and the name goes out with OpenSSH's trailing dot.
          assert.match(log, /chost Client\.Example\. pkalg rsa-sha2-512 /);
          assert.match(log, /chost Client\.Example\. pkalg ssh-ed25519-cert-v01@openssh\.com /);
          assert.equal(log.match(/Accepted hostbased for /g)?.length, 2);
        },
      );
    });
  });
}
