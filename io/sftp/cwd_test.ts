/**
 * SFTPClient's client-side working directory (chdir / getcwd, as AsyncSSH's): relative
 * remote paths of every method resolve against it once set, absolute ones never, and
 * without a chdir every path goes to the server exactly as given.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { SFTPStatus } from "../../sftp/constants.ts";
import type { SFTPRequest } from "../../sftp/messages.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { SFTPClient } from "./client.ts";
import { SFTPSession } from "./session.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const HOME = "/home/alice";

/** The remote path fields of a request, as sent. */
function sentPaths(req: SFTPRequest): string[] {
  const r = req as unknown as Record<string, unknown>;
  return ["path", "oldPath", "newPath", "linkPath", "targetPath"]
    .filter((k) => typeof r[k] === "string")
    .map((k) => `${k}=${r[k]}`);
}

/**
 * An SFTPClient against our server over a MemoryBackend whose login directory is
 * /home/alice, with every request the client sends logged (type and remote paths).
 */
async function withClient(
  fn: (sftp: SFTPClient, backend: MemoryBackend, sent: string[]) => Promise<void>,
  options: { disabledExtensions?: readonly string[] } = {},
): Promise<void> {
  const backend = new MemoryBackend({ home: HOME });
  await using t = await loopback({
    validatePassword: (u, p) => u === "u" && p === "p",
    sftp: { backend, ...options },
  });
  const session = await SFTPSession.open(t.conn, {});
  const sent: string[] = [];
  const request = session.request.bind(session);
  session.request = (req, signal) => {
    const paths = sentPaths(req);
    if (paths.length > 0) sent.push(`${req.type} ${paths.join(" ")}`);
    return request(req, signal);
  };
  await using sftp = new SFTPClient(session);
  await fn(sftp, backend, sent);
}

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-cwd-"));
}

test("getcwd() before any chdir is the server's login directory; chdir() chains resolve like cd", async () => {
  await withClient(async (sftp, backend) => {
    backend.makeDirectory("/srv/app/releases/v1");
    backend.makeDirectory("/srv/data");
    backend.writeFile("/srv/app/file.txt", enc.encode("f"));
    assert.equal(await sftp.getcwd(), HOME);
    // Asked, not set: still the login directory, and paths still go as they are.
    assert.equal(await sftp.getcwd(), HOME);

    await sftp.chdir("/srv/app");
    assert.equal(await sftp.getcwd(), "/srv/app");
    await sftp.chdir("releases");
    assert.equal(await sftp.getcwd(), "/srv/app/releases");
    await sftp.chdir("v1");
    await sftp.chdir("..");
    assert.equal(await sftp.getcwd(), "/srv/app/releases");
    await sftp.chdir("../../data");
    assert.equal(await sftp.getcwd(), "/srv/data");
    await sftp.chdir("./../app//releases/./v1/");
    assert.equal(await sftp.getcwd(), "/srv/app/releases/v1");
    await sftp.chdir("");
    assert.equal(await sftp.getcwd(), "/srv/app/releases/v1");
    await sftp.chdir(".");
    assert.equal(await sftp.getcwd(), "/srv/app/releases/v1");
    await sftp.chdir("/");
    assert.equal(await sftp.getcwd(), "/");
    await sftp.chdir("..");
    assert.equal(await sftp.getcwd(), "/");
    await sftp.chdir("home/alice"); // relative to "/"
    assert.equal(await sftp.getcwd(), HOME);
  });
  // Before any chdir, a relative chdir starts from the login directory.
  await withClient(async (sftp) => {
    await sftp.chdir("..");
    assert.equal(await sftp.getcwd(), "/home");
  });
});

test("chdir() through a link stores the canonical directory", async () => {
  await withClient(async (sftp, backend) => {
    backend.makeDirectory("/srv/real");
    await sftp.symlink("/srv/real", "/srv/alias");
    await sftp.chdir("/srv/alias");
    assert.equal(await sftp.getcwd(), "/srv/real");
    await sftp.writeFile("x", "x");
    assert.equal(dec.decode(backend.readFile("/srv/real/x")), "x");
  });
});

