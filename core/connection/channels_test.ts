import { test } from "node:test";
import assert from "node:assert/strict";
import { type DisconnectDetail, DisconnectError, LocalProtocolError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { SSHWriter } from "../wire.ts";
import { isTransient } from "../transient_buffers.ts";
import { LayerPair } from "./_layer_pair.ts";
import { ChannelOpenFailure, MAX_GLOBAL_REQUEST_DATA } from "./channels.ts";
import { MAX_CHANNEL_PACKET, MAX_PACKET_LENGTH } from "../limits.ts";

/** A pair where b accepts every channel and a has channel `id` open. */
function openPair(
  window?: number,
  maxPacket?: number,
): { p: LayerPair; id: number; bId: number } {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") pair.b.layer.acceptChannel(e.channelId);
    },
  });
  const opts = { ...(window !== undefined ? { window } : {}), ...(maxPacket ? { maxPacket } : {}) };
  const id = p.a.layer.openChannel("session", undefined, opts);
  p.run();
  assert.equal(LayerPair.of(p.a, "channelOpen").length, 1);
  const bId = LayerPair.of(p.b, "channelOpenRequest")[0]!.channelId;
  return { p, id, bId };
}

function expectChannelError(f: () => void, detail: DisconnectDetail): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof DisconnectError, `expected DisconnectError, got ${e}`);
    assert.equal(e.code, "ERR_CHANNEL");
    assert.equal(e.detail, detail);
    return true;
  });
}

test("ConnectionLayer.openChannel() is confirmed and data flows both ways", () => {
  const { p, id, bId } = openPair();
  assert.equal(p.a.layer.sendData(id, new Uint8Array([1, 2, 3])), 3);
  assert.equal(p.b.layer.sendData(bId, new Uint8Array([4]), 1), 1);
  p.run();
  const bData = LayerPair.of(p.b, "channelData");
  const aData = LayerPair.of(p.a, "channelData");
  assert.deepEqual([...bData[0]!.data], [1, 2, 3]);
  assert.equal(bData[0]!.stream, 0);
  assert.deepEqual([...aData[0]!.data], [4]);
  assert.equal(aData[0]!.stream, 1, "extended data keeps its type code");
  // Each event's data is a buffer of its own, which a consumer that copied it may free.
  assert.ok(isTransient(bData[0]!.data) && isTransient(aData[0]!.data));
  assert.notEqual(bData[0]!.data.buffer, aData[0]!.data.buffer);
});

test("ConnectionLayer.sendData() stops at the peer's window and resumes on WINDOW_ADJUST", () => {
  const q = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") {
        pair.b.layer.acceptChannel(e.channelId, { window: 1000, maxPacket: 300 });
      }
    },
  });
  const qid = q.a.layer.openChannel("session");
  q.run();
  const qb = LayerPair.of(q.b, "channelOpenRequest")[0]!.channelId;
  assert.equal(q.a.layer.writableBytes(qid), 1000);
  assert.equal(q.a.layer.sendData(qid, new Uint8Array(2500)), 1000, "only the window");
  assert.equal(q.a.outbox.length, 4, "split at the peer's max packet (300)");
  q.run();
  assert.equal(q.a.layer.writableBytes(qid), 0);
  // b's application consumes: a drained window reopens at once.
  q.b.layer.consume(qb, 400);
  q.run();
  assert.equal(LayerPair.of(q.a, "channelWritable").length, 1);
  assert.equal(q.a.layer.writableBytes(qid), 400);
});

test("ConnectionLayer.consume() batches WINDOW_ADJUST while the window is mostly open", () => {
  const { p, id, bId } = openPair(1000);
  p.b.layer.sendData(bId, new Uint8Array(200));
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 800);
  p.a.layer.consume(id, 100);
  assert.equal(p.a.outbox.length, 0, "800 + 100 left: no adjust yet");
  p.b.layer.sendData(bId, new Uint8Array(500));
  p.run();
  p.a.layer.consume(id, 100);
  assert.equal(p.a.outbox.length, 1, "300 + 200 left: half the window, the 200 go back");
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 500);
});

