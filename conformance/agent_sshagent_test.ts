// OpenSSH's tools against our in-process agent (SSHAgent listening on a UNIX socket): ssh-add
// (9.2 and 10.x) adds, lists, deletes, locks, with lifetime, confirm and destination constraints,
// and ssh logs in with keys it holds, destination-restricted keys included (which needs ssh's
// session-bind and publickey-hostbound requests to be understood).

import assert from "node:assert/strict";
import { importPrivateKey } from "../keys/formats/import.ts";
import { createCertificate } from "../keys/certificates/certificate.ts";
import { generatePrivateKey } from "../keys/generate.ts";
import { importPublicKey } from "../keys/formats/import.ts";
import { SSHAgent } from "../io/agent/ssh_agent.ts";
import { conformanceTest, type PeerFixture, runCommand, withPeer } from "./fixtures/mod.ts";
import { type OpenSSHVersion, runTool, toolCommand, toolDir } from "./agent_fixture.ts";

const VERSIONS: readonly OpenSSHVersion[] = ["openssh", "openssh-trixie"];

const ed = generatePrivateKey("ed25519", { comment: "ed@test" });
const ec = generatePrivateKey("ecdsa", { comment: "ec@test" });
const rsa = generatePrivateKey("rsa", { keySize: 2048, comment: "rsa@test" });
const ca = generatePrivateKey("ed25519");

