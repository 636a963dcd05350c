/**
 * A session channel on the server: its requests (pty-req, env, x11-req, exec,
 * shell, subsystem, window-change, signal, break) become an {@link SSHServerProcess}
 * run by the application's factory, with the connection's permissions applied
 * (forced command, forced environment, no-pty).
 *
 * @module
 */

import {
  decodeBreak,
  decodeEnv,
  decodePtyRequest,
  decodeStringArg,
  decodeWindowChange,
  type PtyRequest,
} from "../../core/connection/session_requests.ts";
import { decodeEscapedUtf8 } from "../../core/escaped_utf8.ts";
import { matchPatternList } from "../../keys/trust/host_patterns.ts";
import type { ChannelIO } from "../engine/channel.ts";
import type { Log } from "../engine/logger.ts";
import { setImmediate } from "node:timers";
import type { LineEditorOptions } from "./line_editor.ts";
import type { ConnectionPermissions } from "./permissions.ts";
import type { ServerConnectionContext } from "./context.ts";
import type { MaybePromise, ProcessFactory, ProcessRequest } from "./options.ts";
import { SSHServerProcess } from "./process.ts";
import type { SessionAgent } from "../agent/server_forwarding.ts";
import { MAX_SESSION_ENV, MAX_SESSION_ENV_BYTES, SESSION_CLOSE_GRACE_MS } from "../limits.ts";
import { parseX11Request, type SessionX11, type X11Request } from "./x11.ts";

/** What a session needs to know about its connection and the server's settings. */
export interface SessionConfig {
  /** The connection being authenticated. */
  readonly conn: ServerConnectionContext;
  /** The authenticated user. */
  readonly username: string;
  /** What the authenticated key may do. */
  readonly permissions: ConnectionPermissions;
  /** Grant pty requests at all. */
  readonly allowPty: boolean;
  /** Accepted variable name patterns (`listen({ acceptEnv })`); undefined accepts none. */
  readonly acceptEnv: readonly string[] | undefined;
  /** Which `environment=` options apply (`listen({ permitUserEnvironment })`; default none). */
  readonly permitUserEnvironment?: boolean | readonly string[] | undefined;
  /** Line editor settings, or false. */
  readonly lineEditor: LineEditorOptions | false;
  /** Runs exec/shell sessions. */
  readonly processFactory: ProcessFactory | undefined;
  /** Runs the sftp subsystem. */
  readonly sftpFactory: ProcessFactory | undefined;
  /**
   * Starts agent forwarding for this session when the connection allows it
   * (undefined when it never does); resolves undefined when refused.
   */
  readonly agentForwarding?: (() => Promise<SessionAgent | undefined>) | undefined;
  /**
   * Starts X11 forwarding for this session when the connection allows it
   * (undefined when it never does); resolves undefined when refused.
   */
  readonly x11Forwarding?: ((req: X11Request) => Promise<SessionX11 | undefined>) | undefined;
  /** Decides each shell, exec or subsystem request (undefined: all run). */
  readonly processRequested?: ((request: ProcessRequest) => MaybePromise<boolean>) | undefined;
  /** The connection's log (refused env requests at debug, refused X11 requests at info). */
  readonly log?: Log | undefined;
}

/**
 * Whether an authorized_keys `environment=` variable goes into sessions: only as
 * `permitUserEnvironment` allows (sshd's PermitUserEnvironment; default no), and never one
 * the server sets itself ({@link SERVER_SET_ENV}).
 *
 * @example
 * ```ts
 * import { userEnvironmentPermitted } from "./session.ts";
 * console.log(userEnvironmentPermitted("TZ", ["TZ"]), userEnvironmentPermitted("TZ", undefined)); // true false
 * ```
 */
export function userEnvironmentPermitted(
  name: string,
  permit: boolean | readonly string[] | undefined,
): boolean {
  if (permit === undefined || permit === false || SERVER_SET_ENV.includes(name)) return false;
  return permit === true || matchPatternList(name, permit, false) === 1;
}

