import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../core/errors.ts";
import { seededRandom } from "../core/random.ts";
import { equalBytes, SSHWriter } from "../core/wire.ts";
import { encodePublicKeyBlob } from "../core/publickey/blob.ts";
import { generatePrivateKey } from "./generate.ts";
import { importPublicKey } from "./formats/import.ts";
import { SSHKey } from "./ssh_key.ts";
import { KeyImportError } from "./errors.ts";

// A public key and what `ssh-keygen -l` (and `-l -E md5`) printed for it.
const LINE =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPloysTBsoIpccdFuhWaXhTsvZZFbH/PapG2mclKgeMK c ed25519";
const SHA256 = "SHA256:NZvLVirtGjSNpGyAmqOpfPBjUZfsrhLk1G75wr5BZOU";
const MD5 = "MD5:2f:3c:58:af:39:55:29:32:b1:7f:af:34:b1:8e:81:cb";

test("SSHKey.getFingerprint() matches ssh-keygen -l for a fixed key", () => {
  const key = importPublicKey(LINE);
  assert.equal(key.getFingerprint(), SHA256);
  assert.equal(key.getFingerprint("sha256"), SHA256);
  assert.equal(key.getFingerprint("md5"), MD5);
  assert.equal(key.getComment(), "c ed25519");
  assert.equal(key.getBits(), 256);
  assert.equal(key.exportPublicKey(), LINE + "\n");
});

test("SSHKey.sign() and verify() work for every type and signature algorithm", () => {
  const data = new TextEncoder().encode("session id and stuff");
  const keys = [
    generatePrivateKey("ed25519"),
    generatePrivateKey("ecdsa-sha2-nistp256"),
    generatePrivateKey("ecdsa-sha2-nistp384"),
    generatePrivateKey("ecdsa-sha2-nistp521"),
    generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(5) }),
  ];
  for (const key of keys) {
    const pub = key.publicKey();
    for (const alg of key.getSigAlgorithms()) {
      const sig = key.sign(data, alg);
      const allowed = { allowedAlgorithms: [alg] };
      assert.ok(pub.verify(data, sig, allowed), alg);
      assert.equal(pub.verify(new Uint8Array([1]), sig, allowed), false, alg);
    }
    assert.ok(pub.verify(data, key.sign(data)), key.getAlgorithm());
    assert.throws(() => pub.sign(data), LocalProtocolError);
  }
});

