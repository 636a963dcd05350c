/**
 * The sequential fallback: a server that announces no limits@openssh.com and
 * fails when more than one read or write is in progress gets its transfers
 * retried one request at a time (hash-checked); with limits, or for an error
 * about the file itself, nothing is retried.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { Ext, SFTPStatus } from "../../sftp/constants.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import { listen } from "../server/listen.ts";

const hostKey = generatePrivateKey("ed25519");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A MemoryBackend that fails reads and writes while another one is in progress. */
class OneAtATimeBackend extends MemoryBackend {
  #busy = 0;
  refused = 0;
  async #once<T>(f: () => Promise<T>): Promise<T> {
    if (this.#busy > 0) {
      this.refused++;
      throw new SFTPError(SFTPStatus.FAILURE, "too many requests");
    }
    this.#busy++;
    try {
      // Long enough that a pipelining client has its next request here before this one ends.
      await new Promise((r) => setTimeout(r, 10));
      return await f();
    } finally {
      this.#busy--;
    }
  }
  override read(h: unknown, offset: number, length: number): Promise<Uint8Array | null> {
    return this.#once(() => super.read(h as never, offset, length));
  }
  override write(h: unknown, offset: number, data: Uint8Array): Promise<void> {
    const copy = data.slice(); // `data` is only valid during the call
    return this.#once(() => super.write(h as never, offset, copy));
  }
}

/**
 * A MemoryBackend that fails every write but the first, whatever the timing: whether two
 * writes overlap in OneAtATimeBackend depends on how the client's packets arrive (the
 * server runs requests side by side only when they came in together), so under load a
 * pipelined put there sometimes met no refusal at all.
 */
class FailingWritesBackend extends MemoryBackend {
  writes = 0;
  override write(h: unknown, offset: number, data: Uint8Array): Promise<void> {
    if (++this.writes > 1) {
      return Promise.reject(new SFTPError(SFTPStatus.FAILURE, "too many requests"));
    }
    return super.write(h as never, offset, data);
  }
}

async function withServer(
  backend: MemoryBackend,
  disabledExtensions: string[],
  fn: (conn: SSHClientConnection) => Promise<void>,
): Promise<void> {
  await using server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    sftp: { backend, disabledExtensions },
  });
  await using conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    password: "pw",
    knownHosts: null,
  });
  await fn(conn);
}

/** Progress that never went back, though the retry started again below what was reported. */
function assertForward(progress: readonly number[]): void {
  for (let i = 1; i < progress.length; i++) {
    assert.ok(
      progress[i]! > progress[i - 1]!,
      `progress went from ${progress[i - 1]} to ${progress[i]}`,
    );
  }
}

function pattern(n: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = 99;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

test("put and get fall back to one request at a time when a server without limits fails under pipelining", async () => {
  const backend = new OneAtATimeBackend();
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-fallback-"));
  try {
    const data = pattern(3 * 1024 * 1024 + 5);
    await fsp.writeFile(join(dir, "up.bin"), data);
    await withServer(backend, [Ext.LIMITS], async (conn) => {
      await using sftp = await conn.startSftp();
      assert.equal(sftp.limits, undefined);
      assert.equal(sftp.sequential, false);
      assert.equal(sftp.maxRequests, 64);
      const putProgress: number[] = [];
      await sftp.put(join(dir, "up.bin"), "/up.bin", { onProgress: (d) => putProgress.push(d) });
      assert.equal(sftp.sequential, true, "the put was retried sequentially");
      assert.equal(sftp.maxRequests, 1);
      assert.equal(putProgress.at(-1), data.length);
      assertForward(putProgress);
      assert.ok(backend.refused > 0);
      await sftp.get("/up.bin", join(dir, "down.bin"));
      assert.equal(sha(await fsp.readFile(join(dir, "down.bin"))), sha(data));
    });
    // A get is retried too, from the whole prefix it already has.
    const fresh = new OneAtATimeBackend();
    await withServer(fresh, [Ext.LIMITS], async (conn) => {
      await using sftp = await conn.startSftp({ maxRequests: 1 });
      await sftp.put(join(dir, "up.bin"), "/src.bin");
      assert.equal(fresh.refused, 0, "maxRequests: 1 never has two in flight");
    });
    await withServer(fresh, [Ext.LIMITS], async (conn) => {
      await using sftp = await conn.startSftp();
      const getProgress: number[] = [];
      await sftp.get("/src.bin", join(dir, "got.bin"), { onProgress: (d) => getProgress.push(d) });
      assert.equal(sftp.sequential, true);
      assert.equal(getProgress.at(-1), data.length);
      assertForward(getProgress);
      assert.ok(fresh.refused > 0);
      assert.equal(sha(await fsp.readFile(join(dir, "got.bin"))), sha(data));
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});

test("no sequential retry against a server with limits@openssh.com, or for a missing file", async () => {
  const dir = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-fallback-"));
  try {
    await fsp.writeFile(join(dir, "up.bin"), pattern(2 * 1024 * 1024));
    const failing = new FailingWritesBackend();
    await withServer(failing, [], async (conn) => {
      await using sftp = await conn.startSftp();
      assert.ok(sftp.limits);
      await assert.rejects(
        sftp.put(join(dir, "up.bin"), "/up.bin"),
        (e) => e instanceof SFTPError && e.status === SFTPStatus.FAILURE,
      );
      assert.equal(sftp.sequential, false);
      assert.ok(failing.writes > 1);
    });
    await withServer(new MemoryBackend(), [Ext.LIMITS], async (conn) => {
      await using sftp = await conn.startSftp();
      await assert.rejects(sftp.get("/nope", join(dir, "nope")), SFTPError);
      await assert.rejects(sftp.put(join(dir, "up.bin"), "/no/such/dir/up.bin"), SFTPError);
      assert.equal(sftp.sequential, false);
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
});
