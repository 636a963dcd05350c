/**
 * X11 forwarding on the server, as sshd does it: once a session's `x11-req`
 * is allowed, the server listens on the first free X display from an offset
 * (TCP port 6000 + n, loopback only by default: sshd's `X11DisplayOffset` and
 * `X11UseLocalhost`), adds the client's (fake) cookie to an Xauthority file
 * for the session's processes, and forwards each connection to that display
 * to the client as an `x11` channel. The client swaps the fake cookie for the
 * real one, so this side only ever passes the X protocol through. The
 * listener closes when the session ends (or after the first connection with
 * `single_connection`).
 *
 * @module
 */

import { spawn } from "node:child_process";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decodeX11Request } from "../../core/connection/session_requests.ts";
import { SSHError } from "../../core/errors.ts";
import { fromHex, SSHWriter } from "../../core/wire.ts";
import type { ChannelIO } from "../engine/channel.ts";
import { bridgeByteSocket } from "../forward/bridge.ts";
import { socketFromNodeSocket } from "../runtime/node_socket.ts";
import { listenOn } from "../runtime/local_socket.ts";
import { exactHostname, expandHome } from "../runtime/env.ts";
import {
  encodeXauthority,
  parseXauthority,
  type XauthEntry,
  XauthFamily,
} from "../client/x11_display.ts";
import {
  MAX_X11_COOKIE_BYTES,
  MAX_X11_DISPLAYS_PER_CONNECTION,
  MAX_X11_SCREEN,
} from "../limits.ts";

/** The channel type that carries a forwarded X11 connection. */
export const X11_CHANNEL = "x11";

/** The first TCP port of X displays: display n listens on 6000 + n. */
const X11_BASE_PORT = 6000;

/** sshd's default `X11DisplayOffset`: leaves the low displays to real X servers. */
const DEFAULT_DISPLAY_OFFSET = 10;

/** sshd's MAX_DISPLAYS: display numbers it tries stay below 1000. */
const DEFAULT_MAX_DISPLAY_NUMBER = 999;

/**
 * Settings of X11 forwarding on the server (`listen({ x11Forwarding })`),
 * after sshd's `X11DisplayOffset`, `X11UseLocalhost` and `XAuthLocation`.
 *
 * @example
 * ```ts
 * import { generatePrivateKey, listen } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   // ssh -X gets DISPLAY=localhost:20 (then 21, …) and an Xauthority entry written by xauth
 *   x11Forwarding: { displayOffset: 20, xauthProgram: "/usr/bin/xauth" },
 * });
 * ```
 */
export interface X11ServerOptions {
  /** First display number tried (sshd's `X11DisplayOffset`); default 10. */
  readonly displayOffset?: number;
  /** Highest display number tried before giving up; default 999 (as sshd). */
  readonly maxDisplayNumber?: number;
  /**
   * Listen on loopback only (127.0.0.1, and ::1 where it exists) and name the
   * display `localhost:N` (sshd's `X11UseLocalhost`); default true. With false,
   * listen on every IPv4 address and name it `<hostname>:N`.
   */
  readonly useLocalhost?: boolean;
  /**
   * The Xauthority file the cookie is added to (AsyncSSH's `x11_auth_path`),
   * or a function of the user name returning it; `~` is this process's home.
   * Default: a private file per session (in a 0700 temporary directory),
   * removed when the session ends. Either way the session's `XAUTHORITY` names it.
   */
  readonly authPath?: string | ((username: string) => string);
  /**
   * Add the entry by running this `xauth` program (sshd's `XAuthLocation`),
   * e.g. "/usr/bin/xauth". Default: write the Xauthority file directly.
   */
  readonly xauthProgram?: string;
}

/** What a client asked for in `x11-req` (RFC 4254 §6.3.1). */
export interface X11Request {
  /** Forward only the first connection to the display. */
  readonly singleConnection: boolean;
  /** The authentication protocol, e.g. "MIT-MAGIC-COOKIE-1". */
  readonly authProtocol: string;
  /** The (fake) cookie, as hex. */
  readonly authCookie: string;
  /** The X screen number. */
  readonly screen: number;
}

