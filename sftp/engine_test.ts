import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHWriter } from "../core/wire.ts";
import { EnginePair, expect } from "./_test_pair.ts";
import { isDirectory } from "./attrs.ts";
import type { SFTPResult } from "./client_engine.ts";
import { SFTPClientEngine } from "./client_engine.ts";
import { Ext, FXP, OpenFlags, SFTPStatus } from "./constants.ts";
import { SFTPError } from "./errors.ts";
import { MemoryBackend, type MemoryHandle } from "./memory_backend.ts";
import type { SFTPBackend } from "./backend.ts";
import {
  encodeData,
  encodeExtendedReply,
  encodeHandle,
  encodeHello,
  encodeName,
  encodeStatus,
} from "./messages.ts";
import { SFTPServerEngine } from "./server_engine.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function status(r: SFTPResult): number {
  return expect(r, "error").error.status;
}

/** A plain object whose methods call `b`'s (so tests can drop or wrap some). */
function delegate(b: MemoryBackend): SFTPBackend<MemoryHandle> & Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(b) as object;
  for (const k of Object.getOwnPropertyNames(proto)) {
    const v = Object.getOwnPropertyDescriptor(proto, k)?.value;
    if (k !== "constructor" && typeof v === "function") out[k] = v.bind(b);
  }
  return out as unknown as SFTPBackend<MemoryHandle> & Record<string, unknown>;
}

async function started<B extends SFTPBackend<MemoryHandle> = MemoryBackend>(backend?: B) {
  const b = backend ?? (new MemoryBackend({ now: () => 1_700_000_000_000 }) as unknown as B);
  const p = new EnginePair(b, { now: () => 1_700_000_000_000 });
  const ext = await p.start();
  return { p, backend: b, ext };
}

test("SFTPServerEngine announces every OpenSSH extension with OpenSSH's versions", async () => {
  const { ext } = await started();
  assert.deepEqual(Object.fromEntries(ext), {
    "posix-rename@openssh.com": "1",
    "statvfs@openssh.com": "2",
    "fstatvfs@openssh.com": "2",
    "hardlink@openssh.com": "1",
    "fsync@openssh.com": "1",
    "lsetstat@openssh.com": "1",
    "limits@openssh.com": "1",
    "expand-path@openssh.com": "1",
    "copy-data": "1",
    "home-directory": "1",
    "users-groups-by-id@openssh.com": "1",
  });
});

test("client and server engines: open, write, read, fstat, fsetstat, fsync, close", async () => {
  const { p, backend } = await started();
  const flags = OpenFlags.READ | OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC;
  const { handle } = expect(
    await p.call({ type: "open", path: "/f.txt", flags, attrs: { permissions: 0o600 } }),
    "handle",
  );
  expect(await p.call({ type: "write", handle, offset: 0, data: enc.encode("hello ") }), "ok");
  expect(await p.call({ type: "write", handle, offset: 6, data: enc.encode("world") }), "ok");
  assert.equal(
    dec.decode(expect(await p.call({ type: "read", handle, offset: 6, length: 100 }), "data").data),
    "world",
  );
  expect(await p.call({ type: "read", handle, offset: 11, length: 100 }), "eof");
  const st = expect(await p.call({ type: "fstat", handle }), "attrs").attrs;
  assert.equal(st.size, 11);
  assert.equal(st.permissions, 0o100600);
  expect(
    await p.call({ type: "fsetstat", handle, attrs: { size: 5, atime: 10, mtime: 20 } }),
    "ok",
  );
  expect(await p.call({ type: "fsync", handle }), "ok");
  const vfs = expect(await p.call({ type: "fstatvfs", handle }), "statvfs").statvfs;
  assert.equal(vfs.bsize, 4096);
  expect(await p.call({ type: "close", handle }), "ok");
  assert.equal(p.server.openHandles, 0);
  assert.equal(dec.decode(backend.readFile("/f.txt")), "hello");
  assert.equal(
    status(await p.call({ type: "read", handle, offset: 0, length: 1 })),
    SFTPStatus.FAILURE,
  );
});

