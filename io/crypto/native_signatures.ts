/**
 * RSA (PKCS #1 v1.5) and ECDSA signatures through `node:crypto`, behind the seam in
 * core/publickey/signature_backend.ts. The portable path computes them with BigInt and
 * `@noble/curves`: an RSA-3072 signature takes 16 ms there and 1.5 ms here, a P-256
 * verification 3.3 ms against 0.1, the public point of an ECDSA key file's scalar (checked
 * at every import) 1.7 ms against 0.1.
 *
 * Keys go to node:crypto as JWKs (private keys) and are kept: private key objects with the
 * key material they came from, public ones by their bytes (a client meets the same host keys
 * again, a server the same user keys), least recently used out first.
 *
 * @module
 */

import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { withoutStack } from "../../core/errors.ts";
import {
  registerSignatureBackend,
  type SignatureBackend,
} from "../../core/publickey/signature_backend.ts";
import type { EcdsaCurveName, RsaHashName, RsaKeyMaterial } from "../../core/publickey/types.ts";
import { bigIntToBytes, equalBytes } from "../../core/wire.ts";
import { KeyedByBytes } from "./keyed_by_bytes.ts";
import { currentRuntime, type Runtime } from "../runtime/env.ts";

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

function fromB64url(s: string | undefined): Uint8Array {
  const b = Buffer.from(s ?? "", "base64url");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function big(v: bigint): string {
  return b64url(bigIntToBytes(v));
}

/** Each curve's JWK name, field size, hash, and SEC1 OID (DER). */
const CURVES: Readonly<
  Record<EcdsaCurveName, { crv: string; size: number; hash: string; oid: Uint8Array }>
> = {
  nistp256: { crv: "P-256", size: 32, hash: "sha256", oid: hex("06082a8648ce3d030107") },
  nistp384: { crv: "P-384", size: 48, hash: "sha384", oid: hex("06052b81040022") },
  nistp521: { crv: "P-521", size: 66, hash: "sha512", oid: hex("06052b81040023") },
};

const rsaPrivate = new WeakMap<RsaKeyMaterial, KeyObject>();

function rsaPrivateKey(k: RsaKeyMaterial): KeyObject | undefined {
  let key = rsaPrivate.get(k);
  if (key === undefined) {
    const { d, p, q } = k;
    if (d === undefined || p === undefined || q === undefined) return undefined;
    const dp = k.dp ?? d % (p - 1n);
    const dq = k.dq ?? d % (q - 1n);
    const qi = k.qi ?? modInverse(q, p);
    if (qi === undefined) return undefined;
    const jwk = {
      kty: "RSA",
      n: big(k.n),
      e: big(k.e),
      d: big(d),
      p: big(p),
      q: big(q),
      dp: big(dp),
      dq: big(dq),
      qi: big(qi),
    };
    key = withoutStack(() => createPrivateKey({ key: jwk, format: "jwk" }));
    rsaPrivate.set(k, key);
  }
  return key;
}

/** q⁻¹ mod p (extended Euclid), or undefined when there is none. */
function modInverse(a: bigint, m: bigint): bigint | undefined {
  let [r0, r1] = [a % m, m];
  let [s0, s1] = [1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1] = [r1, r0 - t * r1];
    [s0, s1] = [s1, s0 - t * s1];
  }
  return r0 === 1n ? ((s0 % m) + m) % m : undefined;
}

/** Public key objects by their bytes, least recently used out first. */
const publicKeys = new Map<string, KeyObject>();

/** How many public keys {@link publicKeys} holds at most. */
const PUBLIC_KEYS_KEPT = 256;

function keptPublicKey(id: string, make: () => KeyObject): KeyObject {
  let k = publicKeys.get(id);
  if (k !== undefined) publicKeys.delete(id);
  else {
    k = withoutStack(make);
    if (publicKeys.size >= PUBLIC_KEYS_KEPT) publicKeys.delete(publicKeys.keys().next().value!);
  }
  publicKeys.set(id, k);
  return k;
}

