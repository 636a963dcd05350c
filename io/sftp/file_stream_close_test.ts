/**
 * SFTPFile.close() and the streams of the file: once close() began, no request with the
 * handle is sent again, from a method or from a readable()/writable() still in use. OpenSSH's
 * sftp-server gives a freed handle id to the next open(), so a stale request reads or writes
 * another file; our server does not reuse ids, so the session here does it as OpenSSH's
 * does (the lowest free id), and logs every request the client sends and every reply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SFTPResult } from "../../sftp/client_engine.ts";
import { SFTPError } from "../../sftp/errors.ts";
import { MemoryBackend, type MemoryHandle } from "../../sftp/memory_backend.ts";
import type { SFTPRequest } from "../../sftp/messages.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { SFTPClient } from "./client.ts";
import { SFTPSession } from "./session.ts";
import type { SFTPFile } from "./file.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Logged {
  readonly event: "send" | "reply";
  readonly type: SFTPRequest["type"];
  /** The handle id the client used (what OpenSSH would see), when the request had one. */
  readonly slot?: number;
}

/**
 * Makes `s` behave as talking to OpenSSH's sftp-server: the handles the client sees are
 * slot numbers, a freed slot going to the next open; each is mapped to the server's own
 * handle. Returns the log of requests sent and replies received.
 */
function reuseHandles(s: SFTPSession): Logged[] {
  const log: Logged[] = [];
  const real = s.request.bind(s);
  const slots: (Uint8Array | undefined)[] = [];
  const slotOf = (h: Uint8Array) => new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
  s.request = (req: SFTPRequest, signal?: AbortSignal): Promise<SFTPResult> => {
    let out = req;
    let slot: number | undefined;
    if ("handle" in req) {
      slot = slotOf(req.handle);
      const h = slots[slot];
      if (h !== undefined) out = { ...req, handle: h } as SFTPRequest;
      if (req.type === "close") slots[slot] = undefined;
    }
    log.push({ event: "send", type: req.type, ...(slot === undefined ? {} : { slot }) });
    return real(out, signal).then((r) => {
      log.push({ event: "reply", type: req.type, ...(slot === undefined ? {} : { slot }) });
      if (r.kind !== "handle") return r;
      let free = 0;
      while (slots[free] !== undefined) free++;
      slots[free] = r.handle;
      const handle = new Uint8Array(4);
      new DataView(handle.buffer).setUint32(0, free);
      return { kind: "handle", handle };
    });
  };
  return log;
}

/** The requests of `types` the client sent after the (first) CLOSE of `slot`. */
function sentAfterClose(log: Logged[], slot: number, types: SFTPRequest["type"][]): Logged[] {
  const at = log.findIndex((e) => e.event === "send" && e.type === "close" && e.slot === slot);
  assert.ok(at >= 0, "CLOSE was sent");
  return log.slice(at + 1).filter((e) => e.event === "send" && types.includes(e.type));
}

async function withSftp(
  backend: MemoryBackend,
  fn: (sftp: SFTPClient, log: Logged[]) => Promise<void>,
): Promise<void> {
  await using p = await loopback({ sftp: { backend } });
  const session = await SFTPSession.open(p.conn, {});
  const log = reuseHandles(session);
  await using sftp = new SFTPClient(session);
  await fn(sftp, log);
}

const isClosed = (e: unknown) =>
  e instanceof SFTPError && /The file is closed/.test(e.message) && e.path !== undefined;

const slotOf = (h: Uint8Array) => new DataView(h.buffer, h.byteOffset, 4).getUint32(0);

test("a writable made before close() never writes into the file opened next with the same handle id", async () => {
  const b = new MemoryBackend();
  b.writeFile("/a", enc.encode("AAAAAAAAAA"));
  b.writeFile("/c", enc.encode("CCCCCCCCCC"));
  await withSftp(b, async (sftp, log) => {
    const f = await sftp.open("/a", "r+");
    const ws = f.writable({ start: 0 });
    await f.close();
    await using victim = await sftp.open("/c", "r+");
    assert.deepEqual(victim.handle, f.handle, "the handle id was given out again");
    const w = ws.getWriter();
    await assert.rejects(w.write(enc.encode("XX")), isClosed);
    await assert.rejects(w.closed, isClosed);
    await assert.rejects(w.close()); // a TypeError: the stream errored
    assert.deepEqual(sentAfterClose(log, slotOf(f.handle), ["write"]), []);
    assert.equal(dec.decode(b.readFile("/c")), "CCCCCCCCCC");
    assert.equal(dec.decode(b.readFile("/a")), "AAAAAAAAAA");
  });
});

test("a readable still reading when the file closes errors, and never reads the file opened next", async () => {
  const b = new MemoryBackend();
  await withSftp(b, async (sftp, log) => {
    const size = sftp.requestSize.read * 40;
    b.writeFile("/a", new Uint8Array(size).fill(0x41));
    b.writeFile("/b", new Uint8Array(size).fill(0x42));
    const f = await sftp.open("/a", "r");
    const rd = f.readable().getReader();
    const first = await rd.read();
    assert.ok(!first.done && first.value.every((x) => x === 0x41));
    await new Promise((r) => setTimeout(r, 100)); // the reads in flight are answered
    await f.close();
    await using other = await sftp.open("/b", "r");
    assert.deepEqual(other.handle, f.handle, "the handle id was given out again");
    const seen = new Set<number>();
    await assert.rejects(async () => {
      for (;;) {
        const r = await rd.read();
        if (r.done) break;
        for (const x of r.value) seen.add(x);
      }
    }, isClosed);
    assert.ok(!seen.has(0x42), "bytes of the other file came through the stale handle");
    assert.deepEqual(sentAfterClose(log, slotOf(f.handle), ["read"]), []);
  });
});

