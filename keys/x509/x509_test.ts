import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { seededRandom } from "../../core/random.ts";
import { verifyKeyBlobSignature } from "../../core/publickey/key_blob.ts";
import { generatePrivateKey } from "../generate.ts";
import { KeyImportError } from "../errors.ts";
import {
  generateX509CACertificate,
  generateX509HostCertificate,
  generateX509UserCertificate,
} from "./generate.ts";
import { importX509Certificate, importX509Certificates, X509Certificate } from "./certificate.ts";
import { X509_PURPOSES } from "./extensions.ts";
import { validateX509Chain } from "./chain.ts";
import { checkX509SSHKey, decodeX509SSHKey, encodeX509SSHKey, X509KeyPair } from "./ssh.ts";

const now = Date.UTC(2025, 5, 1);
const rootKey = generatePrivateKey("ecdsa", { keySize: 384, random: seededRandom(1) });
const interKey = generatePrivateKey("ed25519", { random: seededRandom(2) });
const rsaKey = generatePrivateKey("rsa", { keySize: 2048, random: seededRandom(3) });
const userKey = generatePrivateKey("ecdsa", { random: seededRandom(4) });
const validity = { validAfter: new Date(now - 86400_000), validBefore: new Date(now + 86400_000) };
const root = generateX509CACertificate(rootKey, rootKey, "CN=Test Root, O=sshts", {
  ...validity,
  caPathLength: 1,
  serial: 1n,
});
const inter = generateX509CACertificate(rootKey, interKey, "CN=Test Intermediate, O=sshts", {
  ...validity,
  issuerCertificate: root,
  caPathLength: 0,
});
const user = generateX509UserCertificate(interKey, userKey, "CN=alice, O=sshts", {
  ...validity,
  issuerCertificate: inter,
  principals: ["alice", "ops"],
  serial: 0x1234567890n,
});
const host = generateX509HostCertificate(interKey, rsaKey, "CN=web.example", {
  ...validity,
  issuerCertificate: inter,
  principals: ["web.example", "192.0.2.7", "2001:db8::1"],
});

test("generateX509*Certificate() output parses back with every field", () => {
  assert.equal(root.subject, "CN=Test Root, O=sshts");
  assert.equal(root.issuer, root.subject);
  assert.equal(root.serial, 1n);
  assert.deepEqual(root.extensions.basicConstraints, { ca: true, pathLength: 1 });
  assert.deepEqual(root.extensions.keyUsage, ["digitalSignature", "keyCertSign", "cRLSign"]);
  assert.equal(root.extensions.extendedKeyUsage, undefined);
  assert.equal(inter.issuer, root.subject);
  assert.deepEqual(inter.extensions.authorityKeyIdentifier, root.extensions.subjectKeyIdentifier);
  assert.equal(user.serial, 0x1234567890n);
  assert.equal(user.isCA, false);
  assert.deepEqual(user.principals, ["alice", "ops"]);
  assert.deepEqual(user.extensions.extendedKeyUsage, [X509_PURPOSES.secureShellClient]);
  assert.deepEqual(host.principals, ["web.example", "192.0.2.7", "2001:db8::1"]);
  assert.deepEqual(host.extensions.extendedKeyUsage, [X509_PURPOSES.secureShellServer]);
  assert.equal(user.notBefore.getTime(), now - 86400_000);
  assert.ok(user.publicKey.equals(userKey));
  assert.ok(user.verifySignature(interKey) && inter.verifySignature(rootKey));
  assert.ok(!user.verifySignature(rootKey));
  assert.ok(host.verifySignature(interKey));
  const again = importX509Certificate(user.exportPem());
  assert.deepEqual(again.der, user.der);
  assert.deepEqual(importX509Certificate(user.der).der, user.der);
  assert.equal(importX509Certificates(root.exportPem() + host.exportPem()).length, 2);
  // Far dates use GeneralizedTime.
  const far = generateX509CACertificate(rsaKey, rsaKey, "/C=US/O=Far/CN=far", {
    validAfter: new Date(Date.UTC(1999, 0, 1)),
    validBefore: new Date(Date.UTC(2099, 0, 1)),
  });
  assert.equal(far.notAfter.getUTCFullYear(), 2099);
  assert.equal(far.subject, "CN=far, O=Far, C=US");
});

test("validateX509Chain() follows a chain to a trusted root", () => {
  const r = validateX509Chain([user, inter], {
    trustedCerts: [root],
    now,
    purpose: "secureShellClient",
    principal: "ops",
  });
  assert.ok(r.valid, r.valid ? "" : r.reason);
  assert.deepEqual(r.path.map((c) => c.subject), [user.subject, inter.subject, root.subject]);
  // Trusting the intermediate alone is enough; trusting the leaf itself too.
  assert.ok(validateX509Chain([user], { trustedCerts: [inter], now }).valid);
  assert.ok(validateX509Chain([user], { trustedCerts: [user], now }).valid);
});

