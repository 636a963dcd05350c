/**
 * The errors of the client's process API: a process that failed its `check`,
 * and one that outlived its timeout.
 *
 * @module
 */

import type { ExitSignal } from "../../core/connection/session_requests.ts";
import { DisconnectError, SSHError } from "../../core/errors.ts";
import { escapeControls } from "../../core/peer_text.ts";

/** What a finished process produced. */
export interface ProcessResult<T extends string | Uint8Array = string | Uint8Array> {
  /** The command that ran; undefined for a shell or subsystem. */
  readonly command: string | undefined;
  /** Everything written to stdout (text unless the encoding was null). */
  readonly stdout: T;
  /** Everything written to stderr. */
  readonly stderr: T;
  /** Exit status, or null when the process was killed by a signal or gave none. */
  readonly exitStatus: number | null;
  /** The signal that ended the process, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode: the exit status, minus the signal number for a signal, or null. */
  readonly returnCode: number | null;
}

/**
 * A process that exited with a non-zero status (or by a signal) when `check` was set.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, ProcessError } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: async (process) => {
 *     process.exit(1); // as `false` does
 *   },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * try { await conn.run("false", { check: true }); }
 * catch (e) { if (e instanceof ProcessError) console.log(e.exitStatus); } // 1
 * ```
 */
