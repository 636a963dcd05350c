import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCertificateTime } from "./validity.ts";
import { createCertificate, generateUserCertificate, importCertificate } from "./certificate.ts";
import { generatePrivateKey } from "../generate.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const NOW_S = BigInt(NOW / 1000);

test("parseCertificateTime() reads relative times with combined units", () => {
  assert.equal(parseCertificateTime("+1w2d", NOW), NOW_S + 9n * 86400n);
  assert.equal(parseCertificateTime("-1d", NOW), NOW_S - 86400n);
  assert.equal(parseCertificateTime("+3600", NOW), NOW_S + 3600n);
  assert.equal(parseCertificateTime("+1h30m15s", NOW), NOW_S + 5415n);
  assert.equal(parseCertificateTime("+52W", NOW), NOW_S + 52n * 604800n);
  assert.equal(parseCertificateTime("-100000w", NOW), 0n); // clamped at the epoch
});

test("parseCertificateTime() reads absolute UTC times and the words", () => {
  assert.equal(parseCertificateTime("20250102"), BigInt(Date.UTC(2025, 0, 2) / 1000));
  assert.equal(parseCertificateTime("202501021230"), BigInt(Date.UTC(2025, 0, 2, 12, 30) / 1000));
  assert.equal(
    parseCertificateTime("20250102123045Z"),
    BigInt(Date.UTC(2025, 0, 2, 12, 30, 45) / 1000),
  );
  assert.equal(parseCertificateTime("always"), 0n);
  assert.equal(parseCertificateTime("forever"), 0xffffffffffffffffn);
});

test("parseCertificateTime() rejects bad strings and relative times without now", () => {
  for (
    const bad of ["", "+", "+1x", "1w", "2025010", "20251301", "20250230", "+1w 2d", "x".repeat(80)]
  ) {
    assert.throws(() => parseCertificateTime(bad, NOW), RangeError, bad);
  }
  assert.throws(() => parseCertificateTime("+1d"), /relative/);
});

test("createCertificate() and generateUserCertificate() take validity strings", () => {
  const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
  const a = createCertificate({
    key: user,
    caKey: ca,
    type: "user",
    keyId: "a",
    validAfter: "-1d",
    validBefore: "+1w2d",
    now: NOW,
  });
  assert.equal(a.validAfter, NOW_S - 86400n);
  assert.equal(a.validBefore, NOW_S + 9n * 86400n);
  const b = generateUserCertificate(ca, user, "b", {
    validAfter: "20250101",
    validBefore: "forever",
  });
  assert.equal(b.validAfter, BigInt(Date.UTC(2025, 0, 1) / 1000));
  assert.equal(b.validBefore, 0xffffffffffffffffn);
  assert.throws(
    () => createCertificate({ key: user, caKey: ca, type: "user", keyId: "c", validBefore: "+1d" }),
    /relative/,
  );
});

keygenTest("validity strings give the times ssh-keygen -V gives", (k) => {
  const ca = generatePrivateKey("ed25519"), user = generatePrivateKey("ed25519");
  k.write("ca", ca.exportPrivateKey("openssh"));
  k.write("user.pub", user.exportPublicKey());
  const check = (spec: string, after: string, before: string) => {
    const now = Date.now();
    k.run(["-q", "-s", k.path("ca"), "-I", "id", "-V", spec, k.path("user.pub")]);
    const theirs = importCertificate(k.read("user-cert.pub"));
    const ours = createCertificate({
      key: user,
      caKey: ca,
      type: "user",
      keyId: "id",
      validAfter: after,
      validBefore: before,
      now,
    });
    // ssh-keygen ran within a few seconds of `now`.
    const near = (a: bigint, b: bigint) => (a > b ? a - b : b - a) <= 5n;
    assert.ok(near(theirs.validAfter, ours.validAfter), `${spec} after`);
    assert.ok(near(theirs.validBefore, ours.validBefore), `${spec} before`);
  };
  check("-1d:+1w2d", "-1d", "+1w2d");
  check("-90m:+3600", "-90m", "+3600");
  check("always:forever", "always", "forever");
  // ssh-keygen reads absolute times in local time: compare only where that is UTC.
  if (new Date().getTimezoneOffset() === 0) {
    check("20250101:20300102123000", "20250101", "20300102123000");
  }
});

test("parseCertificateTime() refuses a long digit run with a bad unit without backtracking", () => {
  // The old nested pattern tried every split of the digits: 2^n steps for n digits.
  const value = "+" + "1".repeat(62) + "x";
  assert.equal(value.length, 64); // the longest string looked at
  assert.throws(() => parseCertificateTime(value, NOW), /expected e\.g\. \+1w2d/);
  // The same strings as before are read.
  for (const ok of ["+1", "+1w2d3", "-10s", "+1d2h3m4s5w", "+0"]) {
    assert.equal(typeof parseCertificateTime(ok, NOW), "bigint", ok);
  }
  for (const bad of ["+", "+d", "+1dd", "+1d-2h", "+1 d", "+1x", "+w1"]) {
    assert.throws(() => parseCertificateTime(bad, NOW), RangeError, bad);
  }
});
