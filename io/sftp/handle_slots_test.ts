/**
 * The server's open-handle limit with many files at once: readFile/writeFile/get over more
 * files than the server allows open wait for a place instead of failing; handles the
 * application holds are counted, and never make the library's work wait for ever.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { HandleSlots } from "./handle_slots.ts";

test("Promise.all of readFile/writeFile over more files than the server's handle limit: all done", async () => {
  const backend = new MemoryBackend();
  for (let i = 0; i < 60; i++) backend.writeFile(`/f${i}`, new TextEncoder().encode(`file ${i}`));
  await using t = await loopback({ sftp: { backend, maxHandles: 4 } });
  await using sftp = await t.conn.startSftp();
  const texts = await Promise.all(
    Array.from({ length: 60 }, (_, i) => sftp.readFile(`/f${i}`, { encoding: "utf-8" })),
  );
  assert.deepEqual(texts, Array.from({ length: 60 }, (_, i) => `file ${i}`));
  await Promise.all(Array.from({ length: 30 }, (_, i) => sftp.writeFile(`/w${i}`, `w${i}`)));
  assert.equal(new TextDecoder().decode(backend.readFile("/w29")), "w29");
});

test("handles the application holds count, and never make the library's own work wait for ever", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/a", new Uint8Array(10));
  await using t = await loopback({ sftp: { backend, maxHandles: 2 } });
  await using sftp = await t.conn.startSftp();
  const held = [await sftp.open("/a"), await sftp.open("/a")];
  // Every place is the application's: the open goes ahead, and the server says no.
  const e = await sftp.readFile("/a").then(() => undefined, (x) => x);
  assert.ok(e instanceof SFTPError, String(e));
  assert.match(e.message, /Too many open handles/);
  await held[0]!.close();
  assert.equal((await sftp.readFile("/a")).length, 10);
  await held[1]!.close();
});

test("copies at once under the handle limit: each takes its two handles together, none waits for ever", async () => {
  const backend = new MemoryBackend();
  for (let i = 0; i < 12; i++) backend.writeFile(`/s${i}`, new TextEncoder().encode(`copy ${i}`));
  await using t = await loopback({ sftp: { backend, maxHandles: 4 } });
  await using sftp = await t.conn.startSftp();
  // Ten copies at once, four handles: holding a source each and waiting for a destination,
  // they would have waited for each other.
  await Promise.all(Array.from({ length: 10 }, (_, i) => sftp.copy(`/s${i}`, `/d${i}`)));
  assert.equal(new TextDecoder().decode(backend.readFile("/d9")), "copy 9");
  // Three of four places held by the application: the copy goes ahead and the server says
  // no, as before, rather than waiting for its own second place.
  const held = await Promise.all([0, 1, 2].map(() => sftp.open("/s0")));
  const e = await sftp.copy("/s1", "/d1b").then(() => undefined, (x) => x);
  assert.ok(e instanceof SFTPError, String(e));
  for (const f of held) await f.close();
  await sftp.copy("/s1", "/d1b");
});

test("HandleSlots: waiters go in order, an abort leaves the queue, places come back", async () => {
  const slots = new HandleSlots(() => 2);
  await slots.acquire();
  await slots.acquire();
  const order: number[] = [];
  const ac = new AbortController();
  const a = slots.acquire().then(() => order.push(1));
  const b = slots.acquire(ac.signal).then(() => order.push(2), () => order.push(-2));
  const c = slots.acquire().then(() => order.push(3));
  ac.abort();
  await b;
  slots.release();
  slots.release();
  await Promise.all([a, c]);
  assert.deepEqual(order, [-2, 1, 3]);
  assert.equal(slots.inUse, 2);
});

test("HandleSlots: an aborted waiter for two places lets the one-place waiter behind it through", async () => {
  const slots = new HandleSlots(() => 4);
  for (let i = 0; i < 3; i++) await slots.acquire();
  const ac = new AbortController();
  const pair = slots.acquire(ac.signal, 2).then(() => "pair", () => "aborted");
  let single = false;
  const one = slots.acquire().then(() => void (single = true));
  ac.abort();
  assert.equal(await pair, "aborted");
  await one; // the free place, without waiting for a release
  assert.ok(single);
  assert.equal(slots.inUse, 4);
});
