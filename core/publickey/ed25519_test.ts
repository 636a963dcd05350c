import { test } from "node:test";
import assert from "node:assert/strict";
import { sign as nodeSign, verify as nodeVerify } from "node:crypto";
import { SSHReader, SSHWriter, utf8 } from "../wire.ts";
import { signData } from "./sign.ts";
import { verifySignature } from "./verify.ts";
import { hex, nodeEd25519Key, unhex } from "./_test_util.ts";
import type { Ed25519KeyMaterial } from "./types.ts";

// RFC 8032 §7.1, tests 1-3.
const RFC8032 = [
  {
    seed: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    pk: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    msg: "",
    sig:
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  },
  {
    seed: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
    pk: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    msg: "72",
    sig:
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
  },
  {
    seed: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
    pk: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
    msg: "af82",
    sig:
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
  },
];

function innerOf(blob: Uint8Array): Uint8Array {
  const r = new SSHReader(blob);
  assert.equal(r.readStringAscii(), "ssh-ed25519");
  const inner = r.readString();
  r.assertEnd();
  return inner;
}

function edBlob(sig: Uint8Array): Uint8Array {
  return new SSHWriter().writeStringUtf8("ssh-ed25519").writeString(sig).toBytes();
}

test("signData() reproduces the RFC 8032 Ed25519 vectors and verifySignature() accepts them", () => {
  for (const v of RFC8032) {
    const key: Ed25519KeyMaterial = {
      type: "ed25519",
      publicKey: unhex(v.pk),
      seed: unhex(v.seed),
    };
    const blob = signData(key, "ssh-ed25519", unhex(v.msg));
    assert.equal(hex(innerOf(blob)), v.sig);
    assert.equal(
      verifySignature({ type: "ed25519", publicKey: unhex(v.pk) }, blob, unhex(v.msg)),
      true,
    );
  }
});

test("verifySignature() and signData() interoperate with node:crypto Ed25519 both ways", () => {
  for (let i = 0; i < 3; i++) {
    const { material, publicKey, privateKey } = nodeEd25519Key();
    const data = utf8(`ed25519 interop ${i}`);
    const theirs = new Uint8Array(nodeSign(null, data, privateKey));
    assert.equal(verifySignature(material, edBlob(theirs), data), true);
    const ours = innerOf(signData(material, "ssh-ed25519", data));
    assert.equal(nodeVerify(null, data, publicKey, ours), true);
  }
});

test("verifySignature() rejects tampered, truncated and non-canonical Ed25519 signatures", () => {
  const v = RFC8032[2]!;
  const key: Ed25519KeyMaterial = { type: "ed25519", publicKey: unhex(v.pk) };
  const sig = unhex(v.sig);
  for (let pos = 0; pos < 64; pos += 5) {
    const bad = sig.slice();
    bad[pos]! ^= 0x20;
    assert.equal(verifySignature(key, edBlob(bad), unhex(v.msg)), false, `byte ${pos}`);
  }
  assert.equal(verifySignature(key, edBlob(sig.subarray(0, 63)), unhex(v.msg)), false);
  assert.equal(verifySignature(key, edBlob(sig), unhex("af83")), false);
  // S + L (the group order) is the same scalar but not canonical: RFC 8032 rejects it.
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
  let t = s + L;
  const mall = sig.slice();
  for (let i = 32; i < 64; i++) {
    mall[i] = Number(t & 0xffn);
    t >>= 8n;
  }
  assert.equal(verifySignature(key, edBlob(mall), unhex(v.msg)), false);
  // A wrong-length public key is an invalid signature, not an exception.
  assert.equal(
    verifySignature({ type: "ed25519", publicKey: new Uint8Array(31) }, edBlob(sig), unhex(v.msg)),
    false,
  );
});