test("ConnectionLayer.consume() returns a slow consumer's backlog in eighths, not per packet", () => {
  const { p, id, bId } = openPair(64 * 1024);
  // b fills a's whole window before a's application reads anything.
  assert.equal(p.b.layer.sendData(bId, new Uint8Array(64 * 1024)), 64 * 1024);
  p.run();
  const adjusts = () =>
    p.a.outbox.filter((m) => m[0] === Msg.CHANNEL_WINDOW_ADJUST).map((m) =>
      new DataView(m.buffer, m.byteOffset).getUint32(5)
    );
  // The backlog is read 1 KiB at a time: the window goes back 8 KiB at a time (an adjust
  // per read was one write per packet on both sides during a slow download).
  for (let i = 0; i < 16; i++) p.a.layer.consume(id, 1024);
  assert.deepEqual(adjusts(), [8192, 8192]);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 16 * 1024);
});

test("ConnectionLayer.consume() ignores a count that is no number of bytes", () => {
  const { p, id, bId } = openPair(1000);
  p.b.layer.sendData(bId, new Uint8Array(1000));
  p.run();
  // NaN once left the batch count NaN: no adjust ever again, and the channel stalled.
  for (const bad of [Number.NaN, -5, 0]) p.a.layer.consume(id, bad);
  p.a.layer.consume(id, 1000);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 1000);
});

test("a channel advertises at most the largest data packet the transport can receive", () => {
  // 256 KiB of data plus its header and padding would exceed the 256 KiB packet limit: the
  // peer, sending what was advertised, would have the connection dropped.
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") {
        pair.b.layer.acceptChannel(e.channelId, { maxPacket: 1024 * 1024 });
      }
    },
  });
  const id = p.a.layer.openChannel("session", undefined, { maxPacket: 256 * 1024 });
  p.run();
  const bId = LayerPair.of(p.b, "channelOpenRequest")[0]!.channelId;
  assert.equal(p.b.layer.info(bId)!.remoteMaxPacket, MAX_CHANNEL_PACKET);
  assert.equal(p.a.layer.info(id)!.remoteMaxPacket, MAX_CHANNEL_PACKET);
  // The largest such packet, sealed, fits the transport's limit with the most padding.
  assert.ok(MAX_CHANNEL_PACKET + 13 + 1 + 255 <= MAX_PACKET_LENGTH);
  assert.equal(p.b.layer.sendData(bId, new Uint8Array(MAX_CHANNEL_PACKET), 1), MAX_CHANNEL_PACKET);
  p.run();
  assert.equal(LayerPair.of(p.a, "channelData")[0]!.data.length, MAX_CHANNEL_PACKET);
  for (const bad of [0, -1, 1.5, Number.NaN]) {
    assert.throws(
      () => p.a.layer.openChannel("session", undefined, { maxPacket: bad }),
      LocalProtocolError,
    );
  }
});

test("ConnectionLayer.acceptChannel() keeps to the window and maximum packet it advertised", () => {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") {
        pair.b.layer.acceptChannel(e.channelId, { window: 256 * 1024, maxPacket: 64 * 1024 });
      }
    },
  });
  const id = p.a.layer.openChannel("session");
  p.run();
  const bId = LayerPair.of(p.b, "channelOpenRequest")[0]!.channelId;
  assert.equal(p.a.layer.info(id)!.remoteMaxPacket, 64 * 1024);
  // A 64 KiB packet is within what b advertised (the default maximum is 32 KiB).
  assert.equal(p.a.layer.sendData(id, new Uint8Array(64 * 1024)), 64 * 1024);
  assert.equal(p.a.outbox.length, 1);
  p.run();
  assert.equal(LayerPair.of(p.b, "channelData")[0]!.data.length, 64 * 1024);
  // Window adjusts are batched by the advertised 256 KiB window, not the 2 MiB default.
  p.b.layer.consume(bId, 64 * 1024);
  assert.equal(p.b.outbox.length, 0, "a quarter consumed: no adjust yet");
  p.b.layer.consume(bId, 64 * 1024);
  assert.equal(p.b.outbox.length, 1, "half consumed: the window goes back");
});

