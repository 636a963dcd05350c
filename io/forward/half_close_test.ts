/**
 * Half-closes through forwarding against our own server in the same process: the
 * destination answers only after it read EOF, so the answer travels while the
 * requesting side has already sent its FIN. Runs on every runtime's own socket
 * adapter (Bun.connect on Bun, Deno.connect on Deno, node:net on Node).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as net from "node:net";
import { readFileSync } from "node:fs";
import { generatePrivateKey } from "../../keys/generate.ts";
import { connect } from "../client/connect.ts";
import { listen } from "../server/listen.ts";
import { loopback } from "../server/_loopback_test_util.ts";
import type { ListenOptions } from "../server/options.ts";
import { forwardConnection } from "./forward_connection.ts";

const hostKey = generatePrivateKey("ed25519");
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A server that reads until EOF, then answers with what it read, reversed in order of bytes. */
async function answerAfterEof(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    const parts: Uint8Array[] = [];
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.on("data", (b: Uint8Array) => parts.push(new Uint8Array(b)));
    s.on("end", () => {
      // A little later, so the FIN has certainly travelled all the way first.
      setTimeout(() => s.end(concat(parts).reverse()), 20);
    });
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

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Writes `data` to 127.0.0.1:port, half-closes, returns everything read back. */
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
  return concat(parts);
}

const sizes = [5, 3 * 1024 * 1024 + 17];

async function withSetup(
  fn: (conn: Awaited<ReturnType<typeof connect>>, destPort: number) => Promise<void>,
): Promise<void> {
  const dest = await answerAfterEof();
  const server = await listen({
    port: 0,
    hostKeys: [hostKey],
    authFailureDelay: 0,
    validatePassword: () => true,
    connectionRequested: () => true,
    serverRequested: () => true,
  });
  try {
    await using conn = await connect("127.0.0.1", {
      port: server.address.port,
      username: "alice",
      password: "pw",
      knownHosts: null,
    });
    await fn(conn, dest.port);
  } finally {
    await server.close();
    await dest.close();
  }
}

test("forwardLocalPort() brings back the answer sent after the local side half-closed", async () => {
  await withSetup(async (conn, destPort) => {
    await using l = await conn.forwardLocalPort({
      listenPort: 0,
      destHost: "127.0.0.1",
      destPort,
    });
    for (const size of sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 131 + (i >> 9)) & 0xff);
      const back = await exchange(l.port, payload);
      assert.equal(back.length, size);
      assert.equal(sha(back), sha(payload.slice().reverse()));
    }
  });
});

test("openConnection() reads the answer sent after its writable closed", async () => {
  await withSetup(async (conn, destPort) => {
    for (const size of sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 11)) & 0xff);
      await using c = await conn.openConnection("127.0.0.1", destPort);
      const reading = new Response(c.readable).arrayBuffer();
      const w = c.writable.getWriter();
      await w.write(payload);
      await w.close();
      const back = new Uint8Array(await reading);
      assert.equal(back.length, size);
      assert.equal(sha(back), sha(payload.slice().reverse()));
    }
  });
});

test("forwardRemotePort() brings back the answer sent after the remote side half-closed", async () => {
  await withSetup(async (conn, destPort) => {
    const l = await conn.forwardRemotePort({
      listenHost: "127.0.0.1",
      listenPort: 0,
      destHost: "127.0.0.1",
      destPort,
    });
    for (const size of sizes) {
      const payload = new Uint8Array(size).map((_, i) => (i * 29 + (i >> 10)) & 0xff);
      const back = await exchange(l.port, payload);
      assert.equal(back.length, size);
      assert.equal(sha(back), sha(payload.slice().reverse()));
    }
    await l.close();
  });
});

/**
 * A destination that sends "bye", ends its side and goes on reading, reached through
 * `connectionRequested(port)`'s answer: every byte the client sends after the FIN arrives.
 */
