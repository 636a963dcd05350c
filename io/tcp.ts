/**
 * Opens TCP sockets with the fastest adapter the running runtime offers.
 *
 * @module
 */

import { connectNodeSocket } from "./node_socket.ts";
import type { ByteSocket } from "./socket.ts";

/** Connects to host:port with TCP_NODELAY set. */
export function openTcpSocket(host: string, port: number, signal?: AbortSignal): Promise<ByteSocket> {
  return connectNodeSocket(host, port, signal);
}
