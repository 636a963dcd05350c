import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import {
  derBitString,
  derElement,
  derExplicit,
  derInteger,
  derOctetString,
  derOid,
  DerReader,
  derSequence,
  DerTag,
} from "../formats/asn1.ts";
import { encodeSpki } from "../formats/spki.ts";
import { generatePrivateKey } from "../generate.ts";
import { KeyImportError } from "../errors.ts";
import type { SSHKey } from "../ssh_key.ts";
import { X509Certificate } from "./certificate.ts";
import { validateX509Chain } from "./chain.ts";
import { ipBytes, ipText } from "./extensions.ts";
import { generateX509CACertificate, generateX509HostCertificate } from "./generate.ts";
import { canonicalName, encodeName } from "./name.ts";
import { algorithmIdentifier, signX509 } from "./signature.ts";
import { encodeTime } from "./time.ts";

const now = Date.UTC(2025, 5, 1);
const caKey = generatePrivateKey("ecdsa", { random: seededRandom(11) });
const leafKey = generatePrivateKey("ed25519", { random: seededRandom(12) });
const validity = { validAfter: new Date(now - 86400_000), validBefore: new Date(now + 86400_000) };

const bool = (v: number[]) => derElement(DerTag.BOOLEAN, new Uint8Array(v));
const ext = (oid: string, value: Uint8Array, critical: Uint8Array[] = []) =>
  derSequence(derOid(oid), ...critical, derOctetString(value));
const caExt = ext("2.5.29.19", derSequence(bool([0xff])), [bool([0xff])]);

interface Parts {
  readonly version?: Uint8Array | null; // null: none (version 1)
  readonly issuer?: Uint8Array;
  readonly subject?: Uint8Array;
  readonly subjectKey?: SSHKey;
  readonly extensions?: Uint8Array | null; // the whole [3]; null: none
}

/** A certificate from raw parts, signed by `signer` (ECDSA P-256 by default). */
function raw(p: Parts, signer: SSHKey = caKey): Uint8Array {
  const random = seededRandom(5);
  const alg = signX509(signer, new Uint8Array(0), random).oid;
  const tbs = derSequence(
    ...(p.version === null ? [] : [p.version ?? derExplicit(0, derInteger(2))]),
    derInteger(7),
    algorithmIdentifier(alg),
    p.issuer ?? encodeName("CN=CA"),
    derSequence(encodeTime(validity.validAfter), encodeTime(validity.validBefore)),
    p.subject ?? encodeName("CN=CA"),
    encodeSpki((p.subjectKey ?? signer).material),
    ...(p.extensions === null ? [] : [p.extensions ?? derExplicit(3, derSequence(caExt))]),
  );
  const { oid, sig } = signX509(signer, tbs, random);
  return derSequence(tbs, algorithmIdentifier(oid), derBitString(sig));
}

test("a trusted version 1 certificate is a CA only when it is a self-issued root", () => {
  const v1Leaf = X509Certificate.fromDer(
    raw({ version: null, subject: encodeName("CN=old leaf"), extensions: null }),
  );
  assert.equal(v1Leaf.version, 1);
  const forged = X509Certificate.fromDer(
    raw({
      issuer: encodeName("CN=old leaf"),
      subject: encodeName("CN=victim"),
      subjectKey: leafKey,
      extensions: null,
    }),
  );
  const r = validateX509Chain([forged], { trustedCerts: [v1Leaf], now });
  assert.equal(r.valid, false);
  assert.match((r as { reason: string }).reason, /'CN=old leaf' is not a CA/);
  const v1Root = X509Certificate.fromDer(raw({ version: null, extensions: null }));
  const issued = X509Certificate.fromDer(
    raw({ subject: encodeName("CN=leaf"), subjectKey: leafKey, extensions: null }),
  );
  assert.ok(validateX509Chain([issued], { trustedCerts: [v1Root], now }).valid);
});

