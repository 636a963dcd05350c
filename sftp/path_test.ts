import { test } from "node:test";
import assert from "node:assert/strict";
import {
  basename,
  dirname,
  globToRegExp,
  hasGlob,
  joinPath,
  normalizePath,
  resolvePath,
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
