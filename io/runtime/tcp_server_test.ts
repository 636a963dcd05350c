import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { connectBunSocket } from "./bun_socket.ts";
import { currentRuntime } from "./env.ts";
import type { ByteSocket } from "./socket.ts";
import { type DenoListen, listenDeno, listenTcp } from "./tcp_server.ts";

/** A connection as Deno.listen yields it, recording whether it was closed. */
function fakeConn() {
  return {
    closed: false,
    close() {
      this.closed = true;
    },
    setNoDelay() {},
    read: () => new Promise<number | null>(() => {}),
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    localAddr: { hostname: "127.0.0.1", port: 22 },
    remoteAddr: { hostname: "127.0.0.1", port: 40000 },
  };
}

test("Deno's accept loop closes a connection Deno hands over after close(), unserved", async () => {
  const conn = fakeConn();
  let release!: () => void;
  const accepted = new Promise<void>((r) => (release = r));
  let listenerClosed = false;
  const deno: DenoListen = {
    listen: () => ({
      addr: { port: 2222 },
      close() {
        listenerClosed = true;
      },
      [Symbol.asyncIterator]() {
        let given = false;
        return {
          // An accept Deno finished already: it arrives after close() was called.
          next: async () => {
            await accepted;
            if (given) return { done: true as const, value: undefined };
            given = true;
            return { done: false as const, value: conn };
          },
        };
      },
    }),
  };
  const served: unknown[] = [];
  const server = listenDeno(
    deno,
    { host: "127.0.0.1", port: 0 },
    (s) => served.push(s),
    () => {},
  );
  assert.equal(server.port, 2222);
  const closing = server.close();
  assert.ok(listenerClosed, "close() closes the listener at once");
  release();
  await closing;
  assert.deepEqual(served, [], "nothing is handed over after close()");
  assert.ok(conn.closed, "the late connection is closed");
});

test("Deno's accept loop reports a failed accept and goes on accepting", async () => {
  const conn = fakeConn();
  let calls = 0;
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const deno: DenoListen = {
    listen: () => ({
      addr: { port: 2222 },
      close() {},
      [Symbol.asyncIterator]() {
        return {
          next: async () => {
            calls++;
            if (calls === 1) throw new Error("Too many open files (os error 24)");
            if (calls === 2) return { done: false as const, value: conn };
            await stopped;
            return { done: true as const, value: undefined };
          },
        };
      },
    }),
  };
  const errors: string[] = [];
  const served: unknown[] = [];
  const server = listenDeno(
    deno,
    { host: "127.0.0.1", port: 0 },
    (s) => served.push(s),
    (e) => errors.push(e.message),
  );
  const until = Date.now() + 5000;
  while (served.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(errors, ["Too many open files (os error 24)"]);
  assert.equal(served.length, 1, "the accept after the failed one is served");
  stop();
  await server.close();
});

test(
  "on Bun, listenTcp accepts with Bun.listen, and close() waits for the connections it accepted",
  { skip: currentRuntime() === "bun" ? false : "Bun only" },
  async () => {
    const sockets: ByteSocket[] = [];
    const server = await listenTcp({ host: "127.0.0.1", port: 0 }, (s) => sockets.push(s));
    const client = await connectBunSocket("127.0.0.1", server.port);
    for (let i = 0; i < 50 && sockets.length === 0; i++) await sleep(10);
    assert.equal(sockets.length, 1);
    // The adapter Bun.connect's sockets have, not node:net's.
    assert.equal(sockets[0]!.constructor.name, "BunByteSocket");
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await sleep(50);
    assert.equal(closed, false, "an accepted connection is still open");
    sockets[0]!.destroy();
    await closing;
    client.destroy();
    // A new connection is refused once closed.
    await assert.rejects(connectBunSocket("127.0.0.1", server.port));
  },
);

test(
  "on Bun, a server connection's destroy() ends with a FIN, after what was written, as node:net's does",
  { skip: currentRuntime() === "bun" ? false : "Bun only" },
  async () => {
    const server = await listenTcp({ host: "127.0.0.1", port: 0 }, (s) => {
      s.setHandlers({ data() {}, end() {}, error() {}, drain() {}, close() {} });
      s.write(new Uint8Array(100).fill(65));
      s.destroy();
    });
    const result = await new Promise<string>((resolve) => {
      const c = net.connect({ port: server.port, host: "127.0.0.1" });
      let n = 0;
      let error = "";
      c.on("data", (d: Uint8Array) => (n += d.length));
      c.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? "error"));
      c.on("close", () => resolve(`${n} bytes, ${error || "FIN"}`));
    });
    assert.equal(result, "100 bytes, FIN", "not a reset");
    await server.close();
  },
);
