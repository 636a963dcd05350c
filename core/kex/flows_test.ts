import { test } from "node:test";
import assert from "node:assert/strict";
import { p384 } from "@noble/curves/nist.js";
import { signatureAlgorithmsForKey } from "../publickey/algorithms.ts";
import { nodeRsaKey } from "../publickey/_test_util.ts";
import { verifySignature } from "../publickey/verify.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import { createHostKeySigner } from "./host_key_signer.ts";
import { KEX_HASH_LENGTH } from "./hash.ts";
import { groupExchangeMethod } from "./gex.ts";
import { BUILTIN_MODULI } from "./moduli.ts";
import {
  DEFAULT_KEX,
  DEFAULT_SERVER_KEX,
  getKexMethod,
  INSECURE_KEX,
  KEX_METHODS,
  OPTIONAL_KEX,
  SUPPORTED_KEX,
} from "./registry.ts";
import { runPair, TEST_HOST_KEY, testContext, testMethod } from "./_test_pair.ts";
import { dhKeypair } from "./dh.ts";
import { KexError } from "./errors.ts";
import type { EcdsaKeyMaterial } from "../publickey/types.ts";

const HYBRIDS = [
  "mlkem768x25519-sha256",
  "sntrup761x25519-sha512",
  "sntrup761x25519-sha512@openssh.com",
];

test("every registered kex method: client and server agree on K and H, and H is signed", () => {
  assert.deepEqual(Object.keys(KEX_METHODS).sort(), [...SUPPORTED_KEX].sort());
  for (const name of SUPPORTED_KEX) {
    assert.equal(getKexMethod(name)!.name, name);
    // RSA key exchange with fixed transient keys (keygen is tested in legacy_kex_test.ts);
    // the optional group exchanges with a 2048-bit group (the defaults use 8192 bits).
    const method = testMethod(name);
    const small = OPTIONAL_KEX.includes(name) && name.includes("group-exchange");
    const { client, server } = runPair(method, {
      seed: 7,
      ...(small ? { moduli: [BUILTIN_MODULI[0]!] } : {}),
    });
    assert.deepEqual(client.sharedSecret, server.sharedSecret, name);
    assert.deepEqual(client.exchangeHash, server.exchangeHash, name);
    assert.equal(client.exchangeHash.length, KEX_HASH_LENGTH[method.hash], name);
    assert.deepEqual(client.hostKeyBlob, server.hostKeyBlob);
    assert.deepEqual(client.signature, server.signature);
    assert.equal(verifySignature(TEST_HOST_KEY, client.signature, client.exchangeHash), true, name);
    // K encoding: a string holding HASH(...) for the hybrids, an mpint otherwise.
    const r = new SSHReader(client.sharedSecret);
    const k = r.readString();
    r.assertEnd();
    if (HYBRIDS.includes(name)) assert.equal(k.length, KEX_HASH_LENGTH[method.hash], name);
    else {assert.ok(
        k.length > 0 && (k[0]! & 0x80) === 0 && !(k[0] === 0 && (k[1]! & 0x80) === 0),
        name,
      );}
  }
});

test("kex flows are reproducible byte for byte with seeded randomness", () => {
  for (
    const name of [
      "mlkem768x25519-sha256",
      "sntrup761x25519-sha512",
      "ecdh-sha2-nistp521",
      "diffie-hellman-group14-sha256",
    ]
  ) {
    const a = runPair(getKexMethod(name)!, { seed: 3 });
    const b = runPair(getKexMethod(name)!, { seed: 3 });
    const c = runPair(getKexMethod(name)!, { seed: 4 });
    assert.deepEqual(a.clientSent, b.clientSent, name);
    assert.deepEqual(a.serverSent, b.serverSent, name);
    assert.notDeepEqual(a.client.exchangeHash, c.client.exchangeHash, name);
  }
});

test("sntrup761x25519-sha512 and its @openssh.com alias are the same algorithm", () => {
  const a = runPair(getKexMethod("sntrup761x25519-sha512")!, { seed: 5 });
  const b = runPair(getKexMethod("sntrup761x25519-sha512@openssh.com")!, { seed: 5 });
  assert.deepEqual(a.client.sharedSecret, b.client.sharedSecret);
  assert.deepEqual(a.client.exchangeHash, b.client.exchangeHash);
});

test("hybrid messages carry KEM value || X25519 key with the exact sizes", () => {
  const sizes: Record<string, [number, number]> = {
    "mlkem768x25519-sha256": [1184 + 32, 1088 + 32],
    "sntrup761x25519-sha512": [1158 + 32, 1039 + 32],
  };
  for (const [name, [qc, qs]] of Object.entries(sizes)) {
    const { clientSent, serverSent } = runPair(getKexMethod(name)!);
    const init = new SSHReader(clientSent[0]!, 1);
    assert.equal(init.readString().length, qc);
    const reply = new SSHReader(serverSent[0]!, 1);
    reply.readString();
    assert.equal(reply.readString().length, qs);
  }
});

