import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { createCertificate, importCertificate } from "../certificates/certificate.ts";
import { KeyImportError } from "../errors.ts";
import { importPublicKey } from "../formats/import.ts";
import { generatePrivateKey } from "../generate.ts";
import { type KeygenDir, keygenTest } from "../_ssh_keygen_test_util.ts";
import { cat, certSection, krl, section, str, T, u64 } from "./_krl_test_util.ts";
import { isKRL, KeyRevocationList, MAX_KRL_BYTES, parseKRL } from "./krl.ts";

const ca = generatePrivateKey("ed25519");
const otherCA = generatePrivateKey("ed25519");
const userKey = generatePrivateKey("ed25519");

function cert(serial: bigint, keyId = "id", by = ca) {
  return createCertificate({ key: userKey, caKey: by, type: "user", keyId, serial });
}

/** Whether ssh-keygen -Q says the KRL revokes the key or certificate file. */
function keygenRevoked(k: KeygenDir, krlFile: string, pub: string): boolean {
  const r = k.tryRun(["-Q", "-f", k.path(krlFile), k.path(pub)]);
  if (r.status !== 0 && r.status !== 1) throw new Error(`ssh-keygen -Q failed: ${r.stderr}`);
  return r.stdout.trim().endsWith("REVOKED");
}

function newKey(k: KeygenDir, name: string, type = "ed25519"): string {
  k.run(["-q", "-t", type, "-N", "", "-C", name, "-f", k.path(name)]);
  return k.read(`${name}.pub`).trim();
}

function sign(k: KeygenDir, caName: string, key: string, serial: number, id: string): string {
  k.run([
    "-q",
    "-s",
    k.path(caName),
    "-I",
    id,
    "-z",
    String(serial),
    "-n",
    "u",
    k.path(`${key}.pub`),
  ]);
  return `${key}-cert.pub`;
}

keygenTest(
  "parseKRL() reads ssh-keygen -k's serials, ranges, bitmaps, key IDs, keys and hashes as ssh-keygen -Q does",
  (k) => {
    newKey(k, "ca");
    newKey(k, "other_ca");
    const user = newKey(k, "user");
    const keyLine = newKey(k, "k_key", "ecdsa");
    const sha1Line = newKey(k, "k_sha1");
    const sha256Line = newKey(k, "k_sha256", "rsa");
    newKey(k, "k_hash");
    const plainLine = newKey(k, "k_plain");
    newKey(k, "k_fine");
    const hash = k.fingerprint("k_hash.pub");
    // 20..30 even: sparse enough that ssh-keygen writes a bitmap.
    const evens = [20, 22, 24, 26, 28, 30].map((s) => `serial: ${s}`);
    k.write(
      "spec",
      [
        "# revoked",
        "serial: 1-5",
        "serial: 7",
        ...evens,
        "serial: 1000000-2000000",
        "id: someone",
        `key: ${keyLine}`,
        `sha1: ${sha1Line}`,
        `sha256: ${sha256Line}`,
        `hash: ${hash}`,
        plainLine,
        "",
      ].join("\n"),
    );
    k.run(["-k", "-f", k.path("out.krl"), "-s", k.path("ca.pub"), "-z", "42", k.path("spec")]);
    const list = parseKRL(readFileSync(k.path("out.krl")));
    assert.equal(list.version, 42n);
    assert.ok(list.generatedDate > 1_600_000_000n);

    const certs: [string, boolean][] = [];
    for (
      const [serial, id, revoked] of [
        [1, "a", true],
        [5, "a", true],
        [6, "a", false],
        [7, "a", true],
        [8, "a", false],
        [19, "a", false],
        [20, "a", true],
        [21, "a", false],
        [30, "a", true],
        [31, "a", false],
        [999999, "a", false],
        [1500000, "a", true],
        [2000001, "a", false],
        [0, "a", false],
        [0, "someone", true],
        [77, "someone", true],
        [77, "someone-else", false],
      ] as const
    ) {
      const name = `c_${serial}_${id}`;
      newKey(k, name);
      certs.push([sign(k, "ca", name, serial, id), revoked]);
    }
    // Another CA's certificates: neither serial 3 nor key ID "someone" is revoked for it.
    newKey(k, "o1");
    certs.push([sign(k, "other_ca", "o1", 3, "someone"), false]);
    // A certificate of a revoked key is revoked whatever its serial.
    certs.push([sign(k, "other_ca", "k_sha1", 9, "x"), true]);
    certs.push([sign(k, "ca", "k_plain", 0, "x"), true]);

    for (const [file, expected] of certs) {
      const c = importCertificate(k.read(file));
      assert.equal(list.isRevoked(c), expected, `${file} (serial ${c.serial}, id ${c.keyId})`);
      assert.equal(keygenRevoked(k, "out.krl", file), expected, `ssh-keygen -Q ${file}`);
    }
    const keys: [string, boolean][] = [
      ["user.pub", false],
      ["k_key.pub", true],
      ["k_sha1.pub", true],
      ["k_sha256.pub", true],
      ["k_hash.pub", true],
      ["k_plain.pub", true],
      ["k_fine.pub", false],
      ["ca.pub", false],
    ];
    for (const [file, expected] of keys) {
      assert.equal(list.isRevoked(importPublicKey(k.read(file))), expected, file);
      assert.equal(keygenRevoked(k, "out.krl", file), expected, `ssh-keygen -Q ${file}`);
    }
    assert.ok(user.length > 0);
  },
);

