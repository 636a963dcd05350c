/** node:crypto's ML-KEM-768 agrees with the portable one, and is used only where it may be. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { shake256 } from "@noble/hashes/sha3.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  type MlKem768Backend,
  mlkem768Backend,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768Keypair,
  PqInputError,
  registerMlKem768Backend,
} from "../../core/pq/mlkem768.ts";
import { seededRandom, systemRandom } from "../../core/random.ts";
import { currentRuntime } from "../runtime/env.ts";
import { NODE_MLKEM768, registerNativeMlKem768, secretKeyOf } from "./native_mlkem.ts";
import { generateKeyPairSync, type KeyObject } from "node:crypto";

/** Node 24 ships OpenSSL 3.5's ML-KEM; Deno's and Bun's node:crypto have none today. */
const NATIVE = currentRuntime() === "node";

/** Runs `body` with backend `b` installed (null: the portable path), restoring the one before. */
function withBackend(b: MlKem768Backend | null, body: () => void): void {
  const before = mlkem768Backend();
  try {
    registerMlKem768Backend(b);
    body();
  } finally {
    registerMlKem768Backend(before);
  }
}

test("native ML-KEM-768: registered where the runtime has it, after its checks", () => {
  const before = mlkem768Backend();
  try {
    registerMlKem768Backend(null);
    assert.equal(registerNativeMlKem768(), NATIVE ? "node:crypto" : undefined);
    assert.equal(mlkem768Backend()?.name, NATIVE ? "node:crypto" : undefined);
  } finally {
    registerMlKem768Backend(before);
  }
});

test("native ML-KEM-768: its keys and ciphertexts work with the portable one both ways", {
  skip: NATIVE ? false : "no ML-KEM in this runtime's node:crypto",
}, () => {
  const random = seededRandom(5);
  for (let i = 0; i < 8; i++) {
    // Native key pair: the portable path encapsulates to it, and decapsulates with the
    // secret key handed out (as it does if the backend goes away mid-handshake): the seed
    // d ‖ z, which expands to the same key pair.
    const g = NODE_MLKEM768.generate();
    assert.equal(g.secretKey.length, 64, "Node 24 exports the raw seed");
    const expanded = ml_kem768.keygen(g.secretKey);
    assert.deepEqual(expanded.publicKey, g.publicKey);
    const e = ml_kem768.encapsulate(g.publicKey, random(32));
    assert.deepEqual(NODE_MLKEM768.decapsulate(e.cipherText, g.secretKey), e.sharedSecret);
    assert.deepEqual(ml_kem768.decapsulate(e.cipherText, expanded.secretKey), e.sharedSecret);
    withBackend(null, () => {
      assert.deepEqual(mlkem768Decapsulate(e.cipherText, g.secretKey), e.sharedSecret);
    });
    // A corrupted ciphertext: both give FIPS 203's implicit rejection secret J(z || c).
    const bad = e.cipherText.slice();
    bad[i * 100]! ^= 1 << (i % 8);
    const z = g.secretKey.subarray(32);
    const expected = shake256(new Uint8Array([...z, ...bad]), { dkLen: 32 });
    assert.deepEqual(NODE_MLKEM768.decapsulate(bad, g.secretKey), expected);
    assert.deepEqual(ml_kem768.decapsulate(bad, expanded.secretKey), expected);
    // Portable key pair: native encapsulation to it.
    const p = ml_kem768.keygen(random(64));
    const n = NODE_MLKEM768.encapsulate(p.publicKey);
    assert.deepEqual(ml_kem768.decapsulate(n.ciphertext, p.secretKey), n.sharedSecret);
    // A secret key it did not generate is left to the portable path.
    assert.equal(NODE_MLKEM768.decapsulate(n.ciphertext, p.secretKey), undefined);
  }
});

test(
  "native ML-KEM-768: only the system random source reaches it; seeded handshakes stay reproducible",
  {
    skip: NATIVE ? false : "no ML-KEM in this runtime's node:crypto",
  },
  () => {
    withBackend(NODE_MLKEM768, () => {
      const a = mlkem768Keypair(seededRandom(9));
      const b = mlkem768Keypair(seededRandom(9));
      assert.deepEqual(a, b, "a seeded key pair comes from the seed");
      const ea = mlkem768Encapsulate(a.publicKey, seededRandom(3));
      const eb = mlkem768Encapsulate(a.publicKey, seededRandom(3));
      assert.deepEqual(ea, eb, "a seeded encapsulation comes from the seed");
      assert.deepEqual(mlkem768Decapsulate(ea.ciphertext, a.secretKey), ea.sharedSecret);

      const s = mlkem768Keypair(systemRandom);
      const es = mlkem768Encapsulate(s.publicKey, systemRandom);
      assert.deepEqual(mlkem768Decapsulate(es.ciphertext, s.secretKey), es.sharedSecret);
      // A key with a coefficient ≥ q: the same typed error as the portable path's.
      const malformed = s.publicKey.slice();
      malformed[0] = 0xff;
      malformed[1] = malformed[1]! | 0x0f;
      assert.throws(
        () => mlkem768Encapsulate(malformed, systemRandom),
        (e) => e instanceof PqInputError && e.problem === "malformed",
      );
    });
  },
);

test("native ML-KEM-768: where the seed cannot be exported, the expanded key serves both paths", {
  skip: NATIVE ? false : "no ML-KEM in this runtime's node:crypto",
}, () => {
  const pair = generateKeyPairSync("ml-kem-768" as never) as unknown as {
    publicKey: KeyObject;
    privateKey: KeyObject;
  };
  const publicKey = new Uint8Array(
    pair.publicKey.export({ format: "raw-public" } as never) as unknown as Uint8Array,
  );
  const expanded = secretKeyOf(pair.privateKey, "expanded")!;
  const seed = secretKeyOf(pair.privateKey)!;
  assert.equal(expanded.length, 2400);
  assert.equal(seed.length, 64);
  // FIPS 203: dk = dk_PKE ‖ ek ‖ H(ek) ‖ z, and the seed d ‖ z expands to it.
  assert.deepEqual(expanded.subarray(1152, 1152 + 1184), publicKey);
  assert.deepEqual(ml_kem768.keygen(seed).secretKey, expanded);
  withBackend(null, () => {
    const e = mlkem768Encapsulate(publicKey, systemRandom);
    assert.deepEqual(mlkem768Decapsulate(e.ciphertext, expanded), e.sharedSecret);
    assert.deepEqual(mlkem768Decapsulate(e.ciphertext, seed), e.sharedSecret);
  });
});
