/**
 * runMany() and SSHPool against our own listen() on loopback: partial failure
 * (closed ports, failed auth, silent listeners, retries, abort mid-batch) and
 * the pool replacing a connection the server dropped. Not timed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { SSHError } from "../../core/errors.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { connectMany, SSHPool } from "./pool.ts";
import {
  fanOut,
  type FanoutHost,
  type FanoutResult,
  isRetryableConnectError,
  runMany,
} from "./run_many.ts";
import { markConnectPhase } from "../client/errors.ts";
import { collect, LOGIN as base, passwordServer, settles } from "./_fanout_test_util.ts";
import { unhandledRejections } from "../_unhandled_test_util.ts";

const hostKey = generatePrivateKey("ed25519");

async function server(host = "127.0.0.1"): Promise<SSHServer> {
  return await listen({
    host,
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (_u, pw) => pw === "pw",
    processFactory: async (p) => {
      if (p.command === "fail") return p.exit(3);
      if (p.command === "sleep") return await new Promise(() => {});
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
}

/** A TCP server: `mode(socket, n)` decides per connection (n from 1). */
async function tcp(
  mode: (s: net.Socket, n: number) => void,
  host = "127.0.0.1",
): Promise<{ port: number; sockets: Set<net.Socket>; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let n = 0;
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    mode(s, ++n);
  });
  await new Promise<void>((r) => srv.listen(0, host, r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** A proxy to `port` that drops the first `drop` connections. */
function proxy(port: number, drop = 0, host = "127.0.0.1") {
  return tcp((s, n) => {
    if (n <= drop) return void s.destroy();
    const up = net.connect(port, host);
    up.on("error", () => s.destroy());
    s.on("close", () => up.destroy());
    up.on("close", () => s.destroy());
    s.pipe(up).pipe(s);
  }, host);
}

async function closedPort(): Promise<number> {
  const t = await tcp(() => {});
  await t.close();
  return t.port;
}

/** Waits (up to 2 s) for the server to notice its clients went away. */
async function noConnections(s: SSHServer): Promise<number> {
  for (let i = 0; i < 200 && s.connections > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return s.connections;
}

function code(r: FanoutResult<unknown>): string | undefined {
  return r.ok ? undefined : (r.error as SSHError).code;
}

test("runMany: commands on several hosts, one result each, exit status kept", async () => {
  await using s = await server();
  const port = s.address.port;
  const hosts = Array.from({ length: 5 }, () => ({ host: "127.0.0.1", port }));
  const seen: number[] = [];
  const results = await collect(
    runMany([...hosts, { host: "127.0.0.1", port }], "echo", {
      ...base,
      concurrency: 2,
      onProgress: (p) => seen.push(p.done),
    }),
  );
  assert.equal(results.length, 6);
  for (const r of results) {
    assert.ok(r.ok);
    // A command's success always has its status and output: typed so (deno check).
    const status: number | null = r.exitStatus;
    assert.equal(status, 0);
    assert.equal(r.stdout.trim() + r.stderr, "ran echo");
    assert.equal(r.attempts, 1);
    assert.ok(r.timing.connectMs! <= r.timing.totalMs);
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  const [bad] = await collect(runMany([{ host: "127.0.0.1", port }], "fail", base));
  assert.ok(bad!.ok);
  assert.equal(bad!.exitStatus, 3);
});

test("runMany: a function per host, its value or its error", async () => {
  await using s = await server();
  const port = s.address.port;
  const results = await collect(
    runMany([{ host: "127.0.0.1", port }, { host: "127.0.0.1", port }], async (conn, info) => {
      if (info.index === 1) throw new Error("task failed");
      return (await conn.run("x")).stdout.length;
    }, base),
  );
  assert.ok(results[0]!.ok && results[0]!.value === "ran x\n".length);
  assert.ok(!results[1]!.ok && results[1]!.error.message === "task failed");
});

test("runMany: partial failure — closed port, bad password, silent listener", async () => {
  await using s = await server();
  const silent = await tcp(() => {}); // accepts, never says a word
  try {
    const dead = await closedPort();
    const results = await collect(
      runMany(
        [
          { host: "127.0.0.1", port: s.address.port },
          { host: "127.0.0.1", port: dead },
          { host: "127.0.0.1", port: s.address.port, password: "wrong" },
          { host: "127.0.0.1", port: silent.port },
        ],
        "ok",
        { ...base, timeout: 500, retries: 2, retryDelay: 10 },
      ),
    );
    assert.equal(results.length, 4);
    assert.ok(results[0]!.ok);
    assert.equal(code(results[1]!), "ERR_CONNECTION_REFUSED");
    assert.equal(results[1]!.attempts, 3, "refused: retried");
    assert.equal(code(results[2]!), "ERR_PERMISSION_DENIED");
    assert.equal(results[2]!.attempts, 1, "auth failure: not retried");
    assert.equal(code(results[3]!), "ERR_TIMEOUT");
    assert.ok(results[3]!.timing.totalMs < 5_000);
  } finally {
    await silent.close();
  }
});

test("runMany: a connection failure retried until it works", async () => {
  await using s = await server();
  const p = await proxy(s.address.port, 2);
  try {
    const [r] = await collect(
      runMany([{ host: "127.0.0.1", port: p.port }], "x", { ...base, retries: 3, retryDelay: 5 }),
    );
    assert.ok(r!.ok, r!.ok ? "" : r!.error.message);
    assert.equal(r!.attempts, 3);
    const once = await proxy(s.address.port, 1);
    const [no] = await collect(runMany([{ host: "127.0.0.1", port: once.port }], "x", base));
    await once.close();
    assert.equal(code(no!), "ERR_CONNECTION_LOST", "no retries by default");
  } finally {
    await p.close();
  }
});

test("runMany: abort mid-batch reports every host, running ones aborted", async () => {
  await using s = await server();
  const port = s.address.port;
  const ac = new AbortController();
  const hosts = Array.from({ length: 6 }, () => ({ host: "127.0.0.1", port }));
  let started = 0;
  const results = await collect(
    runMany(hosts, async (conn, info) => {
      if (++started === 2) setTimeout(() => ac.abort(new Error("stop")), 50);
      if (info.index === 0) return "quick";
      return await conn.run("sleep", { signal: info.signal });
    }, { ...base, concurrency: 2, signal: ac.signal }),
  );
  assert.equal(results.length, 6);
  assert.ok(results[0]!.ok && results[0]!.value === "quick");
  for (const r of results.slice(1)) {
    assert.ok(!r.ok);
    assert.equal(r.error.message, "stop");
  }
  assert.ok(results.slice(1).some((r) => r.attempts === 0), "unstarted hosts never connect");
  assert.equal(await noConnections(s), 0);
});

test("runMany: breaking out of the loop stops the rest", async () => {
  await using s = await server();
  const port = s.address.port;
  const hosts = Array.from({ length: 4 }, () => ({ host: "127.0.0.1", port }));
  let calls = 0;
  for await (
    const r of runMany(hosts, () => Promise.resolve(++calls), { ...base, concurrency: 1 })
  ) {
    assert.ok(r.ok);
    break;
  }
  assert.ok(calls <= 2);
});

test("SSHPool: one connection per host, reused, replaced after the server drops it", async () => {
  await using s1 = await server("127.0.0.1");
  await using s2 = await server("127.0.0.2");
  const p = await proxy(s2.address.port, 0, "127.0.0.2");
  const dead = await closedPort();
  try {
    await using pool = await connectMany([
      { host: "127.0.0.1", port: s1.address.port },
      { host: "127.0.0.2", port: p.port },
      { host: "127.0.0.3", port: dead },
    ], base);
    assert.deepEqual(pool.connected, ["127.0.0.1", "127.0.0.2"]);
    assert.equal((pool.lastError("127.0.0.3") as SSHError).code, "ERR_CONNECTION_REFUSED");
    const first = await pool.get("127.0.0.2");
    assert.equal(await pool.get("127.0.0.2"), first, "reused");
    const all = await collect(pool.runAll("hi", { timeout: 5_000 }));
    assert.deepEqual(all.map((r) => r.ok), [true, true, false]);
    assert.deepEqual(all.map((r) => r.ok && r.stdout.trim()), ["ran hi", "ran hi", false]);
    assert.equal(await pool.get("127.0.0.2"), first, "still the same after runAll");
    // The server side goes away: the next use reconnects.
    for (const sock of p.sockets) sock.destroy();
    await first.closed;
    assert.deepEqual(pool.connected, ["127.0.0.1"]);
    const r = await pool.run("127.0.0.2", "again");
    assert.equal(r.stdout, "ran again\n");
    assert.notEqual(await pool.get("127.0.0.2"), first);
    assert.deepEqual(pool.connected, ["127.0.0.1", "127.0.0.2"]);
    await assert.rejects(pool.get("nope"), RangeError);
  } finally {
    await p.close();
  }
  assert.equal(await noConnections(s1), 0, "closed by await using");
});

test("runMany: a disconnect during authentication (MaxAuthTries) is not retried", async () => {
  let logins = 0;
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (_u, _pw, conn) => {
      logins++;
      // As sshd after MaxAuthTries: DISCONNECT (reason 2) instead of another failure.
      void conn.disconnect(2, "Too many authentication failures");
      return false;
    },
  });
  const [r] = await collect(
    runMany([{ host: "127.0.0.1", port: s.address.port }], "x", {
      ...base,
      retries: 3,
      retryDelay: 5,
    }),
  );
  assert.equal(code(r!), "ERR_PEER_DISCONNECTED");
  assert.equal(r!.attempts, 1);
  assert.equal(logins, 1, "the password was tried once");
});

test("runMany: the per-host timeout ends a function that ignores its signal, and frees its slot", async () => {
  await using s = await server();
  const port = s.address.port;
  let late = 0;
  const results = await collect(
    runMany([{ host: "127.0.0.1", port }, { host: "127.0.0.1", port }], async (_conn, info) => {
      if (info.index === 1) return "second";
      await new Promise((r) => setTimeout(r, 1_000));
      late++;
      return "late";
    }, { ...base, timeout: 300, concurrency: 1 }),
  );
  assert.equal(code(results[0]!), "ERR_TIMEOUT", "not the late value");
  assert.ok(results[1]!.ok && results[1]!.value === "second");
  assert.equal(late, 0, "the second host did not wait for the first function");
});

test("runMany: bad numbers are RangeErrors at the call, not a batch that never ends", () => {
  for (
    const o of [
      { concurrency: NaN },
      { concurrency: 0 },
      { concurrency: 1.5 },
      { retries: NaN },
      {
        retries: -1,
      },
      { retryDelay: NaN },
      { retryDelay: -5 },
    ]
  ) {
    assert.throws(
      () => runMany(["127.0.0.1"], "x", { ...base, ...o }),
      RangeError,
      JSON.stringify(o),
    );
  }
});

test("runMany: return() while a next() waits ends both at once and closes the connections", async () => {
  let live = 0;
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    connectionMade: () => void live++,
    connectionLost: () => void live--,
    processFactory: () => new Promise(() => {}),
  });
  const it = runMany(Array(3).fill({ host: "127.0.0.1", port: s.address.port }), "hang", {
    ...base,
  });
  const waiting = it.next();
  for (let i = 0; i < 200 && live < 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(live, 3);
  assert.deepEqual(await it.return!(), { value: undefined, done: true });
  assert.deepEqual(await waiting, { value: undefined, done: true });
  assert.equal(await noConnections(s), 0);
});

test("SSHPool: concurrent get() callers wait with their own signals; close() aborts a connect", async () => {
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    // A slow login: both callers wait for the same connect.
    validatePassword: async () => (await new Promise((r) => setTimeout(r, 300)), true),
    processFactory: async (p) => {
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
  const port = s.address.port;
  const pool = new SSHPool([{ host: "127.0.0.1", port }], base);
  const short = pool.run("127.0.0.1", "a", { signal: AbortSignal.timeout(50) });
  const patient = pool.run("127.0.0.1", "b");
  await assert.rejects(short, (e: Error) => e.name === "TimeoutError");
  assert.equal((await patient).stdout, "ran b\n", "the other caller's deadline is not this one's");
  // runAll under a caller's AbortSignal.timeout (no per-host timeout): its reason as it is.
  await pool.close();
  const pool2 = new SSHPool([{ host: "127.0.0.1", port }], base);
  const [r] = await collect(pool2.runAll("x", { signal: AbortSignal.timeout(50) }));
  assert.ok(!r!.ok && r!.error.name === "TimeoutError" && !/undefined/.test(r!.error.message));
  await pool2.close();
  // close() with a connect in progress to a listener that never answers: aborted, not waited on.
  const silent = await tcp(() => {});
  try {
    const pool3 = new SSHPool([{ host: "127.0.0.1", port: silent.port }], {
      ...base,
      connectTimeout: 60_000,
    });
    const got = pool3.get("127.0.0.1");
    got.catch(() => {});
    await new Promise((r) => setTimeout(r, 50));
    await pool3.close();
    await assert.rejects(got, /Pool closed/);
  } finally {
    await silent.close();
  }
});

test("SSHPool: a use right after the connection dropped under a command reconnects", async () => {
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: async (p) => {
      if (p.command === "die") return void p.connection?.disconnect(11, "bye");
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
  await using pool = await connectMany([{ host: "127.0.0.1", port: s.address.port }], base);
  await assert.rejects(pool.run("127.0.0.1", "die"));
  // At once, before the connection's `closed` callbacks ran.
  assert.equal((await pool.run("127.0.0.1", "again")).stdout, "ran again\n");
});

test("SSHPool: a use right after every caller gave up on a connect makes a new one", async () => {
  // The next login waits (until the end) once `held` is set: its caller gives up on it.
  let held: (() => void) | undefined;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const holdNextLogin = () => new Promise<void>((r) => (held = r));
  await using s = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: async () => {
      const h = held;
      held = undefined;
      if (h) (h(), await gate);
      return true;
    },
    processFactory: async (p) => {
      await p.write(`ran ${p.command}\n`);
      p.exit(0);
    },
  });
  const entry = { host: "127.0.0.1", port: s.address.port };
  try {
    // runAll's per-host deadline passes during the held login; a run() at once must not
    // join that aborted connect and fail with runAll's deadline.
    await using pool = new SSHPool([entry], base);
    void holdNextLogin();
    const [r] = await collect(pool.runAll("x", { timeout: 200 }));
    assert.equal(code(r!), "ERR_TIMEOUT");
    assert.equal((await pool.run("127.0.0.1", "again")).stdout, "ran again\n");
    // The same with get(): A gives up; B, right after and with no signal, connects.
    await using pool2 = new SSHPool([entry], base);
    const ac = new AbortController();
    void holdNextLogin().then(() => ac.abort(new Error("A gave up")));
    await assert.rejects(pool2.get("127.0.0.1", ac.signal), /A gave up/);
    const conn = await pool2.get("127.0.0.1");
    assert.equal((await conn.run("b")).stdout, "ran b\n");
    assert.deepEqual(pool2.connected, ["127.0.0.1"]);
    assert.equal(pool2.lastError("127.0.0.1"), undefined);
  } finally {
    release();
  }
});

test("SSHPool: entries sharing a name are hosts of their own; an exact duplicate is one", async () => {
  const tagged = (tag: string) =>
    passwordServer({
      processFactory: async (p) => {
        await p.write(tag);
        p.exit(0);
      },
    });
  await using a = await tagged("a");
  await using b = await tagged("b");
  const ea = { host: "127.0.0.1", port: a.address.port };
  const eb = { host: "127.0.0.1", port: b.address.port };
  const list: FanoutHost[] = [ea, eb, { ...ea }, { ...eb, password: "wrong" }];
  await using pool = await connectMany(list, base);
  assert.deepEqual(pool.hosts, ["127.0.0.1", "127.0.0.1", "127.0.0.1"]);
  assert.deepEqual(pool.connected, ["127.0.0.1", "127.0.0.1"]);
  assert.equal(a.connections, 1, "the exact duplicate shares the first one's connection");
  assert.equal((pool.lastError(list[3]!) as SSHError).code, "ERR_PERMISSION_DENIED");
  // One result per host, `index` its position in the list given.
  const all = await collect(pool.runAll("x"));
  assert.deepEqual(all.map((r) => [r.index, r.ok && r.stdout]), [[0, "a"], [1, "b"], [3, false]]);
  assert.equal(code(all[2]!), "ERR_PERMISSION_DENIED");
  // A host by its entry, or by the fields that tell it apart; the name alone is ambiguous.
  assert.equal((await pool.run(eb, "x")).stdout, "b");
  assert.equal((await pool.run({ host: "127.0.0.1", port: a.address.port }, "x")).stdout, "a");
  assert.equal(await pool.get(list[2]!), await pool.get(ea));
  await assert.rejects(pool.get("127.0.0.1"), RangeError);
  assert.throws(() => pool.lastError("127.0.0.1"), RangeError);
  await assert.rejects(pool.get({ host: "127.0.0.1", port: 1 }), /not in the pool/);
});

test("runMany: a malformed host entry is that host's failure; the batch goes on and ends", async () => {
  const seen = await unhandledRejections(async () => {
    await using s = await server();
    const good = { host: "127.0.0.1", port: s.address.port };
    const hosts = [good, undefined, null, { port: 22 }, good] as unknown as FanoutHost[];
    // One worker: it must survive the bad entries to run the last host.
    const results = await settles(
      collect(runMany(hosts, "x", { ...base, concurrency: 1 })),
      "runMany",
    );
    assert.deepEqual(results.map((r) => [r.index, r.ok]), [
      [0, true],
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    for (const r of results.slice(1, 4)) assert.ok(!r.ok && r.error instanceof TypeError);
    assert.deepEqual(results.map((r) => r.host).slice(1, 4), ["undefined", "null", "an object"]);
    // fanOut() itself: a `work` that throws is a failed result, the count stays right.
    const done: number[] = [];
    const out = await settles(
      collect(fanOut(["a", "b", "c"], (item, index) => {
        if (item === "b") throw new Error("boom");
        const timing = { startedAt: 0, connectMs: undefined, totalMs: 0 };
        return Promise.resolve({
          ok: true as const,
          host: item,
          index,
          value: item,
          attempts: 1,
          timing,
        });
      }, { concurrency: 1, onProgress: (p) => void done.push(p.done) })),
      "fanOut",
    );
    assert.deepEqual(out.map((r) => r.ok), [true, false, true]);
    assert.ok(!out[1]!.ok && out[1]!.error.message === "boom" && out[1]!.host === "b");
    assert.deepEqual(done, [1, 2, 3]);
  });
  assert.deepEqual(seen, []);
});

test("runMany and SSHPool.runAll: an async onProgress that rejects is ignored", async () => {
  const seen = await unhandledRejections(async () => {
    await using s = await server();
    const host = { host: "127.0.0.1", port: s.address.port };
    const onProgress = async () => {
      await Promise.resolve();
      throw new Error("progress sink down");
    };
    const results = await collect(runMany([host, host], "x", { ...base, onProgress }));
    assert.deepEqual(results.map((r) => r.ok), [true, true]);
    await using pool = await connectMany([host], base);
    const all = await collect(pool.runAll("x", { onProgress }));
    assert.deepEqual(all.map((r) => r.ok), [true]);
  });
  assert.deepEqual(seen, []);
});

test("a setup failure is retried only when descriptors ran out (EMFILE, ENFILE, EAGAIN)", () => {
  const failure = (code: string) => {
    const e = Object.assign(new Error(code), { code });
    markConnectPhase(e, "setup");
    return e;
  };
  for (const code of ["EMFILE", "ENFILE", "EAGAIN"]) {
    assert.equal(isRetryableConnectError(failure(code)), true, code);
  }
  for (const code of ["ENOENT", "EACCES", "EISDIR"]) {
    assert.equal(isRetryableConnectError(failure(code)), false, code);
  }
  // The same codes from the TCP connect are the network's, retried as before.
  const tcp = Object.assign(new Error("refused"), { code: "ECONNREFUSED" });
  markConnectPhase(tcp, "tcp");
  assert.equal(isRetryableConnectError(tcp), true);
});
