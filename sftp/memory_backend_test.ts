import { test } from "node:test";
import assert from "node:assert/strict";
import { OpenFlags, SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";
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

// ---- status codes and semantics as OpenSSH 9.2's sftp-server answers (and FsBackend) ----

const enc = new TextEncoder();

/** Resolves to the SFTP status `p` rejects with. */
async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SFTPError) return e.status;
    throw e;
  }
  throw new assert.AssertionError({ message: "expected a rejection" });
}

test("MemoryBackend: a file where a directory should be, and link loops, are NO_SUCH_FILE", async () => {
  const fs = new MemoryBackend();
  fs.writeFile("/f", enc.encode("x"));
  fs.makeDirectory("/d");
  await fs.symlink("loop2", "/loop1");
  await fs.symlink("loop1", "/loop2");
  await fs.symlink("missing", "/dangling");
  const NO = SFTPStatus.NO_SUCH_FILE;
  assert.equal(await statusOf(fs.stat("/f/x")), NO);
  assert.equal(await statusOf(fs.open("/f/x", OpenFlags.READ, {})), NO);
  assert.equal(await statusOf(fs.opendir("/f")), NO);
  assert.equal(await statusOf(fs.rmdir("/f")), NO);
  assert.equal(await statusOf(fs.posixRename("/d", "/f")), NO);
  assert.equal(await statusOf(fs.stat("/loop1")), NO);
  assert.equal(await statusOf(fs.open("/loop1", RW, {})), NO);
  assert.equal(await statusOf(fs.realpath("/loop1")), NO);
  // realpath allows a missing last component only in a directory that is there.
  assert.equal(await fs.realpath("/d/new"), "/d/new");
  assert.equal(await fs.realpath("/dangling"), "/missing");
  assert.equal(await statusOf(fs.realpath("/f/x")), NO);
  assert.equal(await statusOf(fs.realpath("/dangling/x")), NO);
  // EINVAL cases: "bad message".
  assert.equal(await statusOf(fs.readlink("/f")), SFTPStatus.BAD_MESSAGE);
  assert.equal(await statusOf(fs.rename("/d", "/d/sub")), SFTPStatus.BAD_MESSAGE);
  assert.equal(await statusOf(fs.symlink("", "/empty")), NO);
  assert.equal(await statusOf(fs.lstat("/empty")), NO);
});

test("MemoryBackend: CREAT|EXCL refuses a dangling symlink instead of creating its target", async () => {
  const fs = new MemoryBackend();
  await fs.symlink("/target", "/link");
  const flags = OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.EXCL;
  assert.equal(await statusOf(fs.open("/link", flags, {})), SFTPStatus.FAILURE);
  assert.equal(await statusOf(fs.stat("/target")), SFTPStatus.NO_SUCH_FILE);
  // Without EXCL the link is followed, as open(2) does.
  await fs.close(await fs.open("/link", OpenFlags.WRITE | OpenFlags.CREAT, {}));
  assert.equal((await fs.stat("/target")).size, 0);
});

test("MemoryBackend: SFTP v3 rename refuses every existing name, the same file's too", async () => {
  const fs = new MemoryBackend();
  fs.writeFile("/f", enc.encode("x"));
  await fs.hardlink("/f", "/h");
  assert.equal(await statusOf(fs.rename("/f", "/f")), SFTPStatus.FAILURE);
  assert.equal(await statusOf(fs.rename("/f", "/h")), SFTPStatus.FAILURE);
  // posix-rename onto the same file does nothing, as rename(2).
  await fs.posixRename("/f", "/h");
  assert.equal((await fs.stat("/f")).size, 1);
  assert.equal((await fs.stat("/h")).size, 1);
});

test("MemoryBackend: handle access follows open(2): no READ/WRITE flag reads, a read handle cannot truncate", async () => {
  const fs = new MemoryBackend();
  fs.writeFile("/f", enc.encode("hello"));
  const h = await fs.open("/f", 0, {});
  assert.deepEqual(await fs.read(h, 0, 5), enc.encode("hello"));
  assert.equal(await statusOf(fs.write(h, 0, enc.encode("x"))), SFTPStatus.PERMISSION_DENIED);
  await fs.close(h);
  const r = await fs.open("/f", OpenFlags.READ, {});
  assert.equal(await statusOf(fs.fsetstat(r, { size: 0 })), SFTPStatus.PERMISSION_DENIED);
  await fs.fsetstat(r, { permissions: 0o600 }); // fchmod needs no write access
  assert.equal((await fs.stat("/f")).size, 5);
  await fs.close(r);
});

test("MemoryBackend: lsetstat cannot give a symlink a mode or size; mkdir drops setuid/setgid", async () => {
  const fs = new MemoryBackend();
  fs.writeFile("/f", enc.encode("x"));
  await fs.symlink("f", "/l");
  assert.equal(
    await statusOf(fs.lsetstat("/l", { permissions: 0o600 })),
    SFTPStatus.OP_UNSUPPORTED,
  );
  assert.equal((await fs.lstat("/l")).permissions, 0o120777);
  await fs.lsetstat("/l", { atime: 1, mtime: 2 });
  assert.equal((await fs.lstat("/l")).mtime, 2);
  await fs.mkdir("/d", { permissions: 0o7777 });
  assert.equal((await fs.stat("/d")).permissions, 0o41755);
});

test("MemoryBackend: expand-path of an unknown ~user is NO_SUCH_FILE", async () => {
  const fs = new MemoryBackend({ users: new Map([[0, "root"]]) });
  assert.equal(await statusOf(fs.expandPath("~nobody/x")), SFTPStatus.NO_SUCH_FILE);
  assert.equal(await statusOf(fs.homeDirectory("nobody")), SFTPStatus.FAILURE);
});

test("MemoryBackend: copy-data copies what the source has, then reports EOF (as the engine's fallback)", async () => {
  const fs = new MemoryBackend();
  fs.writeFile("/src", enc.encode("0123456789"));
  fs.writeFile("/dst", enc.encode("abcdef"));
  const s = await fs.open("/src", OpenFlags.READ, {});
  const d = await fs.open("/dst", OpenFlags.WRITE, {});
  assert.equal(await statusOf(fs.copyData(s, 8, 5, d, 0)), SFTPStatus.EOF);
  assert.equal(new TextDecoder().decode(fs.readFile("/dst")), "89cdef");
  assert.equal(await statusOf(fs.copyData(s, 20, 5, d, 0)), SFTPStatus.EOF);
  await fs.copyData(s, 20, 0, d, 0); // to the end: nothing, and no error
  assert.equal(new TextDecoder().decode(fs.readFile("/dst")), "89cdef");
  await fs.close(s);
  await fs.close(d);
});
