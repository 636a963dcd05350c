/**
 * The SCP record codec: parsing and encoding, every validation rule, the
 * framing reader across chunk boundaries, shell quoting, the server's
 * command parser, name matching, and a seeded fuzz of the parser.
 */
import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import assert from "node:assert/strict";
import {
  checkName,
  encodeRecord,
  MAX_RECORD_LENGTH,
  nameMatcher,
  parseRecord,
  parseScpCommand,
  sanitize,
  SCPError,
  SCPReader,
  type SCPRecord,
  shellQuote,
} from "./records.ts";

const enc = new TextEncoder();
const line = (s: string) => enc.encode(s);

function refuses(s: string | Uint8Array, reason?: string): void {
  try {
    parseRecord(typeof s === "string" ? line(s) : s);
  } catch (e) {
    assert.ok(e instanceof SCPError, String(e));
    if (reason) assert.equal(e.reason, reason, e.message);
    // deno-lint-ignore no-control-regex
    assert.doesNotMatch(e.message, /[\x00-\x1f\x7f]/);
    return;
  }
  assert.fail(`accepted ${JSON.stringify(typeof s === "string" ? s : "bytes")}`);
}

test("parseRecord() reads C, D, E, T, warning and fatal records", () => {
  assert.deepEqual(parseRecord(line("C0644 5 a.txt")), {
    type: "file",
    mode: 0o644,
    size: 5,
    name: "a.txt",
  });
  assert.deepEqual(parseRecord(line("D0755 0 my dir")), {
    type: "dir",
    mode: 0o755,
    name: "my dir",
  });
  assert.deepEqual(parseRecord(line("E")), { type: "end" });
  assert.deepEqual(parseRecord(line("T1700000000 0 1700000001 999999")), {
    type: "times",
    mtime: 1700000000,
    atime: 1700000001,
  });
  assert.deepEqual(parseRecord(line("\x01scp: x: denied")), {
    type: "warning",
    message: "scp: x: denied",
  });
  assert.deepEqual(parseRecord(line("\x02bad\x1b[2J")), {
    type: "fatal",
    message: "bad\\x1b[2J",
  });
});

test("parseRecord() refuses unsafe names (CVE-2019-6111, CVE-2018-20685)", () => {
  for (const n of ["", ".", "..", "a/b", "/etc/passwd", "../x", "a\x1b[1mb", "tab\there"]) {
    refuses(`C0644 1 ${n}`, "bad-name");
  }
  refuses("D0777 0 .", "bad-name");
  refuses("D0777 0 ..", "bad-name");
  refuses(`C0644 1 ${"x".repeat(256)}`, "bad-name");
  parseRecord(line(`C0644 1 ${"x".repeat(255)}`));
});

test("parseRecord() keeps a name that is not UTF-8 as escaped bytes, and encodeRecord() sends them back", () => {
  const raw = new Uint8Array([...line("C0644 1 caf"), 0xe9, 0xff]);
  const r = parseRecord(raw);
  assert.deepEqual(r, { type: "file", mode: 0o644, size: 1, name: "caf\uDCE9\uDCFF" });
  assert.deepEqual(encodeRecord(r), new Uint8Array([...raw, 0x0a]));
});

test("parseRecord() refuses bad sizes, modes and times", () => {
  for (
    const s of [
      "C0644 -1 a",
      "C0644 +1 a",
      "C0644 1e5 a",
      "C0644 0x10 a",
      "C0644  1 a",
      "C0644 1.0 a",
      "C0644 a",
      "C0644 1",
      "C644 1 a",
      "C06440 1 a",
      "C0844 1 a",
      "C-644 1 a",
      "Cx644 1 a",
      "T1 0 1",
      "T1 0 1 0 ",
      "T-1 0 1 0",
      "T1 1000000 1 0",
      "T1 0 1 1000000",
      "Tx 0 1 0",
      "E ",
      "Ex",
      "X",
      "c0644 1 a",
    ]
  ) refuses(s);
  refuses("C0644 99999999999999999999 a", "limit");
  refuses("C0644 9007199254740992 a", "limit");
  refuses("T253402300800 0 1 0", "limit");
  parseRecord(line("C0644 9007199254740991 a"));
});

