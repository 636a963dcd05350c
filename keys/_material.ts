/**
 * Facts about raw {@link KeyMaterial} that every format needs: the SSH algorithm
 * name, size in bits, whether it holds a private part, its public part, and a
 * consistency check run on every imported private key. Internal to keys/.
 *
 * @module
 */

import { ed25519PublicKeyOf } from "../core/crypto/curve25519_backend.ts";
import type { KeyMaterial, RsaKeyMaterial } from "../core/publickey/types.ts";
import { equalBytes } from "../core/wire.ts";
import { bitLength, modInverse, modPow } from "../core/publickey/bigint.ts";
import { publicKeyTypeName } from "../core/publickey/algorithms.ts";
import { RSA_MAX_EXPONENT_BITS } from "../core/publickey/blob.ts";
import { CURVES, isValidPoint, padScalar, publicFromScalar } from "./_curves.ts";
import { KeyImportError } from "./errors.ts";

/** The SSH key type name ("ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", ...). */
export const keyTypeName: (k: KeyMaterial) => string = publicKeyTypeName;

/** Size in bits as ssh-keygen reports it. */
export function keyBits(k: KeyMaterial): number {
  switch (k.type) {
    case "ed25519":
    case "sk-ed25519":
      return 256;
    case "ecdsa":
      return CURVES[k.curve].bits;
    case "sk-ecdsa":
      return 256;
    case "rsa":
      return bitLength(k.n);
    case "dsa":
      return bitLength(k.p);
  }
}

/** True when the material carries a private part. */
export function hasPrivate(k: KeyMaterial): boolean {
  switch (k.type) {
    case "ed25519":
      return k.seed !== undefined;
    case "ecdsa":
      return k.privateKey !== undefined;
    case "rsa":
      return k.d !== undefined;
    case "dsa":
      return k.x !== undefined;
    default:
      return false;
  }
}

/** The public part only (a new object without private fields). */
export function publicOnly(k: KeyMaterial): KeyMaterial {
  switch (k.type) {
    case "ed25519":
      return { type: "ed25519", publicKey: k.publicKey };
    case "ecdsa":
      return { type: "ecdsa", curve: k.curve, publicKey: k.publicKey };
    case "rsa":
      return { type: "rsa", n: k.n, e: k.e };
    case "dsa":
      return { type: "dsa", p: k.p, q: k.q, g: k.g, y: k.y };
    default:
      return k;
  }
}

/** RSA material with dp, dq and qi filled in (they are optional in some formats). */
export function completeRsa(k: RsaKeyMaterial): RsaKeyMaterial {
  if (k.d === undefined || k.p === undefined || k.q === undefined) return k;
  let qi = k.qi;
  if (qi === undefined) {
    try {
      qi = modInverse(k.q, k.p);
    } catch {
      throw new KeyImportError("Cannot import RSA key: p and q are not coprime");
    }
  }
  return { ...k, dp: k.dp ?? k.d % (k.p - 1n), dq: k.dq ?? k.d % (k.q - 1n), qi };
}

/**
 * Why DSA parameters of these sizes are refused, or undefined: FIPS 186 sizes only (p of
 * 1024 to 3072 bits, q of 160, 224 or 256 bits, q dividing p − 1), checked before any
 * exponentiation — the cost of checking a key grows with the sizes a file claims, and a
 * 256-kbit "x" took minutes. (SSH itself uses 1024/160; OpenSSH 10 dropped DSA.)
 *
 * @example
 * ```ts
 * import { dsaSizeProblem } from "./_material.ts";
 * console.log(dsaSizeProblem(2n ** 1023n + 1n, 2n ** 159n + 1n) === undefined); // false: q ∤ p − 1
 * ```
 */
export function dsaSizeProblem(p: bigint, q: bigint): string | undefined {
  const pBits = bitLength(p), qBits = bitLength(q);
  if (pBits < 1024 || pBits > 3072) return `DSA modulus of ${pBits} bits (1024 to 3072 allowed)`;
  if (qBits !== 160 && qBits !== 224 && qBits !== 256) {
    return `DSA subgroup order of ${qBits} bits (160, 224 or 256 allowed)`;
  }
  if ((p - 1n) % q !== 0n) return "DSA subgroup order does not divide p - 1";
  return undefined;
}

