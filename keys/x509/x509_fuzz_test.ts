// X.509 certificates and RFC 6187 key blobs arrive from peers (x509v3-* host and user keys):
// mutated or random, they are refused with KeyImportError, and a chain check only ever
// answers (never throws). Seeded; SSH_FUZZ_SCALE and SSH_FUZZ_SEED widen a campaign.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed, mutateBytes } from "../../core/_fuzz_test_util.ts";
import { generatePrivateKey } from "../generate.ts";
import { KeyImportError } from "../errors.ts";
import { X509Certificate } from "./certificate.ts";
import { generateX509CACertificate, generateX509UserCertificate } from "./generate.ts";
import { checkX509SSHKey, decodeX509SSHKey, encodeX509SSHKey } from "./ssh.ts";

const rnd = seededRandom(fuzzSeed(61));
const now = 1_700_000_000_000;
const rootKey = generatePrivateKey("ecdsa", { random: rnd });
const root = generateX509CACertificate(rootKey, rootKey, "CN=Fuzz Root", { now });
const leaves = [
  generatePrivateKey("ed25519", { random: rnd }),
  generatePrivateKey("ecdsa", { random: rnd }),
].map((k) =>
  generateX509UserCertificate(rootKey, k, "CN=alice, O=Fuzz", {
    now,
    issuerCertificate: root,
    principals: ["alice"],
  })
);

function mutate(b: Uint8Array, i: number): Uint8Array {
  const x = rnd(4);
  const kind = i % 4;
  return kind < 3 ? mutateBytes(b, kind as 0 | 1 | 2, x) : rnd(x[3]! + 1);
}

function onlyImportErrors(f: () => unknown, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof KeyImportError, `${what}: ${e}`);
  }
}

test("X509Certificate.fromDer() refuses mutated and random DER with KeyImportError only", () => {
  for (const cert of [root, ...leaves]) {
    for (let i = 0; i < fuzzRuns(400); i++) {
      onlyImportErrors(() => X509Certificate.fromDer(mutate(cert.der, i)), cert.subject);
    }
  }
});

test("x509v3 key blobs: decodeX509SSHKey() refuses with KeyImportError, checkX509SSHKey() answers", () => {
  for (const leaf of leaves) {
    const blob = encodeX509SSHKey([leaf, root]);
    for (let i = 0; i < fuzzRuns(300); i++) {
      const bad = mutate(blob, i);
      onlyImportErrors(() => decodeX509SSHKey(bad), "decode");
      const r = checkX509SSHKey(bad, { trustedCerts: [root], now, userPrincipal: "alice" });
      assert.equal(typeof r.valid, "boolean");
      if (r.valid) assert.ok(r.path.length > 0);
    }
    // The blob as made still passes: the loop above proves nothing if nothing could pass.
    assert.equal(
      checkX509SSHKey(blob, { trustedCerts: [root], now, userPrincipal: "alice" }).valid,
      true,
    );
  }
});
