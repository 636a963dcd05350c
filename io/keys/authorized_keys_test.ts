/**
 * loadAuthorizedKeys keeps what it made of a keys text and of a key list (a server asks at
 * every login), and still answers for what the caller changed since.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { SSHKey } from "../../keys/ssh_key.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import { SETTLE_MS } from "../runtime/file_cache.ts";
import { AuthorizedKeysFiles, loadAuthorizedKeys } from "./authorized_keys.ts";
import { inTempDir } from "../runtime/_temp_dir_test_util.ts";

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

/** Sets the file's modification time to `mtimeMs` (its change time stays the real one). */
function setMtime(path: string, mtimeMs: number): void {
  utimesSync(path, mtimeMs / 1000, mtimeMs / 1000);
}

const fingerprints = (entries: readonly { key: SSHKey }[]) =>
  entries.map((e) => e.key.getFingerprint());

test(
  "AuthorizedKeysFiles: an unchanged file is parsed once, a changed or replaced one again",
  inTempDir("sshts-ak-", async (dir) => {
    const path = join(dir, "authorized_keys");
    // Alice's line and Bob's have the same length: the edits below keep the file's size.
    writeFileSync(path, `restrict ${line(alice)}\n`);
    const mtime = Date.now() - 60_000;
    setMtime(path, mtime);
    let now = Date.now() + 10_000; // the change time settled, as on a server
    const files = new AuthorizedKeysFiles(() => now);
    const first = await files.load(path);
    assert.deepEqual(fingerprints(first), [alice.getFingerprint()]);
    assert.equal(await files.load(path), first, "the same entries: not parsed again");
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first[0]!.options));

    // Edited in place, same size, a second later. (Its modification time put back, the change
    // time alone would tell, but Deno gives that in whole seconds: the SETTLE_MS window, which
    // this clock skips, covers that.)
    writeFileSync(path, `restrict ${line(bob)}\n`);
    setMtime(path, mtime + 1_000);
    now = Date.now() + 10_000;
    const edited = await files.load(path);
    assert.deepEqual(fingerprints(edited), [bob.getFingerprint()]);
    assert.equal(await files.load(path), edited);

    // Replaced by another file (a new inode) of the same size and times.
    const next = join(dir, "next");
    writeFileSync(next, `restrict ${line(alice)}\n`);
    setMtime(next, mtime);
    renameSync(next, path);
    now = Date.now() + 10_000;
    assert.deepEqual(fingerprints(await files.load(path)), [alice.getFingerprint()]);
  }),
);

test(
  "AuthorizedKeysFiles: a file changed within SETTLE_MS is read at every load; a missing one is none",
  inTempDir("sshts-ak-", async (dir) => {
    const path = join(dir, "authorized_keys");
    let now = Date.now();
    const files = new AuthorizedKeysFiles(() => now);
    assert.deepEqual(await files.load(path), []);
    writeFileSync(path, `${line(alice)}\n`);
    // Just written: its times may not tell the next write of the same size apart.
    const a = await files.load(path);
    assert.deepEqual(fingerprints(a), [alice.getFingerprint()]);
    assert.notEqual(await files.load(path), a, "not kept");
    now = Date.now() + SETTLE_MS + 1_000;
    const settled = await files.load(path);
    assert.equal(await files.load(path), settled);
    rmSync(path);
    assert.deepEqual(await files.load(path), []);
  }),
);

test(
  "loadAuthorizedKeys(path) reads each login's file: a key added is authorized at the next login",
  inTempDir("sshts-ak-", async (dir) => {
    const path = join(dir, "authorized_keys");
    writeFileSync(path, `${line(alice)}\n`);
    assert.deepEqual(fingerprints(await loadAuthorizedKeys(path)), [alice.getFingerprint()]);
    writeFileSync(path, `${line(alice)}\n${line(bob)}\n`);
    assert.deepEqual(fingerprints(await loadAuthorizedKeys(path)), [
      alice.getFingerprint(),
      bob.getFingerprint(),
    ]);
  }),
);
