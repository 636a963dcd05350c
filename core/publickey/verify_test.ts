import { test } from "node:test";
import assert from "node:assert/strict";
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { SSHReader, SSHWriter, utf8 } from "../wire.ts";
import { parsePublicKeyBlob } from "./blob.ts";
import { ecdsaSignSsh } from "./ecdsa.ts";
import { skSignedMessage, verifySignature, verifySkSignature } from "./verify.ts";
import type { KeyMaterial, SkKeyMaterial } from "./types.ts";

// Signatures made by OpenSSH itself: regress/unittests/sshsig/testdata/*.sig from
// openssh-portable (BSD licence), over the file "signed-data" in namespace "unittest".
// Each SSHSIG blob carries the public key blob and the SSH signature blob.
const SSHSIG: Record<string, string> = {
  rsa: [
    "U1NIU0lHAAAAAQAAAZcAAAAHc3NoLXJzYQAAAAMBAAEAAAGBAN/OpZo0R7Saco/Owa0vrL",
    "DJrb3P9UjzdIF0z7PY2dYWAKvfD3Gt/0WFTOB2krugjs7UCdmZ2Q903v13gZyFNpn7r0BJ",
    "fg4sIrBnjYJVckQou+/O3zxRX3Mc2Xw2uxAdqmPEt6GkhmSvEKs7hsJhgCJo5UF8+ifhwn",
    "f3g/+fBqAkkoqyBAhVggLfrjazgvxJoAM7G33H2iG21cwONLZYFN4TtieNpHXc/AorA07Q",
    "ykAARXDmkGcnEn5+xwz/loFy11wVCPcFTNU4n9X/vTF9PMSLLwrxs6O8i4G20xS0hq+UpA",
    "PrTq2LqAO1fH4HtInf96Z1bRtVItyO73o3gMH9B2arRXgRJzsJCCRZmXjLRXjlX/uJIuId",
    "aw6gL0rHDbzLS6ejl6WwAEwEwLhFhJCEAZda54JxHtIgvYlPYrSjFuqieBbSG+AAh9RKFN",
    "cfL6qxXnINob6n5OQmQSSG1dvCRbho2nNzsQWdexam/JY6JlIq9RqxE9s+ujTIG+U4ww+w",
    "VQAAAAh1bml0dGVzdAAAAAAAAAAGc2hhNTEyAAABlAAAAAxyc2Etc2hhMi01MTIAAAGACi",
    "nEpBrQxZi0yOrrT6h98JFfZh0XXioih4fzmvtoV0yOReWClS+otGgXoJyZHcbaKNOjDwSM",
    "rIkUoX6OUJmtHYP0HRELnKw35m33LdBPXpFGS4tRS7NeSpvc04KtjT6jYXY9FjWy5hcn17",
    "Sxc/3DnJqLgJBur8acY7FeIzpWmKixPd/dGkEjdWoD9gO6szLczGuQgrOdYmSRL4yKadTJ",
    "lVjz5OSeKSYYGQy33US2XQassRRNYf4e9byTA3DKvHa/OcTt7lFerea0kZdDpAboqffz7T",
    "Yaw/hFskAYLIEdTW3aoXBGHSOvu8AkDOtb7qwuxGSQ27pjkDLDNsp1ceCFaCaQ6X83RZuK",
    "ACv9JUBI5KaSf81e0bs0KezJKkhB9czeZ6dk96qISbgayEBnvhYgXvUDKtHn7HzNlCJKfK",
    "5ABhNxfGG2CD+NKqcrndwFgS1sQO3hbA84zPQb26ShBovT8ytHBmW1F8ZK4O9Bz61Q6EZK",
    "vs/u6xP6LUean/so5daa",
  ].join(""),
  ecdsa: [
    "U1NIU0lHAAAAAQAAAGgAAAATZWNkc2Etc2hhMi1uaXN0cDI1NgAAAAhuaXN0cDI1NgAAAE",
    "EE3sud88FV0N8FPspZSV7LWqj6uPPLRZiSsenNuEYAteWPyDgrZsWbLzXBuUJucepaCNuW",
    "/QWgHBRbrjWj3ERm3AAAAAh1bml0dGVzdAAAAAAAAAAGc2hhNTEyAAAAZQAAABNlY2RzYS",
    "1zaGEyLW5pc3RwMjU2AAAASgAAACEAycVNsTlE+XEZYyYiDxWZlliruf/pPMhEEMR/XLdQ",
    "a4MAAAAhALQt+5gES7L3uKGptHB6UZQMuZ2WyI0C6FJs4v6AtMIU",
  ].join(""),
  ed25519: [
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgiWLNIg3cNBXvxU82NW+/COB/4/",
    "keps9gJi7cE4x2MAQAAAAIdW5pdHRlc3QAAAAAAAAABnNoYTUxMgAAAFMAAAALc3NoLWVk",
    "MjU1MTkAAABAihQsbUzuNEFflk5Tw1+H9aLS7tZQk0RG8KW1DtOmDYYnWe3D3UKiG3fcJa",
    "DNg4vBWp1j1gLRiBMOF+gwYNegDg==",
  ].join(""),
  ecdsa_sk: [
    "U1NIU0lHAAAAAQAAAH8AAAAic2stZWNkc2Etc2hhMi1uaXN0cDI1NkBvcGVuc3NoLmNvbQ",
    "AAAAhuaXN0cDI1NgAAAEEEoNVrmNFxPlXsTrKybBWLsclaHunkP6F5ss9qRBymcPZqMlno",
    "b/hbO6GVhadyVZjrcmykOnb31GWGrkBPzr+DwAAAAARzc2g6AAAACHVuaXR0ZXN0AAAAAA",
    "AAAAZzaGE1MTIAAAB3AAAAInNrLWVjZHNhLXNoYTItbmlzdHAyNTZAb3BlbnNzaC5jb20A",
    "AABIAAAAIHohGwyy8iKT3zwd1TYA9V/Ioo7h/3zCJUtyq/Qigt/HAAAAIGzidTwq7D/kFa",
    "7Xjcp/KkdbIs4MfQpfAW/0OciajlpzARI0Vng=",
  ].join(""),
  ed25519_sk: [
    "U1NIU0lHAAAAAQAAAEoAAAAac2stc3NoLWVkMjU1MTlAb3BlbnNzaC5jb20AAAAgmxoNhd",
    "Biu5zpuKUJgMgrhhI54b7OatE7Yz23Tf//sscAAAAEc3NoOgAAAAh1bml0dGVzdAAAAAAA",
    "AAAGc2hhNTEyAAAAZwAAABpzay1zc2gtZWQyNTUxOUBvcGVuc3NoLmNvbQAAAEAi+7eTjW",
    "/+LQ2M+sCD+KFtH1n7VFFJon/SZFsxODyV8cWTlFKj617Ys1Ur5TV6uaEXQhck8rBA2oQI",
    "HTPANLIPARI0Vng=",
  ].join(""),
};
const SIGNED_DATA = utf8("This is a test, this is only a test");

