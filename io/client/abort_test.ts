/**
 * AbortSignal wherever the user waits: connect, createProcess, run,
 * openConnection, the forwarding methods and listen. An aborted wait rejects
 * with the signal's reason (an AbortError by default) and leaves no channel or
 * listener behind. Loopback only.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { connect } from "./connect.ts";
import type { SSHClientConnection } from "./connection.ts";
import { countingController } from "../runtime/_signal_test_util.ts";

const hostKey = generatePrivateKey("ed25519");

async function server(extra: Record<string, unknown> = {}): Promise<SSHServer> {
  return await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    processFactory: (p) => p.write("ok"),
    ...extra,
  });
}

function login(s: SSHServer, signal?: AbortSignal): Promise<SSHClientConnection> {
  return connect("127.0.0.1", {
    port: s.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    agent: false,
    ...(signal ? { signal } : {}),
  });
}

function delayed<T>(v: T, ms = 100): Promise<T> {
  return new Promise((r) => setTimeout(() => r(v), ms));
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}

/** No channel is open on the client engine once things settle. */
async function noChannelsOpen(conn: SSHClientConnection): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const open = [...Array(16).keys()].filter((id) => conn.engine.channelInfo(id) !== undefined);
    if (open.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail("a channel was left open");
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", () => resolve(true));
  });
}

test("connect() with an aborted signal rejects with AbortError at once", async () => {
  await using s = await server();
  const ac = new AbortController();
  ac.abort();
  const e = await connect("127.0.0.1", {
    port: s.address.port,
    username: "u",
    password: "p",
    knownHosts: null,
    signal: ac.signal,
  }).then(() => undefined, (x) => x);
  assert.ok(isAbort(e), String(e));
});

test("connect() aborted during the handshake rejects with the signal's reason", async () => {
  const silent = net.createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("user gave up")), 100);
    const e = await connect("127.0.0.1", {
      port,
      username: "u",
      password: "p",
      knownHosts: null,
      signal: ac.signal,
    }).then(() => undefined, (x) => x);
    assert.ok(e instanceof Error && e.message === "user gave up", String(e));
  } finally {
    silent.close();
  }
});

test("connect() given up on (abort or connectTimeout) rejects without waiting for a silent peer to close; the socket goes after the grace", async () => {
  // A peer that keeps its side open after our FIN, and never speaks.
  const held: net.Socket[] = [];
  const silent = net.createServer({ allowHalfOpen: true }, (sock) => void held.push(sock));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as net.AddressInfo).port;
  try {
    for (const how of ["signal", "connectTimeout"] as const) {
      let conn: SSHClientConnection | undefined;
      let closedFirst = false;
      const ac = new AbortController();
      const attempt = connect(
        "127.0.0.1",
        {
          port,
          username: "u",
          password: "p",
          knownHosts: null,
          agent: false,
          ...(how === "signal" ? { signal: ac.signal } : { connectTimeout: 150 }),
          connectionMade: (c: SSHClientConnection) => {
            conn = c;
            void c.closed.then(() => closedFirst = true, () => closedFirst = true);
          },
        } as Parameters<typeof connect>[1],
      );
      if (how === "signal") setTimeout(() => ac.abort(new Error("user gave up")), 100);
      const e = await attempt.then(() => undefined, (x) => x);
      assert.ok(e instanceof Error, String(e));
      assert.equal(closedFirst, false, `${how}: the rejection waited for the socket to close`);
      await conn!.closed.catch(() => {}); // the grace ends it
    }
  } finally {
    for (const sock of held) sock.destroy();
    silent.close();
  }
});

test("createProcess() aborted while the session opens rejects and leaves no channel open", async () => {
  let started = 0;
  await using s = await server({
    processFactory: (p: { write(s: string): Promise<void> }) => {
      started++;
      return p.write("ok");
    },
    // The server takes its time to accept sessions: the abort comes while we wait.
    sessionRequested: () => delayed(true),
  });
  await using conn = await login(s);
  const ac = new AbortController();
  const p = conn.createProcess("true", { signal: ac.signal });
  ac.abort();
  const e = await p.then(() => undefined, (x) => x);
  assert.ok(isAbort(e), String(e));
  await noChannelsOpen(conn);
  // The connection still works, and no process was started.
  assert.equal((await conn.run("x")).stdout, "ok");
  assert.equal(started, 1);
  const pre = AbortSignal.abort();
  assert.ok(isAbort(await conn.createProcess("x", { signal: pre }).then(() => 0, (x) => x)));
  assert.ok(isAbort(await conn.run("x", { signal: pre }).then(() => 0, (x) => x)));
  await noChannelsOpen(conn);
});

test("openConnection() aborted while the server connects rejects and leaves no channel open", async () => {
  const target = net.createServer((c) => c.end());
  await new Promise<void>((r) => target.listen(0, "127.0.0.1", r));
  const port = (target.address() as net.AddressInfo).port;
  try {
    await using s = await server({ connectionRequested: () => delayed(true) });
    await using conn = await login(s);
    const ac = new AbortController();
    const p = conn.openConnection("127.0.0.1", port, { signal: ac.signal });
    ac.abort();
    assert.ok(isAbort(await p.then(() => 0, (x) => x)));
    await noChannelsOpen(conn);
    const pre = conn.openUnixConnection("/nonexistent.sock", { signal: AbortSignal.abort() });
    assert.ok(isAbort(await pre.then(() => 0, (x) => x)));
  } finally {
    target.close();
  }
});

