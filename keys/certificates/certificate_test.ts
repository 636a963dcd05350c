import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import {
  curve25519Backend,
  registerCurve25519Backend,
} from "../../core/crypto/curve25519_backend.ts";
import {
  CERT_FOREVER,
  certKeyType,
  createCertificate,
  importCertificate,
  MAX_CERTIFICATE_LINE,
  plainKeyType,
  SSHCertificate,
} from "./certificate.ts";
import { generatePrivateKey } from "../generate.ts";
import { importPrivateKey, importPublicKey } from "../formats/import.ts";
import { KeyExportError, KeyImportError } from "../errors.ts";
import { keygenTest } from "../_ssh_keygen_test_util.ts";

const rsaCa = generatePrivateKey("rsa", { keySize: 2048, random: seededRandom(21) });

test("plainKeyType() and certKeyType() map type names both ways", () => {
  for (
    const t of [
      "ssh-ed25519",
      "ecdsa-sha2-nistp384",
      "ssh-rsa",
      "sk-ssh-ed25519@openssh.com",
      "sk-ecdsa-sha2-nistp256@openssh.com",
    ]
  ) {
    assert.equal(plainKeyType(certKeyType(t)), t);
  }
  assert.equal(certKeyType("sk-ssh-ed25519@openssh.com"), "sk-ssh-ed25519-cert-v01@openssh.com");
  assert.equal(plainKeyType("ssh-ed25519"), undefined);
});

test("createCertificate() output parses, verifies and checks", () => {
  const ca = generatePrivateKey("ecdsa");
  const user = generatePrivateKey("ed25519");
  const now = Date.UTC(2025, 5, 1);
  const cert = createCertificate({
    key: user,
    caKey: ca,
    type: "user",
    keyId: "alice@laptop",
    principals: ["alice", "admin"],
    serial: 7n,
    validAfter: new Date(now - 60_000),
    validBefore: new Date(now + 3600_000),
    criticalOptions: { "source-address": "10.0.0.0/8", "force-command": "uptime" },
    comment: "c",
  });
  const again = importCertificate(cert.exportCertificate());
  assert.equal(again.keyId, "alice@laptop");
  assert.equal(again.serial, 7n);
  assert.deepEqual(again.principals, ["alice", "admin"]);
  assert.deepEqual([...again.criticalOptions.keys()], ["force-command", "source-address"]);
  assert.ok(again.extensions.has("permit-pty"));
  assert.equal(again.getComment(), "c");
  assert.ok(again.key.equals(user));
  assert.ok(again.signatureKey.equals(ca));
  assert.equal(again.getFingerprint(), user.getFingerprint());
  assert.deepEqual(again.getSigAlgorithms(), ["ssh-ed25519-cert-v01@openssh.com"]);
  const ok = {
    now,
    type: "user",
    principal: "alice",
    trustedCAs: [ca],
    clientAddress: "10.1.1.1",
  } as const;
  assert.deepEqual(again.checkValidity(ok), { valid: true });
  const fail = (o: object) => {
    const r = again.checkValidity({ ...ok, ...o });
    return r.valid ? "" : r.reason;
  };
  assert.match(fail({ type: "host" }), /user certificate, not a host/);
  assert.match(fail({ principal: "mallory" }), /not valid for 'mallory'/);
  // source-address cannot be checked without an address: refused, not skipped.
  assert.match(fail({ clientAddress: undefined }), /no client address was given/);
  assert.match(fail({ clientAddress: "192.0.2.7" }), /not allowed by the certificate/);
  assert.match(fail({ now: now + 7200_000 }), /expired/);
  assert.match(fail({ now: now - 7200_000 }), /not yet valid/);
  assert.match(fail({ trustedCAs: [user] }), /untrusted CA/);
  assert.match(fail({ clientAddress: "192.0.2.1" }), /source address/);
});

test("SSHCertificate.verifySignature() fails on any change and on ssh-rsa by default", () => {
  const user = generatePrivateKey("ecdsa");
  const cert = createCertificate({ key: user, caKey: rsaCa, type: "host", keyId: "h" });
  assert.equal(cert.validBefore, CERT_FOREVER);
  assert.equal(cert.extensions.size, 0);
  assert.ok(cert.verifySignature());
  const tampered = cert.blob.slice();
  tampered[60] = tampered[60]! ^ 1;
  let ok = false;
  try {
    ok = SSHCertificate.fromBlob(tampered).verifySignature();
  } catch (e) {
    assert.ok(e instanceof KeyImportError);
  }
  assert.equal(ok, false);
  const sha1 = createCertificate({
    key: user,
    caKey: rsaCa,
    type: "host",
    keyId: "h",
    signatureAlgorithm: "ssh-rsa",
  });
  assert.equal(sha1.verifySignature(), false);
  assert.ok(sha1.verifySignature(["ssh-rsa"]));
});

