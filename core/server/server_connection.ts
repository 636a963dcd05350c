/**
 * The server engine: transport, server authentication and the connection
 * protocol behind one sans-IO object, the mirror of ClientConnection.
 *
 * @module
 */

import {
  type AuthVerdict,
  ServerAuth,
  type ServerAuthEvent,
  type ServerAuthOptions,
} from "../auth/server_auth.ts";
import { minDefined } from "../client/client_connection.ts";
import { type ChannelOptions, ConnectionLayer } from "../connection/channels.ts";
import type { ConnectionEvent } from "../connection/events.ts";
import { Keepalive } from "../connection/keepalive.ts";
import { EventQueue } from "../event_queue.ts";
import {
  encodeHostKeysAnnouncement,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  type HostKeySigners,
  proveHostKeys,
} from "./host_key_proofs.ts";
import { DisconnectError, DisconnectReason, LocalProtocolError } from "../errors.ts";
import type { HostKeySigner } from "../kex/types.ts";
import { type RandomSource, systemRandom } from "../random.ts";
import { Msg } from "../transport/messages.ts";
import type { TransportSuite } from "../transport/suite.ts";
import {
  type AlgorithmPreferences,
  Transport,
  type TransportEvent,
  type TransportOptions,
} from "../transport/transport.ts";

/** Every event a server engine raises. */
export type ServerEvent =
  | TransportEvent
  | ServerAuthEvent
  | ConnectionEvent
  | { readonly type: "loginTimeout" }
  | { readonly type: "keepaliveTimeout" };

/** Options of a server engine. */
export interface ServerConnectionOptions extends ServerAuthOptions {
  /** The algorithm implementations (kex, ciphers, MACs, signatures). */
  readonly suite: TransportSuite;
  /** Algorithms offered, most preferred first. */
  readonly algorithms: AlgorithmPreferences;
  /** Host keys by host key algorithm name (one key can serve several, e.g. RSA). */
  readonly hostKeys: ReadonlyMap<string, HostKeySigner>;
  /** Signature algorithms for server-sig-algs. */
  readonly serverSigAlgs?: readonly string[];
  /** Groups for diffie-hellman-group-exchange. */
  readonly moduli?: readonly { readonly bits: number; readonly p: bigint; readonly g: bigint }[];
  /** Randomness (seeded in tests). */
  readonly random?: RandomSource;
  /** Software version in our identification line. */
  readonly softwareVersion?: string;
  /** Offer strict kex (Terrapin countermeasure); default true. */
  readonly strictKex?: boolean;
  /** Refuse clients without strict kex. */
  readonly requireStrictKex?: boolean;
  /** Rekey after this many bytes. */
  readonly rekeyBytes?: number;
  /** Rekey after this many packets. */
  readonly rekeyPackets?: number;
  /** Rekey after this many ms. */
  readonly rekeyIntervalMs?: number;
  /** Disconnect clients that have not authenticated after this many ms. Default 120 s (OpenSSH LoginGraceTime). 0 = off. */
  readonly loginTimeoutMs?: number;
  /** Probe a silent client after this many ms (0 = off). */
  readonly keepaliveIntervalMs?: number;
  /** Unanswered probes before the client is declared dead. */
  readonly keepaliveCountMax?: number;
  /** Most channels open at once. */
  readonly maxChannels?: number;
  /**
   * Announce every host key after login (hostkeys-00@openssh.com) and prove them
   * on request, so clients can learn new keys before old ones retire. Default true.
   */
  readonly announceHostKeys?: boolean;
}

/** Default software version we announce as a server. */
export const SERVER_SOFTWARE_VERSION = "sshts_0.1";
/** Default login grace time. */
export const DEFAULT_LOGIN_TIMEOUT_MS = 120_000;

/**
 * The sans-IO SSH server.
 *
 * @example
 * ```ts ignore
 * const conn = new ServerConnection({ suite, algorithms, hostKeys, methods: ["publickey"] });
 * conn.receiveData(bytes); for (let e; (e = conn.pollEvent());) handle(e);
 * ```
 */
export class ServerConnection {
  readonly #transport: Transport;
  readonly #auth: ServerAuth;
  readonly #conn: ConnectionLayer;
  readonly #events = new EventQueue<ServerEvent>();
  readonly #keepalive: Keepalive;
  readonly #loginTimeout: number;
  #loginDeadline = -1;
  #now = 0;
  #noMoreSessions = false;
  /** Host keys to prove, when announcing them is on. */
  readonly #hostKeys: HostKeySigners | undefined;

