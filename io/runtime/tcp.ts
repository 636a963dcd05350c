/**
 * Opens TCP sockets with the adapter of the running runtime: `Deno.connect` on
 * Deno, `Bun.connect` on Bun, `node:net` elsewhere. `SSH_SOCKET_ADAPTER=node`
 * forces the portable one (for comparisons).
 *
 * @module
 */

import { bunApi, connectBunSocket } from "./bun_socket.ts";
import { connectDenoSocket, denoApi } from "./deno_socket.ts";
import { connectNodeSocket, type TcpBindOptions } from "./node_socket.ts";
import { socketAdapterOverride } from "./env.ts";
import type { ByteSocket } from "./socket.ts";

/** Which adapter `openTcpSocket` uses here. */
export function tcpAdapterName(): "deno" | "bun" | "node" {
  const forced = socketAdapterOverride();
  if (forced) return forced;
  if (denoApi()) return "deno";
  if (bunApi()) return "bun";
  return "node";
}

/**
 * Connects to host:port with TCP_NODELAY set. With `bind` (local address or
 * port, address family) it uses `node:net`, which all three runtimes have and
 * which binds before connecting; `Deno.connect` cannot. `bind.allowHalfOpen`
 * keeps our side open after the peer's FIN (node:net's adapter; the Deno and
 * Bun adapters half-close on their own).
 */
export function openTcpSocket(
  host: string,
  port: number,
  signal?: AbortSignal,
  bind?: TcpBindOptions,
): Promise<ByteSocket> {
  if (
    bind && (bind.localAddress !== undefined || bind.localPort !== undefined ||
      bind.family !== undefined)
  ) return connectNodeSocket(host, port, signal, bind);
  const halfOpen = bind?.allowHalfOpen ? { allowHalfOpen: true } : {};
  switch (tcpAdapterName()) {
    case "deno":
      return connectDenoSocket(host, port, signal);
    case "bun":
      return connectBunSocket(host, port, signal);
    default:
      return connectNodeSocket(host, port, signal, halfOpen);
  }
}
