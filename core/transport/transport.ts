/**
 * The SSH transport layer (RFC 4253) as a sans-IO state machine shared by the
 * client and server engines: version exchange, KEXINIT negotiation, the kex flow,
 * NEWKEYS, strict kex, rekeying, and the generic messages (IGNORE, DEBUG,
 * UNIMPLEMENTED, DISCONNECT, EXT_INFO).
 *
 * What may arrive when, and how the phases follow each other, is decided by the
 * tables of `phases.ts`; an unexpected message is a protocol error, never a silent
 * drop. When to rekey is `rekey.ts`; what NEWKEYS switches on is `new_keys.ts`.
 *
 * @module
 */

import { escapeControls, readPeerText } from "../peer_text.ts";
import type { PacketOpener, PacketSealer } from "../crypto/types.ts";
import {
  DisconnectError,
  DisconnectReason,
  protocolError,
  SSHError,
  withoutStack,
} from "../errors.ts";
import type {
  HostKeySigner,
  KexClientFlow,
  KexResult,
  KexServerFlow,
  KexStep,
  KexWait,
} from "../kex/types.ts";
import {
  DEFERRED_MESSAGE_OVERHEAD,
  MAX_DEFERRED_BYTES,
  MAX_EXT_INFO_EXTENSIONS,
  MAX_HELD_INPUT,
  MAX_NAME,
  MAX_TEXT,
} from "../limits.ts";
import type { RandomSource } from "../random.ts";
import { SSHReader, SSHWriter, totalLength, utf8 } from "../wire.ts";
import {
  decodeKexInit,
  encodeKexInit,
  EXT_INFO_C,
  EXT_INFO_S,
  guessWasRight,
  KEX_STRICT_C,
  KEX_STRICT_S,
  type KexInit,
  type KexInitLists,
  negotiate,
  type NegotiatedAlgorithms,
} from "./kexinit.ts";
import { Msg } from "./messages.ts";
import {
  CompressionSwitch,
  deriveNewKeys,
  type Direction,
  directionAlgorithms,
} from "./new_keys.ts";
import { PacketReceiver, PacketSender } from "./packet.ts";
import {
  awaitsHostKey,
  expectedIn,
  isInitialExchange,
  isKexWait,
  NEXT_PHASE,
  type PhaseEvent,
  readsInput,
  type TransportPhase,
  verdict,
} from "./phases.ts";
import { type RekeyLimits, RekeyPolicy } from "./rekey.ts";
import type { TransportSuite } from "./suite.ts";
import { formatVersionLine, type PeerVersion, VersionReader } from "./version.ts";

/** Longest DEBUG message we send or accept (bytes): a log line, not a data channel. */
const MAX_DEBUG_MESSAGE = 64 * 1024;
export { DEFAULT_REKEY_BYTES, DEFAULT_REKEY_PACKETS } from "../limits.ts";
export { allowedIncoming, type TransportPhase } from "./phases.ts";

/** Algorithm preference lists for one side. */
export interface AlgorithmPreferences {
  /** Key exchange methods, most preferred first. */
  readonly kex: readonly string[];
  /** Host key signature algorithms, most preferred first. */
  readonly hostKey: readonly string[];
  /** Ciphers (both directions), most preferred first. */
  readonly cipher: readonly string[];
  /** MACs (both directions), most preferred first. */
  readonly mac: readonly string[];
  /** Compression methods (both directions), most preferred first. */
  readonly compression: readonly string[];
}

/** Transport settings. Limits have defaults with reasons in `core/limits.ts`. */
export interface TransportOptions extends RekeyLimits {
  /** Which side this transport is. */
  readonly role: "client" | "server";
  /** The algorithm implementations. */
  readonly suite: TransportSuite;
  /** What we offer, most preferred first. */
  readonly algorithms: AlgorithmPreferences;
  /** Randomness for cookies, padding and ephemeral keys. */
  readonly random: RandomSource;
  /** Our software version, e.g. "sshts_0.1". */
  readonly softwareVersion: string;
  /** Offer strict kex (Terrapin countermeasure). Default true. */
  readonly strictKex?: boolean;
  /** Refuse peers that do not offer strict kex. Default false. */
  readonly requireStrictKex?: boolean;
  /** Server only: host keys by signature algorithm. */
  readonly hostKeys?: ReadonlyMap<string, HostKeySigner>;
  /** Server only: groups for diffie-hellman-group-exchange. */
  readonly moduli?: readonly { readonly bits: number; readonly p: bigint; readonly g: bigint }[];
  /** Server only: the server-sig-algs list sent in EXT_INFO. */
  readonly serverSigAlgs?: readonly string[];
  /**
   * Let key exchange methods run asynchronous native crypto: the transport then raises
   * `kexWait` events, each answered with {@link Transport.resumeKex}. Default false.
   */
  readonly allowKexWait?: boolean;
}

