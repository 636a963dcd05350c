import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../random.ts";
import { NobleHmac } from "./noble_hmac.ts";
import { Umac, UmacPacketMac, type UmacTagLength, umacTagLengthOf } from "./umac.ts";
import { referenceUmac } from "./_umac_reference.ts";
import { hex } from "./_test_util.ts";
import { getWasmKernels, setWasmKernelsEnabled } from "./wasm/kernels.ts";

const enc = new TextEncoder();
const KEY = enc.encode("abcdefghijklmnop");
const TAGS: readonly UmacTagLength[] = [4, 8, 12, 16];

/** `length` bytes of `pattern` repeated. */
function repeat(pattern: string, length: number): Uint8Array {
  const p = enc.encode(pattern), out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = p[i % p.length]!;
  return out;
}

function tagOf(key: Uint8Array, tagLength: UmacTagLength, msg: Uint8Array, nonce: Uint8Array) {
  return hex(new Umac(key, tagLength).update(msg).final(nonce));
}

// RFC 4418 §5 (key "abcdefghijklmnop", nonce "bcdefghi"): 32-, 64- and 96-bit
// tags. The 'a' * 2^25 row is the RFC errata's (the published one is wrong; the
// POLY128 layer starts at 2^24 bytes). RFC 4418 lists no 128-bit tags; the last
// column extends its 96-bit ones by the 4 bytes GNU Nettle's test suite gives
// (testsuite/umac-test.c), which OpenSSH's umac-128 must also produce.
const RFC4418: readonly [string, number, string, string, string][] = [
  ["", 0, "113145fb", "6e155fad26900be1", "32fedb100c79ad58f07ff7643cc60465"],
  ["a", 3, "3b91d102", "44b5cb542f220104", "185e4fe905cba7bd85e4c2dc3d117d8d"],
  ["a", 1 << 10, "599b350b", "26bf2f5d60118bd9", "7a54abe04af82d60fb298c3cbd195bcb"],
  ["a", 1 << 15, "58dcf532", "27f8ef643b0d118d", "7b136bd911e4b734286ef2be501f2c3c"],
  ["a", 1 << 20, "db6364d1", "a4477e87e9f55853", "f8acfa3ac31cfeea047f7b115b03bef5"],
  ["a", 1 << 25, "85ee5cae", "faca46f856e9b45f", "a621c2457c0012e64f3fdae9e7e1870c"],
  ["abc", 3, "abf3a3a0", "d4d7b9f6bd4fbfcf", "883c3d4b97a61976ffcf232308cba5a5"],
  ["abc", 1500, "abeb3c8b", "d4cf26ddefd5c01a", "8824a260c53c66a36c9260a62cb83aa1"],
];

test("Umac gives RFC 4418's test vectors for every length and tag size (2^25 per its errata)", () => {
  const nonce = enc.encode("bcdefghi");
  for (const [pattern, length, t32, t64, t128] of RFC4418) {
    const msg = repeat(pattern, length);
    const want = [t32, t64, t128.slice(0, 24), t128];
    TAGS.forEach((n, i) => {
      assert.equal(tagOf(KEY, n, msg, nonce), want[i], `'${pattern}' * ${length}, ${n * 8}-bit`);
    });
  }
});

// GNU Nettle's boundary cases (testsuite/umac-test.c): lengths around the 32-byte
// NH block, the 1024-byte L1 chunk and the 2^24-byte POLY64 limit, with nonces of
// 1 to 16 bytes. Columns: length, nonce, 32-, 64- and 128-bit tags.
const BOUNDARIES: readonly [number, string, string, string, string][] = [
  [0, "b", "3a58486b", "9e38f67da91a08d9", "9e38f67da91a08d9c980f4db4089c877"],
  [1, "bc", "d86b1512", "fb0e207971b8e66a", "ef406c2ec70d0222f59e860eabb79ed0"],
  [2, "bcd", "1ae6e02d", "1ae6e02d73aa9ab2", "1ae6e02d73aa9ab2a27fb89e014dc07b"],
  [3, "bcde", "e8c1eb59", "c81cf22342e84302", "82626d0d575e01038e5e2cc6408216f5"],
  [4, "bcdef", "8950f0d3", "aba003e7bd673cc3", "aba003e7bd673cc368ba8513cecf2e7c"],
  [1020, "bcdefg", "7412167c", "f98828a161bb4ae3", "d8b4811f747d588d7a913360960de7cf"],
  [1021, "bcdefgh", "2d54936b", "2d54936be5bff72d", "2d54936be5bff72d2e1052361163b474"],
  [1022, "bcdefghi", "53ca8dd2", "2cee9784556387b3", "700513397f8a210a98938d3e7ac3bd88"],
  [1023, "bcdefghij", "26cc58df", "24ac4284ca371f42", "24ac4284ca371f4280f60bd274633d67"],
  [1024, "bcdefghijk", "3cada45a", "64c6a0fd14615a76", "abc223116cedd2db5af365e641a97539"],
  [1025, "bcdefghijkl", "93251e18", "93251e18e56bbdc4", "93251e18e56bbdc457de556f95c59931"],
  [1026, "bcdefghijklm", "24a4c3ab", "5d98bd8dfaf16352", "c1298672e52386753383a15ed58c0e42"],
  [1027, "bcdefghijklmn", "e7e98945", "5b0557c9fdcf661b", "5b0557c9fdcf661b1758efc603516ebe"],
  [2046, "bcdefghijklmno", "e12ddc9f", "65e85d47447c2277", "16bb5183017826ed47c9995c1e5834f3"],
  [2047, "bcdefghijklmnop", "34d723a6", "34d723a6cb1676d3", "34d723a6cb1676d3547a5064dc5b0a37"],
  [2048, "bcdefghijklmnopq", "21fd8802", "3968d5d0af147884", "84565620def1e3a614d274e87626f215"],
  [2049, "b", "097e5abd", "ad1ee4ab606061c5", "ad1ee4ab606061c55e0d2ecfee59940a"],
  [2050, "bc", "a03a7fe9", "835f4a8242100055", "971106d5f4a5e41dce40a91704cfe1f3"],
  [16777212, "bcd", "7ef41cf3", "7ef41cf351960aaf", "7ef41cf351960aaf729bb19fcee7d8c4"],
  [16777216, "bcdefgh", "42d8562a", "42d8562a224a9e9a", "42d8562a224a9e9a75c2f85d39462d07"],
  [16777217, "bcdefghi", "486b138d", "374f09dbb0b84b88", "6ba48d669a51ed3195ebc2aa562ee71b"],
  [16778240, "bcdefghijk", "b9fc4f81", "e1974b26fb35f2c6", "2e93c8ca83b97a6b1a21082e2a4c540d"],
  [16778244, "bcdefghijklmno", "8034e26f", "04f163b7c2d5d849", "77a26f7387d1dcd39378a3220652cff7"],
];

