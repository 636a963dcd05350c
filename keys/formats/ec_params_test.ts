/**
 * EC keys whose curve is spelt out (`openssl ec -param_enc explicit`) import when the
 * parameters are exactly those of a named curve, in SEC1, SPKI and PKCS#8; other curves are
 * refused with a KeyImportError that says so.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { p256, p384 } from "@noble/curves/nist.js";
import { bigIntToBytes } from "../../core/wire.ts";
import {
  derBitString,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
} from "./asn1.ts";
import { parseSec1PrivateKey } from "./sec1.ts";
import { parseSpki } from "./spki.ts";
import { parsePkcs8PrivateKey } from "./pkcs8.ts";
import { OID_EC_PUBLIC_KEY } from "../_oids.ts";
import { KeyImportError } from "../errors.ts";

type Curve = typeof p256;

/** RFC 3279 ECParameters for `curve`, with `tweak` applied to b (0: the real curve). */
function explicitParams(curve: Curve, size: number, tweak = 0n, seed = false): Uint8Array {
  const c = curve.Point.CURVE();
  return derSequence(
    derInteger(1),
    derSequence(derOid("1.2.840.10045.1.1"), derInteger(c.p)),
    derSequence(
      derOctetString(bigIntToBytes(c.a, size)),
      derOctetString(bigIntToBytes(c.b + tweak, size)),
      ...(seed ? [derBitString(new Uint8Array(20).fill(9))] : []),
    ),
    derOctetString(curve.Point.BASE.toBytes(false)),
    derInteger(c.n),
    derInteger(c.h),
  );
}

function sec1(curve: Curve, params: Uint8Array, secret: Uint8Array): Uint8Array {
  return derSequence(
    derInteger(1),
    derOctetString(secret),
    derExplicit(0, params),
    derExplicit(1, derBitString(curve.getPublicKey(secret, false))),
  );
}

test("explicit parameters of P-256 and P-384 import in SEC1, SPKI and PKCS#8", () => {
  for (const [curve, size, name] of [[p256, 32, "nistp256"], [p384, 48, "nistp384"]] as const) {
    const secret = curve.utils.randomSecretKey();
    const pub = curve.getPublicKey(secret, false);
    for (const seed of [false, true]) {
      const params = explicitParams(curve, size, 0n, seed);
      const k = parseSec1PrivateKey(sec1(curve, params, secret));
      assert.equal(k.curve, name);
      assert.deepEqual(k.publicKey, pub);
      const spki = derSequence(derSequence(derOid(OID_EC_PUBLIC_KEY), params), derBitString(pub));
      const p = parseSpki(spki);
      assert.ok(p.type === "ecdsa" && p.curve === name);
      const pkcs8 = derSequence(
        derInteger(0),
        derSequence(derOid(OID_EC_PUBLIC_KEY), params),
        derOctetString(derSequence(derInteger(1), derOctetString(secret))),
      );
      const q = parsePkcs8PrivateKey(pkcs8);
      assert.ok(q.type === "ecdsa" && q.curve === name);
    }
  }
});

test("explicit parameters of another curve are refused with a KeyImportError", () => {
  const secret = p256.utils.randomSecretKey();
  const other = explicitParams(p256, 32, 1n); // b changed: not P-256
  assert.throws(
    () => parseSec1PrivateKey(sec1(p256, other, secret)),
    (e) => e instanceof KeyImportError && /not those of P-256, P-384 or P-521/.test(e.message),
  );
  // A different base point on P-256 itself is another curve as far as a key is concerned.
  const c = p256.Point.CURVE();
  const otherBase = derSequence(
    derInteger(1),
    derSequence(derOid("1.2.840.10045.1.1"), derInteger(c.p)),
    derSequence(derOctetString(bigIntToBytes(c.a, 32)), derOctetString(bigIntToBytes(c.b, 32))),
    derOctetString(p256.Point.BASE.double().toBytes(false)),
    derInteger(c.n),
  );
  assert.throws(() => parseSec1PrivateKey(sec1(p256, otherBase, secret)), KeyImportError);
  // Garbage where the parameters go.
  assert.throws(
    () => parseSec1PrivateKey(sec1(p256, derInteger(5), secret)),
    KeyImportError,
  );
});
