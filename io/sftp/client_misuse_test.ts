/**
 * The SFTP client against careless callers and hostile servers: rmtree() on a link to a
 * directory, mget() of a glob whose server lists a name twice and lies about links,
 * offsets and attributes no packet can carry, and a server answering each READ with a
 * byte (split across channel packets) that must not make the client hold a bulk buffer
 * per byte.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FileAttributes } from "../../sftp/attrs.ts";
import { BufferPool } from "../../sftp/buffer_pool.ts";
import { SFTPClientEngine, type SFTPResult } from "../../sftp/client_engine.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import type { SFTPRequest } from "../../sftp/messages.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { pipelinedRead, readIntoBuffer, WritePipe } from "./pipeline.ts";
import type { SFTPSession } from "./session.ts";

const enc = new TextEncoder();

async function withSftp(
  backend: MemoryBackend,
  fn: (
    sftp: Awaited<ReturnType<Awaited<ReturnType<typeof loopback>>["conn"]["startSftp"]>>,
  ) => Promise<void>,
): Promise<void> {
  await using p = await loopback({ sftp: { backend } });
  await using sftp = await p.conn.startSftp();
  await fn(sftp);
}

async function withLocalDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-misuse-"));
  try {
    await fn(dir);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

test("rmtree() refuses a path that is a symbolic link and leaves the directory it leads to alone", async () => {
  const b = new MemoryBackend();
  b.writeFile("/victim/precious.txt", enc.encode("keep me\n"));
  b.writeFile("/tree/file.txt", enc.encode("x"));
  await withSftp(b, async (sftp) => {
    await sftp.symlink("/victim", "/link");
    await sftp.symlink("/victim", "/tree/inner");
    for (const p of ["/link", "/link/", "/link//"]) {
      await assert.rejects(
        sftp.rmtree(p),
        (e: SFTPError) => e instanceof SFTPError && /symbolic link/.test(e.message),
      );
      assert.deepEqual(await sftp.listdir("/victim"), ["precious.txt"]);
    }
    // A link inside the tree is removed, not followed; the tree itself goes.
    await sftp.rmtree("/tree/");
    assert.equal(await sftp.exists("/tree"), false);
    assert.deepEqual(await sftp.listdir("/victim"), ["precious.txt"]);
    assert.equal(await sftp.isLink("/link"), true);
  });
});

/** Lists "x" twice in /pub and answers stat/lstat of /pub/x first as a link, then as a file. */
class DoubleListing extends MemoryBackend {
  readonly victim: string;
  #statCalls = 0;
  constructor(victim: string) {
    super();
    this.victim = victim;
    this.writeFile("/pub/x", enc.encode("PWND\n"));
  }
  // deno-lint-ignore no-explicit-any
  override async readdir(h: any) {
    const r = await super.readdir(h);
    return r === null ? r : [...r, ...r.filter((e) => e.filename === "x")];
  }
  override async stat(p: string): Promise<FileAttributes> {
    if (p !== "/pub/x") return await super.stat(p);
    return this.#statCalls++ === 0
      ? { permissions: 0o120777, size: 1 }
      : { permissions: 0o100644, size: 5 };
  }
  override lstat(p: string): Promise<FileAttributes> {
    return p === "/pub/x" ? this.stat(p) : super.lstat(p);
  }
  override async readlink(p: string): Promise<string> {
    return p === "/pub/x" ? this.victim : await super.readlink(p);
  }
}

test("mget() of a glob never writes through a link the server had it plant (a name listed twice, a stat that lies)", async () => {
  for (
    const [patterns, followSymlinks] of [
      ["/pub/*", true],
      ["/pub/*", false],
      [["/pub/*", "/pub/*"], false],
    ] as const
  ) {
    await withLocalDir(async (dir) => {
      const victim = join(dir, "victim.txt");
      await fsp.writeFile(victim, "original\n");
      const dest = join(dir, "dest");
      await fsp.mkdir(dest);
      await withSftp(new DoubleListing(victim), async (sftp) => {
        assert.deepEqual(await sftp.glob("/pub/*"), ["/pub/x"]); // listed twice, one match
        await sftp.mget(patterns, dest, { followSymlinks }).catch((e) => {
          assert.ok(e instanceof SFTPError, String(e));
        });
      });
      assert.equal(await fsp.readFile(victim, "utf8"), "original\n", JSON.stringify(patterns));
      // Following links, a "link" the server reports after following is no copy at all.
      if (followSymlinks) assert.equal(await fsp.lstat(join(dest, "x")).catch(() => null), null);
    });
  }
});

