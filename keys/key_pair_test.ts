import { test } from "node:test";
import assert from "node:assert/strict";
import { verifyKeyBlobSignature } from "../core/publickey/key_blob.ts";
import { LocalProtocolError } from "../core/errors.ts";
import { generateUserCertificate } from "./certificates/certificate.ts";
import { generatePrivateKey } from "./generate.ts";
import { SSHKeyPair } from "./key_pair.ts";

const ca = generatePrivateKey("ed25519");
const rsa = generatePrivateKey("rsa", { keySize: 2048 });

test("SSHKeyPair presents a certificate and signs with its key", () => {
  const cert = generateUserCertificate(ca, rsa, "k", { principals: ["u"] });
  const pair = new SSHKeyPair(rsa, cert);
  assert.equal(pair.keyType, "ssh-rsa-cert-v01@openssh.com");
  assert.deepEqual(pair.publicKeyBlob, cert.blob);
  assert.deepEqual(pair.getSigAlgorithms(), [
    "rsa-sha2-512-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
  ]);
  const data = new Uint8Array([9, 8, 7]);
  for (const alg of pair.getSigAlgorithms()) {
    assert.ok(verifyKeyBlobSignature(alg, pair.publicKeyBlob, pair.sign(data, alg), data), alg);
  }
});

test("SSHKeyPair without a certificate is the plain key", () => {
  const key = generatePrivateKey("ed25519", { comment: "c" });
  const pair = new SSHKeyPair(key);
  assert.equal(pair.keyType, "ssh-ed25519");
  assert.deepEqual(pair.publicKeyBlob, key.publicBlob);
  assert.equal(pair.getComment(), "c");
});

test("SSHKeyPair refuses public keys and certificates for other keys", () => {
  assert.throws(() => new SSHKeyPair(rsa.publicKey()), LocalProtocolError);
  const other = generateUserCertificate(ca, ca, "k", { principals: ["u"] });
  assert.throws(() => new SSHKeyPair(rsa, other), /is for key/);
});
