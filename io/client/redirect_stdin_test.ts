/**
 * `redirect({ stdin })` against our own listen() server: a process that exits before it
 * read all its input (or before the source has any) ends as it exited, without waiting
 * for the source or failing with the closed channel.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loopback } from "../server/_loopback_test_util.ts";
import type { SSHServerProcess } from "../server/process.ts";

/** Reads one chunk of stdin, answers "ok" and exits 0 (`head -c 1`, roughly). */
async function readOnceThenExit(p: SSHServerProcess): Promise<void> {
  const reader = p.stdin.getReader();
  await reader.read();
  reader.releaseLock();
  await p.write("ok\n");
  p.exit(0);
}

test("redirect() stdin: wait() settles when the process exits while the source waits for data", async () => {
  await using t = await loopback({ processFactory: (p) => p.exit(0) });
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull: () => new Promise<void>(() => {}), // never has data, never ends
    cancel: () => void (cancelled = true),
  });
  const p = await t.conn.createProcess("true", { stdin: stream });
  // A timeout only so that the old hang fails instead of stalling the suite.
  assert.equal((await p.wait({ timeout: 30_000 })).exitStatus, 0);
  assert.ok(cancelled, "the source stream is cancelled");
  assert.equal(stream.locked, false);

  const q = await t.conn.createProcess("true");
  const redirected = q.redirect({
    stdin: (async function* () {
      await new Promise<void>(() => {});
      yield new Uint8Array(1);
    })(),
  });
  assert.equal((await q.wait({ timeout: 30_000 })).exitStatus, 0);
  await redirected;
});

test("redirect() stdin: a process that exits before it read all its input ends normally", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sshts-redirect-"));
  try {
    const big = new Uint8Array(8 * 1024 * 1024); // more than the channel's window
    const file = join(dir, "big.bin");
    await writeFile(file, big);
    await using t = await loopback({ processFactory: readOnceThenExit });
    const sources = {
      bytes: big,
      file,
      stream: new Blob([big]).stream(),
      iterable: (async function* () {
        yield big;
        yield big;
      })(),
    };
    for (const [name, stdin] of Object.entries(sources)) {
      const p = await t.conn.createProcess("head -c 1", { stdin, encoding: "utf-8" });
      const r = await p.wait({ check: true });
      assert.equal(r.stdout, "ok\n", name);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("redirect() stdin: a source that fails is still the process's error", async () => {
  await using t = await loopback({
    processFactory: async (p) => {
      for await (const _ of p.stdin) { /* reads to EOF */ }
      p.exit(0);
    },
  });
  const stream = new ReadableStream<Uint8Array>({
    pull: (c) => c.error(new Error("source broke")),
  });
  const p = await t.conn.createProcess("cat", { stdin: stream });
  await assert.rejects(p.wait(), /source broke/);
});
