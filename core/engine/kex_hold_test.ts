/**
 * Channel data during a key exchange: the transport holds what we send until NEWKEYS, so
 * `writableBytes` bounds what a writer may hand over then (MAX_KEX_HELD_CHANNEL_DATA), whatever
 * window the peer granted — PuTTY grants 2 GiB, and a writer that went by the window alone
 * queued past MAX_DEFERRED_BYTES, which ended the connection.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair } from "../testing/fixtures.ts";
import { MAX_DEFERRED_BYTES, MAX_KEX_HELD_CHANNEL_DATA } from "../limits.ts";

test("writableBytes holds a writer to MAX_KEX_HELD_CHANNEL_DATA during a rekey, and data flows after it", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  const c = pair.client.openChannel("session");
  pair.run();
  const open = pair.serverEvents.find((e) => e.type === "channelOpenRequest");
  assert.ok(open?.type === "channelOpenRequest");
  pair.server.acceptChannel(open.channelId, { window: 0x7fffffff }); // PuTTY's window
  pair.run();
  assert.equal(pair.client.writableBytes(c) > MAX_DEFERRED_BYTES, true);

  pair.client.rekey();
  assert.notEqual(pair.client.transport.phase, "idle");
  const chunk = new Uint8Array(256 * 1024).fill(7);
  let sent = 0;
  // A writer that sends while the engine says it may: it must stop well before the cap.
  for (let i = 0; i < 1000 && pair.client.writableBytes(c) > 0; i++) {
    sent += pair.client.sendData(c, chunk.subarray(0, pair.client.writableBytes(c)));
  }
  assert.equal(pair.client.closed, false);
  assert.ok(sent > 0 && sent <= MAX_KEX_HELD_CHANNEL_DATA, `sent ${sent} during the exchange`);
  assert.equal(pair.client.writableBytes(c), 0);

  // The exchange ends: what was held goes out, and the window is the peer's again.
  pair.run();
  assert.equal(pair.client.transport.phase, "idle");
  assert.equal(pair.client.transport.kexCount, 2);
  let received = 0;
  for (const e of pair.serverEvents) {
    if (e.type === "channelData" && e.channelId === open.channelId) received += e.data.length;
  }
  assert.equal(received, sent);
  assert.ok(pair.client.writableBytes(c) > MAX_KEX_HELD_CHANNEL_DATA);
});

test("a writer that waits for channelWritable goes on after the exchange, and sendData keeps to the cap too", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  const c = pair.client.openChannel("session");
  pair.run();
  const open = pair.serverEvents.find((e) => e.type === "channelOpenRequest");
  assert.ok(open?.type === "channelOpenRequest");
  pair.server.acceptChannel(open.channelId, { window: 0x7fffffff });
  pair.run();
  pair.client.rekey();
  // sendData alone (no writableBytes asked) takes no more than the cap during the exchange.
  const big = new Uint8Array(MAX_KEX_HELD_CHANNEL_DATA + 65536);
  let sent = 0;
  for (let i = 0; i < 1000; i++) {
    const n = pair.client.sendData(c, big.subarray(0, 32768));
    if (n === 0) break;
    sent += n;
  }
  assert.ok(sent <= MAX_KEX_HELD_CHANNEL_DATA && sent > 0, `sent ${sent}`);
  assert.equal(pair.client.sendData(c, big), 0);
  assert.equal(pair.client.closed, false);
  // The peer's window never closed, so only the announcement after the exchange wakes a
  // writer that waits for channelWritable.
  const before = pair.clientEvents.filter((e) => e.type === "channelWritable").length;
  pair.run();
  assert.equal(pair.client.transport.phase, "idle");
  const after = pair.clientEvents.filter((e) => e.type === "channelWritable" && e.channelId === c);
  assert.ok(after.length > before, "a channelWritable event after the exchange");
  assert.equal(pair.client.sendData(c, big.subarray(0, 1000)), 1000);
});
