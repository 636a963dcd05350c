/** node:crypto's ECDH agrees with the portable one, and is used only where it may be. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ecdhAgreement, ecdhBackend, registerEcdhBackend } from "../../core/kex/ecdh.ts";
import { KexError } from "../../core/kex/errors.ts";
import { ECDSA_CURVES } from "../../core/publickey/ecdsa.ts";
import type { EcdsaCurveName } from "../../core/publickey/types.ts";
import { seededRandom, systemRandom } from "../../core/random.ts";
import { bytesToBigInt } from "../../core/wire.ts";
import { currentRuntime } from "../runtime/env.ts";
import { installNativeEcdh, NODE_ECDH, registerNativeEcdh } from "./native_ecdh.ts";

/** Deno's node:crypto has no P-521; Node and Bun have all three. */
const EXPECTED: EcdsaCurveName[] = currentRuntime() === "deno"
  ? ["nistp256", "nistp384"]
  : ["nistp256", "nistp384", "nistp521"];

function withBackend<T>(b: typeof NODE_ECDH | null, body: () => T): T {
  const before = ecdhBackend();
  try {
    registerEcdhBackend(b);
    return body();
  } finally {
    registerEcdhBackend(before);
  }
}

test("native ECDH: the curves this runtime has are registered after their checks", () => {
  withBackend(null, () => {
    assert.deepEqual(registerNativeEcdh(), EXPECTED);
    assert.equal(ecdhBackend()?.name, "node:crypto");
  });
});

test("native ECDH: the shared secret is the portable path's, either side native", () => {
  registerNativeEcdh();
  for (const curve of EXPECTED) {
    const info = ECDSA_CURVES[curve];
    for (let i = 0; i < 3; i++) {
      const n = NODE_ECDH.generate(curve)!;
      // The native secret is the real scalar: the portable multiplication gives its point.
      assert.deepEqual(
        info.curve.Point.BASE.multiply(bytesToBigInt(n.secret)).toBytes(false),
        n.publicKey,
      );
      // A native client against a portable server, and the reverse.
      const agreement = ecdhAgreement(curve);
      withBackend(NODE_ECDH, () => {
        const c = agreement.client(systemRandom);
        const s = withBackend(null, () => agreement.server(c.publicValue, seededRandom(i)));
        assert.deepEqual(c.finish(s.publicValue), s.sharedSecret);
        const pc = withBackend(null, () => agreement.client(seededRandom(i + 10)));
        const ns = agreement.server(pc.publicValue, systemRandom);
        assert.deepEqual(withBackend(null, () => pc.finish(ns.publicValue)), ns.sharedSecret);
      });
    }
  }
});

test("native ECDH: seeded sources stay portable (reproducible), bad points are a KexError", () => {
  registerNativeEcdh();
  withBackend(NODE_ECDH, () => {
    const a = ecdhAgreement("nistp256");
    assert.deepEqual(a.client(seededRandom(5)).publicValue, a.client(seededRandom(5)).publicValue);
    const c = a.client(systemRandom);
    const s = a.server(c.publicValue, systemRandom);
    const off = s.publicValue.slice();
    off[off.length - 1]! ^= 1;
    assert.throws(() => c.finish(off), KexError);
    assert.throws(() => c.finish(s.publicValue.subarray(1)), KexError);
  });
});

test("installNativeEcdh() installs without checking; a curve is checked on its first exchange", () => {
  withBackend(null, () => {
    installNativeEcdh();
    assert.equal(ecdhBackend(), NODE_ECDH);
    for (const curve of ["nistp256", "nistp384", "nistp521"] as const) {
      const a = ecdhAgreement(curve);
      const c = a.client(systemRandom);
      const s = withBackend(null, () => a.server(c.publicValue, seededRandom(3)));
      assert.deepEqual(c.finish(s.publicValue), s.sharedSecret, curve);
      // Where the runtime lacks the curve (Deno's P-521), the portable path took it.
      assert.equal(NODE_ECDH.generate(curve) !== undefined, EXPECTED.includes(curve), curve);
    }
  });
});
