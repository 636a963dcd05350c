/**
 * The socket adapters keep the ByteSocket contract on every runtime (openTcpSocket picks
 * node:net on Node, Deno.connect on Deno, Bun.connect on Bun): what happens before the
 * handlers are set is kept, a reset is an error, a FIN after our own half-close is an end,
 * pause() holds a read already waiting, write() reports backpressure for all it holds,
 * and an abort during the connect rejects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { openTcpSocket } from "./tcp.ts";
import type { ByteSocket, SocketHandlers } from "./socket.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A one-connection TCP server on 127.0.0.1 that runs `onConn` for its peer. */
async function server(onConn: (s: net.Socket) => void) {
  const peers = new Set<net.Socket>();
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    peers.add(s);
    s.on("error", () => {});
    onConn(s);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as net.AddressInfo).port,
    [Symbol.asyncDispose]: () => {
      for (const p of peers) p.destroy(); // a paused peer would hold close() forever
      return new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Handlers that log each event ("data:<n>", "end", "error:<code>", "drain", "close"). */
function recorder(events: string[], onData?: (n: number) => void): SocketHandlers {
  return {
    data: (c) => {
      events.push(`data:${c.length}`);
      onData?.(c.length);
    },
    end: () => void events.push("end"),
    error: (e) => void events.push(`error:${(e as { code?: string }).code ?? e.message}`),
    drain: () => {},
    close: () => void events.push("close"),
  };
}

async function until(f: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !f(); i++) await sleep(10);
  assert.ok(f(), `timed out waiting for ${what}`);
}

test("data and the peer's end that come before setHandlers are delivered, in order", async () => {
  await using srv = await server((s) => s.end("SSH-2.0-x\r\nab"));
  const sock = await openTcpSocket("127.0.0.1", srv.port);
  await sleep(100); // an await between the connect and the handlers
  const events: string[] = [];
  sock.setHandlers(recorder(events));
  await until(() => events.includes("end"), "end");
  assert.deepEqual(events.slice(0, 2), ["data:13", "end"]);
  sock.destroy();
});

test("a reset before setHandlers is an error then a close, and the process lives", async () => {
  await using srv = await server((s) => setTimeout(() => s.resetAndDestroy(), 20));
  const sock = await openTcpSocket("127.0.0.1", srv.port);
  await sleep(150);
  const events: string[] = [];
  sock.setHandlers(recorder(events));
  await until(() => events.includes("close"), "close");
  assert.deepEqual(events, ["error:ECONNRESET", "close"]);
});

test("a reset while connected is reported as an error, not as a clean close", async () => {
  let peer!: net.Socket;
  await using srv = await server((s) => (peer = s));
  const sock = await openTcpSocket("127.0.0.1", srv.port);
  const events: string[] = [];
  sock.setHandlers(recorder(events));
  await until(() => peer !== undefined, "the peer");
  peer.write("hello");
  await until(() => events.length > 0, "data");
  peer.resetAndDestroy();
  await until(() => events.includes("close"), "close");
  assert.deepEqual(events, ["data:5", "error:ECONNRESET", "close"]);
});

test("the peer's FIN after our own half-close is an end, then the close", async () => {
  let got = 0;
  await using srv = await server((s) => {
    s.on("data", (d) => (got += d.length));
    s.on("end", () => s.end(new Uint8Array(100_000))); // answers after our FIN, then ends
  });
  const sock = await openTcpSocket("127.0.0.1", srv.port);
  const events: string[] = [];
  let received = 0;
  sock.setHandlers(recorder(events, (n) => (received += n)));
  sock.write(new Uint8Array(10));
  sock.end();
  await until(() => events.includes("close"), "close");
  assert.equal(got, 10);
  assert.equal(received, 100_000, "the answer after our FIN arrived");
  assert.deepEqual(events.filter((e) => !e.startsWith("data")), ["end", "close"]);
});

test("pause() holds a read that was already waiting; resume() delivers it", async () => {
  let peer!: net.Socket;
  await using srv = await server((s) => (peer = s));
  const sock = await openTcpSocket("127.0.0.1", srv.port);
  const events: string[] = [];
  sock.setHandlers(recorder(events));
  await until(() => peer !== undefined, "the peer");
  await sleep(20); // the adapter is waiting in a read now
  sock.pause();
  peer.write(new Uint8Array(1000));
  await sleep(150);
  assert.equal(events.length, 0, `nothing delivered while paused: ${events}`);
  sock.resume();
  await until(() => events.length > 0, "data after resume");
  assert.match(events[0]!, /^data:/);
  sock.destroy();
});

test("write() says the socket is full once it holds more than its mark, one big write included", async () => {
  await using srv = await server((s) => s.pause()); // reads nothing
  const sock: ByteSocket = await openTcpSocket("127.0.0.1", srv.port);
  sock.setHandlers(recorder([]));
  assert.equal(sock.write(new Uint8Array(24 << 20)), false, "24 MiB at once is over any mark");
  assert.equal(sock.write(new Uint8Array(64 << 10)), false, "and stays full");
  sock.destroy();
});

test("an abort while connecting rejects with its reason; no socket is handed out", async () => {
  await using srv = await server(() => {});
  for (let i = 0; i < 5; i++) {
    const ac = new AbortController();
    const why = new Error("aborted by caller");
    const p = openTcpSocket("127.0.0.1", srv.port, ac.signal);
    ac.abort(why);
    await assert.rejects(p, (e) => e === why);
  }
});
