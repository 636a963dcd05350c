/**
 * runMany()'s wait between connection attempts: doubling, capped at 5 s unless the first
 * delay asked for is longer, jittered between half and all of it. Pure: no timers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { retryWait } from "./host_run.ts";

test("retryWait: doubles from the first delay, at most 5 s, jittered down to half", () => {
  const most = () => 1 - Number.EPSILON;
  const least = () => 0;
  assert.equal(retryWait(250, 1, least), 125);
  assert.ok(Math.abs(retryWait(250, 1, most) - 250) < 1e-9);
  assert.ok(Math.abs(retryWait(250, 3, most) - 1_000) < 1e-9);
  assert.ok(Math.abs(retryWait(250, 60, most) - 5_000) < 1e-9, "capped");
  assert.equal(retryWait(250, 1e6, least), 2_500, "no overflow to Infinity or NaN");
  assert.equal(retryWait(0, 5, most), 0);
  assert.equal(retryWait(0, 2_000, most), 0);
});

test("retryWait: a first delay longer than 5 s is kept, not cut to 5 s", () => {
  const most = () => 1 - Number.EPSILON;
  assert.ok(retryWait(30_000, 1, most) > 29_999);
  assert.equal(retryWait(30_000, 1, () => 0), 15_000);
  assert.ok(retryWait(30_000, 4, most) <= 30_000, "and it is the cap");
});
