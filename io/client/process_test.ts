/**
 * SSHClientProcess and ChannelIO over a stub engine: write ordering and
 * backpressure, EOF after queued writes, text decoding, exit status and
 * signal, xon-xoff, timeouts, redirection and callback sessions — without a
 * network. The real-peer versions are in conformance/client_session_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeExitSignal,
  encodeExitStatus,
  encodeXonXoff,
} from "../../core/connection/session_requests.ts";
import { type ChannelEngine, ChannelIO } from "../engine/channel.ts";
import { attachSession } from "./session.ts";
import { ProcessTimeoutError } from "./errors.ts";
import { collect, SSHClientProcess } from "./process.ts";
import { STDOUT } from "./redirect.ts";

/** Records what a channel sends; the test opens the window and delivers events by hand. */
class StubEngine implements ChannelEngine {
  window: number;
  sent: { data: Uint8Array; stream: number }[] = [];
  requests: { request: string; wantReply: boolean }[] = [];
  eof = false;
  closedChannel = false;
  closed = false;
  constructor(window = 1 << 20) {
    this.window = window;
  }
  sendData(_id: number, data: Uint8Array, stream = 0): number {
    const n = Math.min(data.length, this.window);
    if (this.eof) throw new Error("data after EOF");
    this.sent.push({ data: data.slice(0, n), stream });
    this.window -= n;
    return n;
  }
  writableBytes(): number {
    return this.eof ? 0 : this.window;
  }
  consume(): void {}
  setWindowSize(): void {}
  sendEof(): void {
    this.eof = true;
  }
  closeChannel(): void {
    this.closedChannel = true;
  }
  sendChannelRequest(_id: number, request: string, wantReply: boolean): void {
    this.requests.push({ request, wantReply });
  }
  replyChannelRequest(): void {}
  text(stream = 0): string {
    return this.sent.filter((s) => s.stream === stream).map((s) => new TextDecoder().decode(s.data))
      .join("");
  }
}

const pump = { pump() {}, whenDrained: () => Promise.resolve(), socketFull: false };
const enc = (s: string) => new TextEncoder().encode(s);

function channel(window?: number): { engine: StubEngine; ch: ChannelIO } {
  const engine = new StubEngine(window);
  return { engine, ch: new ChannelIO(1, engine, pump, 1 << 20) };
}

/** Delivers output, an exit status and the close, as a server would. */
function finish(ch: ChannelIO, out: string, err = "", status: number | null = 0): void {
  if (out) ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: enc(out) });
  if (err) ch.handleEvent({ type: "channelData", channelId: 1, stream: 1, data: enc(err) });
  ch.handleEvent({ type: "channelEof", channelId: 1 });
  if (status !== null) {
    ch.handleEvent({
      type: "channelRequest",
      channelId: 1,
      request: "exit-status",
      wantReply: false,
      data: encodeExitStatus(status),
    });
  }
  ch.handleEvent({ type: "channelClose", channelId: 1 });
}

test("ChannelIO.write() keeps concurrent writes in order across a closed window", async () => {
  const { engine, ch } = channel(5);
  const a = ch.write(enc("hello world"));
  const b = ch.write(enc("!!"));
  ch.sendEof();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(engine.text(), "hello");
  assert.equal(engine.eof, false, "EOF waits for the queued writes");
  engine.window = 100;
  ch.handleEvent({ type: "channelWritable", channelId: 1, window: 100 });
  await Promise.all([a, b]);
  await ch.flushed();
  assert.equal(engine.text(), "hello world!!");
  assert.equal(engine.eof, true);
  await assert.rejects(ch.write(enc("late")), /EOF was already sent/);
});

test("ChannelIO.write() rejects queued writes when the channel closes", async () => {
  const { ch } = channel(0);
  const w = ch.write(enc("stuck"));
  ch.handleEvent({ type: "channelClose", channelId: 1 });
  await assert.rejects(w, { code: "ERR_CHANNEL" });
});

test("SSHClientProcess with an encoding gives text streams and accepts text on stdin", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess<string>(ch, "cat", { encoding: "utf-8" });
  const w = p.stdin.getWriter();
  await w.write("héllo");
  await w.close();
  assert.equal(engine.text(), "héllo");
  assert.ok(engine.eof);
  const reading = (async () => {
    const parts: string[] = [];
    for await (const s of p.stdout) parts.push(s);
    return parts.join("");
  })();
  // A multi-byte character split across two packets still decodes.
  const bytes = enc("été");
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: bytes.subarray(0, 1) });
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: bytes.subarray(1) });
  finish(ch, "", "");
  assert.equal(await reading, "été");
  const r = await p.wait();
  assert.equal(r.exitStatus, 0);
  assert.equal(r.stdout, "", "stdout was handed out, so wait() leaves it alone");
});

