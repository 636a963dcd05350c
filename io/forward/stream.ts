/**
 * A forwarded connection as a pair of Web Streams: what `openConnection`
 * returns and what `startServer` handlers receive. It is also a
 * {@link WebDuplex}, so it can carry another SSH connection or be piped.
 *
 * @module
 */

import type { ChannelIO } from "../engine/channel.ts";
import type { WebDuplex } from "../runtime/socket.ts";

/** Where a forwarded connection comes from and goes to (what the channel open said). */
export interface ForwardedConnectionInfo {
  /** For TCP: the host and port asked for (direct) or listened on (forwarded). */
  readonly host?: string;
  /** For TCP: the port asked for (direct) or listened on (forwarded). */
  readonly port?: number;
  /** For UNIX sockets: the socket path. */
  readonly path?: string;
  /** Where the connection came from, as the opener reports it. */
  readonly originHost?: string;
  /** The originator's port, as the opener reports it. */
  readonly originPort?: number;
}

/**
 * One forwarded connection (a direct-tcpip, forwarded-tcpip or streamlocal
 * channel). Closing `writable` sends EOF; the peer's EOF ends `readable`.
 *
 * @example Talk to a web server behind the SSH server
 * ```ts ignore
 * await using c = await conn.openConnection("intranet", 80);
 * const w = c.writable.getWriter();
 * await w.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * await w.close();
 * console.log(await new Response(c.readable).text());
 * ```
 */
export interface SSHStreamConnection extends WebDuplex, AsyncDisposable {
  /** What the far end sends; ends at its EOF. */
  readonly readable: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** What we send; closing it sends EOF. */
  readonly writable: WritableStream<Uint8Array>;
  /** The channel underneath. */
  readonly channel: ChannelIO;
  /** Addresses from the channel open. */
  readonly info: ForwardedConnectionInfo;
  /** Closes the channel at once. */
  close(): void;
  /** Resolves when the channel is closed. */
  readonly closed: Promise<void>;
}

/**
 * Wraps a channel as an {@link SSHStreamConnection}.
 *
 * @example
 * ```ts ignore
 * const c = streamConnection(channel, { host: "db", port: 5432 });
 * ```
 */
export function streamConnection(
  channel: ChannelIO,
  info: ForwardedConnectionInfo,
): SSHStreamConnection {
  let writable: WritableStream<Uint8Array> | undefined;
  return {
    readable: channel.readable(0),
    get writable() {
      return (writable ??= channel.writable(0));
    },
    channel,
    info,
    close: () => channel.close(),
    closed: channel.closedPromise,
    [Symbol.asyncDispose]() {
      channel.close();
      return channel.closedPromise;
    },
  };
}
