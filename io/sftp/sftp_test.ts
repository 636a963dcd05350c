/**
 * Our SFTP client against our SFTP server over a real SSH connection on
 * loopback: every client operation, transfers (pipelined, resumed, aborted,
 * recursive, globbed), the jailed file-system backend and per-user roots.
 */
import { test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { SFTPStatus } from "../../sftp/constants.ts";
import { SFTPServerEngine } from "../../sftp/server_engine.ts";
import type { FileAttributes } from "../../sftp/attrs.ts";
import { encodeStringArg } from "../../core/connection/session_requests.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ConnectOptions } from "../client/options.ts";
import {
  ClientConnection,
  type ClientConnectionOptions,
} from "../../core/client/client_connection.ts";
import type { ListenOptions, ProcessFactory } from "../server/options.ts";
import { listen, type SSHServer } from "../server/listen.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const dec = new TextDecoder();

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection, server: SSHServer) => Promise<void>,
  connectOptions: Partial<ConnectOptions> = {},
): Promise<void> {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: (u, p) => p === "pw" && (u === "alice" || u === "bob"),
    ...options,
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    clientKeys: [],
    ...connectOptions,
  });
  await fn(conn, server);
}

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-"));
}

/** Byte equality without node:assert's slow diff of large arrays. */
function sameBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  let i = 0;
  const n = Math.min(actual.length, expected.length);
  while (i < n && actual[i] === expected[i]) i++;
  if (i !== n || actual.length !== expected.length) {
    assert.fail(`${what}: length ${actual.length} vs ${expected.length}, first difference at ${i}`);
  }
}

function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("startSftp(): file handles read, write, stat, setstat, fsync and stream over a MemoryBackend", async () => {
  const backend = new MemoryBackend();
  await withServer({ sftp: { backend } }, async (conn) => {
    await using sftp = await conn.startSftp();
    assert.equal(sftp.limits?.maxReadLength, 261120);
    assert.deepEqual(sftp.requestSize, { read: 261120, write: 261120 });
    {
      await using f = await sftp.open("/a.bin", "w+", { permissions: 0o600 });
      const data = pattern(1_000_000);
      assert.equal(await f.write(data), data.length);
      assert.equal(f.position, data.length);
      assert.deepEqual(await f.read(10, 5), data.subarray(5, 15));
      sameBytes(await f.read(undefined, 0), data);
      assert.equal((await f.read(10, data.length)).length, 0);
      assert.equal((await f.stat()).size, data.length);
      await f.chmod(0o640);
      await f.utime(1000, 2000);
      await f.fsync();
      assert.ok((await f.statvfs()).bsize > 0);
      const st = await f.stat();
      assert.equal(st.permissions, 0o100640);
      assert.equal(st.mtime, 2000);
      // Web Streams views.
      const streamed = new Uint8Array(
        await new Response(f.readable({ start: 100, end: 700_100 })).arrayBuffer(),
      );
      sameBytes(streamed, data.subarray(100, 700_100));
      const w = f.writable({ start: 10 });
      const writer = w.getWriter();
      await writer.write(enc.encode("XY"));
      await writer.close();
      assert.equal(dec.decode(await f.read(2, 10)), "XY");
      await f.truncate(3);
      assert.equal((await f.stat()).size, 3);
    }
    assert.equal(backend.readFile("/a.bin").length, 3);
    await assert.rejects(
      sftp.open("/missing"),
      (e) => e instanceof SFTPError && e.status === SFTPStatus.NO_SUCH_FILE,
    );
  });
});

