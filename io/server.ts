/**
 * `listen()`: an embeddable SSH server. Each accepted socket gets a server engine
 * and a driver; authentication and sessions go to the caller's hooks, each with
 * a safe default (deny).
 *
 * @module
 */

import * as net from "node:net";
import type { AuthVerdict, KbdintChallenge } from "../core/auth/server_auth.ts";
import { DEFAULT_MAX_PACKET, DEFAULT_WINDOW } from "../core/connection/channels.ts";
import {
  decodeBreak,
  decodeEnv,
  decodePtyRequest,
  decodeStringArg,
  decodeWindowChange,
  type PtyRequest,
} from "../core/connection/session_requests.ts";
import { DisconnectReason, SSHError } from "../core/errors.ts";
import type { HostKeySigner } from "../core/kex/types.ts";
import type { RandomSource } from "../core/random.ts";
import { ServerConnection, type ServerEvent } from "../core/server/server_connection.ts";
import type { AlgorithmPreferences } from "../core/transport/transport.ts";
import { ChannelIO } from "./channel.ts";
import { EngineDriver } from "./driver.ts";
import { socketFromNodeSocket } from "./node_socket.ts";
import { SSHServerProcess } from "./server_process.ts";
import { defaultAlgorithms, defaultServerSigAlgs, defaultSuite } from "./suite.ts";

/** A host key the server can sign with (an `SSHKey` with its private part fits). */
export interface ServerHostKey {
  /** Host key algorithms this key serves, e.g. ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]. */
  readonly hostKeyAlgorithms: readonly string[];
  /** The public key blob. */
  readonly publicKeyBlob: Uint8Array;
  /** Signs synchronously with `algorithm`, returning the signature blob. */
  signSync(data: Uint8Array, algorithm: string): Uint8Array;
}

