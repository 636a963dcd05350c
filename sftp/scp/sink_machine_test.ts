/**
 * The sans-IO sink: events and answers for files, directories, times,
 * refusals, a source that fails after the data, cut streams, name checks
 * against the request, and a seeded fuzz of whole streams.
 */
import { test } from "node:test";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import assert from "node:assert/strict";
import { SCPError } from "./records.ts";
import { type SCPSinkEvent, SCPSinkMachine } from "./sink_machine.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `input` in pieces of `step` bytes, accepting everything; returns events and answers. */
function drive(
  m: SCPSinkMachine,
  input: Uint8Array,
  step = input.length,
  answer: (e: SCPSinkEvent) => string | undefined = () => undefined,
): { events: SCPSinkEvent[]; out: string } {
  const events: SCPSinkEvent[] = [];
  let out = "";
  m.start();
  let off = 0;
  let ended = false;
  for (let guard = 0; guard < 100_000; guard++) {
    const e = m.pollEvent();
    for (const b of m.takeOutgoing()) out += dec.decode(b).replace(/\0/g, "0");
    if (!e) {
      if (off >= input.length) {
        if (ended) break;
        m.receiveEnd();
        ended = true;
        continue;
      }
      m.receive(input.subarray(off, off + step));
      off += step;
      continue;
    }
    events.push(e);
    if (e.type === "end" || e.type === "error") break;
    if (e.type === "file" || e.type === "dir" || e.type === "fileDone") {
      const refusal = answer(e);
      if (refusal) m.refuse(refusal);
      else m.accept();
    }
  }
  for (const b of m.takeOutgoing()) out += dec.decode(b).replace(/\0/g, "0");
  return { events, out };
}

const types = (events: SCPSinkEvent[]) => events.map((e) => e.type).join(",");

test("SCPSinkMachine receives a tree with times, in any chunking", () => {
  const input = enc.encode(
    "T1 0 2 0\nD0755 0 d\nT3 0 4 0\nC0600 5 a.txt\nhello\0C0644 0 empty\n\0E\n",
  );
  for (const step of [1, 2, 3, 7, input.length]) {
    const { events, out } = drive(new SCPSinkMachine({ recurse: true }), input, step);
    assert.equal(
      types(events.filter((e) => e.type !== "data")),
      "dir,file,fileDone,file,fileDone,endDir,end",
    );
    const data = events.flatMap((e) => e.type === "data" ? [...e.data] : []);
    assert.equal(dec.decode(new Uint8Array(data)), "hello");
    const dir = events[0] as Extract<SCPSinkEvent, { type: "dir" }>;
    assert.deepEqual(dir.times, { type: "times", mtime: 1, atime: 2 });
    const file = events[1] as Extract<SCPSinkEvent, { type: "file" }>;
    assert.deepEqual(file.dirs, ["d"]);
    assert.equal(file.mode, 0o600);
    // ready, T, D, T, C, file ok, C, file ok, E
    assert.equal(out, "000000000");
  }
});

test("SCPSinkMachine: a refused file gets a \\x01 answer and no data is expected", () => {
  const input = enc.encode("C0644 3 a\nC0644 1 b\nB\0");
  const { events, out } = drive(
    new SCPSinkMachine({ recurse: false }),
    input,
    input.length,
    (e) => e.type === "file" && e.name === "a" ? "a: Permission denied" : undefined,
  );
  assert.equal(types(events.filter((e) => e.type !== "data")), "file,file,fileDone,end");
  assert.equal(out, "0\x01scp: a: Permission denied\n00");
});

test("SCPSinkMachine: the source failing after the data discards the file and still answers", () => {
  const { events, out } = drive(
    new SCPSinkMachine({ recurse: false }),
    enc.encode("C0644 2 a\nxy\x01scp: a: read error\n"),
  );
  assert.equal(types(events.filter((e) => e.type !== "data")), "file,fileFailed,end");
  assert.equal(out, "000");
});

test("SCPSinkMachine refuses unexpected names, directories without -r, deep nesting, unbalanced E", () => {
  const cases: [string, SCPSinkMachine, string][] = [
    [
      "C0644 1 .bashrc\nx\0",
      new SCPSinkMachine({ recurse: false, expect: (n) => n === "a" }),
      "unexpected-name",
    ],
    ["D0755 0 d\nE\n", new SCPSinkMachine({ recurse: false }), "protocol"],
    ["D0755 0 d\n".repeat(300), new SCPSinkMachine({ recurse: true }), "limit"],
    ["E\n", new SCPSinkMachine({ recurse: true }), "protocol"],
    ["D0777 0 .\n", new SCPSinkMachine({ recurse: true }), "bad-name"],
    ["C0644 10 a\nabc", new SCPSinkMachine({ recurse: false }), "cut"],
    ["D0755 0 d\n", new SCPSinkMachine({ recurse: true }), "cut"],
    ["C0644 1", new SCPSinkMachine({ recurse: false }), "cut"],
    ["\x02scp: go away\n", new SCPSinkMachine({ recurse: false }), "remote"],
  ];
  for (const [input, m, reason] of cases) {
    const { events, out } = drive(m, enc.encode(input));
    const last = events.at(-1)!;
    assert.equal(last.type, "error", input.slice(0, 20));
    const err = (last as { error: SCPError }).error;
    assert.equal(err.reason, reason, `${input.slice(0, 20)}: ${err.message}`);
    if (reason !== "cut" && reason !== "remote") assert.ok(out.includes("\x02scp: "), out);
  }
});

test("SCPSinkMachine: accept() without a question is a usage error", () => {
  const m = new SCPSinkMachine({ recurse: false });
  assert.throws(() => m.accept(), SCPError);
});

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

test("fuzz: mutated record streams end in an event (never a crash or a hang)", () => {
  const rand = rng(fuzzSeed(0x5ca1ab1e));
  const base = enc.encode(
    "T1 0 2 0\nD0755 0 d\nC0644 4 a.txt\nabcd\0D0700 0 e\nC0600 0 z\n\0E\nE\n\x01scp: w\n",
  );
  let errors = 0;
  const runs = fuzzRuns(3000);
  for (let i = 0; i < runs; i++) {
    const b = [...base];
    for (let k = 0, n = 1 + Math.floor(rand() * 5); k < n; k++) {
      const at = Math.floor(rand() * b.length);
      const r = rand();
      const byte = rand() < 0.5 ? Math.floor(rand() * 256) : "0129 \nCDET\0\x01./".charCodeAt(
        Math.floor(rand() * 16),
      );
      if (r < 0.4) b[at] = byte;
      else if (r < 0.7) b.splice(at, 0, byte);
      else b.splice(at, 1);
    }
    const m = new SCPSinkMachine({ recurse: rand() < 0.8, expect: (n) => n === "d" });
    const { events } = drive(
      m,
      Uint8Array.from(b),
      1 + Math.floor(rand() * 9),
      (e) => rand() < 0.1 && e.type !== "fileDone" ? "no" : undefined,
    );
    const last = events.at(-1);
    assert.ok(last && (last.type === "end" || last.type === "error"), `stream ${i} did not end`);
    if (last.type === "error") {
      assert.ok(last.error instanceof SCPError);
      errors++;
    }
  }
  assert.ok(errors > runs / 30 && errors < runs, `${errors} errors of ${runs}`);
});
