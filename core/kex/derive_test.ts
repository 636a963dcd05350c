import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { seededRandom } from "../random.ts";
import { deriveDirectionKeys, deriveKey, deriveKeys } from "./derive.ts";
import type { KexHashName } from "./types.ts";

/** RFC 4253 §7.2 written out independently with node:crypto. */
function oracle(
  hash: KexHashName,
  k: Uint8Array,
  h: Uint8Array,
  letter: string,
  sid: Uint8Array,
  n: number,
) {
  let out = createHash(hash).update(k).update(h).update(letter).update(sid).digest();
  while (out.length < n) {
    out = Buffer.concat([out, createHash(hash).update(k).update(h).update(out).digest()]);
  }
  return new Uint8Array(out.subarray(0, n));
}

test("deriveKey() matches an independent RFC 4253 §7.2 implementation, including extension", () => {
  const rnd = seededRandom(3);
  for (const hash of ["sha1", "sha256", "sha384", "sha512"] as const) {
    const k = rnd(37);
    const h = rnd(32);
    const sid = rnd(20);
    for (const letter of ["A", "B", "C", "D", "E", "F"]) {
      for (const n of [0, 12, 16, 20, 32, 64, 100]) {
        assert.deepEqual(
          deriveKey(hash, k, h, letter, sid, n),
          oracle(hash, k, h, letter, sid, n),
          `${hash} ${letter} ${n}`,
        );
      }
    }
  }
});

test("deriveKeys() assigns A/C/E to client-to-server and B/D/F to server-to-client", () => {
  const k = new Uint8Array([0, 0, 0, 2, 1, 2]);
  const h = new Uint8Array(32).fill(5);
  const sid = new Uint8Array(32).fill(6);
  const keys = deriveKeys("sha256", k, h, sid, {
    clientToServer: { ivLength: 12, keyLength: 64, macKeyLength: 0 },
    serverToClient: { ivLength: 16, keyLength: 16, macKeyLength: 32 },
  });
  assert.deepEqual(keys.clientToServer.iv, oracle("sha256", k, h, "A", sid, 12));
  assert.deepEqual(keys.serverToClient.iv, oracle("sha256", k, h, "B", sid, 16));
  assert.deepEqual(keys.clientToServer.encKey, oracle("sha256", k, h, "C", sid, 64));
  assert.deepEqual(keys.serverToClient.encKey, oracle("sha256", k, h, "D", sid, 16));
  assert.equal(keys.clientToServer.macKey.length, 0);
  assert.deepEqual(keys.serverToClient.macKey, oracle("sha256", k, h, "F", sid, 32));
  const one = deriveDirectionKeys("sha256", k, h, sid, ["B", "D", "F"], {
    ivLength: 16,
    keyLength: 16,
    macKeyLength: 32,
  });
  assert.deepEqual(one, keys.serverToClient);
});

test("deriveKey() refuses letters outside A..F", () => {
  assert.throws(
    () => deriveKey("sha256", new Uint8Array(1), new Uint8Array(1), "G", new Uint8Array(1), 8),
    RangeError,
  );
  assert.throws(
    () => deriveKey("sha256", new Uint8Array(1), new Uint8Array(1), "AB", new Uint8Array(1), 8),
    RangeError,
  );
});