test("SFTPClient path operations: stat, links, dirs, rename, rmtree, glob, expandPath, statvfs", async () => {
  const backend = new MemoryBackend({ home: "/home/alice", users: new Map([[0, "root"]]) });
  await withServer({ sftp: { backend } }, async (conn) => {
    await using sftp = await conn.startSftp();
    assert.equal(await sftp.realpath("."), "/home/alice");
    assert.equal(await sftp.homeDirectory(), "/home/alice");
    assert.equal(await sftp.expandPath("~/x"), "/home/alice/x");
    await sftp.makedirs("a/b/c", 0o750);
    await sftp.makedirs("a/b/c");
    assert.equal(await sftp.isDir("a/b/c"), true);
    assert.equal(await sftp.isFile("a/b/c"), false);
    assert.equal(await sftp.exists("nope"), false);
    backend.writeFile("/home/alice/a/one.log", enc.encode("1"));
    backend.writeFile("/home/alice/a/two.log", enc.encode("22"));
    backend.writeFile("/home/alice/a/.hidden.log", enc.encode("h"));
    backend.writeFile("/home/alice/a/b/three.txt", enc.encode("333"));
    assert.deepEqual(await sftp.glob("a/*.log"), ["a/one.log", "a/two.log"]);
    assert.deepEqual(await sftp.glob("/home/alice/a/*/*.txt"), ["/home/alice/a/b/three.txt"]);
    assert.deepEqual(await sftp.glob("a/.*.log"), ["a/.hidden.log"]);
    assert.deepEqual(await sftp.glob("a/*.nothing"), []);
    assert.deepEqual((await sftp.listdir("a")).sort(), [".hidden.log", "b", "one.log", "two.log"]);
    const seen: string[] = [];
    for await (const e of sftp.readdir("a")) seen.push(`${e.filename}:${e.attrs.size}`);
    assert.ok(seen.includes("two.log:2"));
    await sftp.symlink("one.log", "a/link");
    assert.equal(await sftp.readlink("a/link"), "one.log");
    assert.equal(await sftp.isLink("a/link"), true);
    assert.equal((await sftp.stat("a/link")).size, 1);
    await sftp.setstat("a/link", { atime: 5, mtime: 6 }, { followSymlinks: false });
    assert.equal((await sftp.lstat("a/link")).mtime, 6);
    await sftp.hardlink("a/one.log", "a/hard");
    await sftp.chmod("a/hard", 0o600);
    assert.equal((await sftp.stat("a/one.log")).permissions, 0o100600);
    await sftp.chown("a/hard", 7, 8);
    assert.equal((await sftp.stat("a/one.log")).uid, 7);
    await sftp.utime("a/hard", new Date(10_000), new Date(20_000));
    assert.equal((await sftp.stat("a/one.log")).mtime, 20);
    // rename() uses posix-rename (replaces); overwrite: false uses SFTP's rename (refuses).
    await assert.rejects(sftp.rename("a/one.log", "a/two.log", { overwrite: false }), SFTPError);
    await sftp.rename("a/one.log", "a/two.log");
    assert.equal(dec.decode(backend.readFile("/home/alice/a/two.log")), "1");
    assert.ok((await sftp.statvfs("/")).blocks > 0);
    assert.deepEqual(await sftp.usersGroupsById([0, 1], [0]), {
      users: ["root", ""],
      groups: [""],
    });
    await sftp.remove("a/hard");
    await assert.rejects(sftp.rmdir("a"), SFTPError);
    await sftp.rmtree("a");
    assert.equal(await sftp.exists("a"), false);
    await sftp.mkdir("d");
    await sftp.rmdir("d");
  });
});

