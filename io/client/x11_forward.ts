/**
 * X11 forwarding on the client, as trusted `ssh -Y` does it: reads `DISPLAY` and the
 * real cookie (`.Xauthority`), asks the server with a fake cookie of the same
 * length, and connects each forwarded x11 channel to the local X server after
 * swapping the fake cookie for the real one (a wrong cookie is refused).
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { SSHError } from "../../core/errors.ts";
import { SSHWriter, toHex } from "../../core/wire.ts";
import type { SSHStreamConnection } from "../forward/stream.ts";
import { drainedOrClosed } from "../forward/bridge.ts";
import { connectLocal } from "../runtime/local_socket.ts";
import { envVar, exactHostname, expandHome } from "../runtime/env.ts";
import type { X11ForwardingOptions } from "./session.ts";
import { findXauthCookie, parseDisplay, parseXauthority, swapX11Cookie } from "./x11_display.ts";

/** Options of {@link setUpX11Forwarding}. */
export interface X11ClientOptions {
  /** The local display (default `DISPLAY`). */
  readonly display?: string;
  /** The `.Xauthority` file (default `XAUTHORITY`, else `~/.Xauthority`). */
  readonly xauthority?: string;
  /** Forward only one X11 connection. */
  readonly singleConnection?: boolean;
}

/** What X11 forwarding needs of a connection (an `SSHClientConnection` is one). */
export interface X11Host {
  /** Where the server's x11 channels arrive. */
  onX11Channel: ((conn: SSHStreamConnection) => void) | undefined;
}

/**
 * Prepares X11 forwarding for `conn`: finds the local display and its real
 * cookie, makes a fake one, and serves the connection's x11 channels from the
 * local X server. Returns the `x11Forwarding` option to give `createProcess`.
 *
 * @example
 * ```ts ignore
 * const x11 = await setUpX11Forwarding(conn);
 * await conn.run("xdpyinfo | head -1", { x11Forwarding: x11 });
 * ```
 */
export async function setUpX11Forwarding(
  conn: X11Host,
  options: X11ClientOptions = {},
): Promise<X11ForwardingOptions> {
  const value = options.display ?? envVar("DISPLAY");
  if (!value) throw new SSHError("ERR_CHANNEL", "X11 forwarding needs DISPLAY");
  const display = parseDisplay(value);
  const file = options.xauthority ?? envVar("XAUTHORITY") ?? "~/.Xauthority";
  let entries: ReturnType<typeof parseXauthority> = [];
  try {
    entries = parseXauthority(new Uint8Array(await readFile(expandHome(file))));
  } catch (e) {
    if (e instanceof SSHError) throw e; // a broken file says so; a missing one means no cookie
  }
  const found = findXauthCookie(entries, display, () => exactHostname("X11 forwarding"));
  const protocol = found?.name ?? "MIT-MAGIC-COOKIE-1";
  const real = found?.data ?? new Uint8Array(0);
  const fake = crypto.getRandomValues(new Uint8Array(real.length || 16));
  conn.onX11Channel = (c) => void serveX11Channel(c, display, protocol, fake, real);
  return {
    authProtocol: protocol,
    authCookie: toHex(fake),
    screen: display.screen,
    ...(options.singleConnection ? { singleConnection: true } : {}),
  };
}

async function serveX11Channel(
  c: SSHStreamConnection,
  display: ReturnType<typeof parseDisplay>,
  protocol: string,
  fake: Uint8Array,
  real: Uint8Array,
): Promise<void> {
  const reader = c.readable.getReader();
  // The set-up may come a byte per message: a writer's buffer grows by doubling, so buffering
  // its ~128 KiB at most costs linear time, not a copy of everything so far per byte.
  const buffered = new SSHWriter(64);
  let first: Uint8Array | undefined;
  try {
    while (!first) {
      const { value, done } = await reader.read();
      if (done) return c.close();
      const r = swapX11Cookie(buffered.writeBytes(value).view(), protocol, fake, real);
      if (r.status === "refused") return c.close();
      if (r.status === "ok") first = r.bytes;
    }
    buffered.release(); // the set-up (and its fake cookie) is in `first` now
    const sock = await connectLocal(
      display.kind === "unix" ? { path: display.path } : { host: display.host, port: display.port },
    );
    const writer = c.writable.getWriter();
    // Both ways with backpressure: the X server's output waits for the channel (one
    // write at a time, the socket paused meanwhile), the channel's for the socket to
    // drain — a side that does not read must not make the other pile up in memory.
    sock.on("data", (d: Uint8Array) => {
      sock.pause();
      writer.write(new Uint8Array(d)).then(() => sock.resume(), () => sock.destroy());
    });
    sock.on("end", () => void writer.close().catch(() => {}));
    sock.on("error", () => c.close());
    sock.on("close", () => c.close());
    if (!sock.write(first)) await drainedOrClosed(sock);
    for (;;) {
      const { value, done } = await reader.read();
      if (done || sock.destroyed) break;
      if (!sock.write(value)) await drainedOrClosed(sock);
    }
    if (!sock.destroyed) sock.end();
  } catch {
    c.close();
  }
}
