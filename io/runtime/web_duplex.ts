/**
 * The adapter for a caller-supplied Web Streams duplex (a WebSocket bridge, an
 * in-memory pair, an SSH channel for jump hosts): it turns the duplex into a
 * {@link ByteSocket} the engine driver can run over.
 *
 * @module
 */

import type { ByteSocket, SocketHandlers, WebDuplex } from "./socket.ts";
import { SOCKET_WRITE_HIGH_WATER } from "../limits.ts";

/** Adapts a Web Streams duplex to a {@link ByteSocket}. */
export function socketFromWebDuplex(duplex: WebDuplex): ByteSocket {
  const writer = duplex.writable.getWriter();
  const reader = duplex.readable.getReader();
  let handlers: SocketHandlers | undefined;
  let paused = false;
  let resumeReading: (() => void) | undefined;
  let closed = false;
  let pendingWrites = 0;
  let buffered = 0;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers?.close();
  };
  const pumpReads = async () => {
    try {
      for (;;) {
        if (paused) await new Promise<void>((r) => (resumeReading = r));
        const { value, done } = await reader.read();
        if (done) break;
        if (value && value.length) handlers!.data(value);
      }
      handlers!.end();
    } catch (e) {
      if (!closed) handlers!.error(e instanceof Error ? e : new Error(String(e)));
    }
    finish();
  };
  return {
    write(data) {
      if (closed) return false;
      buffered += data.length;
      pendingWrites++;
      writer.write(data).then(
        () => {
          buffered -= data.length;
          if (--pendingWrites === 0 || buffered < SOCKET_WRITE_HIGH_WATER / 2) handlers?.drain();
        },
        (e) => {
          if (!closed) handlers?.error(e instanceof Error ? e : new Error(String(e)));
          finish();
        },
      );
      return buffered < SOCKET_WRITE_HIGH_WATER;
    },
    end() {
      writer.close().catch(() => {});
    },
    destroy() {
      writer.abort().catch(() => {});
      reader.cancel().catch(() => {});
      finish();
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