function rsaPublicKey(n: bigint, e: bigint): KeyObject {
  const jwk = { kty: "RSA", n: big(n), e: big(e) };
  return keptPublicKey(`rsa:${jwk.n}:${jwk.e}`, () => createPublicKey({ key: jwk, format: "jwk" }));
}

function ecJwk(
  curve: EcdsaCurveName,
  point: Uint8Array,
): { kty: string; crv: string; x: string; y: string } | undefined {
  const { crv, size } = CURVES[curve];
  if (point.length !== 1 + 2 * size || point[0] !== 4) return undefined;
  return {
    kty: "EC",
    crv,
    x: b64url(point.subarray(1, 1 + size)),
    y: b64url(point.subarray(1 + size)),
  };
}

/**
 * Private EC key objects by scalar, with the point they were imported with (checked against
 * both: a reused buffer, or the same scalar with another point, imports again).
 */
const ecPrivate = new KeyedByBytes<{ readonly point: Uint8Array; readonly key: KeyObject }>();

function ecPrivateKey(
  curve: EcdsaCurveName,
  d: Uint8Array,
  point: Uint8Array,
): KeyObject | undefined {
  const jwk = ecJwk(curve, point);
  if (jwk === undefined || d.length !== CURVES[curve].size) return undefined;
  const make = () => ({
    point: point.slice(),
    key: withoutStack(() => createPrivateKey({ key: { ...jwk, d: b64url(d) }, format: "jwk" })),
  });
  let kept = ecPrivate.get(d, make);
  if (!kept.point.every((x, i) => x === point[i]) || kept.point.length !== point.length) {
    kept = make();
    ecPrivate.set(d, kept);
  }
  return kept.key;
}

/** id-ecPublicKey (1.2.840.10045.2.1), DER. */
const EC_PUBLIC_KEY_OID = hex("06072a8648ce3d0201");

/** DER: a tag and its contents (all short here: under 128 bytes). */
function tlv(tag: number, ...parts: (number[] | Uint8Array)[]): number[] {
  const body = parts.flatMap((p) => [...p]);
  return [tag, body.length, ...body];
}

/**
 * PKCS #8 of a bare scalar (an ECPrivateKey without its public key): the library computes
 * the point on import. (BoringSSL, Bun's, refuses a bare SEC1 key; PKCS #8 works everywhere.)
 */
function pkcs8Scalar(curve: EcdsaCurveName, d: Uint8Array): Uint8Array {
  const ecPrivateKey = tlv(0x30, [0x02, 0x01, 0x01], tlv(0x04, d));
  return Uint8Array.from(
    tlv(
      0x30,
      [0x02, 0x01, 0x00],
      tlv(0x30, EC_PUBLIC_KEY_OID, CURVES[curve].oid),
      tlv(0x04, ecPrivateKey),
    ),
  );
}

/** `fn`'s answer, or undefined (the portable path's turn) when the library throws. */
function declined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/**
 * The node:crypto implementations, every operation on every curve (the tests compare them
 * with the portable path); {@link NODE_SIGNATURES} routes to them only where they win.
 */