test("client and server engines: directories, links, renames, attributes", async () => {
  const { p, backend } = await started();
  expect(await p.call({ type: "mkdir", path: "/d", attrs: { permissions: 0o750 } }), "ok");
  assert.equal(status(await p.call({ type: "mkdir", path: "/d", attrs: {} })), SFTPStatus.FAILURE);
  backend.writeFile("/d/a", enc.encode("A"));
  backend.writeFile("/d/b", enc.encode("BB"));
  const { handle } = expect(await p.call({ type: "opendir", path: "/d" }), "handle");
  const names: string[] = [];
  for (;;) {
    const r = await p.call({ type: "readdir", handle });
    if (r.kind === "eof") break;
    for (const e of expect(r, "names").entries) {
      names.push(e.filename);
      if (e.filename === "b") assert.match(e.longname, /^-rw-r--r-- +1 0 +0 +2 Nov 14 22:13 b$/);
    }
  }
  assert.deepEqual(names.sort(), [".", "..", "a", "b"]);
  expect(await p.call({ type: "close", handle }), "ok");
  assert.equal(
    expect(await p.call({ type: "stat", path: "/d" }), "attrs").attrs.permissions,
    0o40750,
  );
  expect(await p.call({ type: "symlink", linkPath: "/d/l", targetPath: "a" }), "ok");
  assert.equal(expect(await p.call({ type: "readlink", path: "/d/l" }), "path").path, "a");
  assert.equal(
    expect(await p.call({ type: "lstat", path: "/d/l" }), "attrs").attrs.permissions,
    0o120777,
  );
  assert.equal(expect(await p.call({ type: "stat", path: "/d/l" }), "attrs").attrs.size, 1);
  assert.equal(
    expect(await p.call({ type: "realpath", path: "/d/./l/../b" }), "path").path,
    "/d/b",
  );
  assert.equal(expect(await p.call({ type: "realpath", path: "." }), "path").path, "/");
  // SFTP v3 rename refuses to replace; posix-rename replaces.
  assert.equal(
    status(await p.call({ type: "rename", oldPath: "/d/a", newPath: "/d/b" })),
    SFTPStatus.FAILURE,
  );
  expect(await p.call({ type: "rename", oldPath: "/d/a", newPath: "/d/c" }), "ok");
  expect(await p.call({ type: "posixRename", oldPath: "/d/c", newPath: "/d/b" }), "ok");
  assert.equal(dec.decode(backend.readFile("/d/b")), "A");
  expect(await p.call({ type: "hardlink", oldPath: "/d/b", newPath: "/d/h" }), "ok");
  expect(await p.call({ type: "setstat", path: "/d/h", attrs: { permissions: 0o640 } }), "ok");
  assert.equal(
    expect(await p.call({ type: "stat", path: "/d/b" }), "attrs").attrs.permissions,
    0o100640,
  );
  expect(await p.call({ type: "lsetstat", path: "/d/l", attrs: { atime: 1, mtime: 2 } }), "ok");
  assert.equal(expect(await p.call({ type: "lstat", path: "/d/l" }), "attrs").attrs.mtime, 2);
  assert.equal(status(await p.call({ type: "rmdir", path: "/d" })), SFTPStatus.FAILURE);
  for (const f of ["/d/b", "/d/h", "/d/l"]) expect(await p.call({ type: "remove", path: f }), "ok");
  expect(await p.call({ type: "rmdir", path: "/d" }), "ok");
  assert.equal(status(await p.call({ type: "stat", path: "/d" })), SFTPStatus.NO_SUCH_FILE);
  const err = expect(await p.call({ type: "remove", path: "/nope" }), "error").error;
  assert.ok(err instanceof SFTPError);
  assert.equal(err.path, "/nope");
  assert.match(err.message, /remove "\/nope" failed: No such file \(NO_SUCH_FILE\)/);
});

