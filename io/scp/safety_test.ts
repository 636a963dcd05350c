/**
 * What a legacy SCP transfer cut mid-file leaves behind: the sink removes only a regular
 * file it created or truncated, never unlinks a device, FIFO or socket (nor truncates
 * one), and keeps a symbolic link it wrote through (emptying the file it leads to); and
 * a cut relayed or scpSend() upload rejects only once the remote side ended, so that
 * its partial file is gone by then.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { generatePrivateKey } from "../../keys/generate.ts";
import type { FileAttributes } from "../../sftp/attrs.ts";
import { OpenFlags } from "../../sftp/constants.ts";
import { MemoryBackend, type MemoryHandle } from "../../sftp/memory_backend.ts";
import { SCPError } from "../../sftp/scp/records.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ListenOptions } from "../server/options.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { listen } from "../server/listen.ts";
import { BackendTarget } from "./backend_io.ts";
import { startRemoteScp } from "./remote.ts";
import { scp } from "./scp.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-scp-safety-"));
}

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    clientKeys: [],
    config: false,
  });
  await fn(conn);
}

/**
 * A `scp -f` that announces `a.txt` of 100 bytes, sends 50 and exits: a transfer cut
 * mid-file.
 */
async function cutSource(p: SSHServerProcess): Promise<void> {
  const r = p.stdin.getReader();
  await r.read(); // the sink's first "ready"
  await p.channel.write(enc.encode("C0644 100 a.txt\n"));
  await p.channel.write(enc.encode("x".repeat(50)));
  r.releaseLock();
  p.exit(0);
}

