/**
 * Encoders and decoders of session channel requests (RFC 4254 §6, RFC 4335,
 * OpenSSH PROTOCOL): pty-req, x11-req, env, exec, subsystem, window-change,
 * xon-xoff, signal, exit-status, exit-signal, break.
 *
 * @module
 */

import { SSHReader, SSHWriter } from "../wire.ts";
import { encodeEscapedUtf8 } from "../escaped_utf8.ts";
import { readPeerText } from "../peer_text.ts";
import { checkInteger } from "../engine/option_checks.ts";
import {
  MAX_NAME,
  MAX_REQUEST_ARGUMENT,
  MAX_SHORT_NAME,
  MAX_SHORT_TEXT,
  MAX_TERMINAL_MODES,
  MAX_TEXT,
} from "../limits.ts";

/**
 * `v` when it is an integer a uint32 holds; else a RangeError naming `what`. The wire's
 * writer wraps any number into 32 bits (-1 would go out as 4294967295), so the values an
 * application passes are checked here.
 */
function uint32(v: number, what: string): number {
  checkInteger(v, what, 0, 0xffffffff);
  return v;
}

/**
 * Throws a RangeError naming `what` unless `port` is a TCP port number (an integer from 0 to
 * 65535): the wire would carry -1 as 4294967295, 1.5 as 1 and NaN as 0 (port 0 asks a
 * server to pick any port).
 *
 * @example
 * ```ts
 * import { checkPort } from "./session_requests.ts";
 * checkPort(5432, "destPort"); // fine
 * try {
 *   checkPort(70000, "destPort");
 * } catch (e) {
 *   console.log((e as Error).message); // destPort must be a port number (0 to 65535), not 70000
 * }
 * ```
 */
export function checkPort(port: number, what: string): void {
  if (Number.isInteger(port) && port >= 0 && port <= 65535) return;
  throw new RangeError(`${what} must be a port number (0 to 65535), not ${port}`);
}

/** Terminal size in characters and pixels. */
export interface TerminalSize {
  /** Width in characters. */
  readonly columns: number;
  /** Height in lines. */
  readonly rows: number;
  /** Width in pixels; undefined (sent as 0) when unknown. */
  readonly widthPixels?: number;
  /** Height in pixels; undefined (sent as 0) when unknown. */
  readonly heightPixels?: number;
}

/** A pty request. `modes` maps RFC 4254 §8 opcodes to values. */
export interface PtyRequest extends TerminalSize {
  /** The TERM environment value, e.g. "xterm-256color". */
  readonly term: string;
  /** Terminal modes by RFC 4254 §8 opcode; undefined sends no modes. */
  readonly modes?: ReadonlyMap<number, number>;
}

/**
 * Encodes the data of a "pty-req" request.
 *
 * @example
 * ```ts
 * import { decodePtyRequest, encodePtyRequest } from "@sshts/ssh/core";
 * const data = encodePtyRequest({ term: "xterm", columns: 80, rows: 24 });
 * console.log(decodePtyRequest(data).term); // "xterm"
 * ``` */
export function encodePtyRequest(p: PtyRequest): Uint8Array {
  const modes = new SSHWriter(64);
  for (const [op, v] of p.modes ?? []) {
    if (!(Number.isInteger(op) && op >= 1 && op < 160)) {
      throw new RangeError(`Invalid terminal mode opcode ${op}`);
    }
    modes.writeByte(op).writeUint32(uint32(v, `Terminal mode ${op}'s value`));
  }
  modes.writeByte(0);
  refuseNul(p.term, "The terminal type");
  return writeSize(new SSHWriter(128).writeStringUtf8(p.term), p).writeString(modes.toBytes())
    .toBytes();
}

/**
 * Throws a RangeError when `s` holds a NUL byte. OpenSSH's sshd reads these fields (and
 * channel types and request names) as C strings and ends the whole connection on one
 * ("invalid format"), every session with it: refused here, before anything is sent.
 *
 * @example
 * ```ts
 * import { refuseNul } from "./session_requests.ts";
 * try {
 *   refuseNul("xterm\0", "The terminal type");
 * } catch (e) {
 *   console.log((e as Error).message); // The terminal type must not contain a NUL byte
 * }
 * ```
 */
