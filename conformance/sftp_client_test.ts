/**
 * Our SFTP client against real servers: OpenSSH 9.2's and 10.x's
 * `sftp-server`, and Dropbear (which runs the system's `sftp-server` through
 * its compiled-in /usr/lib/sftp-server, here a link to OpenSSH 9.2's). Every
 * client operation, checked on the server's disk; a large get and put
 * hash-checked with memory sampled (1 GiB on Node, 64 MiB on Deno and Bun to
 * keep CI time down); and a transfer resumed after the connection was cut.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { conformanceTest, type PeerFixture, type PeerName } from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { fastCipher, login } from "./client_peer.ts";
import type { SSHClientConnection } from "../io/client/connection.ts";
import type { SFTPClient } from "../io/sftp/client.ts";
import { SFTPError } from "../sftp/errors.ts";
import { SFTPStatus } from "../sftp/constants.ts";
import { hex, hostNames, makeHostFile } from "../io/sftp/_byte_names_test_util.ts";

const PEERS: readonly PeerName[] = ["openssh", "openssh-trixie", "dropbear"];
const IS_NODE = !("Deno" in globalThis) && !("Bun" in globalThis);
/** 1 GiB on Node; the other runtimes move 64 MiB to keep CI time down. */
const BIG = IS_NODE ? 1024 * 1024 * 1024 : 64 * 1024 * 1024;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A fresh directory in the test user's home: its path for the server and on this machine. */
async function workDir(
  f: PeerFixture,
  sftp: SFTPClient,
): Promise<{ remote: string; host: string }> {
  const name = `sftp-${process.pid}-${randomBytes(4).toString("hex")}`;
  await sftp.mkdir(`${f.user.home}/${name}`);
  return { remote: `${f.user.home}/${name}`, host: join(f.user.hostHome, name) };
}

/** Logs in with the runtime's fastest cipher (Dropbear has no AES-GCM: its defaults there). */
function connectFast(f: PeerFixture): Promise<SSHClientConnection> {
  return f.peer === "dropbear" ? login(f) : login(f, { encryptionAlgs: [fastCipher()] });
}

/** Writes `size` deterministic pseudo-random bytes to `path` and returns their SHA-256. */
async function makeFile(path: string, size: number, seed: number): Promise<string> {
  const block = new Uint8Array(1024 * 1024);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    block[i] = x;
    block[i + 1] = x >>> 8;
    block[i + 2] = x >>> 16;
    block[i + 3] = x >>> 24;
  }
  const h = createHash("sha256");
  const fh = await fsp.open(path, "w");
  try {
    for (let off = 0; off < size; off += block.length) {
      const n = Math.min(block.length, size - off);
      block[0] = off / block.length; // each block differs
      const part = block.subarray(0, n);
      h.update(part);
      await fh.write(part, 0, n, off);
    }
  } finally {
    await fh.close();
  }
  return h.digest("hex");
}

async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  const fh = await fsp.open(path, "r");
  try {
    const buf = new Uint8Array(4 * 1024 * 1024);
    for (let off = 0;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, off);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      off += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h.digest("hex");
}

