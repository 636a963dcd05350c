import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { seededRandom } from "../random.ts";
import { MAX_PACKET_LENGTH, PacketReceiver, PacketSender } from "./packet.ts";

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
  const rnd = seededRandom(3);
  for (let i = 0; i < 2000; i++) {
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
