/**
 * File names that are not UTF-8 (a Latin-1 "caf\xe9" from an old system): our SFTP and
 * SCP client against our server serving a directory that holds one, through the package
 * entry point. The name must come back in a listing as something that opens, renames and
 * removes that file, and a transfer must make a file with the same bytes in its name.
 * Deno's file APIs take UTF-8 paths only: there the server and the local side refuse
 * such a name with a clear error instead of touching another file. (Paths are joined
 * with "/" here: Bun's `node:path` turns the escaped bytes into U+FFFD.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import {
  decodeEscapedUtf8,
  encodeEscapedUtf8,
  escapeControls,
  type ListenOptions,
  MemoryBackend,
  scp,
  SFTPError,
  type SSHClientConnection,
} from "./mod.ts";
import { hex, hostNames, makeHostFile } from "./io/sftp/_byte_names_test_util.ts";
import { loopbackPair } from "./_mod_test_util.ts";
const BYTE_PATHS = (globalThis as { Deno?: unknown }).Deno === undefined;
const LATIN1 = "caf\uDCE9"; // the bytes 63 61 66 e9
const latin1Bytes = Uint8Array.of(0x63, 0x61, 0x66, 0xe9);

async function withServer(
  options: Partial<ListenOptions>,
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using p = await loopbackPair(options);
  await fn(p.conn);
}

test("the client lists, opens, renames and removes a name that is not UTF-8 (memory backend)", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/" + LATIN1, new TextEncoder().encode("latin1\n"));
  await withServer({ sftp: { backend } }, async (conn) => {
    await using sftp = await conn.startSftp();
    const names = await sftp.listdir("/");
    assert.deepEqual(names.filter((n) => n !== "." && n !== ".."), [LATIN1]);
    assert.equal(escapeControls(names.find((n) => n.startsWith("caf"))!), "caf\\xe9");
    assert.equal((await sftp.stat(LATIN1)).size, 7);
    await using f = await sftp.open(LATIN1, "r");
    assert.equal(new TextDecoder().decode(await f.read(100)), "latin1\n");
    await sftp.rename(LATIN1, LATIN1 + ".old");
    assert.equal(await sftp.exists(LATIN1 + ".old"), true);
    await sftp.remove(LATIN1 + ".old");
    assert.deepEqual((await sftp.listdir("/")).filter((n) => n !== "." && n !== ".."), []);
  });
});

test("the file-system server serves a name that is not UTF-8 by its bytes (refused on Deno)", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-bytes-"));
  const local = await fsp.mkdtemp(join(tmpdir(), "sshts-bytes-local-"));
  try {
    makeHostFile(root, latin1Bytes, "latin1\n");
    await withServer({ sftp: { root } }, async (conn) => {
      await using sftp = await conn.startSftp();
      const listed = (await sftp.listdir("/")).filter((n) => n !== "." && n !== "..");
      if (!BYTE_PATHS) {
        // Deno lists the name lossily ("caf\uFFFD"), which names no file: the entry cannot be
        // stat'ed and is left out, and the name's bytes are refused with a clear error.
        assert.deepEqual(listed, []);
        await assert.rejects(sftp.stat(LATIN1), (e: unknown) => {
          assert.ok(e instanceof SFTPError, String(e));
          assert.match(e.message, /cannot name a file that is not UTF-8/);
          return true;
        });
        return;
      }
      assert.deepEqual(listed, [LATIN1]);
      // A leading byte-order mark is part of a name too ("\uFEFFx" is not "x").
      makeHostFile(root, Uint8Array.of(0xef, 0xbb, 0xbf, 0x78), "bom\n");
      makeHostFile(root, Uint8Array.of(0x78), "plain\n");
      const withBom = (await sftp.listdir("/")).filter((n) => n.endsWith("x")).sort();
      assert.deepEqual(withBom, ["x", "\uFEFFx"]);
      assert.equal(await sftp.readFile("\uFEFFx", { encoding: "utf-8" }), "bom\n");
      await sftp.remove("\uFEFFx");
      await sftp.remove("x");
      // get: the local copy has the same bytes in its name.
      await sftp.get(LATIN1, `${local}/${LATIN1}`);
      assert.deepEqual(hostNames(local), [hex(LATIN1)]);
      // put of that local file under another byte name, then rename and remove remotely.
      const other = "\uDCFF.txt";
      await sftp.put(`${local}/${LATIN1}`, other);
      assert.deepEqual(hostNames(root), [hex(LATIN1), hex(other)].sort());
      await sftp.rename(other, "renamed-" + LATIN1);
      await sftp.mkdir("dir-" + LATIN1);
      await sftp.symlink(LATIN1, "link-" + LATIN1);
      // A relative target without ".." is stored as given, by its bytes: it reads back so,
      // and leads to the file.
      assert.equal(await sftp.readlink("link-" + LATIN1), LATIN1);
      assert.equal(new TextDecoder().decode(await sftp.readFile("link-" + LATIN1)), "latin1\n");
      assert.equal(await sftp.realpath("dir-" + LATIN1), "/dir-" + LATIN1);
      assert.deepEqual(
        hostNames(root),
        [hex(LATIN1), hex("renamed-" + LATIN1), hex("dir-" + LATIN1), hex("link-" + LATIN1)].sort(),
      );
      // A recursive get with a glob brings every one of them back under the same bytes.
      const into = join(local, "all");
      await fsp.mkdir(into);
      await sftp.mget("/*" + "\uDCE9", into, { recurse: true });
      assert.deepEqual(
        hostNames(into),
        [hex(LATIN1), hex("renamed-" + LATIN1), hex("dir-" + LATIN1), hex("link-" + LATIN1)].sort(),
      );
      await sftp.rmtree("dir-" + LATIN1);
      await sftp.remove("renamed-" + LATIN1);
      await sftp.remove("link-" + LATIN1);
      assert.deepEqual(hostNames(root), [hex(LATIN1)]);
    });
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("scp() copies a name that is not UTF-8 both ways, over SFTP and the legacy protocol", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-bytes-scp-"));
  const local = await fsp.mkdtemp(join(tmpdir(), "sshts-bytes-scp-local-"));
  try {
    makeHostFile(local, latin1Bytes, "latin1\n");
    await withServer({ sftp: { root }, scp: { root } }, async (conn) => {
      if (!BYTE_PATHS) {
        // Deno cannot name the local file: a clear error, and nothing is written remotely.
        for (const protocol of ["sftp", "scp"] as const) {
          await assert.rejects(scp(`${local}/${LATIN1}`, [conn, "/"], { protocol }), /not UTF-8/);
        }
        assert.deepEqual(hostNames(root), []);
        return;
      }
      for (const protocol of ["sftp", "scp"] as const) {
        await scp(`${local}/${LATIN1}`, [conn, "/"], { protocol });
        assert.deepEqual(hostNames(root), [hex(LATIN1)], protocol);
        const back = join(local, protocol);
        await fsp.mkdir(back);
        await scp([conn, "/" + LATIN1], back, { protocol });
        assert.deepEqual(hostNames(back), [hex(LATIN1)], protocol);
        const copied = Buffer.from(encodeEscapedUtf8(`${back}/${LATIN1}`));
        assert.equal(await fsp.readFile(copied, "utf8"), "latin1\n");
        await fsp.rm(Buffer.from(encodeEscapedUtf8(`${root}/${LATIN1}`)));
      }
    });
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
    await fsp.rm(local, { recursive: true, force: true });
  }
});

test("decodeEscapedUtf8() and encodeEscapedUtf8() are the package's way to the bytes of a name", () => {
  assert.equal(decodeEscapedUtf8(latin1Bytes), LATIN1);
  assert.deepEqual(encodeEscapedUtf8(LATIN1), latin1Bytes);
});

test("a recursive put copies a name that is not UTF-8, or on Deno reports it instead of skipping it", async () => {
  const local = await fsp.mkdtemp(join(tmpdir(), "sshts-bytes-put-"));
  try {
    await fsp.mkdir(join(local, "tree"));
    await fsp.writeFile(join(local, "tree", "ok.txt"), "ok\n");
    makeHostFile(join(local, "tree"), latin1Bytes, "latin1\n");
    const backend = new MemoryBackend();
    await withServer({ sftp: { backend } }, async (conn) => {
      await using sftp = await conn.startSftp();
      const names = async () =>
        (await sftp.listdir("/tree")).filter((n) => n !== "." && n !== "..").sort();
      if (BYTE_PATHS) {
        await sftp.put(join(local, "tree"), "/tree", { recurse: true });
        assert.deepEqual(await names(), [LATIN1, "ok.txt"].sort());
        return;
      }
      const failed: string[] = [];
      await sftp.put(join(local, "tree"), "/tree", {
        recurse: true,
        errorHandler: (e, path) => void failed.push(`${path}: ${e.message}`),
      });
      assert.equal(failed.length, 1, failed.join("\n"));
      assert.match(failed[0]!, /caf\uFFFD.*not UTF-8/);
      assert.deepEqual(await names(), ["ok.txt"]);
      // Without an errorHandler the transfer fails on it.
      await assert.rejects(sftp.put(join(local, "tree"), "/other", { recurse: true }), /not UTF-8/);
    });
  } finally {
    await fsp.rm(local, { recursive: true, force: true });
  }
});
