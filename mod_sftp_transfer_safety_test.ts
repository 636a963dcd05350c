/**
 * The SFTP transfer verbs where a mistake loses data or never ends, through the package entry
 * points: a copy onto its own source or into its own tree, several matches into a directory
 * that is not there, a server that reports a failed write only at CLOSE, an aborted copy,
 * links that lead to each other's directories, read-only directories and files, and bracket
 * globs with escapes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import {
  type FileAttributes,
  MemoryBackend,
  type MemoryHandle,
  SFTPError,
  SFTPStatus,
  type SSHClientConnection,
} from "./mod.ts";
import { globToRegExp, OpenFlags } from "./sftp/mod.ts";
import { loopbackPair } from "./_mod_test_util.ts";

type SFTP = Awaited<ReturnType<SSHClientConnection["startSftp"]>>;

async function withSftp(
  fn: (sftp: SFTP) => Promise<void>,
  backend: MemoryBackend = new MemoryBackend(),
): Promise<void> {
  await using p = await loopbackPair({ sftp: { backend } });
  await using sftp = await p.conn.startSftp();
  await fn(sftp);
}

async function withLocalDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-transfer-"));
  try {
    await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test("copy() onto its own source is refused and the source keeps its bytes", async () => {
  await withSftp(async (sftp) => {
    await sftp.makedirs("/srv");
    await sftp.writeFile("/srv/a.txt", "important data\n");
    await sftp.writeFile("/srv/b.txt", "more\n");
    await sftp.symlink("/srv/a.txt", "/srv/alias");
    for (const [src, dst] of [["/srv/a.txt", "/srv"], ["/srv/a.txt", "/srv/a.txt"]]) {
      await assert.rejects(
        sftp.copy(src!, dst!),
        (e: SFTPError) => e.status === SFTPStatus.FAILURE && /same file/.test(e.message),
      );
    }
    // Through a link to it, too.
    await assert.rejects(sftp.copy("/srv/alias", "/srv/a.txt"), /same file/);
    // Each of several matches into the folder that holds them.
    await assert.rejects(sftp.mcopy("/srv/*.txt", "/srv"), /same file/);
    assert.equal(await sftp.readFile("/srv/a.txt", { encoding: "utf8" }), "important data\n");
    assert.equal(await sftp.readFile("/srv/b.txt", { encoding: "utf8" }), "more\n");
    // A copy beside it still works.
    await sftp.copy("/srv/a.txt", "/srv/a.bak");
    assert.equal(await sftp.readFile("/srv/a.bak", { encoding: "utf8" }), "important data\n");
  });
});

test("copy() of a directory into its own tree is refused before anything is made", async () => {
  await withSftp(async (sftp) => {
    await sftp.makedirs("/proj/src");
    await sftp.writeFile("/proj/src/main.ts", "x");
    await assert.rejects(
      sftp.copy("/proj", "/proj/backup", { recurse: true }),
      /into itself/,
    );
    await assert.rejects(sftp.copy("/proj", "/proj/src", { recurse: true }), /into itself/);
    assert.deepEqual((await sftp.listdir("/proj")).sort(), ["src"]);
    await sftp.copy("/proj", "/proj-backup", { recurse: true });
    assert.equal(await sftp.readFile("/proj-backup/src/main.ts", { encoding: "utf8" }), "x");
  });
});

test("mget, mput and mcopy with a glob need an existing directory; one plain path may name the copy", async () => {
  await withLocalDir(async (dir) => {
    await withSftp(async (sftp) => {
      await sftp.makedirs("/srv");
      await sftp.writeFile("/srv/a.txt", "AAA\n");
      await sftp.writeFile("/srv/b.txt", "BBB\n");
      const missing = join(dir, "out");
      const notADir = (e: SFTPError) => /Not an existing directory/.test(e.message);
      await assert.rejects(sftp.mget("/srv/*.txt", missing), notADir);
      await assert.rejects(sftp.mget(["/srv/a.txt", "/srv/b.txt"], missing), notADir);
      await assert.rejects(fsp.stat(missing), { code: "ENOENT" }, "nothing was written");
      await fsp.writeFile(join(dir, "x.txt"), "XXX\n");
      await fsp.writeFile(join(dir, "y.txt"), "YYY\n");
      await assert.rejects(sftp.mput(join(dir, "*.txt"), "/dropbox"), notADir);
      assert.equal(await sftp.exists("/dropbox"), false);
      await assert.rejects(sftp.mcopy("/srv/*.txt", "/copies"), notADir);
      assert.equal(await sftp.exists("/copies"), false);

      // Into existing directories every match arrives.
      await fsp.mkdir(missing);
      await sftp.mget("/srv/*.txt", missing);
      assert.deepEqual((await fsp.readdir(missing)).sort(), ["a.txt", "b.txt"]);
      await sftp.mkdir("/dropbox");
      await sftp.mput(join(dir, "*.txt"), "/dropbox");
      assert.deepEqual((await sftp.listdir("/dropbox")).sort(), ["x.txt", "y.txt"]);
      // One plain path names its copy, as get() does.
      await sftp.mget("/srv/a.txt", join(dir, "renamed.txt"));
      assert.equal(await fsp.readFile(join(dir, "renamed.txt"), "utf8"), "AAA\n");
    });
  });
});

/** A server whose CLOSE of a written file fails, as a full disk or a quota on NFS reports. */
class QuotaAtClose extends MemoryBackend {
  readonly #written = new WeakSet<MemoryHandle>();
  override async open(path: string, flags: number, attrs: FileAttributes): Promise<MemoryHandle> {
    const h = await super.open(path, flags, attrs);
    if (flags & OpenFlags.WRITE) this.#written.add(h);
    return h;
  }
  override async close(h: MemoryHandle): Promise<void> {
    await super.close(h);
    if (this.#written.has(h)) throw new SFTPError(SFTPStatus.FAILURE, "Disk quota exceeded");
  }
}

test("put() and copy() report a write the server refuses only when the file closes", async () => {
  await withLocalDir(async (dir) => {
    const backend = new QuotaAtClose();
    backend.writeFile("/w.txt", new TextEncoder().encode("payload\n"));
    await withSftp(async (sftp) => {
      await fsp.writeFile(join(dir, "local.bin"), "payload\n");
      await assert.rejects(sftp.put(join(dir, "local.bin"), "/p.txt"), /Disk quota exceeded/);
      await assert.rejects(sftp.copy("/w.txt", "/c.txt"), /Disk quota exceeded/);
      await assert.rejects(sftp.writeFile("/n.txt", "x"), /Disk quota exceeded/);
      // Reading closes a read handle: not a write, not an error.
      await sftp.get("/w.txt", join(dir, "back.txt"));
      assert.equal(await fsp.readFile(join(dir, "back.txt"), "utf8"), "payload\n");
    }, backend);
  });
});

test("copy() stops when its signal aborts while the server copies", async () => {
  const copying = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  class SlowCopy extends MemoryBackend {
    override async copyData(...args: Parameters<MemoryBackend["copyData"]>): Promise<void> {
      copying.resolve();
      await release.promise; // the server is still copying when the client gives up
      return await super.copyData(...args);
    }
  }
  await withSftp(async (sftp) => {
    await sftp.writeFile("/src", "data");
    const ac = new AbortController();
    const copy = sftp.copy("/src", "/dst", { signal: ac.signal });
    await copying.promise;
    ac.abort(new Error("user abort"));
    let guard: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error("copy() did not stop at the abort")), 30_000);
    });
    try {
      await Promise.race([assert.rejects(copy, /user abort/), stuck]);
    } finally {
      clearTimeout(guard);
      release.resolve();
    }
  }, new SlowCopy());
});

