/** The system source hands out fresh bytes at every size, through its pool and around it. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { systemRandom } from "./random.ts";

test("systemRandom: every request gets its own fresh bytes, small ones across pool refills too", () => {
  const seen = new Set<string>();
  let total = 0;
  let longestZeroRun = 0;
  let run = 0;
  // Sizes that straddle the pool's refills (4 KiB) and its request limit (256 bytes).
  for (let i = 0; i < 3000; i++) {
    const n = 1 + ((i * 37) % 300);
    const b = systemRandom(n);
    assert.equal(b.length, n);
    total += n;
    for (const x of b) {
      run = x === 0 ? run + 1 : 0;
      longestZeroRun = Math.max(longestZeroRun, run);
    }
    if (n >= 16) {
      const key = Buffer.from(b.subarray(0, 16)).toString("hex");
      assert.ok(!seen.has(key), "a 16-byte prefix came twice");
      seen.add(key);
    }
  }
  assert.ok(total > 100 * 4096);
  // Zeroed pool bytes handed out would show as long zero runs (random: 8 in a row ~ 2^-64).
  assert.ok(longestZeroRun < 8, `a run of ${longestZeroRun} zero bytes`);
});

test("systemRandom: what one caller holds is not touched by the next request", () => {
  const a = systemRandom(32);
  const copy = a.slice();
  for (let i = 0; i < 200; i++) systemRandom(64);
  assert.deepEqual(a, copy);
  assert.notEqual(a.buffer, systemRandom(32).buffer, "each result has its own buffer");
});

test("systemRandom: a bad size never rewinds the pool over bytes already handed out", () => {
  systemRandom(100);
  for (const bad of [-64, -1, -Infinity, NaN, 2.5]) {
    try {
      systemRandom(bad);
    } catch { /* refused: what matters is what the next callers get */ }
  }
  const next = [systemRandom(64), systemRandom(64), systemRandom(32)];
  for (const b of next) {
    assert.ok(b.length > 0);
    assert.ok(b.some((x) => x !== 0), "fresh bytes, not the pool's zeroed ones");
  }
  assert.notDeepEqual(next[0], next[1]);
});

test("systemRandom: large requests (beyond getRandomValues' 65,536-byte limit) are filled", () => {
  const b = systemRandom(200_000);
  assert.equal(b.length, 200_000);
  const counts = new Uint32Array(256);
  for (const x of b) counts[x]!++;
  // Each byte value about 781 times: none missing, none far off.
  assert.ok(Math.min(...counts) > 500 && Math.max(...counts) < 1100);
});
