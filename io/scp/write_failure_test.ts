/**
 * Legacy SCP when a file cannot be written or read: a full disk or a quota on either side
 * is an `SCPError` that names the file and keeps the cause, never an unhandled rejection
 * (which ended the whole process: a server receiving an upload, or a client downloading
 * into a full disk), and a local failure is reported as local, not as the remote's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend, type MemoryHandle } from "../../sftp/memory_backend.ts";
import { SCPError } from "../../sftp/scp/records.ts";
import { unhandledRejections } from "../_unhandled_test_util.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { scp } from "./scp.ts";

/** A backend that refuses writes past `quota` bytes, as a quota or an object store would. */
class QuotaBackend extends MemoryBackend {
  written = 0;
  readonly quota: number;
  constructor(quota: number) {
    super();
    this.quota = quota;
  }
  override async write(h: MemoryHandle, offset: number, data: Uint8Array): Promise<void> {
    this.written += data.length;
    if (this.written > this.quota) throw new SFTPError(4, "Disk quota exceeded");
    return await super.write(h, offset, data);
  }
}

async function scratch(): Promise<string> {
  return await fsp.mkdtemp(join(tmpdir(), "sshts-scp-wfail-"));
}

test("server: a backend write that fails mid-upload is the client's error, and the server serves on", async () => {
  const dir = await scratch();
  try {
    await fsp.writeFile(join(dir, "big"), new Uint8Array(6 << 20));
    await fsp.writeFile(join(dir, "small"), "fits\n");
    const backend = new QuotaBackend(2 << 20);
    let err: unknown;
    const seen = await unhandledRejections(async () => {
      await using s = await loopback({ scp: { backend } });
      err = await scp(join(dir, "big"), [s.conn, "/x"], { protocol: "scp" }).then(
        () => undefined,
        (e) => e,
      );
      // The same server, a file under the quota: it was not brought down.
      backend.written = 0;
      await scp(join(dir, "small"), [s.conn, "/y"], { protocol: "scp" });
    });
    assert.deepEqual(seen, []);
    assert.ok(err instanceof SCPError, String(err));
    assert.equal(err.reason, "remote");
    assert.match(err.message, /\/x: Disk quota exceeded/);
    assert.equal(new TextDecoder().decode(backend.readFile("/y")), "fits\n");
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test(
  "client: a download into a full disk (/dev/full) is a local SCPError naming it, with the cause",
  { skip: !fs.existsSync("/dev/full") && "no /dev/full here" },
  async () => {
    const backend = new MemoryBackend();
    backend.writeFile("/big", new Uint8Array(5 << 20).fill(7));
    let err: unknown;
    const seen = await unhandledRejections(async () => {
      await using s = await loopback({ scp: { backend } });
      err = await scp([s.conn, "/big"], "/dev/full", { protocol: "scp" }).then(
        () => undefined,
        (e) => e,
      );
      // The connection is still good for the next transfer.
      await scp([s.conn, "/big"], "/dev/null", { protocol: "scp" });
    });
    assert.deepEqual(seen, []);
    assert.ok(err instanceof SCPError, String(err));
    assert.equal(err.reason, "local");
    assert.equal(err.path, "/dev/full");
    assert.match(err.message, /^\/dev\/full: No space left on device/);
    assert.ok(err.cause !== undefined);
  },
);

test("client: a local source that cannot be read is reported as local; the others are sent", async () => {
  const dir = await scratch();
  try {
    await fsp.symlink(join(dir, "nowhere"), join(dir, "dangling"));
    await fsp.writeFile(join(dir, "ok.txt"), "sent\n");
    const backend = new MemoryBackend();
    await using s = await loopback({ scp: { backend } });
    const err = await scp([join(dir, "dangling"), join(dir, "ok.txt")], [s.conn, "/"], {
      protocol: "scp",
    }).then(() => undefined, (e) => e);
    assert.ok(err instanceof SCPError, String(err));
    assert.equal(err.reason, "local");
    assert.equal(err.path, join(dir, "dangling"));
    assert.match(err.message, /dangling: No such file/);
    assert.doesNotMatch(err.message, /Remote scp/);
    assert.ok(err.cause instanceof SFTPError);
    assert.equal(new TextDecoder().decode(backend.readFile("/ok.txt")), "sent\n");
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
