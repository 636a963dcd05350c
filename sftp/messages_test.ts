import { test } from "node:test";
import assert from "node:assert/strict";
import { SSHReader, SSHWriter } from "../core/wire.ts";
import { WireError } from "../core/errors.ts";
import { fuzzRuns, fuzzSeed } from "../core/_fuzz_test_util.ts";
import { formatLongname, modeString, readAttrs, writeAttrs } from "./attrs.ts";
import { FXP, OpenFlags } from "./constants.ts";
import {
  decodeHello,
  decodeLimitsBody,
  decodeReply,
  decodeRequest,
  decodeStatVFSBody,
  decodeUsersGroupsBody,
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
import { PacketFramer } from "./framer.ts";

function join(chunks: Uint8Array[]): Uint8Array {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

const h = (...b: number[]) => new Uint8Array(b);

const REQUESTS: SFTPRequest[] = [
  {
    type: "open",
    path: "/a/ü.txt",
    flags: OpenFlags.WRITE | OpenFlags.CREAT,
    attrs: { permissions: 0o600 },
  },
  { type: "close", handle: h(1, 2, 3, 4) },
  { type: "read", handle: h(9), offset: 2 ** 40 + 3, length: 261120 },
  { type: "write", handle: h(9), offset: 7, data: h(1, 2, 3) },
  { type: "write", handle: h(9), offset: 0, data: h() },
  { type: "lstat", path: "l" },
  { type: "fstat", handle: h(5) },
  { type: "setstat", path: "s", attrs: { uid: 1, gid: 2, atime: 3, mtime: 4 } },
  { type: "fsetstat", handle: h(5), attrs: { size: 2 ** 33 } },
  { type: "opendir", path: "/" },
  { type: "readdir", handle: h(6) },
  { type: "remove", path: "r" },
  { type: "mkdir", path: "m", attrs: { permissions: 0o755 } },
  { type: "rmdir", path: "d" },
  { type: "realpath", path: "." },
  { type: "stat", path: "st" },
  { type: "rename", oldPath: "a", newPath: "b" },
  { type: "readlink", path: "ln" },
  { type: "symlink", linkPath: "link", targetPath: "target" },
  { type: "posixRename", oldPath: "x", newPath: "y" },
  { type: "statvfs", path: "/" },
  { type: "fstatvfs", handle: h(1) },
  { type: "hardlink", oldPath: "o", newPath: "n" },
  { type: "fsync", handle: h(2) },
  { type: "lsetstat", path: "p", attrs: { permissions: 0o644 } },
  { type: "limits" },
  { type: "expandPath", path: "~/x" },
  {
    type: "copyData",
    readHandle: h(1),
    readOffset: 10,
    length: 0,
    writeHandle: h(2),
    writeOffset: 20,
  },
  { type: "homeDirectory", username: "" },
  { type: "usersGroupsById", uids: [0, 1000], gids: [] },
  { type: "extended", name: "check-file-name", data: h(0, 0, 0, 1, 0x41) },
];

test("encodeRequest() and decodeRequest() round-trip every request type", () => {
  for (const req of REQUESTS) {
    const p = join(encodeRequest(42, req));
    const len = new DataView(p.buffer).getUint32(0);
    assert.equal(len, p.length - 4, req.type);
    assert.equal(new DataView(p.buffer).getUint32(5), 42);
    const back = decodeRequest(p[4]!, new SSHReader(p, 9));
    assert.deepEqual(back, req, req.type);
  }
});

test("encodeRequest() sends a WRITE's data as its own chunk and SYMLINK in OpenSSH's order", () => {
  const data = new Uint8Array(1000);
  const chunks = encodeRequest(1, { type: "write", handle: h(1), offset: 0, data });
  assert.equal(chunks.length, 2);
  assert.equal(chunks[1], data);
  const p = join(encodeRequest(1, { type: "symlink", linkPath: "L", targetPath: "T" }));
  const r = new SSHReader(p, 9);
  assert.equal(r.readStringUtf8(), "T");
  assert.equal(r.readStringUtf8(), "L");
});

test("decodeRequest() rejects trailing bytes, truncation and oversized fields with WireError", () => {
  const p = join(encodeRequest(1, { type: "stat", path: "x" }));
  const extra = new Uint8Array(p.length + 1);
  extra.set(p);
  assert.throws(() => decodeRequest(FXP.STAT, new SSHReader(extra, 9)), WireError);
  assert.throws(() => decodeRequest(FXP.STAT, new SSHReader(p, 9, p.length - 1)), WireError);
  const big = new SSHWriter().writeUint32(300).writeBytes(new Uint8Array(300)).toBytes();
  assert.throws(() => decodeRequest(FXP.CLOSE, new SSHReader(big)), /exceeds 256/);
  const odd = new SSHWriter().writeStringUtf8("users-groups-by-id@openssh.com")
    .writeString(h(0, 0, 1)).writeString(h()).toBytes();
  assert.throws(() => decodeRequest(FXP.EXTENDED, new SSHReader(odd)), /multiple of 4/);
  assert.equal(decodeRequest(99, new SSHReader(h())), undefined);
});

test("every reply type round-trips through decodeReply()", () => {
  const data = new Uint8Array([7, 8, 9]);
  const cases = [
    [encodeStatus(1, 2, "No such file", "en"), {
      type: "status",
      id: 1,
      code: 2,
      message: "No such file",
      language: "en",
    }],
    [encodeHandle(2, h(0, 0, 0, 1)), { type: "handle", id: 2, handle: h(0, 0, 0, 1) }],
    [join(encodeData(3, data)), { type: "data", id: 3, data }],
    [encodeName(4, [{ filename: "f", longname: "-rw f", attrs: { size: 1 } }]), {
      type: "name",
      id: 4,
      entries: [{ filename: "f", longname: "-rw f", attrs: { size: 1 } }],
    }],
    [encodeAttrs(5, { permissions: 0o40755 }), {
      type: "attrs",
      id: 5,
      attrs: { permissions: 0o40755 },
    }],
    [encodeExtendedReply(6, h(1, 2)), { type: "extendedReply", id: 6, data: h(1, 2) }],
  ] as const;
  for (const [p, want] of cases) {
    assert.equal(new DataView(p.buffer).getUint32(0), p.length - 4);
    assert.deepEqual(decodeReply(new SSHReader(p, 4)), want);
  }
  // A STATUS without message and language (old servers) is accepted.
  const bare = new SSHWriter().writeByte(FXP.STATUS).writeUint32(9).writeUint32(1).toBytes();
  assert.deepEqual(decodeReply(new SSHReader(bare)), {
    type: "status",
    id: 9,
    code: 1,
    message: "",
    language: "",
  });
  // A NAME whose count cannot fit is refused before building entries.
  const lying = new SSHWriter().writeByte(FXP.NAME).writeUint32(1).writeUint32(0x7fffffff)
    .toBytes();
  assert.throws(() => decodeReply(new SSHReader(lying)), WireError);
});

test("extension reply bodies round-trip: statvfs, limits, users-groups-by-id", () => {
  const s = {
    bsize: 4096,
    frsize: 4096,
    blocks: 2 ** 40,
    bfree: 5,
    bavail: 4,
    files: 3,
    ffree: 2,
    favail: 1,
    fsid: 77,
    flag: 3,
    namemax: 255,
  };
  assert.deepEqual(decodeStatVFSBody(encodeStatVFSBody(s)), s);
  const l = {
    maxPacketLength: 262144,
    maxReadLength: 261120,
    maxWriteLength: 261120,
    maxOpenHandles: 0,
  };
  assert.deepEqual(decodeLimitsBody(encodeLimitsBody(l)), l);
  assert.deepEqual(decodeUsersGroupsBody(encodeUsersGroupsBody(["root", ""], ["g"]), 2, 1), {
    users: ["root", ""],
    groups: ["g"],
  });
  assert.throws(() => decodeUsersGroupsBody(encodeUsersGroupsBody(["root"], []), 2, 0), WireError);
  assert.throws(() => decodeStatVFSBody(new Uint8Array(80)), WireError);
});

test("encodeHello() and decodeHello() carry the version and extension pairs", () => {
  const p = encodeHello(FXP.VERSION, 3, [["posix-rename@openssh.com", "1"], [
    "limits@openssh.com",
    "1",
  ]]);
  assert.equal(p[4], FXP.VERSION);
  const hello = decodeHello(new SSHReader(p, 5));
  assert.equal(hello.version, 3);
  assert.deepEqual([...hello.extensions], [["posix-rename@openssh.com", "1"], [
    "limits@openssh.com",
    "1",
  ]]);
  const w = new SSHWriter().writeUint32(3);
  for (let i = 0; i < 300; i++) w.writeStringUtf8(`e${i}`).writeStringUtf8("1");
  assert.throws(() => decodeHello(new SSHReader(w.toBytes())), /more than 256 extensions/);
});

test("writeAttrs() and readAttrs() round-trip, refuse half pairs and unknown flags", () => {
  const a = {
    size: 12345678901,
    uid: 1000,
    gid: 100,
    permissions: 0o100644,
    atime: 1700000000,
    mtime: 1700000001,
    extended: [{ type: "x@y", data: h(1) }],
  };
  const w = new SSHWriter();
  writeAttrs(w, a);
  assert.deepEqual(readAttrs(new SSHReader(w.toBytes())), a);
  assert.throws(() => writeAttrs(new SSHWriter(), { uid: 1 }), RangeError);
  assert.throws(() => writeAttrs(new SSHWriter(), { mtime: 1 }), RangeError);
  assert.throws(() => readAttrs(new SSHReader(h(0, 0, 1, 0))), /unknown flags/);
  const many = new SSHWriter().writeUint32(0x80000000).writeUint32(0xffffffff).toBytes();
  assert.throws(() => readAttrs(new SSHReader(many)), WireError);
});

test("modeString() and formatLongname() print what ls -l prints", () => {
  assert.equal(modeString(0o40755), "drwxr-xr-x");
  assert.equal(modeString(0o104755), "-rwsr-xr-x");
  assert.equal(modeString(0o41777), "drwxrwxrwt");
  assert.equal(modeString(0o120777), "lrwxrwxrwx");
  assert.equal(modeString(0o102644), "-rw-r-Sr--");
  const line = formatLongname("f", {
    permissions: 0o100600,
    size: 5,
    uid: 1,
    gid: 2,
    mtime: 86400 * 40,
  }, {
    now: 86400 * 41,
  });
  assert.equal(line, "-rw-------    1 1        2               5 Feb 10 00:00 f");
});

test("PacketFramer splits packets across and within chunks and refuses bad lengths", () => {
  const f = new PacketFramer(16);
  const stream = h(0, 0, 0, 2, 1, 2, 0, 0, 0, 3, 3, 4, 5, 0, 0);
  for (const b of stream) f.push(h(b));
  assert.deepEqual(f.next(), h(1, 2));
  assert.deepEqual(f.next(), h(3, 4, 5));
  assert.equal(f.next(), undefined);
  assert.equal(f.buffered, 2);
  f.push(h(0, 1, 9));
  assert.deepEqual(f.next(), h(9));
  const whole = new PacketFramer(16);
  const chunk = h(0, 0, 0, 1, 7, 0, 0, 0, 1, 8);
  whole.push(chunk);
  const first = whole.next()!;
  assert.equal(first.buffer, chunk.buffer, "a packet inside one chunk is a view, not a copy");
  const big = new PacketFramer(16);
  big.push(h(0, 0, 0, 17));
  assert.throws(() => big.next(), /17-byte SFTP packet; the limit is 16$/);
  // A shell's greeting where SFTP should start: said as what it is.
  const banner = new PacketFramer(16);
  banner.push(new TextEncoder().encode("welcome to host\n"));
  assert.throws(() => banner.next(), /reads as the text "welc".*prints nothing/);
  const empty = new PacketFramer(16);
  empty.push(h(0, 0, 0, 0));
  assert.throws(() => empty.next(), /empty/);
});

test("PacketFramer releases a chunk only once its bytes were all copied and no view of it was returned", () => {
  const released: Uint8Array[] = [];
  const f = new PacketFramer(64, undefined, (c) => released.push(c));
  // Packet 1 spans chunks A and B (copied); packet 2 lies inside B (a view); packet 3 spans
  // B's tail and C (copied).
  const a = h(0, 0, 0, 4, 1, 2);
  const b = h(3, 4, 0, 0, 0, 1, 9, 0, 0, 0, 3, 5);
  const c = h(6, 7);
  f.push(a);
  f.push(b);
  f.push(c);
  assert.deepEqual(f.next(), h(1, 2, 3, 4));
  assert.deepEqual(released, [a], "A was copied whole into packet 1");
  const view = f.next()!;
  assert.equal(view.buffer, b.buffer);
  assert.deepEqual(f.next(), h(5, 6, 7));
  assert.deepEqual(released, [a, c], "B lent a view (packet 2): never released");
  assert.deepEqual(view, h(9));
  assert.equal(f.buffered, 0);
});

test("paths and names that are not UTF-8 cross the codec as the same bytes, both ways", () => {
  // "caf\xe9" (Latin-1) and a lone 0xff: names a POSIX server can hold, that UTF-8 cannot spell.
  const latin1 = h(0x2f, 0x64, 0x2f, 0x63, 0x61, 0x66, 0xe9); // "/d/caf\xe9"
  const name = h(0xff, 0x2e, 0x74, 0x78, 0x74); // "\xff.txt"
  // A request as a client sends it, built by hand: the server reads back the very bytes.
  const raw = new SSHWriter().writeUint32(0).writeByte(FXP.RENAME).writeUint32(7)
    .writeString(latin1).writeString(name).toBytes();
  const req = decodeRequest(raw[4]!, new SSHReader(raw, 9));
  assert.deepEqual(req, { type: "rename", oldPath: "/d/caf\uDCE9", newPath: "\uDCFF.txt" });
  assert.deepEqual(join(encodeRequest(7, req)).subarray(4), raw.subarray(4));
  // A NAME reply from a server: the client gets names it can send back unchanged.
  const reply = encodeName(3, [{ filename: "caf\uDCE9", longname: "-rw caf\uDCE9", attrs: {} }]);
  const nameOffset = 4 + 1 + 4 + 4 + 4;
  assert.deepEqual(reply.subarray(nameOffset, nameOffset + 4), h(0x63, 0x61, 0x66, 0xe9));
  const back = decodeReply(new SSHReader(reply, 4));
  assert.ok(back?.type === "name");
  assert.equal(back.entries[0]!.filename, "caf\uDCE9");
  const stat = join(encodeRequest(9, { type: "stat", path: back.entries[0]!.filename }));
  assert.deepEqual(stat.subarray(13), h(0x63, 0x61, 0x66, 0xe9));
});

/** A stream of SFTP packets with bodies of the given lengths (body bytes from the seed). */
function packetStream(
  lengths: readonly number[],
  seed: number,
): { stream: Uint8Array; bodies: Uint8Array[] } {
  const bodies = lengths.map((n, i) => {
    const b = new Uint8Array(n);
    for (let j = 0; j < n; j++) b[j] = (seed * 31 + i * 7 + j * 13) & 0xff;
    return b;
  });
  const parts: Uint8Array[] = [];
  for (const b of bodies) {
    parts.push(
      h(b.length >>> 24, (b.length >>> 16) & 0xff, (b.length >>> 8) & 0xff, b.length & 0xff),
    );
    parts.push(b);
  }
  return { stream: join(parts), bodies };
}

test("PacketFramer.pushBorrowed copies each lent chunk at once, in any chunking, into bodies of their own", () => {
  const { stream, bodies } = packetStream([1, 3, 70_000, 5, 9000, 65_536, 65_537, 2], 1);
  let seed = 5;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return 1 + (seed >>> 8) % n;
  };
  for (const maxChunk of [1, 3, 4, 5, 100, 4096, 40_000, stream.length]) {
    const allocated: number[] = [];
    const f = new PacketFramer(100_000, (n) => {
      allocated.push(n);
      return new Uint8Array(n);
    });
    // One lent buffer, overwritten before every push (as a receive buffer is).
    const lent = new Uint8Array(maxChunk);
    const got: Uint8Array[] = [];
    for (let off = 0; off < stream.length;) {
      const n = Math.min(rand(maxChunk), stream.length - off);
      lent.set(stream.subarray(off, off + n));
      f.pushBorrowed(lent.subarray(0, n));
      lent.fill(0xee);
      off += n;
      for (let p; (p = f.next());) got.push(p);
    }
    assert.equal(got.length, bodies.length, `chunks up to ${maxChunk}`);
    got.forEach((g, i) => assert.deepEqual(g, bodies[i], `body ${i}, chunks up to ${maxChunk}`));
    assert.equal(f.buffered, 0);
    // Only bodies above 64 KiB come from `allocate` (a small reply does not take a pooled buffer).
    assert.deepEqual(allocated, [70_000, 65_537]);
  }
});

test("PacketFramer.pushBorrowed refuses a bad length after the bodies before it, and keeps order with push()", () => {
  const f = new PacketFramer(16);
  f.pushBorrowed(h(0, 0, 0, 1, 7, 0, 0));
  assert.equal(f.buffered, 7, "as push() counts: the whole packet not taken, and 2 bytes");
  // Owned input after lent input waiting for its length goes the same way, in order, and is
  // released once copied.
  const released: Uint8Array[] = [];
  const g = new PacketFramer(16, undefined, (c) => released.push(c));
  g.pushBorrowed(h(0, 0));
  const owned = h(0, 1, 6);
  g.push(owned);
  assert.deepEqual(released, [owned]);
  assert.deepEqual(g.next(), h(6));
  f.push(h(0, 2, 8, 9));
  assert.deepEqual(f.next(), h(7));
  assert.deepEqual(f.next(), h(8, 9));
  assert.equal(f.next(), undefined);
  f.pushBorrowed(h(0, 0, 0, 1, 5, 0, 0, 0, 17, 1, 2, 3));
  assert.equal(f.ready, true);
  assert.equal(f.buffered, 5, "a body not yet taken counts, with its length field");
  assert.deepEqual(f.next(), h(5));
  assert.throws(() => f.next(), /17-byte SFTP packet; the limit is 16/);
  const empty = new PacketFramer(16);
  empty.pushBorrowed(h(0, 0));
  empty.pushBorrowed(h(0, 0));
  assert.throws(() => empty.next(), /empty/);
  // Lent input after owned chunks still held is copied behind them.
  const mixed = new PacketFramer(16);
  mixed.push(h(0, 0, 0, 3, 1));
  const lent = h(2, 3, 0, 0, 0, 1, 4);
  mixed.pushBorrowed(lent);
  lent.fill(0);
  assert.deepEqual(mixed.next(), h(1, 2, 3));
  assert.deepEqual(mixed.next(), h(4));
});

test("fuzz: pushBorrowed and push frame the same packets and fail the same way on any input", () => {
  let seed = fuzzSeed(99);
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < fuzzRuns(300); round++) {
    const len = rnd(200);
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = rnd(4) === 0 ? rnd(256) : rnd(3) === 0 ? 0 : rnd(12);
    const run = (lend: boolean) => {
      const f = new PacketFramer(10);
      const out: string[] = [];
      try {
        for (let off = 0; off < len;) {
          const n = 1 + rnd(8);
          const c = bytes.slice(off, off + n);
          if (lend) {
            f.pushBorrowed(c);
            c.fill(0xaa);
          } else f.push(c);
          off += n;
          for (let p; (p = f.next());) out.push(Array.from(p).join(","));
        }
      } catch (e) {
        out.push(`error: ${(e as Error).message}`);
      }
      return out;
    };
    const s = seed;
    const owned = run(false);
    seed = s; // the same chunking
    assert.deepEqual(run(true), owned, `round ${round}`);
  }
});