test("`await using f; return f.readable()` gives a stream that fails with the file closed, sending nothing", async () => {
  const b = new MemoryBackend();
  b.writeFile("/a", new Uint8Array(1 << 20).fill(1));
  await withSftp(b, async (sftp, log) => {
    let handle!: Uint8Array;
    const open = async () => {
      await using f = await sftp.open("/a");
      handle = f.handle;
      return f.readable();
    };
    const rs = await open();
    await assert.rejects(rs.getReader().read(), isClosed);
    assert.deepEqual(sentAfterClose(log, slotOf(handle), ["read"]), []);
  });
});

test("readable() and writable() of a closed file throw, and so do read() and write()", async () => {
  const b = new MemoryBackend();
  b.writeFile("/a", enc.encode("abc"));
  await withSftp(b, async (sftp, log) => {
    const f = await sftp.open("/a", "r+");
    await f.close();
    assert.throws(() => f.readable(), isClosed);
    assert.throws(() => f.writable(), isClosed);
    await assert.rejects(f.read(1), isClosed);
    await assert.rejects(f.write(enc.encode("x")), isClosed);
    assert.deepEqual(sentAfterClose(log, slotOf(f.handle), ["read", "write", "fstat"]), []);
  });
});

/** Holds every WRITE until `release()`; `held` says how many wait. */
class SlowWrites extends MemoryBackend {
  held = 0;
  #gate = Promise.withResolvers<void>();
  release(): void {
    this.#gate.resolve();
  }
  override async write(h: MemoryHandle, offset: number, data: Uint8Array): Promise<void> {
    this.held++;
    await this.#gate.promise;
    return await super.write(h, offset, data);
  }
}

/**
 * Closes `f` while `b` holds a write in flight: no CLOSE may go out meanwhile (50 ms);
 * then the write is let through and the close awaited.
 */
async function closeWhileWriteHeld(f: SFTPFile, b: SlowWrites, log: Logged[]): Promise<void> {
  const closing = f.close();
  closing.catch(() => {});
  try {
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(!log.some((e) => e.type === "close"), "CLOSE went out before the write's answer");
  } finally {
    b.release();
  }
  await closing;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; !cond(); i++) {
    if (i > 500) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("close() waits for the writes in flight before it sends CLOSE, and errors the writable", async () => {
  const b = new SlowWrites();
  b.writeFile("/a", enc.encode("........"));
  await withSftp(b, async (sftp, log) => {
    const f = await sftp.open("/a", "r+");
    const w = f.writable({ start: 0 }).getWriter();
    const written = w.write(enc.encode("1234"));
    written.catch(() => {});
    await until(() => b.held === 1);
    // More data buffered in the stream, behind the write in flight.
    const buffered = w.write(enc.encode("5678"));
    buffered.catch(() => {});
    await closeWhileWriteHeld(f, b, log);
    // The writer knows: what it had buffered was not written.
    await assert.rejects(buffered, isClosed);
    await assert.rejects(w.closed, isClosed);
    await assert.rejects(w.close()); // a TypeError: the stream errored
    const slot = slotOf(f.handle);
    const closeAt = log.findIndex((e) => e.event === "send" && e.type === "close");
    const lastWriteReply = log.findLastIndex((e) => e.event === "reply" && e.type === "write");
    assert.ok(lastWriteReply >= 0 && lastWriteReply < closeAt, JSON.stringify(log));
    assert.deepEqual(sentAfterClose(log, slot, ["write"]), []);
    assert.equal(log.filter((e) => e.event === "send" && e.type === "write").length, 1);
    assert.equal(dec.decode(b.readFile("/a")), "1234....");
  });
});

test("close() waits for a write() in flight; that write() fails for the part never sent", async () => {
  const b = new SlowWrites();
  b.writeFile("/a", new Uint8Array(0));
  await withSftp(b, async (sftp, log) => {
    const f = await sftp.open("/a", "r+");
    // Several requests' worth: slow start sends one, and waits for its answer.
    const writing = f.write(new Uint8Array(sftp.requestSize.write * 3).fill(0x61));
    writing.catch(() => {});
    await until(() => b.held === 1);
    await closeWhileWriteHeld(f, b, log);
    await assert.rejects(writing, isClosed);
    assert.deepEqual(sentAfterClose(log, slotOf(f.handle), ["write"]), []);
    assert.equal(b.readFile("/a").length, sftp.requestSize.write);
  });
});

test("a writable closed before the file writes everything; a finished readable stays readable", async () => {
  const b = new MemoryBackend();
  b.writeFile("/a", enc.encode("hello"));
  await withSftp(b, async (sftp) => {
    {
      await using f = await sftp.open("/a", "r+");
      const ws = f.writable({ start: 5 });
      const w = ws.getWriter();
      await w.write(enc.encode(", world"));
      await w.close();
    }
    assert.equal(dec.decode(b.readFile("/a")), "hello, world");
    const f = await sftp.open("/a");
    const rs = f.readable();
    const reader = rs.getReader();
    // Read to the end, then close: what was read is kept.
    const chunks: Uint8Array[] = [];
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    await f.close();
    assert.equal(dec.decode(new Uint8Array(chunks.flatMap((c) => [...c]))), "hello, world");
  });
});
