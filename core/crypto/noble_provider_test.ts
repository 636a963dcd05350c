import { test } from "node:test";
import assert from "node:assert/strict";
import { LocalProtocolError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { noblePacketProtection } from "./noble_provider.ts";
import { getCipherInfo, getMacInfo, SUPPORTED_CIPHERS, SUPPORTED_MACS } from "./registry.ts";
import { allPairs, hex, keysFor, makePacket, referenceSeal, unhex } from "./_test_util.ts";

const PAIRS = allPairs(
  SUPPORTED_CIPHERS.map((n) => getCipherInfo(n)!),
  SUPPORTED_MACS.map((n) => getMacInfo(n)!),
);
const PAYLOADS = [0, 1, 27, 300, 2049];

test("noblePacketProtection seals every cipher+MAC exactly like the noble-only reference", () => {
  const rnd = seededRandom(4253);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const plain = PAYLOADS.map((n) => makePacket(rnd, n, cipher, mac));
    const firstSeq = 0xfffffffd; // runs through the 2^32 wrap
    const expected = referenceSeal(cipher, mac, keys, firstSeq, plain);
    const sealer = noblePacketProtection.createSealer(cipher, mac, keys);
    const opener = noblePacketProtection.createOpener(cipher, mac, keys);
    plain.forEach((p, i) => {
      const seq = (firstSeq + i) >>> 0;
      const packet = p.slice();
      const tag = new Uint8Array(sealer.tagLength);
      sealer.seal(seq, packet, tag);
      assert.equal(hex(packet), hex(expected[i]!.packet), `${label}: packet ${i}`);
      assert.equal(hex(tag), hex(expected[i]!.tag), `${label}: tag ${i}`);
      // Open the way the transport does: length first, from the packet's first bytes.
      const first = packet.subarray(0, opener.firstBlockLength);
      assert.equal(opener.decryptLength(seq, first), p.length - 4, `${label}: length ${i}`);
      assert.equal(opener.open(seq, packet, tag), true, `${label}: open ${i}`);
      assert.equal(hex(packet), hex(p), `${label}: plaintext ${i}`);
    });
  }
});

test("noblePacketProtection opens when decryptLength was given a separate copy of the first block", () => {
  const rnd = seededRandom(7);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const sealer = noblePacketProtection.createSealer(cipher, mac, keys);
    const opener = noblePacketProtection.createOpener(cipher, mac, keys);
    for (let seq = 0; seq < 3; seq++) {
      const p = makePacket(rnd, 40, cipher, mac);
      const packet = p.slice(), tag = new Uint8Array(sealer.tagLength);
      sealer.seal(seq, packet, tag);
      const copy = packet.slice(0, opener.firstBlockLength);
      assert.equal(opener.decryptLength(seq, copy), p.length - 4, label);
      assert.equal(opener.open(seq, packet, tag), true, label);
      assert.equal(hex(packet), hex(p), label);
    }
  }
});

test("decryptLength() called twice before open() gives the same length", () => {
  const rnd = seededRandom(8);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const p = makePacket(rnd, 33, cipher, mac);
    const packet = p.slice(), tag = new Uint8Array(64);
    noblePacketProtection.createSealer(cipher, mac, keys).seal(1, packet, tag);
    const opener = noblePacketProtection.createOpener(cipher, mac, keys);
    const first = () => packet.subarray(0, opener.firstBlockLength);
    assert.equal(opener.decryptLength(1, first()), p.length - 4, label);
    assert.equal(opener.decryptLength(1, first()), p.length - 4, label);
    assert.equal(opener.open(1, packet, tag.subarray(0, opener.tagLength)), true, label);
    assert.equal(hex(packet), hex(p), label);
  }
});