test("Umac gives GNU Nettle's boundary vectors: NH block, L1 chunk, POLY64 limit, 1–16-byte nonces", () => {
  const big = repeat("defdefdefdefdef", 16778244);
  for (const [length, nonce, t32, t64, t128] of BOUNDARIES) {
    const msg = big.subarray(0, length), n = enc.encode(nonce);
    const want = [t32, t64, t128.slice(0, 24), t128];
    // The multi-megabyte rows only for the SSH tag sizes, to keep the suite quick.
    const sizes = length > 1 << 20 ? [8, 16] as const : TAGS;
    for (const size of sizes) {
      assert.equal(tagOf(KEY, size, msg, n), want[TAGS.indexOf(size)], `${length} bytes, ${size}`);
    }
  }
});

test("Umac matches a literal BigInt transcription of RFC 4418 on random keys, nonces and lengths", () => {
  const rnd = seededRandom(4418);
  const lengths = [0, 1, 31, 32, 33, 63, 64, 65, 1023, 1024, 1025, 2048, 3071, 4097];
  for (let i = 0; i < 40; i++) lengths.push(rnd(2)[0]! * 24 + rnd(1)[0]!);
  for (const [i, length] of lengths.entries()) {
    const key = rnd(16), msg = rnd(length), nonce = rnd(1 + (i % 16));
    for (const size of TAGS) {
      assert.equal(
        tagOf(key, size, msg, nonce),
        hex(referenceUmac(key, msg, nonce, size)),
        `${length} bytes, ${size}-byte tag, ${nonce.length}-byte nonce`,
      );
    }
  }
});

test("Umac: incremental updates in random pieces give the one-shot tag, and final() resets", () => {
  const rnd = seededRandom(99);
  const msg = rnd(70_000);
  for (const size of TAGS) {
    const key = rnd(16), nonce = rnd(8);
    const oneShot = tagOf(key, size, msg, nonce);
    const umac = new Umac(key, size);
    for (let round = 0; round < 3; round++) {
      let at = 0;
      while (at < msg.length) {
        // Pieces from 0 bytes to a few chunks, crossing every boundary sooner or later.
        const n = Math.min(msg.length - at, [0, 1, 7, 32, 1000, 1024, 3000][rnd(1)[0]! % 7]!);
        umac.update(msg, at, at + n);
        at += n;
      }
      assert.equal(hex(umac.final(nonce)), oneShot, `${size}-byte tag, round ${round}`);
    }
    // Empty message after a reset: same as a fresh instance.
    assert.equal(hex(umac.final(nonce)), tagOf(key, size, new Uint8Array(0), nonce));
  }
});

test("UmacPacketMac: nonce is uint64(seq) big-endian; the cached pad is right across seqs", () => {
  const rnd = seededRandom(5);
  for (const size of [8, 16] as const) {
    const key = rnd(16);
    const mac = new UmacPacketMac(key, size);
    assert.equal(mac.length, size);
    // Out of order and repeated seqs too, so a stale pad cache would show.
    for (const seq of [0, 1, 2, 3, 7, 6, 6, 0xfffffffe, 0xffffffff, 0, 1]) {
      const data = rnd(100);
      const out = new Uint8Array(size);
      mac.compute(seq, data, 10, 90, out);
      const nonce = new Uint8Array(8);
      new DataView(nonce.buffer).setUint32(4, seq);
      assert.equal(hex(out), hex(referenceUmac(key, data.subarray(10, 90), nonce, size)), `${seq}`);
    }
  }
});