/** Unpacks an SSHSIG blob and rebuilds the data that was signed (PROTOCOL.sshsig). */
function unpackSshsig(
  b64: string,
): { publicKey: Uint8Array; signature: Uint8Array; signed: Uint8Array } {
  const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const r = new SSHReader(raw);
  assert.equal(new TextDecoder().decode(r.readBytes(6)), "SSHSIG");
  assert.equal(r.readUint32(), 1);
  const publicKey = r.readString();
  const namespace = r.readString();
  const reserved = r.readString();
  const hashAlg = r.readStringAscii();
  const signature = r.readString();
  r.assertEnd();
  assert.equal(hashAlg, "sha512");
  const signed = new SSHWriter().writeBytes(utf8("SSHSIG")).writeString(namespace).writeString(
    reserved,
  )
    .writeStringUtf8(hashAlg).writeString(sha512(SIGNED_DATA)).toBytes();
  return { publicKey, signature, signed };
}

test("verifySignature() accepts signatures made by OpenSSH for every key type", () => {
  for (const [name, b64] of Object.entries(SSHSIG)) {
    const { publicKey, signature, signed } = unpackSshsig(b64);
    const { key } = parsePublicKeyBlob(publicKey);
    assert.equal(verifySignature(key, signature, signed), true, name);
    const tampered = signed.slice();
    tampered[tampered.length - 1]! ^= 1;
    assert.equal(verifySignature(key, signature, tampered), false, name);
  }
});

test("verifySkSignature() returns the flags and counter of OpenSSH's sk signatures", () => {
  for (const name of ["ecdsa_sk", "ed25519_sk"]) {
    const { publicKey, signature, signed } = unpackSshsig(SSHSIG[name]!);
    const { key } = parsePublicKeyBlob(publicKey);
    const result = verifySkSignature(key as SkKeyMaterial, signature, signed);
    assert.deepEqual(
      result.valid && [result.flags, result.counter, result.userPresent, result.userVerified],
      [0x01, 0x12345678, true, false],
      name,
    );
  }
});

/** Simulates a FIDO authenticator: signs the PROTOCOL.u2f message. */
function skSign(
  type: "sk-ed25519" | "sk-ecdsa",
  secret: Uint8Array,
  application: string,
  flags: number,
  counter: number,
  data: Uint8Array,
): Uint8Array {
  const message = skSignedMessage(application, flags, counter, data);
  const algorithm = type === "sk-ed25519"
    ? "sk-ssh-ed25519@openssh.com"
    : "sk-ecdsa-sha2-nistp256@openssh.com";
  const inner = type === "sk-ed25519"
    ? ed25519.sign(message, secret)
    : ecdsaSignSsh("nistp256", secret, message);
  return new SSHWriter().writeStringUtf8(algorithm).writeString(inner).writeByte(flags).writeUint32(
    counter,
  )
    .toBytes();
}

