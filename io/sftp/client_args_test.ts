/**
 * SFTPClient's arguments: rmtree() of a file says "Not a directory" (not a "no such file" a
 * cleanup would ignore), and every method taking a path refuses one that is not a string
 * with a TypeError naming it (ssh2-sftp-client's `put(buffer, path)` among them).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { SFTPClient } from "./client.ts";

const enc = new TextEncoder();

async function withSftp(
  backend: MemoryBackend,
  fn: (sftp: SFTPClient) => Promise<void>,
): Promise<void> {
  await using p = await loopback({ sftp: { backend } });
  await using sftp = await p.conn.startSftp();
  await fn(sftp);
}

test('rmtree() of a regular file fails with FAILURE "Not a directory", not a not-found, and leaves it', async () => {
  const b = new MemoryBackend();
  b.writeFile("/dir/file.txt", enc.encode("data\n"));
  await withSftp(b, async (sftp) => {
    for (const p of ["/dir/file.txt", "/dir/file.txt/"]) {
      await assert.rejects(sftp.rmtree(p), (e: unknown) => {
        assert.ok(e instanceof SFTPError);
        assert.equal(e.status, SFTPStatus.FAILURE);
        assert.equal(e.notFound, false);
        assert.equal(e.peerMessage, "Not a directory");
        assert.equal(e.path, p);
        assert.match(e.message, /^rmtree ".*" failed: Not a directory/);
        return true;
      });
      assert.equal(await sftp.exists("/dir/file.txt"), true);
    }
    // A link (to a file or to a directory) is refused as before, and a missing path is
    // still a not-found.
    await sftp.symlink("/dir/file.txt", "/link-file");
    await sftp.symlink("/dir", "/link-dir");
    for (const p of ["/link-file", "/link-dir"]) {
      await assert.rejects(
        sftp.rmtree(p),
        (e: unknown) => e instanceof SFTPError && /symbolic link/.test(e.message),
      );
    }
    await assert.rejects(
      sftp.rmtree("/nope"),
      (e: unknown) => e instanceof SFTPError && e.notFound,
    );
    assert.equal(await sftp.exists("/dir/file.txt"), true);
    // A directory still goes, with the files in it.
    await sftp.rmtree("/dir");
    assert.equal(await sftp.exists("/dir"), false);
  });
});

type Call = (sftp: SFTPClient, bad: unknown) => unknown;

/** Every public method taking a path, once per path argument: [method, argument, call]. */
const CALLS: [string, string, Call][] = [
  ["chdir", "path", (s, x) => s.chdir(x as string)],
  ["open", "path", (s, x) => s.open(x as string, "w")],
  ["stat", "path", (s, x) => s.stat(x as string)],
  ["lstat", "path", (s, x) => s.lstat(x as string)],
  ["setstat", "path", (s, x) => s.setstat(x as string, {})],
  ["chmod", "path", (s, x) => s.chmod(x as string, 0o644)],
  ["chown", "path", (s, x) => s.chown(x as string, 0, 0)],
  ["utime", "path", (s, x) => s.utime(x as string, 0, 0)],
  ["truncate", "path", (s, x) => s.truncate(x as string)],
  ["exists", "path", (s, x) => s.exists(x as string)],
  ["isFile", "path", (s, x) => s.isFile(x as string)],
  ["isDir", "path", (s, x) => s.isDir(x as string)],
  ["isLink", "path", (s, x) => s.isLink(x as string)],
  ["readdir", "path", (s, x) => s.readdir(x as string)],
  ["listdir", "path", (s, x) => s.listdir(x as string)],
  ["mkdir", "path", (s, x) => s.mkdir(x as string)],
  ["makedirs", "path", (s, x) => s.makedirs(x as string)],
  ["remove", "path", (s, x) => s.remove(x as string)],
  ["unlink", "path", (s, x) => s.unlink(x as string)],
  ["rmdir", "path", (s, x) => s.rmdir(x as string)],
  ["rmtree", "path", (s, x) => s.rmtree(x as string)],
  ["rename", "oldPath", (s, x) => s.rename(x as string, "/new")],
  ["rename", "newPath", (s, x) => s.rename("/f", x as string)],
  ["hardlink", "oldPath", (s, x) => s.hardlink(x as string, "/new")],
  ["hardlink", "newPath", (s, x) => s.hardlink("/f", x as string)],
  ["symlink", "targetPath", (s, x) => s.symlink(x as string, "/new")],
  ["symlink", "linkPath", (s, x) => s.symlink("/f", x as string)],
  ["readlink", "path", (s, x) => s.readlink(x as string)],
  ["realpath", "path", (s, x) => s.realpath(x as string)],
  ["expandPath", "path", (s, x) => s.expandPath(x as string)],
  ["statvfs", "path", (s, x) => s.statvfs(x as string)],
  ["glob", "pattern", (s, x) => s.glob(x as string)],
  ["readFile", "path", (s, x) => s.readFile(x as string)],
  ["writeFile", "path", (s, x) => s.writeFile(x as string, "data")],
  ["appendFile", "path", (s, x) => s.appendFile(x as string, "data")],
  ["get", "remotePath", (s, x) => s.get(x as string, "/tmp/never-written")],
  ["get", "localPath", (s, x) => s.get("/f", x as string)],
  ["put", "localPath", (s, x) => s.put(x as string, "/new")],
  ["put", "remotePath", (s, x) => s.put("/never-read", x as string)],
  ["copy", "srcPath", (s, x) => s.copy(x as string, "/new")],
  ["copy", "dstPath", (s, x) => s.copy("/f", x as string)],
  ["mget", "patterns", (s, x) => s.mget(x as string, "/tmp")],
  ["mget", "patterns[1]", (s, x) => s.mget(["/f", x as string], "/tmp")],
  ["mget", "localDir", (s, x) => s.mget("/f", x as string)],
  ["mput", "patterns", (s, x) => s.mput(x as string, "/")],
  ["mput", "remoteDir", (s, x) => s.mput("/never-read", x as string)],
  ["mcopy", "patterns", (s, x) => s.mcopy(x as string, "/")],
  ["mcopy", "remoteDir", (s, x) => s.mcopy("/f", x as string)],
];