test("Umac rejects bad keys, tag sizes, nonces, ranges and output buffers", () => {
  assert.throws(() => new Umac(new Uint8Array(15), 8), RangeError);
  assert.throws(() => new Umac(new Uint8Array(32), 8), RangeError);
  assert.throws(() => new Umac(KEY, 6 as UmacTagLength), RangeError);
  const u = new Umac(KEY, 8);
  assert.throws(() => u.final(new Uint8Array(0)), RangeError);
  assert.throws(() => u.final(new Uint8Array(17)), RangeError);
  assert.throws(() => u.final(new Uint8Array(8), new Uint8Array(7)), RangeError);
  assert.throws(() => u.update(new Uint8Array(4), 2, 5), RangeError);
  assert.throws(() => u.update(new Uint8Array(4), 3, 2), RangeError);
  assert.equal(umacTagLengthOf("umac-64@openssh.com"), 8);
  assert.equal(umacTagLengthOf("umac-64-etm@openssh.com"), 8);
  assert.equal(umacTagLengthOf("umac-128@openssh.com"), 16);
  assert.equal(umacTagLengthOf("hmac-sha1"), undefined);
});

test("UmacPacketMac on 32 KiB packets against NobleHmac (SHA-256): measured, not asserted", () => {
  const data = seededRandom(1)(32768);
  const out = new Uint8Array(64);
  const rate = (f: (seq: number) => void): number => {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 150) f(n++);
    return (n * data.length) / ((performance.now() - t0) / 1000) / 1e6;
  };
  const u64 = new UmacPacketMac(seededRandom(2)(16), 8);
  const u128 = new UmacPacketMac(seededRandom(3)(16), 16);
  const h = new NobleHmac("sha256", seededRandom(4)(32));
  const r = {
    "umac-64": rate((s) => u64.compute(s, data, 0, data.length, out)),
    "umac-128": rate((s) => u128.compute(s, data, 0, data.length, out)),
    "hmac-sha2-256 (noble)": rate((s) => h.compute(s, data, 0, data.length, out)),
  };
  console.log(
    "MB/s, 32 KiB packets (noisy on a shared machine):",
    Object.entries(r).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", "),
  );
  for (const v of Object.values(r)) assert.ok(v > 0);
});

test("Umac's WebAssembly NH gives the JavaScript NH's tags, with keys taking turns in the kernels", () => {
  const simd = getWasmKernels()?.nh != null;
  const rnd = seededRandom(777);
  const keys = [rnd(16), rnd(16)];
  for (const size of [8, 16] as const) {
    const fast = keys.map((k) => new Umac(k, size));
    setWasmKernelsEnabled(false);
    const slow = keys.map((k) => new Umac(k, size));
    setWasmKernelsEnabled(true);
    for (const u of slow) assert.equal(u.nhImplementation, "javascript");
    // Every runtime this library supports has WebAssembly SIMD: the fast path must be taken.
    assert.equal(simd, true, "WebAssembly SIMD kernels with NH");
    for (const u of fast) assert.equal(u.nhImplementation, "webassembly");
    // Lengths around chunk multiples, a 32 KiB packet, one larger than a call takes (256
    // chunks), and pieces that start mid-chunk; the two keys alternate in the kernels.
    const lengths = [1024, 1025, 2048, 2049, 32768 + 21, 300 * 1024 + 5, 5000];
    for (const [i, length] of lengths.entries()) {
      const msg = rnd(length), nonce = rnd(8);
      for (const which of [0, 1, 0]) {
        const want = hex(slow[which]!.update(msg, 0, 700).update(msg, 700).final(nonce));
        const got = hex(fast[which]!.update(msg, 0, 700).update(msg, 700).final(nonce));
        assert.equal(got, want, `${length} bytes, key ${which}, ${size}-byte tag (${i})`);
        assert.equal(hex(fast[which]!.update(msg).final(nonce)), want, "in one update");
      }
    }
  }
});

test("UmacPacketMac.compute2(a, b) is the tag of a || b, so an ETM sealer can seal detached", () => {
  const rnd = seededRandom(2020);
  for (const size of [8, 16] as const) {
    const mac = new UmacPacketMac(rnd(16), size);
    for (const [headLen, bodyLen] of [[4, 32768], [4, 16], [0, 2048], [1030, 5000], [4, 0]]) {
      const a = rnd(headLen!), b = rnd(bodyLen!);
      const joined = new Uint8Array(a.length + b.length);
      joined.set(a);
      joined.set(b, a.length);
      const want = new Uint8Array(size), got = new Uint8Array(size);
      mac.compute(9, joined, 0, joined.length, want);
      mac.compute2(9, a, b, got);
      assert.equal(hex(got), hex(want), `${headLen} + ${bodyLen} bytes, ${size}-byte tag`);
    }
  }
});
