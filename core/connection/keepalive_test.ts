/** Keepalive: when it probes, when it gives up (as OpenSSH's alive counters), and when it is off. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { makePair } from "../testing/fixtures.ts";
import { Keepalive, RECEIVED_CHECK_FRACTION } from "./keepalive.ts";

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

interface Trace {
  readonly probes: number[];
  dead?: number;
}

/**
 * Drives `k` on a virtual clock as an engine's caller does: each packet of `rx` at its time
 * (an answer to each probe `answerMs` later, when given), and tick(now) whenever deadline()
 * has come, at once when it already has. Stops at the first "dead" or at `end`.
 */
function drive(k: Keepalive, rx: readonly number[], end: number, answerMs?: number): Trace {
  const queue = [...rx];
  const trace: Trace = { probes: [] };
  let now = 0;
  for (;;) {
    const d = k.deadline() ?? Infinity;
    const r = queue[0] ?? Infinity;
    if (Math.min(d, r) > end) return trace;
    if (r <= d) {
      now = r;
      queue.shift();
      k.onReceive();
      continue;
    }
    now = Math.max(now, d);
    const action = k.tick(now);
    if (action === "dead") {
      trace.dead = now;
      return trace;
    }
    if (action === "send") {
      trace.probes.push(now);
      if (answerMs !== undefined) {
        queue.push(now + answerMs);
        queue.sort((a, b) => a - b);
      }
    }
  }
}

/** The most a tick after a packet comes after it: an eighth of the 1 s interval. */
const SLACK = 1000 * RECEIVED_CHECK_FRACTION;

/** Asserts `t` is at `at` or at most SLACK after it. */
function within(t: number | undefined, at: number, what: string): void {
  assert.ok(
    t !== undefined && t >= at && t <= at + SLACK,
    `${what}: ${t}, wanted ${at}–${at + SLACK}`,
  );
}

test("Keepalive: a peer gone silent is dead (countMax+1)×interval after its last packet, however that packet fell", () => {
  // ssh -o ServerAliveInterval=1 -o ServerAliveCountMax=2 gives up 3 s after the last packet;
  // a fixed tick grid gave up to 4 s: traffic just after a tick postponed the first probe.
  for (const countMax of [0, 1, 2, 3]) {
    for (const last of [1, 250, 999, 1000, 1001, 1999, 2000, 2001, 2500]) {
      const k = new Keepalive(1000, countMax);
      k.start(0);
      const traffic = [];
      for (let t = 1; t < last; t += 97) traffic.push(t);
      traffic.push(last);
      const trace = drive(k, traffic, 20_000);
      const at = `countMax ${countMax}, last packet at ${last}`;
      within(trace.dead, last + (countMax + 1) * 1000, `${at}: dead`);
      // One probe an interval after the last packet, then one each interval: the error's
      // "N keepalives over N×interval" is what happened.
      assert.equal(trace.probes.length, countMax, at);
      trace.probes.forEach((p, i) => within(p, last + (i + 1) * 1000, `${at}: probe ${i}`));
      for (let i = 1; i < trace.probes.length; i++) {
        assert.equal(trace.probes[i]! - trace.probes[i - 1]!, 1000, at);
      }
      assert.equal(trace.dead! - (trace.probes.at(-1) ?? trace.dead! - 1000), 1000, at);
    }
  }
});

test("Keepalive never probes sooner than an interval after the last packet, the answer to a probe included", () => {
  // An answered probe: the next one an interval after the answer (an eighth more at most),
  // as OpenSSH reschedules on every packet received (a fixed grid probed two intervals on).
  const k = new Keepalive(1000, 2);
  k.start(0);
  const trace = drive(k, [], 5_000, 40);
  assert.equal(trace.probes[0], 1000);
  for (let i = 1; i < trace.probes.length; i++) {
    within(trace.probes[i], trace.probes[i - 1]! + 40 + 1000, `probe ${i}`);
  }
  assert.equal(trace.dead, undefined, "every probe answered");
  // Traffic right up to a deadline pushes the probe a whole interval past it.
  const k2 = new Keepalive(1000, 2);
  k2.start(0);
  const t2 = drive(k2, [500, 999, 1998], 3_500);
  assert.equal(t2.probes.length, 1);
  within(t2.probes[0], 2998, "probe after 1998");
  // Whatever the packets, every probe comes an interval or more after the last one before it.
  const rx = [3, 950, 1001, 1002, 2950, 4400, 4401, 7000, 7999, 9100];
  const t3 = drive(new Keepalive(1000, 5), rx, 9_000);
  for (const p of t3.probes) {
    const before = rx.filter((r) => r <= p).at(-1) ?? 0;
    assert.ok(p - before >= 1000, `probe at ${p}, packet at ${before}`);
  }
});

test("Keepalive: after a packet the deadline comes an eighth of an interval after the last tick, and stays put while more arrive", () => {
  const k = new Keepalive(1000, 3);
  k.onReceive(); // the handshake, before start()
  k.start(500);
  assert.equal(k.deadline(), 625);
  assert.equal(k.tick(730), "none");
  assert.equal(k.deadline(), 1730);
  for (let i = 0; i < 5; i++) {
    k.onReceive();
    assert.equal(k.deadline(), 855, "the same deadline: a driver re-arms no timer per chunk");
  }
  assert.equal(k.tick(900), "none");
  assert.equal(k.deadline(), 1900);
  assert.equal(k.tick(1899), "none", "a tick before the deadline does nothing");
  assert.equal(k.tick(1900), "send");
  assert.equal(k.deadline(), 2900);
});

test("client engine: ServerAliveInterval 1 s, CountMax 2 drops a silenced server 3 s after its last packet", () => {
  let deadAt: number | undefined;
  const pair = makePair({
    password: "secret",
    client: { keepaliveIntervalMs: 1000, keepaliveCountMax: 2 },
    onClient: (e, p) => void (e.type === "disconnect" && (deadAt ??= p.now)),
  });
  pair.run();
  assert.ok(pair.client.authenticated);
  pair.advance(2_345); // live: probes answered
  assert.equal(deadAt, undefined);
  // A packet from the server, then silence (the server is SIGSTOPped).
  pair.advance(1);
  pair.server.sendGlobalRequest("keepalive@openssh.com", true);
  let lastRx = -1;
  let silent = false;
  const probes: number[] = [];
  pair.tapServerToClient = (b) => {
    if (silent) return new Uint8Array(0);
    lastRx = pair.now;
    return b;
  };
  pair.tapClientToServer = (b) => (silent && probes.push(pair.now), b);
  pair.run();
  silent = true;
  assert.equal(lastRx, pair.now);
  pair.advance(10_000);
  within(deadAt, lastRx + 3000, "dead (countMax+1)×interval after the last packet");
  // What the client sent while the server was silent: two probes, then its DISCONNECT.
  assert.equal(probes.length, 3);
  within(probes[0], lastRx + 1000, "first probe");
  assert.deepEqual(probes, [probes[0], probes[0]! + 1000, deadAt], "a probe each interval");
});
