/**
 * What the client and server engines share, written once: the transport, the
 * connection layer and the event queue behind one object; dispatch of the messages
 * the transport passes up, by message-number range (RFC 4250 §4.1.2); the channel and
 * global-request commands; keepalive; deadlines.
 *
 * A role adds its authentication (`handleAuthMessage`, `authDone`) and whatever it
 * does on top (host key rotation, login timeout, ...) through the protected hooks.
 *
 * @module
 */

import type { ChannelOptions } from "../connection/channels.ts";
import { ConnectionLayer } from "../connection/channels.ts";
import type { ConnectionEvent } from "../connection/events.ts";
import { Keepalive } from "../connection/keepalive.ts";
import { refuseNul } from "../connection/session_requests.ts";
import { checkEngineLimits } from "./option_checks.ts";
import { DisconnectError, DisconnectReason, protocolError } from "../errors.ts";
import { EventQueue } from "../event_queue.ts";
import { MAX_KEX_HELD_CHANNEL_DATA } from "../limits.ts";
import { markTransient } from "../transient_buffers.ts";
import { type RandomSource, systemRandom } from "../random.ts";
import {
  AUTH_FIRST,
  AUTH_LAST,
  CONNECTION_FIRST,
  CONNECTION_LAST,
  Msg,
} from "../transport/messages.ts";
import type { TransportSuite } from "../transport/suite.ts";
import {
  type AlgorithmPreferences,
  Transport,
  type TransportEvent,
  type TransportHost,
  type TransportOptions,
} from "../transport/transport.ts";

/** Options both engines take. */
export interface EngineOptions {
  /** The algorithm implementations (kex, ciphers, MACs, signatures). */
  readonly suite: TransportSuite;
  /** Algorithms offered, most preferred first. */
  readonly algorithms: AlgorithmPreferences;
  /** Randomness; default the platform CSPRNG (seeded in tests). */
  readonly random?: RandomSource;
  /** Our software version (the part after "SSH-2.0-"). */
  readonly softwareVersion?: string;
  /** Offer strict kex (Terrapin countermeasure); default true. */
  readonly strictKex?: boolean;
  /** Refuse peers without strict kex. */
  readonly requireStrictKex?: boolean;
  /**
   * Let the key exchange use asynchronous native crypto where a backend is installed
   * (WebCrypto's ML-KEM on Deno and Bun, which `io/` installs): the engine then raises
   * `kexWait` events, and the caller calls {@link EngineBase.resumeKex} with the event's
   * id once its `ready` settled. The `io/` adapters set it. Default false: every step of
   * the exchange is computed synchronously.
   */
  readonly asyncKex?: boolean;
  /** Rekey after this many bytes. */
  readonly rekeyBytes?: number;
  /** Rekey after this many packets. */
  readonly rekeyPackets?: number;
  /** Rekey after this many ms. */
  readonly rekeyIntervalMs?: number;
  /** Probe a silent peer after this many ms (keepalive@openssh.com). 0 = off. */
  readonly keepaliveIntervalMs?: number;
  /** Unanswered probes before the peer is declared dead. Default 3, as OpenSSH. */
  readonly keepaliveCountMax?: number;
  /** Most channels open at once. */
  readonly maxChannels?: number;
  /**
   * Lend channel data instead of copying it where the packet was decrypted in place: a
   * `channelData` event then says `borrowed`, and its `data` (a view of the receive
   * buffer) is valid until the next `receiveData` call; the consumer copies what it keeps.
   * Events still queued when `receiveData` is called get their own copies first. Saves a
   * copy and an allocation per packet for a consumer that copies anyway (a BYOB read, a
   * framer). Default false: every `channelData` event's data is the consumer's to keep.
   */
  readonly borrowChannelData?: boolean;
}

/** The events every engine raises, whatever its role. */
export type EngineEvent = TransportEvent | ConnectionEvent | { readonly type: "keepaliveTimeout" };

/** What a role passes to {@link EngineBase}'s constructor besides the options. */
export interface EngineRole {
  /** Which side of the connection this engine is. */
  readonly role: "client" | "server";
  /** The software version announced when the options name none. */
  readonly softwareVersion: string;
  /** DISCONNECT description used by `disconnect()` when the caller gives none. */
  readonly disconnectDescription: string;
  /** Transport settings only this role has (the server's host keys, moduli, ...). */
  readonly transport?: Partial<TransportOptions>;
}

