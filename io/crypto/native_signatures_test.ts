/** node:crypto's RSA and ECDSA agree with the portable ones, and are used only where they may be. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ECDSA_CURVES, ecdsaSignSsh, ecdsaVerifySsh } from "../../core/publickey/ecdsa.ts";
import { rsaSignPkcs1v15, rsaVerifyPkcs1v15 } from "../../core/publickey/rsa.ts";
import { signData } from "../../core/publickey/sign.ts";
import { verifySignature } from "../../core/publickey/verify.ts";
import {
  registerSignatureBackend,
  signatureBackend,
} from "../../core/publickey/signature_backend.ts";
import type { EcdsaCurveName, RsaKeyMaterial } from "../../core/publickey/types.ts";
import { seededRandom, systemRandom } from "../../core/random.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { CURVES, publicFromScalar } from "../../keys/_curves.ts";
import { SSHKey } from "../../keys/ssh_key.ts";
import { bigIntToBytes, SSHReader, SSHWriter } from "../../core/wire.ts";
import {
  checkedOnFirstUse,
  installNativeSignatures,
  NODE_SIGNATURE_PRIMITIVES,
  NODE_SIGNATURES,
  registerNativeSignatures,
} from "./native_signatures.ts";
import { currentRuntime } from "../runtime/env.ts";

/** Runs `body` with the backend given (null: portable), restoring whatever was there. */
function using<T>(backend: typeof NODE_SIGNATURES | null, body: () => T): T {
  const before = signatureBackend();
  try {
    registerSignatureBackend(backend);
    return body();
  } finally {
    registerSignatureBackend(before);
  }
}

test("native signatures: registered on this runtime after the known-answer tests", () => {
  const before = signatureBackend();
  try {
    registerSignatureBackend(null);
    assert.equal(registerNativeSignatures(), "node:crypto");
    assert.equal(signatureBackend()?.name, "node:crypto");
  } finally {
    registerSignatureBackend(before);
  }
});

test("native signatures: installed unchecked, each family checked on first use, same answers", () => {
  const before = signatureBackend();
  try {
    registerSignatureBackend(null);
    installNativeSignatures();
    const b = signatureBackend()!;
    assert.equal(b.name, "node:crypto");
    const data = new TextEncoder().encode("checked on first use");
    const rsa = generatePrivateKey("rsa", { keySize: 2048 }).material as RsaKeyMaterial;
    const native = b.rsaSign(rsa, "sha256", data);
    assert.equal(native !== undefined, currentRuntime() !== "deno", "RSA native where routed");
    if (native !== undefined) {
      assert.deepEqual(native, rsaSignPkcs1v15(rsa, "sha256", data));
      assert.equal(b.rsaVerify(rsa.n, rsa.e, "sha256", data, native), true);
    }
    const d = ECDSA_CURVES.nistp256.curve.utils.randomSecretKey();
    const q = ECDSA_CURVES.nistp256.curve.getPublicKey(d, false);
    const sig = NODE_SIGNATURE_PRIMITIVES.ecdsaSign("nistp256", d, q, data)!;
    assert.equal(b.ecdsaVerify("nistp256", q, sig, data), true, "ECDSA verification native");
    const bad = sig.slice();
    bad[3]! ^= 1;
    assert.equal(b.ecdsaVerify("nistp256", q, bad, data), false);
  } finally {
    registerSignatureBackend(before);
  }
});

