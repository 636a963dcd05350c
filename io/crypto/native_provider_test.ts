import { test } from "node:test";
import assert from "node:assert/strict";
import { LIBCRYPTO_PROVIDER, registerLibcrypto } from "./libcrypto/provider.ts";
import { seededRandom } from "../../core/random.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import {
  DEFAULT_MACS,
  getCipherInfo,
  getMacInfo,
  getPacketProtection,
  selectPacketProtectionProvider,
  SUPPORTED_CIPHERS,
  SUPPORTED_MACS,
  unregisterPacketProtection,
} from "../../core/crypto/registry.ts";
import {
  allPairs,
  hex,
  keysFor,
  makePacket,
  referenceSeal,
  unhex,
} from "../../core/crypto/_test_util.ts";
import { currentRuntime } from "../runtime/env.ts";
import { createNativePacketProtection, NATIVE_PROVIDER } from "./native_provider.ts";
import { NativeGcmOpener, NativeGcmSealer } from "./native_gcm.ts";
import { GcmSealer } from "../../core/crypto/noble_aes_gcm.ts";
import { probeNativeCrypto } from "./native_probe.ts";
import { registerNativeCrypto } from "./native_register.ts";

const avail = probeNativeCrypto();
const noble = getPacketProtection({ provider: "noble" });
const allNative = createNativePacketProtection({
  smallPacketThreshold: { gcm: 0, chacha: 0, mac: 0 },
});
const hybrid = createNativePacketProtection();
const NATIVE_PAIRS = allPairs(
  SUPPORTED_CIPHERS.map((n) => getCipherInfo(n)!),
  SUPPORTED_MACS.map((n) => getMacInfo(n)!),
).filter((p) => allNative.supports(p.cipher.name, p.mac?.name ?? null));

test("probeNativeCrypto() finds the AES modes and HMACs everywhere, ChaCha20 except on Bun", () => {
  for (
    const c of ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-cbc"]
  ) {
    assert.ok(avail.ciphers.includes(c), c);
  }
  // The native provider covers the default HMACs; the legacy ones stay portable-only,
  // and UMAC (no node:crypto form) pairs a native cipher with our UMAC.
  const hmacs = DEFAULT_MACS.filter((m) => !m.startsWith("umac-"));
  assert.deepEqual([...avail.macs].sort(), [...hmacs].sort());
  for (const m of DEFAULT_MACS.filter((m) => m.startsWith("umac-"))) {
    assert.equal(allNative.supports("aes128-ctr", m), true, m);
  }
  assert.equal(
    avail.ciphers.includes("chacha20-poly1305@openssh.com"),
    currentRuntime() !== "bun",
  );
});

test("native and noble providers produce identical bytes for every algorithm, random packets and seqs", () => {
  const rnd = seededRandom(0x5eed);
  for (const { cipher, mac, label } of NATIVE_PAIRS) {
    for (const native of [allNative, hybrid]) {
      const keys = keysFor(rnd, cipher, mac);
      const firstSeq = new DataView(rnd(4).buffer).getUint32(0);
      const sizes = [0, 5, 200, 300, 1100, 3000, 17].map((n) => n + (rnd(1)[0]! & 7));
      const plain = sizes.map((n) => makePacket(rnd, n, cipher, mac));
      const ns = native.createSealer(cipher, mac, keys), bs = noble.createSealer(cipher, mac, keys);
      const no = native.createOpener(cipher, mac, keys), bo = noble.createOpener(cipher, mac, keys);
      assert.equal(ns.provider, NATIVE_PROVIDER);
      const expected = referenceSeal(cipher, mac, keys, firstSeq, plain);
      plain.forEach((p, i) => {
        const seq = (firstSeq + i) >>> 0;
        const a = p.slice(), b = p.slice();
        const ta = new Uint8Array(ns.tagLength), tb = new Uint8Array(bs.tagLength);
        ns.seal(seq, a, ta);
        bs.seal(seq, b, tb);
        assert.equal(hex(a) + hex(ta), hex(b) + hex(tb), `${label}: seal ${i}`);
        assert.equal(hex(a) + hex(ta), hex(expected[i]!.packet) + hex(expected[i]!.tag), label);
        // Each side opens what the other sealed.
        assert.equal(no.decryptLength(seq, b.subarray(0, no.firstBlockLength)), p.length - 4);
        assert.equal(no.open(seq, b, tb), true, `${label}: native open ${i}`);
        assert.equal(bo.decryptLength(seq, a.subarray(0, bo.firstBlockLength)), p.length - 4);
        assert.equal(bo.open(seq, a, ta), true, `${label}: noble open ${i}`);
        assert.equal(hex(a), hex(p), label);
        assert.equal(hex(b), hex(p), label);
      });
    }
  }
});

