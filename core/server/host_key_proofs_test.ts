import { test } from "node:test";
import assert from "node:assert/strict";
import { nodeRsaKey } from "../publickey/_test_util.ts";
import { encodePublicKeyBlob } from "../publickey/mod.ts";
import { verifySignature } from "../publickey/verify.ts";
import { ed25519Key, hostKeyMap } from "../testing/fixtures.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import {
  encodeHostKeysAnnouncement,
  HOSTKEYS_PROVE_REQUEST,
  proveHostKeys,
} from "./host_key_proofs.ts";

const rsa = nodeRsaKey(2048).material;
const ed = ed25519Key(5);
const signers = hostKeyMap([ed, rsa]);
const sessionId = new Uint8Array(32).fill(7);

function request(...keys: Uint8Array[]): Uint8Array {
  const w = new SSHWriter();
  for (const k of keys) w.writeString(k);
  return w.toBytes();
}

function proofData(blob: Uint8Array): Uint8Array {
  return new SSHWriter().writeStringUtf8(HOSTKEYS_PROVE_REQUEST).writeString(sessionId)
    .writeString(blob).toBytes();
}

test("encodeHostKeysAnnouncement() lists each key once though it serves several algorithms", () => {
  const r = new SSHReader(encodeHostKeysAnnouncement(signers));
  const blobs = [];
  while (r.remaining) blobs.push(r.readString("key"));
  assert.deepEqual(blobs, [encodePublicKeyBlob(ed), encodePublicKeyBlob(rsa)]);
});

test("proveHostKeys() signs each key, RSA with the kex algorithm or else rsa-sha2-512", () => {
  const rsaBlob = encodePublicKeyBlob(rsa);
  const edBlob = encodePublicKeyBlob(ed);
  for (
    const [kexAlg, rsaAlg] of [["ssh-ed25519", "rsa-sha2-512"], [
      "rsa-sha2-256",
      "rsa-sha2-256",
    ]] as const
  ) {
    const reply = proveHostKeys(signers, request(edBlob, rsaBlob), sessionId, kexAlg);
    assert.ok(reply);
    const r = new SSHReader(reply);
    const edSig = r.readString("sig");
    const rsaSig = r.readString("sig");
    assert.equal(r.remaining, 0);
    assert.ok(verifySignature(ed, edSig, proofData(edBlob)));
    assert.ok(
      verifySignature(rsa, rsaSig, proofData(rsaBlob), { allowedAlgorithms: [rsaAlg] }),
      `RSA proof with ${rsaAlg} after ${kexAlg}`,
    );
  }
});

test("proveHostKeys() refuses unknown keys and malformed requests", () => {
  const stranger = encodePublicKeyBlob(ed25519Key(6));
  assert.equal(proveHostKeys(signers, request(stranger), sessionId, undefined), undefined);
  // One of our keys named twice: refused, not signed twice.
  const twice = encodePublicKeyBlob(ed);
  assert.equal(proveHostKeys(signers, request(twice, twice), sessionId, undefined), undefined);
  assert.equal(proveHostKeys(signers, new Uint8Array([0, 0, 1]), sessionId, undefined), undefined);
  const many = request(...Array.from({ length: 65 }, () => encodePublicKeyBlob(ed)));
  assert.equal(proveHostKeys(signers, many, sessionId, undefined), undefined);
});
