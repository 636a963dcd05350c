/**
 * Server-side X11 forwarding with our own client and no X server: x11-req parsing (and a
 * fuzz), the Xauthority entry, display allocation past a busy port, x11 channels carrying an
 * X client's bytes to the client, single_connection, the listener closing with the session,
 * and every refusal (no option, the hook, no-x11-forwarding, twice, non-session channels, the
 * per-connection limit).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  encodeEnv,
  encodeStringArg,
  encodeTcpipOpen,
  encodeX11Request,
} from "../../core/connection/session_requests.ts";
import { SSHError } from "../../core/errors.ts";
import { fuzzRuns, fuzzSeed } from "../../core/_fuzz_test_util.ts";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import type { SSHClientConnection } from "../client/connection.ts";
import type { ConnectOptions } from "../client/options.ts";
import { encodeXauthority, parseXauthority, XauthFamily } from "../client/x11_display.ts";
import type { SSHStreamConnection } from "../forward/stream.ts";
import { MAX_X11_DISPLAYS_PER_CONNECTION } from "../limits.ts";
import { listen, type SSHServer } from "./listen.ts";
import type { ListenOptions } from "./options.ts";
import type { SSHServerProcess } from "./process.ts";
import { addXauthEntry, parseX11Request, ServerX11 } from "./x11.ts";

const hostKey = generatePrivateKey("ed25519");
const COOKIE = "00112233445566778899aabbccddeeff";
const X11_REQ = encodeX11Request({
  singleConnection: false,
  authProtocol: "MIT-MAGIC-COOKIE-1",
  authCookie: COOKIE,
  screen: 0,
});

async function server(options: Partial<ListenOptions>): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
}

function login(s: SSHServer, options: ConnectOptions = {}): Promise<SSHClientConnection> {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    password: "x",
    knownHosts: null,
    connectTimeout: 10_000,
    ...options,
  });
}

/** A free display number at or above `from` (the port 6000 + n is free on 127.0.0.1 now). */
function displayBase(): number {
  // Spread tests over the range so runtimes running at once rarely meet.
  return 100 + Math.floor(Math.random() * 400);
}

function connectTcp(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Echoes each x11 channel back upper-cased and records where it came from. */
function fakeXServer(conn: SSHClientConnection, seen: SSHStreamConnection[]): void {
  conn.onX11Channel = (c) => {
    seen.push(c);
    void c.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, ctl) =>
          ctl.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())),
      }),
    ).pipeTo(c.writable).catch(() => {});
  };
}

/** Talks to the session's display as an X client would: sends text, reads the answer. */
async function talk(display: string, text: string): Promise<{ reply: string; port: number }> {
  const n = Number(/^localhost:(\d+)\.\d+$/.exec(display)?.[1]);
  const sock = await connectTcp(6000 + n);
  const reply = new Promise<string>((resolve) => {
    let got = "";
    sock.on("data", (b: Uint8Array) => {
      got += new TextDecoder().decode(b);
      if (got.length >= text.length) resolve(got);
    });
    sock.on("close", () => resolve(got));
  });
  sock.write(text);
  const out = { reply: await reply, port: sock.localPort! };
  sock.destroy();
  return out;
}

test("parseX11Request() accepts OpenSSH's request and refuses unusable fields with SSHError", () => {
  const ok = parseX11Request(X11_REQ);
  assert.deepEqual(ok, {
    singleConnection: false,
    authProtocol: "MIT-MAGIC-COOKIE-1",
    authCookie: COOKIE,
    screen: 0,
  });
  const bad = (r: Partial<Parameters<typeof encodeX11Request>[0]>) =>
    encodeX11Request({
      singleConnection: false,
      authProtocol: "MIT-MAGIC-COOKIE-1",
      authCookie: COOKIE,
      screen: 0,
      ...r,
    });
  for (
    const data of [
      bad({ authProtocol: "MIT MAGIC" }), // a space would split xauth's command line
      bad({ authProtocol: "" }),
      bad({ authProtocol: "x\nadd" }),
      bad({ authCookie: "abc" }), // odd length
      bad({ authCookie: "zz" }),
      bad({ authCookie: "" }),
      bad({ authCookie: "ab".repeat(257) }),
      bad({ screen: 256 }),
      X11_REQ.subarray(0, 10),
      new Uint8Array(0),
    ]
  ) {
    assert.throws(() => parseX11Request(data), SSHError);
  }
});

