import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { SSHWriter } from "../wire.ts";
import { encodePublicKeyBlob, writePublicKeyBody } from "./blob.ts";
import { certificateAlgorithm } from "./certificate.ts";
import { checkKeyBlobSignature, signingKeyOfBlob, verifyKeyBlobSignature } from "./key_blob.ts";
import { signData } from "./sign.ts";
import type { KeyMaterial } from "./types.ts";
import { nodeRsaKey } from "./_test_util.ts";
import { fakeSecurityKey } from "../testing/fixtures.ts";

/** A certificate-shaped blob: type, nonce, key body, then filler (the transport ignores the rest). */
function certBlob(key: KeyMaterial, keyType: string): Uint8Array {
  const w = new SSHWriter().writeStringUtf8(certificateAlgorithm(keyType))
    .writeString(new Uint8Array(32));
  writePublicKeyBody(key, w);
  return w.writeUint64(0n).writeUint32(1).toBytes();
}

const seed = new Uint8Array(32).fill(11);
const ed = { type: "ed25519" as const, publicKey: ed25519.getPublicKey(seed), seed };
const ecPriv = new Uint8Array(32).fill(12);
const ec = {
  type: "ecdsa" as const,
  curve: "nistp256" as const,
  publicKey: p256.getPublicKey(ecPriv, false),
  privateKey: ecPriv,
};
const rsa = nodeRsaKey(2048).material;
const data = new TextEncoder().encode("exchange hash");

test("verifyKeyBlobSignature() checks certificate algorithms with the certified key", () => {
  const cases: [KeyMaterial, string, string][] = [
    [ed, "ssh-ed25519", "ssh-ed25519"],
    [ec, "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256"],
    [rsa, "ssh-rsa", "rsa-sha2-512"],
    [rsa, "ssh-rsa", "rsa-sha2-256"],
    [rsa, "ssh-rsa", "ssh-rsa"],
  ];
  for (const [key, keyType, sigAlg] of cases) {
    const blob = certBlob(key, keyType);
    const sig = signData(key, sigAlg, data);
    const alg = certificateAlgorithm(sigAlg);
    assert.ok(verifyKeyBlobSignature(alg, blob, sig, data), alg);
    assert.ok(!verifyKeyBlobSignature(alg, blob, sig, new Uint8Array(3)), `${alg} wrong data`);
    // The plain algorithm with a certificate blob, or the certificate algorithm with a plain blob.
    assert.ok(!verifyKeyBlobSignature(sigAlg, blob, sig, data), `${sigAlg} with a cert blob`);
    assert.ok(!verifyKeyBlobSignature(alg, encodePublicKeyBlob(key), sig, data));
  }
});

test("verifyKeyBlobSignature() refuses a signature whose name disagrees with the algorithm", () => {
  const blob = certBlob(rsa, "ssh-rsa");
  const sig256 = signData(rsa, "rsa-sha2-256", data);
  assert.ok(!verifyKeyBlobSignature("rsa-sha2-512-cert-v01@openssh.com", blob, sig256, data));
  const edBlob = certBlob(ed, "ssh-ed25519");
  assert.ok(
    !verifyKeyBlobSignature(
      "ecdsa-sha2-nistp256-cert-v01@openssh.com",
      edBlob,
      signData(ed, "ssh-ed25519", data),
      data,
    ),
  );
});

test("verifyKeyBlobSignature() never throws on garbage", () => {
  for (let n = 0; n < 200; n++) {
    const junk = new Uint8Array(n).map((_, i) => (i * 37 + n) & 0xff);
    assert.equal(
      verifyKeyBlobSignature("ssh-ed25519-cert-v01@openssh.com", junk, junk, junk),
      false,
    );
    assert.equal(verifyKeyBlobSignature("x509v3-ssh-rsa", junk, junk, junk), false);
  }
});

test("checkKeyBlobSignature() returns what a FIDO authenticator attested, for plain and certified keys", () => {
  const sk = fakeSecurityKey(13);
  const plain = "sk-ssh-ed25519@openssh.com";
  const cert = "sk-ssh-ed25519-cert-v01@openssh.com";
  for (const [alg, blob] of [[plain, sk.publicBlob], [cert, certBlob(sk.key, plain)]] as const) {
    for (const flags of [0x00, 0x01, 0x04, 0x05]) {
      const r = checkKeyBlobSignature(alg, blob, sk.sign(data, flags, 77), data);
      assert.deepEqual(
        r,
        {
          valid: true,
          sk: { flags, counter: 77, userPresent: (flags & 1) !== 0, userVerified: flags >= 4 },
        },
        `${alg} flags ${flags}`,
      );
    }
    assert.deepEqual(checkKeyBlobSignature(alg, blob, sk.sign(data, 1), new Uint8Array(1)), {
      valid: false,
    });
  }
  // Other keys have nothing to attest.
  assert.deepEqual(
    checkKeyBlobSignature(
      "ssh-ed25519",
      encodePublicKeyBlob(ed),
      signData(ed, "ssh-ed25519", data),
      data,
    ),
    { valid: true },
  );
});

test("signingKeyOfBlob() names the kind of blob", () => {
  assert.equal(signingKeyOfBlob(certBlob(ed, "ssh-ed25519")).kind, "openssh-certificate");
  assert.equal(signingKeyOfBlob(encodePublicKeyBlob(ec)).kind, "plain");
});
