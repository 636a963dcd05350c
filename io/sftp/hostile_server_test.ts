/**
 * Our SFTP client's downloads against a hostile server (a MemoryBackend that lies in its
 * listings, stats and links), through connect(), startSftp() and scp() as users call them: a
 * recursive get, scp() over SFTP and a copy between two servers must never write outside
 * their destination, through a link, or with modes the server picked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { SFTPStatus } from "../../sftp/constants.ts";
import type { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { GLOB_MAX_READDIR } from "../../sftp/path.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import { scp } from "../scp/scp.ts";
import { listen } from "../server/listen.ts";
import type { FileAttributes } from "../../sftp/attrs.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const FILE = 0o100644;
const LINK = 0o120777;
const DIR = 0o40755;

type Entry = { filename: string; attrs: FileAttributes };

/** A MemoryBackend whose listing of /pub also has `extra`, and whose stat/readlink lie. */
class LyingBackend extends MemoryBackend {
  readonly extra: Entry[];
  readonly lies: { stat?: Record<string, FileAttributes>; link?: Record<string, string> };

  constructor(extra: Entry[], lies: LyingBackend["lies"] = {}) {
    super();
    this.extra = extra;
    this.lies = lies;
    this.writeFile("/pub/ok.txt", enc.encode("fine\n"));
    this.writeFile("/escaped.txt", enc.encode("PWND\n")); // /pub/../../escaped.txt
  }
  // deno-lint-ignore no-explicit-any
  override async readdir(h: any): Promise<readonly Entry[] | null> {
    const r = await super.readdir(h);
    if (r === null || !r.some((e) => e.filename === "ok.txt")) return r;
    return [...r, ...this.extra];
  }
  override async stat(p: string): Promise<FileAttributes> {
    return this.lies.stat?.[p] ?? await super.stat(p);
  }
  override async readlink(p: string): Promise<string> {
    return this.lies.link?.[p] ?? await super.readlink(p);
  }
}

async function withConn(
  backend: MemoryBackend,
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    sftp: { backend },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    clientKeys: [],
  });
  await fn(conn);
}

async function sandbox(): Promise<{ base: string; dest: string; victim: string }> {
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-hostile-sftp-"));
  const dest = join(base, "a", "dest");
  await fsp.mkdir(dest, { recursive: true });
  const victim = join(base, "victim.txt");
  await fsp.writeFile(victim, "original\n");
  return { base, dest, victim };
}

const exists = (p: string) => fsp.lstat(p).then(() => true, () => false);

test("a recursive get refuses listed names that are not one path component", async () => {
  for (const name of ["../../escaped.txt", "sub/../../../escaped.txt", ""]) {
    const b = new LyingBackend([{ filename: name, attrs: { size: 5, permissions: FILE } }]);
    const { base, dest } = await sandbox();
    try {
      await withConn(b, async (conn) => {
        await using sftp = await conn.startSftp();
        // Without an error handler the first refused entry stops the transfer.
        await assert.rejects(
          sftp.get("/pub", dest, { recurse: true }),
          (e: Error) => /The server listed .*refused/.test(e.message),
        );
        // With one, it is reported and skipped; the rest is copied.
        const reported: string[] = [];
        await sftp.get("/pub", join(base, "second"), {
          recurse: true,
          errorHandler: (e) => void reported.push(e.message),
        });
        assert.equal(reported.length, 1, JSON.stringify(reported));
        assert.equal(await fsp.readFile(join(base, "second", "ok.txt"), "utf8"), "fine\n");
      });
      assert.equal(await exists(join(base, "a", "escaped.txt")), false, `escaped via ${name}`);
      assert.equal(await exists(join(base, "escaped.txt")), false, `escaped via ${name}`);
    } finally {
      await fsp.rm(base, { recursive: true, force: true });
    }
  }
});