test("SSHCertificate.fromBlob() throws only KeyImportError on truncated and mutated blobs", () => {
  const ca = generatePrivateKey("ed25519");
  const cert = createCertificate({
    key: ca,
    caKey: ca,
    type: "user",
    keyId: "k",
    principals: ["a"],
  });
  const r = seededRandom(fuzzSeed(4));
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const x = r(4);
    let b = cert.blob.slice(0, cert.blob.length - (((x[0]! << 8) | x[1]!) % cert.blob.length));
    if (i % 2) {
      b = cert.blob.slice();
      const at = ((x[0]! << 8) | x[1]!) % b.length;
      b[at] = b[at]! ^ (x[2]! | 1);
    }
    try {
      SSHCertificate.fromBlob(b).verifySignature();
    } catch (e) {
      assert.ok(e instanceof KeyImportError, String(e));
    }
  }
});

keygenTest("importCertificate() reads certificates ssh-keygen -s signs", (k) => {
  const cas: [string, string[]][] = [["ed25519", ["-t", "ed25519"]], ["ecdsa", ["-t", "ecdsa"]], [
    "rsa",
    ["-t", "rsa", "-b", "2048"],
  ]];
  k.run(["-q", "-t", "ecdsa", "-b", "384", "-N", "", "-C", "subject", "-f", k.path("subject")]);
  for (const [name, args] of cas) {
    k.run(["-q", ...args, "-N", "", "-f", k.path(`ca-${name}`)]);
    k.run([
      "-q",
      "-s",
      k.path(`ca-${name}`),
      "-I",
      `id ${name}`,
      "-n",
      "alice,bob",
      "-z",
      "42",
      "-V",
      "20200101:20991231",
      "-O",
      "force-command=ls -l",
      "-O",
      "source-address=10.0.0.0/8,192.0.2.1",
      "-O",
      "no-pty",
      k.path("subject.pub"),
    ]);
    const cert = importCertificate(k.read("subject-cert.pub"));
    assert.equal(cert.keyId, `id ${name}`);
    assert.equal(cert.serial, 42n);
    assert.equal(cert.certType, "user");
    assert.deepEqual(cert.principals, ["alice", "bob"]);
    assert.equal(cert.criticalOptions.get("force-command"), "ls -l");
    assert.equal(cert.extensions.has("permit-pty"), false);
    assert.ok(cert.extensions.has("permit-agent-forwarding"));
    assert.equal(cert.getComment(), "subject");
    assert.equal(cert.getFingerprint(), k.fingerprint("subject-cert.pub"));
    assert.ok(cert.signatureKey.equals(importPublicKey(k.read(`ca-${name}.pub`))));
    const r = cert.checkValidity({
      now: Date.UTC(2025, 0, 1),
      type: "user",
      principal: "bob",
      clientAddress: "192.0.2.1",
    });
    assert.deepEqual(r, { valid: true }, name);
    // Host certificate too.
    k.run([
      "-q",
      "-s",
      k.path(`ca-${name}`),
      "-h",
      "-I",
      "host",
      "-n",
      "h.example",
      k.path("subject.pub"),
    ]);
    const host = importCertificate(k.read("subject-cert.pub"));
    assert.equal(host.certType, "host");
    assert.ok(host.checkValidity({ now: Date.now(), type: "host", principal: "h.example" }).valid);
  }
});

keygenTest("ssh-keygen -L accepts the certificates createCertificate() signs", (k) => {
  const cas = [
    generatePrivateKey("ed25519"),
    generatePrivateKey("ecdsa", { keySize: 521 }),
    rsaCa,
  ];
  k.run(["-q", "-t", "ed25519", "-N", "", "-f", k.path("subject")]);
  const subject = importPrivateKey(k.read("subject"));
  for (const ca of cas) {
    const cert = createCertificate({
      key: subject,
      caKey: ca,
      type: "user",
      keyId: "our id",
      principals: ["alice"],
      serial: 9,
      validAfter: new Date(Date.UTC(2020, 0, 1)),
      validBefore: new Date(Date.UTC(2099, 0, 1)),
      criticalOptions: { "force-command": "true" },
      extensions: { "permit-pty": "" },
    });
    k.write("subject-cert.pub", cert.exportCertificate());
    // -L parses the certificate and verifies the CA signature.
    const out = k.run(["-L", "-f", k.path("subject-cert.pub")]);
    assert.match(out, /Key ID: "our id"/, ca.getAlgorithm());
    assert.match(out, /Serial: 9/);
    assert.match(out, /force-command true/);
    assert.match(
      out,
      new RegExp(`Signing CA: \\S+ ${ca.getFingerprint().replace(/[+/]/g, "\\$&")}`),
    );
    assert.equal(k.fingerprint("subject-cert.pub"), subject.getFingerprint());
  }
});

