/**
 * `maxOutput` (run(), wait(), runMany(), SSHPool.runAll()): a command writing without
 * end fails with ProcessOutputLimitError holding the first `maxOutput` bytes, its channel
 * closed, instead of holding everything it writes in memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ProcessOutputLimitError } from "./errors.ts";
import { runMany } from "../fanout/run_many.ts";
import { connectMany } from "../fanout/pool.ts";
import { loopback } from "../server/_loopback_test_util.ts";

/** A server whose "yes" writes lines until its channel closes; "say N" writes N bytes. */
async function server(closed: string[]) {
  return await loopback({
    processFactory: async (p) => {
      const [verb, arg] = (p.command ?? "").split(" ");
      if (verb === "say") return p.write("x".repeat(Number(arg)));
      if (verb === "err") {
        const w = p.stderr.getWriter();
        await w.write(new TextEncoder().encode("é".repeat(Number(arg))));
        return await w.close();
      }
      try {
        for (;;) await p.write("y\n".repeat(512));
      } catch {
        closed.push(p.command ?? "");
      }
    },
  });
}

const login = (port: number) => ({
  port,
  username: "u",
  password: "p",
  knownHosts: null,
  clientKeys: [],
  config: false,
  agent: false,
} as const);

test("run() with maxOutput stops a command that writes without end and keeps the first bytes", async () => {
  const closed: string[] = [];
  await using srv = await server(closed);
  const { conn } = srv;
  const e = await conn.run("yes", { maxOutput: 100_000 }).then(() => null, (e) => e);
  assert.ok(e instanceof ProcessOutputLimitError, String(e));
  assert.equal(e.code, "ERR_READ_LIMIT");
  assert.equal(e.command, "yes");
  assert.equal(e.stdout, "y\n".repeat(50_000));
  assert.equal(e.stderr, "");
  // The process was closed: the server's writes failed.
  for (let i = 0; i < 100 && closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(closed, ["yes"]);
  // The connection is still usable.
  assert.equal((await conn.run("say 3")).stdout, "xxx");
});

test("output of exactly maxOutput bytes is a success; one more is not, on stderr too", async () => {
  await using srv = await server([]);
  const { conn } = srv;
  assert.equal((await conn.run("say 1000", { maxOutput: 1000 })).stdout.length, 1000);
  const e = await conn.run("say 1001", { maxOutput: 1000 }).then(() => null, (e) => e);
  assert.ok(e instanceof ProcessOutputLimitError);
  assert.equal(e.stdout, "x".repeat(1000));
  // "é" is two bytes: a limit inside a character leaves that character out of the text.
  const e2 = await conn.run("err 10", { maxOutput: 5 }).then(() => null, (e) => e);
  assert.ok(e2 instanceof ProcessOutputLimitError);
  assert.equal(e2.stderr, "éé");
  const e3 = await conn.run("err 10", { maxOutput: 5, encoding: null }).then(() => null, (e) => e);
  assert.ok(e3 instanceof ProcessOutputLimitError);
  assert.deepEqual(
    [...(e3.stderr as Uint8Array)],
    [...new TextEncoder().encode("éé")].concat(0xc3),
  );
  // maxOutput 0: any output at all is too much.
  await assert.rejects(conn.run("say 1", { maxOutput: 0 }), ProcessOutputLimitError);
  assert.equal((await conn.run("say 0", { maxOutput: 0 })).stdout, "");
});

test("a maxOutput that is no byte count is refused before a channel opens", async () => {
  await using srv = await server([]);
  const { conn } = srv;
  for (const bad of [-1, 1.5, NaN, Infinity]) {
    await assert.rejects(conn.run("say 1", { maxOutput: bad }), RangeError);
  }
  const p = await conn.createProcess("say 1");
  await assert.rejects(p.wait({ maxOutput: -1 }), RangeError);
  assert.equal(new TextDecoder().decode((await p.wait()).stdout as Uint8Array), "x");
  assert.throws(() => runMany(["a"], "true", { maxOutput: -5 }), RangeError);
});

test("runMany() and SSHPool.runAll() fail only the host whose command wrote too much", async () => {
  const closed: string[] = [];
  await using srv = await server(closed);
  const port = srv.server.address.port;
  const hosts = [{ host: "127.0.0.1", port }, { host: "127.0.0.1", port }];
  const results = [];
  for await (
    const r of runMany(hosts, "yes", { ...login(port), maxOutput: 10_000, concurrency: 2 })
  ) results.push(r);
  assert.equal(results.length, 2);
  for (const r of results) {
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.error instanceof ProcessOutputLimitError, String(!r.ok && r.error));
  }
  const ok = [];
  for await (const r of runMany(hosts, "say 10", { ...login(port), maxOutput: 10 })) ok.push(r);
  assert.deepEqual(ok.map((r) => r.ok && r.stdout), ["x".repeat(10), "x".repeat(10)]);

  await using pool = await connectMany(["127.0.0.1"], login(port));
  const pooled = [];
  for await (const r of pool.runAll("yes", { maxOutput: 1000 })) pooled.push(r);
  assert.ok(!pooled[0]!.ok && pooled[0]!.error instanceof ProcessOutputLimitError);
  assert.equal(
    (await pool.run("127.0.0.1", "say 2")).stdout,
    "xx",
    "the pooled connection lives on",
  );
});