export function refuseNul(s: string | Uint8Array, what: string): void {
  if (typeof s === "string" ? s.includes("\0") : s.includes(0)) {
    throw new RangeError(`${what} must not contain a NUL byte`);
  }
}

/** Appends a terminal size (columns, rows, pixel width and height), each checked. */
function writeSize(w: SSHWriter, s: TerminalSize): SSHWriter {
  return w.writeUint32(uint32(s.columns, "columns")).writeUint32(uint32(s.rows, "rows"))
    .writeUint32(uint32(s.widthPixels ?? 0, "widthPixels"))
    .writeUint32(uint32(s.heightPixels ?? 0, "heightPixels"));
}

/**
 * Decodes the data of a "pty-req" request. Throws WireError when malformed.
 *
 * @example
 * ```ts
 * import { decodePtyRequest, encodePtyRequest } from "@sshts/ssh/core";
 * const p = decodePtyRequest(encodePtyRequest({ term: "vt100", columns: 132, rows: 43 }));
 * console.log(p.columns, p.rows); // 132 43
 * ``` */
export function decodePtyRequest(data: Uint8Array): PtyRequest {
  const r = new SSHReader(data);
  const term = r.readStringUtf8("TERM", MAX_NAME);
  const columns = r.readUint32("columns");
  const rows = r.readUint32("rows");
  const widthPixels = r.readUint32("width");
  const heightPixels = r.readUint32("height");
  const m = new SSHReader(r.readString("terminal modes", MAX_TERMINAL_MODES));
  const modes = new Map<number, number>();
  while (m.remaining > 0) {
    const op = m.readByte("mode opcode");
    if (op === 0) break;
    // Opcodes 160..255 have undefined argument formats: stop parsing there (RFC 4254 §8).
    if (op >= 160) break;
    modes.set(op, m.readUint32("mode value"));
  }
  return { term, columns, rows, widthPixels, heightPixels, modes };
}

/**
 * Encodes "window-change" data.
 *
 * @example
 * ```ts
 * import { encodeWindowChange } from "@sshts/ssh/core";
 * console.log(encodeWindowChange({ columns: 100, rows: 30 }).length); // 16
 * ``` */
export function encodeWindowChange(s: TerminalSize): Uint8Array {
  return writeSize(new SSHWriter(16), s).toBytes();
}

/**
 * Decodes "window-change" data.
 *
 * @example
 * ```ts
 * import { decodeWindowChange, encodeWindowChange } from "@sshts/ssh/core";
 * console.log(decodeWindowChange(encodeWindowChange({ columns: 100, rows: 30 })).rows); // 30
 * ``` */
export function decodeWindowChange(data: Uint8Array): Required<TerminalSize> {
  const r = new SSHReader(data);
  return {
    columns: r.readUint32("columns"),
    rows: r.readUint32("rows"),
    widthPixels: r.readUint32("width"),
    heightPixels: r.readUint32("height"),
  };
}

/**
 * Encodes a single string argument (exec command, subsystem name, signal name): UTF-8,
 * with escaped bytes (`core/escaped_utf8.ts`, as names from a listing hold them) sent
 * as the bytes they stand for.
 *
 * @example
 * ```ts
 * import { encodeStringArg } from "@sshts/ssh/core";
 * const exec = encodeStringArg("uname -a"); // data of an "exec" request
 * ``` */
export function encodeStringArg(s: string | Uint8Array): Uint8Array {
  refuseNul(s, "A command, subsystem or signal name");
  const w = new SSHWriter(s.length + 8);
  return w.writeString(typeof s === "string" ? encodeEscapedUtf8(s) : s).toBytes();
}

/**
 * Decodes a single string argument as bytes (exec commands need not be UTF-8).
 *
 * @example
 * ```ts
 * import { decodeStringArg, encodeStringArg } from "@sshts/ssh/core";
 * console.log(new TextDecoder().decode(decodeStringArg(encodeStringArg("ls"), "command"))); // "ls"
 * ``` */
export function decodeStringArg(
  data: Uint8Array,
  what: string,
  max = MAX_REQUEST_ARGUMENT,
): Uint8Array {
  const r = new SSHReader(data);
  return r.readString(what, max).slice();
}

/**
 * Encodes "env" data.
 *
 * @example
 * ```ts
 * import { decodeEnv, encodeEnv } from "./session_requests.ts";
 * console.log(decodeEnv(encodeEnv("LANG", "C.UTF-8")).value); // "C.UTF-8"
 * ``` */