/** X11 forwarding set up for one session. */
export interface SessionX11 {
  /** The `DISPLAY` value for the session's processes, e.g. "localhost:10.0". */
  readonly display: string;
  /** The display number (the listener's port is 6000 + this). */
  readonly displayNumber: number;
  /** The Xauthority file holding the session's cookie (also `XAUTHORITY`). */
  readonly authPath: string;
  /** Stops listening and removes a private Xauthority file; connections carry on. */
  close(): Promise<void>;
}

/** Opens channels to the client (an `SSHServerConnection` does). */
export interface X11ChannelOpener {
  /** Opens a channel of this type with this open data. */
  openChannel(channelType: string, data?: Uint8Array): Promise<ChannelIO>;
}

/** sshd's `xauth_valid_string`: what may go on xauth's command line. */
const XAUTH_PROTOCOL = /^[A-Za-z0-9._:/-]{1,64}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;

/**
 * Decodes and checks `x11-req` data: a protocol name xauth accepts, a cookie
 * of hex pairs (at most {@link MAX_X11_COOKIE_BYTES} bytes) and a screen an X
 * server can have. Throws a typed `SSHError` (ERR_CHANNEL) for anything else.
 *
 * @example
 * ```ts
 * import { encodeX11Request } from "../../core/connection/session_requests.ts";
 * import { parseX11Request } from "./x11.ts";
 * const r = parseX11Request(encodeX11Request({
 *   singleConnection: false, authProtocol: "MIT-MAGIC-COOKIE-1", authCookie: "00ff", screen: 0,
 * }));
 * console.log(r.authCookie); // "00ff"
 * ```
 */
export function parseX11Request(data: Uint8Array): X11Request {
  let r: X11Request;
  try {
    r = decodeX11Request(data);
  } catch (e) {
    throw new SSHError("ERR_CHANNEL", `Malformed x11-req: ${(e as Error).message}`, { cause: e });
  }
  if (!XAUTH_PROTOCOL.test(r.authProtocol)) {
    throw new SSHError("ERR_CHANNEL", "x11-req names an unusable authentication protocol");
  }
  if (!HEX.test(r.authCookie) || r.authCookie.length > 2 * MAX_X11_COOKIE_BYTES) {
    throw new SSHError("ERR_CHANNEL", "x11-req cookie is not hex, or too long");
  }
  if (r.screen > MAX_X11_SCREEN) {
    throw new SSHError("ERR_CHANNEL", `x11-req screen ${r.screen} is out of range`);
  }
  return r;
}

/** Encodes x11 channel open data: originator address and port (RFC 4254 §6.3.2). */
function encodeX11Open(address: string, port: number): Uint8Array {
  return new SSHWriter().writeStringUtf8(address).writeUint32(port).toBytes();
}

function plainAddress(a: string | undefined): string {
  return a?.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a ?? "";
}

/**
 * Binds the first display from `first` to `last` whose port is free on every
 * address: `addresses[0]` must bind; the others are skipped where the machine
 * lacks them (no IPv6), but one in use there makes the display busy.
 */
async function bindDisplay(
  first: number,
  last: number,
  addresses: readonly string[],
  onConnection: (sock: net.Socket) => void,
): Promise<{ number: number; servers: net.Server[] }> {
  for (let n = first; n <= last && X11_BASE_PORT + n <= 65535; n++) {
    const servers: net.Server[] = [];
    let busy = false;
    for (const [i, host] of addresses.entries()) {
      const s = net.createServer(
        { noDelay: true, pauseOnConnect: true, allowHalfOpen: true },
        onConnection,
      );
      try {
        await listenOn(s, { host, port: X11_BASE_PORT + n });
        servers.push(s);
      } catch (e) {
        const code = (e as { code?: string })?.code;
        if (code === "EADDRINUSE" || code === "EACCES") {
          busy = true;
          break;
        }
        if (i === 0) {
          for (const t of servers) t.close();
          throw e;
        }
      }
    }
    if (!busy) return { number: n, servers };
    for (const t of servers) t.close();
  }
  throw new SSHError("ERR_CHANNEL", `No free X11 display between ${first} and ${last}`);
}

