/**
 * An empty path, a trailing "/" and "." or ".." components as OpenSSH's sftp-server takes
 * them (it hands paths to the system calls as they came), from FsBackend and MemoryBackend
 * alike.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EnginePair, expect } from "../../sftp/_test_pair.ts";
import { isDirectory, isSymbolicLink } from "../../sftp/attrs.ts";
import type { SFTPBackend } from "../../sftp/backend.ts";
import type { SFTPResult } from "../../sftp/client_engine.ts";
import { OpenFlags } from "../../sftp/constants.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import type { SFTPRequest } from "../../sftp/messages.ts";
import { FsBackend } from "./fs_backend.ts";

/** A request, what OpenSSH 9.2's sftp-server answers, and what it leaves at some names. */
type PathCase = readonly [
  req: SFTPRequest,
  want: string,
  after?: Readonly<Record<string, string>>,
];

/**
 * Requests with "" or a trailing "/", what OpenSSH 9.2's sftp-server answers to each (its
 * status codes; "dir" an ATTRS reply for a directory, "path:x" a NAME of home/x), and what
 * is then left at some names ("none" when nothing). In the home directory: a file f, empty
 * directories d and e, links lf -> f, ld -> d, dang -> nowhere, ly -> x/y (a directory
 * elsewhere); m is missing.
 */
