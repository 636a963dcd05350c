/**
 * SSHServerProcess used carelessly from JavaScript: a write of something that is neither
 * text nor bytes is a TypeError, and the session's later writes go on as before (a number
 * went out as nothing and left the channel's count of waiting bytes NaN, so every later
 * write under write buffer limits waited for good).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopback } from "./_loopback_test_util.ts";
import type { SSHServerProcess } from "./process.ts";

type AnyWrite = (data: unknown) => Promise<void>;

test("SSHServerProcess.write() of neither text nor bytes is a TypeError, later writes go on", async () => {
  const errors: string[] = [];
  await using t = await loopback({
    lineEditor: false,
    processFactory: async (p: SSHServerProcess) => {
      p.setWriteBufferLimits({ high: 1 << 20 });
      for (const bad of [42, null, { length: 3 }, new ArrayBuffer(2)]) {
        await (p.write as AnyWrite)(bad).catch((e: Error) => errors.push(e.name));
        await (p.writeStderr as AnyWrite)(bad).catch((e: Error) => errors.push(e.name));
      }
      assert.equal(p.getWriteBufferSize(), 0);
      const w = p.stdout.getWriter();
      await w.write(new TextEncoder().encode("after\n"));
      await w.close();
    },
  });
  const r = await t.conn.run("x");
  assert.equal(r.stdout, "after\n");
  assert.deepEqual(errors, Array(8).fill("TypeError"));
});

test("SSHServerProcess.stdout errors with a TypeError on a chunk that is no bytes", async () => {
  let error: unknown;
  await using t = await loopback({
    lineEditor: false,
    processFactory: async (p: SSHServerProcess) => {
      const w = p.stdout.getWriter();
      await (w.write as AnyWrite)(7).catch((e) => (error = e));
      await p.write("still here\n");
    },
  });
  const r = await t.conn.run("x");
  assert.ok(error instanceof TypeError, String(error));
  assert.equal(r.stdout, "still here\n");
});