/**
 * Variables a session's environment gets from the server, never from a client's `env`
 * request, whatever `acceptEnv` says: the ones this server sets (`SSH_ORIGINAL_COMMAND`,
 * `SSH_AUTH_SOCK`, `DISPLAY`, `XAUTHORITY`) and the ones sshd sets after the client's,
 * which programs read as the server's word on who and where the login is.
 *
 * @example
 * ```ts
 * import { SERVER_SET_ENV } from "@sshts/ssh";
 * console.log(SERVER_SET_ENV.includes("SSH_CONNECTION")); // true
 * ```
 */
export const SERVER_SET_ENV: readonly string[] = Object.freeze([
  "SSH_ORIGINAL_COMMAND",
  "SSH_AUTH_SOCK",
  "DISPLAY",
  "XAUTHORITY",
  "SSH_CONNECTION",
  "SSH_CLIENT",
  "SSH_TTY",
  "SSH_USER_AUTH",
  "USER",
  "LOGNAME",
  "HOME",
  "SHELL",
  "PATH",
  "MAIL",
]);

/**
 * Why a client's `env` request is refused, or undefined to accept it: a name that
 * is empty or holds `=` or NUL (a `MODE=rw` name would come first in the child's
 * environment and shadow `MODE`), a value with NUL, a name `acceptEnv` does not
 * match (none without it, as sshd's AcceptEnv), or one the server sets itself
 * ({@link SERVER_SET_ENV}, authorized_keys `environment=`).
 *
 * @example
 * ```ts
 * import { clientEnvRefusal } from "./session.ts";
 * const forced = [{ name: "MODE", value: "readonly" }];
 * console.log(clientEnvRefusal("LANG", "C", ["LANG", "LC_*"], forced)); // undefined
 * console.log(clientEnvRefusal("MODE", "rw", ["*"], forced)); // set by the key's environment= option
 * ```
 */
export function clientEnvRefusal(
  name: string,
  value: string,
  acceptEnv: readonly string[] | undefined,
  environment: readonly { readonly name: string }[],
): string | undefined {
  if (name === "" || name.includes("=") || name.includes("\0")) return "not a variable name";
  if (value.includes("\0")) return "the value holds NUL";
  if (!acceptEnv || matchPatternList(name, acceptEnv, false) !== 1) return "not in acceptEnv";
  if (SERVER_SET_ENV.includes(name)) return "set by the server";
  if (environment.some((e) => e.name === name)) return "set by the key's environment= option";
  return undefined;
}

/** OpenSSH's name for its built-in SFTP server, honoured as a forced command. */
const INTERNAL_SFTP = "internal-sftp";

/**
 * Handles requests on an accepted session channel; the process starts on exec,
 * shell or subsystem.
 *
 * @example
 * ```ts ignore
 * attachSession(channel, { conn, username, permissions, allowPty: true, acceptEnv: undefined,
 *   lineEditor: {}, processFactory, sftpFactory: undefined });
 * ```
 */
