import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { fuzzRuns, fuzzSeed } from "../_fuzz_test_util.ts";
import { MAX_PACKET_LENGTH, PacketReceiver, PacketSender } from "./packet.ts";
import { isTransient, releaseTransient } from "../transient_buffers.ts";

test("PacketSender and PacketReceiver round-trip unencrypted packets byte by byte", () => {
  const s = new PacketSender(seededRandom(1));
  const r = new PacketReceiver();
  const payloads = [new Uint8Array([1]), new Uint8Array(100).fill(7), new Uint8Array(5000).fill(9)];
  const wire = payloads.map((p) => s.seal(p));
  for (const w of wire) {
    assert.equal(w.length % 8, 0, "unencrypted packets align to 8");
    assert.ok(w[4]! >= 4, "at least 4 bytes of padding");
  }
  const got: number[][] = [];
  for (const w of wire) {
    for (const byte of w) {
      r.push(new Uint8Array([byte]));
      const p = r.next();
      if (p) got.push([...p]);
    }
  }
  assert.deepEqual(got, payloads.map((p) => [...p]));
  assert.equal(r.seq, 3);
  assert.equal(s.seq, 3);
});

test("PacketSender.seal() joins head and body without a separate buffer", () => {
  const s = new PacketSender(seededRandom(2));
  const r = new PacketReceiver();
  r.push(s.seal(new Uint8Array([94, 0, 0, 0, 1]), new Uint8Array([1, 2, 3])));
  assert.deepEqual([...r.next()!], [94, 0, 0, 0, 1, 1, 2, 3]);
});

function packet(len: number, pad: number, total = 4 + len): Uint8Array {
  const b = new Uint8Array(total);
  new DataView(b.buffer).setUint32(0, len);
  b[4] = pad;
  return b;
}

test("PacketReceiver rejects bad lengths before buffering the body", () => {
  for (const len of [0, 1, 4, MAX_PACKET_LENGTH + 4, 0xffffffff]) {
    const r = new PacketReceiver();
    r.push(packet(len, 4, 8));
    assert.throws(
      () => r.next(),
      (e: unknown) => e instanceof DisconnectError && e.code === "ERR_PACKET_LENGTH",
    );
  }
  // Length not a multiple of the block size.
  const r = new PacketReceiver();
  r.push(packet(13, 4, 8));
  assert.throws(() => r.next(), DisconnectError);
});

test("PacketReceiver rejects bad padding lengths", () => {
  for (const pad of [0, 3, 12, 255]) {
    const r = new PacketReceiver();
    r.push(packet(12, pad));
    assert.throws(
      () => r.next(),
      (e: unknown) => e instanceof DisconnectError && e.code === "ERR_PADDING",
    );
  }
});

test("PacketReceiver fuzz: random streams give packets or a DisconnectError, with bounded buffering", () => {
  const rnd = seededRandom(fuzzSeed(3));
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const r = new PacketReceiver();
    const chunk = rnd(1 + (rnd(1)[0]! % 64));
    // Half the cases start with a plausible length to reach the padding checks.
    if (i % 2) chunk.set([0, 0, 0, 12].slice(0, Math.min(4, chunk.length)));
    try {
      r.push(chunk);
      while (r.next()) { /* drain */ }
      assert.ok(r.buffered <= chunk.length);
    } catch (e) {
      assert.ok(e instanceof DisconnectError, String(e));
    }
  }
});

test("PacketReceiver takes a detached opener's output as the payload, owned by the caller", () => {
  const opened: number[] = [];
  const opener = {
    firstBlockLength: 4,
    tagLength: 1,
    blockSize: 8,
    lengthInClear: true,
    provider: "test",
    decryptLength: (_s: number, f: Uint8Array) => new DataView(f.buffer, f.byteOffset).getUint32(0),
    open: () => {
      throw new Error("open() must not be called when openDetached() exists");
    },
    // "Decrypts" by xor 0x55 into a new buffer; tag byte 1 = authentic.
    openDetached: (seq: number, packet: Uint8Array, tag: Uint8Array) => {
      opened.push(seq);
      return tag[0] === 1 ? packet.subarray(4).map((b) => b ^ 0x55) : null;
    },
  };
  const wire = (payload: number[], tag: number) => {
    const pad = 8 - ((1 + payload.length) % 8) + 8;
    const body = [pad, ...payload, ...new Array(pad).fill(0)].map((b) => b ^ 0x55);
    const len = body.length;
    return new Uint8Array([
      len >>> 24,
      (len >> 16) & 255,
      (len >> 8) & 255,
      len & 255,
      ...body,
      tag,
    ]);
  };
  const r = new PacketReceiver();
  r.setOpener(opener);
  r.push(wire([94, 1, 2, 3], 1));
  r.push(wire([2, 9], 1));
  const first = r.next()!;
  assert.deepEqual([...first], [94, 1, 2, 3]);
  assert.ok(r.payloadOwned);
  r.push(new Uint8Array(64).fill(0xee)); // reusing the receive buffer leaves the payload alone
  assert.deepEqual([...first], [94, 1, 2, 3]);
  assert.deepEqual([...r.next()!], [2, 9]);
  assert.deepEqual(opened, [0, 1]);
  const bad = new PacketReceiver();
  bad.setOpener(opener);
  bad.push(wire([94, 1], 0));
  assert.throws(() => bad.next(), (e: unknown) => e instanceof DisconnectError);
  // Without a detached opener the payload is a view of the receive buffer.
  const plain = new PacketReceiver();
  plain.push(new Uint8Array([0, 0, 0, 12, 6, 94, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0]));
  assert.deepEqual([...plain.next()!], [94, 7, 7, 7, 7]);
  assert.equal(plain.payloadOwned, false);
});

