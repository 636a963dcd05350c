/**
 * Bulk data through a remote `cat` on real OpenSSH (9.2 and 10.x): 1 GiB goes
 * up and comes back at the same time, hash-checked, while the client's
 * resident memory stays flat — the channel window, not the data size, bounds
 * what the client holds.
 *
 * Memory is checked from a warm baseline, taken once 128 MiB have made the
 * round trip: by then the JS heap has grown to its working size and the
 * garbage collector's rhythm is set (each 32 KiB packet costs a few short-lived
 * buffers: socket reads, node:crypto output, the copy out of the transport's
 * buffer). From there to 1 GiB, RSS must stay within 64 MiB. The growth from
 * the cold start is printed too.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import process from "node:process";
import { conformanceTest } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { fastCipher, login, OPENSSH_PEERS } from "./client_peer.ts";

const TOTAL = Number(process.env.SSHTS_STREAM_BYTES ?? 1024 * 1024 * 1024);
const CHUNK = 256 * 1024;
const RSS_BUDGET = 64 * 1024 * 1024;
const WARM_AFTER = 128 * 1024 * 1024;

/** Deterministic, non-repeating-looking bytes: xorshift32 over the whole stream. */
function fill(buf: Uint8Array, state: { s: number }): void {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
  let s = state.s;
  for (let i = 0; i < words.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    words[i] = s;
  }
  state.s = s;
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `1 GiB through a remote cat on ${peer} comes back intact in bounded memory`,
    { peers: [peer], timeoutMs: 300_000 },
    async () => {
      await using conn = await login(await sharedPeer(peer), { encryptionAlgs: [fastCipher()] });
      // Warm up (JIT, crypto, buffers) before taking the baseline.
      await conn.run("true");
      collectGarbage();
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      let warm = 0;
      const t0 = performance.now();
      const p = await conn.createProcess("cat");
      const sent = createHash("sha256");
      const received = createHash("sha256");
      let got = 0;
      const reading = (async () => {
        let next = 0;
        for await (const c of p.stdout) {
          received.update(c);
          got += c.length;
          if (got >= next) {
            collectGarbage();
            const rss = process.memoryUsage().rss;
            if (!warm && got >= WARM_AFTER) warm = rss;
            peak = Math.max(peak, rss);
            next += 32 * 1024 * 1024;
          }
        }
      })();
      const buf = new Uint8Array(CHUNK);
      const state = { s: 0x9e3779b9 };
      for (let off = 0; off < TOTAL; off += CHUNK) {
        fill(buf, state);
        sent.update(buf);
        await p.write(buf);
      }
      p.writeEof();
      await reading;
      await p.wait();
      const seconds = (performance.now() - t0) / 1000;
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.equal(got, TOTAL);
      assert.equal(received.digest("hex"), sent.digest("hex"));
      const mib = (n: number) => (n / 2 ** 20).toFixed(1);
      console.error(
        `stream ${peer}: ${(TOTAL / 2 ** 20).toFixed(0)} MiB each way in ${seconds.toFixed(1)} s ` +
          `(${(TOTAL / 1e6 / seconds).toFixed(0)} MB/s each way, ${fastCipher()}); RSS start ` +
          `${mib(rss0)} MiB, warm +${mib(warm - rss0)}, peak +${mib(peak - rss0)} from start, ` +
          `+${mib(peak - warm)} from warm`,
      );
      if (TOTAL > WARM_AFTER) {
        assert.ok(peak - warm < RSS_BUDGET, `RSS grew by ${mib(peak - warm)} MiB after warming up`);
      }
    },
  );
}

/**
 * Runs a full collection where the runtime lets a script ask (always on Bun, with
 * --expose-gc on Node and Deno), so an RSS sample shows what the client holds
 * rather than garbage a lazy collector has not reclaimed yet: JavaScriptCore (Bun)
 * otherwise lets RSS climb 70–80 MiB here while the live set stays flat.
 */
function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}