test("client and server engines: limits, statvfs, expand-path, home-directory, users-groups, copy-data", async () => {
  const backend = new MemoryBackend({
    home: "/home/me",
    users: new Map([[0, "root"], [1000, "me"]]),
    groups: new Map([[0, "wheel"]]),
    uid: 1000,
  });
  const { p } = await started(backend);
  const limits = expect(await p.call({ type: "limits" }), "limits").limits;
  assert.deepEqual(limits, {
    maxPacketLength: 262144,
    maxReadLength: 261120,
    maxWriteLength: 261120,
    maxOpenHandles: 256,
  });
  expect(await p.call({ type: "statvfs", path: "/" }), "statvfs");
  assert.equal(
    expect(await p.call({ type: "expandPath", path: "~/docs" }), "path").path,
    "/home/me/docs",
  );
  assert.equal(
    expect(await p.call({ type: "expandPath", path: "~root" }), "path").path,
    "/home/root",
  );
  assert.equal(
    expect(await p.call({ type: "homeDirectory", username: "" }), "path").path,
    "/home/me",
  );
  assert.deepEqual(
    expect(await p.call({ type: "usersGroupsById", uids: [0, 5], gids: [0] }), "usersGroups"),
    {
      kind: "usersGroups",
      users: ["root", ""],
      groups: ["wheel"],
    },
  );
  backend.writeFile("src", enc.encode("0123456789"));
  const src =
    expect(await p.call({ type: "open", path: "src", flags: OpenFlags.READ, attrs: {} }), "handle")
      .handle;
  const dst = expect(
    await p.call({
      type: "open",
      path: "dst",
      flags: OpenFlags.WRITE | OpenFlags.CREAT,
      attrs: {},
    }),
    "handle",
  ).handle;
  expect(
    await p.call({
      type: "copyData",
      readHandle: src,
      readOffset: 2,
      length: 0,
      writeHandle: dst,
      writeOffset: 1,
    }),
    "ok",
  );
  assert.equal(
    status(
      await p.call({
        type: "copyData",
        readHandle: src,
        readOffset: 0,
        length: 0,
        writeHandle: src,
        writeOffset: 0,
      }),
    ),
    SFTPStatus.FAILURE,
  );
  assert.equal(dec.decode(backend.readFile("/home/me/dst")), "\0" + "23456789");
});

test("SFTPServerEngine copies through read and write when the backend has no copyData", async () => {
  const backend = new MemoryBackend();
  const { copyData: _, ...bare } = delegate(backend);
  const { p, ext } = await started(bare as SFTPBackend<MemoryHandle>);
  assert.equal(ext.get("copy-data"), "1");
  const big = new Uint8Array(200_000).map((_, i) => i * 7);
  backend.writeFile("/big", big);
  const src =
    expect(await p.call({ type: "open", path: "/big", flags: OpenFlags.READ, attrs: {} }), "handle")
      .handle;
  const dst = expect(
    await p.call({
      type: "open",
      path: "/copy",
      flags: OpenFlags.WRITE | OpenFlags.CREAT,
      attrs: {},
    }),
    "handle",
  ).handle;
  expect(
    await p.call({
      type: "copyData",
      readHandle: src,
      readOffset: 0,
      length: 0,
      writeHandle: dst,
      writeOffset: 0,
    }),
    "ok",
  );
  assert.deepEqual(backend.readFile("/copy"), big);
  assert.equal(
    status(
      await p.call({
        type: "copyData",
        readHandle: src,
        readOffset: 199_000,
        length: 5000,
        writeHandle: dst,
        writeOffset: 0,
      }),
    ),
    SFTPStatus.EOF,
  );
});

test("SFTPServerEngine refuses unknown extensions, unknown types and malformed requests but keeps going", async () => {
  const { p } = await started();
  assert.equal(
    status(await p.call({ type: "extended", name: "nope@example.com", data: new Uint8Array() })),
    SFTPStatus.OP_UNSUPPORTED,
  );
  // A request whose body is garbage: the server answers BAD_MESSAGE for that id.
  const id = p.client.request({ type: "stat", path: "/" });
  p.client.takeOutgoing();
  const raw = new SSHWriter().writeUint32(9).writeByte(FXP.STAT).writeUint32(id).writeUint32(1000)
    .toBytes();
  const result = new Promise<SFTPResult>((resolve) => {
    const orig = p.client.receiveData.bind(p.client);
    p.client.receiveData = (d) => {
      orig(d);
      const e = p.client.pollEvent();
      if (e?.type === "reply") resolve(e.result);
    };
  });
  p.server.receiveData(raw);
  assert.equal(status(await result), SFTPStatus.BAD_MESSAGE);
  assert.equal(p.server.closed, false);
});

