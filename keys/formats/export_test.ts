// Interop: every key and format we write is read back by the real ssh-keygen.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import type { PrivateKeyFormat, PublicKeyFormat } from "./export.ts";
import { generatePrivateKey } from "../generate.ts";
import { importPrivateKey, importPublicKey } from "./import.ts";
import type { SSHKey } from "../ssh_key.ts";
import { KeyExportError } from "../errors.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";

const PASS = "export pass";

/** Our keys of each type; RSA from a seeded source so the test is reproducible. */
function ourKeys(): [string, SSHKey][] {
  return [
    ["ed25519", generatePrivateKey("ed25519", { comment: "ed" })],
    ["ecdsa256", generatePrivateKey("ecdsa", { keySize: 256, comment: "e256" })],
    ["ecdsa384", generatePrivateKey("ecdsa", { keySize: 384, comment: "e384" })],
    ["ecdsa521", generatePrivateKey("ecdsa", { keySize: 521, comment: "e521" })],
    ["rsa", generatePrivateKey("rsa", { keySize: 2048, random: seededRandom(2048), comment: "r" })],
  ];
}

const PRIVATE_FORMATS: PrivateKeyFormat[] = ["openssh", "pem", "pkcs8-pem"];

keygenTest("exportPrivateKey() output is read by ssh-keygen -y with the same fingerprint", (k) => {
  for (const [name, key] of ourKeys()) {
    const want = key.getFingerprint();
    for (const format of PRIVATE_FORMATS) {
      for (const pass of ["", PASS]) {
        // ssh-keygen 9.2 reads Ed25519 only from its own format and PKCS#8 without PEM support.
        if (name === "ed25519" && format !== "openssh") continue;
        const file = `${name}-${format}-${pass ? "enc" : "plain"}`;
        k.write(file, key.exportPrivateKey(format, pass ? { passphrase: PASS, rounds: 2 } : {}));
        const line = k.run(["-y", "-P", pass, "-f", k.path(file)]);
        k.write(`${file}.pub`, line);
        assert.equal(k.fingerprint(`${file}.pub`), want, file);
        // And it reads back into the same key with us.
        assert.ok(importPrivateKey(k.read(file), PASS).equals(key), file);
      }
    }
  }
});

keygenTest("exportPrivateKey('openssh') with every cipher is read by ssh-keygen", (k) => {
  const key = generatePrivateKey("ecdsa", { comment: "ciphers" });
  for (
    const cipher of [
      "aes256-ctr",
      "aes128-ctr",
      "aes192-ctr",
      "aes256-cbc",
      "aes128-gcm@openssh.com",
      "aes256-gcm@openssh.com",
      "chacha20-poly1305@openssh.com",
    ]
  ) {
    k.write("key", key.exportPrivateKey("openssh", { passphrase: PASS, cipher, rounds: 1 }));
    k.write("key.pub", k.run(["-y", "-P", PASS, "-f", k.path("key")]));
    assert.equal(k.fingerprint("key.pub"), key.getFingerprint(), cipher);
    // ssh-keygen refuses a wrong passphrase, so the tag / check integers are real.
    assert.notEqual(k.tryRun(["-y", "-P", "wrong", "-f", k.path("key")]).status, 0, cipher);
  }
});

keygenTest("exportPrivateKey() keeps the comment ssh-keygen shows", (k) => {
  const key = generatePrivateKey("ed25519", { comment: "deploy@ci with spaces" });
  k.write("key", key.exportPrivateKey("openssh"));
  const out = k.run(["-l", "-f", k.path("key")]);
  assert.match(out, /deploy@ci with spaces \(ED25519\)/);
});

keygenTest("exportPublicKey() formats are read by ssh-keygen -l and -i", (k) => {
  const conversions: [PublicKeyFormat, string | null][] = [
    ["openssh", null],
    ["rfc4716", "RFC4716"],
    ["spki-pem", "PKCS8"],
    ["pkcs1-pem", "PEM"],
  ];
  for (const [name, key] of ourKeys()) {
    for (const [format, m] of conversions) {
      if (format === "pkcs1-pem" && name !== "rsa") continue;
      if (format === "spki-pem" && name === "ed25519") continue; // ssh-keygen 9.2 cannot
      const file = `${name}.${format}`;
      k.write(file, key.exportPublicKey(format));
      if (m !== null) k.write(file, k.run(["-i", "-m", m, "-f", k.path(file)]));
      assert.equal(k.fingerprint(file), key.getFingerprint(), file);
      assert.equal(k.fingerprint(file, "md5"), key.getFingerprint("md5"), file);
      assert.ok(importPublicKey(key.exportPublicKey(format)).equals(key), file);
    }
  }
});

test("exportPrivateKey() round-trips DER formats and refuses impossible ones", () => {
  for (const [name, key] of ourKeys()) {
    const der = key.exportPrivateKey("pkcs8-der");
    assert.ok(importPrivateKey(der).equals(key), name);
    const enc = key.exportPrivateKey("pkcs8-der", { passphrase: "x", rounds: 1 });
    assert.ok(importPrivateKey(enc, "x").equals(key), name);
    assert.throws(() => importPrivateKey(enc, "y"), /incorrect passphrase/);
    if (name === "rsa") {
      assert.ok(importPrivateKey(key.exportPrivateKey("pkcs1-der")).equals(key));
      assert.throws(() => key.exportPrivateKey("sec1-pem"), KeyExportError);
    } else if (name.startsWith("ecdsa")) {
      assert.ok(importPrivateKey(key.exportPrivateKey("sec1-der")).equals(key));
      assert.throws(() => key.exportPrivateKey("pkcs1-pem"), KeyExportError);
      assert.throws(() => key.exportPublicKey("pkcs1-pem"), KeyExportError);
    }
    assert.throws(() => key.exportPrivateKey("sec1-der", { passphrase: "x" }), KeyExportError);
    assert.throws(() => key.publicKey().exportPrivateKey(), /only a public part/);
    assert.ok(importPublicKey(key.exportPublicKey("spki-der")).equals(key), name);
  }
});

test("exportPrivateKey() writes legacy PEM with 3DES and PKCS#8 with 3DES too", () => {
  const key = generatePrivateKey("ecdsa");
  const pem = key.exportPrivateKey("pem", { passphrase: "p", cipher: "des-ede3-cbc" });
  assert.match(pem, /DEK-Info: DES-EDE3-CBC,/);
  assert.ok(importPrivateKey(pem, "p").equals(key));
  const p8 = key.exportPrivateKey("pkcs8-pem", { passphrase: "p", cipher: "des-ede3-cbc" });
  assert.ok(importPrivateKey(p8, "p").equals(key));
});

keygenTest("exportPrivateKey('pem') writes only ciphers ssh-keygen opens, not single DES", (k) => {
  const key = generatePrivateKey("ecdsa", { random: seededRandom(51) });
  for (const cipher of ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des-ede3-cbc"]) {
    k.write("key", key.exportPrivateKey("pem", { passphrase: PASS, cipher }));
    k.write("key.pub", k.run(["-y", "-P", PASS, "-f", k.path("key")]));
    assert.equal(k.fingerprint("key.pub"), key.getFingerprint(), cipher);
  }
  // OpenSSL 3 has DES-CBC only in its legacy provider: ssh-keygen 9.2 said "incorrect
  // passphrase" for such a file, and openssl could not read it either.
  for (const cipher of ["des-cbc", "DES-CBC"]) {
    assert.throws(
      () => key.exportPrivateKey("pem", { passphrase: PASS, cipher }),
      (e) => e instanceof KeyExportError && /unsupported cipher/.test(e.message),
    );
  }
});