test("SSHClientProcess.wait() reports exit signals, returnCode and check", async () => {
  const { ch } = channel();
  const p = new SSHClientProcess(ch, "sleep 9");
  ch.handleEvent({
    type: "channelRequest",
    channelId: 1,
    request: "exit-signal",
    wantReply: false,
    data: encodeExitSignal({ signal: "KILL", coreDumped: false, message: "", language: "" }),
  });
  finish(ch, "partial", "", null);
  await assert.rejects(p.wait({ check: true }), (e: unknown) => {
    assert.equal((e as { code?: string }).code, "ERR_PROCESS");
    assert.equal((e as { returnCode?: number }).returnCode, -9);
    assert.deepEqual([...(e as { stdout: Uint8Array }).stdout], [...enc("partial")]);
    return true;
  });
});

test("SSHClientProcess surfaces xon-xoff and sends signals, sizes and breaks", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess(ch, undefined);
  const seen: boolean[] = [];
  p.onXonXoff = (v) => seen.push(v);
  assert.equal(p.xonXoff, undefined);
  ch.handleEvent({
    type: "channelRequest",
    channelId: 1,
    request: "xon-xoff",
    wantReply: false,
    data: encodeXonXoff(true),
  });
  assert.deepEqual(seen, [true]);
  assert.equal(p.xonXoff, true);
  await p.signal("SIGINT");
  await p.terminate();
  await p.kill();
  await p.changeTerminalSize({ columns: 100, rows: 40 });
  const br = p.sendBreak(300);
  ch.handleEvent({ type: "channelRequestReply", channelId: 1, request: "break", success: true });
  assert.equal(await br, true);
  assert.deepEqual(engine.requests.map((r) => `${r.request}:${r.wantReply}`), [
    "signal:false",
    "signal:false",
    "signal:false",
    "window-change:false",
    "break:true",
  ]);
});

test("SSHClientProcess.changeTerminalSize() and sendBreak() reject numbers that are no uint32, sending nothing", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess(ch, undefined);
  await assert.rejects(p.changeTerminalSize({ columns: -1, rows: 24 }), RangeError);
  await assert.rejects(p.changeTerminalSize({ columns: 80, rows: 24.5 }), RangeError);
  await assert.rejects(p.sendBreak(-500), RangeError);
  await assert.rejects(p.sendBreak(2 ** 32), RangeError);
  assert.deepEqual(engine.requests, []);
});

test("SSHClientProcess.wait({ timeout }) closes the channel and keeps partial output", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess<string>(ch, "slow", { encoding: "utf-8" });
  ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: enc("so far") });
  await assert.rejects(p.wait({ timeout: 50 }), (e: unknown) => {
    assert.ok(e instanceof ProcessTimeoutError);
    assert.equal(e.stdout, "so far");
    return true;
  });
  assert.ok(engine.closedChannel);
  ch.handleEvent({ type: "channelClose", channelId: 1 });
});

test("SSHClientProcess.redirect() feeds stdin from an iterable and merges stderr into a stream", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess(ch, "x");
  const chunks: string[] = [];
  const done = p.redirect({
    stdin: (async function* () {
      yield "a";
      yield enc("b");
    })(),
    stdout: new WritableStream({ write: (c) => void chunks.push(new TextDecoder().decode(c)) }),
    stderr: STDOUT,
  });
  while (!engine.eof) await new Promise((r) => setTimeout(r, 1));
  finish(ch, "out", "err");
  await done;
  assert.equal(engine.text(), "ab");
  assert.ok(engine.eof);
  assert.deepEqual(chunks.sort(), ["err", "out"]);
  await p.wait();
});

