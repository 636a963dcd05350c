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
  type ServerAuthHost,
  type ServerAuthOptions,
} from "../auth/server_auth.ts";
import type { ConnectionEvent } from "../connection/events.ts";
import { EngineBase, type EngineOptions, minDefined } from "../engine/engine_base.ts";
import { DisconnectError, DisconnectReason, LocalProtocolError } from "../errors.ts";
import type { HostKeySigner } from "../kex/types.ts";
import { Msg } from "../transport/messages.ts";
import type { SignatureCheck } from "../publickey/verify.ts";
import type { TransportEvent } from "../transport/transport.ts";
import {
  encodeHostKeysAnnouncement,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  type HostKeySigners,
  proveHostKeys,
} from "./host_key_proofs.ts";

/** Every event a server engine raises. */
export type ServerEvent =
  | TransportEvent
  | ServerAuthEvent
  | ConnectionEvent
  | { readonly type: "loginTimeout" }
  | { readonly type: "keepaliveTimeout" };

/** Options of a server engine. */
export interface ServerConnectionOptions extends ServerAuthOptions, EngineOptions {
  /** Host keys by host key algorithm name (one key can serve several, e.g. RSA). */
  readonly hostKeys: ReadonlyMap<string, HostKeySigner>;
  /** Signature algorithms for server-sig-algs. */
  readonly serverSigAlgs?: readonly string[];
  /** Groups for diffie-hellman-group-exchange. */
  readonly moduli?: readonly { readonly bits: number; readonly p: bigint; readonly g: bigint }[];
  /** Disconnect clients that have not authenticated after this many ms. Default 120 s (OpenSSH LoginGraceTime). 0 = off. */
  readonly loginTimeoutMs?: number;
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

/** hostkeys-prove-00@openssh.com requests a connection gets answered; later ones are refused. */
const MAX_PROVE_REQUESTS = 4;

/**
 * The sans-IO SSH server.
 *
 * @example
 * ```ts ignore
 * const conn = new ServerConnection({ suite, algorithms, hostKeys, methods: ["publickey"] });
 * conn.receiveData(bytes); for (let e; (e = conn.pollEvent());) handle(e);
 * ```
 */
export class ServerConnection extends EngineBase<ServerEvent> {
  readonly #auth: ServerAuth;
  readonly #loginTimeout: number;
  #loginDeadline = -1;
  #noMoreSessions = false;
  /** hostkeys-prove-00@openssh.com requests seen (see {@link MAX_PROVE_REQUESTS}). */
  #proveRequests = 0;
  /** Host keys to prove, when announcing them is on. */
  readonly #hostKeys: HostKeySigners | undefined;

  /** Creates the engine and queues our version and KEXINIT. */
  constructor(options: ServerConnectionOptions) {
    super(options, {
      role: "server",
      softwareVersion: SERVER_SOFTWARE_VERSION,
      disconnectDescription: "Disconnected by server",
      transport: {
        hostKeys: options.hostKeys,
        ...(options.moduli ? { moduli: options.moduli } : {}),
        ...(options.serverSigAlgs ? { serverSigAlgs: options.serverSigAlgs } : {}),
      },
    });
    this.#loginTimeout = options.loginTimeoutMs ?? DEFAULT_LOGIN_TIMEOUT_MS;
    this.#hostKeys = options.announceHostKeys === false ? undefined : options.hostKeys;
    this.#auth = new ServerAuth(options, new ServerConnection.#AuthHooks(this, options.suite));
    this.startTransport();
  }

  /**
   * The authentication's hooks: one small object per connection whose methods reach this
   * engine, rather than eight closures (a server holds thousands of idle connections).
   */
  static readonly #AuthHooks = class implements ServerAuthHost {
    readonly #c: ServerConnection;
    readonly #suite: ServerConnectionOptions["suite"];
    constructor(connection: ServerConnection, suite: ServerConnectionOptions["suite"]) {
      this.#c = connection;
      this.#suite = suite;
    }
    send(payload: Uint8Array): void {
      this.#c.transport.send(payload);
    }
    emit(event: ServerAuthEvent): void {
      this.#c.emit(event);
    }
    sessionId(): Uint8Array {
      return this.#c.transport.sessionId!;
    }
    verifySignature(
      algorithm: string,
      keyBlob: Uint8Array,
      signature: Uint8Array,
      data: Uint8Array,
    ): SignatureCheck {
      return this.#suite.verifyUserSignature(algorithm, keyBlob, signature, data);
    }
    now(): number {
      return this.#c.now;
    }
    onSuccess(): void {
      const c = this.#c;
      c.transport.onAuthenticated();
      c.startKeepalive();
      if (c.#hostKeys) {
        c.connection.sendGlobalRequest(
          HOSTKEYS_REQUEST,
          false,
          encodeHostKeysAnnouncement(c.#hostKeys),
        );
      }
    }
    fail(error: DisconnectError): void {
      this.#c.transport.fail(error);
    }
  };