test("ConnectionLayer.setWindowSize() grants a larger window at once and batches by it", () => {
  const { p, id, bId } = openPair(1000);
  const adjusts = () =>
    p.a.outbox.filter((m) => m[0] === Msg.CHANNEL_WINDOW_ADJUST).map((m) =>
      new DataView(m.buffer, m.byteOffset).getUint32(5)
    );
  p.a.layer.setWindowSize(id, 8000);
  assert.deepEqual(adjusts(), [7000], "the difference, in one adjust");
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 8000);
  // Adjusts are batched by the new size: 3000 consumed of 8000 is under half (by the old
  // 1000 it would have gone back at 500).
  assert.equal(p.b.layer.sendData(bId, new Uint8Array(3000)), 3000);
  p.run();
  p.a.layer.consume(id, 3000);
  assert.deepEqual(adjusts(), []);
  p.b.layer.sendData(bId, new Uint8Array(1000));
  p.run();
  p.a.layer.consume(id, 1000);
  assert.deepEqual(adjusts(), [4000]);
  p.run();
  // The peer may fill the whole new window; a's check keeps to it.
  assert.equal(p.b.layer.sendData(bId, new Uint8Array(9000)), 8000);
  p.run();
  const got = LayerPair.of(p.a, "channelData").reduce((n, e) => n + e.data.length, 0);
  assert.equal(got, 12000);
});

test("ConnectionLayer.setWindowSize() smaller takes nothing back; invalid sizes throw", () => {
  const { p, id, bId } = openPair(8000);
  p.a.layer.setWindowSize(id, 2000);
  assert.equal(p.a.outbox.length, 0, "a grant cannot be withdrawn");
  assert.equal(p.b.layer.writableBytes(bId), 8000);
  p.b.layer.sendData(bId, new Uint8Array(8000));
  p.run();
  p.a.layer.consume(id, 1000);
  assert.equal(p.a.outbox.length, 1, "half of the new 2000 consumed: the window goes back");
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 1000);
  // The rest consumed: the peer's grant grows back to the new size, not the old one.
  for (let i = 0; i < 7; i++) p.a.layer.consume(id, 1000);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 2000, "the smaller window took effect");
  p.b.layer.sendData(bId, new Uint8Array(2000));
  p.run();
  p.a.layer.consume(id, 2000);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 2000);
  for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => p.a.layer.setWindowSize(id, bad), RangeError, String(bad));
  }
  assert.throws(() => p.a.layer.setWindowSize(99, 4096), LocalProtocolError);
});

test("ConnectionLayer.setWindowSize() smaller then larger again grants the peer no more than the size", () => {
  const { p, id, bId } = openPair(1 << 20);
  // The peer has sent nothing: its 1 MiB grant outlives each narrowing, so widening back to
  // 1 MiB grants nothing (it granted the difference again each time, without bound).
  for (let i = 0; i < 10; i++) {
    p.a.layer.setWindowSize(id, 64 * 1024);
    p.a.layer.setWindowSize(id, 1 << 20);
    p.run();
  }
  assert.equal(p.b.layer.writableBytes(bId), 1 << 20);
  // A reader that never reads holds at most the window, however often it is resized.
  let sent = 0;
  for (let i = 0; i < 10; i++) {
    p.a.layer.setWindowSize(id, 64 * 1024);
    sent += p.b.layer.sendData(bId, new Uint8Array(p.b.layer.writableBytes(bId)));
    p.a.layer.setWindowSize(id, 1 << 20);
    p.run();
  }
  assert.equal(sent, 1 << 20);
  assert.equal(p.b.layer.writableBytes(bId), 0);
  // Read, the window comes back to the size kept, and a larger size grants the difference.
  p.a.layer.consume(id, 1 << 20);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 1 << 20);
  p.a.layer.setWindowSize(id, 64 * 1024);
  p.a.layer.setWindowSize(id, 2 << 20);
  p.run();
  assert.equal(p.b.layer.writableBytes(bId), 2 << 20);
});