test("kex works with RSA and ECDSA host keys too", () => {
  const rsa = nodeRsaKey(2048).material;
  const d = new Uint8Array(48).fill(7);
  const ecdsa: EcdsaKeyMaterial = {
    type: "ecdsa",
    curve: "nistp384",
    publicKey: p384.getPublicKey(d, false),
    privateKey: d,
  };
  for (const key of [rsa, ecdsa]) {
    for (const alg of signatureAlgorithmsForKey(key)) {
      const { client } = runPair(getKexMethod("curve25519-sha256")!, {
        hostKey: createHostKeySigner(key, alg),
      });
      assert.equal(
        verifySignature(key, client.signature, client.exchangeHash, { allowedAlgorithms: [alg] }),
        true,
        alg,
      );
    }
  }
});

test("diffie-hellman-group-exchange asks for 2048/8192/8192 and the server honours a moduli list", () => {
  const method = getKexMethod("diffie-hellman-group-exchange-sha256")!;
  const { clientSent, serverSent } = runPair(method);
  assert.deepEqual(Array.from(clientSent[0]!), [34, 0, 0, 8, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0]);
  const group = new SSHReader(serverSent[0]!, 1);
  assert.equal(group.readMpint(), BUILTIN_MODULI[4]!.p);
  assert.equal(group.readMpint(), 2n);
  // With only a 3072-bit group on offer the server sends that one.
  const only3072 = [BUILTIN_MODULI[1]!];
  const r = runPair(method, { moduli: only3072 });
  assert.equal(new SSHReader(r.serverSent[0]!, 1).readMpint(), only3072[0]!.p);
  assert.deepEqual(r.client.exchangeHash, r.server.exchangeHash);
  // A client configured for 3072 gets the 3072-bit group from the built-in set.
  const custom = groupExchangeMethod("diffie-hellman-group-exchange-sha256", "sha256", {
    min: 2048,
    n: 3072,
    max: 8192,
  });
  const r2 = runPair(custom);
  assert.equal(new SSHReader(r2.serverSent[0]!, 1).readMpint(), BUILTIN_MODULI[1]!.p);
});

test("a group exchange server's broken group ends the exchange with a KexError, never a hang", () => {
  const method = getKexMethod("diffie-hellman-group-exchange-sha256")!;
  // p = m² (odd, 2048 bits) with g = m: every g^x mod p is 0, no valid public value exists.
  const m = (1n << 1023n) + (1n << 1022n) + 1n;
  const client = method.createClient(testContext(7));
  client.start();
  const group = new SSHWriter().writeByte(31).writeMpint(m * m).writeMpint(m).toBytes();
  assert.throws(() => client.receive(group), (e: unknown) => {
    assert.ok(e instanceof KexError, String(e));
    assert.match(e.message, /shares a factor/);
    return true;
  });
  // Below the generator check, the private-value draws are bounded too.
  let draws = 0;
  const counting = (n: number) => {
    draws++;
    return testContext(8).random(n);
  };
  assert.throws(() => dhKeypair({ p: m * m, g: m }, counting), KexError);
  assert.ok(draws <= 8, `${draws} draws`);
});

test("DEFAULT_KEX follows OpenSSH's order and excludes the insecure methods", () => {
  assert.deepEqual(DEFAULT_KEX, [
    "mlkem768x25519-sha256",
    "sntrup761x25519-sha512",
    "sntrup761x25519-sha512@openssh.com",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521",
    "diffie-hellman-group-exchange-sha256",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group14-sha256",
  ]);
  for (const n of [...OPTIONAL_KEX, ...INSECURE_KEX]) {
    assert.ok(!DEFAULT_KEX.includes(n) && SUPPORTED_KEX.includes(n));
  }
  assert.ok(DEFAULT_SERVER_KEX.every((n) => !n.startsWith("diffie-hellman")));
  assert.equal(getKexMethod("toString"), undefined);
});

test("a server reply signed over the exchange hash is what the transport will verify", () => {
  // The signature in the reply is over H exactly (not over some re-encoding).
  const { serverSent, client } = runPair(getKexMethod("ecdh-sha2-nistp256")!);
  const r = new SSHReader(serverSent[0]!, 1);
  r.readString();
  r.readString();
  const sig = r.readString();
  assert.deepEqual(sig, client.signature);
  const tampered = client.exchangeHash.slice();
  tampered[0]! ^= 1;
  assert.equal(verifySignature(TEST_HOST_KEY, sig, tampered), false);
  assert.ok(new SSHWriter().writeString(sig).length > 0);
});