  // ---- state ----

  /** The authenticated user name. */
  get username(): string | undefined {
    return this.#auth.username;
  }

  // ---- commands (the channel and global-request ones are EngineBase's) ----

  /** Answers an authentication event. */
  answerAuth(id: number, verdict: AuthVerdict): void {
    this.#auth.answerAuth(id, verdict);
  }

  /**
   * Sends a USERAUTH_BANNER now (AsyncSSH's `send_auth_banner`), e.g. one made
   * for the user from the first request. Before the client asked for the
   * ssh-userauth service it waits for that; after authentication it throws
   * (RFC 4252 §5.4: banners come before success).
   *
   * @example
   * ```ts ignore
   * engine.sendAuthBanner(`Hello ${user}, this host is monitored.\n`);
   * ```
   */
  sendAuthBanner(message: string, language = ""): void {
    this.#auth.sendBanner(message, language);
  }

  // ---- EngineBase hooks ----

  /** Whether user authentication finished. */
  protected override authDone(): boolean {
    return this.#auth.done;
  }

  /** Hands SERVICE_* and user-auth messages to this role's authentication. */
  protected override handleAuthMessage(type: number, payload: Uint8Array): boolean {
    if (type === Msg.SERVICE_ACCEPT) return false; // a client never sends it
    return this.#auth.handleMessage(type, payload);
  }

  /** Refuses commands this role may not run now. */
  protected override checkCommand(what: string): void {
    if (what === "open a channel" && !this.#auth.done) {
      throw new LocalProtocolError("Cannot open a channel before authentication");
    }
  }

  /** The login deadline and the authentication failure delay. */
  protected override roleDeadline(): number | undefined {
    const login = !this.#auth.done && this.#loginDeadline >= 0 ? this.#loginDeadline : undefined;
    return minDefined(login, this.#auth.nextDeadline());
  }

  /** Login timeout and authentication failure delays. */
  protected override onTimeout(now: number): boolean {
    if (this.#loginDeadline < 0 && this.#loginTimeout > 0) {
      this.#loginDeadline = now + this.#loginTimeout;
    }
    if (this.transport.closed) return false;
    if (!this.#auth.done && this.#loginDeadline >= 0 && now >= this.#loginDeadline) {
      this.emit({ type: "loginTimeout" });
      this.transport.fail(
        new DisconnectError(
          "ERR_TIMEOUT",
          DisconnectReason.PROTOCOL_ERROR,
          `Authentication did not complete within ${this.#loginTimeout / 1000} s`,
        ),
      );
      return false;
    }
    this.#auth.handleTimeout(now);
    return true;
  }

  /** The message of the keepalive failure, naming the silent peer. */
  protected override keepaliveDeadMessage(): string {
    return "The client stopped answering keepalives";
  }

  /** Handles this role's connection-layer housekeeping, then raises the event. */
  protected override onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest") {
      // Answered here: OpenSSH's own housekeeping requests.
      if (e.name === "no-more-sessions@openssh.com") {
        this.#noMoreSessions = true;
        // Owed when asked for (RFC 4254 §4): later global replies queue behind it.
        if (e.wantReply) this.connection.replyGlobalRequest(e.requestId, true);
        return;
      }
      if (e.name === HOSTKEYS_PROVE_REQUEST && this.#hostKeys) {
        const t = this.transport;
        // OpenSSH's client asks once per connection, after our hostkeys-00 announcement:
        // a few more are tolerated, an endless stream of signing work is not.
        const proofs = ++this.#proveRequests > MAX_PROVE_REQUESTS
          ? undefined
          : proveHostKeys(this.#hostKeys, e.data, t.sessionId!, t.algorithms?.hostKey);
        if (e.wantReply) {
          this.connection.replyGlobalRequest(e.requestId, proofs !== undefined, proofs);
        }
        return;
      }
    }
    if (e.type === "channelOpenRequest" && e.channelType === "session" && this.#noMoreSessions) {
      this.connection.rejectChannel(e.channelId, 1, "No more sessions allowed on this connection");
      return;
    }
    this.emit(e);
  }
}