test("noblePacketProtection gives the same bytes for unaligned buffers", () => {
  const rnd = seededRandom(99);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const p = makePacket(rnd, 500, cipher, mac);
    const a = p.slice(), ta = new Uint8Array(64);
    noblePacketProtection.createSealer(cipher, mac, keys).seal(5, a, ta);
    const b = new Uint8Array(p.length + 3).subarray(3), tb = new Uint8Array(65).subarray(1);
    b.set(p);
    noblePacketProtection.createSealer(cipher, mac, keys).seal(5, b, tb);
    assert.equal(hex(b), hex(a), label);
    assert.equal(hex(tb), hex(ta.subarray(0, 64)), label);
    const opener = noblePacketProtection.createOpener(cipher, mac, keys);
    opener.decryptLength(5, b.subarray(0, opener.firstBlockLength));
    assert.equal(opener.open(5, b, tb.subarray(0, opener.tagLength)), true, label);
    assert.equal(hex(b), hex(p), label);
  }
});

test("open() returns false for a flipped bit in the body, the length or the tag, or a wrong seq", () => {
  const rnd = seededRandom(2);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const p = makePacket(rnd, 64, cipher, mac);
    const sealed = p.slice(), tag = new Uint8Array(64);
    const sealer = noblePacketProtection.createSealer(cipher, mac, keys);
    sealer.seal(9, sealed, tag);
    const t = tag.subarray(0, sealer.tagLength);
    const tamper = (what: string, seq: number, edit: (pk: Uint8Array, tg: Uint8Array) => void) => {
      const pk = sealed.slice(), tg = t.slice();
      edit(pk, tg);
      const opener = noblePacketProtection.createOpener(cipher, mac, keys);
      opener.decryptLength(seq, pk.subarray(0, opener.firstBlockLength));
      assert.equal(opener.open(seq, pk, tg), false, `${label}: ${what}`);
    };
    tamper("body", 9, (pk) => void (pk[pk.length - 3]! ^= 0x10));
    tamper("length", 9, (pk) => void (pk[3]! ^= 0x01));
    tamper("tag", 9, (_pk, tg) => void (tg[0]! ^= 0x80));
    // AES-GCM authenticates its invocation counter, not the sequence number (RFC 5647).
    if (!cipher.name.includes("-gcm@")) tamper("seq", 10, () => {});
  }
});

test("open() rejects a packet replayed as the next packet", () => {
  const rnd = seededRandom(6);
  for (const { cipher, mac, label } of PAIRS) {
    const keys = keysFor(rnd, cipher, mac);
    const sealer = noblePacketProtection.createSealer(cipher, mac, keys);
    const opener = noblePacketProtection.createOpener(cipher, mac, keys);
    const sealed = makePacket(rnd, 30, cipher, mac), tag = new Uint8Array(sealer.tagLength);
    sealer.seal(0, sealed, tag);
    const again = sealed.slice();
    opener.decryptLength(0, sealed.subarray(0, opener.firstBlockLength));
    assert.equal(opener.open(0, sealed, tag), true, label);
    opener.decryptLength(1, again.subarray(0, opener.firstBlockLength));
    assert.equal(opener.open(1, again, tag), false, label);
  }
});

test("open() returns false instead of throwing for truncated or misaligned input", () => {
  const rnd = seededRandom(3);
  for (const { cipher, mac, label } of PAIRS) {
    const opener = noblePacketProtection.createOpener(cipher, mac, keysFor(rnd, cipher, mac));
    assert.equal(opener.open(0, new Uint8Array(2), new Uint8Array(64)), false, label);
    assert.equal(opener.open(0, new Uint8Array(4 + 13), new Uint8Array(64)), false, label);
    assert.equal(opener.open(0, new Uint8Array(32), new Uint8Array(1)), false, label);
  }
});

test("createSealer() and createOpener() throw for wrong key, IV or MAC key lengths", () => {
  const rnd = seededRandom(4);
  for (const { cipher, mac, label } of PAIRS) {
    const good = keysFor(rnd, cipher, mac);
    const bad = [
      { ...good, encKey: new Uint8Array(good.encKey.length + 1) },
      { ...good, iv: new Uint8Array(good.iv.length + 4) },
      ...(mac ? [{ ...good, macKey: new Uint8Array(good.macKey.length - 1) }] : []),
    ];
    for (const keys of bad) {
      assert.throws(
        () => noblePacketProtection.createSealer(cipher, mac, keys),
        LocalProtocolError,
        label,
      );
      assert.throws(
        () => noblePacketProtection.createOpener(cipher, mac, keys),
        LocalProtocolError,
        label,
      );
    }
  }
  const ctr = getCipherInfo("aes128-ctr")!;
  assert.throws(
    () => noblePacketProtection.createSealer(ctr, null, keysFor(rnd, ctr, null)),
    LocalProtocolError,
  );
});

