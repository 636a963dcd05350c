import { test } from "node:test";
import assert from "node:assert/strict";
import { type DenoListen, listenDeno } from "./tcp_server.ts";

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
