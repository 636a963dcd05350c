/**
 * Our client authenticates to real peers by every method they offer: ed25519,
 * ecdsa and rsa keys, password, keyboard-interactive; and is refused cleanly.
 */
import assert from "node:assert/strict";
import { conformanceTest, type PeerName } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { connect } from "../io/client/connect.ts";
import { SSHError } from "../core/errors.ts";

const PEERS: readonly PeerName[] = ["openssh", "openssh-trixie", "dropbear"];

for (const peer of PEERS) {
  for (const keyName of ["ed25519", "ecdsa-p256", "rsa-3072"] as const) {
    conformanceTest(
      `connect() authenticates to ${peer} with an ${keyName} key`,
      { peers: [peer] },
      async () => {
        const f = await sharedPeer(peer);
        const key = f.clientKeys.find((k) => k.name === keyName)!;
        await using conn = await connect(f.host, {
          port: f.port,
          username: f.user.name,
          clientKeys: [key.privateKeyPath],
          knownHosts: f.knownHostsPath,
          preferredAuth: ["publickey"],
        });
        const r = await conn.run("whoami", { check: true });
        assert.equal(r.stdout.toString().trim(), f.user.name);
      },
    );
  }

  conformanceTest(
    `connect() authenticates to ${peer} with a password`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connect(f.host, {
        port: f.port,
        username: f.user.name,
        password: f.user.password,
        preferredAuth: ["password"],
        knownHosts: f.knownHostsPath,
      });
      assert.equal((await conn.run("echo pw", { check: true })).stdout, "pw\n");
    },
  );

  conformanceTest(`connect() is refused by ${peer} with a wrong password, listing what it tried`, {
    peers: [peer],
  }, async () => {
    const f = await sharedPeer(peer);
    await assert.rejects(
      connect(f.host, {
        port: f.port,
        username: f.user.name,
        password: "not-the-password",
        preferredAuth: ["password"],
        knownHosts: f.knownHostsPath,
      }),
      (e: unknown) =>
        e instanceof SSHError && e.code === "ERR_PERMISSION_DENIED" &&
        /tried password/.test(e.message),
    );
  });

  conformanceTest(`connect() refuses ${peer} when its host key is not in known_hosts`, {
    peers: [peer],
  }, async () => {
    const f = await sharedPeer(peer);
    await assert.rejects(
      connect(f.host, {
        port: f.port,
        username: f.user.name,
        password: f.user.password,
        knownHosts: { text: "" },
      }),
      (e: unknown) =>
        e instanceof SSHError && e.code === "ERR_HOST_KEY_NOT_VERIFIABLE" &&
        /not known/.test(e.message),
    );
  });
}

for (const peer of ["openssh", "openssh-trixie"] as const) {
  conformanceTest(
    `connect() authenticates to ${peer} by keyboard-interactive`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      const prompts: string[] = [];
      await using conn = await connect(f.host, {
        port: f.port,
        username: f.user.name,
        preferredAuth: ["keyboard-interactive"],
        kbdintResponses: (_name, _instruction, ps) => {
          prompts.push(...ps.map((p) => p.prompt));
          return ps.map(() => f.user.password);
        },
        knownHosts: f.knownHostsPath,
      });
      assert.equal((await conn.run("echo kbd", { check: true })).stdout, "kbd\n");
      assert.ok(prompts.some((p) => /password/i.test(p)), `prompts: ${prompts.join("|")}`);
      assert.equal(conn.getExtraInfo().username, f.user.name);
    },
  );
}