test("forwardLocalPort() and forwardSocks() stop listening when their signal aborts", async () => {
  await using s = await server();
  await using conn = await login(s);
  for (
    const start of [
      (signal: AbortSignal) =>
        conn.forwardLocalPort({ listenPort: 0, destHost: "127.0.0.1", destPort: 9, signal }),
      (signal: AbortSignal) => conn.forwardSocks({ listenPort: 0, signal }),
    ]
  ) {
    const ac = new AbortController();
    const l = await start(ac.signal);
    assert.equal(await refused(l.port), false);
    ac.abort();
    await l.closed;
    assert.equal(await refused(l.port), true);
    assert.ok(isAbort(await start(AbortSignal.abort()).then(() => 0, (x) => x)));
  }
});

test("forwardRemotePort() aborted while the server answers rejects; aborted later it closes", async () => {
  await using s = await server({ serverRequested: () => delayed(true) });
  await using conn = await login(s);
  const ac = new AbortController();
  const p = conn.forwardRemotePort({
    listenPort: 0,
    destHost: "127.0.0.1",
    destPort: 9,
    signal: ac.signal,
  });
  ac.abort();
  assert.ok(isAbort(await p.then(() => 0, (x) => x)));
  const ac2 = new AbortController();
  const l = await conn.forwardRemotePort({
    listenPort: 0,
    destHost: "127.0.0.1",
    destPort: 9,
    signal: ac2.signal,
  }).catch(() => undefined);
  if (l) {
    ac2.abort();
    await l.closed;
  }
});

test("listen() stops the server when its signal aborts", async () => {
  const ac = new AbortController();
  const s = await server({ signal: ac.signal });
  const port = s.address.port;
  const conn = await login(s);
  ac.abort();
  await conn.closed;
  assert.equal(await refused(port), true);
  await s.close(); // the close the abort started
  assert.equal(s.connections, 0);
  const e = await server({ signal: AbortSignal.abort() }).then(() => undefined, (x) => x);
  assert.ok(isAbort(e), String(e));
});

test("a connection made with a long-lived signal lets go of it once closed", async () => {
  await using s = await server();
  const ac = countingController();
  for (let i = 0; i < 5; i++) {
    const c = await login(s, ac.signal);
    assert.equal((await c.run("x")).exitStatus, 0);
    await c.close();
  }
  await delayed(undefined, 20);
  assert.equal(ac.listening(), 0, "no listener (holding a closed connection) stays on the signal");
  // One still open is aborted by it.
  const open = await login(s, ac.signal);
  ac.abort();
  await open.closed;
});

test("run() whose connection closes while it waits lets go of its signal and its timer", async () => {
  await using s = await server({
    processFactory: async (p: { write(s: string): Promise<void> }) => {
      await p.write("partial\n");
      await new Promise(() => {}); // never exits
    },
  });
  const ac = countingController();
  for (let i = 0; i < 3; i++) {
    const c = await login(s);
    const running = assert.rejects(c.run("x", { signal: ac.signal, timeout: 60_000 }));
    await delayed(undefined, 50);
    await c.close();
    await running;
  }
  assert.equal(ac.listening(), 0, "no listener (holding a closed connection) stays on the signal");
});

test("abort(): pending work learns the application aborted it (not the peer), on both sides", async () => {
  let lostWith: Error | undefined;
  const lost = Promise.withResolvers<void>();
  await using s = await server({
    processFactory: async (p: { write(s: string): Promise<void> }) => {
      await p.write("partial\n");
      await new Promise(() => {}); // never exits
    },
    connectionLost: (_conn: unknown, e?: Error) => {
      lostWith = e;
      lost.resolve();
    },
  });

  // The client aborts while a command runs and while a session waits to open.
  const c = await login(s);
  const running = c.run("x");
  await delayed(undefined, 50);
  c.abort();
  const e = await running.then(() => assert.fail("run() resolved"), (e: unknown) => e);
  assert.ok(e instanceof Error);
  const why = (e as { cause?: unknown }).cause ?? e;
  assert.equal((why as { code?: string }).code, "ERR_BY_APPLICATION", String(why));
  assert.match(String((why as Error).message), /aborted by the application/);
  assert.notEqual((why as { fromPeer?: boolean }).fromPeer, true);
  await assert.rejects(
    c.openSession(),
    (err: { code?: string }) => err.code === "ERR_BY_APPLICATION",
  );
  assert.equal(c.closeError, undefined, "closed by us: no close error");
  await lost.promise; // the server saw the socket go: the peer's doing, for it
  assert.equal((lostWith as { fromPeer?: boolean } | undefined)?.fromPeer, true);

  // The server aborts: its connectionLost hook hears its own abort, the client a lost peer.
  const lost2 = Promise.withResolvers<void>();
  let serverLost: Error | undefined;
  await using s2 = await server({
    connectionMade: (conn: { abort(): void }) => setTimeout(() => conn.abort(), 100),
    connectionLost: (_conn: unknown, e?: Error) => {
      serverLost = e;
      lost2.resolve();
    },
  });
  const c2 = await login(s2);
  await lost2.promise;
  assert.equal((serverLost as { code?: string } | undefined)?.code, "ERR_BY_APPLICATION");
  await c2.closed.catch(() => {});
  assert.equal((c2.closeError as { code?: string } | undefined)?.code, "ERR_CONNECTION_LOST");
});