export const NODE_SIGNATURE_PRIMITIVES: SignatureBackend = Object.freeze({
  name: "node:crypto",
  // Anything the library refuses (a key it will not import, a hash a crypto policy forbids,
  // a point off the curve) is left to the portable path, which answers with typed errors.
  rsaSign(key: RsaKeyMaterial, hash: RsaHashName, data: Uint8Array) {
    return declined(() => {
      const k = rsaPrivateKey(key);
      return k && new Uint8Array(nodeSign(hash, data, k));
    });
  },
  rsaVerify(n: bigint, e: bigint, hash: RsaHashName, data: Uint8Array, signature: Uint8Array) {
    return declined(() => nodeVerify(hash, data, rsaPublicKey(n, e), signature));
  },
  ecdsaSign(curve: EcdsaCurveName, d: Uint8Array, point: Uint8Array, data: Uint8Array) {
    return declined(() => {
      const k = ecPrivateKey(curve, d, point);
      if (k === undefined) return undefined;
      return new Uint8Array(
        nodeSign(CURVES[curve].hash, data, { key: k, dsaEncoding: "ieee-p1363" }),
      );
    });
  },
  ecdsaVerify(curve: EcdsaCurveName, point: Uint8Array, compact: Uint8Array, data: Uint8Array) {
    const jwk = ecJwk(curve, point);
    if (jwk === undefined) return false;
    return declined(() => {
      const k = keptPublicKey(
        `ec:${jwk.crv}:${jwk.x}:${jwk.y}`,
        () => createPublicKey({ key: jwk, format: "jwk" }),
      );
      return nodeVerify(CURVES[curve].hash, data, { key: k, dsaEncoding: "ieee-p1363" }, compact);
    });
  },
  ecdsaPublicKey(curve: EcdsaCurveName, d: Uint8Array) {
    return declined(() => ecPublicFromScalar(curve, d));
  },
});

/** The public point of a scalar (big-endian, the curve's size), computed by the library. */
function ecPublicFromScalar(curve: EcdsaCurveName, d: Uint8Array): Uint8Array | undefined {
  const { size } = CURVES[curve];
  if (d.length !== size) return undefined;
  const priv = withoutStack(() =>
    createPrivateKey({ key: Buffer.from(pkcs8Scalar(curve, d)), format: "der", type: "pkcs8" })
  );
  const jwk = createPublicKey(priv).export({ format: "jwk" });
  const x = fromB64url(jwk.x), y = fromB64url(jwk.y);
  if (x.length > size || y.length > size) return undefined;
  const out = new Uint8Array(1 + 2 * size);
  out[0] = 4;
  out.set(x, 1 + size - x.length);
  out.set(y, 1 + 2 * size - y.length);
  return out;
}

/**
 * Which operations go native on a runtime: those measured faster than the portable path.
 *
 * @example
 * ```ts
 * import type { SignatureRoutes } from "./native_signatures.ts";
 * const verifyOnly: SignatureRoutes = {
 *   rsa: false,
 *   ecdsaSign: [],
 *   ecdsaVerify: ["nistp256"],
 *   ecdsaPublicKey: [],
 * };
 * ```
 */
export interface SignatureRoutes {
  readonly rsa: boolean;
  readonly ecdsaSign: readonly EcdsaCurveName[];
  readonly ecdsaVerify: readonly EcdsaCurveName[];
  readonly ecdsaPublicKey: readonly EcdsaCurveName[];
}

const ALL_CURVES: readonly EcdsaCurveName[] = ["nistp256", "nistp384", "nistp521"];

/**
 * Measured with `bench/sign_bench.ts --primitives` and per call (2026-12-06, ms, portable →
 * native):
 * - Node: RSA-3072 sign 12.9 → 2.2, verify 0.22 → 0.08; P-256 sign 0.70 → 0.10, verify
 *   2.6 → 0.14; P-384 sign 1.19 → 0.97; P-521 sign 2.2 → 2.2 (no gain); every verify
 *   4–7× faster; a scalar's point P-256 0.87 → 0.20, but P-384 1.3 → 2.1, P-521 2.6 → 4.8.
 * - Bun: alike (RSA-3072 sign 5.6 → 2.2; P-521 sign 0.96 → 1.5 stays portable).
 * - Deno: its node:crypto is RustCrypto, not OpenSSL: RSA no faster to sign and slower to
 *   verify (0.19 → 0.50), ECDSA slower to sign (P-256 0.52 → 0.78); only ECDSA
 *   verification wins (P-256 2.0 → 0.67, P-521 5.9 → 2.1).
 */
