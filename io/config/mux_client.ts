/**
 * The client side of an OpenSSH ControlMaster socket: connects to the master's
 * UNIX socket, exchanges hellos, asks for proxy mode (`MUX_C_PROXY`) and hands
 * back a byte stream that carries SSH connection messages in proxy framing
 * (see `config/mux.ts` and `config/mux_engine.ts`).
 *
 * @module
 */

import * as net from "node:net";
import {
  decodeMuxMessage,
  encodeMuxHello,
  encodeMuxProxy,
  MAX_MUX_MESSAGE,
  MUX_PROTOCOL_VERSION,
  MuxFrameReader,
  MuxProtocolError,
} from "../../config/mux.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import type { ByteSocket, SocketHandlers } from "../runtime/socket.ts";

/** How long the master gets to answer the hello and the proxy request. */
export const MUX_HANDSHAKE_TIMEOUT_MS = 10_000;

function withLeftover(sock: ByteSocket, leftover: Uint8Array): ByteSocket {
  return {
    ...sock,
    write: (d) => sock.write(d),
    end: () => sock.end(),
    destroy: () => sock.destroy(),
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    setHandlers(h: SocketHandlers) {
      sock.setHandlers(h);
      // Bytes that arrived with the proxy reply come first; then the paused socket flows
      // (after the caller has finished wiring its handlers up).
      queueMicrotask(() => {
        if (leftover.length > 0) h.data(leftover);
        sock.resume();
      });
    },
  };
}

/**
 * Opens a proxy-mode stream to the master at `path`. Resolves to undefined
 * when no master is there, as ssh then connects by itself: no socket, a
 * connection refused (a stale socket), or a control connection that fails or
 * closes before the master's hello. Rejects when a master answers but
 * refuses or speaks an unknown protocol, or does not answer within
 * `timeoutMs` (default {@link MUX_HANDSHAKE_TIMEOUT_MS}).
 *
 * @example
 * ```ts ignore
 * const sock = await connectMuxProxy("/home/me/.ssh/cm-abc");
 * if (sock) { ... run a MuxProxyEngine over it ... }
 * ```
 */
export function connectMuxProxy(
  path: string,
  signal?: AbortSignal,
  timeoutMs: number = MUX_HANDSHAKE_TIMEOUT_MS,
): Promise<ByteSocket | undefined> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ path });
    const frames = new MuxFrameReader(MAX_MUX_MESSAGE);
    let state: "hello" | "proxy" | "done" = "hello";
    // Whether the master's hello has come: until then a failing control connection is no
    // master at all (ssh's mux client falls back to a connection of its own).
    let greeted = false;
    const timer = setTimeout(
      () =>
        fail(new MuxProtocolError(`The mux master at ${path} did not answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const noMaster = () => {
      if (state === "done") return;
      state = "done";
      cleanup();
      sock.destroy();
      resolve(undefined);
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      sock.removeAllListeners("data");
      sock.removeAllListeners("error");
      sock.removeAllListeners("close");
    };
    const fail = (e: Error) => {
      if (state === "done") return;
      state = "done";
      cleanup();
      sock.destroy();
      reject(e);
    };
    const onAbort = () =>
      fail(signal!.reason instanceof Error ? signal!.reason : new Error("Aborted"));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    sock.once("connect", () => sock.write(encodeMuxHello()));
    sock.on("error", (e: Error) => {
      if (!greeted) return noMaster();
      fail(e);
    });
    sock.on("close", () => {
      if (!greeted) return noMaster();
      fail(new MuxProtocolError("The mux master closed the control connection"));
    });
    sock.on("data", (chunk: Uint8Array) => {
      try {
        frames.push(chunk);
        for (let body; state !== "done" && (body = frames.next()) !== undefined;) {
          const m = decodeMuxMessage(body);
          if (state === "hello") {
            greeted = true;
            if (m.type !== "hello") {
              throw new MuxProtocolError(`Expected the master's hello, got ${m.type}`);
            }
            if (m.version !== MUX_PROTOCOL_VERSION) {
              throw new MuxProtocolError(
                `The mux master speaks version ${m.version}, not ${MUX_PROTOCOL_VERSION}`,
              );
            }
            state = "proxy";
            sock.write(encodeMuxProxy(1));
            continue;
          }
          if (m.type === "denied" || m.type === "failure") {
            throw new MuxProtocolError(`The mux master refused proxy mode: ${m.reason}`);
          }
          if (m.type !== "proxy" || m.requestId !== 1) {
            throw new MuxProtocolError(`Unexpected reply to the proxy request (${m.type})`);
          }
          state = "done";
          cleanup();
          sock.pause();
          resolve(withLeftover(socketFromNodeSocket(sock), frames.rest()));
          return;
        }
      } catch (e) {
        fail(e as Error);
      }
    });
  });
}