export function encodeEnv(name: string, value: string): Uint8Array {
  refuseNul(name, "An environment variable's name");
  refuseNul(value, `Environment variable ${JSON.stringify(name)}'s value`);
  return new SSHWriter().writeStringUtf8(name).writeStringUtf8(value).toBytes();
}

/**
 * Decodes "env" data.
 *
 * @example
 * ```ts
 * import { decodeEnv, encodeEnv } from "./session_requests.ts";
 * const { name, value } = decodeEnv(encodeEnv("TZ", "UTC"));
 * ``` */
export function decodeEnv(data: Uint8Array): { name: string; value: string } {
  const r = new SSHReader(data);
  return {
    name: r.readStringUtf8("variable name", MAX_SHORT_TEXT),
    value: r.readStringUtf8("variable value", MAX_TEXT),
  };
}

/**
 * Encodes "exit-status" data.
 *
 * @example
 * ```ts
 * import { decodeExitStatus, encodeExitStatus } from "@sshts/ssh/core";
 * console.log(decodeExitStatus(encodeExitStatus(3))); // 3
 * ``` */
export function encodeExitStatus(status: number): Uint8Array {
  return new SSHWriter(4).writeUint32(status).toBytes();
}

/**
 * Decodes "exit-status" data.
 *
 * @example
 * ```ts
 * import { decodeExitStatus } from "@sshts/ssh/core";
 * console.log(decodeExitStatus(new Uint8Array([0, 0, 0, 1]))); // 1
 * ``` */
export function decodeExitStatus(data: Uint8Array): number {
  return new SSHReader(data).readUint32("exit status");
}

/** An exit signal (RFC 4254 §6.10): signal name without "SIG". */
export interface ExitSignal {
  /** The signal name without "SIG", e.g. "TERM" or "KILL". */
  readonly signal: string;
  /** True when the process dumped core. */
  readonly coreDumped: boolean;
  /** The peer's error message; may be empty. */
  readonly message: string;
  /** Language tag of `message` (RFC 3066); usually empty. */
  readonly language: string;
}

/**
 * Encodes "exit-signal" data.
 *
 * @example
 * ```ts
 * import { encodeExitSignal } from "@sshts/ssh/core";
 * const data = encodeExitSignal({ signal: "TERM", coreDumped: false, message: "", language: "" });
 * ``` */
export function encodeExitSignal(s: ExitSignal): Uint8Array {
  return new SSHWriter().writeStringUtf8(s.signal).writeBoolean(s.coreDumped).writeStringUtf8(
    s.message,
  )
    .writeStringUtf8(s.language).toBytes();
}

/**
 * Decodes "exit-signal" data.
 *
 * @example
 * ```ts
 * import { decodeExitSignal, encodeExitSignal } from "@sshts/ssh/core";
 * const s = decodeExitSignal(
 *   encodeExitSignal({ signal: "KILL", coreDumped: false, message: "", language: "" }),
 * );
 * console.log(s.signal); // "KILL"
 * ``` */
export function decodeExitSignal(data: Uint8Array): ExitSignal {
  const r = new SSHReader(data);
  return {
    signal: r.readStringAscii("signal name", MAX_SHORT_NAME),
    coreDumped: r.readBoolean("core dumped"),
    // Text for a person: a byte that is not UTF-8 (a Latin-1 message) is kept escaped, not a
    // reason to lose the exit itself (see readPeerText).
    message: readPeerText(r, "error message", MAX_TEXT),
    language: readPeerText(r, "language tag", MAX_NAME),
  };
}

/**
 * Encodes "break" data (RFC 4335): length in milliseconds.
 *
 * @example
 * ```ts
 * import { decodeBreak, encodeBreak } from "./session_requests.ts";
 * console.log(decodeBreak(encodeBreak(500))); // 500
 * ``` */
export function encodeBreak(ms: number): Uint8Array {
  return new SSHWriter(4).writeUint32(uint32(ms, "Break length")).toBytes();
}

/**
 * Decodes "break" data.
 *
 * @example
 * ```ts
 * import { decodeBreak } from "./session_requests.ts";
 * console.log(decodeBreak(new Uint8Array([0, 0, 1, 244]))); // 500
 * ``` */
