import { test } from "node:test";
import assert from "node:assert/strict";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import {
  encodePublicKeyBlob,
  parsePublicKeyBlob,
  readPublicKeyBody,
  RSA_MAX_EXPONENT_BITS,
} from "./blob.ts";
import { KeyBlobError, UnsupportedKeyTypeError } from "./errors.ts";
import { hex } from "./_test_util.ts";

// Public keys written by OpenSSH's ssh-keygen (openssh-portable
// regress/unittests/sshsig/testdata/*.pub, BSD licence): base64 of the key blob.
const OPENSSH_KEYS: Record<string, string> = {
  "ssh-rsa":
    "AAAAB3NzaC1yc2EAAAADAQABAAABgQDfzqWaNEe0mnKPzsGtL6ywya29z/VI83SBdM+z2NnWFgCr3w9xrf9FhUzgdpK7oI7O1AnZmdkPdN79d4GchTaZ+69ASX4OLCKwZ42CVXJEKLvvzt88UV9zHNl8NrsQHapjxLehpIZkrxCrO4bCYYAiaOVBfPon4cJ394P/nwagJJKKsgQIVYIC3642s4L8SaADOxt9x9ohttXMDjS2WBTeE7YnjaR13PwKKwNO0MpAAEVw5pBnJxJ+fscM/5aBctdcFQj3BUzVOJ/V/70xfTzEiy8K8bOjvIuBttMUtIavlKQD606ti6gDtXx+B7SJ3/emdW0bVSLcju96N4DB/Qdmq0V4ESc7CQgkWZl4y0V45V/7iSLiHWsOoC9Kxw28y0uno5elsABMBMC4RYSQhAGXWueCcR7SIL2JT2K0oxbqongW0hvgAIfUShTXHy+qsV5yDaG+p+TkJkEkhtXbwkW4aNpzc7EFnXsWpvyWOiZSKvUasRPbPro0yBvlOMMPsFU=",
  "ecdsa-sha2-nistp256":
    "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBN7LnfPBVdDfBT7KWUley1qo+rjzy0WYkrHpzbhGALXlj8g4K2bFmy81wblCbnHqWgjblv0FoBwUW641o9xEZtw=",
  "ssh-ed25519": "AAAAC3NzaC1lZDI1NTE5AAAAIIlizSIN3DQV78VPNjVvvwjgf+P5HqbPYCYu3BOMdjAE",
  "sk-ecdsa-sha2-nistp256@openssh.com":
    "AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20AAAAIbmlzdHAyNTYAAABBBKDVa5jRcT5V7E6ysmwVi7HJWh7p5D+hebLPakQcpnD2ajJZ6G/4WzuhlYWnclWY63JspDp299Rlhq5AT86/g8AAAAAEc3NoOg==",
  "sk-ssh-ed25519@openssh.com":
    "AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIJsaDYXQYruc6bilCYDIK4YSOeG+zmrRO2M9t03//7LHAAAABHNzaDo=",
};

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const VALID_POINT = p256.getPublicKey(new Uint8Array(32).fill(2), false);

function blobOf(type: string, build: (w: SSHWriter) => void): Uint8Array {
  const w = new SSHWriter().writeStringUtf8(type);
  build(w);
  return w.toBytes();
}

function assertBlobError(blob: Uint8Array, problem: string): void {
  assert.throws(() => parsePublicKeyBlob(blob), (e: unknown) => {
    assert.ok(e instanceof KeyBlobError, `expected KeyBlobError, got ${e}`);
    assert.equal(e.problem, problem, e.message);
    assert.equal(e.code, "ERR_KEY_IMPORT");
    return true;
  });
}

test("parsePublicKeyBlob() reads OpenSSH's keys and encodePublicKeyBlob() writes them back byte for byte", () => {
  for (const [type, text] of Object.entries(OPENSSH_KEYS)) {
    const blob = b64(text);
    const { algorithm, key } = parsePublicKeyBlob(blob);
    assert.equal(algorithm, type);
    assert.equal(hex(encodePublicKeyBlob(key)), hex(blob), type);
  }
  const sk = parsePublicKeyBlob(b64(OPENSSH_KEYS["sk-ssh-ed25519@openssh.com"]!)).key;
  assert.equal(sk.type === "sk-ed25519" && sk.application, "ssh:");
});