test("verifySignature() verifies a certificate once, and again when its bytes or the allowed algorithms change", () => {
  const ca = generatePrivateKey("ed25519", { random: seededRandom(31) });
  const cert = createCertificate({
    key: generatePrivateKey("ed25519", { random: seededRandom(32) }),
    caKey: ca,
    type: "user",
    keyId: "once",
    random: seededRandom(33),
  });
  const backend = curve25519Backend();
  let verifies = 0;
  registerCurve25519Backend({
    ...backend,
    ed25519Verify: (...args) => (verifies++, backend.ed25519Verify(...args)),
  });
  try {
    assert.equal(cert.verifySignature(), true);
    assert.equal(cert.verifySignature(), true);
    assert.equal(cert.checkValidity({ now: Date.now() }).valid, true);
    assert.equal(verifies, 1, "one verification for three checks of the same bytes");
    // Other allowed algorithms: asked again.
    assert.equal(cert.verifySignature(["rsa-sha2-256"]), false);
    assert.equal(cert.verifySignature(["ssh-ed25519"]), true);
    assert.equal(verifies, 2);
    // A changed signature byte is never answered from before.
    cert.signature[cert.signature.length - 1]! ^= 1;
    assert.equal(cert.verifySignature(["ssh-ed25519"]), false);
    cert.signature[cert.signature.length - 1]! ^= 1;
    assert.equal(cert.verifySignature(["ssh-ed25519"]), true);
    assert.equal(verifies, 4);
  } finally {
    registerCurve25519Backend(backend);
  }
});

test("importCertificate() splits a line with a long blank run in its comment in one pass", () => {
  const ca = generatePrivateKey("ed25519", { random: seededRandom(5) });
  const line = createCertificate({ key: ca, caKey: ca, type: "user", keyId: "u" })
    .exportCertificate().trim();
  // Blanks then another character made the old regular expression backtrack
  // quadratically (80,000 blanks: 5 s). A line of exactly the cap is read whole...
  const comment = "x" + " ".repeat(MAX_CERTIFICATE_LINE - line.length - 4) + "y";
  assert.equal(importCertificate(`${line}\t${comment} \n`).getComment(), comment);
  assert.equal(importCertificate(`# c\n  ${line}\t \n`).getComment(), "");
  // ...and a longer line is refused by the cap.
  assert.throws(
    () => importCertificate(`${line} x${" ".repeat(80_000)}y`),
    (e) => e instanceof KeyImportError && e.message.includes(`over ${MAX_CERTIFICATE_LINE}`),
  );
  for (const bad of [`${line}\rx`, `${line} a\u2028b`, `${line}!`, line.split(" ")[0]!]) {
    assert.throws(() => importCertificate(bad), KeyImportError, JSON.stringify(bad.slice(-8)));
  }
});

test("createCertificate() refuses numbers and strings it would write as something else", () => {
  const ca = generatePrivateKey("ed25519", { random: seededRandom(41) });
  const key = generatePrivateKey("ed25519", { random: seededRandom(42) });
  const sign = (o: Partial<Parameters<typeof createCertificate>[0]>) =>
    createCertificate({ key, caKey: ca, type: "user", keyId: "k", principals: ["p"], ...o });
  // uint64 fields kept only their low 64 bits: a serial of -1 became 2^64 - 1 and 2^64
  // became 0; a validAfter of -1 made a certificate that is never valid.
  for (
    const [o, why] of [
      [{ serial: -1 }, /serial -1 is outside 0\.\.2\^64-1/],
      [{ serial: 2n ** 64n }, /serial 18446744073709551616 is outside/],
      [{ serial: 1.5 }, /serial 1\.5 is not an integer/],
      [{ validAfter: -1 }, /validAfter -1 is outside/],
      [{ validAfter: new Date(-86400_000) }, /validAfter -86400 is outside/],
      [{ validBefore: 2n ** 64n }, /validBefore 18446744073709551616 is outside/],
      [{ validBefore: new Date(NaN) }, /validBefore is an invalid Date/],
      // Valid at no time, as ssh-keygen -V refuses ("Empty certificate validity interval").
      [{ validAfter: 2000, validBefore: 1000 }, /empty validity interval/],
      [{ validAfter: 1000, validBefore: 1000 }, /empty validity interval/],
      // OpenSSH reads these as C strings: with a NUL, ssh-keygen -L and sshd refused the
      // whole certificate ("invalid format").
      [{ keyId: "a\0b" }, /keyId contains a NUL/],
      [{ principals: ["alice", "a\0b"] }, /principal contains a NUL/],
      [{ criticalOptions: { "force-command": "ls\0rm" } }, /critical option 'force-command'/],
      [{ extensions: { "permit-pty\0x": "" } }, /extension name/],
      // It said "Cannot import certificate: too many principals".
      [{ principals: Array.from({ length: 257 }, (_, i) => `p${i}`) }, /257 principals/],
      // From JavaScript: it signed a host certificate.
      [{ type: "User" as "user" }, /type 'User' is neither 'user' nor 'host'/],
    ] as const
  ) {
    assert.throws(() => sign(o), (e) => e instanceof RangeError && why.test(e.message), why.source);
  }
  const edge = sign({ serial: 2n ** 64n - 1n, validAfter: 0, validBefore: 1, principals: [] });
  assert.equal(edge.serial, 2n ** 64n - 1n);
  assert.equal(edge.validBefore, 1n);
  assert.equal(sign({ principals: Array(256).fill("p") }).principals.length, 256);
});

