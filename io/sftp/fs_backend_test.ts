/**
 * The jailed file-system backend (`listen({ sftp: { root } })`) against
 * hostile clients: requests sent on a raw SFTP channel, as an attacker would,
 * and checks that nothing outside the root was read, changed or shown.
 */
import { test } from "node:test";
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import process from "node:process";
import * as nodePath from "node:path";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { encodeStringArg } from "../../core/connection/session_requests.ts";
import { SSHReader } from "../../core/wire.ts";
import { FXP, OpenFlags, SFTPStatus } from "../../sftp/constants.ts";
import type { SFTPError } from "../../sftp/errors.ts";
import { PacketFramer } from "../../sftp/framer.ts";
import {
  decodeReply,
  encodeHello,
  encodeRequest,
  type SFTPReply,
  type SFTPRequest,
} from "../../sftp/messages.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import { listen } from "../server/listen.ts";
import { childOf, FsBackend } from "./fs_backend.ts";
import type { SFTPServerConfig } from "./server.ts";

const hostKey = generatePrivateKey("ed25519");
const SECRET = "outside the root\n";

/** A raw SFTP channel: any request, replies read in order. */
class RawSftp {
  #id = 1;
  readonly #framer = new PacketFramer(1 << 20);
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #ch: Awaited<ReturnType<SSHClientConnection["openChannel"]>>;
  constructor(ch: Awaited<ReturnType<SSHClientConnection["openChannel"]>>) {
    this.#ch = ch;
    this.#reader = ch.readable(0).getReader();
  }
  static async open(conn: SSHClientConnection): Promise<RawSftp> {
    const ch = await conn.openChannel("session", undefined, { streams: 1 });
    assert.ok(await ch.request("subsystem", encodeStringArg("sftp")));
    const s = new RawSftp(ch);
    await ch.write(encodeHello(FXP.INIT, 3, []));
    await s.#packet(); // VERSION
    return s;
  }
  async #packet(): Promise<Uint8Array> {
    for (;;) {
      const p = this.#framer.next();
      if (p) return p.slice();
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("channel closed");
      this.#framer.push(value);
    }
  }
  async send(req: SFTPRequest): Promise<void> {
    for (const c of encodeRequest(this.#id++, req)) await this.#ch.write(c);
  }
  async reply(): Promise<SFTPReply> {
    return decodeReply(new SSHReader(await this.#packet()))!;
  }
  async call(req: SFTPRequest): Promise<SFTPReply> {
    await this.send(req);
    return await this.reply();
  }
  async handle(req: SFTPRequest): Promise<Uint8Array> {
    const r = await this.call(req);
    if (r.type !== "handle") throw new Error(`expected a handle, got ${JSON.stringify(r)}`);
    return r.handle;
  }
}

/** The status code of a reply (-1 when it is not a status). */
function code(r: SFTPReply): number {
  return r.type === "status" ? r.code : -1;
}

/**
 * Runs `fn` with `<base>/root` served to one client, and `<base>/secret.txt`
 * (outside the root) holding {@link SECRET}.
 */
async function jailed(
  fn: (
    t: { conn: SSHClientConnection; root: string; secret: string; base: string },
  ) => Promise<void>,
  sftp: Omit<SFTPServerConfig, "root"> = {},
): Promise<void> {
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-"));
  const root = join(base, "root");
  const secret = join(base, "secret.txt");
  try {
    await fsp.mkdir(root);
    await fsp.writeFile(secret, SECRET);
    await fsp.chmod(secret, 0o600);
    await using server = await listen({
      host: "127.0.0.1",
      port: 0,
      hostKeys: [hostKey],
      authFailureDelay: 0,
      validatePassword: (_u, p) => p === "pw",
      sftp: { root, ...sftp },
    });
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      password: "pw",
      knownHosts: null,
      clientKeys: [],
    });
    await fn({ conn, root, secret, base });
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
}

async function unchanged(secret: string): Promise<void> {
  const st = await fsp.stat(secret);
  assert.equal(st.size, SECRET.length, "the file outside keeps its size");
  assert.equal(st.mode & 0o7777, 0o600, "the file outside keeps its mode");
  assert.equal(await fsp.readFile(secret, "utf8"), SECRET);
}

test("lsetstat() on a symlink refuses a size or mode before changing anything", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const s = await RawSftp.open(conn);
    // A link that leads out, as one placed by the host (not one a client can make).
    await fsp.symlink(secret, join(root, "out"));
    await fsp.writeFile(join(root, "in.txt"), "inside");
    await fsp.symlink("in.txt", join(root, "in"));
    for (const path of ["/out", "/in"]) {
      for (const attrs of [{ size: 0 }, { size: 1 << 20 }, { permissions: 0o777 }]) {
        const r = await s.call({ type: "lsetstat", path, attrs });
        assert.equal(code(r), SFTPStatus.OP_UNSUPPORTED, `${path} ${JSON.stringify(attrs)}`);
      }
      // Times with a size: refused as a whole, the times untouched too.
      const before = (await fsp.lstat(join(root, path))).mtimeMs;
      const r = await s.call({ type: "lsetstat", path, attrs: { size: 0, atime: 1, mtime: 2 } });
      assert.equal(code(r), SFTPStatus.OP_UNSUPPORTED);
      assert.equal((await fsp.lstat(join(root, path))).mtimeMs, before);
    }
    await unchanged(secret);
    assert.equal(await fsp.readFile(join(root, "in.txt"), "utf8"), "inside");
    // What a link allows still works on the link itself.
    assert.equal(
      code(await s.call({ type: "lsetstat", path: "/in", attrs: { atime: 1, mtime: 2 } })),
      0,
    );
    assert.equal((await fsp.lstat(join(root, "in"))).mtimeMs, 2000);
    // On a regular file lsetstat is setstat.
    assert.equal(code(await s.call({ type: "lsetstat", path: "/in.txt", attrs: { size: 2 } })), 0);
    assert.equal(await fsp.readFile(join(root, "in.txt"), "utf8"), "in");
  });
});