/** Events the transport raises for the caller. */
export type TransportEvent =
  | {
    readonly type: "hostKey";
    readonly id: number;
    readonly algorithm: string;
    readonly keyBlob: Uint8Array;
  }
  | {
    readonly type: "kexComplete";
    readonly algorithms: NegotiatedAlgorithms;
    readonly strictKex: boolean;
    readonly initial: boolean;
  }
  | {
    /**
     * The key exchange waits for asynchronous native crypto (only with `allowKexWait`):
     * once `ready` settled (it never rejects), the caller calls `resumeKex(id)`.
     */
    readonly type: "kexWait";
    readonly id: number;
    readonly ready: PromiseLike<void>;
  }
  | { readonly type: "debug"; readonly message: string; readonly alwaysDisplay: boolean }
  | { readonly type: "disconnect"; readonly error: DisconnectError };

/** How the transport talks to the engine on top of it. */
export interface TransportHost {
  /** Queues an event for the caller. */
  emit(event: TransportEvent): void;
  /** A message for the layers above (service, auth, connection). */
  handleMessage(type: number, payload: Uint8Array): void;
  /** The first key exchange finished in both directions: higher layers may start. */
  onTransportReady(): void;
  /** EXT_INFO arrived. */
  onExtInfo(extensions: ReadonlyMap<string, Uint8Array>): void;
}

/** The transport state machine. Owned by a ClientConnection or ServerConnection. */
export class Transport {
  readonly #o: TransportOptions;
  readonly #host: TransportHost;
  readonly #receiver = new PacketReceiver();
  readonly #sender: PacketSender;
  readonly #compression: CompressionSwitch;
  readonly #rekey: RekeyPolicy;
  #versionReader: VersionReader | null;
  #outgoing: Uint8Array[] = [];
  #packetsWritten = 0;
  #localVersion: string;
  #peerVersion: PeerVersion | null = null;

  /** Where the transport is; every ordering rule is in the tables of `phases.ts`. */
  #phase: TransportPhase = "awaitKexInit";
  #ready = false;
  /** User authentication has succeeded: rekeys by limit may start (not before, as OpenSSH). */
  #authenticated = false;
  #strict = false;
  #ourKexInit: Uint8Array | null = null;
  #peerKexInit: KexInit | null = null;
  /** The peer's last KEXINIT after the exchange: decoded again only if asked for. */
  #peerKexInitPayload: Uint8Array | null = null;
  #negotiated: NegotiatedAlgorithms | null = null;
  #clientFlow: KexClientFlow | null = null;
  #serverFlow: KexServerFlow | null = null;
  #ignoreNextKexPacket = false;
  #pendingResult: KexResult | null = null;
  #sessionId: Uint8Array | null = null;
  #hostKeyBlob: Uint8Array | null = null;
  #sessionSignature: Uint8Array | null = null;
  #hostKeyRequestId = 0;
  /** The key exchange's asynchronous work being waited for, and its event's id. */
  #kexWait: KexWait | null = null;
  #kexWaitId = 0;
  #deferred: { head: Uint8Array; body: Uint8Array | undefined }[] = [];
  #deferredBytes = 0;
  /**
   * Server: how many held messages go out before delayed compression starts, the last being
   * the USERAUTH_SUCCESS sent during a key exchange (the client compresses only once it reads
   * that message, and reads it uncompressed); -1 when nothing waits.
   */
  #compressAfterDeferred = -1;
  /** `rekey()` was called before user authentication succeeded: the rekey starts then. */
  #rekeyAfterAuth = false;
  #kexCount = 0;
  #now = 0;
  #lastKexAt = 0;
  #currentSeq = 0;
  #peerExtInfo = false;
  /**
   * Where the peer may send EXT_INFO (RFC 8308 §2.4): as its first packet after its first
   * NEWKEYS (this flag, set for that one packet), and, from a server, once more before
   * USERAUTH_SUCCESS. How many it sent is counted: a server sends at most two, a client
   * one (OpenSSH 9.6+ counts the same).
   */
  #firstAfterNewKeys = false;
  #extInfoReceived = 0;

