/**
 * runMany() and SSHPool against careless or hostile use: a host list given as a string,
 * a per-host field set to undefined, a command that is no command, a host's own signal,
 * an abort before the function runs on a pooled host, pool.run()'s timeout over a
 * reconnect, close() twice, next() after return(). Our own listen() on loopback; not timed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { ProcessTimeoutError } from "../client/errors.ts";
import { connectMany, SSHPool } from "./pool.ts";
import { fanOut, type FanoutHost, runMany } from "./run_many.ts";
import { collect, LOGIN as base, passwordServer, settles } from "./_fanout_test_util.ts";

const hostKey = generatePrivateKey("ed25519");

async function server(): Promise<SSHServer> {
  return await passwordServer({
    processFactory: async (p) => {
      if (p.command === "sleep") return await new Promise(() => {});
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
}

/** A TCP listener that accepts and never answers; `open` counts its live sockets. */
async function silent(): Promise<{ port: number; open: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.resume(); // reads, so it sees the client's end
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    open: () => sockets.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

test("runMany, connectMany, SSHPool: a string host list is a TypeError, not one host per character", async () => {
  // No connection is tried: the signal is aborted, and the check comes first anyway.
  const signal = AbortSignal.abort();
  assert.throws(() => runMany("web1", "x", { ...base, signal }), TypeError);
  assert.throws(() => runMany("web1", () => Promise.resolve(1), { ...base, signal }), TypeError);
  await assert.rejects(connectMany("web1", { ...base, signal }), TypeError);
  assert.throws(() => new SSHPool("web1", base), TypeError);
  // A list of one still works.
  const [r] = await collect(runMany(["web1"], "x", { ...base, signal }));
  assert.ok(r && !r.ok && r.host === "web1");
});

test("runMany and SSHPool.runAll: a command neither string nor function is a TypeError at the call", async () => {
  let connections = 0;
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    validatePassword: () => true,
    connectionMade: () => void connections++,
  });
  const h = { host: "127.0.0.1", port: s.address.port };
  for (const bad of [undefined, null, 42, {}]) {
    assert.throws(() => runMany([h], bad as unknown as string, base), TypeError, String(bad));
  }
  const pool = new SSHPool([h], base);
  assert.throws(() => pool.runAll(undefined as unknown as string), TypeError);
  await pool.close();
  assert.equal(connections, 0, "no host was connected to");
});

test("runMany and SSHPool: a host field set to undefined leaves the batch's", async () => {
  await using s = await server();
  const port = s.address.port;
  // As `hosts.map((h) => ({ host: h.name, port: h.port }))` makes for hosts without a port.
  // (Without exactOptionalPropertyTypes, or from JavaScript, that type-checks.)
  const entry = {
    host: "127.0.0.1",
    port: undefined,
    username: undefined,
  } as unknown as FanoutHost;
  const [r] = await collect(runMany([entry], "x", { ...base, port }));
  assert.ok(r?.ok, r?.ok ? "" : r?.error.message);
  assert.equal(r.stdout, "ran x\n");
  await using pool = await connectMany([entry], { ...base, port });
  assert.deepEqual(pool.connected, ["127.0.0.1"], String(pool.lastError("127.0.0.1")));
  assert.equal((await pool.run("127.0.0.1", "y")).stdout, "ran y\n");
});

test("runMany: a host's own signal aborts that host only", async () => {
  await using s = await server();
  const port = s.address.port;
  const mine = new AbortController();
  const results = await settles(
    collect(runMany([
      { host: "127.0.0.1", port, signal: AbortSignal.abort(new Error("not this one")) },
      { host: "127.0.0.1", port, signal: mine.signal },
      { host: "127.0.0.1", port },
    ], async (conn, info) => {
      if (info.index === 1) {
        setTimeout(() => mine.abort(new Error("host 1 stopped")), 50);
        return await conn.run("sleep", { signal: info.signal });
      }
      return (await conn.run("x")).stdout;
    }, base)),
    "runMany",
  );
  assert.ok(!results[0]!.ok && results[0]!.error.message === "not this one");
  assert.equal(results[0]!.attempts, 0, "never connected");
  assert.ok(!results[1]!.ok && results[1]!.error.message === "host 1 stopped");
  assert.ok(results[2]!.ok && results[2]!.value === "ran x\n");
});