/** Facts about a connection, given to hooks. */
export interface ServerConnectionInfo {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

type MaybePromise<T> = T | Promise<T>;

/** Options of {@link listen}. */
export interface ListenOptions {
  /** Address to bind; default "127.0.0.1". Use "0.0.0.0" or "::" for all interfaces. */
  readonly host?: string;
  /** Port; 0 picks a free one (see `server.address`). Default 22. */
  readonly port?: number;
  /** Host keys (at least one). */
  readonly hostKeys: readonly ServerHostKey[];
  /** Called first for each user; return false to let the user in without authentication. */
  readonly beginAuth?: (username: string, info: ServerConnectionInfo) => MaybePromise<boolean>;
  /** Checks a password; enables "password" (and "keyboard-interactive" with a Password: prompt). */
  readonly validatePassword?: (
    username: string,
    password: string,
    info: ServerConnectionInfo,
  ) => MaybePromise<boolean>;
  /** Handles a password change; true accepts the new password. */
  readonly changePassword?: (
    username: string,
    oldPassword: string,
    newPassword: string,
  ) => MaybePromise<boolean>;
  /** Is this public key allowed for this user? Enables "publickey". Signatures are checked for you. */
  readonly validatePublicKey?: (
    username: string,
    key: { algorithm: string; keyBlob: Uint8Array },
    info: ServerConnectionInfo,
  ) => MaybePromise<boolean>;
  /** First keyboard-interactive challenge (null/false refuses; true accepts without questions). */
  readonly getKbdintChallenge?: (
    username: string,
    submethods: string,
  ) => MaybePromise<KbdintChallenge | boolean | null>;
  /** Checks answers; returns true/false or a further challenge. */
  readonly validateKbdintResponse?: (
    username: string,
    responses: readonly string[],
  ) => MaybePromise<KbdintChallenge | boolean>;
  /** Hostbased authentication check (signature already verified). */
  readonly validateHostBasedUser?: (
    username: string,
    client: { hostname: string; username: string; algorithm: string; keyBlob: Uint8Array },
  ) => MaybePromise<boolean>;
  /** Runs for each exec/shell/subsystem session. When it returns, the process exits (0, or 1 on error). */
  readonly processFactory?: (process: SSHServerProcess) => MaybePromise<void>;
  /** Banner shown before authentication. */
  readonly banner?: string;
  /** Login grace time in ms (default 120 s). */
  readonly loginTimeout?: number;
  /** Failed authentication attempts per connection (default 6). */
  readonly maxAuthTries?: number;
  /** Delay added per failed attempt (ms, default 250). */
  readonly authFailureDelay?: number;
  /** Most connections that may be mid-handshake at once (default 10, as OpenSSH MaxStartups). */
  readonly maxStartups?: number;
  /** Keepalive interval (ms, 0 = off). */
  readonly keepaliveInterval?: number;
  readonly keepaliveCountMax?: number;
  readonly kexAlgs?: readonly string[];
  readonly encryptionAlgs?: readonly string[];
  readonly macAlgs?: readonly string[];
  readonly compressionAlgs?: readonly string[];
  readonly rekeyBytes?: number;
  readonly rekeyInterval?: number;
  /** Randomness (tests only). */
  readonly random?: RandomSource;
  /** Per-channel window we grant (bytes). */
  readonly windowSize?: number;
}

/**
 * A listening server.
 */
export interface SSHServer extends AsyncDisposable {
  /** The bound address; `port` is the real one when 0 was asked. */
  readonly address: { readonly host: string; readonly port: number };
  /** Number of open connections. */
  readonly connections: number;
  /** Stops listening and closes every connection. */
  close(): Promise<void>;
}

/**
 * Starts an SSH server.
 *
 * @example An echo server on a free port
 * ```ts ignore
 * import { listen } from "./server.ts";
 * await using server = await listen({
 *   port: 0,
 *   hostKeys: [hostKey],
 *   validatePassword: (user, pw) => user === "demo" && pw === "demo",
 *   processFactory: async (p) => { await p.write(`you ran: ${p.command}\n`); },
 * });
 * console.log(server.address.port);
 * ```
 */
export async function listen(options: ListenOptions): Promise<SSHServer> {
  if (!options.hostKeys.length) {
    throw new SSHError("ERR_LOCAL_PROTOCOL", "listen() needs at least one host key");
  }
  const hostKeys = new Map<string, HostKeySigner>();
  for (const k of options.hostKeys) {
    for (const alg of k.hostKeyAlgorithms) {
      if (!hostKeys.has(alg)) {
        hostKeys.set(alg, {
          publicKeyBlob: k.publicKeyBlob,
          sign: (data) => k.signSync(data, alg),
        });
      }
    }
  }
  const live = new Set<ServerSession>();
  let startups = 0;
  const maxStartups = options.maxStartups ?? 10;
  const srv = net.createServer({ noDelay: true }, (sock) => {
    if (startups >= maxStartups) {
      // As OpenSSH's MaxStartups: drop new connections while too many are unauthenticated.
      sock.destroy();
      return;
    }
    startups++;
    let counted = true;
    const session = new ServerSession(sock, options, hostKeys, () => {
      if (counted) {
        counted = false;
        startups--;
      }
    });
    live.add(session);
    session.closed.then(() => {
      live.delete(session);
      if (counted) {
        counted = false;
        startups--;
      }
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(options.port ?? 22, host, () => {
      srv.off("error", reject);
      resolve();
    });
  });
  const addr = srv.address() as net.AddressInfo;
  let closing: Promise<void> | undefined;
  const server: SSHServer = {
    address: { host, port: addr.port },
    get connections() {
      return live.size;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => srv.close(() => r()));
        await Promise.all([...live].map((s) => s.close()));
        await stopped;
      })();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  return server;
}

interface SessionState {
  env: Record<string, string>;
  terminal: PtyRequest | undefined;
  process: SSHServerProcess | undefined;
}

/** One client connection on the server. */
class ServerSession {
  readonly #engine: ServerConnection;
  readonly #driver: EngineDriver<ServerEvent>;
  readonly #o: ListenOptions;
  readonly #info: ServerConnectionInfo;
  readonly #channels = new Map<number, ChannelIO>();
  readonly #sessions = new Map<number, SessionState>();
  readonly #onAuthenticated: () => void;
  #closedResolve!: () => void;
  readonly closed: Promise<void>;

  constructor(
    sock: net.Socket,
    o: ListenOptions,
    hostKeys: Map<string, HostKeySigner>,
    onAuthenticated: () => void,
  ) {
    this.#o = o;
    this.#onAuthenticated = onAuthenticated;
    this.closed = new Promise((r) => (this.#closedResolve = r));
    this.#info = {
      remoteAddress: sock.remoteAddress,
      remotePort: sock.remotePort,
      localAddress: sock.localAddress,
      localPort: sock.localPort,
    };
    const algs = defaultAlgorithms();
    const algorithms: AlgorithmPreferences = {
      kex: o.kexAlgs ?? algs.kex,
      hostKey: algs.hostKey.filter((a) => hostKeys.has(a)).concat(
        [...hostKeys.keys()].filter((a) => !algs.hostKey.includes(a)),
      ),
      cipher: o.encryptionAlgs ?? algs.cipher,
      mac: o.macAlgs ?? algs.mac,
      compression: o.compressionAlgs ?? algs.compression,
    };
    const methods: string[] = [];
    if (o.validatePublicKey) methods.push("publickey");
    if (o.getKbdintChallenge || o.validatePassword) methods.push("keyboard-interactive");
    if (o.validatePassword) methods.push("password");
    if (o.validateHostBasedUser) methods.push("hostbased");
    this.#engine = new ServerConnection({
      suite: defaultSuite(),
      algorithms,
      hostKeys,
      methods,
      serverSigAlgs: defaultServerSigAlgs(),
      ...(o.random ? { random: o.random } : {}),
      ...(o.banner ? { banner: o.banner } : {}),
      ...(o.loginTimeout !== undefined ? { loginTimeoutMs: o.loginTimeout } : {}),
      ...(o.maxAuthTries !== undefined ? { maxAuthTries: o.maxAuthTries } : {}),
      ...(o.authFailureDelay !== undefined ? { failureDelayMs: o.authFailureDelay } : {}),
      ...(o.keepaliveInterval !== undefined ? { keepaliveIntervalMs: o.keepaliveInterval } : {}),
      ...(o.keepaliveCountMax !== undefined ? { keepaliveCountMax: o.keepaliveCountMax } : {}),
      ...(o.rekeyBytes !== undefined ? { rekeyBytes: o.rekeyBytes } : {}),
      ...(o.rekeyInterval !== undefined ? { rekeyIntervalMs: o.rekeyInterval } : {}),
    });
    this.#driver = new EngineDriver(
      this.#engine,
      socketFromNodeSocket(sock),
      (e) => this.#onEvent(e),
      () => {
        for (const ch of this.#channels.values()) {
          ch.abort(
            new SSHError("ERR_CONNECTION_LOST", "Connection closed"),
          );
        }
        this.#closedResolve();
      },
    );
  }

