/**
 * Port forwarding on the server side: the codecs of its requests, and listeners that open
 * forwarded-tcpip / forwarded-streamlocal channels back to the client for each
 * connection they accept (tcpip-forward with port 0, streamlocal-forward).
 *
 * @module
 */

import * as net from "node:net";
import { encodeTcpipOpen } from "../../core/connection/session_requests.ts";
import { SSHReader, SSHWriter } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeByteSocket } from "./bridge.ts";
import { listenOn, listenPrivateUnix } from "../runtime/local_socket.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import type { ByteSocket } from "../runtime/socket.ts";
import {
  DEFAULT_MAX_REMOTE_FORWARDS,
  MAX_ADDRESS_LENGTH,
  MAX_SOCKET_PATH_LENGTH,
} from "../limits.ts";

/** Decodes direct-streamlocal@openssh.com open data: socket path, reserved string, reserved uint32. */
export function decodeStreamlocalOpen(data: Uint8Array): string {
  const r = new SSHReader(data);
  return r.readStringUtf8("socket path", MAX_SOCKET_PATH_LENGTH);
}

/** Encodes forwarded-streamlocal@openssh.com open data: socket path, reserved string. */
export function encodeForwardedStreamlocal(path: string): Uint8Array {
  return new SSHWriter().writeStringUtf8(path).writeStringUtf8("").toBytes();
}

/** Decodes tcpip-forward / cancel-tcpip-forward data: address to bind, port. */
export function decodeTcpipForward(data: Uint8Array): { host: string; port: number } {
  const r = new SSHReader(data);
  const host = r.readStringUtf8("address to bind", MAX_ADDRESS_LENGTH);
  const port = r.readUint32("port to bind");
  if (port > 65535) throw new RangeError(`Port ${port} is out of range`);
  return { host, port };
}

/** Decodes streamlocal-forward@openssh.com data: socket path. */
export function decodeStreamlocalForward(data: Uint8Array): string {
  return new SSHReader(data).readStringUtf8("socket path", MAX_SOCKET_PATH_LENGTH);
}

/** Opens a channel to the client and resolves with it (or rejects when refused). */
export type OpenClientChannel = (channelType: string, data: Uint8Array) => Promise<ChannelIO>;

/** How a connection's remote-forward listeners bind. */
export interface RemoteListenerOptions {
  /** Let clients bind non-loopback addresses (OpenSSH's GatewayPorts). */
  readonly gatewayPorts: boolean;
  /** Listeners open and places held at once (default {@link DEFAULT_MAX_REMOTE_FORWARDS}). */
  readonly maxListeners?: number;
  /** Let clients listen on ports below 1024 (default false, as sshd for non-root users). */
  readonly allowPrivilegedPorts?: boolean;
}

/** A listening socket, or a forward the application serves itself (virtual). */
interface Listener {
  close(): void;
}

/**
 * The remote-forward listeners of one connection, keyed as the client named
 * them (its address string and port, or its socket path), closed with it. Once
 * closed, a listen still under way is closed as soon as it is bound and fails:
 * the connection is gone and nothing else would ever close it.
 */
export class RemoteListeners {
  readonly #open: OpenClientChannel;
  readonly #gatewayPorts: boolean;
  readonly #listeners = new Map<string, Listener>();
  readonly #sockets = new Set<ByteSocket>();
  readonly #max: number;
  #closed = false;
  #held = 0;

  /** `open` opens forwarded-* channels. */
  constructor(open: OpenClientChannel, options: RemoteListenerOptions) {
    this.#open = open;
    this.#gatewayPorts = options.gatewayPorts;
    this.#max = options.maxListeners ?? DEFAULT_MAX_REMOTE_FORWARDS;
  }

  /** Most listeners open and places held at once. */
  get max(): number {
    return this.#max;
  }

