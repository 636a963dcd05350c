/**
 * ChannelIO's readables are byte streams: a default reader gets each packet's own buffer
 * without a copy, a BYOB reader gets the bytes copied into its buffer while the packet's
 * is freed at once (on Bun the packet's buffer is moved into the stream, which copies it into
 * the reader's), a buffer the channel does not own is copied, and the window reopens by what
 * the reader took either way.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChannelEngine, ChannelIO, ENQUEUE_FILLS_BYOB, WRITE_BURST_BYTES } from "./channel.ts";
import { markTransient } from "../../core/transient_buffers.ts";
import { ChannelClosedError } from "./errors.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";

class StubEngine implements ChannelEngine {
  consumed = 0;
  closed = false;
  sendData(_id: number, _data: Uint8Array): number {
    return 0;
  }
  writableBytes(): number {
    return 0;
  }
  consume(_id: number, n: number): void {
    this.consumed += n;
  }
  windowSizes: number[] = [];
  setWindowSize(_id: number, size: number): void {
    this.windowSizes.push(size);
  }
  sendEof(): void {}
  closeChannel(): void {}
  sendChannelRequest(): void {}
  replyChannelRequest(_id: number, _ok: boolean): void {}
}

const pump = { pump() {}, whenDrained: () => Promise.resolve(), socketFull: false };

function channel(): { engine: StubEngine; ch: ChannelIO } {
  const engine = new StubEngine();
  return { engine, ch: new ChannelIO(1, engine, pump, 1 << 20) };
}

/** A packet buffer of the channel's own, as the connection layer emits it. */
function packet(bytes: number[]): Uint8Array {
  const b = Uint8Array.from(bytes);
  markTransient(b);
  return b;
}

function data(ch: ChannelIO, d: Uint8Array, stream = 0): void {
  ch.handleEvent({ type: "channelData", channelId: 1, stream, data: d });
}

test("a default reader gets the packet's own buffer, moved into the stream, not copied", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader();
  const d = packet([1, 2, 3]);
  data(ch, d);
  assert.equal(d.byteLength, 0, "the buffer moved into the stream (enqueue transfers it)");
  const { value } = await reader.read();
  assert.deepEqual([...value!], [1, 2, 3]);
  assert.equal(engine.consumed, 3);
});

test("a buffer the channel does not own is copied, and the caller's copy stays intact", async () => {
  const { ch } = channel();
  const reader = ch.readable(1).getReader();
  const shared = new Uint8Array(4096);
  shared.set([7, 8, 9], 100);
  const d = shared.subarray(100, 103);
  data(ch, d, 1);
  assert.deepEqual([...d], [7, 8, 9]);
  assert.equal(shared.byteLength, 4096);
  const { value } = await reader.read();
  assert.deepEqual([...value!], [7, 8, 9]);
});

test("a BYOB reader gets the bytes in its own buffer and the packet's buffer is freed", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const pending = reader.read(new Uint8Array(16));
  const d = packet([4, 5, 6, 7]);
  data(ch, d);
  assert.equal(d.byteLength, 0, "freed at once");
  const { value } = await pending;
  assert.equal(value!.buffer.byteLength, 16, "the reader's buffer, filled in place");
  assert.deepEqual([...value!], [4, 5, 6, 7]);
  assert.equal(engine.consumed, 4);
});