test("symlink() keeps a relative target without '..' as given, anchors the rest; readlink() shows the client path", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const s = await RawSftp.open(conn);
    const real = await fsp.realpath(root);
    assert.equal(code(await s.call({ type: "mkdir", path: "/d", attrs: {} })), 0);
    await fsp.writeFile(join(root, "d", "f.txt"), "inside");
    const cases: [string, string, string, string][] = [
      // link, target given, target stored on the host, target readlink shows
      ["/up", "../secret.txt", join(real, "secret.txt"), "/secret.txt"],
      ["/d/up2", "../../../secret.txt", join(real, "secret.txt"), "/secret.txt"],
      ["/d/rel", "f.txt", "f.txt", "f.txt"],
      ["/d/dot", "./../d/./f.txt", join(real, "d", "f.txt"), "/d/f.txt"],
      ["/d/sib", "../d/f.txt", join(real, "d", "f.txt"), "/d/f.txt"],
      ["/d/here", "./f.txt", "./f.txt", "./f.txt"],
      ["/abs", "/../d/f.txt", join(real, "d", "f.txt"), "/d/f.txt"],
    ];
    for (const [linkPath, targetPath, stored, seen] of cases) {
      assert.equal(code(await s.call({ type: "symlink", linkPath, targetPath })), 0, linkPath);
      assert.equal(await fsp.readlink(join(root, linkPath)), stored, linkPath);
      const r = await s.call({ type: "readlink", path: linkPath });
      assert.equal(r.type === "name" ? r.entries[0]!.filename : JSON.stringify(r), seen);
      // A link's size is the length of the target readlink shows.
      const a = await s.call({ type: "lstat", path: linkPath });
      assert.equal(a.type === "attrs" ? a.attrs.size : -1, new TextEncoder().encode(seen).length);
    }
    // Followed, the links lead where readlink says: inside.
    const h = await s.handle({ type: "open", path: "/d/rel", flags: 1, attrs: {} });
    const r = await s.call({ type: "read", handle: h, offset: 0, length: 100 });
    assert.equal(r.type === "data" ? new TextDecoder().decode(r.data) : "", "inside");
    // Moving the link's directory deeper does not make its target climb out.
    assert.equal(code(await s.call({ type: "mkdir", path: "/x", attrs: {} })), 0);
    assert.equal(code(await s.call({ type: "rename", oldPath: "/d", newPath: "/x/d" })), 0);
    for (const attrs of [{ size: 0 }, { permissions: 0o777 }]) {
      await s.call({ type: "setstat", path: "/x/d/up2", attrs });
      await s.call({ type: "setstat", path: "/up", attrs });
    }
    await unchanged(secret);
  });
});

