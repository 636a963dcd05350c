/**
 * A SOCKS 4/4a/5 listener (`ssh -D`): each client's CONNECT request becomes a
 * channel opened through the SSH connection, then the two are bridged.
 *
 * @module
 */

import type * as net from "node:net";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeSocket } from "./bridge.ts";
import type { ListenAddress } from "../runtime/local_socket.ts";
import { LocalListener } from "./listener.ts";
import { type SocksFailure, SocksHandshake, type SocksRequest } from "./socks_codec.ts";
import { SOCKS_HANDSHAKE_TIMEOUT_MS } from "../limits.ts";

/** Opens the channel for a request; rejects (with a `reason` code when known) on failure. */
export type SocksOpener = (request: SocksRequest, sock: net.Socket) => Promise<ChannelIO>;

/**
 * Listens for SOCKS clients and forwards each CONNECT through `open`.
 *
 * @example
 * ```ts ignore
 * const l = await serveSocks({ host: "127.0.0.1", port: 1080 }, (r, s) =>
 *   conn.openChannel("direct-tcpip", encodeTcpipOpen(r.host, r.port, s.remoteAddress!, s.remotePort!)));
 * ```
 */
export function serveSocks(address: ListenAddress, open: SocksOpener): Promise<LocalListener> {
  return LocalListener.listen(address, (sock) => handleSocksClient(sock, open));
}

/**
 * Runs one client's handshake, then bridges it to the channel `open` gives. A client
 * that ends its side (or goes quiet for `SOCKS_HANDSHAKE_TIMEOUT_MS`) before its request
 * is complete is closed; after the request, a half-close is forwarded like any data.
 *
 * @example
 * ```ts
 * import * as net from "node:net";
 * import { handleSocksClient, type SocksOpener } from "./socks_server.ts";
 * // Refuses every destination; a real opener opens a direct-tcpip channel.
 * const open: SocksOpener = () => Promise.reject(new Error("no"));
 * const server = net.createServer((sock) => handleSocksClient(sock, open)).listen(0, "127.0.0.1");
 * server.close();
 * ```
 */
export function handleSocksClient(sock: net.Socket, open: SocksOpener): void {
  const handshake = new SocksHandshake();
  const timer = setTimeout(() => sock.destroy(), SOCKS_HANDSHAKE_TIMEOUT_MS);
  (timer as { unref?: () => void }).unref?.();
  const onError = () => {
    clearTimeout(timer);
    sock.destroy();
  };
  sock.on("error", onError);
  // Listeners allow half-open sockets (for the forwarded data): a client that ends its side
  // before its request is complete will send no more of it, so do not wait for the timer.
  const onEnd = () => {
    clearTimeout(timer);
    sock.destroy();
  };
  sock.on("end", onEnd);
  const onData = (chunk: Uint8Array) => {
    const step = handshake.receive(chunk);
    if (step.reply) sock.write(step.reply);
    if (step.error) {
      clearTimeout(timer);
      sock.off("data", onData);
      // The refusal goes out before the socket closes, whatever the client does meanwhile.
      sock.off("end", onEnd);
      sock.end(() => sock.destroy());
      return;
    }
    if (!step.request) return;
    clearTimeout(timer);
    // Hold further bytes until the channel is open; the bridge resumes reading.
    sock.pause();
    sock.off("data", onData);
    // From here a half-close belongs to the forwarded data (the bridge carries it).
    sock.off("end", onEnd);
    const request = step.request;
    open(request, sock).then(
      (ch) => {
        sock.off("error", onError);
        if (sock.destroyed) return ch.close();
        sock.write(handshake.successReply());
        void bridgeSocket(sock, ch, step.rest);
      },
      (e: unknown) => {
        sock.off("error", onError);
        sock.on("error", () => {});
        // Nothing more to read from a refused client: say why, then close.
        sock.end(handshake.failureReply(failureKind(e)), () => sock.destroy());
      },
    );
  };
  sock.on("data", onData);
}

function failureKind(e: unknown): SocksFailure {
  const reason = (e as { reason?: number })?.reason;
  // SSH_OPEN_* codes: 1 prohibited, 2 connect failed.
  if (reason === 1) return "not-allowed";
  if (reason === 2) return "refused";
  return "general";
}