test("PacketSender.sealTo() sends large packets as a detached sealer's chunks, small ones whole", () => {
  // A toy sealer: "encrypts" by adding 1 to every byte after the length field, tag = seq.
  const sealer = {
    blockSize: 8,
    tagLength: 4,
    lengthInClear: true,
    provider: "test",
    seal(seq: number, packet: Uint8Array, tagOut: Uint8Array) {
      for (let i = 4; i < packet.length; i++) packet[i] = (packet[i]! + 1) & 0xff;
      new DataView(tagOut.buffer, tagOut.byteOffset).setUint32(0, seq);
    },
    sealDetached(seq: number, packet: Uint8Array): Uint8Array[] {
      const body = packet.slice(4).map((b) => (b + 1) & 0xff);
      const tag = new Uint8Array(4);
      new DataView(tag.buffer).setUint32(0, seq);
      return [packet.slice(0, 4), body, tag];
    },
  };
  const detached = new PacketSender(seededRandom(3));
  const inPlace = new PacketSender(seededRandom(3));
  detached.setSealer(sealer);
  const { sealDetached: _, ...withoutDetached } = sealer;
  inPlace.setSealer(withoutDetached);
  const sizes = [10, 5000, 20, 40_000, 3000];
  const sent: Uint8Array[][] = [];
  for (const [i, n] of sizes.entries()) {
    const out: Uint8Array[] = [];
    detached.sealTo(out, new Uint8Array(n).fill(i + 1));
    sent.push(out);
    assert.equal(out.length, n >= 2048 ? 3 : 1, `packet ${i}: chunks`);
  }
  // Checked after all were sealed: the shared scratch buffer was reused in between.
  for (const [i, n] of sizes.entries()) {
    const want = inPlace.seal(new Uint8Array(n).fill(i + 1));
    const got = Uint8Array.from(sent[i]!.flatMap((c) => [...c]));
    assert.deepEqual(got, want, `packet ${i}`);
  }
  assert.equal(detached.bytesSinceKex, inPlace.bytesSinceKex);
});

test("PacketReceiver drops its small buffer when it runs empty: an idle connection holds none", () => {
  const s = new PacketSender(seededRandom(3));
  const r = new PacketReceiver();
  r.push(s.seal(new Uint8Array([1, 1, 1])));
  const first = r.next()!;
  assert.equal(r.next(), undefined); // drained: the buffer goes
  assert.equal(r.buffered, 0);
  // Had the buffer been kept and reused, the next packet would overwrite `first`.
  r.push(s.seal(new Uint8Array([2, 2, 2])));
  assert.deepEqual([...r.next()!], [2, 2, 2]);
  assert.deepEqual([...first], [1, 1, 1]);
  // A packet split across pushes still arrives whole after a drop.
  const w = s.seal(new Uint8Array(300).fill(5));
  r.push(w.subarray(0, 7));
  assert.equal(r.next(), undefined);
  r.push(w.subarray(7));
  assert.deepEqual(r.next(), new Uint8Array(300).fill(5));
});

/** A sealer that seals in place (as libcrypto and the portable ciphers do): tag of ones. */
function inPlaceSealer() {
  return {
    blockSize: 16,
    tagLength: 16,
    lengthInClear: true,
    provider: "test",
    seal(_seq: number, _packet: Uint8Array, tagOut: Uint8Array) {
      tagOut.fill(1);
    },
  };
}

test("PacketSender marks a large packet sealed in place as transient, so the socket frees it once written", () => {
  // Sealing in place (libcrypto on Deno and Bun, the pure-JavaScript ciphers) gives each
  // packet a buffer of its own: unmarked, a bulk upload left every one to the collector.
  const sealer = inPlaceSealer();
  const s = new PacketSender(seededRandom(4));
  s.setSealer(sealer);
  const big: Uint8Array[] = [];
  s.sealTo(big, new Uint8Array(32768));
  assert.equal(big.length, 1);
  assert.equal(isTransient(big[0]!), true);
  assert.equal(releaseTransient(big[0]!), true, "the socket's release frees it");
  const small: Uint8Array[] = [];
  s.sealTo(small, new Uint8Array(100));
  assert.equal(isTransient(small[0]!), false, "a small packet is left to the collector");
});

test("PacketSender places a large body where its address matches the source's mod 16", () => {
  // Bun copies 32 KiB up to ten times slower when the destination is 1–15 bytes past the
  // source modulo 4 KiB; congruent mod 16 never is.
  const sealer = inPlaceSealer();
  const plain = new PacketSender(seededRandom(5));
  const s = new PacketSender(seededRandom(5));
  s.setSealer(sealer);
  plain.setSealer(sealer);
  const source = new Uint8Array(40000).map((_, i) => i & 0xff);
  const head = new Uint8Array([94, 0, 0, 0, 1, 0, 0, 128, 0]);
  for (const at of [0, 1, 7, 13]) {
    const body = source.subarray(at, at + 32768);
    const out: Uint8Array[] = [];
    s.sealTo(out, head, body);
    const packet = out[0]!;
    const bodyAt = packet.byteOffset + 5 + head.length;
    assert.equal(bodyAt % 16, body.byteOffset % 16, `source at ${at}`);
    // The bytes are those of a packet sealed without the choice.
    const want = plain.seal(new Uint8Array([...head, ...body]));
    assert.deepEqual([...packet.subarray(0, 4 + 1)], [...want.subarray(0, 5)]);
    assert.deepEqual([...packet.subarray(5, 5 + 9 + 32768)], [...want.subarray(5, 5 + 9 + 32768)]);
  }
});
