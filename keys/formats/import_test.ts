// Interop: keys written by the real ssh-keygen import, with ssh-keygen's fingerprints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { asImportError, importPrivateKey, importPublicKey, importPublicKeyList } from "./import.ts";
import { KeyImportError } from "../errors.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";
import { generatePrivateKey } from "../generate.ts";
import { CURVES } from "../_curves.ts";
import { encodeSec1PrivateKey } from "./sec1.ts";
import { encodePkcs8PrivateKey } from "./pkcs8.ts";
import { encodeSpki } from "./spki.ts";

const TYPES: [string, string[]][] = [
  ["ed25519", ["-t", "ed25519"]],
  ["ecdsa256", ["-t", "ecdsa", "-b", "256"]],
  ["ecdsa384", ["-t", "ecdsa", "-b", "384"]],
  ["ecdsa521", ["-t", "ecdsa", "-b", "521"]],
  ["rsa2048", ["-t", "rsa", "-b", "2048"]],
  ["dsa", ["-t", "dsa"]],
];
const FORMATS = ["RFC4716", "PEM", "PKCS8"]; // -m values for private keys ("RFC4716" = OpenSSH's own)
const PASSPHRASE = "correct horse";

for (const [name, args] of TYPES) {
  keygenTest(`importPrivateKey() reads ssh-keygen ${name} keys in every format`, (k) => {
    // One key per type (RSA generation is slow); ssh-keygen -p rewrites it in each format.
    k.run(["-q", ...args, "-N", "", "-C", `c-${name}`, "-f", k.path("base")]);
    const want = k.fingerprint("base.pub");
    assert.equal(k.fingerprint("base.pub", "md5").startsWith("MD5:"), true);
    for (const format of FORMATS) {
      for (const pass of ["", PASSPHRASE]) {
        const file = `${name}-${format}-${pass ? "enc" : "plain"}`;
        k.write(file, k.read("base"));
        // ssh-keygen's default 16 bcrypt rounds once; 2 elsewhere to keep the test fast.
        const rounds = name === "ed25519" && format === "RFC4716" ? [] : ["-a", "2"];
        k.run(["-q", "-p", ...rounds, "-m", format, "-P", "", "-N", pass, "-f", k.path(file)]);
        const text = k.read(file);
        const key = importPrivateKey(text, pass || undefined);
        assert.equal(key.getFingerprint(), want, file);
        assert.equal(key.getFingerprint("md5"), k.fingerprint("base.pub", "md5"), file);
        assert.ok(key.hasPrivateKey(), file);
        if (text.includes("OPENSSH PRIVATE KEY")) assert.equal(key.getComment(), `c-${name}`);
        if (pass) {
          assert.throws(() => importPrivateKey(text, "wrong passphrase"), {
            name: "KeyImportError",
            message: "Cannot import private key: incorrect passphrase",
          }, file);
          assert.throws(() => importPrivateKey(text), /encrypted and no passphrase/, file);
        }
      }
    }
    // The .pub file imports too, with its comment.
    const pub = importPublicKey(k.read("base.pub"));
    assert.equal(pub.getFingerprint(), want);
    assert.equal(pub.getComment(), `c-${name}`);
  });

  keygenTest(`importPublicKey() reads ssh-keygen -e exports of ${name} keys`, (k) => {
    k.run(["-q", ...args, "-N", "", "-C", "me", "-f", k.path("key")]);
    const want = k.fingerprint("key.pub");
    const formats = name === "ed25519" ? ["RFC4716"] : ["RFC4716", "PKCS8", "PEM"];
    for (const format of formats) {
      const out = k.run(["-e", "-m", format, "-f", k.path("key.pub")]);
      const pub = importPublicKey(out);
      assert.equal(pub.getFingerprint(), want, format);
      assert.equal(pub.hasPrivateKey(), false);
      if (format === "RFC4716") assert.match(pub.getComment(), /converted by/);
    }
  });
}

keygenTest("importPrivateKey() reads every cipher ssh-keygen -Z offers", (k) => {
  const ciphers = [
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
    "aes128-cbc",
    "aes192-cbc",
    "aes256-cbc",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "3des-cbc",
  ];
  for (const cipher of ciphers) {
    const file = `k-${cipher}`;
    k.run(["-q", "-t", "ed25519", "-a", "2", "-Z", cipher, "-N", PASSPHRASE, "-f", k.path(file)]);
    const key = importPrivateKey(k.read(file), PASSPHRASE);
    assert.equal(key.getFingerprint(), k.fingerprint(`${file}.pub`), cipher);
    assert.throws(() => importPrivateKey(k.read(file), "nope"), /incorrect passphrase/, cipher);
  }
});

keygenTest("importPrivateKey() accepts DER bytes of PKCS#1, SEC1 and PKCS#8 keys", (k) => {
  for (const t of ["rsa", "ecdsa"]) {
    k.run(["-q", "-t", t, "-N", "", "-f", k.path(t)]);
    for (const m of ["PEM", "PKCS8"]) {
      k.run(["-q", "-p", "-m", m, "-P", "", "-N", "", "-f", k.path(t)]);
      const der = pemBody(k.read(t));
      assert.equal(importPrivateKey(der).getFingerprint(), k.fingerprint(`${t}.pub`), `${t} ${m}`);
    }
  }
});