test("a BYOB read smaller than the packet takes a part; the rest waits for the next read", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const first = reader.read(new Uint8Array(3));
  data(ch, packet([1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual([...(await first).value!], [1, 2, 3]);
  assert.deepEqual([...(await reader.read(new Uint8Array(3))).value!], [4, 5, 6]);
  assert.deepEqual([...(await reader.read(new Uint8Array(3))).value!], [7]);
  assert.equal(engine.consumed, 7);
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  assert.equal((await reader.read(new Uint8Array(3))).done, true);
});

/** Reads a BYOB stream to its end (or error), each read into a fresh buffer of `size`. */
async function readAll(
  reader: ReadableStreamBYOBReader,
  size: number,
): Promise<{ bytes: number[]; reads: number[][]; end: true | string }> {
  const reads: number[][] = [];
  for (;;) {
    const r = await reader.read(new Uint8Array(size)).then((x) => x, (e: Error) => e.message);
    if (typeof r === "string") return { bytes: reads.flat(), reads, end: r };
    if (r.done) return { bytes: reads.flat(), reads, end: true };
    reads.push([...r.value]);
  }
}

test("packets that arrive together answer one BYOB read, in order; a full buffer answers at once", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const first = reader.read(new Uint8Array(8));
  const a = packet([1, 2, 3]), b = packet([4, 5, 6]), c = packet([7, 8, 9]);
  data(ch, a);
  data(ch, b); // the same turn: copied behind the first
  assert.equal(
    a.byteLength + b.byteLength,
    0,
    "both packets freed (or moved into the stream) at once",
  );
  data(ch, c); // 8 bytes fill the buffer: answered now, the rest waits in the stream
  if (ENQUEUE_FILLS_BYOB) {
    // Bun: each packet is enqueued and answers the waiting read itself, in order.
    const bytes = [...(await first).value!];
    assert.deepEqual(bytes, [1, 2, 3]);
    for (let r; bytes.length < 9 && !(r = await reader.read(new Uint8Array(8))).done;) {
      bytes.push(...r.value!);
    }
    assert.deepEqual(bytes, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The window reopens by what was read; a read left waiting still ends at EOF.
    const waiting = reader.read(new Uint8Array(8));
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(engine.consumed, 9);
    ch.handleEvent({ type: "channelEof", channelId: 1 });
    assert.equal((await waiting).done, true);
  } else {
    assert.deepEqual([...(await first).value!], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual([...(await reader.read(new Uint8Array(8))).value!], [9]);
  }
  assert.equal(engine.consumed, 9);
});

test("bytes copied into a waiting BYOB read are not lost when EOF or an abort follows in the same turn", async () => {
  for (const end of ["eof", "abort"] as const) {
    const { ch } = channel();
    const reader = ch.readable(0).getReader({ mode: "byob" });
    const pending = reader.read(new Uint8Array(16));
    data(ch, packet([1, 2]));
    data(ch, packet([3]));
    if (end === "eof") ch.handleEvent({ type: "channelEof", channelId: 1 });
    else ch.abort(new Error("connection lost"));
    const first = [...(await pending).value!];
    // One answer for both packets (on Bun, one per packet: see ENQUEUE_FILLS_BYOB).
    assert.deepEqual(first, ENQUEUE_FILLS_BYOB ? [1, 2] : [1, 2, 3], end);
    const rest = await readAll(reader, 16);
    assert.deepEqual([...first, ...rest.bytes], [1, 2, 3], end);
    assert.equal(rest.end, end === "eof" ? true : "connection lost");
  }
});

test("empty data packets are skipped, text and Response consumers still read everything", async () => {
  const { ch } = channel();
  data(ch, new Uint8Array(0));
  data(ch, packet([104, 105]));
  data(ch, new Uint8Array(0));
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  assert.equal(await new Response(ch.readable(0)).text(), "hi");
});

test("nothing is reported consumed while the data sits unread in the stream", async () => {
  const { engine, ch } = channel();
  data(ch, packet([1, 2, 3, 4]));
  assert.equal(engine.consumed, 0);
  const reader = ch.readable(0).getReader();
  await reader.read();
  assert.equal(engine.consumed, 4);
});

test("a BYOB read waiting when EOF comes resolves as done (it does not hang)", {
  timeout: 10_000,
}, async () => {
  const { ch } = channel();
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const pending = reader.read(new Uint8Array(8));
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  const r = await pending;
  assert.equal(r.done, true);
  assert.equal(r.value?.byteLength, 0);
});

test("a BYOB read waiting when the connection dies rejects with the reason", async () => {
  const { ch } = channel();
  const reader = ch.readable(1).getReader({ mode: "byob" });
  const pending = reader.read(new Uint8Array(8));
  const why = new Error("connection lost");
  ch.abort(why);
  await assert.rejects(pending, (e) => e === why);
});

test("data queued when the connection dies is read first; the error comes after it", async () => {
  const { ch } = channel();
  const stdout = ch.readable(0);
  data(ch, packet([1, 2, 3]));
  data(ch, packet([4, 5]));
  const why = new Error("connection lost");
  ch.abort(why);
  const reader = stdout.getReader();
  assert.deepEqual([...(await reader.read()).value!], [1, 2, 3]);
  assert.deepEqual([...(await reader.read()).value!], [4, 5]);
  await assert.rejects(reader.read(), (e) => e === why);
  // A stream with nothing queued fails at once, a BYOB reader after a partial read too.
  await assert.rejects(ch.readable(1).getReader().read(), (e) => e === why);
});

test("a BYOB reader drains what was queued before the connection died, then gets the error", async () => {
  const { ch } = channel();
  data(ch, packet([1, 2, 3, 4, 5, 6]));
  const why = new Error("connection lost");
  ch.abort(why);
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const got: number[] = [];
  for (let i = 0; i < 3; i++) got.push(...(await reader.read(new Uint8Array(2))).value!);
  assert.deepEqual(got, [1, 2, 3, 4, 5, 6]);
  await assert.rejects(reader.read(new Uint8Array(2)), (e) => e === why);
});

test("data queued before EOF and a connection drop reads to a normal end", async () => {
  const { ch } = channel();
  data(ch, packet([7, 8]));
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  ch.abort(new Error("connection lost"));
  assert.equal(await new Response(ch.readable(0)).text(), "\x07\x08");
});

test("a big write goes out a burst at a time, waiting for a full socket between bursts", async () => {
  const sent: number[] = [];
  const engine = new StubEngine();
  engine.writableBytes = () => 64 << 20; // the peer grants plenty
  engine.sendData = (_id: number, d: Uint8Array) => {
    sent.push(d.length);
    return d.length;
  };
  let full = false;
  let drained!: () => void;
  const socket = {
    pump() {
      full = sent.reduce((a, b) => a + b, 0) > 0; // the first burst fills the socket
    },
    whenDrained: () => new Promise<void>((r) => (drained = r)),
    get socketFull() {
      return full;
    },
  };
  const ch = new ChannelIO(1, engine, socket, 1 << 20);
  const done = ch.write(new Uint8Array(3 * WRITE_BURST_BYTES + 5));
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(sent, [WRITE_BURST_BYTES], "one burst, then it waits for the drain");
  for (let i = 0; i < 3; i++) {
    full = false;
    drained();
    await new Promise((r) => setTimeout(r, 0));
  }
  await done;
  assert.deepEqual(sent, [WRITE_BURST_BYTES, WRITE_BURST_BYTES, WRITE_BURST_BYTES, 5]);
});

test("close() fails the writes waiting for window at once, and later ones too", async () => {
  const { ch } = channel(); // the stub grants no window: a write waits
  const waiting = ch.write(new Uint8Array(10));
  ch.close();
  await assert.rejects(waiting, ChannelClosedError);
  await assert.rejects(ch.write(new Uint8Array(1)), ChannelClosedError);
});

test("lent data (borrowed) is copied into the queue and BYOB views, never moved or freed", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader();
  const receiveBuffer = new Uint8Array(64).fill(5);
  ch.handleEvent({
    type: "channelData",
    channelId: 1,
    stream: 0,
    data: receiveBuffer.subarray(10, 20),
    borrowed: true,
  });
  assert.equal(receiveBuffer.byteLength, 64, "not transferred into the stream");
  receiveBuffer.fill(0); // the engine reuses its buffer once the event was handled
  const { value } = await reader.read();
  assert.deepEqual([...value!], new Array(10).fill(5));
  assert.equal(engine.consumed, 10);
  // A BYOB read waiting: the bytes are copied into its view; the lent buffer stays as it is.
  const byob = ch.readable(1).getReader({ mode: "byob" });
  const read = byob.read(new Uint8Array(4));
  const lent = Uint8Array.of(1, 2, 3, 4, 5, 6);
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 1, data: lent, borrowed: true });
  assert.deepEqual([...(await read).value!], [1, 2, 3, 4]);
  assert.deepEqual([...lent], [1, 2, 3, 4, 5, 6], "neither moved nor freed");
  assert.deepEqual([...(await byob.read(new Uint8Array(4))).value!], [5, 6]);
});