test("mget() of a glob refuses a local link where a match goes; a plain path may still go through one", async () => {
  await withLocalDir(async (dir) => {
    const elsewhere = join(dir, "elsewhere");
    const dest = join(dir, "dest");
    await fsp.mkdir(elsewhere);
    await fsp.mkdir(dest);
    await fsp.symlink(join(elsewhere, "a.txt"), join(dest, "a.txt"));
    const b = new MemoryBackend();
    b.writeFile("/pub/a.txt", enc.encode("server\n"));
    await withSftp(b, async (sftp) => {
      await assert.rejects(sftp.mget("/pub/*.txt", dest), /symbolic link/);
      assert.deepEqual(await fsp.readdir(elsewhere), []);
      // Named by the caller, the link is theirs to write through (as OpenSSH's sftp does).
      await sftp.mget("/pub/a.txt", dest);
      assert.equal(await fsp.readFile(join(elsewhere, "a.txt"), "utf8"), "server\n");
    });
  });
});

test("SFTPFile and SFTPClient refuse offsets, modes and attributes no packet can carry, before sending", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f", enc.encode("0123456789"), 0o644);
  await withSftp(b, async (sftp) => {
    await using f = await sftp.open("/f", "r+");
    const data = new Uint8Array(3);
    await assert.rejects(f.write(data, 1.5), RangeError); // once hung for ever
    await assert.rejects(f.write(data, -1), RangeError);
    await assert.rejects(f.read(3, 2.5), RangeError);
    await assert.rejects(f.read(1.5, 0), RangeError);
    await assert.rejects(f.read(-1, 0), RangeError);
    assert.throws(() => f.readable({ start: 2.5 }), RangeError); // once an unhandled rejection
    assert.throws(() => f.readable({ end: -1 }), RangeError);
    assert.throws(() => f.writable({ start: -3 }), RangeError);
    f.position = -1;
    await assert.rejects(f.read(1), RangeError);
    f.position = 0;
    assert.equal(new TextDecoder().decode(await f.read(4, 2)), "2345");
    assert.equal((await f.read(Infinity, 8)).length, 2);
    await assert.rejects(sftp.chmod("/f", -1), RangeError); // once mode 07777
    await assert.rejects(sftp.chmod("/f", 0.5), RangeError);
    await assert.rejects(f.chmod(-1), RangeError);
    await assert.rejects(sftp.chown("/f", -1, -1), RangeError);
    await assert.rejects(sftp.utime("/f", NaN, NaN), RangeError); // once 1970
    await assert.rejects(sftp.utime("/f", new Date("1960-01-01"), 0), RangeError);
    await assert.rejects(f.utime(new Date("invalid"), new Date()), RangeError);
    await assert.rejects(sftp.truncate("/f", 1.5), RangeError);
    await assert.rejects(sftp.open("/g", "w", { permissions: -1 }), RangeError);
    await assert.rejects(sftp.mkdir("/d", -1), RangeError);
    await assert.rejects(sftp.open("/f", "rubbish" as "r"), RangeError);
    await assert.rejects(sftp.open("/g", "rw" as "r"), RangeError);
    const st = await sftp.stat("/f");
    assert.equal(st.permissions! & 0o7777, 0o644);
    assert.equal(st.size, 10);
    assert.equal(await sftp.exists("/g"), false);
    assert.equal(await sftp.exists("/d"), false);
    // Full st_mode values, as stat() reports them, are still fine to pass back.
    await sftp.chmod("/f", 0o100600);
    assert.equal((await sftp.stat("/f")).permissions! & 0o7777, 0o600);
  });
});

/** A session whose request() throws at once, as one that cannot encode the request does. */
function throwingSession(): SFTPSession {
  return {
    request: (_req: SFTPRequest): Promise<SFTPResult> => {
      throw new RangeError("cannot encode");
    },
  } as unknown as SFTPSession;
}

