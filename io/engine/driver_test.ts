/**
 * EngineDriver's output batching: what the engine has to send after the commands of one
 * turn goes out in one socket write, after that turn, in order; bulk output and a closing
 * engine's last packets go out at once.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { type DrivenEngine, EngineDriver, READ_PAUSE_BYTES } from "./driver.ts";
import { markTransient } from "../../core/transient_buffers.ts";

/** An engine whose commands only queue output. */
class QueueEngine implements DrivenEngine<never> {
  out: Uint8Array[] = [];
  closed = false;
  send(...bytes: number[]): void {
    this.out.push(new Uint8Array(bytes));
  }
  get outgoingBytes(): number {
    return this.out.reduce((n, c) => n + c.length, 0);
  }
  receiveData(): void {}
  receiveEof(): void {}
  takeOutgoing(): Uint8Array[] {
    const o = this.out;
    this.out = [];
    return o;
  }
  pollEvent(): undefined {
    return undefined;
  }
  nextDeadline(): undefined {
    return undefined;
  }
  handleTimeout(): void {}
}

/** Records each write call: the bytes of each chunk, chunk by chunk. */
class RecordingSocket implements ByteSocket {
  writes: number[][][] = [];
  ended = false;
  write(data: Uint8Array): boolean {
    this.writes.push([[...data]]);
    return true;
  }
  writev(chunks: readonly Uint8Array[]): boolean {
    this.writes.push(chunks.map((c) => [...c]));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {}
  pause(): void {}
  resume(): void {}
  setHandlers(_h: SocketHandlers): void {}
}

const turn = () => new Promise<void>((r) => setImmediate(r));

/** A driver over a QueueEngine and a RecordingSocket, after its first (empty) turn. */
async function started() {
  const engine = new QueueEngine();
  const socket = new RecordingSocket();
  const driver = new EngineDriver(engine, socket, () => {}, () => {});
  await turn();
  assert.deepEqual(socket.writes, [], "an engine with nothing to send makes no write");
  return { engine, socket, driver };
}

test("EngineDriver writes what one turn sends with one socket write, after the turn", async () => {
  const { engine, socket, driver } = await started();
  // A server answering exec: the reply, EOF, the exit status and the close, each followed
  // by a pump as the API calls do.
  for (let i = 1; i <= 4; i++) {
    engine.send(i);
    driver.pump();
  }
  await Promise.resolve();
  assert.equal(socket.writes.length, 0, "nothing is written during the turn");
  await turn();
  assert.deepEqual(socket.writes, [[[1], [2], [3], [4]]], "one write, in order");
  await turn();
  assert.equal(socket.writes.length, 1, "nothing is written twice");
});

test("EngineDriver writes a closing engine's last packets at once, then ends the socket", async () => {
  const { engine, socket, driver } = await started();
  engine.send(7);
  driver.pump();
  engine.send(8); // a DISCONNECT
  engine.closed = true;
  driver.pump();
  assert.deepEqual(socket.writes, [[[7], [8]]], "written before pump() returns");
  assert.ok(socket.ended);
  await turn();
  assert.equal(socket.writes.length, 1, "nothing is written twice");
});

test("EngineDriver writes bulk output at once, with the small messages queued before it", async () => {
  const { engine, socket, driver } = await started();
  engine.send(1);
  driver.pump();
  assert.equal(socket.writes.length, 0, "a small message waits for the end of the turn");
  engine.out.push(new Uint8Array(32 * 1024));
  driver.pump();
  assert.equal(socket.writes.length, 1, "32 KiB of data is written before pump() returns");
  assert.deepEqual(socket.writes[0]!.map((c) => c.length), [1, 32 * 1024]);
  await turn();
  assert.equal(socket.writes.length, 1, "nothing is written twice");
});

test("a handler that throws ends its own connection, not the process", () => {
  const engine = new QueueEngine();
  let events = 1;
  engine.pollEvent = () => (events-- > 0 ? ("boom" as never) : undefined);
  let destroyed = false;
  const socket = new RecordingSocket();
  socket.destroy = () => void (destroyed = true);
  let closedWith: Error | undefined;
  const bug = new TypeError("a handler's bug");
  const driver = new EngineDriver(engine, socket, () => {
    throw bug;
  }, (e) => void (closedWith = e));
  assert.ok(destroyed, "the socket is destroyed");
  assert.equal(closedWith, bug, "the connection closes with the handler's error");
  driver.pump(); // and nothing more happens
});

test("EngineDriver stops reading while its answers pile up past a full socket, until it drains", () => {
  const engine = new QueueEngine();
  let handlers!: SocketHandlers;
  const calls: string[] = [];
  const socket = new RecordingSocket();
  socket.setHandlers = (h) => void (handlers = h);
  socket.write = () => false; // the peer reads nothing
  socket.pause = () => void calls.push("pause");
  socket.resume = () => void calls.push("resume");
  const driver = new EngineDriver(engine, socket, () => {}, () => {});
  // Answers of 64 KiB each (as to a flood of requests), flushed one by one.
  const answer = () => {
    engine.out.push(new Uint8Array(64 * 1024));
    driver.pump();
  };
  for (let sent = 0; sent <= READ_PAUSE_BYTES; sent += 64 * 1024) answer();
  assert.deepEqual(calls, [], "up to the mark past the full socket, reading goes on");
  answer();
  assert.deepEqual(calls, ["pause"]);
  answer();
  assert.deepEqual(calls, ["pause"], "paused once");
  // The application pausing meanwhile keeps its pause after the drain.
  driver.setReading(false);
  handlers.drain();
  assert.deepEqual(calls, ["pause", "pause"], "no resume: the application paused too");
  driver.setReading(true);
  assert.deepEqual(calls, ["pause", "pause", "resume"]);
  // A fresh backlog pauses again, and the drain resumes it.
  for (let sent = 0; sent <= READ_PAUSE_BYTES + 64 * 1024; sent += 64 * 1024) answer();
  assert.equal(calls.at(-1), "pause");
  handlers.drain();
  assert.equal(calls.at(-1), "resume");
});

test("EngineDriver frees the transient packets it merged for a socket without writev", async () => {
  const engine = new QueueEngine();
  const socket = new RecordingSocket();
  const noWritev: ByteSocket = {
    write: (d) => socket.write(d),
    end: () => socket.end(),
    destroy() {},
    pause() {},
    resume() {},
    setHandlers() {},
  };
  const driver = new EngineDriver(engine, noWritev, () => {}, () => {});
  await turn();
  // Two packets sealed in place (transient), small enough to be merged into one write.
  const a = new Uint8Array(3000).fill(1), b = new Uint8Array(3000).fill(2);
  markTransient(a);
  markTransient(b);
  engine.out.push(a, b);
  driver.pump();
  await turn();
  assert.equal(socket.writes.length, 1, "merged into one write");
  assert.deepEqual(socket.writes[0]![0]!.slice(2999, 3001), [1, 2]);
  assert.equal(a.byteLength + b.byteLength, 0, "both copied, then freed at once");
});