  /**
   * Holds a place for one more listener while the application decides and it is bound;
   * false when the listeners open and the places held reach {@link max}, or once closed.
   * Each place held is given back with {@link release}, after the listener is kept or not.
   */
  reserve(): boolean {
    if (this.#closed || this.#listeners.size + this.#held >= this.#max) return false;
    this.#held++;
    return true;
  }

  /** Gives back a place {@link reserve} held. */
  release(): void {
    this.#held--;
  }

  /** Number of listeners open. */
  get size(): number {
    return this.#listeners.size;
  }

  /** True once {@link closeAll} ran: no listener is kept after it. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The addresses a client's request binds, as OpenSSH's sshd: without `gatewayPorts` every
   * loopback address (127.0.0.1 and ::1) whatever was asked, except an explicit 127.0.0.1 or
   * ::1, which bind only themselves; with it, "" and "*" bind every address of both
   * families, "localhost" every loopback one, anything else exactly what was asked. The first
   * must bind unless its address family is missing here; the others are bound when they can
   * be (a host without IPv6 has no ::1; "::" usually takes IPv4's wildcard too).
   */
  bindAddresses(requested: string): readonly string[] {
    if (requested === "127.0.0.1" || requested === "::1") return [requested];
    if (!this.#gatewayPorts || requested === "localhost") return ["127.0.0.1", "::1"];
    return requested === "" || requested === "*" ? ["::", "0.0.0.0"] : [requested];
  }

  /** Listens for tcpip-forward; resolves with the port bound (the real one for port 0). */
  async listenTcp(host: string, port: number): Promise<number> {
    if (port !== 0) this.#free(tcpKey(host, port));
    let bound = port;
    const servers: net.Server[] = [];
    let firstError: unknown;
    for (const address of this.bindAddresses(host)) {
      const server = net.createServer(
        { noDelay: true, pauseOnConnect: true, allowHalfOpen: true },
        (sock) => {
          void this.#forward(
            sock,
            "forwarded-tcpip",
            encodeTcpipOpen(host, bound, sock.remoteAddress ?? "", sock.remotePort ?? 0),
          );
        },
      );
      try {
        await this.#listen(server, { host: address, port: bound });
      } catch (e) {
        // As sshd: an extra address, or one of a family this host lacks, is skipped.
        if (!this.#closed && (servers.length || familyMissing(e))) {
          firstError ??= e;
          continue;
        }
        for (const s of servers) s.close();
        throw e;
      }
      servers.push(server);
      // Port 0: the others bind the port the first was given.
      bound = (server.address() as net.AddressInfo).port;
    }
    if (!servers.length) throw firstError;
    // Port 0 requests are cancelled with the port the client was told.
    this.#keep(tcpKey(host, port === 0 ? bound : port), servers);
    return bound;
  }

  /**
   * Keeps a tcpip-forward the application serves itself (no socket) under `port`, the one
   * the client is told and cancels with; `close` runs once it is cancelled or closed.
   * False when that forward is already held, or once closed.
   */
  keepVirtualTcp(host: string, port: number, close: () => void): boolean {
    return this.#keepVirtual(tcpKey(host, port), close);
  }

  /** As {@link keepVirtualTcp}, for a streamlocal-forward. */
  keepVirtualUnix(path: string, close: () => void): boolean {
    return this.#keepVirtual(unixKey(path), close);
  }

  #keepVirtual(key: string, close: () => void): boolean {
    if (this.#closed || this.#listeners.has(key)) return false;
    // #close takes the entry out before closing it: close runs once.
    this.#listeners.set(key, { close });
    return true;
  }

  /** Stops a tcpip-forward listener; false when there is none. */
  cancelTcp(host: string, port: number): boolean {
    return this.#close(tcpKey(host, port));
  }

  /**
   * Listens on a UNIX socket for streamlocal-forward, mode 0600 before it appears at
   * `path` (sshd's StreamLocalBindMask 0177): only the user may connect.
   */
  async listenUnix(path: string): Promise<void> {
    if (this.#closed) throw new Error("Cannot listen: the connection is closed");
    this.#free(unixKey(path));
    const server = await listenPrivateUnix(
      path,
      { pauseOnConnect: true },
      (sock) =>
        void this.#forward(
          sock,
          "forwarded-streamlocal@openssh.com",
          encodeForwardedStreamlocal(path),
        ),
    );
    if (this.#closed) {
      server.close();
      throw new Error("Cannot listen: the connection closed while the listener was bound");
    }
    this.#keep(unixKey(path), [server]);
  }

  /** Stops a streamlocal-forward listener; false when there is none. */
  cancelUnix(path: string): boolean {
    return this.#close(unixKey(path));
  }

  /** Closes every listener and forwarded socket, and those still being bound. */
  closeAll(): void {
    this.#closed = true;
    for (const key of [...this.#listeners.keys()]) this.#close(key);
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** Throws when a forward already holds `key` (a virtual one binds no socket to clash). */
  #free(key: string): void {
    if (this.#listeners.has(key)) throw new Error(`Cannot listen: ${key} is held already`);
  }

  /**
   * Keeps a bound server under `key`; closes it and throws when another forward took the
   * key meanwhile (a virtual one granted while this bound, or port 0 landing on its port).
   */
  #keep(key: string, servers: readonly net.Server[]): void {
    const close = () => {
      for (const s of servers) s.close();
    };
    if (this.#listeners.has(key)) {
      close();
      throw new Error(`Cannot listen: ${key} is held already`);
    }
    this.#listeners.set(key, { close });
  }

  /** Binds `server`; closes it and throws when the connection closed meanwhile. */
  async #listen(server: net.Server, where: net.ListenOptions): Promise<void> {
    if (this.#closed) throw new Error("Cannot listen: the connection is closed");
    await listenOn(server, where);
    if (!this.#closed) return;
    server.close();
    throw new Error("Cannot listen: the connection closed while the listener was bound");
  }

  #close(key: string): boolean {
    const l = this.#listeners.get(key);
    if (!l) return false;
    this.#listeners.delete(key);
    // Closing removes a UNIX socket's file (Node, Deno and Bun alike); removing it again
    // could delete a file someone else has made there since.
    try {
      l.close();
    } catch { /* an application's close() that throws: the forward is gone all the same */ }
    return true;
  }

  async #forward(sock: net.Socket, channelType: string, data: Uint8Array): Promise<void> {
    const bs = socketFromNodeSocket(sock);
    this.#sockets.add(bs);
    try {
      const ch = await this.#open(channelType, data);
      sock.resume();
      await bridgeByteSocket(bs, ch);
    } catch {
      sock.destroy();
    } finally {
      this.#sockets.delete(bs);
    }
  }
}

/** Whether a bind failed because this host has no address of that family (no IPv6). */
function familyMissing(e: unknown): boolean {
  const code = (e as { code?: unknown })?.code;
  return code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT";
}

function tcpKey(host: string, port: number): string {
  return `tcp ${host} ${port}`;
}

function unixKey(path: string): string {
  return `unix ${path}`;
}
