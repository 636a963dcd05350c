import { test } from "node:test";
import assert from "node:assert/strict";
import { getDiffieHellman } from "node:crypto";
import {
  MODP_GROUP_14,
  MODP_GROUP_15,
  MODP_GROUP_16,
  MODP_GROUP_17,
  MODP_GROUP_18,
  OAKLEY_GROUP_2,
} from "./dh_groups.ts";
import { bitLength, modPow } from "../publickey/bigint.ts";

/** pi * 2^bits by Machin's formula, computed independently of the constants. */
function piFixed(bits: bigint): bigint {
  const guard = 64n;
  const one = 1n << (bits + guard);
  const atanInv = (x: bigint) => {
    let term = one / x;
    let sum = term;
    let k = 1n;
    let sign = -1n;
    const x2 = x * x;
    while (term !== 0n) {
      term /= x2;
      sum += (sign * term) / (2n * k + 1n);
      sign = -sign;
      k++;
    }
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
}

const GROUPS = [
  [OAKLEY_GROUP_2, 129093n, "modp2"],
  [MODP_GROUP_14, 124476n, "modp14"],
  [MODP_GROUP_15, 1690314n, "modp15"],
  [MODP_GROUP_16, 240904n, "modp16"],
  [MODP_GROUP_17, 929484n, "modp17"],
  [MODP_GROUP_18, 4743158n, "modp18"],
] as const;

test("MODP groups equal 2^n - 2^(n-64) - 1 + 2^64 * (floor(2^(n-130) pi) + k) (RFC 2409, RFC 3526)", () => {
  const pi = piFixed(8200n);
  for (const [group, k] of GROUPS) {
    const n = BigInt(group.bits);
    const expected = (1n << n) - (1n << (n - 64n)) - 1n +
      (1n << 64n) * ((pi >> (8200n - (n - 130n))) + k);
    assert.equal(group.p, expected, `${group.bits}-bit`);
    assert.equal(bitLength(group.p), group.bits);
    assert.equal(group.g, 2n);
  }
});

test("MODP groups match node:crypto's built-in groups where the runtime has them", () => {
  // Bun's getDiffieHellman() validates the group on creation: ~1 s for modp14 and a
  // minute for modp18. The pi-formula test above covers every group on every runtime.
  if ("Bun" in globalThis) return;
  for (const [group, , name] of GROUPS) {
    let prime: string;
    try {
      prime = getDiffieHellman(name).getPrime("hex");
    } catch {
      continue; // Bun has no modp2.
    }
    assert.equal(group.p, BigInt("0x" + prime), name);
  }
});

test("MODP groups are safe primes (Fermat check of p and (p-1)/2, base 2 and 3)", () => {
  for (const [group] of GROUPS.slice(0, 3)) {
    const q = (group.p - 1n) / 2n;
    for (const a of [2n, 3n]) {
      assert.equal(modPow(a, group.p - 1n, group.p), 1n);
      assert.equal(modPow(a, q - 1n, q), 1n);
    }
  }
});
