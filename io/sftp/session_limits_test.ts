/** The file session count shared by the SFTP and scp servers of one connection. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { FileSessionLimits, inFileSession } from "./session_limits.ts";

class RefusedError extends Error {}

test("inFileSession() counts a session in and out, refusing one over maxSessions with the refusal's error", async () => {
  const limits = new FileSessionLimits({ maxSessions: 1, maxOpenFiles: 8 });
  let ran = 0;
  const result = await inFileSession(limits, async () => {
    ran++;
    await assert.rejects(
      inFileSession(limits, () => Promise.resolve(ran++)),
      (e) =>
        e instanceof Error && !(e instanceof RefusedError) &&
        e.message === "Too many SFTP and scp sessions on this connection (limit 1)",
    );
    await assert.rejects(
      inFileSession(limits, () => Promise.resolve(ran++), (m) => new RefusedError(m)),
      (e) => e instanceof RefusedError && /limit 1/.test(e.message),
    );
    return "done";
  });
  assert.equal(result, "done");
  assert.equal(ran, 1, "refused sessions do not run");
  // A session that fails is counted out too.
  await assert.rejects(inFileSession(limits, () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await inFileSession(limits, () => Promise.resolve(2)), 2);
  assert.equal(limits.enterSession(), true, "every session above was counted out");
});

test("inFileSession() without limits just runs the session", async () => {
  assert.equal(await inFileSession(undefined, () => Promise.resolve("ok")), "ok");
});
