/**
 * Debug logging for connections: the `logger` and `logLevel` options of
 * `connect()` and `listen()`, and the `SSHTS_DEBUG` environment switch.
 *
 * What is logged is chosen field by field from the engine's events (a
 * whitelist): host, port and addresses, negotiated algorithms, authentication
 * methods and results, channel numbers and types, request names, disconnect
 * reasons, and at `trace` every event's type with its size. Never a payload:
 * no passwords, keys, signatures, session keys, keyboard-interactive answers or
 * channel data. Text a peer chose (a user name, a channel type, a request
 * name, a disconnect reason) is bounded and escaped: it cannot break a line, or
 * close its quotes, to forge another entry.
 *
 * @module
 */

import type { ClientEvent } from "../../core/client/client_connection.ts";
import { escapeControls } from "../../core/peer_text.ts";
import type { ServerEvent } from "../../core/server/server_connection.ts";
import { envVar } from "../runtime/env.ts";

/** Log levels, most severe first: a logger at `debug` also gets `error`, `warn` and `info`. */
export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";

/**
 * Where log lines go: any object with `console`'s methods (`console` itself, or
 * pino/winston-style loggers). Missing methods fall back to `log`. Messages of
 * level `trace` go to `debug` (`console.trace` would print a stack).
 */
export interface ConsoleLike {
  /** Receives `error` messages. */
  error?(message: string): void;
  /** Receives `warn` messages. */
  warn?(message: string): void;
  /** Receives `info` messages. */
  info?(message: string): void;
  /** Receives `debug` and `trace` messages. */
  debug?(message: string): void;
  /** The fallback for a missing method. */
  log?(message: string): void;
}

/** The options of `connect()` and `listen()` that turn logging on. */
export interface LogOptions {
  /** Where to log (default `console` when `SSHTS_DEBUG` is set, else nowhere). */
  readonly logger?: ConsoleLike;
  /**
   * The most detailed level logged (default `info` with a `logger`, else what
   * `SSHTS_DEBUG` says: `1` = `debug`, `trace` = `trace`, or a level name).
   */
  readonly logLevel?: LogLevel;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** Reads `SSHTS_DEBUG`: `1`, `true` or `debug` mean debug; `trace` or another level name, that. */
export function debugLevelFromEnv(): LogLevel | undefined {
  const v = envVar("SSHTS_DEBUG")?.trim().toLowerCase();
  if (!v || v === "0" || v === "false" || v === "off") return undefined;
  if (v in RANK) return v as LogLevel;
  return "debug";
}

/**
 * A connection's logger: a prefix, a sink and a level. `Log.none` logs nothing.
 *
 * @example
 * ```ts
 * import { Log } from "./logger.ts";
 * const log = Log.from({ logger: console, logLevel: "debug" }, "[sshts client example:22]");
 * log.info("connecting");
 * ```
 */
export class Log {
  readonly #sink: ConsoleLike | undefined;
  readonly #rank: number;
  readonly #prefix: string;

  /** A logger writing lines that start with `prefix` to `sink`, up to `level`. */
  constructor(sink: ConsoleLike | undefined, level: LogLevel, prefix: string) {
    this.#sink = sink;
    this.#rank = sink ? RANK[level] : -1;
    this.#prefix = prefix;
  }

  /** A logger that logs nothing. */
  static get none(): Log {
    return SILENT;
  }

  /** A logger from connect or listen options and the environment (nothing if neither asks). */
  static from(options: LogOptions, prefix: string): Log {
    const env = debugLevelFromEnv();
    const sink = options.logger ?? (env ? (globalThis.console as ConsoleLike) : undefined);
    // Without a sink nothing is ever written: one shared silent log (and no prefix string
    // per connection, which a fan-out holding thousands of connections would pay).
    if (sink === undefined) return SILENT;
    return new Log(sink, options.logLevel ?? env ?? "info", prefix);
  }