test("native signatures checked on first use: nothing before, once per family, a failing family portable", () => {
  const calls = { rsaSign: 0, rsaVerify: 0, ecdsaVerify: 0, ecdsaSign: 0 };
  const p = NODE_SIGNATURE_PRIMITIVES;
  // RSA signs wrongly (its known answer must fail); ECDSA is the real thing.
  const primitives = {
    ...p,
    rsaSign: () => (calls.rsaSign++, new Uint8Array(128)),
    rsaVerify: (...a: Parameters<typeof p.rsaVerify>) => (calls.rsaVerify++, p.rsaVerify(...a)),
    ecdsaSign: (...a: Parameters<typeof p.ecdsaSign>) => (calls.ecdsaSign++, p.ecdsaSign(...a)),
    ecdsaVerify: (
      ...a: Parameters<typeof p.ecdsaVerify>
    ) => (calls.ecdsaVerify++, p.ecdsaVerify(...a)),
  };
  const routes = {
    rsa: true,
    ecdsaSign: ["nistp256" as const],
    ecdsaVerify: ["nistp256" as const],
    ecdsaPublicKey: [],
  };
  const b = checkedOnFirstUse(primitives, routes);
  assert.deepEqual(calls, { rsaSign: 0, rsaVerify: 0, ecdsaVerify: 0, ecdsaSign: 0 }, "lazy");
  const rsa = RSA_KEYS[0]!;
  const data = new Uint8Array([7]);
  assert.equal(b.rsaSign(rsa, "sha256", data), undefined, "a failed family is portable");
  assert.equal(b.rsaVerify(rsa.n, rsa.e, "sha256", data, new Uint8Array(256)), undefined);
  assert.equal(calls.rsaSign, 1, "the known answer ran once, the failed primitive never again");
  assert.equal(calls.ecdsaVerify, 0, "ECDSA not checked by an RSA call");
  const d = ECDSA_CURVES.nistp256.curve.utils.randomSecretKey();
  const q = ECDSA_CURVES.nistp256.curve.getPublicKey(d, false);
  const sig = b.ecdsaSign("nistp256", d, q, data);
  assert.ok(sig !== undefined && sig.length === 64, "a passing family goes native");
  const afterCheck = { ...calls };
  assert.equal(b.ecdsaVerify("nistp256", q, sig, data), true);
  assert.equal(calls.ecdsaVerify, afterCheck.ecdsaVerify + 1, "checked once: one call, no check");
  // Not routed: undefined, and no check runs for it.
  const unrouted = checkedOnFirstUse(primitives, { ...routes, rsa: false, ecdsaSign: [] });
  const before = { ...calls };
  assert.equal(unrouted.rsaSign(rsa, "sha256", data), undefined);
  assert.equal(unrouted.ecdsaSign("nistp256", d, q, data), undefined);
  assert.deepEqual(calls, before);
});

const RSA_KEYS = [2048, 3072].map((bits) =>
  generatePrivateKey("rsa", { keySize: bits }).material as RsaKeyMaterial
);

test("native RSA: the same PKCS #1 v1.5 signatures as the portable path, verdicts alike", () => {
  const random = seededRandom(1);
  for (const key of RSA_KEYS) {
    for (const hash of ["sha1", "sha256", "sha512"] as const) {
      const data = random(1 + random(1)[0]!);
      const native = NODE_SIGNATURE_PRIMITIVES.rsaSign(key, hash, data)!;
      const portable = using(null, () => rsaSignPkcs1v15(key, hash, data));
      assert.deepEqual(native, portable, `${hash}: signatures are deterministic`);
      assert.equal(NODE_SIGNATURE_PRIMITIVES.rsaVerify(key.n, key.e, hash, data, portable), true);
      const bad = portable.slice();
      bad[bad.length - 1]! ^= 1;
      assert.equal(NODE_SIGNATURE_PRIMITIVES.rsaVerify(key.n, key.e, hash, data, bad), false);
      assert.equal(
        NODE_SIGNATURE_PRIMITIVES.rsaVerify(key.n, key.e, hash, random(8), portable),
        false,
      );
      // Through the core functions, with the backend installed: same results.
      using(NODE_SIGNATURE_PRIMITIVES, () => {
        assert.deepEqual(rsaSignPkcs1v15(key, hash, data), portable);
        assert.ok(rsaVerifyPkcs1v15(key.n, key.e, hash, data, portable));
        assert.ok(!rsaVerifyPkcs1v15(key.n, key.e, hash, data, bad));
      });
    }
  }
  // A key without its factors is the portable path's (node:crypto needs the CRT form).
  const k = RSA_KEYS[0]!;
  assert.equal(
    NODE_SIGNATURE_PRIMITIVES.rsaSign(
      { type: "rsa", n: k.n, e: k.e, d: k.d! },
      "sha256",
      new Uint8Array(1),
    ),
    undefined,
  );
});

const CURVE_NAMES: EcdsaCurveName[] = ["nistp256", "nistp384", "nistp521"];