for (const peer of PEERS) {
  conformanceTest(
    `SFTP client: every operation against ${peer}'s sftp-server`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connectFast(f);
      await using sftp = await conn.startSftp();
      for (
        const ext of [
          "posix-rename@openssh.com",
          "statvfs@openssh.com",
          "fstatvfs@openssh.com",
          "hardlink@openssh.com",
          "fsync@openssh.com",
          "lsetstat@openssh.com",
          "limits@openssh.com",
          "expand-path@openssh.com",
          "copy-data",
          "home-directory",
          "users-groups-by-id@openssh.com",
        ]
      ) assert.ok(sftp.extensions.has(ext), `${peer} announces ${ext}`);
      assert.deepEqual(sftp.requestSize, { read: 261120, write: 261120 });
      const { remote, host } = await workDir(f, sftp);
      const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-conf-"));
      try {
        // Paths and the home directory.
        assert.equal(await sftp.realpath("."), f.user.home);
        assert.equal(await sftp.homeDirectory(), f.user.home);
        assert.equal(await sftp.expandPath("~"), f.user.home);
        assert.equal(await sftp.expandPath(`~/${remote.split("/").pop()}`), remote);
        assert.ok((await sftp.statvfs(remote)).bsize > 0);
        const { users } = await sftp.usersGroupsById([f.user.uid], [f.user.gid]);
        assert.equal(users[0], f.user.name);

        // A file handle: write, read, stat, setstat, fsync, fstatvfs, streams.
        {
          await using fh = await sftp.open(`${remote}/a.txt`, "w+", { permissions: 0o600 });
          await fh.write(enc.encode("hello, sftp"));
          assert.equal(dec.decode(await fh.read(5, 7)), "sftp");
          assert.equal((await fh.stat()).size, 11);
          const w = fh.writable({ start: 11 });
          const writer = w.getWriter();
          await writer.write(enc.encode("!\n"));
          await writer.close();
          assert.equal(await new Response(fh.readable({ start: 0 })).text(), "hello, sftp!\n");
          await fh.chmod(0o640);
          await fh.utime(1_000_000, 1_234_567);
          await fh.fsync();
          assert.ok((await fh.statvfs()).blocks > 0);
        }
        assert.equal(await fsp.readFile(join(host, "a.txt"), "utf8"), "hello, sftp!\n");
        const st = await fsp.stat(join(host, "a.txt"));
        assert.equal(st.mode & 0o777, 0o640);
        assert.equal(Math.floor(st.mtimeMs / 1000), 1_234_567);

        // Attributes by path.
        await sftp.chmod(`${remote}/a.txt`, 0o604);
        await sftp.utime(`${remote}/a.txt`, 10, 20);
        await sftp.chown(`${remote}/a.txt`, f.user.uid, f.user.gid);
        const a = await sftp.stat(`${remote}/a.txt`);
        assert.equal(a.permissions! & 0o777, 0o604);
        assert.equal(a.mtime, 20);
        assert.equal(a.uid, f.user.uid);
        assert.equal(await sftp.exists(`${remote}/a.txt`), true);
        assert.equal(await sftp.isFile(`${remote}/a.txt`), true);
        assert.equal(await sftp.isDir(remote), true);
        assert.equal(await sftp.exists(`${remote}/nope`), false);
        await assert.rejects(
          sftp.stat(`${remote}/nope`),
          (e) => e instanceof SFTPError && e.status === SFTPStatus.NO_SUCH_FILE,
        );

        // Links.
        await sftp.symlink("a.txt", `${remote}/link`);
        assert.equal(await sftp.readlink(`${remote}/link`), "a.txt");
        assert.equal(await fsp.readlink(join(host, "link")), "a.txt");
        assert.equal(await sftp.isLink(`${remote}/link`), true);
        await sftp.setstat(`${remote}/link`, { atime: 5, mtime: 6 }, { followSymlinks: false });
        assert.equal((await sftp.lstat(`${remote}/link`)).mtime, 6);
        await sftp.hardlink(`${remote}/a.txt`, `${remote}/hard`);
        assert.equal(
          (await fsp.stat(join(host, "hard"))).ino,
          (await fsp.stat(join(host, "a.txt"))).ino,
        );
        assert.equal(await sftp.realpath(`${remote}/./link/..`), remote);

        // Directories, renames, listing, globs.
        await sftp.makedirs(`${remote}/d1/d2/d3`, 0o755);
        assert.equal((await fsp.stat(join(host, "d1", "d2", "d3"))).isDirectory(), true);
        await sftp.mkdir(`${remote}/gone`);
        await sftp.rmdir(`${remote}/gone`);
        for (const n of ["x.log", "y.log", "z.txt"]) {
          await fsp.writeFile(join(host, "d1", n), n);
          await fsp.chown(join(host, "d1", n), f.user.uid, f.user.gid).catch(() => {});
        }
        assert.deepEqual((await sftp.listdir(`${remote}/d1`)).sort(), [
          "d2",
          "x.log",
          "y.log",
          "z.txt",
        ]);
        const longnames: string[] = [];
        for await (const e of sftp.readdir(`${remote}/d1`)) longnames.push(e.longname);
        assert.ok(longnames.some((l) => /^-rw.* x\.log$/.test(l)), longnames.join("\n"));
        assert.deepEqual(await sftp.glob(`${remote}/d1/*.log`), [
          `${remote}/d1/x.log`,
          `${remote}/d1/y.log`,
        ]);
        assert.deepEqual(await sftp.glob(`${remote}/*/d2`), [`${remote}/d1/d2`]);
        await sftp.rename(`${remote}/d1/x.log`, `${remote}/d1/y.log`); // posix-rename replaces
        assert.equal(await fsp.readFile(join(host, "d1", "y.log"), "utf8"), "x.log");
        await assert.rejects(
          sftp.rename(`${remote}/d1/y.log`, `${remote}/d1/z.txt`, { overwrite: false }),
          SFTPError,
        );
        await sftp.rename(`${remote}/d1/y.log`, `${remote}/d1/w.log`, { overwrite: false });
        await sftp.remove(`${remote}/hard`);
        await sftp.truncate(`${remote}/d1/w.log`, 2);
        assert.equal(await fsp.readFile(join(host, "d1", "w.log"), "utf8"), "x.");

        // Transfers: put, get, copy (copy-data), m* with globs, recursion, preserve.
        const data = randomBytes(3_000_000);
        await fsp.writeFile(join(local, "blob.bin"), data);
        await fsp.utimes(join(local, "blob.bin"), 2_000_000, 2_000_000);
        await sftp.put(join(local, "blob.bin"), remote, { preserve: true });
        assert.deepEqual(await fsp.readFile(join(host, "blob.bin")), data);
        assert.equal(
          Math.floor((await fsp.stat(join(host, "blob.bin"))).mtimeMs / 1000),
          2_000_000,
        );
        await sftp.copy(`${remote}/blob.bin`, `${remote}/copy.bin`);
        assert.deepEqual(await fsp.readFile(join(host, "copy.bin")), data);
        await sftp.get(`${remote}/copy.bin`, join(local, "back.bin"));
        assert.deepEqual(await fsp.readFile(join(local, "back.bin")), data);
        await fsp.mkdir(join(local, "tree", "sub"), { recursive: true });
        await fsp.writeFile(join(local, "tree", "t1.txt"), "one");
        await fsp.writeFile(join(local, "tree", "sub", "t2.txt"), "two");
        await sftp.put(join(local, "tree"), `${remote}/tree`, { recurse: true, preserve: true });
        assert.equal(await fsp.readFile(join(host, "tree", "sub", "t2.txt"), "utf8"), "two");
        await sftp.get(`${remote}/tree`, join(local, "tree-back"), { recurse: true });
        assert.equal(await fsp.readFile(join(local, "tree-back", "sub", "t2.txt"), "utf8"), "two");
        await sftp.mkdir(`${remote}/many`);
        await sftp.mput(join(local, "tree", "*.txt"), `${remote}/many`);
        await sftp.mcopy(`${remote}/tree/sub/*.txt`, `${remote}/many`);
        assert.deepEqual((await fsp.readdir(join(host, "many"))).sort(), ["t1.txt", "t2.txt"]);
        await fsp.mkdir(join(local, "m"));
        await sftp.mget(`${remote}/many/t*.txt`, join(local, "m"));
        assert.deepEqual((await fsp.readdir(join(local, "m"))).sort(), ["t1.txt", "t2.txt"]);

        // followSymlinks: false moves links as links; an AbortSignal stops a transfer and
        // leaves a whole prefix.
        await fsp.symlink("blob.bin", join(local, "blob.link"));
        await sftp.put(join(local, "blob.link"), `${remote}/blob.link`, { followSymlinks: false });
        assert.equal(await fsp.readlink(join(host, "blob.link")), "blob.bin");
        await sftp.get(`${remote}/blob.link`, join(local, "link-back"), { followSymlinks: false });
        assert.equal(await fsp.readlink(join(local, "link-back")), "blob.bin");
        const ac = new AbortController();
        await assert.rejects(
          sftp.get(`${remote}/blob.bin`, join(local, "cut.bin"), {
            signal: ac.signal,
            onProgress: (done) => void (done > 500_000 && ac.abort(new Error("stop here"))),
          }),
          /stop here/,
        );
        const cut = await fsp.readFile(join(local, "cut.bin"));
        assert.ok(cut.length > 0 && cut.length < data.length, `cut at ${cut.length}`);
        assert.deepEqual(cut, data.subarray(0, cut.length));

        await sftp.rmtree(remote);
        assert.equal(await fsp.stat(host).catch(() => null), null);
      } finally {
        await fsp.rm(local, { recursive: true, force: true });
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}

/** Collects garbage where a script may ask (Bun always; Node and Deno with --expose-gc). */
function collectGarbage(): void {
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

for (const peer of PEERS) {
  conformanceTest(
    `SFTP client: readFile, writeFile and appendFile against ${peer}'s sftp-server`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connectFast(f);
      await using sftp = await conn.startSftp();
      const { remote, host } = await workDir(f, sftp);
      try {
        const data = randomBytes(3 * 1024 * 1024 + 5);
        await sftp.writeFile(`${remote}/w.bin`, data, { mode: 0o640 });
        assert.ok(data.equals(await fsp.readFile(join(host, "w.bin"))), "written on disk");
        assert.equal((await fsp.stat(join(host, "w.bin"))).mode & 0o777, 0o640);
        assert.ok(data.equals(await sftp.readFile(`${remote}/w.bin`)), "read back");
        await sftp.appendFile(`${remote}/log.txt`, "one\n");
        await sftp.appendFile(`${remote}/log.txt`, "two\n");
        assert.equal(await fsp.readFile(join(host, "log.txt"), "utf8"), "one\ntwo\n");
        assert.equal(await sftp.readFile(`${remote}/log.txt`, { encoding: "utf-8" }), "one\ntwo\n");
        await assert.rejects(sftp.writeFile(`${remote}/log.txt`, "x", { flag: "wx" }), SFTPError);
        await assert.rejects(sftp.readFile(`${remote}/w.bin`, { maxBytes: 1000 }), /maxBytes/);
        if (peer === "openssh") {
          // A file that reports size 0 and has content: read to end of file all the same.
          assert.equal((await sftp.stat("/proc/self/status")).size, 0);
          const status = await sftp.readFile("/proc/self/status", { encoding: "utf-8" });
          assert.match(status, /^Name:\s+sftp-server$/m);
          await using fh = await sftp.open("/proc/self/status");
          assert.match(dec.decode(await fh.read()), /^Name:\s+sftp-server$/m);
        }
      } finally {
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}

const BYTE_PATHS = !("Deno" in globalThis);

for (const peer of PEERS) {
  conformanceTest(
    `SFTP client: a file name that is not UTF-8 (Latin-1) against ${peer}'s sftp-server`,
    { peers: [peer] },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connectFast(f);
      await using sftp = await conn.startSftp();
      const { remote, host } = await workDir(f, sftp);
      const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-bytes-"));
      const latin1 = "caf\uDCE9"; // the bytes 63 61 66 e9, as the listing gives them
      try {
        makeHostFile(host, Uint8Array.of(0x63, 0x61, 0x66, 0xe9), "latin1\n");
        const listed = (await sftp.listdir(remote)).filter((n) => n !== "." && n !== "..");
        assert.deepEqual(listed, [latin1]);
        assert.equal((await sftp.stat(`${remote}/${latin1}`)).size, 7);
        {
          await using fh = await sftp.open(`${remote}/${latin1}`, "r");
          assert.equal(dec.decode(await fh.read(100)), "latin1\n");
        }
        // Deno's file APIs cannot name the local copy by those bytes: it gets a UTF-8 name.
        const copy = BYTE_PATHS ? `${local}/${latin1}` : `${local}/cafe`;
        await sftp.get(`${remote}/${latin1}`, copy);
        assert.deepEqual(hostNames(local), [hex(BYTE_PATHS ? latin1 : "cafe")]);
        // Names we make go out as the bytes they stand for.
        await sftp.rename(`${remote}/${latin1}`, `${remote}/\uDCFF-renamed`);
        {
          await using fh = await sftp.open(`${remote}/n\uDCE8`, "w");
          await fh.write(enc.encode("x"));
        }
        await sftp.mkdir(`${remote}/d\uDCE9`);
        assert.deepEqual(
          hostNames(host),
          [hex("\uDCFF-renamed"), hex("n\uDCE8"), hex("d\uDCE9")].sort(),
        );
        await sftp.rmtree(`${remote}/d\uDCE9`);
        await sftp.remove(`${remote}/\uDCFF-renamed`);
        await sftp.remove(`${remote}/n\uDCE8`);
        assert.deepEqual(hostNames(host), []);
      } finally {
        await fsp.rm(local, { recursive: true, force: true });
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}

/** Bytes moved before the RSS baseline is taken (JIT, crypto and buffer pools warmed up). */
const WARM_AFTER = 64 * 1024 * 1024;

for (const peer of ["openssh", "openssh-trixie"] as const) {
  // 1 GiB against OpenSSH 9.2 on Node; 64 MiB otherwise (CI time).
  const size = peer === "openssh" ? BIG : 64 * 1024 * 1024;
  conformanceTest(
    `SFTP client: ${size >> 20} MiB get and put against ${peer}, hash-checked, memory bounded`,
    { peers: [peer], timeoutMs: 600_000 },
    async () => {
      const f = await sharedPeer(peer);
      await using conn = await connectFast(f);
      await using sftp = await conn.startSftp();
      const { remote, host } = await workDir(f, sftp);
      const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-big-"));
      try {
        const want = await makeFile(join(host, "big.bin"), size, 42);
        collectGarbage();
        let warm = 0;
        let peak = 0;
        let next = WARM_AFTER;
        let t0 = performance.now();
        await sftp.get(`${remote}/big.bin`, join(local, "big.bin"), {
          onProgress: (done) => {
            if (done < next) return;
            next += 32 * 1024 * 1024;
            collectGarbage();
            const rss = process.memoryUsage().rss;
            if (!warm) warm = rss;
            peak = Math.max(peak, rss);
          },
        });
        const getSeconds = (performance.now() - t0) / 1000;
        assert.equal(await hashFile(join(local, "big.bin")), want);
        await fsp.rm(join(host, "big.bin"));
        t0 = performance.now();
        await sftp.put(join(local, "big.bin"), `${remote}/up.bin`);
        const putSeconds = (performance.now() - t0) / 1000;
        assert.equal(await hashFile(join(host, "up.bin")), want);
        const grew = (peak - warm) / 2 ** 20;
        const mbs = (s: number) => (size / 1e6 / s).toFixed(0);
        console.error(
          `sftp ${peer}: get ${size >> 20} MiB ${mbs(getSeconds)} MB/s, put ${
            mbs(putSeconds)
          } MB/s ` +
            `(${fastCipher()}); RSS during the get +${grew.toFixed(1)} MiB after warming up`,
        );
        if (size > WARM_AFTER) {
          assert.ok(grew < 64, `RSS grew ${grew.toFixed(1)} MiB during the get`);
        }
      } finally {
        await fsp.rm(local, { recursive: true, force: true });
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}

conformanceTest(
  "SFTP client: get and put resume after the connection was cut mid-transfer (OpenSSH 9.2)",
  { peers: ["openssh"], timeoutMs: 300_000 },
  async () => {
    const f = await sharedPeer("openssh");
    const size = 48 * 1024 * 1024;
    const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-resume-"));
    let host = "";
    try {
      let remote: string;
      {
        await using conn = await connectFast(f);
        await using sftp = await conn.startSftp();
        ({ remote, host } = await workDir(f, sftp));
      }
      const want = await makeFile(join(host, "src.bin"), size, 7);

      // Download, cut after ~16 MiB: the local file keeps a whole prefix.
      {
        const conn = await connectFast(f);
        const sftp = await conn.startSftp();
        await assert.rejects(
          sftp.get(`${remote}/src.bin`, join(local, "dst.bin"), {
            onProgress: (done) => done > 16 * 1024 * 1024 && conn.abort(),
          }),
        );
      }
      const partial = (await fsp.stat(join(local, "dst.bin"))).size;
      assert.ok(partial > 0 && partial < size, `partial size ${partial}`);
      {
        await using conn = await connectFast(f);
        await using sftp = await conn.startSftp();
        let first = -1;
        await sftp.get(`${remote}/src.bin`, join(local, "dst.bin"), {
          resume: true,
          onProgress: (done) => void (first < 0 && (first = done)),
        });
        assert.equal(first, partial, "the resumed get starts where the cut one stopped");
      }
      assert.equal(await hashFile(join(local, "dst.bin")), want);

      // Upload, cut after ~16 MiB: the server's file is a prefix; resume completes it.
      {
        const conn = await connectFast(f);
        const sftp = await conn.startSftp();
        await assert.rejects(
          sftp.put(join(local, "dst.bin"), `${remote}/up.bin`, {
            onProgress: (done) => done > 16 * 1024 * 1024 && conn.abort(),
          }),
        );
      }
      // sftp-server finishes the writes it already read after the cut; wait for it to settle.
      let remoteSize = -1;
      for (let i = 0; i < 50; i++) {
        const s = (await fsp.stat(join(host, "up.bin"))).size;
        if (s === remoteSize) break;
        remoteSize = s;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(remoteSize > 0 && remoteSize < size, `remote partial size ${remoteSize}`);
      {
        await using conn = await connectFast(f);
        await using sftp = await conn.startSftp();
        await sftp.put(join(local, "dst.bin"), `${remote}/up.bin`, { resume: true });
      }
      assert.equal(await hashFile(join(host, "up.bin")), want);
    } finally {
      await fsp.rm(local, { recursive: true, force: true });
      if (host) await fsp.rm(host, { recursive: true, force: true });
    }
  },
);

for (const peer of PEERS) {
  // sshd rekeys every 4 MiB (RekeyLimit) and we every 2 MiB (rekeyBytes), plus a rekey we
  // start by hand mid-transfer; Dropbear's limits are compiled in, so only ours apply there.
  // Not RekeyLimit 1M: sshd compares its block budget (limit / 16) with the next packet's
  // length in bytes, so below 2 MiB every 128 KiB data packet (our SFTP channel's maximum)
  // triggers a key exchange of its own — correct, but 130 of them for 16 MiB.
  conformanceTest(
    `SFTP client: 16 MiB put and get against ${peer} while both sides rekey, hash-checked`,
    { peers: [peer], timeoutMs: 300_000 },
    async () => {
      const size = 16 * 1024 * 1024;
      const f = await sharedPeer(
        peer,
        peer === "dropbear" ? {} : { sshdConfig: { RekeyLimit: "4M" } },
      );
      await using conn = await login(f, {
        rekeyBytes: 2 * 1024 * 1024,
        ...(peer === "dropbear" ? {} : { encryptionAlgs: [fastCipher()] }),
      });
      await using sftp = await conn.startSftp();
      const { remote, host } = await workDir(f, sftp);
      const local = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-rekey-"));
      try {
        const want = await makeFile(join(local, "src.bin"), size, 99);
        let kicked = false;
        const kick = (done: number) => {
          if (!kicked && done > size / 2) {
            kicked = true;
            conn.rekey();
          }
        };
        await sftp.put(join(local, "src.bin"), `${remote}/up.bin`, { onProgress: kick });
        assert.equal(await hashFile(join(host, "up.bin")), want);
        const afterPut = conn.getExtraInfo().kexCount;
        kicked = false;
        await sftp.get(`${remote}/up.bin`, join(local, "back.bin"), { onProgress: kick });
        assert.equal(await hashFile(join(local, "back.bin")), want);
        const total = conn.getExtraInfo().kexCount;
        // Ours alone would be 16 MiB / 2 MiB = 8 per transfer, but the count restarts at
        // NEWKEYS and what the peer had in flight under the old keys (socket buffers, MiBs on
        // loopback) is on top: rekeys come every 4-5 MiB of file data here.
        assert.ok(afterPut >= 3 && total - afterPut >= 2, `kexCount ${afterPut}, then ${total}`);
      } finally {
        await fsp.rm(local, { recursive: true, force: true });
        await fsp.rm(host, { recursive: true, force: true });
      }
    },
  );
}