export function attachSession(ch: ChannelIO, cfg: SessionConfig): void {
  // A Map: in an object, a variable named "__proto__" was dropped (while the request was
  // granted) and its size, counted against a prototype, made the byte count NaN, which
  // lifted the MAX_SESSION_ENV_BYTES cap for the session's other variables.
  const env = new Map<string, string>();
  let terminal: PtyRequest | undefined;
  let process: SSHServerProcess | undefined;
  let starting = false;
  /** Bytes of the env variables held (names and values), see MAX_SESSION_ENV_BYTES. */
  let envBytes = 0;
  let agent: Promise<SessionAgent | undefined> | undefined;
  let x11: Promise<SessionX11 | undefined> | undefined;
  const decoder = new TextDecoder();
  // The client's CLOSE while the process runs: its exit status goes first, within a grace.
  ch.holdCloseReply(() => {
    if (!process) return ch.close();
    const timer = setTimeout(() => ch.close(), SESSION_CLOSE_GRACE_MS);
    void ch.closedPromise.then(() => clearTimeout(timer));
  });
  ch.onRequest = (request, data) => {
    switch (request) {
      case "env": {
        const { name, value } = decodeEnv(data);
        // Setup requests end once a start request came: what processRequested approved
        // (or what started) is what runs, as sshd refuses them past the session's setup.
        if (process || starting || env.size >= MAX_SESSION_ENV) return false;
        if (envBytes + name.length + value.length > MAX_SESSION_ENV_BYTES) {
          cfg.log?.debug(`session: refused env ${JSON.stringify(name)}: over the size cap`);
          return false;
        }
        const why = clientEnvRefusal(name, value, cfg.acceptEnv, cfg.permissions.environment);
        if (why !== undefined) {
          cfg.log?.debug(`session: refused env ${JSON.stringify(name)}: ${why}`);
          return false;
        }
        const before = env.get(name);
        envBytes += before === undefined
          ? name.length + value.length
          : value.length - before.length;
        env.set(name, value);
        return true;
      }
      case "pty-req": {
        // One terminal per session (sshd ends the connection at a second pty-req).
        if (process || starting || terminal || !cfg.allowPty || !cfg.permissions.pty) {
          return false;
        }
        const asked = decodePtyRequest(data);
        // A TERM with NUL is no C string: sshd refuses it (and ends the session), and as
        // a value for the child's TERM it makes spawning throw (Node, Deno) or be cut.
        if (asked.term.includes("\0")) return false;
        terminal = asked;
        return true;
      }
      case "window-change": {
        const size = decodeWindowChange(data);
        // Before the process exists, the size it starts with.
        if (process) process.setTerminalSize(size);
        else if (terminal) terminal = { ...terminal, ...size };
        return true;
      }
      case "signal": {
        const name = decoder.decode(decodeStringArg(data, "signal name", 64));
        return process?.deliverSignal(name) ?? false;
      }
      case "break":
        return process?.deliverBreak(decodeBreak(data)) ?? false;
      case "auth-agent-req@openssh.com":
        // Decided before the process starts (the hook may be async; ssh asks no reply).
        if (agent || process || starting || !cfg.agentForwarding) return false;
        agent = cfg.agentForwarding().catch(() => undefined);
        return true;
      case "x11-req": {
        // One display per session, asked before the process starts; answered once it listens.
        if (x11 || process || starting || !cfg.x11Forwarding) return false;
        const req = parseX11Request(data);
        // Refused, with why (a display that cannot be set up; on Deno, the flag it needs).
        x11 = cfg.x11Forwarding(req).catch((e: unknown) => {
          cfg.log?.info(`session: refused x11-req: ${(e as Error)?.message ?? String(e)}`);
          return undefined;
        });
        return x11.then((s) => s !== undefined);
      }
      case "exec":
      case "shell":
      case "subsystem": {
        if (process || starting) return false;
        const bytes = request === "shell" ? undefined : decodeStringArg(data, request);
        // A command or subsystem name with NUL is no C string: sshd refuses it (and ends the
        // session). Here a check of the whole string ("ends with .txt") would pass what a
        // program that stops at the NUL reads otherwise, and spawning with it throws.
        if (bytes?.includes(0)) return false;
        // Commands are bytes: one that is not UTF-8 keeps them as escapes (an scp path).
        const arg = bytes && decodeEscapedUtf8(bytes);
        const ask = cfg.processRequested;
        if (!ask) return start(request, arg);
        // Held while the application decides: a second start request meanwhile is refused.
        starting = true;
        const asked: ProcessRequest = {
          type: request,
          ...(request === "exec" ? { command: arg ?? "" } : {}),
          ...(request === "subsystem" ? { subsystem: arg ?? "" } : {}),
          ...(terminal ? { term: terminal.term } : {}),
          env: envRecord(env),
        };
        return Promise.resolve()
          .then(() => ask(asked))
          .then((ok) => {
            starting = false;
            return ok === true && !ch.closed ? start(request, arg, true) : false;
          }, (e: unknown) => {
            starting = false;
            // Refused to the client; the operator's log tells a failed hook from a refusal.
            cfg.log?.warn(`the processRequested hook failed: ${(e as Error)?.stack ?? String(e)}`);
            return false;
          });
      }
      case "eow@openssh.com":
        // OpenSSH's client can write no more of our output (its stdout is gone): as sshd,
        // stop reading what the process writes there, so that it ends (SIGPIPE).
        process?.stopOutput();
        return true;
      default:
        // xon-xoff and unknown requests are refused.
        return false;
    }
  };

  /** Starts the process for an exec, shell or subsystem request; false when nothing runs it. */
  function start(
    request: "exec" | "shell" | "subsystem",
    arg: string | undefined,
    deferredReply = false,
  ): boolean {
    const forced = cfg.permissions.forcedCommand;
    const subsystem = forced === undefined && request === "subsystem" ? arg : undefined;
    const sftp = subsystem === "sftp" || forced === INTERNAL_SFTP;
    const factory = sftp ? cfg.sftpFactory ?? cfg.processFactory : cfg.processFactory;
    if (!factory) return false;
    const finalEnv = envRecord(env);
    for (const { name, value } of cfg.permissions.environment) {
      if (userEnvironmentPermitted(name, cfg.permitUserEnvironment)) {
        setVariable(finalEnv, name, value);
      }
    }
    // As sshd: what the client asked to run, a subsystem's name included (a shell asks none).
    const asked = forced !== undefined && request !== "shell" ? arg ?? "" : undefined;
    if (asked !== undefined) finalEnv.SSH_ORIGINAL_COMMAND = asked;
    const create = (fwd: SessionAgent | undefined, display?: SessionX11) => {
      if (fwd) finalEnv.SSH_AUTH_SOCK = fwd.socketPath;
      if (display) {
        finalEnv.DISPLAY = display.display;
        finalEnv.XAUTHORITY = display.authPath;
      }
      return (process = new SSHServerProcess(ch, {
        command: forced ?? (request === "exec" ? arg : undefined),
        originalCommand: asked,
        subsystem: sftp && forced === INTERNAL_SFTP ? "sftp" : subsystem,
        env: finalEnv,
        terminal,
        username: cfg.username,
        lineEditor: cfg.lineEditor,
        connection: cfg.conn,
        agent: fwd?.client,
        agentSocketPath: fwd?.socketPath,
        x11Display: display?.display,
        x11AuthPath: display?.authPath,
      }));
    };
    if (!agent && !x11) {
      const p = create(undefined);
      // Start after the reply to this request has gone out: a synchronous reply goes before
      // the next microtask, a deferred one (after the application's decision) within this turn.
      (deferredReply ? setImmediate : queueMicrotask)(() => void runProcess(factory, p, cfg.log));
    } else {
      // Agent and X11 forwarding are set up first, so the process starts with them.
      starting = true;
      void Promise.all([agent, x11]).then(([fwd, display]) =>
        runProcess(factory, create(fwd, display), cfg.log)
      );
    }
    return true;
  }
}