export class ProcessError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Its exit status, or null if it died by a signal. */
  readonly exitStatus: number | null;
  /** The signal that ended it, if any. */
  readonly exitSignal: ExitSignal | null;
  /** AsyncSSH's returncode. */
  readonly returnCode: number | null;
  /** What it wrote to stdout. */
  readonly stdout: string | Uint8Array;
  /** What it wrote to stderr. */
  readonly stderr: string | Uint8Array;

  /** Creates the error from a result. */
  constructor(result: ProcessResult) {
    const why = result.exitSignal
      ? `was killed by signal ${result.exitSignal.signal}`
      : result.exitStatus === null
      ? "ended without an exit status"
      : `exited with status ${result.exitStatus}`;
    const said = lastLineOf(result.stderr);
    super(
      "ERR_PROCESS",
      `Process ${result.command ? `"${result.command}" ` : ""}${why}${said ? `: ${said}` : ""}`,
    );
    this.name = "ProcessError";
    this.command = result.command;
    this.exitStatus = result.exitStatus;
    this.exitSignal = result.exitSignal;
    this.returnCode = result.returnCode;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

/** Longest part of a command's stderr a ProcessError's message quotes. */
const QUOTED_STDERR = 200;

/**
 * The last line a command wrote to stderr, for an error's message (what a shell user would
 * see last: "No such file or directory"), control characters escaped (it is the peer's
 * text), cut to {@link QUOTED_STDERR} characters; empty when it wrote none.
 */
function lastLineOf(stderr: string | Uint8Array): string {
  const text = typeof stderr === "string"
    ? stderr
    : new TextDecoder().decode(stderr.subarray(Math.max(0, stderr.length - 4 * QUOTED_STDERR)));
  const line = text.trimEnd().split("\n").at(-1)?.trim() ?? "";
  const shown = escapeControls(line);
  return shown.length > QUOTED_STDERR ? shown.slice(0, QUOTED_STDERR) + "…" : shown;
}

/**
 * A process did not finish within its timeout. It carries the output read so far.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, ProcessTimeoutError } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: async (process) => {
 *     await process.write("partial\n");
 *     for await (const _ of process.events); // until the client goes, as `sleep 10` would
 *   },
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * try { await conn.run("sleep 10", { timeout: 100 }); }
 * catch (e) { if (e instanceof ProcessTimeoutError) console.log(e.stdout); } // partial
 * ```
 */
export class ProcessTimeoutError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Output read before the timeout. */
  readonly stdout: string | Uint8Array;
  /** Error output read before the timeout. */
  readonly stderr: string | Uint8Array;

  /** Creates the error. */
  constructor(
    command: string | undefined,
    ms: number,
    stdout: string | Uint8Array,
    stderr: string | Uint8Array,
  ) {
    super("ERR_TIMEOUT", `Process ${command ? `"${command}" ` : ""}did not finish within ${ms} ms`);
    this.name = "ProcessTimeoutError";
    this.command = command;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/**
 * A process wrote more than `maxOutput` bytes to stdout or stderr
 * ({@link WaitOptions.maxOutput}): it was closed, and the error carries the first
 * `maxOutput` bytes of each stream.
 *
 * @example
 * ```ts
 * import { connect, generatePrivateKey, listen, ProcessOutputLimitError } from "@sshts/ssh";
 * await using server = await listen({
 *   host: "127.0.0.1",
 *   port: 0,
 *   hostKeys: [generatePrivateKey("ed25519")],
 *   validatePassword: () => true,
 *   processFactory: async (p) => { for (;;) await p.write("y\n"); }, // `yes`
 * });
 * await using conn = await connect("127.0.0.1", {
 *   port: server.address.port,
 *   username: "me",
 *   password: "pw",
 *   knownHosts: null, // a server in this process
 * });
 * try { await conn.run("yes", { maxOutput: 1000 }); }
 * catch (e) { if (e instanceof ProcessOutputLimitError) console.log(e.stdout.length); } // 1000
 * ```
 */
export class ProcessOutputLimitError extends SSHError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** The first `maxOutput` bytes of stdout (or their text). */
  readonly stdout: string | Uint8Array;
  /** The first `maxOutput` bytes of stderr (or their text). */
  readonly stderr: string | Uint8Array;

  /** Creates the error. */
  constructor(
    command: string | undefined,
    maxOutput: number,
    stdout: string | Uint8Array,
    stderr: string | Uint8Array,
  ) {
    super(
      "ERR_READ_LIMIT",
      `Process ${command ? `"${command}" ` : ""}wrote more than ${maxOutput} bytes to one stream`,
    );
    this.name = "ProcessOutputLimitError";
    this.command = command;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}

/**
 * Where a connect was when it gave up: the setup (client keys, the agent, known_hosts), the
 * TCP connect, the SSH handshake, or authentication.
 */
export type ConnectPhase = "setup" | "tcp" | "handshake" | "auth";

/** The phase each error connect() threw was raised in (see {@link connectErrorPhase}). */
const phases = new WeakMap<object, ConnectPhase>();

/** Records the phase a connect() error was raised in (connect() does, as it throws). */
export function markConnectPhase(e: unknown, phase: ConnectPhase): void {
  if (typeof e === "object" && e !== null) phases.set(e, phase);
}

/**
 * Where a connect() failure happened: "setup" (reading client keys, asking the agent,
 * reading known_hosts and certificates), "tcp" (reaching the host), "handshake" (version
 * exchange and key exchange) or "auth" (once the keys were exchanged); undefined for an
 * error connect() did not throw. A peer that disconnects during "auth" refused the login
 * (OpenSSH disconnects after MaxAuthTries), so it is no network problem to retry.
 *
 * @example
 * ```ts
 * import { connect, connectErrorPhase } from "@sshts/ssh";
 * try {
 *   await connect("127.0.0.1", { port: 1, connectTimeout: 2000, config: false });
 * } catch (e) {
 *   console.log(connectErrorPhase(e)); // "tcp"
 * }
 * ```
 */
export function connectErrorPhase(e: unknown): ConnectPhase | undefined {
  return typeof e === "object" && e !== null ? phases.get(e) : undefined;
}

/**
 * The TCP connection could not be made: the host name did not resolve
 * (`ERR_DNS`) or nothing listens on the port (`ERR_CONNECTION_REFUSED`).
 * Other socket failures stay `ERR_CONNECTION_LOST` DisconnectErrors.
 *
 * @example
 * ```ts ignore
 * try { await connect("no-such-host.invalid"); }
 * catch (e) { if (e instanceof ConnectError && e.code === "ERR_DNS") console.log(e.host); }
 * ```
 */
export class ConnectError extends SSHError {
  /** The host as given to connect(). */
  readonly host: string;
  /** The port connected to. */
  readonly port: number;

  /** Creates the error. */
  constructor(
    code: "ERR_DNS" | "ERR_CONNECTION_REFUSED",
    host: string,
    port: number,
    options?: ErrorOptions,
  ) {
    super(
      code,
      code === "ERR_DNS"
        ? `Cannot resolve host name "${host}": name not found`
        : `Connection refused by ${host}:${port} (nothing listens there, or a firewall rejects it)`,
      options,
    );
    this.name = "ConnectError";
    this.host = host;
    this.port = port;
  }
}

/**
 * connect() gave up after `connectTimeout` ms. `phase` says where it was: the
 * TCP connect (`tcp`), the SSH version exchange and key exchange
 * (`handshake`), or authentication (`auth`).
 *
 * @example
 * ```ts ignore
 * try { await connect("10.0.0.1", { connectTimeout: 5_000 }); }
 * catch (e) { if (e instanceof ConnectTimeoutError) console.log(e.phase); }
 * ```
 */
export class ConnectTimeoutError extends SSHError {
  /** The host as given to connect(). */
  readonly host: string;
  /** The port connected to. */
  readonly port: number;
  /** Where the connect was when time ran out. */
  readonly phase: ConnectPhase;
  /** The timeout in ms. */
  readonly timeout: number;

  /** Creates the error. */
  constructor(
    host: string,
    port: number,
    phase: ConnectPhase,
    timeout: number,
    options?: ErrorOptions,
  ) {
    const during = phase === "setup"
      ? "the setup (client keys, the agent, known_hosts)"
      : phase === "tcp"
      ? "the TCP connect"
      : phase === "handshake"
      ? "the SSH handshake"
      : "authentication";
    super(
      "ERR_TIMEOUT",
      `Connect to ${host}:${port} timed out after ${timeout} ms during ${during} (phase ${phase})`,
      options,
    );
    this.name = "ConnectTimeoutError";
    this.host = host;
    this.port = port;
    this.phase = phase;
    this.timeout = timeout;
  }
}

/**
 * The error a socket's connect failure means to a user: a {@link ConnectError}
 * for a name that did not resolve or a refused port, else undefined.
 *
 * @example
 * ```ts ignore
 * const e = classifyConnectFailure(err, "example.invalid", 22); // ConnectError ERR_DNS
 * ```
 */
export function classifyConnectFailure(
  error: unknown,
  host: string,
  port: number,
): ConnectError | undefined {
  const e = error as { code?: unknown; name?: unknown; message?: unknown } | null;
  const code = typeof e?.code === "string" ? e.code : "";
  const name = typeof e?.name === "string" ? e.name : "";
  const message = typeof e?.message === "string" ? e.message : "";
  if (
    code === "ENOTFOUND" || code === "EAI_NONAME" || code === "EAI_AGAIN" ||
    /failed to lookup address|getaddrinfo|name or service not known|nodename nor servname/i
      .test(message)
  ) return new ConnectError("ERR_DNS", host, port, { cause: error });
  if (
    code === "ECONNREFUSED" || name === "ConnectionRefused" || /connection refused/i.test(message)
  ) {
    return new ConnectError("ERR_CONNECTION_REFUSED", host, port, { cause: error });
  }
  return undefined;
}

/**
 * The connection ended while a process ran (`run()`, `wait()`): the connection's
 * {@link DisconnectError} — same `code`, `reason` and message, the original as `cause` —
 * with the output read until then (AsyncSSH's run() returns it with no exit status).
 *
 * @example
 * ```ts ignore
 * try { await conn.run("deploy.sh"); }
 * catch (e) { if (e instanceof ProcessDisconnectedError) console.log(e.code, e.stdout); }
 * ```
 */
export class ProcessDisconnectedError extends DisconnectError {
  /** The command that ran. */
  readonly command: string | undefined;
  /** Output read before the connection ended. */
  readonly stdout: string | Uint8Array;
  /** Error output read before the connection ended. */
  readonly stderr: string | Uint8Array;

  /** Creates the error from the connection's. */
  constructor(
    error: DisconnectError,
    command: string | undefined,
    stdout: string | Uint8Array,
    stderr: string | Uint8Array,
  ) {
    super(error.code, error.reason, error.message, {
      cause: error,
      fromPeer: error.fromPeer,
      ...(error.detail !== undefined ? { detail: error.detail } : {}),
    });
    this.name = "ProcessDisconnectedError";
    this.command = command;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}
