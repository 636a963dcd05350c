/**
 * `redirect()` output targets against our own listen() server: stdout and stderr sent
 * to one target, and a redirection refused as a misuse before it starts anything.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loopback } from "../server/_loopback_test_util.ts";
import type { SSHServerProcess } from "../server/process.ts";
import { STDOUT } from "./redirect.ts";

/** 50 lines to stdout and 50 to stderr, interleaved, then exit 0. */
async function interleave(p: SSHServerProcess): Promise<void> {
  for (let i = 0; i < 50; i++) {
    await p.write(`out${i}\n`);
    await p.writeStderr(`err${i}\n`);
  }
  p.exit(0);
}

const sorted = (text: string) => text.split("\n").filter((l) => l).sort();
const expected = sorted(
  Array.from({ length: 50 }, (_, i) => `out${i}\nerr${i}\n`).join(""),
);

test("redirect() with one path for stdout and stderr keeps the output of both", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sshts-redirect-"));
  try {
    await using t = await loopback({ processFactory: interleave });
    const file = join(dir, "both.txt");
    const p = await t.conn.createProcess("x", { stdout: file, stderr: file });
    assert.equal((await p.wait()).exitStatus, 0);
    // Two opens of the file would each write from offset 0, one over the other.
    assert.deepEqual(sorted(await readFile(file, "utf8")), expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("redirect() with one WritableStream for stdout and stderr takes both", async () => {
  await using t = await loopback({ processFactory: interleave });
  let text = "";
  const decoder = new TextDecoder();
  const target = new WritableStream<Uint8Array>({
    write: (c) => void (text += decoder.decode(c, { stream: true })),
  });
  const p = await t.conn.createProcess("x");
  await p.redirect({ stdout: target, stderr: target });
  assert.equal((await p.wait()).exitStatus, 0);
  assert.deepEqual(sorted(text), expected);
});

test("redirect() refused as a misuse sends no input and opens no file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sshts-redirect-"));
  try {
    let received = "";
    await using t = await loopback({
      processFactory: async (p) => {
        for await (const c of p.stdin) received += new TextDecoder().decode(c);
        p.exit(0);
      },
    });
    const p = await t.conn.createProcess("cat");
    assert.throws(
      () => p.redirect({ stdin: new TextEncoder().encode("too early"), stderr: STDOUT }),
      TypeError,
    );
    const locked = new WritableStream<Uint8Array>();
    locked.getWriter();
    const file = join(dir, "out.txt");
    assert.throws(() => p.redirect({ stdout: file, stderr: locked }), TypeError);
    await assert.rejects(stat(file), /ENOENT/);
    await p.write("end");
    p.writeEof();
    assert.equal((await p.wait()).exitStatus, 0);
    assert.equal(received, "end");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("createProcess() with a redirect misuse runs nothing: refused before the session opens", async () => {
  let started = 0;
  let sessions = 0;
  await using t = await loopback({
    sessionRequested: () => (sessions++, true),
    processFactory: async (p: SSHServerProcess) => {
      started++;
      for await (const _ of p.stdin) { /* until EOF or close */ }
      p.exit(0);
    },
  });
  const locked = new WritableStream<Uint8Array>();
  locked.getWriter();
  await assert.rejects(
    t.conn.createProcess("x", { stdin: new Uint8Array(10), stdout: locked }),
    /stdout: its WritableStream is locked/,
  );
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(sessions, 0, "no session was opened");
  assert.equal(started, 0);
  // stderr to STDOUT with stdout not redirected is no misuse: merged on stdout (AsyncSSH).
  const p = await t.conn.createProcess("x", { stdin: new Uint8Array(10), stderr: STDOUT });
  await p.wait();
  assert.equal(started, 1);
});