test("encodeRecord() round-trips through parseRecord() and escapes messages", () => {
  const records: SCPRecord[] = [
    { type: "file", mode: 0o600, size: 123456789, name: "sp ace" },
    { type: "dir", mode: 0o700, name: "d" },
    { type: "end" },
    { type: "times", mtime: 1, atime: 2 },
    { type: "warning", message: "scp: nope" },
  ];
  for (const r of records) {
    const b = encodeRecord(r);
    assert.equal(b[b.length - 1], 10);
    assert.deepEqual(parseRecord(b.subarray(0, b.length - 1)), r);
  }
  const f = encodeRecord({ type: "fatal", message: "a\nb\x1b" });
  assert.deepEqual([...f].filter((x) => x === 10).length, 1);
  assert.throws(() => encodeRecord({ type: "file", mode: 0o644, size: 1, name: "../x" }), SCPError);
});

test("SCPReader frames records, acks and data across chunk boundaries", () => {
  const all = line("T1 0 2 0\nC0644 6 a\nhello\n\x00\x01scp: warn\n\x00E\n");
  for (let split = 1; split < all.length; split++) {
    const r = new SCPReader();
    r.push(all.subarray(0, split));
    r.push(all.subarray(split));
    assert.deepEqual(r.readRecord(), { type: "times", mtime: 1, atime: 2 });
    assert.deepEqual(r.readRecord(), { type: "file", mode: 0o644, size: 6, name: "a" });
    const got: number[] = [];
    while (got.length < 6) got.push(...r.readData(6 - got.length)!);
    assert.deepEqual(new TextDecoder().decode(new Uint8Array(got)), "hello\n");
    assert.deepEqual(r.readAck(), { type: "ok" });
    assert.deepEqual(r.readAck(), { type: "warning", message: "scp: warn" });
    assert.deepEqual(r.readAck(), { type: "ok" });
    assert.deepEqual(r.readRecord(), { type: "end" });
    assert.equal(r.buffered, 0);
    assert.equal(r.readRecord(), undefined);
  }
});

test("SCPReader refuses a record longer than MAX_RECORD_LENGTH without buffering more", () => {
  const r = new SCPReader();
  r.push(line("C0644 1 "));
  for (let i = 0; i < 10; i++) {
    try {
      r.push(new Uint8Array(1000).fill(0x61));
      assert.equal(r.readRecord(), undefined);
    } catch (e) {
      assert.ok(e instanceof SCPError && e.reason === "limit");
      assert.ok(r.buffered <= MAX_RECORD_LENGTH + 1000);
      return;
    }
  }
  assert.fail("no limit");
});

test("SCPReader: an unknown ack byte starts a fatal message (as OpenSSH reads it)", () => {
  const r = new SCPReader();
  r.push(line("Xoops\x1b\n"));
  assert.deepEqual(r.readAck(), { type: "fatal", message: "Xoops\\x1b" });
});

test("sanitize() escapes C0, DEL, C1 and bidi overrides", () => {
  assert.equal(sanitize("a\x1b[31mb\x7f\x9b\u202ec"), "a\\x1b[31mb\\x7f\\x9b\\u{202e}c");
  assert.equal(sanitize("plain ünïcode"), "plain ünïcode");
});

test("checkName() accepts one ordinary component", () => {
  checkName("a b c.txt");
  checkName("ünï");
  assert.throws(() => checkName("a/b"), SCPError);
});

test("shellQuote() makes one inert word (CVE-2020-15778)", () => {
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), "'it'\\''s'");
  assert.equal(shellQuote("$(id)`id`;x"), "'$(id)`id`;x'");
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("logs/*.gz", { globs: true }), "'logs/'*'.gz'");
  assert.equal(shellQuote("a\\*b", { globs: true }), "'a*b'");
  assert.equal(shellQuote("~/x y", { globs: true }), "~/'x y'");
  assert.equal(shellQuote("~/x", {}), "'~/x'");
  // Round trip through our own shell-word parser.
  for (const p of ["a b", "it's", "$(id)", "`x`", 'q"uote', "semi;colon", "back\\slash"]) {
    const cmd = parseScpCommand(`scp -t ${shellQuote(p)}`);
    assert.deepEqual(cmd.paths, [p.replace(/\\/g, "\\\\")]);
  }
});