/** Variables as an object, each an own property (a "__proto__" too, not the prototype). */
function envRecord(vars: ReadonlyMap<string, string>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [name, value] of vars) setVariable(o, name, value);
  return o;
}

/** Sets `name` as an own property: `o[name] = value` dropped "__proto__" silently. */
function setVariable(o: Record<string, string>, name: string, value: string): void {
  Object.defineProperty(o, name, { value, enumerable: true, writable: true, configurable: true });
}

/** Runs a factory; its return exits 0, its error exits 1 with the message on stderr. */
async function runProcess(
  factory: ProcessFactory,
  p: SSHServerProcess,
  log: SessionConfig["log"],
): Promise<void> {
  try {
    await factory(p);
    p.exit(0);
  } catch (e) {
    // The server's log has it too: the client's stderr is no place for an operator to look.
    // With its cause: what the client is not told (a host path, say) is the operator's.
    const cause = (e as Error)?.cause;
    log?.warn(
      `session: the process factory failed${
        p.command !== undefined ? ` for "${p.command}"` : ""
      }: ${(e as Error)?.stack ?? String(e)}${
        cause === undefined ? "" : `\ncaused by: ${(cause as Error)?.stack ?? String(cause)}`
      }`,
    );
    if (!p.exited) {
      try {
        await p.writeStderr(`${(e as Error)?.message ?? e}\n`);
      } catch { /* channel gone */ }
    }
    p.exit(1);
  }
}
