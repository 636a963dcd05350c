import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bigIntToBytes,
  bigIntToMpintBytes,
  bytesToBigInt,
  equalBytes,
  fromHex,
  mpintBytesToBigInt,
  SSHReader,
  SSHWriter,
  toHex,
} from "./wire.ts";
import { WireError } from "./errors.ts";
import { fuzzRuns, fuzzSeed } from "./_fuzz_test_util.ts";

test("SSHWriter and SSHReader round-trip every wire type", () => {
  const w = new SSHWriter(1)
    .writeByte(7)
    .writeBoolean(true)
    .writeUint32(0xdeadbeef)
    .writeUint64(0x0102030405060708n)
    .writeStringUtf8("héllo")
    .writeNameList(["a", "b-c@d"])
    .writeMpint(-0x1234n)
    .writeMpintMagnitude(new Uint8Array([0, 0, 0x80, 1]));
  const r = new SSHReader(w.toBytes());
  assert.equal(r.readByte(), 7);
  assert.equal(r.readBoolean(), true);
  assert.equal(r.readUint32(), 0xdeadbeef);
  assert.equal(r.readUint64(), 0x0102030405060708n);
  assert.equal(r.readStringUtf8(), "héllo");
  assert.deepEqual(r.readNameList(), ["a", "b-c@d"]);
  assert.equal(r.readMpint(), -0x1234n);
  assert.deepEqual([...r.readMpintMagnitude()], [0x80, 1]);
  r.assertEnd();
});

test("mpint encoding matches RFC 4251 section 5 examples", () => {
  const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  assert.equal(hex(bigIntToMpintBytes(0n)), "");
  assert.equal(hex(bigIntToMpintBytes(0x9a378f9b2e332a7n)), "09a378f9b2e332a7");
  assert.equal(hex(bigIntToMpintBytes(0x80n)), "0080");
  assert.equal(hex(bigIntToMpintBytes(-0x1234n)), "edcc");
  assert.equal(hex(bigIntToMpintBytes(-0xdeadbeefn)), "ff21524111");
  for (const v of [0n, 1n, -1n, 127n, 128n, -128n, -129n, 255n, 256n, -65536n, 2n ** 521n - 1n]) {
    assert.equal(mpintBytesToBigInt(bigIntToMpintBytes(v)), v);
  }
});

test("SSHReader throws WireError instead of reading past the end", () => {
  const cases: ((r: SSHReader) => unknown)[] = [
    (r) => r.readUint32(),
    (r) => r.readUint64(),
    (r) => r.readString(),
    (r) => r.readBytes(10),
    (r) => r.readNameList(),
    (r) => r.readMpint(),
  ];
  for (const read of cases) {
    assert.throws(() => read(new SSHReader(new Uint8Array([0, 0, 1]))), WireError);
  }
  // A huge declared length is refused before any allocation.
  const huge = new SSHReader(new Uint8Array([0xff, 0xff, 0xff, 0xff, 1, 2]));
  assert.throws(
    () => huge.readString(),
    (e: unknown) => e instanceof WireError && e.code === "ERR_WIRE_TRUNCATED",
  );
  assert.throws(
    () => new SSHReader(new Uint8Array([0, 0, 0, 9, 1])).readString("name", 8),
    (e: unknown) => e instanceof WireError && e.code === "ERR_WIRE_LIMIT",
  );
});

test("SSHReader rejects malformed names, UTF-8 and trailing bytes", () => {
  const str = (bytes: number[]) => new SSHWriter().writeString(new Uint8Array(bytes)).toBytes();
  assert.throws(() => new SSHReader(str([0x61, 0x2c, 0x2c, 0x62])).readNameList(), WireError);
  assert.throws(() => new SSHReader(str([0x61, 0x0a])).readNameList(), WireError);
  assert.throws(() => new SSHReader(str([0xc3, 0x28])).readStringUtf8(), WireError);
  assert.throws(() => new SSHReader(new Uint8Array([1, 2])).assertEnd(), WireError);
  assert.throws(() => new SSHReader(str([0x80])).readMpintMagnitude(), WireError);
});

test("readNameList() with emptyName endOfList stops at the first empty name, as OpenSSH's match_list()", () => {
  const list = (s: string) => new SSHWriter().writeStringUtf8(s).toBytes();
  const lenient = (s: string) =>
    new SSHReader(list(s)).readNameList("list", { emptyName: "endOfList" });
  assert.deepEqual(lenient("a,b,"), ["a", "b"]);
  assert.deepEqual(lenient("a,,b"), ["a"]);
  assert.deepEqual(lenient(",a"), []);
  assert.deepEqual(lenient(","), []);
  assert.deepEqual(lenient(""), []);
  assert.deepEqual(lenient("a,b"), ["a", "b"]);
  // The default stays strict (RFC 4251 §5), for every caller other than KEXINIT.
  for (const s of ["a,b,", "a,,b", ",a", ","]) {
    assert.throws(
      () => new SSHReader(list(s)).readNameList(),
      (e: unknown) => e instanceof WireError && e.code === "ERR_WIRE_MALFORMED",
    );
  }
  // Bytes that are not printable ASCII are still refused.
  assert.throws(
    () => new SSHReader(list("a,\n")).readNameList("list", { emptyName: "endOfList" }),
    WireError,
  );
});