  /** The same sink and level with another prefix. */
  child(prefix: string): Log {
    if (this.#rank < 0) return SILENT;
    const level = (Object.keys(RANK) as LogLevel[]).find((l) => RANK[l] === this.#rank) ?? "info";
    return new Log(this.#rank < 0 ? undefined : this.#sink, level, prefix);
  }

  /** Whether `level` is logged (check before building an expensive message). */
  on(level: LogLevel): boolean {
    return RANK[level] <= this.#rank;
  }

  /**
   * Logs at `level`. A throwing sink is ignored: logging never breaks a connection.
   * A message is one line: its control characters (newlines among them) are escaped
   * as `\xNN`, so no text in it, a peer's included (an error quoting a user name, a
   * reason the server gave), can start a forged line.
   *
   * @example
   * ```ts
   * import { Log } from "./logger.ts";
   * const log = new Log({ log: console.log }, "info", "[p]");
   * log.info("one\nline"); // [p] one\x0aline
   * ```
   */
  write(level: LogLevel, message: string): void {
    if (!this.on(level)) return;
    const s = this.#sink!;
    const method = level === "trace" ? "debug" : level;
    const line = `${this.#prefix} ${escapeControls(message)}`;
    try {
      const f = s[method] ?? s.log;
      f?.call(s, line);
    } catch { /* a broken logger must not break the connection */ }
  }

  /** Logs an error. */
  error(message: string): void {
    this.write("error", message);
  }
  /** Logs a warning. */
  warn(message: string): void {
    this.write("warn", message);
  }
  /** Logs a phase. */
  info(message: string): void {
    this.write("info", message);
  }
  /** Logs a detail. */
  debug(message: string): void {
    this.write("debug", message);
  }
  /** Logs a trace line. */
  trace(message: string): void {
    this.write("trace", message);
  }

  /**
   * At `trace`, logs every packet's direction, message number and length on
   * `transport` (the engine's); nothing otherwise.
   */
  tracePackets(transport: {
    packetObserver: ((d: "in" | "out", type: number, length: number) => void) | undefined;
  }): void {
    if (!this.on("trace")) return;
    transport.packetObserver = (d, type, length) =>
      this.trace(`packet ${d} msg ${type} payload ${length} bytes`);
  }

  /**
   * Logs what an engine event means, picking only fields that hold no secret.
   * Called for every event of a client or server engine.
   */
  event(e: ClientEvent | ServerEvent): void {
    if (this.#rank < 2) {
      if (e.type === "disconnect") this.#disconnect(e.error);
      return;
    }
    if (this.on("trace")) this.trace(`event ${e.type}${traceDetail(e)}`);
    switch (e.type) {
      case "kexComplete": {
        const a = e.algorithms;
        this.info(
          `${e.initial ? "key exchange" : "rekey"} done: kex ${a.kex}, host key ${a.hostKey}, ` +
            `cipher ${a.cipherC2S}/${a.cipherS2C}, mac ${a.macC2S || "(aead)"}/${
              a.macS2C || "(aead)"
            }, ` +
            `compression ${a.compressionC2S}/${a.compressionS2C}, strict kex ${
              e.strictKex ? "on" : "off"
            }`,
        );
        return;
      }
      case "hostKey":
        return this.debug(`server host key offered (${e.algorithm})`);
      case "authSignRequest":
        return this.info(
          `auth: trying ${clip(e.method)} with key #${e.keyIndex} (${clip(e.algorithm)})`,
        );
      case "authPasswordRequest":
        return this.info(`auth: trying password (attempt ${e.attempt})`);
      case "authPasswordChangeRequest":
        return this.info("auth: the server asks for a password change");
      case "authPasswordChanged":
        return this.info("auth: the server accepted the new password");
      case "authPasswordChangeFailed":
        return this.info(
          `auth: the server did not accept the new password (${clip(e.reason)})`,
        );
      case "authKbdintRequest":
        return this.info(`auth: keyboard-interactive challenge with ${e.prompts.length} prompt(s)`);
      case "authFailure":
        return this.info(
          `auth: ${clip(e.method)} failed${e.partialSuccess ? " (partial success)" : ""}`,
        );
      case "authSuccess":
        return this.info(`auth: authenticated with ${clip(e.method)}`);
      case "authBanner":
        return this.debug(`auth: banner of ${e.message.length} characters`);
      case "authNone":
        return this.info(`auth: user ${quoted(e.username)} asks to log in (method none)`);
      case "authPassword":
        return this.info(`auth: user ${quoted(e.username)} tries password`);
      case "authPublicKey":
        return this.info(`auth: user ${quoted(e.username)} tries publickey (${clip(e.algorithm)})`);
      case "authKbdint":
        return this.info(`auth: user ${quoted(e.username)} tries keyboard-interactive`);
      case "authHostbased":
        return this.info(`auth: user ${quoted(e.username)} tries hostbased (${clip(e.algorithm)})`);
      case "authenticated":
        return this.info(`auth: user ${quoted(e.username)} authenticated with ${clip(e.method)}`);
      case "channelOpenRequest":
        return this.debug(`channel ${e.channelId}: peer opens a ${clip(e.channelType)} channel`);
      case "channelOpen":
        return this.debug(`channel ${e.channelId}: open`);
      case "channelOpenFailure":
        return this.info(
          `channel ${e.channelId}: open refused (reason ${e.reason}): ${clip(e.description)}`,
        );
      case "channelRequest":
        return this.debug(`channel ${e.channelId}: peer request ${clip(e.request)}`);
      case "channelEof":
        return this.debug(`channel ${e.channelId}: EOF from peer`);
      case "channelClose":
        return this.debug(`channel ${e.channelId}: closed`);
      case "globalRequest":
        return this.debug(`global request ${clip(e.name)} from peer`);
      case "keepaliveTimeout":
        return this.warn("the peer stopped answering keepalives");
      case "loginTimeout":
        return this.warn("login timed out");
      case "debug":
        return this.debug(`peer debug message: ${clip(e.message)}`);
      case "disconnect":
        return this.#disconnect(e.error);
      default:
        return;
    }
  }

  #disconnect(error: { code: string; message: string; fromPeer?: boolean }): void {
    const by = error.fromPeer ? " by the peer" : "";
    const level: LogLevel = error.code === "ERR_BY_APPLICATION" ||
        error.code === "ERR_PEER_DISCONNECTED"
      ? "info"
      : "warn";
    if (!this.on(level)) return; // every connection ends here: no line built for nobody
    this.write(
      level,
      `disconnected${by}: ${error.code}: ${clip(error.message)}`,
    );
  }
}

/** The log of a connection without a logger: writes nothing, shared by all of them. */
const SILENT = new Log(undefined, "info", "");

/**
 * Peer text for a log line: bounded, with control characters (newlines among them,
 * which would start a forged line) and bidirectional overrides escaped, and
 * backslashes doubled so an escape cannot be faked by sending its spelling.
 */
function clip(s: string, max = 200): string {
  const cut = s.length > max ? `${s.slice(0, max)}...` : s;
  return escapeControls(cut.replaceAll("\\", "\\\\"));
}

/** Peer text between double quotes, which it cannot close (`"` is escaped as `\"`). */
function quoted(s: string): string {
  return `"${clip(s).replaceAll('"', '\\"')}"`;
}

/** Sizes and ids for the trace: what kind of event, on which channel, how many bytes. */
function traceDetail(e: ClientEvent | ServerEvent): string {
  const x = e as { channelId?: number; data?: Uint8Array; stream?: number; window?: number };
  let out = "";
  if (typeof x.channelId === "number") out += ` channel ${x.channelId}`;
  if (e.type === "channelData") out += ` stream ${e.stream}`;
  if (x.data instanceof Uint8Array) out += ` ${x.data.length} bytes`;
  if (e.type === "channelWritable") out += ` window ${e.window}`;
  return out;
}