test("ConnectionLayer.setWindowSize() before the open is confirmed is granted once it is", () => {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") pair.b.layer.acceptChannel(e.channelId);
    },
  });
  const id = p.a.layer.openChannel("session", undefined, { window: 4096 });
  p.a.layer.setWindowSize(id, 1 << 20);
  p.run();
  const bId = LayerPair.of(p.b, "channelOpenRequest")[0]!.channelId;
  assert.equal(p.b.layer.writableBytes(bId), 1 << 20, "the wider window reached the peer");
  // Narrowed before the confirmation: nothing more is granted.
  const id2 = p.a.layer.openChannel("session", undefined, { window: 4096 });
  p.a.layer.setWindowSize(id2, 1024);
  p.run();
  const bId2 = LayerPair.of(p.b, "channelOpenRequest")[1]!.channelId;
  assert.equal(p.b.layer.writableBytes(bId2), 4096);
  assert.ok(id2 !== id);
});

test("ConnectionLayer rejects channel data past the window with a channel error", () => {
  const { p, bId } = openPair(100);
  // b ignores a's window by writing the message by hand.
  const remote = p.b.layer.info(bId)!;
  assert.equal(remote.remoteWindow, 100);
  const msg = new SSHWriter().writeByte(Msg.CHANNEL_DATA).writeUint32(0).writeString(
    new Uint8Array(101),
  ).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(msg[0]!, msg), "window-exceeded");
});

test("ConnectionLayer rejects a data packet over its maximum packet size", () => {
  const { p } = openPair(1 << 20, 1024);
  const msg = new SSHWriter().writeByte(Msg.CHANNEL_DATA).writeUint32(0).writeString(
    new Uint8Array(1025),
  ).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(msg[0]!, msg), "packet-too-large");
});

test("ConnectionLayer rejects data after EOF, and refuses to send after its own EOF", () => {
  const { p, id, bId } = openPair();
  p.b.layer.sendEof(bId);
  p.run();
  assert.equal(LayerPair.of(p.a, "channelEof").length, 1);
  const msg = new SSHWriter().writeByte(Msg.CHANNEL_DATA).writeUint32(id).writeString(
    new Uint8Array(1),
  ).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(msg[0]!, msg), "data-after-eof");
  p.a.layer.sendEof(id);
  assert.throws(() => p.a.layer.sendData(id, new Uint8Array(1)), LocalProtocolError);
  assert.equal(p.a.layer.writableBytes(id), 0);
});

test("ConnectionLayer closes in order: both sides see channelClose once and the id is freed", () => {
  const { p, id, bId } = openPair();
  p.a.layer.sendData(id, new Uint8Array(5));
  p.a.layer.sendEof(id);
  p.a.layer.close(id);
  p.a.layer.close(id); // idempotent
  p.run();
  const bTypes = p.b.events.filter((e) => "channelId" in e && e.channelId === bId).map((e) =>
    e.type
  );
  assert.deepEqual(bTypes, ["channelOpenRequest", "channelData", "channelEof", "channelClose"]);
  assert.equal(LayerPair.of(p.a, "channelClose").length, 1);
  assert.equal(p.a.layer.size, 0);
  assert.equal(p.b.layer.size, 0);
  // The freed id: moot, as for every other answer (the layer cannot tell whether the
  // application has seen channelClose yet).
  assert.equal(p.a.layer.sendData(id, new Uint8Array(1)), 0);
});

