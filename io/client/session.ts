/**
 * Starting things on a session channel: the options of `createProcess`, `run`
 * and `createSession` (env, pty, X11 and agent forwarding), the requests that
 * start a command, shell or subsystem, and AsyncSSH-style callback sessions.
 *
 * @module
 */

import {
  decodeExitSignal,
  decodeExitStatus,
  decodeXonXoff,
  encodeEnv,
  encodePtyRequest,
  encodeStringArg,
  encodeX11Request,
  type ExitSignal,
  type PtyRequest,
  type TerminalSize,
} from "../../core/connection/session_requests.ts";
import { SSHError } from "../../core/errors.ts";
import { toHex } from "../../core/wire.ts";
import { type ChannelIO, valueKind } from "../engine/channel.ts";
import type { RedirectOptions } from "./redirect.ts";

/** What to start on a session channel: a command, a shell, or a subsystem. */
export type ProcessTarget = string | { readonly shell: true } | { readonly subsystem: string };

/**
 * Refuses, with a TypeError naming the call, a target that is no {@link ProcessTarget} and
 * options that are no object — before a channel opens. The shapes other libraries take
 * (ssh2/node-ssh's `exec(command, args)`, an argv array) would otherwise run the command
 * without its arguments, or fail deep inside with a message that names neither.
 *
 * @example
 * ```ts
 * import { checkProcessArgs } from "./session.ts";
 * try {
 *   checkProcessArgs(["echo", "hi"], {}, "run");
 * } catch (e) {
 *   console.log((e as Error).message); // "run(command): the command is one string …"
 * }
 * ```
 */
export function checkProcessArgs(target: unknown, options: unknown, call: string): void {
  const ok = typeof target === "string" ||
    (typeof target === "object" && target !== null && !Array.isArray(target) &&
      ((target as { shell?: unknown }).shell === true ||
        typeof (target as { subsystem?: unknown }).subsystem === "string"));
  if (!ok) {
    throw new TypeError(
      `${call}(command): the command is one string (quote arguments into it: shellQuote() of ` +
        `"@sshts/ssh/sftp"), { shell: true } or { subsystem: name }; got ${valueKind(target)}`,
    );
  }
  if (
    options !== undefined &&
    (typeof options !== "object" || options === null || Array.isArray(options))
  ) {
    throw new TypeError(
      `${call}(command, options): options must be an object; got ${valueKind(options)}` +
        (Array.isArray(options) ? " (arguments go in the command string)" : ""),
    );
  }
  const o = options as { term?: unknown; pty?: unknown } | undefined;
  const term = o?.term;
  if (
    term !== undefined &&
    typeof term !== "string" && (typeof term !== "object" || term === null || Array.isArray(term))
  ) {
    throw new TypeError(
      `${call}(command, { term }): term is a TERM name ("xterm-256color") or ` +
        `{ type, size, modes }; got ${valueKind(term)}`,
    );
  }
  // ssh2's and node-ssh's name: ignored, it would run without the terminal asked for.
  if (o !== undefined && "pty" in o && o.pty !== undefined) {
    throw new TypeError(
      `${call}(command, { pty }): no such option; a pseudo-terminal is asked for with ` +
        `term: "xterm" (a TERM name) or term: { type, size, modes }`,
    );
  }
}

/** Pseudo-terminal settings (`term` of {@link ProcessOptions}). */
export interface TerminalOptions {
  /** TERM, e.g. "xterm-256color" (default "xterm"). */
  readonly type?: string;
  /** Size in characters (and optionally pixels); default 80×24. */
  readonly size?: TerminalSize;
  /** Terminal modes: RFC 4254 §8 opcode → value (see {@link TerminalMode}). */
  readonly modes?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
}

/**
 * Terminal mode opcodes (RFC 4254 §8, IUTF8 from RFC 8160), for {@link TerminalOptions.modes}:
 * control characters (`V*`, the character's code, 255 for none), flags (0 or 1) and the
 * line speeds in bits per second.
 *
 * @example
 * ```ts
 * import { TerminalMode } from "@sshts/ssh";
 * const modes = { [TerminalMode.ECHO]: 0, [TerminalMode.VINTR]: 3, [TerminalMode.IUTF8]: 1 };
 * console.log(modes); // { "1": 3, "42": 1, "53": 0 } — pass as `term: { modes }`
 * ```
 */