/**
 * Checks that a private key is self-consistent (its public part follows from its
 * private part) and that values are in range, so a corrupted or forged file fails
 * at import instead of producing bad signatures later. `what` names the source.
 */
export function checkKeyMaterial(k: KeyMaterial, what: string): void {
  const fail = (why: string): never => {
    throw new KeyImportError(`Cannot import ${what}: ${why}`);
  };
  switch (k.type) {
    case "ed25519":
      if (k.publicKey.length !== 32) fail("Ed25519 public key is not 32 bytes");
      if (k.seed !== undefined) {
        if (k.seed.length !== 32) fail("Ed25519 private key is not 32 bytes");
        if (!equalBytes(ed25519PublicKeyOf(k.seed), k.publicKey)) {
          fail("Ed25519 public key does not match the private key");
        }
      }
      return;
    case "ecdsa": {
      const info = CURVES[k.curve];
      if (k.privateKey !== undefined) {
        if (!padScalar(info, k.privateKey)) fail(`private scalar is too long for ${k.curve}`);
        const pub = publicFromScalar(info, k.privateKey);
        if (!pub) return fail(`private scalar is out of range for ${k.curve}`);
        // A point computed from the scalar is on the curve: equal to it, the key is sound.
        if (equalBytes(pub, k.publicKey)) return;
      }
      if (!isValidPoint(info, k.publicKey)) fail(`public key is not a point on ${k.curve}`);
      if (k.privateKey !== undefined) fail("ECDSA public key does not match the private key");
      return;
    }
    case "rsa": {
      if (k.n <= 0n || k.e <= 1n || (k.n & 1n) === 0n || (k.e & 1n) === 0n) {
        fail("RSA modulus or exponent is invalid");
      }
      // The bounds OpenSSH enforces (SSH_RSA_MINIMUM_MODULUS_SIZE, SSHBUF_MAX_BIGNUM).
      if (bitLength(k.n) < 1024) fail(`RSA modulus of ${bitLength(k.n)} bits is below 1024 bits`);
      if (bitLength(k.n) > 16384) fail("RSA modulus is longer than 16384 bits");
      // As a public key blob's: a huge e costs every blinded signature a long modPow.
      if (bitLength(k.e) > RSA_MAX_EXPONENT_BITS) {
        fail(`RSA public exponent of ${bitLength(k.e)} bits exceeds ${RSA_MAX_EXPONENT_BITS} bits`);
      }
      if (k.d !== undefined) {
        const { p, q, d } = k;
        if (p === undefined || q === undefined) return fail("RSA private key lacks p or q");
        if (p <= 1n || q <= 1n || p * q !== k.n) fail("RSA p * q does not equal the modulus");
        if (d <= 0n || d >= k.n) fail("RSA private exponent is out of range");
        // e*d ≡ 1 mod (p-1) and mod (q-1) means d really inverts e.
        if ((k.e * d) % (p - 1n) !== 1n || (k.e * d) % (q - 1n) !== 1n) {
          fail("RSA private exponent does not match the public exponent");
        }
        if (k.qi !== undefined && (k.qi * q) % p !== 1n) fail("RSA coefficient qi is wrong");
        if (k.dp !== undefined && k.dp !== d % (p - 1n)) fail("RSA exponent dp is wrong");
        if (k.dq !== undefined && k.dq !== d % (q - 1n)) fail("RSA exponent dq is wrong");
      }
      return;
    }
    case "dsa": {
      if (k.p <= 1n || k.q <= 1n || k.g <= 1n || k.g >= k.p || k.y <= 1n || k.y >= k.p) {
        fail("DSA parameters are out of range");
      }
      const why = dsaSizeProblem(k.p, k.q);
      if (why) fail(why);
      if (k.x !== undefined) {
        if (k.x <= 0n || k.x >= k.q) fail("DSA private key is out of range");
        if (modPow(k.g, k.x, k.p) !== k.y) fail("DSA public key does not match the private key");
      }
      return;
    }
    default:
      return;
  }
}