/**
 * Adds (or replaces) the cookie for `display` in the Xauthority file at
 * `path` the way sshd's `xauth add unix:N` does: a LOCAL entry for this host
 * (and a WILD one for a display on every address). The file is written 0600
 * through a temporary file and a rename; calls for one file take turns.
 *
 * @example
 * ```ts ignore
 * await addXauthEntry("/tmp/x/Xauthority", 10, "MIT-MAGIC-COOKIE-1", cookie, true);
 * ```
 */
export function addXauthEntry(
  path: string,
  displayNumber: number,
  protocol: string,
  cookie: Uint8Array,
  localOnly: boolean,
): Promise<void> {
  // Sessions sharing a file (authPath) add theirs one after another: two read-modify-renames at
  // once would each drop the other's entry, and that session's X clients be refused.
  const key = resolve(path);
  const write = () => writeXauthEntry(path, displayNumber, protocol, cookie, localOnly);
  const done = (xauthWrites.get(key) ?? Promise.resolve()).then(write);
  const settled = done.catch(() => {});
  xauthWrites.set(key, settled);
  void settled.then(() => {
    if (xauthWrites.get(key) === settled) xauthWrites.delete(key);
  });
  return done;
}

/** The entry writes queued per Xauthority file (by absolute path), the last one's settling. */
const xauthWrites = new Map<string, Promise<void>>();

async function writeXauthEntry(
  path: string,
  displayNumber: number,
  protocol: string,
  cookie: Uint8Array,
  localOnly: boolean,
): Promise<void> {
  let entries: XauthEntry[] = [];
  try {
    entries = parseXauthority(new Uint8Array(await readFile(path)));
  } catch (e) {
    if ((e as { code?: string })?.code !== "ENOENT") throw e;
  }
  const host = new TextEncoder().encode(exactHostname("X11 forwarding"));
  const number = String(displayNumber);
  const same = (e: XauthEntry) =>
    e.number === number && (e.family === XauthFamily.WILD ||
      (e.family === XauthFamily.LOCAL && e.address.every((b, i) => b === host[i]) &&
        e.address.length === host.length));
  const add: XauthEntry[] = [
    { family: XauthFamily.LOCAL, address: host, number, name: protocol, data: cookie },
  ];
  if (!localOnly) {
    add.push({
      family: XauthFamily.WILD,
      address: new Uint8Array(0),
      number,
      name: protocol,
      data: cookie,
    });
  }
  const tmp = `${path}.sshts-${crypto.randomUUID()}`;
  await writeFile(tmp, encodeXauthority([...entries.filter((e) => !same(e)), ...add]), {
    mode: 0o600,
  });
  await rename(tmp, path);
}

/** Runs `xauth -q -f path -` with "remove" and "add" lines on stdin, as sshd does. */
function runXauth(program: string, path: string, commands: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, ["-q", "-f", path, "-"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (b: Uint8Array) => {
      if (stderr.length < 4096) stderr += new TextDecoder().decode(b);
    });
    child.on(
      "error",
      (e) => reject(new SSHError("ERR_CHANNEL", `Cannot run ${program}`, { cause: e })),
    );
    child.on(
      "close",
      (status) =>
        status === 0
          ? resolve()
          : reject(new SSHError("ERR_CHANNEL", `${program} failed (${status}): ${stderr.trim()}`)),
    );
    child.stdin.on("error", () => {});
    child.stdin.end(commands);
  });
}

/**
 * The X11 forwardings of one connection: allocates a display per allowed
 * session (at most {@link MAX_X11_DISPLAYS_PER_CONNECTION} at once), writes
 * the Xauthority entry, and opens an `x11` channel per X connection.
 *
 * @example
 * ```ts ignore
 * const x11 = new ServerX11(conn, { displayOffset: 10 });
 * const s = await x11.start(parseX11Request(data), "alice", channel.closedPromise);
 * env.DISPLAY = s.display;
 * env.XAUTHORITY = s.authPath;
 * ```
 */
export class ServerX11 {
  readonly #conn: X11ChannelOpener;
  readonly #o: X11ServerOptions;
  #active = 0;

  /** `conn` opens the x11 channels; `options` are the server's X11 settings. */
  constructor(conn: X11ChannelOpener, options: X11ServerOptions = {}) {
    this.#conn = conn;
    this.#o = options;
  }