test("ConnectionLayer.holdClose(): the peer's CLOSE waits for close(), with a request (exit-status) before it", () => {
  const { p, id, bId } = openPair();
  p.b.layer.holdClose(bId);
  p.b.layer.sendEof(bId);
  p.a.layer.sendEof(id);
  p.a.layer.close(id);
  p.run();
  const bTypes = () =>
    p.b.events.filter((e) => "channelId" in e && e.channelId === bId).map((e) => e.type);
  assert.deepEqual(bTypes(), ["channelOpenRequest", "channelEof", "channelCloseReceived"]);
  assert.equal(LayerPair.of(p.a, "channelClose").length, 0, "a waits for b's CLOSE");
  // Still b's to use: a request goes out, then the CLOSE.
  p.b.layer.sendRequest(bId, "exit-status", false, new Uint8Array(4));
  p.b.layer.close(bId);
  p.run();
  const aRequests = LayerPair.of(p.a, "channelRequest");
  assert.equal(aRequests.length, 0, "a closed already: the request is moot for its application");
  assert.equal(LayerPair.of(p.a, "channelClose").length, 1);
  assert.deepEqual(bTypes().slice(-1), ["channelClose"]);
  assert.equal(p.a.layer.size, 0);
  assert.equal(p.b.layer.size, 0);
});

test("ConnectionLayer without holdClose answers the peer's CLOSE at once", () => {
  const { p, id, bId } = openPair();
  p.a.layer.close(id);
  p.run();
  assert.equal(LayerPair.of(p.a, "channelClose").length, 1);
  assert.equal(LayerPair.of(p.b, "channelCloseReceived").length, 0);
  assert.equal(p.b.layer.size, 0);
  void bId;
});

test("ConnectionLayer: answers for a channel freed while its events wait are moot, not misuse", () => {
  const { p, id, bId } = openPair();
  // b asks with want_reply and closes in one go: a has freed the channel by the time its
  // application answers the request event.
  p.b.layer.sendRequest(bId, "env", true);
  p.b.layer.close(bId);
  p.run();
  assert.deepEqual(
    p.a.events.filter((e) => "channelId" in e && e.channelId === id).map((e) => e.type),
    ["channelOpen", "channelRequest", "channelClose"],
  );
  assert.equal(p.a.layer.size, 0, "freed");
  p.a.layer.replyChannelRequest(id, true);
  p.a.layer.sendEof(id);
  p.a.layer.sendRequest(id, "exit-status", false);
  p.a.layer.setWindowSize(id, 4096);
  assert.equal(p.a.layer.sendData(id, new Uint8Array(8)), 0, "data for a freed channel");
  assert.equal(p.a.outbox.length, 0, "nothing sent");
  p.run();
  // An id never handed out is still a misuse.
  assert.throws(() => p.a.layer.replyChannelRequest(id + 1, true), LocalProtocolError);
  assert.throws(() => p.a.layer.sendEof(-1), LocalProtocolError);
  assert.throws(() => p.a.layer.sendData(id + 1, new Uint8Array(1)), LocalProtocolError);
});

test("ConnectionLayer.close() before confirmation closes once confirmed, silently", () => {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") pair.b.layer.acceptChannel(e.channelId);
    },
  });
  const id = p.a.layer.openChannel("session");
  p.a.layer.close(id);
  p.run();
  assert.equal(LayerPair.of(p.a, "channelOpen").length, 0);
  assert.equal(p.a.layer.size, 0);
  assert.equal(p.b.layer.size, 0);
  assert.deepEqual(p.a.events, [{ type: "channelClose", channelId: id }]);
});

test("ConnectionLayer.close() before a refusal still ends with the channelClose it promised", () => {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") {
        pair.b.layer.rejectChannel(e.channelId, ChannelOpenFailure.CONNECT_FAILED, "No route");
      }
    },
  });
  const id = p.a.layer.openChannel("direct-tcpip");
  p.a.layer.close(id);
  p.run();
  // As when the peer confirms (above): one channelClose, the id free, no open or failure.
  assert.deepEqual(p.a.events, [{ type: "channelClose", channelId: id }]);
  assert.equal(p.a.layer.size, 0);
});