test("scp() over SFTP refuses the same names (CVE-2019-6111's SFTP form)", async () => {
  const b = new LyingBackend([{
    filename: "../../escaped.txt",
    attrs: { size: 5, permissions: FILE },
  }]);
  const { base, dest } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await assert.rejects(scp([conn, "/pub"], dest, { recurse: true }), /refused/);
    });
    assert.equal(await exists(join(base, "a", "escaped.txt")), false);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a recursive get plants no link it would then write through", async () => {
  const { base, dest, victim } = await sandbox();
  try {
    // Following links (the default): a stat that still says "link" is refused, and a name
    // listed twice (a link, then a file of that name) is refused the second time.
    const zz = { filename: "zz", attrs: { permissions: LINK, size: 1 } };
    const again = { filename: "zz", attrs: { permissions: FILE, size: 9 } };
    const lies = {
      stat: { "/pub/zz": { permissions: LINK, size: 1 } },
      link: { "/pub/zz": victim },
    };
    for (const followSymlinks of [true, false]) {
      const b = new LyingBackend([zz, again], lies);
      b.writeFile("/pub/zz", enc.encode("EVIL DATA"));
      const reported: string[] = [];
      await withConn(b, async (conn) => {
        await using sftp = await conn.startSftp();
        await sftp.get("/pub", join(dest, String(followSymlinks)), {
          recurse: true,
          followSymlinks,
          errorHandler: (e) => void reported.push(e.message),
        });
      });
      assert.equal(await fsp.readFile(victim, "utf8"), "original\n", `follow ${followSymlinks}`);
      assert.ok(
        reported.some((m) => /listed twice|still a symbolic link/.test(m)),
        JSON.stringify(reported),
      );
    }
    // A link already inside the destination tree is not written through either.
    const into = join(dest, "mine");
    await fsp.mkdir(join(into, "pub"), { recursive: true });
    await fsp.symlink(victim, join(into, "pub", "ok.txt"));
    await withConn(new LyingBackend([]), async (conn) => {
      await using sftp = await conn.startSftp();
      await assert.rejects(
        sftp.get("/pub", into, { recurse: true }),
        /is a symbolic link: a recursive download does not write through links/,
      );
    });
    assert.equal(await fsp.readFile(victim, "utf8"), "original\n");
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("preserve copies rwx bits only: no setuid, setgid or sticky bit the server chose", async () => {
  const b = new MemoryBackend();
  b.writeFile("/bin/tool", enc.encode("#!/bin/sh\n"), 0o6755);
  await b.mkdir("/bin/dir", { permissions: 0o1777 });
  const { base } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      await sftp.get("/bin", join(base, "bin"), { recurse: true, preserve: true });
    });
    assert.equal((await fsp.stat(join(base, "bin", "tool"))).mode & 0o7777, 0o755);
    // The backend keeps 0o1755 (its umask): the sticky bit stays behind.
    assert.equal((await fsp.stat(join(base, "bin", "dir"))).mode & 0o7777, 0o755);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a recursive get stops at 64 levels (a link loop the server follows)", async () => {
  // Every directory lists one more directory "d": an endless tree.
  class Endless extends MemoryBackend {
    // deno-lint-ignore no-explicit-any
    override async readdir(h: any): Promise<readonly Entry[] | null> {
      const r = await super.readdir(h);
      return r === null ? r : [{ filename: "d", attrs: { permissions: DIR } }];
    }
    override async stat(p: string): Promise<FileAttributes> {
      return p.startsWith("/loop") ? { permissions: DIR } : await super.stat(p);
    }
    override async opendir(p: string) {
      return await super.opendir(p.startsWith("/loop") ? "/loop" : p);
    }
  }
  const b = new Endless();
  b.makeDirectory("/loop");
  const { base } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      await assert.rejects(
        sftp.get("/loop", join(base, "loop"), { recurse: true }),
        /deeper than 64 levels/,
      );
    });
    let depth = 0;
    for (let p = join(base, "loop"); await exists(join(p, "d")); p = join(p, "d")) depth++;
    assert.equal(depth, 64);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("scp() between two servers writes what the first lists only inside the destination", async () => {
  const a = new LyingBackend([
    { filename: "../../.profile", attrs: { size: 5, permissions: FILE } },
  ]);
  const b = new MemoryBackend();
  b.makeDirectory("/home/victim/incoming");
  const has = (p: string) => b.stat(p).then(() => true, () => false);
  await withConn(a, async (ca) => {
    await withConn(b, async (cb) => {
      const reported: string[] = [];
      await scp([ca, "/pub"], [cb, "/home/victim/incoming"], {
        recurse: true,
        errorHandler: (e) => void reported.push(e.message),
      });
      assert.ok(reported.some((m) => /refused/.test(m)), JSON.stringify(reported));
      assert.equal(await has("/home/victim/.profile"), false);
      assert.equal(await has("/home/victim/incoming/pub/ok.txt"), true);
    });
  });
});

