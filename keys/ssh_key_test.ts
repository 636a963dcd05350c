import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../core/errors.ts";
import { seededRandom } from "../core/random.ts";
import { SSHWriter } from "../core/wire.ts";
import { generatePrivateKey } from "./generate.ts";
import { importPublicKey } from "./formats/import.ts";
import { SSHKey } from "./ssh_key.ts";
import { KeyImportError } from "./errors.ts";

// A public key and what `ssh-keygen -l` (and `-l -E md5`) printed for it.
const LINE =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPloysTBsoIpccdFuhWaXhTsvZZFbH/PapG2mclKgeMK c ed25519";
const SHA256 = "SHA256:NZvLVirtGjSNpGyAmqOpfPBjUZfsrhLk1G75wr5BZOU";
const MD5 = "MD5:2f:3c:58:af:39:55:29:32:b1:7f:af:34:b1:8e:81:cb";

test("SSHKey.getFingerprint() matches ssh-keygen -l for a fixed key", () => {
  const key = importPublicKey(LINE);
  assert.equal(key.getFingerprint(), SHA256);
  assert.equal(key.getFingerprint("sha256"), SHA256);
  assert.equal(key.getFingerprint("md5"), MD5);
  assert.equal(key.getComment(), "c ed25519");
  assert.equal(key.getBits(), 256);
  assert.equal(key.exportPublicKey(), LINE + "\n");
});

test("SSHKey.sign() and verify() work for every type and signature algorithm", () => {
  const data = new TextEncoder().encode("session id and stuff");
  const keys = [
    generatePrivateKey("ed25519"),
    generatePrivateKey("ecdsa-sha2-nistp256"),
    generatePrivateKey("ecdsa-sha2-nistp384"),
    generatePrivateKey("ecdsa-sha2-nistp521"),
    generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(5) }),
  ];
  for (const key of keys) {
    const pub = key.publicKey();
    for (const alg of key.getSigAlgorithms()) {
      const sig = key.sign(data, alg);
      const allowed = { allowedAlgorithms: [alg] };
      assert.ok(pub.verify(data, sig, allowed), alg);
      assert.equal(pub.verify(new Uint8Array([1]), sig, allowed), false, alg);
    }
    assert.ok(pub.verify(data, key.sign(data)), key.getAlgorithm());
    assert.throws(() => pub.sign(data), LocalProtocolError);
  }
});

test("SSHKey.getSigAlgorithms() lists RSA's three algorithms, others one", () => {
  const rsa = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(6) });
  assert.deepEqual(rsa.getSigAlgorithms(), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  assert.equal(rsa.getAlgorithm(), "ssh-rsa");
  assert.equal(rsa.getBits(), 1024);
  const ec = generatePrivateKey("ecdsa", { keySize: 521 });
  assert.deepEqual(ec.getSigAlgorithms(), ["ecdsa-sha2-nistp521"]);
  assert.equal(ec.getBits(), 521);
});

test("SSHKey comments can be read and changed", () => {
  const key = generatePrivateKey("ed25519", { comment: "a" });
  assert.equal(key.getComment(), "a");
  key.setComment("b c");
  assert.equal(key.getComment(), "b c");
  assert.match(key.exportPublicKey(), / b c\n$/);
  assert.equal(key.publicKey().getComment(), "b c");
});

test("SSHKey.fromPublicBlob() round-trips and rejects bad blobs with KeyImportError", () => {
  const key = generatePrivateKey("ecdsa");
  const again = SSHKey.fromPublicBlob(key.publicBlob);
  assert.ok(again.equals(key));
  assert.equal(again.hasPrivateKey(), false);
  const bad = key.publicBlob.slice(0, 30);
  assert.throws(() => SSHKey.fromPublicBlob(bad), KeyImportError);
});

test("SSHKey.fromMaterial() rejects a private key whose public part does not match", () => {
  const a = generatePrivateKey("ed25519").material;
  const b = generatePrivateKey("ed25519").material;
  if (a.type !== "ed25519" || b.type !== "ed25519") throw new Error("unreachable");
  assert.throws(
    () => SSHKey.fromMaterial({ type: "ed25519", publicKey: b.publicKey, seed: a.seed! }),
    /does not match/,
  );
});

test("SSHKey.equals() and getFingerprint() go by the key, not by non-minimal mpints in its blob", () => {
  const key = SSHKey.fromMaterial({ type: "rsa", e: 65537n, n: (1n << 2047n) + 1n });
  const padded = (v: bigint) =>
    Uint8Array.of(0, ...new SSHWriter().writeMpint(v).toBytes().subarray(4));
  const odd = SSHKey.fromPublicBlob(
    new SSHWriter().writeStringUtf8("ssh-rsa").writeString(padded(65537n))
      .writeString(padded((1n << 2047n) + 1n)).toBytes(),
  );
  assert.notDeepEqual(odd.publicBlob, key.publicBlob); // the bytes as read are kept
  assert.equal(odd.equals(key), true);
  assert.equal(key.equals(odd), true);
  assert.equal(odd.getFingerprint(), key.getFingerprint());
  assert.equal(odd.getFingerprint("md5"), key.getFingerprint("md5"));
});
