/**
 * duplexFromSocket() (forwardConnection, forwardUnixConnection) after its socket closed: a
 * write fails instead of waiting for a drain a closed socket never sends (on Node a
 * connectionRequested hook's forwardConnection() whose destination closed held the server's
 * bridge, and so the client's channel, open for good).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { duplexFromSocket, forwardConnection } from "./forward_connection.ts";

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

/** A socket whose buffer is always full, and whose close the test calls. */
function fullSocket(): { sock: ByteSocket; handlers: () => SocketHandlers } {
  let h: SocketHandlers | undefined;
  const sock: ByteSocket = {
    write: () => false,
    end() {},
    destroy() {},
    pause() {},
    resume() {},
    setHandlers: (handlers) => void (h = handlers),
  };
  return { sock, handlers: () => h! };
}

test("a write waiting for a drain fails when the socket closes, and so do later ones", async () => {
  const { sock, handlers } = fullSocket();
  const d = duplexFromSocket(sock);
  const w = d.writable.getWriter();
  const waiting = w.write(new Uint8Array(10));
  await new Promise((r) => setTimeout(r, 10));
  handlers().close();
  await assert.rejects(guard(waiting, 3000, "the write waiting for a drain"), /socket is closed/);
});

test("a write after the socket closed fails", async () => {
  const { sock, handlers } = fullSocket();
  const d = duplexFromSocket(sock);
  handlers().close();
  const w = d.writable.getWriter();
  await assert.rejects(guard(w.write(new Uint8Array(10)), 3000, "a write after close"), /closed/);
});

test("forwardConnection(): writes fail once the destination closed", async () => {
  const srv = net.createServer((s) => {
    s.on("error", () => {});
    s.resume();
    s.end("bye", () => s.destroy());
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  try {
    const d = await forwardConnection("127.0.0.1", (srv.address() as net.AddressInfo).port);
    assert.equal(await new Response(d.readable).text(), "bye");
    const w = d.writable.getWriter();
    // A dead peer is found by writing to it: some writes may still be taken.
    const writeUntilRefused = async () => {
      for (let i = 0; i < 1000; i++) {
        await w.write(new Uint8Array(64 * 1024));
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    await assert.rejects(
      guard(writeUntilRefused(), 10_000, "writes to a closed destination"),
      (e) => !/still waiting/.test((e as Error).message),
    );
    d.close();
  } finally {
    await new Promise((r) => srv.close(r));
  }
});
