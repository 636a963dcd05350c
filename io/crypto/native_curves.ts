/**
 * X25519 and Ed25519 from `node:crypto` (OpenSSL on Node, BoringSSL on Bun, Rust on
 * Deno) behind core's {@link Curve25519Backend} seam: 10–40× faster than the
 * portable BigInt path, which made a login cost several ms of client CPU. Keys
 * come in as raw bytes and go to `node:crypto` as DER (PKCS #8 / SPKI with the
 * RFC 8410 OIDs), so seeded tests still reproduce every byte.
 *
 * Registered only when the runtime passes known-answer tests (RFC 7748 §6.1,
 * RFC 8032 §7.1 test 1) and rejects a non-canonical S; otherwise the portable
 * path stays.
 *
 * @module
 */

import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
} from "node:crypto";
import { Buffer } from "node:buffer";
import { currentRuntime } from "../runtime/env.ts";
import { KeyedByBytes } from "./keyed_by_bytes.ts";
import { withoutStack } from "../../core/errors.ts";
import { equalBytes, fromHex } from "../../core/wire.ts";
import {
  type Curve25519Backend,
  registerCurve25519Backend,
} from "../../core/crypto/curve25519_backend.ts";

// DER prefixes of RFC 8410 keys: the 32 raw bytes follow.
const X25519_PKCS8 = fromHex("302e020100300506032b656e04220420");
const X25519_SPKI = fromHex("302a300506032b656e032100");
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
const ED25519_SPKI = fromHex("302a300506032b6570032100");

function der(prefix: Uint8Array, raw: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + raw.length);
  out.set(prefix);
  out.set(raw, prefix.length);
  return out;
}

/**
 * Node's key import throws and catches an error inside (its key-object check) whatever the
 * input: capturing that error's stack is most of the import's cost (a JWK public key: 118 µs,
 * 40 without the stack). Imports run with stack capture off.
 */
function privateKey(prefix: Uint8Array, raw: Uint8Array): KeyObject {
  return withoutStack(() =>
    createPrivateKey({ key: der(prefix, raw) as never, format: "der", type: "pkcs8" })
  );
}

/**
 * Node (OpenSSL 3) imports a raw public key as a JWK faster than as DER (its DER decoders
 * cost 85–100 µs a key, the JWK path 65–70), and generates an X25519 pair (67 µs) faster than
 * it imports a private key (150 µs); Deno and Bun import DER in 1–15 µs, and Deno exports a
 * JWK slowly (47 µs). Measured per call, 2026-12-05.
 */
const JWK_FASTER = currentRuntime() === "node";

function publicKey(prefix: Uint8Array, raw: Uint8Array, crv: "X25519" | "Ed25519"): KeyObject {
  if (JWK_FASTER) {
    const x = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("base64url");
    return withoutStack(() => createPublicKey({ key: { kty: "OKP", crv, x }, format: "jwk" }));
  }
  return withoutStack(() =>
    createPublicKey({ key: der(prefix, raw) as never, format: "der", type: "spki" })
  );
}

function fromBase64Url(s: string | undefined): Uint8Array {
  const b = Buffer.from(s ?? "", "base64url");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength).slice();
}

/** A fresh X25519 pair from node:crypto, its private key kept for the shared secret. */
function generateX25519(): { secretKey: Uint8Array; publicKey: Uint8Array } {
  const pair = generateKeyPairSync("x25519");
  const jwk = pair.privateKey.export({ format: "jwk" });
  const secretKey = fromBase64Url(jwk.d);
  const pub = fromBase64Url(jwk.x);
  if (secretKey.length !== 32 || pub.length !== 32) {
    throw new RangeError("node:crypto exported an X25519 key of the wrong size");
  }
  x25519Keys.set(secretKey, pair.privateKey);
  return { secretKey, publicKey: pub };
}

function rawPublic(k: KeyObject): Uint8Array {
  const pub = createPublicKey(k);
  const spki = new Uint8Array(pub.export({ format: "der", type: "spki" }) as Uint8Array);
  return spki.slice(spki.length - 32);
}

/**
 * Signing keys, by seed: a client signs with the same key at every login, and
 * importing it costs about as much as the signature. Weak, so a dropped key goes; checked
 * against the seed's bytes, so a reused buffer never signs with the key it held before.
 */
const signingKeys = new KeyedByBytes<KeyObject>();

/**
 * An ephemeral X25519 key is used twice (its public key, then the shared secret): imported
 * once. Weak, so it goes with the secret's bytes.
 */
const x25519Keys = new KeyedByBytes<KeyObject>();

/**
 * Ed25519 public keys that verified recently, by their bytes: a server sees the same user
 * keys log in again and again, a client the same host keys, and Node's import costs more
 * than the verification (65–70 µs against about 180, measured per call). Bounded, least
 * recently used out first; public keys only, so nothing secret outlives its use.
 */
const verifyingKeys = new Map<string, KeyObject>();

/** How many public keys {@link verifyingKeys} holds at most. */
const VERIFYING_KEYS_KEPT = 256;

