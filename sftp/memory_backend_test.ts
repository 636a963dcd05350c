import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenFlags } from "./constants.ts";
import { MEMORY_BACKEND_ENTRY_BYTES, MemoryBackend } from "./memory_backend.ts";

const KiB = 1024;
const RW = OpenFlags.READ | OpenFlags.WRITE | OpenFlags.CREAT;

test("MemoryBackend counts a removed file's contents until its last handle closes", async () => {
  const fs = new MemoryBackend({ maxBytes: 1024 * KiB });
  const base = fs.bytesHeld;
  const h = await fs.open("/f", RW, {});
  await fs.write(h, 0, new Uint8Array(512 * KiB));
  await fs.remove("/f");
  assert.equal(fs.bytesHeld, base + 512 * KiB); // the handle still holds it
  await fs.fsetstat(h, { size: 0 });
  assert.equal(fs.bytesHeld, base);
  await fs.write(h, 0, new Uint8Array(600 * KiB));
  // The removed file's 600 KiB and 600 KiB more do not fit in 1 MiB.
  const g = await fs.open("/g", RW, {});
  await assert.rejects(fs.write(g, 0, new Uint8Array(600 * KiB)), /No space left/);
  await fs.close(h);
  assert.equal(fs.bytesHeld, base + MEMORY_BACKEND_ENTRY_BYTES + 1);
  await fs.write(g, 0, new Uint8Array(600 * KiB)); // fits once the last handle closed
  await fs.close(g);
});

test("MemoryBackend: remove-then-truncate through a handle never drives the count below zero", async () => {
  const fs = new MemoryBackend({ maxBytes: 1024 * KiB });
  const handles = [];
  for (let round = 0; round < 8; round++) {
    const h = await fs.open(`/f${round}`, RW, {});
    await fs.write(h, 0, new Uint8Array(256 * KiB));
    await fs.remove(`/f${round}`);
    await fs.fsetstat(h, { size: 0 });
    assert.ok(fs.bytesHeld >= 0, `${fs.bytesHeld} bytes held in round ${round}`);
    handles.push(h);
  }
  const big = await fs.open("/big", RW, {});
  await assert.rejects(fs.write(big, 20 * 1024 * KiB, new Uint8Array(1)), /No space left/);
  for (const h of handles) await fs.close(h);
});

test("MemoryBackend counts entries, names and link targets against maxBytes", async () => {
  const fs = new MemoryBackend({ maxBytes: 64 * KiB });
  let made = 0;
  await assert.rejects(async () => {
    for (;;) {
      const h = await fs.open(`/empty-${made}`, RW, {});
      await fs.close(h);
      made++;
    }
  }, /No space left/);
  assert.ok(made < (64 * KiB) / MEMORY_BACKEND_ENTRY_BYTES, `${made} empty files`);
  await assert.rejects(fs.mkdir(`/${"d".repeat(100)}`, {}), /No space left/);
  for (let i = 0; i < made; i++) await fs.remove(`/empty-${i}`);
  await assert.rejects(fs.symlink("t".repeat(64 * KiB), "/link"), /No space left/);
  await fs.symlink("target", "/link");
  await fs.mkdir("/dir", {});
  await fs.rename("/link", "/dir/a-longer-name");
  await fs.remove("/dir/a-longer-name");
  await fs.rmdir("/dir");
  assert.equal(fs.bytesHeld, new MemoryBackend().bytesHeld); // back to an empty tree's
});

test("MemoryBackend: a file replaced by rename or writeFile stops counting, a hard link keeps it", async () => {
  const fs = new MemoryBackend();
  const empty = fs.bytesHeld;
  fs.writeFile("/a", new Uint8Array(1000));
  await fs.hardlink("/a", "/b");
  fs.writeFile("/a", new Uint8Array(10)); // /b still holds the 1000 bytes
  assert.equal(fs.bytesHeld, empty + 1010 + 2 * (MEMORY_BACKEND_ENTRY_BYTES + 1));
  await fs.posixRename("/a", "/b");
  assert.equal(fs.bytesHeld, empty + 10 + MEMORY_BACKEND_ENTRY_BYTES + 1);
  await fs.remove("/b");
  assert.equal(fs.bytesHeld, empty);
});

test("MemoryBackend resolves a relative link inside a linked directory from where it really is", async () => {
  const b = new MemoryBackend();
  await b.mkdir("/a", {});
  await b.mkdir("/a/b", {});
  await b.mkdir("/a/c", {});
  b.writeFile("/a/c/x", new TextEncoder().encode("in a/c"));
  await b.symlink("/a/b", "/link");
  await b.symlink("../c", "/a/b/rel");
  assert.equal(await b.realpath("/link/rel/x"), "/a/c/x");
  const h = await b.open("/link/rel/x", OpenFlags.READ, {});
  assert.equal(new TextDecoder().decode(await b.read(h, 0, 100) ?? new Uint8Array()), "in a/c");
  await b.close(h);
  // Renamed, the directory keeps its place for links that go through it.
  await b.rename("/a", "/moved");
  await b.symlink("/moved/b", "/link2");
  assert.equal(await b.realpath("/link2/rel/x"), "/moved/c/x");
});

test("MemoryBackend lists a directory from the live tree, in batches, with . and ..", async () => {
  const b = new MemoryBackend();
  await b.mkdir("/d", {});
  for (let i = 0; i < 250; i++) b.writeFile(`/d/f${i}`, new Uint8Array(1));
  const h = await b.opendir("/d");
  const names: string[] = [];
  let batches = 0;
  for (let r; (r = await b.readdir(h)) !== null; batches++) names.push(...r.map((e) => e.filename));
  await b.close(h);
  assert.equal(batches, 3);
  assert.deepEqual(names.slice(0, 2), [".", ".."]);
  assert.equal(new Set(names).size, 252);
});