test("native ECDSA: its signatures verify on the portable path and the other way round", () => {
  const random = seededRandom(2);
  for (const curve of CURVE_NAMES) {
    for (let i = 0; i < 4; i++) {
      const info = ECDSA_CURVES[curve];
      const d = info.curve.utils.randomSecretKey();
      const q = info.curve.getPublicKey(d, false);
      const data = random(40);
      assert.deepEqual(
        NODE_SIGNATURE_PRIMITIVES.ecdsaPublicKey(curve, d),
        q,
        `${curve}: the same point`,
      );
      const native = NODE_SIGNATURE_PRIMITIVES.ecdsaSign(curve, d, q, data)!;
      assert.equal(native.length, 2 * info.size);
      const nativeSsh = using(
        NODE_SIGNATURE_PRIMITIVES,
        () =>
          signData(
            { type: "ecdsa", curve, publicKey: q, privateKey: d },
            `ecdsa-sha2-${curve}`,
            data,
          ),
      );
      // The portable verifier accepts the native signature (as an SSH blob) and vice versa.
      const portableInner = using(null, () => ecdsaSignSsh(curve, d, data));
      assert.equal(
        NODE_SIGNATURE_PRIMITIVES.ecdsaVerify(curve, q, compact(curve, portableInner), data),
        true,
      );
      assert.ok(using(null, () => ecdsaVerifySsh(curve, q, toSsh(curve, native), data)));
      const bad = native.slice();
      bad[3]! ^= 1;
      assert.equal(NODE_SIGNATURE_PRIMITIVES.ecdsaVerify(curve, q, bad, data), false);
      assert.ok(
        using(NODE_SIGNATURE_PRIMITIVES, () => !ecdsaVerifySsh(curve, q, toSsh(curve, bad), data)),
      );
      // Not a point on the curve: the library refuses it, so the portable path answers (false).
      const off = q.slice();
      off[off.length - 1]! ^= 1;
      assert.notEqual(NODE_SIGNATURE_PRIMITIVES.ecdsaVerify(curve, off, native, data), true);
      assert.ok(
        using(
          NODE_SIGNATURE_PRIMITIVES,
          () => !ecdsaVerifySsh(curve, off, toSsh(curve, native), data),
        ),
      );
      assert.ok(
        using(
          NODE_SIGNATURE_PRIMITIVES,
          () => verifySignature({ type: "ecdsa", curve, publicKey: q }, nativeSsh, data),
        ),
      );
    }
  }
});

/** The native primitives, counting the ECDSA signatures asked of them. */
function countingEcdsaSigns() {
  let n = 0;
  const backend = {
    ...NODE_SIGNATURE_PRIMITIVES,
    ecdsaSign: (...a: Parameters<typeof NODE_SIGNATURE_PRIMITIVES.ecdsaSign>) => {
      n++;
      return NODE_SIGNATURE_PRIMITIVES.ecdsaSign(...a);
    },
  };
  return { backend, signs: () => n };
}

test("native ECDSA signs only for the system random source; a seeded one, or none, gets RFC 6979's signature", () => {
  const key = generatePrivateKey("ecdsa").material;
  const data = new Uint8Array([1, 2, 3]);
  const counting = countingEcdsaSigns();
  using(counting.backend, () => {
    const a = signData(key, "ecdsa-sha2-nistp256", data, seededRandom(1));
    const b = signData(key, "ecdsa-sha2-nistp256", data, seededRandom(2));
    assert.equal(counting.signs(), 0, "a seeded source: the portable path");
    assert.deepEqual(a, b, "deterministic");
    assert.deepEqual(a, using(null, () => signData(key, "ecdsa-sha2-nistp256", data)));
    const c = signData(key, "ecdsa-sha2-nistp256", data, systemRandom);
    assert.equal(counting.signs(), 1, "the system source: native");
    const d = signData(key, "ecdsa-sha2-nistp256", data);
    assert.equal(counting.signs(), 1, "no source: RFC 6979 on the portable path, as before");
    assert.deepEqual(d, a);
    assert.ok(verifySignature(key, c, data) && verifySignature(key, d, data));
  });
});

test("key imports check ECDSA keys with the native point, and still refuse a mismatched one", () => {
  using(NODE_SIGNATURE_PRIMITIVES, () => {
    for (const curve of CURVE_NAMES) {
      const d = ECDSA_CURVES[curve].curve.utils.randomSecretKey();
      assert.deepEqual(
        publicFromScalar(CURVES[curve], d),
        ECDSA_CURVES[curve].curve.getPublicKey(d, false),
      );
    }
    const key = generatePrivateKey("ecdsa");
    const other = generatePrivateKey("ecdsa");
    const m = key.material as {
      type: "ecdsa";
      curve: "nistp256";
      publicKey: Uint8Array;
      privateKey: Uint8Array;
    };
    assert.throws(
      () =>
        SSHKey.fromMaterial({
          ...m,
          publicKey: (other.material as { publicKey: Uint8Array }).publicKey,
        }),
      /does not match the private key/,
    );
  });
});

/** r ‖ s of an SSH inner ECDSA blob. */
function compact(curve: EcdsaCurveName, inner: Uint8Array): Uint8Array {
  const size = ECDSA_CURVES[curve].size;
  const r = new SSHReader(inner);
  const out = new Uint8Array(2 * size);
  out.set(bigIntToBytes(r.readMpint("r", size + 1), size), 0);
  out.set(bigIntToBytes(r.readMpint("s", size + 1), size), size);
  return out;
}