test("chdir() to a file, a link to a file or a missing path fails with SFTPError and keeps the cwd", async () => {
  await withClient(async (sftp, backend) => {
    backend.makeDirectory("/srv/dir");
    backend.writeFile("/srv/dir/file.txt", enc.encode("f"));
    await sftp.symlink("file.txt", "/srv/dir/lf");
    await sftp.symlink("nowhere", "/srv/dir/dangling");
    await sftp.chdir("/srv/dir");

    for (const bad of ["file.txt", "/srv/dir/file.txt", "lf"]) {
      await assert.rejects(sftp.chdir(bad), (e: unknown) => {
        assert.ok(e instanceof SFTPError, String(e));
        assert.equal(e.status, SFTPStatus.FAILURE);
        assert.match(e.message, /Not a directory/);
        assert.match(e.message, /chdir/);
        return true;
      });
      assert.equal(await sftp.getcwd(), "/srv/dir");
    }
    for (const missing of ["nope", "/nope/deeper", "dangling", "file.txt/x"]) {
      await assert.rejects(sftp.chdir(missing), (e: unknown) => {
        assert.ok(e instanceof SFTPError, String(e));
        assert.ok(e.notFound, e.message);
        return true;
      });
      assert.equal(await sftp.getcwd(), "/srv/dir");
    }
    // The cwd still works after the failures.
    assert.deepEqual((await sftp.listdir(".")).sort(), ["dangling", "file.txt", "lf"]);
  });
  // A failed first chdir leaves the client with none: paths still go as they are.
  await withClient(async (sftp, _backend, sent) => {
    await assert.rejects(sftp.chdir("missing"), SFTPError);
    assert.equal(await sftp.getcwd(), HOME);
    sent.length = 0;
    assert.equal(await sftp.exists("x"), false);
    assert.deepEqual(sent, ["stat path=x"]);
  });
});

