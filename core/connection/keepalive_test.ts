/** Keepalive: when it probes, when it gives up (as OpenSSH's alive counters), and when it is off. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Keepalive } from "./keepalive.ts";

test("Keepalive probes a silent peer countMax times, then declares it dead (as ssh's ServerAliveCountMax)", () => {
  const k = new Keepalive(1000, 3);
  assert.equal(k.deadline(), undefined, "not before start()");
  k.start(0);
  const actions = [1000, 2000, 3000, 4000].map((t) => k.tick(t));
  assert.deepEqual(actions, ["send", "send", "send", "dead"]);
});

test("Keepalive: anything received resets the count", () => {
  const k = new Keepalive(1000, 1);
  k.start(0);
  assert.equal(k.tick(1000), "send");
  k.onReceive();
  assert.equal(k.tick(2000), "none");
  assert.equal(k.tick(3000), "send");
  assert.equal(k.tick(4000), "dead");
});

test("Keepalive with an infinite interval is off: no deadline (not Infinity), never a probe", () => {
  for (const interval of [0, Infinity]) {
    const k = new Keepalive(interval, 3);
    k.start(0);
    assert.equal(k.deadline(), undefined, `interval ${interval}`);
    assert.equal(k.tick(Number.MAX_VALUE), "none");
  }
});
