/**
 * socketFromWebDuplex keeps the ByteSocket contract: the readable ending is the peer's end
 * and our side may still write (half-close, as TCP), nothing is delivered after `close`, a
 * failed write stops the reading too, and pause() holds a read already waiting.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { socketFromWebDuplex } from "./web_duplex.ts";
import type { SocketHandlers } from "./socket.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our duplex, and the peer's writer and reader of the other ends. */
function pair() {
  const toUs = new TransformStream<Uint8Array, Uint8Array>();
  const toPeer = new TransformStream<Uint8Array, Uint8Array>();
  return {
    ours: { readable: toUs.readable, writable: toPeer.writable },
    peerW: toUs.writable.getWriter(),
    peerR: toPeer.readable.getReader(),
  };
}

function recorder(events: string[]): SocketHandlers {
  return {
    data: (c) => void events.push(`data:${c.length}`),
    end: () => void events.push("end"),
    error: (e) => void events.push(`error:${e.message}`),
    drain: () => {},
    close: () => void events.push("close"),
  };
}

test("the peer ending its side is an end; we still write, and close comes after our end()", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  await p.peerW.close();
  await sleep(10);
  assert.deepEqual(events, ["end"], "no close yet: our side is open");
  assert.equal(s.write(new Uint8Array(1000)), true);
  s.end();
  let got = 0;
  for (;;) {
    const { value, done } = await p.peerR.read();
    if (done) break;
    got += value.length;
  }
  assert.equal(got, 1000, "what we wrote after the peer's end arrived, then our end");
  await sleep(10);
  assert.deepEqual(events, ["end", "close"]);
});

test("destroy() while a read waits reports close alone, nothing after it", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  await sleep(10);
  s.destroy();
  await sleep(20);
  assert.deepEqual(events, ["close"]);
});

test("a failed write is an error and a close, and the peer's later data is not delivered", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  await p.peerR.cancel(new Error("peer gone")); // our writes fail from now on
  s.write(new Uint8Array(5));
  await sleep(10);
  await p.peerW.write(new Uint8Array(7)).catch(() => {}); // refused: our reading stopped
  await sleep(10);
  assert.deepEqual(events, ["error:peer gone", "close"]);
});

test("pause() holds a read that was already waiting; resume() delivers it", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  await sleep(10); // the adapter waits in a read
  s.pause();
  await p.peerW.write(new Uint8Array(10));
  await sleep(20);
  assert.equal(events.length, 0, `nothing while paused: ${events}`);
  s.resume();
  await sleep(10);
  assert.deepEqual(events, ["data:10"]);
  s.destroy();
});

test("end() twice while the writable closes slowly ends once, without an error", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  s.write(new Uint8Array(3)); // unread: the writable's close waits behind it
  s.end();
  s.end();
  await sleep(10);
  const { value } = await p.peerR.read();
  assert.equal(value?.length, 3);
  assert.equal((await p.peerR.read()).done, true);
  await p.peerW.close();
  await sleep(10);
  assert.deepEqual(events, ["end", "close"], "no error from a second close of the writable");
});

test("closeAfterFlush() delivers what was written, ends, then closes without the peer's end", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  s.write(new Uint8Array(1000));
  s.closeAfterFlush!();
  let got = 0;
  for (;;) {
    const { value, done } = await p.peerR.read();
    if (done) break;
    got += value.length;
  }
  assert.equal(got, 1000);
  await sleep(10);
  assert.deepEqual(events, ["close"], "closed although the peer never ended its side");
  await assert.rejects(p.peerW.write(new Uint8Array(1)), "our reading stopped");
});

test("a stream that fails without a reason is an error that says so, not 'undefined'", async () => {
  const p = pair();
  const s = socketFromWebDuplex(p.ours);
  const events: string[] = [];
  s.setHandlers(recorder(events));
  await p.peerW.abort(); // no reason: our reads fail with undefined
  await sleep(10);
  assert.deepEqual(events, ["error:the stream failed without a reason", "close"]);
});
