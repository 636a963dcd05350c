import { test } from "node:test";
import assert from "node:assert/strict";
import { Lanes } from "./lanes.ts";

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test("Lanes: at most `limit` side by side, in order; alone() waits for them and runs by itself", async () => {
  const lanes = new Lanes(3);
  let running = 0;
  let peak = 0;
  const log: string[] = [];
  const task = (name: string) => async () => {
    log.push(`start ${name}`);
    peak = Math.max(peak, ++running);
    await tick();
    running--;
    log.push(`end ${name}`);
  };
  for (const n of ["a", "b", "c", "d", "e"]) await lanes.beside(task(n));
  await lanes.alone(() => {
    assert.equal(running, 0, "alone() runs with nothing beside it");
    log.push("alone");
    return Promise.resolve();
  });
  await lanes.beside(task("f"));
  await lanes.finish();
  assert.equal(peak, 3);
  assert.deepEqual(log.filter((l) => l.startsWith("start")), [
    "start a",
    "start b",
    "start c",
    "start d",
    "start e",
    "start f",
  ]);
  assert.ok(log.indexOf("alone") > log.indexOf("end e"));
});

test("Lanes: the first failure stops new starts and is thrown once the running ones settled", async () => {
  const lanes = new Lanes(2);
  let finished = 0;
  let started = 0;
  await lanes.beside(async () => {
    await tick(1);
    throw new Error("first");
  });
  await lanes.beside(async () => {
    await tick(20);
    finished++;
  });
  // The next start waits for room, sees the failure, and throws it.
  await assert.rejects(
    lanes.beside(() => {
      started++;
      return Promise.resolve();
    }),
    /first/,
  );
  await assert.rejects(lanes.finish(), /first/);
  assert.equal(finished, 1, "the running task was waited for");
  assert.equal(started, 0, "nothing started after the failure");
  // alone() too.
  await assert.rejects(
    lanes.alone(() => {
      started++;
      return Promise.resolve();
    }),
    /first/,
  );
  assert.equal(started, 0);
});

test("Lanes.run: waits for every task it started, and throws the first failure, of a task or of the filler", async () => {
  let finished = 0;
  const slow = async () => {
    await tick(15);
    finished++;
  };
  await Lanes.run(3, async (lanes) => {
    for (let i = 0; i < 5; i++) await lanes.beside(slow);
  });
  assert.equal(finished, 5);
  await assert.rejects(
    Lanes.run(3, async (lanes) => {
      await lanes.beside(slow);
      throw new Error("the filler failed");
    }),
    /the filler failed/,
  );
  assert.equal(finished, 6, "the task started before the failure was waited for");
  await assert.rejects(
    Lanes.run(3, async (lanes) => {
      await lanes.beside(() => Promise.reject(new Error("a task failed")));
      await lanes.beside(slow);
    }),
    /a task failed/,
  );
  assert.equal(finished, 6, "nothing started once a task had failed");
});
