/**
 * AsyncSSH session and channel parity (#20), our client against our server on
 * loopback: SSHServerProcess.redirect (streams, files, a proxied upstream
 * process), collectOutput mid-run, StreamReader on process output, in-band
 * events (signal, break, terminal size), extra info on connections, channels
 * and processes, write-buffer limits, per-channel window sizes,
 * textSession (pty sessions too), raw mode on a pty, stdout writes a
 * handler did not await, and exit statuses that are no 32-bit integers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodePtyRequest } from "../../core/connection/session_requests.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import { IncompleteReadError, readLines, StreamReader } from "../engine/stream_reader.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import { type ServerProcessEvent, type SSHServerProcess, textSession } from "./process.ts";

const hostKey = generatePrivateKey("ed25519");
const enc = new TextEncoder();
const dec = new TextDecoder();

function server(options: Partial<ListenOptions> = {}): Promise<SSHServer> {
  return listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    beginAuth: () => false,
    ...options,
  });
}

function login(s: SSHServer): Promise<SSHClientConnection> {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    connectTimeout: 10_000,
  });
}

/** A server whose sessions upper-case their input (cat | tr a-z A-Z), exit 0. */
async function upperServer(): Promise<SSHServer> {
  return await server({
    processFactory: async (p) => {
      for await (const c of p.stdin) await p.write(dec.decode(c).toUpperCase());
    },
  });
}

test("SSHServerProcess.redirect() proxies a session to an upstream process", async () => {
  await using upstream = await upperServer();
  await using upConn = await login(upstream);
  await using proxy = await server({
    processFactory: async (p) => {
      const up = await upConn.createProcess("upper");
      await p.redirect({ stdin: up, stdout: up, stderr: up });
      await up.wait();
      p.exit(up.returnCode ?? 255);
    },
  });
  await using conn = await login(proxy);
  const r = await conn.run("anything", { input: "hello through the proxy\n" });
  assert.equal(r.stdout, "HELLO THROUGH THE PROXY\n");
  assert.equal(r.exitStatus, 0);
});