test("get() and copy() do not follow links around a cycle of directories", async () => {
  await withLocalDir(async (dir) => {
    await withSftp(async (sftp) => {
      await sftp.makedirs("/t/a");
      await sftp.makedirs("/t/b");
      await sftp.writeFile("/t/a/fa.txt", "A");
      await sftp.writeFile("/t/b/fb.txt", "B");
      await sftp.symlink("/t/b", "/t/a/tob"); // a/tob -> b
      await sftp.symlink("/t/a", "/t/b/toa"); // b/toa -> a: back where the walk began
      const loop = /a link to a directory it is inside of/;
      const out = join(dir, "out");
      await assert.rejects(sftp.get("/t/a", out, { recurse: true }), loop);
      await assert.rejects(fsp.stat(join(out, "tob", "toa")), { code: "ENOENT" });
      await assert.rejects(sftp.copy("/t/a", "/copy", { recurse: true }), loop);
      assert.equal(await sftp.exists("/copy/tob/toa"), false);

      // With an error handler the loop is reported and the rest of the tree arrives.
      const reported: string[] = [];
      const onError = (e: Error) => void reported.push(e.message);
      await sftp.get("/t/a", join(dir, "out2"), { recurse: true, errorHandler: onError });
      assert.equal(reported.length, 1);
      assert.match(reported[0]!, loop);
      assert.equal(await fsp.readFile(join(dir, "out2", "tob", "fb.txt"), "utf8"), "B");
    });
  });
});