test("the pipelines end with the error of a request that cannot even be sent, never hang or throw past it", async () => {
  const r = await pipelinedRead(
    throwingSession(),
    Uint8Array.of(1),
    0,
    { requestSize: 10, maxRequests: 4 },
    () => {},
  );
  assert.ok(r.error instanceof RangeError);
  const pipe = new WritePipe(throwingSession(), Uint8Array.of(1), 0, 4);
  await assert.rejects(pipe.push(new Uint8Array(5)), RangeError);
  assert.equal(pipe.inFlight, 0);
  await pipe.drain(); // returns: nothing is in flight
  await assert.rejects(pipe.finish(), RangeError);
});

/** A session answering every READ at once with one byte (of a file of `size` bytes). */
function byteAtATime(size: number, pool = new BufferPool(64, 8)) {
  const s = {
    readSize: 32 * 1024,
    writeSize: 32 * 1024,
    maxRequests: 64,
    closed: false,
    pool,
    request: (req: SFTPRequest): Promise<SFTPResult> => {
      if (req.type !== "read") return Promise.resolve({ kind: "ok" });
      if (req.offset >= size) return Promise.resolve({ kind: "eof" });
      const data = pool.allocate(1);
      data[0] = req.offset & 0xff;
      return Promise.resolve({ kind: "data", data });
    },
  };
  return { s: s as unknown as SFTPSession };
}

test("readIntoBuffer() copies each reply at its offset and gives its buffer back at once", async () => {
  const pool = new BufferPool(64, 8);
  const released: Uint8Array[] = [];
  const release = pool.release.bind(pool);
  pool.release = (b) => {
    released.push(b);
    release(b);
  };
  const { s } = byteAtATime(300, pool);
  // A size hint far past the real size sets aside no more than the limit allows.
  const out = await readIntoBuffer(s, Uint8Array.of(1), 0, {
    requestSize: 32,
    maxRequests: 8,
    sizeHint: 2 ** 40,
  });
  assert.equal(out.length, 300);
  for (let i = 0; i < 300; i++) assert.equal(out[i], i & 0xff);
  assert.equal(released.length, 300);
});

test("a small reply spanning channel packets gets a buffer of its own, never a bulk one from allocate", () => {
  const allocated: number[] = [];
  const eng = new SFTPClientEngine({
    allocate: (n) => {
      allocated.push(n);
      return new Uint8Array(n);
    },
  });
  eng.start();
  eng.takeOutgoing();
  // VERSION 3, no extensions.
  eng.receiveData(Uint8Array.of(0, 0, 0, 5, 2, 0, 0, 0, 3));
  assert.equal(eng.pollEvent()?.type, "version");
  const small = eng.request({ type: "read", handle: Uint8Array.of(1), offset: 0, length: 1 });
  const big = eng.request({ type: "read", handle: Uint8Array.of(1), offset: 1, length: 100_000 });
  const dataReply = (id: number, n: number) => {
    const p = new Uint8Array(4 + 9 + n);
    const v = new DataView(p.buffer);
    v.setUint32(0, 9 + n);
    p[4] = 103; // SSH_FXP_DATA
    v.setUint32(5, id);
    v.setUint32(9, n);
    return p;
  };
  for (const [id, n] of [[small, 1], [big, 100_000]] as const) {
    const p = dataReply(id, n);
    // Split after the type byte: the body spans two chunks.
    eng.receiveData(p.slice(0, 6));
    eng.receiveData(p.slice(6));
    const e = eng.pollEvent();
    assert.ok(e?.type === "reply" && e.result.kind === "data");
    assert.equal(e.result.data.length, n);
  }
  assert.deepEqual(allocated, [4 + 9 + 100_000 - 4]);
});

test("readable() against a server answering a byte per READ stops with an error instead of keeping millions of pieces", async () => {
  const backend = new (class extends MemoryBackend {
    override read(handle: Parameters<MemoryBackend["read"]>[0], offset: number, length: number) {
      return super.read(handle, offset, Math.min(1, length));
    }
  })();
  await withSftp(backend, async (sftp) => {
    await sftp.writeFile("big", new Uint8Array(2 * 1024 * 1024).fill(7));
    await using f = await sftp.open("big");
    let got = 0;
    const e = await (async () => {
      for await (const c of f.readable()) got += c.length;
    })().then(() => undefined, (x: unknown) => x);
    assert.ok(e instanceof SFTPError && /short reads/.test(e.message), String(e));
    assert.ok(got < 2 * 1024 * 1024);
  });
});