test("SFTPServerEngine caps open handles and closes leftovers on close()", async () => {
  const backend = new MemoryBackend();
  let closes = 0;
  const counting = delegate(backend);
  counting.close = (h) => {
    closes++;
    return backend.close(h);
  };
  const p = new EnginePair(counting, { maxHandles: 3 });
  await p.start();
  backend.writeFile("/x", new Uint8Array(1));
  for (let i = 0; i < 3; i++) {
    expect(await p.call({ type: "open", path: "/x", flags: OpenFlags.READ, attrs: {} }), "handle");
  }
  const refused = expect(await p.call({ type: "opendir", path: "/" }), "error").error;
  assert.match(refused.peerMessage, /Too many open handles \(limit 3\)/);
  await p.server.close();
  assert.equal(closes, 3);
  assert.equal(p.server.openHandles, 0);
});

test("SFTPServerEngine ends the session on an oversized packet, a packet before INIT, or INIT twice", async () => {
  const cases: [Uint8Array[], RegExp][] = [
    [[new Uint8Array([0, 0x10, 0, 0, FXP.INIT])], /limit is 262144/],
    [[new Uint8Array([0, 0, 0, 5, FXP.STAT, 0, 0, 0, 1])], /Expected SSH_FXP_INIT/],
    [[encodeHello(FXP.INIT, 3, []), encodeHello(FXP.INIT, 3, [])], /INIT twice/],
    [
      [encodeHello(FXP.INIT, 3, []), new Uint8Array([0, 0, 0, 2, FXP.STAT, 0])],
      /without a request id/,
    ],
  ];
  for (const [input, re] of cases) {
    const sent: Uint8Array[] = [];
    const s = new SFTPServerEngine(new MemoryBackend(), { send: (c) => void sent.push(...c) });
    for (const c of input) s.receiveData(c);
    const err = await s.whenClosed();
    assert.match(err?.message ?? "", re);
    assert.equal(s.closed, true);
  }
});

test("SFTPServerEngine stops wanting data above its high-water mark and resumes as it answers", async () => {
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const client = new SFTPClientEngine();
  const server = new SFTPServerEngine(new MemoryBackend(), {
    inputHighWater: 100,
    send: async (chunks) => {
      for (const c of chunks) client.receiveData(c);
      await gate;
    },
  });
  client.start();
  for (const c of client.takeOutgoing()) server.receiveData(c);
  release();
  await server.idle();
  assert.equal(client.pollEvent()?.type, "version");
  gate = new Promise<void>((r) => (release = r));
  for (let i = 0; i < 20; i++) client.request({ type: "stat", path: "/" });
  for (const c of client.takeOutgoing()) server.receiveData(c);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(server.wantsData, false, "20 requests queued behind a blocked send");
  const resumed = server.whenWantsData();
  release();
  gate = Promise.resolve();
  await resumed;
  await server.idle();
  let replies = 0;
  for (let e; (e = client.pollEvent());) if (e.type === "reply") replies++;
  assert.equal(replies, 20);
  assert.equal(server.wantsData, true);
});

