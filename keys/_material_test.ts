import { test } from "node:test";
import assert from "node:assert/strict";
import { modInverse } from "../core/publickey/bigint.ts";
import type { RsaKeyMaterial } from "../core/publickey/types.ts";
import { seededRandom } from "../core/random.ts";
import { checkKeyMaterial } from "./_material.ts";
import { KeyImportError } from "./errors.ts";
import { generatePrivateKey } from "./generate.ts";

test("checkKeyMaterial() refuses an RSA private key whose public exponent is over 64 bits, as a public blob's", () => {
  const k = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(7) })
    .material as RsaKeyMaterial;
  const phi = (k.p! - 1n) * (k.q! - 1n);
  const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b));
  // The same primes with a consistent 65-bit e (and its d): only its size is wrong.
  let e = (1n << 64n) + 1n;
  while (gcd(e, phi) !== 1n) e += 2n;
  const d = modInverse(e, phi);
  const big: RsaKeyMaterial = { ...k, e, d, dp: d % (k.p! - 1n), dq: d % (k.q! - 1n) };
  assert.throws(
    () => checkKeyMaterial(big, "a test key"),
    (err: Error) =>
      err instanceof KeyImportError && /exponent of 65 bits exceeds 64/.test(err.message),
  );
  checkKeyMaterial(k, "a test key"); // the key as generated passes
});
