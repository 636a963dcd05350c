/**
 * AsyncSSH's key file readers (#20): readPublicKey, loadPublicKeys,
 * loadCertificates, readPrivateKeyList and readKnownHosts, from files written by ssh-keygen (or
 * by us) and from text.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { addKnownHost, matchKnownHosts } from "../../keys/trust/known_hosts.ts";
import { loadCertificates, loadPublicKeys, readPrivateKeyList, readPublicKey } from "./files.ts";
import { knownHostsVerifier, readKnownHosts } from "./known_hosts.ts";
import { keygenTest } from "../../keys/_ssh_keygen_test_util.ts";

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "sshts-files-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const a = generatePrivateKey("ed25519"), b = generatePrivateKey("ecdsa");

test("readPublicKey() reads a .pub file, text, a blob and RFC 4716", async () => {
  using t = tempDir();
  const path = join(t.dir, "id.pub");
  writeFileSync(path, a.exportPublicKey());
  assert.ok((await readPublicKey(path)).equals(a));
  assert.ok((await readPublicKey(a.exportPublicKey())).equals(a));
  assert.ok((await readPublicKey(b.exportPublicKey("rfc4716"))).equals(b));
  assert.ok((await readPublicKey(a.publicBlob)).equals(a));
  await assert.rejects(readPublicKey(join(t.dir, "missing.pub")), /Cannot read public key file/);
});

test("loadPublicKeys() reads every key of each file and text, in order", async () => {
  using t = tempDir();
  const one = join(t.dir, "one.pub"), two = join(t.dir, "two.pub");
  writeFileSync(one, `# team\n${a.exportPublicKey()}\n${b.exportPublicKey()}`);
  writeFileSync(two, b.exportPublicKey("rfc4716"));
  const keys = await loadPublicKeys([one, two, a]);
  assert.deepEqual(
    keys.map((k) => k.getFingerprint()),
    [a, b, b, a].map((k) => k.getFingerprint()),
  );
  assert.equal((await loadPublicKeys(one)).length, 2);
  assert.equal((await loadPublicKeys(a.exportPublicKey() + b.exportPublicKey())).length, 2);
});

test("loadCertificates() reads certificate files and lines", async () => {
  using t = tempDir();
  const c1 = createCertificate({ key: a, caKey: b, type: "user", keyId: "one" });
  const c2 = createCertificate({ key: b, caKey: b, type: "host", keyId: "two" });
  const path = join(t.dir, "id-cert.pub");
  writeFileSync(path, c1.exportCertificate() + "\n" + c2.exportCertificate() + "\n");
  assert.deepEqual((await loadCertificates(path)).map((c) => c.keyId), ["one", "two"]);
  assert.deepEqual(
    (await loadCertificates([c2.exportCertificate(), path, c1])).map((c) => c.keyId),
    ["two", "one", "two", "one"],
  );
  await assert.rejects(loadCertificates([join(t.dir, "none")]), /Cannot read certificate file/);
});

test("readKnownHosts() reads one file, several (skipping missing ones), or text", async () => {
  using t = tempDir();
  const f1 = join(t.dir, "known_hosts"), f2 = join(t.dir, "ssh_known_hosts");
  writeFileSync(f1, addKnownHost("", "a.example", 22, a) + "bad line\n");
  writeFileSync(f2, addKnownHost("", "b.example", 2222, b, { hashed: true }));
  const one = await readKnownHosts(f1);
  assert.equal(one.entries.length, 1);
  assert.equal(one.errors[0]?.line, 2);
  const both = await readKnownHosts([f1, join(t.dir, "missing"), f2]);
  assert.ok(matchKnownHosts(both, "b.example", undefined, 2222).trustedHostKeys[0]?.equals(b));
  const text = await readKnownHosts({ text: addKnownHost("", "c.example", 22, a) });
  assert.equal(text.entries.length, 1);
});

test("a known_hosts path that is a FIFO or a directory trusts nothing, and never waits", {
  skip: process.platform === "win32" && "no FIFOs",
}, async () => {
  using t = tempDir();
  const fifo = join(t.dir, "fifo");
  execFileSync("mkfifo", [fifo]); // no writer: reading it would wait forever
  const good = join(t.dir, "known_hosts");
  writeFileSync(good, addKnownHost("", "a.example", 22, a));
  const kh = await readKnownHosts([fifo, t.dir, good]);
  assert.equal(kh.entries.length, 1, "the regular file is still read");
  const verify = await knownHostsVerifier({ files: [fifo, t.dir] });
  assert.throws(
    () => verify({ host: "a.example", port: 22, keyBlob: a.publicBlob } as never),
    /is not known/,
  );
});

keygenTest("readPublicKey() and loadCertificates() read files ssh-keygen wrote", async (k) => {
  k.run(["-q", "-t", "ecdsa", "-N", "", "-f", k.path("id")]);
  k.run(["-q", "-t", "ed25519", "-N", "", "-f", k.path("ca")]);
  k.run(["-q", "-s", k.path("ca"), "-I", "kid", "-n", "alice", k.path("id.pub")]);
  const key = await readPublicKey(k.path("id.pub"));
  assert.equal(key.getFingerprint(), k.fingerprint("id.pub"));
  const [cert] = await loadCertificates([k.path("id-cert.pub")]);
  assert.equal(cert!.keyId, "kid");
  assert.ok(cert!.key.equals(key));
});

test("readPrivateKeyList() reads every private key of a file, text or bytes, in order", async () => {
  using t = tempDir();
  const c = generatePrivateKey("ecdsa", { keySize: 384 });
  const text = a.exportPrivateKey("openssh", { passphrase: "pw", rounds: 1 }) +
    b.exportPrivateKey("pkcs8-pem", { passphrase: "pw" }) + c.exportPrivateKey("sec1-pem");
  const path = join(t.dir, "keys.pem");
  writeFileSync(path, text);
  for (const input of [path, text, new TextEncoder().encode(text)]) {
    const keys = await readPrivateKeyList(input, "pw");
    assert.deepEqual(keys.map((k) => k.getFingerprint()), [a, b, c].map((k) => k.getFingerprint()));
    assert.ok(keys.every((k) => k.hasPrivateKey()));
  }
  await assert.rejects(readPrivateKeyList(path, "wrong"), (e: Error) => {
    assert.match(e.message, /private key 1 of the list/);
    assert.ok(e.message.includes(path), e.message);
    return true;
  });
  await assert.rejects(
    readPrivateKeyList(join(t.dir, "missing.pem")),
    /Cannot read private key file/,
  );
});

test("knownHostsVerifier({ files }) sees a host added, changed or removed at once, and a large hashed file is looked up once per host", async () => {
  using t = tempDir();
  const f = join(t.dir, "known_hosts");
  const info = (key: typeof a) => ({ host: "a.example", port: 22, keyBlob: key.publicBlob });
  const verify = async () => (await knownHostsVerifier({ files: [f] }))(info(a) as never);
  await assert.rejects(verify(), /is not known/);
  // Written just now (the parse is not kept while the file settles): seen at once.
  writeFileSync(f, addKnownHost("", "a.example", 22, a, { hashed: true }));
  assert.equal(await verify(), true);
  const other = generatePrivateKey("ed25519");
  writeFileSync(f, addKnownHost("", "a.example", 22, other, { hashed: true }));
  await assert.rejects(verify(), /has changed/);
  // A settled file, parsed once and kept: edits made afterwards still count.
  let text = "";
  for (let i = 0; i < 500; i++) text += addKnownHost("", `h${i}.example`, 22, b, { hashed: true });
  writeFileSync(f, text + addKnownHost("", "a.example", 22, a, { hashed: true }));
  const old = (Date.now() - 10_000) / 1000;
  utimesSync(f, old, old);
  assert.equal(await verify(), true);
  assert.equal(await verify(), true);
  writeFileSync(f, text);
  utimesSync(f, old - 5, old - 5);
  await assert.rejects(verify(), /is not known/);
  const kept = await knownHostsVerifier({ files: [f] });
  assert.ok(Object.isFrozen(kept.knownHosts), "the shared parse cannot be changed by a caller");
  assert.ok(Object.isFrozen(kept.knownHosts.entries));
  assert.ok(
    Object.isFrozen(kept.knownHosts.entries[0]) &&
      Object.isFrozen(kept.knownHosts.entries[0]!.hashed),
  );
});

test("a known_hosts file that fails to read for another reason than permission fails the check instead of trusting nothing", async () => {
  using t = tempDir();
  const loop = join(t.dir, "known_hosts");
  symlinkSync(loop, loop); // ELOOP: neither missing nor unreadable by permission
  const good = join(t.dir, "other_known_hosts");
  writeFileSync(good, addKnownHost("", "b.example", 22, b));
  const verify = await knownHostsVerifier({ files: [loop, good] }).then(
    (v) => v,
    (e: unknown) => e as Error,
  );
  // Taken as empty, it would make a.example look new (and `accept-new` learn any key).
  assert.ok(verify instanceof Error, "the verifier is not built");
  assert.match((verify as Error).message, /known_hosts file .* cannot be read/);
  // readKnownHosts() keeps its contract: what cannot be read trusts nothing.
  assert.equal((await readKnownHosts([loop, good])).entries.length, 1);
});