test("SFTPServerEngine stops wanting data once 1024 small requests wait, far below its byte mark", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let blocked = false;
  const client = new SFTPClientEngine();
  const server = new SFTPServerEngine(new MemoryBackend(), {
    send: async (chunks) => {
      for (const c of chunks) client.receiveData(c);
      if (blocked) await gate; // the client stops reading replies
    },
  });
  client.start();
  for (const c of client.takeOutgoing()) server.receiveData(c);
  await server.idle();
  assert.equal(client.pollEvent()?.type, "version");
  blocked = true;
  // Each STAT a packet of its own, as a client that sends them one channel packet apiece:
  // some 30 KiB in all, where the byte mark is 1 MiB.
  let fed = 0;
  for (let i = 0; i < 2000 && server.wantsData; i++) {
    client.request({ type: "stat", path: "/" });
    for (const c of client.takeOutgoing()) server.receiveData(c);
    fed++;
  }
  assert.equal(server.wantsData, false, `still wanted after ${fed} requests`);
  assert.ok(fed <= 1024 + 16, `${fed} requests taken in`);
  release();
  await server.whenWantsData();
  await server.idle();
  let replies = 0;
  for (let e; (e = client.pollEvent());) if (e.type === "reply") replies++;
  assert.equal(replies, fed, "every request taken in is answered");
});

test("SFTPServerEngine keeps wanting data while a packet larger than its high-water mark is still arriving", async () => {
  const server = new SFTPServerEngine(new MemoryBackend(), {
    maxPacketLength: 4 * 1024 * 1024,
    send: () => {},
  });
  const client = new SFTPClientEngine();
  client.start();
  for (const c of client.takeOutgoing()) server.receiveData(c);
  await server.idle();
  // Half of a 3 MiB packet (over the 1 MiB default mark): the rest must still be wanted.
  const packet = new Uint8Array(4 + 3 * 1024 * 1024);
  new DataView(packet.buffer).setUint32(0, packet.length - 4);
  packet[4] = FXP.WRITE;
  server.receiveData(packet.subarray(0, 1_572_864));
  assert.equal(server.wantsData, true, "the packet cannot complete otherwise");
});

test("SFTPClientEngine matches replies that arrive in any order", () => {
  const c = new SFTPClientEngine();
  c.start();
  c.takeOutgoing();
  c.receiveData(encodeHello(FXP.VERSION, 3, [[Ext.LIMITS, "1"]]));
  assert.equal(c.pollEvent()?.type, "version");
  assert.equal(c.supports(Ext.LIMITS, "1"), true);
  const a = c.request({ type: "read", handle: new Uint8Array(4), offset: 0, length: 10 });
  const b = c.request({ type: "open", path: "x", flags: 1, attrs: {} });
  const d = c.request({ type: "realpath", path: "." });
  const l = c.request({ type: "limits" });
  const replies = [
    encodeName(d, [{ filename: "/home", longname: "", attrs: {} }]),
    encodeExtendedReply(l, new Uint8Array(32)),
    ...encodeData(a, new Uint8Array(4)),
    encodeHandle(b, new Uint8Array([1, 2])),
  ];
  const all = new Uint8Array(replies.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of replies) {
    all.set(r, o);
    o += r.length;
  }
  for (const byte of all) c.receiveData(new Uint8Array([byte]));
  const got = [];
  for (let e; (e = c.pollEvent());) if (e.type === "reply") got.push([e.id, e.result.kind]);
  assert.deepEqual(got, [[d, "path"], [l, "limits"], [a, "data"], [b, "handle"]]);
  assert.equal(c.pendingCount, 0);
});