test("parseScpCommand() reads OpenSSH's flags and refuses shell syntax", () => {
  assert.deepEqual(parseScpCommand("scp -v -r -p -d -t -- /x"), {
    mode: "to",
    recurse: true,
    preserve: true,
    targetIsDirectory: true,
    paths: ["/x"],
  });
  const f = parseScpCommand(`scp -f 'a b' "c*" d*`);
  assert.equal(f.mode, "from");
  assert.deepEqual(f.paths, ["a b", "c\\*", "d*"]);
  assert.deepEqual(parseScpCommand("/usr/bin/scp -pf x").paths, ["x"]);
  // Tilde expansion as the shell does it: an unquoted leading "~" alone or before "/" is the
  // home directory, which relative paths are resolved against; quoted, or "~user", it stays.
  assert.deepEqual(
    parseScpCommand(`scp -f ~/a.txt '~/b' ~ ~/ ~user/x "~"/c \\~/d ''~/e ~x ~/-r ~//etc`).paths,
    ["./a.txt", "~/b", ".", "./", "~user/x", "~/c", "~/d", "~/e", "~x", "./-r", ".//etc"],
  );
  assert.deepEqual(parseScpCommand("scp -t ~").paths, ["."]);
  for (
    const bad of [
      "scp -t a b",
      "scp -t",
      "scp -f",
      "scp -t -f x",
      "scp x",
      "scp -t x; rm -rf /",
      "scp -t $(id)",
      "scp -t `id`",
      "scp -t x|y",
      "scp -t x > y",
      "scp -t 'unterminated",
      'scp -t "$HOME"',
      "scp -Z -t x",
      "ls -t x",
    ]
  ) {
    assert.throws(() => parseScpCommand(bad), SCPError, bad);
  }
});

test("nameMatcher() accepts the requested name or its glob only", () => {
  const m = nameMatcher("/home/u/a.txt");
  assert.equal(m("a.txt"), true);
  assert.equal(m(".bashrc"), false);
  const g = nameMatcher("dir/*.txt");
  assert.equal(g("x.txt"), true);
  assert.equal(g("x.sh"), false);
  assert.equal(g(".hidden.txt"), false);
  assert.equal(nameMatcher("dir/a\\*b")("a*b"), true);
  assert.equal(nameMatcher("dir/a\\*b")("axb"), false);
  assert.equal(nameMatcher("dir/")("dir"), true);
  assert.equal(nameMatcher("dir/")("other"), false);
  assert.equal(nameMatcher(".")("anything"), true);
});

/** Seeded xorshift32. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

test("fuzz: mutated records and streams never crash the parser or the reader", () => {
  const rand = rng(fuzzSeed(0x5c9));
  const seeds = [
    "C0644 5 a.txt",
    "D0755 0 dir",
    "E",
    "T1700000000 0 1700000000 0",
    "\x01scp: warning",
    "C0644 9007199254740991 x",
  ].map(line);
  let accepted = 0;
  for (let i = 0; i < fuzzRuns(20_000); i++) {
    const base = seeds[Math.floor(rand() * seeds.length)]!;
    const b = Uint8Array.from(base);
    const out: number[] = [...b];
    const edits = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(rand() * (out.length + 1));
      const op = rand();
      const byte = rand() < 0.5 ? Math.floor(rand() * 256) : " /.0129-xC\n\x00"
        .charCodeAt(Math.floor(rand() * 14));
      if (op < 0.4) out[at] = byte;
      else if (op < 0.7) out.splice(at, 0, byte);
      else out.splice(at, 1);
    }
    const input = Uint8Array.from(out);
    try {
      const r = parseRecord(input);
      accepted++;
      if (r.type === "file" || r.type === "dir") {
        checkName(r.name);
        assert.ok(r.mode >= 0 && r.mode <= 0o7777);
      }
      if (r.type === "file") assert.ok(Number.isSafeInteger(r.size) && r.size >= 0);
    } catch (e) {
      if (!(e instanceof SCPError)) throw e;
    }
    // The same bytes as a stream, chunked at random, through the reader.
    const reader = new SCPReader();
    let off = 0;
    try {
      while (off < input.length) {
        const n = 1 + Math.floor(rand() * 8);
        reader.push(input.subarray(off, off + n));
        off += n;
        const pick = rand();
        if (pick < 0.4) reader.readRecord();
        else if (pick < 0.7) reader.readAck();
        else reader.readData(3);
      }
    } catch (e) {
      if (!(e instanceof SCPError)) throw e;
    }
  }
  assert.ok(accepted > 100, `only ${accepted} mutants parsed`);
});
