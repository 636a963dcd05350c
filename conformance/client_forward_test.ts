/**
 * Forwarding through real OpenSSH (9.2 and 10.x): local and remote TCP
 * forwarding to a local echo server carrying 64 MiB each way, hash-checked;
 * UNIX socket forwarding both ways; openConnection and startServer; listener
 * ports chosen by the OS (0); listeners closing with the connection.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm } from "node:fs/promises";
import * as net from "node:net";
import { join } from "node:path";
import {
  conformanceTest,
  type FixtureOptions,
  type PeerName,
  trixieTreePath,
} from "./fixtures/mod.ts";
import { sharedPeer } from "./_shared_peer.ts";
import { fastCipher, login, OPENSSH_PEERS } from "./client_peer.ts";
import { ChannelOpenError } from "../io/engine/errors.ts";

const BULK = 64 * 1024 * 1024;
const OPTIONS: FixtureOptions = { streamLocalBindUnlink: true };

/** An echo server on a TCP port or a UNIX socket path; close() stops it and its sockets. */
async function echoServer(
  address: { port: 0 } | { path: string },
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) =>
    "path" in address ? server.listen(address.path, r) : server.listen(0, "127.0.0.1", r)
  );
  // The server's user (not root) must be able to connect to a socket we made.
  if ("path" in address) await chmod(address.path, 0o777);
  const a = server.address();
  return {
    port: typeof a === "object" && a ? a.port : 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Sends `total` pseudo-random bytes through a socket and checks they come back. */
async function roundTrip(connectTo: net.NetConnectOpts, total: number): Promise<void> {
  const sock = net.connect({ ...connectTo, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const sent = createHash("sha256");
  const got = createHash("sha256");
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => {
      got.update(b);
      received += b.length;
    });
    sock.on("end", () => resolve());
    sock.on("error", reject);
  });
  const chunk = new Uint8Array(256 * 1024);
  let s = 12345;
  for (let off = 0; off < total; off += chunk.length) {
    for (let i = 0; i < chunk.length; i += 4) {
      s = (s * 1103515245 + 12345) >>> 0;
      chunk[i] = s >>> 24;
    }
    const copy = chunk.slice(0, Math.min(chunk.length, total - off));
    sent.update(copy);
    if (!sock.write(copy)) await new Promise((r) => sock.once("drain", r));
  }
  sock.end();
  await done;
  sock.destroy();
  assert.equal(received, total);
  assert.equal(got.digest("hex"), sent.digest("hex"));
}

/** A scratch directory the server's user can use, with its path as the server sees it. */
async function scratch(
  peer: PeerName,
): Promise<{ host: string; server: string; remove: () => Promise<void> }> {
  let host: string;
  let server: string;
  if (peer === "openssh-trixie") {
    const name = `sshts-fwd-${process.pid}-${Math.random().toString(36).slice(2)}`;
    host = join(trixieTreePath(), "tmp", name);
    server = `/tmp/${name}`;
    await mkdir(host);
  } else {
    host = server = await mkdtemp("/tmp/sshts-fwd-");
  }
  await chmod(host, 0o777);
  return { host, server, remove: () => rm(host, { recursive: true, force: true }) };
}

