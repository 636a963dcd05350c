import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { socketFromNodeSocket } from "./node_socket.ts";

test("socketFromNodeSocket hands out chunks whose slice() is a copy that outlives the read", async () => {
  const payload = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
  const kept: Uint8Array[] = [];
  let notPlain = 0;
  const received = Promise.withResolvers<void>();
  const server = net.createServer((sock) => {
    const bs = socketFromNodeSocket(sock);
    let n = 0;
    bs.setHandlers({
      data: (chunk) => {
        if (Object.getPrototypeOf(chunk) !== Uint8Array.prototype) notPlain++;
        kept.push(chunk.slice()); // what SocketHandlers.data asks of handlers that keep bytes
        n += chunk.length;
        if (n === payload.length) received.resolve();
      },
      end: () => {},
      error: () => {},
      drain: () => {},
      close: () => {},
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, "127.0.0.1");
  client.end(payload);
  const timer = setTimeout(() => received.reject(new Error("not all bytes arrived")), 10_000);
  await received.promise;
  clearTimeout(timer);
  client.destroy();
  await new Promise<void>((r) => server.close(() => r()));
  const all = new Uint8Array(payload.length);
  let o = 0;
  for (const k of kept) {
    all.set(k, o);
    o += k.length;
  }
  assert.equal(notPlain, 0, "chunks are plain Uint8Arrays (a Buffer's slice() is a view)");
  assert.deepEqual(all, payload, "every byte kept, though the read buffers were freed");
});