test("SFTPClientEngine closes with a protocol error on replies that do not fit", () => {
  const fresh = () => {
    const c = new SFTPClientEngine({ maxPacketLength: 1000 });
    c.start();
    c.receiveData(encodeHello(FXP.VERSION, 3, []));
    c.pollEvent();
    return c;
  };
  const cases: [(c: SFTPClientEngine) => Uint8Array, RegExp][] = [
    [() => encodeStatus(77, 0, ""), /unknown request id 77/],
    [
      (c) => encodeHandle(c.request({ type: "stat", path: "/" }), new Uint8Array(4)),
      /stat request with SSH_FXP_HANDLE/,
    ],
    [
      (c) =>
        encodeData(
          c.request({ type: "read", handle: new Uint8Array(1), offset: 0, length: 2 }),
          new Uint8Array(3),
        )[0]!,
      /3 bytes for a 2-byte read/,
    ],
    [() => new Uint8Array([0, 0, 4, 0, FXP.DATA]), /limit is 1000/],
    [(c) => encodeName(c.request({ type: "realpath", path: "." }), []), /0 names/],
    [
      (c) => encodeExtendedReply(c.request({ type: "limits" }), new Uint8Array(8)),
      /Cannot read limit/,
    ],
  ];
  for (const [make, re] of cases) {
    const c = fresh();
    let packet = make(c);
    if (packet[4] === FXP.DATA && packet.length < 20) {
      // encodeData's header only: append the 3 data bytes it announced.
      const full = new Uint8Array(packet.length + 3);
      full.set(packet);
      packet = full;
    }
    c.receiveData(packet);
    const e = c.pollEvent();
    assert.equal(e?.type, "closed");
    assert.match(e.type === "closed" ? e.error.message : "", re);
    assert.equal(c.closed, true);
    assert.throws(() => c.request({ type: "stat", path: "/" }), /session ended/);
  }
  const v6 = new SFTPClientEngine();
  v6.start();
  v6.receiveData(encodeHello(FXP.VERSION, 6, []));
  assert.match((v6.pollEvent() as { error: Error }).error.message, /version 6/);
});

test("SFTPServerEngine runs reads side by side in the backend but answers in request order", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/f", new Uint8Array(64 * 1024).map((_, i) => i));
  const b = delegate(backend);
  let running = 0;
  let most = 0;
  const pending: (() => void)[] = [];
  b.read = async (h, offset, length) => {
    running++;
    most = Math.max(most, running);
    // Hold every read until four are waiting, then release them last-first.
    await new Promise<void>((r) => {
      pending.push(r);
      if (pending.length === 4) { for (const f of pending.splice(0).reverse()) f(); }
    });
    running--;
    return backend.read(h, offset, length);
  };
  const p = new EnginePair(b);
  await p.start();
  const { handle } = expect(
    await p.call({ type: "open", path: "/f", flags: OpenFlags.READ, attrs: {} }),
    "handle",
  );
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) {
    ids.push(p.client.request({ type: "read", handle, offset: i * 8192, length: 8192 }));
  }
  const order: number[] = [];
  const orig = p.client.receiveData.bind(p.client);
  p.client.receiveData = (d) => {
    orig(d);
    for (let e; (e = p.client.pollEvent());) if (e.type === "reply") order.push(e.id);
  };
  await p.flush();
  assert.deepEqual(order, ids);
  assert.ok(most >= 4 && most <= 8, `${most} reads were in the backend at once (at most 8)`);
  // A close waits for the reads before it: the handle is still valid for them.
  p.client.receiveData = orig;
  expect(await p.call({ type: "close", handle }), "ok");
});

test("SFTPServerEngine runs writes that do not overlap side by side, and overlapping ones in request order", async () => {
  const backend = new MemoryBackend();
  const b = delegate(backend);
  let running = 0;
  let most = 0;
  let first = true;
  b.write = async (h, offset, data) => {
    const copy = data.slice();
    running++;
    most = Math.max(most, running);
    // The first write is the slow one: a later write that overlaps it must still land after.
    if (first) {
      first = false;
      await new Promise((r) => setTimeout(r, 30));
    } else await Promise.resolve();
    running--;
    return backend.write(h, offset, copy);
  };
  const p = new EnginePair(b);
  await p.start();
  const { handle } = expect(
    await p.call({
      type: "open",
      path: "/f",
      flags: OpenFlags.WRITE | OpenFlags.CREAT | OpenFlags.TRUNC,
      attrs: {},
    }),
    "handle",
  );
  const enc = new TextEncoder();
  // Four writes side by side (their bytes do not meet), then two over the first one's.
  for (let i = 0; i < 4; i++) {
    p.client.request({ type: "write", handle, offset: i * 4, data: enc.encode(`w${i}..`) });
  }
  p.client.request({ type: "write", handle, offset: 0, data: enc.encode("SECOND") });
  p.client.request({ type: "write", handle, offset: 2, data: enc.encode("3") });
  await p.flush();
  expect(await p.call({ type: "close", handle }), "ok");
  assert.equal(new TextDecoder().decode(backend.readFile("/f")), "SE3OND..w2..w3..");
  assert.ok(most >= 2, `${most} writes were in the backend at once`);
});

