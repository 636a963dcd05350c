/**
 * WebCrypto's ML-KEM-768 (the asynchronous backend Deno and Bun use; Node 24 has it too) agrees
 * with the portable one both ways (logins through it: mod_kex_wait_test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import {
  mlkem768AsyncBackend,
  mlkem768Backend,
  mlkem768Decapsulate,
  mlkem768Encapsulate,
  mlkem768EncapsulateLater,
  mlkem768Keypair,
  mlkem768KeypairLater,
  PqInputError,
  registerMlKem768AsyncBackend,
} from "../../core/pq/mlkem768.ts";
import { seededRandom, systemRandom } from "../../core/random.ts";
import { currentRuntime } from "../runtime/env.ts";
import { defaultSuite } from "./suite.ts";
import { registerWebCryptoMlKem768, webCryptoMlKem768 } from "./native_mlkem.ts";

const subtle = globalThis.crypto.subtle as unknown as Parameters<typeof webCryptoMlKem768>[0];
const WEBCRYPTO = webCryptoMlKem768(subtle);

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

test("WebCrypto ML-KEM-768: its keys and ciphertexts work with the portable one both ways", async () => {
  const g = await WEBCRYPTO.generate();
  assert.equal(g.publicKey.length, 1184);
  assert.equal(g.secretKey.length, 64, "the secret key is the seed d ‖ z");
  assert.ok(equal(ml_kem768.keygen(g.secretKey).publicKey, g.publicKey), "the seed is its key's");

  // Portable encapsulation to WebCrypto's key: both decapsulations agree with it.
  const e = mlkem768Encapsulate(g.publicKey, seededRandom(3));
  const back = await WEBCRYPTO.decapsulate(e.ciphertext, g.secretKey);
  assert.ok(back && equal(back, e.sharedSecret));
  assert.ok(equal(mlkem768Decapsulate(e.ciphertext, g.secretKey), e.sharedSecret));

  // A corrupted ciphertext: FIPS 203's implicit rejection, the same secret on both paths.
  const bad = e.ciphertext.slice();
  bad[100]! ^= 0x40;
  const rejected = await WEBCRYPTO.decapsulate(bad, g.secretKey);
  assert.ok(rejected && !equal(rejected, e.sharedSecret));
  assert.ok(equal(mlkem768Decapsulate(bad, g.secretKey), rejected));

  // WebCrypto's encapsulation to a portable key.
  const p = mlkem768Keypair(seededRandom(5));
  const w = await WEBCRYPTO.encapsulate(p.publicKey);
  assert.ok(equal(mlkem768Decapsulate(w.ciphertext, p.secretKey), w.sharedSecret));

  // Keys it did not generate are not its own (the portable path takes them).
  assert.equal(WEBCRYPTO.decapsulate(e.ciphertext, g.secretKey.slice()), undefined);
  assert.equal(WEBCRYPTO.decapsulate(e.ciphertext, p.secretKey), undefined);
});

test("WebCrypto ML-KEM-768: a malformed key is a PqInputError, a seeded exchange never uses it", async () => {
  // Where io installs WebCrypto's (Deno, Bun), let that happen first: it installs nothing
  // over a backend registered meanwhile.
  defaultSuite();
  if (mlkem768Backend() === null) await registerWebCryptoMlKem768();
  const before = mlkem768AsyncBackend();
  try {
    registerMlKem768AsyncBackend(WEBCRYPTO);
    const { publicKey } = mlkem768Keypair(seededRandom(9));
    const malformed = publicKey.slice();
    malformed[0] = 0xff; // the first 12-bit coefficient becomes 0x.ff ≥ 3329
    malformed[1] = malformed[1]! | 0x0f;
    const later = mlkem768EncapsulateLater(malformed, systemRandom);
    assert.ok(later);
    await later.ready;
    assert.throws(
      () => later.value(),
      (e) => e instanceof PqInputError && e.problem === "malformed",
    );
    assert.throws(
      () => mlkem768EncapsulateLater(publicKey.subarray(1), systemRandom),
      PqInputError,
    );
    // Seeded randomness: every secret from the seed, so no native work at all.
    assert.equal(mlkem768KeypairLater(seededRandom(1)), undefined);
    assert.equal(mlkem768EncapsulateLater(publicKey, seededRandom(1)), undefined);
  } finally {
    registerMlKem768AsyncBackend(before);
  }
});

test("io picks node:crypto's ML-KEM on Node, WebCrypto's on Deno and Bun", async () => {
  defaultSuite();
  if (currentRuntime() === "node") {
    assert.equal(mlkem768Backend()?.name, "node:crypto");
    assert.equal(mlkem768AsyncBackend(), null);
  } else {
    assert.equal(await registerWebCryptoMlKem768(), "WebCrypto");
    assert.equal(mlkem768Backend(), null);
    assert.equal(mlkem768AsyncBackend()?.name, "WebCrypto");
  }
});