test("the native opener returns false for a flipped bit in the body, length or tag", () => {
  const rnd = seededRandom(77);
  for (const { cipher, mac, label } of NATIVE_PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const p = makePacket(rnd, 2000, cipher, mac);
    const sealer = allNative.createSealer(cipher, mac, keys);
    const sealed = p.slice(), tag = new Uint8Array(sealer.tagLength);
    sealer.seal(3, sealed, tag);
    const edits: [string, (pk: Uint8Array, tg: Uint8Array) => void][] = [
      ["body", (pk) => void (pk[100]! ^= 4)],
      ["length", (pk) => void (pk[2]! ^= 1)],
      ["tag", (_pk, tg) => void (tg[tg.length - 1]! ^= 1)],
    ];
    for (const [what, edit] of edits) {
      const pk = sealed.slice(), tg = tag.slice();
      edit(pk, tg);
      const before = hex(pk);
      const opener = allNative.createOpener(cipher, mac, keys);
      opener.decryptLength(3, pk.subarray(0, opener.firstBlockLength));
      assert.equal(opener.open(3, pk, tg), false, `${label}: ${what}`);
      // A failed AEAD open leaves the packet untouched: no unauthenticated plaintext.
      if (cipher.aead) assert.equal(hex(pk), before, `${label}: ${what} left intact`);
    }
  }
});

test("native chacha20-poly1305 reproduces the draft-ietf-sshm worked example", {
  skip: avail.ciphers.includes("chacha20-poly1305@openssh.com") ? false : "no native ChaCha20",
}, () => {
  const c = getCipherInfo("chacha20-poly1305@openssh.com")!;
  const keys = {
    encKey: unhex(
      "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5" +
        "e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740",
    ),
    iv: new Uint8Array(0),
    macKey: new Uint8Array(0),
  };
  const packet = unhex(
    "00000048065e00000000000000384c6f72656d20697073756d20646f6c6f7220" +
      "73697420616d65742c20636f6e73656374657475722061646970697369636" +
      "96e6720656c69744e43e804dc6c",
  );
  const tag = new Uint8Array(16);
  allNative.createSealer(c, null, keys).seal(7, packet, tag);
  assert.equal(
    hex(packet) + hex(tag),
    "2c3ecce4a5bc05895bf07a7ba956b6c68829ac7c83b780b7000ecde745afc705" +
      "bbc378ce03a280236b87b53bed5839662302b164b6286a48cd1e097138e3cb90" +
      "9b8b2b829dd18d2a35ff82d995349e855bf02c298ef775f2d1a7e8b8",
  );
});

test("native chacha20-poly1305 gives the same bytes with WebAssembly Poly1305, or without", {
  skip: avail.ciphers.includes("chacha20-poly1305@openssh.com") ? false : "no native ChaCha20",
}, () => {
  const rnd = seededRandom(0x77a5);
  const c = getCipherInfo("chacha20-poly1305@openssh.com")!;
  const keys = keysFor(rnd, c, null);
  const plain = [0, 1, 31, 500, 1500, 2500, 40000].map((n) => makePacket(rnd, n, c, null));
  const expected = referenceSeal(c, null, keys, 5, plain);
  for (const wasm of ["auto", "poly1305", "none"] as const) {
    for (const chacha of [0, 2048]) {
      const f = createNativePacketProtection({
        smallPacketThreshold: { gcm: 0, chacha, mac: 0 },
        wasm,
      });
      const s = f.createSealer(c, null, keys), o = f.createOpener(c, null, keys);
      plain.forEach((p, i) => {
        const packet = p.slice(), tag = new Uint8Array(16);
        s.seal(5 + i, packet, tag);
        assert.equal(
          hex(packet) + hex(tag),
          hex(expected[i]!.packet) + hex(expected[i]!.tag),
          wasm,
        );
        assert.equal(o.open(5 + i, packet, tag), true, wasm);
        assert.equal(hex(packet), hex(p));
      });
    }
  }
});

