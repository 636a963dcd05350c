/**
 * listen()'s line editor against keys that make far more output than input: Ctrl-L
 * redraws the whole line for one byte, Ctrl-P and Enter recall and submit one for two.
 * A packet of them must not become hundreds of MiB of echo and lines in the server's
 * memory while the client reads nothing; and input fed a slice at a time still edits
 * as one piece (surrogate pairs, escape sequences and "\r\n" cut anywhere).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { encodePtyRequest } from "../../core/connection/session_requests.ts";
import type { SSHServerProcess } from "./process.ts";
import { loopback } from "./_loopback_test_util.ts";

const TERMINAL = { term: "xterm", columns: 80, rows: 24, widthPixels: 0, heightPixels: 0 };
const enc = new TextEncoder();

test("listen()'s line editor holds a bounded echo for a flood of redraws the client does not read", async () => {
  let process: SSHServerProcess | undefined;
  await using t = await loopback({
    processFactory: (p) => {
      process = p;
      return new Promise(() => {}); // never reads stdin
    },
  });
  const ch = await t.conn.openSession();
  assert.equal(await ch.request("pty-req", encodePtyRequest(TERMINAL)), true);
  assert.equal(await ch.request("shell"), true);
  // A full line, then 32000 redraws of it: 1 KiB of echo per input byte, 32 MiB in all.
  await ch.write(enc.encode("x".repeat(1024)));
  void ch.write(enc.encode("\x0c".repeat(32000))).catch(() => {});
  const deadline = Date.now() + 20_000;
  while (!process || process.channel.sendWindow > 0) {
    assert.ok(Date.now() < deadline, "the client's window never filled");
    await new Promise((r) => setTimeout(r, 10));
  }
  // The window is full and the client reads nothing: what waits for it stays small.
  await new Promise((r) => setTimeout(r, 100));
  const pending = process.getWriteBufferSize();
  assert.ok(pending < 1 << 20, `${pending} bytes of echo held for a client that does not read`);
  ch.close();
});

test("listen()'s line editor edits input cut at any place the same as whole", async () => {
  await using t = await loopback({
    processFactory: async (p) => {
      const lines: string[] = [];
      const d = new TextDecoder();
      let text = "";
      for await (const c of p.stdin) text += d.decode(c, { stream: true });
      lines.push(...text.split("\n"));
      await p.write(JSON.stringify(lines));
      p.exit(0);
    },
  });
  const ch = await t.conn.openSession();
  assert.equal(await ch.request("pty-req", encodePtyRequest(TERMINAL)), true);
  assert.equal(await ch.request("shell"), true);
  // Lines of emoji (surrogate pairs), arrow keys, "\r\n" Enter and history recall,
  // long enough that slices end inside each of them somewhere.
  const typed: string[] = [];
  const want: string[] = [];
  for (let i = 0; i < 300; i++) {
    const word = "😀".repeat(i % 7) + "ab" + "é".repeat(i % 5);
    typed.push(`${word}z\x1b[D\x1b[3~y${i % 3 === 0 ? "\r\n" : "\r"}`);
    want.push(`${word}y`);
    if (i % 11 === 0) {
      typed.push("\x10\r"); // the previous line again
      want.push(`${word}y`);
    }
  }
  const out = new Response(ch.readable(0)).text();
  await ch.write(enc.encode(typed.join("")));
  ch.sendEof();
  const text = await out;
  const json = text.slice(text.lastIndexOf('["'));
  assert.deepEqual(JSON.parse(json), [...want, ""]);
});