test("lent data, then a packet's own buffer, in one turn reach a waiting BYOB read in order", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader({ mode: "byob" });
  const first = reader.read(new Uint8Array(16));
  const lent = Uint8Array.of(1, 2);
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: lent, borrowed: true });
  data(ch, packet([3, 4])); // on Bun enqueued: the lent bytes copied before must not be overwritten
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  const rest = await readAll(reader, 16);
  assert.deepEqual([...(await first).value!, ...rest.bytes], [1, 2, 3, 4]);
  assert.equal(rest.end, true);
  assert.deepEqual([...lent], [1, 2], "the lent buffer is left as it is");
  assert.ok(engine.consumed >= 2);
});

test("setSink() hands each packet to the sink at once, says whether it is lent, and reopens the window", async () => {
  const { engine, ch } = channel();
  const got: [number[], boolean][] = [];
  ch.setSink(0, (d, lent) => got.push([[...d], lent]));
  const reader = ch.readable(0).getReader();
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: packet([1, 2]) });
  ch.handleEvent({
    type: "channelData",
    channelId: 1,
    stream: 0,
    data: Uint8Array.of(3),
    borrowed: true,
  });
  assert.deepEqual(got, [[[1, 2], false], [[3], true]]);
  assert.equal(engine.consumed, 3, "nothing waits in the stream: the window reopens at once");
  // The readable still reports the end.
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  assert.equal((await reader.read()).done, true);
  assert.throws(() => ch.setSink(5, () => {}), RangeError);
});