test("after chdir, every path operation resolves a relative path against the cwd", async () => {
  await withClient(async (sftp, backend) => {
    backend.makeDirectory("/srv/w");
    backend.writeFile(`${HOME}/decoy.txt`, enc.encode("home"));
    await sftp.chdir("/srv/w");

    // open / whole files
    {
      await using f = await sftp.open("opened.txt", "w");
      await f.write(enc.encode("hello"));
    }
    assert.equal(dec.decode(backend.readFile("/srv/w/opened.txt")), "hello");
    {
      await using f = await sftp.open("opened.txt");
      assert.equal(dec.decode(await f.read(5, 0)), "hello");
    }
    await sftp.writeFile("whole.txt", "abc");
    await sftp.appendFile("whole.txt", "def");
    assert.equal(dec.decode(backend.readFile("/srv/w/whole.txt")), "abcdef");
    assert.equal(await sftp.readFile("whole.txt", { encoding: "utf-8" }), "abcdef");
    await assert.rejects(sftp.readFile("decoy.txt"), SFTPError); // it is in the home directory

    // attributes
    assert.equal((await sftp.stat("whole.txt")).size, 6);
    assert.equal((await sftp.stat("whole.txt", { followSymlinks: false })).size, 6);
    assert.equal((await sftp.lstat("whole.txt")).size, 6);
    await sftp.setstat("whole.txt", { permissions: 0o640 });
    assert.equal((await backend.stat("/srv/w/whole.txt")).permissions! & 0o777, 0o640);
    await sftp.chmod("whole.txt", 0o600);
    assert.equal((await backend.stat("/srv/w/whole.txt")).permissions! & 0o777, 0o600);
    await sftp.chown("whole.txt", 7, 8);
    assert.equal((await backend.stat("/srv/w/whole.txt")).uid, 7);
    await sftp.utime("whole.txt", 1000, 2000);
    assert.equal((await backend.stat("/srv/w/whole.txt")).mtime, 2000);
    await sftp.truncate("whole.txt", 2);
    assert.equal((await backend.stat("/srv/w/whole.txt")).size, 2);
    assert.equal(await sftp.exists("whole.txt"), true);
    assert.equal(await sftp.exists("decoy.txt"), false);
    assert.equal(await sftp.isFile("whole.txt"), true);
    assert.equal(await sftp.isDir("."), true);
    assert.equal(await sftp.isDir("whole.txt"), false);

    // directories
    await sftp.mkdir("d1");
    await sftp.makedirs("d2/x/y");
    await sftp.makedirs("d2/x/y"); // existing: fine
    assert.equal((await backend.stat("/srv/w/d1")).permissions !== undefined, true);
    assert.equal(await sftp.isDir("/srv/w/d2/x/y"), true);
    assert.deepEqual(await sftp.listdir("d2"), ["x"]);
    assert.deepEqual((await sftp.listdir(".")).sort(), ["d1", "d2", "opened.txt", "whole.txt"]);
    assert.deepEqual((await sftp.listdir("")).sort(), ["d1", "d2", "opened.txt", "whole.txt"]);
    const names: string[] = [];
    for await (const e of sftp.readdir("d2/x")) names.push(e.filename);
    assert.deepEqual(names, ["y"]); // names as listed, no directory part
    await sftp.rmdir("d1");
    assert.equal(await sftp.exists("/srv/w/d1"), false);
    backend.writeFile("/srv/w/d2/x/y/z.txt", enc.encode("z"));
    await sftp.rmtree("d2");
    assert.equal(await sftp.exists("/srv/w/d2"), false);

    // names and links
    await sftp.rename("opened.txt", "renamed.txt");
    await sftp.rename("renamed.txt", "renamed2.txt", { overwrite: false });
    assert.equal(dec.decode(backend.readFile("/srv/w/renamed2.txt")), "hello");
    await sftp.hardlink("renamed2.txt", "hard.txt");
    assert.equal(dec.decode(backend.readFile("/srv/w/hard.txt")), "hello");
    await sftp.remove("hard.txt");
    await sftp.writeFile("gone.txt", "");
    await sftp.unlink("gone.txt");
    assert.equal(await sftp.exists("/srv/w/hard.txt"), false);
    assert.equal(await sftp.exists("/srv/w/gone.txt"), false);
    // The target is stored as given; the link itself lands in the cwd.
    await sftp.symlink("renamed2.txt", "link");
    assert.equal(await backend.readlink("/srv/w/link"), "renamed2.txt");
    assert.equal(await sftp.readlink("link"), "renamed2.txt");
    assert.equal(await sftp.isLink("link"), true);
    assert.equal((await sftp.stat("link")).size, 5);
    await sftp.symlink("../w/renamed2.txt", "link2");
    assert.equal(await backend.readlink("/srv/w/link2"), "../w/renamed2.txt");
    await sftp.setstat("link", { mtime: 77, atime: 77 }, { followSymlinks: false });
    assert.equal((await sftp.lstat("link")).mtime, 77);

    // canonical names
    assert.equal(await sftp.realpath("."), "/srv/w");
    assert.equal(await sftp.realpath(""), "/srv/w");
    assert.equal(await sftp.realpath("renamed2.txt"), "/srv/w/renamed2.txt");
    assert.equal(await sftp.realpath("link"), "/srv/w/renamed2.txt");
    assert.equal(await sftp.realpath(".."), "/srv");
    assert.equal(await sftp.expandPath("renamed2.txt"), "/srv/w/renamed2.txt");
    assert.equal(await sftp.expandPath("~"), HOME); // "~" is the home directory, not the cwd
    assert.equal(await sftp.expandPath("~/decoy.txt"), `${HOME}/decoy.txt`);
    assert.equal(await sftp.homeDirectory(), HOME);
    assert.ok((await sftp.statvfs("renamed2.txt")).bsize > 0);

    // absolute paths stay as they are
    assert.equal((await sftp.stat(`${HOME}/decoy.txt`)).size, 4);
    await sftp.writeFile("/srv/abs.txt", "abs");
    assert.equal(dec.decode(backend.readFile("/srv/abs.txt")), "abs");
  });
});

test("after chdir, the requests carry the resolved paths; absolute ones and link targets go as given", async () => {
  await withClient(async (sftp, backend, sent) => {
    backend.makeDirectory("/srv/w/sub");
    backend.writeFile("/srv/w/f", enc.encode("f"));
    await sftp.chdir("/srv/w");
    sent.length = 0;
    await sftp.stat("f");
    await sftp.stat("/srv/w/f");
    await sftp.symlink("f", "sub/l");
    await sftp.symlink("../f", "/srv/w/l2");
    await sftp.rename("sub/l", "l3");
    await sftp.readlink("l3");
    await sftp.realpath("sub/..");
    assert.deepEqual(sent, [
      "stat path=/srv/w/f",
      "stat path=/srv/w/f",
      "symlink linkPath=/srv/w/sub/l targetPath=f",
      "symlink linkPath=/srv/w/l2 targetPath=../f",
      "posixRename oldPath=/srv/w/sub/l newPath=/srv/w/l3",
      "readlink path=/srv/w/l3",
      "realpath path=/srv/w/sub/..",
    ]);
  });
});

