/**
 * Client forwarding against our own server in the same process (fast, no
 * external programs): local, remote and SOCKS forwarding, openConnection,
 * tunnels, refusals, and listeners closing with the connection. The real-peer
 * versions are in conformance/client_forward_test.ts and client_socks_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { generatePrivateKey } from "../../keys/generate.ts";
import { ChannelOpenError } from "../engine/errors.ts";
import { connect } from "../client/connect.ts";
import { type SSHClientConnection } from "../client/connection.ts";
import { RemoteForwardError } from "./errors.ts";
import { listen, type SSHServer } from "../server/listen.ts";
import { type ListenOptions } from "../server/options.ts";

const hostKey = generatePrivateKey("ed25519");

async function withServer(
  options: Partial<ListenOptions>,
  fn: (server: SSHServer, login: () => Promise<SSHClientConnection>) => Promise<void>,
): Promise<void> {
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    ...options,
  });
  const login = () =>
    connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      password: "pw",
      knownHosts: null,
    });
  try {
    await fn(server, login);
  } finally {
    await server.close();
  }
}

async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

/** Writes `data` to host:port, half-closes, returns everything read back. */
async function exchange(port: number, data: Uint8Array): Promise<Uint8Array> {
  const sock = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const parts: Uint8Array[] = [];
  const done = new Promise<void>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => parts.push(new Uint8Array(b)));
    sock.on("end", () => resolve());
    sock.on("close", () => resolve());
    sock.on("error", reject);
  });
  sock.end(data);
  await done;
  sock.destroy();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Writes `data` and reads until `expect` bytes came back, without half-closing
 * (half_close_test.ts checks answers that come after a half-close).
 */
async function exchangeFull(port: number, data: Uint8Array, expect: number): Promise<Uint8Array> {
  const sock = net.connect({ host: "127.0.0.1", port });
  const out = new Uint8Array(expect);
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => {
      out.set(b.subarray(0, expect - got), got);
      got += b.length;
      if (got >= expect) resolve();
    });
    sock.on("close", () => resolve());
    sock.on("error", reject);
    sock.write(data);
  });
  sock.destroy();
  return out.subarray(0, Math.min(got, expect));
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const payload = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) & 0xff);

