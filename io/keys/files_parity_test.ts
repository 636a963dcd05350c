/**
 * readPublicKey, readPublicKeyList, loadPublicKeys, readCertificateList and
 * loadCertificates (AsyncSSH's file readers) on files ssh-keygen wrote: a
 * public key, a list, an RFC 4716 export, a certificate and known_hosts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyImportError } from "../../keys/errors.ts";
import { SSHError } from "../../core/errors.ts";
import {
  loadCertificates,
  loadPublicKeys,
  readCertificateList,
  readPublicKey,
  readPublicKeyList,
} from "./files.ts";
import { readKnownHosts } from "./known_hosts.ts";
import { loadX509Certificates } from "./x509_verifier.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { generateX509CACertificate } from "../../keys/x509/generate.ts";
import { matchKnownHosts } from "../../keys/trust/known_hosts.ts";

function keygen(dir: string, name: string, type = "ed25519"): string {
  const path = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", name, "-f", path]);
  return path;
}

test("readPublicKey/readPublicKeyList/loadPublicKeys read ssh-keygen's files", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-pub-"));
  try {
    const a = keygen(dir, "a"), b = keygen(dir, "b", "ecdsa");
    const ka = await readPublicKey(`${a}.pub`);
    assert.equal(ka.getComment(), "a");
    assert.equal(
      ka.getFingerprint(),
      (await readPublicKey(readFileSync(`${a}.pub`, "utf8"))).getFingerprint(),
    );
    const rfc = execFileSync("ssh-keygen", ["-e", "-f", `${b}.pub`]).toString();
    writeFileSync(join(dir, "list"), `# keys\n${readFileSync(`${a}.pub`, "utf8")}\n${rfc}`);
    const list = await readPublicKeyList(join(dir, "list"));
    assert.deepEqual(list.map((k) => k.getAlgorithm()), ["ssh-ed25519", "ecdsa-sha2-nistp256"]);
    const loaded = await loadPublicKeys([`${a}.pub`, join(dir, "list"), ka]);
    assert.equal(loaded.length, 4);
    assert.equal((await loadPublicKeys(join(dir, "list"))).length, 2);
    await assert.rejects(readPublicKey(join(dir, "missing.pub")), (e) => {
      assert.ok(e instanceof SSHError && e.code === "ERR_KEY_IMPORT");
      return true;
    });
    writeFileSync(join(dir, "junk"), "not a key\n");
    await assert.rejects(readPublicKey(join(dir, "junk")), KeyImportError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readCertificateList/loadCertificates read ssh-keygen certificates", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-cert-"));
  try {
    const ca = keygen(dir, "ca"), u = keygen(dir, "u"), h = keygen(dir, "h");
    execFileSync("ssh-keygen", [
      "-q",
      "-s",
      ca,
      "-I",
      "user",
      "-n",
      "alice",
      "-V",
      "+1w",
      `${u}.pub`,
    ]);
    execFileSync("ssh-keygen", ["-q", "-s", ca, "-I", "host", "-h", "-n", "h.example", `${h}.pub`]);
    const both = join(dir, "certs");
    writeFileSync(
      both,
      readFileSync(`${u}-cert.pub`, "utf8") + "\n" + readFileSync(`${h}-cert.pub`, "utf8"),
    );
    const list = await readCertificateList(both);
    assert.deepEqual(list.map((c) => c.keyId), ["user", "host"]);
    const loaded = await loadCertificates([`${u}-cert.pub`, both]);
    assert.deepEqual(loaded.map((c) => c.certType), ["user", "user", "host"]);
    assert.equal((await loadCertificates(both)).length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("readKnownHosts() reads known_hosts files; a missing file adds nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-kh-"));
  try {
    const a = keygen(dir, "a");
    const line = `h.example,192.0.2.1 ${readFileSync(`${a}.pub`, "utf8").trim()}`;
    writeFileSync(join(dir, "known_hosts"), `# comment\n${line}\nbroken\n`);
    const kh = await readKnownHosts([join(dir, "known_hosts"), join(dir, "missing")]);
    assert.equal(kh.entries.length, 1);
    assert.equal(kh.errors.length, 1);
    assert.equal(matchKnownHosts(kh, "192.0.2.1").trustedHostKeys.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("loadX509Certificates() reads PEM text, files and hash directories", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x509-"));
  try {
    const k = generatePrivateKey("ed25519");
    const ca = generateX509CACertificate(k, k, "CN=Dir Root", { now: Date.now() });
    writeFileSync(join(dir, "5d8c1a2b.0"), ca.exportPem());
    writeFileSync(join(dir, "README"), "not a certificate\n");
    const fromDir = await loadX509Certificates([dir]);
    assert.equal(fromDir.length, 1);
    assert.deepEqual(fromDir[0]!.der, ca.der);
    const fromFile = await loadX509Certificates([join(dir, "5d8c1a2b.0"), ca.exportPem(), ca]);
    assert.equal(fromFile.length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