const ROUTES: Readonly<Record<Runtime, SignatureRoutes>> = {
  node: {
    rsa: true,
    ecdsaSign: ["nistp256", "nistp384"],
    ecdsaVerify: ALL_CURVES,
    ecdsaPublicKey: ["nistp256"],
  },
  bun: {
    rsa: true,
    ecdsaSign: ["nistp256", "nistp384"],
    ecdsaVerify: ALL_CURVES,
    ecdsaPublicKey: ["nistp256"],
  },
  deno: { rsa: false, ecdsaSign: [], ecdsaVerify: ALL_CURVES, ecdsaPublicKey: [] },
};

/** Per-family gates on top of the routes: whether RSA, or ECDSA, may go native now. */
interface FamilyGates {
  readonly rsa: () => boolean;
  readonly ecdsa: () => boolean;
}

const OPEN_GATES: FamilyGates = { rsa: () => true, ecdsa: () => true };

/**
 * `primitives` where `routes` say native wins and the operation's family gate opens;
 * undefined (the portable path) elsewhere. A gate is asked only for a routed operation.
 */
function routed(
  primitives: SignatureBackend,
  routes: SignatureRoutes,
  gates: FamilyGates = OPEN_GATES,
): SignatureBackend {
  const p = primitives;
  return Object.freeze({
    name: p.name,
    rsaSign: (...a: Parameters<SignatureBackend["rsaSign"]>) =>
      routes.rsa && gates.rsa() ? p.rsaSign(...a) : undefined,
    rsaVerify: (...a: Parameters<SignatureBackend["rsaVerify"]>) =>
      routes.rsa && gates.rsa() ? p.rsaVerify(...a) : undefined,
    ecdsaSign: (...a: Parameters<SignatureBackend["ecdsaSign"]>) =>
      routes.ecdsaSign.includes(a[0]) && gates.ecdsa() ? p.ecdsaSign(...a) : undefined,
    ecdsaVerify: (...a: Parameters<SignatureBackend["ecdsaVerify"]>) =>
      routes.ecdsaVerify.includes(a[0]) && gates.ecdsa() ? p.ecdsaVerify(...a) : undefined,
    ecdsaPublicKey: (...a: Parameters<SignatureBackend["ecdsaPublicKey"]>) =>
      routes.ecdsaPublicKey.includes(a[0]) && gates.ecdsa() ? p.ecdsaPublicKey(...a) : undefined,
  });
}

/**
 * node:crypto for what wins on this runtime, unchecked: what {@link registerNativeSignatures}
 * installs once its known answers pass (connect() and listen() install the same routes
 * through {@link installNativeSignatures}, checked on first use).
 */
export const NODE_SIGNATURES: SignatureBackend = routed(
  NODE_SIGNATURE_PRIMITIVES,
  ROUTES[currentRuntime()],
);

/** A 1024-bit RSA key (a test key, nothing else), as a JWK. */
const TEST_RSA = {
  n: "oqJJkwObJGQgNO5TsIXl1Fg4I1VQAd-D5j-len1Adqn4qAbwTJE16N2DhHzhIfBMQkQpPjDu1ZI6xega" +
    "gsF98UA22szWv5arT7orn1VA1eWakwDkBpc6sSQ3jss7TvMiLhg5wy2_IAoxy21sp-J9KQhdYNpShE8l" +
    "r4R9--NFsj0",
  e: "AQAB",
  d: "EaV4RDpk8ArpL7UYYZP1vxefZ74PA1UEU8xeIS9L-lQxBdJS6ovrBIxcg9ik-PDA5YPN0dCvaX8HX4fy" +
    "sHNcPc-6IYoz9w1DE5-S_gjZqJfovh4GQPtmHCuZAlpjLWqOSK-Vfe7U2osQTe7HebOI5AJQFejZN2At" +
    "Hu_3b4q8vQE",
  p: "1ttiaDZSrk3tVsohEh4aALP5paorO9lVB9I0PLwLRY-tpFBV9nhFN2jPPPSE_pLAt8sEvcfbkPYsP8ji" +
    "_MvJQQ",
  q: "wcbZsMkiBLFORsYzbDkurfOqkrCDtUU5DpCzP2u5HxfEY_5AmX52UBKSBUo34NWUX0GsruEf2snFZfVg" +
    "P0eN_Q",
  dp: "D_-mBDyHS5Nh6OSEMeUr6oF8RWm2bm5wdnSgjyUxcayRMXsJ66BpBwc250MN5CbpUsY7RCZtow2xnc5H" +
    "mKtUAQ",
  dq: "c0TfsCslYlc6sh0q78DgRLgDCrmXz5f7BfALwLlK6PURbU4MjYJNzPoPBLiOnt9OIJAHsgvXECYgl7Ms" +
    "atgc3Q",
  qi: "sV1ehN2ay6Ujba_hQH_KaNNbR_l342fD4pm6-mN3oPIh9x1dkFap8xx0sDxpJu8TdREN5XOcL-2WdbW1" +
    "3ALCpw",
};