test("SSHReader survives random input with only WireErrors", () => {
  let seed = fuzzSeed(12345);
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let i = 0; i < fuzzRuns(2000); i++) {
    const bytes = new Uint8Array(next() % 40).map(() => next());
    const r = new SSHReader(bytes);
    try {
      while (r.remaining > 0) {
        switch (next() % 6) {
          case 0:
            r.readUint32();
            break;
          case 1:
            r.readString();
            break;
          case 2:
            r.readNameList();
            break;
          case 3:
            r.readMpint();
            break;
          case 4:
            r.readStringUtf8();
            break;
          default:
            r.readBoolean();
        }
      }
    } catch (e) {
      assert.ok(e instanceof WireError, `unexpected ${e}`);
    }
  }
});

test("equalBytes() compares content and length", () => {
  assert.ok(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!equalBytes(new Uint8Array([1]), new Uint8Array([1, 0])));
});

test("readStringAscii reads printable ASCII of any length and names the first bad byte", () => {
  for (const text of ["", "ssh-ed25519", "x".repeat(23), "y".repeat(24), "a,b".repeat(500)]) {
    const r = new SSHReader(new SSHWriter().writeStringUtf8(text).toBytes());
    assert.equal(r.readStringAscii(), text);
  }
  const bad: [len: number, at: number, byte: number][] = [
    [5, 2, 0x7f],
    [40, 33, 0x0a],
    [300, 299, 0xc3],
    [30, 0, 0x1f],
  ];
  for (const [len, at, byte] of bad) {
    const b = new Uint8Array(len).fill(0x61);
    b[at] = byte;
    const r = new SSHReader(new SSHWriter().writeString(b).toBytes());
    assert.throws(
      () => r.readStringAscii("name"),
      new RegExp(`byte 0x${byte.toString(16).padStart(2, "0")} at ${at} is not printable ASCII`),
    );
  }
});

test("writeStringUtf8 writes ASCII, non-ASCII and lone surrogates as TextEncoder does", () => {
  const enc = new TextEncoder();
  for (
    const text of [
      "",
      "abc",
      "x".repeat(64),
      "y".repeat(65),
      "héllo",
      "ascii then é",
      "日本語".repeat(40),
      "a\ud800b",
      "z".repeat(500) + "€",
    ]
  ) {
    const w = new SSHWriter(1).writeByte(9).writeStringUtf8(text).writeByte(7);
    const want = enc.encode(text);
    const r = new SSHReader(w.toBytes());
    assert.equal(r.readByte(), 9);
    assert.deepEqual(r.readString(), want);
    assert.equal(r.readByte(), 7);
    r.assertEnd();
  }
});

test("SSHWriter: pooled buffers never leak between writers; writes after toBytes and release", () => {
  // Many writers at once, each filled with its own byte, taken out in mixed order.
  const writers = Array.from({ length: 20 }, (_, i) => new SSHWriter(i % 2 ? 16 : 9000));
  writers.forEach((w, i) => w.writeBytes(new Uint8Array(100 + i).fill(i)));
  const outs = writers.map((w, i) => (i % 3 === 0 ? w.view().slice() : w.toBytes()));
  const more = Array.from({ length: 20 }, () => new SSHWriter().writeBytes(new Uint8Array(500)));
  outs.forEach((o, i) => assert.ok(o.length === 100 + i && o.every((b) => b === i), `writer ${i}`));
  assert.ok(more.every((w) => w.toBytes().every((b) => b === 0)));
  // toBytes() returns a copy that later writes do not touch; the writer goes on.
  const w = new SSHWriter().writeUint32(1);
  const first = w.toBytes();
  w.writeUint32(2);
  assert.deepEqual([...first], [0, 0, 0, 1]);
  assert.deepEqual([...w.toBytes()], [0, 0, 0, 1, 0, 0, 0, 2]);
  // release() zeroes what was written and leaves an empty writer.
  const secret = new SSHWriter().writeBytes(new Uint8Array(32).fill(0xaa));
  const seen = secret.view();
  secret.release();
  assert.ok(seen.every((b) => b === 0));
  assert.equal(secret.length, 0);
  assert.deepEqual([...secret.writeByte(5).toBytes()], [5]);
});

test("bytesToBigInt() and mpintBytesToBigInt() read long inputs exactly (in one pass)", () => {
  for (const n of [0, 1, 7, 8, 9, 33, 256, 65536]) {
    const b = new Uint8Array(n).map((_, i) => (i * 131 + 7) & 0xff);
    let slow = 0n;
    for (const x of b) slow = (slow << 8n) | BigInt(x);
    assert.equal(bytesToBigInt(b), slow, `${n} bytes`);
    if (n > 0) assert.deepEqual(bigIntToBytes(bytesToBigInt(b), n), b);
  }
  // Two's complement: 0xff00 is -256.
  assert.equal(mpintBytesToBigInt(new Uint8Array([0xff, 0x00])), -256n);
  assert.equal(mpintBytesToBigInt(new Uint8Array(20).fill(0xff)), -1n);
});

test("fromHex() reads either case, round-trips toHex(), and refuses what is not hex", () => {
  const bytes = new Uint8Array([0, 1, 0x7f, 0x80, 0xab, 0xff]);
  assert.deepEqual(fromHex(toHex(bytes)), bytes);
  assert.deepEqual(fromHex("ABff"), new Uint8Array([0xab, 0xff]));
  assert.deepEqual(fromHex(""), new Uint8Array(0));
  for (const bad of ["a", "0g", "zz", " 00", "0x00", "00 "]) {
    assert.throws(() => fromHex(bad), RangeError, bad);
  }
});