test("validateX509Chain() refuses what a verifier must refuse", () => {
  const reason = (
    chain: X509Certificate[],
    o: Partial<Parameters<typeof validateX509Chain>[1]>,
  ) => {
    const r = validateX509Chain(chain, { trustedCerts: [root], now, ...o });
    return r.valid ? "valid" : r.reason;
  };
  assert.match(reason([user], {}), /no trusted certificate issued/);
  assert.match(reason([user, inter], { trustedCerts: [] }), /no trusted certificate/);
  assert.match(reason([user, inter], { now: now + 2 * 86400_000 }), /expired/);
  assert.match(reason([user, inter], { now: now - 2 * 86400_000 }), /not yet valid/);
  assert.match(
    reason([user, inter], { purpose: "secureShellServer" }),
    /not for secureShellServer/,
  );
  assert.match(reason([user, inter], { principal: "bob" }), /not valid for 'bob'/);
  // A leaf may not act as a CA.
  const fake = generateX509UserCertificate(userKey, rsaKey, "CN=fake", {
    ...validity,
    issuerCertificate: user,
  });
  assert.match(reason([fake, user, inter], {}), /no trusted|not a CA/);
  // Path length: the root allows one intermediate, the intermediate none below it.
  const inter2Key = generatePrivateKey("ed25519");
  const inter2 = generateX509CACertificate(interKey, inter2Key, "CN=Too Deep", {
    ...validity,
    issuerCertificate: inter,
  });
  const deep = generateX509UserCertificate(inter2Key, userKey, "CN=deep", {
    ...validity,
    issuerCertificate: inter2,
  });
  assert.notEqual(reason([deep, inter2, inter], {}), "valid");
  // A flipped signature bit.
  const der = user.der.slice();
  der[der.length - 5]! ^= 1;
  assert.notEqual(reason([X509Certificate.fromDer(der), inter], {}), "valid");
});

test("X509KeyPair signatures verify through the transport's x509v3 check", () => {
  const data = new TextEncoder().encode("session id");
  const pairs = [
    new X509KeyPair(userKey, [user, inter]),
    new X509KeyPair(rsaKey, [host, inter]),
    new X509KeyPair(rsaKey, [host, inter], "x509v3-ssh-rsa"),
    new X509KeyPair(interKey, [inter, root]),
    new X509KeyPair(rootKey, [root]),
  ];
  const p521 = generatePrivateKey("ecdsa", { keySize: 521 });
  pairs.push(
    new X509KeyPair(p521, [generateX509UserCertificate(rootKey, p521, "CN=p521", { now })]),
  );
  const seen = new Set<string>();
  for (const p of pairs) {
    seen.add(p.keyType);
    const sig = p.sign(data);
    assert.ok(verifyKeyBlobSignature(p.keyType, p.publicKeyBlob, sig, data), p.keyType);
    assert.ok(!verifyKeyBlobSignature(p.keyType, p.publicKeyBlob, sig, new Uint8Array(1)));
    assert.deepEqual(
      decodeX509SSHKey(p.publicKeyBlob).certificates.map((c) => c.der),
      p.chain.map((c) => c.der),
    );
  }
  assert.deepEqual([...seen].sort(), [
    "x509v3-ecdsa-sha2-nistp256",
    "x509v3-ecdsa-sha2-nistp384",
    "x509v3-ecdsa-sha2-nistp521",
    "x509v3-rsa2048-sha256",
    "x509v3-ssh-ed25519",
    "x509v3-ssh-rsa",
  ]);
  // The blob names the algorithm: another name does not verify.
  const p = pairs[1]!;
  assert.ok(!verifyKeyBlobSignature("x509v3-ssh-rsa", p.publicKeyBlob, p.sign(data), data));
  assert.throws(() => encodeX509SSHKey([user], "x509v3-ssh-ed25519"));
});

test("checkX509SSHKey() validates the chain in a key blob", () => {
  const blob = encodeX509SSHKey([host, inter]);
  const base = { trustedCerts: [root], now, purpose: "secureShellServer" };
  assert.ok(checkX509SSHKey(blob, { ...base, principal: "192.0.2.7" }).valid);
  assert.ok(!checkX509SSHKey(blob, { ...base, principal: "other" }).valid);
  assert.ok(!checkX509SSHKey(blob.subarray(0, 50), base).valid);
});