const EMPTY_AND_SLASH_CASES: readonly PathCase[] = [
  // "" is ENOENT, for every request but REALPATH and expand-path ("." there).
  [{ type: "stat", path: "" }, "S2"],
  [{ type: "lstat", path: "" }, "S2"],
  [{ type: "open", path: "", flags: OpenFlags.READ, attrs: {} }, "S2"],
  [{ type: "open", path: "", flags: OpenFlags.WRITE | OpenFlags.CREAT, attrs: {} }, "S2"],
  [{ type: "opendir", path: "" }, "S2"],
  [{ type: "setstat", path: "", attrs: { permissions: 0o700 } }, "S2"],
  [{ type: "lsetstat", path: "", attrs: { permissions: 0o700 } }, "S2"],
  [{ type: "readlink", path: "" }, "S2"],
  [{ type: "statvfs", path: "" }, "S2"],
  [{ type: "remove", path: "" }, "S2"],
  [{ type: "rmdir", path: "" }, "S2"],
  [{ type: "mkdir", path: "", attrs: {} }, "S2"],
  [{ type: "rename", oldPath: "", newPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "rename", oldPath: "e", newPath: "" }, "S2", { e: "dir" }],
  [{ type: "posixRename", oldPath: "", newPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "posixRename", oldPath: "e", newPath: "" }, "S2", { e: "dir" }],
  [{ type: "symlink", targetPath: "f", linkPath: "" }, "S2"],
  [{ type: "symlink", targetPath: "", linkPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "hardlink", oldPath: "", newPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "hardlink", oldPath: "f", newPath: "" }, "S2"],
  [{ type: "realpath", path: "" }, "path:"],
  [{ type: "expandPath", path: "" }, "path:"],
  // A trailing "/" names a directory, or a link to one; anything else is ENOTDIR.
  [{ type: "stat", path: "f/" }, "S2"],
  [{ type: "stat", path: "lf/" }, "S2"],
  [{ type: "stat", path: "dang/" }, "S2"],
  [{ type: "stat", path: "m/" }, "S2"],
  [{ type: "stat", path: "d/" }, "dir"],
  [{ type: "stat", path: "ld//" }, "dir"],
  [{ type: "lstat", path: "f/" }, "S2"],
  [{ type: "lstat", path: "lf/" }, "S2"],
  [{ type: "lstat", path: "ld/" }, "dir"],
  [{ type: "open", path: "f/", flags: OpenFlags.READ, attrs: {} }, "S2"],
  [{ type: "open", path: "lf/", flags: OpenFlags.READ, attrs: {} }, "S2"],
  [{ type: "open", path: "m/", flags: OpenFlags.WRITE | OpenFlags.CREAT, attrs: {} }, "S4", {
    m: "none",
  }],
  [{
    type: "open",
    path: "f/",
    flags: OpenFlags.WRITE | OpenFlags.TRUNC | OpenFlags.CREAT,
    attrs: {},
  }, "S4"],
  [{ type: "open", path: "m/x/", flags: OpenFlags.WRITE | OpenFlags.CREAT, attrs: {} }, "S2"],
  [{ type: "opendir", path: "f/" }, "S2"],
  [{ type: "opendir", path: "d/" }, "handle"],
  [{ type: "opendir", path: "ld/" }, "handle"],
  [{ type: "setstat", path: "f/", attrs: { permissions: 0o600 } }, "S2"],
  [{ type: "setstat", path: "d/", attrs: { permissions: 0o700 } }, "ok"],
  [{ type: "lsetstat", path: "lf/", attrs: { permissions: 0o600 } }, "S2"],
  [{ type: "lsetstat", path: "ld/", attrs: { permissions: 0o700 } }, "ok"],
  [{ type: "readlink", path: "f/" }, "S2"],
  [{ type: "readlink", path: "lf/" }, "S2"],
  [{ type: "readlink", path: "dang/" }, "S2"],
  [{ type: "readlink", path: "ld/" }, "S5"],
  [{ type: "statvfs", path: "f/" }, "S2"],
  [{ type: "statvfs", path: "d/" }, "statvfs"],
  [{ type: "realpath", path: "f/" }, "path:f"],
  [{ type: "realpath", path: "ld/" }, "path:d"],
  [{ type: "realpath", path: "m/" }, "S2"],
  [{ type: "realpath", path: "dang/" }, "S2"],
  [{ type: "expandPath", path: "m/" }, "S2"],
  [{ type: "remove", path: "f/" }, "S2", { f: "file" }],
  [{ type: "remove", path: "lf/" }, "S2", { lf: "link" }],
  [{ type: "remove", path: "ld/" }, "S2", { ld: "link" }],
  [{ type: "remove", path: "dang/" }, "S2", { dang: "link" }],
  [{ type: "remove", path: "m/" }, "S2"],
  [{ type: "remove", path: "d/" }, "S4", { d: "dir" }],
  [{ type: "rmdir", path: "d/" }, "ok", { d: "none" }],
  [{ type: "rmdir", path: "f/" }, "S2", { f: "file" }],
  [{ type: "rmdir", path: "ld/" }, "S2", { ld: "link", d: "dir" }],
  [{ type: "mkdir", path: "m/", attrs: {} }, "ok", { m: "dir" }],
  [{ type: "mkdir", path: "f/", attrs: {} }, "S4", { f: "file" }],
  [{ type: "rename", oldPath: "f/", newPath: "zz" }, "S2", { f: "file", zz: "none" }],
  [{ type: "rename", oldPath: "lf/", newPath: "zz" }, "S2", { lf: "link", zz: "none" }],
  [{ type: "rename", oldPath: "ld/", newPath: "zz" }, "S2", { ld: "link", zz: "none" }],
  [{ type: "rename", oldPath: "d/", newPath: "zz" }, "ok", { d: "none", zz: "dir" }],
  [{ type: "rename", oldPath: "f", newPath: "m/" }, "S2", { f: "file", m: "none" }],
  [{ type: "rename", oldPath: "f", newPath: "lf/" }, "S4", { f: "file" }],
  [{ type: "rename", oldPath: "e", newPath: "m/" }, "ok", { e: "none", m: "dir" }],
  [{ type: "rename", oldPath: "e", newPath: "f/" }, "S2", { e: "dir", f: "file" }],
  [{ type: "rename", oldPath: "e", newPath: "lf/" }, "S2", { e: "dir" }],
  [{ type: "rename", oldPath: "e", newPath: "dang/" }, "S2", { e: "dir" }],
  [{ type: "rename", oldPath: "e", newPath: "ld/" }, "S4", { e: "dir" }],
  [{ type: "posixRename", oldPath: "f/", newPath: "zz" }, "S2", { f: "file", zz: "none" }],
  [{ type: "posixRename", oldPath: "ld/", newPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "posixRename", oldPath: "d/", newPath: "zz" }, "ok", { d: "none", zz: "dir" }],
  [{ type: "posixRename", oldPath: "f", newPath: "m/" }, "S2", { f: "file", m: "none" }],
  [{ type: "posixRename", oldPath: "f", newPath: "d/" }, "S2", { f: "file", d: "dir" }],
  [{ type: "posixRename", oldPath: "e", newPath: "d/" }, "ok", { e: "none", d: "dir" }],
  [{ type: "posixRename", oldPath: "e", newPath: "ld/" }, "S2", { e: "dir", ld: "link" }],
  [{ type: "posixRename", oldPath: "e", newPath: "f/" }, "S2", { e: "dir", f: "file" }],
  [{ type: "symlink", targetPath: "f", linkPath: "m/" }, "S2", { m: "none" }],
  [{ type: "symlink", targetPath: "f", linkPath: "f/" }, "S4", { f: "file" }],
  [{ type: "hardlink", oldPath: "f/", newPath: "zz" }, "S2", { zz: "none" }],
  [{ type: "hardlink", oldPath: "d/", newPath: "zz" }, "S3", { zz: "none" }],
  [{ type: "hardlink", oldPath: "ld/", newPath: "zz" }, "S3", { zz: "none" }],
  [{ type: "hardlink", oldPath: "f", newPath: "m/" }, "S2", { m: "none" }],
  [{ type: "hardlink", oldPath: "f", newPath: "d/" }, "S4"],
];