keygenTest("parseKRL(): a revoked CA key revokes every certificate it signed", (k) => {
  const caLine = newKey(k, "ca");
  newKey(k, "user");
  k.write("spec", `${caLine}\n`);
  k.run(["-k", "-f", k.path("ca.krl"), k.path("spec")]);
  const c = importCertificate(k.read(sign(k, "ca", "user", 5, "u")));
  const list = parseKRL(readFileSync(k.path("ca.krl")));
  assert.equal(list.isRevoked(c), true);
  assert.equal(list.isRevoked(c.key), false);
  assert.equal(keygenRevoked(k, "ca.krl", "user-cert.pub"), true);
  assert.equal(keygenRevoked(k, "ca.krl", "user.pub"), false);
});

keygenTest("parseKRL(): ssh-keygen -k -s none revokes serials and key IDs of any CA", (k) => {
  newKey(k, "ca1");
  newKey(k, "ca2");
  k.write("spec", "serial: 10-12\nid: lost laptop\n");
  k.run(["-k", "-f", k.path("any.krl"), "-s", "none", k.path("spec")]);
  const list = parseKRL(readFileSync(k.path("any.krl")));
  for (
    const [caName, key, serial, id, expected] of [
      ["ca1", "a", 11, "x", true],
      ["ca2", "b", 12, "x", true],
      ["ca2", "c", 13, "x", false],
      ["ca1", "d", 1, "lost laptop", true],
      ["ca2", "e", 0, "lost laptop", true],
    ] as const
  ) {
    newKey(k, key);
    const file = sign(k, caName, key, serial, id);
    assert.equal(list.isRevoked(importCertificate(k.read(file))), expected, file);
    assert.equal(keygenRevoked(k, "any.krl", file), expected, `ssh-keygen -Q ${file}`);
  }
});

keygenTest("parseKRL() reads an empty KRL and one updated with ssh-keygen -k -u", (k) => {
  k.write("empty", "");
  k.run(["-k", "-f", k.path("a.krl"), k.path("empty")]);
  const empty = parseKRL(readFileSync(k.path("a.krl")));
  assert.equal(empty.isRevoked(userKey), false);
  const line = newKey(k, "late");
  k.write("spec", `${line}\n`);
  k.run(["-k", "-u", "-f", k.path("a.krl"), k.path("spec")]);
  assert.equal(parseKRL(readFileSync(k.path("a.krl"))).isRevoked(importPublicKey(line)), true);
});

