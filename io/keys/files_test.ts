import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { currentRuntime } from "../runtime/env.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { KeyImportError } from "../../keys/errors.ts";
import type { SSHKeyPair } from "../../keys/key_pair.ts";
import { SETTLE_MS } from "../runtime/file_cache.ts";
import {
  loadIdentityFiles,
  loadKeyFile,
  loadKeyPairs,
  loadPublicKeys,
  readCertificate,
  readPrivateKey,
  readPublicKey,
} from "./files.ts";
import { execFileSync, spawnSync } from "node:child_process";

function tempDir(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), "sshts-files-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

const key = generatePrivateKey("ed25519"), other = generatePrivateKey("ecdsa");

test("loadKeyPairs() with ignoreErrors skips a bad -cert.pub but keeps the key beside it", async () => {
  using t = tempDir();
  const path = join(t.dir, "id_ed25519");
  writeFileSync(path, key.exportPrivateKey("openssh"));
  const good = createCertificate({ key, caKey: other, type: "user", keyId: "good" });
  writeFileSync(`${path}-cert.pub`, good.exportCertificate());
  const both = await loadKeyPairs([path], { ignoreErrors: true });
  assert.deepEqual(both.map((p) => p.certificate?.keyId), ["good", undefined]);
  // One try covered the key and its certificate: a corrupt certificate, or one for
  // another key, dropped the valid key too (loadDefaultClientKeys always ignores errors).
  const forOther = createCertificate({ key: other, caKey: other, type: "user", keyId: "o" });
  for (
    const bad of ["ssh-ed25519-cert-v01@openssh.com AAAA garbage\n", forOther.exportCertificate()]
  ) {
    writeFileSync(`${path}-cert.pub`, bad);
    const pairs = await loadKeyPairs([path], { ignoreErrors: true });
    assert.equal(pairs.length, 1, bad);
    assert.ok(pairs[0]!.key.equals(key));
    assert.equal(pairs[0]!.certificate, undefined);
    await assert.rejects(loadKeyPairs([path]), bad);
  }
});

test("loadIdentityFiles() gives what loadKeyPairs() with ignoreErrors does, and keeps settled keys until their file changes", async () => {
  using t = tempDir();
  const [plain, encrypted, missing, dir] = ["id_plain", "id_enc", "id_missing", "id_dir"].map((
    n,
  ) => join(t.dir, n));
  writeFileSync(plain!, key.exportPrivateKey("openssh"));
  const cert = createCertificate({ key, caKey: other, type: "user", keyId: "beside" });
  writeFileSync(`${plain}-cert.pub`, cert.exportCertificate());
  writeFileSync(encrypted!, other.exportPrivateKey("openssh", { passphrase: "pw", rounds: 2 }));
  mkdirSync(dir!);
  const paths = [plain!, encrypted!, missing!, dir!];
  const describe = (pairs: SSHKeyPair[]) =>
    pairs.map((p) => [p.key.getFingerprint(), p.certificate?.keyId]);
  const expected = describe(await loadKeyPairs(paths, { ignoreErrors: true }));
  assert.deepEqual(expected, [[key.getFingerprint(), "beside"], [key.getFingerprint(), undefined]]);
  assert.deepEqual(describe(await loadIdentityFiles(paths)), expected);

  // Files changed less than SETTLE_MS ago are read again each time; settled ones are kept.
  await new Promise((r) => setTimeout(r, SETTLE_MS + 200));
  const first = await loadIdentityFiles(paths);
  const second = await loadIdentityFiles(paths);
  assert.deepEqual(describe(second), expected);
  assert.equal(second[1]!.key, first[1]!.key, "a settled, unchanged key file is not read again");
  assert.equal(second[0]!.certificate, first[0]!.certificate);
  // A key file named in clientKeys: the same kept key, and the same pairs as loadKeyPairs.
  const named = await loadKeyFile(plain!);
  assert.deepEqual(describe(named), expected);
  assert.equal(named[1]!.key, first[1]!.key);

  // A key file replaced by another key: the new key, and its old certificate no longer goes.
  writeFileSync(plain!, other.exportPrivateKey("openssh"));
  assert.deepEqual(describe(await loadIdentityFiles(paths)), [[other.getFingerprint(), undefined]]);
  // Encrypted and then removed: skipped, as loadKeyPairs skips them.
  writeFileSync(plain!, key.exportPrivateKey("openssh", { passphrase: "pw", rounds: 2 }));
  assert.deepEqual(await loadIdentityFiles(paths), []);
  rmSync(plain!);
  assert.deepEqual(await loadIdentityFiles(paths), []);
});

