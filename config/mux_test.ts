import assert from "node:assert/strict";
import { test } from "node:test";
import { createDefaultSuite, defaultAlgorithmPreferences } from "../core/suite/default_suite.ts";
import { SSHWriter } from "../core/wire.ts";
import { fuzzRuns, fuzzSeed } from "../core/_fuzz_test_util.ts";
import {
  decodeMuxMessage,
  decodeProxyPacket,
  encodeMuxAliveCheck,
  encodeMuxHello,
  encodeMuxProxy,
  encodeProxyPacket,
  MAX_MUX_MESSAGE,
  MuxFrameReader,
  MuxMsg,
  MuxProtocolError,
} from "./mux.ts";
import { MuxProxyEngine } from "./mux_engine.ts";

function frame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

test("mux messages encode as PROTOCOL.mux lays them out and decode back", () => {
  assert.deepEqual([...encodeMuxHello()], [0, 0, 0, 8, 0, 0, 0, 1, 0, 0, 0, 4]);
  assert.deepEqual([...encodeMuxProxy(7)], [0, 0, 0, 8, 0x10, 0, 0, 0x0f, 0, 0, 0, 7]);
  assert.deepEqual(decodeMuxMessage(encodeMuxAliveCheck(3).subarray(4)), {
    type: "other",
    msgType: MuxMsg.C_ALIVE_CHECK,
  });
  const hello = new SSHWriter().writeUint32(MuxMsg.HELLO).writeUint32(4).writeStringUtf8("x")
    .writeStringUtf8("y").toBytes();
  assert.deepEqual(decodeMuxMessage(hello), {
    type: "hello",
    version: 4,
    extensions: [["x", "y"]],
  });
  const proxy = new SSHWriter().writeUint32(MuxMsg.S_PROXY).writeUint32(1).toBytes();
  assert.deepEqual(decodeMuxMessage(proxy), { type: "proxy", requestId: 1 });
  const fail = new SSHWriter().writeUint32(MuxMsg.S_FAILURE).writeUint32(1).writeStringUtf8("no")
    .toBytes();
  assert.deepEqual(decodeMuxMessage(fail), { type: "failure", requestId: 1, reason: "no" });
  assert.throws(() => decodeMuxMessage(new Uint8Array([0x80, 0, 0, 0x0f])), MuxProtocolError);
});

test("MuxFrameReader reassembles split frames and refuses oversized ones", () => {
  const r = new MuxFrameReader(64);
  const data = new Uint8Array([...encodeMuxHello(), ...encodeMuxProxy(2)]);
  for (const b of data) r.push(new Uint8Array([b]));
  assert.equal(r.next()?.length, 8);
  assert.equal(r.next()?.length, 8);
  assert.equal(r.next(), undefined);
  r.push(new Uint8Array([0, 0, 1, 0]));
  assert.throws(() => r.next(), MuxProtocolError);
});

test("MuxFrameReader gives the same frames however the stream is cut, and the rest after them", () => {
  // Frames of 0 to 3000 bytes, each filled with its own index.
  const frames = Array.from({ length: 40 }, (_, i) => new Uint8Array((i * 77) % 3001).fill(i));
  const stream: number[] = [];
  for (const f of frames) stream.push(0, 0, f.length >> 8, f.length & 255, ...f);
  stream.push(0, 0, 0, 9, 1, 2); // a frame still arriving
  let seed = 5;
  const rand = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  for (let round = 0; round < 20; round++) {
    const r = new MuxFrameReader(4096);
    const got: Uint8Array[] = [];
    for (let off = 0; off < stream.length;) {
      const n = 1 + rand(round % 2 ? 7 : 5000);
      r.push(Uint8Array.from(stream.slice(off, off + n)));
      off += n;
      for (let f = r.next(); f; f = r.next()) got.push(f);
    }
    assert.deepEqual(got, frames);
    assert.deepEqual([...r.rest()], [0, 0, 0, 9, 1, 2]);
    assert.equal(r.rest().length, 0);
  }
});

