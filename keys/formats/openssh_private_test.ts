import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import { generatePrivateKey } from "../generate.ts";
import {
  decodeOpenSSHPrivateKey,
  encodeOpenSSHPrivateKey,
  inspectOpenSSHPrivateKey,
} from "./openssh_private.ts";
import { importPrivateKey } from "./import.ts";
import { KeyImportError } from "../errors.ts";

const CIPHERS = [
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
  "aes128-cbc",
  "aes192-cbc",
  "aes256-cbc",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
  "3des-cbc",
];

test("encodeOpenSSHPrivateKey() round-trips with every cipher", () => {
  const key = generatePrivateKey("ecdsa", { random: seededRandom(1) });
  for (const cipher of CIPHERS) {
    const bin = encodeOpenSSHPrivateKey(key.material, "c", { passphrase: "pw", cipher, rounds: 1 });
    const info = inspectOpenSSHPrivateKey(bin);
    assert.deepEqual([info.cipher, info.kdf, info.rounds, info.encrypted], [
      cipher,
      "bcrypt",
      1,
      true,
    ]);
    const back = decodeOpenSSHPrivateKey(bin, "pw");
    assert.equal(back.comment, "c");
    assert.deepEqual(back.key, key.material);
    assert.throws(() => decodeOpenSSHPrivateKey(bin, "wrong"), /incorrect passphrase/, cipher);
  }
});

test("decodeOpenSSHPrivateKey() refuses more bcrypt rounds than allowed", () => {
  const key = generatePrivateKey("ed25519");
  // Encode with 1 round, then patch the stored round count (encoding 5000 would take a minute).
  const bin = encodeOpenSSHPrivateKey(key.material, "", { passphrase: "pw", rounds: 1 });
  // magic 15, "aes256-ctr" 4+10, "bcrypt" 4+6, options length 4, salt 4+16: then rounds.
  const at = 15 + 14 + 10 + 4 + 20;
  new DataView(bin.buffer).setUint32(at, 5000);
  assert.equal(inspectOpenSSHPrivateKey(bin).rounds, 5000);
  assert.throws(() => decodeOpenSSHPrivateKey(bin, "pw"), /rounds 5000 outside 1..1024/);
  assert.throws(() => decodeOpenSSHPrivateKey(bin, "pw", { maxKdfRounds: 10 }), /1..10/);
});

test("decodeOpenSSHPrivateKey() detects corruption of an unencrypted key", () => {
  const key = generatePrivateKey("ed25519");
  const bin = encodeOpenSSHPrivateKey(key.material, "comment");
  const bad = bin.slice();
  bad[bad.length - 20] = bad[bad.length - 20]! ^ 1; // inside the private section
  assert.throws(() => decodeOpenSSHPrivateKey(bad), KeyImportError);
});

test("encodeOpenSSHPrivateKey() refuses unknown ciphers", () => {
  const key = generatePrivateKey("ed25519");
  assert.throws(
    () => encodeOpenSSHPrivateKey(key.material, "", { passphrase: "p", cipher: "arcfour256" }),
    /unsupported cipher/,
  );
});

test("decodeOpenSSHPrivateKey() throws only KeyImportError on truncated and mutated files", () => {
  const rnd = seededRandom(fuzzSeed(11));
  const keys = [
    generatePrivateKey("ed25519"),
    generatePrivateKey("ecdsa"),
    generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(4) }),
  ];
  for (const key of keys) {
    for (const pass of [undefined, "pw"]) {
      const bin = encodeOpenSSHPrivateKey(key.material, "c", {
        ...(pass ? { passphrase: pass, rounds: 1, cipher: "aes128-gcm@openssh.com" } : {}),
      });
      for (let i = 0; i < fuzzRuns(pass ? 40 : 150); i++) {
        const r = rnd(4);
        let input = bin.slice(0, bin.length - (r[0]! % bin.length));
        if (i % 2) {
          input = bin.slice();
          const at = ((r[1]! << 8) | r[2]!) % input.length;
          input[at] = input[at]! ^ (r[3]! | 1);
        }
        try {
          importPrivateKey(input, pass);
        } catch (e) {
          assert.ok(e instanceof KeyImportError, `${key.getAlgorithm()}: ${e}`);
        }
      }
    }
  }
});