test("forwardLocalPort() carries a connection both ways through the server", async () => {
  const echo = await echoServer();
  try {
    await withServer({ connectionRequested: () => true }, async (_s, login) => {
      await using conn = await login();
      await using l = await conn.forwardLocalPort({
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      assert.ok(l.port > 0);
      assert.equal(sha(await exchangeFull(l.port, payload, payload.length)), sha(payload));
    });
  } finally {
    await echo.close();
  }
});

test('forwardLocalPort() and forwardSocks() take listenHost "*" as every address, as ssh -L and -D do', async () => {
  const echo = await echoServer();
  try {
    await withServer({ connectionRequested: () => true }, async (_s, login) => {
      await using conn = await login();
      await using l = await conn.forwardLocalPort({
        listenHost: "*",
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      const data = new TextEncoder().encode("through *");
      assert.equal(sha(await exchangeFull(l.port, data, data.length)), sha(data));
      await using socks = await conn.forwardSocks({ listenHost: "*", listenPort: 0 });
      assert.ok(socks.port > 0);
    });
  } finally {
    await echo.close();
  }
});

test("forwardLocalPort() drops the local connection when the server refuses it", async () => {
  await withServer({ connectionRequested: () => false }, async (_s, login) => {
    await using conn = await login();
    await using l = await conn.forwardLocalPort({ listenPort: 0, destHost: "x", destPort: 1 });
    assert.equal((await exchange(l.port, new Uint8Array([1]))).length, 0);
    await assert.rejects(conn.openConnection("x", 1), ChannelOpenError);
  });
});

test("forwardRemotePort() with port 0 learns the port and forwards back to us", async () => {
  const echo = await echoServer();
  try {
    await withServer({ serverRequested: () => true }, async (_s, login) => {
      await using conn = await login();
      const l = await conn.forwardRemotePort({
        listenHost: "127.0.0.1",
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      assert.ok(l.port > 0);
      assert.equal(sha(await exchangeFull(l.port, payload, payload.length)), sha(payload));
      await l.close();
      await l.closed;
    });
  } finally {
    await echo.close();
  }
});

test("forwardRemotePort() rejects with RemoteForwardError when the server refuses", async () => {
  await withServer({ serverRequested: () => false }, async (_s, login) => {
    await using conn = await login();
    await assert.rejects(
      conn.forwardRemotePort({ listenPort: 0, destHost: "127.0.0.1", destPort: 1 }),
      RemoteForwardError,
    );
  });
});

test("startServer() hands remote connections over as streams", async () => {
  await withServer({ serverRequested: () => true }, async (_s, login) => {
    await using conn = await login();
    const l = await conn.startServer(async (c) => {
      const { value } = await c.readable.getReader().read();
      const w = c.writable.getWriter();
      await w.write(new TextEncoder().encode(`${new TextDecoder().decode(value)}!`));
      await w.close();
    }, { listenHost: "127.0.0.1", listenPort: 0 });
    const reply = await exchangeFull(l.port, new TextEncoder().encode("hi"), 3);
    assert.equal(new TextDecoder().decode(reply), "hi!");
  });
});

test("forwardSocks() serves SOCKS 5 through the server", async () => {
  const echo = await echoServer();
  try {
    let asked = "";
    await withServer({
      connectionRequested: (host, port) => {
        asked = `${host}:${port}`;
        return true;
      },
    }, async (_s, login) => {
      await using conn = await login();
      await using socks = await conn.forwardSocks({ listenPort: 0 });
      const hello = new Uint8Array([
        5,
        1,
        0,
        5,
        1,
        0,
        1,
        127,
        0,
        0,
        1,
        echo.port >> 8,
        echo.port & 0xff,
      ]);
      const reply = await exchangeFull(
        socks.port,
        new Uint8Array([...hello, ...new TextEncoder().encode("ping")]),
        16,
      );
      assert.deepEqual([...reply.subarray(0, 2)], [5, 0]);
      assert.equal(reply[3], 0, "request succeeded");
      assert.equal(new TextDecoder().decode(reply.subarray(12)), "ping");
      assert.equal(asked, `127.0.0.1:${echo.port}`);
    });
  } finally {
    await echo.close();
  }
});

test("connect({ tunnel }) runs a connection inside another one", async () => {
  await withServer({
    connectionRequested: () => true,
    processFactory: (p) => {
      void p.write(`hi ${p.command}\n`).then(() => p.exit(0));
    },
  }, async (server, login) => {
    await using outer = await login();
    await using inner = await connect("127.0.0.1", {
      port: server.address.port,
      username: "bob",
      password: "pw",
      knownHosts: null,
      tunnel: outer,
    });
    assert.equal((await inner.run("there")).stdout, "hi there\n");
    await inner.close();
    assert.equal((await outer.run("again")).stdout, "hi again\n");
  });
});

test("listeners close with their connection", async () => {
  const echo = await echoServer();
  try {
    await withServer({ connectionRequested: () => true }, async (_s, login) => {
      const conn = await login();
      const l = await conn.forwardLocalPort({
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      const socks = await conn.forwardSocks({ listenPort: 0 });
      conn.abort();
      await Promise.all([conn.closed, l.closed, socks.closed]);
      await assert.rejects(exchange(l.port, new Uint8Array(1)));
      assert.equal(conn.closeError, undefined, "aborted by us");
      await assert.rejects(conn.forwardSocks({ listenPort: 0 }), { code: "ERR_BY_APPLICATION" });
    });
  } finally {
    await echo.close();
  }
});

test("startServer({ accept }) refuses a forwarded connection before it opens; the others are served", async () => {
  await withServer({ serverRequested: () => true }, async (_s, login) => {
    await using conn = await login();
    const seen: string[] = [];
    let allow = false;
    await using l = await conn.startServer((c) => void c.readable.pipeTo(c.writable), {
      listenHost: "127.0.0.1",
      listenPort: 0,
      accept: (info) => (seen.push(`${info.originHost}`), allow),
    });
    // Refused: the server's client sees its connection reset (or end) with nothing.
    const refused = await exchange(l.port, new TextEncoder().encode("hello")).then(
      (b) => b.length,
      (e: { code?: string }) => e.code,
    );
    assert.ok(refused === 0 || refused === "ECONNRESET", String(refused));
    allow = true;
    const echoed = await exchange(l.port, new TextEncoder().encode("hello"));
    assert.equal(new TextDecoder().decode(echoed), "hello");
    assert.deepEqual(seen, ["127.0.0.1", "127.0.0.1"]);
  });
});