test("links a client makes never lead the host's own programs out of the root, however they are chained or moved", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const s = await RawSftp.open(conn);
    const real = await fsp.realpath(root);
    const inside = async (hostPath: string) => {
      const r = await fsp.realpath(hostPath).catch(() => undefined);
      return r === undefined || r === real || r.startsWith(real + "/");
    };
    for (const path of ["/a", "/a/b", "/d"]) {
      assert.equal(code(await s.call({ type: "mkdir", path, attrs: {} })), 0);
    }
    await fsp.writeFile(join(root, "secret.txt"), "inside");
    const link = async (linkPath: string, targetPath: string) =>
      assert.equal(code(await s.call({ type: "symlink", linkPath, targetPath })), 0, linkPath);
    // A ".." after a link climbs from where the link points: "up" is the root, "up/.." is
    // the root's parent, to the operating system.
    await link("/d/up", "..");
    await link("/esc", "d/up/..");
    assert.ok(await inside(join(root, "esc")), await fsp.readlink(join(root, "esc")));
    // A link moved up a level: its ".." would climb out, had it been kept as given.
    await link("/a/b/L", "../../secret.txt");
    await link("/a/L2", "../secret.txt");
    assert.equal(code(await s.call({ type: "rename", oldPath: "/a/b", newPath: "/b" })), 0);
    assert.equal(code(await s.call({ type: "rename", oldPath: "/a/L2", newPath: "/L2" })), 0);
    for (const p of ["b/L", "L2"]) {
      assert.ok(await inside(join(root, p)), `${p} -> ${await fsp.readlink(join(root, p))}`);
      assert.equal(await fsp.readFile(join(root, p), "utf8"), "inside");
    }
    // A relative target without ".." descends only: moved anywhere, it stays inside.
    await link("/a/rel", "b2/x");
    assert.equal(await fsp.readlink(join(root, "a", "rel")), "b2/x");
    await unchanged(secret);
  });
});

/**
 * Races `victim` against a second session of the same connection that keeps
 * swapping "/f" between a regular file and a symlink made with `target`
 * (symlink + posix-rename over it, hard link + posix-rename back), for
 * `rounds` victim requests or until it returns true. `victim`'s `settle()`
 * stops the swapping, leaving "/f" the symlink.
 */