test("verifySkSignature() checks application, flags and counter are covered by the signature", () => {
  const secret = seededRandom(4)(32);
  const keys: [SkKeyMaterial, "sk-ed25519" | "sk-ecdsa"][] = [
    [
      { type: "sk-ed25519", publicKey: ed25519.getPublicKey(secret), application: "ssh:" },
      "sk-ed25519",
    ],
    [
      { type: "sk-ecdsa", publicKey: p256.getPublicKey(secret, false), application: "ssh:" },
      "sk-ecdsa",
    ],
  ];
  const data = utf8("session id and userauth request");
  for (const [key, type] of keys) {
    const blob = skSign(type, secret, "ssh:", 0x05, 42, data);
    const ok = verifySkSignature(key, blob, data);
    assert.ok(ok.valid && ok.userPresent && ok.userVerified && ok.counter === 42, type);
    assert.equal(verifySignature(key, blob, data), true);
    // Flags and counter are signed: changing either breaks the signature.
    const flagged = blob.slice();
    flagged[flagged.length - 5] = 0x01;
    assert.equal(verifySkSignature(key, flagged, data).valid, false);
    const counted = blob.slice();
    counted[counted.length - 1] = 43;
    assert.equal(verifySkSignature(key, counted, data).valid, false);
    // Another relying party's signature does not verify for this key.
    assert.equal(
      verifySkSignature(key, skSign(type, secret, "ssh:other", 1, 1, data), data).valid,
      false,
    );
    // Missing trailer, extra trailer.
    assert.equal(verifySkSignature(key, blob.subarray(0, blob.length - 1), data).valid, false);
    assert.equal(verifySkSignature(key, new Uint8Array([...blob, 0]), data).valid, false);
  }
});

test("verifySignature() enforces the key/algorithm match and allowedAlgorithms", () => {
  const { publicKey, signature, signed } = unpackSshsig(SSHSIG.ed25519!);
  const { key } = parsePublicKeyBlob(publicKey);
  assert.equal(
    verifySignature(key, signature, signed, { allowedAlgorithms: ["ssh-ed25519"] }),
    true,
  );
  assert.equal(
    verifySignature(key, signature, signed, { allowedAlgorithms: ["rsa-sha2-256"] }),
    false,
  );
  assert.equal(verifySignature(key, signature, signed, { allowedAlgorithms: [] }), false);
  // The rsa signature does not verify under the ed25519 key (algorithm mismatch).
  const rsa = unpackSshsig(SSHSIG.rsa!);
  assert.equal(verifySignature(key, rsa.signature, rsa.signed), false);
});

test("verifySignature() never throws on malformed signature blobs (fuzz)", () => {
  const rnd = seededRandom(fuzzSeed(77));
  const keys: KeyMaterial[] = Object.values(SSHSIG).map((b) =>
    parsePublicKeyBlob(unpackSshsig(b).publicKey).key
  );
  const sigs = Object.values(SSHSIG).map((b) => unpackSshsig(b).signature);
  let checked = 0;
  const runs = fuzzRuns(400);
  for (let i = 0; i < runs; i++) {
    const base = sigs[i % sigs.length]!;
    const key = keys[(i * 7) % keys.length]!;
    const mutated = base.slice(0, rnd(1)[0]! % (base.length + 1));
    const flips = rnd(1)[0]! % 4;
    for (let f = 0; f < flips && mutated.length > 0; f++) {
      const at = (rnd(2)[0]! << 8 | rnd(1)[0]!) % mutated.length;
      mutated[at] = rnd(1)[0]!;
    }
    assert.equal(typeof verifySignature(key, mutated, SIGNED_DATA), "boolean");
    if (key.type === "sk-ed25519" || key.type === "sk-ecdsa") {
      assert.equal(typeof verifySkSignature(key, mutated, SIGNED_DATA).valid, "boolean");
    }
    checked++;
  }
  assert.equal(checked, runs);
  // Hostile lengths.
  for (
    const blob of [
      new Uint8Array(0),
      new Uint8Array([0xff, 0xff, 0xff, 0xff]),
      new Uint8Array(20000),
    ]
  ) {
    for (const key of keys) assert.equal(verifySignature(key, blob, SIGNED_DATA), false);
  }
});

test("skSignedMessage() lays out sha256(app) || flags || counter || sha256(data)", () => {
  const m = skSignedMessage("ssh:", 0x01, 0x01020304, utf8("d"));
  assert.deepEqual(m.subarray(0, 32), sha256(utf8("ssh:")));
  assert.deepEqual(Array.from(m.subarray(32, 37)), [1, 1, 2, 3, 4]);
  assert.deepEqual(m.subarray(37), sha256(utf8("d")));
});