  close(): Promise<void> {
    if (!this.#engine.closed) {
      this.#engine.disconnect(DisconnectReason.BY_APPLICATION, "Server shutting down");
      this.#driver.pump();
    }
    const t = setTimeout(() => this.#driver.destroy(), 1000);
    return this.closed.then(() => clearTimeout(t));
  }

  #answer(id: number, get: () => MaybePromise<AuthVerdict>): void {
    Promise.resolve()
      .then(get)
      .catch((): AuthVerdict => ({ result: "failure" }))
      .then((v) => {
        if (!this.#engine.closed) this.#engine.answerAuth(id, v);
        this.#driver.pump();
      });
  }

  #onEvent(e: ServerEvent): void {
    const o = this.#o;
    const yes: AuthVerdict = { result: "success" };
    const no: AuthVerdict = { result: "failure" };
    const verdict = (ok: boolean) => (ok ? yes : no);
    const challengeVerdict = (c: KbdintChallenge | boolean | null): AuthVerdict =>
      c === true ? yes : c === false || c === null ? no : { result: "challenge", challenge: c };
    switch (e.type) {
      case "authNone":
        return this.#answer(
          e.id,
          async () => verdict(o.beginAuth ? !(await o.beginAuth(e.username, this.#info)) : false),
        );
      case "authPassword":
        return this.#answer(e.id, async () => {
          if (!o.validatePassword) return no;
          if (e.newPassword !== undefined) {
            return verdict(
              o.changePassword
                ? await o.changePassword(e.username, e.password, e.newPassword)
                : false,
            );
          }
          return verdict(await o.validatePassword(e.username, e.password, this.#info));
        });
      case "authPublicKey":
        return this.#answer(e.id, async () =>
          verdict(
            o.validatePublicKey
              ? await o.validatePublicKey(e.username, {
                algorithm: e.algorithm,
                keyBlob: e.keyBlob,
              }, this.#info)
              : false,
          ));
      case "authKbdint":
        return this.#answer(e.id, async () => {
          if (o.getKbdintChallenge) {
            if (!e.responses) {
              return challengeVerdict(await o.getKbdintChallenge(e.username, e.submethods));
            }
            return challengeVerdict(
              o.validateKbdintResponse
                ? await o.validateKbdintResponse(e.username, e.responses)
                : false,
            );
          }
          // Password via keyboard-interactive, as OpenSSH offers it with PAM.
          if (!o.validatePassword) return no;
          if (!e.responses) {
            return {
              result: "challenge",
              challenge: { prompts: [{ prompt: "Password: ", echo: false }] },
            };
          }
          return verdict(await o.validatePassword(e.username, e.responses[0] ?? "", this.#info));
        });
      case "authHostbased":
        return this.#answer(e.id, async () =>
          verdict(
            o.validateHostBasedUser
              ? await o.validateHostBasedUser(e.username, {
                hostname: e.clientHostname,
                username: e.clientUsername,
                algorithm: e.algorithm,
                keyBlob: e.keyBlob,
              })
              : false,
          ));
      case "authenticated":
        this.#onAuthenticated();
        return;
      case "channelOpenRequest": {
        if (e.channelType !== "session" || !o.processFactory) {
          this.#engine.rejectChannel(
            e.channelId,
            1,
            `Channel type ${e.channelType} is not allowed`,
          );
          return;
        }
        const window = o.windowSize ?? DEFAULT_WINDOW;
        this.#engine.acceptChannel(e.channelId, { window, maxPacket: DEFAULT_MAX_PACKET });
        const ch = new ChannelIO(e.channelId, this.#engine, this.#driver, window);
        this.#channels.set(e.channelId, ch);
        const state: SessionState = { env: {}, terminal: undefined, process: undefined };
        this.#sessions.set(e.channelId, state);
        ch.onRequest = (request, data) => this.#sessionRequest(ch, state, request, data);
        return;
      }
      case "channelClose": {
        const ch = this.#channels.get(e.channelId);
        this.#channels.delete(e.channelId);
        this.#sessions.delete(e.channelId);
        ch?.handleEvent(e);
        return;
      }
      case "channelData":
      case "channelEof":
      case "channelRequest":
      case "channelRequestReply":
      case "channelWritable":
        this.#channels.get(e.channelId)?.handleEvent(e);
        return;
      case "kexComplete":
        for (const ch of this.#channels.values()) ch.wakeWriters();
        return;
      case "globalRequest":
        if (e.wantReply) this.#engine.replyGlobalRequest(e.requestId, false);
        return;
      default:
        return;
    }
  }

  #sessionRequest(ch: ChannelIO, s: SessionState, request: string, data: Uint8Array): boolean {
    switch (request) {
      case "env": {
        const { name, value } = decodeEnv(data);
        s.env[name] = value;
        return true;
      }
      case "pty-req":
        if (s.process) return false;
        s.terminal = decodePtyRequest(data);
        return true;
      case "window-change":
        s.process?.setTerminalSize(decodeWindowChange(data));
        return true;
      case "signal": {
        const name = new TextDecoder().decode(decodeStringArg(data, "signal name", 64));
        s.process?.onSignal?.(name);
        return true;
      }
      case "break":
        return s.process?.onBreak?.(decodeBreak(data)) ?? false;
      case "exec":
      case "shell":
      case "subsystem": {
        if (s.process) return false;
        const arg = request === "shell"
          ? undefined
          : new TextDecoder().decode(decodeStringArg(data, request));
        const p = new SSHServerProcess(ch, {
          command: request === "exec" ? arg : undefined,
          subsystem: request === "subsystem" ? arg : undefined,
          env: s.env,
          terminal: s.terminal,
          username: this.#engine.username ?? "",
        });
        s.process = p;
        // Start after the reply to this request has gone out.
        queueMicrotask(() => this.#run(p));
        return true;
      }
      default:
        return false;
    }
  }

  async #run(p: SSHServerProcess): Promise<void> {
    try {
      await this.#o.processFactory!(p);
      p.exit(0);
    } catch (e) {
      try {
        await p.writeStderr(`${(e as Error).message ?? e}\n`);
      } catch { /* channel gone */ }
      p.exit(1);
    }
  }
}