/** Public methods that take no path. */
const NO_PATH = new Set([
  "constructor",
  "getcwd",
  "homeDirectory",
  "usersGroupsById",
  "close",
]);

test("every public SFTPClient method taking a path is in the table below", () => {
  const proto = SFTPClient.prototype;
  const methods = Object.getOwnPropertyNames(proto).filter((n) =>
    typeof Object.getOwnPropertyDescriptor(proto, n)?.value === "function"
  );
  const covered = new Set(CALLS.map(([m]) => m));
  assert.deepEqual(methods.filter((m) => !covered.has(m) && !NO_PATH.has(m)), []);
});

const BAD: [string, unknown, RegExp][] = [
  ["a Buffer-like Uint8Array", enc.encode("/f"), /not a Uint8Array/],
  ["a number", 42, /not a number/],
  ["undefined", undefined, /not undefined/],
  ["null", null, /not null/],
  ["an object", { path: "/f" }, /not an object/],
];

test("a path that is not a string is a TypeError naming the argument, before anything is sent", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f", enc.encode("x"));
  await withSftp(b, async (sftp) => {
    for (const [method, arg, call] of CALLS) {
      for (const [what, bad, says] of BAD) {
        await assert.rejects(
          async () => await call(sftp, bad),
          (e: unknown) => {
            assert.ok(e instanceof TypeError, `${method}(${arg}: ${what}): ${e}`);
            const name = arg.replace(/[[\]]/g, "\\$&");
            assert.match(e.message, new RegExp(`^${name} must be a string`), method);
            assert.match(e.message, says, `${method}(${arg}: ${what})`);
            return true;
          },
        );
      }
    }
    // A non-string readdir() path is refused at the call, not at the loop's first step.
    assert.throws(() => sftp.readdir(7 as unknown as string), TypeError);
    // Nothing was created, removed or renamed.
    assert.deepEqual(await sftp.listdir("/"), ["f"]);
  });
});

test("put(buffer, path), ssh2-sftp-client's call shape, says to use writeFile", async () => {
  await withSftp(new MemoryBackend(), async (sftp) => {
    const bytes = Buffer.from("hi");
    await assert.rejects(sftp.put(bytes as unknown as string, "/put/fromBuffer"), (e: unknown) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^localPath must be a string \(a path\), not a Buffer: /);
      assert.match(e.message, /writeFile\(remotePath, data\)/);
      return true;
    });
    await assert.rejects(sftp.get("/f", bytes as unknown as string), /use readFile\(remotePath\)/);
    // What it points to works.
    await sftp.writeFile("/fromBuffer", bytes);
    assert.deepEqual(await sftp.readFile("/fromBuffer"), enc.encode("hi"));
  });
});