test("createNativePacketProtection() throws for wrong key lengths and unsupported pairs", () => {
  const ctr = getCipherInfo("aes128-ctr")!, sha = getMacInfo("hmac-sha2-256")!;
  const keys = { encKey: new Uint8Array(15), iv: new Uint8Array(16), macKey: new Uint8Array(32) };
  assert.throws(() => allNative.createSealer(ctr, sha, keys));
  assert.throws(() =>
    allNative.createOpener(ctr, sha, { ...keys, encKey: new Uint8Array(16), iv: new Uint8Array(8) })
  );
  const gcm = getCipherInfo("aes256-gcm@openssh.com")!;
  assert.throws(() =>
    allNative.createSealer(gcm, null, {
      encKey: new Uint8Array(16),
      iv: new Uint8Array(12),
      macKey: new Uint8Array(0),
    })
  );
  if (currentRuntime() === "bun") {
    const cc = getCipherInfo("chacha20-poly1305@openssh.com")!;
    assert.throws(() => allNative.createSealer(cc, null, keysFor(seededRandom(1), cc, null)));
  }
});

test("registerNativeCrypto() registers above noble and reports what it took over", () => {
  // Bun runs every test file in one process: libcrypto, if another file registered it,
  // would take these algorithms first.
  const hadLibcrypto = unregisterPacketProtection(LIBCRYPTO_PROVIDER);
  try {
    const taken = registerNativeCrypto();
    for (const name of taken) {
      assert.ok(avail.ciphers.includes(name) || avail.macs.includes(name), name);
    }
    assert.ok(taken.includes("aes128-gcm@openssh.com"));
    assert.equal(
      selectPacketProtectionProvider("aes128-gcm@openssh.com", null)?.name,
      NATIVE_PROVIDER,
    );
    assert.equal(
      selectPacketProtectionProvider("aes256-ctr", "hmac-sha2-256-etm@openssh.com")?.name,
      NATIVE_PROVIDER,
    );
    const chacha = selectPacketProtectionProvider("chacha20-poly1305@openssh.com", null)?.name;
    assert.equal(chacha, currentRuntime() === "bun" ? "noble" : NATIVE_PROVIDER);
    const gcm = getCipherInfo("aes128-gcm@openssh.com")!;
    const sealer = getPacketProtection().createSealer(
      gcm,
      null,
      keysFor(seededRandom(2), gcm, null),
    );
    assert.equal(sealer.provider, NATIVE_PROVIDER);
  } finally {
    unregisterPacketProtection(NATIVE_PROVIDER);
    if (hadLibcrypto) registerLibcrypto();
  }
});

test("the native opener never throws on random input", () => {
  const rnd = seededRandom(fuzzSeed(405));
  for (const { cipher, mac, label } of NATIVE_PAIRS) {
    const opener = hybrid.createOpener(cipher, mac, keysFor(rnd, cipher, mac));
    for (let i = 0; i < fuzzRuns(20); i++) {
      const len = 4 + (rnd(2)[0]! % 300) * opener.blockSize + (i % 3 === 0 ? rnd(1)[0]! % 5 : 0);
      opener.decryptLength(i, rnd(opener.firstBlockLength));
      assert.equal(opener.open(i, rnd(len), rnd(opener.tagLength)), false, label);
    }
  }
});

test("openDetached() returns the decrypted packet in a buffer of its own", () => {
  const rnd = seededRandom(0xde7);
  const detached = NATIVE_PAIRS.filter((p) =>
    allNative.createOpener(p.cipher, p.mac, keysFor(rnd, p.cipher, p.mac)).openDetached
  );
  const names = detached.map((p) => p.label).join(" ");
  assert.ok(names.includes("aes256-gcm") && names.includes("aes128-ctr"), names);
  assert.ok(detached.every((p) => p.cipher.aead || p.mac?.etm), "AEAD or encrypt-then-MAC only");
  for (const { cipher, mac, label } of detached) {
    for (const native of [allNative, hybrid]) {
      const keys = keysFor(rnd, cipher, mac);
      const sealer = noble.createSealer(cipher, mac, keys);
      const opener = native.createOpener(cipher, mac, keys);
      assert.ok(opener.openDetached, `${label} opens detached`);
      // Small and large packets alternate: the portable and native paths share the nonce.
      const kept: [Uint8Array, string][] = [];
      [20, 3000, 40, 33000, 5, 33000].forEach((n, i) => {
        const p = makePacket(rnd, n, cipher, mac);
        const sealed = p.slice(), tag = new Uint8Array(sealer.tagLength);
        sealer.seal(i, sealed, tag);
        const body = opener.openDetached!(i, sealed, tag);
        assert.ok(body, `${label}: packet ${i} opens`);
        assert.equal(Object.getPrototypeOf(body), Uint8Array.prototype, "a plain Uint8Array");
        assert.equal(hex(body), hex(p.subarray(4)), `${label}: packet ${i}`);
        assert.notEqual(body.buffer, sealed.buffer);
        kept.push([body, hex(p.subarray(4))]);
      });
      // Each body stays the caller's: later opens do not reuse its memory.
      for (const [body, expected] of kept) assert.equal(hex(body), expected, `${label}: kept`);
      const p = makePacket(rnd, 2000, cipher, mac);
      const sealed = p.slice(), tag = new Uint8Array(sealer.tagLength);
      sealer.seal(5, sealed, tag);
      sealed[100]! ^= 4;
      assert.equal(opener.openDetached!(5, sealed, tag), null, `${label}: a flipped bit fails`);
    }
  }
});