test("exportCertificate() refuses a comment with a line break", () => {
  const ca = generatePrivateKey("ed25519", { random: seededRandom(43) });
  const cert = createCertificate({ key: ca, caKey: ca, type: "host", keyId: "h", comment: "a\nb" });
  assert.throws(() => cert.exportCertificate(), KeyExportError);
  cert.setComment("a b");
  assert.match(cert.exportCertificate(), / a b\n$/);
});

test("checkValidity() reads source-address as sshd does: addresses and CIDR ranges, else refused", () => {
  const ca = generatePrivateKey("ed25519");
  const user = generatePrivateKey("ed25519");
  const at = (sourceAddress: string) =>
    createCertificate({
      key: user.publicKey(),
      caKey: ca,
      type: "user",
      keyId: "u",
      principals: ["u"],
      criticalOptions: { "source-address": sourceAddress },
    }).checkValidity({
      now: Date.now(),
      clientAddress: "127.0.0.1",
      type: "user",
      trustedCAs: [ca.publicKey()],
    });
  assert.equal(at("127.0.0.0/8,10.0.0.1").valid, true);
  assert.equal(at("10.0.0.0/8").valid, false);
  // Patterns a from= list would take: sshd refuses a list it cannot read, whatever the client.
  for (
    const list of ["127.0.0.*", "!10.0.0.1,127.0.0.1", "127.0.0.1, 10.0.0.1", "127.0.0.1,bogus"]
  ) {
    const r = at(list);
    assert.ok(!r.valid && /not a list of addresses and CIDR ranges/.test(r.reason), list);
  }
});

test("checkValidity() refuses known options sshd refuses: a flag with data, a force-command without a value", () => {
  const ca = generatePrivateKey("ed25519");
  const user = generatePrivateKey("ed25519");
  const check = (
    o: { criticalOptions?: Record<string, string>; extensions?: Record<string, string> },
  ) => {
    const cert = createCertificate({
      key: user.publicKey(),
      caKey: ca,
      type: "user",
      keyId: "u",
      principals: ["u"],
      ...o,
    });
    const again = importCertificate(cert.exportCertificate());
    const r = again.checkValidity({ now: Date.now(), type: "user", trustedCAs: [ca.publicKey()] });
    return r.valid ? "valid" : r.reason;
  };
  assert.equal(check({ extensions: { "permit-pty": "" } }), "valid");
  assert.equal(check({ criticalOptions: { "force-command": "ls" } }), "valid");
  // A forced command of nothing was read as "", which an application could take for none.
  assert.match(check({ criticalOptions: { "force-command": "" } }), /'force-command' has no value/);
  assert.match(
    check({ extensions: { "permit-pty": "yes" } }),
    /'permit-pty' is a flag but carries data/,
  );
  assert.match(
    check({ criticalOptions: { "verify-required": "x" } }),
    /'verify-required' is a flag/,
  );
  // An extension sshd does not know keeps its data, as before.
  assert.equal(check({ extensions: { "login@example.com": "x" } }), "valid");
});

test("checkValidity() leaves a host certificate's extensions alone, as ssh does", () => {
  const ca = generatePrivateKey("ed25519");
  const host = generatePrivateKey("ed25519");
  const cert = importCertificate(
    createCertificate({
      key: host.publicKey(),
      caKey: ca,
      type: "host",
      keyId: "h",
      principals: ["h.example"],
      // `ssh-keygen -h -O extension:permit-pty=x`: ssh 9.2 accepts such a host certificate.
      extensions: { "permit-pty": "x" },
    }).exportCertificate(),
  );
  assert.notEqual(cert.optionProblem, undefined);
  const r = cert.checkValidity({ now: Date.now(), type: "host", trustedCAs: [ca.publicKey()] });
  assert.deepEqual(r, { valid: true });
});
