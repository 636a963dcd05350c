/**
 * Seeded mutation fuzzing of both SFTP engines: valid traffic with bytes
 * flipped, dropped, duplicated and lengths rewritten, fed in random splits.
 * Every run must end cleanly — the engine still running or closed with a
 * typed error — never an exception out of receiveData, a hang, or output that
 * is not well-formed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHReader } from "../core/wire.ts";
import { SFTPClientEngine } from "./client_engine.ts";
import { FXP, OpenFlags } from "./constants.ts";
import { SFTPProtocolError } from "./errors.ts";
import { MemoryBackend } from "./memory_backend.ts";
import {
  decodeReply,
  encodeAttrs,
  encodeData,
  encodeExtendedReply,
  encodeHandle,
  encodeHello,
  encodeLimitsBody,
  encodeName,
  encodeRequest,
  encodeStatus,
  encodeStatVFSBody,
  encodeUsersGroupsBody,
  type SFTPRequest,
} from "./messages.ts";
import { SFTPServerEngine } from "./server_engine.ts";
import { fuzzRuns, fuzzSeed } from "../core/_fuzz_test_util.ts";

/** xorshift32: small, seeded, reproducible. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  return { next, int: (n: number) => next() % n, chance: (p: number) => next() / 2 ** 32 < p };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function mutate(bytes: Uint8Array, r: ReturnType<typeof rng>): Uint8Array {
  let b: Uint8Array = bytes.slice();
  const edits = 1 + r.int(4);
  for (let i = 0; i < edits; i++) {
    const at = r.int(Math.max(1, b.length));
    switch (r.int(6)) {
      case 0:
        b[at] = r.int(256);
        break;
      case 1:
        b[at] = b[at]! ^ (1 << r.int(8));
        break;
      case 2: // drop a span
        b = concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(16)))]);
        break;
      case 3: // duplicate a span
        b = concat([b.subarray(0, at), b.subarray(at, at + r.int(32)), b.subarray(at)]);
        break;
      case 4: // a big or small uint32 somewhere (lengths, counts, flags)
        if (at + 4 <= b.length) {
          new DataView(b.buffer).setUint32(
            at,
            [0, 1, 0xffffffff, 0x7fffffff, 0x10000, r.next()][r.int(6)]!,
          );
        }
        break;
      case 5: // truncate
        b = b.subarray(0, at);
        break;
    }
  }
  return b;
}

function feed(bytes: Uint8Array, r: ReturnType<typeof rng>, sink: (c: Uint8Array) => void): void {
  for (let o = 0; o < bytes.length;) {
    const n = 1 + r.int(r.chance(0.5) ? 8 : 600);
    sink(bytes.subarray(o, o + n));
    o += n;
  }
}

const H = new Uint8Array([0, 0, 0, 1]);
const H2 = new Uint8Array([0, 0, 0, 2]);
const CLIENT_REQUESTS: SFTPRequest[] = [
  {
    type: "open",
    path: "/f",
    flags: OpenFlags.READ | OpenFlags.WRITE | OpenFlags.CREAT,
    attrs: { permissions: 0o644 },
  },
  { type: "write", handle: H, offset: 3, data: new Uint8Array(40).fill(7) },
  { type: "read", handle: H, offset: 0, length: 64 },
  { type: "fstat", handle: H },
  { type: "fsetstat", handle: H, attrs: { size: 10, uid: 1, gid: 1, atime: 1, mtime: 2 } },
  { type: "opendir", path: "/" },
  { type: "readdir", handle: H2 },
  { type: "mkdir", path: "/d", attrs: {} },
  { type: "symlink", linkPath: "/d/l", targetPath: "../f" },
  { type: "readlink", path: "/d/l" },
  { type: "realpath", path: "/d/l/.." },
  { type: "stat", path: "/d/l" },
  { type: "lstat", path: "/d/l" },
  { type: "setstat", path: "/f", attrs: { permissions: 0o600 } },
  { type: "rename", oldPath: "/f", newPath: "/g" },
  { type: "posixRename", oldPath: "/g", newPath: "/f" },
  { type: "hardlink", oldPath: "/f", newPath: "/h" },
  { type: "statvfs", path: "/" },
  { type: "fstatvfs", handle: H },
  { type: "fsync", handle: H },
  { type: "lsetstat", path: "/d/l", attrs: { atime: 1, mtime: 1 } },
  { type: "limits" },
  { type: "expandPath", path: "~/d" },
  { type: "copyData", readHandle: H, readOffset: 0, length: 0, writeHandle: H2, writeOffset: 0 },
  { type: "homeDirectory", username: "" },
  { type: "usersGroupsById", uids: [0, 1], gids: [0] },
  { type: "extended", name: "x@y", data: new Uint8Array(3) },
  { type: "remove", path: "/h" },
  { type: "rmdir", path: "/d" },
  { type: "close", handle: H },
  { type: "close", handle: H2 },
];

function clientStream(): Uint8Array {
  const parts: Uint8Array[] = [encodeHello(FXP.INIT, 3, [])];
  CLIENT_REQUESTS.forEach((req, i) => parts.push(...encodeRequest(i + 1, req)));
  return concat(parts);
}

test("SFTPServerEngine survives mutated client streams with well-formed replies", async () => {
  const valid = clientStream();
  const r = rng(fuzzSeed(0x5f7e));
  let closedRuns = 0;
  const runs = fuzzRuns(300);
  for (let run = 0; run < runs; run++) {
    const backend = new MemoryBackend({ now: () => 0, maxBytes: 1 << 20 });
    backend.writeFile("/f", new Uint8Array(100));
    const out: Uint8Array[] = [];
    const server = new SFTPServerEngine(backend, {
      maxHandles: 4,
      maxPacketLength: 4096,
      // Both orders of SYMLINK's paths are read (every other run the draft's).
      symlinkOrder: run % 2 ? "draft" : "openssh",
      send: (chunks) => void out.push(...chunks),
    });
    const input = run === 0 ? valid : mutate(valid, r);
    feed(input, r, (c) => server.receiveData(c));
    await server.idle();
    await server.close();
    assert.equal(server.openHandles, 0, `run ${run}: handles left open`);
    if (server.error) {
      assert.ok(server.error instanceof SFTPProtocolError);
      closedRuns++;
    }
    // Every reply is a whole, well-formed packet.
    const bytes = concat(out);
    const rd = new SSHReader(bytes);
    let first = true;
    while (rd.remaining > 0) {
      const len = rd.readUint32();
      const body = rd.readBytes(len);
      if (first) assert.equal(body[0], FXP.VERSION, `run ${run}`);
      else assert.ok(decodeReply(new SSHReader(body)), `run ${run}: reply type ${body[0]}`);
      first = false;
    }
    if (run === 0) {
      assert.equal(server.error, undefined);
      assert.ok(out.length > CLIENT_REQUESTS.length);
    }
  }
  assert.ok(closedRuns > 0 && closedRuns < runs, `closed runs: ${closedRuns} of ${runs}`);
});

function serverStream(c: SFTPClientEngine): Uint8Array {
  const ids = [
    c.request({ type: "open", path: "/f", flags: 1, attrs: {} }),
    c.request({ type: "read", handle: H, offset: 0, length: 100 }),
    c.request({ type: "readdir", handle: H2 }),
    c.request({ type: "stat", path: "/" }),
    c.request({ type: "statvfs", path: "/" }),
    c.request({ type: "limits" }),
    c.request({ type: "usersGroupsById", uids: [1, 2], gids: [3] }),
    c.request({ type: "realpath", path: "." }),
    c.request({ type: "close", handle: H }),
    c.request({ type: "extended", name: "x@y", data: new Uint8Array() }),
    c.request({ type: "read", handle: H, offset: 100, length: 100 }),
  ];
  const [open, read, readdir, stat, vfs, limits, ug, rp, close, ext, eof] = ids as [
    number,
    ...number[],
  ] as number[];
  return concat([
    encodeHandle(open!, H),
    ...encodeData(read!, new Uint8Array(60).fill(1)),
    encodeName(readdir!, [
      { filename: "a", longname: "-rw a", attrs: { size: 1, permissions: 0o100644 } },
      {
        filename: "b",
        longname: "drwx b",
        attrs: { permissions: 0o40755, extended: [{ type: "t", data: H }] },
      },
    ]),
    encodeAttrs(stat!, { size: 5, uid: 1, gid: 2, atime: 3, mtime: 4 }),
    encodeExtendedReply(
      vfs!,
      encodeStatVFSBody({
        bsize: 1,
        frsize: 1,
        blocks: 1,
        bfree: 1,
        bavail: 1,
        files: 1,
        ffree: 1,
        favail: 1,
        fsid: 1,
        flag: 1,
        namemax: 1,
      }),
    ),
    encodeExtendedReply(
      limits!,
      encodeLimitsBody({
        maxPacketLength: 1,
        maxReadLength: 1,
        maxWriteLength: 1,
        maxOpenHandles: 1,
      }),
    ),
    encodeExtendedReply(ug!, encodeUsersGroupsBody(["u1", "u2"], ["g3"])),
    encodeName(rp!, [{ filename: "/home", longname: "", attrs: {} }]),
    encodeStatus(close!, 0, "ok"),
    encodeExtendedReply(ext!, new Uint8Array(5)),
    encodeStatus(eof!, 1, "eof"),
  ]);
}

test("SFTPClientEngine survives mutated server streams: results or a typed close", () => {
  const r = rng(fuzzSeed(0xc11e));
  let closedRuns = 0;
  const runs = fuzzRuns(400);
  for (let run = 0; run < runs; run++) {
    const c = new SFTPClientEngine({ maxPacketLength: 2048 });
    c.start();
    c.takeOutgoing();
    c.receiveData(encodeHello(FXP.VERSION, 3, [["limits@openssh.com", "1"]]));
    assert.equal(c.pollEvent()?.type, "version");
    const valid = serverStream(c);
    const input = run === 0 ? valid : mutate(valid, r);
    let replies = 0;
    let closed = false;
    feed(input, r, (chunk) => {
      c.receiveData(chunk);
      for (let e; (e = c.pollEvent());) {
        assert.equal(closed, false, "no events after closed");
        if (e.type === "closed") {
          assert.ok(e.error instanceof SFTPProtocolError);
          closed = true;
        } else {
          assert.equal(e.type, "reply");
          replies++;
        }
      }
    });
    if (closed) closedRuns++;
    if (run === 0) {
      assert.equal(replies, 11);
      assert.equal(c.pendingCount, 0);
    }
    assert.ok(replies <= 11);
  }
  assert.ok(closedRuns > runs / 8, `closed runs: ${closedRuns} of ${runs}`);
});