/**
 * Each request on paths with a "." or ".." component, and what sftp-server answers, in the
 * order of {@link DOT_REQUESTS}: what precedes a "." or ".." must be a directory (though
 * "f/.." normalizes to "."), and a last one names a directory that system calls creating,
 * removing or renaming an entry refuse. Nothing is left changed (setstat aside).
 */
const DOT_ANSWERS: Readonly<Record<string, string>> = {
  "f/.": "S2 S2 S2 S2 S2 S2 path:f S2 path:f S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "lf/.": "S2 S2 S2 S2 S2 S2 path:f S2 path:f S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "m/.": "S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "dang/.": "S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "f/..": "S2 S2 S2 S2 S2 S2 path: S2 path: S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "f/../f": "S2 S2 S2 S2 S2 S2 path:f S2 path:f S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "m/../f": "S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2 S2",
  "d/.": "dir dir handle ok ok S5 path:d statvfs path:d S4 S5 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
  "ld/.": "dir dir handle ok ok S5 path:d statvfs path:d S4 S5 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
  "d/./": "dir dir handle ok ok S5 path:d statvfs path:d S4 S5 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
  "d/..": "dir dir handle ok ok S5 path: statvfs path: S4 S4 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
  "ld/../": "dir dir handle ok ok S5 path: statvfs path: S4 S4 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
  ".": "dir dir handle ok ok S5 path: statvfs path: S4 S5 S4 S4 S4 S4 S4 S4 S4 S4 S4 S3 S4",
};

/** The requests of {@link DOT_ANSWERS}, on a path. */
const DOT_REQUESTS: readonly ((path: string) => SFTPRequest)[] = [
  (path) => ({ type: "stat", path }),
  (path) => ({ type: "lstat", path }),
  (path) => ({ type: "opendir", path }),
  (path) => ({ type: "setstat", path, attrs: { permissions: 0o755 } }),
  (path) => ({ type: "lsetstat", path, attrs: { permissions: 0o755 } }),
  (path) => ({ type: "readlink", path }),
  (path) => ({ type: "realpath", path }),
  (path) => ({ type: "statvfs", path }),
  (path) => ({ type: "expandPath", path }),
  (path) => ({ type: "remove", path }),
  (path) => ({ type: "rmdir", path }),
  (path) => ({ type: "mkdir", path, attrs: {} }),
  (path) => ({ type: "open", path, flags: OpenFlags.WRITE | OpenFlags.CREAT, attrs: {} }),
  (path) => ({ type: "rename", oldPath: path, newPath: "zz" }),
  (path) => ({ type: "rename", oldPath: "f", newPath: path }),
  (path) => ({ type: "rename", oldPath: "e", newPath: path }),
  (path) => ({ type: "posixRename", oldPath: path, newPath: "zz" }),
  (path) => ({ type: "posixRename", oldPath: "f", newPath: path }),
  (path) => ({ type: "posixRename", oldPath: "e", newPath: path }),
  (path) => ({ type: "symlink", targetPath: "f", linkPath: path }),
  (path) => ({ type: "hardlink", oldPath: path, newPath: "zz" }),
  (path) => ({ type: "hardlink", oldPath: "f", newPath: path }),
];

/** What is left after each of {@link DOT_ANSWERS}' requests. */
const UNCHANGED = { f: "file", d: "dir", e: "dir", lf: "link", ld: "link", zz: "none" };

/** {@link DOT_ANSWERS} as cases, and ".." that leaves where a link led (ly -> x/y). */
const DOT_CASES: readonly PathCase[] = [
  ...Object.entries(DOT_ANSWERS).flatMap(([path, answers]) =>
    answers.split(" ").map((want, i): PathCase => [DOT_REQUESTS[i]!(path), want, UNCHANGED])
  ),
  [{ type: "stat", path: "ly/../y" }, "dir"],
  [{ type: "stat", path: "ly/../f" }, "S2"],
  [{ type: "realpath", path: "ly/.." }, "path:x"],
  [{ type: "rmdir", path: "ly/../y" }, "ok", { "x/y": "none", x: "dir" }],
  [{ type: "mkdir", path: "ly/../n", attrs: {} }, "ok", { "x/n": "dir", n: "none" }],
];