test("sealers and openers report the layout the transport needs", () => {
  const rnd = seededRandom(5);
  const layout = (cipher: string, mac: string | null) => {
    const c = getCipherInfo(cipher)!, m = mac ? getMacInfo(mac)! : null;
    const keys = keysFor(rnd, c, m);
    const s = noblePacketProtection.createSealer(c, m, keys);
    const o = noblePacketProtection.createOpener(c, m, keys);
    assert.equal(s.provider, "noble");
    assert.deepEqual(
      [s.blockSize, s.tagLength, s.lengthInClear],
      [o.blockSize, o.tagLength, o.lengthInClear],
    );
    return [o.firstBlockLength, o.blockSize, o.tagLength, o.lengthInClear];
  };
  // chacha20-poly1305: padding excludes the length field, as in OpenSSH (aadlen = 4).
  assert.deepEqual(layout("chacha20-poly1305@openssh.com", null), [4, 8, 16, true]);
  assert.deepEqual(layout("aes256-gcm@openssh.com", null), [4, 16, 16, true]);
  assert.deepEqual(layout("aes128-ctr", "hmac-sha2-512-etm@openssh.com"), [4, 16, 64, true]);
  assert.deepEqual(layout("aes192-ctr", "hmac-sha1"), [16, 16, 20, false]);
  assert.deepEqual(layout("aes256-cbc", "hmac-sha2-256"), [16, 16, 32, false]);
});

// draft-ietf-sshm-chacha20-poly1305-04, Appendix A: key material, seq 7, one packet.
const DRAFT_KEY = unhex(
  "8bbff6855fc102338c373e73aac0c914f076a905b2444a32eecaffeae22becc5" +
    "e9b7a7a5825a8249346ec1c28301cf394543fc7569887d76e168f37562ac0740",
);
const DRAFT_PLAIN = unhex(
  "00000048065e00000000000000384c6f72656d20697073756d20646f6c6f7220" +
    "73697420616d65742c20636f6e73656374657475722061646970697369636" +
    "96e6720656c69744e43e804dc6c",
);
const DRAFT_SENT = "2c3ecce4a5bc05895bf07a7ba956b6c68829ac7c83b780b7000ecde745afc705" +
  "bbc378ce03a280236b87b53bed5839662302b164b6286a48cd1e097138e3cb90" +
  "9b8b2b829dd18d2a35ff82d995349e855bf02c298ef775f2d1a7e8b8";

test("chacha20-poly1305@openssh.com reproduces the draft-ietf-sshm worked example", () => {
  const c = getCipherInfo("chacha20-poly1305@openssh.com")!;
  const keys = { encKey: DRAFT_KEY, iv: new Uint8Array(0), macKey: new Uint8Array(0) };
  const packet = DRAFT_PLAIN.slice(), tag = new Uint8Array(16);
  noblePacketProtection.createSealer(c, null, keys).seal(7, packet, tag);
  assert.equal(hex(packet) + hex(tag), DRAFT_SENT);
  const opener = noblePacketProtection.createOpener(c, null, keys);
  assert.equal(opener.decryptLength(7, packet.subarray(0, 4)), 0x48);
  assert.equal(opener.open(7, packet, tag), true);
  assert.equal(hex(packet), hex(DRAFT_PLAIN));
});

test("decryptLength() and open() never throw on random input", () => {
  const rnd = seededRandom(fuzzSeed(404));
  for (const { cipher, mac, label } of PAIRS) {
    const opener = noblePacketProtection.createOpener(cipher, mac, keysFor(rnd, cipher, mac));
    for (let i = 0; i < fuzzRuns(20); i++) {
      const len = 4 + (rnd(1)[0]! % 8) * opener.blockSize + (i % 3 === 0 ? rnd(1)[0]! % 5 : 0);
      const packet = rnd(len), tag = rnd(opener.tagLength);
      opener.decryptLength(i, rnd(opener.firstBlockLength));
      assert.equal(typeof opener.open(i, packet, tag), "boolean", label);
    }
  }
});
