/**
 * What one client can make listen() hold, and the order of a session's requests: at most
 * `maxSessions` session channels (sshd's MaxSessions), env requests bounded in bytes, no
 * pty-req or env once a start request came (processRequested approves what runs), a
 * window-change before the start sizes the process's terminal, a second pty-req is refused
 * (one terminal per session), the line editor's echo waits for a client that does not
 * read its output, and a TERM, command or subsystem name holding NUL is refused, as sshd.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
  encodeWindowChange,
} from "../../core/connection/session_requests.ts";
import { SSHWriter } from "../../core/wire.ts";
import { loopback } from "./_loopback_test_util.ts";

const TERMINAL = { term: "xterm", columns: 80, rows: 24, widthPixels: 0, heightPixels: 0 };

test("listen() holds at most maxSessions session channels per connection (default 10)", async () => {
  await using t = await loopback({ processFactory: () => new Promise(() => {}) });
  const open = [];
  for (let i = 0; i < 10; i++) open.push(await t.conn.openSession());
  // The client says what the refusal usually means (sshd's "open failed" alike).
  await assert.rejects(
    t.conn.openSession(),
    (e: Error & { code?: string }) =>
      e.code === "ERR_CHANNEL_OPEN" && /Too many sessions \(.*MaxSessions/.test(e.message),
  );
  open[0]!.close();
  await open[0]!.closedPromise;
  open.push(await t.conn.openSession()); // a place came free
  await using none = await loopback({ maxSessions: 0, processFactory: (p) => p.exit(0) });
  await assert.rejects(none.conn.openSession(), /Too many sessions/);
});

test("listen() refuses env requests past 64 KiB of names and values in a session", async () => {
  await using t = await loopback({
    acceptEnv: ["*"],
    processFactory: (p) => p.write(String(Object.keys(p.env).filter((k) => k[0] === "V").length)),
  });
  const ch = await t.conn.openSession();
  const value = "x".repeat(16 * 1024);
  const replies = [];
  for (let i = 0; i < 6; i++) replies.push(await ch.request("env", encodeEnv(`V${i}`, value)));
  assert.deepEqual(replies, [true, true, true, false, false, false]);
  assert.equal(await ch.request("exec", encodeStringArg("count")), true);
  assert.equal(await new Response(ch.readable(0)).text(), "3");
});

test("listen() refuses pty-req and env sent after exec while processRequested decides", async () => {
  const seen: string[] = [];
  await using t = await loopback({
    acceptEnv: ["*"],
    lineEditor: false,
    processRequested: async (req) => {
      await new Promise((r) => setTimeout(r, 30));
      seen.push(JSON.stringify({ term: req.term, env: req.env }));
      return req.term === undefined && !("GIT_PROTOCOL" in req.env);
    },
    processFactory: (p) => p.write(`term=${p.terminal?.term} env=${JSON.stringify(p.env)}`),
  });
  const ch = await t.conn.openSession();
  const out = new Response(ch.readable(0)).text();
  const exec = ch.request("exec", encodeStringArg("git-upload-pack x"));
  const pty = ch.request("pty-req", encodePtyRequest(TERMINAL));
  const env = ch.request("env", encodeEnv("GIT_PROTOCOL", "version=2"));
  assert.deepEqual([await exec, await pty, await env], [true, false, false]);
  assert.equal(await out, "term=undefined env={}", "what runs is what the hook approved");
  assert.deepEqual(seen, ['{"env":{}}']);
});

test("listen(): a window-change before the process starts is the size it starts with", async () => {
  await using t = await loopback({
    lineEditor: false,
    processRequested: async () => (await new Promise((r) => setTimeout(r, 30)), true),
    processFactory: (p) => p.write(`${p.terminal?.columns}x${p.terminal?.rows}`),
  });
  const ch = await t.conn.openSession();
  const out = new Response(ch.readable(0)).text();
  assert.equal(await ch.request("pty-req", encodePtyRequest(TERMINAL)), true);
  const shell = ch.request("shell");
  const sized = ch.request(
    "window-change",
    encodeWindowChange({ columns: 200, rows: 60, widthPixels: 0, heightPixels: 0 }),
    false,
  );
  await sized;
  assert.equal(await shell, true);
  assert.equal(await out, "200x60");
});

test("listen(): the line editor stops reading input while its echo waits for a client that does not read", async () => {
  let lines = 0;
  await using t = await loopback({
    processFactory: async (p) => {
      for await (const _ of p.stdin) lines++;
    },
  });
  const ch = await t.conn.openSession();
  assert.equal(await ch.request("pty-req", encodePtyRequest(TERMINAL)), true);
  assert.equal(await ch.request("shell"), true);
  // 8 MiB of 1 KiB lines, and nobody reads the echo: the server must stop taking them in.
  const line = new TextEncoder().encode("a".repeat(1023) + "\r");
  const chunk = new Uint8Array(line.length * 64);
  for (let i = 0; i < 64; i++) chunk.set(line, i * line.length);
  let sent = 0;
  void (async () => {
    while (sent < 8 << 20) {
      await ch.write(chunk);
      sent += chunk.length;
    }
  })().catch(() => {});
  await new Promise((r) => setTimeout(r, 500));
  assert.ok(lines * 1024 < 2 << 20, `${lines} lines read with their echo unread`);
  assert.ok(sent < 4 << 20, `${sent} bytes taken from the client`);
});

test("listen() refuses a second pty-req on a session: the first terminal stays", async () => {
  await using t = await loopback({
    lineEditor: false,
    processFactory: (p) =>
      p.write(`${p.terminal?.term} ${p.terminal?.columns}x${p.terminal?.rows}`),
  });
  const ch = await t.conn.openSession();
  const out = new Response(ch.readable(0)).text();
  assert.equal(await ch.request("pty-req", encodePtyRequest(TERMINAL)), true);
  const second = { term: "vt100", columns: 10, rows: 5, widthPixels: 0, heightPixels: 0 };
  assert.equal(await ch.request("pty-req", encodePtyRequest(second)), false);
  assert.equal(await ch.request("shell"), true);
  assert.equal(await out, "xterm 80x24");
});

test("listen() refuses a pty-req whose TERM holds NUL, as sshd: the session starts without one", async () => {
  await using t = await loopback({
    lineEditor: false,
    processFactory: (p) => p.write(`term=${JSON.stringify(p.terminal?.term ?? null)}`),
  });
  const ch = await t.conn.openSession();
  const out = new Response(ch.readable(0)).text();
  // Written by hand: encodePtyRequest() refuses a NUL, which this test sends on purpose.
  const bad = new SSHWriter().writeStringUtf8("xterm\0LD_PRELOAD=/tmp/x.so").writeUint32(80)
    .writeUint32(24).writeUint32(0).writeUint32(0).writeString(new Uint8Array([0])).toBytes();
  assert.equal(await ch.request("pty-req", bad), false);
  assert.equal(
    await ch.request("pty-req", encodePtyRequest(TERMINAL)),
    true,
    "a good one still may",
  );
  assert.equal(await ch.request("shell"), true);
  assert.equal(await out, 'term="xterm"');
});

test("listen() refuses exec and subsystem requests holding NUL, as sshd: another may follow", async () => {
  const asked: string[] = [];
  await using t = await loopback({
    lineEditor: false,
    processRequested: (req) => (asked.push(req.command ?? req.subsystem ?? ""), true),
    processFactory: (p) => p.write(`ran ${JSON.stringify(p.command)}`),
  });
  const ch = await t.conn.openSession();
  const out = new Response(ch.readable(0)).text();
  // Written by hand: encodeStringArg() refuses a NUL, which this test sends on purpose.
  const nul = (s: string) => new SSHWriter().writeStringUtf8(s).toBytes();
  assert.equal(await ch.request("exec", nul("cat secret\0.txt")), false);
  assert.equal(await ch.request("subsystem", nul("sftp\0x")), false);
  assert.equal(await ch.request("exec", encodeStringArg("cat notes.txt")), true);
  assert.equal(await out, 'ran "cat notes.txt"');
  assert.deepEqual(asked, ["cat notes.txt"], "the hook never saw the refused ones");
});
