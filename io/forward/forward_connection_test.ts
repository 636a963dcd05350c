/**
 * forwardConnection / forwardUnixConnection as `connectionRequested` answers,
 * and the server's openConnection / openUnixConnection (forwarded-tcpip and
 * forwarded-streamlocal to a client's remote forward), our client against our
 * server on loopback. The OpenSSH versions are in
 * conformance/parity_forward_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import type { ListenOptions } from "../server/options.ts";
import { forwardConnection, forwardUnixConnection } from "./forward_connection.ts";
import type { SSHStreamConnection } from "./stream.ts";

const hostKey = generatePrivateKey("ed25519");
const dec = new TextDecoder();
const enc = new TextEncoder();

async function echoOn(where: { port: number; host: string } | { path: string }) {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => srv.listen(where, r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

async function roundTrip(
  c: SSHStreamConnection | {
    readable: ReadableStream<Uint8Array>;
    writable: WritableStream<Uint8Array>;
  },
  text: string,
) {
  const w = c.writable.getWriter();
  await w.write(enc.encode(text));
  await w.close();
  return dec.decode(new Uint8Array(await new Response(c.readable).arrayBuffer()));
}

async function pair(options: Partial<ListenOptions>) {
  const server = await listen({
    host: "127.0.0.1",
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    beginAuth: () => false,
    ...options,
  });
  const conn = await connect("127.0.0.1", {
    port: server.address.port,
    username: "alice",
    knownHosts: null,
    agent: false,
    clientKeys: [],
  });
  return {
    server,
    conn,
    async [Symbol.asyncDispose]() {
      await conn.close();
      await server.close();
    },
  };
}

test("forwardConnection() sends a direct-tcpip request somewhere else", async () => {
  await using echo = await echoOn({ host: "127.0.0.1", port: 0 });
  const asked: string[] = [];
  await using p = await pair({
    connectionRequested: (host, port) => {
      asked.push(`${host}:${port}`);
      return forwardConnection("127.0.0.1", echo.port);
    },
  });
  const c = await p.conn.openConnection("backend.invalid", 9);
  assert.equal(await roundTrip(c, "rerouted\n"), "rerouted\n");
  const big = "y".repeat(3 * 1024 * 1024);
  assert.equal(await roundTrip(await p.conn.openConnection("x.invalid", 1), big), big);
  assert.deepEqual(asked, ["backend.invalid:9", "x.invalid:1"]);
});

test("forwardUnixConnection() sends a request to a UNIX socket", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-fwdconn-"));
  try {
    const path = join(dir, "echo.sock");
    await using _echo = await echoOn({ path });
    await using p = await pair({ connectionRequested: () => forwardUnixConnection(path) });
    assert.equal(await roundTrip(await p.conn.openConnection("db", 5432), "unix\n"), "unix\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a forwardConnection() that cannot connect refuses the channel", async () => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const closed = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await using p = await pair({ connectionRequested: () => forwardConnection("127.0.0.1", closed) });
  await assert.rejects(p.conn.openConnection("x", 1), /Channel open refused/);
});

test("server openConnection()/openUnixConnection() reach the client's remote forwards", async () => {
  await using p = await pair({ serverRequested: () => true, unixServerRequested: () => true });
  const seen: string[] = [];
  const listener = await p.conn.startServer(async (c) => {
    seen.push(`${c.info.host}:${c.info.port} from ${c.info.originHost}:${c.info.originPort}`);
    await c.readable.pipeTo(c.writable);
  }, { listenHost: "127.0.0.1", listenPort: 0 });
  const [sc] = p.server.getConnections();
  const c = await sc!.openConnection("127.0.0.1", listener.port, {
    originHost: "192.0.2.7",
    originPort: 4242,
    windowSize: 64 * 1024,
  });
  assert.equal(await roundTrip(c, "pushed by the server\n"), "pushed by the server\n");
  assert.deepEqual(seen, [`127.0.0.1:${listener.port} from 192.0.2.7:4242`]);
  // No such forward: the client refuses.
  await assert.rejects(sc!.openConnection("127.0.0.1", 1), /No such forward/);
  const dir = mkdtempSync(join(tmpdir(), "sshts-fwdconn-"));
  try {
    const path = join(dir, "remote.sock");
    await p.conn.startUnixServer((u) => u.readable.pipeTo(u.writable), { listenPath: path });
    const u = await sc!.openUnixConnection(path);
    assert.equal(await roundTrip(u, "over a socket forward\n"), "over a socket forward\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("createConnection(): a far end that answers and closes closes the channel (EOF sent back)", async () => {
  // AsyncSSH's create_connection example: the session never sends EOF itself; when the far
  // end's EOF arrives, eofReceived() returning nothing sends ours, and the channel closes.
  const once = net.createServer((s) => s.once("data", (d) => s.end(d)));
  await new Promise<void>((r) => once.listen(0, "127.0.0.1", r));
  try {
    const port = (once.address() as net.AddressInfo).port;
    await using p = await pair({
      connectionRequested: () => forwardConnection("127.0.0.1", port),
    });
    let got = "";
    let eof = false;
    const { channel } = await p.conn.createConnection(
      {
        dataReceived: (d) => void (got += dec.decode(d)),
        eofReceived: () => void (eof = true),
      },
      "db",
      5432,
    );
    await channel.write(enc.encode("ping"));
    await channel.closedPromise;
    assert.equal(got, "ping");
    assert.ok(eof);
  } finally {
    once.close();
  }
});

test("createConnection() and createUnixConnection(): callback channels with openConnection's options", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sshts-fwdconn-"));
  try {
    const path = join(dir, "echo.sock");
    await using _echoUnix = await echoOn({ path });
    await using echoTcp = await echoOn({ port: 0, host: "127.0.0.1" });
    const origins: string[] = [];
    await using p = await pair({
      connectionRequested: (_h, _p, originHost, originPort) => {
        origins.push(`${originHost}:${originPort}`);
        return forwardConnection("127.0.0.1", echoTcp.port);
      },
      unixConnectionRequested: (dest) => forwardUnixConnection(dest),
    });
    const echoed = (
      make: (
        s: object,
      ) => Promise<{ channel: { write(d: Uint8Array): Promise<void>; sendEof(): void } }>,
    ) =>
      new Promise<string>((resolve, reject) => {
        let got = "";
        make({
          dataReceived: (d: Uint8Array) => void (got += dec.decode(d)),
          connectionLost: (e: Error | undefined) => (e ? reject(e) : resolve(got)),
        }).then(async ({ channel }) => {
          await channel.write(enc.encode("ping\n"));
          channel.sendEof();
        }, reject);
      });
    assert.equal(
      await echoed((s) =>
        p.conn.createConnection(s, "db", 5432, { originHost: "10.1.2.3", originPort: 4444 })
      ),
      "ping\n",
    );
    assert.deepEqual(origins, ["10.1.2.3:4444"]);
    assert.equal(await echoed((s) => p.conn.createUnixConnection(s, path)), "ping\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
