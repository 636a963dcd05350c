/**
 * The client engine: transport, user authentication and the connection protocol
 * behind one sans-IO object. Bytes in (`receiveData`), bytes out
 * (`takeOutgoing`), events out (`pollEvent`), time in (`handleTimeout`).
 *
 * @module
 */

import { ClientAuth, type ClientAuthEvent, type ClientAuthOptions } from "../auth/client_auth.ts";
import { ConnectionLayer } from "../connection/channels.ts";
import type { ChannelOptions } from "../connection/channels.ts";
import type { ConnectionEvent } from "../connection/events.ts";
import { DisconnectError, DisconnectReason, LocalProtocolError } from "../errors.ts";
import { type RandomSource, systemRandom } from "../random.ts";
import { Msg } from "../transport/messages.ts";
import type { TransportSuite } from "../transport/suite.ts";
import {
  type AlgorithmPreferences,
  Transport,
  type TransportEvent,
  type TransportOptions,
} from "../transport/transport.ts";
import { Keepalive } from "../connection/keepalive.ts";
import { EventQueue } from "../event_queue.ts";
import {
  decodeHostKeysAnnouncement,
  encodeHostKeyList,
  HOSTKEYS_PROVE_REQUEST,
  HOSTKEYS_REQUEST,
  keysToProve,
  type ProvenHostKey,
  verifyHostKeyProofs,
} from "../connection/hostkeys.ts";

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
export interface ClientConnectionOptions extends ClientAuthOptions {
  /** The algorithm suite (kex, ciphers, signatures). */
  readonly suite: TransportSuite;
  /** Algorithm preferences, most preferred first. */
  readonly algorithms: AlgorithmPreferences;
  /** Randomness; default the platform CSPRNG. */
  readonly random?: RandomSource;
  /** Our software version (the part after "SSH-2.0-"). */
  readonly softwareVersion?: string;
  readonly strictKex?: boolean;
  readonly requireStrictKex?: boolean;
  readonly rekeyBytes?: number;
  readonly rekeyPackets?: number;
  readonly rekeyIntervalMs?: number;
  /** Send keepalive@openssh.com after this many ms without traffic from the server. 0 = off. */
  readonly keepaliveIntervalMs?: number;
  /** Disconnect after this many unanswered keepalives. Default 3, as OpenSSH's ServerAliveCountMax. */
  readonly keepaliveCountMax?: number;
  /** Most channels open at once. */
  readonly maxChannels?: number;
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
 * socket.write(concat(conn.takeOutgoing()));
 * socket.onData((b) => { conn.receiveData(b); for (let e; (e = conn.pollEvent());) handle(e); });
 * ```
 */
export class ClientConnection {
  readonly #transport: Transport;
  readonly #auth: ClientAuth;
  readonly #conn: ConnectionLayer;
  readonly #events = new EventQueue<ClientEvent>();
  #serverSigAlgs: readonly string[] | undefined;
  #hostBound = false;
  #authenticated = false;
  readonly #keepalive: Keepalive;
  #now = 0;
  readonly #hostKeyRotation: boolean;
  #hostKeysSeen = false;
  #proveRequest: { id: number; keys: ProvenHostKey[] } | undefined;
  #noMoreSessions = false;
  /** Connection-layer messages handled during the current `receiveData`. */
  #connMessages = 0;

  /** Creates the engine and queues our version and KEXINIT. */
  constructor(options: ClientConnectionOptions) {
    const random = options.random ?? systemRandom;
    const t: TransportOptions = {
      role: "client",
      suite: options.suite,
      algorithms: options.algorithms,
      random,
      softwareVersion: options.softwareVersion ?? CLIENT_SOFTWARE_VERSION,
      ...pick(options, [
        "strictKex",
        "requireStrictKex",
        "rekeyBytes",
        "rekeyPackets",
        "rekeyIntervalMs",
      ]),
    };
    this.#keepalive = new Keepalive(
      options.keepaliveIntervalMs ?? 0,
      options.keepaliveCountMax ?? 3,
    );
    this.#transport = new Transport(t, {
      emit: (e) => this.#emit(e),
      handleMessage: (type, payload) => this.#onMessage(type, payload),
      onTransportReady: () => this.#auth.start(),
      onExtInfo: (ext) => this.#onExtInfo(ext),
    });
    this.#auth = new ClientAuth(options, {
      send: (p) => this.#transport.send(p),
      emit: (e) => this.#emit(e),
      sessionId: () => this.#transport.sessionId!,
      serverSigAlgs: () => this.#serverSigAlgs,
      hostBoundKey: () => (this.#hostBound ? this.#transport.hostKeyBlob ?? undefined : undefined),
      onSuccess: () => {
        this.#authenticated = true;
        this.#transport.onAuthenticated();
        this.#keepalive.start(this.#now);
      },
      onFailure: (err) => this.#transport.fail(err),
    });
    this.#hostKeyRotation = options.hostKeyRotation ?? false;
    this.#conn = new ConnectionLayer(
      // The transport copies what it must hold back during a key exchange.
      (head, body) => this.#transport.send(head, body),
      (e) => this.#onConnectionEvent(e),
      options.maxChannels,
    );
    this.#transport.start();
  }

  // ---- driving ----

  /** Feeds bytes read from the server. Never throws for bad peer input. */
  receiveData(data: Uint8Array): void {
    if (data.length) this.#keepalive.onReceive();
    const t = this.#transport;
    const written = t.packetsWritten;
    this.#connMessages = 0;
    t.receive(data);
    if (t.closed) return;
    t.checkRekey();
    // Received messages that we answer with nothing while we await the server's
    // reply: send one IGNORE so our ACK leaves now (see ConnectionLayer.ackNudgeDue).
    if (
      this.#connMessages > 0 && t.packetsWritten === written && t.canSendNow &&
      this.#conn.ackNudgeDue()
    ) {
      t.sendIgnore();
    }
  }

  /** The server closed the stream. */
  receiveEof(): void {
    this.#transport.onEndOfStream();
  }

  /** Bytes to write to the server, in order. */
  takeOutgoing(): Uint8Array[] {
    return this.#transport.takeOutgoing();
  }

  /** The next event, or undefined when none is queued. */
  pollEvent(): ClientEvent | undefined {
    return this.#events.poll();
  }

  /** When the engine next needs `handleTimeout`, in the caller's clock; undefined = never. */
  nextDeadline(): number | undefined {
    if (this.#transport.closed) return undefined;
    return minDefined(this.#transport.nextDeadline(), this.#keepalive.deadline());
  }

  /** Gives the engine the time (ms); runs rekey-by-time and keepalive. */
  handleTimeout(now: number): void {
    this.#now = now;
    this.#transport.handleTimeout(now);
    const k = this.#keepalive;
    const action = k.tick(now);
    if (action === "send") this.#conn.sendGlobalRequest("keepalive@openssh.com", true);
    if (action === "dead") {
      this.#emit({ type: "keepaliveTimeout" });
      this.#transport.fail(
        new DisconnectError(
          "ERR_KEEPALIVE",
          DisconnectReason.CONNECTION_LOST,
          `No response from the server to ${k.countMax} keepalives over ` +
            `${(k.countMax * k.intervalMs) / 1000} s; connection considered dead`,
        ),
      );
    }
  }

  // ---- state ----

  /** Whether user authentication succeeded. */
  get authenticated(): boolean {
    return this.#authenticated;
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#transport.closed;
  }

  /** The underlying transport (algorithms, versions, session id). */
  get transport(): Transport {
    return this.#transport;
  }

  /** server-sig-algs from the server's EXT_INFO, if it sent one. */
  get serverSigAlgs(): readonly string[] | undefined {
    return this.#serverSigAlgs;
  }

  /**
   * Whether the server offered `publickey-hostbound-v00@openssh.com` (EXT_INFO
   * `publickey-hostbound@openssh.com` version "0"); public key authentication then uses it.
   */
  get publicKeyHostBound(): boolean {
    return this.#hostBound;
  }

  /** The time last given to `handleTimeout`. */
  get now(): number {
    return this.#now;
  }

  // ---- answers to events ----

  /** Trusts the host key of a `hostKey` event; the handshake continues. */
  acceptHostKey(id: number): void {
    this.#transport.answerHostKey(id, true);
  }

  /** Refuses the host key of a `hostKey` event; the connection ends with HOST_KEY_NOT_VERIFIABLE. */
  rejectHostKey(id: number, reason?: string): void {
    this.#transport.answerHostKey(id, false, reason);
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

  // ---- connection commands ----

  /** Opens a channel of any type; returns its id. A `channelOpen` or `channelOpenFailure` event follows. */
  openChannel(channelType: string, data?: Uint8Array, options?: ChannelOptions): number {
    this.#requireAuth("open a channel");
    return this.#conn.openChannel(channelType, data, options);
  }

  /** Accepts a channel the server opened (forwarded-tcpip, x11, auth-agent). */
  acceptChannel(channelId: number, options?: ChannelOptions): void {
    this.#conn.acceptChannel(channelId, options);
  }

  /** Refuses a channel the server opened. */
  rejectChannel(channelId: number, reason: number, description?: string): void {
    this.#conn.rejectChannel(channelId, reason, description);
  }

  /** Sends a channel request. */
  sendChannelRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data?: Uint8Array,
  ): void {
    this.#conn.sendRequest(channelId, request, wantReply, data);
  }

  /** Answers a channel request from the server. */
  replyChannelRequest(channelId: number, success: boolean): void {
    this.#conn.replyChannelRequest(channelId, success);
  }

  /** Sends data; returns how many bytes the peer's window took. */
  sendData(channelId: number, data: Uint8Array, stream = 0): number {
    return this.#conn.sendData(channelId, data, stream);
  }

  /** Bytes that may be sent now on a channel. */
  writableBytes(channelId: number): number {
    // During a rekey the transport queues what we send; the peer's window bounds it.
    return this.#transport.closed ? 0 : this.#conn.writableBytes(channelId);
  }

  /** Reports bytes the application consumed, reopening the window. */
  consume(channelId: number, n: number): void {
    this.#conn.consume(channelId, n);
  }

  /** Sends EOF on a channel. */
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

  /** Sends a global request; returns its id for matching the `globalRequestReply`. */
  sendGlobalRequest(name: string, wantReply: boolean, data?: Uint8Array): number {
    this.#requireAuth("send a global request");
    return this.#conn.sendGlobalRequest(name, wantReply, data);
  }

  /** Answers a global request from the server. */
  replyGlobalRequest(requestId: number, success: boolean, data?: Uint8Array): void {
    this.#conn.replyGlobalRequest(requestId, success, data);
  }

  /**
   * Sends `no-more-sessions@openssh.com`: the server will refuse (OpenSSH:
   * disconnect on) any further session channel. Useful once a connection's only
   * session is open, e.g. on a jump host.
   */
  noMoreSessions(): void {
    this.#requireAuth("send no-more-sessions");
    if (this.#noMoreSessions) return;
    this.#noMoreSessions = true;
    this.#conn.sendGlobalRequest("no-more-sessions@openssh.com", false);
  }

  /** Starts a key re-exchange. */
  rekey(): void {
    this.#transport.rekey();
  }

  /** Sends DISCONNECT (reason BY_APPLICATION by default) and closes. */
  disconnect(
    reason: number = DisconnectReason.BY_APPLICATION,
    description = "Disconnected by application",
  ): void {
    this.#transport.disconnect(reason, description);
  }

  // ---- internals ----

  #requireAuth(what: string): void {
    if (this.#transport.closed) {
      throw new LocalProtocolError(`Cannot ${what}: the connection is closed`);
    }
    if (!this.#authenticated) throw new LocalProtocolError(`Cannot ${what} before authentication`);
  }

  #emit(e: ClientEvent): void {
    this.#events.push(e);
  }

  /** Handles the connection layer's own housekeeping before events reach the caller. */
  #onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest" && e.name === "keepalive@openssh.com") {
      // The server's keepalive probe: any reply proves we are alive (OpenSSH's client fails it too).
      if (e.wantReply) this.#conn.replyGlobalRequest(e.requestId, false);
      return;
    }
    if (e.type === "globalRequest" && e.name === HOSTKEYS_REQUEST) {
      if (e.wantReply) this.#conn.replyGlobalRequest(e.requestId, false);
      this.#onHostKeys(e.data);
      return;
    }
    if (e.type === "globalRequestReply" && e.requestId === this.#proveRequest?.id) {
      const { keys } = this.#proveRequest;
      this.#proveRequest = undefined;
      const sessionId = this.#transport.sessionId!;
      const result = e.success
        ? verifyHostKeyProofs(sessionId, keys, e.data, this.#transport.algorithms?.hostKey)
        : {
          proven: [],
          failed: keys.map((key) => ({ key, reason: "The server refused to prove its host keys" })),
        };
      this.#emit({ type: "hostKeysProved", keys: result.proven, failed: result.failed });
      return;
    }
    this.#emit(e);
  }

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
    const keys = keysToProve(announced, this.#transport.hostKeyBlob);
    if (keys.length === 0) return;
    const id = this.#conn.sendGlobalRequest(
      HOSTKEYS_PROVE_REQUEST,
      true,
      encodeHostKeyList(keys.map((k) => k.keyBlob)),
    );
    this.#proveRequest = { id, keys };
  }

  #onExtInfo(ext: ReadonlyMap<string, Uint8Array>): void {
    const sigs = ext.get("server-sig-algs");
    if (sigs) {
      const s = new TextDecoder().decode(sigs);
      this.#serverSigAlgs = s ? s.split(",") : [];
      this.#emit({ type: "serverSigAlgs", algorithms: this.#serverSigAlgs });
    }
    // OpenSSH 8.9+ (PROTOCOL §2.5): host-bound public key authentication, version "0".
    const hb = ext.get("publickey-hostbound@openssh.com");
    if (hb && new TextDecoder().decode(hb) === "0") this.#hostBound = true;
  }

  #onMessage(type: number, payload: Uint8Array): void {
    if (type === Msg.SERVICE_ACCEPT || (type >= 50 && type <= 79)) {
      if (!this.#auth.handleMessage(type, payload)) this.#transport.sendUnimplemented();
      return;
    }
    if (type >= 80 && type <= 127) {
      if (!this.#authenticated) {
        throw new DisconnectError(
          "ERR_PROTOCOL",
          DisconnectReason.PROTOCOL_ERROR,
          `Connection message ${type} before authentication`,
        );
      }
      this.#connMessages++;
      const owned = this.#transport.payloadOwned;
      if (!this.#conn.handleMessage(type, payload, owned)) this.#transport.sendUnimplemented();
      return;
    }
    if (type === Msg.SERVICE_REQUEST) {
      throw new DisconnectError(
        "ERR_PROTOCOL",
        DisconnectReason.PROTOCOL_ERROR,
        "A server sent SERVICE_REQUEST",
      );
    }
    this.#transport.sendUnimplemented();
  }
}

/**
 * The smaller of two optional deadlines.
 *
 * @example
 * ```ts
 * import { minDefined } from "./client_connection.ts";
 * console.log(minDefined(undefined, 5), minDefined(3, 5)); // 5 3
 * ```
 */
export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