test("loadKeyFile() fails as loadKeyPairs() does where it cannot answer from what it kept", async () => {
  using t = tempDir();
  const path = join(t.dir, "id");
  const failure = (p: Promise<unknown>) =>
    p.then(() => "resolved", (e: Error & { code?: string }) => `${e.name} ${e.code}`);
  const same = async (passphrase?: string) => {
    const want = await failure(loadKeyPairs([path], passphrase ? { passphrase } : {}));
    assert.equal(await failure(loadKeyFile(path, passphrase)), want);
    return want;
  };
  assert.match(await same(), /ERR_KEY_IMPORT/); // missing
  writeFileSync(path, key.exportPrivateKey("openssh", { passphrase: "pw", rounds: 2 }));
  assert.notEqual(await same(), "resolved"); // encrypted, no passphrase
  assert.equal(await same("pw"), "resolved");
  writeFileSync(path, key.exportPrivateKey("openssh"));
  assert.equal(await same(), "resolved");
  const forOther = createCertificate({ key: other, caKey: other, type: "user", keyId: "o" });
  for (
    const bad of ["ssh-ed25519-cert-v01@openssh.com AAAA garbage\n", forOther.exportCertificate()]
  ) {
    writeFileSync(`${path}-cert.pub`, bad);
    assert.notEqual(await same(), "resolved", bad);
  }
  const good = createCertificate({ key, caKey: other, type: "user", keyId: "good" });
  writeFileSync(`${path}-cert.pub`, good.exportCertificate());
  assert.deepEqual((await loadKeyFile(path)).map((p) => p.certificate?.keyId), ["good", undefined]);
});

test(
  "loadIdentityFiles() reads a kept key again after the process gives up root, and skips it then",
  {
    skip: process.geteuid?.() !== 0
      ? "needs root (to give it up)"
      : typeof process.setuid !== "function"
      ? "this runtime cannot give up root (no process.setuid)"
      : undefined,
  },
  async () => {
    using t = tempDir();
    chmodSync(t.dir, 0o755); // nobody may stat the key file, not read it
    const path = join(t.dir, "id_root");
    writeFileSync(path, key.exportPrivateKey("openssh"), { mode: 0o600 });
    await new Promise((r) => setTimeout(r, SETTLE_MS + 200)); // settled: kept once read
    const probe = fileURLToPath(new URL("./_identity_setuid_probe_test_util.ts", import.meta.url));
    const argv = currentRuntime() === "deno"
      ? [(globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath(), "run", "-A"]
      : [process.execPath];
    const r = spawnSync(argv[0]!, [...argv.slice(1), probe, path], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").at(-1)!), { before: 1, after: 0 });
  },
);

test("readPublicKey() and loadPublicKeys() give a certificate's certified key, with its comment", async () => {
  using t = tempDir();
  const cert = createCertificate({ key, caKey: other, type: "user", keyId: "k", comment: "me@h" });
  const path = join(t.dir, "id_ed25519-cert.pub");
  writeFileSync(path, cert.exportCertificate());
  for (const input of [path, cert.exportCertificate(), cert.blob]) {
    const got = await readPublicKey(input);
    assert.ok(got.equals(key) && !got.hasPrivateKey());
    if (typeof input === "string") assert.equal(got.getComment(), "me@h");
  }
  // In a list, in file order among other keys; a bad certificate line is named by number.
  const text = `# keys\n${other.exportPublicKey()}${cert.exportCertificate()}` +
    other.exportPublicKey("rfc4716");
  const keys = await loadPublicKeys([text, path, cert.blob]);
  assert.deepEqual(
    keys.map((k) => k.getFingerprint()),
    [other, key, other, key, key].map((k) => k.getFingerprint()),
  );
  assert.equal(keys[1]!.getComment(), "me@h");
  await assert.rejects(
    loadPublicKeys(`${other.exportPublicKey()}ssh-ed25519-cert-v01@openssh.com AAAA\n`),
    (e) => e instanceof KeyImportError && /\(line 2\)/.test(e.message),
  );
});

test("a key, certificate or public key path that is a FIFO is refused at once, never waited on", {
  skip: process.platform === "win32" && "no FIFOs",
}, async () => {
  using t = tempDir();
  const fifo = join(t.dir, "fifo");
  execFileSync("mkfifo", [fifo]); // no writer: reading it would wait forever
  await assert.rejects(readPrivateKey(fifo), /not a regular file/);
  await assert.rejects(readCertificate(fifo), /not a regular file/);
  await assert.rejects(readPublicKey(fifo), /not a regular file/);
  // A FIFO where a key's -cert.pub would be: the key still loads.
  const path = join(t.dir, "id_ed25519");
  writeFileSync(path, key.exportPrivateKey("openssh"));
  execFileSync("mkfifo", [`${path}-cert.pub`]);
  const pairs = await loadKeyPairs([path], { ignoreErrors: true });
  assert.equal(pairs.length, 1);
  assert.equal(pairs[0]!.certificate, undefined);
});

test("a key, certificate or public key file that cannot be read is a KeyImportError, as a bad one is", async () => {
  const missing = join(tmpdir(), "sshts-no-such-dir", "id_ed25519");
  for (const read of [readPrivateKey, readCertificate, readPublicKey]) {
    await assert.rejects(
      read(missing),
      (e: unknown) =>
        e instanceof KeyImportError && e.code === "ERR_KEY_IMPORT" && e.message.includes(missing),
    );
  }
});

test("readPrivateKey() takes importPrivateKey()'s passphrase forms: a string, bytes or options", async () => {
  const key = generatePrivateKey("ed25519");
  const text = key.exportPrivateKey("openssh", { passphrase: "pw", rounds: 2 });
  for (const passphrase of ["pw", new TextEncoder().encode("pw"), { passphrase: "pw" }]) {
    assert.ok((await readPrivateKey(text, passphrase)).publicKey().equals(key.publicKey()));
  }
});
