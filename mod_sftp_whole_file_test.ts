/**
 * `sftp.readFile()`, `sftp.writeFile()` and `sftp.appendFile()` through the package entry
 * point, against our server: bytes and text, pipelined sizes, the `maxBytes` bound, the
 * flags, permissions, errors and aborts. (Against OpenSSH's sftp-server, including a file
 * under /proc that reports size 0: conformance/sftp_client_test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  FileSizeLimitError,
  MemoryBackend,
  type ReadFileOptions,
  SFTPError,
  SFTPStatus,
  type SSHClientConnection,
} from "./mod.ts";
import { loopbackPair } from "./_mod_test_util.ts";
import { countingController } from "./io/runtime/_signal_test_util.ts";

async function withSftp(
  fn: (sftp: Awaited<ReturnType<SSHClientConnection["startSftp"]>>) => Promise<void>,
): Promise<void> {
  await using p = await loopbackPair({ sftp: { backend: new MemoryBackend() } });
  await using sftp = await p.conn.startSftp();
  await fn(sftp);
}

/** Deterministic bytes that differ at every offset modulo 251. */
function pattern(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + (i >> 8)) % 251);
}

test("writeFile() then readFile() round-trips bytes and text, small and pipelined", async () => {
  await withSftp(async (sftp) => {
    for (const n of [0, 1, 4095, 261_120, 3 * 1024 * 1024 + 17]) {
      const data = pattern(n);
      await sftp.writeFile(`/f${n}`, data);
      const back = await sftp.readFile(`/f${n}`);
      assert.equal(back.length, n);
      assert.ok(back.every((b, i) => b === data[i]), `${n} bytes`);
    }
    await sftp.writeFile("/t.txt", "\uFEFFhéllo\n");
    // The byte-order mark is part of the text, as node:fs's readFile keeps it.
    assert.equal(await sftp.readFile("/t.txt", { encoding: "utf-8" }), "\uFEFFhéllo\n");
    // The options type the package exports is what readFile takes.
    const o: ReadFileOptions = { maxBytes: 1 << 20 };
    assert.equal((await sftp.readFile("/t.txt", o) as Uint8Array).length, 10);
    await assert.rejects(sftp.readFile("/t.txt", { encoding: "latin1" as never }), RangeError);
  });
});

test("writeFile() flags: w truncates, wx refuses an existing file, appendFile() appends; mode is applied", async () => {
  await withSftp(async (sftp) => {
    await sftp.writeFile("/a", "first, longer\n", { mode: 0o640 });
    assert.equal((await sftp.stat("/a")).permissions! & 0o777, 0o640);
    await sftp.writeFile("/a", "second\n");
    assert.equal(await sftp.readFile("/a", { encoding: "utf8" }), "second\n");
    await assert.rejects(sftp.writeFile("/a", "third\n", { flag: "wx" }), SFTPError);
    assert.equal(await sftp.readFile("/a", { encoding: "utf8" }), "second\n");
    await sftp.appendFile("/a", "more\n");
    await sftp.appendFile("/b", pattern(600_000)); // created, and appended in order
    await sftp.appendFile("/b", pattern(10));
    assert.equal(await sftp.readFile("/a", { encoding: "utf8" }), "second\nmore\n");
    const b = await sftp.readFile("/b");
    assert.equal(b.length, 600_010);
    assert.deepEqual(b.subarray(600_000), pattern(10));
    await assert.rejects(
      sftp.writeFile("/c", "x", { flag: "r" as never }),
      RangeError,
    );
  });
});

test("readFile() bounds the size with maxBytes and names missing files", async () => {
  await withSftp(async (sftp) => {
    await sftp.writeFile("/big", pattern(1_000_000));
    assert.equal((await sftp.readFile("/big", { maxBytes: 1_000_000 })).length, 1_000_000);
    await assert.rejects(sftp.readFile("/big", { maxBytes: 999_999 }), (e: unknown) => {
      assert.ok(e instanceof FileSizeLimitError);
      assert.equal(e.code, "ERR_READ_LIMIT");
      assert.equal(e.limit, 999_999);
      assert.match(e.message, /more than maxBytes \(999999 bytes\)/);
      return true;
    });
    await assert.rejects(sftp.readFile("/big", { maxBytes: -1 }), RangeError);
    await assert.rejects(sftp.readFile("/nope"), (e: unknown) => {
      assert.ok(e instanceof SFTPError);
      assert.equal(e.status, SFTPStatus.NO_SUCH_FILE);
      return true;
    });
    // Handles were closed each time: the session still works.
    assert.equal((await sftp.readFile("/big", { maxBytes: 2_000_000 })).length, 1_000_000);
  });
});

test("readFile() and writeFile() stop when their signal aborts", async () => {
  await withSftp(async (sftp) => {
    const aborted = AbortSignal.abort(new Error("stop now"));
    await assert.rejects(sftp.readFile("/x", { signal: aborted }), /stop now/);
    await assert.rejects(sftp.writeFile("/x", "data", { signal: aborted }), /stop now/);
    assert.equal(await sftp.exists("/x"), false, "nothing was opened");
    const ac = new AbortController();
    const big = pattern(8 * 1024 * 1024);
    const writing = sftp.writeFile("/y", big, { signal: ac.signal });
    ac.abort(new Error("cancelled mid-way"));
    await assert.rejects(writing, /cancelled mid-way/);
    // The session is still usable after an aborted transfer.
    await sftp.writeFile("/z", "ok");
    assert.equal(await sftp.readFile("/z", { encoding: "utf-8" }), "ok");
  });
});

