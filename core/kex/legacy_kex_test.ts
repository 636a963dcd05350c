// The kex methods AsyncSSH offers beyond OpenSSH's: curve448 (RFC 7748 vectors),
// secp256k1 ECDH and RSAES-OAEP (vectors computed with OpenSSL on this machine:
// python3-cryptography's ECDH, `openssl pkeyutl -encrypt/-decrypt -pkeyopt
// rsa_padding_mode:oaep`), RSA key exchange (RFC 4432) and SSH.com's group names.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { bitLength } from "../publickey/bigint.ts";
import { hex, unhex } from "../publickey/_test_util.ts";
import type { RandomSource } from "../random.ts";
import { seededRandom } from "../random.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { KexError } from "./errors.ts";
import { KEX_HASH_LENGTH, kexDigest } from "./hash.ts";
import { createHostKeySigner } from "./host_key_signer.ts";
import {
  DEFAULT_KEX,
  getKexMethod,
  INSECURE_KEX,
  OPTIONAL_KEX,
  SUPPORTED_KEX,
} from "./registry.ts";
import {
  oaepDecrypt,
  oaepEncrypt,
  RSA_KEX_KEY_USES,
  rsaKexMethod,
  transientKeySource,
} from "./rsa.ts";
import { runPair, TEST_HOST_KEY, TEST_RSA_KEYS, testContext, testMethod } from "./_test_pair.ts";

const hostKey = createHostKeySigner(TEST_HOST_KEY, "ssh-ed25519");

/** A RandomSource that hands out fixed byte strings in order. */
function scripted(...chunks: Uint8Array[]): RandomSource {
  return (n) => {
    const c = chunks.shift();
    assert.ok(c !== undefined && c.length === n, `unexpected random(${n})`);
    return c;
  };
}

function replyWith(value: Uint8Array): Uint8Array {
  return new SSHWriter().writeByte(31).writeString(hostKey.publicKeyBlob).writeString(value)
    .writeString(new Uint8Array(4)).toBytes();
}

test("OPTIONAL_KEX and INSECURE_KEX are off by default and every name has a method", () => {
  for (const n of [...OPTIONAL_KEX, ...INSECURE_KEX]) {
    assert.equal(DEFAULT_KEX.includes(n), false, n);
    assert.equal(getKexMethod(n)?.name, n);
  }
  assert.deepEqual(SUPPORTED_KEX, [...DEFAULT_KEX, ...OPTIONAL_KEX, ...INSECURE_KEX]);
  assert.equal(new Set(SUPPORTED_KEX).size, SUPPORTED_KEX.length);
  assert.ok(INSECURE_KEX.includes("rsa1024-sha1"));
});

test("curve448-sha512 computes RFC 7748 §6.2's keys and shared secret, K as an mpint", () => {
  const alice = unhex(
    "9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf5" +
      "74a9419744897391006382a6f127ab1d9ac2d8c0a598726b",
  );
  const bob = unhex(
    "1c306a7ac2a0e2e0990b294470cba339e6453772b075811d8fad0d1d6927c120" +
      "bb5ee8972b0d3e21374c9c921b09d1b0366f10b65173992d",
  );
  const method = getKexMethod("curve448-sha512")!;
  assert.equal(method.hash, "sha512");
  const client = method.createClient({ ...testContext(1), random: scripted(alice) });
  const init = client.start().send[0]!;
  assert.equal(
    hex(new SSHReader(init, 1).readString()),
    "9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bb" +
      "c836647241d953d40c5b12da88120d53177f80e532c41fa0",
  );
  const server = method.createServer({ ...testContext(2), random: scripted(bob) }, { hostKey });
  const reply = server.receive(init);
  const r = new SSHReader(reply.send[0]!, 1);
  r.readString();
  assert.equal(
    hex(r.readString()),
    "3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972" +
      "fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609",
  );
  const done = client.receive(reply.send[0]!);
  // 0x07.. has its top bit clear: no leading zero byte.
  assert.equal(
    hex(done.result!.sharedSecret),
    "00000038" + "07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56" +
      "fd2464c335543936521c24403085d59a449a5037514a879d",
  );
  assert.deepEqual(done.result!.sharedSecret, reply.result!.sharedSecret);
});

test("curve448-sha512 refuses wrong lengths and the all-zero (low-order) point", () => {
  const method = getKexMethod("curve448-sha512")!;
  for (const bad of [new Uint8Array(55), new Uint8Array(57), new Uint8Array(56)]) {
    const c = method.createClient(testContext(3));
    c.start();
    assert.throws(() => c.receive(replyWith(bad)), KexError);
  }
  // u = 1 has order 1 in the twist-secure encoding; the output is all zero.
  const one = new Uint8Array(56);
  one[0] = 1;
  const c = method.createClient(testContext(4));
  c.start();
  assert.throws(() => c.receive(replyWith(one)), KexError);
});

