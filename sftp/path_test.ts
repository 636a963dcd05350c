import { test } from "node:test";
import assert from "node:assert/strict";
import {
  basename,
  dirname,
  expandGlob,
  GLOB_MAX_DIRECTORIES,
  GLOB_MAX_READDIR,
  GLOB_MAX_STAT,
  GlobBudget,
  type GlobFileSystem,
  globToRegExp,
  hasGlob,
  joinPath,
  normalizePath,
  resolvePath,
  trailingSlashBase,
  unescapeGlob,
  unsafeEntryName,
} from "./path.ts";

test("normalizePath() and resolvePath() resolve . and .. lexically, never above the root", () => {
  assert.equal(normalizePath("/a//b/./c/.."), "/a/b");
  assert.equal(normalizePath("/../../x"), "/x");
  assert.equal(normalizePath("../a/../../b"), "../../b");
  assert.equal(normalizePath(""), ".");
  assert.equal(normalizePath("/"), "/");
  assert.equal(resolvePath("/home/u", "docs/../x"), "/home/u/x");
  assert.equal(resolvePath("/home/u", "/etc"), "/etc");
  assert.equal(joinPath("a", "", "/b", "c"), "/b/c");
  assert.equal(basename("/a/b/"), "b");
  assert.equal(dirname("a"), ".");
  assert.equal(dirname("/a"), "/");
});

test("globToRegExp() matches like the shell: *, ?, classes, escapes, hidden files", () => {
  const m = (p: string, s: string) => globToRegExp(p).test(s);
  assert.equal(m("*.txt", "a.txt"), true);
  assert.equal(m("*.txt", ".a.txt"), false);
  assert.equal(m(".*", ".a"), true);
  assert.equal(m("file?.log", "file1.log"), true);
  assert.equal(m("file?.log", "file10.log"), false);
  assert.equal(m("[a-c]x", "bx"), true);
  assert.equal(m("[!a-c]x", "bx"), false);
  assert.equal(m("[]]", "]"), true);
  assert.equal(m("a\\*b", "a*b"), true);
  assert.equal(m("a\\*b", "axb"), false);
  assert.equal(m("(x)+", "(x)+"), true);
  assert.equal(m("[abc", "[abc"), true);
  assert.equal(hasGlob("a\\*b"), false);
  assert.equal(hasGlob("a[b]"), true);
  assert.equal(unescapeGlob("a\\[b"), "a[b");
});

test("unsafeEntryName() refuses what is not one path component", () => {
  for (const ok of ["a", "a.txt", ".hidden", "...", "a b", "a\\b", "ünï"]) {
    assert.equal(unsafeEntryName(ok), undefined, ok);
  }
  assert.equal(unsafeEntryName(""), "it is empty");
  assert.equal(unsafeEntryName("."), 'it is "."');
  assert.equal(unsafeEntryName(".."), 'it is ".."');
  assert.equal(unsafeEntryName("../x"), 'it contains "/"');
  assert.equal(unsafeEntryName("/etc"), 'it contains "/"');
  assert.equal(unsafeEntryName("a\0b"), "it contains a NUL");
});

/** Every directory under /x lists "a" and "b", as links `a -> .` and `b -> .` make it. */
function loopingFs(): GlobFileSystem & { listed: number } {
  const fs = {
    listed: 0,
    readdir: (dir: string) => {
      fs.listed++;
      return Promise.resolve(dir.startsWith("/x") ? ["a", "b"] : null);
    },
    exists: () => Promise.resolve(true),
  };
  return fs;
}

test("expandGlob() lists at most GLOB_MAX_DIRECTORIES directories when links loop (a -> ., b -> .)", async () => {
  const fs = loopingFs();
  // 18 components would list 2^18 directories and hold 2^18 paths.
  await assert.rejects(expandGlob(`/x${"/*".repeat(18)}`, fs), /Too many matches/);
  assert.equal(fs.listed, GLOB_MAX_DIRECTORIES);
  // Within the limits the links are followed, as OpenSSH's glob follows them.
  assert.deepEqual(await expandGlob("/x/*/*", fs), ["/x/a/a", "/x/a/b", "/x/b/a", "/x/b/b"]);
});