test("expandPath() and rename() without their extensions still resolve against the cwd", async () => {
  await withClient(async (sftp, backend) => {
    backend.makeDirectory("/srv/w");
    backend.writeFile("/srv/w/a", enc.encode("a"));
    await sftp.chdir("/srv/w");
    assert.equal(await sftp.expandPath("a"), "/srv/w/a");
    assert.equal(await sftp.expandPath("~"), HOME);
    assert.equal(await sftp.expandPath("~/."), HOME);
    await sftp.rename("a", "b");
    assert.equal(dec.decode(backend.readFile("/srv/w/b")), "a");
  }, { disabledExtensions: ["expand-path@openssh.com", "posix-rename@openssh.com"] });
});

test("glob() after chdir matches in the cwd and names matches as the pattern does", async () => {
  await withClient(async (sftp, backend) => {
    backend.writeFile("/srv/w/one.log", enc.encode("1"));
    backend.writeFile("/srv/w/two.log", enc.encode("22"));
    backend.writeFile("/srv/w/sub/three.log", enc.encode("333"));
    backend.writeFile(`${HOME}/home.log`, enc.encode("h"));
    assert.deepEqual(await sftp.glob("*.log"), ["home.log"]);
    await sftp.chdir("/srv/w");
    assert.deepEqual(await sftp.glob("*.log"), ["one.log", "two.log"]);
    assert.deepEqual(await sftp.glob("sub/*.log"), ["sub/three.log"]);
    assert.deepEqual(await sftp.glob("*/*.log"), ["sub/three.log"]);
    assert.deepEqual(await sftp.glob("../w/o*.log"), ["../w/one.log"]);
    assert.deepEqual(await sftp.glob("one.log"), ["one.log"]);
    assert.deepEqual(await sftp.glob("home.log"), []);
    assert.deepEqual(await sftp.glob("/srv/w/t*.log"), ["/srv/w/two.log"]);
  });
});