export function decodeBreak(data: Uint8Array): number {
  return new SSHReader(data).readUint32("break length");
}

/**
 * Encodes "xon-xoff" data.
 *
 * @example
 * ```ts
 * import { decodeXonXoff, encodeXonXoff } from "./session_requests.ts";
 * console.log(decodeXonXoff(encodeXonXoff(true))); // true
 * ``` */
export function encodeXonXoff(clientCanDo: boolean): Uint8Array {
  return new Uint8Array([clientCanDo ? 1 : 0]);
}

/**
 * Decodes "xon-xoff" data.
 *
 * @example
 * ```ts
 * import { decodeXonXoff } from "./session_requests.ts";
 * console.log(decodeXonXoff(new Uint8Array([0]))); // false
 * ``` */
export function decodeXonXoff(data: Uint8Array): boolean {
  return new SSHReader(data).readBoolean("client can do");
}

/**
 * Encodes "x11-req" data.
 *
 * @example
 * ```ts
 * import { encodeX11Request } from "./session_requests.ts";
 * const data = encodeX11Request({
 *   singleConnection: false,
 *   authProtocol: "MIT-MAGIC-COOKIE-1",
 *   authCookie: "00112233445566778899aabbccddeeff",
 *   screen: 0,
 * });
 * ``` */
export function encodeX11Request(r: {
  singleConnection: boolean;
  authProtocol: string;
  authCookie: string;
  screen: number;
}): Uint8Array {
  refuseNul(r.authProtocol, "The X11 authentication protocol");
  refuseNul(r.authCookie, "The X11 authentication cookie");
  return new SSHWriter().writeBoolean(r.singleConnection).writeStringUtf8(r.authProtocol)
    .writeStringUtf8(r.authCookie).writeUint32(uint32(r.screen, "X11 screen")).toBytes();
}

/**
 * Decodes "x11-req" data.
 *
 * @example
 * ```ts
 * import { decodeX11Request, encodeX11Request } from "./session_requests.ts";
 * const x = decodeX11Request(
 *   encodeX11Request({ singleConnection: true, authProtocol: "MIT-MAGIC-COOKIE-1", authCookie: "ab", screen: 1 }),
 * );
 * console.log(x.screen); // 1
 * ``` */
export function decodeX11Request(data: Uint8Array): {
  singleConnection: boolean;
  authProtocol: string;
  authCookie: string;
  screen: number;
} {
  const r = new SSHReader(data);
  return {
    singleConnection: r.readBoolean("single connection"),
    authProtocol: r.readStringAscii("auth protocol", MAX_NAME),
    authCookie: r.readStringAscii("auth cookie", MAX_SHORT_TEXT),
    screen: r.readUint32("screen number"),
  };
}

/**
 * Encodes host/port pairs as in direct-tcpip and forwarded-tcpip opens (RFC 4254 §7.2).
 *
 * @example
 * ```ts
 * import { encodeTcpipOpen } from "./session_requests.ts";
 * const data = encodeTcpipOpen("db.internal", 5432, "127.0.0.1", 50000); // direct-tcpip open data
 * ``` */
export function encodeTcpipOpen(
  host: string,
  port: number,
  originHost: string,
  originPort: number,
): Uint8Array {
  checkPort(port, "port");
  checkPort(originPort, "originPort");
  return new SSHWriter().writeStringUtf8(host).writeUint32(port).writeStringUtf8(originHost)
    .writeUint32(originPort).toBytes();
}

/**
 * Decodes direct-tcpip / forwarded-tcpip open data.
 *
 * @example
 * ```ts
 * import { decodeTcpipOpen, encodeTcpipOpen } from "./session_requests.ts";
 * console.log(decodeTcpipOpen(encodeTcpipOpen("h", 80, "o", 1)).port); // 80
 * ``` */
export function decodeTcpipOpen(data: Uint8Array): {
  host: string;
  port: number;
  originHost: string;
  originPort: number;
} {
  const r = new SSHReader(data);
  return {
    host: r.readStringUtf8("host", MAX_SHORT_TEXT),
    port: r.readUint32("port"),
    originHost: r.readStringUtf8("originator address", MAX_SHORT_TEXT),
    originPort: r.readUint32("originator port"),
  };
}
