import assert from "node:assert/strict";
import { test } from "node:test";
import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { seededRandom } from "../../core/random.ts";
import { hashedNameMatches, hmacSha1Name } from "./hashed_names.ts";

test("hmacSha1Name is HMAC-SHA1 for every salt up to a block and names of every length", () => {
  const random = seededRandom(3);
  // Names cross every padding boundary: 55/56 bytes (one or two tail blocks), 64, 119/120...
  for (let len = 0; len <= 200; len++) {
    const salt = random(1 + (len % 64));
    const name = random(len);
    assert.deepEqual(hmacSha1Name(salt, name), hmac(sha1, salt, name), `length ${len}`);
    // Again with the same salt (its pad states kept): the same answer.
    assert.deepEqual(hmacSha1Name(salt, name), hmac(sha1, salt, name));
  }
  // RFC 2202 test case 2: key "Jefe".
  const jefe = hmacSha1Name(
    new TextEncoder().encode("Jefe"),
    new TextEncoder().encode("what do ya want for nothing?"),
  );
  assert.equal(
    Array.from(jefe, (b) => b.toString(16).padStart(2, "0")).join(""),
    "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
  );
  assert.throws(() => hmacSha1Name(new Uint8Array(65), new Uint8Array(1)), RangeError);
});

test("hashedNameMatches finds the name a line was hashed for, and only that one", () => {
  const random = seededRandom(4);
  const salt = random(20);
  const name = new TextEncoder().encode("[db.example.com]:2222");
  const hash = hmac(sha1, salt, name);
  assert.ok(hashedNameMatches(salt, hash, name));
  assert.ok(!hashedNameMatches(salt, hash, new TextEncoder().encode("[db.example.com]:2223")));
  const flipped = hash.slice();
  flipped[19]! ^= 1;
  assert.ok(!hashedNameMatches(salt, flipped, name));
  assert.ok(!hashedNameMatches(salt, hash.subarray(0, 19), name));
});

test("a salt changed in place gets the HMAC of its new bytes", () => {
  const salt = new Uint8Array(20).fill(1);
  const name = new TextEncoder().encode("example.com");
  assert.deepEqual(hmacSha1Name(salt, name), hmac(sha1, salt, name));
  salt.fill(2);
  assert.deepEqual(hmacSha1Name(salt, name), hmac(sha1, salt, name));
});