test("sealDetached() gives the sealed packet's bytes in chunks apart from the packet's memory", () => {
  const rnd = seededRandom(0x5ea1);
  const detached = NATIVE_PAIRS.filter((p) =>
    allNative.createSealer(p.cipher, p.mac, keysFor(rnd, p.cipher, p.mac)).sealDetached
  );
  const names = detached.map((p) => p.label).join(" ");
  assert.ok(names.includes("aes128-gcm"), names);
  assert.ok(names.includes("aes128-ctr + hmac-sha2-256-etm"), names);
  assert.ok(detached.every((p) => p.cipher.aead || p.mac?.etm), "AEAD or encrypt-then-MAC only");
  if (avail.ciphers.includes("chacha20-poly1305@openssh.com")) {
    assert.ok(names.includes("chacha20-poly1305"), names);
  }
  for (const { cipher, mac, label } of detached) {
    for (const native of [allNative, hybrid]) {
      const keys = keysFor(rnd, cipher, mac);
      const ref = noble.createSealer(cipher, mac, keys);
      const sealer = native.createSealer(cipher, mac, keys);
      // Small and large packets alternate, sealed in place and detached: one nonce sequence.
      [20, 3000, 40, 33000, 5, 33000].forEach((n, i) => {
        const p = makePacket(rnd, n, cipher, mac);
        const want = p.slice(), wantTag = new Uint8Array(ref.tagLength);
        ref.seal(i, want, wantTag);
        let got: Uint8Array;
        if (i % 2 === 0) {
          got = p.slice();
          const tag = new Uint8Array(sealer.tagLength);
          sealer.seal(i, got, tag);
          got = Uint8Array.from([...got, ...tag]);
        } else {
          const input = p.slice();
          const chunks = sealer.sealDetached!(i, input);
          for (const c of chunks) assert.notEqual(c.buffer, input.buffer, `${label}: own memory`);
          input.fill(0xee); // the transport reuses its scratch buffer
          got = Uint8Array.from(chunks.flatMap((c) => [...c]));
        }
        assert.equal(hex(got), hex(want) + hex(wantTag), `${label}: packet ${i}`);
      });
    }
  }
});

test("native AES-GCM makes its portable path for the first small packet, at the nonce reached", () => {
  const rnd = seededRandom(0x6c6d);
  const keys = { encKey: rnd(16), iv: rnd(12), macKey: new Uint8Array(0) };
  const native = new NativeGcmSealer("aes-128-gcm", keys, 128);
  const opener = new NativeGcmOpener("aes-128-gcm", keys, 128);
  const portable = new GcmSealer(keys);
  // Large packets first (native, the portable path not made yet), then small ones.
  [304, 1024, 16, 512, 48, 32, 2048, 0].forEach((n, i) => {
    const p = rnd(n + 4);
    p.set([0, 0, n >>> 8, n & 0xff]);
    const a = p.slice(), b = p.slice();
    const ta = new Uint8Array(16), tb = new Uint8Array(16);
    native.seal(i, a, ta);
    portable.seal(i, b, tb);
    assert.equal(hex(a) + hex(ta), hex(b) + hex(tb), `packet ${i} (${n} bytes)`);
    assert.equal(opener.open(i, a, ta), true, `open ${i}`);
    assert.equal(hex(a), hex(p));
  });
});