function toSsh(curve: EcdsaCurveName, c: Uint8Array): Uint8Array {
  const size = ECDSA_CURVES[curve].size;
  return new SSHWriter(2 * size + 10)
    .writeMpintMagnitude(c.subarray(0, size))
    .writeMpintMagnitude(c.subarray(size))
    .toBytes();
}

test("native RSA verification takes a signature whose leading zero bytes the signer dropped", () => {
  const key = RSA_KEYS[0]!;
  const k = Math.ceil(key.n.toString(16).length / 2);
  let data: Uint8Array = new Uint8Array(0), sig: Uint8Array = new Uint8Array(0);
  for (let i = 0; i < 4000; i++) {
    data = new TextEncoder().encode(`message ${i}`);
    sig = NODE_SIGNATURE_PRIMITIVES.rsaSign(key, "sha256", data)!;
    if (sig[0] === 0) break;
  }
  assert.equal(sig[0], 0, "a signature with a leading zero byte (1 in 256)");
  assert.equal(sig.length, k);
  const short = sig.subarray(1);
  using(
    NODE_SIGNATURE_PRIMITIVES,
    () => assert.ok(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, short)),
  );
  using(null, () => assert.ok(rsaVerifyPkcs1v15(key.n, key.e, "sha256", data, short)));
});

test("native signing never takes what the portable path refuses, and a reused key buffer is a new key", () => {
  using(NODE_SIGNATURE_PRIMITIVES, () => {
    const q = ECDSA_CURVES.nistp256.curve.getPublicKey(new Uint8Array(32).fill(1), false);
    // A zero scalar: the portable path's typed error, not a native signature with d = 0.
    // (The system random source: the native signer's turn.)
    const counting = countingEcdsaSigns();
    using(counting.backend, () => {
      assert.throws(
        () =>
          signData(
            { type: "ecdsa", curve: "nistp256", publicKey: q, privateKey: new Uint8Array(32) },
            "ecdsa-sha2-nistp256",
            new Uint8Array(3),
            systemRandom,
          ),
        /invalid private scalar/,
      );
      assert.equal(counting.signs(), 0, "a zero scalar never reaches the native signer");
      // One buffer, two keys in turn: each native signature verifies under its own key.
      const d = new Uint8Array(32).fill(2);
      const data = new Uint8Array([9]);
      for (const fill of [2, 3]) {
        d.fill(fill);
        const point = ECDSA_CURVES.nistp256.curve.getPublicKey(d, false);
        const key = {
          type: "ecdsa" as const,
          curve: "nistp256" as const,
          publicKey: point,
          privateKey: d,
        };
        const sig = signData(key, "ecdsa-sha2-nistp256", data, systemRandom);
        assert.ok(using(null, () => verifySignature(key, sig, data)), `key ${fill}`);
      }
      assert.equal(counting.signs(), 2);
    });
  });
});

test("native signatures are routed where they win on this runtime, the rest left to the portable path", () => {
  const key = RSA_KEYS[0]!;
  const data = new Uint8Array([1]);
  const rsa = NODE_SIGNATURES.rsaSign(key, "sha256", data);
  const d = ECDSA_CURVES.nistp256.curve.utils.randomSecretKey();
  const q = ECDSA_CURVES.nistp256.curve.getPublicKey(d, false);
  const sig = NODE_SIGNATURE_PRIMITIVES.ecdsaSign("nistp256", d, q, data)!;
  if (currentRuntime() === "deno") {
    // RustCrypto: only ECDSA verification is faster than the portable path.
    assert.equal(rsa, undefined);
    assert.equal(NODE_SIGNATURES.ecdsaSign("nistp256", d, q, data), undefined);
  } else {
    assert.ok(rsa && rsa.length === 256);
    // P-521 signing is not routed (no faster), though the primitive signs.
    const d521 = ECDSA_CURVES.nistp521.curve.utils.randomSecretKey();
    const q521 = ECDSA_CURVES.nistp521.curve.getPublicKey(d521, false);
    assert.ok(NODE_SIGNATURE_PRIMITIVES.ecdsaSign("nistp521", d521, q521, data));
    assert.equal(NODE_SIGNATURES.ecdsaSign("nistp521", d521, q521, data), undefined);
  }
  assert.equal(NODE_SIGNATURES.ecdsaVerify("nistp256", q, sig, data), true);
});
