/** connectDeadline: times out with a TimeoutError, follows the caller's signal, and clears. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connectDeadline } from "./deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("connectDeadline aborts with a TimeoutError when the time is up", async () => {
  const d = connectDeadline(undefined, 20);
  await sleep(60);
  assert.equal(d.signal!.aborted, true);
  assert.equal(d.timedOut, true);
  assert.equal((d.signal!.reason as Error).name, "TimeoutError");
});

test("connectDeadline follows the caller's signal with its reason, and is not a timeout", () => {
  const outer = new AbortController();
  const d = connectDeadline(outer.signal, 10_000);
  const why = new Error("stop");
  outer.abort(why);
  assert.equal(d.signal!.aborted, true);
  assert.equal(d.signal!.reason, why);
  assert.equal(d.timedOut, false);
  d.clear();
});

test("connectDeadline after clear() neither times out nor follows the caller", async () => {
  const outer = new AbortController();
  const d = connectDeadline(outer.signal, 20);
  d.clear();
  d.clear();
  await sleep(60);
  outer.abort();
  assert.equal(d.signal!.aborted, false);
  assert.equal(d.timedOut, false);
});

test("connectDeadline without a timeout is the caller's own signal (or none)", () => {
  const outer = new AbortController();
  assert.equal(connectDeadline(outer.signal, 0).signal, outer.signal);
  assert.equal(connectDeadline(undefined, Infinity).signal, undefined);
});

test("connectDeadline on an already aborted caller signal is aborted at once", () => {
  const d = connectDeadline(AbortSignal.abort("gone"), 10_000);
  assert.equal(d.signal!.aborted, true);
  assert.equal(d.signal!.reason, "gone");
  d.clear();
});

test("connectDeadline on an already aborted caller signal clears its timer without clear()", async () => {
  const d = connectDeadline(AbortSignal.abort("gone"), 20);
  await sleep(60);
  // The timer that was left running fired: a timeout reported for the caller's abort.
  assert.equal(d.timedOut, false);
  assert.equal(d.signal!.reason, "gone");
});