/** Its PKCS #1 v1.5 SHA-256 signature of "abc" (from the portable path). */
const TEST_RSA_SIGNATURE = hex(
  "61c300b6be34e427076f7363431f899d2599ceaf8eebd904d0dcfa820d427cb6c4908573a0a473dfbae84700" +
    "ade556df54400dbb481db07f443777a12d8082fd85c5cdec8c6cbbfaaed6bd5fad31387fbdf6f375ff05b542" +
    "fdf9126f5b0d04dc53a3c59f35370722243707c947c7c143c2db191a8b19f6343c05e5589dbe3e12",
);

const TEST_EC_SCALAR = hex("773282401e47981a9bfd660c9a460960d5aaf88aca2e5cf19c09ee4631d155a6");
const TEST_EC_POINT = hex(
  "04c8a01edb2a2ff8a457f3c15172f4a97665730aab1382d95589c8664202d16fc5" +
    "50943ef6705b8f7721759f63cca420969ae5ad4bccd5a25d6c46bc6d7442043f",
);
/** The P-256 signature (r ‖ s) of "abc" with that scalar, RFC 6979 (from the portable path). */
const TEST_EC_SIGNATURE = hex(
  "1eb0d667b14e634152ad83720be288a0d96158f189330195beab668180028f7e" +
    "dca2e38b635729e7896183e12ff7f2a8ebb31cafacaa1372461137261b1d9c81",
);

/** Whether an answer came, and is `expected`. */
function sameAs(answer: Uint8Array | undefined, expected: Uint8Array): boolean {
  return answer !== undefined && equalBytes(answer, expected);
}

const ABC = new TextEncoder().encode("abc");

/** RSA's known answers (a signature, its verification, a refusal), all native. */
function rsaWorks(b: SignatureBackend): boolean {
  const big = (s: string) => BigInt("0x" + (Buffer.from(s, "base64url").toString("hex") || "0"));
  const rsa: RsaKeyMaterial = {
    type: "rsa",
    n: big(TEST_RSA.n),
    e: big(TEST_RSA.e),
    d: big(TEST_RSA.d),
    p: big(TEST_RSA.p),
    q: big(TEST_RSA.q),
  };
  if (!sameAs(b.rsaSign(rsa, "sha256", ABC), TEST_RSA_SIGNATURE)) return false;
  if (b.rsaVerify(rsa.n, rsa.e, "sha256", ABC, TEST_RSA_SIGNATURE) !== true) return false;
  const bad = TEST_RSA_SIGNATURE.slice();
  bad[5]! ^= 1;
  return b.rsaVerify(rsa.n, rsa.e, "sha256", ABC, bad) === false;
}