test("a sink that throws closes its channel, not the connection, and the window still reopens", () => {
  const { engine, ch } = channel();
  let closed = 0;
  engine.closeChannel = () => void closed++;
  ch.setSink(0, () => {
    throw new Error("a bug in the consumer");
  });
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: packet([1, 2, 3]) });
  assert.equal(closed, 1);
  assert.equal(engine.consumed, 3);
});

/** A channel whose engine records the replies it was told to send. */
function replying(): { ch: ChannelIO; replies: boolean[] } {
  const { engine, ch } = channel();
  const replies: boolean[] = [];
  engine.replyChannelRequest = (_id: number, ok: boolean) => void replies.push(ok);
  return { ch, replies };
}

function request(ch: ChannelIO, request: string, wantReply: boolean): void {
  ch.handleEvent({
    type: "channelRequest",
    channelId: 1,
    request,
    wantReply,
    data: new Uint8Array(0),
  });
}

const turn = () => new Promise<void>((r) => setTimeout(r, 0));

test("a no-reply request whose handler never settles holds no later reply back", async () => {
  const { ch, replies } = replying();
  ch.onRequest = (req) => req === "slow" ? new Promise<boolean>(() => {}) : true;
  request(ch, "slow", false);
  request(ch, "fast", true);
  await turn();
  // Queued behind the no-reply request, the reply waited for an answer nobody is owed.
  assert.deepEqual(replies, [true]);
});

test("no-reply requests behind a deferred reply run at arrival, in order, and send nothing", async () => {
  const { ch, replies } = replying();
  const seen: string[] = [];
  let release!: (ok: boolean) => void;
  ch.onRequest = (req) => {
    seen.push(req);
    return req === "exec" ? new Promise<boolean>((r) => (release = r)) : req !== "signal";
  };
  request(ch, "exec", true);
  for (let i = 0; i < 1000; i++) request(ch, "window-change", false);
  request(ch, "signal", false);
  request(ch, "keepalive", true);
  assert.equal(seen.length, 1003, "every handler ran as its request came");
  assert.deepEqual([seen[0], seen[1], seen[1001], seen[1002]], [
    "exec",
    "window-change",
    "signal",
    "keepalive",
  ]);
  await turn();
  assert.deepEqual(replies, [], "the keepalive reply waits for the exec's (RFC 4254 §5.4)");
  release(false);
  await turn();
  assert.deepEqual(replies, [false, true], "one reply per want-reply request, in order");
});

test("small packets behind an unread queue are gathered into few chunks, in order, the window kept shut", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader();
  // One-byte packets while the reader takes nothing: queued one by one they cost some 150
  // bytes each besides their byte (a 2 MiB window held about 300 MiB).
  const n = 100_000;
  for (let i = 0; i < n; i++) data(ch, packet([i & 0xff]));
  assert.equal(engine.consumed, 0, "nothing read, nothing reported consumed");
  let chunks = 0;
  let bytes = 0;
  let inOrder = true;
  while (bytes < n) {
    const { value } = await reader.read();
    for (const b of value!) inOrder &&= b === (bytes++ & 0xff);
    chunks++;
  }
  assert.ok(inOrder, "every byte in order");
  assert.ok(chunks <= 2 + Math.ceil(n / (16 * 1024)), `${chunks} chunks for ${n} packets`);
  assert.equal(engine.consumed, n);
  // Ahead of a larger packet, what was gathered comes first; at EOF it is still read.
  data(ch, packet([1]));
  data(ch, packet([2]));
  data(ch, packet([3]));
  data(ch, packet(new Array(4096).fill(4)));
  data(ch, packet([5]));
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  const rest: number[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest.push(...value);
  }
  assert.deepEqual(rest, [1, 2, 3, ...new Array(4096).fill(4), 5]);
});

