import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter, utf8 } from "../wire.ts";
import { modPow } from "./bigint.ts";
import { encodePublicKeyBlob, parsePublicKeyBlob } from "./blob.ts";
import { signData } from "./sign.ts";
import { verifySignature } from "./verify.ts";
import { unhex } from "./_test_util.ts";
import type { DsaKeyMaterial } from "./types.ts";
import { LocalProtocolError } from "../errors.ts";

// RFC 6979 A.2.1: DSA, 1024-bit p, 160-bit q, SHA-1 (the only hash ssh-dss uses).
const p = BigInt(
  "0x86F5CA03DCFEB225063FF830A0C769B9DD9D6153AD91D7CE27F787C43278B447E6533B86B18BED6E8A48B784A14C252C5BE0DBF60B86D6385BD2F12FB763ED8873ABFD3F5BA2E0A8C0A59082EAC056935E529DAF7C610467899C77ADEDFC846C881870B7B19B2B58F9BE0521A17002E3BDD6B86685EE90B3D9A1B02B782B1779",
);
const q = BigInt("0x996F967F6C8E388D9E28D01E205FBA957A5698B1");
const g = BigInt(
  "0x07B0F92546150B62514BB771E2A0C0CE387F03BDA6C56B505209FF25FD3C133D89BBCD97E904E09114D9A7DEFDEADFC9078EA544D2E401AEECC40BB9FBBF78FD87995A10A1C27CB7789B594BA7EFB5C4326A9FE59A070E136DB77175464ADCA417BE5DCE2F40D10A46A3A3943F26AB7FD9C0398FF8C76EE0A56826A8A88F1DBD",
);
const x = BigInt("0x411602CB19A6CCC34494D79D98EF1E7ED5AF25F7");
const KEY: DsaKeyMaterial = { type: "dsa", p, q, g, y: modPow(g, x, p) };
const VECTORS = [
  {
    msg: "sample",
    r: "2E1A0C2562B2912CAAF89186FB0F42001585DA55",
    s: "29EFB6B0AFF2D7A68EB70CA313022253B9A88DF5",
  },
  {
    msg: "test",
    r: "42AB2052FD43E123F0607F115052A67DCD9C5C77",
    s: "183916B0230D45B9931491D4C6B0BD2FB4AAF088",
  },
];

function dssBlob(r: string, s: string): Uint8Array {
  return new SSHWriter().writeStringUtf8("ssh-dss").writeString(unhex(r + s)).toBytes();
}

test("verifySignature() accepts the RFC 6979 DSA/SHA-1 vectors when ssh-dss is allowed", () => {
  for (const v of VECTORS) {
    const blob = dssBlob(v.r, v.s);
    assert.equal(verifySignature(KEY, blob, utf8(v.msg), { allowedAlgorithms: ["ssh-dss"] }), true);
    // Off by default: ssh-dss is insecure.
    assert.equal(verifySignature(KEY, blob, utf8(v.msg)), false);
  }
});

test("verifySignature() rejects tampered and out-of-range DSA signatures", () => {
  const opts = { allowedAlgorithms: ["ssh-dss"] };
  const v = VECTORS[0]!;
  assert.equal(verifySignature(KEY, dssBlob(v.r, v.s), utf8("samplf"), opts), false);
  assert.equal(verifySignature(KEY, dssBlob(v.s, v.r), utf8(v.msg), opts), false);
  const qHex = q.toString(16).padStart(40, "0");
  assert.equal(verifySignature(KEY, dssBlob(qHex, v.s), utf8(v.msg), opts), false);
  assert.equal(verifySignature(KEY, dssBlob("00".repeat(20), v.s), utf8(v.msg), opts), false);
  const short = new SSHWriter().writeStringUtf8("ssh-dss").writeString(unhex(v.r)).toBytes();
  assert.equal(verifySignature(KEY, short, utf8(v.msg), opts), false);
});

test("parsePublicKeyBlob() round-trips an ssh-dss key", () => {
  const blob = encodePublicKeyBlob(KEY);
  const { algorithm, key } = parsePublicKeyBlob(blob);
  assert.equal(algorithm, "ssh-dss");
  assert.deepEqual(key, KEY);
});

test("signData() refuses DSA keys: they are verify-only", () => {
  assert.throws(
    () => signData({ ...KEY, x }, "ssh-dss", utf8("x")),
    (e: unknown) => e instanceof LocalProtocolError,
  );
});
