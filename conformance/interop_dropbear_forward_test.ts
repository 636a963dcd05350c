/**
 * TCP forwarding with Dropbear (2022.83), both ways: our client's local and
 * remote forwarding and direct-tcpip through the Dropbear fixture server, and
 * Dropbear's `dbclient -L` / `-R` through our `listen()`. Each forward carries
 * data to a local echo server and back, hash-checked (16 MiB each way on Node,
 * 1 MiB on Deno and Bun).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import process from "node:process";
import { sharedPeer } from "./_shared_peer.ts";
import { login } from "./client_peer.ts";
import { conformanceTest, freePort, TEST_PASSWORD, TEST_USER } from "./fixtures/mod.ts";
import { echoServer, fullInterop, interopServer, scratchDir } from "./interop_peers.ts";
import { LiveProcess } from "./server_fixture.ts";

const SIZE = (fullInterop() ? 16 : 1) * 1024 * 1024;

/**
 * Sends `total` pseudo-random bytes through a TCP connection, half-closes right after
 * the data, and checks they all come back.
 */
async function roundTrip(port: number, total: number): Promise<void> {
  const sock = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await new Promise<void>((resolve, reject) => {
    sock.once("connect", resolve);
    sock.once("error", reject);
  });
  const sent = createHash("sha256"), got = createHash("sha256");
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => {
      got.update(b);
      received += b.length;
    });
    sock.on("end", () => resolve());
    sock.on("error", reject);
  });
  const chunk = new Uint8Array(64 * 1024);
  let s = 4253;
  for (let off = 0; off < total; off += chunk.length) {
    for (let i = 0; i < chunk.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      chunk[i] = s >>> 24;
    }
    const part = chunk.slice(0, Math.min(chunk.length, total - off));
    sent.update(part);
    if (!sock.write(part)) await new Promise((r) => sock.once("drain", r));
  }
  sock.end();
  await done;
  sock.destroy();
  assert.equal(received, total);
  assert.equal(got.digest("hex"), sent.digest("hex"));
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port`. */
async function listening(port: number, what: LiveProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}\n${what.stderr}`);
}

conformanceTest(
  "forwardLocalPort(), forwardRemotePort() and openConnection() through Dropbear",
  { peers: ["dropbear"] },
  async () => {
    const echo = await echoServer();
    try {
      await using conn = await login(await sharedPeer("dropbear"));
      await using local = await conn.forwardLocalPort({
        listenPort: 0,
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      await roundTrip(local.port, SIZE);

      const remote = await conn.forwardRemotePort({
        listenHost: "127.0.0.1",
        listenPort: await freePort(),
        destHost: "127.0.0.1",
        destPort: echo.port,
      });
      await roundTrip(remote.port, SIZE);
      await remote.close();
      await assert.rejects(roundTrip(remote.port, 10));

      await using c = await conn.openConnection("127.0.0.1", echo.port);
      const w = c.writable.getWriter();
      await w.write(new TextEncoder().encode("direct\n"));
      await w.close();
      assert.equal(await new Response(c.readable).text(), "direct\n");
    } finally {
      await echo.close();
    }
  },
);

/** dbclient forwarding through `port` with password login; runs until killed. */
function dbclientForward(port: number, forward: string[]): LiveProcess {
  return new LiveProcess(
    ["dbclient", "-y", "-y", "-N", "-p", String(port), ...forward, `${TEST_USER}@127.0.0.1`],
    { HOME: scratchDir(), DROPBEAR_PASSWORD: TEST_PASSWORD, PATH: process.env.PATH ?? "" },
  );
}

conformanceTest(
  "Dropbear's dbclient -L and -R forward through listen()",
  { peers: ["dropbear"] },
  async () => {
    const echo = await echoServer();
    try {
      await using server = await interopServer({ serverRequested: () => true });
      {
        const lport = await freePort();
        await using db = dbclientForward(server.port, [
          "-L",
          `127.0.0.1:${lport}:127.0.0.1:${echo.port}`,
        ]);
        await listening(lport, db);
        await roundTrip(lport, SIZE);
      }
      {
        const rport = await freePort();
        await using db = dbclientForward(server.port, [
          "-R",
          `127.0.0.1:${rport}:127.0.0.1:${echo.port}`,
        ]);
        // Our server listens on rport for dbclient's tcpip-forward request.
        await listening(rport, db);
        await roundTrip(rport, SIZE);
      }
    } finally {
      await echo.close();
    }
  },
);