/** What a reply is, in {@link EMPTY_AND_SLASH_CASES}' terms ("handle"s are closed). */
async function outcome(p: EnginePair<unknown>, r: SFTPResult, home: string): Promise<string> {
  switch (r.kind) {
    case "error":
      return `S${r.error.status}`;
    case "attrs":
      return isDirectory(r.attrs) ? "dir" : isSymbolicLink(r.attrs) ? "link" : "file";
    case "path":
      return `path:${r.path === home ? "" : r.path.slice(home === "/" ? 1 : home.length + 1)}`;
    case "handle":
      expect(await p.call({ type: "close", handle: r.handle }), "ok");
      return "handle";
    default:
      return r.kind;
  }
}

/** Runs `cases` on fresh backends `make` sets up. */
async function checkCases(
  cases: readonly PathCase[],
  make: () => Promise<{ backend: SFTPBackend<unknown>; home: string; done?: () => Promise<void> }>,
): Promise<void> {
  const wrong: string[] = [];
  for (const [req, want, after] of cases) {
    const { backend, home, done } = await make();
    try {
      const p = new EnginePair(backend);
      await p.start();
      for (const d of ["d", "e", "x", "x/y"]) {
        expect(await p.call({ type: "mkdir", path: d, attrs: {} }), "ok");
      }
      const h = expect(
        await p.call({
          type: "open",
          path: "f",
          flags: OpenFlags.WRITE | OpenFlags.CREAT,
          attrs: {},
        }),
        "handle",
      ).handle;
      expect(await p.call({ type: "close", handle: h }), "ok");
      const links = [["lf", "f"], ["ld", "d"], ["dang", "nowhere"], ["ly", "x/y"]];
      for (const [link, target] of links) {
        expect(await p.call({ type: "symlink", linkPath: link!, targetPath: target! }), "ok");
      }
      const got = await outcome(p, await p.call(req), home);
      const left: string[] = [];
      for (const [name, kind] of Object.entries(after ?? {})) {
        const o = await outcome(p, await p.call({ type: "lstat", path: name }), home);
        if ((o === "S2" ? "none" : o) !== kind) left.push(`${name} is ${o}, not ${kind}`);
      }
      // The home directory is always left.
      if (await outcome(p, await p.call({ type: "stat", path: "." }), home) !== "dir") {
        left.push("the home directory is gone");
      }
      if (got !== want || left.length > 0) {
        wrong.push(`${JSON.stringify(req)}: ${got} (sftp-server: ${want}) ${left.join(", ")}`);
      }
    } finally {
      await done?.();
    }
  }
  assert.deepEqual(wrong, []);
}

for (
  const [what, cases] of [
    [
      "an empty path is no such file (realpath and expand-path aside) and a trailing slash names a directory",
      EMPTY_AND_SLASH_CASES,
    ],
    [
      'what precedes "." or ".." must be a directory, a last one names a directory, and ".." leaves where a link led',
      DOT_CASES,
    ],
  ] as const
) {
  test(`${what}, as OpenSSH's sftp-server (MemoryBackend)`, async () => {
    await checkCases(
      cases,
      () => Promise.resolve({ backend: new MemoryBackend({ home: "/home/me" }), home: "/home/me" }),
    );
  });

  test(`${what}, as OpenSSH's sftp-server (FsBackend)`, async () => {
    const base = await fsp.mkdtemp(join(tmpdir(), "sshts-paths-"));
    try {
      let n = 0;
      await checkCases(cases, async () => {
        const root = join(base, `${n++}`);
        await fsp.mkdir(join(root, "home", "me"), { recursive: true });
        return { backend: new FsBackend({ root, home: "/home/me" }), home: "/home/me" };
      });
    } finally {
      await fsp.rm(base, { recursive: true, force: true });
    }
  });
}

test("CLOSE of a handle that is not open is NO_SUCH_FILE, as OpenSSH's sftp-server (ENOENT)", async () => {
  const p = new EnginePair(new MemoryBackend());
  await p.start();
  const bad = new Uint8Array([0, 0, 0, 99]);
  assert.equal(expect(await p.call({ type: "close", handle: bad }), "error").error.status, 2);
  // Every other request on it is FAILURE, as there.
  const read = await p.call({ type: "read", handle: bad, offset: 0, length: 1 });
  assert.equal(expect(read, "error").error.status, 4);
});
