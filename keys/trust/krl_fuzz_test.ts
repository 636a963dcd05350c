// parseKRL(), fed truncated, mutated and random KRLs, throws KeyImportError and nothing else,
// quickly, and the lists it does return answer isRevoked() without failing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { sha1 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { seededRandom } from "../../core/random.ts";
import { createCertificate } from "../certificates/certificate.ts";
import { KeyImportError } from "../errors.ts";
import { generatePrivateKey } from "../generate.ts";
import { cat, certSection, krl, section, str, T, u64 } from "./_krl_test_util.ts";
import { parseKRL } from "./krl.ts";
import { fuzzRuns, fuzzSeed, mutateBytes, mutationPlace } from "../../core/_fuzz_test_util.ts";

const rnd = seededRandom(fuzzSeed(1970));
const ca = generatePrivateKey("ed25519", { random: rnd });
const ec = generatePrivateKey("ecdsa", { random: rnd });
const ed = generatePrivateKey("ed25519", { random: rnd });
const certs = [1n, 7n, 150n, 0n].map((serial) =>
  createCertificate({ key: ed, caKey: ca, type: "user", keyId: "lost", serial, random: rnd })
);

const valid = [
  krl([
    certSection(
      ca.publicBlob,
      section(T.serialList, u64(1n, 3n, 9n)),
      section(T.serialRange, u64(100n, 200n)),
      section(T.serialBitmap, u64(1000n), str(Uint8Array.of(0x05, 0x55))),
      section(T.keyId, str("lost"), str("stolen")),
      section(T.certExtension, str("x@example.com"), Uint8Array.of(0), str("v")),
    ),
    certSection(new Uint8Array(0), section(T.keyId, str("anyone"))),
    section(T.explicitKey, str(ec.publicBlob)),
    section(T.sha1, str(sha1(ed.publicBlob))),
    section(T.sha256, str(sha256(ca.publicBlob)), str(sha256(ec.publicBlob))),
    section(T.extension, str("note@example.com"), Uint8Array.of(0), str("n")),
  ], { comment: "fuzz" }),
  krl([
    certSection(
      ec.publicBlob,
      section(T.serialBitmap, u64(1n), str(new Uint8Array(64).fill(0x11))),
    ),
    cat(
      Uint8Array.of(T.signature),
      str(ca.publicBlob),
      str(ca.sign(Uint8Array.of(1), undefined, rnd)),
    ),
  ]),
];

function mutate(b: Uint8Array, i: number): Uint8Array {
  const x = rnd(4);
  const at = mutationPlace(b, x);
  const kind = i % 5;
  if (kind < 3) return mutateBytes(b, kind as 0 | 1 | 2, x);
  switch (kind) {
    case 3: {
      // Past the header: random bytes, as sections.
      return cat(b.subarray(0, 44), rnd(x[3]!));
    }
    default: {
      // A byte inserted: every later length and type shifts.
      return cat(b.subarray(0, at), Uint8Array.of(x[2]!), b.subarray(at));
    }
  }
}

test("parseKRL() throws only KeyImportError on mutated KRLs, and parsed ones answer isRevoked()", () => {
  const start = Date.now();
  let parsed = 0;
  for (const body of valid) {
    for (let i = 0; i < fuzzRuns(1500); i++) {
      const m = mutate(body, i);
      try {
        const list = parseKRL(m);
        parsed++;
        for (const c of certs) list.isRevoked(c);
        list.isRevoked(ec);
      } catch (e) {
        assert.ok(e instanceof KeyImportError, `mutation ${i}: ${(e as Error)?.stack ?? e}`);
        assert.match(e.message, /^Cannot parse key revocation list: /);
      }
    }
  }
  assert.ok(parsed > 100, `only ${parsed} mutations parsed`);
  assert.ok(Date.now() - start < 30_000 * fuzzRuns(1), "fuzzing took too long");
});

test("parseKRL() throws only KeyImportError on random bytes after the magic", () => {
  const magic = new TextEncoder().encode("SSHKRL\n\0");
  for (let i = 0; i < fuzzRuns(500); i++) {
    const m = cat(magic, Uint8Array.of(0, 0, 0, 1), rnd(i % 200));
    try {
      parseKRL(m);
    } catch (e) {
      assert.ok(e instanceof KeyImportError, `random ${i}: ${e}`);
    }
  }
});

test("the unmutated fuzz seeds parse and revoke what they list", () => {
  const list = parseKRL(valid[0]!);
  assert.deepEqual(certs.map((c) => list.isRevoked(c)), [true, true, true, true]);
  assert.equal(list.isRevoked(ec), true);
  assert.equal(list.isRevoked(generatePrivateKey("ed25519", { random: rnd })), false);
  const second = parseKRL(valid[1]!);
  assert.equal(second.isRevoked(ed), false);
});