async function destinationEndsFirst(
  connectionRequested: (port: number) => NonNullable<ListenOptions["connectionRequested"]>,
): Promise<void> {
  let got = 0;
  let destSawEof = false;
  const dest = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.end("bye\n"); // done talking, still reading
    s.on("data", (b: Uint8Array) => void (got += b.length));
    s.on("end", () => void (destSawEof = true));
  });
  await new Promise<void>((r) => dest.listen(0, "127.0.0.1", r));
  const port = (dest.address() as net.AddressInfo).port;
  try {
    await using t = await loopback({ connectionRequested: connectionRequested(port) });
    const c = await t.conn.openConnection("127.0.0.1", port);
    assert.equal(await new Response(c.readable).text(), "bye\n");
    const w = c.writable.getWriter();
    await w.write(new Uint8Array(100_000));
    await w.close();
    for (let i = 0; i < 200 && !destSawEof; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 100_000, "every byte sent after the destination's FIN arrived");
    assert.ok(destSawEof);
  } finally {
    dest.close();
  }
}

test("direct-tcpip: a destination that ends its side first still receives what the client sends after", async () => {
  await destinationEndsFirst(() => () => true);
});

test("forwardConnection(): a destination that ends its side first still receives what the client sends after", async () => {
  await destinationEndsFirst((port) => () => forwardConnection("127.0.0.1", port));
});

test("forwardLocalPort: a local client that resets while its channel opens leaves the process running", async () => {
  const echo = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  try {
    await using t = await loopback({ connectionRequested: () => true });
    const conn = t.conn;
    const l = await conn.forwardLocalPort({
      listenPort: 0,
      destHost: "127.0.0.1",
      destPort: (echo.address() as net.AddressInfo).port,
    });
    for (let i = 0; i < 5; i++) {
      const s = net.connect({ host: "127.0.0.1", port: l.port });
      s.on("error", () => {});
      await new Promise<void>((r) => s.on("connect", () => r()));
      s.resetAndDestroy();
    }
    await new Promise((r) => setTimeout(r, 200));
    // The forward still works (an unhandled 'error' would have ended the test process).
    const s = net.connect({ host: "127.0.0.1", port: l.port });
    const back = await new Promise<string>((resolve, reject) => {
      s.on("error", reject);
      s.on("data", (b) => resolve(String(b)));
      s.write("ping");
    });
    s.destroy();
    assert.equal(back, "ping");
  } finally {
    echo.close();
  }
});

/**
 * This process's TCP socket from 127.0.0.1:`localPort` to 127.0.0.1:`remotePort` in
 * /proc/net/tcp: its state (hex) and inode, 0 once no descriptor holds it (an orphan).
 */
function procTcp(localPort: number, remotePort: number): { state: string; inode: string } | null {
  const hex = (port: number) => "0100007F:" + port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === hex(localPort) && f[2] === hex(remotePort)) return { state: f[3]!, inode: f[9]! };
  }
  return null;
}

test("direct-tcpip: the server lets go of a destination socket that never closes once the channel closed", async () => {
  let destSide: net.Socket | undefined;
  let destSawEof = false;
  const dest = net.createServer({ allowHalfOpen: true }, (s) => {
    destSide = s;
    s.on("error", () => {});
    s.on("data", () => {});
    s.on("end", () => void (destSawEof = true)); // and never ends its own side
  });
  await new Promise<void>((r) => dest.listen(0, "127.0.0.1", r));
  const destPort = (dest.address() as net.AddressInfo).port;
  try {
    await using t = await loopback({ connectionRequested: () => true });
    const c = await t.conn.openConnection("127.0.0.1", destPort);
    const w = c.writable.getWriter();
    await w.write(new TextEncoder().encode("hello"));
    await w.close();
    for (let i = 0; i < 200 && !destSawEof; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(destSawEof, "the destination read our EOF");
    // The server's side of the destination connection: open, held by a descriptor.
    const serverPort = destSide!.remotePort!;
    assert.notEqual(procTcp(serverPort, destPort)?.inode ?? "0", "0");
    await c.close();
    let entry = procTcp(serverPort, destPort);
    for (let i = 0; i < 300 && entry && entry.inode !== "0"; i++) {
      await new Promise((r) => setTimeout(r, 10));
      entry = procTcp(serverPort, destPort);
    }
    assert.ok(
      !entry || entry.inode === "0",
      `the server still holds its socket to the destination (state ${entry?.state})`,
    );
  } finally {
    destSide?.destroy();
    dest.close();
  }
});