test("proxy packets carry a zero padding length before the message", () => {
  const p = encodeProxyPacket(new Uint8Array([94, 0, 0, 0, 1]), new Uint8Array([9]));
  assert.deepEqual([...p], [0, 0, 0, 7, 0, 94, 0, 0, 0, 1, 9]);
  assert.deepEqual([...decodeProxyPacket(p.subarray(4))], [94, 0, 0, 0, 1, 9]);
  assert.throws(() => decodeProxyPacket(new Uint8Array([5, 1])), MuxProtocolError);
});

function engine(): MuxProxyEngine {
  return new MuxProxyEngine({
    username: "u",
    suite: createDefaultSuite(),
    algorithms: defaultAlgorithmPreferences(),
  });
}

test("MuxProxyEngine opens channels with no handshake and delivers the master's replies", () => {
  const e = engine();
  assert.equal(e.authenticated, true);
  assert.deepEqual(e.takeOutgoing(), []); // no version line, no KEXINIT
  assert.equal(e.outgoingBytes, 0);
  const id = e.openChannel("session");
  // The driver writes what outgoingBytes announces: it must count the proxy frames.
  const announced = e.outgoingBytes;
  const out = e.takeOutgoing();
  assert.equal(out.length, 1);
  assert.equal(announced, out[0]!.length);
  assert.equal(e.outgoingBytes, 0);
  const open = decodeProxyPacket(out[0]!.subarray(4));
  assert.equal(open[0], 90); // CHANNEL_OPEN
  const confirm = new SSHWriter().writeByte(91).writeUint32(id).writeUint32(5).writeUint32(1 << 20)
    .writeUint32(32768).toBytes();
  e.receiveData(encodeProxyPacket(confirm));
  const ev = e.pollEvent();
  assert.equal(ev?.type, "channelOpen");
  // Widening the window goes through the proxy's own channel table (a WINDOW_ADJUST frame).
  e.setWindowSize(id, 4 << 20);
  const adjust = e.takeOutgoing();
  assert.equal(adjust.length, 1);
  const msg = decodeProxyPacket(adjust[0]!.subarray(4));
  assert.equal(msg[0], 93); // CHANNEL_WINDOW_ADJUST
  assert.equal(new DataView(msg.buffer, msg.byteOffset).getUint32(5), (4 << 20) - (1 << 21));
  // The master owns the transport: a DEBUG message is refused, not queued where none reads.
  assert.throws(() => e.sendDebug("x"), /owns the transport/);
  assert.equal(e.outgoingBytes, 0);
  e.receiveEof();
  assert.equal(e.closed, true);
  assert.equal(e.pollEvent()?.type, "disconnect");
});

test("MuxProxyEngine turns a transport message or garbage from the master into a disconnect", () => {
  for (const bad of [encodeProxyPacket(new Uint8Array([20, 1, 2])), frame(new Uint8Array([200]))]) {
    const e = engine();
    e.receiveData(bad);
    assert.equal(e.closed, true);
    const ev = e.pollEvent();
    assert.ok(ev?.type === "disconnect" && ev.error.code === "ERR_PROTOCOL");
  }
});

test("mux decoding survives random input (seeded) with typed errors only", () => {
  let s = fuzzSeed(0x1234567);
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < fuzzRuns(3000); i++) {
    const n = Math.floor(rnd() * 40);
    const b = new Uint8Array(n).map(() => Math.floor(rnd() * 256));
    if (rnd() < 0.5 && n >= 4) {
      new DataView(b.buffer).setUint32(
        0,
        [MuxMsg.HELLO, MuxMsg.S_PROXY, MuxMsg.S_FAILURE, MuxMsg.S_ALIVE][i % 4]!,
      );
    }
    try {
      decodeMuxMessage(b);
    } catch (e) {
      assert.ok(e instanceof MuxProtocolError, String(e));
    }
    const r = new MuxFrameReader(MAX_MUX_MESSAGE);
    r.push(b);
    try {
      while (r.next() !== undefined);
    } catch (e) {
      assert.ok(e instanceof MuxProtocolError);
    }
    if (i % 20 === 0) {
      const en = engine();
      en.receiveData(frame(b));
      en.receiveData(b);
    }
  }
});