test("glob bracket classes read a backslash as the shell does: [a\\-z] is a, - and z", () => {
  const names = ["-.txt", "a.txt", "m.txt", "z.txt", "_.txt", "].txt", "^.txt", "\\.txt"];
  const matches = (p: string) => names.filter((n) => globToRegExp(p).test(n));
  assert.deepEqual(matches("[a\\-z].txt"), ["-.txt", "a.txt", "z.txt"]);
  assert.deepEqual(matches("[a-z].txt"), ["a.txt", "m.txt", "z.txt"]);
  assert.deepEqual(matches("[\\]a].txt"), ["a.txt", "].txt"]);
  assert.deepEqual(matches("[]a].txt"), ["a.txt", "].txt"]);
  assert.deepEqual(matches("[\\^].txt"), ["^.txt"]);
  assert.deepEqual(matches("[\\\\].txt"), ["\\.txt"]);
  assert.deepEqual(matches("[!a-z].txt"), ["-.txt", "_.txt", "].txt", "^.txt", "\\.txt"]);
  assert.throws(() => globToRegExp("[z-a].txt"), RangeError);
});

test("get(), put() and copy() refuse a device or FIFO asked for by name, and skip one inside a tree", async () => {
  await withLocalDir(async (dir) => {
    const root = join(dir, "root");
    await fsp.mkdir(join(root, "tree"), { recursive: true });
    await fsp.writeFile(join(root, "tree", "file.txt"), "f");
    const made = spawnSync("mkfifo", [join(root, "tree", "pipe")]);
    assert.equal(made.status, 0, String(made.stderr));
    await using p = await loopbackPair({ sftp: { root } });
    await using sftp = await p.conn.startSftp();
    const notRegular = (e: SFTPError) => /Not a regular file/.test(e.message);
    await assert.rejects(sftp.get("/tree/pipe", join(dir, "got")), notRegular);
    await assert.rejects(sftp.copy("/tree/pipe", "/copied"), notRegular);
    await assert.rejects(sftp.put("/dev/null", "/null"), notRegular);
    assert.equal(await sftp.exists("/null"), false);
    await sftp.get("/tree", join(dir, "down"), { recurse: true });
    assert.deepEqual(await fsp.readdir(join(dir, "down")), ["file.txt"]);
    await sftp.put(join(root, "tree"), "/up", { recurse: true });
    assert.deepEqual(await sftp.listdir("/up"), ["file.txt"]);
  });
});

test("copy() through read and write reports progress the server acknowledged, never past a refused write", async () => {
  const LIMIT = 1 << 20;
  class FullAfterOneMiB extends MemoryBackend {
    override write(h: MemoryHandle, offset: number, data: Uint8Array): Promise<void> {
      if (offset + data.length > LIMIT) {
        return Promise.reject(new SFTPError(SFTPStatus.FAILURE, "No space left on device"));
      }
      return super.write(h, offset, data);
    }
  }
  const backend = new FullAfterOneMiB();
  backend.writeFile("/big", new Uint8Array(4 * LIMIT).fill(7));
  await using p = await loopbackPair({
    sftp: { backend, disabledExtensions: ["copy-data"] },
  });
  await using sftp = await p.conn.startSftp();
  const seen: number[] = [];
  await assert.rejects(
    sftp.copy("/big", "/copy", { onProgress: (done) => void seen.push(done) }),
    /No space left/,
  );
  assert.ok(seen.length > 0);
  assert.ok(seen.every((d, i) => i === 0 || d > seen[i - 1]!), "each amount once, rising");
  assert.ok(Math.max(...seen) <= LIMIT, `reported ${Math.max(...seen)} of ${LIMIT} written`);
  assert.ok((await sftp.stat("/copy")).size! <= LIMIT);

  // A whole copy ends at the total.
  backend.writeFile("/small", new Uint8Array(LIMIT - 1).fill(1));
  const whole: number[] = [];
  await sftp.copy("/small", "/small2", {
    onProgress: (done, total) => void whole.push(done, total),
  });
  assert.equal(whole.at(-2), LIMIT - 1);
  assert.equal(whole.at(-1), LIMIT - 1);
});

test("an SFTPFile's streams without start read and write at its position and move it, as read() and write() do", async () => {
  await withSftp(async (sftp) => {
    await using f = await sftp.open("/f", "w+");
    await f.write(new TextEncoder().encode("head:"));
    const w = f.writable().getWriter();
    await w.write(new TextEncoder().encode("streamed"));
    await w.close();
    assert.equal(f.position, 13);
    await f.write(new TextEncoder().encode(":tail"));
    assert.equal(await sftp.readFile("/f", { encoding: "utf8" }), "head:streamed:tail");

    f.position = 5;
    const part = await new Response(f.readable({ end: 13 })).text();
    assert.equal(part, "streamed");
    assert.equal(f.position, 13);
    // With start given, the position stays where it was.
    assert.equal(await new Response(f.readable({ start: 0, end: 4 })).text(), "head");
    assert.equal(f.position, 13);
  });
});