test("get/put/copy: pipelined, recursive, preserved, with progress and globs", async () => {
  const backend = new MemoryBackend();
  const local = await tempDir();
  try {
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      const big = pattern(5_000_000, 7);
      await fsp.writeFile(join(local, "big.bin"), big);
      await fsp.utimes(join(local, "big.bin"), 1_000_000, 1_500_000);
      await fsp.chmod(join(local, "big.bin"), 0o640);
      const progress: number[] = [];
      await sftp.put(join(local, "big.bin"), "/big.bin", {
        preserve: true,
        onProgress: (done, total) => {
          assert.equal(total, big.length);
          progress.push(done);
        },
      });
      sameBytes(backend.readFile("/big.bin"), big);
      assert.equal(progress.at(-1), big.length);
      // Each amount once: the whole file is reported once, whenever the last answer came.
      assert.ok(progress.every((v, i) => i === 0 || v > progress[i - 1]!), String(progress));
      for (let i = 0; i < 5; i++) {
        const seen: number[] = [];
        const small = join(local, `small${i}.bin`);
        await fsp.writeFile(small, big.subarray(0, 100_000 + i));
        await sftp.put(small, `/small${i}.bin`, { onProgress: (d) => seen.push(d) });
        assert.deepEqual(seen.filter((d) => d === 100_000 + i), [100_000 + i], String(seen));
      }
      const st = await sftp.stat("/big.bin");
      assert.equal(st.mtime, 1_500_000);
      assert.equal(st.permissions! & 0o777, 0o640);
      // get into an existing directory: the file keeps its name.
      await fsp.mkdir(join(local, "down"));
      await sftp.get("/big.bin", join(local, "down"), { preserve: true });
      sameBytes(new Uint8Array(await fsp.readFile(join(local, "down", "big.bin"))), big);
      assert.equal(
        Math.floor((await fsp.stat(join(local, "down", "big.bin"))).mtimeMs / 1000),
        1_500_000,
      );
      // copy uses copy-data on our server.
      await sftp.copy("/big.bin", "/copy.bin");
      sameBytes(backend.readFile("/copy.bin"), big);
      // Recursive trees, and the m* forms with globs.
      await fsp.mkdir(join(local, "tree", "sub"), { recursive: true });
      await fsp.writeFile(join(local, "tree", "x.txt"), "x");
      await fsp.writeFile(join(local, "tree", "sub", "y.txt"), "yy");
      await assert.rejects(sftp.put(join(local, "tree"), "/tree"), /use recurse/);
      await sftp.put(join(local, "tree"), "/tree", { recurse: true });
      assert.equal(dec.decode(backend.readFile("/tree/sub/y.txt")), "yy");
      await sftp.get("/tree", join(local, "tree2"), { recurse: true });
      assert.equal(await fsp.readFile(join(local, "tree2", "sub", "y.txt"), "utf8"), "yy");
      await sftp.mkdir("/many");
      await sftp.mput(join(local, "tree", "*.txt"), "/many");
      assert.deepEqual(await sftp.listdir("/many"), ["x.txt"]);
      await fsp.mkdir(join(local, "m"));
      await sftp.mget(["/tree/*.txt", "/tree/sub/*"], join(local, "m"));
      assert.deepEqual((await fsp.readdir(join(local, "m"))).sort(), ["x.txt", "y.txt"]);
      await sftp.mkdir("/mc");
      await sftp.mcopy("/tree/sub/*.txt", "/mc", { recurse: true });
      assert.equal(dec.decode(backend.readFile("/mc/y.txt")), "yy");
      await assert.rejects(sftp.mget("/none*", local), /No match/);
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("get({ recurse }) makes each directory with the remote one's mode (owner rwx kept), as sftp get -r", async () => {
  const backend = new MemoryBackend();
  const local = await tempDir();
  try {
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      await sftp.mkdir("/priv", 0o700);
      await sftp.mkdir("/priv/shared", 0o755);
      await sftp.mkdir("/priv/noowner", 0o055);
      await sftp.writeFile("/priv/shared/key.txt", "k");
      await sftp.get("/priv", join(local, "priv"), { recurse: true });
      const mode = async (p: string) => (await fsp.stat(join(local, p))).mode & 0o777;
      const umask = process.umask();
      assert.equal(await mode("priv"), 0o700); // not 0o755: the private tree stays private
      assert.equal(await mode("priv/shared"), 0o755 & ~umask);
      assert.equal(await mode("priv/noowner"), 0o755 & ~umask);
      assert.equal(await fsp.readFile(join(local, "priv", "shared", "key.txt"), "utf8"), "k");
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("transfers with errorHandler skip what fails and go on; blockSize and maxRequests per call", async () => {
  const writes: number[] = [];
  class Picky extends MemoryBackend {
    override open(path: string, flags: number, attrs: FileAttributes) {
      if (path.endsWith("/bad.txt")) {
        return Promise.reject(new SFTPError(SFTPStatus.PERMISSION_DENIED, "no, not this one"));
      }
      return super.open(path, flags, attrs);
    }
    override write(
      handle: Parameters<MemoryBackend["write"]>[0],
      offset: number,
      data: Uint8Array,
    ) {
      writes.push(data.length);
      return super.write(handle, offset, data);
    }
  }
  const backend = new Picky();
  const local = await tempDir();
  try {
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      await sftp.mkdir("/tree");
      for (const name of ["a.txt", "bad.txt", "c.txt"]) {
        backend.writeFile(`/tree/${name}`, enc.encode(name));
      }
      // Without a handler the first failure stops the transfer.
      await assert.rejects(
        sftp.get("/tree", join(local, "t1"), { recurse: true }),
        (e: unknown) => e instanceof SFTPError && e.status === SFTPStatus.PERMISSION_DENIED,
      );
      // With one, it is reported and the rest is copied.
      const seen: [string, string][] = [];
      await sftp.get("/tree", join(local, "t2"), {
        recurse: true,
        errorHandler: (e, path) => void seen.push([path, e.message]),
      });
      assert.deepEqual((await fsp.readdir(join(local, "t2"))).sort(), ["a.txt", "c.txt"]);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]![0], "/tree/bad.txt");
      assert.match(seen[0]![1], /not this one/);
      // A handler that throws stops everything with its error, and is asked once.
      let asked = 0;
      const stop = new Error("stop here");
      await assert.rejects(
        sftp.get("/tree", join(local, "t3"), {
          recurse: true,
          errorHandler: () => {
            asked++;
            throw stop;
          },
        }),
        (e) => e === stop,
      );
      assert.equal(asked, 1);
      // m* forms: a pattern that matches nothing is one failure among the others.
      const mseen: string[] = [];
      await fsp.mkdir(join(local, "m"));
      await sftp.mget(["/none*", "/tree/*.txt"], join(local, "m"), {
        errorHandler: (_e, path) => void mseen.push(path),
      });
      assert.deepEqual(mseen, ["/none*", "/tree/bad.txt"]);
      assert.deepEqual((await fsp.readdir(join(local, "m"))).sort(), ["a.txt", "c.txt"]);
      // Per-call request size and requests in flight.
      const data = pattern(10_000, 3);
      await fsp.writeFile(join(local, "up.bin"), data);
      writes.length = 0;
      await sftp.put(join(local, "up.bin"), "/up.bin", { blockSize: 1000, maxRequests: 2 });
      sameBytes(backend.readFile("/up.bin"), data);
      assert.equal(writes.length, 10);
      assert.ok(writes.every((n) => n === 1000), String(writes));
      await sftp.get("/up.bin", join(local, "down.bin"), { blockSize: 777 });
      sameBytes(new Uint8Array(await fsp.readFile(join(local, "down.bin"))), data);
      await assert.rejects(sftp.put(join(local, "up.bin"), "/x", { blockSize: 0 }), RangeError);
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test(
  "a local write that fails (a full disk) names the local file, its code kept; the server's errors stay as they are",
  {
    skip: !existsSync("/dev/full") && "no /dev/full here",
  },
  async () => {
    const backend = new MemoryBackend();
    backend.writeFile("/big.bin", pattern(1_000_000));
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      // Node's error for a write on an open file names no file ("… no space left on device,
      // write"): in a transfer of many files that says nothing of which one.
      await assert.rejects(sftp.get("/big.bin", "/dev/full"), (e: Error & { code?: string }) => {
        assert.equal(e.code, "ENOSPC");
        assert.ok(e.message.endsWith(" '/dev/full'"), e.message);
        return true;
      });
      await assert.rejects(sftp.get("/missing.bin", "/dev/null"), (e: Error) => {
        assert.ok(e instanceof SFTPError && !e.message.includes("/dev/null"), e.message);
        return true;
      });
    });
  },
);

test("get and put resume from the size already there; an abort keeps the whole prefix", async () => {
  const backend = new MemoryBackend();
  const local = await tempDir();
  try {
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      const data = pattern(3_000_000, 3);
      backend.writeFile("/r.bin", data);
      // A partial local copy: resume fetches only the rest.
      await fsp.writeFile(join(local, "r.bin"), data.subarray(0, 1_234_567));
      let first = -1;
      await sftp.get("/r.bin", join(local, "r.bin"), {
        resume: true,
        onProgress: (done) => void (first < 0 && (first = done)),
      });
      assert.equal(first, 1_234_567);
      sameBytes(new Uint8Array(await fsp.readFile(join(local, "r.bin"))), data);
      // Partial remote copy: put resumes.
      backend.writeFile("/p.bin", data.subarray(0, 999_999));
      await sftp.put(join(local, "r.bin"), "/p.bin", { resume: true });
      sameBytes(backend.readFile("/p.bin"), data);
      // Abort mid-get: the local file holds a whole prefix, and resume completes it.
      const ac = new AbortController();
      await assert.rejects(
        sftp.get("/r.bin", join(local, "cut.bin"), {
          signal: ac.signal,
          onProgress: (done) => done > 500_000 && ac.abort(new Error("stop")),
        }),
        /stop/,
      );
      const partial = new Uint8Array(await fsp.readFile(join(local, "cut.bin")));
      assert.ok(partial.length < data.length);
      sameBytes(partial, data.subarray(0, partial.length));
      await sftp.get("/r.bin", join(local, "cut.bin"), { resume: true });
      sameBytes(new Uint8Array(await fsp.readFile(join(local, "cut.bin"))), data);
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("listen({ sftp: { root } }) jails paths and symlinks to the root; readOnly refuses writes", async () => {
  const base = await tempDir();
  const root = join(base, "root");
  const secret = join(base, "secret");
  try {
    await fsp.mkdir(join(root, "sub"), { recursive: true });
    await fsp.mkdir(secret);
    await fsp.writeFile(join(secret, "s.txt"), "secret");
    await fsp.writeFile(join(root, "in.txt"), "inside");
    // Symlinks that existed before the server started: one out, one in.
    await fsp.symlink(secret, join(root, "escape"));
    await fsp.symlink(join(secret, "s.txt"), join(root, "escape.txt"));
    await fsp.symlink("in.txt", join(root, "ok.txt"));
    await withServer({ sftp: { root } }, async (conn) => {
      await using sftp = await conn.startSftp();
      assert.equal(await sftp.realpath("."), "/");
      assert.equal(await sftp.realpath("../../.."), "/");
      assert.deepEqual((await sftp.listdir("/")).sort(), [
        "escape",
        "escape.txt",
        "in.txt",
        "ok.txt",
        "sub",
      ]);
      assert.equal(dec.decode(await (await sftp.open("/../../in.txt")).read()), "inside");
      assert.equal(dec.decode(await (await sftp.open("ok.txt")).read()), "inside");
      const denied = (e: unknown) =>
        e instanceof SFTPError && e.status === SFTPStatus.PERMISSION_DENIED;
      await assert.rejects(sftp.open("escape.txt"), denied);
      await assert.rejects(sftp.open("escape/s.txt"), denied);
      await assert.rejects(sftp.listdir("escape"), denied);
      await assert.rejects(sftp.stat("escape/s.txt"), denied);
      await assert.rejects(sftp.open("escape/new.txt", "w"), denied);
      // A link the client makes to an absolute path lands inside the root.
      await sftp.symlink("/in.txt", "abs");
      assert.equal(await sftp.readlink("abs"), "/in.txt");
      assert.equal(dec.decode(await (await sftp.open("abs")).read()), "inside");
      // A relative link climbing out stops at the root: it leads to "/secret/s.txt" inside
      // it, not there (read: no such file), and creating through it is refused.
      await sftp.symlink("../secret/s.txt", "climb");
      await assert.rejects(sftp.open("climb"), (e: SFTPError) => e.notFound);
      await assert.rejects(sftp.open("climb", "w"), denied);
      assert.equal(await fsp.readFile(join(secret, "s.txt"), "utf8"), "secret");
      await sftp.put(join(root, "in.txt"), "/sub/copied.txt");
      assert.equal(await fsp.readFile(join(root, "sub", "copied.txt"), "utf8"), "inside");
    });
    await withServer({ sftp: { root, readOnly: true } }, async (conn) => {
      await using sftp = await conn.startSftp();
      assert.equal(dec.decode(await (await sftp.open("in.txt")).read()), "inside");
      const denied = (e: unknown) =>
        e instanceof SFTPError && e.status === SFTPStatus.PERMISSION_DENIED;
      for (
        const op of [
          () => sftp.open("new.txt", "w"),
          () => sftp.open("in.txt", "r+"),
          () => sftp.mkdir("d"),
          () => sftp.remove("in.txt"),
          () => sftp.rename("in.txt", "x"),
          () => sftp.chmod("in.txt", 0o777),
          () => sftp.symlink("in.txt", "l"),
          () => sftp.hardlink("in.txt", "h"),
          () => sftp.rmdir("sub"),
        ]
      ) await assert.rejects(op(), denied);
      assert.equal((await sftp.statvfs("/")).flag & 1, 1);
    });
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("listen({ sftp: (conn) => ({ root }) }) gives each user their own root", async () => {
  const base = await tempDir();
  try {
    for (const u of ["alice", "bob"]) {
      await fsp.mkdir(join(base, u));
      await fsp.writeFile(join(base, u, "who.txt"), u);
    }
    await withServer(
      { sftp: (conn) => ({ root: join(base, conn.username ?? "none") }) },
      async (conn, server) => {
        await using sftp = await conn.startSftp();
        assert.equal(dec.decode(await (await sftp.open("/who.txt")).read()), "alice");
        await using bob = await connect("127.0.0.1", {
          port: server.address.port,
          username: "bob",
          password: "pw",
          knownHosts: null,
          clientKeys: [],
        });
        await using bobSftp = await bob.startSftp();
        assert.equal(dec.decode(await (await bobSftp.open("/who.txt")).read()), "bob");
      },
    );
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("BufferPool lends each buffer once and takes back only its own", async () => {
  const { BufferPool } = await import("../../sftp/buffer_pool.ts");
  const pool = new BufferPool(64, 2);
  const a = pool.allocate(10);
  const b = pool.allocate(64);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(pool.allocate(65).buffer.byteLength, 65, "too big: a fresh buffer");
  pool.release(a);
  pool.release(a); // twice: ignored
  pool.release(new Uint8Array(64)); // not ours: ignored
  const c = pool.allocate(5);
  assert.equal(c.buffer, a.buffer);
  assert.equal(c.length, 5);
  assert.notEqual(pool.allocate(5).buffer, a.buffer, "a is lent again, not handed out twice");
});

/** Waits until `ch`'s send window reaches `n` (or 2 s pass) and returns it. */
async function sendWindowReaching(ch: { readonly sendWindow: number }, n: number): Promise<number> {
  for (let i = 0; i < 200 && ch.sendWindow < n; i++) await new Promise((r) => setTimeout(r, 10));
  return ch.sendWindow;
}

test("listen({ sftp: { window } }) sets a session's receive window", async () => {
  const root = await tempDir();
  try {
    for (const want of [4 << 20, 16 << 20]) {
      await withServer({ sftp: { root, window: want } }, async (conn) => {
        const ch = await conn.openChannel("session");
        assert.ok(ch.sendWindow < want, `starts at the default (${ch.sendWindow})`);
        assert.equal(await ch.request("subsystem", encodeStringArg("sftp")), true);
        assert.equal(await sendWindowReaching(ch, want), want);
        ch.close();
      });
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("listen({ sftp }) stops a running copy-data when the client closes the channel", async () => {
  // A backend whose source never ends and has no size (a /dev/zero): only the channel's end
  // can stop a copy to its end.
  const memory = new MemoryBackend();
  memory.writeFile("/zero", new Uint8Array(1));
  let reads = 0;
  const backend: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(memory) as object;
  for (const k of Object.getOwnPropertyNames(proto)) {
    const v = Object.getOwnPropertyDescriptor(proto, k)?.value;
    if (k !== "constructor" && k !== "copyData" && typeof v === "function") {
      backend[k] = v.bind(memory);
    }
  }
  Object.assign(backend, {
    stat: async (p: string) => ({ ...(await memory.stat(p)), size: undefined }),
    fstat: async (h: never) => ({ ...(await memory.fstat(h)), size: undefined }),
    read: async (_h: never, _off: number, len: number) => {
      reads++;
      await new Promise((r) => setTimeout(r, 2));
      return new Uint8Array(Math.min(len, 1024));
    },
    write: () => Promise.resolve(),
  });
  await withServer({ sftp: { backend: backend as unknown as MemoryBackend } }, async (conn) => {
    const sftp = await conn.startSftp();
    const copy = sftp.copy("/zero", "/copy").catch(() => "ended");
    for (let i = 0; i < 200 && reads < 5; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(reads >= 5, "the copy runs");
    await sftp.close();
    assert.equal(await copy, "ended");
    await new Promise((r) => setTimeout(r, 50));
    const after = reads;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(reads, after, "no read after the channel closed");
  });
});

test("listen({ maxOpenFilesPerConnection, maxFileSessions }) bounds what one connection's SFTP sessions hold together", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/f", enc.encode("x"));
  const options = { sftp: { backend }, maxOpenFilesPerConnection: 3, maxFileSessions: 2 };
  await withServer(options, async (conn) => {
    await using a = await conn.startSftp();
    await using b = await conn.startSftp();
    const held = [await a.open("/f", "r"), await a.open("/f", "r"), await b.open("/f", "r")];
    await assert.rejects(
      b.open("/f", "r"),
      (e: unknown) =>
        e instanceof SFTPError && e.status === SFTPStatus.FAILURE &&
        /Too many open files on this connection \(limit 3\)/.test(e.message),
    );
    await held.pop()!.close();
    const again = await a.open("/f", "r");
    await assert.rejects(conn.startSftp(), "a third session is refused");
    await again.close();
    for (const f of held) await f.close();
  });
  // Other connections have their own budget.
  await withServer(options, async (conn) => {
    await using a = await conn.startSftp();
    const files = [await a.open("/f", "r"), await a.open("/f", "r"), await a.open("/f", "r")];
    for (const f of files) await f.close();
  });
});

test("listen({ sftp: { root } }) drops setuid bits unless allowOwnership says otherwise", async () => {
  const root = await tempDir();
  try {
    await fsp.writeFile(join(root, "tool"), "#!/bin/sh\n");
    for (const [allowOwnership, want] of [[false, 0o755], [true, 0o4755]] as const) {
      await withServer({ sftp: { root, allowOwnership } }, async (conn) => {
        await using sftp = await conn.startSftp();
        await sftp.chmod("/tool", 0o4755);
      });
      assert.equal(
        (await fsp.stat(join(root, "tool"))).mode & 0o7777,
        want,
        `allowOwnership ${allowOwnership}`,
      );
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("with a cipher that decrypts in place, replies are framed from lent channel data: transfers stay intact", async () => {
  const backend = new MemoryBackend();
  const big = pattern(3_000_000, 7);
  backend.writeFile("/big.bin", big);
  let lent = 0;
  // The internal engine hook (ResolvedConnectOptions.engine) counts the lent data events.
  const countLent = {
    engine: (options: ClientConnectionOptions) => {
      const engine = new ClientConnection(options);
      const poll = engine.pollEvent.bind(engine);
      engine.pollEvent = () => {
        const e = poll();
        if (e?.type === "channelData" && e.borrowed) lent++;
        return e;
      };
      return engine;
    },
  };
  // AES-CTR with a MAC over the plaintext: every runtime opens these packets in place.
  const inPlace = { encryptionAlgs: ["aes128-ctr"], macAlgs: ["hmac-sha2-256"], ...countLent };
  await withServer({ sftp: { backend } }, async (conn) => {
    await using sftp = await conn.startSftp();
    const dir = await tempDir();
    try {
      // Small replies interleaved with the bulk ones.
      const [, got, stats] = await Promise.all([
        sftp.get("/big.bin", join(dir, "big.bin")),
        sftp.readFile("/big.bin"),
        Promise.all(Array.from({ length: 20 }, () => sftp.stat("/big.bin"))),
      ]);
      sameBytes(got, big, "readFile");
      sameBytes(new Uint8Array(await fsp.readFile(join(dir, "big.bin"))), big, "get");
      assert.ok(stats.every((s) => s.size === big.length));
      await sftp.put(join(dir, "big.bin"), "/up.bin");
      sameBytes(backend.readFile("/up.bin"), big, "put");
      assert.ok(lent > 40, `channel data was lent (${lent} packets)`);
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  }, inPlace);
});

test("startSftp() over a command that writes first: a banner fails it at once (no hang), an eager VERSION is read in order", async () => {
  const eagerVersion = Uint8Array.of(0, 0, 0, 5, 2, 0, 0, 0, 3);
  for (
    const [first, expect] of [["Welcome to the box!\n", "fails"], [eagerVersion, "opens"]] as const
  ) {
    // Written as the command starts: it reaches the client with the exec request's reply.
    await withServer({ processFactory: (p) => p.write(first) }, async (conn) => {
      const started = conn.startSftp({ command: "sftp-server", signal: AbortSignal.timeout(5000) });
      if (expect === "fails") {
        await assert.rejects(started, /SFTP packet; the limit is/);
      } else {
        await using sftp = await started;
        assert.equal(sftp.extensions.size, 0);
      }
    });
  }
});

test("startSftp() against a server whose limits say packets of 1 KiB or less sends requests of at least one byte (no endless loop)", async () => {
  const backend = new MemoryBackend();
  // Our server engine with a 1 KiB packet limit: limits@openssh.com announces 1024.
  const processFactory: ProcessFactory = async (p) => {
    const engine = new SFTPServerEngine(backend, {
      maxPacketLength: 1024,
      send: (chunks) => {
        for (const c of chunks) void p.channel.write(c.slice()).catch(() => {});
      },
    });
    const reader = p.channel.readable(0).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      engine.receiveData(value);
    }
    await engine.close();
  };
  await withServer({ processFactory }, async (conn) => {
    await using sftp = await conn.startSftp({ command: "sftp-server" });
    assert.equal(sftp.limits?.maxPacketLength, 1024);
    // Before the fix both were 0: every write loop sent empty WRITEs forever.
    assert.ok(
      sftp.requestSize.read > 0 && sftp.requestSize.write > 0,
      JSON.stringify(sftp.requestSize),
    );
    const signal = AbortSignal.timeout(10_000);
    await sftp.writeFile("/small.txt", "hello", { signal });
    assert.equal(await sftp.readFile("/small.txt", { encoding: "utf-8", signal }), "hello");
  });
});

test("readdir(), listdir() and glob() end a listing at an empty NAME reply, as OpenSSH's sftp does", async () => {
  // A server answering every READDIR with a NAME of no entries, never with EOF.
  let readdirs = 0;
  const u32 = (n: number) => Uint8Array.of(n >>> 24, n >>> 16, n >>> 8, n);
  const packet = (type: number, ...parts: Uint8Array[]) => {
    const body = concat(Uint8Array.of(type), ...parts);
    return concat(u32(body.length), body);
  };
  const concat = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const processFactory: ProcessFactory = async (p) => {
    const reader = p.channel.readable(0).getReader();
    let buf = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf = concat(buf, value);
      while (buf.length >= 4) {
        const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
        if (buf.length < 4 + len) break;
        const type = buf[4]!;
        const id = buf.subarray(5, 9).slice();
        buf = buf.slice(4 + len);
        let reply: Uint8Array;
        if (type === 1) reply = packet(2, u32(3)); // VERSION, no extensions
        else if (type === 11) reply = packet(102, id, u32(1), Uint8Array.of(7)); // HANDLE
        else if (type === 12) {
          readdirs++;
          reply = packet(104, id, u32(0)); // NAME with no entries
        } else reply = packet(101, id, u32(0), u32(0), u32(0)); // STATUS OK
        await p.channel.write(reply);
      }
    }
  };
  await withServer({ processFactory }, async (conn) => {
    await using sftp = await conn.startSftp({ command: "sftp-server" });
    const bounded = async <T>(what: string, p: Promise<T>): Promise<T> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`${what} still listing after ${readdirs} READDIRs`)),
          5000,
        );
      });
      try {
        return await Promise.race([p, late]);
      } finally {
        clearTimeout(timer);
      }
    };
    assert.deepEqual(await bounded("listdir", sftp.listdir("/d")), []);
    assert.deepEqual(await bounded("glob", sftp.glob("/d/*")), []);
    assert.ok(readdirs <= 2, `${readdirs} READDIR requests`);
  });
});

test("copy(): a copy-data the server refuses names both files, as OpenSSH's sftp cp", async () => {
  class FullBackend extends MemoryBackend {
    override copyData(): Promise<void> {
      return Promise.reject(new SFTPError(SFTPStatus.FAILURE, "No space left on device"));
    }
  }
  const backend = new FullBackend();
  backend.writeFile("/src.bin", new Uint8Array(4096));
  await withServer({ sftp: { backend } }, async (conn) => {
    await using sftp = await conn.startSftp();
    const e = await sftp.copy("/src.bin", "/dst.bin").then(() => undefined, (e) => e);
    assert.ok(e instanceof SFTPError, String(e));
    assert.equal(e.status, SFTPStatus.FAILURE);
    assert.equal(e.path, "/dst.bin");
    assert.match(e.message, /^copy "\/src\.bin" to "\/dst\.bin" failed: No space left on device/);
  });
});