test("parsePublicKeyBlob() round-trips ECDSA keys on all three curves", () => {
  for (const [curve, c] of [["nistp256", p256], ["nistp384", p384], ["nistp521", p521]] as const) {
    const q = c.getPublicKey(
      c.utils.randomSecretKey(new Uint8Array(c.lengths.seed!).fill(3)),
      false,
    );
    const blob = blobOf(`ecdsa-sha2-${curve}`, (w) => w.writeStringUtf8(curve).writeString(q));
    assert.deepEqual(parsePublicKeyBlob(blob).key, { type: "ecdsa", curve, publicKey: q });
    assert.equal(hex(encodePublicKeyBlob({ type: "ecdsa", curve, publicKey: q })), hex(blob));
  }
});

test("parsePublicKeyBlob() throws UnsupportedKeyTypeError for unknown and certificate types", () => {
  for (
    const [type, cert] of [["ssh-xmss@openssh.com", false], [
      "ssh-ed25519-cert-v01@openssh.com",
      true,
    ]] as const
  ) {
    const blob = blobOf(type, (w) => w.writeString(new Uint8Array(32)));
    assert.throws(
      () => parsePublicKeyBlob(blob),
      (e: unknown) =>
        e instanceof UnsupportedKeyTypeError && e.keyType === type && e.certificate === cert &&
        e.code === "ERR_UNSUPPORTED_ALGORITHM",
    );
  }
});

test("parsePublicKeyBlob() rejects wrong lengths, bad points and weak keys with typed problems", () => {
  assertBlobError(blobOf("ssh-ed25519", (w) => w.writeString(new Uint8Array(31))), "bad-length");
  assertBlobError(blobOf("ssh-ed25519", (w) => w.writeString(new Uint8Array(33))), "bad-length");
  assertBlobError(
    blobOf("ecdsa-sha2-nistp256", (w) => w.writeStringUtf8("nistp384").writeString(VALID_POINT)),
    "mismatch",
  );
  const compressed = p256.getPublicKey(new Uint8Array(32).fill(2), true);
  assertBlobError(
    blobOf("ecdsa-sha2-nistp256", (w) => w.writeStringUtf8("nistp256").writeString(compressed)),
    "bad-length",
  );
  const offCurve = VALID_POINT.slice();
  offCurve[64]! ^= 1;
  assertBlobError(
    blobOf("ecdsa-sha2-nistp256", (w) => w.writeStringUtf8("nistp256").writeString(offCurve)),
    "bad-point",
  );
  const notUncompressed = VALID_POINT.slice();
  notUncompressed[0] = 0x06;
  assertBlobError(
    blobOf(
      "ecdsa-sha2-nistp256",
      (w) => w.writeStringUtf8("nistp256").writeString(notUncompressed),
    ),
    "bad-point",
  );
  // Coordinates >= p: x = p is not a field element.
  const big = new Uint8Array(65).fill(0xff);
  big[0] = 4;
  assertBlobError(
    blobOf("ecdsa-sha2-nistp256", (w) => w.writeStringUtf8("nistp256").writeString(big)),
    "bad-point",
  );
  // RSA: 768-bit modulus, even modulus, e = 1, e even, negative n.
  const n768 = (1n << 767n) | 1n;
  const n2048 = (1n << 2047n) | 1n;
  assertBlobError(blobOf("ssh-rsa", (w) => w.writeMpint(65537n).writeMpint(n768)), "weak-key");
  assertBlobError(
    blobOf("ssh-rsa", (w) => w.writeMpint(65537n).writeMpint(n2048 + 1n)),
    "weak-key",
  );
  assertBlobError(blobOf("ssh-rsa", (w) => w.writeMpint(1n).writeMpint(n2048)), "weak-key");
  assertBlobError(blobOf("ssh-rsa", (w) => w.writeMpint(65536n).writeMpint(n2048)), "weak-key");
  assertBlobError(blobOf("ssh-rsa", (w) => w.writeMpint(65537n).writeMpint(-n2048)), "malformed");
  assertBlobError(
    blobOf("ssh-rsa", (w) => w.writeMpint(65537n).writeMpint((1n << 16385n) + 1n)),
    "bad-length",
  );
  assertBlobError(
    blobOf("ssh-rsa", (w) => w.writeMpint(65537n).writeMpint((1n << 16400n) + 1n)),
    "malformed",
  );
  // DSA with a 2048-bit p.
  assertBlobError(
    blobOf(
      "ssh-dss",
      (w) => w.writeMpint(n2048).writeMpint((1n << 159n) + 1n).writeMpint(2n).writeMpint(3n),
    ),
    "bad-length",
  );
});

