import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import { replySender } from "./server.ts";

const turn = () => new Promise<void>((r) => setImmediate(r));

test("replySender sends the small replies of one event-loop turn as one write, in order with big ones", async () => {
  const writes: number[][] = [];
  const written: Uint8Array[] = [];
  const channel = {
    write: (c: Uint8Array) => {
      writes.push([...c.subarray(0, 4)].concat(c.length));
      written.push(c);
      return Promise.resolve();
    },
  };
  const r = replySender(channel, () => assert.fail("no write fails"));
  assert.equal(r.send([new Uint8Array([1])]), undefined, "a small reply is not waited for");
  r.send([new Uint8Array([2])]);
  r.send([new Uint8Array([3])]);
  assert.equal(writes.length, 0, "small replies wait for the turn to end");
  await turn();
  assert.deepEqual(writes, [[1, 2, 3, 3]], "three replies, one write");

  writes.length = 0;
  r.send([new Uint8Array([4])]);
  const big = new Uint8Array(100_000).fill(9);
  const taken = r.send([new Uint8Array([5, 5]), big]);
  assert.ok(taken instanceof Promise, "a big reply's send resolves once the channel took it");
  assert.deepEqual(
    writes,
    [[4, 5, 5, 3], [9, 9, 9, 9, 100_000]],
    "the small ones go first, in one write of their own, then the big one whole",
  );
  assert.ok(written.at(-1) === big, "the big reply is written as it is, not copied");
  r.send([new Uint8Array([6])]);
  await r.flush();
  assert.deepEqual(writes.at(-1), [6, 1], "flush() sends what waits");
  await turn();
  assert.equal(writes.length, 3, "nothing is sent twice");
});

test("replySender copies a small reply: its buffer may be reused before the batch goes out", async () => {
  const writes: Uint8Array[] = [];
  const channel = {
    write: (c: Uint8Array) => {
      writes.push(c.slice());
      return Promise.resolve();
    },
  };
  const r = replySender(channel, () => assert.fail("no write fails"));
  // A short READ's DATA reply: header and the backend's pooled buffer, given back at once.
  const pooled = new Uint8Array(2000).fill(1);
  assert.equal(r.send([new Uint8Array([7]), pooled]), undefined);
  pooled.fill(2); // the next READ into the same pool buffer
  r.send([pooled]);
  await turn();
  assert.equal(writes.length, 1);
  assert.equal(writes[0]![0], 7);
  assert.deepEqual([writes[0]![1], writes[0]![2000]], [1, 1], "the first reply kept its bytes");
  assert.deepEqual([writes[0]![2001], writes[0]![4000]], [2, 2], "the second has its own");
});

test("replySender holds the engine once a client that does not read has `high` bytes of replies waiting", async () => {
  // A channel whose peer never adjusts its window: each write resolves only when we say.
  const pending: (() => void)[] = [];
  const channel = {
    write: () => new Promise<void>((r) => pending.push(r)),
  };
  const r = replySender(channel, () => assert.fail("no write fails"), {
    high: 64 * 1024,
    low: 16 * 1024,
  });
  const reply = () => [new Uint8Array(4000)]; // a readlink NAME reply
  let held: Promise<void> | undefined;
  let sent = 0;
  while (!held && sent < 1000) {
    held = r.send(reply());
    sent++;
    if (!held) await turn();
  }
  assert.ok(held instanceof Promise, "send() is held before 1000 unread replies");
  assert.ok(sent * 4000 <= 64 * 1024 + 32 * 1024, `held after ${sent} replies`);
  let released = false;
  void held.then(() => (released = true));
  // The client reads a little: still above the low-water mark.
  pending.shift()!();
  await turn();
  assert.equal(released, false, "still held above the low-water mark");
  while (pending.length) pending.shift()!();
  await turn();
  assert.equal(released, true, "released once the replies drained");
});