export const TerminalMode = {
  VINTR: 1,
  VQUIT: 2,
  VERASE: 3,
  VKILL: 4,
  VEOF: 5,
  VEOL: 6,
  VEOL2: 7,
  VSTART: 8,
  VSTOP: 9,
  VSUSP: 10,
  VDSUSP: 11,
  VREPRINT: 12,
  VWERASE: 13,
  VLNEXT: 14,
  VFLUSH: 15,
  VSWTCH: 16,
  VSTATUS: 17,
  VDISCARD: 18,
  IGNPAR: 30,
  PARMRK: 31,
  INPCK: 32,
  ISTRIP: 33,
  INLCR: 34,
  IGNCR: 35,
  ICRNL: 36,
  IUCLC: 37,
  IXON: 38,
  IXANY: 39,
  IXOFF: 40,
  IMAXBEL: 41,
  IUTF8: 42,
  ISIG: 50,
  ICANON: 51,
  XCASE: 52,
  ECHO: 53,
  ECHOE: 54,
  ECHOK: 55,
  ECHONL: 56,
  NOFLSH: 57,
  TOSTOP: 58,
  IEXTEN: 59,
  ECHOCTL: 60,
  ECHOKE: 61,
  PENDIN: 62,
  OPOST: 70,
  OLCUC: 71,
  ONLCR: 72,
  OCRNL: 73,
  ONOCR: 74,
  ONLRET: 75,
  CS7: 90,
  CS8: 91,
  PARENB: 92,
  PARODD: 93,
  TTY_OP_ISPEED: 128,
  TTY_OP_OSPEED: 129,
} as const;

/** X11 forwarding for a session (`x11Forwarding` of {@link ProcessOptions}). */
export interface X11ForwardingOptions {
  /** Display screen number (default 0). */
  readonly screen?: number;
  /** Authentication protocol (default "MIT-MAGIC-COOKIE-1"). */
  readonly authProtocol?: string;
  /** Authentication cookie in hex (default: 16 random bytes). */
  readonly authCookie?: string;
  /** Forward only one X11 connection. */
  readonly singleConnection?: boolean;
  /** A server that refuses X11 forwarding is not an error: the session starts without it. */
  readonly ignoreFailure?: boolean;
}

/** Options of `createProcess`, `createSession` and `run`. */
export interface ProcessOptions extends RedirectOptions {
  /**
   * Stops waiting for the session to open and the process to start: rejects with
   * the signal's reason and closes the channel (`run` stops waiting for it to end too).
   * Closing the channel ends the remote process only when it has a terminal (`term`: it
   * gets SIGHUP), as with `ssh`; without one it runs on — send `p.kill()` first to stop it.
   */
  readonly signal?: AbortSignal;
  /** Environment variables to send (the server must accept them, e.g. OpenSSH's AcceptEnv). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Names of this process's environment variables to send, `*` and `?` wildcards allowed
   * (AsyncSSH's `send_env`): instead of the connection's `sendEnv`. `env` wins for a name
   * in both.
   */
  readonly sendEnv?: readonly string[];
  /** Request a pseudo-terminal: a TERM name, or full settings. */
  readonly term?: string | TerminalOptions | PtyRequest;
  /** Decode output as text in this encoding (e.g. "utf-8"); stdin then takes strings too. */
  readonly encoding?: string;
  /**
   * With `encoding`: "replace" (default) turns undecodable bytes into U+FFFD,
   * "strict" fails the stream (and `wait()`) with a TypeError (AsyncSSH's `errors`).
   */
  readonly errors?: "strict" | "replace";
  /**
   * Ask for X11 forwarding. `true` forwards to the local display: `DISPLAY` and its cookie
   * from `.Xauthority`, a fake cookie sent to the server, each x11 channel connected to the
   * display (see `setUpX11Forwarding`; it fails without `DISPLAY`) — unless the connection's
   * `onX11Channel` is set, which then gets the channels. Trusted by default, as `ssh -Y`
   * (remote X clients get the display's own cookie, so the X server treats them as local
   * ones); with the connection's `x11Display: { trusted: false }` (or ssh_config's
   * `ForwardX11Trusted no`, OpenSSH's default) as `ssh -X`: `xauth` generates a cookie the X
   * server restricts, and new X11 connections stop after `ForwardX11Timeout`.
   * `"ignoreFailure"` (AsyncSSH's `ignore_failure`; what ssh_config's `ForwardX11` asks for,
   * as `ssh` goes on without X11): the same, but no `DISPLAY`, a set-up that fails or a
   * server that refuses only logs a warning and the session starts without X11. An options
   * object sends those values as they are, the channels going to `onX11Channel`.
   */
  readonly x11Forwarding?: boolean | "ignoreFailure" | X11ForwardingOptions;
  /**
   * Ask for agent forwarding: the server's agent channels go to the connection's
   * `onAgentChannel`, or, when none is set, to the connection's agent (its `agent` option,
   * or `SSH_AUTH_SOCK`) — from the first session that asks on (as with ssh's `-A`).
   */
  readonly agentForwarding?: boolean;
  /** Receive window of this session's channel (default: the connection's `windowSize`). */
  readonly windowSize?: number;
  /** Largest data packet accepted on this session's channel (default: the connection's). */
  readonly maxPacketSize?: number;
}

