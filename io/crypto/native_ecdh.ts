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
import { equalBytes } from "../../core/wire.ts";

/** OpenSSL's names of the curves, and their sizes. */
const CURVES: Readonly<Record<EcdsaCurveName, { name: string; size: number }>> = {
  nistp256: { name: "prime256v1", size: 32 },
  nistp384: { name: "secp384r1", size: 48 },
  nistp521: { name: "secp521r1", size: 66 },
};

/**
 * Each curve's verdict, checked on its first use: the checks cost 5–35 ms (P-521 most), and
 * most processes never negotiate an ecdh-sha2 method.
 */
const verdicts = new Map<EcdsaCurveName, boolean>();

function works(curve: EcdsaCurveName): boolean {
  let ok = verdicts.get(curve);
  if (ok === undefined) {
    try {
      ok = curveWorks(curve);
    } catch {
      ok = false; // not on this runtime
    }
    verdicts.set(curve, ok);
  }
  return ok;
}

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

/** The node:crypto backend: only for curves that pass the checks (on first use). */
export const NODE_ECDH: EcdhBackend = Object.freeze({
  name: "node:crypto",
  generate: (curve: EcdsaCurveName) => (works(curve) ? generate(curve) : undefined),
  shared: (curve: EcdsaCurveName, secret: Uint8Array, peer: Uint8Array) =>
    works(curve) ? shared(curve, secret, peer) : undefined,
});

/** Two fresh pairs agree, and a point off the curve is refused (tests compare with noble). */
function curveWorks(curve: EcdsaCurveName): boolean {
  const a = generate(curve), b = generate(curve);
  if (!a || !b) return false;
  const ab = shared(curve, a.secret, b.publicKey), ba = shared(curve, b.secret, a.publicKey);
  if (!ab || !ba || !equalBytes(ab, ba) || ab.length !== CURVES[curve].size) return false;
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
 * Installs node:crypto's ECDH; each curve is checked the first time an exchange needs it,
 * and stays portable if the check fails (Deno's node:crypto has no P-521).
 *
 * @example
 * ```ts
 * import { installNativeEcdh } from "./native_ecdh.ts";
 * installNativeEcdh(); // what connect() and listen() do
 * ```
 */
export function installNativeEcdh(): void {
  registerEcdhBackend(NODE_ECDH);
}

/**
 * Checks every curve now and installs node:crypto's ECDH when any passes; returns the curves
 * that did (tests and benches; connect() checks each curve on first use instead).
 *
 * @example
 * ```ts
 * import { registerNativeEcdh } from "./native_ecdh.ts";
 * console.log(registerNativeEcdh()); // ["nistp256", "nistp384", "nistp521"] on Node
 * ```
 */
export function registerNativeEcdh(): EcdsaCurveName[] {
  const working = (Object.keys(CURVES) as EcdsaCurveName[]).filter(works);
  if (working.length > 0) installNativeEcdh();
  return working;
}