  /** Creates the transport; call `start()` to send our version and KEXINIT. */
  constructor(options: TransportOptions, host: TransportHost) {
    this.#o = options;
    this.#host = host;
    this.#sender = new PacketSender(options.random);
    this.#compression = new CompressionSwitch(options.suite, this.#sender, this.#receiver);
    this.#rekey = new RekeyPolicy(options);
    this.#versionReader = new VersionReader(options.role === "client");
    this.#localVersion = formatVersionLine(options.softwareVersion);
    if (options.role === "server" && (!options.hostKeys || options.hostKeys.size === 0)) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", "A server needs at least one host key");
    }
  }

  /** Our identification line. */
  get localVersion(): string {
    return this.#localVersion;
  }

  /** The peer's identification, once received. */
  get peerVersion(): PeerVersion | null {
    return this.#peerVersion;
  }

  /** The session identifier (H of the first exchange), once known. */
  get sessionId(): Uint8Array | null {
    return this.#sessionId;
  }

  /** The server's host key blob, once known. */
  get hostKeyBlob(): Uint8Array | null {
    return this.#hostKeyBlob;
  }

  /**
   * The server's signature over the session identifier (from the first key
   * exchange's reply), once known: what `session-bind@openssh.com` hands an agent.
   */
  get sessionSignature(): Uint8Array | null {
    return this.#sessionSignature;
  }

  /** The algorithms of the last completed exchange. */
  get algorithms(): NegotiatedAlgorithms | null {
    return this.#negotiated;
  }

  /** The peer's last KEXINIT lists (what it offers), once received. */
  get peerKexInit(): KexInitLists | null {
    if (this.#peerKexInit === null && this.#peerKexInitPayload !== null) {
      this.#peerKexInit = decodeKexInit(this.#peerKexInitPayload);
    }
    return this.#peerKexInit;
  }

  /** How many key exchanges completed (1 after the handshake, +1 per rekey). */
  get kexCount(): number {
    return this.#kexCount;
  }

  /** Whether strict kex is in force. */
  get strictKex(): boolean {
    return this.#strict;
  }

  /** The phase the transport is in (see `phases.ts`). */
  get phase(): TransportPhase {
    return this.#phase;
  }

  /** Whether the connection is closed (after a disconnect either way). */
  get closed(): boolean {
    return this.#phase === "closed";
  }

  /** Whether the first key exchange finished. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Providers of the sealer and opener in use, for reporting. */
  get cryptoProviders(): { send: string; receive: string } {
    return {
      send: this.#sender.sealer?.provider ?? "none",
      receive: this.#receiver.opener?.provider ?? "none",
    };
  }

  /**
   * The sealer and opener in use (null before the first NEWKEYS). The I/O driver looks
   * at them to run asynchronous crypto (WebCrypto) behind the sync seam; see io/engine.
   */
  get sealer(): PacketSealer | null {
    return this.#sender.sealer;
  }

  /** The opener in use (null before the first NEWKEYS); see {@link sealer}. */
  get opener(): PacketOpener | null {
    return this.#receiver.opener;
  }

  /**
   * Takes back the received bytes not yet read as packets (a partial packet), so a
   * driver that frames packets itself for a deferred opener can start from a packet
   * boundary. Only between packets: call it after `receive` returned.
   */
  takeBufferedInput(): Uint8Array {
    return this.#receiver.takeBuffered();
  }

  /** Whether the peer announced EXT_INFO support (server side: ext-info-c). */
  get peerSupportsExtInfo(): boolean {
    return this.#peerExtInfo;
  }

  /** Whether the payload being handled is a buffer of its own (see PacketReceiver.payloadOwned). */
  get payloadOwned(): boolean {
    return this.#receiver.payloadOwned;
  }

  /** Packets sealed for sending so far (compare two readings to see whether anything was sent). */
  get packetsWritten(): number {
    return this.#packetsWritten;
  }

  /**
   * Whether the payload being handled, when not owned, stays as it is until the transport
   * is next given bytes (see PacketReceiver.payloadStable).
   */
  get payloadStable(): boolean {
    return this.#receiver.payloadStable;
  }

  /** Sequence number of the packet being handled (for UNIMPLEMENTED replies). */
  get currentSequence(): number {
    return this.#currentSeq;
  }

  /** Sends our version line and first KEXINIT. */
  start(): void {
    this.#outgoing.push(utf8(this.#localVersion + "\r\n"));
    this.#sendKexInit();
  }

  /** Drains the bytes to write to the peer, in order. */
  takeOutgoing(): Uint8Array[] {
    const out = this.#outgoing;
    this.#outgoing = [];
    return out;
  }

  /**
   * How many bytes {@link takeOutgoing} would return: lets a driver write bulk data at once
   * and batch small messages (a driver takes them every turn, so the list stays short).
   */
  get outgoingBytes(): number {
    return totalLength(this.#outgoing);
  }

  /** Feeds bytes from the peer. Never throws for bad peer input. */
  receive(data: Uint8Array): void {
    if (this.closed) return;
    try {
      if (this.#versionReader) {
        const got = this.#versionReader.push(data);
        if (!got) return;
        this.#versionReader = null;
        this.#peerVersion = got.version;
        data = got.rest;
      }
      this.#receiver.push(data);
      this.#pump();
      // While the host key awaits the verifier's answer nothing is read: what the peer sends
      // meanwhile is buffered. More than two largest packets is nothing it needs to send.
      // A key exchange's wait has no such cap: it lasts as long as local crypto does, and a
      // peer rightly streams channel data right after its NEWKEYS (OpenSSH flushes its queue
      // then), as much as the windows we granted allow.
      if (awaitsHostKey(this.#phase) && this.#receiver.buffered > MAX_HELD_INPUT) {
        throw new DisconnectError(
          "ERR_PROTOCOL",
          DisconnectReason.PROTOCOL_ERROR,
          "The peer sent too much while its packets could not be read",
        );
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Tells the transport the time (ms, any monotonic origin) and runs time-based work. */
  handleTimeout(now: number): void {
    this.#now = now;
    if (this.#lastKexAt === 0) this.#lastKexAt = now;
    if (this.closed) return;
    const d = this.nextDeadline();
    if (d !== undefined && now >= d) this.#maybeRekey(true);
  }

  /** When the transport next needs `handleTimeout` (rekey by time), or undefined. */
  nextDeadline(): number | undefined {
    if (this.#phase !== "idle" || !this.#authenticated) return undefined;
    return this.#rekey.deadline(this.#lastKexAt);
  }

  /**
   * Starts a key re-exchange now (no-op while one is running). Before user authentication
   * succeeded it starts once it has: OpenSSH neither starts one then nor takes one up (sshd
   * 9.2 leaves a client's KEXINIT during authentication unanswered, and the exchange, with
   * everything held behind it, would never end).
   */
  rekey(): void {
    if (this.closed) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", "Cannot rekey: the connection is closed");
    }
    if (!this.#ready) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", "Cannot rekey before the first key exchange");
    }
    if (!this.#authenticated) {
      this.#rekeyAfterAuth = true;
      return;
    }
    if (this.#phase === "idle") this.#startRekey();
  }

  /**
   * Called with the direction, message number and payload length of every packet, for
   * debug traces (never the payload). Unset by default.
   */
  packetObserver:
    | ((direction: "in" | "out", messageType: number, length: number) => void)
    | undefined;

  /** Sends a message from a layer above. Held back while a key exchange is in progress. */
  send(head: Uint8Array, body?: Uint8Array): void {
    if (this.closed) return;
    if (this.#phase !== "idle") {
      // Each held message costs its bytes and its record (a few hundred bytes of objects):
      // counted too, or a peer that stalls a rekey and sends a flood of 1-byte keepalive
      // replies' worth would hold 300 times the cap.
      this.#deferredBytes += head.length + (body?.length ?? 0) + DEFERRED_MESSAGE_OVERHEAD;
      if (this.#deferredBytes > MAX_DEFERRED_BYTES) {
        this.fail(new SSHError("ERR_LOCAL_PROTOCOL", "Too much data queued during key exchange"));
        return;
      }
      // Held until the exchange ends: copy the body, which the caller may reuse once we return.
      this.#deferred.push({ head, body: body?.slice() });
      return;
    }
    this.#write(head, body);
    this.#maybeRekey(false);
  }

  /** True when messages sent now go out at once (no kex holding them back). */
  get canSendNow(): boolean {
    return this.#phase === "idle";
  }

  /** Bytes held back by the key exchange in progress, counted as against MAX_DEFERRED_BYTES. */
  get heldBytes(): number {
    return this.#deferredBytes;
  }

  /** Sends UNIMPLEMENTED for the packet being handled. */
  sendUnimplemented(): void {
    this.send(
      new SSHWriter(8).writeByte(Msg.UNIMPLEMENTED).writeUint32(this.#currentSeq).toBytes(),
    );
  }

  /** Sends an IGNORE message (keepalive-style traffic, or to test peers). */
  sendIgnore(data: Uint8Array = new Uint8Array(0)): void {
    this.#writeTransport(new SSHWriter().writeByte(Msg.IGNORE).writeString(data).toBytes());
  }

  /**
   * Sends a DEBUG message (RFC 4253 section 11.3): text the peer may log, or show
   * its user when `alwaysDisplay` is set. Held until a key exchange in progress ends.
   */
  sendDebug(message: string, alwaysDisplay = false): void {
    const text = utf8(message);
    if (text.length > MAX_DEBUG_MESSAGE) {
      throw new RangeError(`DEBUG message longer than ${MAX_DEBUG_MESSAGE} bytes`);
    }
    // Through send(): held back during key exchange (strict kex allows nothing else then).
    this.send(
      new SSHWriter().writeByte(Msg.DEBUG).writeBoolean(alwaysDisplay).writeString(text)
        .writeStringUtf8("").toBytes(),
    );
  }

  /**
   * Whether our packets will be compressed from the peer's USERAUTH_SUCCESS on
   * (`zlib@openssh.com`, not started yet): then nothing may be sent while an
   * authentication request awaits its answer (see CompressionSwitch.sendDelayed).
   */
  get sendCompressionDelayed(): boolean {
    return this.#compression.sendDelayed;
  }

  /**
   * Marks user authentication done: `zlib@openssh.com` compression starts now, right after
   * the USERAUTH_SUCCESS (the client calls this as it reads it, the server once it sent it).
   * A server's USERAUTH_SUCCESS held back by a key exchange the client started meanwhile
   * starts compression when it goes out, after the exchange: until it reads it, the client
   * neither compresses nor decompresses.
   */
  onAuthenticated(): void {
    if (this.#authenticated) return;
    this.#authenticated = true;
    const held = this.#o.role === "server"
      ? this.#deferred.findLastIndex((d) => d.head[0] === Msg.USERAUTH_SUCCESS)
      : -1;
    if (held >= 0) this.#compressAfterDeferred = held + 1;
    else this.#compression.onAuthenticated();
    if (this.#rekeyAfterAuth) {
      this.#rekeyAfterAuth = false;
      if (this.#phase === "idle") this.#startRekey();
    }
  }

  /** The client's answer to a `hostKey` event. */
  answerHostKey(id: number, accept: boolean, reason?: string): void {
    if (this.closed && id > 0 && id <= this.#hostKeyRequestId) return; // overtaken by a disconnect
    if (!awaitsHostKey(this.#phase) || id !== this.#hostKeyRequestId) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", `No host key decision with id ${id} is pending`);
    }
    if (!accept) {
      this.fail(
        new DisconnectError(
          "ERR_HOST_KEY_NOT_VERIFIABLE",
          DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
          reason ?? "Host key verification failed: the server's host key is not trusted",
        ),
      );
      return;
    }
    try {
      this.#finishKex();
      this.#pump();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Continues the key exchange of a `kexWait` event once its `ready` settled. */
  resumeKex(id: number): void {
    if (this.closed && id > 0 && id <= this.#kexWaitId) return; // overtaken by a disconnect
    const wait = this.#kexWait;
    if (!isKexWait(this.#phase) || wait === null || id !== this.#kexWaitId) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", `No key exchange wait with id ${id} is pending`);
    }
    this.#kexWait = null;
    this.#to("kexResume");
    try {
      this.#takeStep(kexFlowStep(() => wait.resume()));
      this.#pump();
    } catch (e) {
      this.fail(e);
    }
  }

  /** Sends DISCONNECT and closes. */
  disconnect(reason: number, description: string): void {
    if (this.closed) return;
    this.#writeTransport(
      new SSHWriter().writeByte(Msg.DISCONNECT).writeUint32(reason).writeStringUtf8(description)
        .writeStringUtf8("").toBytes(),
    );
    this.#to("close");
    const byApplication = reason === DisconnectReason.BY_APPLICATION;
    const make = () =>
      new DisconnectError(
        byApplication ? "ERR_BY_APPLICATION" : "ERR_PROTOCOL",
        reason,
        description,
      );
    // A normal close: nothing went wrong, so no stack to capture (every fan-out host pays it).
    this.#host.emit({ type: "disconnect", error: byApplication ? withoutStack(make) : make() });
  }

  /**
   * Ends the connection because of an error: a DisconnectError is sent to the peer
   * (unless it came from the peer) and reported as an event.
   */
  fail(e: unknown): void {
    if (this.closed) return;
    const err = toDisconnectError(e);
    if (!err.fromPeer) {
      try {
        this.#writeTransport(
          new SSHWriter().writeByte(Msg.DISCONNECT).writeUint32(err.reason).writeStringUtf8(
            err.message,
          )
            .writeStringUtf8("").toBytes(),
        );
      } catch { /* the sender itself failed; nothing more to say */ }
    }
    this.#to("close");
    this.#host.emit({ type: "disconnect", error: err });
  }

  /**
   * Ends the connection here without a word to the peer: the application drops the socket
   * (a client's or server's `abort()`). What waited on the connection learns that it was
   * aborted on this side, not that the peer closed it.
   */
  abandon(description: string): void {
    if (this.closed) return;
    this.#closeSilently(
      new DisconnectError("ERR_BY_APPLICATION", DisconnectReason.BY_APPLICATION, description),
    );
  }

  /** The peer closed the byte stream; `cause`, where the caller knows why. */
  onEndOfStream(cause?: Error): void {
    if (this.closed) return;
    const what = this.#peerVersion
      ? "Connection closed by the peer"
      : "Connection closed before the SSH version exchange";
    this.#closeSilently(
      new DisconnectError(
        "ERR_CONNECTION_LOST",
        DisconnectReason.CONNECTION_LOST,
        cause ? `${what}: ${cause.message}` : what,
        cause ? { fromPeer: true, cause } : { fromPeer: true },
      ),
    );
  }

  /** Closes with nothing more to send (the stream is gone, or dropped), reporting `error`. */
  #closeSilently(error: DisconnectError): void {
    this.#to("close");
    this.#host.emit({ type: "disconnect", error });
  }

  // ---- phases ----

  /** Moves to the phase the table gives for `event`. */
  #to(event: PhaseEvent): void {
    const next = NEXT_PHASE[this.#phase][event];
    if (next === undefined) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", `Transport bug: ${event} in phase ${this.#phase}`);
    }
    this.#phase = next;
    // A wait's closures hold the exchange's secrets: they go with the connection.
    if (next === "closed") this.#kexWait = null;
  }

  // ---- incoming ----

  #pump(): void {
    while (readsInput(this.#phase)) {
      const seq = this.#receiver.seq;
      const payload = this.#receiver.next();
      if (!payload) return;
      this.#currentSeq = seq;
      this.#dispatch(payload);
    }
  }

  #dispatch(payload: Uint8Array): void {
    const type = payload[0]!;
    const firstAfterNewKeys = this.#firstAfterNewKeys;
    this.#firstAfterNewKeys = false;
    this.packetObserver?.("in", type, payload.length);
    const v = verdict(type, this.#phase);
    if (v === "reject" || v === "strict") {
      const strict = v === "strict";
      throw protocolError(
        "unexpected-message",
        strict
          ? `Strict key exchange violation: unexpected message ${type} during the initial key exchange`
          : `Unexpected message ${type} during key exchange`,
        {
          code: strict ? "ERR_STRICT_KEX" : "ERR_PROTOCOL",
          got: type,
          expected: expectedIn(this.#phase),
        },
      );
    }
    if (v === "up") return this.#host.handleMessage(type, payload);
    switch (type) {
      case Msg.DISCONNECT:
        return this.#onDisconnect(payload);
      case Msg.IGNORE:
        return;
      case Msg.DEBUG: {
        const r = new SSHReader(payload, 1);
        const alwaysDisplay = r.readBoolean("always_display");
        const message = readPeerText(r, "debug message", MAX_TEXT);
        this.#host.emit({ type: "debug", message, alwaysDisplay });
        return;
      }
      case Msg.UNIMPLEMENTED:
        // The peer did not understand something we sent. Our optional requests
        // cope with a missing reply; nothing to do here.
        return;
      case Msg.KEXINIT:
        return this.#onKexInit(payload);
      case Msg.NEWKEYS:
        return this.#onNewKeys(payload);
      case Msg.EXT_INFO:
        if (!this.#extInfoAllowed(firstAfterNewKeys)) {
          // Out of place: not taken, answered as OpenSSH does (kex_protocol_error), with
          // UNIMPLEMENTED. A server's late EXT_INFO would otherwise change server-sig-algs
          // after authentication, as often as it liked.
          return this.sendUnimplemented();
        }
        this.#extInfoReceived++;
        return this.#onExtInfo(payload);
    }
    return this.#onKexMessage(payload); // the table leaves only kex-method messages here
  }

  #onDisconnect(payload: Uint8Array): void {
    const r = new SSHReader(payload, 1);
    const reason = r.readUint32("reason code");
    const description = readPeerText(r, "description", MAX_TEXT);
    this.#to("close");
    // The peer's own decision: a stack trace would show only our parser (and costs tens of
    // µs on every connection a client closes).
    const error = withoutStack(() =>
      new DisconnectError(
        reason === DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE
          ? "ERR_PERMISSION_DENIED"
          : "ERR_PEER_DISCONNECTED",
        reason,
        `Peer disconnected (reason ${reason}): ${escapeControls(description) || "no description"}`,
        { fromPeer: true },
      )
    );
    this.#host.emit({ type: "disconnect", error });
  }

  /**
   * Whether the peer may send EXT_INFO now (RFC 8308 §2.4): a client only as its first
   * packet after its first NEWKEYS; a server then too, or later while user authentication
   * has not succeeded (its second EXT_INFO comes just before USERAUTH_SUCCESS), at most twice.
   */
  #extInfoAllowed(firstAfterNewKeys: boolean): boolean {
    if (this.#o.role === "server") return firstAfterNewKeys && this.#extInfoReceived === 0;
    return (firstAfterNewKeys || !this.#authenticated) && this.#extInfoReceived < 2;
  }

  #onExtInfo(payload: Uint8Array): void {
    const r = new SSHReader(payload, 1);
    const n = r.readUint32("extension count");
    if (n > MAX_EXT_INFO_EXTENSIONS) {
      throw protocolError(
        "too-many-extensions",
        `EXT_INFO lists ${n} extensions; at most ${MAX_EXT_INFO_EXTENSIONS} accepted`,
      );
    }
    const ext = new Map<string, Uint8Array>();
    for (let i = 0; i < n; i++) {
      const name = r.readStringAscii("extension name", MAX_NAME);
      ext.set(name, r.readString("extension value", MAX_TEXT).slice());
    }
    this.#host.onExtInfo(ext);
  }

  #onKexInit(payload: Uint8Array): void {
    const peer = decodeKexInit(payload);
    const firstPacket = this.#currentSeq === 0;
    this.#peerKexInit = peer;
    const initial = this.#phase === "awaitKexInit";
    if (this.#phase === "idle") this.#sendKexInit(); // the peer started a rekey
    const isClient = this.#o.role === "client";
    if (initial) {
      const peerStrict = peer.kex.includes(isClient ? KEX_STRICT_S : KEX_STRICT_C);
      this.#strict = (this.#o.strictKex ?? true) && peerStrict;
      if (this.#o.requireStrictKex && !this.#strict) {
        throw new DisconnectError(
          "ERR_STRICT_KEX",
          DisconnectReason.KEY_EXCHANGE_FAILED,
          "The peer does not support strict key exchange (kex-strict), which this connection requires",
        );
      }
      if (this.#strict && !firstPacket) {
        throw protocolError(
          "kexinit-not-first",
          "Strict key exchange violation: KEXINIT was not the first packet the peer sent",
          { code: "ERR_STRICT_KEX" },
        );
      }
      this.#peerExtInfo = !isClient && peer.kex.includes(EXT_INFO_C);
    }
    const ours = decodeKexInit(this.#ourKexInit!);
    const [client, server] = isClient ? [ours, peer] : [peer, ours];
    const n = negotiate(
      client,
      server,
      this.#o.role,
      (c) => this.#o.suite.cipher(c)?.aead ?? false,
    );
    if (peer.firstKexPacketFollows && !guessWasRight(client, server, n)) {
      this.#ignoreNextKexPacket = true;
    }
    this.#negotiated = n;
    this.#to(initial && this.#strict ? "peerKexInitStrict" : "peerKexInit");
    const method = this.#o.suite.kex(n.kex);
    if (!method) {
      throw new SSHError("ERR_KEX_FAILED", `Kex method ${n.kex} negotiated but not available`);
    }
    const ctx = {
      clientVersion: isClient ? this.#localVersion : this.#peerVersion!.line,
      serverVersion: isClient ? this.#peerVersion!.line : this.#localVersion,
      clientKexInit: isClient ? this.#ourKexInit! : peer.payload,
      serverKexInit: isClient ? peer.payload : this.#ourKexInit!,
      random: this.#o.random,
      allowWait: this.#o.allowKexWait === true,
    };
    if (isClient) {
      this.#clientFlow = method.createClient(ctx);
      this.#takeStep(this.#clientFlow.start());
    } else {
      const hostKey = this.#o.hostKeys!.get(n.hostKey);
      if (!hostKey) throw new SSHError("ERR_KEX_FAILED", `No host key for ${n.hostKey}`);
      this.#serverFlow = method.createServer(ctx, {
        hostKey,
        ...(this.#o.moduli ? { moduli: this.#o.moduli } : {}),
      });
      // Methods where the server speaks first (RSA key exchange, RFC 4432).
      if (this.#serverFlow.start) this.#takeStep(this.#serverFlow.start());
    }
  }

  #onKexMessage(payload: Uint8Array): void {
    if (this.#ignoreNextKexPacket) {
      this.#ignoreNextKexPacket = false;
      return;
    }
    this.#takeStep(
      kexFlowStep(() =>
        this.#clientFlow ? this.#clientFlow.receive(payload) : this.#serverFlow!.receive(payload)
      ),
    );
  }

  /** Sends a step's messages; then waits for its asynchronous work, or takes its result. */
  #takeStep(step: KexStep): void {
    for (const m of step.send) this.#writeTransport(m);
    if (step.wait) {
      if (this.#o.allowKexWait !== true) {
        // Nobody would answer the event: the exchange would hang.
        throw new SSHError(
          "ERR_LOCAL_PROTOCOL",
          "The key exchange method waits for asynchronous work, which this transport does not allow (allowKexWait)",
        );
      }
      this.#kexWait = step.wait;
      this.#to("kexWait");
      this.#host.emit({ type: "kexWait", id: ++this.#kexWaitId, ready: step.wait.ready });
      return;
    }
    if (step.result) this.#onKexResult(step.result);
  }

  #onKexResult(result: KexResult): void {
    const n = this.#negotiated!;
    this.#pendingResult = result;
    if (this.#o.role === "server") {
      this.#finishKex();
      return;
    }
    const ok = this.#o.suite.verifyHostKeySignature(
      n.hostKey,
      result.hostKeyBlob,
      result.signature,
      result.exchangeHash,
    );
    if (!ok) {
      throw new DisconnectError(
        "ERR_HOST_KEY_SIGNATURE",
        DisconnectReason.KEY_EXCHANGE_FAILED,
        `The server's ${n.hostKey} signature over the exchange hash does not verify`,
      );
    }
    if (this.#hostKeyBlob) {
      if (!bytesEqual(this.#hostKeyBlob, result.hostKeyBlob)) {
        throw new DisconnectError(
          "ERR_HOST_KEY_NOT_VERIFIABLE",
          DisconnectReason.HOST_KEY_NOT_VERIFIABLE,
          "The server presented a different host key during re-keying",
        );
      }
      this.#finishKex();
      return;
    }
    this.#to("hostKeyCheck");
    this.#hostKeyRequestId++;
    this.#host.emit({
      type: "hostKey",
      id: this.#hostKeyRequestId,
      algorithm: n.hostKey,
      keyBlob: result.hostKeyBlob.slice(),
    });
  }

  /** Sends NEWKEYS and switches our sending keys. */
  #finishKex(): void {
    const result = this.#pendingResult!;
    const initial = isInitialExchange(this.#phase);
    if (!this.#sessionId) this.#sessionId = result.exchangeHash.slice();
    if (!this.#hostKeyBlob) this.#hostKeyBlob = result.hostKeyBlob.slice();
    if (!this.#sessionSignature) this.#sessionSignature = result.signature.slice();
    this.#writeTransport(new Uint8Array([Msg.NEWKEYS]));
    this.#switchKeys("send");
    this.#to("sentNewKeys");
    if (this.#o.role === "server" && initial && this.#peerExtInfo) this.#sendExtInfo();
  }

  #onNewKeys(payload: Uint8Array): void {
    if (payload.length !== 1) {
      throw protocolError("malformed-newkeys", "NEWKEYS carries unexpected data");
    }
    this.#switchKeys("receive");
    this.#kexDone();
  }

  /** Installs the new keys (and compression) of one direction; strict kex restarts its sequence. */
  #switchKeys(direction: Direction): void {
    const algs = directionAlgorithms(this.#negotiated!, this.#o.role, direction);
    const { cipher, mac, keys } = deriveNewKeys(
      this.#o.suite,
      this.#negotiated!.kex,
      this.#pendingResult!,
      this.#sessionId!,
      algs,
    );
    if (direction === "send") {
      this.#sender.setSealer(this.#o.suite.createSealer(cipher, mac, keys));
      if (this.#strict) this.#sender.seq = 0;
    } else {
      this.#receiver.setOpener(this.#o.suite.createOpener(cipher, mac, keys));
      if (this.#strict) this.#receiver.seq = 0;
    }
    this.#compression.set(direction, algs.compression);
  }

  #kexDone(): void {
    const initial = isInitialExchange(this.#phase);
    this.#to("peerNewKeys");
    this.#pendingResult = null;
    this.#clientFlow = null;
    this.#serverFlow = null;
    this.#ourKexInit = null;
    // Keep the peer's KEXINIT as its bytes only (its decoded lists are ~3 KiB of strings and
    // arrays an idle connection does not need).
    if (this.#peerKexInit !== null) {
      this.#peerKexInitPayload = this.#peerKexInit.payload;
      this.#peerKexInit = null;
    }
    this.#lastKexAt = this.#now;
    this.#kexCount++;
    this.#host.emit({
      type: "kexComplete",
      algorithms: this.#negotiated!,
      strictKex: this.#strict,
      initial,
    });
    const deferred = this.#deferred;
    this.#deferred = [];
    this.#deferredBytes = 0;
    if (initial) {
      this.#ready = true;
      this.#firstAfterNewKeys = true;
      this.#host.onTransportReady();
    } else {
      this.#rekeyAfterAuth = false; // new keys, as asked
    }
    const compressAfter = this.#compressAfterDeferred;
    this.#compressAfterDeferred = -1;
    for (let i = 0; i < deferred.length; i++) {
      const d = deferred[i]!;
      this.#write(d.head, d.body);
      if (i + 1 === compressAfter) this.#compression.onAuthenticated();
    }
  }

  #sendExtInfo(): void {
    const algs = this.#o.serverSigAlgs ?? [];
    const w = new SSHWriter().writeByte(Msg.EXT_INFO).writeUint32(1);
    w.writeStringUtf8("server-sig-algs").writeNameList(algs);
    this.#writeTransport(w.toBytes());
  }

  // ---- outgoing ----

  /** Starts a rekey from our side. */
  #startRekey(): void {
    this.#sendKexInit();
    this.#to("startRekey");
  }

  #sendKexInit(): void {
    const a = this.#o.algorithms;
    const isClient = this.#o.role === "client";
    const kex = [...a.kex];
    if (!this.#ready) {
      kex.push(isClient ? EXT_INFO_C : EXT_INFO_S);
      if (this.#o.strictKex ?? true) kex.push(isClient ? KEX_STRICT_C : KEX_STRICT_S);
    }
    const hostKey = isClient ? a.hostKey : a.hostKey.filter((alg) => this.#o.hostKeys!.has(alg));
    const lists: KexInitLists = {
      kex,
      hostKey,
      cipherC2S: a.cipher,
      cipherS2C: a.cipher,
      macC2S: a.mac,
      macS2C: a.mac,
      compressionC2S: a.compression,
      compressionS2C: a.compression,
      languageC2S: [],
      languageS2C: [],
      firstKexPacketFollows: false,
    };
    this.#ourKexInit = encodeKexInit(lists, this.#o.random);
    this.#writeTransport(this.#ourKexInit);
  }

  /** Writes a transport/kex message now, bypassing the kex hold-back. */
  #writeTransport(payload: Uint8Array): void {
    this.#outgoing.push(this.#sender.seal(payload));
    this.#packetsWritten++;
  }

  #write(head: Uint8Array, body?: Uint8Array): void {
    this.packetObserver?.("out", head[0]!, head.length + (body?.length ?? 0));
    this.#sender.sealTo(this.#outgoing, head, body);
    this.#packetsWritten++;
  }

  #maybeRekey(byTime: boolean): void {
    if (this.#phase !== "idle") return;
    // Not before user authentication ends, as OpenSSH (packet.c, ssh_packet_need_rekeying): sshd
    // answers a KEXINIT during authentication with UNIMPLEMENTED, so the limit waits until then.
    if (!this.#authenticated) return;
    if (byTime || this.#rekey.dueByTraffic(this.#sender, this.#receiver)) this.#startRekey();
  }

  /** Checks the receive-side rekey limits (called by the engine after handling input). */
  checkRekey(): void {
    this.#maybeRekey(false);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Maps any error raised while handling peer input to a DisconnectError. */
export function toDisconnectError(
  e: unknown,
  reason: number = DisconnectReason.PROTOCOL_ERROR,
  code: "ERR_PROTOCOL" | "ERR_KEX_FAILED" = "ERR_PROTOCOL",
): DisconnectError {
  if (e instanceof DisconnectError) return e;
  if (e instanceof SSHError) {
    const r = e.code === "ERR_KEX_FAILED" ? DisconnectReason.KEY_EXCHANGE_FAILED : reason;
    return new DisconnectError(e.code === "ERR_LOCAL_PROTOCOL" ? code : e.code, r, e.message, {
      cause: e,
    });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new DisconnectError(code, reason, `Internal error while handling peer input: ${message}`, {
    cause: e,
  });
}

/** A step of a key exchange flow; what it throws ends the exchange as KEY_EXCHANGE_FAILED. */
function kexFlowStep(step: () => KexStep): KexStep {
  try {
    return step();
  } catch (e) {
    throw toDisconnectError(e, DisconnectReason.KEY_EXCHANGE_FAILED, "ERR_KEX_FAILED");
  }
}
