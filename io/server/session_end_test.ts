/**
 * How a session ends from the client's side: `eow@openssh.com` (OpenSSH's client can write
 * no more of the output: the process's writes fail, a redirected source is cancelled, EOF
 * reaches the client), and the client's CLOSE while the process still runs (answered once
 * the process exits, or after a grace).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopback } from "./_loopback_test_util.ts";
import { SESSION_CLOSE_GRACE_MS } from "../limits.ts";

test("eow@openssh.com: writes fail with a ChannelClosedError, a redirected source is cancelled, the client gets EOF", async () => {
  let loopError!: (e: Error) => void;
  const looped = new Promise<Error>((r) => loopError = r);
  let cancelled!: (reason: unknown) => void;
  const sourceCancelled = new Promise((r) => cancelled = r);
  let redirected!: (v: string) => void;
  const redirectEnded = new Promise<string>((r) => redirected = r);
  await using t = await loopback({
    processFactory: async (p) => {
      const chunk = new Uint8Array(16 * 1024).fill(0x61);
      if (p.command === "loop") {
        try {
          for (;;) await p.write(chunk);
        } catch (e) {
          loopError(e as Error);
        }
        await p.writeStderr("stderr still flows\n"); // as sshd: eow shuts stdout only
        p.exit(1);
        return;
      }
      const source = new ReadableStream<Uint8Array>({
        pull: (c) => c.enqueue(chunk.slice()),
        cancel: (reason) => cancelled(reason),
      });
      await p.redirect({ stdout: source }).then(
        () => redirected("resolved"),
        (e) => redirected(String(e)),
      );
      p.exit(0);
    },
  });
  for (const command of ["loop", "redirect"]) {
    const p = await t.conn.createProcess(command, { encoding: "utf-8" });
    const reader = p.stdout.getReader();
    assert.equal((await reader.read()).done, false);
    await p.channel.request("eow@openssh.com", undefined, false);
    // Whatever was under way drains, then the process ends (EOF with its exit).
    while (!(await reader.read()).done) { /* drain */ }
    reader.releaseLock();
    const r = await p.wait();
    if (command === "loop") assert.deepEqual([r.stderr, r.exitStatus], ["stderr still flows\n", 1]);
  }
  const e = await looped;
  assert.equal(e.name, "ChannelClosedError");
  assert.match(e.message, /the client stopped reading the output \(eow@openssh\.com\)/);
  await sourceCancelled;
  assert.equal(await redirectEnded, "resolved");
});

test("the client's CLOSE while the process runs: the channel closes when it exits, or after the grace if it never does", async () => {
  const closedAfter: Record<string, number> = {};
  let exitNow!: () => void;
  await using t = await loopback({
    processFactory: async (p) => {
      const t0 = performance.now();
      void p.channel.closedPromise.then(() => closedAfter[p.command!] = performance.now() - t0);
      if (p.command === "exits") await new Promise<void>((r) => exitNow = r);
      else await new Promise(() => {}); // never
      p.exit(3);
    },
  });
  const exits = await t.conn.createProcess("exits");
  exits.channel.close();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(closedAfter.exits, undefined, "held while the process runs");
  exitNow();
  await exits.channel.closedPromise;
  const never = await t.conn.createProcess("never");
  never.channel.close();
  await never.channel.closedPromise;
  // Both ended: one when it exited, the other when the grace ran out.
  for (let i = 0; i < 100 && Object.keys(closedAfter).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(Object.keys(closedAfter).sort(), ["exits", "never"]);
  // The one that never exits was answered once the grace ran out, not at once.
  assert.ok(closedAfter.never! >= SESSION_CLOSE_GRACE_MS - 100, String(closedAfter.never));
});

test("redirect(): into a stream it waits for the client's input (an upload is whole); waitForInput: false ends with the output", async () => {
  const received: Record<string, number> = {};
  await using t = await loopback({
    processFactory: async (p) => {
      let n = 0;
      const sink = new WritableStream<Uint8Array>({ write: (c) => void (n += c.length) });
      const wait = p.command === "wait";
      await p.redirect({
        stdin: sink,
        stdout: new TextEncoder().encode("ok\n"),
        ...(wait ? {} : { waitForInput: false }),
      });
      received[p.command!] = n;
      p.exit(0);
    },
  });
  // The default: the whole upload arrives before the process goes on.
  const upload = new Uint8Array(4 * 1024 * 1024).fill(7);
  const r = await t.conn.run("wait", { input: upload, encoding: null });
  assert.equal(r.exitStatus, 0);
  assert.equal(received.wait, upload.length);
  // waitForInput: false — the client's input still open, the session ends with the output.
  const p = await t.conn.createProcess("nowait");
  // (The session may already be over: then the write fails, and that is no matter here.)
  await p.write(new Uint8Array(10)).catch(() => {});
  const done = await Promise.race([
    p.wait().then((x) => `exit ${x.exitStatus}`),
    new Promise((r) => setTimeout(() => r("still running after 5 s"), 5000)),
  ]);
  assert.equal(done, "exit 0");
});
