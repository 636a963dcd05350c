/**
 * AgentFrameReader with a peer that sends a byte at a time (an agent client on a
 * socket, a forwarded agent channel of one-byte packets): every frame comes out
 * whole, and a 256 KiB frame in 262 148 chunks is joined in linear time (a shift()
 * per chunk took the event loop for most of a minute on Node and Deno).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AGENT_MAX_FRAME, AgentFrameReader, encodeAgentFrame } from "./protocol.ts";

function body(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

test("AgentFrameReader joins a 256 KiB frame sent one byte per chunk, in linear time", () => {
  const frame = encodeAgentFrame(body(AGENT_MAX_FRAME, 7));
  const r = new AgentFrameReader();
  const started = Date.now();
  let got: Uint8Array | undefined;
  for (let i = 0; i < frame.length; i++) {
    r.push(frame.subarray(i, i + 1));
    got = r.next() ?? got;
  }
  const ms = Date.now() - started;
  assert.deepEqual(got, frame.subarray(4));
  assert.equal(r.buffered, 0);
  // Linear work is well under a second; the quadratic join took 50 s and more.
  assert.ok(ms < 10_000, `joining took ${ms} ms`);
});

test("AgentFrameReader returns every frame of many pushed a byte at a time before any is read", () => {
  const bodies = Array.from({ length: 3000 }, (_, i) => body(1 + (i % 40), i));
  const stream = new Uint8Array(bodies.reduce((n, b) => n + 4 + b.length, 0));
  let o = 0;
  for (const b of bodies) {
    stream.set(encodeAgentFrame(b), o);
    o += 4 + b.length;
  }
  const r = new AgentFrameReader();
  const started = Date.now();
  for (let i = 0; i < stream.length; i++) r.push(stream.subarray(i, i + 1));
  const out: Uint8Array[] = [];
  for (let b; (b = r.next());) out.push(b);
  assert.ok(Date.now() - started < 10_000);
  assert.equal(out.length, bodies.length);
  out.forEach((b, i) => assert.deepEqual(b, bodies[i], `frame ${i}`));
  assert.equal(r.buffered, 0);
  // Still usable: a frame split over chunks of every size after the compactions.
  const last = encodeAgentFrame(body(1000, 99));
  for (let i = 0; i < last.length; i += 7) r.push(last.subarray(i, i + 7));
  assert.deepEqual(r.next(), last.subarray(4));
  assert.equal(r.next(), undefined);
});