test("SSHKey.getSigAlgorithms() lists RSA's three algorithms, others one", () => {
  const rsa = generatePrivateKey("rsa", { keySize: 1024, random: seededRandom(6) });
  assert.deepEqual(rsa.getSigAlgorithms(), ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
  assert.equal(rsa.getAlgorithm(), "ssh-rsa");
  assert.equal(rsa.getBits(), 1024);
  const ec = generatePrivateKey("ecdsa", { keySize: 521 });
  assert.deepEqual(ec.getSigAlgorithms(), ["ecdsa-sha2-nistp521"]);
  assert.equal(ec.getBits(), 521);
});

test("SSHKey comments can be read and changed", () => {
  const key = generatePrivateKey("ed25519", { comment: "a" });
  assert.equal(key.getComment(), "a");
  key.setComment("b c");
  assert.equal(key.getComment(), "b c");
  assert.match(key.exportPublicKey(), / b c\n$/);
  assert.equal(key.publicKey().getComment(), "b c");
});

test("SSHKey.fromPublicBlob() round-trips and rejects bad blobs with KeyImportError", () => {
  const key = generatePrivateKey("ecdsa");
  const again = SSHKey.fromPublicBlob(key.publicBlob);
  assert.ok(again.equals(key));
  assert.equal(again.hasPrivateKey(), false);
  const bad = key.publicBlob.slice(0, 30);
  assert.throws(() => SSHKey.fromPublicBlob(bad), KeyImportError);
});

test("SSHKey.fromMaterial() rejects a private key whose public part does not match", () => {
  const a = generatePrivateKey("ed25519").material;
  const b = generatePrivateKey("ed25519").material;
  if (a.type !== "ed25519" || b.type !== "ed25519") throw new Error("unreachable");
  assert.throws(
    () => SSHKey.fromMaterial({ type: "ed25519", publicKey: b.publicKey, seed: a.seed! }),
    /does not match/,
  );
});

test("SSHKey.equals() and getFingerprint() go by the key, not by non-minimal mpints in its blob", () => {
  const key = SSHKey.fromMaterial({ type: "rsa", e: 65537n, n: (1n << 2047n) + 1n });
  const padded = (v: bigint) =>
    Uint8Array.of(0, ...new SSHWriter().writeMpint(v).toBytes().subarray(4));
  const odd = SSHKey.fromPublicBlob(
    new SSHWriter().writeStringUtf8("ssh-rsa").writeString(padded(65537n))
      .writeString(padded((1n << 2047n) + 1n)).toBytes(),
  );
  assert.notDeepEqual(odd.publicBlob, key.publicBlob); // the bytes as read are kept
  assert.equal(odd.equals(key), true);
  assert.equal(key.equals(odd), true);
  assert.equal(odd.getFingerprint(), key.getFingerprint());
  assert.equal(odd.getFingerprint("md5"), key.getFingerprint("md5"));
});

test("SSHKey.equals() agrees with comparing canonical blobs, for every key type and encoding", () => {
  const rnd = seededRandom(7);
  const padded = (v: bigint) =>
    Uint8Array.of(0, ...new SSHWriter().writeMpint(v).toBytes().subarray(4));
  const blobOf = (type: string, ...mpints: bigint[]) => {
    const w = new SSHWriter().writeStringUtf8(type);
    for (const v of mpints) w.writeString(padded(v));
    return w.toBytes();
  };
  // RFC 6979 A.2.1's DSA group.
  const p = BigInt(
    "0x86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779",
  );
  const q = BigInt("0x996F967F6C8E388D9E28D01E205FBA957A5698B1");
  const g = BigInt(
    "0x07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD",
  );
  const n1 = (1n << 2047n) + 1n;
  const n2 = (1n << 2047n) + 3n;
  const ed = generatePrivateKey("ed25519", { random: rnd }).publicKey();
  const ec = generatePrivateKey("ecdsa", { random: rnd }).publicKey();
  const base = [
    ed,
    generatePrivateKey("ed25519", { random: rnd }),
    ec,
    generatePrivateKey("ecdsa", { random: rnd }),
    generatePrivateKey("ecdsa", { keySize: 384, random: rnd }),
    generatePrivateKey("ecdsa", { keySize: 521, random: rnd }),
    SSHKey.fromMaterial({ type: "rsa", e: 65537n, n: n1 }),
    SSHKey.fromMaterial({ type: "rsa", e: 65537n, n: n2 }),
    SSHKey.fromMaterial({ type: "rsa", e: 3n, n: n1 }),
    SSHKey.fromMaterial({ type: "dsa", p, q, g, y: g * g % p }),
    SSHKey.fromMaterial({ type: "dsa", p, q, g, y: g * g * g % p }),
    SSHKey.fromMaterial({
      type: "sk-ed25519",
      publicKey: (ed.material as { publicKey: Uint8Array }).publicKey,
      application: "ssh:",
    }),
    SSHKey.fromMaterial({
      type: "sk-ed25519",
      publicKey: (ed.material as { publicKey: Uint8Array }).publicKey,
      application: "ssh:x",
    }),
    SSHKey.fromMaterial({
      type: "sk-ecdsa",
      publicKey: (ec.material as { publicKey: Uint8Array }).publicKey,
      application: "ssh:",
    }),
  ];
  const keys = base.flatMap((k) => [k, k.publicKey(), SSHKey.fromPublicBlob(k.publicBlob)]);
  // The same numbers with a leading zero byte on every mpint: another blob, the same key.
  keys.push(
    SSHKey.fromPublicBlob(blobOf("ssh-rsa", 65537n, n1)),
    SSHKey.fromPublicBlob(blobOf("ssh-rsa", 65537n, n2)),
    SSHKey.fromPublicBlob(blobOf("ssh-dss", p, q, g, g * g % p)),
  );
  let same = 0;
  for (const a of keys) {
    for (const b of keys) {
      const expected = equalBytes(encodePublicKeyBlob(a.material), encodePublicKeyBlob(b.material));
      assert.equal(a.equals(b), expected, `${a.getAlgorithm()} ${b.getAlgorithm()}`);
      if (expected) same++;
    }
  }
  // Each key equals its three forms (nine pairs); the padded blobs add their pairs.
  assert.equal(same, base.length * 9 + 3 * 7);
});
