/**
 * X11 forwarding on the client, as `ssh -Y` (trusted) and `ssh -X` with
 * `ForwardX11Trusted no` (untrusted) do it: reads `DISPLAY` and the real
 * cookie (`.Xauthority`) — or, untrusted, has `xauth` generate a cookie the X
 * server's SECURITY extension restricts, valid for a limited time — asks the
 * server with a fake cookie of the same length, and connects each forwarded
 * x11 channel to the local X server after swapping the fake cookie for the
 * real one (a wrong cookie is refused).
 *
 * @module
 */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { errorMessage, SSHError } from "../../core/errors.ts";
import { SSHWriter, toHex } from "../../core/wire.ts";
import type { SSHStreamConnection } from "../forward/stream.ts";
import { drainedOrClosed } from "../forward/bridge.ts";
import { connectLocal } from "../runtime/local_socket.ts";
import { environment, envVar, exactHostname, expandHome } from "../runtime/env.ts";
import type { X11ForwardingOptions } from "./session.ts";
import {
  findXauthCookie,
  parseDisplay,
  parseXauthority,
  swapX11Cookie,
  type XauthEntry,
} from "./x11_display.ts";

/** Options of {@link setUpX11Forwarding}. */
export interface X11ClientOptions {
  /** The local display (default `DISPLAY`). */
  readonly display?: string;
  /** The `.Xauthority` file (default `XAUTHORITY`, else `~/.Xauthority`). */
  readonly xauthority?: string;
  /** Forward only one X11 connection. */
  readonly singleConnection?: boolean;
  /**
   * Give remote X clients the display's own cookie (default true, as `ssh -Y` and
   * `ForwardX11Trusted yes`). False, as `ssh -X` with `ForwardX11Trusted no`: `xauth`
   * generates an untrusted cookie (the X server's SECURITY extension keeps such clients
   * away from other clients' windows, input and selections) that expires; set-up fails
   * when it cannot, rather than forwarding with the real cookie.
   */
  readonly trusted?: boolean;
  /**
   * Untrusted only: milliseconds after which new X11 connections are refused
   * (`ForwardX11Timeout`; default 1,200,000, 20 minutes; 0 = never). The generated
   * cookie outlives it by a minute, as OpenSSH's does.
   */
  readonly timeout?: number;
  /** Untrusted only: the `xauth` program (`XAuthLocation`; default `/usr/bin/xauth`). */
  readonly xauthLocation?: string;
}

/** `ForwardX11Timeout`'s default, in milliseconds. */
const DEFAULT_UNTRUSTED_TIMEOUT_MS = 20 * 60 * 1000;
/** How much longer than the refusal time a generated cookie lives (OpenSSH's X11_TIMEOUT_SLACK). */
const UNTRUSTED_COOKIE_SLACK_S = 60;
/** How long `xauth generate` may take (it talks to the X server). */
const XAUTH_TIMEOUT_MS = 30_000;

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
  const file = expandHome(options.xauthority ?? envVar("XAUTHORITY") ?? "~/.Xauthority");
  const trusted = options.trusted ?? true;
  const timeout = options.timeout ?? DEFAULT_UNTRUSTED_TIMEOUT_MS;
  if (!trusted && (!Number.isSafeInteger(timeout) || timeout < 0)) {
    throw new RangeError(`X11 timeout must be a whole number of milliseconds ≥ 0, not ${timeout}`);
  }
  const found = trusted
    ? await readXauthCookie(file, display)
    : await generateUntrustedCookie(value, display, file, timeout, options.xauthLocation);
  const protocol = found?.name ?? "MIT-MAGIC-COOKIE-1";
  const real = found?.data ?? new Uint8Array(0);
  const fake = crypto.getRandomValues(new Uint8Array(real.length || 16));
  // Untrusted: the cookie expires a minute after this, and new connections stop here.
  const refuseAt = !trusted && timeout > 0 ? performance.now() + timeout : Infinity;
  conn.onX11Channel = (c) => {
    if (performance.now() >= refuseAt) c.close();
    else void serveX11Channel(c, display, protocol, fake, real);
  };
  return {
    authProtocol: protocol,
    authCookie: toHex(fake),
    screen: display.screen,
    ...(options.singleConnection ? { singleConnection: true } : {}),
  };
}

/** The cookie `file` (an `.Xauthority`) holds for `display`; none when the file is missing. */
async function readXauthCookie(
  file: string,
  display: ReturnType<typeof parseDisplay>,
): Promise<XauthEntry | undefined> {
  let entries: XauthEntry[] = [];
  try {
    entries = parseXauthority(new Uint8Array(await readFile(file)));
  } catch (e) {
    if (e instanceof SSHError) throw e; // a broken file says so; a missing one means no cookie
  }
  return findXauthCookie(entries, display, () => exactHostname("X11 forwarding"));
}

/**
 * Has `xauth` generate an untrusted MIT-MAGIC-COOKIE-1 for the display into a
 * fresh private file and reads it back, as OpenSSH's client does (`xauth -f FILE
 * generate DISPLAY MIT-MAGIC-COOKIE-1 untrusted timeout N`; `localhost:N` is
 * asked for as `unix:N`). `xauth` reaches the X server with the user's own
 * cookie file (`XAUTHORITY`). Throws when no cookie came out: an untrusted
 * set-up never falls back to the real cookie.
 */
async function generateUntrustedCookie(
  value: string,
  display: ReturnType<typeof parseDisplay>,
  xauthority: string,
  timeoutMs: number,
  xauthLocation = "/usr/bin/xauth",
): Promise<XauthEntry> {
  const fail = (why: string) =>
    new SSHError(
      "ERR_CHANNEL",
      `Untrusted X11 forwarding set-up failed: ${xauthLocation} generated no cookie for ` +
        `${JSON.stringify(value)}${why ? ` (${why})` : ""}`,
    );
  const name = value.startsWith("localhost:") ? `unix:${value.slice("localhost:".length)}` : value;
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), "sshts-xauth-"));
  } catch (e) {
    throw fail(`no private directory for it: ${errorMessage(e)}`);
  }
  const out = join(dir, "xauthfile");
  const args = ["-f", out, "generate", name, "MIT-MAGIC-COOKIE-1", "untrusted"];
  if (timeoutMs > 0) {
    args.push("timeout", String(Math.ceil(timeoutMs / 1000) + UNTRUSTED_COOKIE_SLACK_S));
  }
  try {
    const failure = await new Promise<string>((resolve) => {
      try {
        execFile(xauthLocation, args, {
          timeout: XAUTH_TIMEOUT_MS,
          env: { ...environment(), XAUTHORITY: xauthority } as Record<string, string>,
        }, (e, _stdout, stderr) => {
          resolve(e ? (String(stderr).trim().split("\n").pop() || e.message) : "");
        });
      } catch (e) { // Deno without --allow-run refuses at once
        resolve(errorMessage(e));
      }
    });
    const found = await readXauthCookie(out, display);
    if (!found || found.data.length === 0) throw fail(failure);
    return found;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  }
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