test("expandGlob() calls sharing a GlobBudget are held to one set of limits", async () => {
  const fs = loopingFs();
  // Each pattern alone lists 2^10 - 1 = 1023 directories, within GLOB_MAX_DIRECTORIES.
  const pattern = `/x${"/*".repeat(10)}`;
  assert.equal((await expandGlob(pattern, fs)).length, 1024);
  assert.equal((await expandGlob(pattern, fs)).length, 1024); // a fresh budget each time
  fs.listed = 0;
  const budget = new GlobBudget();
  assert.equal((await expandGlob(pattern, fs, { budget })).length, 1024);
  assert.equal(budget.directories, GLOB_MAX_DIRECTORIES - 1023);
  assert.equal((await expandGlob(pattern, fs, { budget })).length, 1024); // 2,046 of 2,048
  await assert.rejects(expandGlob(pattern, fs, { budget }), /Too many matches/);
  assert.equal(fs.listed, GLOB_MAX_DIRECTORIES);
  await assert.rejects(expandGlob("/x/*", fs, { budget }), /Too many matches/);
  assert.equal(fs.listed, GLOB_MAX_DIRECTORIES, "a spent budget lists nothing more");
});

test("expandGlob() stops reading a listing that never ends", async () => {
  let read = 0;
  const fs: GlobFileSystem = {
    readdir: () =>
      Promise.resolve((function* () {
        for (;;) yield `f${read++}`;
      })()),
    exists: () => Promise.resolve(true),
  };
  await assert.rejects(expandGlob("/d/*", fs), /Too many matches/);
  assert.ok(read <= GLOB_MAX_READDIR + 1, `${read} names read`);
});

test("expandGlob() checks at most GLOB_MAX_STAT paths for a literal last component", async () => {
  const names = Array.from({ length: GLOB_MAX_STAT + 1 }, (_, i) => `d${i}`);
  let checked = 0;
  const fs: GlobFileSystem = {
    readdir: (dir) => Promise.resolve(dir === "/top" ? names : null),
    exists: () => Promise.resolve(++checked > 0),
  };
  await assert.rejects(expandGlob("/top/*/file", fs), /Too many matches/);
  assert.equal(checked, GLOB_MAX_STAT);
});

test("expandGlob() stops once its signal is aborted", async () => {
  const fs = loopingFs();
  const ac = new AbortController();
  ac.abort(new Error("gone"));
  await assert.rejects(expandGlob("/x/*/*", fs, { signal: ac.signal }), /gone/);
  assert.equal(fs.listed, 0);
});

test("trailingSlashBase() strips the trailing slashes of a path that names more than the root", () => {
  assert.equal(trailingSlashBase("d/"), "d");
  assert.equal(trailingSlashBase("/a/b//"), "/a/b");
  assert.equal(trailingSlashBase("./"), ".");
  assert.equal(trailingSlashBase("d"), undefined);
  assert.equal(trailingSlashBase("/"), undefined);
  assert.equal(trailingSlashBase("//"), undefined);
  assert.equal(trailingSlashBase(""), undefined);
});

test("expandGlob() returns every match of a tree it could read whole (10,000 files in 100 directories)", async () => {
  const dirs = Array.from({ length: 100 }, (_, i) => `d${i}`);
  const fs = {
    readdir: (dir: string) =>
      Promise.resolve(
        dir === "/t" ? dirs : Array.from({ length: 100 }, (_, i) => `f${i}.txt`).concat(
          dir.endsWith("0") ? ["x"] : [],
        ),
      ),
    exists: () => Promise.resolve(true),
  };
  const found = await expandGlob("/t/*/*.txt", fs);
  assert.equal(found.length, 10_000);
  assert.equal(found[0], "/t/d0/f0.txt");
});
