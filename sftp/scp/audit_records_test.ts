/**
 * From an audit of the SCP record codec: peer names in error messages are
 * escaped whatever control or bidi characters they hold (checkName() lets C1
 * and bidi overrides through), warning and fatal records we send fit
 * OpenSSH's 2048-byte line buffer, and a leading "~" stays the home directory
 * for the remote shell.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeRecord,
  MAX_SENT_MESSAGE_RECORD,
  MAX_TIME_SECONDS,
  nameMatcher,
  parseRecord,
  SCPError,
  SCPReader,
  shellQuote,
} from "./records.ts";
import { SCPSinkMachine } from "./sink_machine.ts";

const enc = new TextEncoder();
const UNSAFE = /[\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

test("SCPError escapes C1 controls and bidi overrides in its message, and keeps path as it is", () => {
  const e = new SCPError("Peer sent \u009b2J and \u202etxt.exe", { path: "\u202etxt.exe" });
  assert.doesNotMatch(e.message, UNSAFE);
  assert.match(e.message, /\\x9b2J and \\u\{202e\}txt\.exe/);
  assert.equal(e.path, "\u202etxt.exe");
  // Escaping twice changes nothing.
  assert.equal(new SCPError(e.message).message, e.message);
});

test("SCPSinkMachine: an unexpected name with C1 or bidi characters is shown escaped", () => {
  for (const name of ["\u009b31mred", "\u202etxt.exe", "a\u2066b"]) {
    assert.doesNotThrow(() => parseRecord(enc.encode(`C0644 1 ${name}`))); // a legal name
    const m = new SCPSinkMachine({ recurse: false, expect: (n) => n === "a.txt" });
    m.start();
    m.receive(enc.encode(`C0644 1 ${name}\n`));
    const ev = m.pollEvent();
    assert.equal(ev?.type, "error");
    if (ev?.type !== "error") return;
    assert.equal(ev.error.reason, "unexpected-name");
    assert.doesNotMatch(ev.error.message, UNSAFE, JSON.stringify(ev.error.message));
  }
});

test("SCPSinkMachine: a cut file whose name holds C1 characters is named escaped", () => {
  const m = new SCPSinkMachine({ recurse: false });
  m.start();
  m.receive(enc.encode("C0644 10 \u009b31mred\nabc"));
  assert.equal(m.pollEvent()?.type, "file");
  m.accept();
  assert.equal(m.pollEvent()?.type, "data");
  m.receiveEnd();
  const ev = m.pollEvent();
  assert.equal(ev?.type, "error");
  if (ev?.type !== "error") return;
  assert.equal(ev.error.reason, "cut");
  assert.doesNotMatch(ev.error.message, UNSAFE);
});

test("encodeRecord() cuts warning and fatal records to 2047 bytes at a character boundary", () => {
  for (const type of ["warning", "fatal"] as const) {
    for (
      const message of [
        "x".repeat(5000),
        "é".repeat(3000),
        "€".repeat(3000),
        "a" + "😀".repeat(900),
      ]
    ) {
      const b = encodeRecord({ type, message });
      assert.ok(b.length <= MAX_SENT_MESSAGE_RECORD, `${type}: ${b.length} bytes`);
      assert.equal(b[0], type === "warning" ? 1 : 2);
      assert.equal(b[b.length - 1], 10);
      assert.equal(b.indexOf(10), b.length - 1, "one line");
      // Valid UTF-8 throughout, and read back by our reader as one answer.
      new TextDecoder("utf-8", { fatal: true }).decode(b.subarray(1, -1));
      const r = new SCPReader();
      r.push(b);
      assert.equal(r.readAck()?.type, type);
      assert.equal(r.buffered, 0);
    }
  }
  // Short ones are kept whole.
  assert.deepEqual(encodeRecord({ type: "warning", message: "a: b" }), enc.encode("\x01a: b\n"));
});

test("shellQuote() with home keeps a leading ~ or ~user unquoted, and only that", () => {
  assert.equal(shellQuote("~", { home: true }), "~");
  assert.equal(shellQuote("~/", { home: true }), "~/");
  assert.equal(shellQuote("~/up load; rm x", { home: true }), "~/'up load; rm x'");
  assert.equal(shellQuote("~deploy/x", { home: true }), "~deploy/'x'");
  assert.equal(shellQuote("~/*.txt", { home: true }), "~/'*.txt'"); // no globs without `globs`
  // "~-" and "~+" are $OLDPWD and $PWD to the shell; "~a b" is not a tilde prefix.
  assert.equal(shellQuote("~-/x", { home: true }), "'~-/x'");
  assert.equal(shellQuote("~+", { home: true }), "'~+'");
  assert.equal(shellQuote("~a b", { home: true }), "'~a b'");
  assert.equal(shellQuote("~$(id)/x", { home: true }), "'~$(id)/x'");
  assert.equal(shellQuote("a/~", { home: true }), "'a/~'");
  // Without it, as before.
  assert.equal(shellQuote("~/x"), "'~/x'");
  assert.equal(shellQuote("~-/x", { globs: true }), "'~-/x'");
});

test("encodeRecord() sends times within what parseRecord() takes: before 1970 as 0, as OpenSSH", () => {
  const back = (mtime: number, atime: number) =>
    parseRecord(encodeRecord({ type: "times", mtime, atime }).subarray(0, -1));
  assert.deepEqual(back(-315619200, -1), { type: "times", mtime: 0, atime: 0 });
  assert.deepEqual(back(1700000000.9, 1), { type: "times", mtime: 1700000000, atime: 1 });
  assert.deepEqual(back(NaN, 1e300), { type: "times", mtime: 0, atime: MAX_TIME_SECONDS });
});

test("nameMatcher(): ~user, a home directory, takes whatever name it has, as ~ does", () => {
  assert.equal(nameMatcher("~postgres")("postgresql"), true);
  assert.equal(nameMatcher("~/")("me"), true);
  // Quoted or not a user name: a literal name.
  assert.equal(nameMatcher("~a b")("x"), false);
  assert.equal(nameMatcher("\\~root")("root"), false);
  assert.equal(nameMatcher("~root/a.txt")("b.txt"), false);
});

test("nameMatcher(): a ~ that is not the first word of the path is a literal name", () => {
  assert.equal(nameMatcher("a/~")("x"), false);
  assert.equal(nameMatcher("a/~")("~"), true);
  assert.equal(nameMatcher("~")("x"), true);
});
