import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { importPrivateKey, importPublicKey } from "./import.ts";
import { KeyImportError } from "../errors.ts";
import { isPuttyPrivateKey } from "./putty.ts";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { SSHWriter } from "../../core/wire.ts";

const DIR = new URL("../testdata/putty/", import.meta.url);
const PASS = "putty-pw";
const read = (name: string) => readFileSync(new URL(name, DIR), "utf8");

test("importPrivateKey() reads every PuTTY test vector (v2 and v3, plain and encrypted)", () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith(".ppk")).sort();
  assert.ok(files.length >= 9);
  for (const f of files) {
    const text = read(f);
    assert.ok(isPuttyPrivateKey(text));
    const key = importPrivateKey(text, f.includes("-enc") ? PASS : undefined);
    const pub = importPublicKey(read(f.replace(/\.ppk$/, ".pub")));
    assert.ok(key.publicKey().equals(pub), f);
    assert.equal(key.getComment(), /Comment: (.*)/.exec(text)![1], f);
    if (key.getAlgorithm() !== "ssh-dss") {
      const data = new TextEncoder().encode(f);
      assert.ok(pub.verify(data, key.sign(data)), `${f} signs`);
    }
  }
});

test("importPrivateKey() says a PuTTY key needs a passphrase, or that it is wrong", () => {
  for (const f of ["rsa2048-v2-enc.ppk", "ecdsa384-v3-enc.ppk"]) {
    assert.throws(() => importPrivateKey(read(f)), /encrypted and no passphrase/);
    assert.throws(
      () => importPrivateKey(read(f), "wrong"),
      (e: unknown) => e instanceof KeyImportError && /incorrect passphrase/.test(e.message),
    );
  }
});