/** A server whose listing of /pub never ends, 100 fresh names a reply. */
class EndlessBackend extends MemoryBackend {
  sent = 0;
  constructor() {
    super();
    this.writeFile("/pub/seed", enc.encode("x"));
  }
  // deno-lint-ignore no-explicit-any
  override async readdir(_h: any): Promise<readonly Entry[] | null> {
    await Promise.resolve();
    return Array.from({ length: 100 }, () => ({
      filename: `f${this.sent++}`,
      attrs: { permissions: FILE, size: 0 },
    }));
  }
}

test("sftp.glob() stops reading a listing that never ends (GLOB_MAX_READDIR)", {
  timeout: 30_000,
}, async () => {
  const backend = new EndlessBackend();
  await withConn(backend, async (conn) => {
    await using sftp = await conn.startSftp();
    await assert.rejects(sftp.glob("/pub/*"), /Too many matches/);
    assert.ok(backend.sent < GLOB_MAX_READDIR + 1000, `${backend.sent} names sent`);
  });
});

test("mget with a negated bracket glob never writes outside its destination", async () => {
  // The server lists "/.." in /pub: "[!.]*" must not match it, and a name like it is no entry.
  class Evil extends MemoryBackend {
    // deno-lint-ignore no-explicit-any
    override async readdir(h: any): Promise<readonly Entry[] | null> {
      const r = await super.readdir(h);
      if (r === null || !r.some((e) => e.filename === "report.txt")) return r;
      return [...r, { filename: "/..", attrs: { permissions: DIR } }, {
        filename: "x./..",
        attrs: { permissions: DIR },
      }];
    }
  }
  const b = new Evil();
  b.writeFile("/pub/report.txt", enc.encode("ok\n"));
  const { base, dest } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      assert.deepEqual(await sftp.glob("/pub/[!.]*"), ["/pub/report.txt"]);
      assert.deepEqual(await sftp.glob("/pub/*.[!o]*"), ["/pub/report.txt"]);
      await sftp.mget("/pub/[!.]*", dest, { recurse: true });
      // get of a path whose last component is ".." names nothing inside a directory.
      await assert.rejects(sftp.get("/pub/..", dest, { recurse: true }), /Cannot name a copy/);
    });
    assert.deepEqual(await fsp.readdir(dest), ["report.txt"]);
    assert.deepEqual((await fsp.readdir(base)).sort(), ["a", "victim.txt"]);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a recursive get refuses a followed link back to a directory it is inside of", async () => {
  const b = new MemoryBackend();
  b.makeDirectory("/t");
  b.writeFile("/t/f", enc.encode("x"));
  await b.symlink(".", "/t/a");
  await b.symlink("..", "/t/up");
  const { base } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      const refused: SFTPError[] = [];
      await sftp.get("/t", join(base, "t"), {
        recurse: true,
        errorHandler: (e) => void refused.push(e as SFTPError),
      });
      assert.equal(refused.length, 2, refused.map((e) => e.message).join("\n"));
      assert.ok(refused.every((e) => /a link to a directory it is inside of/.test(e.message)));
      // The tree's own shape, not the server contradicting itself: FAILURE, naming the link.
      assert.deepEqual(refused.map((e) => e.status), [SFTPStatus.FAILURE, SFTPStatus.FAILURE]);
      assert.deepEqual(refused.map((e) => e.path).sort(), ["/t/a", "/t/up"]);
      await assert.rejects(sftp.get("/t", join(base, "t2"), { recurse: true }), /a loop/);
    });
    assert.deepEqual(await fsp.readdir(join(base, "t")), ["f"]);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a recursive put refuses a local link back to a directory it is inside of", async () => {
  const b = new MemoryBackend();
  const { base } = await sandbox();
  try {
    const tree = join(base, "tree");
    await fsp.mkdir(tree);
    await fsp.writeFile(join(tree, "f"), "x");
    await fsp.symlink(".", join(tree, "a"));
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      await assert.rejects(sftp.put(tree, "/up", { recurse: true }), /a loop/);
      const refused: string[] = [];
      await sftp.put(tree, "/up2", {
        recurse: true,
        errorHandler: (e) => void refused.push(e.message),
      });
      assert.equal(refused.length, 1);
      assert.deepEqual(await sftp.listdir("/up2"), ["f"]);
    });
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("listdir() and rmtree() fail on a listing of more than MAX_LISTED_ENTRIES names", async () => {
  class Endless extends MemoryBackend {
    #n = 0;
    // deno-lint-ignore no-explicit-any
    override async readdir(h: any): Promise<readonly Entry[] | null> {
      await super.readdir(h);
      return Array.from({ length: 100 }, () => ({
        filename: `f${this.#n++}`,
        attrs: { permissions: FILE },
      }));
    }
  }
  const b = new Endless();
  b.makeDirectory("/big");
  await withConn(b, async (conn) => {
    await using sftp = await conn.startSftp();
    await assert.rejects(sftp.listdir("/big"), /more than 200000 entries/);
    await assert.rejects(sftp.rmtree("/big"), /more than 200000 entries/);
  });
});