test("attachSession() calls back in order: made, data, eof, lost", async () => {
  const { ch } = channel();
  const events: string[] = [];
  let lost!: () => void;
  const gone = new Promise<void>((r) => (lost = r));
  attachSession(ch, {
    connectionMade: () => events.push("made"),
    dataReceived: async (d, s) => {
      await new Promise((r) => setTimeout(r, 5));
      events.push(`${s}:${new TextDecoder().decode(d)}`);
    },
    eofReceived: () => void events.push("eof"),
    exitStatusReceived: (n) => events.push(`exit ${n}`),
    connectionLost: () => {
      events.push("lost");
      lost();
    },
  });
  finish(ch, "x", "y", 3);
  await gone;
  assert.equal(events[0], "made");
  assert.ok(events.indexOf("eof") > events.indexOf("0:x"));
  assert.ok(events.indexOf("eof") > events.indexOf("1:y"));
  assert.ok(events.includes("exit 3"));
  assert.equal(events.at(-1), "lost");
});

for (const keepWriting of [undefined, false, true, "async true"] as const) {
  test(
    `attachSession(): eofReceived() returning ${keepWriting} ${
      keepWriting ? "keeps our side open" : "sends EOF back, as AsyncSSH"
    }`,
    async () => {
      const { engine, ch } = channel();
      let lost!: () => void;
      const gone = new Promise<void>((r) => (lost = r));
      let eofSeen = false;
      attachSession(ch, {
        eofReceived: () => {
          eofSeen = true;
          // An async callback answers with its promise: awaited, not taken for "not true".
          return keepWriting === "async true" ? Promise.resolve(true) : keepWriting;
        },
        connectionLost: () => lost(),
      }, 1);
      ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data: enc("x") });
      ch.handleEvent({ type: "channelEof", channelId: 1 });
      while (!eofSeen) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(engine.eof, !keepWriting);
      if (keepWriting) await ch.write(enc("still writing"));
      ch.handleEvent({ type: "channelClose", channelId: 1 });
      await gone;
    },
  );
}

test("SSHClientProcess.wait({ signal }) closes the channel and rejects with the reason", async () => {
  const { engine, ch } = channel();
  const p = new SSHClientProcess(ch, "slow");
  const ac = new AbortController();
  const waiting = p.wait({ signal: ac.signal });
  ac.abort(new Error("stop now"));
  await assert.rejects(waiting, /stop now/);
  assert.ok(engine.closedChannel);
  ch.handleEvent({ type: "channelClose", channelId: 1 });
});

test("SSHClientProcess.wait() collects many packets linearly and decodes once per stream", async () => {
  const { ch } = channel();
  const p = new SSHClientProcess<string>(ch, "yes é", { encoding: "utf-8" });
  const text = "é-".repeat(3000); // 2-byte characters: every odd split cuts one in two
  const bytes = enc(text);
  for (let i = 0; i < bytes.length; i += 3) {
    ch.handleEvent({
      type: "channelData",
      channelId: 1,
      stream: 0,
      data: bytes.subarray(i, Math.min(bytes.length, i + 3)),
    });
  }
  const decode = TextDecoder.prototype.decode;
  let decodes = 0;
  TextDecoder.prototype.decode = function (this: TextDecoder, ...args) {
    decodes++;
    return decode.apply(this, args);
  };
  try {
    finish(ch, "", "err");
    const r = await p.wait();
    assert.equal(r.stdout, text);
    assert.equal(r.stderr, "err");
    assert.equal(decodes, 2, "one decode of stdout and one of stderr, at the end");
  } finally {
    TextDecoder.prototype.decode = decode;
  }
});

test("SSHClientProcess.wait() without an encoding returns the exact bytes", async () => {
  const { ch } = channel();
  const p = new SSHClientProcess(ch, "cat");
  const chunks = Array.from({ length: 500 }, (_, i) => new Uint8Array([i & 255, i >> 8]));
  for (const data of chunks) ch.handleEvent({ type: "channelData", channelId: 1, stream: 0, data });
  finish(ch, "");
  const r = await p.wait();
  assert.ok(r.stdout instanceof Uint8Array);
  assert.equal(r.stdout.length, 1000);
  assert.deepEqual([...r.stdout.subarray(510, 514)], [255, 0, 0, 1]);
});

test("collect() joins 140k chunks, more than a spread into concatBytes(...parts) takes", async () => {
  const n = 140_000;
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      for (let k = 0; k < 1000 && i < n; k++, i++) c.enqueue(new Uint8Array([i & 255]));
      if (i >= n) c.close();
    },
  }, { highWaterMark: 0 });
  const bytes = await collect(stream);
  assert.equal(bytes.length, n);
  assert.deepEqual([...bytes.subarray(254, 258)], [254, 255, 0, 1]);
  assert.equal(bytes[n - 1], (n - 1) & 255);
});