for (const peer of OPENSSH_PEERS) {
  conformanceTest(
    `forwardLocalPort() through ${peer} carries 64 MiB each way to an echo server`,
    { peers: [peer] },
    async () => {
      const echo = await echoServer({ port: 0 });
      try {
        await using conn = await login(await sharedPeer(peer, OPTIONS), {
          encryptionAlgs: [fastCipher()],
        });
        await using l = await conn.forwardLocalPort({
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: echo.port,
        });
        assert.ok(l.port > 0, "port 0 gives the bound port");
        assert.equal(l.host, "127.0.0.1");
        await roundTrip({ host: "127.0.0.1", port: l.port }, BULK);
        // A second, small connection on the same listener.
        await roundTrip({ host: "127.0.0.1", port: l.port }, 1000);
      } finally {
        await echo.close();
      }
    },
  );

  conformanceTest(
    `forwardRemotePort() on ${peer} carries 64 MiB each way back to an echo server`,
    { peers: [peer] },
    async () => {
      const echo = await echoServer({ port: 0 });
      try {
        await using conn = await login(await sharedPeer(peer, OPTIONS), {
          encryptionAlgs: [fastCipher()],
        });
        const l = await conn.forwardRemotePort({
          listenHost: "127.0.0.1",
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: echo.port,
        });
        assert.ok(l.port > 0, "the server reports the port it chose");
        await roundTrip({ host: "127.0.0.1", port: l.port }, BULK);
        // Cancelled: the server stops listening.
        await l.close();
        await assert.rejects(roundTrip({ host: "127.0.0.1", port: l.port }, 10));
      } finally {
        await echo.close();
      }
    },
  );

  conformanceTest(
    `forwardRemotePort() on ${peer} passes a half-close through to the local side`,
    { peers: [peer] },
    async () => {
      // A local service that answers only after its client's EOF, at length: the count,
      // then 4 MiB (a half-closed socket must keep carrying data the other way).
      const counter = net.createServer({ allowHalfOpen: true }, (s) => {
        let n = 0;
        s.on("data", (b: Uint8Array) => (n += b.length));
        s.on("end", () => {
          s.write(`${n}:`);
          s.end(new Uint8Array(4 * 1024 * 1024).fill(120));
        });
        s.on("error", () => {});
      });
      await new Promise<void>((r) => counter.listen(0, "127.0.0.1", r));
      try {
        await using conn = await login(await sharedPeer(peer, OPTIONS));
        await using l = await conn.forwardRemotePort({
          listenHost: "127.0.0.1",
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: (counter.address() as net.AddressInfo).port,
        });
        // The server's client: a direct-tcpip channel from the server to its own forward.
        const c = await conn.openConnection("127.0.0.1", l.port);
        const w = c.writable.getWriter();
        await w.write(new Uint8Array(1024 * 1024));
        await w.close();
        const reply = await new Response(c.readable).text();
        assert.equal(reply.length, 8 + 4 * 1024 * 1024);
        assert.ok(reply.startsWith(`${1024 * 1024}:xxx`));
      } finally {
        await new Promise((r) => counter.close(r));
      }
    },
  );

  conformanceTest(
    `openConnection() and startServer() on ${peer} give streams both ways`,
    { peers: [peer] },
    async () => {
      const echo = await echoServer({ port: 0 });
      try {
        await using conn = await login(await sharedPeer(peer, OPTIONS));
        // Direct: the server connects to our echo server.
        const c = await conn.openConnection("127.0.0.1", echo.port);
        const w = c.writable.getWriter();
        await w.write(new TextEncoder().encode("ping"));
        await w.close();
        assert.equal(await new Response(c.readable).text(), "ping");
        await c.closed;
        // Refused: nothing listens there.
        const dead = await echoServer({ port: 0 });
        await dead.close();
        await assert.rejects(conn.openConnection("127.0.0.1", dead.port), (e: unknown) => {
          assert.ok(e instanceof ChannelOpenError);
          assert.equal(e.reason, 2, "connect failed");
          return true;
        });
        // startServer: connections to the server's port arrive as streams.
        const seen: string[] = [];
        const l = await conn.startServer(async (s) => {
          seen.push(`${s.info.originHost}`);
          const text = await new Response(s.readable).text();
          const out = s.writable.getWriter();
          await out.write(new TextEncoder().encode(text.toUpperCase()));
          await out.close();
        }, { listenHost: "127.0.0.1", listenPort: 0 });
        const sock = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true });
        sock.end("hello");
        let reply = "";
        for await (const b of sock) reply += b;
        assert.equal(reply, "HELLO");
        assert.deepEqual(seen, ["127.0.0.1"]);
        await l.close();
      } finally {
        await echo.close();
      }
    },
  );

  conformanceTest(
    `listenRemote() on ${peer}: forwarded connections accepted pull-style`,
    { peers: [peer] },
    async () => {
      await using conn = await login(await sharedPeer(peer, OPTIONS));
      await using l = await conn.listenRemote({ listenHost: "127.0.0.1", listenPort: 0 });
      assert.ok(l.port > 0);
      const replies = ["one", "two"].map(async (text) => {
        const sock = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true });
        sock.end(text);
        let reply = "";
        for await (const b of sock) reply += b;
        return reply;
      });
      let served = 0;
      for await (const s of l) {
        const text = await new Response(s.readable).text();
        const out = s.writable.getWriter();
        await out.write(new TextEncoder().encode(text.toUpperCase()));
        await out.close();
        if (++served === 2) break;
      }
      assert.deepEqual((await Promise.all(replies)).sort(), ["ONE", "TWO"]);
      // A wait for a third stops at its deadline.
      await assert.rejects(
        l.accept({ signal: AbortSignal.timeout(50) }),
        /TimeoutError|timed out/i,
      );
    },
  );

  conformanceTest(
    `forwardLocalPath() and forwardRemotePath() on ${peer} carry UNIX socket connections`,
    { peers: [peer] },
    async () => {
      const dir = await scratch(peer);
      const local = await mkdtemp("/tmp/sshts-local-");
      const echoPath = join(dir.host, "echo.sock");
      const echo = await echoServer({ path: echoPath });
      try {
        await using conn = await login(await sharedPeer(peer, OPTIONS));
        // Local socket → server's socket path (which is our echo server).
        const listenPath = join(local, "fwd.sock");
        await using l = await conn.forwardLocalPath({
          listenPath,
          destPath: `${dir.server}/echo.sock`,
        });
        assert.equal(l.path, listenPath);
        await roundTrip({ path: listenPath }, 4 * 1024 * 1024);
        // Server's socket path → our echo server.
        await using r = await conn.forwardRemotePath({
          listenPath: `${dir.server}/remote.sock`,
          destPath: echoPath,
        });
        await roundTrip({ path: join(dir.host, "remote.sock") }, 4 * 1024 * 1024);
        // A UNIX socket on the server, opened directly.
        const c = await conn.openUnixConnection(`${dir.server}/echo.sock`);
        const w = c.writable.getWriter();
        await w.write(new TextEncoder().encode("unix"));
        await w.close();
        assert.equal(await new Response(c.readable).text(), "unix");
        await r.close();
      } finally {
        await echo.close();
        await dir.remove();
        await rm(local, { recursive: true, force: true });
      }
    },
  );

  conformanceTest(
    `listeners on ${peer} close with the connection`,
    { peers: [peer] },
    async () => {
      const echo = await echoServer({ port: 0 });
      try {
        const conn = await login(await sharedPeer(peer, OPTIONS));
        const l = await conn.forwardLocalPort({
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: echo.port,
        });
        const socks = await conn.forwardSocks({ listenPort: 0 });
        const r = await conn.forwardRemotePort({
          listenHost: "127.0.0.1",
          listenPort: 0,
          destHost: "127.0.0.1",
          destPort: echo.port,
        });
        await conn.close();
        await Promise.all([l.closed, socks.closed, r.closed]);
        await assert.rejects(roundTrip({ host: "127.0.0.1", port: l.port }, 10));
        await assert.rejects(roundTrip({ host: "127.0.0.1", port: socks.port }, 10));
        assert.ok(conn.closeError === undefined, "closed by us");
      } finally {
        await echo.close();
      }
    },
  );
}