test("isRevoked() checks explicit keys, SHA-1 and SHA-256 hashes of the plain key", () => {
  const [a, b, c, d] = [0, 1, 2, 3].map(() => generatePrivateKey("ed25519").publicKey());
  const list = parseKRL(krl([
    section(T.explicitKey, str(a!.publicBlob)),
    section(T.sha1, str(sha1(b!.publicBlob))),
    section(T.sha256, str(sha256(c!.publicBlob))),
  ]));
  assert.deepEqual([a, b, c, d].map((x) => list.isRevoked(x!)), [true, true, true, false]);
  // Certificates of those keys, and certificates those keys signed.
  for (const x of [a, b, c]) {
    const sub = createCertificate({ key: x!, caKey: ca, type: "host", keyId: "h" });
    assert.equal(list.isRevoked(sub), true);
  }
  const byRevokedCA = createCertificate({
    key: userKey,
    caKey: generatePrivateKey("ed25519"),
    type: "user",
    keyId: "u",
  });
  assert.equal(list.isRevoked(byRevokedCA), false);
});

test("isRevoked() checks serial lists, ranges, bitmaps and key IDs for the certificate's CA", () => {
  const list = parseKRL(krl([
    certSection(
      ca.publicBlob,
      section(T.serialList, u64(3n, 9n)),
      section(T.serialRange, u64(100n, 200n)),
      // Offset 1000, bits 0 and 9: serials 1000 and 1009.
      section(T.serialBitmap, u64(1000n), str(Uint8Array.of(0x02, 0x01))),
      section(T.keyId, str("gone"), str("also gone\0")),
    ),
    // A second section for the same CA adds to the first.
    certSection(
      ca.publicBlob,
      section(T.serialRange, u64(0xfffffffffffffff0n, 0xffffffffffffffffn)),
    ),
  ], { comment: "team CA" }));
  assert.equal(list.comment, "team CA");
  const serials = [0n, 2n, 3n, 9n, 99n, 100n, 150n, 200n, 201n, 1000n, 1001n, 1009n, 1010n];
  assert.deepEqual(
    serials.map((s) => list.isRevoked(cert(s))),
    [false, false, true, true, false, true, true, true, false, true, false, true, false],
  );
  assert.equal(list.isRevoked(cert(0xffffffffffffffffn)), true);
  assert.equal(list.isRevoked(cert(0n, "gone")), true);
  assert.equal(list.isRevoked(cert(0n, "also gone")), true);
  assert.equal(list.isRevoked(cert(0n, "kept")), false);
  // Another CA's certificates are not affected.
  assert.equal(list.isRevoked(cert(3n, "gone", otherCA)), false);
});

test("parseKRL() skips signature sections and non-critical extensions, as OpenSSH", () => {
  const k = generatePrivateKey("ed25519").publicKey();
  const list = parseKRL(krl([
    section(T.extension, str("note@example.com"), Uint8Array.of(0), str("hello")),
    certSection(
      ca.publicBlob,
      section(T.certExtension, str("x@example.com"), Uint8Array.of(0), str("")),
      section(T.serialList, u64(5n)),
    ),
    section(T.explicitKey, str(k.publicBlob)),
    // signature_key as the section's string, then the signature as one more string.
    cat(Uint8Array.of(T.signature), str(ca.publicBlob), str(ca.sign(Uint8Array.of(1)))),
  ]));
  assert.equal(list.isRevoked(k), true);
  assert.equal(list.isRevoked(cert(5n)), true);
});

test("isKRL() and KeyRevocationList.fromBytes()", () => {
  const bytes = krl([], { version: 7n });
  assert.equal(isKRL(bytes), true);
  assert.equal(isKRL(new TextEncoder().encode("ssh-ed25519 AAAA")), false);
  assert.equal(isKRL(bytes.subarray(0, 7)), false);
  assert.equal(KeyRevocationList.fromBytes(bytes).version, 7n);
});

