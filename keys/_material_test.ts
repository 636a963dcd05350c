import { test } from "node:test";
import assert from "node:assert/strict";
import { modInverse } from "../core/publickey/bigint.ts";
import type { RsaKeyMaterial } from "../core/publickey/types.ts";
import { seededRandom } from "../core/random.ts";
import { checkKeyMaterial, dsaSizeProblem } from "./_material.ts";
import { derInteger, derOctetString, derOid, derSequence } from "./formats/asn1.ts";
import { importPrivateKey } from "./formats/import.ts";
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

test("DSA keys with sizes outside FIPS 186 are refused before any exponentiation", () => {
  // A 16384-bit p with a 65536-bit x and q: minutes of modPow before this check existed.
  const big = (bits: number) => (1n << BigInt(bits - 1)) | 1n;
  const der = derSequence(
    derInteger(0),
    derSequence(
      derOid("1.2.840.10040.4.1"),
      derSequence(derInteger(big(16384)), derInteger(big(65537)), derInteger(3)),
    ),
    derOctetString(derInteger(big(65536))),
  );
  assert.throws(
    () => importPrivateKey(der),
    (e: Error) => e instanceof KeyImportError && /DSA modulus of 16384 bits/.test(e.message),
  );
  assert.match(dsaSizeProblem(big(1024), big(512)) ?? "", /subgroup order of 512 bits/);
  assert.equal(dsaSizeProblem(big(1024), big(160)), "DSA subgroup order does not divide p - 1");
  // A real key's sizes pass (1024/160, as ssh-keygen makes them).
  const q = (1n << 159n) + 7n;
  assert.equal(dsaSizeProblem(q * (1n << 864n) + 1n, q), undefined);
});