keygenTest("importPublicKeyList() reads an authorized_keys-style list of ssh-keygen keys", (k) => {
  let text = "# my keys\n\n";
  const want: string[] = [];
  for (const [name, args] of TYPES.filter(([n]) => !/rsa|dsa/.test(n))) {
    k.run(["-q", ...args, "-N", "", "-f", k.path(name)]);
    text += k.read(`${name}.pub`);
    want.push(k.fingerprint(`${name}.pub`));
  }
  text += k.run(["-e", "-f", k.path("ed25519.pub")]);
  want.push(want[0]!);
  assert.deepEqual(importPublicKeyList(text).map((x) => x.getFingerprint()), want);
});

test("importPublicKeyList() names the line of a bad entry", () => {
  assert.throws(
    () => importPublicKeyList("# c\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA== x\n"),
    (e: unknown) => e instanceof KeyImportError && /line 2/.test(e.message),
  );
});

test("importPrivateKey() explains PuTTY and unknown inputs", () => {
  assert.throws(
    () => importPrivateKey("PuTTY-User-Key-File-3: ssh-ed25519\n"),
    /Cannot import PuTTY private key: expected 'Encryption'/,
  );
  assert.throws(() => importPrivateKey("hello"), /no private key found/);
  assert.throws(() => importPrivateKey(new Uint8Array([0x30, 3, 2, 1, 0])), KeyImportError);
});

function pemBody(text: string): Uint8Array {
  const b64 = text.split("\n").filter((l) => l && !l.startsWith("-----")).join("");
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

test("importPublicKeyList() reads thousands of RFC 4716 and PEM blocks, each from its own lines", () => {
  const k = generatePrivateKey("ed25519");
  const blocks = [k.exportPublicKey("rfc4716"), k.exportPublicKey("spki-pem"), k.exportPublicKey()];
  const text = Array.from({ length: 3000 }, (_, i) => blocks[i % 3]).join("");
  const keys = importPublicKeyList(text);
  assert.equal(keys.length, 3000);
  assert.ok(keys.every((x) => x.equals(k.publicKey())));
  // An unterminated block still names its line.
  assert.throws(
    () => importPublicKeyList(k.exportPublicKey() + "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n"),
    /line 2/,
  );
});

test("asImportError() makes any Error raised while decoding a KeyImportError with it as cause", () => {
  // Other libraries' code (the KDFs) throws plain Error: it escaped without a code.
  for (const e of [new Error("maxmem"), new RangeError("r"), new SyntaxError("s")]) {
    const wrapped = asImportError(e, "private key");
    assert.ok(wrapped instanceof KeyImportError);
    assert.equal(wrapped.code, "ERR_KEY_IMPORT");
    assert.equal(wrapped.message, `Cannot import private key: ${e.message}`);
    assert.equal(wrapped.cause, e);
  }
  const own = new KeyImportError("x");
  assert.equal(asImportError(own, "key"), own);
  assert.throws(() => asImportError("not an Error", "key"), (v) => v === "not an Error");
});

test("importPrivateKey() and importPublicKey() read EC keys whose point is compressed, as ssh-keygen does", () => {
  // `openssl ec -conv_form compressed` writes the point as 02/03 || x in SEC1, PKCS#8 and
  // SPKI; ssh-keygen reads such files. They were refused as "not a point on nistp256".
  for (const size of [256, 384, 521]) {
    const key = generatePrivateKey("ecdsa", { keySize: size });
    const m = key.material;
    assert.ok(m.type === "ecdsa" && m.privateKey);
    const point = CURVES[m.curve].curve.Point.fromBytes(m.publicKey).toBytes(true);
    const compressed = { ...m, publicKey: point };
    for (const der of [encodeSec1PrivateKey(compressed), encodePkcs8PrivateKey(compressed)]) {
      const imported = importPrivateKey(der);
      assert.ok(imported.equals(key), `nistp${size}`);
      assert.deepEqual(imported.publicBlob, key.publicBlob, `nistp${size}: blob uncompressed`);
    }
    const pub = importPublicKey(encodeSpki({ type: "ecdsa", curve: m.curve, publicKey: point }));
    assert.deepEqual(pub.publicBlob, key.publicBlob, `nistp${size} SPKI`);
    // A compressed point that is not the scalar's, or not on the curve, is still refused.
    const other = { ...compressed, publicKey: point.slice() };
    other.publicKey[0] = point[0] === 2 ? 3 : 2;
    assert.throws(() => importPrivateKey(encodeSec1PrivateKey(other)), /does not match/);
    const off = point.slice();
    off.fill(0xff, 1);
    assert.throws(
      () => importPublicKey(encodeSpki({ type: "ecdsa", curve: m.curve, publicKey: off })),
      (e: unknown) => e instanceof KeyImportError && /not a valid nistp/.test(e.message),
    );
  }
});