function verifyingKey(pub: Uint8Array): KeyObject {
  const id = String.fromCharCode(...pub);
  let k = verifyingKeys.get(id);
  if (k !== undefined) {
    verifyingKeys.delete(id); // most recently used goes last
  } else {
    k = publicKey(ED25519_SPKI, pub, "Ed25519");
    if (verifyingKeys.size >= VERIFYING_KEYS_KEPT) {
      verifyingKeys.delete(verifyingKeys.keys().next().value!);
    }
  }
  verifyingKeys.set(id, k);
  return k;
}

function signingKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new RangeError(`An Ed25519 seed is 32 bytes, not ${seed.length}`);
  return signingKeys.get(seed, () => privateKey(ED25519_PKCS8, seed));
}

function x25519Private(secretKey: Uint8Array): KeyObject {
  return x25519Keys.get(secretKey, () => privateKey(X25519_PKCS8, secretKey));
}

/** The node:crypto backend (not yet checked: see {@link registerNativeCurves}). */
export const NODE_CURVE25519: Curve25519Backend = Object.freeze({
  name: "node:crypto",
  x25519PublicKey(secretKey: Uint8Array): Uint8Array {
    return rawPublic(x25519Private(secretKey));
  },
  ...(JWK_FASTER ? { x25519Generate: generateX25519 } : {}),
  x25519Shared(secretKey: Uint8Array, peerPublic: Uint8Array): Uint8Array {
    return new Uint8Array(diffieHellman({
      privateKey: x25519Private(secretKey),
      publicKey: publicKey(X25519_SPKI, peerPublic, "X25519"),
    }));
  },
  ed25519Sign(seed: Uint8Array, data: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign(null, data, signingKey(seed)));
  },
  ed25519PublicKey(seed: Uint8Array): Uint8Array {
    // The import a first signature would make anyway (kept for it), and the public half.
    return rawPublic(signingKey(seed));
  },
  ed25519Verify(signature: Uint8Array, data: Uint8Array, pub: Uint8Array): boolean {
    if (signature.length !== 64 || pub.length !== 32) return false;
    // RFC 8032 §5.1.7: S must be below the group order L (OpenSSL checks it too; this keeps
    // every runtime's library to the same rule).
    if (!canonicalS(signature)) return false;
    try {
      return nodeVerify(null, data, verifyingKey(pub), signature);
    } catch {
      return false;
    }
  },
});

/** L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const L = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");

function canonicalS(signature: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = signature[32 + i]!;
    if (s !== L[i]!) return s < L[i]!;
  }
  return false; // S == L
}

/** Known answers the native backend must reproduce before it is used. */
function selfTest(b: Curve25519Backend): boolean {
  // RFC 7748 §6.1.
  const a = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bPub = fromHex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const aPub = fromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  const k = fromHex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  if (!equalBytes(b.x25519PublicKey(a), aPub) || !equalBytes(b.x25519Shared(a, bPub), k)) {
    return false;
  }
  // A generated pair: the exported secret must give the exported public key and agree with
  // a known peer both ways. (Native only, checked by the answers above: the portable path's
  // first use would cost a process some 40 ms of compiling on Node.)
  if (b.x25519Generate) {
    const g = b.x25519Generate();
    if (!equalBytes(b.x25519PublicKey(g.secretKey), g.publicKey)) return false;
    if (!equalBytes(b.x25519Shared(g.secretKey, aPub), b.x25519Shared(a, g.publicKey))) {
      return false;
    }
  }
  // RFC 8032 §7.1, test 1 (empty message).
  const seed = fromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  const pub = fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  const sig = fromHex(
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
  const empty = new Uint8Array(0);
  if (!equalBytes(b.ed25519Sign(seed, empty), sig) || !b.ed25519Verify(sig, empty, pub)) {
    return false;
  }
  if (b.ed25519PublicKey && !equalBytes(b.ed25519PublicKey(seed.slice()), pub)) return false;
  const bad = sig.slice();
  bad[0]! ^= 1;
  if (b.ed25519Verify(bad, empty, pub)) return false;
  // S + L (non-canonical) must fail, as the portable path fails it.
  const plusL = sig.slice();
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const v = plusL[32 + i]! + L[i]! + carry;
    plusL[32 + i] = v & 0xff;
    carry = v >> 8;
  }
  return !b.ed25519Verify(plusL, empty, pub);
}

/**
 * Installs the node:crypto X25519/Ed25519 backend when this runtime has it and it
 * passes the known-answer tests; returns its name, or undefined (portable path kept).
 *
 * @example
 * ```ts
 * import { registerNativeCurves } from "./native_curves.ts";
 * console.log(registerNativeCurves()); // "node:crypto" on Node, Deno and Bun today
 * ```
 */
export function registerNativeCurves(): string | undefined {
  try {
    if (!selfTest(NODE_CURVE25519)) return undefined;
  } catch {
    return undefined;
  }
  registerCurve25519Backend(NODE_CURVE25519);
  return NODE_CURVE25519.name;
}
