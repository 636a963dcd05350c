/**
 * The client's side of X11 forwarding that needs no network: where `DISPLAY`
 * points (a UNIX socket or a TCP port), and the `.Xauthority` file format
 * (Xau), to find the real cookie a forwarded channel's fake one is swapped for.
 *
 * @module
 */

import { SSHError } from "../../core/errors.ts";
import { constantTimeEqual } from "../../core/crypto/constant_time.ts";

/** Longest `DISPLAY` value we parse (far above any real one). */
const MAX_DISPLAY_LENGTH = 4096;
/** Largest `.Xauthority` we parse: a real one holds a few hundred bytes per display. */
const MAX_XAUTHORITY_BYTES = 1024 * 1024;
/** Highest display number (port 6000 + n must stay a TCP port). */
const MAX_DISPLAY_NUMBER = 65535 - 6000;

/** Where an X server listens, from `DISPLAY`. */
export type X11Display =
  | {
    readonly kind: "unix";
    /** The socket path, e.g. "/tmp/.X11-unix/X0". */
    readonly path: string;
    readonly display: number;
    readonly screen: number;
  }
  | {
    readonly kind: "tcp";
    readonly host: string;
    /** 6000 + display. */
    readonly port: number;
    readonly display: number;
    readonly screen: number;
  };

/**
 * Parses `DISPLAY` as Xlib does: ":0" and "unix:0.1" are UNIX sockets
 * (`/tmp/.X11-unix/X<n>`), and so is a path ("/tmp/.X11-unix/X0", macOS's
 * "/private/tmp/com.apple.launchd.x/org.xquartz:0"), which names the socket
 * itself (less a ".screen" after its ":display");
 * "host:10.0" and "[::1]:3" are TCP to port 6000 + display. Throws a typed
 * `SSHError` (ERR_CHANNEL) for anything else.
 *
 * @example
 * ```ts
 * import { parseDisplay } from "./x11_display.ts";
 * console.log(parseDisplay("localhost:10.0")); // { kind: "tcp", host: "localhost", port: 6010, display: 10, screen: 0 }
 * ```
 */
export function parseDisplay(value: string): X11Display {
  const bad = (why: string): never => {
    throw new SSHError("ERR_CHANNEL", `Cannot use DISPLAY ${JSON.stringify(value)}: ${why}`);
  };
  if (value.length === 0 || value.length > MAX_DISPLAY_LENGTH) bad("empty or too long");
  if (value.startsWith("/")) {
    // A path to the socket itself, as launchd sets on macOS: the socket's own name ends in ":0"
    // ("/private/tmp/com.apple.launchd.x/org.xquartz:0"). The whole value is the path, less a
    // ".screen" after a ":display" (OpenSSH's is_path_to_xsocket, xcb).
    const m = /:(\d{1,5})(?:\.(\d{1,5}))?$/.exec(value);
    const display = m ? Number(m[1]) : 0;
    if (display > MAX_DISPLAY_NUMBER) bad("display number out of range");
    if (m?.[2] === undefined) return { kind: "unix", path: value, display, screen: 0 };
    const path = value.slice(0, value.length - m[2].length - 1);
    return { kind: "unix", path, display, screen: Number(m[2]) };
  }
  const colon = value.lastIndexOf(":");
  if (colon < 0) bad("no ':'");
  let host = value.slice(0, colon);
  const m = /^(\d{1,5})(?:\.(\d{1,5}))?$/.exec(value.slice(colon + 1));
  if (!m) return bad("display number missing");
  const display = Number(m[1]);
  const screen = m[2] === undefined ? 0 : Number(m[2]);
  if (display > MAX_DISPLAY_NUMBER) bad("display number out of range");
  if (host === "" || host === "unix") {
    return { kind: "unix", path: `/tmp/.X11-unix/X${display}`, display, screen };
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) bad("bad host name");
  return { kind: "tcp", host, port: 6000 + display, display, screen };
}

/** Xau address families. */
export const XauthFamily = {
  INTERNET: 0,
  INTERNET6: 6,
  LOCAL_HOST: 252,
  LOCAL: 256,
  WILD: 65535,
} as const;

