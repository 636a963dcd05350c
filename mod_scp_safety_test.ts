/**
 * scp() where a mistake loses data, through the package entry point: local sources mixed
 * with remote ones into a local destination (refused, not skipped), a remote file copied
 * onto itself (one connection or two to one server, both protocols: refused before the
 * target is opened, the source kept), look-alike files in two jails of one server (still
 * copied), and a directory without owner write copied between two connections.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  connect,
  type FileAttributes,
  generatePrivateKey,
  listen,
  type ListenOptions,
  MemoryBackend,
  type MemoryHandle,
  OpenFlags,
  scp,
  SCPError,
  SFTPError,
  SFTPStatus,
  type SSHClientConnection,
} from "./mod.ts";

const hostKey = generatePrivateKey("ed25519");

async function tempDir(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-scp-safety-"));
}

/**
 * A server on 127.0.0.1 (options as given, any password) and a client logging in to it as
 * `user`, as many times as asked.
 */
async function withServer(
  options: Partial<ListenOptions>,
  fn: (login: (user?: string) => Promise<SSHClientConnection>) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
  const opened: SSHClientConnection[] = [];
  const login = async (username = "u") => {
    const c = await connect("127.0.0.1", {
      port: server.address.port,
      username,
      password: "pw",
      knownHosts: null,
      clientKeys: [],
      config: false,
    });
    opened.push(c);
    return c;
  };
  try {
    await fn(login);
  } finally {
    for (const c of opened) await c.close();
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

const usage = (re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof SCPError, String(e));
  assert.equal(e.reason, "usage");
  assert.match(e.message, re);
  return true;
};

for (const protocol of ["sftp", "scp"] as const) {
  test(`scp() ${protocol}: a local source with a local destination is refused before anything is copied`, async () => {
    const root = await tempDir();
    const local = await tempDir();
    try {
      await fsp.writeFile(join(root, "remote.txt"), "remote\n");
      await fsp.writeFile(join(local, "local.txt"), "local\n");
      await fsp.mkdir(join(local, "out"));
      await withServer({ scp: { root }, sftp: { root } }, async (login) => {
        const conn = await login();
        // Before, the local source was skipped and the call resolved with only remote.txt.
        for (
          const sources of [
            [join(local, "local.txt"), [conn, "/remote.txt"] as const],
            [[conn, "/remote.txt"] as const, join(local, "local.txt")],
          ]
        ) {
          await assert.rejects(
            scp(sources, join(local, "out"), { protocol }),
            usage(/local\.txt: a local source needs a remote destination/),
          );
          assert.deepEqual(await fsp.readdir(join(local, "out")), []);
        }
        // Mixed sources into a remote destination are fine.
        await fsp.mkdir(join(root, "in"));
        await scp([join(local, "local.txt"), [conn, "/remote.txt"]], [conn, "/in"], { protocol });
        assert.deepEqual((await fsp.readdir(join(root, "in"))).sort(), ["local.txt", "remote.txt"]);
      });
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
      await fsp.rm(local, { recursive: true, force: true });
    }
  });
}

test("scp() legacy: a remote file copied onto itself on one connection is refused and kept", async () => {
  const root = await tempDir();
  const body = pattern(300_000, 5);
  try {
    await fsp.writeFile(join(root, "f.bin"), body);
    await fsp.mkdir(join(root, "d"));
    await fsp.symlink("f.bin", join(root, "alias.bin"));
    // With SFTP beside scp the servers' canonical paths are compared (a link too); a
    // legacy-only server leaves the paths as written.
    for (const sftp of [true, false]) {
      await withServer({ scp: { root }, ...(sftp ? { sftp: { root } } : {}) }, async (login) => {
        const conn = await login();
        const cases: [string, string][] = [
          ["/f.bin", "/f.bin"],
          ["/f.bin", "/"],
          ["f.bin", "./d/../f.bin"],
          ["/*.bin", "/"],
        ];
        if (sftp) cases.push(["/alias.bin", "/f.bin"], ["/f.bin", "/alias.bin"]);
        for (const [src, dst] of cases) {
          await assert.rejects(
            scp([conn, src], [conn, dst], { protocol: "scp" }),
            usage(/same file/),
            `${src} -> ${dst} (sftp: ${sftp})`,
          );
          // Before, `scp -t` truncated what `scp -f` read, and removed the rest afterwards.
          assert.deepEqual(new Uint8Array(await fsp.readFile(join(root, "f.bin"))), body);
        }
        // A directory into itself.
        await assert.rejects(
          scp([conn, "/d"], [conn, "/d/sub"], { protocol: "scp", recurse: true }),
          usage(/into itself/),
        );
        assert.deepEqual(await fsp.readdir(join(root, "d")), []);
        // With an errorHandler the refused source is skipped and the others copied.
        const failed: string[] = [];
        await fsp.writeFile(join(root, "g.txt"), "g\n");
        await scp([[conn, "/f.bin"], [conn, "/g.txt"]], [conn, "/d"], {
          protocol: "scp",
          errorHandler: (_e, path) => void failed.push(path),
        });
        assert.equal(failed.length, 0);
        await scp([[conn, "/d/f.bin"], [conn, "/g.txt"]], [conn, "/d"], {
          protocol: "scp",
          errorHandler: (_e, path) => void failed.push(path),
        });
        assert.deepEqual(failed, ["/d/f.bin"]);
        assert.deepEqual(new Uint8Array(await fsp.readFile(join(root, "d/f.bin"))), body);
        assert.equal(await fsp.readFile(join(root, "d/g.txt"), "utf8"), "g\n");
        await fsp.rm(join(root, "d"), { recursive: true });
        await fsp.rm(join(root, "g.txt"));
        await fsp.mkdir(join(root, "d"));
      });
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

for (const protocol of ["sftp", "scp"] as const) {
  test(`scp() ${protocol}: a file copied onto itself across two connections to one server is refused and kept`, async () => {
    const root = await tempDir();
    const body = pattern(300_000, 6);
    try {
      await fsp.writeFile(join(root, "f.bin"), body);
      await fsp.mkdir(join(root, "d"));
      await fsp.writeFile(join(root, "d/x.txt"), "x\n");
      await withServer({ scp: { root }, sftp: { root } }, async (login) => {
        const a = await login();
        const b = await login();
        for (const dst of ["/f.bin", "/"]) {
          await assert.rejects(scp([a, "/f.bin"], [b, dst], { protocol }), usage(/same file/));
          // Before: SFTP left 0 bytes, legacy removed the file.
          assert.deepEqual(new Uint8Array(await fsp.readFile(join(root, "f.bin"))), body);
        }
        await assert.rejects(
          scp([a, "/d"], [b, "/d"], { protocol, recurse: true }),
          usage(/into itself|same file/),
        );
        await assert.rejects(
          scp([a, "/d"], [b, "/"], { protocol, recurse: true }),
          usage(/same file/),
        );
        assert.deepEqual(await fsp.readdir(join(root, "d")), ["x.txt"]);
        assert.equal(await fsp.readFile(join(root, "d/x.txt"), "utf8"), "x\n");
        // Another name on the same server is copied as usual.
        await scp([a, "/f.bin"], [b, "/g.bin"], { protocol });
        assert.deepEqual(new Uint8Array(await fsp.readFile(join(root, "g.bin"))), body);
      });
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  });

  test(`scp() ${protocol}: look-alike files in two jails of one server are still copied`, async () => {
    const ra = await tempDir();
    const rb = await tempDir();
    try {
      // One path, size, mode, owner and times in each jail (as a copy made with preserve).
      await fsp.writeFile(join(ra, "f.txt"), "AAAA\n");
      await fsp.writeFile(join(rb, "f.txt"), "BBBB\n");
      for (const r of [ra, rb]) {
        await fsp.chmod(join(r, "f.txt"), 0o644);
        await fsp.utimes(join(r, "f.txt"), 1_600_000_000, 1_500_000_000);
      }
      const jail = (c: { username?: string | undefined }) => ({
        root: c.username === "a" ? ra : rb,
      });
      await withServer({ scp: jail, sftp: jail }, async (login) => {
        const a = await login("a");
        const b = await login("b");
        await scp([a, "/f.txt"], [b, "/f.txt"], { protocol });
        assert.equal(await fsp.readFile(join(rb, "f.txt"), "utf8"), "AAAA\n");
        assert.equal(await fsp.readFile(join(ra, "f.txt"), "utf8"), "AAAA\n");
      });
    } finally {
      await fsp.rm(ra, { recursive: true, force: true });
      await fsp.rm(rb, { recursive: true, force: true });
    }
  });
}

/**
 * A MemoryBackend that refuses to create entries in a directory without owner write, as
 * the file system does for a user other than root (the tests may run as root).
 */
class OwnerWriteBackend extends MemoryBackend {
  async #writable(path: string): Promise<void> {
    const parent = path.replace(/\/[^/]*$/, "") || "/";
    const p = (await this.stat(parent)).permissions ?? 0;
    if ((p & 0o200) === 0) {
      throw new SFTPError(SFTPStatus.PERMISSION_DENIED, "Permission denied", { path });
    }
  }

  override async open(path: string, flags: number, attrs: FileAttributes): Promise<MemoryHandle> {
    if (flags & OpenFlags.CREAT) await this.#writable(path);
    return await super.open(path, flags, attrs);
  }

  override async mkdir(path: string, attrs: FileAttributes): Promise<void> {
    await this.#writable(path);
    return await super.mkdir(path, attrs);
  }
}

test("scp() sftp: a directory without owner write is copied between two connections", async () => {
  const from = new MemoryBackend();
  await from.mkdir("/ro", {});
  const h = await from.open("/ro/a.txt", OpenFlags.WRITE | OpenFlags.CREAT, {});
  await from.write(h, 0, new TextEncoder().encode("hello\n"));
  await from.close(h);
  await from.mkdir("/ro/sub", {});
  await from.setstat("/ro/sub", { permissions: 0o500 });
  await from.setstat("/ro", { permissions: 0o555 });
  const to = new OwnerWriteBackend();
  await to.mkdir("/d1", {});
  await to.mkdir("/d2", {});
  const pick = (c: { username?: string | undefined }) => ({
    backend: c.username === "a" ? from : to,
  });
  await withServer({ sftp: pick }, async (login) => {
    const a = await login("a");
    const b = await login("b");
    for (const [preserve, dir] of [[false, "/d1"], [true, "/d2"]] as const) {
      // Before, the directory was made 0o555 first and its children were refused.
      await scp([a, "/ro"], [b, dir], { protocol: "sftp", recurse: true, preserve });
      const st = await to.stat(`${dir}/ro`);
      assert.equal((st.permissions ?? 0) & 0o777, 0o555, `${dir} preserve: ${preserve}`);
      assert.equal((await to.stat(`${dir}/ro/sub`)).permissions! & 0o777, 0o500);
      const r = await to.open(`${dir}/ro/a.txt`, OpenFlags.READ, {});
      assert.equal(new TextDecoder().decode((await to.read(r, 0, 100))!), "hello\n");
      await to.close(r);
    }
  });
});

for (const protocol of ["scp", "sftp"] as const) {
  test(`scp() ${protocol}: a download to /dev/null reads the file through and leaves the device alone`, async () => {
    const backend = new MemoryBackend();
    backend.writeFile("/f.bin", new Uint8Array(300_000).fill(1));
    await withServer({ sftp: { backend }, scp: { backend } }, async (login) => {
      const conn = await login();
      const before = await fsp.stat("/dev/null");
      await scp([conn, "/f.bin"], "/dev/null", { protocol, preserve: true });
      const after = await fsp.stat("/dev/null");
      assert.ok(after.isCharacterDevice());
      assert.equal(after.mode, before.mode);
    });
  });
}

test("scp() legacy: a directory without owner write arrives with its own mode once its files are in", async () => {
  const dir = await tempDir();
  try {
    const backend = new MemoryBackend();
    await withServer({ sftp: { backend }, scp: { backend } }, async (login) => {
      const conn = await login();
      {
        await using sftp = await conn.startSftp();
        await sftp.mkdir("/ro");
        await sftp.writeFile("/ro/a.txt", "a");
        await sftp.chmod("/ro", 0o555);
      }
      await scp([conn, "/ro"], join(dir, "ro"), { protocol: "scp", recurse: true });
      assert.equal(await fsp.readFile(join(dir, "ro", "a.txt"), "utf8"), "a");
      assert.equal((await fsp.stat(join(dir, "ro"))).mode & 0o777, 0o555);
    });
  } finally {
    await fsp.chmod(join(dir, "ro"), 0o755).catch(() => {});
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
