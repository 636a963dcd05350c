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

/** What a rejected promise rejected with (undefined when it resolved). */
const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => undefined, (x) => x);
/** Whether `s` holds a surrogate without its other half (it would re-encode as U+FFFD). */
const hasLoneSurrogate = (s: string): boolean =>
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

test("StreamReader on text counts characters (code points), not UTF-16 units", async () => {
  // AsyncSSH (Python str): readexactly(1) on "😀ab" is "😀", never a lone "\ud83d".
  const r = new StreamReader(streamOf(["😀ab::cd"]));
  const one = await r.readExactly(1);
  assert.equal(one, "😀");
  assert.deepEqual([...enc.encode(one)], [0xf0, 0x9f, 0x98, 0x80]);
  assert.equal(r.buffered, 6);
  assert.equal(await r.readUntil(["XX", "::"]), "ab::");
  assert.equal(await r.read(), "cd");

  const r2 = new StreamReader(streamOf(["😀é𝄞x"]));
  assert.equal(r2.buffered, 0);
  assert.equal(await r2.read(1), "😀");
  assert.equal(r2.buffered, 3);
  assert.equal(await r2.read(2), "é𝄞");
  assert.equal(await r2.read(0), "");
  assert.equal(await r2.read(5), "x");
  assert.equal(await r2.read(5), "");
  assert.ok(r2.atEof);
});

test("StreamReader on text never splits a surrogate pair delivered in two chunks", async () => {
  // The pair's halves arrive in separate chunks: readExactly waits for the second half.
  const r = new StreamReader(streamOf(["a\ud83d", "\ude00b"]));
  assert.equal(await r.readExactly(2), "a😀");
  assert.equal(await r.readExactly(1), "b");

  // read() returns what is complete and keeps the high half for its partner.
  const r2 = new StreamReader(streamOf(["x\ud83d", "\ude00y"]));
  assert.equal(await r2.read(), "x");
  assert.equal(await r2.read(1), "😀");
  assert.equal(await r2.read(), "y");

  // read(n) with only the high half buffered waits for the next chunk.
  const r3 = new StreamReader(streamOf(["\ud83d", "\ude00", "z"]));
  assert.equal(await r3.read(1), "😀");
  assert.equal(await r3.read(10), "z");

  // A high half ending the stream is returned as it is, not lost.
  const r4 = new StreamReader(streamOf(["q\ud83d"]));
  assert.equal(await r4.read(), "q");
  assert.equal(await r4.read(), "\ud83d");
  assert.equal(await r4.read(), "");
  const r5 = new StreamReader(streamOf(["q", "\ud83d"]));
  assert.equal(await r5.readExactly(2), "q\ud83d");
});

test("IncompleteReadError on text holds every character read, counted as characters", async () => {
  const r = new StreamReader(streamOf(["😀", "é\ud83d"]));
  const e = await failure(r.readExactly(4));
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(e.partial, "😀é\ud83d");
  assert.equal(e.expected, 4);
  assert.match(e.message, /after 3 characters of 4/);
  assert.equal(await r.read(), "");

  // The pair completes: 3 characters were wanted and 3 came.
  const r2 = new StreamReader(streamOf(["😀", "é\ud83d", "\ude00"]));
  assert.equal(await r2.readExactly(3), "😀é😀");

  const e2 = await failure(new StreamReader(streamOf(["😀😀"])).readUntil("$"));
  assert.ok(e2 instanceof IncompleteReadError);
  assert.equal(e2.partial, "😀😀");
  assert.match(e2.message, /after 2 characters without/);
});

test("StreamReader's limit counts characters on text streams", async () => {
  // 4 characters (8 UTF-16 units) then a newline: within a limit of 4 characters.
  const r = new StreamReader(streamOf(["😀😀", "😀😀", "\n"]), { limit: 4 });
  assert.equal(await r.readLine(), "😀😀😀😀\n");
  const r2 = new StreamReader(streamOf(["😀😀", "😀😀", "😀", "\n"]), { limit: 4 });
  const e = await failure(r2.readLine());
  assert.ok(e instanceof ReadLimitError, String(e));
  assert.equal(r2.buffered, 5);
  assert.equal(await r2.read(), "😀😀😀😀😀");
});

test("StreamReader.readUntil() takes a list of separators, bytes or text", async () => {
  // Earliest match wins, whichever is listed first; a match may span chunks.
  const r = new StreamReader(streamOf([enc.encode("user@h:~"), enc.encode("$ ls\n# x")]));
  assert.equal(dec.decode(await r.readUntil(["# ", "$ "])), "user@h:~$ ");
  assert.equal(dec.decode(await r.readUntil(["# ", enc.encode("\n")])), "ls\n");
  const e = await failure(r.readUntil(["$ ", "% "]));
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(dec.decode(e.partial as Uint8Array), "# x");

  // Text: "\r\n" starts before "\n", so it is the match even across a chunk boundary.
  const t = new StreamReader(streamOf(["a\r", "\nb\n"]));
  assert.equal(await t.readUntil(["\n", "\r\n"]), "a\r\n");
  assert.equal(await t.readUntil(["\n", "\r\n"]), "b\n");

  // Several matching at the same place: the first listed (as AsyncSSH), however much of
  // the stream has arrived.
  const l = new StreamReader(streamOf(["x>>>y>"]));
  assert.equal(await l.readUntil([">>>", ">", ">>"]), "x>>>");
  assert.equal(await l.readUntil([">>", ">"]), "y>");
  const lb = new StreamReader(streamOf([enc.encode("x::=y")]));
  assert.equal(dec.decode(await lb.readUntil([":", "::="])), "x:");

  // A single-element list behaves like the bare separator; a list is not mutated.
  const seps = ["😀", "é"] as const;
  const u = new StreamReader(streamOf(["ab\ud83d", "\ude00cé"]));
  assert.equal(await u.readUntil(seps), "ab😀");
  assert.equal(await u.readUntil(["é"]), "cé");
  assert.deepEqual(seps, ["😀", "é"]);
});