test("ConnectionLayer answers channel requests in order, with and without want_reply", () => {
  const { p, id } = openPair();
  p.a.layer.sendRequest(id, "env", false);
  p.a.layer.sendRequest(id, "pty-req", true);
  p.a.layer.sendRequest(id, "shell", true);
  p.run();
  const reqs = LayerPair.of(p.b, "channelRequest");
  assert.deepEqual(reqs.map((r) => [r.request, r.wantReply]), [
    ["env", false],
    ["pty-req", true],
    ["shell", true],
  ]);
  const bId = reqs[0]!.channelId;
  p.b.layer.replyChannelRequest(bId, false);
  p.b.layer.replyChannelRequest(bId, true);
  assert.throws(() => p.b.layer.replyChannelRequest(bId, true), LocalProtocolError);
  p.run();
  assert.deepEqual(LayerPair.of(p.a, "channelRequestReply").map((r) => [r.request, r.success]), [
    ["pty-req", false],
    ["shell", true],
  ]);
});

test("ConnectionLayer sends global replies in arrival order even when answered out of order", () => {
  const p = new LayerPair();
  const id1 = p.a.layer.sendGlobalRequest("first", true);
  p.a.layer.sendGlobalRequest("quiet", false);
  const id2 = p.a.layer.sendGlobalRequest("second", true);
  p.run();
  const got = LayerPair.of(p.b, "globalRequest");
  assert.deepEqual(got.map((g) => g.name), ["first", "quiet", "second"]);
  p.b.layer.replyGlobalRequest(got[2]!.requestId, true, new Uint8Array([0, 0, 0, 7]));
  p.run();
  assert.equal(LayerPair.of(p.a, "globalRequestReply").length, 0, "held until 'first' is answered");
  p.b.layer.replyGlobalRequest(got[0]!.requestId, false);
  p.run();
  const replies = LayerPair.of(p.a, "globalRequestReply");
  assert.deepEqual(replies.map((r) => [r.requestId, r.name, r.success]), [
    [id1, "first", false],
    [id2, "second", true],
  ]);
  assert.deepEqual([...replies[1]!.data], [0, 0, 0, 7]);
  assert.throws(() => p.b.layer.replyGlobalRequest(got[0]!.requestId, true), LocalProtocolError);
});

test("ConnectionLayer refuses an oversized global request itself, in order", () => {
  const p = new LayerPair();
  p.a.layer.sendGlobalRequest("small", true);
  p.a.layer.sendGlobalRequest("huge", true, new Uint8Array(MAX_GLOBAL_REQUEST_DATA + 1));
  p.a.layer.sendGlobalRequest("huge-quiet", false, new Uint8Array(MAX_GLOBAL_REQUEST_DATA + 1));
  p.run();
  const got = LayerPair.of(p.b, "globalRequest");
  assert.deepEqual(got.map((g) => g.name), ["small"], "the big ones never reach the application");
  assert.equal(LayerPair.of(p.a, "globalRequestReply").length, 0);
  p.b.layer.replyGlobalRequest(got[0]!.requestId, true);
  p.run();
  assert.deepEqual(LayerPair.of(p.a, "globalRequestReply").map((r) => [r.name, r.success]), [
    ["small", true],
    ["huge", false],
  ]);
});

test("ConnectionLayer disconnects on a global request name longer than 256 bytes", () => {
  const p = new LayerPair();
  const msg = new SSHWriter().writeByte(Msg.GLOBAL_REQUEST).writeStringUtf8("x".repeat(300))
    .writeBoolean(true).toBytes();
  assert.throws(() => p.b.layer.handleMessage(msg[0]!, msg), { code: "ERR_WIRE_LIMIT" });
});

