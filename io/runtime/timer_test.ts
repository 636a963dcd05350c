import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_TIMER_MS, timeoutDelay } from "./timer.ts";

test("timeoutDelay(): a delay a timer keeps as is; 0, Infinity and beyond 2^31 - 1 ms are no limit", () => {
  assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
  for (const ms of [1, 0.5, 30_000, MAX_TIMER_MS]) assert.equal(timeoutDelay(ms, "t"), ms);
  for (const ms of [0, -0, Infinity, MAX_TIMER_MS + 1, 2 ** 40]) {
    assert.equal(timeoutDelay(ms, "t"), undefined, `${ms}`);
  }
});

test("timeoutDelay(): a negative or NaN delay is a RangeError naming the option, a non-number a TypeError", () => {
  for (const ms of [-1, -0.5, -Infinity, NaN]) {
    assert.throws(
      () => timeoutDelay(ms, "myTimeout"),
      (e) => e instanceof RangeError && /myTimeout/.test(e.message),
    );
  }
  for (const ms of ["100", null, 10n]) {
    assert.throws(() => timeoutDelay(ms as unknown as number, "myTimeout"), TypeError);
  }
});
