/**
 * `listen({ sftp: { backend, readOnly: true } })`: the backend is served read-only, as a
 * `root` is (it was served writable, with nothing said).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryBackend, OpenFlags, readOnlyBackend, SFTPError } from "../../sftp/mod.ts";
import { loopback } from "../server/_loopback_test_util.ts";

test("sftp: { backend, readOnly: true } refuses every change and serves the rest", async () => {
  const backend = new MemoryBackend();
  const h = await backend.open("/kept.txt", OpenFlags.WRITE | OpenFlags.CREAT, {});
  await backend.write(h, 0, new TextEncoder().encode("as it was"));
  await backend.close(h);
  await backend.mkdir("/dir", {});
  await using p = await loopback({ sftp: { backend, readOnly: true } });
  await using sftp = await p.conn.startSftp();
  assert.equal(new TextDecoder().decode(await sftp.readFile("/kept.txt")), "as it was");
  assert.deepEqual((await sftp.listdir("/")).sort(), ["dir", "kept.txt"]);
  const denied = (e: unknown) => e instanceof SFTPError && e.status === 3;
  await assert.rejects(sftp.writeFile("/new.txt", "x"), denied);
  await assert.rejects(sftp.writeFile("/kept.txt", "changed"), denied);
  await assert.rejects(sftp.appendFile("/kept.txt", "more"), denied);
  await assert.rejects(sftp.remove("/kept.txt"), denied);
  await assert.rejects(sftp.mkdir("/made"), denied);
  await assert.rejects(sftp.rmdir("/dir"), denied);
  await assert.rejects(sftp.rename("/kept.txt", "/moved.txt"), denied);
  await assert.rejects(sftp.chmod("/kept.txt", 0o600), denied);
  await assert.rejects(sftp.symlink("/kept.txt", "/link"), denied);
  // Nothing changed underneath.
  assert.deepEqual((await sftp.listdir("/")).sort(), ["dir", "kept.txt"]);
  assert.equal(new TextDecoder().decode(await sftp.readFile("/kept.txt")), "as it was");
});

test("readOnlyBackend() keeps the optional methods a backend has, refusing those that change", async () => {
  const view = readOnlyBackend(new MemoryBackend());
  assert.equal(typeof view.statvfs, "function");
  await assert.rejects(view.posixRename!("/a", "/b"), /Read-only file system/);
  await assert.rejects(view.hardlink!("/a", "/b"), /Read-only file system/);
  await assert.rejects(view.lsetstat!("/a", {}), /Read-only file system/);
  await assert.rejects(view.open("/a", OpenFlags.READ | OpenFlags.WRITE, {}), /Read-only/);
  await assert.rejects(view.open("/missing", OpenFlags.READ, {}), (e: SFTPError) => e.status === 2);
});