async function race(
  conn: SSHClientConnection,
  root: string,
  target: string,
  rounds: number,
  victim: (s: RawSftp, settle: () => Promise<void>) => Promise<boolean>,
): Promise<boolean> {
  await fsp.writeFile(join(root, "keep"), "x");
  await fsp.link(join(root, "keep"), join(root, "f"));
  const a = await RawSftp.open(conn);
  const b = await RawSftp.open(conn);
  let stop = false;
  const flipper = (async () => {
    while (!stop) {
      await a.send({ type: "symlink", linkPath: "/s2", targetPath: target });
      await a.send({ type: "posixRename", oldPath: "/s2", newPath: "/f" });
      await a.send({ type: "hardlink", oldPath: "/keep", newPath: "/f2" });
      await a.send({ type: "posixRename", oldPath: "/f2", newPath: "/f" });
      for (let i = 0; i < 4; i++) await a.reply();
    }
  })();
  const settle = async () => {
    stop = true;
    await flipper;
    await a.call({ type: "symlink", linkPath: "/s2", targetPath: target });
    await a.call({ type: "posixRename", oldPath: "/s2", newPath: "/f" });
  };
  let won = false;
  try {
    for (let i = 0; i < rounds && !won && !stop; i++) won = await victim(b, settle);
  } finally {
    stop = true;
    await flipper;
  }
  return won;
}

test("setstat() and lsetstat() never follow a symlink a client swaps in after the check", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const won = await race(conn, root, "../secret.txt", 300, async (s) => {
      await s.call({ type: "setstat", path: "/f", attrs: { permissions: 0o777 } });
      await s.call({ type: "setstat", path: "/f", attrs: { size: 0 } });
      await s.call({ type: "lsetstat", path: "/f", attrs: { permissions: 0o700 } });
      await s.call({ type: "lsetstat", path: "/f", attrs: { size: 1 } });
      const st = await fsp.stat(secret);
      return st.size !== SECRET.length || (st.mode & 0o777) !== 0o600;
    });
    assert.equal(won, false, "the file outside was changed");
    await unchanged(secret);
  });
});

