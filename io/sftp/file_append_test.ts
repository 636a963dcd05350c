/**
 * Files opened in append mode ("a", "a+", SSH_FXF_APPEND): the server writes at the end
 * whatever offset a WRITE carries, so the position starts at the file's size and each
 * write leaves it at the new end, as AsyncSSH's SFTPClientFile reports with tell(); a
 * read there returns nothing, and one after setting the position back (seek) reads the
 * bytes there. Other modes keep starting at 0.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fsp from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OpenFlags } from "../../sftp/constants.ts";
import { MemoryBackend } from "../../sftp/memory_backend.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import { SFTPClient } from "./client.ts";
import { FsBackend } from "./fs_backend.ts";
import { openFile } from "./file.ts";
import { SFTPSession } from "./session.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array) => dec.decode(b);

/** A loopback server on `backend`, an SFTP session to it and a client on that session. */
async function withSession(
  backend: MemoryBackend | FsBackend,
  fn: (session: SFTPSession, sftp: SFTPClient) => Promise<void>,
): Promise<void> {
  await using p = await loopback({ sftp: { backend } });
  const session = await SFTPSession.open(p.conn, {});
  await using sftp = new SFTPClient(session);
  await fn(session, sftp);
}

const ELEVEN = "0123456789\n";

test('"a+": the position starts at the size, a write leaves it at the new end, a read there returns nothing', async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    await using f = await openFile(session, "/f.txt", "a+");
    assert.equal(f.position, 11); // AsyncSSH: tell() 11
    assert.equal(await f.write(enc.encode("tail\n")), 5);
    assert.equal(f.position, 16); // AsyncSSH: tell() 16
    assert.equal((await f.stat()).size, 16);
    assert.equal(text(await f.read()), ""); // AsyncSSH: read() at the end is ''
    assert.equal(text(await f.read(100)), "");
    assert.equal(f.position, 16);
  });
  assert.equal(text(b.readFile("/f.txt")), ELEVEN + "tail\n");
});

test('"a+": setting the position back (seek) reads from there; the next write goes to the end and moves it there', async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    await using f = await openFile(session, "/f.txt", "a+");
    await f.write(enc.encode("tail\n"));
    f.position = 5; // AsyncSSH: seek(5)
    assert.equal(text(await f.read(3)), "567");
    assert.equal(f.position, 8);
    assert.equal(text(await f.read()), "89\ntail\n");
    assert.equal(f.position, 16);
    f.position = 2;
    await f.write(enc.encode("more\n")); // at the end, not at 2
    assert.equal(f.position, 21);
    assert.equal(text(await f.read()), "");
    // Reads with an offset leave the position alone, as in any mode.
    assert.equal(text(await f.read(4, 16)), "more");
    assert.equal(f.position, 21);
  });
  assert.equal(text(b.readFile("/f.txt")), ELEVEN + "tail\nmore\n");
});

test('"a": a write with an offset still lands at the end (the server appends) and the position follows it', async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    await using f = await openFile(session, "/f.txt", "a");
    assert.equal(f.position, 11);
    await f.write(enc.encode("AB"), 0);
    assert.equal(f.position, 13);
    await f.write(enc.encode("CD"));
    assert.equal(f.position, 15);
  });
  assert.equal(text(b.readFile("/f.txt")), ELEVEN + "ABCD");
});

test('"a" on a new file, and writes larger than a request: the position is the bytes appended', async () => {
  const b = new MemoryBackend();
  await withSession(b, async (session) => {
    const big = new Uint8Array(session.writeSize * 3 + 17).map((_, i) => i & 0xff);
    await using f = await openFile(session, "/new.bin", "ax");
    assert.equal(f.position, 0);
    await f.write(big);
    assert.equal(f.position, big.length);
    await f.write(big);
    assert.equal(f.position, 2 * big.length);
    assert.deepEqual(b.readFile("/new.bin"), new Uint8Array([...big, ...big]));
  });
});

test("SSH_FXF_APPEND given as bits starts at the size too", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    await using f = await openFile(
      session,
      "/f.txt",
      OpenFlags.READ | OpenFlags.WRITE | OpenFlags.APPEND,
    );
    assert.equal(f.position, 11);
    await f.write(enc.encode("x"));
    assert.equal(f.position, 12);
  });
});

test("append mode: writable() appends and moves the position to each new end", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    await using f = await openFile(session, "/f.txt", "a+");
    const w = f.writable().getWriter();
    await w.write(enc.encode("one\n"));
    assert.equal(f.position, 15);
    await w.write(enc.encode("two\n"));
    assert.equal(f.position, 19);
    await w.close();
    assert.equal(text(await f.read()), "");
    f.position = 0;
    assert.equal(text(await f.read()), ELEVEN + "one\ntwo\n");
  });
});

test("append mode: what another handle appended counts once stat() saw it, and truncate() sets the end", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session, sftp) => {
    await using f = await openFile(session, "/f.txt", "a+");
    {
      await using other = await sftp.open("/f.txt", "r+");
      await other.write(enc.encode("other\n"), 11); // the file is 17 bytes now
    }
    // Unseen yet: the end as this client knows it (AsyncSSH's tell() would ask).
    await f.write(enc.encode("a\n"));
    assert.equal(f.position, 13);
    assert.equal((await f.stat()).size, 19);
    await f.write(enc.encode("b\n"));
    assert.equal(f.position, 21);
    assert.equal(text(b.readFile("/f.txt")), ELEVEN + "other\na\nb\n");
    await f.truncate(3);
    await f.write(enc.encode("xy"));
    assert.equal(f.position, 5);
    assert.equal(text(b.readFile("/f.txt")), "012xy");
  });
});

test("append mode on the file system backend (O_APPEND): the same positions", async () => {
  const root = await fsp.mkdtemp(join(tmpdir(), "sshts-sftp-append-"));
  try {
    await fsp.writeFile(join(root, "f.txt"), ELEVEN);
    await withSession(new FsBackend({ root }), async (session) => {
      await using f = await openFile(session, "/f.txt", "a+");
      assert.equal(f.position, 11);
      await f.write(enc.encode("tail\n"));
      assert.equal(f.position, 16);
      assert.equal(text(await f.read()), "");
      f.position = 10;
      assert.equal(text(await f.read()), "\ntail\n");
    });
    assert.equal(await fsp.readFile(join(root, "f.txt"), "utf8"), ELEVEN + "tail\n");
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
});

test("other modes still start at 0", async () => {
  const b = new MemoryBackend();
  b.writeFile("/f.txt", enc.encode(ELEVEN));
  await withSession(b, async (session) => {
    for (const mode of ["r", "r+"] as const) {
      await using f = await openFile(session, "/f.txt", mode);
      assert.equal(f.position, 0, mode);
      assert.equal(text(await f.read(4)), "0123", mode);
    }
    await using w = await openFile(session, "/f.txt", "w+");
    assert.equal(w.position, 0);
    await w.write(enc.encode("abc"));
    assert.equal(w.position, 3);
  });
});
