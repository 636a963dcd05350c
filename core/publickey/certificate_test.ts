import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter } from "../wire.ts";
import {
  certificateAlgorithm,
  certificateTypeForAlgorithm,
  isCertificateAlgorithm,
  plainAlgorithm,
  readCertifiedKey,
} from "./certificate.ts";
import { KeyBlobError } from "./errors.ts";

test("plainAlgorithm() and certificateAlgorithm() map names both ways", () => {
  for (
    const [cert, plain] of [
      ["ssh-ed25519-cert-v01@openssh.com", "ssh-ed25519"],
      ["rsa-sha2-512-cert-v01@openssh.com", "rsa-sha2-512"],
      ["ecdsa-sha2-nistp521-cert-v01@openssh.com", "ecdsa-sha2-nistp521"],
      ["sk-ssh-ed25519-cert-v01@openssh.com", "sk-ssh-ed25519@openssh.com"],
    ]
  ) {
    assert.equal(plainAlgorithm(cert!), plain);
    assert.equal(certificateAlgorithm(plain!), cert);
    assert.ok(isCertificateAlgorithm(cert!));
    assert.ok(!isCertificateAlgorithm(plain!));
  }
  assert.equal(plainAlgorithm("ssh-rsa"), "ssh-rsa");
});

test("certificateTypeForAlgorithm() names the blob type an algorithm needs", () => {
  assert.equal(
    certificateTypeForAlgorithm("rsa-sha2-256-cert-v01@openssh.com"),
    "ssh-rsa-cert-v01@openssh.com",
  );
  assert.equal(
    certificateTypeForAlgorithm("ssh-ed25519-cert-v01@openssh.com"),
    "ssh-ed25519-cert-v01@openssh.com",
  );
  assert.equal(certificateTypeForAlgorithm("ssh-ed25519"), undefined);
  assert.equal(certificateTypeForAlgorithm("foo-cert-v01@openssh.com"), undefined);
});

test("readCertifiedKey() reads the key after the nonce and refuses bad blobs", () => {
  const pk = new Uint8Array(32).fill(4);
  const blob = new SSHWriter().writeStringUtf8("ssh-ed25519-cert-v01@openssh.com")
    .writeString(new Uint8Array(32)).writeString(pk).writeUint64(1n).toBytes();
  const r = readCertifiedKey(blob);
  assert.equal(r.certificateType, "ssh-ed25519-cert-v01@openssh.com");
  assert.deepEqual(r.key, { type: "ed25519", publicKey: pk });
  assert.throws(() => readCertifiedKey(blob.subarray(0, 60)), KeyBlobError);
  const plain = new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(pk).toBytes();
  assert.throws(() => readCertifiedKey(plain), /not a certificate type/);
  const unknown = new SSHWriter().writeStringUtf8("ssh-foo-cert-v01@openssh.com")
    .writeString(new Uint8Array(32)).toBytes();
  assert.throws(() => readCertifiedKey(unknown), KeyBlobError);
});
