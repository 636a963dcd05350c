/**
 * ecdh-sha2-nistp256/384/521 through `node:crypto`'s `createECDH`, behind the seam in
 * core/kex/ecdh.ts. The portable path multiplies points with `@noble/curves` in JavaScript:
 * 5 ms a side for P-256, 9 for P-384, 17 for P-521 here; node:crypto 0.3, 3 and 7 (Node), less
 * on Bun. Deno's node:crypto lacks P-521, which then stays portable.
 *
 * Points from the peer are validated by the core before they get here, as before.
 *
 * @module
 */

import { createECDH, type ECDH } from "node:crypto";
import { Buffer } from "node:buffer";
import { type EcdhBackend, registerEcdhBackend } from "../../core/kex/ecdh.ts";
import type { EcdsaCurveName } from "../../core/publickey/types.ts";

/** OpenSSL's names of the curves, and their sizes. */
const CURVES: Readonly<Record<EcdsaCurveName, { name: string; size: number }>> = {
  nistp256: { name: "prime256v1", size: 32 },
  nistp384: { name: "secp384r1", size: 48 },
  nistp521: { name: "secp521r1", size: 66 },
};

/** Curves that passed the checks on this runtime. */
const working = new Set<EcdsaCurveName>();

/** ECDH objects by the secret handed out for them. */
const contexts = new WeakMap<Uint8Array, ECDH>();

function view(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Left-pads to `size` bytes (libraries drop leading zero bytes of a scalar or coordinate). */
function padded(b: Uint8Array, size: number): Uint8Array | undefined {
  if (b.length > size) return undefined;
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

function generate(
  curve: EcdsaCurveName,
): { secret: Uint8Array; publicKey: Uint8Array } | undefined {
  const { name, size } = CURVES[curve];
  const ecdh = createECDH(name);
  const publicKey = view(ecdh.generateKeys()).slice();
  const secret = padded(view(ecdh.getPrivateKey()), size);
  if (secret === undefined || publicKey.length !== 1 + 2 * size || publicKey[0] !== 4) {
    return undefined;
  }
  contexts.set(secret, ecdh);
  return { secret, publicKey };
}

function shared(curve: EcdsaCurveName, secret: Uint8Array, peer: Uint8Array) {
  const ecdh = contexts.get(secret);
  if (ecdh === undefined) return undefined;
  return padded(
    view(ecdh.computeSecret(Buffer.from(peer.buffer, peer.byteOffset, peer.length))),
    CURVES[curve].size,
  );
}

/** The node:crypto backend: only the curves {@link registerNativeEcdh} found working. */
export const NODE_ECDH: EcdhBackend = Object.freeze({
  name: "node:crypto",
  generate: (curve: EcdsaCurveName) => (working.has(curve) ? generate(curve) : undefined),
  shared: (curve: EcdsaCurveName, secret: Uint8Array, peer: Uint8Array) =>
    working.has(curve) ? shared(curve, secret, peer) : undefined,
});

function equal(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length &&
    a.every((x, i) => x === b[i]);
}

/** Two fresh pairs agree, and a point off the curve is refused (tests compare with noble). */
function curveWorks(curve: EcdsaCurveName): boolean {
  const a = generate(curve), b = generate(curve);
  if (!a || !b) return false;
  const ab = shared(curve, a.secret, b.publicKey), ba = shared(curve, b.secret, a.publicKey);
  if (!equal(ab, ba) || ab!.length !== CURVES[curve].size) return false;
  const off = b.publicKey.slice();
  off[off.length - 1]! ^= 1;
  try {
    shared(curve, a.secret, off);
    return false;
  } catch {
    return true;
  }
}

/**
 * Installs node:crypto's ECDH for the curves this runtime has and that pass the checks;
 * returns the curves, or an empty list (portable path kept).
 *
 * @example
 * ```ts
 * import { registerNativeEcdh } from "./native_ecdh.ts";
 * console.log(registerNativeEcdh()); // ["nistp256", "nistp384", "nistp521"] on Node
 * ```
 */
export function registerNativeEcdh(): EcdsaCurveName[] {
  for (const curve of Object.keys(CURVES) as EcdsaCurveName[]) {
    try {
      if (curveWorks(curve)) working.add(curve);
    } catch { /* not on this runtime */ }
  }
  if (working.size > 0) registerEcdhBackend(NODE_ECDH);
  return [...working];
}