/** ECDSA's known answers for what `routes` sends native, all native. */
function ecdsaWorks(b: SignatureBackend, routes: SignatureRoutes): boolean {
  if (
    routes.ecdsaPublicKey.length > 0 &&
    !sameAs(b.ecdsaPublicKey("nistp256", TEST_EC_SCALAR), TEST_EC_POINT)
  ) {
    return false;
  }
  // Verification is routed on every runtime, and checks the signatures made below.
  if (b.ecdsaVerify("nistp256", TEST_EC_POINT, TEST_EC_SIGNATURE, ABC) !== true) return false;
  const badEc = TEST_EC_SIGNATURE.slice();
  badEc[40]! ^= 1;
  if (b.ecdsaVerify("nistp256", TEST_EC_POINT, badEc, ABC) !== false) return false;
  if (routes.ecdsaSign.length === 0) return true;
  const fresh = b.ecdsaSign("nistp256", TEST_EC_SCALAR, TEST_EC_POINT, ABC);
  return fresh?.length === 64 && b.ecdsaVerify("nistp256", TEST_EC_POINT, fresh, ABC) === true;
}

/**
 * Known answers for the operations `routes` sends native, all native (the portable path
 * would cost milliseconds at start-up; an operation never routed here is never used).
 */
function selfTest(b: SignatureBackend, routes: SignatureRoutes): boolean {
  return (!routes.rsa || rsaWorks(b)) && ecdsaWorks(b, routes);
}

/** Whether a family's known answers pass, checked once; a throw counts as a failure. */
function checkedOnce(check: () => boolean): () => boolean {
  let verdict: boolean | undefined;
  return () => {
    if (verdict === undefined) {
      try {
        verdict = check();
      } catch {
        verdict = false;
      }
    }
    return verdict;
  };
}

/**
 * `primitives` where `routes` send an operation, each family (RSA, ECDSA) running its known
 * answers the first time one of its routed operations is called: a family that fails them,
 * or throws, answers undefined from then on (the portable path's turn). An operation not
 * routed answers undefined without running any check. A connection that meets no RSA or
 * ECDSA key never pays for importing test keys (a few milliseconds of a process's first
 * connection on Node 20).
 *
 * @example
 * ```ts
 * import { checkedOnFirstUse, NODE_SIGNATURE_PRIMITIVES } from "./native_signatures.ts";
 * const b = checkedOnFirstUse(NODE_SIGNATURE_PRIMITIVES, {
 *   rsa: true,
 *   ecdsaSign: [],
 *   ecdsaVerify: ["nistp256"],
 *   ecdsaPublicKey: [],
 * });
 * console.log(b.name); // "node:crypto": nothing checked yet
 * ```
 */
export function checkedOnFirstUse(
  primitives: SignatureBackend,
  routes: SignatureRoutes,
): SignatureBackend {
  return routed(primitives, routes, {
    rsa: checkedOnce(() => rsaWorks(primitives)),
    ecdsa: checkedOnce(() => ecdsaWorks(primitives, routes)),
  });
}

/**
 * Installs node:crypto's RSA and ECDSA, each family checked by its known answers the first
 * time it is used (what connect() and listen() do; see {@link registerNativeSignatures} for
 * checking now).
 *
 * @example
 * ```ts
 * import { installNativeSignatures } from "./native_signatures.ts";
 * installNativeSignatures();
 * ```
 */
export function installNativeSignatures(): void {
  registerSignatureBackend(
    checkedOnFirstUse(NODE_SIGNATURE_PRIMITIVES, ROUTES[currentRuntime()]),
  );
}

/**
 * Installs node:crypto's RSA and ECDSA when this runtime has them and they pass the
 * known-answer tests now; returns the backend's name, or undefined (portable path kept).
 *
 * @example
 * ```ts
 * import { registerNativeSignatures } from "./native_signatures.ts";
 * console.log(registerNativeSignatures() ?? "portable"); // "node:crypto"
 * ```
 */
export function registerNativeSignatures(): string | undefined {
  try {
    if (!selfTest(NODE_SIGNATURE_PRIMITIVES, ROUTES[currentRuntime()])) return undefined;
  } catch {
    return undefined;
  }
  registerSignatureBackend(NODE_SIGNATURES);
  return NODE_SIGNATURES.name;
}
