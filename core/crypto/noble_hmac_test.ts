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
  assert.equal(hmacHashOf("hmac-md5"), undefined);
});
