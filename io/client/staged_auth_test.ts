/**
 * Staged authentication (`connect({ authenticate })`) and host-based
 * authentication from connect(), against our own server on loopback.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { clientKeyFromSSHKey, hostKeyFromSSHKey } from "../keys/signers.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import type { HostBasedClientInfo, ListenOptions } from "../server/options.ts";
import { connect } from "./connect.ts";
import type { StagedAuthResult } from "./staged_auth.ts";

const hostKey = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");
const otherKey = generatePrivateKey("ed25519");
const clientHost = generatePrivateKey("ecdsa-sha2-nistp256");

async function server(
  options: Partial<ListenOptions> = {},
  userAuth = true,
): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKeyFromSSHKey(hostKey)],
    authFailureDelay: 0,
    ...(userAuth
      ? {
        validatePassword: (user: string, pw: string) => user === "alice" && pw === "pw",
        validatePublicKey: (_user: string, key: { key?: SSHKey }) =>
          key.key !== undefined && userKey.publicKey().equals(key.key),
      }
      : {}),
    processFactory: async (p) => {
      await p.write(`hi ${p.connection?.username}\n`);
    },
    ...options,
  } as ListenOptions);
}

test("staged: one method at a time on one connection, each answer visible", async () => {
  await using s = await server();
  const log: (StagedAuthResult & { what: string })[] = [];
  let firstMethods: readonly string[] = [];
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    connectTimeout: 10_000,
    authenticate: async (auth) => {
      firstMethods = auth.methods;
      assert.equal(auth.authenticated, false);
      log.push({ what: "none", ...(await auth.none()) });
      log.push({ what: "wrong key", ...(await auth.publicKey(clientKeyFromSSHKey(otherKey))) });
      log.push({ what: "wrong pw", ...(await auth.password("nope")) });
      log.push({
        what: "kbdint wrong",
        ...(await auth.keyboardInteractive((_n, _i, prompts) => prompts.map(() => "nope"))),
      });
      log.push({ what: "key", ...(await auth.publicKey(clientKeyFromSSHKey(userKey))) });
      assert.equal(auth.authenticated, true);
    },
  });
  assert.ok(firstMethods.includes("publickey") && firstMethods.includes("password"));
  assert.deepEqual(log.map((r) => [r.what, r.success]), [
    ["none", false],
    ["wrong key", false],
    ["wrong pw", false],
    ["kbdint wrong", false],
    ["key", true],
  ]);
  assert.ok(log[2]!.methods.includes("password"));
  assert.equal(log[2]!.partialSuccess, false);
  const { stdout } = await conn.run("x");
  assert.equal(stdout, "hi alice\n");
});

test("staged: a key that cannot sign says why in its answer, and the next attempt starts clean", async () => {
  await using s = await server();
  const k = clientKeyFromSSHKey(userKey);
  const unplugged = { ...k, sign: () => Promise.reject(new Error("token unplugged")) };
  const answers: StagedAuthResult[] = [];
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    connectTimeout: 10_000,
    logger: { warn: () => {} },
    authenticate: async (auth) => {
      answers.push(await auth.publicKey(unplugged));
      answers.push(await auth.password("nope"));
      answers.push(await auth.publicKey(k));
    },
  });
  assert.equal(answers[0]!.success, false);
  assert.match(
    answers[0]!.signingError ?? "",
    /signing with the key ssh-ed25519 failed: token unplugged/,
  );
  assert.equal(answers[1]!.signingError, undefined);
  assert.equal(answers[2]!.success, true);
  assert.equal((await conn.run("x")).stdout, "hi alice\n");
});

test("staged: a password after failures; giving up rejects with ERR_PERMISSION_DENIED", async () => {
  await using s = await server();
  await using ok = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    authenticate: async (auth) => {
      assert.equal((await auth.password("bad")).success, false);
      assert.equal((await auth.password("pw")).success, true);
    },
  });
  assert.ok(ok.engine.authenticated);
  await assert.rejects(
    connect("127.0.0.1", {
      port: s.address.port,
      username: "alice",
      knownHosts: null,
      authenticate: async (auth) => {
        await auth.password("bad");
      },
    }),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
  await assert.rejects(
    connect("127.0.0.1", {
      port: s.address.port,
      username: "alice",
      knownHosts: null,
      authenticate: () => {
        throw new Error("changed my mind");
      },
    }),
    /changed my mind/,
  );
});

test("hostbased from connect(): the HOST key signs; staged hostBased too", async () => {
  const seen: HostBasedClientInfo[] = [];
  await using s = await server({
    validateHostBasedUser: (user, client) => {
      seen.push(client);
      return user === "alice" && client.username === "bob" &&
        client.hostname === "client.example." &&
        new Uint8Array(client.keyBlob).toString() === clientHost.publicBlob.toString();
    },
  }, false);
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    // A user key that would be refused: the host key must be the one that signs.
    clientKeys: [clientKeyFromSSHKey(otherKey)],
    hostBased: { hostKey: clientHost, localHostname: "client.example", localUsername: "bob" },
  });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.algorithm, "ecdsa-sha2-nistp256");
  assert.equal((await conn.run("x")).stdout, "hi alice\n");
  await using staged = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    authenticate: async (auth) => {
      assert.deepEqual([...auth.methods], ["hostbased"]);
      const r = await auth.hostBased({
        hostKey: clientKeyFromSSHKey(clientHost),
        localHostname: "client.example.",
        localUsername: "bob",
      });
      assert.equal(r.success, true);
    },
  });
  assert.ok(staged.engine.authenticated);
  await assert.rejects(
    connect("127.0.0.1", {
      port: s.address.port,
      username: "alice",
      knownHosts: null,
      hostBased: { hostKey: otherKey, localHostname: "client.example", localUsername: "bob" },
    }),
    (e: Error & { code?: string }) => e.code === "ERR_PERMISSION_DENIED",
  );
});
