// What importing an encrypted or oddly laid out key file reports: the real reason when
// the passphrase was right, a cut file as cut, and the layouts real tools and editors make.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cbc } from "@noble/ciphers/aes.js";
import { scrypt } from "@noble/hashes/scrypt.js";
import { seededRandom } from "../../core/random.ts";
import { generatePrivateKey } from "../generate.ts";
import { pad } from "../_crypto/cbc_ciphers.ts";
import { derInteger, derOctetString, derOid, derSequence } from "./asn1.ts";
import { importPrivateKey, importPublicKey } from "./import.ts";
import { encodeOpenSSHPrivateKey } from "./openssh_private.ts";
import { encryptLegacyPem } from "./openssl_pem.ts";
import { encodePem } from "./pem.ts";
import { encodePkcs8PrivateKey } from "./pkcs8.ts";
import { encryptPkcs8 } from "./pkcs8_encrypted.ts";
import { parseRfc4716 } from "./public_formats.ts";
import { KeyImportError } from "../errors.ts";

const notPassphrase = (why: RegExp) => (e: unknown) =>
  e instanceof KeyImportError && why.test(e.message) && !/incorrect passphrase/.test(e.message);

test("importPrivateKey() says why a key it decrypted cannot be read, not 'incorrect passphrase'", () => {
  // An Ed448 PKCS#8 key (unsupported here) in an encrypted PKCS#8 file.
  const ed448 = derSequence(
    derInteger(0),
    derSequence(derOid("1.3.101.113")),
    derOctetString(derOctetString(new Uint8Array(57).fill(7))),
  );
  const p8 = encodePem(
    "ENCRYPTED PRIVATE KEY",
    encryptPkcs8(ed448, "pw", { iterations: 1, random: seededRandom(1) }),
  );
  assert.throws(() => importPrivateKey(p8, "pw"), notPassphrase(/OID 1\.3\.101\.113/));
  assert.throws(() => importPrivateKey(p8, "wrong"), /incorrect passphrase/);
  // An EC key whose explicit curve parameters cannot be read (a right passphrase still).
  const params = derSequence(derInteger(1));
  const sec1 = derSequence(
    derInteger(1),
    derOctetString(new Uint8Array(32).fill(1)),
    new Uint8Array([0xa0, params.length, ...params]),
  );
  const { headers, body } = encryptLegacyPem(sec1, "pw", { random: seededRandom(2) });
  const legacy = encodePem("EC PRIVATE KEY", body, headers);
  assert.throws(() => importPrivateKey(legacy, "pw"), notPassphrase(/explicit curve parameters/));
  assert.throws(() => importPrivateKey(legacy, "wrong"), /incorrect passphrase/);
});

test("importPrivateKey() reads scrypt p = 16 (openssl pkcs8 -scrypt -scrypt_p 16 writes it)", () => {
  const key = generatePrivateKey("ed25519", { random: seededRandom(3) });
  const salt = new Uint8Array(16).fill(5), iv = new Uint8Array(16).fill(6);
  const [N, r, p] = [1024, 8, 16];
  const k = scrypt("pw", salt, { N, r, p, dkLen: 32 });
  const data = cbc(k, iv, { disablePadding: true }).encrypt(
    pad(encodePkcs8PrivateKey(key.material), 16),
  );
  const der = derSequence(
    derSequence(
      derOid("1.2.840.113549.1.5.13"),
      derSequence(
        derSequence(
          derOid("1.3.6.1.4.1.11591.4.11"),
          derSequence(derOctetString(salt), derInteger(N), derInteger(r), derInteger(p)),
        ),
        derSequence(derOid("2.16.840.1.101.3.4.1.42"), derOctetString(iv)),
      ),
    ),
    derOctetString(data),
  );
  // Was refused as "scrypt parameters out of range" (p > 4), though openssl reads it.
  assert.ok(importPrivateKey(der, "pw").equals(key));
});

test("importPrivateKey() reports a cut encrypted body as corrupt, not as a wrong passphrase", () => {
  const key = generatePrivateKey("ecdsa", { random: seededRandom(4) });
  const legacy = key.exportPrivateKey("pem", { passphrase: "pw" });
  const lines = legacy.trimEnd().split("\n");
  const last = lines.length - 2; // the last body line
  lines[last] = lines[last]!.slice(0, -4);
  assert.throws(
    () => importPrivateKey(lines.join("\n") + "\n", "pw"),
    notPassphrase(/not a whole number of 16-byte blocks/),
  );
  // The same in PKCS#8 (DER whose encrypted data was cut to 33 bytes).
  const enc = encryptPkcs8(new Uint8Array([0x30, 0]), "pw", { iterations: 1 });
  const cut = enc.slice();
  // The encrypted data is the last OCTET STRING: 16 bytes, so shorten it to 15.
  assert.equal(cut[cut.length - 17], 16);
  cut[cut.length - 17] = 15;
  cut[1]! -= 1;
  const trimmed = cut.subarray(0, cut.length - 1);
  assert.throws(
    () => importPrivateKey(trimmed, "pw"),
    notPassphrase(/not a whole number of 16-byte blocks/),
  );
});

test("importPrivateKey() reads an encrypted PEM key indented as a whole", () => {
  const key = generatePrivateKey("ecdsa", { random: seededRandom(5) });
  const text = key.exportPrivateKey("pem", { passphrase: "pw" });
  const indented = text.trimEnd().split("\n").map((l) => "    " + l).join("\n") + "\n";
  // DEK-Info was taken for a continuation of Proc-Type, and the ciphertext parsed as DER.
  assert.ok(importPrivateKey(indented, "pw").equals(key));
  // A real continuation (deeper than the block) still continues.
  const continued = indented.replace(/(DEK-Info: [A-Z0-9-]+,)/, "$1\n      ");
  assert.ok(importPrivateKey(continued, "pw").equals(key));
});

test("importPrivateKey() reads an OpenSSH key whose comment is not UTF-8", () => {
  // `ssh-keygen -C $'caf\xe9'` stores the byte as given; it failed with "not valid UTF-8".
  const key = generatePrivateKey("ed25519", { random: seededRandom(6) });
  const bin = encodeOpenSSHPrivateKey(key.material, "cafX", { random: seededRandom(7) });
  const at = bin.findIndex((_, i) => String.fromCharCode(...bin.subarray(i, i + 4)) === "cafX");
  bin[at + 3] = 0xe9;
  const text = encodePem("OPENSSH PRIVATE KEY", bin, undefined, 70);
  const got = importPrivateKey(text);
  assert.ok(got.equals(key));
  assert.equal(got.getComment(), "caf\uFFFD");
});

test("importPublicKey() continues an RFC 4716 header past blanks after the backslash", () => {
  const key = generatePrivateKey("ed25519", { random: seededRandom(8) });
  const body = key.exportPublicKey("rfc4716").split("\n").filter((l) =>
    /^[A-Za-z0-9+/=]+$/.test(l)
  );
  const text = [
    "---- BEGIN SSH2 PUBLIC KEY ----",
    'Comment: "made on Mon Jan 15 \\  ',
    '08:31:24 2001"',
    ...body,
    "---- END SSH2 PUBLIC KEY ----",
    "",
  ].join("\r\n");
  // The continuation line was read as a header "08" and the comment kept its quote.
  assert.equal(parseRfc4716(text).comment, "made on Mon Jan 15 08:31:24 2001");
  assert.equal(importPublicKey(text).getComment(), "made on Mon Jan 15 08:31:24 2001");
  assert.deepEqual([...parseRfc4716(text).headers.keys()], ["Comment"]);
});
