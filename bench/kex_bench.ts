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
 * Each method runs twice. Portable: randomness from a seeded stream (so the figures
 * measure the kex, not the platform CSPRNG), which keeps every step on the portable path
 * (`@noble`, our TypeScript). "(native)": the system random source, with the node:crypto
 * backends connect() and listen() install where this runtime passes their checks (X25519
 * and Ed25519, ML-KEM-768 on Node 24, the NIST curves' ECDH). Benchmarks report; they never
 * assert.
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { createHostKeySigner } from "../core/kex/host_key_signer.ts";
import { getKexMethod, SUPPORTED_KEX } from "../core/kex/registry.ts";
import type { KexContext, KexMethod } from "../core/kex/types.ts";
import { type RandomSource, seededRandom, systemRandom } from "../core/random.ts";
import { registerCurve25519Backend } from "../core/crypto/curve25519_backend.ts";
import { registerMlKem768Backend } from "../core/pq/mlkem768.ts";
import { registerEcdhBackend } from "../core/kex/ecdh.ts";
import { NODE_CURVE25519, registerNativeCurves } from "../io/crypto/native_curves.ts";
import { NODE_MLKEM768, registerNativeMlKem768 } from "../io/crypto/native_mlkem.ts";
import { NODE_ECDH, registerNativeEcdh } from "../io/crypto/native_ecdh.ts";
import { utf8 } from "../core/wire.ts";

const seed = new Uint8Array(32).fill(7);
const hostKey = createHostKeySigner(
  { type: "ed25519", publicKey: ed25519.getPublicKey(seed), seed },
  "ssh-ed25519",
);
function contextWith(random: RandomSource): KexContext {
  return {
    clientVersion: "SSH-2.0-bench_client",
    serverVersion: "SSH-2.0-bench_server",
    clientKexInit: utf8("\u0014client"),
    serverKexInit: utf8("\u0014server"),
    random,
  };
}
const portable = contextWith(seededRandom(1));
const nativeContext = contextWith(systemRandom);

/** One complete exchange; throws if the two sides disagree. */
function exchange(method: KexMethod, ctx: KexContext): void {
  const client = method.createClient(ctx);
  const server = method.createServer(ctx, { hostKey });
  let toServer = client.start().send;
  // RSA key exchange (RFC 4432): the server speaks first.
  let first = server.start?.().send ?? [];
  for (let round = 0; round < 4; round++) {
    const toClient: Uint8Array[] = [...first];
    first = [];
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

const NATIVE = {
  curves: registerNativeCurves() ? NODE_CURVE25519 : null,
  mlkem: registerNativeMlKem768() ? NODE_MLKEM768 : null,
  ecdh: registerNativeEcdh().length > 0 ? NODE_ECDH : null,
};

/** Installs the native backends (those that passed their checks here), or none. */
function backends(native: boolean): void {
  registerCurve25519Backend(native ? NATIVE.curves : null);
  registerMlKem768Backend(native ? NATIVE.mlkem : null);
  registerEcdhBackend(native ? NATIVE.ecdh : null);
}
backends(false);

const CASES = [false, true].flatMap((native) =>
  SUPPORTED_KEX.map((name) => ({
    name: native ? `${name} (native)` : name,
    fn: () => {
      backends(native);
      exchange(getKexMethod(name)!, native ? nativeContext : portable);
    },
  }))
);

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
    `${"".padEnd(50)} ${"median ms".padStart(10)} ${"best ms".padStart(10)} ${"ops/s".padStart(8)}`,
  );
  for (const c of CASES) {
    const { median, best } = time(c.fn, 1500);
    console.log(
      `${c.name.padEnd(50)} ${median.toFixed(2).padStart(10)} ${best.toFixed(2).padStart(10)} ${
        (1000 / median).toFixed(1).padStart(8)
      }`,
    );
  }
}
