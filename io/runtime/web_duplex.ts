/**
 * The adapter for a caller-supplied Web Streams duplex (a WebSocket bridge, an
 * in-memory pair, an SSH channel for jump hosts): it turns the duplex into a
 * {@link ByteSocket} the engine driver can run over.
 *
 * @module
 */

import { Duplex } from "node:stream";
import type { ByteSocket, NodeDuplexLike, SocketHandlers, WebDuplex } from "./socket.ts";
import { SOCKET_WRITE_HIGH_WATER } from "../limits.ts";

/**
 * `s` as a {@link ByteSocket}: itself when it is one, a Node stream (a `net.Socket`, an
 * `ssh2` channel, any `stream.Duplex`: its `readable` and `writable` are booleans there, and
 * taken for a WebDuplex it failed with "getWriter is not a function") through
 * `Duplex.toWeb()`, else a WebDuplex adapted by {@link socketFromWebDuplex}.
 *
 * @example
 * ```ts
 * import { byteSocketOf } from "./web_duplex.ts";
 * const t = new TransformStream<Uint8Array, Uint8Array>();
 * const sock = byteSocketOf({ readable: t.readable, writable: t.writable });
 * console.log(typeof sock.setHandlers); // "function"
 * ```
 */
export function byteSocketOf(s: ByteSocket | WebDuplex | NodeDuplexLike): ByteSocket {
  if (typeof (s as ByteSocket).setHandlers === "function") return s as ByteSocket;
  if (typeof (s as NodeDuplexLike).pipe === "function") {
    return socketFromWebDuplex(Duplex.toWeb(s as Duplex) as unknown as WebDuplex);
  }
  return socketFromWebDuplex(s as WebDuplex);
}

/**
 * Adapts a Web Streams duplex to a {@link ByteSocket}. Half-close as TCP: the readable ending
 * is the peer's end (`end`), and `close` follows once our side has ended too (`end()`, or
 * an error, or `destroy()`); nothing is delivered after `close`.
 */
export function socketFromWebDuplex(duplex: WebDuplex): ByteSocket {
  const writer = duplex.writable.getWriter();
  const reader = duplex.readable.getReader();
  let handlers: SocketHandlers | undefined;
  let paused = false;
  let resumeReading: (() => void) | undefined;
  let closed = false;
  let readEnded = false;
  let writeEnded = false;
  let pendingWrites = 0;
  let buffered = 0;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers?.close();
    const r = resumeReading; // a read loop held by pause() ends
    resumeReading = undefined;
    r?.();
  };
  const fail = (e: unknown) => {
    if (closed) return;
    // A stream errored or cancelled without a reason says so, not "undefined".
    const why = e === undefined ? "the stream failed without a reason" : String(e);
    handlers?.error(e instanceof Error ? e : new Error(why, { cause: e }));
    reader.cancel().catch(() => {});
    finish();
  };
  const whilePaused = async () => {
    while (paused && !closed) await new Promise<void>((r) => (resumeReading = r));
  };
  const pumpReads = async () => {
    try {
      for (;;) {
        await whilePaused();
        if (closed) return;
        const { value, done } = await reader.read();
        // A pause() while the read waited holds its chunk too.
        await whilePaused();
        if (closed) return;
        if (done) break;
        if (value && value.length) handlers!.data(value);
      }
      readEnded = true;
      handlers!.end();
      if (writeEnded) finish();
    } catch (e) {
      fail(e);
    }
  };
  // Once only: a second writer.close() would reject and fail the socket.
  let ending: Promise<void> | undefined;
  const end = () => {
    if (closed || ending) return;
    ending = writer.close().then(() => {
      writeEnded = true;
      if (readEnded) finish();
    }, fail);
  };
  return {
    write(data) {
      if (closed || writeEnded) return false;
      buffered += data.length;
      pendingWrites++;
      writer.write(data).then(
        () => {
          buffered -= data.length;
          if ((--pendingWrites === 0 || buffered < SOCKET_WRITE_HIGH_WATER / 2) && !closed) {
            handlers?.drain();
          }
        },
        fail,
      );
      return buffered < SOCKET_WRITE_HIGH_WATER;
    },
    end,
    closeAfterFlush() {
      end();
      // Then the read side goes too (finish first: the cancelled read delivers nothing).
      void ending?.then(() => {
        if (closed) return;
        finish();
        reader.cancel().catch(() => {});
      });
    },
    destroy() {
      if (closed) return;
      finish(); // first: the cancelled read below delivers nothing
      writer.abort().catch(() => {});
      reader.cancel().catch(() => {});
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      const r = resumeReading;
      resumeReading = undefined;
      r?.();
    },
    setHandlers(h) {
      handlers = h;
      void pumpReads();
    },
  };
}