test("an AbortSignal ends a get or put whose server stopped answering", async () => {
  for (const phase of ["read", "stat", "write"] as const) {
    class Stall extends MemoryBackend {
      // deno-lint-ignore no-explicit-any
      override async read(h: any, off: number, len: number) {
        if (phase === "read" && off >= 65536) return await new Promise<never>(() => {});
        return await super.read(h, off, len);
      }
      override async stat(p: string): Promise<FileAttributes> {
        if (phase === "stat") return await new Promise<never>(() => {});
        return await super.stat(p);
      }
      // deno-lint-ignore no-explicit-any
      override async write(h: any, off: number, d: Uint8Array) {
        if (phase === "write" && off >= 65536) return await new Promise<never>(() => {});
        return await super.write(h, off, d);
      }
    }
    const b = new Stall();
    b.writeFile("/big", new Uint8Array(1 << 20).fill(7));
    const { base } = await sandbox();
    try {
      const src = join(base, "src.bin");
      await fsp.writeFile(src, new Uint8Array(1 << 20).fill(9));
      await withConn(b, async (conn) => {
        await using sftp = await conn.startSftp({ requestSize: 32768 });
        const ac = new AbortController();
        setTimeout(() => ac.abort(new Error(`stop ${phase}`)), 200);
        const run = phase === "write"
          ? sftp.put(src, "/up.bin", { signal: ac.signal })
          : sftp.get("/big", join(base, "big"), { signal: ac.signal });
        const pending = new Promise((r) => setTimeout(() => r("still pending"), 10_000));
        const outcome = await Promise.race([
          run.then(() => "resolved", (e: Error) => e.message),
          pending,
        ]);
        assert.equal(outcome, `stop ${phase}`);
        if (phase === "read") {
          // What is kept is the whole prefix only.
          const got = await fsp.readFile(join(base, "big"));
          assert.ok(got.length <= 65536 && got.every((x) => x === 7), `${got.length} bytes kept`);
        }
        conn.abort(); // the server's stalled handlers never answer
      });
    } finally {
      await fsp.rm(base, { recursive: true, force: true });
    }
  }
});

test("a get fails, keeping the whole prefix, when the server sends data past the end it reported", async () => {
  class Hole extends MemoryBackend {
    // deno-lint-ignore no-explicit-any
    override async read(h: any, off: number, len: number) {
      if (off === 0) return (await super.read(h, 0, Math.min(len, 16384)))!; // a short read
      if (off >= 16384 && off < 32768) return null; // "EOF" for the rest of it ...
      return await super.read(h, off, len); // ... and data after it
    }
  }
  const b = new Hole();
  b.writeFile("/f", new Uint8Array(1 << 20).fill(0x41));
  const { base } = await sandbox();
  try {
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp();
      await assert.rejects(
        sftp.get("/f", join(base, "f")),
        /reported the end of the file at 16384/,
      );
    });
    const got = await fsp.readFile(join(base, "f"));
    assert.equal(got.length, 16384);
    assert.ok(got.every((x) => x === 0x41), "no hole of zeros");
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a put that failed mid-pipeline leaves the acknowledged prefix, so resume makes a whole copy", async () => {
  let failOnce = true;
  class Flaky extends MemoryBackend {
    // deno-lint-ignore no-explicit-any
    override async write(h: any, off: number, d: Uint8Array) {
      if (failOnce && off === 4 * 32768) {
        failOnce = false;
        throw new Error("transient EIO");
      }
      return await super.write(h, off, d);
    }
  }
  const b = new Flaky();
  const { base } = await sandbox();
  try {
    const src = join(base, "src.bin");
    const data = new Uint8Array(1 << 20).map((_, i) => (i % 251) + 1);
    await fsp.writeFile(src, data);
    await withConn(b, async (conn) => {
      await using sftp = await conn.startSftp({ requestSize: 32768 });
      assert.ok(sftp.limits, "the server announces limits: no sequential retry");
      await assert.rejects(sftp.put(src, "/dst"));
      assert.equal((await sftp.stat("/dst")).size, 4 * 32768, "cut back to the prefix");
      await sftp.put(src, "/dst", { resume: true });
    });
    assert.deepEqual(b.readFile("/dst"), data);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});
