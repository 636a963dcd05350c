/**
 * The client engine: transport, user authentication and the connection protocol
 * behind one sans-IO object. Bytes in (`receiveData`), bytes out
 * (`takeOutgoing`), events out (`pollEvent`), time in (`handleTimeout`).
 *
 * @module
 */

import {
  ClientAuth,
  type ClientAuthEvent,
  type ClientAuthHost,
  type ClientAuthOptions,
  type StagedAuthAttempt,
} from "../auth/client_auth.ts";
import type { ConnectionEvent } from "../connection/events.ts";
import {
  decodeHostKeysAnnouncement,
  encodeHostKeyList,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  keysToProve,
  type ProvenHostKey,
  verifyHostKeyProofs,
} from "../connection/hostkeys.ts";
import { EngineBase, type EngineOptions } from "../engine/engine_base.ts";
import { type DisconnectError, LocalProtocolError, protocolError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { keyTypeForSignatureAlgorithm } from "../publickey/algorithms.ts";
import type { TransportEvent } from "../transport/transport.ts";

/** Every event a client engine raises. */
export type ClientEvent =
  | TransportEvent
  | ClientAuthEvent
  | ConnectionEvent
  | { readonly type: "serverSigAlgs"; readonly algorithms: readonly string[] }
  | { readonly type: "keepaliveTimeout" }
  | HostKeysProvedEvent;

/**
 * The server announced host keys besides the one used in key exchange
 * (`hostkeys-00@openssh.com`) and answered our `hostkeys-prove-00@openssh.com`.
 * `keys` proved themselves; `failed` did not (a bad or missing signature, or the
 * server refused to prove them). Raised at most once per connection.
 */
export interface HostKeysProvedEvent {
  /** Discriminant. */
  readonly type: "hostKeysProved";
  /** The announced keys whose signatures checked out. */
  readonly keys: readonly ProvenHostKey[];
  /** The announced keys that did not prove themselves, each with why. */
  readonly failed: readonly { readonly key: ProvenHostKey; readonly reason: string }[];
}

/** Options of a client engine. */
export interface ClientConnectionOptions extends ClientAuthOptions, EngineOptions {
  /**
   * Ask the server to prove the extra host keys it announces (hostkeys-00) and
   * report them as a `hostKeysProved` event. Default false: the proof costs the
   * server several signatures, and its reply meets Nagle's algorithm on sshd's side
   * (which leaves TCP_NODELAY off for non-interactive sessions), delaying the next
   * channel open by ~40 ms. Turn it on when the caller records the proven keys.
   */
  readonly hostKeyRotation?: boolean;
}

/** Default software version we announce. */
export const CLIENT_SOFTWARE_VERSION = "sshts_0.1";

/**
 * The sans-IO SSH client.
 *
 * @example Drive it by hand (an io adapter normally does this)
 * ```ts ignore
 * const conn = new ClientConnection({ username: "me", password: true, suite, algorithms });
 * let timer: ReturnType<typeof setTimeout> | undefined;
 * // After every call into the engine (bytes in, the time, or a command such as
 * // acceptHostKey() or tryAuthMethod(), also one made after an await): take its events,
 * // send its bytes, arm the timer again. Commands queue events and bytes of their own.
 * function pump(): void {
 *   for (let e; (e = conn.pollEvent());) handle(e); // handle() may call the engine: looped
 *   const out = conn.takeOutgoing();
 *   if (out.length > 0) socket.write(concat(out));
 *   clearTimeout(timer);
 *   const d = conn.nextDeadline(); // 0 until the first handleTimeout() gives it the clock
 *   if (d === undefined) return;
 *   timer = setTimeout(() => {
 *     conn.handleTimeout(Date.now());
 *     pump();
 *   }, Math.max(0, d - Date.now()));
 * }
 * socket.onData((b) => {
 *   conn.receiveData(b);
 *   pump();
 * });
 * pump();
 * ```
 */
export class ClientConnection extends EngineBase<ClientEvent> {
  readonly #auth: ClientAuth;
  /**
   * server-sig-algs as the server sent it: one string, split when asked (an idle connection
   * then holds one string rather than an array of a dozen).
   */
  #serverSigAlgs: string | undefined;
  #hostBound = false;
  /** The server's EXT_INFO was read (the first auth request may then be pipelined). */
  #extInfoSeen = false;
  #authenticated = false;
  readonly #hostKeyRotation: boolean;
  /** Our host key algorithms: announced keys of other types are not asked to prove anything. */
  readonly #hostKeyAlgs: readonly string[];
  #hostKeysSeen = false;
  #proveRequest: { id: number; keys: ProvenHostKey[] } | undefined;
  #noMoreSessions = false;

  /** Creates the engine and queues our version and KEXINIT. */
  constructor(options: ClientConnectionOptions) {
    super(options, {
      role: "client",
      softwareVersion: CLIENT_SOFTWARE_VERSION,
      disconnectDescription: "Disconnected by application",
    });
    this.#auth = new ClientAuth(options, new ClientConnection.#AuthHooks(this));
    this.#hostKeyRotation = options.hostKeyRotation ?? false;
    this.#hostKeyAlgs = options.algorithms.hostKey;
    this.startTransport();
  }

  /**
   * The authentication's hooks: one small object per connection whose methods reach this
   * engine, rather than eight closures (a fan-out holds thousands of idle connections).
   */
  static readonly #AuthHooks = class implements ClientAuthHost {
    readonly #c: ClientConnection;
    constructor(connection: ClientConnection) {
      this.#c = connection;
    }
    send(payload: Uint8Array): void {
      this.#c.transport.send(payload);
    }
    emit(event: ClientAuthEvent): void {
      this.#c.emit(event);
    }
    sessionId(): Uint8Array {
      return this.#c.transport.sessionId!;
    }
    serverSigAlgs(): readonly string[] | undefined {
      return this.#c.serverSigAlgs;
    }
    hostBoundKey(): Uint8Array | undefined {
      return this.#c.#hostBound ? this.#c.transport.hostKeyBlob ?? undefined : undefined;
    }
    // The server starts decompressing when it sends its answer: under delayed compression
    // an IGNORE sent before that answer arrives could reach it as garbage.
    nudgeAck(): void {
      if (!this.#c.transport.sendCompressionDelayed) this.#c.transport.sendIgnore();
    }
    onSuccess(): void {
      const c = this.#c;
      c.#authenticated = true;
      c.transport.onAuthenticated();
      c.startKeepalive();
    }
    onFailure(error: DisconnectError): void {
      this.#c.transport.fail(error);
    }
  };

  // ---- state ----

  /** Whether user authentication succeeded. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /**
   * The methods the server's last USERAUTH_FAILURE said can continue (after the
   * first "none" request); empty before it answered.
   */
  get authMethods(): readonly string[] {
    return this.#auth.allowedMethods;
  }

  /** server-sig-algs from the server's EXT_INFO, if it sent one. */
  get serverSigAlgs(): readonly string[] | undefined {
    const s = this.#serverSigAlgs;
    return s === undefined ? undefined : s === "" ? [] : s.split(",");
  }

  /**
   * Whether the server offered `publickey-hostbound-v00@openssh.com` (EXT_INFO
   * `publickey-hostbound@openssh.com` version "0"); public key authentication then uses it.
   */
  get publicKeyHostBound(): boolean {
    return this.#hostBound;
  }

  // ---- answers to events ----

  /** Trusts the host key of a `hostKey` event; the handshake continues. */
  acceptHostKey(id: number): void {
    this.transport.answerHostKey(id, true);
  }

  /** Refuses the host key of a `hostKey` event; the connection ends with HOST_KEY_NOT_VERIFIABLE. */
  rejectHostKey(id: number, reason?: string): void {
    this.transport.answerHostKey(id, false, reason);
  }

  /**
   * Staged authentication (option `staged`): tries one method after an
   * `authReady` event; `authSuccess` or another `authReady` follows.
   */
  tryAuthMethod(attempt: StagedAuthAttempt): void {
    this.#auth.tryMethod(attempt);
  }

  /** Answers an `authSignRequest`. */
  provideSignature(id: number, signature: Uint8Array | null): void {
    this.#auth.provideSignature(id, signature);
  }

  /** Answers an `authPasswordRequest`. */
  providePassword(id: number, password: string | null): void {
    this.#auth.providePassword(id, password);
  }

  /** Answers an `authPasswordChangeRequest`. */
  providePasswordChange(
    id: number,
    change: { oldPassword: string; newPassword: string } | null,
  ): void {
    this.#auth.providePasswordChange(id, change);
  }

  /** Answers an `authKbdintRequest`. */
  provideKbdintResponses(id: number, responses: readonly string[] | null): void {
    this.#auth.provideKbdintResponses(id, responses);
  }

  // ---- connection commands (the rest are EngineBase's) ----

  /**
   * Sends `no-more-sessions@openssh.com`: the server will refuse (OpenSSH:
   * disconnect on) any further session channel. Useful once a connection's only
   * session is open, e.g. on a jump host.
   */
  noMoreSessions(): void {
    this.checkCommand("send no-more-sessions");
    if (this.#noMoreSessions) return;
    this.#noMoreSessions = true;
    this.connection.sendGlobalRequest("no-more-sessions@openssh.com", false);
  }

  // ---- EngineBase hooks ----

  /** The client nudges a prompt ACK while it waits (see EngineBase.ackNudge). */
  protected override get ackNudge(): boolean {
    return true;
  }

  /** Whether user authentication finished. */
  protected override authDone(): boolean {
    return this.#authenticated;
  }

  /** Hands SERVICE_* and user-auth messages to this role's authentication. */
  protected override handleAuthMessage(type: number, payload: Uint8Array): boolean {
    if (type === Msg.SERVICE_REQUEST) {
      throw protocolError("unexpected-message", "A server sent SERVICE_REQUEST", {
        got: Msg.SERVICE_REQUEST,
      });
    }
    return this.#auth.handleMessage(type, payload);
  }

  /** Starts user authentication once the first key exchange is done. */
  protected override onTransportReady(): void {
    this.#auth.start();
    if (this.#extInfoSeen) this.#auth.pipeline();
  }

  /** Refuses commands this role may not run now. */
  protected override checkCommand(what: string): void {
    if (this.transport.closed) {
      throw new LocalProtocolError(`Cannot ${what}: the connection is closed`);
    }
    if (!this.#authenticated) throw new LocalProtocolError(`Cannot ${what} before authentication`);
  }

  /** The message of the keepalive failure, naming the silent peer. */
  protected override keepaliveDeadMessage(countMax: number, intervalMs: number): string {
    return `No response from the server to ${countMax} keepalives over ` +
      `${(countMax * intervalMs) / 1000} s; connection considered dead`;
  }

  /** Handles the connection layer's own housekeeping before events reach the caller. */
  protected override onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest" && e.name === HOSTKEYS_REQUEST) {
      if (e.wantReply) this.connection.replyGlobalRequest(e.requestId, false);
      this.#onHostKeys(e.data);
      return;
    }
    if (e.type === "globalRequestReply" && e.requestId === this.#proveRequest?.id) {
      const { keys } = this.#proveRequest;
      this.#proveRequest = undefined;
      const sessionId = this.transport.sessionId!;
      const result = e.success
        ? verifyHostKeyProofs(sessionId, keys, e.data, this.transport.algorithms?.hostKey)
        : {
          proven: [],
          failed: keys.map((key) => ({ key, reason: "The server refused to prove its host keys" })),
        };
      this.emit({ type: "hostKeysProved", keys: result.proven, failed: result.failed });
      return;
    }
    this.emit(e);
  }

  /** Reads server-sig-algs from the server's EXT_INFO. */
  protected override onExtInfo(ext: ReadonlyMap<string, Uint8Array>): void {
    const sigs = ext.get("server-sig-algs");
    if (sigs) {
      const s = new TextDecoder().decode(sigs);
      this.#serverSigAlgs = s;
      this.emit({ type: "serverSigAlgs", algorithms: this.serverSigAlgs! });
    }
    // OpenSSH 8.9+ (PROTOCOL §2.5): host-bound public key authentication, version "0".
    const hb = ext.get("publickey-hostbound@openssh.com");
    if (hb && new TextDecoder().decode(hb) === "0") this.#hostBound = true;
    this.#extInfoSeen = true;
    this.#auth.pipeline();
  }

  // ---- internals ----

  #onHostKeys(data: Uint8Array): void {
    // Only the first announcement counts (OpenSSH treats a second as fatal; we ignore it).
    if (this.#hostKeysSeen || !this.#hostKeyRotation) return;
    this.#hostKeysSeen = true;
    let announced: Uint8Array[];
    try {
      announced = decodeHostKeysAnnouncement(data);
    } catch {
      return; // a malformed announcement is not worth the connection
    }
    // Only keys of a type we accept, as ssh ("key not permitted by HostkeyAlgorithms"; an RSA
    // key under any of ssh-rsa and rsa-sha2-*): a proven key we would never use is no key to
    // learn.
    const algs = this.#hostKeyAlgs;
    const keys = keysToProve(announced, this.transport.hostKeyBlob)
      .filter((k) => algs.some((a) => keyTypeForSignatureAlgorithm(a) === k.keyType));
    if (keys.length === 0) return;
    const id = this.connection.sendGlobalRequest(
      HOSTKEYS_PROVE_REQUEST,
      true,
      encodeHostKeyList(keys.map((k) => k.keyBlob)),
    );
    this.#proveRequest = { id, keys };
  }
}
