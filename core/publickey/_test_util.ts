/**
 * Helpers shared by the public-key and kex tests (test-only: they use node:crypto).
 *
 * @module
 */

import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { bytesToBigInt } from "../wire.ts";
import type {
  EcdsaCurveName,
  EcdsaKeyMaterial,
  Ed25519KeyMaterial,
  RsaKeyMaterial,
} from "./types.ts";

/**
 * Hex string to bytes.
 *
 * @example
 * ```ts
 * import { unhex } from "./_test_util.ts";
 * console.log(unhex("0aff")); // Uint8Array [10, 255]
 * ```
 */
export function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Bytes to lower-case hex.
 *
 * @example
 * ```ts
 * import { hex } from "./_test_util.ts";
 * console.log(hex(new Uint8Array([10, 255]))); // "0aff"
 * ```
 */
export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * Base64url (JWK) to bytes.
 *
 * @example
 * ```ts
 * import { b64u } from "./_test_util.ts";
 * console.log(b64u("AQAB")); // Uint8Array [1, 0, 1]
 * ```
 */
export function b64u(s: string): Uint8Array {
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** JWK fields we read. */
interface Jwk {
  x?: string;
  y?: string;
  d?: string;
  n?: string;
  e?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
}

function jwk(k: KeyObject): Jwk {
  return k.export({ format: "jwk" }) as Jwk;
}

/** A generated key pair: our material plus node's KeyObjects. */
export interface NodeKeyPair<T> {
  readonly material: T;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
}

/**
 * Generates an RSA key with node:crypto and converts it to {@link RsaKeyMaterial}.
 *
 * @example
 * ```ts
 * import { nodeRsaKey } from "./_test_util.ts";
 * console.log(nodeRsaKey(2048).material.e); // 65537n
 * ```
 */
export function nodeRsaKey(bits: number): NodeKeyPair<RsaKeyMaterial> {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const j = jwk(privateKey);
  const big = (s: string | undefined) => bytesToBigInt(b64u(s!));
  return {
    material: {
      type: "rsa",
      n: big(j.n),
      e: big(j.e),
      d: big(j.d),
      p: big(j.p),
      q: big(j.q),
      dp: big(j.dp),
      dq: big(j.dq),
      qi: big(j.qi),
    },
    publicKey,
    privateKey,
  };
}

const NODE_CURVES: Record<EcdsaCurveName, string> = {
  nistp256: "P-256",
  nistp384: "P-384",
  nistp521: "P-521",
};

/**
 * Generates an ECDSA key with node:crypto and converts it to {@link EcdsaKeyMaterial}.
 *
 * @example
 * ```ts
 * import { nodeEcdsaKey } from "./_test_util.ts";
 * console.log(nodeEcdsaKey("nistp256").material.publicKey.length); // 65
 * ```
 */
export function nodeEcdsaKey(curve: EcdsaCurveName): NodeKeyPair<EcdsaKeyMaterial> {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: NODE_CURVES[curve] });
  const j = jwk(privateKey);
  const x = b64u(j.x!);
  const y = b64u(j.y!);
  const q = new Uint8Array(1 + x.length + y.length);
  q[0] = 4;
  q.set(x, 1);
  q.set(y, 1 + x.length);
  return {
    material: { type: "ecdsa", curve, publicKey: q, privateKey: b64u(j.d!) },
    publicKey,
    privateKey,
  };
}

/**
 * Generates an Ed25519 key with node:crypto and converts it to {@link Ed25519KeyMaterial}.
 *
 * @example
 * ```ts
 * import { nodeEd25519Key } from "./_test_util.ts";
 * console.log(nodeEd25519Key().material.seed?.length); // 32
 * ```
 */
export function nodeEd25519Key(): NodeKeyPair<Ed25519KeyMaterial> {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const j = jwk(privateKey);
  return {
    material: { type: "ed25519", publicKey: b64u(j.x!), seed: b64u(j.d!) },
    publicKey,
    privateKey,
  };
}