test("ecdh-sha2-1.3.132.0.10 derives OpenSSL's secp256k1 ECDH secret as the mpint K", () => {
  const da = unhex("1f2e3d4c5b6a79880123456789abcdef0fedcba9876543210011223344556677");
  const db = unhex("7766554433221100fedcba98765432100123456789abcdef8877665544332211");
  const method = getKexMethod("ecdh-sha2-1.3.132.0.10")!;
  assert.equal(method.hash, "sha256");
  // randomBigIntInRange reads 8 extra bytes and reduces; feed d - 1 padded so it maps to d.
  const pick = (d: Uint8Array): RandomSource => {
    const asBig = BigInt("0x" + hex(d)) - 1n;
    return (n) => unhex(asBig.toString(16).padStart(2 * n, "0"));
  };
  const client = method.createClient({ ...testContext(1), random: pick(da) });
  const init = client.start().send[0]!;
  assert.equal(
    hex(new SSHReader(init, 1).readString()),
    "04e1da052921f2d1b8e72e5a2a668ab870e826fa743c6047ed2dc111b6f97feb6" +
      "4ad0bec1438fbc6aef29833cfecddbcc696ced95e3f1544a408665a2383a85e35",
  );
  const server = method.createServer({ ...testContext(2), random: pick(db) }, { hostKey });
  const reply = server.receive(init);
  const done = client.receive(reply.send[0]!);
  assert.equal(
    hex(done.result!.sharedSecret),
    "00000020" + "02d3404a7e7c75ff9c35304b4fcd606d7112a534cfe2b1aeb3838630c13b8c43",
  );
  assert.deepEqual(done.result!.exchangeHash, reply.result!.exchangeHash);
});

test("ecdh-sha2-1.3.132.0.10 refuses compressed, off-curve, identity and short points", () => {
  const method = getKexMethod("ecdh-sha2-1.3.132.0.10")!;
  const { clientSent } = runPair(method);
  const good = new SSHReader(clientSent[0]!, 1).readString();
  const offCurve = good.slice();
  offCurve[64] = offCurve[64]! ^ 1;
  const compressed = new Uint8Array([2 + (good[64]! & 1), ...good.subarray(1, 33)]);
  for (const bad of [offCurve, compressed, new Uint8Array(65), good.subarray(0, 64)]) {
    const s = method.createServer(testContext(5), { hostKey });
    assert.throws(
      () => s.receive(new SSHWriter().writeByte(30).writeString(bad).toBytes()),
      KexError,
    );
  }
});

test("SSH.com's MODP names use the RFC 3526 group and hash their names say", () => {
  const cases = [
    ["diffie-hellman-group14-sha224@ssh.com", "sha224", 2048],
    ["diffie-hellman-group14-sha256@ssh.com", "sha256", 2048],
    ["diffie-hellman-group15-sha256@ssh.com", "sha256", 3072],
    ["diffie-hellman-group15-sha384@ssh.com", "sha384", 3072],
    ["diffie-hellman-group15-sha512", "sha512", 3072],
    ["diffie-hellman-group16-sha384@ssh.com", "sha384", 4096],
    ["diffie-hellman-group16-sha512@ssh.com", "sha512", 4096],
    ["diffie-hellman-group17-sha512", "sha512", 6144],
    ["diffie-hellman-group18-sha512@ssh.com", "sha512", 8192],
  ] as const;
  for (const [name, hash, bits] of cases) {
    const method = getKexMethod(name)!;
    assert.equal(method.hash, hash, name);
    // The server's f is below p, so its mpint is at most bits/8 (+1 sign byte) long,
    // and at least a few bytes shorter only with negligible probability.
    const { serverSent, client } = runPair(method, { seed: 3 });
    const r = new SSHReader(serverSent[0]!, 1);
    r.readString();
    const f = r.readString();
    assert.ok(f.length >= bits / 8 - 2 && f.length <= bits / 8 + 1, `${name}: f is ${f.length}`);
    assert.equal(client.exchangeHash.length, KEX_HASH_LENGTH[hash]);
  }
  for (const hash of ["sha224", "sha384", "sha512"] as const) {
    const name = `diffie-hellman-group-exchange-${hash}@ssh.com`;
    assert.equal(getKexMethod(name)!.hash, hash);
  }
  assert.equal(
    hex(kexDigest("sha224", new TextEncoder().encode("abc"))).slice(0, 16),
    "23097d223405d822",
  );
});