test("fuzz: any mix of small and large, owned and lent packets reads back whole and in order", async () => {
  let seed = fuzzSeed(31);
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const turn = () =>
    rnd(3) === 0 ? new Promise((r) => setTimeout(r, 0)) : Promise.resolve().then(() => {});
  const window = 64 * 1024;
  for (let round = 0; round < fuzzRuns(25); round++) {
    const engine = new StubEngine();
    const ch = new ChannelIO(1, engine, pump, window);
    const byob = rnd(2) === 0;
    const end = rnd(3) === 0 ? "abort" : "eof";
    const lent = new Uint8Array(32 * 1024); // a receive buffer the engine lends views of
    let sent = 0;
    const produce = async () => {
      for (let i = 0; i < 300; i++) {
        const kind = rnd(10);
        const want = kind < 7 ? 1 + rnd(50) : kind < 9 ? 100 + rnd(3000) : 4000 + rnd(16000);
        // The peer keeps to the window it was given.
        while (sent + 1 > window + engine.consumed) await turn();
        const n = Math.min(want, window + engine.consumed - sent);
        const bytes = Uint8Array.from({ length: n }, (_, k) => (sent + k) & 0xff);
        if (rnd(3) === 0 && n <= lent.length) {
          lent.set(bytes);
          ch.handleEvent({
            type: "channelData",
            channelId: 1,
            stream: 0,
            data: lent.subarray(0, n),
            borrowed: true,
          });
          lent.fill(0xee, 0, n); // lent: the engine reuses its buffer at once
        } else {
          markTransient(bytes);
          data(ch, bytes);
        }
        sent += n;
        if (rnd(2) === 0) await turn();
      }
      if (end === "eof") ch.handleEvent({ type: "channelEof", channelId: 1 });
      else ch.abort(new Error("connection lost"));
    };
    const consume = async () => {
      let got = 0;
      let bad = -1;
      const check = (v: Uint8Array) => {
        for (let k = 0; k < v.length; k++) {
          if (bad < 0 && v[k] !== ((got + k) & 0xff)) bad = got + k;
        }
        got += v.length;
      };
      try {
        if (byob) {
          const reader = ch.readable(0).getReader({ mode: "byob" });
          for (;;) {
            const { value, done } = await reader.read(new Uint8Array(1 + rnd(40_000)));
            if (done) break;
            check(value!);
            if (rnd(3) === 0) await turn();
          }
        } else {
          const reader = ch.readable(0).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            check(value!);
            if (rnd(3) === 0) await turn();
          }
        }
        return { got, bad, end: "eof" };
      } catch (e) {
        return { got, bad, end: (e as Error).message };
      }
    };
    const [, r] = await Promise.all([produce(), consume()]);
    const what = `round ${round} (${byob ? "byob" : "default"}, ${end})`;
    assert.equal(r.bad, -1, `${what}: wrong byte at ${r.bad}`);
    assert.equal(r.got, sent, what);
    assert.equal(r.end, end === "eof" ? "eof" : "connection lost", what);
    // (A window that stayed shut would have stalled the producer: the test would not end.)
    assert.ok(engine.consumed <= sent, `${what}: more reported consumed than sent`);
  }
});

test("gathering reports nothing consumed before the reader takes it, and hands small chunks in buffers of their size", async () => {
  const { engine, ch } = channel();
  const reader = ch.readable(0).getReader();
  const turn = () => new Promise((r) => setTimeout(r, 0));
  data(ch, packet(new Array(4096).fill(1)));
  await turn();
  data(ch, packet(new Array(10).fill(2))); // gathered behind the unread 4096
  await turn();
  // Delivering this one sends the gathered bytes ahead, which wakes the stream's pull: the
  // packet on its way in was counted read there, and the window reopened by 32,000.
  data(ch, packet(new Array(32_000).fill(3)));
  await turn();
  assert.equal(engine.consumed, 0, "nothing read, nothing reported consumed");
  const sizes: [number, number][] = [];
  for (let got = 0; got < 4096 + 10 + 32_000;) {
    const { value } = await reader.read();
    sizes.push([value!.length, value!.buffer.byteLength]);
    got += value!.length;
  }
  // The 10 gathered bytes come in a buffer of 10, not in the 16 KiB they were gathered in.
  assert.deepEqual(sizes, [[4096, 4096], [10, 10], [32_000, 32_000]]);
  assert.equal(engine.consumed, 4096 + 10 + 32_000);
});
