/**
 * The timeout options as values: past 2^31 - 1 ms (where `setTimeout` would fire
 * after 1 ms) they wait without limit, and a negative or NaN one is a RangeError,
 * for connect({ connectTimeout }), wait/run({ timeout }), runMany({ timeout }) and
 * the engine's own deadlines (loginTimeout). Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connectMany } from "../fanout/pool.ts";
import { runMany } from "../fanout/run_many.ts";
import { MAX_TIMER_MS } from "../runtime/timer.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { connect } from "./connect.ts";

const hostKey = generatePrivateKey("ed25519");
const TOO_LONG = MAX_TIMER_MS + 1;

async function server(extra: Record<string, unknown> = {}): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    // Answers after 30 ms: a timer that fired after 1 ms would win.
    processFactory: async (p) => {
      await new Promise((r) => setTimeout(r, 30));
      p.write("done");
      p.exit(0);
    },
    ...extra,
  });
}

const login = {
  username: "u",
  password: "p",
  knownHosts: null,
  agent: false,
  config: false,
} as const;

test("connectTimeout past 2^31 - 1 ms waits without limit; negative or NaN is a RangeError", async () => {
  await using s = await server();
  for (const connectTimeout of [-1, NaN]) {
    await assert.rejects(
      connect("127.0.0.1", { ...login, port: s.address.port, connectTimeout }),
      (e) => e instanceof RangeError && /connectTimeout/.test(e.message),
    );
  }
  await using conn = await connect("127.0.0.1", {
    ...login,
    port: s.address.port,
    connectTimeout: TOO_LONG,
  });
  assert.equal((await conn.run("x", { timeout: TOO_LONG })).stdout, "done");
  await assert.rejects(conn.run("x", { timeout: -5 }), RangeError);
});

test("runMany({ timeout }) and a pool's runAll({ timeout }) past 2^31 - 1 ms waits without limit; a negative one is a RangeError", async () => {
  await using s = await server();
  const opts = { ...login, port: s.address.port };
  const results = [];
  for await (const r of runMany(["127.0.0.1"], "x", { ...opts, timeout: TOO_LONG })) {
    results.push(r);
  }
  assert.equal(results.length, 1);
  assert.ok(results[0]!.ok, JSON.stringify(results[0]));
  assert.throws(() => runMany(["127.0.0.1"], "x", { ...opts, timeout: -1 }), RangeError);
  // The pool's runAll() reads its timeout as runMany() does.
  await using pool = await connectMany(["127.0.0.1"], opts);
  const pooled = [];
  for await (const r of pool.runAll("x", { timeout: TOO_LONG })) pooled.push(r);
  assert.ok(pooled[0]?.ok, JSON.stringify(pooled[0]));
  assert.throws(() => pool.runAll("x", { timeout: NaN }), RangeError);
});

test("a server deadline past 2^31 - 1 ms (loginTimeout) neither fires nor spins a timer", async () => {
  await using s = await server({ loginTimeout: 2 ** 40 });
  await using conn = await connect("127.0.0.1", { ...login, port: s.address.port });
  // An idle unauthenticated connection to the same server: its driver's only deadline is
  // loginTimeout's. A timer asked for more than 2^31 - 1 ms fires after 1 ms instead: the
  // driver then re-armed it every millisecond.
  const idle = await import("node:net").then((net) => net.connect(s.address.port, "127.0.0.1"));
  await new Promise((r) => idle.once("data", r)); // the server's version line
  const real = globalThis.setTimeout;
  let armed = 0;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    armed++;
    return real(fn, ms);
  }) as typeof setTimeout;
  try {
    await new Promise((r) => real(r, 200));
  } finally {
    globalThis.setTimeout = real;
    idle.destroy();
  }
  assert.ok(armed < 20, `${armed} timers armed in 200 ms of idleness`);
  assert.equal((await conn.run("x")).stdout, "done");
});
