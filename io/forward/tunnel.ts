/**
 * Jump hosts: an SSH channel (direct-tcpip to the next host) as the
 * {@link ByteSocket} another SSH connection runs over. Chains nest: the
 * channel may itself belong to a tunnelled connection.
 *
 * @module
 */

import type { ChannelIO } from "../engine/channel.ts";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";
import { SOCKET_WRITE_HIGH_WATER } from "../limits.ts";

/**
 * Wraps an open channel as a byte socket: writes go into the channel (its
 * window is the backpressure), the channel's data comes out as `data`, EOF as
 * `end`, the channel's close as `close`.
 *
 * @example Run SSH over a channel of another connection
 * ```ts ignore
 * const ch = await jump.openChannel("direct-tcpip", encodeTcpipOpen("inner", 22, "127.0.0.1", 0));
 * const conn = await connect("inner", { sock: socketFromChannel(ch) });
 * ```
 */
export function socketFromChannel(ch: ChannelIO): ByteSocket {
  let handlers: SocketHandlers | undefined;
  let queued = 0;
  let full = false;
  let paused = false;
  let resumeReading: (() => void) | undefined;
  let closed = false;
  const finish = () => {
    if (closed) return;
    closed = true;
    handlers?.close();
  };
  const readLoop = async () => {
    const reader = ch.readable(0).getReader();
    try {
      for (;;) {
        if (paused) await new Promise<void>((r) => (resumeReading = r));
        const { value, done } = await reader.read();
        if (done) break;
        handlers!.data(value);
      }
      handlers!.end();
    } catch (e) {
      handlers?.error(e instanceof Error ? e : new Error(String(e)));
    }
    await ch.closedPromise;
    finish();
  };
  return {
    write(data) {
      if (closed || ch.closed) return false;
      queued += data.length;
      ch.write(data).then(
        () => {
          queued -= data.length;
          if (full && queued < SOCKET_WRITE_HIGH_WATER / 2) {
            full = false;
            handlers?.drain();
          }
        },
        (e: unknown) => {
          handlers?.error(e instanceof Error ? e : new Error(String(e)));
          ch.close();
        },
      );
      if (queued >= SOCKET_WRITE_HIGH_WATER) full = true;
      return !full;
    },
    end() {
      ch.sendEof();
      // The inner connection is done with the tunnel: close it once our bytes are out.
      void ch.flushed().then(() => ch.close());
    },
    destroy() {
      ch.close();
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
      void readLoop();
    },
  };
}