  /** Creates the engine and queues our version and KEXINIT. */
  constructor(options: ServerConnectionOptions) {
    const t: TransportOptions = {
      role: "server",
      suite: options.suite,
      algorithms: options.algorithms,
      random: options.random ?? systemRandom,
      softwareVersion: options.softwareVersion ?? SERVER_SOFTWARE_VERSION,
      hostKeys: options.hostKeys,
      ...(options.moduli ? { moduli: options.moduli } : {}),
      ...(options.serverSigAlgs ? { serverSigAlgs: options.serverSigAlgs } : {}),
      ...(options.strictKex !== undefined ? { strictKex: options.strictKex } : {}),
      ...(options.requireStrictKex !== undefined
        ? { requireStrictKex: options.requireStrictKex }
        : {}),
      ...(options.rekeyBytes !== undefined ? { rekeyBytes: options.rekeyBytes } : {}),
      ...(options.rekeyPackets !== undefined ? { rekeyPackets: options.rekeyPackets } : {}),
      ...(options.rekeyIntervalMs !== undefined
        ? { rekeyIntervalMs: options.rekeyIntervalMs }
        : {}),
    };
    this.#loginTimeout = options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
    this.#hostKeys = options.announceHostKeys === false ? undefined : options.hostKeys;
    this.#keepalive = new Keepalive(
      options.keepaliveIntervalMs ?? 0,
      options.keepaliveCountMax ?? 3,
    );
    this.#transport = new Transport(t, {
      emit: (e) => this.#emit(e),
      handleMessage: (type, payload) => this.#onMessage(type, payload),
      onTransportReady: () => {},
      onExtInfo: () => {},
    });
    this.#auth = new ServerAuth(options, {
      send: (p) => this.#transport.send(p),
      emit: (e) => this.#emit(e),
      sessionId: () => this.#transport.sessionId!,
      verifySignature: (alg, blob, sig, data) =>
        options.suite.verifyUserSignature(alg, blob, sig, data),
      now: () => this.#now,
      onSuccess: () => {
        this.#transport.onAuthenticated();
        this.#keepalive.start(this.#now);
        if (options.announceHostKeys !== false) {
          this.#conn.sendGlobalRequest(
            HOSTKEYS_REQUEST,
            false,
            encodeHostKeysAnnouncement(options.hostKeys),
          );
        }
      },
      fail: (err) => this.#transport.fail(err),
    });
    this.#conn = new ConnectionLayer(
      (head, body) => this.#transport.send(head, body),
      (e) => this.#onConnectionEvent(e),
      options.maxChannels,
    );
    this.#transport.start();
  }

  // ---- driving ----

  /** Feeds bytes read from the client. Never throws for bad peer input. */
  receiveData(data: Uint8Array): void {
    if (data.length) this.#keepalive.onReceive();
    this.#transport.receive(data);
    if (!this.#transport.closed) this.#transport.checkRekey();
  }

  /** The client closed the stream. */
  receiveEof(): void {
    this.#transport.onEndOfStream();
  }

  /** Bytes to write to the client, in order. */
  takeOutgoing(): Uint8Array[] {
    return this.#transport.takeOutgoing();
  }

  /** The next event, or undefined. */
  pollEvent(): ServerEvent | undefined {
    return this.#events.poll();
  }

  /** When the engine next needs `handleTimeout`; undefined = never. */
  nextDeadline(): number | undefined {
    if (this.#transport.closed) return undefined;
    const login = !this.#auth.done && this.#loginDeadline >= 0 ? this.#loginDeadline : undefined;
    return minDefined(
      minDefined(this.#transport.nextDeadline(), this.#keepalive.deadline()),
      minDefined(login, this.#auth.nextDeadline()),
    );
  }

  /** Gives the engine the time (ms): login timeout, failure delays, keepalive, rekey. */
  handleTimeout(now: number): void {
    this.#now = now;
    if (this.#loginDeadline < 0 && this.#loginTimeout > 0) {
      this.#loginDeadline = now + this.#loginTimeout;
    }
    if (this.#transport.closed) return;
    if (!this.#auth.done && this.#loginDeadline >= 0 && now >= this.#loginDeadline) {
      this.#emit({ type: "loginTimeout" });
      this.#transport.fail(
        new DisconnectError(
          "ERR_TIMEOUT",
          DisconnectReason.PROTOCOL_ERROR,
          `Authentication did not complete within ${this.#loginTimeout / 1000} s`,
        ),
      );
      return;
    }
    this.#auth.handleTimeout(now);
    this.#transport.handleTimeout(now);
    const action = this.#keepalive.tick(now);
    if (action === "send") this.#conn.sendGlobalRequest("keepalive@openssh.com", true);
    if (action === "dead") {
      this.#emit({ type: "keepaliveTimeout" });
      this.#transport.fail(
        new DisconnectError(
          "ERR_KEEPALIVE",
          DisconnectReason.CONNECTION_LOST,
          "The client stopped answering keepalives",
        ),
      );
    }
  }

  // ---- state ----

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#transport.closed;
  }

  /** The authenticated user name. */
  get username(): string | undefined {
    return this.#auth.username;
  }

  /** The underlying transport. */
  get transport(): Transport {
    return this.#transport;
  }

  // ---- commands ----

  /** Answers an authentication event. */
  answerAuth(id: number, verdict: AuthVerdict): void {
    this.#auth.answerAuth(id, verdict);
  }

  /** Opens a channel to the client (forwarded-tcpip, x11, auth-agent). */
  openChannel(channelType: string, data?: Uint8Array, options?: ChannelOptions): number {
    if (!this.#auth.done) {
      throw new LocalProtocolError("Cannot open a channel before authentication");
    }
    return this.#conn.openChannel(channelType, data, options);
  }

  /** Accepts a channel the client opened. */
  acceptChannel(channelId: number, options?: ChannelOptions): void {
    this.#conn.acceptChannel(channelId, options);
  }

  /** Refuses a channel the client opened. */
  rejectChannel(channelId: number, reason: number, description?: string): void {
    this.#conn.rejectChannel(channelId, reason, description);
  }

  /** Sends a channel request (exit-status, exit-signal, ...). */
  sendChannelRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data?: Uint8Array,
  ): void {
    this.#conn.sendRequest(channelId, request, wantReply, data);
  }

  /** Answers a channel request. */
  replyChannelRequest(channelId: number, success: boolean): void {
    this.#conn.replyChannelRequest(channelId, success);
  }

  /** Sends data; returns bytes accepted by the window. */
  sendData(channelId: number, data: Uint8Array, stream = 0): number {
    return this.#conn.sendData(channelId, data, stream);
  }

  /** Bytes that may be sent now. */
  writableBytes(channelId: number): number {
    // During a rekey the transport queues what we send; the peer's window bounds it.
    return this.#transport.closed ? 0 : this.#conn.writableBytes(channelId);
  }

  /** Reports bytes consumed by the application. */
  consume(channelId: number, n: number): void {
    this.#conn.consume(channelId, n);
  }

  /** Sends EOF. */
  sendEof(channelId: number): void {
    this.#conn.sendEof(channelId);
  }

  /** Closes a channel. */
  closeChannel(channelId: number): void {
    this.#conn.close(channelId);
  }

  /** Facts about a channel. */
  channelInfo(channelId: number): ReturnType<ConnectionLayer["info"]> {
    return this.#conn.info(channelId);
  }

  /** Sends a global request. */
  sendGlobalRequest(name: string, wantReply: boolean, data?: Uint8Array): number {
    return this.#conn.sendGlobalRequest(name, wantReply, data);
  }

  /** Answers a global request. */
  replyGlobalRequest(requestId: number, success: boolean, data?: Uint8Array): void {
    this.#conn.replyGlobalRequest(requestId, success, data);
  }

  /** Starts a key re-exchange. */
  rekey(): void {
    this.#transport.rekey();
  }

  /** Sends DISCONNECT and closes. */
  disconnect(
    reason: number = DisconnectReason.BY_APPLICATION,
    description = "Disconnected by server",
  ): void {
    this.#transport.disconnect(reason, description);
  }

  // ---- internals ----

  #emit(e: ServerEvent): void {
    this.#events.push(e);
  }

  #onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest") {
      // Answered here: OpenSSH's own housekeeping requests.
      if (e.name === "keepalive@openssh.com") {
        if (e.wantReply) this.#conn.replyGlobalRequest(e.requestId, false);
        return;
      }
      if (e.name === "no-more-sessions@openssh.com") {
        this.#noMoreSessions = true;
        return;
      }
      if (e.name === HOSTKEYS_PROVE_REQUEST && this.#hostKeys) {
        const t = this.#transport;
        const proofs = proveHostKeys(this.#hostKeys, e.data, t.sessionId!, t.algorithms?.hostKey);
        if (e.wantReply) this.#conn.replyGlobalRequest(e.requestId, proofs !== undefined, proofs);
        return;
      }
    }
    if (e.type === "channelOpenRequest" && e.channelType === "session" && this.#noMoreSessions) {
      this.#conn.rejectChannel(e.channelId, 1, "No more sessions allowed on this connection");
      return;
    }
    this.#emit(e);
  }

  #onMessage(type: number, payload: Uint8Array): void {
    if (type === Msg.SERVICE_REQUEST || (type >= 50 && type <= 79)) {
      if (!this.#auth.handleMessage(type, payload)) this.#transport.sendUnimplemented();
      return;
    }
    if (type >= 80 && type <= 127) {
      if (!this.#auth.done) {
        throw new DisconnectError(
          "ERR_PROTOCOL",
          DisconnectReason.PROTOCOL_ERROR,
          `Connection message ${type} before authentication`,
        );
      }
      const owned = this.#transport.payloadOwned;
      if (!this.#conn.handleMessage(type, payload, owned)) this.#transport.sendUnimplemented();
      return;
    }
    this.#transport.sendUnimplemented();
  }
}