test("client: a download cut mid-file through a symbolic link keeps the link and empties its target", async () => {
  const dir = await tempDir();
  try {
    const real = join(dir, "real.txt");
    const link = join(dir, "link.txt");
    await fsp.writeFile(real, "old contents\n");
    await fsp.symlink(real, link);
    let err: unknown;
    await withServer({ processFactory: cutSource }, async (conn) => {
      err = await scp([conn, "a.txt"], link, { protocol: "scp" }).then(() => undefined, (e) => e);
    });
    assert.ok(err instanceof SCPError, String(err));
    assert.equal(err.reason, "cut");
    assert.match(err.message, /link\.txt" is a symbolic link: it was kept/);
    // Before, the link was removed and its target kept 50 bytes of the cut transfer.
    assert.ok((await fsp.lstat(link)).isSymbolicLink());
    assert.equal(await fsp.readlink(link), real);
    assert.equal((await fsp.stat(real)).size, 0);
    // A regular file is still removed.
    await fsp.writeFile(join(dir, "plain.txt"), "old\n");
    await withServer({ processFactory: cutSource }, async (conn) => {
      err = await scp([conn, "a.txt"], join(dir, "plain.txt"), { protocol: "scp" }).then(
        () => undefined,
        (e) => e,
      );
    });
    assert.ok(err instanceof SCPError && err.reason === "cut", String(err));
    assert.match(err.message, /was removed/);
    assert.deepEqual((await fsp.readdir(dir)).sort(), ["link.txt", "real.txt"]);
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test("client: a download cut mid-file onto a device node or FIFO leaves the node in place", async () => {
  const dir = await tempDir();
  try {
    const node = join(dir, "node");
    const root = process.getuid?.() === 0;
    if (root) {
      // Like /dev/null (character device 1, 3).
      const r = spawnSync("mknod", [node, "c", "1", "3"]);
      assert.equal(r.status, 0, String(r.stderr));
    } else {
      console.log("not root: a FIFO stands in for the device node (mknod needs root)");
      const r = spawnSync("mkfifo", [node]);
      assert.equal(r.status, 0, String(r.stderr));
    }
    await withServer({ processFactory: cutSource }, async (conn) => {
      await assert.rejects(scp([conn, "a.txt"], node, { protocol: "scp" }), SCPError);
    });
    // Before, the cut file's clean-up unlinked whatever was at the path.
    const st = await fsp.lstat(node);
    assert.ok(root ? st.isCharacterDevice() : st.isFIFO());
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

/**
 * A MemoryBackend where `/dev-null` is a character device (as the file system reports
 * /dev/null): writes are taken, and every open, fsetstat and remove is recorded.
 */
class DeviceBackend extends MemoryBackend {
  readonly opens: number[] = [];
  readonly removed: string[] = [];
  readonly fsetstats: FileAttributes[] = [];
  readonly #devices = new Set<MemoryHandle>();

  static async create(): Promise<DeviceBackend> {
    const b = new DeviceBackend();
    await b.mkdir("/dev", {});
    await b.close(await b.open("/dev-null", OpenFlags.WRITE | OpenFlags.CREAT, {}));
    b.opens.length = 0;
    return b;
  }

  #device(a: FileAttributes): FileAttributes {
    return { ...a, size: 0, permissions: 0o020666 };
  }

  override async open(path: string, flags: number, attrs: FileAttributes): Promise<MemoryHandle> {
    this.opens.push(flags);
    const h = await super.open(path, flags, attrs);
    if (path === "/dev-null") this.#devices.add(h);
    return h;
  }

  override async lstat(path: string): Promise<FileAttributes> {
    const a = await super.lstat(path);
    return path === "/dev-null" ? this.#device(a) : a;
  }

  override async stat(path: string): Promise<FileAttributes> {
    const a = await super.stat(path);
    return path === "/dev-null" ? this.#device(a) : a;
  }

  override async fstat(h: MemoryHandle): Promise<FileAttributes> {
    const a = await super.fstat(h);
    return this.#devices.has(h) ? this.#device(a) : a;
  }

  override async fsetstat(h: MemoryHandle, attrs: FileAttributes): Promise<void> {
    this.fsetstats.push(attrs);
    return await super.fsetstat(h, attrs);
  }

  override async remove(path: string): Promise<void> {
    this.removed.push(path);
    return await super.remove(path);
  }
}

test("BackendTarget: a cut file is removed only when it is a regular file; a link stays, a device is untouched", async () => {
  const b = await DeviceBackend.create();
  // A device: opened without truncation, never removed, its mode and times left alone.
  const dev = await BackendTarget.open(b, "/dev-null", { preserve: true });
  let f = await dev.openFile([], "a.txt", 0o600, 100, { mtime: 1, atime: 1 });
  assert.equal(b.opens.at(-1)! & OpenFlags.TRUNC, 0);
  await f.write(new Uint8Array(50));
  assert.equal(await f.abort(), "left");
  assert.deepEqual(b.removed, []);
  assert.deepEqual(b.fsetstats, []);
  f = await (await BackendTarget.open(b, "/dev-null", { preserve: true }))
    .openFile([], "a.txt", 0o600, 4, { mtime: 1, atime: 1 });
  await f.write(new Uint8Array(4));
  await f.finish();
  assert.deepEqual(b.fsetstats, []);
  assert.ok(await b.lstat("/dev-null"));

  // A symbolic link to a regular file: written through; the link stays, the file is emptied.
  await b.close(await b.open("/file", OpenFlags.WRITE | OpenFlags.CREAT, {}));
  await b.symlink("/file", "/link");
  f = await (await BackendTarget.open(b, "/link")).openFile([], "a.txt", 0o644, 100, undefined);
  await f.write(new Uint8Array(50).fill(7));
  assert.equal(await f.abort(), "emptied");
  assert.deepEqual(b.removed, []);
  assert.equal(await b.readlink("/link"), "/file");
  assert.equal((await b.stat("/file")).size, 0);

  // A regular file this transfer created: removed.
  f = await (await BackendTarget.open(b, "/dev")).openFile([], "new.txt", 0o644, 100, undefined);
  await f.write(new Uint8Array(50));
  assert.equal(await f.abort(), "removed");
  assert.deepEqual(b.removed, ["/dev/new.txt"]);
});

test("scpSend() closed early rejects once the server removed the partial file; a link there is kept", async () => {
  const root = await tempDir();
  try {
    await fsp.writeFile(join(root, "real.txt"), "old\n");
    await fsp.symlink(join(root, "real.txt"), join(root, "link.txt"));
    await withServer({ scp: { root } }, async (conn) => {
      const w = await conn.scpSend("/p.bin", { size: 100 });
      const writer = w.getWriter();
      await writer.write(new Uint8Array(50));
      await assert.rejects(writer.close(), SCPError);
      // No wait: the server ended (and removed the partial file) before the rejection.
      await assert.rejects(fsp.lstat(join(root, "p.bin")), { code: "ENOENT" });

      const w2 = await conn.scpSend("/link.txt", { size: 100 });
      const writer2 = w2.getWriter();
      await writer2.write(new Uint8Array(50));
      await assert.rejects(writer2.close(), SCPError);
      // Before, the server removed the link and left 50 bytes in its target.
      assert.ok((await fsp.lstat(join(root, "link.txt"))).isSymbolicLink());
      assert.equal((await fsp.stat(join(root, "real.txt"))).size, 0);
    });
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("scp() legacy relay: a source cut mid-file rejects once the destination removed its partial file", async () => {
  const root = await tempDir();
  try {
    await withServer({ processFactory: cutSource }, async (from) => {
      await withServer({ scp: { root } }, async (to) => {
        const e = await scp([from, "a.txt"], [to, "/"], { protocol: "scp" }).then(
          () => undefined,
          (x) => x,
        );
        assert.ok(e instanceof SCPError && e.reason === "cut", String(e));
        assert.match(e.message, /cut short at the destination/);
        // No wait: the destination's `scp -t` ended before the rejection.
        assert.deepEqual(await fsp.readdir(root), []);
      });
    });
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("client: a cut transfer stops waiting for a remote scp that never ends, and closes its channel", async () => {
  let channelClosed: Promise<void> | undefined;
  await withServer({
    processFactory: async (p) => {
      channelClosed = p.channel.closedPromise;
      await p.channel.write(new Uint8Array([0])); // ready
      for await (const _ of p.stdin) { /* reads to EOF, then neither exits nor closes */ }
      await channelClosed;
    },
  }, async (conn) => {
    const r = await startRemoteScp(conn, { mode: "to", paths: ["x"], cutGraceMs: 100 });
    let guard: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      r.cut().then(() => "returned"),
      new Promise((res) => (guard = setTimeout(() => res("still waiting after 10 s"), 10_000))),
    ]);
    clearTimeout(guard);
    assert.equal(outcome, "returned");
    await channelClosed; // our CLOSE reached the server
  });
});
