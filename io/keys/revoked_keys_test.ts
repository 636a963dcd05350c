import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCertificate } from "../../keys/certificates/certificate.ts";
import { KeyImportError } from "../../keys/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { MAX_KRL_BYTES, parseKRL } from "../../keys/trust/krl.ts";
import { certSection, krl, section, str, T, u64 } from "../../keys/trust/_krl_test_util.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { SSHWriter } from "../../core/wire.ts";
import { loadRevokedKeys } from "./revoked_keys.ts";

const ca = generatePrivateKey("ed25519");
const lost = generatePrivateKey("ed25519").publicKey();
const kept = generatePrivateKey("ecdsa").publicKey();
const krlBytes = krl([
  section(T.explicitKey, str(lost.publicBlob)),
  certSection(ca.publicBlob, section(T.serialList, u64(9n))),
]);
const cert = (serial: bigint, key = kept) =>
  createCertificate({ key, caKey: ca, type: "host", keyId: "h", serial });

test("loadRevokedKeys() reads key lists and KRLs from files, text, bytes and objects", async () => {
  const dir = mkdtempSync(join(tmpdir(), "revoked-"));
  try {
    const listFile = join(dir, "revoked_keys");
    writeFileSync(listFile, `# lost\n\n${lost.exportPublicKey()}`);
    const krlFile = join(dir, "revoked.krl");
    writeFileSync(krlFile, krlBytes);
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    for (
      const source of [
        listFile,
        krlFile,
        [listFile],
        lost.exportPublicKey(),
        [lost],
        [lost.publicBlob],
        krlBytes,
        parseKRL(krlBytes),
        [generatePrivateKey("ed25519").publicKey(), krlBytes],
      ]
    ) {
      const r = await loadRevokedKeys(source);
      assert.equal(r.isRevoked(lost), true, String(source));
      assert.equal(r.isRevoked(kept), false, String(source));
      assert.equal(r.isRevoked(cert(1n, lost)), true, "a certificate of a revoked key");
    }
    const byKRL = await loadRevokedKeys(krlFile);
    assert.equal(byKRL.isRevoked(cert(9n)), true);
    assert.equal(byKRL.isRevoked(cert(8n)), false);
    const byCA = await loadRevokedKeys([ca.publicKey()]);
    assert.equal(byCA.isRevoked(cert(8n)), true, "a certificate of a revoked CA");
    assert.equal((await loadRevokedKeys(empty)).empty, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadRevokedKeys() names what it cannot load", async () => {
  const dir = mkdtempSync(join(tmpdir(), "revoked-"));
  try {
    const bad = join(dir, "bad.krl");
    writeFileSync(bad, krlBytes.subarray(0, krlBytes.length - 3));
    await assert.rejects(
      loadRevokedKeys(bad, "revokedHostKeys"),
      (e) =>
        e instanceof KeyImportError &&
        e.message.startsWith(
          `Cannot load revokedHostKeys from ${bad}: Cannot parse key revocation list`,
        ),
    );
    await assert.rejects(
      loadRevokedKeys(join(dir, "missing")),
      (e) => e instanceof KeyImportError && /Cannot load revoked keys: Cannot read/.test(e.message),
    );
    // Past the KRL cap, refused before it is read into memory; a directory is no list.
    const big = join(dir, "big.krl");
    writeFileSync(big, "");
    truncateSync(big, MAX_KRL_BYTES + 1);
    await assert.rejects(
      loadRevokedKeys(big),
      (e) => e instanceof KeyImportError && /larger than 16777216 bytes/.test(e.message),
    );
    await assert.rejects(
      loadRevokedKeys(dir),
      (e) => e instanceof KeyImportError && /not a regular file/.test(e.message),
    );
    await assert.rejects(
      loadRevokedKeys([krlBytes.subarray(0, 30)]),
      (e) => e instanceof KeyImportError && /key revocation list/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** An RSA public key blob whose mpints carry an extra leading zero byte (OpenSSH reads it too). */
function paddedRsaBlob(e: bigint, n: bigint): Uint8Array {
  const padded = (v: bigint) =>
    Uint8Array.of(0, ...new SSHWriter().writeMpint(v).toBytes().subarray(4));
  return new SSHWriter().writeStringUtf8("ssh-rsa").writeString(padded(e)).writeString(padded(n))
    .toBytes();
}

test("a revoked key sent with non-minimal mpints is still revoked, listed or in a KRL", async () => {
  const rsa = SSHKey.fromMaterial({ type: "rsa", e: 65537n, n: (1n << 2047n) + 1n });
  const odd = paddedRsaBlob(65537n, (1n << 2047n) + 1n);
  assert.notDeepEqual(odd, rsa.publicBlob);
  const listed = await loadRevokedKeys([rsa]);
  assert.equal(listed.isRevoked(SSHKey.fromPublicBlob(odd)), true);
  assert.equal(listed.isRevokedKeyBlob(odd), true);
  // And the other way round: the list holds the odd encoding, the client sends the usual one.
  assert.equal((await loadRevokedKeys([odd])).isRevokedKeyBlob(rsa.publicBlob), true);
  const inKRL = await loadRevokedKeys(krl([section(T.explicitKey, str(rsa.publicBlob))]));
  assert.equal(inKRL.isRevokedKeyBlob(odd), true);
});

test("loadRevokedKeys() reads a certificate line of a list file as its certified key, as sshd", async () => {
  const dir = mkdtempSync(join(tmpdir(), "revoked-"));
  try {
    // `cat id_ed25519-cert.pub >> revoked_keys`: sshd revokes that key (and each certificate
    // of it) and lets the others in; the file must not fail to load, which refuses everyone.
    const listFile = join(dir, "revoked_keys");
    const lostCert = createCertificate({ key: lost, caKey: ca, type: "user", keyId: "u" });
    writeFileSync(listFile, `# lost laptop\n${lostCert.exportCertificate()}`);
    const r = await loadRevokedKeys(listFile);
    assert.equal(r.isRevoked(lost), true);
    assert.equal(r.isRevoked(cert(3n, lost)), true, "another certificate of the key");
    assert.equal(r.isRevoked(kept), false);
    assert.equal(r.isRevoked(cert(3n)), false, "the CA is not revoked by it");
    // A bad certificate line still fails the load, naming its line.
    writeFileSync(
      listFile,
      `${lost.exportPublicKey().trimEnd()}\nssh-ed25519-cert-v01@openssh.com AAAA\n`,
    );
    await assert.rejects(loadRevokedKeys(listFile), /line 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
