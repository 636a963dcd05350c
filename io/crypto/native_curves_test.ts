/** The node:crypto X25519/Ed25519 backend agrees with the portable one, byte for byte. */
import { test } from "node:test";
import { ed25519 } from "@noble/curves/ed25519.js";
import assert from "node:assert/strict";
import {
  curve25519Backend,
  NOBLE_CURVE25519,
  registerCurve25519Backend,
} from "../../core/crypto/curve25519_backend.ts";
import { seededRandom, systemRandom } from "../../core/random.ts";
import { x25519Keypair, x25519Shared } from "../../core/kex/curve25519.ts";
import { NODE_CURVE25519, registerNativeCurves } from "./native_curves.ts";

test("native curves: registered on this runtime after its known-answer tests", () => {
  const before = curve25519Backend();
  try {
    assert.equal(registerNativeCurves(), "node:crypto");
    assert.equal(curve25519Backend().name, "node:crypto");
  } finally {
    registerCurve25519Backend(before);
  }
});

test("native curves: same X25519 keys and secrets, Ed25519 signatures and verdicts as noble", () => {
  const random = seededRandom(7);
  for (let i = 0; i < 20; i++) {
    const a = random(32), b = random(32);
    const aPub = NOBLE_CURVE25519.x25519PublicKey(a);
    assert.deepEqual(NODE_CURVE25519.x25519PublicKey(a), aPub);
    const bPub = NODE_CURVE25519.x25519PublicKey(b);
    assert.deepEqual(NODE_CURVE25519.x25519Shared(b, aPub), NOBLE_CURVE25519.x25519Shared(a, bPub));
    const seed = random(32), msg = random(i * 13);
    const sig = NODE_CURVE25519.ed25519Sign(seed, msg);
    assert.deepEqual(sig, NOBLE_CURVE25519.ed25519Sign(seed, msg));
    const pub = ed25519.getPublicKey(seed);
    assert.equal(NODE_CURVE25519.ed25519Verify(sig, msg, pub), true);
    const bad = sig.slice();
    bad[i % 64]! ^= 1 << (i % 8);
    assert.equal(NODE_CURVE25519.ed25519Verify(bad, msg, pub), false);
    assert.equal(NOBLE_CURVE25519.ed25519Verify(bad, msg, pub), false);
    assert.equal(NODE_CURVE25519.ed25519Verify(sig.subarray(0, 63), msg, pub), false);
  }
});

test("native curves: a low-order X25519 peer key does not yield a usable secret", () => {
  const zero = new Uint8Array(32); // the point 0, of order 4
  let out: Uint8Array | undefined;
  try {
    out = NODE_CURVE25519.x25519Shared(seededRandom(1)(32), zero);
  } catch {
    out = undefined; // refused: core turns this into a KexError
  }
  assert.ok(out === undefined || out.every((x) => x === 0));
});

test("native curves: with the system random source a key pair is node:crypto's own, and sound", () => {
  const before = curve25519Backend();
  registerCurve25519Backend(NODE_CURVE25519);
  try {
    const a = x25519Keypair(systemRandom);
    const b = x25519Keypair(systemRandom);
    assert.notDeepEqual(a.secretKey, b.secretKey);
    // The exported secret gives the exported public key, and both sides agree.
    assert.deepEqual(NOBLE_CURVE25519.x25519PublicKey(a.secretKey), a.publicKey);
    assert.deepEqual(
      x25519Shared(a.secretKey, b.publicKey),
      x25519Shared(b.secretKey, a.publicKey),
    );
    // A seeded source still decides the secret (same seed, same pair).
    assert.deepEqual(x25519Keypair(seededRandom(7)), x25519Keypair(seededRandom(7)));
  } finally {
    registerCurve25519Backend(before);
  }
});

test("native curves: verification keys kept between calls give each key its own verdicts", () => {
  // More keys than are kept (256), each verified twice, interleaved with the others: a key
  // from the cache must still tell its own signatures from another key's.
  const random = seededRandom(11);
  const keys = Array.from({ length: 300 }, () => random(32));
  const msg = random(40);
  const sigs = keys.map((seed) => NODE_CURVE25519.ed25519Sign(seed, msg));
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < keys.length; i++) {
      const pub = ed25519.getPublicKey(keys[i]!);
      assert.equal(NODE_CURVE25519.ed25519Verify(sigs[i]!, msg, pub), true);
      assert.equal(NODE_CURVE25519.ed25519Verify(sigs[(i + 1) % keys.length]!, msg, pub), false);
    }
  }
});

test("native curves: an Ed25519 seed gives noble's public key, and a key file whose halves disagree is still refused", async () => {
  const random = seededRandom(11);
  for (let i = 0; i < 64; i++) {
    const seed = random(32);
    assert.deepEqual(NODE_CURVE25519.ed25519PublicKey!(seed), ed25519.getPublicKey(seed));
  }
  assert.throws(() => NODE_CURVE25519.ed25519PublicKey!(new Uint8Array(31)), RangeError);
  const { generatePrivateKey } = await import("../../keys/generate.ts");
  const { importPrivateKey } = await import("../../keys/formats/import.ts");
  const { encodeOpenSSHPrivateKey } = await import("../../keys/formats/openssh_private.ts");
  const before = curve25519Backend();
  try {
    registerCurve25519Backend(NODE_CURVE25519);
    const key = generatePrivateKey("ed25519");
    const m = key.material as { type: "ed25519"; publicKey: Uint8Array; seed: Uint8Array };
    assert.deepEqual(m.publicKey, ed25519.getPublicKey(m.seed));
    // An OpenSSH key file carries its public half: one from another seed is refused.
    const other = ed25519.getPublicKey(random(32));
    const file = encodeOpenSSHPrivateKey({ type: "ed25519", publicKey: other, seed: m.seed }, "x");
    assert.throws(() => importPrivateKey(file), /does not match the private key/);
  } finally {
    registerCurve25519Backend(before);
  }
});

test("native curves: a seed buffer reused for another key gives that key's public key and signatures", () => {
  const seed = new Uint8Array(32).fill(4);
  const first = NODE_CURVE25519.ed25519PublicKey!(seed);
  assert.deepEqual(first, ed25519.getPublicKey(seed));
  seed.fill(5); // the caller's buffer now holds another key
  assert.deepEqual(NODE_CURVE25519.ed25519PublicKey!(seed), ed25519.getPublicKey(seed));
  const data = new Uint8Array([1, 2]);
  assert.deepEqual(NODE_CURVE25519.ed25519Sign(seed, data), ed25519.sign(data, seed));
});
