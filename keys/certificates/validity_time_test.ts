import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyImportError } from "../errors.ts";
import { generatePrivateKey } from "../generate.ts";
import { createCertificate } from "./certificate.ts";
import { parseValidityTime } from "./validity_time.ts";

const NOW = Date.UTC(2030, 5, 15, 12, 0, 0);
const NOW_S = BigInt(NOW / 1000);

test("parseValidityTime() reads relative, absolute and named times", () => {
  assert.equal(parseValidityTime("now", NOW), NOW_S);
  assert.equal(parseValidityTime("always", NOW), 0n);
  assert.equal(parseValidityTime("forever", NOW), 0xffffffffffffffffn);
  assert.equal(parseValidityTime("+1w2d", NOW), NOW_S + 9n * 86400n);
  assert.equal(parseValidityTime("-1h30m", NOW), NOW_S - 5400n);
  assert.equal(parseValidityTime("+90", NOW), NOW_S + 90n);
  assert.equal(parseValidityTime("20300101", NOW), BigInt(Date.UTC(2030, 0, 1) / 1000));
  assert.equal(
    parseValidityTime("203001021304", NOW),
    BigInt(Date.UTC(2030, 0, 2, 13, 4) / 1000),
  );
  assert.equal(
    parseValidityTime("20300102130405Z", NOW),
    BigInt(Date.UTC(2030, 0, 2, 13, 4, 5) / 1000),
  );
});

test("parseValidityTime() refuses malformed times with KeyImportError", () => {
  for (
    const bad of [
      "",
      "+",
      "+1y",
      "1w",
      "2030010",
      "20301301",
      "20300230",
      "+1d x",
      "-99999999w",
      "+99999999999999999999w",
      "x".repeat(65),
    ]
  ) {
    assert.throws(() => parseValidityTime(bad, NOW), KeyImportError, bad);
  }
});

test("parseValidityTime(): seeded random strings either parse or throw KeyImportError", () => {
  let seed = 20;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = "+-0123456789smhdwZnoalwfyx ";
  for (let i = 0; i < 3000; i++) {
    let s = "";
    for (let n = rand(20); n > 0; n--) s += alphabet[rand(alphabet.length)];
    try {
      const t = parseValidityTime(s, NOW);
      assert.equal(typeof t, "bigint");
    } catch (e) {
      assert.ok(e instanceof KeyImportError, `${JSON.stringify(s)}: ${e}`);
    }
  }
});

test("createCertificate() takes validity strings relative to `now`", () => {
  const ca = generatePrivateKey("ed25519");
  const cert = createCertificate({
    key: generatePrivateKey("ed25519"),
    caKey: ca,
    type: "user",
    keyId: "rel",
    validAfter: "-5m",
    validBefore: "+1w2d",
    now: NOW,
  });
  assert.equal(cert.validAfter, NOW_S - 300n);
  assert.equal(cert.validBefore, NOW_S + 9n * 86400n);
});
