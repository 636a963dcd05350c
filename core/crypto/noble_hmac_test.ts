import { test } from "node:test";
import assert from "node:assert/strict";
import { hmacHashOf, NobleHmac } from "./noble_hmac.ts";
import { hex } from "./_test_util.ts";

const enc = new TextEncoder();

/** MAC of `data` alone: its first 4 bytes play the sequence number. */
function macOf(mac: NobleHmac, data: Uint8Array): string {
  const seq = new DataView(data.buffer, data.byteOffset).getUint32(0);
  const out = new Uint8Array(mac.length);
  mac.compute(seq, data, 4, data.length, out);
  return hex(out);
}

test("NobleHmac matches RFC 4231 cases 1–2 (SHA-256, SHA-512) and RFC 2202 (SHA-1)", () => {
  const k1 = new Uint8Array(20).fill(0x0b), d1 = enc.encode("Hi There");
  const k2 = enc.encode("Jefe"), d2 = enc.encode("what do ya want for nothing?");
  assert.equal(
    macOf(new NobleHmac("sha256", k1), d1),
    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
  );
  assert.equal(
    macOf(new NobleHmac("sha256", k2), d2),
    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
  );
  assert.equal(
    macOf(new NobleHmac("sha512", k1), d1),
    "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde" +
      "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854",
  );
  assert.equal(
    macOf(new NobleHmac("sha512", k2), d2),
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554" +
      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
  );
  assert.equal(macOf(new NobleHmac("sha1", k1), d1), "b617318655057264e28bc0b6fb378c8ef146be00");
  assert.equal(macOf(new NobleHmac("sha1", k2), d2), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
});

test("NobleHmac matches RFC 2202 (MD5) and RFC 4231 (SHA-224, SHA-384), as openssl dgst -hmac gives them", () => {
  const k1 = new Uint8Array(20).fill(0x0b), d1 = enc.encode("Hi There");
  const k2 = enc.encode("Jefe"), d2 = enc.encode("what do ya want for nothing?");
  // Values from `openssl dgst -<hash> -mac HMAC -macopt hexkey:0b..0b` / `-hmac Jefe`.
  assert.equal(macOf(new NobleHmac("md5", k1), d1), "5ccec34ea9656392457fa1ac27f08fbc");
  assert.equal(macOf(new NobleHmac("md5", k2), d2), "750c783e6ab0b503eaa86e310a5db738");
  assert.equal(
    macOf(new NobleHmac("sha224", k1), d1),
    "896fb1128abbdf196832107cd49df33f47b4b1169912ba4f53684b22",
  );
  assert.equal(
    macOf(new NobleHmac("sha224", k2), d2),
    "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44",
  );
  assert.equal(
    macOf(new NobleHmac("sha384", k1), d1),
    "afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59c" +
      "faea9ea9076ede7f4af152e8b2fa9cb6",
  );
  assert.equal(
    macOf(new NobleHmac("sha384", k2), d2),
    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e" +
      "8e2240ca5e69e2c78b3239ecfab21649",
  );
});

test("NobleHmac truncated to 12 bytes is the prefix of the full HMAC (the -96 MACs)", () => {
  const k = new Uint8Array(20).fill(0x0b), d = enc.encode("Hi There");
  const short = new NobleHmac("sha1", k, 12);
  assert.equal(short.length, 12);
  assert.equal(macOf(short, d), "b617318655057264e28bc0b6");
  assert.equal(macOf(new NobleHmac("md5", k.subarray(0, 16), 12), d).length, 24);
  assert.throws(() => new NobleHmac("sha256", k, 33), RangeError);
  assert.throws(() => new NobleHmac("sha256", k, 0), RangeError);
});

test("NobleHmac gives the same MAC when reused for many packets", () => {
  const mac = new NobleHmac("sha256", new Uint8Array(32).fill(1));
  const first = macOf(mac, enc.encode("packet one"));
  macOf(mac, enc.encode("something else"));
  assert.equal(macOf(mac, enc.encode("packet one")), first);
});

test("hmacHashOf() maps every SSH HMAC name and nothing else", () => {
  assert.equal(hmacHashOf("hmac-sha2-256-etm@openssh.com"), "sha256");
  assert.equal(hmacHashOf("hmac-sha2-512"), "sha512");
  assert.equal(hmacHashOf("hmac-sha1-etm@openssh.com"), "sha1");
  assert.equal(hmacHashOf("hmac-md5"), "md5");
  assert.equal(hmacHashOf("hmac-md5-96-etm@openssh.com"), "md5");
  assert.equal(hmacHashOf("hmac-sha2-512-96"), "sha512");
  assert.equal(hmacHashOf("hmac-sha224@ssh.com"), "sha224");
  assert.equal(hmacHashOf("hmac-sha256@ssh.com"), "sha256");
  assert.equal(hmacHashOf("hmac-sha384@ssh.com"), "sha384");
  assert.equal(hmacHashOf("umac-64@openssh.com"), undefined);
  assert.equal(hmacHashOf("toString"), undefined);
});
