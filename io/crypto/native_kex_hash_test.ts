/** The node:crypto kex hashes agree with the portable ones, byte for byte, on every runtime. */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  kexDigest,
  kexHashBackend,
  NOBLE_KEX_HASH,
  registerKexHashBackend,
} from "../../core/kex/hash.ts";
import { deriveKey } from "../../core/kex/derive.ts";
import type { KexHashName } from "../../core/kex/types.ts";
import { seededRandom } from "../../core/random.ts";
import {
  KEX_HASH_KNOWN_ANSWERS,
  knownAnswerChain,
  NODE_KEX_HASH,
  registerNativeKexHash,
} from "./native_kex_hash.ts";

const NAMES: KexHashName[] = ["sha1", "sha224", "sha256", "sha384", "sha512"];

test("native kex hash: the known answers are the portable hashes' own", () => {
  for (const name of NAMES) {
    assert.equal(knownAnswerChain(NOBLE_KEX_HASH, name), KEX_HASH_KNOWN_ANSWERS[name], name);
  }
});

test("native kex hash: registered after its known answers, same digests as noble", () => {
  const before = kexHashBackend();
  try {
    assert.equal(registerNativeKexHash(), "node:crypto");
    assert.equal(kexHashBackend().name, "node:crypto");
    const random = seededRandom(3);
    for (const name of NAMES) {
      for (const n of [0, 1, 55, 56, 64, 111, 112, 128, 4203]) {
        const data = random(n);
        assert.deepEqual(NODE_KEX_HASH.digest(name, data), NOBLE_KEX_HASH.digest(name, data));
      }
    }
    // A view into a larger buffer hashes only its own bytes.
    const big = random(100);
    assert.deepEqual(
      kexDigest("sha256", big.subarray(10, 20)),
      NOBLE_KEX_HASH.digest("sha256", big.slice(10, 20)),
    );
    // Key derivation (RFC 4253 §7.2) gives the same keys through either backend.
    const k = random(33), h = random(32), sid = random(32);
    const native = deriveKey("sha512", k, h, "C", sid, 100);
    registerKexHashBackend(null);
    assert.deepEqual(deriveKey("sha512", k, h, "C", sid, 100), native);
  } finally {
    registerKexHashBackend(before);
  }
});