/** One `.Xauthority` entry. */
export interface XauthEntry {
  /** Address family ({@link XauthFamily}). */
  readonly family: number;
  /** Address bytes: a host name for LOCAL, 4 or 16 bytes for INTERNET(6). */
  readonly address: Uint8Array;
  /** The display number as text ("" matches any). */
  readonly number: string;
  /** The protocol, e.g. "MIT-MAGIC-COOKIE-1". */
  readonly name: string;
  /** The cookie. */
  readonly data: Uint8Array;
}

/**
 * Parses an `.Xauthority` file (big-endian family, then four counted
 * strings per entry). Throws a typed `SSHError` on truncated or oversized input.
 *
 * @example
 * ```ts
 * import { parseXauthority } from "./x11_display.ts";
 * console.log(parseXauthority(new Uint8Array(0)).length); // 0
 * ```
 */
export function parseXauthority(bytes: Uint8Array): XauthEntry[] {
  if (bytes.length > MAX_XAUTHORITY_BYTES) {
    throw new SSHError("ERR_CHANNEL", `.Xauthority is larger than ${MAX_XAUTHORITY_BYTES} bytes`);
  }
  const out: XauthEntry[] = [];
  let at = 0;
  const u16 = (): number => {
    if (at + 2 > bytes.length) throw new SSHError("ERR_CHANNEL", ".Xauthority is truncated");
    const v = (bytes[at]! << 8) | bytes[at + 1]!;
    at += 2;
    return v;
  };
  const counted = (): Uint8Array => {
    const n = u16();
    if (at + n > bytes.length) throw new SSHError("ERR_CHANNEL", ".Xauthority is truncated");
    const v = bytes.slice(at, at + n);
    at += n;
    return v;
  };
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  while (at < bytes.length) {
    const family = u16();
    const address = counted();
    const number = text(counted());
    const name = text(counted());
    const data = counted();
    out.push({ family, address, number, name, data });
  }
  return out;
}

/**
 * Encodes entries as an `.Xauthority` file (for `xauth`-less set-ups and tests).
 *
 * @example
 * ```ts
 * import { encodeXauthority, parseXauthority } from "./x11_display.ts";
 * const e = { family: 256, address: new TextEncoder().encode("h"), number: "0", name: "MIT-MAGIC-COOKIE-1", data: new Uint8Array(16) };
 * console.log(parseXauthority(encodeXauthority([e]))[0]?.number); // "0"
 * ```
 */
export function encodeXauthority(entries: readonly XauthEntry[]): Uint8Array {
  const parts: number[] = [];
  const u16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
  const counted = (b: Uint8Array) => {
    u16(b.length);
    for (const x of b) parts.push(x);
  };
  const enc = new TextEncoder();
  for (const e of entries) {
    u16(e.family);
    counted(e.address);
    counted(enc.encode(e.number));
    counted(enc.encode(e.name));
    counted(e.data);
  }
  return new Uint8Array(parts);
}

/**
 * The cookie for `display` among `entries`, as Xlib picks it: the first entry
 * whose number matches (or is empty) and whose address is this host
 * (`localHostname`, LOCAL family; a function is called only if such an entry is looked at)
 * for UNIX displays, or the display's host
 * (by name, or an IPv4 address) for TCP ones; WILD entries match any host.
 *
 * @example
 * ```ts ignore
 * const cookie = findXauthCookie(parseXauthority(file), parseDisplay(":0"), hostname());
 * ```
 */