test("X509Certificate.fromDer() turns any damage into KeyImportError", () => {
  const der = user.der;
  for (let i = 0; i < 2000; i++) {
    const bad = der.slice(0, i % 3 === 0 ? (i * 13) % der.length : der.length);
    bad[(i * 7919) % bad.length]! ^= 1 << (i % 8);
    try {
      X509Certificate.fromDer(bad);
    } catch (e) {
      assert.ok(e instanceof KeyImportError, `${(e as Error).name}: ${(e as Error).message}`);
    }
  }
});

const OPENSSL = process.env.OPENSSL ?? "/usr/bin/openssl";
const haveOpenssl = existsSync(OPENSSL);
const skip = haveOpenssl || process.env.SSH_CONFORMANCE === "required"
  ? false
  : "openssl not found: X.509 interop not run";

function withDir(fn: (path: (n: string) => string, run: (a: string[]) => string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x509-"));
  try {
    fn((n) => join(dir, n), (args) => {
      const r = spawnSync(OPENSSL, args, { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
      return r.stdout;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test(
  "openssl x509 -text reads our certificates and openssl verify accepts our chain",
  { skip },
  () => {
    withDir((path, run) => {
      const cur = {
        validAfter: new Date(Date.now() - 60_000),
        validBefore: new Date(Date.now() + 3600_000),
      };
      const r = generateX509CACertificate(rootKey, rootKey, "CN=Root, O=sshts", {
        ...cur,
        caPathLength: 1,
      });
      const i = generateX509CACertificate(rootKey, interKey, "CN=Inter, O=sshts", {
        ...cur,
        issuerCertificate: r,
      });
      const h = generateX509HostCertificate(interKey, rsaKey, "CN=h.example", {
        ...cur,
        issuerCertificate: i,
        principals: ["h.example", "192.0.2.9"],
      });
      const u = generateX509UserCertificate(interKey, userKey, "CN=alice", {
        ...cur,
        issuerCertificate: i,
        principals: ["alice"],
      });
      for (const [name, c] of [["root", r], ["inter", i], ["host", h], ["user", u]] as const) {
        writeFileSync(path(`${name}.pem`), c.exportPem());
      }
      const text = run(["x509", "-in", path("host.pem"), "-noout", "-text"]);
      assert.match(text, /Issuer: O = sshts, CN = Inter/);
      assert.match(text, /Subject: CN = h.example/);
      assert.match(text, /DNS:h.example, IP Address:192.0.2.9/);
      assert.match(text, /SSH Server|1\.3\.6\.1\.5\.5\.7\.3\.22/);
      assert.match(text, /Signature Algorithm: ED25519/);
      assert.match(run(["x509", "-in", path("root.pem"), "-noout", "-text"]), /CA:TRUE, pathlen:1/);
      assert.match(
        run(["x509", "-in", path("user.pem"), "-noout", "-text"]),
        /othername: UPN::alice|UPN/,
      );
      for (const leaf of ["host", "user"]) {
        const out = run([
          "verify",
          "-CAfile",
          path("root.pem"),
          "-untrusted",
          path("inter.pem"),
          path(`${leaf}.pem`),
        ]);
        assert.match(out, /: OK/);
      }
      // DER too.
      run(["x509", "-in", path("root.pem"), "-outform", "DER", "-out", path("root.der")]);
      assert.deepEqual(new Uint8Array(readFileSync(path("root.der"))), r.der);
    });
  },
);

test("certificates openssl makes parse, verify and validate here", { skip }, () => {
  withDir((path, run) => {
    const subj = (cn: string) => ["-subj", `/O=OpenSSL/CN=${cn}`];
    run([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-384",
      "-nodes",
      "-keyout",
      path("ca.key"),
      "-out",
      path("ca.pem"),
      "-days",
      "2",
      ...subj("CA"),
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    for (
      const [name, alg] of [["ed", ["-newkey", "ed25519"]], ["rsa", ["-newkey", "rsa:2048"]], [
        "ec",
        ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
      ]] as const
    ) {
      run([
        "req",
        "-new",
        ...alg,
        "-nodes",
        "-keyout",
        path(`${name}.key`),
        "-out",
        path(`${name}.csr`),
        ...subj(name),
      ]);
      writeFileSync(
        path("ext.cnf"),
        `subjectAltName=DNS:${name}.example\nextendedKeyUsage=1.3.6.1.5.5.7.3.22\n`,
      );
      run([
        "x509",
        "-req",
        "-in",
        path(`${name}.csr`),
        "-CA",
        path("ca.pem"),
        "-CAkey",
        path("ca.key"),
        "-CAcreateserial",
        "-out",
        path(`${name}.pem`),
        "-days",
        "1",
        "-extfile",
        path("ext.cnf"),
        "-sha512",
      ]);
      const ca = importX509Certificate(readFileSync(path("ca.pem"), "utf8"));
      const leaf = importX509Certificate(readFileSync(path(`${name}.pem`), "utf8"));
      assert.equal(leaf.issuer, "CN=CA, O=OpenSSL");
      assert.ok(leaf.verifySignature(ca.publicKey), name);
      assert.ok(ca.verifySignature(ca.publicKey), "self-signed CA");
      const r = validateX509Chain([leaf], {
        trustedCerts: [ca],
        now: Date.now(),
        purpose: "secureShellServer",
        principal: `${name}.example`,
      });
      assert.ok(r.valid, r.valid ? "" : r.reason);
    }
  });
});

test(
  "a version 1 certificate the peer sends is no CA: it cannot vouch for another (openssl verify agrees)",
  {
    skip,
  },
  () => {
    withDir((path, run) => {
      const subj = (cn: string) => ["-subj", `/O=OpenSSL/CN=${cn}`];
      const key = (
        name: string,
      ) => [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        path(`${name}.key`),
      ];
      run([
        "req",
        "-x509",
        ...key("root"),
        "-out",
        path("root.pem"),
        "-days",
        "2",
        ...subj("Root"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
      ]);
      // A plain leaf as `openssl x509 -req` issues it without extensions: version 1.
      run(["req", "-new", ...key("v1"), "-out", path("v1.csr"), ...subj("legacy-leaf")]);
      run([
        "x509",
        "-req",
        "-in",
        path("v1.csr"),
        "-CA",
        path("root.pem"),
        "-CAkey",
        path("root.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        path("v1.pem"),
      ]);
      // Its key signs a certificate for a host it has nothing to do with.
      run(["req", "-new", ...key("evil"), "-out", path("evil.csr"), ...subj("evil")]);
      writeFileSync(
        path("ext"),
        "subjectAltName=DNS:victim.example\nextendedKeyUsage=1.3.6.1.5.5.7.3.22\n",
      );
      run([
        "x509",
        "-req",
        "-in",
        path("evil.csr"),
        "-CA",
        path("v1.pem"),
        "-CAkey",
        path("v1.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        path("ext"),
        "-out",
        path("evil.pem"),
      ]);
      const v1 = importX509Certificate(readFileSync(path("v1.pem"), "utf8"));
      assert.equal(v1.version, 1);
      const root = importX509Certificate(readFileSync(path("root.pem"), "utf8"));
      const evil = importX509Certificate(readFileSync(path("evil.pem"), "utf8"));
      const r = validateX509Chain([evil, v1], {
        trustedCerts: [root],
        now: Date.now(),
        principal: "victim.example",
      });
      assert.equal(r.valid, false);
      assert.match((r as { reason: string }).reason, /legacy-leaf|not a CA|no trusted/);
      const verify = spawnSync(OPENSSL, [
        "verify",
        "-CAfile",
        path("root.pem"),
        "-untrusted",
        path("v1.pem"),
        path("evil.pem"),
      ], { encoding: "utf8" });
      assert.notEqual(verify.status, 0, "openssl refuses it too");
      // Trusting that version 1 leaf does not make it a CA either: only a self-issued
      // version 1 root is taken as one (openssl verify -partial_chain agrees).
      const trustLeaf = validateX509Chain([evil], { trustedCerts: [v1], now: Date.now() });
      assert.equal(trustLeaf.valid, false);
      assert.match((trustLeaf as { reason: string }).reason, /legacy-leaf, O=OpenSSL' is not a CA/);
      const partial = spawnSync(OPENSSL, [
        "verify",
        "-partial_chain",
        "-CAfile",
        path("v1.pem"),
        path("evil.pem"),
      ], { encoding: "utf8" });
      assert.notEqual(partial.status, 0, "openssl -partial_chain refuses it too");
      // A self-signed version 1 root the caller trusts is taken as a CA, as OpenSSL takes it.
      run(["req", "-new", ...key("v1root"), "-out", path("v1root.csr"), ...subj("v1root")]);
      run([
        "x509",
        "-req",
        "-in",
        path("v1root.csr"),
        "-signkey",
        path("v1root.key"),
        "-days",
        "2",
        "-out",
        path("v1root.pem"),
      ]);
      run([
        "x509",
        "-req",
        "-in",
        path("evil.csr"),
        "-CA",
        path("v1root.pem"),
        "-CAkey",
        path("v1root.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        path("ext"),
        "-out",
        path("evil2.pem"),
      ]);
      const v1root = importX509Certificate(readFileSync(path("v1root.pem"), "utf8"));
      assert.equal(v1root.version, 1);
      const evil2 = importX509Certificate(readFileSync(path("evil2.pem"), "utf8"));
      const r2 = validateX509Chain([evil2], { trustedCerts: [v1root], now: Date.now() });
      assert.ok(r2.valid, r2.valid ? "" : r2.reason);
      run(["verify", "-CAfile", path("v1root.pem"), path("evil2.pem")]);
    });
  },
);