test("SFTPServerEngine refuses limits and copy-data when disabledExtensions leaves them out", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/src", new TextEncoder().encode("data"));
  const p = new EnginePair(backend, { disabledExtensions: [Ext.LIMITS, Ext.COPY_DATA] });
  const ext = await p.start();
  assert.ok(!ext.has(Ext.LIMITS) && !ext.has(Ext.COPY_DATA), "not announced");
  assert.equal(status(await p.call({ type: "limits" })), SFTPStatus.OP_UNSUPPORTED);
  const open = (path: string, flags: number) =>
    p.call({ type: "open", path, flags, attrs: {} }).then((r) => expect(r, "handle").handle);
  const from = await open("/src", OpenFlags.READ);
  const to = await open("/dst", OpenFlags.WRITE | OpenFlags.CREAT);
  const r = await p.call({
    type: "copyData",
    readHandle: from,
    readOffset: 0,
    length: 0,
    writeHandle: to,
    writeOffset: 0,
  });
  assert.equal(status(r), SFTPStatus.OP_UNSUPPORTED);
  assert.equal(backend.readFile("/dst").length, 0, "nothing was copied");
});

test("SFTPServerEngine copy-data to the end stops at the source's size when it starts, and refuses one file by the same name", async () => {
  const backend = new MemoryBackend();
  const { copyData: _, ...bare } = delegate(backend);
  const { p } = await started(bare as SFTPBackend<MemoryHandle>);
  backend.writeFile("/f", new Uint8Array(100_000).fill(1));
  const open = async (path: string, flags: number) =>
    expect(await p.call({ type: "open", path, flags, attrs: {} }), "handle").handle;
  const copy = (readHandle: Uint8Array, writeHandle: Uint8Array, writeOffset: number) =>
    p.call({ type: "copyData", readHandle, readOffset: 0, length: 0, writeHandle, writeOffset });
  // Two handles by one name: refused, as OpenSSH's sftp-server does.
  const r = await open("/f", OpenFlags.READ);
  assert.equal(
    status(await copy(r, await open("/f", OpenFlags.WRITE), 100_000)),
    SFTPStatus.FAILURE,
  );
  // The same file by another name (a hard link) appended to itself: once, not forever.
  expect(await p.call({ type: "hardlink", oldPath: "/f", newPath: "/g" }), "ok");
  expect(await copy(r, await open("/g", OpenFlags.WRITE), 100_000), "ok");
  assert.equal(backend.readFile("/f").length, 200_000);
});

test("SFTPServerEngine copy-data refuses one file by two spellings or through a symlink (no copyData in the backend)", async () => {
  const backend = new MemoryBackend();
  const { copyData: _, ...bare } = delegate(backend);
  const { p } = await started(bare as SFTPBackend<MemoryHandle>);
  const body = new Uint8Array(200_000).map((_, i) => i);
  backend.writeFile("/d/f", body);
  await backend.symlink("d/f", "/l");
  const open = async (path: string, flags: number) =>
    expect(await p.call({ type: "open", path, flags, attrs: {} }), "handle").handle;
  const r = await open("/d/f", OpenFlags.READ);
  for (const alias of ["/d/./f", "d/f", "/l", "/d/../d/f"]) {
    const w = await open(alias, OpenFlags.WRITE);
    // An overlapping copy of a file onto itself would smear it (each chunk reads the last).
    const res = await p.call({
      type: "copyData",
      readHandle: r,
      readOffset: 0,
      length: 150_000,
      writeHandle: w,
      writeOffset: 10,
    });
    assert.equal(status(res), SFTPStatus.FAILURE, alias);
    expect(await p.call({ type: "close", handle: w }), "ok");
  }
  assert.deepEqual(backend.readFile("/d/f"), body);
});