export function findXauthCookie(
  entries: readonly XauthEntry[],
  display: X11Display,
  localHostname: string | (() => string),
): XauthEntry | undefined {
  const dec = new TextDecoder();
  // Asked for only when a LOCAL entry of this display must be matched against it (on Deno the
  // host name may need a permission; other displays and entries do without it).
  let thisHost: string | undefined;
  const hostName = () =>
    thisHost ??= typeof localHostname === "string" ? localHostname : localHostname();
  const number = String(display.display);
  const local = display.kind === "unix" || display.host === "localhost" ||
    display.host === "127.0.0.1" || display.host === "::1";
  return entries.find((e) => {
    if (e.number !== "" && e.number !== number) return false;
    if (e.family === XauthFamily.WILD) return true;
    if (e.family === XauthFamily.LOCAL) {
      const host = dec.decode(e.address);
      return local ? host === hostName() : display.kind === "tcp" && host === display.host;
    }
    if (e.family === XauthFamily.INTERNET && display.kind === "tcp" && e.address.length === 4) {
      return e.address.join(".") === display.host ||
        (local && e.address.join(".") === "127.0.0.1");
    }
    return false;
  });
}

/** Longest X11 connection set-up prefix we buffer (12 bytes + padded name and data). */
const MAX_X11_SETUP = 12 + 2 * (0xffff + 3);

/** What {@link swapX11Cookie} decided about the bytes an X11 client sent first. */
export type X11CookieSwap =
  | { readonly status: "more" }
  | { readonly status: "refused"; readonly reason: string }
  | { readonly status: "ok"; readonly bytes: Uint8Array };

/**
 * Checks the connection set-up an X11 client sent through a forwarded channel
 * against the fake cookie given in x11-req, and swaps in the real one (as
 * OpenSSH does), so the real cookie never leaves this machine. "more" until
 * the whole set-up arrived; "refused" for another protocol or a wrong cookie;
 * "ok" with the bytes to send the X server (the set-up with the real cookie,
 * then whatever followed it).
 *
 * @example
 * ```ts ignore
 * const r = swapX11Cookie(buffered, "MIT-MAGIC-COOKIE-1", fake, real);
 * if (r.status === "ok") xserver.write(r.bytes);
 * ```
 */
export function swapX11Cookie(
  buffered: Uint8Array,
  protocol: string,
  fake: Uint8Array,
  real: Uint8Array,
): X11CookieSwap {
  if (buffered.length < 12) return { status: "more" };
  const order = buffered[0];
  let be: boolean;
  if (order === 0x42) be = true;
  else if (order === 0x6c) be = false;
  else return { status: "refused", reason: "bad byte order in X11 set-up" };
  const u16 = (at: number) =>
    be ? (buffered[at]! << 8) | buffered[at + 1]! : buffered[at]! | (buffered[at + 1]! << 8);
  const nameLen = u16(6);
  const dataLen = u16(8);
  const pad = (n: number) => (n + 3) & ~3;
  const total = 12 + pad(nameLen) + pad(dataLen);
  if (total > MAX_X11_SETUP) return { status: "refused", reason: "X11 set-up too long" };
  if (buffered.length < total) return { status: "more" };
  // The name's bytes, as OpenSSH compares them (a decoder would drop a BOM, or map bad bytes alike).
  const name = buffered.subarray(12, 12 + nameLen);
  const want = new TextEncoder().encode(protocol);
  const dataAt = 12 + pad(nameLen);
  const data = buffered.subarray(dataAt, dataAt + dataLen);
  if (name.length !== want.length || !name.every((b, i) => b === want[i])) {
    return { status: "refused", reason: "X11 connection uses another authentication protocol" };
  }
  // Every byte examined whatever the first difference: the fake cookie is the X11 channel's
  // only credential, and a local client must not learn it a byte at a time from our timing.
  if (data.length !== fake.length || !constantTimeEqual(data, 0, fake, 0, fake.length)) {
    return { status: "refused", reason: "X11 connection uses a wrong cookie" };
  }
  const out = new Uint8Array(12 + pad(nameLen) + pad(real.length) + buffered.length - total);
  out.set(buffered.subarray(0, 12 + pad(nameLen)));
  const rl = real.length;
  if (be) {
    out[8] = rl >> 8;
    out[9] = rl & 0xff;
  } else {
    out[8] = rl & 0xff;
    out[9] = rl >> 8;
  }
  out.set(real, dataAt);
  out.set(buffered.subarray(total), dataAt + pad(rl));
  return { status: "ok", bytes: out };
}