test("ConnectionLayer treats requests and data on unknown channels as channel errors", () => {
  const p = new LayerPair();
  const req = new SSHWriter().writeByte(Msg.CHANNEL_REQUEST).writeUint32(42).writeStringUtf8(
    "exit-status",
  ).writeBoolean(false).writeUint32(0).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(req[0]!, req), "unknown-channel");
  for (const type of [Msg.CHANNEL_EOF, Msg.CHANNEL_CLOSE, Msg.CHANNEL_SUCCESS]) {
    const m = new SSHWriter().writeByte(type).writeUint32(7).toBytes();
    expectChannelError(() => p.a.layer.handleMessage(m[0]!, m), "unknown-channel");
  }
  const reply = new Uint8Array([Msg.REQUEST_SUCCESS]);
  expectChannelError(() => p.a.layer.handleMessage(reply[0]!, reply), "reply-without-request");
});

test("ConnectionLayer sends data packets of at most 256 KiB whatever maximum the peer advertises", () => {
  const { p } = openPair();
  // b opens a channel advertising a 16 MiB window and the largest maximum packet a uint32 holds.
  const open = new SSHWriter().writeByte(Msg.CHANNEL_OPEN).writeStringUtf8("session").writeUint32(7)
    .writeUint32(16 * 1024 * 1024).writeUint32(0xffffffff).toBytes();
  p.a.layer.handleMessage(open[0]!, open);
  const request = LayerPair.of(p.a, "channelOpenRequest").at(-1)!;
  p.a.layer.acceptChannel(request.channelId);
  p.a.outbox.length = 0;
  assert.equal(p.a.layer.sendData(request.channelId, new Uint8Array(1024 * 1024)), 1024 * 1024);
  const data = p.a.outbox.filter((m) => m[0] === Msg.CHANNEL_DATA);
  assert.ok(data.length >= 5, `${data.length} packets for 1 MiB`);
  for (const m of data) assert.ok(m.length <= 9 + MAX_CHANNEL_PACKET, `a ${m.length}-byte payload`);
});

test("ConnectionLayer refuses a duplicate open of a live peer channel id and keeps the first", () => {
  const { p } = openPair();
  // b opens channel 5 twice with the same sender id.
  const open = new SSHWriter().writeByte(Msg.CHANNEL_OPEN).writeStringUtf8("x11").writeUint32(5)
    .writeUint32(1000).writeUint32(1000).toBytes();
  p.a.layer.handleMessage(open[0]!, open);
  const first = LayerPair.of(p.a, "channelOpenRequest");
  assert.equal(first.length, 1);
  p.a.layer.acceptChannel(first[0]!.channelId);
  p.a.outbox.length = 0;
  p.a.layer.handleMessage(open[0]!, open);
  assert.equal(LayerPair.of(p.a, "channelOpenRequest").length, 1, "no second request");
  assert.equal(p.a.outbox.length, 1);
  assert.equal(p.a.outbox[0]![0], Msg.CHANNEL_OPEN_FAILURE);
  assert.ok(p.a.layer.info(first[0]!.channelId)!.open, "the first channel is untouched");
});

test("ConnectionLayer disconnects on a second confirmation of the same channel", () => {
  const { p, id } = openPair();
  const conf = new SSHWriter().writeByte(Msg.CHANNEL_OPEN_CONFIRMATION).writeUint32(id)
    .writeUint32(9).writeUint32(100).writeUint32(100).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(conf[0]!, conf), "duplicate-confirmation");
});

