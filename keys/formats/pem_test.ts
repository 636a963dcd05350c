import { test } from "node:test";
import assert from "node:assert/strict";
import { encodePem, looksLikePem, parsePem, parsePemBlock } from "./pem.ts";
import { KeyImportError } from "../errors.ts";
import { decodeBase64, encodeBase64 } from "../_base64.ts";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";

test("encodePem() and parsePem() round-trip bodies and headers", () => {
  const body = seededRandom(1)(200);
  const text = encodePem("RSA PRIVATE KEY", body, [["Proc-Type", "4,ENCRYPTED"], [
    "DEK-Info",
    "AES-128-CBC,00FF",
  ]]);
  const [b] = parsePem("junk before\n" + text + "junk after\n");
  assert.equal(b!.label, "RSA PRIVATE KEY");
  assert.deepEqual(b!.body, body);
  assert.equal(b!.headers.get("Proc-Type"), "4,ENCRYPTED");
  assert.equal(b!.headers.get("DEK-Info"), "AES-128-CBC,00FF");
});

test("encodePem() wraps base64 at 64 columns", () => {
  const text = encodePem("X", new Uint8Array(100));
  const lines = text.trim().split("\n");
  assert.equal(lines[1]!.length, 64);
  assert.equal(lines.at(-1), "-----END X-----");
});

test("parsePem() reads several blocks and CRLF line ends", () => {
  const t = encodePem("A", new Uint8Array([1])) + encodePem("B", new Uint8Array([2]));
  const blocks = parsePem(t.replaceAll("\n", "\r\n"));
  assert.deepEqual(blocks.map((b) => b.label), ["A", "B"]);
});

test("parsePem() rejects a mismatched END, a missing END and bad base64", () => {
  assert.throws(() => parsePem("-----BEGIN A-----\nAA==\n-----END B-----\n"), /ends with "B"/);
  assert.throws(() => parsePem("-----BEGIN A-----\nAA==\n"), /no END line/);
  assert.throws(() => parsePem("-----BEGIN A-----\nA*A=\n-----END A-----"), KeyImportError);
});

test("parsePemBlock() throws when there is no block", () => {
  assert.throws(() => parsePemBlock("hello"), /no BEGIN line/);
  assert.equal(looksLikePem("hello"), false);
});

test("decodeBase64() is strict about padding and characters", () => {
  for (let n = 0; n < 20; n++) {
    const b = seededRandom(n)(n);
    assert.deepEqual(decodeBase64(encodeBase64(b)), b);
    assert.deepEqual(decodeBase64(encodeBase64(b, false)), b);
  }
  assert.throws(() => decodeBase64("AAA=A"), /after '=' padding/);
  assert.throws(() => decodeBase64("A"), /truncated/);
  assert.throws(() => decodeBase64("AA="), /truncated/);
  assert.throws(() => decodeBase64("é"), /invalid base64/);
});

test("parsePem() never throws anything but KeyImportError on mutated input", () => {
  const rnd = seededRandom(fuzzSeed(7));
  const good = encodePem("PRIVATE KEY", rnd(300), [["A", "b"]]);
  for (let i = 0; i < fuzzRuns(500); i++) {
    const chars = good.split("");
    const r = rnd(3);
    chars[r[0]! * 2 % chars.length] = String.fromCharCode(r[1]! & 0x7f);
    const text = chars.join("").slice(0, chars.length - (r[2]! % 40));
    try {
      parsePem(text);
    } catch (e) {
      assert.ok(e instanceof KeyImportError, String(e));
    }
  }
});
