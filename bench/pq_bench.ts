/**
 * Benchmarks of the post-quantum KEMs used by the hybrid SSH key exchanges:
 * sntrup761 (sntrup761x25519-sha512) and ML-KEM-768 (mlkem768x25519-sha256),
 * with X25519 key generation plus shared-secret computation for comparison.
 * Run it with `deno bench bench/pq_bench.ts` (Deno only: it uses Deno.bench).
 *
 * Randomness comes from a fast seeded stream so that the numbers measure the
 * KEMs, not the platform's CSPRNG.
 *
 * @module
 */

import { x25519 } from "@noble/curves/ed25519.js";
import { seededRandom } from "../core/random.ts";
import {
  sntrup761Decapsulate,
  sntrup761Encapsulate,
  sntrup761Keypair,
} from "../core/pq/sntrup761.ts";
import { mlkem768Decapsulate, mlkem768Encapsulate, mlkem768Keypair } from "../core/pq/mlkem768.ts";

const random = seededRandom(761);

const sntrup = sntrup761Keypair(random);
const sntrupCt = sntrup761Encapsulate(sntrup.publicKey, random).ciphertext;
const mlkem = mlkem768Keypair(random);
const mlkemCt = mlkem768Encapsulate(mlkem.publicKey, random).ciphertext;
const peerX25519 = x25519.getPublicKey(random(32));

Deno.bench("sntrup761 keypair", { group: "keypair", baseline: true }, () => {
  sntrup761Keypair(random);
});
Deno.bench("mlkem768 keypair", { group: "keypair" }, () => {
  mlkem768Keypair(random);
});
Deno.bench("x25519 keypair + shared secret", { group: "keypair" }, () => {
  const secret = random(32);
  x25519.getPublicKey(secret);
  x25519.getSharedSecret(secret, peerX25519);
});

Deno.bench("sntrup761 encapsulate", { group: "encapsulate", baseline: true }, () => {
  sntrup761Encapsulate(sntrup.publicKey, random);
});
Deno.bench("mlkem768 encapsulate", { group: "encapsulate" }, () => {
  mlkem768Encapsulate(mlkem.publicKey, random);
});

Deno.bench("sntrup761 decapsulate", { group: "decapsulate", baseline: true }, () => {
  sntrup761Decapsulate(sntrupCt, sntrup.secretKey);
});
Deno.bench("mlkem768 decapsulate", { group: "decapsulate" }, () => {
  mlkem768Decapsulate(mlkemCt, mlkem.secretKey);
});