test("ConnectionLayer refuses opens past maxChannels with RESOURCE_SHORTAGE", () => {
  const p = new LayerPair({
    maxChannels: 2,
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") pair.b.layer.acceptChannel(e.channelId);
    },
  });
  for (let i = 0; i < 2; i++) p.b.layer.openChannel("x11");
  p.run();
  // a has 2 incoming, unanswered; a third is refused without an event.
  const ids = LayerPair.of(p.a, "channelOpenRequest");
  assert.equal(ids.length, 2);
  const open = new SSHWriter().writeByte(Msg.CHANNEL_OPEN).writeStringUtf8("x11").writeUint32(77)
    .writeUint32(1000).writeUint32(1000).toBytes();
  p.a.layer.handleMessage(open[0]!, open);
  assert.equal(LayerPair.of(p.a, "channelOpenRequest").length, 2);
  assert.equal(p.a.outbox[0]![0], Msg.CHANNEL_OPEN_FAILURE);
  assert.equal(new DataView(p.a.outbox[0]!.buffer).getUint32(5), 4, "RESOURCE_SHORTAGE");
  assert.equal(ChannelOpenFailure.RESOURCE_SHORTAGE, 4);
  assert.throws(() => p.a.layer.openChannel("session"), LocalProtocolError);
});

test("ConnectionLayer disconnects on a window adjust past 2^32-1", () => {
  const { p, id } = openPair();
  const adj = new SSHWriter().writeByte(Msg.CHANNEL_WINDOW_ADJUST).writeUint32(id).writeUint32(
    0xffffffff,
  ).toBytes();
  expectChannelError(() => p.a.layer.handleMessage(adj[0]!, adj), "window-overflow");
});

test("ConnectionLayer.rejectChannel() sends OPEN_FAILURE with reason and description", () => {
  const p = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "channelOpenRequest") {
        pair.b.layer.rejectChannel(e.channelId, ChannelOpenFailure.CONNECT_FAILED, "No route");
      }
    },
  });
  const id = p.a.layer.openChannel("direct-tcpip");
  p.run();
  assert.deepEqual(LayerPair.of(p.a, "channelOpenFailure"), [{
    type: "channelOpenFailure",
    channelId: id,
    reason: ChannelOpenFailure.CONNECT_FAILED,
    description: "No route",
  }]);
  assert.equal(p.a.layer.size, 0);
});

test("ConnectionLayer drops data for a channel it is closing, keeping window accounting", () => {
  const { p, id, bId } = openPair();
  p.a.layer.close(id);
  // b sends data before it sees a's CLOSE.
  p.b.layer.sendData(bId, new Uint8Array(10));
  p.run();
  assert.equal(LayerPair.of(p.a, "channelData").length, 0);
  assert.equal(LayerPair.of(p.a, "channelClose").length, 1);
});

test("unanswered keepalives share one pending entry, and replies still match their requests", () => {
  const p = new LayerPair();
  // A peer that answers keepalives with UNIMPLEMENTED (or not at all): nothing comes back.
  for (let i = 0; i < 1000; i++) p.a.layer.sendKeepaliveProbe();
  p.a.outbox.length = 0;
  assert.equal(p.a.layer.pendingGlobalEntries, 1);
  // Other requests queue behind it, an application's keepalive request too (it waits for its
  // own reply); a probe after them starts a new entry.
  p.a.layer.sendGlobalRequest("tcpip-forward", true);
  p.a.layer.sendGlobalRequest("keepalive@openssh.com", true);
  p.a.layer.sendKeepaliveProbe();
  p.a.layer.sendKeepaliveProbe();
  assert.equal(p.a.layer.pendingGlobalEntries, 4);
  // A peer that does answer: replies pop one request each, in order.
  const q = new LayerPair({
    onB: (e, pair) => {
      if (e.type === "globalRequest") pair.b.layer.replyGlobalRequest(e.requestId, false);
    },
  });
  q.a.layer.sendKeepaliveProbe();
  q.a.layer.sendKeepaliveProbe();
  const fwd = q.a.layer.sendGlobalRequest("tcpip-forward", true);
  q.run();
  const replies = LayerPair.of(q.a, "globalRequestReply");
  assert.deepEqual(replies.map((r) => r.name), [
    "keepalive@openssh.com",
    "keepalive@openssh.com",
    "tcpip-forward",
  ]);
  assert.equal(replies[2]!.requestId, fwd);
  assert.equal(q.a.layer.pendingGlobalEntries, 0);
});
