import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../core/random.ts";
import { generatePrivateKey } from "./generate.ts";
import { generateRsaKeyMaterial, isProbablePrime } from "./_crypto/rsa_keygen.ts";
import { KeyGenerationError } from "./errors.ts";

test("generatePrivateKey() makes Ed25519 and ECDSA keys of each size", () => {
  assert.equal(generatePrivateKey("ed25519").getAlgorithm(), "ssh-ed25519");
  assert.equal(generatePrivateKey("ssh-ed25519").getBits(), 256);
  assert.equal(generatePrivateKey("ecdsa").getAlgorithm(), "ecdsa-sha2-nistp256");
  for (const size of [256, 384, 521]) {
    const k = generatePrivateKey("ecdsa", { keySize: size, comment: "x" });
    assert.equal(k.getAlgorithm(), `ecdsa-sha2-nistp${size}`);
    assert.equal(k.getComment(), "x");
    assert.ok(k.hasPrivateKey());
  }
  assert.equal(generatePrivateKey("ecdsa-sha2-nistp384").getBits(), 384);
});

test("generatePrivateKey() is deterministic with a seeded random source", () => {
  const a = generatePrivateKey("ed25519", { random: seededRandom(9) });
  const b = generatePrivateKey("ed25519", { random: seededRandom(9) });
  assert.ok(a.equals(b));
  const c = generatePrivateKey("ecdsa", { random: seededRandom(9) });
  const d = generatePrivateKey("ecdsa", { random: seededRandom(9) });
  assert.ok(c.equals(d));
});

test("generatePrivateKey('rsa') makes a consistent key of exactly the asked size", () => {
  const k = generateRsaKeyMaterial(2048, 65537n, seededRandom(1));
  assert.equal(k.n.toString(2).length, 2048);
  assert.equal(k.p! * k.q!, k.n);
  assert.equal((k.e * k.d!) % ((k.p! - 1n) * (k.q! - 1n) / gcd(k.p! - 1n, k.q! - 1n)), 1n);
  assert.equal((k.qi! * k.q!) % k.p!, 1n);
  const key = generatePrivateKey("rsa", { keySize: 1024, exponent: 3, random: seededRandom(2) });
  assert.equal(key.getBits(), 1024);
  assert.equal(key.material.type === "rsa" && key.material.e, 3n);
});

test("generatePrivateKey() rejects bad sizes, exponents and algorithms", () => {
  assert.throws(() => generatePrivateKey("rsa", { keySize: 1000 }), KeyGenerationError);
  assert.throws(() => generatePrivateKey("rsa", { keySize: 512 }), KeyGenerationError);
  assert.throws(() => generatePrivateKey("rsa", { keySize: 2048, exponent: 4 }), /exponent/);
  assert.throws(() => generatePrivateKey("ecdsa", { keySize: 224 }), /256, 384 or 521/);
  assert.throws(() => generatePrivateKey("ed25519", { keySize: 448 }), KeyGenerationError);
  assert.throws(
    () => generatePrivateKey("ecdsa-sha2-nistp256", { keySize: 384 }),
    KeyGenerationError,
  );
  assert.throws(() => generatePrivateKey("dsa" as "rsa"), /unsupported algorithm/);
});

test("isProbablePrime() separates primes, composites and Carmichael numbers", () => {
  const r = seededRandom(3);
  for (const p of [2n, 3n, 5n, 65537n, 2n ** 61n - 1n, 2n ** 127n - 1n, 2n ** 521n - 1n]) {
    assert.ok(isProbablePrime(p, 10, r), String(p));
  }
  for (const c of [1n, 4n, 561n, 41041n, 3215031751n, (2n ** 61n - 1n) * (2n ** 31n - 1n)]) {
    assert.equal(isProbablePrime(c, 10, r), false, String(c));
  }
});

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

test("generatePrivateKey('rsa') refuses exponents a key blob could not carry, with KeyGenerationError", () => {
  for (const exponent of [2n ** 65n + 1n, 1.5, 4, 1]) {
    assert.throws(
      () => generatePrivateKey("rsa", { keySize: 1024, exponent }),
      KeyGenerationError,
      String(exponent),
    );
  }
});

test("generatePrivateKey('rsa') with a random source that is not random fails instead of looping", () => {
  for (const random of [(n: number) => new Uint8Array(n).fill(7), () => new Uint8Array(0)]) {
    assert.throws(
      () => generatePrivateKey("rsa", { keySize: 1024, random }),
      (e: Error) => e instanceof KeyGenerationError && /random source/.test(e.message),
    );
  }
});
