import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { formatVersionLine, MAX_PRE_VERSION_BYTES, VersionReader } from "./version.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("VersionReader reads a version line split across chunks and keeps the rest", () => {
  const r = new VersionReader(true);
  assert.equal(r.push(enc("SSH-2.0-Open")), undefined);
  const got = r.push(enc("SSH_9.2p1 Debian-2\r\n\x00\x00\x01"));
  assert.ok(got);
  assert.equal(got.version.software, "OpenSSH_9.2p1");
  assert.equal(got.version.comments, "Debian-2");
  assert.deepEqual([...got.rest], [0, 0, 1]);
});

test("VersionReader accepts banner lines before a server's version", () => {
  const r = new VersionReader(true);
  const got = r.push(enc("Welcome\r\nto the host\nSSH-1.99-x\r\n"));
  assert.deepEqual(got?.version.preamble, ["Welcome", "to the host"]);
  assert.equal(got?.version.software, "x");
});

test("VersionReader refuses lines before a client's version", () => {
  assert.throws(
    () => new VersionReader(false).push(enc("hello\r\nSSH-2.0-x\r\n")),
    DisconnectError,
  );
});

test("VersionReader refuses SSH-1, overlong and binary version lines", () => {
  assert.throws(() => new VersionReader(true).push(enc("SSH-1.5-old\r\n")), DisconnectError);
  assert.throws(
    () => new VersionReader(true).push(enc("SSH-2.0-" + "x".repeat(300) + "\r\n")),
    DisconnectError,
  );
  assert.throws(
    () => new VersionReader(true).push(enc("SSH-2.0-" + "x".repeat(300))),
    DisconnectError,
  );
  assert.throws(() => new VersionReader(true).push(enc("SSH-2.0-a\x01b\r\n")), DisconnectError);
  assert.throws(() => new VersionReader(true).push(enc("SSH-2.0\r\n")), DisconnectError);
});

test("VersionReader bounds the text buffered before the version", () => {
  const r = new VersionReader(true);
  const line = enc("x".repeat(1000) + "\n");
  assert.throws(() => {
    for (let i = 0; i <= MAX_PRE_VERSION_BYTES / line.length + 1; i++) r.push(line);
  }, DisconnectError);
  // A single endless line without a newline is cut off too.
  const r2 = new VersionReader(true);
  assert.throws(() => {
    for (let i = 0; i < 100; i++) r2.push(enc("y".repeat(1000)));
  }, DisconnectError);
});

test("VersionReader fuzz: random bytes give a version, need more, or a DisconnectError", () => {
  let seed = fuzzSeed(7);
  const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) >>> 24;
  for (let i = 0; i < fuzzRuns(3000); i++) {
    const prefix = rnd() % 2 ? "SSH-2.0-" : "";
    const body = new Uint8Array(rnd() % 64).map(() => (rnd() % 4 === 0 ? 10 : rnd()));
    const r = new VersionReader(rnd() % 2 === 0);
    try {
      r.push(enc(prefix));
      r.push(body);
    } catch (e) {
      assert.ok(e instanceof DisconnectError, String(e));
    }
  }
});

test("formatVersionLine() rejects spaces and dashes in the software part", () => {
  assert.equal(formatVersionLine("sshts_0.1"), "SSH-2.0-sshts_0.1");
  assert.equal(formatVersionLine("sshts_0.1", "hello"), "SSH-2.0-sshts_0.1 hello");
  assert.throws(() => formatVersionLine("a b"), RangeError);
  assert.throws(() => formatVersionLine("a-b"), RangeError);
});