test("parseX11Request() fuzz: mutated requests parse or throw SSHError, nothing else", () => {
  let seed = fuzzSeed(0x5eed11);
  const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < fuzzRuns(5000); i++) {
    const data = new Uint8Array(X11_REQ);
    const flips = 1 + Math.floor(rand() * 4);
    for (let f = 0; f < flips; f++) data[Math.floor(rand() * data.length)] = rand() * 256;
    const cut = rand() < 0.2 ? data.subarray(0, Math.floor(rand() * data.length)) : data;
    try {
      const r = parseX11Request(cut);
      assert.match(r.authCookie, /^([0-9a-fA-F]{2})+$/);
      assert.ok(r.screen <= 255);
    } catch (e) {
      assert.ok(e instanceof SSHError, String(e));
    }
  }
});

test("addXauthEntry() adds a 0600 LOCAL entry for this host, replacing the display's old one", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x11-test-"));
  try {
    const path = join(dir, "Xauthority");
    const host = new TextEncoder().encode(hostname());
    const other = {
      family: XauthFamily.LOCAL,
      address: host,
      number: "3",
      name: "MIT-MAGIC-COOKIE-1",
      data: new Uint8Array(16).fill(3),
    };
    const stale = { ...other, number: "12", data: new Uint8Array(16).fill(9) };
    writeFileSync(path, encodeXauthority([other, stale]));
    const cookie = new Uint8Array(16).fill(7);
    await addXauthEntry(path, 12, "MIT-MAGIC-COOKIE-1", cookie, true);
    const entries = parseXauthority(new Uint8Array(readFileSync(path)));
    assert.deepEqual(entries.map((e) => [e.family, e.number, e.data[0]]), [
      [XauthFamily.LOCAL, "3", 3],
      [XauthFamily.LOCAL, "12", 7],
    ]);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    // A display on every address also gets a WILD entry (any address the client connects to).
    await addXauthEntry(path, 13, "MIT-MAGIC-COOKIE-1", cookie, false);
    const wild = parseXauthority(new Uint8Array(readFileSync(path))).filter((e) =>
      e.number === "13"
    );
    assert.deepEqual(wild.map((e) => e.family), [XauthFamily.LOCAL, XauthFamily.WILD]);
    // A broken file is an error, not silently replaced.
    writeFileSync(path, new Uint8Array([0, 1, 0]));
    await assert.rejects(addXauthEntry(path, 12, "MIT-MAGIC-COOKIE-1", cookie, true), SSHError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("addXauthEntry() for one file at once keeps every display's entry (sessions sharing authPath)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x11-test-"));
  try {
    const path = join(dir, "Xauthority");
    const cookie = new Uint8Array(16).fill(5);
    const numbers = [20, 21, 22, 23, 24, 25, 26, 27];
    await Promise.all(
      numbers.map((n) => addXauthEntry(path, n, "MIT-MAGIC-COOKIE-1", cookie, true)),
    );
    const entries = parseXauthority(new Uint8Array(readFileSync(path)));
    assert.deepEqual(entries.map((e) => e.number).sort(), numbers.map(String));
    // One that fails (a broken file) does not stop the next one for the file.
    writeFileSync(path, new Uint8Array([0, 1, 0]));
    const broken = addXauthEntry(path, 30, "MIT-MAGIC-COOKIE-1", cookie, true);
    await assert.rejects(broken, SSHError);
    rmSync(path);
    await addXauthEntry(join(dir, ".", "Xauthority"), 31, "MIT-MAGIC-COOKIE-1", cookie, true);
    assert.deepEqual(parseXauthority(new Uint8Array(readFileSync(path))).map((e) => e.number), [
      "31",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("listen({ x11Forwarding }) forwards each X connection as an x11 channel, skipping busy displays", async () => {
  const base = displayBase();
  // Something already listens on the first display: the server takes the next free one.
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen({ host: "127.0.0.1", port: 6000 + base }, r));
  const started: SSHServerProcess[] = [];
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  try {
    await using s = await server({
      x11Forwarding: { displayOffset: base },
      processFactory: async (p) => {
        started.push(p);
        await hold;
      },
    });
    await using conn = await login(s);
    const seen: SSHStreamConnection[] = [];
    fakeXServer(conn, seen);
    const proc = await conn.createProcess("xclient", {
      x11Forwarding: { authProtocol: "MIT-MAGIC-COOKIE-1", authCookie: COOKIE, screen: 2 },
    });
    while (started.length === 0) await new Promise((r) => setTimeout(r, 5));
    const p = started[0]!;
    assert.ok(p.x11Display, "the process has a display");
    const n = Number(/^localhost:(\d+)\.2$/.exec(p.x11Display)?.[1]);
    assert.ok(n > base, `display ${p.x11Display} skips the busy ${base}`);
    assert.equal(p.env.DISPLAY, p.x11Display);
    assert.equal(p.env.XAUTHORITY, p.x11AuthPath);
    const entries = parseXauthority(new Uint8Array(readFileSync(p.x11AuthPath!)));
    const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");
    assert.deepEqual(entries.map((e) => [e.number, e.name, hex(e.data)]), [
      [String(n), "MIT-MAGIC-COOKIE-1", COOKIE],
    ]);
    const a = await talk(p.x11Display, "hello x");
    const b = await talk(p.x11Display, "again");
    assert.deepEqual([a.reply, b.reply], ["HELLO X", "AGAIN"]);
    assert.deepEqual(
      seen.map((c) => [c.info.originHost, c.info.originPort]),
      [["127.0.0.1", a.port], ["127.0.0.1", b.port]],
    );
    // The session ends: the display stops listening and its private Xauthority goes.
    release();
    await proc.wait();
    for (let i = 0; i < 100; i++) {
      const gone = await connectTcp(6000 + n).then((sk) => (sk.destroy(), false), () => true);
      if (gone && !existsSync(p.x11AuthPath!)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await assert.rejects(connectTcp(6000 + n));
    assert.equal(existsSync(p.x11AuthPath!), false);
  } finally {
    release();
    busy.close();
  }
});

test("listen() x11 single_connection forwards the first X connection only", async () => {
  const displays: string[] = [];
  let release!: () => void;
  const hold = new Promise<void>((r) => (release = r));
  await using s = await server({
    x11Forwarding: { displayOffset: displayBase() },
    processFactory: async (p) => {
      displays.push(p.x11Display ?? "");
      await hold;
    },
  });
  await using conn = await login(s);
  const seen: SSHStreamConnection[] = [];
  fakeXServer(conn, seen);
  const proc = await conn.createProcess("x", {
    x11Forwarding: {
      authProtocol: "MIT-MAGIC-COOKIE-1",
      authCookie: COOKIE,
      screen: 0,
      singleConnection: true,
    },
  });
  while (displays.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.equal((await talk(displays[0]!, "one")).reply, "ONE");
  const n = Number(/:(\d+)\./.exec(displays[0]!)?.[1]);
  await assert.rejects(connectTcp(6000 + n));
  assert.equal(seen.length, 1);
  release();
  await proc.wait();
});

test("listen() refuses x11-req without x11Forwarding, when the hook says no, and under no-x11-forwarding", async () => {
  const asked: string[] = [];
  const cases: [string, Partial<ListenOptions>, boolean][] = [
    ["no option", {}, false],
    ["option false", { x11Forwarding: false }, false],
    ["hook says no", {
      x11Forwarding: true,
      x11ForwardingRequested: (_c, r) => (asked.push(r.authProtocol), false),
    }, false],
    ["async hook says yes", {
      x11ForwardingRequested: async (c, r) => {
        await new Promise((res) => setTimeout(res, 10));
        return c.username === "alice" && r.screen === 0;
      },
      x11Forwarding: { displayOffset: displayBase() },
    }, true],
  ];
  for (const [name, options, allowed] of cases) {
    await using s = await server({ processFactory: () => {}, ...options });
    await using conn = await login(s);
    const ch = await conn.openSession();
    assert.equal(await ch.request("x11-req", X11_REQ), allowed, name);
    ch.close();
  }
  assert.deepEqual(asked, ["MIT-MAGIC-COOKIE-1"]);
  {
    // A slow "no" is still answered before the quick "yes" to the request after it.
    await using s = await server({
      processFactory: () => {},
      acceptEnv: ["LANG"],
      x11ForwardingRequested: () => new Promise((r) => setTimeout(() => r(false), 30)),
    });
    await using conn = await login(s);
    const ch = await conn.openSession();
    const replies = await Promise.all([
      ch.request("x11-req", X11_REQ),
      ch.request("env", encodeEnv("LANG", "C")),
    ]);
    assert.deepEqual(replies, [false, true]);
  }
  // authorized_keys no-x11-forwarding wins over the option.
  const key = generatePrivateKey("ed25519");
  await using s = await server({
    x11Forwarding: true,
    processFactory: () => {},
    authorizedClientKeys: `no-x11-forwarding ${key.exportPublicKey("openssh")}`,
  });
  await using conn = await connect("127.0.0.1", {
    port: s.address.port,
    username: "alice",
    clientKeys: [key],
    knownHosts: null,
  });
  const ch = await conn.openSession();
  assert.equal(await ch.request("x11-req", X11_REQ), false);
});

test("listen() x11-req: once per session, before the process, on sessions only, and a few per connection", async () => {
  await using s = await server({
    // More sessions than displays, so the display cap is what this meets.
    maxSessions: 64,
    x11Forwarding: { displayOffset: displayBase() },
    processFactory: () => new Promise(() => {}),
    connectionRequested: () => ({ readable: new ReadableStream(), writable: new WritableStream() }),
  });
  await using conn = await login(s);
  // Twice on one session: the second is refused.
  const ch = await conn.openSession();
  assert.equal(await ch.request("x11-req", X11_REQ), true);
  assert.equal(await ch.request("x11-req", X11_REQ), false);
  // After exec, too late.
  const late = await conn.openSession();
  assert.equal(await late.request("exec", encodeStringArg("x")), true);
  assert.equal(await late.request("x11-req", X11_REQ), false);
  // Malformed data is refused, not fatal.
  const odd = await conn.openSession();
  assert.equal(await odd.request("x11-req", X11_REQ.subarray(0, 7)), false);
  // Not a session: refused.
  const tcp = await conn.openChannel("direct-tcpip", encodeTcpipOpen("svc", 1, "127.0.0.1", 1));
  assert.equal(await tcp.request("x11-req", X11_REQ), false);
  tcp.close();
  // The per-connection limit: ch already holds one display.
  const results: boolean[] = [];
  for (let i = 0; i < MAX_X11_DISPLAYS_PER_CONNECTION; i++) {
    const c = await conn.openSession();
    results.push(await c.request("x11-req", X11_REQ));
  }
  assert.deepEqual(results, [...Array(MAX_X11_DISPLAYS_PER_CONNECTION - 1).fill(true), false]);
  // Closing a session frees its display for another.
  ch.close();
  await ch.closedPromise;
  for (let i = 0; i < 50; i++) {
    const c = await conn.openSession();
    if (await c.request("x11-req", X11_REQ)) return;
    c.close();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail("a display was not freed when its session closed");
});

test("listen() x11 authPath (a function of the user) keeps the entry in that file; a lost connection closes the display", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-x11-auth-"));
  const displays: SSHServerProcess[] = [];
  try {
    await using s = await server({
      x11Forwarding: {
        displayOffset: displayBase(),
        authPath: (user) => join(dir, `${user}.xauth`),
      },
      processFactory: (p) => {
        displays.push(p);
        return new Promise(() => {});
      },
    });
    const conn = await login(s);
    await conn.createProcess("x", {
      x11Forwarding: { authProtocol: "MIT-MAGIC-COOKIE-1", authCookie: COOKIE, screen: 0 },
    });
    while (displays.length === 0) await new Promise((r) => setTimeout(r, 5));
    const p = displays[0]!;
    assert.equal(p.x11AuthPath, join(dir, "alice.xauth"));
    assert.equal(p.env.XAUTHORITY, p.x11AuthPath);
    const n = Number(/:(\d+)\./.exec(p.x11Display ?? "")?.[1]);
    const entry = parseXauthority(new Uint8Array(readFileSync(p.x11AuthPath!)));
    assert.deepEqual(entry.map((e) => e.number), [String(n)]);
    (await connectTcp(6000 + n)).destroy();
    // The client goes away without closing the session: the display closes with the connection.
    conn.abort();
    for (let i = 0; i < 100; i++) {
      const gone = await connectTcp(6000 + n).then((sk) => (sk.destroy(), false), () => true);
      if (gone) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await assert.rejects(connectTcp(6000 + n));
    assert.ok(existsSync(p.x11AuthPath!), "a file the caller named stays");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("X11 on every address (useLocalhost: false) skips a display another user holds on either family", async () => {
  const offset = 300 + (process.pid % 200);
  for (const squat of [{ host: "::", ipv6Only: true }, { host: "0.0.0.0" }]) {
    // "Another local user" on one family of display `offset`'s port.
    const squatter = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => squatter.listen({ ...squat, port: 6000 + offset }, r));
    try {
      const x11 = new ServerX11({ openChannel: () => new Promise(() => {}) } as never, {
        useLocalhost: false,
        displayOffset: offset,
      });
      let end!: () => void;
      const session = await x11.start(
        {
          singleConnection: false,
          authProtocol: "MIT-MAGIC-COOKIE-1",
          authCookie: "00112233445566778899aabbccddeeff",
          screen: 0,
        },
        "alice",
        new Promise<void>((r) => (end = r)),
      );
      assert.notEqual(session.displayNumber, offset, `squatted on ${squat.host}`);
      end();
      await session.close();
    } finally {
      squatter.close();
    }
  }
});