test("malformed extension values make the certificate unreadable, never guessed at", () => {
  const bc = (v: Uint8Array, critical = [bool([0xff])]) =>
    derExplicit(3, derSequence(ext("2.5.29.19", v, critical)));
  const ku = (bits: number[]) =>
    derExplicit(
      3,
      derSequence(caExt, ext("2.5.29.15", derElement(DerTag.BIT_STRING, new Uint8Array(bits)))),
    );
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty critical BOOLEAN", bc(derSequence(bool([0xff])), [bool([])]), /BOOLEAN/],
    ["BER critical BOOLEAN", bc(derSequence(bool([0xff])), [bool([1])]), /BOOLEAN/],
    ["two-byte cA", bc(derSequence(bool([0xff, 0]))), /cA is not a DER BOOLEAN/],
    [
      "junk in basicConstraints",
      bc(derSequence(bool([0xff]), derOctetString(new Uint8Array(1)))),
      /trailing/,
    ],
    [
      "junk after basicConstraints",
      bc(new Uint8Array([...derSequence(bool([0xff])), 5, 0])),
      /trailing/,
    ],
    ["negative pathLen", bc(derSequence(bool([0xff]), derInteger(-1))), /negative/],
    ["keyUsage with 9 unused bits", ku([9, 0x04]), /keyUsage/],
    ["empty keyUsage BIT STRING", ku([]), /keyUsage/],
    [
      "junk after the extensions",
      derExplicit(3, derSequence(caExt), derElement(5, new Uint8Array(0))),
      /trailing/,
    ],
  ];
  for (const [name, extensions, message] of cases) {
    assert.throws(
      () => X509Certificate.fromDer(raw({ extensions })),
      (e) => e instanceof KeyImportError && message.test((e as Error).message),
      name,
    );
  }
  assert.throws(
    () => X509Certificate.fromDer(raw({ version: derExplicit(0, derInteger(2), derInteger(0)) })),
    (e) => e instanceof KeyImportError && /version: 3 unexpected trailing bytes/.test(e.message),
  );
  // A large path length is no reason to refuse the certificate (OpenSSL takes it).
  const big = X509Certificate.fromDer(
    raw({ extensions: bc(derSequence(bool([0xff]), derInteger(5000))) }),
  );
  assert.deepEqual(big.extensions.basicConstraints, { ca: true, pathLength: 5000 });
});

test("an unknown critical extension on the trust anchor refuses the chain (as OpenSSL)", () => {
  const anchor = X509Certificate.fromDer(
    raw({
      extensions: derExplicit(
        3,
        derSequence(caExt, ext("1.2.3.4", new Uint8Array([5, 0]), [bool([0xff])])),
      ),
    }),
  );
  const leaf = X509Certificate.fromDer(
    raw({ subject: encodeName("CN=leaf"), subjectKey: leafKey, extensions: null }),
  );
  const r = validateX509Chain([leaf], { trustedCerts: [anchor], now });
  assert.equal(r.valid, false);
  assert.match((r as { reason: string }).reason, /unknown critical extension 1\.2\.3\.4/);
});

test("issuer names match as RFC 5280 and OpenSSL compare them", () => {
  const ca = generateX509CACertificate(caKey, caKey, "CN=Test CA, O=Example", validity);
  const issued = (issuer: string | Uint8Array) =>
    X509Certificate.fromDer(
      raw({
        issuer: typeof issuer === "string" ? encodeName(issuer) : issuer,
        subject: encodeName("CN=h"),
        subjectKey: leafKey,
        extensions: null,
      }),
    );
  const printable = derSequence(
    derElement(
      DerTag.SET,
      derSequence(
        derOid("2.5.4.10"),
        derElement(DerTag.PRINTABLE_STRING, new TextEncoder().encode("EXAMPLE")),
      ),
    ),
    derElement(
      DerTag.SET,
      derSequence(
        derOid("2.5.4.3"),
        derElement(DerTag.PRINTABLE_STRING, new TextEncoder().encode(" test   ca")),
      ),
    ),
  );
  for (const issuer of ["CN=test  ca , O=EXAMPLE", printable]) {
    const r = validateX509Chain([issued(issuer)], { trustedCerts: [ca], now });
    assert.ok(r.valid, r.valid ? "" : r.reason);
  }
  for (const issuer of ["CN=Test CA2, O=Example", "CN=Test CA+O=Example", "CN=Test CA"]) {
    assert.equal(validateX509Chain([issued(issuer)], { trustedCerts: [ca], now }).valid, false);
  }
  assert.equal(canonicalName(encodeName("CN=A,O=b")), canonicalName(encodeName("cn=a, o=B")));
  assert.notEqual(canonicalName(encodeName("CN=a b")), canonicalName(encodeName("CN=ab")));
  // ASCII white space only folds, as OpenSSL: a no-break space or a BOM keeps names apart.
  const cn = (text: string) =>
    derSequence(derElement(
      DerTag.SET,
      derSequence(derOid("2.5.4.3"), derElement(0x0c, new TextEncoder().encode(text))),
    ));
  assert.equal(canonicalName(cn(" Root ")), canonicalName(encodeName("CN=Root")));
  assert.notEqual(canonicalName(cn("Root\u00a0")), canonicalName(encodeName("CN=Root")));
  assert.notEqual(canonicalName(cn("\ufeffRoot")), canonicalName(encodeName("CN=Root")));
});