test("setstat() never follows a host's link out of the root moved over the file mid-request", async () => {
  // The host put a link leading out inside the root; a client renames it over the file
  // another request is changing. setstat resolves "/f" as a file, the rename lands, and
  // the change must not reach what the link points to.
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-host-"));
  const root = join(base, "root");
  const victim = join(base, "victim");
  try {
    await fsp.mkdir(root);
    await fsp.writeFile(victim, SECRET);
    await fsp.chmod(victim, 0o600);
    const backend = new FsBackend({ root });
    for (let i = 0; i < 300; i++) {
      await fsp.rm(join(root, "f"), { force: true });
      await fsp.writeFile(join(root, "f"), "x");
      await fsp.rm(join(root, "L"), { force: true });
      await fsp.symlink(victim, join(root, "L"));
      const ticks = i % 7;
      await Promise.all([
        backend.setstat("/f", { permissions: 0o666, size: 3 }).catch(() => {}),
        (async () => {
          for (let k = 0; k < ticks; k++) await Promise.resolve();
          await new Promise((r) => setImmediate(r));
          await backend.posixRename("/L", "/f");
        })().catch(() => {}),
      ]);
      const st = await fsp.stat(victim);
      assert.equal(st.mode & 0o777, 0o600, `round ${i}: the mode outside changed`);
      assert.equal(st.size, SECRET.length, `round ${i}: the file outside was truncated`);
    }
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("setstat() on a FIFO changes its times but refuses its mode and size (no by-path call that follows links)", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-fifo-"));
  try {
    const fifo = join(root, "pipe");
    assert.equal(spawnSync("mkfifo", ["-m", "0600", fifo]).status, 0);
    const backend = new FsBackend({ root });
    await backend.setstat("/pipe", { atime: 1_000_000_000, mtime: 1_100_000_000 });
    assert.equal(Math.floor((await fsp.lstat(fifo)).mtimeMs / 1000), 1_100_000_000);
    for (const attrs of [{ permissions: 0o666 }, { size: 0 }]) {
      await assert.rejects(
        backend.setstat("/pipe", attrs),
        (e: SFTPError) => e.status === SFTPStatus.PERMISSION_DENIED,
      );
    }
    assert.equal((await fsp.lstat(fifo)).mode & 0o777, 0o600);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("opendir() never lists a directory a client swaps in after the check", async () => {
  await jailed(async ({ conn, root }) => {
    const won = await race(conn, root, "..", 300, async (s, settle) => {
      const r = await s.call({ type: "opendir", path: "/f" });
      if (r.type !== "handle") return false;
      // Listed with "/f" still the link (a readdir that looks names up by path finds them).
      await settle();
      const names: string[] = [];
      for (;;) {
        const d = await s.call({ type: "readdir", handle: r.handle });
        if (d.type !== "name") break;
        names.push(...d.entries.map((e) => e.filename));
      }
      await s.call({ type: "close", handle: r.handle });
      return names.includes("secret.txt");
    });
    assert.equal(won, false, "a directory outside the root was listed");
  });
});

test("readdir() fails once its directory was moved away, never showing what is at its path", async () => {
  await jailed(async ({ conn, root, base }) => {
    const s = await RawSftp.open(conn);
    // A link out placed by the host: the client cannot follow it, but can move it.
    await fsp.symlink(base, join(root, "out"));
    assert.equal(code(await s.call({ type: "mkdir", path: "/d", attrs: {} })), 0);
    const f = await s.handle({ type: "open", path: "/d/secret.txt", flags: 0x1a, attrs: {} });
    await s.call({ type: "close", handle: f });
    const h = await s.handle({ type: "opendir", path: "/d" });
    assert.equal(code(await s.call({ type: "rename", oldPath: "/d", newPath: "/d.old" })), 0);
    assert.equal(code(await s.call({ type: "posixRename", oldPath: "/out", newPath: "/d" })), 0);
    const r = await s.call({ type: "readdir", handle: h });
    assert.equal(code(r), SFTPStatus.FAILURE, JSON.stringify(r));
    await s.call({ type: "close", handle: h });
    // Moved back, it lists again.
    await s.call({ type: "remove", path: "/d" });
    assert.equal(code(await s.call({ type: "rename", oldPath: "/d.old", newPath: "/d" })), 0);
    const h2 = await s.handle({ type: "opendir", path: "/d" });
    const r2 = await s.call({ type: "readdir", handle: h2 });
    assert.ok(r2.type === "name");
    const e = r2.entries.find((x) => x.filename === "secret.txt");
    assert.equal(e?.attrs.size, 0);
  });
});

test("open(), mkdir() and setstat() drop setuid and setgid bits; an owner change is refused", async () => {
  await jailed(async ({ conn, root }) => {
    const s = await RawSftp.open(conn);
    const mode = async (p: string) => (await fsp.stat(join(root, p))).mode & 0o7777;
    const h = await s.handle({
      type: "open",
      path: "/sh",
      flags: 0x1a,
      attrs: { permissions: 0o6755 },
    });
    assert.equal(await mode("sh"), 0o755);
    assert.equal(
      code(await s.call({ type: "fsetstat", handle: h, attrs: { permissions: 0o4755 } })),
      0,
    );
    assert.equal(await mode("sh"), 0o755);
    await s.call({ type: "close", handle: h });
    assert.equal(
      code(await s.call({ type: "setstat", path: "/sh", attrs: { permissions: 0o7777 } })),
      0,
    );
    assert.equal(await mode("sh"), 0o1777, "the sticky bit is harmless");
    assert.equal(
      code(await s.call({ type: "mkdir", path: "/d", attrs: { permissions: 0o3777 } })),
      0,
    );
    // (Deno's mkdir keeps the permission bits only.)
    assert.equal(await mode("d") & 0o6777, 0o755);
    // Owners: a change is refused, before anything else is applied.
    const st = await fsp.stat(join(root, "sh"));
    const other = { uid: st.uid + 4242, gid: st.gid + 4242 };
    for (const type of ["setstat", "lsetstat"] as const) {
      const r = await s.call({ type, path: "/sh", attrs: { permissions: 0o600, ...other } });
      assert.equal(code(r), SFTPStatus.PERMISSION_DENIED, type);
    }
    const h2 = await s.handle({ type: "open", path: "/sh", flags: 2, attrs: {} });
    const r = await s.call({ type: "fsetstat", handle: h2, attrs: { size: 0, ...other } });
    assert.equal(code(r), SFTPStatus.PERMISSION_DENIED);
    await s.call({ type: "close", handle: h2 });
    const after = await fsp.stat(join(root, "sh"));
    assert.deepEqual([after.uid, after.gid, after.mode & 0o7777], [st.uid, st.gid, 0o1777]);
    // Setting the owner it has is no change (clients that send every attribute).
    const same = { uid: st.uid, gid: st.gid, permissions: 0o644 };
    assert.equal(code(await s.call({ type: "setstat", path: "/sh", attrs: same })), 0);
    assert.equal(await mode("sh"), 0o644);
  });
});

test("new FsBackend({ allowOwnership: true }) keeps setuid bits and changes owners", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-"));
  try {
    const { FsBackend } = await import("./fs_backend.ts");
    const b = new FsBackend({ root, allowOwnership: true });
    const h = await b.open("/sh", 0x1a, {});
    await b.close(h);
    await b.setstat("/sh", { permissions: 0o4755 });
    assert.equal((await fsp.stat(join(root, "sh"))).mode & 0o7777, 0o4755);
    const st = await fsp.stat(join(root, "sh"));
    // Giving a file away needs root; the same owner works everywhere.
    const uid = process.getuid?.() === 0 ? 4242 : st.uid;
    await b.setstat("/sh", { uid, gid: st.gid });
    assert.equal((await fsp.stat(join(root, "sh"))).uid, uid);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("readlink() refuses a target outside the root instead of showing the host path", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const s = await RawSftp.open(conn);
    await fsp.symlink(secret, join(root, "abs-out"));
    await fsp.symlink("../secret.txt", join(root, "rel-out"));
    await fsp.symlink("sub/x", join(root, "rel-in"));
    for (const path of ["/abs-out", "/rel-out"]) {
      const r = await s.call({ type: "readlink", path });
      assert.equal(code(r), SFTPStatus.PERMISSION_DENIED, JSON.stringify(r));
      assert.ok(r.type === "status" && !r.message.includes(secret));
    }
    const r = await s.call({ type: "readlink", path: "/rel-in" });
    assert.equal(r.type === "name" ? r.entries[0]!.filename : "", "sub/x");
  });
});

test("hardlink() refuses a symlink as its source (link(2) follows it on macOS and FreeBSD)", async () => {
  await jailed(async ({ conn, root, secret }) => {
    const s = await RawSftp.open(conn);
    await fsp.symlink(secret, join(root, "out"));
    await fsp.writeFile(join(root, "in.txt"), "inside");
    await fsp.symlink("in.txt", join(root, "in"));
    for (const oldPath of ["/out", "/in"]) {
      const r = await s.call({ type: "hardlink", oldPath, newPath: "/h" });
      assert.equal(code(r), SFTPStatus.PERMISSION_DENIED, JSON.stringify(r));
      assert.equal(await fsp.lstat(join(root, "h")).catch(() => null), null);
    }
    assert.equal(code(await s.call({ type: "hardlink", oldPath: "/in.txt", newPath: "/h" })), 0);
    assert.equal((await fsp.stat(join(root, "h"))).nlink, 2);
  });
});

test("childOf() keeps a client's name one entry of its parent, on Windows too", () => {
  const win = nodePath.win32;
  assert.equal(childOf(win, "C:\\srv", "a.txt"), "C:\\srv\\a.txt");
  for (
    const name of ["..\\..\\Windows\\win.ini", "a\\b", "C:x", "a.txt:stream", "..", "", "a\0b"]
  ) {
    assert.equal(childOf(win, "C:\\srv", name), undefined, JSON.stringify(name));
  }
  const posix = nodePath.posix;
  assert.equal(childOf(posix, "/srv", "a\\b"), "/srv/a\\b", "a backslash is a name character here");
  assert.equal(childOf(posix, "/", "a"), "/a");
  for (const name of ["..", ".", "", "a\0b"]) {
    assert.equal(childOf(posix, "/srv", name), undefined, JSON.stringify(name));
  }
});

test("open() refuses a FIFO, device or socket without blocking on it; a dangling link reads as missing", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-special-"));
  try {
    assert.equal(spawnSync("mkfifo", [join(root, "pipe")]).status, 0);
    await fsp.symlink(join(root, "gone"), join(root, "dangling"));
    const backend = new FsBackend({ root });
    // No writer ever comes: a blocking open would never return.
    for (const flags of [OpenFlags.READ, OpenFlags.WRITE]) {
      await assert.rejects(
        backend.open("/pipe", flags, {}),
        (e: SFTPError) => e.status === SFTPStatus.FAILURE || e.status === SFTPStatus.NO_SUCH_FILE,
      );
    }
    await assert.rejects(
      backend.open("/dangling", OpenFlags.READ, {}),
      (e: SFTPError) => e.status === SFTPStatus.NO_SUCH_FILE,
    );
    await assert.rejects(
      backend.open("/dangling", OpenFlags.WRITE | OpenFlags.CREAT, {}),
      (e: SFTPError) => e.status === SFTPStatus.PERMISSION_DENIED,
    );
    await assert.rejects(fsp.lstat(join(root, "gone")), { code: "ENOENT" });
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("a root that is not there fails plainly, never naming the host path, and is found once made", async () => {
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-noroot-"));
  try {
    const root = join(base, "users", "bob");
    const backend = new FsBackend({ root });
    for (const op of [() => backend.stat("/x"), () => backend.open("/x", OpenFlags.READ, {})]) {
      await assert.rejects(op(), (e: SFTPError) => {
        assert.equal(e.status, SFTPStatus.FAILURE);
        assert.doesNotMatch(e.message, /users|bob|sshts-fsb/);
        return true;
      });
    }
    await fsp.mkdir(root, { recursive: true });
    await fsp.writeFile(join(root, "x"), "made later");
    assert.equal((await backend.stat("/x")).size, 10);
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("new FsBackend({ openSpecialFiles }) opens a FIFO through a link as the process would; a dangling one is missing", async () => {
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-through-"));
  try {
    const fifo = join(base, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const link = join(base, "out");
    await fsp.symlink(join(base, "gone", "target"), link); // dangling: realpath fails
    const local = new FsBackend({ root: "/", openSpecialFiles: true });
    await assert.rejects(local.open(link, OpenFlags.WRITE, {}), {
      status: SFTPStatus.NO_SUCH_FILE,
    });
    await fsp.rm(link);
    await fsp.symlink(fifo, link);
    // A FIFO with a reader: the application's own backend opens it as the process would.
    const reader = fsp.open(fifo, "r");
    const h = await local.open(link, OpenFlags.WRITE, {});
    await local.write(h, 0, new TextEncoder().encode("through"));
    await local.close(h);
    const fh = await reader;
    const buf = new Uint8Array(16);
    const { bytesRead } = await fh.read(buf, 0, 16, null);
    await fh.close();
    assert.equal(new TextDecoder().decode(buf.subarray(0, bytesRead)), "through");
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});

test("a symbolic link's size is the length of the target readlink() shows, never the host path's", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-fs-linksize-"));
  try {
    const backend = new FsBackend({ root });
    await backend.symlink("/target.txt", "/in");
    await fsp.symlink("/etc/passwd", join(root, "out")); // the host's own: leads outside
    await fsp.symlink("rel/x", join(root, "rel-link"));
    assert.equal(await backend.readlink("/in"), "/target.txt");
    assert.equal((await backend.lstat("/in")).size, "/target.txt".length);
    assert.equal((await backend.lstat("/out")).size, 0, "nothing about the host path");
    assert.equal((await backend.lstat("/rel-link")).size, "rel/x".length);
    const h = await backend.opendir("/");
    const sizes = new Map<string, number | undefined>();
    for (let batch; (batch = await backend.readdir(h)) !== null;) {
      for (const e of batch) sizes.set(e.filename, e.attrs.size);
    }
    await backend.close(h);
    assert.equal(sizes.get("in"), "/target.txt".length);
    assert.equal(sizes.get("out"), 0);
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("a path through a file is 'no such file', as OpenSSH's sftp-server says (ENOTDIR)", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-fs-enotdir-"));
  try {
    await fsp.writeFile(join(root, "f"), "x");
    const backend = new FsBackend({ root });
    for (const call of [() => backend.stat("/f/sub"), () => backend.opendir("/f")]) {
      await assert.rejects(call(), (e: SFTPError) => e.status === SFTPStatus.NO_SUCH_FILE);
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("listen({ sftp: { root } }) with a root that is not there: the session fails and the log says why", async () => {
  const missing = join(tmpdir(), `sshts-no-root-${process.pid}-${Date.now()}`);
  const warnings: string[] = [];
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    logger: { warn: (m) => warnings.push(m) },
    sftp: { root: missing },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
    clientKeys: [],
  });
  const e = await conn.startSftp().then(() => undefined, (e) => e as Error);
  assert.ok(e instanceof Error, "no SFTP session over a missing root");
  assert.doesNotMatch(String(e.message), new RegExp(missing), "the client is not told the path");
  // The operator is: the system's error, with the path (sshd logs its ChrootDirectory's).
  const line = warnings.find((w) => w.includes("The served directory is not available"));
  assert.ok(line, warnings.join("\n"));
  assert.match(line, /caused by: .*ENOENT/);
  assert.ok(line.includes(missing));
});

test("syncLookups: false (lookups through the thread pool) answers as the default does, jail included", async () => {
  const base = await fsp.mkdtemp(join(tmpdir(), "sshts-fsb-lookups-"));
  try {
    const root = join(base, "root");
    await fsp.mkdir(join(root, "sub"), { recursive: true });
    await fsp.writeFile(join(root, "sub", "f.txt"), "hello");
    await fsp.writeFile(join(base, "secret.txt"), SECRET);
    await fsp.symlink("sub/f.txt", join(root, "in"));
    await fsp.symlink(join(base, "secret.txt"), join(root, "out"));
    await fsp.symlink("sub", join(root, "subdir"));
    const answers = async (b: FsBackend) => {
      const outcome = async (f: () => Promise<unknown>) => {
        try {
          return JSON.stringify(await f());
        } catch (e) {
          return `status ${(e as SFTPError).status}`;
        }
      };
      const out: string[] = [];
      for (const p of ["/sub/f.txt", "/in", "/out", "/subdir/f.txt", "/nope", "/sub/nope/x"]) {
        out.push(await outcome(() => b.stat(p).then((a) => [a.size, a.permissions])));
        out.push(await outcome(() => b.lstat(p).then((a) => a.permissions)));
        out.push(await outcome(() => b.realpath(p)));
      }
      const h = await b.opendir("/sub");
      out.push(JSON.stringify((await b.readdir(h))?.map((e) => e.filename).sort()));
      await b.close(h);
      return out;
    };
    const sync = await answers(new FsBackend({ root }));
    assert.deepEqual(await answers(new FsBackend({ root, syncLookups: false })), sync);
    // The jail holds in both: the link out is refused, never followed.
    assert.equal(sync[6], `status ${SFTPStatus.PERMISSION_DENIED}`);
    assert.equal(sync[0], JSON.stringify([5, 0o100644]));
  } finally {
    await fsp.rm(base, { recursive: true, force: true });
  }
});
