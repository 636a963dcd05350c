/**
 * Key exchange benchmarks: one full exchange (client start, server reply, client
 * finish, host key signature with Ed25519) per method, in memory.
 *
 * Two ways to run it:
 * - `deno bench bench/kex_bench.ts` — Deno's bench runner;
 * - `node bench/kex_bench.ts`, `bun bench/kex_bench.ts` or
 *   `deno run -A bench/kex_bench.ts --neutral` — the same cases timed by a small
 *   runtime-neutral loop (`performance.now()`), printing ms/op and ops/s, so the three
 *   runtimes are measured the same way.
 *
 * Randomness comes from a seeded stream so the figures measure the kex, not the
 * platform CSPRNG. Benchmarks report; they never assert.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { createHostKeySigner } from "../core/kex/host_key_signer.ts";
import { getKexMethod, SUPPORTED_KEX } from "../core/kex/registry.ts";
import type { KexContext, KexMethod } from "../core/kex/types.ts";
import { seededRandom } from "../core/random.ts";
import { utf8 } from "../core/wire.ts";

const seed = new Uint8Array(32).fill(7);
const hostKey = createHostKeySigner(
  { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed },
  "ssh-ed25519",
);
const random = seededRandom(1);
const ctx: KexContext = {
  clientVersion: "SSH-2.0-bench_client",
  serverVersion: "SSH-2.0-bench_server",
  clientKexInit: utf8("\u0014client"),
  serverKexInit: utf8("\u0014server"),
  random,
};

/** One complete exchange; throws if the two sides disagree. */
function exchange(method: KexMethod): void {
  const client = method.createClient(ctx);
  const server = method.createServer(ctx, { hostKey });
  let toServer = client.start().send;
  for (let round = 0; round < 4; round++) {
    const toClient: Uint8Array[] = [];
    for (const m of toServer) toClient.push(...server.receive(m).send);
    toServer = [];
    for (const m of toClient) {
      const step = client.receive(m);
      if (step.result) return;
      toServer = [...toServer, ...step.send];
    }
  }
  throw new Error(`${method.name} did not finish`);
}

const CASES = SUPPORTED_KEX.map((name) => ({ name, fn: () => exchange(getKexMethod(name)!) }));

/**
 * Times `fn` in batches of about 100 ms for about `ms` in total after a warm-up and
 * returns the median and best ms per operation (the best is robust to a busy machine).
 */
function time(fn: () => void, ms: number): { median: number; best: number } {
  const warm = performance.now();
  while (performance.now() - warm < ms / 4) fn();
  const perOp: number[] = [];
  const start = performance.now();
  while (performance.now() - start < ms || perOp.length < 3) {
    let n = 0;
    const t0 = performance.now();
    let t = t0;
    while (t - t0 < 100 || n === 0) {
      fn();
      n++;
      t = performance.now();
    }
    perOp.push((t - t0) / n);
  }
  perOp.sort((a, b) => a - b);
  return { median: perOp[perOp.length >> 1]!, best: perOp[0]! };
}

function runtimeName(): string {
  const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
  if (g.Bun) return `Bun ${g.Bun.version}`;
  if (g.Deno) return `Deno ${g.Deno.version.deno}`;
  const p = (globalThis as { process?: { version?: string } }).process;
  return `Node ${p?.version ?? "?"}`;
}

const deno = (globalThis as {
  Deno?: { bench: (name: string, fn: () => void) => void; args: string[] };
}).Deno;
if (deno && !deno.args.includes("--neutral")) {
  for (const c of CASES) deno.bench(`kex ${c.name}`, c.fn);
} else {
  console.log(`kex, full exchange (client + server + Ed25519 host signature) — ${runtimeName()}`);
  console.log(
    `${"".padEnd(40)} ${"median ms".padStart(10)} ${"best ms".padStart(10)} ${"ops/s".padStart(8)}`,
  );
  for (const c of CASES) {
    const { median, best } = time(c.fn, 1500);
    console.log(
      `${c.name.padEnd(40)} ${median.toFixed(2).padStart(10)} ${best.toFixed(2).padStart(10)} ${
        (1000 / median).toFixed(1).padStart(8)
      }`,
    );
  }
}