test("SSHPool.runAll: after the batch's abort the function is not called on connected hosts", async () => {
  await using s = await server();
  const port = s.address.port;
  await using pool = await connectMany([
    { host: "127.0.0.1", port },
    { host: "127.0.0.1", port, username: "bob" },
    { host: "127.0.0.1", port, username: "carol" },
  ], base);
  assert.equal(pool.connected.length, 3);
  const called: number[] = [];
  const task = (_c: unknown, info: { index: number }) => {
    called.push(info.index);
    return Promise.resolve("done");
  };
  const pre = await collect(pool.runAll(task, { signal: AbortSignal.abort(new Error("stop")) }));
  assert.deepEqual(pre.map((r) => !r.ok && r.error.message), ["stop", "stop", "stop"]);
  assert.equal(called.length, 0, "aborted before the batch: called on no host");
  // Aborted by the first host's function: the others are not called.
  const ac = new AbortController();
  const mid = await collect(pool.runAll((_c, info) => {
    called.push(info.index);
    ac.abort(new Error("stop"));
    return Promise.resolve("done");
  }, { signal: ac.signal, concurrency: 1 }));
  assert.equal(mid.length, 3);
  assert.deepEqual(called, [0]);
});

test("SSHPool.run: the timeout covers a reconnect that hangs", async () => {
  const quiet = await silent();
  try {
    // Its connectTimeout is far off: the run's timeout must end the wait.
    const pool = new SSHPool([{ host: "127.0.0.1", port: quiet.port }], {
      ...base,
      connectTimeout: 120_000,
    });
    await assert.rejects(
      settles(pool.run("127.0.0.1", "x", { timeout: 200 }), "pool.run"),
      (e: Error) => e instanceof ProcessTimeoutError && /within 200 ms/.test(e.message),
    );
    // The connect it gave up on is gone too (its socket closed).
    for (let i = 0; i < 200 && quiet.open() > 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(quiet.open(), 0);
    await pool.close();
  } finally {
    await quiet.close();
  }
  // A command that outlives it: ProcessTimeoutError with the timeout given.
  await using s = await server();
  await using pool = await connectMany([{ host: "127.0.0.1", port: s.address.port }], base);
  await assert.rejects(
    pool.run("127.0.0.1", "sleep", { timeout: 200 }),
    (e: Error) => e instanceof ProcessTimeoutError && /within 200 ms/.test(e.message),
  );
  assert.equal((await pool.run("127.0.0.1", "x", { timeout: 10_000 })).stdout, "ran x\n");
});

test("SSHPool.close(): a second call waits for the connections to close as the first does", async () => {
  await using s = await server();
  const pool = await connectMany([{ host: "127.0.0.1", port: s.address.port }], base);
  const conn = await pool.get("127.0.0.1");
  let closed = false;
  void conn.closed.then(() => (closed = true));
  const first = pool.close();
  await pool.close();
  assert.equal(closed, true, "the second close() resolved before the connection closed");
  await first;
  await pool.close(); // and once closed, again: at once
});

test("fanOut: next() after return() is done, not a result left in the buffer", async () => {
  const timing = { startedAt: 0, connectMs: undefined, totalMs: 0 };
  const it = fanOut<FanoutHost, string>(["a", "b", "c"], (item, index) =>
    Promise.resolve({
      ok: true as const,
      host: item as string,
      index,
      value: item as string,
      attempts: 1,
      timing,
    }));
  const first = await it.next();
  assert.equal(first.done, false);
  // The other items are done and waiting by now.
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(await it.return!(), { value: undefined, done: true });
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("hosts as [user@]host[:port] strings: runMany and the pool connect there, results name them as given", async () => {
  await using s = await server();
  const port = s.address.port;
  const seen: string[] = [];
  await using s2 = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (user, pw) => pw === "pw" && (seen.push(user), true),
    processFactory: async (p) => {
      await p.write(`ran ${p.command} as ${p.connection?.username}\n`);
      p.exit(0);
    },
  });
  const hosts = [`127.0.0.1:${port}`, `bob@127.0.0.1:${s2.address.port}`, `[127.0.0.1]:${port}`];
  const results = await collect(runMany(hosts, "x", { ...base, port: 1 }));
  assert.deepEqual(
    results.map((r) => [r.host, r.ok && r.stdout]),
    [
      [hosts[0], "ran x\n"],
      [hosts[1], "ran x as bob\n"],
      [hosts[2], "ran x\n"],
    ],
  );
  assert.deepEqual(seen, ["bob"]);
  // Not a port, or none of 1-65535: this host's TypeError, not the batch's.
  const bad = await collect(runMany(["127.0.0.1:ssh", "127.0.0.1:0", ":22"], "x", base));
  assert.deepEqual(bad.map((r) => !r.ok && r.error instanceof TypeError), [true, true, true]);

  await using pool = await connectMany(hosts, { ...base, port: 1 });
  // The third is the first written otherwise: one host, as an exact duplicate is.
  assert.deepEqual(pool.hosts, hosts.slice(0, 2));
  assert.equal((await pool.run(hosts[1]!, "y")).stdout, "ran y as bob\n");
  // A string finds its entry by host, port and user alike.
  assert.equal((await pool.run(`bob@127.0.0.1:${s2.address.port}`, "z")).stdout, "ran z as bob\n");
  await assert.rejects(pool.run("127.0.0.1", "z"), RangeError); // two entries share it
});

test("SSHPool: more commands at once than the server's MaxSessions wait their turn instead of failing", async () => {
  let running = 0;
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  await using s = await passwordServer({
    maxSessions: 3, // refuses a fourth session at once, as sshd past MaxSessions
    processFactory: async (p) => {
      most = Math.max(most, ++running);
      await gate;
      running--;
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
  const host = `127.0.0.1:${s.address.port}`;
  await using pool = await connectMany([host], { ...base, maxSessions: 3 });
  const runs = Array.from({ length: 8 }, (_, i) => pool.run(host, `c${i}`));
  // A waiting command gives up with its timeout like any other.
  await assert.rejects(pool.run(host, "late", { timeout: 50 }), ProcessTimeoutError);
  release();
  const results = await Promise.all(runs);
  assert.deepEqual(results.map((r) => r.stdout), runs.map((_, i) => `ran c${i}\n`));
  assert.equal(most, 3);
  // runAll() takes its turn too.
  const all = await collect(pool.runAll("again"));
  assert.equal(all.length, 1);
  assert.ok(all[0]!.ok);
  assert.throws(() => new SSHPool([host], { maxSessions: 0 }), RangeError);
});

test("runMany: a command past the host's timeout fails with the output it wrote so far", async () => {
  await using s = await passwordServer({
    processFactory: async (p) => {
      await p.write("partial\n");
      await p.writeStderr("warming up\n");
      await new Promise(() => {});
    },
  });
  const [r] = await collect(
    runMany([`127.0.0.1:${s.address.port}`], "slow", { ...base, timeout: 1000 }),
  );
  assert.ok(r && !r.ok, String(r));
  assert.ok(r.error instanceof ProcessTimeoutError, String(r.error));
  assert.equal(r.error.code, "ERR_TIMEOUT");
  assert.equal(r.error.stdout, "partial\n");
  assert.equal(r.error.stderr, "warming up\n");
  assert.match(r.error.message, /within 1000 ms/);
});