const OAEP_MESSAGE = new Uint8Array([0, 0, 0, 16, ...new TextEncoder().encode("SSH RSA kex test")]);

test("oaepDecrypt() opens what openssl pkeyutl encrypted (SHA-1 and SHA-256 OAEP)", () => {
  const c1 = unhex(
    "c24070c6edf4c162d914225933c92f3fe5de131500802df00bd8e674c7195cf45f551e275864857bda4e6c5695131056" +
      "98ce1f54238b04a8d42c79d815531e2da063c7aa358612c8bf09e1add0a6850ac4c9de212c045a97bffb945fe7d93eab" +
      "911addd427780426d49d8fdc9e41fd83aa6cfd6af5f5aca6d57d7671e2eb8b6a",
  );
  assert.deepEqual(oaepDecrypt(TEST_RSA_KEYS[1024], "sha1", c1, seededRandom(1)), OAEP_MESSAGE);
  const c2 = unhex(
    "713873731c8d9bc65b199e32976c739bd999eb007285f42b76cf627a89edc0da58d1ca66cfe5046b38686daa26bab6d8" +
      "074b7505ef1f69996edf6006a305ada53039fb940d740dffd9aac037f4ae49785f92017f7f2b20936261b62234c3abcf" +
      "d92b055ac318d35d3b3b7ed5f0e819332eea5b32015b90fc8b931e428b71629a0ed65a5fa8515cd34ae9f395e5fd534d" +
      "753632503bb33925992053483484415ec3a3e87e70bdb4a0f38468878c54e46cb2aedc8148ff1792a8409ea38d99926e" +
      "3e3d21ffabb0ea9188b0a2f38a56f9eb63a66c0a59934a9d3ab6becf18f0a6db843bbb71ba15fef251193b60642ece18" +
      "651767f47a4776f8a0237b6a671b1613",
  );
  assert.deepEqual(oaepDecrypt(TEST_RSA_KEYS[2048], "sha256", c2, seededRandom(1)), OAEP_MESSAGE);
  // The wrong hash, a flipped bit, a wrong length: all the same undefined.
  assert.equal(oaepDecrypt(TEST_RSA_KEYS[1024], "sha256", c1, seededRandom(1)), undefined);
  const flipped = c1.slice();
  flipped[100] = flipped[100]! ^ 4;
  assert.equal(oaepDecrypt(TEST_RSA_KEYS[1024], "sha1", flipped, seededRandom(1)), undefined);
  assert.equal(
    oaepDecrypt(TEST_RSA_KEYS[1024], "sha1", c1.subarray(1), seededRandom(1)),
    undefined,
  );
});

test("oaepEncrypt() with a fixed seed gives ciphertexts openssl pkeyutl decrypts (checked when written)", () => {
  // These exact bytes were decrypted to OAEP_MESSAGE by `openssl pkeyutl -decrypt` with
  // the TEST_RSA_KEYS in PEM form.
  assert.equal(
    hex(oaepEncrypt(TEST_RSA_KEYS[1024], "sha1", OAEP_MESSAGE, seededRandom(4432))),
    "56b5463f29edd1db6c10f45599241ba1464a81232531890387207e4916a7a57b1372092cb870a63899b1b08841df654e" +
      "7e1265b77485e4900c2989c403e8e6e73f5b652d5fcb68909f3b2906903b0a3bed613911a70ec54ae3a84e74aad3eeba" +
      "0ba86bf403b4733d5b544c6a71455fc1ae5038e85439fed3bb17a847c5ddc36a",
  );
  assert.equal(
    hex(oaepEncrypt(TEST_RSA_KEYS[2048], "sha256", OAEP_MESSAGE, seededRandom(4432))).slice(0, 64),
    "235c3ded933096ad09dd72f9c663131d5ba59728cd1f7779a516bd940ac85b53",
  );
  assert.throws(
    () => oaepEncrypt(TEST_RSA_KEYS[1024], "sha1", new Uint8Array(87), seededRandom(1)),
    RangeError,
  );
});

