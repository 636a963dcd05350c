/**
 * A bridge whose local socket is gone while its channel still delivers data settles once the
 * channel closes: a write to a closed socket says neither drain nor close again, and waiting
 * for one held the bridge for as long as the connection lasted (the server's remote-forward
 * listeners keep each forwarded socket until its bridge settles).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import type { ChannelIO } from "../engine/channel.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import { bridgeByteSocket, bridgeSocket } from "./bridge.ts";

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

/**
 * A channel whose data the test pushes, and whose close waits for `flush()` (as a real one
 * waits for its window before what was written is out).
 */
function fakeChannel() {
  let rc!: ReadableStreamDefaultController<Uint8Array>;
  const readable = new ReadableStream<Uint8Array>({ start: (c) => void (rc = c) });
  let closed = false;
  let resolveClosed!: () => void;
  const closedPromise = new Promise<void>((r) => (resolveClosed = r));
  let flush!: () => void;
  const flushedOnce = new Promise<void>((r) => (flush = r));
  const ch = {
    readable: () => readable,
    write: () => Promise.resolve(),
    sendEof() {},
    flushed: () => flushedOnce,
    close() {
      if (closed) return;
      closed = true;
      try {
        rc.close();
      } catch { /* closed */ }
      resolveClosed();
    },
    closedPromise,
    abortReason: undefined as Error | undefined,
  };
  /** The connection died under the channel (what ChannelTable.failAll does to each). */
  const abort = (reason: Error) => {
    if (closed) return;
    closed = true;
    ch.abortReason = reason;
    try {
      rc.error(reason);
    } catch { /* closed */ }
    resolveClosed();
  };
  return { ch: ch as unknown as ChannelIO, push: (b: Uint8Array) => rc.enqueue(b), flush, abort };
}

/** A connected pair on loopback: [the side bridged, its peer]. */
async function socketPair(): Promise<[net.Socket, net.Socket, () => Promise<void>]> {
  let accepted!: (s: net.Socket) => void;
  const got = new Promise<net.Socket>((r) => (accepted = r));
  const srv = net.createServer({ allowHalfOpen: true }, (s) => accepted(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const peer = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  peer.on("error", () => {});
  const ours = await got;
  ours.on("error", () => {});
  return [ours, peer, () => new Promise((r) => srv.close(() => r()))];
}

for (const kind of ["bridgeSocket", "bridgeByteSocket"] as const) {
  test(`${kind} settles when channel data comes after its socket closed`, async () => {
    const [ours, peer, stop] = await socketPair();
    try {
      const { ch, push, flush } = fakeChannel();
      const bridged = kind === "bridgeSocket"
        ? bridgeSocket(ours, ch)
        : bridgeByteSocket(socketFromNodeSocket(ours), ch);
      const closed = new Promise((r) => ours.once("close", r));
      ours.destroy();
      await closed;
      await new Promise((r) => setTimeout(r, 10));
      // Data the peer sent before the channel's close went out.
      push(new Uint8Array(1024));
      await new Promise((r) => setTimeout(r, 10));
      flush();
      await guard(bridged, 3000, `${kind} after its socket closed`);
      assert.ok(ours.destroyed);
    } finally {
      peer.destroy();
      await stop();
    }
  });
}

for (const kind of ["bridgeSocket", "bridgeByteSocket"] as const) {
  test(`${kind}: a connection that dies drops a socket whose peer reads nothing, at once`, async () => {
    const [ours, peer, stop] = await socketPair();
    try {
      peer.pause(); // a destination that stops reading: what we write stays buffered
      const { ch, push, abort } = fakeChannel();
      const bridged = kind === "bridgeSocket"
        ? bridgeSocket(ours, ch)
        : bridgeByteSocket(socketFromNodeSocket(ours), ch);
      const closed = new Promise((r) => ours.once("close", r));
      for (let i = 0; i < 256; i++) push(new Uint8Array(64 * 1024)); // 16 MiB: past every buffer
      await new Promise((r) => setTimeout(r, 50));
      abort(new Error("Connection closed"));
      // Ended after a flush, it would wait for a peer that never reads (the descriptor and
      // its megabytes kept past the connection's end).
      await guard(closed, 3000, `${kind}'s socket after the connection died`);
      await guard(bridged, 3000, `${kind} after the connection died`);
      assert.ok(ours.destroyed);
    } finally {
      peer.destroy();
      await stop();
    }
  });
}
