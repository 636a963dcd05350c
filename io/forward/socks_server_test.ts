/**
 * The SOCKS listener (`forwardSocks`) against our own server in the same process:
 * host names that must not reach the server (a NUL, control characters, bad UTF-8)
 * get a failure reply and open no channel, and a client that half-closes before
 * its request is complete is closed at once rather than held for the handshake
 * timeout. The real-peer versions are in conformance/client_socks_test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { loopback } from "../server/_loopback_test_util.ts";

const enc = (s: string) => [...new TextEncoder().encode(s)];

/** A guard against a hang (no timing assertion): rejects after `ms`. */
function guard<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: still waiting after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** An echo server that answers after EOF (so half-closes can be checked). */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    const parts: number[] = [];
    s.on("data", (b: Uint8Array) => parts.push(...b));
    s.on("end", () => s.end(new Uint8Array(parts)));
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

/**
 * Sends `bytes` to the SOCKS listener (half-closing after them with `fin`) and returns
 * everything read until the listener ends the connection.
 */
function talk(port: number, bytes: number[], fin = false): Promise<number[]> {
  const sock = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  const out: number[] = [];
  const done = new Promise<number[]>((resolve, reject) => {
    sock.on("data", (b: Uint8Array) => out.push(...b));
    sock.on("end", () => resolve(out));
    sock.on("close", () => resolve(out));
    sock.on("error", reject);
  });
  if (fin) sock.end(new Uint8Array(bytes));
  else sock.write(new Uint8Array(bytes));
  return guard(done, 10_000, "SOCKS exchange").finally(() => sock.destroy());
}

test("forwardSocks() answers a host name with a NUL, control character or bad UTF-8 with a failure and opens nothing", async () => {
  const echo = await echoServer();
  const asked: string[] = [];
  try {
    await using lo = await loopback({
      connectionRequested: (host, port) => {
        asked.push(`${host}:${port}`);
        return true;
      },
    });
    await using socks = await lo.conn.forwardSocks({ listenPort: 0 });
    const p = [echo.port >> 8, echo.port & 0xff];
    const socks5 = (name: number[]) => [5, 1, 0, 5, 1, 0, 3, name.length, ...name, ...p];
    const fail5 = [5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0];
    for (const name of [[...enc("127.0.0.1"), 0, 65], [...enc("127.0.0.1\n")], [0x31, 0x80]]) {
      assert.deepEqual(await talk(socks.port, socks5(name)), fail5, JSON.stringify(name));
    }
    const socks4a = (name: number[]) => [4, 1, ...p, 0, 0, 0, 1, ...enc("u"), 0, ...name, 0];
    for (const name of [[...enc("127.0.0.1\x01")], [0x31, 0xc3]]) {
      assert.deepEqual(
        await talk(socks.port, socks4a(name)),
        [0, 91, 0, 0, 0, 0, 0, 0],
        JSON.stringify(name),
      );
    }
    assert.deepEqual(asked, [], "the server was never asked");
    // The SSH connection and the listener still work.
    const ok = await talk(socks.port, [...socks5(enc("127.0.0.1")), ...enc("ping")], true);
    assert.deepEqual(ok, [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...enc("ping")]);
    assert.deepEqual(asked, [`127.0.0.1:${echo.port}`]);
  } finally {
    await echo.close();
  }
});

test("forwardSocks() closes a client that half-closes before its request is complete", async () => {
  await using lo = await loopback({ connectionRequested: () => true });
  await using socks = await lo.conn.forwardSocks({ listenPort: 0 });
  // SOCKS_HANDSHAKE_TIMEOUT_MS is 30 s: the guard fails a listener that waits for it.
  const partial = [[5, 1, 0, 5, 1], [5], [4, 1, 0, 80, 127, 0, 0, 1, ...enc("us")], []];
  for (const bytes of partial) {
    assert.deepEqual(
      (await talk(socks.port, bytes, true)).slice(2),
      [],
      `nothing but a method choice for ${JSON.stringify(bytes)}`,
    );
  }
});

test("forwardSocks() still forwards a half-close sent with the request and data", async () => {
  const echo = await echoServer();
  try {
    await using lo = await loopback({ connectionRequested: () => true });
    await using socks = await lo.conn.forwardSocks({ listenPort: 0 });
    const p = [echo.port >> 8, echo.port & 0xff];
    const v4 = await talk(socks.port, [4, 1, ...p, 127, 0, 0, 1, 0, ...enc("hi")], true);
    assert.deepEqual(v4, [0, 90, 0, 0, 0, 0, 0, 0, ...enc("hi")]);
    // The greeting alone first, then the request, data and FIN together.
    const sock = net.connect({ host: "127.0.0.1", port: socks.port, allowHalfOpen: true });
    const out: number[] = [];
    const done = new Promise<void>((resolve, reject) => {
      sock.on("data", (b: Uint8Array) => {
        out.push(...b);
        if (out.length === 2) sock.end(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, ...p, 33]));
      });
      sock.on("end", () => resolve());
      sock.on("error", reject);
    });
    sock.write(new Uint8Array([5, 1, 0]));
    await guard(done, 10_000, "SOCKS 5 half-close").finally(() => sock.destroy());
    assert.deepEqual(out, [5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0, 33]);
  } finally {
    await echo.close();
  }
});