test("SSHServerProcess.redirect() sends a file and bytes out, and input to a stream", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-redirect-"));
  try {
    const file = join(dir, "motd");
    writeFileSync(file, "from a file\n");
    const received: Uint8Array[] = [];
    await using s = await server({
      processFactory: async (p) => {
        await p.redirect({
          stdin: new WritableStream({ write: (c) => void received.push(c) }),
          stdout: file,
          stderr: enc.encode("to stderr\n"),
        });
      },
    });
    await using conn = await login(s);
    const r = await conn.run("x", { input: "typed input" });
    assert.equal(r.stdout, "from a file\n");
    assert.equal(r.stderr, "to stderr\n");
    assert.equal(dec.decode(Buffer.concat(received)), "typed input");
    // The client's input into a file.
    const out = join(dir, "upload");
    await using s2 = await server({ processFactory: (p) => p.redirect({ stdin: out }) });
    await using c2 = await login(s2);
    await c2.run("x", { input: "saved\n" });
    assert.equal(readFileSync(out, "utf8"), "saved\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("collectOutput() snapshots the output received so far, wait() still gets all of it", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  await using s = await server({
    processFactory: async (p) => {
      await p.write("first part\n");
      await p.writeStderr("err part\n");
      await gate;
      await p.write("second part\n");
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { encoding: "utf-8" });
  let snap = p.collectOutput();
  for (let i = 0; i < 200 && (snap.stdout === "" || snap.stderr === ""); i++) {
    await new Promise((r) => setTimeout(r, 10));
    snap = p.collectOutput();
  }
  assert.equal(snap.stdout, "first part\n");
  assert.equal(snap.stderr, "err part\n");
  release();
  const r = await p.wait();
  assert.equal(r.stdout, "first part\nsecond part\n");
  assert.equal(p.collectOutput().stdout, "first part\nsecond part\n");
});

test("StreamReader reads a process's stdout by line, separator and count", async () => {
  await using s = await server({
    processFactory: async (p) => {
      await p.write("login: ");
      for await (const c of p.stdin) await p.write(c);
      await p.write("line one\nline two\nrest");
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x");
  const out = new StreamReader(p.stdout);
  assert.equal(dec.decode(await out.readUntil("login: ")), "login: ");
  await p.write("ABCDEFGH");
  assert.equal(dec.decode(await out.readExactly(8)), "ABCDEFGH");
  p.writeEof();
  assert.equal(dec.decode(await out.readLine()), "line one\n");
  const e = await out.readExactly(100).then(() => undefined, (x) => x);
  assert.ok(e instanceof IncompleteReadError);
  assert.equal(dec.decode(e.partial as Uint8Array), "line two\nrest");
  // readLines over a text process.
  const t = await conn.createProcess("x", { encoding: "utf-8" });
  t.writeEof();
  const lines: string[] = [];
  for await (const l of readLines(t.stdout)) lines.push(l);
  assert.deepEqual(lines, ["login: line one", "line two", "rest"]);
});

test("StreamReader of a text session's stdin, or a text process's stdout, reads \"\" when it ends at once", async () => {
  let got: unknown = "unset";
  await using s = await server({
    processFactory: textSession(async (p) => {
      got = await new StreamReader(p.stdin).readLine();
    }),
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { encoding: "utf-8" });
  p.writeEof(); // the client ends its input before sending any (ssh host </dev/null)
  // The client's side: the text stdout of a session that wrote nothing.
  assert.equal(await new StreamReader(p.stdout).readLine(), "");
  await p.wait();
  assert.equal(got, "");
});

test("SSHServerProcess.events delivers signals, breaks and size changes in order", async () => {
  const seen: ServerProcessEvent[] = [];
  const callbacks: string[] = [];
  await using s = await server({
    processFactory: async (p) => {
      p.onTerminalSizeChanged = (size) => callbacks.push(`size ${size.columns}`);
      await p.write("ready\n");
      for await (const e of p.events) {
        seen.push(e);
        if (e.type === "signal" && e.signal === "TERM") break;
      }
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { term: "xterm" });
  const out = new StreamReader(p.stdout);
  await out.readUntil("ready");
  // Without a callback, a break is accepted because events are read.
  assert.equal(await p.sendBreak(250), true);
  await p.changeTerminalSize({ columns: 132, rows: 50 });
  await p.signal("INT");
  await p.signal("TERM");
  await p.wait();
  assert.deepEqual(seen.map((e) => e.type), ["break", "terminalSizeChanged", "signal", "signal"]);
  assert.deepEqual(seen[0], { type: "break", ms: 250 });
  assert.equal((seen[1] as { size: { columns: number } }).size.columns, 132);
  assert.deepEqual(seen.slice(2), [
    { type: "signal", signal: "INT" },
    { type: "signal", signal: "TERM" },
  ]);
  assert.deepEqual(callbacks, ["size 132"]);
});

test("a break is refused when nobody listens for it (no callback, no events reader)", async () => {
  await using s = await server({
    processFactory: async (p) => {
      await p.write("ready\n");
      for await (const _ of p.stdin) { /* until EOF */ }
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x");
  await new StreamReader(p.stdout).readUntil("ready\n");
  assert.equal(await p.sendBreak(100), false);
  p.writeEof();
  await p.wait();
});

test("setExtraInfo()/getExtraInfo() on connections, channels and processes", async () => {
  let serverSide: Readonly<Record<string, unknown>> | undefined;
  await using s = await server({
    acceptEnv: ["LANG"],
    authCompleted: (c) => c.setExtraInfo({ tenant: "acme", username: "spoofed" }),
    processFactory: (p: SSHServerProcess) => {
      p.setExtraInfo({ job: 7 });
      serverSide = { ...p.getExtraInfo(), conn: p.connection?.getExtraInfo() };
    },
  });
  await using conn = await login(s);
  conn.setExtraInfo({ region: "eu" });
  assert.equal(conn.getExtraInfo().region, "eu");
  assert.equal(conn.getExtraInfo().port, s.address.port);
  const p = await conn.createProcess("ls -l", { env: { LANG: "C" } });
  p.setExtraInfo({ host: "web1" });
  const info = p.getExtraInfo();
  assert.equal(info.host, "web1");
  assert.equal(info.command, "ls -l");
  assert.deepEqual(info.env, { LANG: "C" });
  assert.equal(info.channelId, p.channel.id);
  await p.wait();
  assert.equal(serverSide?.job, 7);
  assert.equal(serverSide?.command, "ls -l");
  assert.equal(serverSide?.username, "alice");
  const sc = serverSide?.conn as Record<string, unknown>;
  assert.equal(sc.tenant, "acme");
  assert.equal(sc.username, "alice", "the library's own fields win");
});

test("write-buffer limits: stdout's writer runs ahead of a stalled client up to `high`", async () => {
  let state: { buffered: number; resolved: number } | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((r) => (finish = r));
  await using s = await server({
    processFactory: async (p) => {
      p.setWriteBufferLimits({ high: 256 * 1024, low: 64 * 1024 });
      const w = p.stdout.getWriter();
      let resolved = 0;
      // The client's window is 64 KiB and it does not read: 64 KiB go out, then the
      // writes buffer until 256 KiB wait; the next one blocks.
      for (let i = 0; i < 8; i++) {
        const done = await Promise.race([
          w.write(new Uint8Array(64 * 1024)).then(() => true),
          new Promise<false>((r) => setTimeout(() => r(false), 300)),
        ]);
        if (!done) break;
        resolved++;
      }
      state = { buffered: p.getWriteBufferSize(), resolved };
      finish();
      await w.close();
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { windowSize: 64 * 1024 });
  await finished;
  assert.ok(state!.resolved >= 4 && state!.resolved <= 6, `resolved ${state!.resolved}`);
  assert.ok(state!.buffered > 256 * 1024 - 64 * 1024, `buffered ${state!.buffered}`);
  const r = await p.wait();
  assert.equal(r.stdout.length, (state!.resolved + 1) * 64 * 1024);
  assert.equal(r.exitStatus, 0);
});

test("getWriteBufferSize() counts stdin bytes waiting for the server's window", async () => {
  let go!: () => void;
  const gate = new Promise<void>((r) => (go = r));
  await using s = await server({
    windowSize: 32 * 1024,
    processFactory: async (p) => {
      await gate;
      let n = 0;
      for await (const c of p.stdin) n += c.length;
      await p.write(`${n}\n`);
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { encoding: "utf-8" });
  const big = new Uint8Array(200 * 1024);
  const w = p.write(big);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(p.getWriteBufferSize() >= 100 * 1024, `waiting ${p.getWriteBufferSize()}`);
  go();
  await w;
  assert.equal(p.getWriteBufferSize(), 0);
  p.writeEof();
  assert.equal((await p.wait()).stdout, `${200 * 1024}\n`);
});

test("createProcess/openConnection windowSize sets the channel's window the server sees", async () => {
  const windows: number[] = [];
  await using s = await server({
    processFactory: (p) => {
      windows.push(p.connection!.engine.writableBytes(p.channel.id));
    },
  });
  await using conn = await login(s);
  await (await conn.createProcess("x", { windowSize: 12345, maxPacketSize: 4096 })).wait();
  await (await conn.createProcess("x")).wait();
  assert.equal(windows[0], 12345);
  assert.notEqual(windows[1], 12345);
});

test("textSession() makes the server's stdin text and takes text out", async () => {
  await using s = await server({
    processFactory: textSession(async (p) => {
      assert.equal(p.encoding, "utf-8");
      let all = "";
      for await (const t of p.stdin) {
        assert.equal(typeof t, "string");
        all += t;
      }
      const w = p.stdout.getWriter();
      await w.write(all.toUpperCase());
      await w.close();
    }),
  });
  await using conn = await login(s);
  // "é" split across two writes: the decoder joins it.
  const bytes = enc.encode("héllo");
  const p = await conn.createProcess("x", { encoding: "utf-8" });
  await p.write(bytes.subarray(0, 2));
  await p.write(bytes.subarray(2));
  p.writeEof();
  assert.equal((await p.wait()).stdout, "HÉLLO");
  assert.throws(() => textSession(() => {}, { encoding: "no-such-encoding" }), RangeError);
});

test("textSession() works on a pty session, through the line editor", async () => {
  await using s = await server({
    processFactory: textSession(async (p) => {
      for await (const line of p.stdin) {
        await p.write(`got ${JSON.stringify(line)}\n`);
        break;
      }
    }),
  });
  await using conn = await login(s);
  const p = await conn.createProcess("x", { term: "xterm", encoding: "utf-8" });
  await p.write("hé\r");
  const r = await p.wait();
  assert.equal(r.stdout, 'hé\r\ngot "hé\\n"\r\n');
  assert.equal(r.exitStatus, 0);
});

test("SSHServerProcess.setLineMode(false) passes the client's bytes and ours through as they are", async () => {
  await using s = await server({
    processFactory: async (p) => {
      const reader = p.stdin.getReader();
      const line = await reader.read(); // line mode: "é" split across packets is joined
      await p.write(Uint8Array.of(0xc3)); // and so is one split across writes
      await p.write(Uint8Array.of(0xa9, 0x0a));
      p.setLineMode(false);
      p.setEcho(false);
      await p.write(Uint8Array.of(0xff, 0x0a, 0xc3));
      await p.write(Uint8Array.of(0xa9)); // "é", split
      const raw: number[] = [];
      while (raw.length < 6) raw.push(...(await reader.read()).value!);
      await p.write(Uint8Array.from([...line.value!, ...raw]));
    },
  });
  await using conn = await login(s);
  const ch = await conn.openSession();
  const terminal = { term: "xterm", columns: 80, rows: 24 };
  assert.equal(await ch.request("pty-req", encodePtyRequest(terminal)), true);
  assert.equal(await ch.request("shell"), true);
  const out: number[] = [];
  const reader = ch.readable(0).getReader();
  const until = async (n: number) => {
    while (out.length < n) {
      const r = await reader.read();
      if (r.done) break;
      out.push(...r.value);
    }
  };
  await ch.write(Uint8Array.of(0x68, 0xc3));
  await new Promise((r) => setTimeout(r, 20));
  await ch.write(Uint8Array.of(0xa9, 0x0d));
  await until(5 + 4 + 4); // the echo "hé\r\n", then "é\r\n", then ff 0a c3 a9
  // An 8-bit meta key (0xe1 is Alt+a), bytes that are no UTF-8, NUL.
  await ch.write(Uint8Array.of(0xe1, 0x41, 0xff, 0x00, 0xc3, 0x42));
  await until(Infinity);
  assert.deepEqual(out, [
    ...enc.encode("hé\r\né\r\n"),
    0xff,
    0x0a,
    0xc3,
    0xa9,
    ...enc.encode("hé\n"),
    0xe1,
    0x41,
    0xff,
    0x00,
    0xc3,
    0x42,
  ]);
});

test("a handler that returns without awaiting its stdout writer's writes still sends them all", async () => {
  await using s = await server({
    processFactory: (p) => {
      const w = p.stdout.getWriter();
      for (let i = 0; i < 50; i++) {
        w.write(enc.encode(`line ${i}\n`.padEnd(1000, "."))).catch(() => {});
      }
      const e = p.stderr.getWriter();
      for (let i = 0; i < 5; i++) e.write(enc.encode(`err ${i}\n`)).catch(() => {});
    },
  });
  await using conn = await login(s);
  const r = await conn.run("x");
  assert.equal(r.stdout.match(/line \d+/g)?.length, 50);
  assert.equal(r.stderr, "err 0\nerr 1\nerr 2\nerr 3\nerr 4\n");
  assert.equal(r.exitStatus, 0);
});

test("SSHServerProcess.exit() refuses a status that is no 32-bit integer: NaN is not success", async () => {
  const refused: string[] = [];
  await using s = await server({
    processFactory: (p) => {
      for (const bad of [NaN, 0.5, 2 ** 32, Infinity]) {
        assert.throws(() => p.exit(bad), RangeError);
        refused.push(String(bad));
      }
      if (p.command === "nan") return p.exit(NaN); // the handler fails: exit status 1
      p.exit(-15); // a signalled upstream's returnCode, as before
    },
  });
  await using conn = await login(s);
  const r = await conn.run("nan");
  assert.equal(r.exitStatus, 1);
  assert.equal(r.stderr, "Exit status must be a 32-bit integer, not NaN\n");
  assert.equal((await conn.run("signalled")).exitStatus, 2 ** 32 - 15);
  assert.equal(refused.length, 8);
});

test("createProcess/run errors: 'replace' gives U+FFFD, 'strict' rejects bad UTF-8", async () => {
  await using s = await server({ processFactory: (p) => p.write(Uint8Array.of(0x61, 0xff, 0x62)) });
  await using conn = await login(s);
  assert.equal((await conn.run("x")).stdout, "a\ufffdb");
  await assert.rejects(conn.run("x", { errors: "strict" }), TypeError);
});

test("connect() sessionDefaults give every session a terminal unless the call says otherwise", async () => {
  await using s = await server({ processFactory: (p) => p.write(p.terminalType ?? "none") });
  const conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
    sessionDefaults: { term: "vt100" },
  });
  try {
    assert.equal((await conn.run("x")).stdout, "vt100");
    assert.equal((await conn.run("x", { term: "xterm" })).stdout, "xterm");
  } finally {
    await conn.close();
  }
});

test("line editor: Ctrl-C's ^C is echoed before the INT is delivered, so a re-prompt lands on the new line", async () => {
  await using s = await server({
    processFactory: async (p) => {
      p.onSignal = (sig) => {
        if (sig === "INT") void p.write("> "); // re-prompt, as a shell does
      };
      await p.write("> ");
      for await (const _ of p.stdin) await p.write("> ");
    },
  });
  await using conn = await login(s);
  const p = await conn.createProcess({ shell: true }, { term: "xterm", encoding: "utf-8" });
  const out = new StreamReader(p.stdout);
  await p.write("abc");
  assert.equal(await out.readUntil("abc"), "> abc");
  await p.write("\x03");
  assert.equal(await out.readUntil("> "), "^C\r\n> ");
  p.writeEof();
});
