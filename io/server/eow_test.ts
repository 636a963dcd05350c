/**
 * `eow@openssh.com` (OpenSSH's client can write no more of the output): the process's
 * writes fail, a redirected source is cancelled, EOF reaches the client; and redirect()
 * resolves once its output is sent while the client's input is still open.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { loopback } from "./_loopback_test_util.ts";

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
    const p = await t.conn.createProcess(command);
    const reader = p.stdout.getReader();
    assert.equal((await reader.read()).done, false);
    await p.channel.request("eow@openssh.com", undefined, false);
    // Whatever was under way drains, then EOF: the read ends.
    while (!(await reader.read()).done) { /* drain */ }
    await p.wait();
  }
  const e = await looped;
  assert.equal(e.name, "ChannelClosedError");
  assert.match(e.message, /the client stopped reading the output \(eow@openssh\.com\)/);
  await sourceCancelled;
  assert.equal(await redirectEnded, "resolved");
});
