/**
 * StreamReader and readLines over in-memory streams: every read kind on bytes
 * and text, IncompleteReadError at the end, ReadLimitError for a separator
 * that never comes, and seeded random chunkings that must not change results.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { IncompleteReadError, ReadLimitError, readLines, StreamReader } from "./stream_reader.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function streamOf<T>(chunks: readonly T[]): ReadableStream<T> {
  let i = 0;
  return new ReadableStream<T>({
    pull(c) {
      if (i < chunks.length) c.enqueue(chunks[i++]!);
      else c.close();
    },
  });
}

test("StreamReader.readLine() returns lines with their newline, then the rest, then empty", async () => {
  const r = new StreamReader(streamOf([enc.encode("one\ntw"), enc.encode("o\nthree")]));
  assert.equal(dec.decode(await r.readLine()), "one\n");
  assert.equal(dec.decode(await r.readLine()), "two\n");
  assert.equal(dec.decode(await r.readLine()), "three");
  assert.equal((await r.readLine()).length, 0);
  assert.ok(r.atEof);
});

test("StreamReader.readExactly() spans chunks and throws IncompleteReadError with the partial", async () => {
  const r = new StreamReader(streamOf([enc.encode("ab"), enc.encode("cdef"), enc.encode("g")]));
  assert.equal(dec.decode(await r.readExactly(3)), "abc");
  assert.equal(dec.decode(await r.readExactly(0)), "");
  const e = await r.readExactly(10).then(() => undefined, (x) => x);
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(e.code, "ERR_INCOMPLETE_READ");
  assert.equal(dec.decode(e.partial as Uint8Array), "defg");
  assert.equal(e.expected, 10);
});

test("StreamReader.readUntil() finds a separator split across chunks", async () => {
  const r = new StreamReader(streamOf([enc.encode("login"), enc.encode(":"), enc.encode(" x")]));
  assert.equal(dec.decode(await r.readUntil(": ")), "login: ");
  assert.equal(dec.decode(await r.read()), "x");
  const e = await new StreamReader(streamOf([enc.encode("no sep")])).readUntil("$")
    .then(() => undefined, (x) => x);
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(e.expected, undefined);
  assert.equal(dec.decode(e.partial as Uint8Array), "no sep");
});

test("StreamReader.readUntil() stops at the limit with ReadLimitError and keeps the data", async () => {
  let produced = 0;
  // An endless stream without a newline: the reader must give up, not buffer it all.
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      produced += 1000;
      c.enqueue(new Uint8Array(1000).fill(0x61));
    },
  });
  const r = new StreamReader(endless, { limit: 4096 });
  const e = await r.readLine().then(() => undefined, (x) => x);
  assert.ok(e instanceof ReadLimitError, String(e));
  assert.equal(e.code, "ERR_READ_LIMIT");
  assert.equal(e.limit, 4096);
  assert.ok(r.buffered <= 4096 + 1000, `buffered ${r.buffered}`);
  assert.ok(produced < 64 * 1024, `pulled ${produced} bytes`);
  assert.equal((await r.read(10)).length, 10);
  await r.cancel();
});

test("StreamReader works on text streams (a process with an encoding)", async () => {
  const r = new StreamReader(streamOf(["héllo\nwor", "ld\n$ "]));
  assert.equal(await r.readLine(), "héllo\n");
  assert.equal(await r.readExactly(3), "wor");
  assert.equal(await r.readUntil("$ "), "ld\n$ ");
  const e = await r.readExactly(1).then(() => undefined, (x) => x);
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(e.partial, "");
});

test("readLines() strips \\n and \\r\\n and decodes bytes as UTF-8", async () => {
  const lines: string[] = [];
  const bytes = enc.encode("a\r\nb\n\nc€");
  // Split inside the euro sign: decoding happens per line, so it survives.
  for await (const l of readLines(streamOf([bytes.subarray(0, 8), bytes.subarray(8)]))) {
    lines.push(l);
  }
  assert.deepEqual(lines, ["a", "b", "", "c€"]);
});

test("StreamReader: seeded random chunkings give the same lines and records", async () => {
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let round = 0; round < 200; round++) {
    const lines: string[] = [];
    for (let i = rand(20); i > 0; i--) lines.push("x".repeat(rand(50)) + ["\n", "\r\n"][rand(2)]);
    const text = lines.join("") + "tail";
    const bytes = enc.encode(text);
    const chunks: Uint8Array[] = [];
    for (let o = 0; o < bytes.length;) {
      const n = 1 + rand(17);
      chunks.push(bytes.slice(o, o + n));
      o += n;
    }
    const r = new StreamReader(streamOf(chunks), { limit: 128 });
    const got: string[] = [];
    for await (const l of r.lines()) got.push(dec.decode(l));
    assert.equal(got.join(""), text);
    assert.ok(got.slice(0, -1).every((l) => l.endsWith("\n")));
    // Records of random sizes add up to the whole input, then IncompleteReadError.
    const r2 = new StreamReader(streamOf(chunks));
    let total = 0;
    for (;;) {
      const want = rand(40);
      try {
        total += (await r2.readExactly(want)).length;
      } catch (e) {
        assert.ok(e instanceof IncompleteReadError);
        total += e.partial.length;
        break;
      }
    }
    assert.equal(total, bytes.length);
  }
});