for (const version of VERSIONS) {
  conformanceTest(
    `ssh-add (${version}) adds, lists, deletes and locks keys in SSHAgent`,
    { peers: [version] },
    async () => {
      const dir = toolDir(version);
      try {
        const agent = new SSHAgent({ confirm: () => true });
        await using _l = await agent.listen(dir.host("ours.sock"));
        const socket = `${dir.toolPath}/ours.sock`;
        const add = (args: string[], askpassAnswer?: string | null) =>
          runTool(version, dir, ["ssh-add", ...args], {
            socket,
            ...(askpassAnswer !== undefined ? { askpassAnswer } : {}),
          });
        const edPath = dir.write("id_ed25519", ed.exportPrivateKey("openssh"));
        const ecPath = dir.write("id_ecdsa", ec.exportPrivateKey("openssh"));
        dir.write(
          "id_ecdsa-cert.pub",
          createCertificate({ key: ec, caKey: ca, type: "user", keyId: "k", principals: ["u"] })
            .exportCertificate(),
        );
        const rsaPath = dir.write("id_rsa", rsa.exportPrivateKey("pkcs1-pem"));
        // A known_hosts file for ssh-add -h.
        const hostKey = generatePrivateKey("ed25519");
        const kh = dir.write("known_hosts", `a.example ${hostKey.exportPublicKey()}`);

        let r = await add([edPath]);
        assert.equal(r.status, 0, r.stderr);
        r = await add(["-t", "600", "-c", ecPath]);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /Certificate added/);
        r = await add(["-H", kh, "-h", "a.example", rsaPath]);
        assert.equal(r.status, 0, r.stderr);

        const held = agent.list();
        assert.deepEqual(held.map((k) => k.certificate ? "cert" : k.key.getAlgorithm()), [
          "ssh-ed25519",
          "ecdsa-sha2-nistp256",
          "cert",
          "ssh-rsa",
        ]);
        assert.equal(held[0]!.comment, "ed@test");
        assert.equal(held[1]!.confirm, true);
        assert.ok(held[1]!.expiresAt !== undefined && held[1]!.expiresAt > Date.now() + 590_000);
        assert.ok(held[2]!.certificate?.key.equals(ec));
        assert.equal(held[3]!.destinations.length, 1);
        assert.equal(held[3]!.destinations[0]!.to.hostname, "a.example");
        assert.deepEqual(held[3]!.destinations[0]!.to.hostKeys[0]!.keyBlob, hostKey.publicBlob);

        r = await add(["-l"]);
        assert.equal(r.status, 0, r.stderr);
        for (const k of [ed, ec, rsa]) assert.ok(r.stdout.includes(k.getFingerprint()), r.stdout);
        assert.match(r.stdout, /ED25519-CERT|ECDSA-CERT/);
        r = await add(["-L"]);
        assert.ok(r.stdout.includes(ed.exportPublicKey().split(" ")[1]!), r.stdout);

        r = await add(["-d", edPath]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(agent.list().length, 3);

        // Lock and unlock; the passphrase comes from askpass.
        r = await add(["-x"], "sesame");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(agent.locked, true);
        r = await add(["-l"]);
        assert.match(r.stdout + r.stderr, /no identities/);
        r = await add(["-X"], "wrong");
        assert.notEqual(r.status, 0);
        assert.equal(agent.locked, true);
        r = await add(["-X"], "sesame");
        assert.equal(r.status, 0, r.stderr);
        assert.equal(agent.locked, false);

        r = await add(["-D"]);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(agent.list().length, 0);
      } finally {
        await dir.remove();
      }
    },
  );

  conformanceTest(
    `ssh (${version}) -o IdentityAgent= logs in with SSHAgent's keys, destination-restricted too`,
    { peers: [version] },
    async () => {
      await withPeer(version, {}, async (fixture) => {
        const dir = toolDir(version);
        try {
          const agent = new SSHAgent();
          await using _l = await agent.listen(dir.host("ours.sock"));
          const socket = `${dir.toolPath}/ours.sock`;
          const kh = dir.write("known_hosts", fixture.knownHostsLines.join("\n") + "\n");
          const login = () => ssh(version, fixture, socket, kh);
          const userKey = importPrivateKey(fixture.clientKeys[0]!.privateKeyText);
          const hostKeys = fixture.hostKeys.map((h) => ({
            keyBlob: importPublicKey(h.publicKeyLine).publicBlob,
            isCA: false,
          }));
          const origin = { username: "", hostname: "", hostKeys: [] };

          // Restricted to another host: ssh binds the session, the agent refuses.
          agent.add(userKey, {
            destinations: [{
              from: origin,
              to: {
                username: "",
                hostname: "elsewhere",
                hostKeys: [{ keyBlob: generatePrivateKey("ed25519").publicBlob, isCA: false }],
              },
            }],
          });
          let r = await login();
          assert.notEqual(r.status, 0, "login with a key restricted to another host");

          // Restricted to this server (any of its host keys) and this user: accepted.
          agent.add(userKey, {
            destinations: [{
              from: origin,
              to: { username: fixture.user.name, hostname: "fixture", hostKeys },
            }],
          });
          r = await login();
          assert.equal(r.status, 0, r.stderr);
          assert.equal(r.stdout.trim(), "ok");
          // ssh used publickey-hostbound: sshd logs the method.
          assert.match(
            await fixture.readLog(),
            /publickey-hostbound-v00@openssh\.com|Accepted publickey/,
          );

          // Unrestricted keys work as well.
          agent.removeAll();
          agent.add(userKey);
          r = await login();
          assert.equal(r.status, 0, r.stderr);
        } finally {
          await dir.remove();
        }
      });
    },
  );
}

/** Runs `ssh ... echo ok` of the given OpenSSH with only the agent at `socket` to authenticate. */
function ssh(version: OpenSSHVersion, fixture: PeerFixture, socket: string, knownHosts: string) {
  const argv = [
    "ssh",
    "-F",
    "/dev/null",
    "-p",
    String(fixture.port),
    "-l",
    fixture.user.name,
    "-o",
    "BatchMode=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `IdentityAgent=${socket}`,
    "-o",
    "PreferredAuthentications=publickey",
    "-o",
    "ConnectTimeout=10",
    fixture.host,
    "echo ok",
  ];
  return runCommand(toolCommand(version, argv), { timeoutMs: 30_000 });
}