test("StreamReader.readUntil() with a list keeps the limit", async () => {
  let produced = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      produced += 1000;
      c.enqueue(new Uint8Array(1000).fill(0x61));
    },
  });
  const r = new StreamReader(endless, { limit: 4096 });
  const e = await failure(r.readUntil(["\n", "$ ", enc.encode("#")]));
  assert.ok(e instanceof ReadLimitError, String(e));
  assert.ok(r.buffered <= 4096 + 1000, `buffered ${r.buffered}`);
  assert.ok(produced < 64 * 1024, `pulled ${produced} bytes`);
  await r.cancel();
});

test("StreamReader.readUntil() rejects bad separators with a TypeError or RangeError", async () => {
  const bad: [unknown, typeof TypeError | typeof RangeError][] = [
    ["", RangeError],
    [new Uint8Array(0), RangeError],
    [[], RangeError],
    [["a", ""], RangeError],
    [[enc.encode("a"), new Uint8Array(0)], RangeError],
    ["\ud83d", RangeError],
    [42, TypeError],
    [null, TypeError],
    [undefined, TypeError],
    [["a", 1], TypeError],
    [[["a"]], TypeError],
    [{ length: 1, 0: "a" }, TypeError],
  ];
  for (const [sep, kind] of bad) {
    for (const chunks of [[enc.encode("a\n")], ["a\n"], []] as (Uint8Array | string)[][]) {
      const r = new StreamReader<Uint8Array | string>(streamOf(chunks));
      const e = await failure(r.readUntil(sep as string));
      assert.ok(e instanceof kind, `${JSON.stringify(sep)}: ${e}`);
      // Not Node's internal ERR_INVALID_ARG_TYPE from Buffer.
      assert.equal(Reflect.get(e as object, "code"), undefined, String(e));
      // The reader is still usable.
      if (chunks.length > 0) assert.equal((await r.readLine()).length, 2);
    }
  }
});

test("StreamReader on text: seeded random chunkings never split a character", async () => {
  let seed = 0xc0de;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ["a", "é", "😀", "𝄞", "\n", "\r\n", ";", "€"];
  for (let round = 0; round < 200; round++) {
    let text = "";
    // At least one character: an empty stream never shows it is a text stream.
    for (let i = 1 + rand(60); i > 0; i--) text += alphabet[rand(alphabet.length)];
    // Chunks cut at any UTF-16 index, so often between the halves of a pair.
    const chunks: string[] = [];
    for (let o = 0; o < text.length;) {
      const n = 1 + rand(7);
      chunks.push(text.slice(o, o + n));
      o += n;
    }
    // readExactly / read of random counts: whole characters, adding up to the text.
    const r = new StreamReader(streamOf(chunks));
    let got = "";
    for (;;) {
      const want = rand(6);
      const useRead = rand(2) === 0;
      let piece: string;
      if (useRead) {
        piece = await r.read(want);
        assert.ok([...piece].length <= want);
        if (piece === "" && want > 0) break;
      } else {
        try {
          piece = await r.readExactly(want);
          assert.equal([...piece].length, want);
        } catch (e) {
          assert.ok(e instanceof IncompleteReadError);
          piece = e.partial as string;
          assert.ok([...piece].length < want);
          got += piece;
          break;
        }
      }
      assert.ok(!hasLoneSurrogate(piece), JSON.stringify(piece));
      got += piece;
    }
    assert.equal(got, text);
    // readUntil with a list: the same records as a search of the whole text.
    const seps = ["\r\n", "\n", "😀;"];
    const r2 = new StreamReader(streamOf(chunks));
    const records: string[] = [];
    for (;;) {
      try {
        records.push(await r2.readUntil(seps));
      } catch (e) {
        assert.ok(e instanceof IncompleteReadError);
        records.push(e.partial as string);
        break;
      }
    }
    const expected: string[] = [];
    let rest = text;
    for (;;) {
      const m = /\r\n|\n|😀;/.exec(rest);
      if (m === null) break;
      expected.push(rest.slice(0, m.index + m[0].length));
      rest = rest.slice(m.index + m[0].length);
    }
    expected.push(rest);
    assert.deepEqual(records, expected);
  }
});

test('StreamReader on a text stream that ends before any chunk reads "" (text: true), not bytes', async () => {
  const r = new StreamReader(streamOf<string>([]), { text: true });
  assert.equal(await r.readLine(), "");
  assert.equal(await r.read(), "");
  // Bytes by default: nothing says otherwise.
  assert.ok((await new StreamReader(streamOf<Uint8Array>([])).readLine()) instanceof Uint8Array);
});