  /** Displays open now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Sets up X11 forwarding for a session: listens, writes the cookie, and
   * closes everything when `until` settles (the session's end). Rejects
   * (ERR_CHANNEL) over the per-connection limit or when no display is free.
   */
  async start(req: X11Request, username: string, until: Promise<unknown>): Promise<SessionX11> {
    if (this.#active >= MAX_X11_DISPLAYS_PER_CONNECTION) {
      throw new SSHError(
        "ERR_CHANNEL",
        `At most ${MAX_X11_DISPLAYS_PER_CONNECTION} X11 displays per connection`,
      );
    }
    this.#active++;
    let released = false;
    const release = () => {
      if (!released) this.#active--;
      released = true;
    };
    try {
      return await this.#start(req, username, until, release);
    } catch (e) {
      release();
      throw e;
    }
  }

  async #start(
    req: X11Request,
    username: string,
    until: Promise<unknown>,
    release: () => void,
  ): Promise<SessionX11> {
    const o = this.#o;
    const localOnly = o.useLocalhost ?? true;
    let servers: net.Server[] = [];
    let used = false;
    const stopListening = () => {
      for (const s of servers) s.close();
      servers = [];
    };
    const onConnection = (sock: net.Socket) => {
      if (req.singleConnection) {
        if (used) return void sock.destroy();
        used = true;
        stopListening();
      }
      void this.#forward(sock);
    };
    const first = o.displayOffset ?? DEFAULT_DISPLAY_OFFSET;
    const last = o.maxDisplayNumber ?? DEFAULT_MAX_DISPLAY_NUMBER;
    // Every address family, or a display another local user holds on the other one (say
    // [::]:6010 alone) is handed out and its X clients, cookie and all, reach that user
    // (OpenSSH's CVE-2008-1483). The wildcard "::" is both families (Linux's default), and
    // is refused while either is taken; without IPv6, 0.0.0.0.
    const bound = localOnly
      ? await bindDisplay(first, last, ["127.0.0.1", "::1"], onConnection)
      : await bindDisplay(first, last, ["::"], onConnection).catch((e) => {
        if (e instanceof SSHError) throw e; // no free display
        return bindDisplay(first, last, ["0.0.0.0"], onConnection);
      });
    servers = bound.servers;
    const n = bound.number;
    let dir: string | undefined;
    try {
      // The name X clients and xauth know this host by. On Deno it may not be readable: the
      // request is then refused, and what was set up for it removed (the catch below).
      const hostName = localOnly ? "localhost" : exactHostname("X11 forwarding");
      const chosen = typeof o.authPath === "function" ? o.authPath(username) : o.authPath;
      let authPath: string;
      if (chosen !== undefined) {
        authPath = expandHome(chosen);
      } else {
        dir = await mkdtemp(join(tmpdir(), "sshts-x11-"));
        authPath = join(dir, "Xauthority");
      }
      if (o.xauthProgram) {
        const name = localOnly ? `unix:${n}.${req.screen}` : `${hostName}:${n}.${req.screen}`;
        await runXauth(
          o.xauthProgram,
          authPath,
          `remove ${name}\nadd ${name} ${req.authProtocol} ${req.authCookie}\n`,
        );
      } else {
        await addXauthEntry(authPath, n, req.authProtocol, fromHex(req.authCookie), localOnly);
      }
      let closing: Promise<void> | undefined;
      const close = () =>
        closing ??= (async () => {
          stopListening();
          release();
          if (dir) await rm(dir, { recursive: true, force: true });
        })();
      void until.then(close, close);
      return {
        display: `${hostName}:${n}.${req.screen}`,
        displayNumber: n,
        authPath,
        close,
      };
    } catch (e) {
      stopListening();
      if (dir) await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  async #forward(sock: net.Socket): Promise<void> {
    try {
      const ch = await this.#conn.openChannel(
        X11_CHANNEL,
        encodeX11Open(plainAddress(sock.remoteAddress), sock.remotePort ?? 0),
      );
      sock.resume();
      await bridgeByteSocket(socketFromNodeSocket(sock), ch);
    } catch {
      sock.destroy();
    }
  }
}