test("importPrivateKey() refuses corrupt, truncated and unknown PuTTY files", () => {
  const good = read("ed25519-v3.ppk");
  const flipped = good.replace(
    /Private-Lines: 1\n(.)/,
    (_m, c) => `Private-Lines: 1\n${c === "A" ? "B" : "A"}`,
  );
  assert.throws(() => importPrivateKey(flipped), /MAC mismatch/);
  assert.throws(
    () => importPrivateKey(good.replace("File-3", "File-1")),
    /unsupported file version/,
  );
  assert.throws(
    () => importPrivateKey(good.replace("none", "aes128-cbc")),
    /unsupported encryption/,
  );
  const costly = read("ecdsa384-v3-enc.ppk").replace(
    /Argon2-Passes: \d+/,
    "Argon2-Passes: 9999999",
  );
  assert.throws(() => importPrivateKey(costly, PASS), KeyImportError);
  const lines = good.trimEnd().split("\n");
  for (let n = 1; n < lines.length; n++) {
    assert.throws(
      () => importPrivateKey(lines.slice(0, n).join("\n")),
      KeyImportError,
      `${n} lines`,
    );
  }
  // Random damage never escapes as anything but KeyImportError.
  for (let i = 0; i < 300; i++) {
    const pos = (i * 7919) % good.length;
    const bad = good.slice(0, pos) + String.fromCharCode(32 + (i % 90)) + good.slice(pos + 1);
    try {
      importPrivateKey(bad);
    } catch (e) {
      assert.ok(e instanceof KeyImportError, `${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

test("importPrivateKey() refuses an Argon2 salt under 8 or over 1024 bytes as KeyImportError", () => {
  const withSalt = (hex: string) =>
    read("ecdsa384-v3-enc.ppk").replace(/Argon2-Salt: [0-9a-f]+/, `Argon2-Salt: ${hex}`);
  // @noble/hashes threw a plain Error (no code) for a short salt; a long one was hashed.
  for (const bytes of [1, 4, 7, 1025, 100_000]) {
    assert.throws(
      () => importPrivateKey(withSalt("ab".repeat(bytes)), PASS),
      (e) => e instanceof KeyImportError && /Argon2-Salt of \d+ bytes/.test(e.message),
      `${bytes} bytes`,
    );
  }
  // 8 and 1024 bytes are run: the key was not made with them, so the MAC does not match.
  for (const bytes of [8, 1024]) {
    assert.throws(
      () => importPrivateKey(withSalt("ab".repeat(bytes)), PASS),
      /incorrect passphrase/,
    );
  }
});

const PUTTYGEN = process.env.PUTTYGEN ?? "/usr/bin/puttygen";
const haveputtygen = existsSync(PUTTYGEN);
const required = process.env.SSH_CONFORMANCE === "required";
const skip = haveputtygen
  ? false
  : required
  ? false
  : "puttygen not found (apt-get install putty-tools to run PuTTY interop)";
if (skip) console.error(`keys/putty_test.ts: ${skip}`);

test("importPrivateKey() reads keys puttygen makes now, as puttygen reads them", { skip }, () => {
  if (!haveputtygen) throw new Error(`puttygen not found at ${PUTTYGEN}`);
  const dir = mkdtempSync(join(tmpdir(), "sshts-putty-"));
  try {
    writeFileSync(join(dir, "pw"), "live pass");
    const run = (args: string[]) => {
      const r = spawnSync(PUTTYGEN, args, { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
    };
    const cases: [string, string[]][] = [
      ["ed25519", ["-t", "ed25519"]],
      ["ecdsa", ["-t", "ecdsa", "-b", "256"]],
      ["rsa", ["-t", "rsa", "-b", "2048"]],
    ];
    for (const [name, args] of cases) {
      for (const v of ["2", "3"]) {
        const ppk = join(dir, `${name}-${v}.ppk`);
        run([
          ...args,
          "-q",
          "-o",
          ppk,
          "-C",
          `${name} live`,
          "--new-passphrase",
          join(dir, "pw"),
          "--ppk-param",
          v === "3" ? "version=3,memory=1024,passes=2" : "version=2",
        ]);
        run([
          ppk,
          "-O",
          "private-openssh",
          "-o",
          `${ppk}.openssh`,
          "--old-passphrase",
          join(dir, "pw"),
        ]);
        const ours = importPrivateKey(readFileSync(ppk, "utf8"), "live pass");
        const theirs = importPrivateKey(readFileSync(`${ppk}.openssh`, "utf8"), "live pass");
        assert.deepEqual(ours.material, theirs.material, `${name} v${v}`);
        assert.equal(ours.getComment(), `${name} live`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Keys puttygen 0.78 wrote from one Ed25519 key with awkward comments (`-C ""`,
// `-C "trailing blanks  "`, `-C $'caf\xe9'`).
const COMMENTS = new URL("comments/", DIR);
const readBytes = (name: string) => new Uint8Array(readFileSync(new URL(name, COMMENTS)));
const commentsPub = () => importPublicKey(readFileSync(new URL("ed25519.pub", COMMENTS), "utf8"));

test("importPrivateKey() reads a PuTTY key with an empty comment (v2 encrypted, v3)", () => {
  // "Comment: " lost its blank to trimming and was refused as a missing Comment line.
  for (const [f, pass] of [["empty-v3.ppk", undefined], ["empty-v2-enc.ppk", PASS]] as const) {
    const text = new TextDecoder().decode(readBytes(f));
    const key = importPrivateKey(text, pass);
    assert.ok(key.publicKey().equals(commentsPub()), f);
    assert.equal(key.getComment(), "", f);
    // An editor that strips the blank after "Comment:" does not break it either.
    assert.equal(
      importPrivateKey(text.replace("Comment: \n", "Comment:\n"), pass).getComment(),
      "",
    );
  }
});

test('importPrivateKey() reads a PuTTY comment of blanks only (puttygen -C "  ")', () => {
  // The unencrypted v3 key with its MAC made over the comment "  ", as PuTTY makes it.
  const base = new TextDecoder().decode(readBytes("empty-v3.ppk"));
  const lines = base.split("\n");
  const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const pub = b64(lines[4]! + lines[5]!);
  const priv = b64(lines[7]!);
  const macData = new SSHWriter().writeStringUtf8("ssh-ed25519").writeStringUtf8("none")
    .writeStringUtf8("  ").writeString(pub).writeString(priv).toBytes();
  const mac = [...hmac(sha256, new Uint8Array(0), macData)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const text = base.replace("Comment: \n", "Comment:   \n")
    .replace(/Private-MAC: .*/, `Private-MAC: ${mac}`);
  // It was read as the empty comment of "Comment:" and failed the MAC.
  assert.equal(importPrivateKey(text).getComment(), "  ");
});

test("importPrivateKey() keeps a PuTTY comment's trailing blanks, which its MAC covers", () => {
  const text = new TextDecoder().decode(readBytes("trailing-v3.ppk"));
  // Trimmed, the comment no longer matched the MAC: "MAC mismatch (the file is corrupt)".
  assert.equal(importPrivateKey(text).getComment(), "trailing blanks  ");
  // Blanks an editor adds to every line of a key are still tolerated.
  const padded = read("ed25519-v3.ppk").replace(/\n/g, "  \n");
  assert.equal(importPrivateKey(padded).getComment(), "ed25519 v3");
  assert.equal(importPrivateKey(text.replace(/\n/g, "\r\n")).getComment(), "trailing blanks  ");
});

test("importPrivateKey() reads a PuTTY key whose comment is not UTF-8, from the file's bytes", () => {
  const bytes = readBytes("latin1-v3.ppk");
  // The MAC covers the comment's bytes (Latin-1 "café"); decoding them first changed them.
  const key = importPrivateKey(bytes);
  assert.ok(key.publicKey().equals(commentsPub()));
  assert.equal(key.getComment(), "caf\uFFFD");
  // With a UTF-8 byte order mark before it too.
  assert.equal(
    importPrivateKey(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes])).getComment(),
    "caf\uFFFD",
  );
  // Read as Latin-1 text, the bytes are all there too.
  const latin1 = String.fromCharCode(...bytes);
  assert.equal(importPrivateKey(latin1).getComment(), "caf\uFFFD");
  // Read as UTF-8 text they are lost: the error says why.
  assert.throws(
    () => importPrivateKey(new TextDecoder().decode(bytes)),
    (e) => e instanceof KeyImportError && /comment is not UTF-8/.test(e.message),
  );
});

test("importPrivateKey() skips blank lines before a PuTTY header, as detection does", () => {
  const text = "\n\n" + read("ed25519-v3.ppk");
  assert.ok(isPuttyPrivateKey(text));
  // Was "unsupported file version 'none'".
  assert.equal(importPrivateKey(text).getComment(), "ed25519 v3");
});

test("importPrivateKey() takes maxArgon2Cost to lower or raise the PuTTY Argon2 cap", () => {
  const text = read("ecdsa384-v3-enc.ppk"); // Argon2-Memory 1024, Argon2-Passes 2
  assert.throws(
    () => importPrivateKey(text, { passphrase: PASS, maxArgon2Cost: 2047 }),
    (e) => e instanceof KeyImportError && /raise maxArgon2Cost/.test(e.message),
  );
  assert.ok(importPrivateKey(text, { passphrase: PASS, maxArgon2Cost: 2048 }));
  // Past the default (8192 KiB × 84 passes), refused unless raised; cheap here because the
  // MAC fails after Argon2 runs on this tiny memory.
  const costly = text.replace("Argon2-Memory: 1024", "Argon2-Memory: 8")
    .replace("Argon2-Passes: 2", "Argon2-Passes: 90000");
  assert.throws(() => importPrivateKey(costly, PASS), /raise maxArgon2Cost/);
  assert.throws(
    () => importPrivateKey(costly, { passphrase: PASS, maxArgon2Cost: 720_000 }),
    /incorrect passphrase/,
  );
});

test("importPrivateKey() says a PuTTY key type is unsupported before running Argon2", () => {
  // An Ed448 key (which this library does not read) with Argon2 costs far past the cap:
  // the type is reported, not the cost, and nothing is derived.
  const text = [
    "PuTTY-User-Key-File-3: ssh-ed448",
    "Encryption: aes256-cbc",
    "Comment: ed448",
    "Public-Lines: 2",
    "AAAACXNzaC1lZDQ0OAAAADkBzuu/zFp7fT1wCJ1Y1KA1g5m4HYKwhVN6klDigEEC",
    "bGVmB7QsmOQrBkUr8x4Iq85Y5uu7I8Rg8wA=",
    "Key-Derivation: Argon2id",
    "Argon2-Memory: 262144",
    "Argon2-Passes: 9999",
    "Argon2-Parallelism: 1",
    "Argon2-Salt: 00112233445566778899aabbccddeeff",
    "Private-Lines: 1",
    "AAAAAAAAAAAAAAAAAAAAAA==",
    "Private-MAC: 00",
    "",
  ].join("\n");
  assert.throws(() => importPrivateKey(text, PASS), /unsupported key type 'ssh-ed448'/);
});
