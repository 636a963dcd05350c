import assert from "node:assert/strict";
import { chmodSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { DerivedFromFiles, FileCache, MAX_CACHED_FILES, SETTLE_MS } from "./file_cache.ts";
import { inTempDir } from "./_temp_dir_test_util.ts";

/** A cache over real files whose clock can be set, counting the reads that reach the disk. */
function counting(now: () => number) {
  const reads: string[] = [];
  const cache = new FileCache(async (path) => {
    reads.push(path);
    return new Uint8Array(await readFile(path));
  }, now);
  return { cache, reads };
}

function text(b: Uint8Array | undefined): string | undefined {
  return b === undefined ? undefined : new TextDecoder().decode(b);
}

/** Sets the file's times `ageMs` in the past (its change time stays the real one). */
function age(path: string, ageMs: number): void {
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

test(
  "FileCache keeps a settled file's bytes and reads them again once the file changes",
  inTempDir("sshts-filecache-", async (dir) => {
    const path = join(dir, "config");
    writeFileSync(path, "Port 2201\n");
    age(path, 10_000);
    // The clock runs ahead of the change time as well, so the file counts as settled.
    let now = Date.now() + 10_000;
    const { cache, reads } = counting(() => now);
    assert.equal(text(await cache.read(path)), "Port 2201\n");
    assert.equal(text(await cache.read(path)), "Port 2201\n");
    assert.equal(reads.length, 1, "the second read is served from the cache");

    // Same size, new contents and times: read again.
    writeFileSync(path, "Port 2202\n");
    age(path, 5_000);
    now = Date.now() + 10_000;
    assert.equal(text(await cache.read(path)), "Port 2202\n");
    assert.equal(reads.length, 2);

    // A chmod changes only the change time: read again (the parser checks modes).
    chmodSync(path, 0o600);
    now = Date.now() + 10_000;
    assert.equal(text(await cache.read(path)), "Port 2202\n");
    assert.equal(reads.length, 3);
    assert.equal(text(await cache.read(path)), "Port 2202\n");
    assert.equal(reads.length, 3);
  }),
);

test(
  "FileCache does not keep a file modified less than SETTLE_MS before it was read",
  inTempDir("sshts-filecache-", async (dir) => {
    const path = join(dir, "config");
    writeFileSync(path, "User a\n");
    const mtime = statSync(path).mtimeMs;
    // Two writes of the same size within one clock tick look alike to stat: such a file is
    // read every time until it has settled.
    let now = mtime + SETTLE_MS - 1;
    const { cache, reads } = counting(() => now);
    await cache.read(path);
    await cache.read(path);
    assert.equal(reads.length, 2);
    now = Date.now() + SETTLE_MS + 1_000;
    await cache.read(path);
    await cache.read(path);
    assert.equal(reads.length, 3);
  }),
);

test(
  "FileCache: a missing file is undefined, a replaced one is read, the caller's copy is its own",
  inTempDir("sshts-filecache-", async (dir) => {
    const path = join(dir, "config");
    const now = () => Date.now() + 60_000;
    const { cache, reads } = counting(now);
    assert.equal(await cache.read(path), undefined);
    assert.equal(await cache.read(join(path, "below-a-file")), undefined);
    writeFileSync(path, "Host *\n");
    age(path, 10_000);
    const first = (await cache.read(path))!;
    first.fill(0); // the caller may change what it got
    assert.equal(text(await cache.read(path)), "Host *\n");
    assert.equal(reads.length, 1);
    // Removed, then created again with the same contents: a new file, read again.
    rmSync(path);
    assert.equal(await cache.read(path), undefined);
    writeFileSync(path, "Host *\n");
    age(path, 10_000);
    assert.equal(text(await cache.read(path)), "Host *\n");
    assert.equal(reads.length, 2);
  }),
);

test(
  "FileCache leaves what is not a regular file, and the reader's errors, to the reader",
  inTempDir("sshts-filecache-", async (dir) => {
    const seen: string[] = [];
    const cache = new FileCache((path) => {
      seen.push(path);
      return Promise.reject(Object.assign(new Error("not a regular file"), { code: "EISDIR" }));
    });
    await assert.rejects(cache.read(dir), /not a regular file/);
    await assert.rejects(cache.read(dir), /not a regular file/);
    assert.deepEqual(seen, [dir, dir], "a directory is never kept");
  }),
);

test(
  "FileCache holds at most MAX_CACHED_FILES files",
  inTempDir("sshts-filecache-", async (dir) => {
    const { cache, reads } = counting(() => Date.now() + 60_000);
    const paths = Array.from({ length: MAX_CACHED_FILES + 1 }, (_, i) => join(dir, `f${i}`));
    for (const p of paths) {
      writeFileSync(p, p);
      age(p, 10_000);
    }
    for (const p of paths) await cache.read(p);
    assert.equal(reads.length, MAX_CACHED_FILES + 1);
    // The first one made room for the last; the others are still kept.
    await cache.read(paths[1]!);
    assert.equal(reads.length, MAX_CACHED_FILES + 1);
    await cache.read(paths[0]!);
    assert.equal(reads.length, MAX_CACHED_FILES + 2);
  }),
);

test(
  "DerivedFromFiles derives again when any one of its files changes, appears or goes",
  inTempDir("sshts-filecache-", async (dir) => {
    const a = join(dir, "a"), b = join(dir, "b");
    writeFileSync(a, "1\n");
    age(a, 10_000);
    let derived = 0;
    const files = new DerivedFromFiles(
      async (p) => new Uint8Array(await readFile(p)),
      (contents) => {
        derived++;
        return contents.map((c) => (c === undefined ? "-" : new TextDecoder().decode(c))).join("");
      },
      () => Date.now() + 60_000,
    );
    assert.equal(await files.get([a, b]), "1\n-");
    assert.equal(await files.get([a, b]), "1\n-");
    assert.equal(derived, 1, "both unchanged (b still missing): kept");
    writeFileSync(b, "2\n");
    age(b, 10_000);
    assert.equal(await files.get([a, b]), "1\n2\n");
    assert.equal(derived, 2, "b appeared");
    writeFileSync(a, "3\n");
    age(a, 5_000);
    assert.equal(await files.get([a, b]), "3\n2\n");
    assert.equal(derived, 3, "a changed");
    rmSync(b);
    assert.equal(await files.get([a, b]), "3\n-");
    assert.equal(await files.get([a]), "3\n", "another list of files is another value");
    assert.equal(derived, 5);
  }),
);

test(
  "DerivedFromFiles keeps nothing derived when a read fails, and reads again next time",
  inTempDir("sshts-filecache-", async (dir) => {
    const a = join(dir, "a");
    writeFileSync(a, "1\n");
    age(a, 10_000);
    let fail = true;
    let derived = 0;
    const files = new DerivedFromFiles(
      async (p) => {
        if (fail) throw Object.assign(new Error("too many open files"), { code: "EMFILE" });
        return new Uint8Array(await readFile(p));
      },
      (contents) => {
        derived++;
        return contents.length;
      },
      () => Date.now() + 60_000,
    );
    await assert.rejects(files.get([a]), /too many open files/);
    fail = false;
    assert.equal(await files.get([a]), 1);
    assert.equal(await files.get([a]), 1);
    assert.equal(derived, 1, "derived once the read worked, then kept");
  }),
);