function ptyRequestOf(term: string | TerminalOptions | PtyRequest): PtyRequest {
  if (typeof term === "string") return { term, columns: 80, rows: 24 };
  if ("term" in term) return term;
  const size = term.size ?? { columns: 80, rows: 24 };
  const modes = term.modes instanceof Map
    ? term.modes
    : new Map(Object.entries(term.modes ?? {}).map(([k, v]) => [Number(k), v as number]));
  return { term: term.type ?? "xterm", ...size, modes };
}

function x11RequestOf(x: true | "ignoreFailure" | X11ForwardingOptions): Uint8Array {
  const o = typeof x === "object" ? x : {};
  let cookie = o.authCookie;
  if (!cookie) {
    const b = crypto.getRandomValues(new Uint8Array(16));
    cookie = toHex(b);
  }
  return encodeX11Request({
    singleConnection: o.singleConnection ?? false,
    authProtocol: o.authProtocol ?? "MIT-MAGIC-COOKIE-1",
    authCookie: cookie,
    screen: o.screen ?? 0,
  });
}

/**
 * Sends a session's set-up requests (env, pty-req, x11-req,
 * auth-agent-req@openssh.com) and then exec, shell or subsystem. Rejects when
 * the server refuses the pty, X11 forwarding (unless asked to ignore that: then `warn`
 * hears of it) or the start itself.
 *
 * @example
 * ```ts ignore
 * const ch = await conn.openSession();
 * await startSession(ch, "uname -a", { env: { LANG: "C" } });
 * ```
 */
export async function startSession(
  ch: ChannelIO,
  target: ProcessTarget,
  options: ProcessOptions,
  warn?: (message: string) => void,
): Promise<void> {
  // A request pending when the connection went settles as refused: say what happened.
  const refused = (message: string): Error =>
    ch.abortReason ?? new SSHError("ERR_CHANNEL", message);
  for (const [name, value] of Object.entries(options.env ?? {})) {
    // OpenSSH ignores variables outside AcceptEnv; that is not fatal (as ssh's SendEnv).
    await ch.request("env", encodeEnv(name, value), false);
  }
  if (options.term) {
    if (!(await ch.request("pty-req", encodePtyRequest(ptyRequestOf(options.term))))) {
      throw refused("The server refused to allocate a pseudo-terminal");
    }
  }
  const x11 = options.x11Forwarding;
  if (x11) {
    if (!(await ch.request("x11-req", x11RequestOf(x11)))) {
      const ignore = x11 === "ignoreFailure" || (x11 !== true && x11.ignoreFailure === true);
      if (!ignore || ch.abortReason) throw refused("The server refused X11 forwarding");
      warn?.("The server refused X11 forwarding: the session goes on without it");
    }
  }
  if (options.agentForwarding) {
    // As ssh: no reply asked; a server that refuses simply opens no agent channels.
    await ch.request("auth-agent-req@openssh.com", undefined, false);
  }
  let ok: boolean;
  if (typeof target === "string") ok = await ch.request("exec", encodeStringArg(target));
  else if ("shell" in target) ok = await ch.request("shell");
  else ok = await ch.request("subsystem", encodeStringArg(target.subsystem));
  if (!ok) {
    const what = typeof target === "string"
      ? `run "${target}"`
      : "shell" in target
      ? "start a shell"
      : `start subsystem "${target.subsystem}"`;
    throw refused(`The server refused to ${what}`);
  }
}