test("PacketFramer holds at most 64 chunks by reference: one-byte input goes to the bodies, in order", () => {
  let seed = fuzzSeed(7);
  const rnd = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let round = 0; round < fuzzRuns(20); round++) {
    const bodies: Uint8Array[] = [];
    const stream: number[] = [];
    for (let i = 0; i < 40; i++) {
      const body = Uint8Array.from({ length: 1 + rnd(3000) }, () => rnd(256));
      bodies.push(body);
      stream.push(body.length >>> 24, (body.length >>> 16) & 255, (body.length >>> 8) & 255);
      stream.push(body.length & 255, ...body);
    }
    let pushed = 0;
    let released = 0;
    const f = new PacketFramer(4096, undefined, () => released++);
    const got: Uint8Array[] = [];
    for (let off = 0, step = 0; off < stream.length; step++) {
      // Mostly one to three bytes (a peer's one-byte channel packets), now and then more.
      const n = rnd(40) === 0 ? 1 + rnd(5000) : 1 + rnd(3);
      f.push(Uint8Array.from(stream.slice(off, off + n)));
      pushed++;
      off += n;
      // The consumer lags: held chunks pile up between its turns.
      assert.ok(pushed - released <= 64 + 1, `round ${round}: ${pushed - released} chunks held`);
      if (step % 300 === 0) { for (let p; (p = f.next());) got.push(p.slice()); }
    }
    for (let p; (p = f.next());) got.push(p.slice());
    assert.deepEqual(got, bodies, `round ${round}`);
  }
});