/**
 * The smaller of two optional deadlines.
 *
 * @example
 * ```ts
 * import { minDefined } from "./engine_base.ts";
 * console.log(minDefined(undefined, 5), minDefined(3, 5)); // 5 3
 * ```
 */
export function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}

/**
 * The shared part of `ClientConnection` and `ServerConnection` (see the module doc).
 * Subclasses call {@link EngineBase.startTransport} last in their constructor.
 *
 * @example
 * ```ts ignore
 * class MyEngine extends EngineBase<EngineEvent> {
 *   protected authDone() { return true; }
 *   protected handleAuthMessage() { return false; }
 * }
 * ```
 */
export abstract class EngineBase<E extends { readonly type: string }> {
  readonly #transport: Transport;
  readonly #conn: ConnectionLayer;
  readonly #events = new EventQueue<E>();
  readonly #keepalive: Keepalive;
  readonly #disconnectDescription: string;
  #now = 0;
  /** Whether `handleTimeout` has given the caller's clock yet. */
  #clockSeen = false;
  /** Connection-layer messages handled during the current `receiveData`. */
  #connMessages = 0;

  /** Builds the transport and the connection layer; nothing is sent yet. */
  constructor(options: EngineOptions, role: EngineRole) {
    checkEngineLimits(options);
    const pick = <K extends keyof EngineOptions>(k: K) =>
      options[k] !== undefined ? { [k]: options[k] } : {};
    const t: TransportOptions = {
      role: role.role,
      suite: options.suite,
      algorithms: options.algorithms,
      random: options.random ?? systemRandom,
      softwareVersion: options.softwareVersion ?? role.softwareVersion,
      ...pick("strictKex"),
      ...pick("requireStrictKex"),
      ...(options.asyncKex === true ? { allowKexWait: true } : {}),
      ...pick("rekeyBytes"),
      ...pick("rekeyPackets"),
      ...pick("rekeyIntervalMs"),
      ...role.transport,
    };
    this.#disconnectDescription = role.disconnectDescription;
    this.#keepalive = new Keepalive(
      options.keepaliveIntervalMs ?? 0,
      options.keepaliveCountMax ?? 3,
    );
    this.#transport = new Transport(t, new EngineBase.#TransportHooks(this));
    this.#conn = new ConnectionLayer(
      // The transport copies what it must hold back during a key exchange.
      (head, body) => this.#transport.send(head, body),
      (e) => this.#onConnectionEvent(e),
      options.maxChannels,
    );
    this.#conn.borrowData = options.borrowChannelData === true;
  }

  /**
   * The transport's hooks: one small object per connection whose methods reach this engine,
   * rather than four closures (a fan-out holds thousands of idle connections).
   */
  static readonly #TransportHooks = class<T extends { readonly type: string }>
    implements TransportHost {
    readonly #e: EngineBase<T>;
    constructor(engine: EngineBase<T>) {
      this.#e = engine;
    }
    emit(event: TransportEvent): void {
      this.#e.emitEngineEvent(event);
      if (event.type === "kexComplete" && this.#e.#heldWriters) {
        this.#e.#heldWriters = false;
        this.#e.#conn.announceWritable();
      }
    }
    handleMessage(type: number, payload: Uint8Array): void {
      this.#e.#dispatch(type, payload);
    }
    onTransportReady(): void {
      this.#e.onTransportReady();
    }
    onExtInfo(extensions: ReadonlyMap<string, Uint8Array>): void {
      this.#e.onExtInfo(extensions);
    }
  };

  // ---- hooks for the roles ----

  /** Whether user authentication finished (connection messages are refused before). */
  protected abstract authDone(): boolean;

  /**
   * Handles SERVICE_REQUEST, SERVICE_ACCEPT and the user-auth range (50-79). Returns
   * false for a message the role does not implement (UNIMPLEMENTED is sent back).
   */
  protected abstract handleAuthMessage(type: number, payload: Uint8Array): boolean;

  /** A connection-layer event, after the shared housekeeping; default: raise it. */
  protected onConnectionEvent(e: ConnectionEvent): void {
    this.emitEngineEvent(e);
  }

  /** The first key exchange finished in both directions. */
  protected onTransportReady(): void {}

  /** EXT_INFO arrived. */
  protected onExtInfo(_extensions: ReadonlyMap<string, Uint8Array>): void {}

  /**
   * The role's time-based work, run before the transport's and keepalive's. Return
   * false to stop there (the connection was just closed).
   */
  protected onTimeout(_now: number): boolean {
    return true;
  }

  /** The role's own next deadline, if any. */
  protected roleDeadline(): number | undefined {
    return undefined;
  }

  /** Throws when a command may not run now; `what` reads "open a channel" and the like. */
  protected checkCommand(_what: string): void {}

  /** The message of the keepalive failure. */
  protected abstract keepaliveDeadMessage(countMax: number, intervalMs: number): string;

  // ---- for the roles ----

  /** Raises an event. */
  protected emit(e: E): void {
    this.#events.push(e);
  }

  /** Raises one of the shared events (transport, connection, keepalive). */
  protected emitEngineEvent(e: EngineEvent): void {
    // Every role's event union includes EngineEvent; TypeScript cannot see that for a generic E.
    this.#events.push(e as unknown as E);
  }

  /** The connection layer (channels, global requests). */
  protected get connection(): ConnectionLayer {
    return this.#conn;
  }

  /** Sends our version and KEXINIT: call last in the subclass constructor. */
  protected startTransport(): void {
    this.#transport.start();
  }

  /** Starts keepalive probing (after authentication). */
  protected startKeepalive(): void {
    this.#keepalive.start(this.#now);
  }

  // ---- driving ----

  /** Feeds bytes read from the peer. Never throws for bad peer input. */
  receiveData(data: Uint8Array): void {
    // The new bytes may overwrite what lent data still waiting in the queue points at. (Once
    // per batch of lent events: a caller that feeds many chunks before polling pays no more.)
    if (this.#conn.lentEvents > 0) {
      if (this.#events.size > 0) this.#events.forEach(ownChannelData);
      this.#conn.lentEvents = 0;
    }
    if (data.length) this.#keepalive.onReceive();
    const t = this.#transport;
    const written = t.packetsWritten;
    this.#connMessages = 0;
    t.receive(data);
    if (t.closed) return;
    t.checkRekey();
    // Received messages that we answer with nothing while we await the peer's
    // reply: send one IGNORE so our ACK leaves now (see ConnectionLayer.ackNudgeDue).
    if (
      this.ackNudge && this.#connMessages > 0 && t.packetsWritten === written &&
      t.canSendNow && this.#conn.ackNudgeDue()
    ) {
      t.sendIgnore();
    }
  }

  /**
   * Whether this role sends one SSH_MSG_IGNORE to carry a prompt TCP ACK while it waits
   * for the peer (see ConnectionLayer.ackNudgeDue). The client does: sshd leaves Nagle
   * on and holds its channel-open confirmation behind its unsolicited hostkeys-00.
   */
  protected get ackNudge(): boolean {
    return false;
  }

  /**
   * The application drops the connection without DISCONNECT (see Transport.abandon): the
   * disconnect event carries an ERR_BY_APPLICATION error with `description`, not
   * fromPeer. A driver destroys its socket after this.
   */
  abandon(description: string): void {
    this.#transport.abandon(description);
  }

  /**
   * The peer closed the stream. `cause`: why, when the caller's transport knows (a proxy
   * command that failed, say); the disconnect error says it and carries it.
   */
  receiveEof(cause?: Error): void {
    this.#transport.onEndOfStream(cause);
  }

  /**
   * How many bytes {@link takeOutgoing} would return now (0: nothing). A driver writes
   * by it: an engine that overrides `takeOutgoing` overrides this too.
   */
  get outgoingBytes(): number {
    return this.#transport.outgoingBytes;
  }

  /** Bytes to write to the peer, in order. */
  takeOutgoing(): Uint8Array[] {
    return this.#transport.takeOutgoing();
  }

  /** The next event, or undefined when none is queued. */
  pollEvent(): E | undefined {
    return this.#events.poll();
  }

  /**
   * When the engine next needs `handleTimeout`, in the caller's clock; undefined = never.
   * 0 until the first `handleTimeout`: the engine learns the caller's clock from it (a
   * server's login timeout starts then), so a new engine asks for it at once.
   */
  nextDeadline(): number | undefined {
    if (this.#transport.closed) return undefined;
    if (!this.#clockSeen) return 0;
    const d = minDefined(
      minDefined(this.#transport.nextDeadline(), this.#keepalive.deadline()),
      this.roleDeadline(),
    );
    // An Infinity duration (rekeyIntervalMs, say) is never, as documented: a caller's
    // setTimeout(Infinity) fires at once, and would fire again and again.
    return d === undefined || Number.isFinite(d) ? d : undefined;
  }

  /** Gives the engine the time (ms): the role's timers, rekey by time, keepalive. */
  handleTimeout(now: number): void {
    this.#now = now;
    this.#clockSeen = true;
    if (!this.onTimeout(now)) return;
    this.#transport.handleTimeout(now);
    const k = this.#keepalive;
    const action = k.tick(now);
    if (action === "send") this.#conn.sendKeepaliveProbe();
    if (action === "dead") {
      this.emitEngineEvent({ type: "keepaliveTimeout" });
      this.#transport.fail(
        new DisconnectError(
          "ERR_KEEPALIVE",
          DisconnectReason.CONNECTION_LOST,
          this.keepaliveDeadMessage(k.countMax, k.intervalMs),
        ),
      );
    }
  }

  // ---- state ----

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#transport.closed;
  }

  /** The underlying transport (algorithms, versions, session id). */
  get transport(): Transport {
    return this.#transport;
  }

  /** The time last given to `handleTimeout`. */
  get now(): number {
    return this.#now;
  }

  /**
   * Continues the key exchange of a `kexWait` event (option `asyncKex`) once the event's
   * `ready` settled.
   */
  resumeKex(id: number): void {
    this.#transport.resumeKex(id);
  }

  // ---- channel and global-request commands ----

  /** Opens a channel of any type; returns its id. A `channelOpen` or `channelOpenFailure` event follows. */
  openChannel(channelType: string, data?: Uint8Array, options?: ChannelOptions): number {
    this.checkCommand("open a channel");
    refuseNul(channelType, "A channel type");
    return this.#conn.openChannel(channelType, data, options);
  }

  /** Accepts a channel the peer opened. */
  acceptChannel(channelId: number, options?: ChannelOptions): void {
    this.#conn.acceptChannel(channelId, options);
  }

  /** Refuses a channel the peer opened. */
  rejectChannel(channelId: number, reason: number, description?: string): void {
    this.#conn.rejectChannel(channelId, reason, description);
  }

  /** Sends a channel request; with `wantReply` a `channelRequestReply` event follows. */
  sendChannelRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data?: Uint8Array,
  ): void {
    refuseNul(request, "A channel request's name");
    this.#conn.sendRequest(channelId, request, wantReply, data);
  }

  /** Answers a channel request from the peer. */
  replyChannelRequest(channelId: number, success: boolean): void {
    this.#conn.replyChannelRequest(channelId, success);
  }

  /**
   * Sends data (stream 1 = stderr); returns how many bytes the peer's window took (0 on a
   * channel already closed both ways, whose `channelClose` event may still be queued, and on
   * a closed connection, as {@link writableBytes} says: nothing would reach the peer).
   */
  sendData(channelId: number, data: Uint8Array, stream = 0): number {
    if (this.#transport.closed) return 0;
    // During a key exchange no more than writableBytes says (see there).
    const room = this.#kexRoom();
    if (room < data.length) {
      this.#heldWriters = true;
      if (room === 0) return 0;
      data = data.subarray(0, room);
    }
    return this.#conn.sendData(channelId, data, stream);
  }

  /**
   * Bytes that may be sent now on a channel: the peer's window, and during a key exchange
   * (which holds what we send) no more than {@link MAX_KEX_HELD_CHANNEL_DATA} held in all.
   * When that cap is what stops a writer, the channels that can send get a `channelWritable`
   * event once the exchange is complete.
   */
  writableBytes(channelId: number): number {
    const t = this.#transport;
    if (t.closed) return 0;
    const window = this.#conn.writableBytes(channelId);
    const room = this.#kexRoom();
    if (room >= window) return window;
    this.#heldWriters = true;
    return room;
  }

  /** Channel data that may still be handed over: unbounded unless a key exchange holds it. */
  #kexRoom(): number {
    const t = this.#transport;
    return t.canSendNow ? Infinity : Math.max(0, MAX_KEX_HELD_CHANNEL_DATA - t.heldBytes);
  }

  /** A writer was held back by {@link MAX_KEX_HELD_CHANNEL_DATA}: channels are announced writable after. */
  #heldWriters = false;

  /** Reports bytes the application consumed, reopening the window. */
  consume(channelId: number, n: number): void {
    this.#conn.consume(channelId, n);
  }

  /** Changes the window kept granted on a channel (see ConnectionLayer.setWindowSize). */
  setWindowSize(channelId: number, size: number): void {
    this.#conn.setWindowSize(channelId, size);
  }

  /** Sends EOF on a channel. */
  sendEof(channelId: number): void {
    this.#conn.sendEof(channelId);
  }

  /** Closes a channel. */
  closeChannel(channelId: number): void {
    this.#conn.close(channelId);
  }

  /**
   * Holds the answer to the peer's CLOSE until {@link closeChannel} (see the connection
   * layer's `holdClose`): the peer's CLOSE raises `channelCloseReceived` instead.
   *
   * @example
   * ```ts ignore
   * engine.holdClose(channelId);
   * ```
   */
  holdClose(channelId: number): void {
    this.#conn.holdClose(channelId);
  }

  /** Facts about a channel. */
  channelInfo(channelId: number): ReturnType<ConnectionLayer["info"]> {
    return this.#conn.info(channelId);
  }

  /** Sends a global request; returns its id for matching the `globalRequestReply`. */
  sendGlobalRequest(name: string, wantReply: boolean, data?: Uint8Array): number {
    this.checkCommand("send a global request");
    refuseNul(name, "A global request's name");
    return this.#conn.sendGlobalRequest(name, wantReply, data);
  }

  /** Answers a global request from the peer. */
  replyGlobalRequest(requestId: number, success: boolean, data?: Uint8Array): void {
    this.#conn.replyGlobalRequest(requestId, success, data);
  }

  /** Sends an SSH DEBUG message (see Transport.sendDebug). */
  sendDebug(message: string, alwaysDisplay = false): void {
    this.#transport.sendDebug(message, alwaysDisplay);
  }

  /** Starts a key re-exchange. */
  rekey(): void {
    this.#transport.rekey();
  }

  /** Sends DISCONNECT (reason BY_APPLICATION by default) and closes. */
  disconnect(
    reason: number = DisconnectReason.BY_APPLICATION,
    description: string = this.#disconnectDescription,
  ): void {
    this.#transport.disconnect(reason, description);
  }

  // ---- internals ----

  #onConnectionEvent(e: ConnectionEvent): void {
    if (e.type === "globalRequest" && e.name === "keepalive@openssh.com") {
      // The peer's keepalive probe: any reply proves we are alive (OpenSSH fails it too).
      if (e.wantReply) this.#conn.replyGlobalRequest(e.requestId, false);
      return;
    }
    this.onConnectionEvent(e);
  }

  /** Messages the transport passes up, by number range (RFC 4250 §4.1.2). */
  #dispatch(type: number, payload: Uint8Array): void {
    if (
      type === Msg.SERVICE_REQUEST || type === Msg.SERVICE_ACCEPT ||
      (type >= AUTH_FIRST && type <= AUTH_LAST)
    ) {
      if (!this.handleAuthMessage(type, payload)) this.#transport.sendUnimplemented();
      return;
    }
    if (type >= CONNECTION_FIRST && type <= CONNECTION_LAST) {
      if (!this.authDone()) {
        throw protocolError(
          "unexpected-message",
          `Connection message ${type} before authentication`,
          { got: type, expected: ["SERVICE_REQUEST", "SERVICE_ACCEPT", "50-79"] },
        );
      }
      this.#connMessages++;
      const t = this.#transport;
      if (!this.#conn.handleMessage(type, payload, t.payloadOwned, t.payloadStable)) {
        t.sendUnimplemented();
      }
      return;
    }
    this.#transport.sendUnimplemented();
  }
}

/** Gives a queued `channelData` event whose data is lent a copy of its own. */
function ownChannelData(e: { readonly type: string }): void {
  if (e.type !== "channelData") return;
  // The event was made by this engine's connection layer: giving it its own copy is ours to do.
  const d = e as { readonly type: string } & { data: Uint8Array; borrowed?: boolean };
  if (!d.borrowed) return;
  d.data = d.data.slice();
  delete d.borrowed;
  markTransient(d.data);
}