test("address principals match however they are written, names exactly", () => {
  const host = generateX509HostCertificate(caKey, leafKey, "CN=h", {
    ...validity,
    issuer: "CN=CA",
    principals: ["Web.Example", "2001:db8::1", "::ffff:192.0.2.1"],
  });
  const ca = generateX509CACertificate(caKey, caKey, "CN=CA", validity);
  assert.deepEqual(host.principals, ["Web.Example", "2001:db8::1", "::ffff:c000:201"]);
  for (
    const p of [
      "2001:db8::1",
      "2001:DB8:0:0::1",
      "2001:db8:0:0:0:0:0:1",
      "Web.Example",
      "::ffff:192.0.2.1",
    ]
  ) {
    const r = validateX509Chain([host], { trustedCerts: [ca], now, principal: p });
    assert.ok(r.valid, `${p}: ${r.valid ? "" : r.reason}`);
  }
  for (const p of ["2001:db8::2", "web.example", "192.0.2.1"]) {
    assert.equal(
      validateX509Chain([host], { trustedCerts: [ca], now, principal: p }).valid,
      false,
      p,
    );
  }
  const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => parseInt(h, 16)));
  assert.equal(ipText(hex("20010db8000000000000000000000001")), "2001:db8::1");
  assert.equal(ipText(hex("00000000000000000000000000000000")), "::");
  assert.equal(ipText(hex("20010db8000000010000000000000000")), "2001:db8:0:1::");
  assert.equal(ipText(hex("20010000000000010000000000000001")), "2001:0:0:1::1");
  assert.equal(ipText(hex("20010db8000000000001000000000001")), "2001:db8::1:0:0:1");
  assert.equal(ipText(hex("20010db8000100010001000100010001")), "2001:db8:1:1:1:1:1:1");
  assert.equal(ipText(new Uint8Array(8)), undefined);
  for (
    const bad of [
      "1::2::3",
      "12345::1",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8::",
      "1.2.3.4::1",
      "::1.2.3",
    ]
  ) {
    assert.equal(ipBytes(bad), undefined, bad);
  }
});

test("control characters in a peer's names are escaped, not printed raw", () => {
  const c = X509Certificate.fromDer(
    raw({ subject: encodeName("CN=a\nb\u001b[31m"), issuer: encodeName("CN=a\nb\u001b[31m") }),
  );
  assert.equal(c.subject, "CN=a\\0Ab\\1B[31m");
});

test("signatures that are not in their one DER form do not verify", () => {
  const good = raw({});
  const cert = X509Certificate.fromDer(good);
  assert.ok(cert.verifySignature(caKey));
  // Re-encode r with a needless leading zero byte: the same numbers, other bytes.
  const sig = new DerReader(cert.signature).readSequence("sig");
  const r = sig.read("r");
  const s = sig.read("s");
  const padded = derSequence(
    derElement(DerTag.INTEGER, new Uint8Array([0, ...r.content])),
    s.encoded,
  );
  const body = new DerReader(good).readSequence("c");
  const tbs = body.read("tbs").encoded;
  const alg = body.read("alg").encoded;
  const malleated = X509Certificate.fromDer(derSequence(tbs, alg, derBitString(padded)));
  assert.equal(malleated.verifySignature(caKey), false);
});

test("a huge list of same-named certificates is refused at once", () => {
  const ca = X509Certificate.fromDer(raw({}));
  const leaf = X509Certificate.fromDer(
    raw({ subject: encodeName("CN=leaf"), subjectKey: leafKey, extensions: null }),
  );
  const start = Date.now();
  const r = validateX509Chain([leaf, ...Array<X509Certificate>(5000).fill(ca)], {
    trustedCerts: [],
    now,
  });
  assert.equal(r.valid, false);
  assert.match((r as { reason: string }).reason, /5001 certificates given/);
  assert.ok(Date.now() - start < 1000);
});