/** A memory backend whose opens take `delayMs`, counting opens and closes. */
class SlowOpens extends MemoryBackend {
  opened = 0;
  closed = 0;
  readonly delayMs: number;
  constructor(delayMs: number) {
    super();
    this.delayMs = delayMs;
  }
  override async open(...args: Parameters<MemoryBackend["open"]>) {
    await new Promise((r) => setTimeout(r, this.delayMs));
    const h = await super.open(...args);
    this.opened++;
    return h;
  }
  override async close(...args: Parameters<MemoryBackend["close"]>) {
    this.closed++;
    return await super.close(...args);
  }
}

test("an abort while OPEN is in flight still closes the handle the server opens", async () => {
  const backend = new SlowOpens(150);
  backend.writeFile("/f", pattern(10));
  await using p = await loopbackPair({ sftp: { backend } });
  await using sftp = await p.conn.startSftp();
  await assert.rejects(
    sftp.readFile("/f", { signal: AbortSignal.timeout(30) }),
    /TimeoutError|timed out/i,
  );
  await assert.rejects(
    sftp.writeFile("/g", "x", { signal: AbortSignal.timeout(30) }),
    /TimeoutError|timed out/i,
  );
  for (let i = 0; i < 100 && backend.closed < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(backend.opened, 2);
  assert.equal(backend.closed, 2, "both late handles were closed");
});

test("writeFile() with a long-lived signal leaves no listener on it; a bad flag is a RangeError", async () => {
  await withSftp(async (sftp) => {
    const ac = countingController();
    for (let i = 0; i < 10; i++) {
      await sftp.writeFile(`/w${i}`, pattern(300_000), { signal: ac.signal });
      await sftp.appendFile("/log", "x", { signal: ac.signal });
      await sftp.readFile(`/w${i}`, { signal: ac.signal });
    }
    assert.equal(ac.listening(), 0);
    for (const flag of ["toString", "constructor", "__proto__", "r"]) {
      await assert.rejects(sftp.writeFile("/x", "x", { flag: flag as never }), RangeError, flag);
    }
    assert.equal(await sftp.exists("/x"), false);
  });
});

test("SFTPFile.read() without a length reads to end of file when the server refuses FSTAT", async () => {
  class NoFstat extends MemoryBackend {
    override fstat(): Promise<never> {
      return Promise.reject(new SFTPError(SFTPStatus.OP_UNSUPPORTED, "no fstat here"));
    }
  }
  const backend = new NoFstat();
  backend.writeFile("/f", pattern(700_000));
  await using p = await loopbackPair({ sftp: { backend } });
  await using sftp = await p.conn.startSftp();
  await using f = await sftp.open("/f");
  assert.deepEqual(await f.read(), pattern(700_000));
  assert.equal((await sftp.readFile("/f")).length, 700_000);
});

test("writeFile() aborted while its writes are in flight stops at once and leaves the session usable", async () => {
  let writes = 0;
  class SlowWrites extends MemoryBackend {
    override async write(...args: Parameters<MemoryBackend["write"]>) {
      writes++;
      await new Promise((r) => setTimeout(r, 20));
      return await super.write(...args);
    }
  }
  await using p = await loopbackPair({ sftp: { backend: new SlowWrites() } });
  await using sftp = await p.conn.startSftp();
  const ac = new AbortController();
  const writing = sftp.writeFile("/y", pattern(16 * 1024 * 1024), { signal: ac.signal });
  for (let i = 0; i < 200 && writes < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(writes >= 2, "the writes had started");
  ac.abort(new Error("cancelled mid-way"));
  await assert.rejects(writing, /cancelled mid-way/);
  assert.ok(writes < 64, `stopped early (${writes} writes of 64)`);
  await sftp.writeFile("/z", "ok");
  assert.equal(await sftp.readFile("/z", { encoding: "utf-8" }), "ok");
});

test("appendFile() appends on a server that ignores SSH_FXF_APPEND too (it writes at the size)", async () => {
  class NoAppend extends MemoryBackend {
    override open(path: string, flags: number, attrs: Parameters<MemoryBackend["open"]>[2]) {
      return super.open(path, flags & ~0x04, attrs); // SSH_FXF_APPEND dropped
    }
  }
  await using p = await loopbackPair({ sftp: { backend: new NoAppend() } });
  await using sftp = await p.conn.startSftp();
  await sftp.appendFile("/log", "one\n");
  await sftp.appendFile("/log", pattern(600_000));
  await sftp.appendFile("/log", "two\n");
  const got = await sftp.readFile("/log");
  assert.equal(got.length, 4 + 600_000 + 4);
  assert.equal(new TextDecoder().decode(got.subarray(0, 4)), "one\n");
  assert.deepEqual(got.subarray(4, 600_004), pattern(600_000));
  assert.equal(new TextDecoder().decode(got.subarray(600_004)), "two\n");
});