test("parseKRL() refuses what OpenSSH refuses, with KeyImportError", () => {
  const bad: [string, Uint8Array, RegExp][] = [
    ["bad magic", new TextEncoder().encode("SSHKRL\n\x01xxxx"), /magic/],
    ["format 2", krl([], { format: 2 }), /format version 2/],
    ["truncated header", krl([]).subarray(0, 20), /bytes left/],
    ["unknown section", krl([section(6, str(""))]), /section type 6/],
    ["unknown subsection", krl([certSection(ca.publicBlob, section(0x24))]), /subsection type 36/],
    [
      "critical extension",
      krl([section(T.extension, str("x"), Uint8Array.of(1), str(""))]),
      /critical/,
    ],
    [
      "critical cert extension",
      krl([
        certSection(ca.publicBlob, section(T.certExtension, str("x"), Uint8Array.of(1), str(""))),
      ]),
      /critical/,
    ],
    [
      "extension trailing data",
      krl([section(T.extension, str("x"), Uint8Array.of(0), str(""), Uint8Array.of(0))]),
      /trailing/,
    ],
    ["serial 0", krl([certSection(ca.publicBlob, section(T.serialList, u64(0n)))]), /serial 0/],
    [
      "range from 0",
      krl([certSection(ca.publicBlob, section(T.serialRange, u64(0n, 5n)))]),
      /starts at 0/,
    ],
    [
      "backwards range",
      krl([certSection(ca.publicBlob, section(T.serialRange, u64(9n, 5n)))]),
      /backwards/,
    ],
    [
      "range leftover",
      krl([certSection(ca.publicBlob, section(T.serialRange, u64(1n, 5n, 7n)))]),
      /left over/,
    ],
    [
      "partial serial",
      krl([certSection(ca.publicBlob, section(T.serialList, Uint8Array.of(1, 2)))]),
      /bytes left/,
    ],
    [
      "negative bitmap",
      krl([certSection(ca.publicBlob, section(T.serialBitmap, u64(1n), str(Uint8Array.of(0x80))))]),
      /negative/,
    ],
    [
      "huge bitmap",
      krl([
        certSection(
          ca.publicBlob,
          section(T.serialBitmap, u64(1n), str(new Uint8Array(2049).fill(1))),
        ),
      ]),
      /over 2048 bytes/,
    ],
    [
      "bitmap past 2^64-1",
      krl([
        certSection(
          ca.publicBlob,
          section(T.serialBitmap, u64(0xfffffffffffffff8n), str(Uint8Array.of(0x40, 0))),
        ),
      ]),
      /past serial/,
    ],
    [
      "bitmap with serial 0",
      krl([certSection(ca.publicBlob, section(T.serialBitmap, u64(0n), str(Uint8Array.of(1))))]),
      /serial 0/,
    ],
    ["bad CA key", krl([certSection(Uint8Array.of(0, 0, 0, 1, 120))]), /bad CA key/],
    ["short SHA-1", krl([section(T.sha1, str(new Uint8Array(19)))]), /19 bytes, not 20/],
    ["long SHA-256", krl([section(T.sha256, str(new Uint8Array(33)))]), /33 bytes, not 32/],
    ["NUL in key ID", krl([certSection(ca.publicBlob, section(T.keyId, str("a\0b")))]), /NUL/],
    ["overlong section", cat(krl([]), Uint8Array.of(2, 0x7f, 0xff, 0xff, 0xff)), /bytes left/],
    ["section leftover", krl([section(T.explicitKey, Uint8Array.of(0, 0))]), /bytes left/],
    ["unsigned signature", krl([section(T.signature, str(""))]), /bytes left/],
    ["too big", cat(krl([]), new Uint8Array(MAX_KRL_BYTES)), /over the limit/],
  ];
  for (const [what, bytes, message] of bad) {
    assert.throws(
      () => parseKRL(bytes),
      (e) =>
        e instanceof KeyImportError && message.test(e.message) &&
        /key revocation list/.test(e.message),
      what,
    );
  }
});

test("parseKRL() accepts a bitmap of 2048 bytes (with a leading zero) and a key ID ending in NUL", () => {
  const bits = new Uint8Array(2049);
  bits[1] = 0x40;
  const list = parseKRL(krl([
    certSection(
      ca.publicBlob,
      section(T.serialBitmap, u64(1n), str(bits)),
      section(T.keyId, str("z\0")),
    ),
  ]));
  assert.equal(list.isRevoked(cert(1n + 2047n * 8n + 6n)), true);
  assert.equal(list.isRevoked(cert(2n)), false);
  assert.equal(list.isRevoked(cert(0n, "z")), true);
});
