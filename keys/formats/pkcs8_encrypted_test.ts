// Encrypted PKCS#8 and legacy PEM: DES known answers, and interop with the openssl CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { desBlock } from "../../core/crypto/des.ts";
import { generatePrivateKey } from "../generate.ts";
import { importPrivateKey } from "./import.ts";
import { decryptPkcs8, encryptPkcs8 } from "./pkcs8_encrypted.ts";
import { KeyImportError } from "../errors.ts";
import { derInteger, derOctetString, derOid, derSequence } from "./asn1.ts";

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((x) => parseInt(x, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

test("desBlock() matches DES and 3DES known answers", () => {
  // FIPS 81 / NBS validation values and an openssl-computed 3DES value.
  const cases: [string, string, string][] = [
    ["133457799bbcdff1", "0123456789abcdef", "85e813540f0ab405"],
    ["0000000000000000", "0000000000000000", "8ca64de9c1b123a7"],
    ["ffffffffffffffff", "ffffffffffffffff", "7359b2163e4edc58"],
    ["0123456789abcdef", "4e6f772069732074", "3fa40e8a984d4815"],
    [
      "0123456789abcdef23456789abcdef01456789abcdef0123",
      "0123456789abcdef",
      "f2afd84ee809e2b5",
    ],
  ];
  for (const [k, p, c] of cases) {
    assert.equal(toHex(desBlock(hex(k), hex(p), true)), c, k);
    assert.equal(toHex(desBlock(hex(k), hex(c), false)), p, k);
  }
});

test("encryptPkcs8() and decryptPkcs8() round-trip with each cipher", () => {
  const inner = new Uint8Array([0x30, 3, 2, 1, 0]);
  for (const cipher of ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "des-ede3-cbc"]) {
    const enc = encryptPkcs8(inner, "pw", { cipher, iterations: 10 });
    assert.deepEqual(decryptPkcs8(enc, "pw"), inner);
    try {
      decryptPkcs8(enc, "wrong");
    } catch (e) {
      assert.ok(e instanceof KeyImportError && /incorrect passphrase/.test(e.message));
    }
  }
  assert.throws(() => encryptPkcs8(inner, "pw", { cipher: "rc4" }), /unsupported cipher/);
});

test("decryptPkcs8() refuses more iterations than allowed", () => {
  const enc = encryptPkcs8(new Uint8Array([0x30, 0]), "pw", { iterations: 50 });
  assert.throws(() => decryptPkcs8(enc, "pw", { maxIterations: 49 }), /iteration count 50/);
});

const OPENSSL = "/usr/bin/openssl";

function opensslTest(name: string, fn: (run: (args: string[]) => string, dir: string) => void) {
  if (!existsSync(OPENSSL)) {
    const why = `${OPENSSL} not found; install openssl to run this interop test`;
    if (process.env.SSH_CONFORMANCE === "required") test(name, () => assert.fail(why));
    else test(name, { skip: why }, () => {});
    return;
  }
  test(name, () => {
    const dir = mkdtempSync(join(tmpdir(), "sshts-openssl-"));
    try {
      fn((args) => {
        const r = spawnSync(OPENSSL, args, { cwd: dir, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
        return r.stdout;
      }, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

opensslTest("importPrivateKey() reads every PKCS#8 encryption openssl writes", (run, dir) => {
  const key = generatePrivateKey("ecdsa", { keySize: 384 });
  writeFileSync(join(dir, "k.pem"), key.exportPrivateKey("pkcs8-pem"));
  const legacy = ["-provider", "legacy", "-provider", "default"];
  const variants = [
    ["-v2", "aes-256-cbc"],
    ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
    ["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA1"],
    ["-v2", "des3"],
    ["-v1", "PBE-SHA1-3DES"],
    [...legacy, "-v1", "PBE-MD5-DES"],
    [...legacy, "-v1", "PBE-SHA1-DES"],
    ["-scrypt"],
  ];
  for (const v of variants) {
    const out = run(["pkcs8", "-topk8", "-in", "k.pem", "-passout", "pass:pässword", ...v]);
    assert.ok(importPrivateKey(out, "pässword").equals(key), v.join(" "));
    assert.throws(() => importPrivateKey(out, "password"), /incorrect passphrase/, v.join(" "));
  }
});

opensslTest(
  "importPrivateKey() reads openssl's legacy encrypted PEM with AES and 3DES",
  (run, dir) => {
    const rsa = generatePrivateKey("rsa", { keySize: 1024 });
    const ec = generatePrivateKey("ecdsa");
    writeFileSync(join(dir, "rsa.pem"), rsa.exportPrivateKey("pem"));
    writeFileSync(join(dir, "ec.pem"), ec.exportPrivateKey("pem"));
    for (const c of ["-des3", "-aes128", "-aes192", "-aes256"]) {
      const r = run(["rsa", "-traditional", "-in", "rsa.pem", c, "-passout", "pass:secret"]);
      assert.match(r, /Proc-Type: 4,ENCRYPTED/);
      assert.ok(importPrivateKey(r, "secret").equals(rsa), c);
      const e = run(["ec", "-in", "ec.pem", c, "-passout", "pass:secret"]);
      assert.ok(importPrivateKey(e, "secret").equals(ec), c);
    }
  },
);

opensslTest("openssl reads the encrypted PKCS#8 and legacy PEM we write", (run, dir) => {
  const key = generatePrivateKey("ecdsa");
  const want = run(["ec", "-pubout", "-in", write(dir, "plain.pem", key.exportPrivateKey("pem"))]);
  for (
    const [format, cipher] of [["pkcs8-pem", "aes-256-cbc"], ["pkcs8-pem", "des-ede3-cbc"], [
      "pem",
      "aes-128-cbc",
    ], ["pem", "des-ede3-cbc"]] as const
  ) {
    const file = write(dir, "k.pem", key.exportPrivateKey(format, { passphrase: "pw", cipher }));
    const got = run(["ec", "-pubout", "-in", file, "-passin", "pass:pw"]);
    assert.equal(got, want, `${format} ${cipher}`);
  }
  assert.equal(readFileSync(join(dir, "k.pem"), "utf8").includes("DES-EDE3-CBC"), true);
});

opensslTest(
  "openssl reads our Ed25519 and RSA PKCS#8 and SPKI (ssh-keygen 9.2 cannot for Ed25519)",
  (run, dir) => {
    for (
      const key of [generatePrivateKey("ed25519"), generatePrivateKey("rsa", { keySize: 1024 })]
    ) {
      const file = write(dir, "k.pem", key.exportPrivateKey("pkcs8-pem", { passphrase: "pw" }));
      const pub = run(["pkey", "-in", file, "-passin", "pass:pw", "-pubout"]);
      assert.equal(pub, key.exportPublicKey("spki-pem"), key.getAlgorithm());
      assert.ok(importPrivateKey(run(["pkey", "-in", file, "-passin", "pass:pw"])).equals(key));
    }
  },
);

function write(dir: string, name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

test("importPrivateKey() refuses scrypt parameters past 64 MiB (as noble counts) or N*r*p > 2^21 as KeyImportError", () => {
  const der = (N: number, r: number, p: number) =>
    derSequence(
      derSequence(
        derOid("1.2.840.113549.1.5.13"),
        derSequence(
          derSequence(
            derOid("1.3.6.1.4.1.11591.4.11"),
            derSequence(
              derOctetString(new Uint8Array(8)),
              derInteger(N),
              derInteger(r),
              derInteger(p),
            ),
          ),
          derSequence(derOid("2.16.840.1.101.3.4.1.42"), derOctetString(new Uint8Array(16))),
        ),
      ),
      derOctetString(new Uint8Array(32)),
    );
  // The last two were under the old N * r * 128 count but over what @noble/hashes
  // allocates (128 * r * (N + p + 1)), which threw a plain Error past its maxmem.
  const cases = [[2 ** 18, 8, 1], [2 ** 14, 8, 32], [128, 4096, 4], [2, 262_144, 1]] as const;
  for (const [N, r, p] of cases) {
    assert.throws(
      () => importPrivateKey(der(N, r, p), "x"),
      (e: Error) => e instanceof KeyImportError && /scrypt parameters/.test(e.message),
      `N=${N} r=${r} p=${p}`,
    );
  }
});