test("SFTPServerEngine with a packet limit of 1 KiB or less still answers reads with data and announces non-zero sizes", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/f", enc.encode("hello"));
  const p = new EnginePair(backend, { maxPacketLength: 1024 });
  await p.start();
  const limits = expect(await p.call({ type: "limits" }), "limits").limits;
  assert.equal(limits.maxPacketLength, 1024);
  // 0 would mean "no limit" to a client, which would then send packets the server refuses.
  assert.ok(limits.maxReadLength > 0, `max-read-length ${limits.maxReadLength}`);
  assert.ok(limits.maxWriteLength > 0, `max-write-length ${limits.maxWriteLength}`);
  const handle = expect(
    await p.call({ type: "open", path: "/f", flags: OpenFlags.READ, attrs: {} }),
    "handle",
  ).handle;
  const data = expect(await p.call({ type: "read", handle, offset: 0, length: 5 }), "data").data;
  assert.ok(data.length > 0, "a read of a non-empty file returned no bytes");
  assert.equal(dec.decode(data), "hello".slice(0, data.length));
});

test("SFTPClientEngine names the path a handle was opened with in the errors of requests on it", async () => {
  const backend = new MemoryBackend();
  backend.writeFile("/f", enc.encode("data"));
  await backend.mkdir("/d", {});
  const { p } = await started(backend);
  const open = async (path: string, flags: number) =>
    expect(await p.call({ type: "open", path, flags, attrs: {} }), "handle").handle;
  const readOnly = await open("/f", OpenFlags.READ);
  const e = expect(
    await p.call({ type: "write", handle: readOnly, offset: 0, data: enc.encode("x") }),
    "error",
  ).error;
  assert.equal(e.path, "/f");
  assert.match(e.message, /^write "\/f" failed/);
  const dir = expect(await p.call({ type: "opendir", path: "/d" }), "handle").handle;
  assert.equal(expect(await p.call({ type: "fstat", handle: dir }), "error").error.path, "/d");
  // Once closed, the handle names nothing (the server may give its value to another file).
  expect(await p.call({ type: "close", handle: readOnly }), "ok");
  const stale = expect(
    await p.call({ type: "read", handle: readOnly, offset: 0, length: 4 }),
    "error",
  );
  assert.equal(stale.error.path, undefined);
});

test("SFTPServerEngine: rmdir, remove and rename of an empty path leave an empty home directory", async () => {
  const backend = new MemoryBackend({ home: "/home/me" });
  const { p } = await started(backend);
  assert.equal(status(await p.call({ type: "rmdir", path: "" })), SFTPStatus.NO_SUCH_FILE);
  assert.equal(status(await p.call({ type: "remove", path: "" })), SFTPStatus.NO_SUCH_FILE);
  const rename = { type: "rename", oldPath: "", newPath: "/elsewhere" } as const;
  assert.equal(status(await p.call(rename)), SFTPStatus.NO_SUCH_FILE);
  assert.ok(isDirectory(await backend.stat("/home/me")));
  assert.equal(expect(await p.call({ type: "realpath", path: "" }), "path").path, "/home/me");
});

test("SFTPServerEngine: a backend that reports no file type still has remove and hardlink of 'f/' refused", async () => {
  const backend = new MemoryBackend({ home: "/home/me" });
  backend.writeFile("/home/me/f", new TextEncoder().encode("keep"));
  // Attributes without permissions (so without a type), as a minimal custom backend gives them.
  const untyped = <T extends { permissions?: number }>(a: T): T => ({
    ...a,
    permissions: undefined,
  });
  const b = new Proxy(backend, {
    get(target, key) {
      if (key === "stat") return async (p: string) => untyped(await target.stat(p));
      if (key === "lstat") return async (p: string) => untyped(await target.lstat(p));
      const v = Reflect.get(target, key);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const { p } = await started(b);
  assert.equal(status(await p.call({ type: "remove", path: "f/" })), SFTPStatus.NO_SUCH_FILE);
  const link = { type: "hardlink", oldPath: "f/", newPath: "g" } as const;
  assert.notEqual(status(await p.call(link)), SFTPStatus.OK);
  assert.deepEqual(await backend.stat("/home/me/f").then((a) => a.size), 4);
  await assert.rejects(backend.stat("/home/me/g"));
});
