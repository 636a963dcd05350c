/**
 * The lock that keeps a client's renames out of another operation's gap between checking a
 * path and acting on it: its order, and FsBackend holding it (a rename waits for an open
 * that sits between its check and its act, and the open reads what it checked).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenFlags } from "../../sftp/constants.ts";
import { hostFs } from "../runtime/host_fs.ts";
import { FsBackend } from "./fs_backend.ts";
import { NamespaceLock } from "./namespace_lock.ts";

function tick(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

test("NamespaceLock: readers share, a writer waits for them and goes before later readers", async () => {
  const lock = new NamespaceLock();
  const log: string[] = [];
  const gate = Promise.withResolvers<void>();
  const r1 = lock.shared(async () => {
    log.push("r1 in");
    await gate.promise;
    log.push("r1 out");
  });
  const r2 = lock.shared(() => Promise.resolve(void log.push("r2")));
  const w = lock.exclusive(async () => {
    log.push("w in");
    await tick();
    log.push("w out");
  });
  const r3 = lock.shared(() => Promise.resolve(void log.push("r3")));
  await tick();
  assert.deepEqual(log, ["r1 in", "r2"], "the writer waits for the running reader");
  assert.equal(lock.busy, 3);
  gate.resolve();
  await Promise.all([r1, r2, w, r3]);
  assert.deepEqual(log, ["r1 in", "r2", "r1 out", "w in", "w out", "r3"]);
  assert.equal(lock.busy, 0);
  // A section that throws lets the next one in.
  await assert.rejects(lock.exclusive(() => Promise.reject(new Error("x"))), /x/);
  await assert.rejects(lock.shared(() => Promise.reject(new Error("y"))), /y/);
  assert.equal(await lock.exclusive(() => Promise.resolve(7)), 7);
  assert.equal(lock.busy, 0);
});

test("FsBackend: a rename waits while an open sits between its check and its act", async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-nslock-"));
  const realOpen = hostFs.open;
  try {
    const root = join(dir, "root");
    await fsp.mkdir(join(root, "w"), { recursive: true });
    await fsp.writeFile(join(root, "w", "f"), "inside\n");
    const backend = new FsBackend({ root });
    const events: string[] = [];
    const atOpen = Promise.withResolvers<void>();
    const release = Promise.withResolvers<void>();
    hostFs.open = async (p, flags, mode) => {
      if (String(p).endsWith(join("w", "f"))) {
        atOpen.resolve(); // checked; about to act
        await release.promise;
        events.push("open acts");
      }
      return await realOpen(p, flags, mode);
    };
    const opening = backend.open("/w/f", OpenFlags.READ, {});
    await atOpen.promise;
    // A second session moves the checked directory away (the first step of a swap).
    const renaming = backend.rename("/w", "/moved").then(() => void events.push("rename done"));
    // Let the open go once the rename finished, or after a while if it waits (as it must).
    const waited = new Promise((r) => setTimeout(r, 500));
    await Promise.race([renaming, waited]);
    release.resolve();
    const h = await opening;
    await renaming;
    assert.deepEqual(events, ["open acts", "rename done"]);
    const data = await backend.read(h, 0, 100);
    assert.equal(new TextDecoder().decode(data!), "inside\n");
    await backend.close(h);
    assert.equal(await fsp.readFile(join(root, "moved", "f"), "utf8"), "inside\n");
  } finally {
    hostFs.open = realOpen;
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