test("parsePublicKeyBlob() reports truncation and trailing bytes", () => {
  const blob = b64(OPENSSH_KEYS["ssh-ed25519"]!);
  assertBlobError(blob.subarray(0, blob.length - 1), "truncated");
  assertBlobError(blob.subarray(0, 3), "truncated");
  assertBlobError(new Uint8Array([...blob, 0]), "malformed");
  assertBlobError(
    new SSHWriter().writeString(new Uint8Array([0x73, 0x00, 0x68])).toBytes(),
    "malformed",
  );
});

test("parsePublicKeyBlob() only ever throws typed errors (fuzz)", () => {
  const rnd = seededRandom(fuzzSeed(2024));
  const blobs = Object.values(OPENSSH_KEYS).map(b64);
  for (let i = 0; i < fuzzRuns(1500); i++) {
    const base = blobs[i % blobs.length]!;
    const cut = rnd(1)[0]! % 3 === 0 ? rnd(2)[0]! % (base.length + 1) : base.length;
    const m = base.slice(0, cut);
    const flips = 1 + (rnd(1)[0]! % 3);
    for (let f = 0; f < flips && m.length > 0; f++) {
      m[((rnd(1)[0]! << 8) | rnd(1)[0]!) % m.length] = rnd(1)[0]!;
    }
    try {
      parsePublicKeyBlob(m);
    } catch (e) {
      assert.ok(
        e instanceof KeyBlobError || e instanceof UnsupportedKeyTypeError,
        `unexpected ${e}`,
      );
    }
  }
});

test("readPublicKeyBody() reads a body in the middle of a larger structure (certificate reuse)", () => {
  const w = new SSHWriter().writeStringUtf8("ecdsa-sha2-nistp256-cert-v01@openssh.com").writeString(
    new Uint8Array(32),
  );
  w.writeStringUtf8("nistp256").writeString(VALID_POINT).writeUint64(7n);
  const r = new SSHReader(w.toBytes());
  r.readString();
  r.readString();
  const key = readPublicKeyBody("ecdsa-sha2-nistp256", r);
  assert.equal(key.type, "ecdsa");
  assert.equal(r.readUint64(), 7n);
});

test("an ssh-rsa key's exponent is at most 64 bits (verifying costs a squaring per bit)", () => {
  const n = (1n << 2047n) + 1n;
  const blob = (e: bigint) =>
    new SSHWriter().writeStringUtf8("ssh-rsa").writeMpint(e).writeMpint(n).toBytes();
  assert.equal(RSA_MAX_EXPONENT_BITS, 64);
  for (const e of [3n, 65537n, (1n << 63n) + 1n]) {
    assert.equal((parsePublicKeyBlob(blob(e)).key as { e: bigint }).e, e);
  }
  for (const e of [(1n << 64n) + 1n, (1n << 2000n) + 1n]) {
    assert.throws(
      () => parsePublicKeyBlob(blob(e)),
      (x: unknown) =>
        x instanceof KeyBlobError && /exponent exceeds 64 bits/.test((x as Error).message),
    );
  }
});
