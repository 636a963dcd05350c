/**
 * SSHPool against a server that counts sessions as OpenSSH's sshd does: a session still
 * counts against its MaxSessions for a while after its close (sshd frees it only once it
 * has gone round its loop, so an open read with the close is refused). The pool's
 * `maxSessions` promise ("more wait their turn") holds against it; a server that allows
 * fewer sessions than the pool still runs every command, one after another; one that
 * refuses every session fails each call with the refusal, in bounded time. Our own
 * listen() on loopback, with a sessionRequested hook playing sshd.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SSHServer } from "../server/listen.ts";
import type { ServerConnectionContext } from "../server/context.ts";
import { ProcessTimeoutError } from "../client/errors.ts";
import { ChannelOpenError } from "../engine/errors.ts";
import { connectMany } from "./pool.ts";
import { collect, LOGIN as base, passwordServer, settles } from "./_fanout_test_util.ts";

interface SshdLike {
  readonly server: SSHServer;
  readonly host: string;
  /** Session opens refused. */
  refused: number;
  /** The most sessions counted on one connection at once. */
  most: number;
}

/**
 * A server that refuses a session open while `limit` sessions of the connection count,
 * a session counting from its open until `linger` ms after its close (as sshd's). A
 * command `sleep N` takes N ms; any other answers "ran <command>".
 */
async function sshdLike(limit: number, linger = 50): Promise<SshdLike> {
  const counts = new Map<ServerConnectionContext, number>();
  const server = await passwordServer({
    maxSessions: 1000, // the hook is the limit
    sessionRequested: (conn) => {
      const n = counts.get(conn) ?? 0;
      if (n >= limit) {
        state.refused++;
        return false;
      }
      counts.set(conn, n + 1);
      state.most = Math.max(state.most, n + 1);
      return async (p) => {
        void p.channel.closedPromise.then(() =>
          setTimeout(() => counts.set(conn, counts.get(conn)! - 1), linger)
        );
        const sleep = /^sleep (\d+)$/.exec(p.command ?? "");
        if (sleep) await new Promise((r) => setTimeout(r, Number(sleep[1])));
        else await p.write(`ran ${p.command}\n`);
        p.exit(0);
      };
    },
  });
  const state: SshdLike = {
    server,
    host: `127.0.0.1:${server.address.port}`,
    refused: 0,
    most: 0,
  };
  return state;
}

test("SSHPool: 40 commands at once on a host with sshd's MaxSessions (10, freed 50 ms late) all run", async () => {
  const s = await sshdLike(10);
  await using _server = s.server;
  await using pool = await connectMany([s.host], base);
  const runs = Array.from({ length: 40 }, (_, i) => pool.run(s.host, `c${i}`));
  const results = await settles(Promise.all(runs), "40 commands");
  assert.deepEqual(results.map((r) => r.stdout), runs.map((_, i) => `ran c${i}\n`));
  assert.ok(s.most <= 10, `at most 10 sessions at once, not ${s.most}`);
  // The server did refuse opens right behind a close: the pool opened those again.
  assert.ok(s.refused > 0, "the server refused some opens");
  // runAll() too, with run()s filling the host.
  const more = Array.from({ length: 12 }, (_, i) => pool.run(s.host, `m${i}`));
  const all = await collect(pool.runAll("all"));
  assert.ok(all[0]!.ok && all[0]!.stdout === "ran all\n", String(!all[0]!.ok && all[0]!.error));
  assert.equal((await Promise.all(more)).length, 12);
});

test("SSHPool: a server allowing fewer sessions than maxSessions (1) runs every command in turn", async () => {
  const s = await sshdLike(1);
  await using _server = s.server;
  await using pool = await connectMany([s.host], base); // maxSessions 10
  const runs = Array.from({ length: 20 }, (_, i) => pool.run(s.host, `c${i}`));
  const results = await settles(Promise.all(runs), "20 commands");
  assert.deepEqual(results.map((r) => r.stdout), runs.map((_, i) => `ran c${i}\n`));
  assert.equal(s.most, 1);
  // A command running longer than a refused one would retry for: the others wait for it.
  const long = pool.run(s.host, "sleep 1500");
  long.catch(() => {}); // awaited below
  await new Promise((r) => setTimeout(r, 100));
  const after = Array.from({ length: 3 }, (_, i) => pool.run(s.host, `a${i}`));
  // runAll() waits its turn as well.
  const all = collect(pool.runAll("all"));
  assert.deepEqual(
    (await settles(Promise.all(after), "commands behind a long one")).map((r) => r.stdout),
    ["ran a0\n", "ran a1\n", "ran a2\n"],
  );
  const [r] = await all;
  assert.ok(r!.ok && r!.stdout === "ran all\n", String(!r!.ok && r!.error));
  assert.equal((await long).exitStatus, 0);
});

test("SSHPool: waiting to open a refused session again stays within the timeout and the signal", async () => {
  const s = await sshdLike(1);
  await using _server = s.server;
  await using pool = await connectMany([s.host], base);
  const long = pool.run(s.host, "sleep 1500");
  long.catch(() => {}); // awaited below; a failed assertion first must not leave it unhandled
  await new Promise((r) => setTimeout(r, 100));
  let t0 = performance.now();
  const late = await pool.run(s.host, "late", { timeout: 300 }).catch((e) => e);
  assert.ok(late instanceof ProcessTimeoutError, String(late));
  assert.match(late.message, /within 300 ms/);
  assert.ok(performance.now() - t0 < 1200, "failed at its timeout, not when the long one ended");
  const signal = AbortSignal.timeout(200);
  t0 = performance.now();
  await assert.rejects(pool.run(s.host, "aborted", { signal }), (e) => e === signal.reason);
  assert.ok(performance.now() - t0 < 1200, "failed with its signal, not when the long one ended");
  assert.equal((await long).exitStatus, 0);
  // Nothing left waiting: the next command runs.
  assert.equal((await pool.run(s.host, "next")).stdout, "ran next\n");
});

test("SSHPool: a server refusing every session fails each command with the refusal, in bounded time", async () => {
  await using s = await passwordServer({
    sessionRequested: () => false,
  });
  const host = `127.0.0.1:${s.address.port}`;
  await using pool = await connectMany([host], base);
  const t0 = performance.now();
  const runs = Array.from({ length: 20 }, (_, i) => pool.run(host, `c${i}`).catch((e) => e));
  const errors = await settles(Promise.all(runs), "refused commands", 10_000);
  for (const e of errors) assert.ok(e instanceof ChannelOpenError, String(e));
  assert.ok(performance.now() - t0 < 5_000, `all failed in ${performance.now() - t0} ms`);
  // After a quiet while, one more tries again for a while, and fails the same way.
  await new Promise((r) => setTimeout(r, 1_100));
  const t1 = performance.now();
  await assert.rejects(pool.run(host, "again"), ChannelOpenError);
  assert.ok(performance.now() - t1 < 3_000);
  const [r] = await collect(pool.runAll("all"));
  assert.ok(r && !r.ok && r.error instanceof ChannelOpenError, String(r && !r.ok && r.error));
  // The connection was fine all along: it is still the pool's.
  assert.deepEqual(pool.connected, [host]);
});