/**
 * Callbacks for a channel, as AsyncSSH's session objects: the low-level
 * alternative to streams. `dataReceived` may return a promise: the channel
 * window stays closed until it settles, so a slow handler slows the peer.
 */
export interface SSHChannelSession {
  /** The channel is open (and, for a session, started). */
  connectionMade?(channel: ChannelIO): void;
  /** Data arrived: stream 0 is data, 1 is stderr. */
  dataReceived?(data: Uint8Array, stream: number): void | Promise<void>;
  /**
   * The peer sent EOF (after all its data was delivered). Return (or resolve with) `true`
   * to go on writing; otherwise EOF is sent back, as AsyncSSH's `eof_received` — so a
   * forwarded connection whose far end finished closes, rather than waiting half-open for
   * our EOF.
   */
  eofReceived?(): unknown;
  /** The channel is closed; `error` when the connection failed under it. */
  connectionLost?(error: Error | undefined): void;
}

/** Callbacks for a session channel: {@link SSHChannelSession} plus what a process reports. */
export interface SSHClientSession extends SSHChannelSession {
  /** The process exited with `status`. */
  exitStatusReceived?(status: number): void;
  /** The process was killed by a signal. */
  exitSignalReceived?(signal: ExitSignal): void;
  /** The server's xon-xoff notice: whether the client may do flow control itself. */
  xonXoffRequested?(clientCanDo: boolean): void;
}

/**
 * Drives `session`'s callbacks from `channel`: delivers data in order with
 * backpressure, then EOF, then the close.
 *
 * @example
 * ```ts ignore
 * attachSession(channel, { dataReceived: (d) => console.log(d.length) }, 1);
 * ```
 */
export function attachSession(
  channel: ChannelIO,
  session: SSHClientSession,
  streams: 1 | 2 = 2,
): void {
  channel.onRequest = (request, data) => {
    if (request === "exit-status") session.exitStatusReceived?.(decodeExitStatus(data));
    else if (request === "exit-signal") session.exitSignalReceived?.(decodeExitSignal(data));
    else if (request === "xon-xoff") session.xonXoffRequested?.(decodeXonXoff(data));
    else return false;
    return true;
  };
  let failure: Error | undefined;
  // One delivery chain for both streams keeps callbacks from overlapping.
  let chain: Promise<void> = Promise.resolve();
  const pump = async (stream: number) => {
    try {
      for await (const c of channel.readable(stream)) {
        const p = chain.then(() => session.dataReceived?.(c, stream));
        chain = p.catch(() => {});
        await p;
      }
    } catch (e) {
      failure ??= e as Error;
    }
  };
  const pumps = Array.from({ length: streams }, (_, s) => pump(s));
  session.connectionMade?.(channel);
  // The application's callbacks: an error they throw is theirs, reported to connectionLost
  // (as one from dataReceived is), never an unhandled rejection that ends the process.
  void Promise.all(pumps).then(async () => {
    await chain;
    if (channel.eofReceived && !failure) {
      let keepWriting: unknown = false;
      try {
        // Awaited: an async eofReceived() answers with its promise.
        keepWriting = await session.eofReceived?.();
      } catch (e) {
        failure ??= e as Error;
      }
      if (keepWriting !== true) channel.sendEof(); // after the writes already queued
    }
    await channel.closedPromise;
    try {
      session.connectionLost?.(failure);
    } catch { /* nothing is left to tell */ }
  }).catch(() => {});
}
