/**
 * One fixture per peer per test file, started on first use and stopped when the
 * file's tests end: most conformance tests only need a running peer.
 *
 * @module
 */

import { after } from "node:test";
import { startPeer } from "./fixtures/mod.ts";
import type { FixtureOptions, PeerFixture, PeerName } from "./fixtures/mod.ts";

const started = new Map<string, Promise<PeerFixture>>();

/** The shared fixture for `peer` with `options` (keyed by both). */
export function sharedPeer(peer: PeerName, options: FixtureOptions = {}): Promise<PeerFixture> {
  const key = peer + JSON.stringify(options);
  let f = started.get(key);
  if (!f) {
    f = startPeer(peer, options);
    started.set(key, f);
  }
  return f;
}

after(async () => {
  for (const f of started.values()) {
    try {
      await (await f).stop();
    } catch { /* failed to start: nothing to stop */ }
  }
  started.clear();
});