test("rsa1024-sha1 and rsa2048-sha256 agree on K and H; K stays below 2^(KLEN-2*HLEN-49)", () => {
  for (
    const [name, bits, hLen] of [["rsa1024-sha1", 1024, 160], [
      "rsa2048-sha256",
      2048,
      256,
    ]] as const
  ) {
    for (const seed of [1, 2, 3]) {
      const { client, server, serverSent, clientSent } = runPair(testMethod(name), { seed });
      assert.deepEqual(client.exchangeHash, server.exchangeHash, name);
      assert.deepEqual(client.sharedSecret, server.sharedSecret, name);
      assert.deepEqual(serverSent.map((m) => m[0]), [30, 32]);
      assert.deepEqual(clientSent.map((m) => m[0]), [31]);
      const k = new SSHReader(client.sharedSecret).readMpint();
      assert.ok(
        k > 0n && bitLength(k) <= bits - 2 * hLen - 49,
        `${name}: K has ${bitLength(k)} bits`,
      );
    }
  }
});

test("RSA key exchange clients refuse small, non-RSA and malformed transient keys", () => {
  const method = testMethod("rsa2048-sha256");
  const pubkey = (transient: Uint8Array) =>
    new SSHWriter().writeByte(30).writeString(hostKey.publicKeyBlob).writeString(transient)
      .toBytes();
  const rsaBlob = (n: bigint) =>
    new SSHWriter().writeString(new TextEncoder().encode("ssh-rsa")).writeMpint(65537n)
      .writeMpint(n).toBytes();
  for (
    const bad of [
      rsaBlob(TEST_RSA_KEYS[1024].n), // 1024 bits where 2048 are needed
      hostKey.publicKeyBlob, // ssh-ed25519
      new Uint8Array([0, 0, 0, 3, 1, 2]),
    ]
  ) {
    const c = method.createClient(testContext(1));
    c.start();
    assert.throws(() => c.receive(pubkey(bad)), KexError);
  }
  const c = method.createClient(testContext(1));
  c.start();
  const e = (() => {
    try {
      c.receive(new Uint8Array([32, 0, 0, 0, 0]));
    } catch (err) {
      return err;
    }
    return undefined;
  })();
  assert.ok(e instanceof DisconnectError && e.code === "ERR_PROTOCOL");
});

test("RSA key exchange servers refuse secrets that do not decrypt or hold a bad K", () => {
  const method = testMethod("rsa1024-sha1");
  const key = TEST_RSA_KEYS[1024];
  const secret = (plain: Uint8Array) =>
    new SSHWriter().writeByte(31).writeString(
      oaepEncrypt(key, "sha1", plain, seededRandom(9)),
    ).toBytes();
  // (A K above the 655-bit limit cannot be sent at all: OAEP's capacity for a 1024-bit key
  // with SHA-1 is 86 bytes, exactly a 655-bit mpint; the server checks the bound anyway.)
  const trailing = new Uint8Array([...new SSHWriter().writeMpint(5n).toBytes(), 0]);
  const negative = new SSHWriter().writeMpint(-5n).toBytes();
  for (const m of [secret(trailing), secret(negative), secret(new Uint8Array(0))]) {
    const s = method.createServer(testContext(1), { hostKey });
    s.start!();
    assert.throws(() => s.receive(m), KexError);
  }
  const s = method.createServer(testContext(1), { hostKey });
  s.start!();
  assert.throws(
    () =>
      s.receive(new SSHWriter().writeByte(31).writeString(new Uint8Array(128).fill(1)).toBytes()),
    KexError,
  );
});

test("transientKeySource() reuses a key RSA_KEX_KEY_USES times, failed exchanges included", () => {
  let generated = 0;
  const counting: RandomSource = (n) => {
    generated++;
    return seededRandom(generated)(n);
  };
  const source = transientKeySource(1024);
  const first = source.acquire(counting);
  for (let i = 1; i < RSA_KEX_KEY_USES; i++) assert.equal(source.acquire(counting), first);
  const second = source.acquire(counting);
  assert.notEqual(second, first);
  assert.equal(bitLength(first.key.n), 1024);
  // Clients sending garbage secrets use the key up as any others do: no new key per
  // failure (each a pure-JavaScript key generation before authentication).
  const method = rsaKexMethod("rsa1024-sha1", "sha1", 1024, source);
  const blobs = new Set<string>();
  for (let i = 0; i < RSA_KEX_KEY_USES - 1; i++) {
    const server = method.createServer(testContext(2 + i), { hostKey });
    const used = new SSHReader(server.start!().send[0]!, 1);
    used.readString();
    blobs.add(used.readString().join());
    assert.throws(
      () =>
        server.receive(new SSHWriter().writeByte(31).writeString(new Uint8Array(128)).toBytes()),
      KexError,
    );
  }
  assert.equal(blobs.size, 1, "one key served every failed exchange");
  const next = method.createServer(testContext(99), { hostKey });
  const r = new SSHReader(next.start!().send[0]!, 1);
  r.readString();
  assert.ok(!blobs.has(r.readString().join()), "used up: the next exchange has a new key");
});