test("get/put/copy and mget/mput/mcopy (globs too) resolve remote paths against the cwd", async () => {
  const local = await tempDir();
  try {
    await withClient(async (sftp, backend) => {
      backend.writeFile("/srv/w/a.txt", enc.encode("A"));
      backend.writeFile("/srv/w/b.txt", enc.encode("BB"));
      backend.writeFile("/srv/w/c.bin", enc.encode("C"));
      backend.writeFile("/srv/w/tree/t1.txt", enc.encode("T1"));
      backend.writeFile("/srv/w/tree/deep/t2.txt", enc.encode("T2"));
      backend.makeDirectory("/srv/w/out");
      backend.makeDirectory("/srv/w/copies");
      backend.writeFile(`${HOME}/a.txt`, enc.encode("home"));
      await sftp.chdir("/srv/w");

      // get / put / copy
      await sftp.get("a.txt", join(local, "got.txt"));
      assert.equal(await fsp.readFile(join(local, "got.txt"), "utf8"), "A");
      await sftp.get("tree", join(local, "tree"), { recurse: true });
      assert.equal(await fsp.readFile(join(local, "tree", "deep", "t2.txt"), "utf8"), "T2");
      await fsp.writeFile(join(local, "up.txt"), "UP");
      await sftp.put(join(local, "up.txt"), "up.txt");
      assert.equal(dec.decode(backend.readFile("/srv/w/up.txt")), "UP");
      await sftp.put(join(local, "up.txt"), "out"); // into an existing directory
      assert.equal(dec.decode(backend.readFile("/srv/w/out/up.txt")), "UP");
      await sftp.put(join(local, "tree"), "tree-up", { recurse: true });
      assert.equal(dec.decode(backend.readFile("/srv/w/tree-up/deep/t2.txt")), "T2");
      await sftp.copy("a.txt", "a-copy.txt");
      assert.equal(dec.decode(backend.readFile("/srv/w/a-copy.txt")), "A");
      await sftp.copy("tree", "tree-copy", { recurse: true });
      assert.equal(dec.decode(backend.readFile("/srv/w/tree-copy/t1.txt")), "T1");

      // mget with globs and plain names
      const down = join(local, "down");
      await fsp.mkdir(down);
      await sftp.mget("*.txt", down);
      assert.deepEqual((await fsp.readdir(down)).sort(), [
        "a-copy.txt",
        "a.txt",
        "b.txt",
        "up.txt",
      ]);
      assert.equal(await fsp.readFile(join(down, "a.txt"), "utf8"), "A"); // not the home one
      await sftp.mget(["c.bin", "tree/*.txt"], down);
      assert.equal(await fsp.readFile(join(down, "c.bin"), "utf8"), "C");
      assert.equal(await fsp.readFile(join(down, "t1.txt"), "utf8"), "T1");
      await assert.rejects(sftp.mget("*.none", down), SFTPError);

      // mput into a relative directory
      const src = join(local, "src");
      await fsp.mkdir(src);
      await fsp.writeFile(join(src, "p1.dat"), "P1");
      await fsp.writeFile(join(src, "p2.dat"), "P2");
      await sftp.mput(join(src, "*.dat"), "out");
      assert.equal(dec.decode(backend.readFile("/srv/w/out/p1.dat")), "P1");
      assert.equal(dec.decode(backend.readFile("/srv/w/out/p2.dat")), "P2");
      await sftp.mput([join(src, "p1.dat")], "single.dat");
      assert.equal(dec.decode(backend.readFile("/srv/w/single.dat")), "P1");
      await assert.rejects(sftp.mput(join(src, "*.dat"), "missing-dir"), SFTPError);

      // mcopy of a relative glob into a relative directory
      await sftp.mcopy("[ab].txt", "copies");
      assert.equal(dec.decode(backend.readFile("/srv/w/copies/a.txt")), "A");
      assert.equal(dec.decode(backend.readFile("/srv/w/copies/b.txt")), "BB");
      await sftp.mcopy(["tree/deep/*.txt", "c.bin"], "copies");
      assert.equal(dec.decode(backend.readFile("/srv/w/copies/t2.txt")), "T2");
      assert.equal(dec.decode(backend.readFile("/srv/w/copies/c.bin")), "C");

      // After a chdir up, the same names lead elsewhere.
      await sftp.chdir("..");
      await assert.rejects(sftp.get("a.txt", join(local, "nope.txt")), SFTPError);
      await sftp.get("w/b.txt", join(local, "b-from-up.txt"));
      assert.equal(await fsp.readFile(join(local, "b-from-up.txt"), "utf8"), "BB");
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("without chdir, every path goes to the server exactly as given (relative to its login directory)", async () => {
  const local = await tempDir();
  try {
    await withClient(async (sftp, backend, sent) => {
      backend.writeFile(`${HOME}/a.txt`, enc.encode("A"));
      backend.writeFile(`${HOME}/g/one.log`, enc.encode("1"));
      assert.equal(await sftp.getcwd(), HOME);
      sent.length = 0;
      await sftp.stat("a.txt");
      await sftp.lstat("a.txt");
      await sftp.exists("");
      await sftp.realpath(".");
      await sftp.listdir("g");
      await sftp.mkdir("d");
      await sftp.makedirs("m/n");
      await sftp.symlink("a.txt", "l");
      await sftp.readlink("l");
      await sftp.rename("l", "l2");
      await sftp.remove("l2");
      await sftp.rmdir("d");
      await sftp.writeFile("w.txt", "w");
      assert.equal(await sftp.readFile("w.txt", { encoding: "utf-8" }), "w");
      assert.deepEqual(await sftp.glob("g/*.log"), ["g/one.log"]);
      await fsp.mkdir(join(local, "in"));
      await sftp.mget("g/*.log", join(local, "in"));
      assert.equal(await fsp.readFile(join(local, "in", "one.log"), "utf8"), "1");
      assert.deepEqual(
        sent,
        [
          "stat path=a.txt",
          "lstat path=a.txt",
          "stat path=",
          "realpath path=.",
          "opendir path=g",
          "mkdir path=d",
          "stat path=m",
          "mkdir path=m",
          "stat path=m/n",
          "mkdir path=m/n",
          "symlink linkPath=l targetPath=a.txt",
          "readlink path=l",
          "posixRename oldPath=l newPath=l2",
          "remove path=l2",
          "rmdir path=d",
          "open path=w.txt",
          "open path=w.txt",
          "opendir path=g", // glob
          "opendir path=g", // mget's glob
          "stat path=g/one.log", // mget's download
          "open path=g/one.log",
        ],
      );
      // Every path sent was relative, as given: the server resolved it in the home directory.
      assert.ok(sent.every((s) => !s.includes("=/")), sent.join("\n"));
      assert.equal(dec.decode(backend.readFile(`${HOME}/w.txt`)), "w");
      assert.equal(await sftp.isDir(`${HOME}/m/n`), true);
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});
