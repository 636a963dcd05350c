/**
 * loadAuthorizedKeys keeps what it made of a keys text and of a key list (a server asks at
 * every login), and still answers for what the caller changed since.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import { loadAuthorizedKeys } from "./authorized_keys.ts";

const alice = generatePrivateKey("ed25519");
const bob = generatePrivateKey("ed25519");
const line = (k: SSHKey) => k.exportPublicKey("openssh").trim();

test("loadAuthorizedKeys: the same text is parsed once; another text is parsed anew", async () => {
  const text = `restrict ${line(alice)}\n`;
  const first = await loadAuthorizedKeys(text);
  assert.equal(first.length, 1);
  assert.equal(await loadAuthorizedKeys(text), first);
  assert.equal(await loadAuthorizedKeys(`${text}`.slice(0)), first);
  const both = await loadAuthorizedKeys(`${text}${line(bob)}\n`);
  assert.notEqual(both, first);
  assert.deepEqual(both.map((e) => e.key.getFingerprint()), [
    alice.getFingerprint(),
    bob.getFingerprint(),
  ]);
  assert.equal(both[0]!.options.restrict, true);
  // Shared by every login: a hook cannot change them for the others.
  assert.ok(Object.isFrozen(both) && Object.isFrozen(both[0]) && Object.isFrozen(both[0]!.options));
  assert.ok(Object.isFrozen(both[0]!.options.permitOpen));
});

test("loadAuthorizedKeys: a list is converted again once its items change", async () => {
  const list: SSHKey[] = [alice.publicKey()];
  const first = await loadAuthorizedKeys(list);
  assert.equal(await loadAuthorizedKeys(list), first);
  assert.ok(Object.isFrozen(first[0]!.options), "entries made from keys are frozen");
  const own = { ...first[0]!, options: { ...first[0]!.options } };
  const mixed = await loadAuthorizedKeys([own]);
  assert.equal(mixed[0], own);
  assert.ok(
    !Object.isFrozen(own) && !Object.isFrozen(own.options),
    "the caller's entries are left as given",
  );
  list.push(bob.publicKey());
  const grown = await loadAuthorizedKeys(list);
  assert.deepEqual(grown.map((e) => e.key.getFingerprint()), [
    alice.getFingerprint(),
    bob.getFingerprint(),
  ]);
  list[0] = bob.publicKey();
  list.pop();
  const swapped = await loadAuthorizedKeys(list);
  assert.deepEqual(swapped.map((e) => e.key.getFingerprint()), [bob.getFingerprint()]);
});

test("listen(): a key added to the authorizedClientKeys list logs in at the next connection", async () => {
  const authorized: SSHKey[] = [alice.publicKey()];
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    authorizedClientKeys: authorized,
    processFactory: (p) => p.exit(0),
  });
  const login = async (key: SSHKey) => {
    const conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "u",
      knownHosts: null,
      agent: false,
      config: false,
      clientKeys: [key],
    });
    await conn.close();
  };
  await login(alice);
  await assert.rejects(login(bob), { code: "ERR_PERMISSION_DENIED" });
  authorized.push(bob.publicKey());
  await login(bob);
  authorized.splice(0, 1);
  await assert.rejects(login(alice), { code: "ERR_PERMISSION_DENIED" });
});

test("listen(): a key whose comment holds a line break is an authorized key, its comment kept", async () => {
  // ssh-keygen -C $'alice\nlaptop' makes such keys; exporting one as a line refuses it.
  const carol = generatePrivateKey("ed25519", { comment: "carol\nlaptop" });
  const [entry] = await loadAuthorizedKeys([carol.publicKey()]);
  assert.equal(entry!.comment, "carol\nlaptop");
  assert.equal(entry!.key.getFingerprint(), carol.getFingerprint());
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [generatePrivateKey("ed25519")],
    authFailureDelay: 0,
    authorizedClientKeys: [carol.publicKey()],
    processFactory: (p) => p.exit(0),
  });
  const conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    knownHosts: null,
    agent: false,
    config: false,
    clientKeys: [carol],
  });
  await conn.close();
});