test("aborting an SFTPFile's writable() does not wait for a server that stopped answering", async () => {
  const writing = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  class Stalled extends MemoryBackend {
    override async write(h: MemoryHandle, offset: number, data: Uint8Array): Promise<void> {
      writing.resolve();
      await release.promise;
      return await super.write(h, offset, data);
    }
  }
  await withSftp(async (sftp) => {
    const f = await sftp.open("/f", "w");
    const w = f.writable().getWriter();
    // Sent, and never answered: the stream's write waits for it (one in flight at first).
    const written = w.write(new Uint8Array(1000));
    await writing.promise;
    let guard: ReturnType<typeof setTimeout> | undefined;
    const stuck = new Promise<never>((_, reject) => {
      guard = setTimeout(() => reject(new Error("abort() waited for the server")), 30_000);
    });
    try {
      await Promise.race([w.abort(new Error("gave up")), stuck]);
      await Promise.race([assert.rejects(written, /gave up/), stuck]);
    } finally {
      clearTimeout(guard);
      release.resolve();
    }
    await f.close();
  }, new Stalled());
});

test("get() to a device such as /dev/null reads the file through and leaves the device alone", async () => {
  await withSftp(async (sftp) => {
    await sftp.writeFile("/data", new Uint8Array(3 * 1024 * 1024 + 5).fill(9), { mode: 0o600 });
    const before = await fsp.stat("/dev/null");
    let last = 0;
    await sftp.get("/data", "/dev/null", { preserve: true, onProgress: (d) => void (last = d) });
    assert.equal(last, 3 * 1024 * 1024 + 5);
    const after = await fsp.stat("/dev/null");
    assert.equal(after.mode, before.mode, "preserve did not chmod the device");
    assert.ok(after.isCharacterDevice());
  });
});

test("put() and copy() of a read-only directory leave the mode of one already there alone", async () => {
  await withLocalDir(async (dir) => {
    await withSftp(async (sftp) => {
      await fsp.mkdir(join(dir, "docs"));
      await fsp.writeFile(join(dir, "docs", "a.txt"), "a");
      await fsp.chmod(join(dir, "docs"), 0o555);
      try {
        await sftp.makedirs("/dst/docs");
        await sftp.chmod("/dst/docs", 0o775);
        await sftp.put(join(dir, "docs"), "/dst", { recurse: true });
        assert.equal((await sftp.stat("/dst/docs")).permissions! & 0o777, 0o775);
        // Made by the upload: it gets the source's mode once its files are in.
        await sftp.put(join(dir, "docs"), "/new", { recurse: true });
        assert.equal((await sftp.stat("/new")).permissions! & 0o777, 0o555);

        await sftp.makedirs("/src/shared");
        await sftp.writeFile("/src/shared/f", "f");
        await sftp.chmod("/src/shared", 0o500);
        await sftp.makedirs("/shared");
        await sftp.chmod("/shared", 0o777);
        await sftp.copy("/src/shared", "/", { recurse: true });
        assert.equal((await sftp.stat("/shared")).permissions! & 0o777, 0o777);
      } finally {
        await fsp.chmod(join(dir, "docs"), 0o755);
      }
    });
  });
});

test('get() of the working directory ("") is held to the loop check too', async () => {
  await withLocalDir(async (dir) => {
    const backend = new MemoryBackend();
    await withSftp(async (sftp) => {
      await sftp.makedirs("/a");
      await sftp.makedirs("/b");
      await sftp.writeFile("/a/f", "x");
      await sftp.symlink("/b", "/a/tob");
      await sftp.symlink("/a", "/b/toa");
      for (const remote of ["", ".", "./", "a", "a/"]) {
        await assert.rejects(
          sftp.get(remote, join(dir, `out${remote.replaceAll("/", "_")}`), { recurse: true }),
          /a link to a directory it is inside of/,
          JSON.stringify(remote),
        );
      }
    }, backend);
  });
});

test("get() into a FIFO writes the file through it in order", async () => {
  await withLocalDir(async (dir) => {
    const fifo = join(dir, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    await withSftp(async (sftp) => {
      const data = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 31 + (i >> 9)) & 255);
      await sftp.writeFile("/data", data);
      // The other end, another process reading to its EOF (a FIFO's open waits for both).
      const out = join(dir, "out");
      const cat = spawn("sh", ["-c", 'exec cat "$0" > "$1"', fifo, out]);
      const exited = new Promise((r) => cat.once("exit", r));
      await sftp.get("/data", fifo);
      assert.equal(await exited, 0);
      const got = await fsp.readFile(out);
      assert.equal(got.length, data.length);
      assert.ok(got.every((b, i) => b === data[i]), "the bytes arrived in order");
    });
  });
});
