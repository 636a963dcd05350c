/**
 * The SSH transport layer (RFC 4253) as a sans-IO state machine shared by the
 * client and server engines: version exchange, KEXINIT negotiation, the kex flow,
 * NEWKEYS, strict kex, rekeying, and the generic messages (IGNORE, DEBUG,
 * UNIMPLEMENTED, DISCONNECT, EXT_INFO).
 *
 * What may arrive when is decided by one table ({@link allowedIncoming}); an
 * unexpected message is a protocol error, never a silent drop.
 *
 * @module
 */

import { DisconnectError, DisconnectReason, SSHError } from "../errors.ts";
import type {
  HostKeySigner,
  KexClientFlow,
  KexResult,
  KexServerFlow,
  KexStep,
} from "../kex/types.ts";
import type { RandomSource } from "../random.ts";
import { SSHReader, SSHWriter, utf8 } from "../wire.ts";
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
import { PacketReceiver, PacketSender } from "./packet.ts";
import type { TransportSuite } from "./suite.ts";
import { formatVersionLine, type PeerVersion, VersionReader } from "./version.ts";

/** Longest DEBUG message we send or accept (bytes): a log line, not a data channel. */
const MAX_DEBUG_MESSAGE = 64 * 1024;

/** Algorithm preference lists for one side. */
export interface AlgorithmPreferences {
  readonly kex: readonly string[];
  readonly hostKey: readonly string[];
  readonly cipher: readonly string[];
  readonly mac: readonly string[];
  readonly compression: readonly string[];
}

/** Transport settings. Limits have defaults with reasons beside them. */
export interface TransportOptions {
  readonly role: "client" | "server";
  readonly suite: TransportSuite;
  readonly algorithms: AlgorithmPreferences;
  readonly random: RandomSource;
  /** Our software version, e.g. "sshts_0.1". */
  readonly softwareVersion: string;
  /** Offer strict kex (Terrapin countermeasure). Default true. */
  readonly strictKex?: boolean;
  /** Refuse peers that do not offer strict kex. Default false. */
  readonly requireStrictKex?: boolean;
  /** Rekey after this many bytes in either direction. Default 1 GiB (OpenSSH uses 1–4 GiB by cipher). */
  readonly rekeyBytes?: number;
  /** Rekey after this many packets in either direction. Default 2^31 (RFC 4344 §3.1 bound). */
  readonly rekeyPackets?: number;
  /** Rekey after this many milliseconds. Default: no time limit (as OpenSSH). */
  readonly rekeyIntervalMs?: number;
  /** Server only: host keys by signature algorithm. */
  readonly hostKeys?: ReadonlyMap<string, HostKeySigner>;
  /** Server only: groups for diffie-hellman-group-exchange. */
  readonly moduli?: readonly { readonly bits: number; readonly p: bigint; readonly g: bigint }[];
  /** Server only: the server-sig-algs list sent in EXT_INFO. */
  readonly serverSigAlgs?: readonly string[];
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

type KexPhase =
  | "idle" // no exchange in progress
  | "sentKexInit" // we sent KEXINIT, waiting for the peer's
  | "running" // both KEXINITs seen; kex messages flow
  | "hostKeyPending" // client: waiting for the caller's trust decision
  | "awaitNewKeys"; // we sent NEWKEYS, waiting for the peer's

/** Default byte limit before rekeying. */
export const DEFAULT_REKEY_BYTES = 1024 * 1024 * 1024;
/** Default packet limit before rekeying. */
export const DEFAULT_REKEY_PACKETS = 2 ** 31;
/** Last message number of the connection protocol's range (RFC 4250 §4.1.2: 80-127). */
const CONNECTION_LAST = 127;
/** Largest number of messages queued while a rekey is in progress before we refuse more. */
const MAX_DEFERRED_BYTES = 64 * 1024 * 1024;

/**
 * Which messages may arrive in a given phase. Strict kex (OpenSSH's Terrapin
 * countermeasure) forbids anything but kex messages and DISCONNECT during the
 * initial exchange, including IGNORE and DEBUG.
 */
export function allowedIncoming(
  type: number,
  phase: KexPhase,
  initial: boolean,
  strict: boolean,
  peerKexInitSeen: boolean,
): boolean {
  if (type === Msg.DISCONNECT) return true;
  if (type === Msg.KEXINIT) return !peerKexInitSeen;
  if (type === Msg.NEWKEYS || (type >= Msg.KEX_FIRST && type <= Msg.KEX_LAST)) {
    return peerKexInitSeen;
  }
  if (type === Msg.IGNORE || type === Msg.DEBUG || type === Msg.UNIMPLEMENTED) {
    return !(initial && strict && phase !== "idle");
  }
  // Anything else: only outside the initial exchange, and not between the peer's
  // KEXINIT and its NEWKEYS (RFC 4253 §7.1)...
  if (initial) return false;
  // ...except connection-layer messages during a rekey. AsyncSSH (2.10) sends its
  // KEXINIT and then the channel data that triggered it, under the old keys, and keeps
  // sending until its NEWKEYS; OpenSSH, whose connection dispatch stays in place during
  // a rekey, accepts that. They are handled in the order they arrive; what we send in
  // reply waits for the exchange to finish, as everything we send then does.
  if (type >= Msg.GLOBAL_REQUEST && type <= CONNECTION_LAST) return true;
  return !peerKexInitSeen;
}

/** The transport state machine. Owned by a ClientConnection or ServerConnection. */
export class Transport {
  readonly #o: TransportOptions;
  readonly #host: TransportHost;
  readonly #receiver = new PacketReceiver();
  readonly #sender: PacketSender;
  #versionReader: VersionReader | null;
  #outgoing: Uint8Array[] = [];
  #packetsWritten = 0;
  #localVersion: string;
  #peerVersion: PeerVersion | null = null;

  #phase: KexPhase = "idle";
  #initial = true;
  #strict = false;
  #peerKexInitSeen = false;
  #ourKexInit: Uint8Array | null = null;
  #peerKexInit: KexInit | null = null;
  #negotiated: NegotiatedAlgorithms | null = null;
  #clientFlow: KexClientFlow | null = null;
  #serverFlow: KexServerFlow | null = null;
  #ignoreNextKexPacket = false;
  #pendingResult: KexResult | null = null;
  #sessionId: Uint8Array | null = null;
  #hostKeyBlob: Uint8Array | null = null;
  #sessionSignature: Uint8Array | null = null;
  #hostKeyRequestId = 0;
  #newKeysReceived = false;
  #deferred: { head: Uint8Array; body: Uint8Array | undefined }[] = [];
  #deferredBytes = 0;
  #closed = false;
  #ready = false;
  #kexCount = 0;
  #now = 0;
  #lastKexAt = 0;
  #currentSeq = 0;
  #peerExtInfo = false;
  #authenticated = false;

  /** Creates the transport; call `start()` to send our version and KEXINIT. */
  constructor(options: TransportOptions, host: TransportHost) {
    this.#o = options;
    this.#host = host;
    this.#sender = new PacketSender(options.random);
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

  /** Whether the connection is closed (after a disconnect either way). */
  get closed(): boolean {
    return this.#closed;
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

  /** Feeds bytes from the peer. Never throws for bad peer input. */
  receive(data: Uint8Array): void {
    if (this.#closed) return;
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
    } catch (e) {
      this.fail(e);
    }
  }

  /** Tells the transport the time (ms, any monotonic origin) and runs time-based work. */
  handleTimeout(now: number): void {
    this.#now = now;
    if (this.#lastKexAt === 0) this.#lastKexAt = now;
    if (this.#closed) return;
    const d = this.nextDeadline();
    if (d !== undefined && now >= d) this.#maybeRekey(true);
  }

  /** When the transport next needs `handleTimeout` (rekey by time), or undefined. */
  nextDeadline(): number | undefined {
    const i = this.#o.rekeyIntervalMs;
    if (!i || !this.#ready || this.#phase !== "idle" || this.#closed) return undefined;
    return this.#lastKexAt + i;
  }

  /** Starts a key re-exchange now (no-op while one is running). */
  rekey(): void {
    if (this.#closed) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", "Cannot rekey: the connection is closed");
    }
    if (!this.#ready) {
      throw new SSHError("ERR_LOCAL_PROTOCOL", "Cannot rekey before the first key exchange");
    }
    if (this.#phase === "idle") this.#sendKexInit();
  }

  /** Sends a message from a layer above. Held back while a key exchange is in progress. */
  send(head: Uint8Array, body?: Uint8Array): void {
    if (this.#closed) return;
    if (this.#phase !== "idle" || !this.#ready) {
      this.#deferredBytes += head.length + (body?.length ?? 0);
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
    return this.#phase === "idle" && this.#ready && !this.#closed;
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

  /** Marks user authentication done: `zlib@openssh.com` compression starts now. */
  onAuthenticated(): void {
    this.#authenticated = true;
    this.#applyDelayedCompression();
  }

  /** The client's answer to a `hostKey` event. */
  answerHostKey(id: number, accept: boolean, reason?: string): void {
    if (this.#closed && id > 0 && id <= this.#hostKeyRequestId) return; // overtaken by a disconnect
    if (this.#closed && id > 0 && id <= this.#hostKeyRequestId) return; // overtaken by a disconnect
    if (this.#phase !== "hostKeyPending" || id !== this.#hostKeyRequestId) {
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

  /** Sends DISCONNECT and closes. */
  disconnect(reason: number, description: string): void {
    if (this.#closed) return;
    this.#writeTransport(
      new SSHWriter().writeByte(Msg.DISCONNECT).writeUint32(reason).writeStringUtf8(description)
        .writeStringUtf8("").toBytes(),
    );
    this.#closed = true;
    this.#host.emit({
      type: "disconnect",
      error: new DisconnectError(
        reason === DisconnectReason.BY_APPLICATION ? "ERR_BY_APPLICATION" : "ERR_PROTOCOL",
        reason,
        description,
      ),
    });
  }

  /**
   * Ends the connection because of an error: a DisconnectError is sent to the peer
   * (unless it came from the peer) and reported as an event.
   */
  fail(e: unknown): void {
    if (this.#closed) return;
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
    this.#closed = true;
    this.#host.emit({ type: "disconnect", error: err });
  }

  /** The peer closed the byte stream. */
  onEndOfStream(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#host.emit({
      type: "disconnect",
      error: new DisconnectError(
        "ERR_CONNECTION_LOST",
        DisconnectReason.CONNECTION_LOST,
        this.#peerVersion
          ? "Connection closed by the peer"
          : "Connection closed before the SSH version exchange",
        { fromPeer: true },
      ),
    });
  }

  // ---- incoming ----

  #pump(): void {
    while (!this.#closed && this.#phase !== "hostKeyPending") {
      const seq = this.#receiver.seq;
      const payload = this.#receiver.next();
      if (!payload) return;
      this.#currentSeq = seq;
      this.#dispatch(payload);
    }
  }

  #dispatch(payload: Uint8Array): void {
    const type = payload[0]!;
    if (!allowedIncoming(type, this.#phase, this.#initial, this.#strict, this.#peerKexInitSeen)) {
      throw protocolError(
        this.#initial && this.#strict
          ? `Strict key exchange violation: unexpected message ${type} during the initial key exchange`
          : `Unexpected message ${type} during key exchange`,
        this.#initial && this.#strict ? "ERR_STRICT_KEX" : "ERR_PROTOCOL",
      );
    }
    switch (type) {
      case Msg.DISCONNECT:
        return this.#onDisconnect(payload);
      case Msg.IGNORE:
        return;
      case Msg.DEBUG: {
        const r = new SSHReader(payload, 1);
        const alwaysDisplay = r.readBoolean("always_display");
        const message = r.readStringUtf8("debug message", MAX_DEBUG_MESSAGE);
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
        return this.#onExtInfo(payload);
    }
    if (type >= Msg.KEX_FIRST && type <= Msg.KEX_LAST) return this.#onKexMessage(payload);
    if (!this.#ready) throw protocolError(`Unexpected message ${type} before key exchange`);
    this.#host.handleMessage(type, payload);
  }

  #onDisconnect(payload: Uint8Array): void {
    const r = new SSHReader(payload, 1);
    const reason = r.readUint32("reason code");
    const description = r.readStringUtf8("description", 64 * 1024);
    this.#closed = true;
    this.#host.emit({
      type: "disconnect",
      error: new DisconnectError(
        reason === DisconnectReason.NO_MORE_AUTH_METHODS_AVAILABLE
          ? "ERR_PERMISSION_DENIED"
          : "ERR_PEER_DISCONNECTED",
        reason,
        `Peer disconnected (reason ${reason}): ${description || "no description"}`,
        { fromPeer: true },
      ),
    });
  }

  #onExtInfo(payload: Uint8Array): void {
    const r = new SSHReader(payload, 1);
    const n = r.readUint32("extension count");
    if (n > 1024) throw protocolError(`EXT_INFO lists ${n} extensions; at most 1024 accepted`);
    const ext = new Map<string, Uint8Array>();
    for (let i = 0; i < n; i++) {
      const name = r.readStringAscii("extension name", 256);
      ext.set(name, r.readString("extension value", 64 * 1024).slice());
    }
    this.#host.onExtInfo(ext);
  }

  #onKexInit(payload: Uint8Array): void {
    const peer = decodeKexInit(payload);
    const firstPacket = this.#currentSeq === 0;
    this.#peerKexInitSeen = true;
    this.#peerKexInit = peer;
    if (this.#phase === "idle") this.#sendKexInit();
    const isClient = this.#o.role === "client";
    if (this.#initial) {
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
          "Strict key exchange violation: KEXINIT was not the first packet the peer sent",
          "ERR_STRICT_KEX",
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
    this.#phase = "running";
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
    };
    if (isClient) {
      this.#clientFlow = method.createClient(ctx);
      this.#sendSteps(this.#clientFlow.start());
    } else {
      const hostKey = this.#o.hostKeys!.get(n.hostKey);
      if (!hostKey) throw new SSHError("ERR_KEX_FAILED", `No host key for ${n.hostKey}`);
      this.#serverFlow = method.createServer(ctx, {
        hostKey,
        ...(this.#o.moduli ? { moduli: this.#o.moduli } : {}),
      });
    }
  }

  #onKexMessage(payload: Uint8Array): void {
    if (this.#phase !== "running") {
      throw protocolError(`Unexpected key exchange message ${payload[0]}`);
    }
    if (this.#ignoreNextKexPacket) {
      this.#ignoreNextKexPacket = false;
      return;
    }
    let step: KexStep;
    try {
      step = this.#clientFlow
        ? this.#clientFlow.receive(payload)
        : this.#serverFlow!.receive(payload);
    } catch (e) {
      throw toDisconnectError(e, DisconnectReason.KEY_EXCHANGE_FAILED, "ERR_KEX_FAILED");
    }
    this.#sendSteps(step);
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
    this.#phase = "hostKeyPending";
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
    if (!this.#sessionId) this.#sessionId = result.exchangeHash.slice();
    if (!this.#hostKeyBlob) this.#hostKeyBlob = result.hostKeyBlob.slice();
    if (!this.#sessionSignature) this.#sessionSignature = result.signature.slice();
    this.#writeTransport(new Uint8Array([Msg.NEWKEYS]));
    const isClient = this.#o.role === "client";
    const n = this.#negotiated!;
    const [cipherName, macName, comp] = isClient
      ? [n.cipherC2S, n.macC2S, n.compressionC2S]
      : [n.cipherS2C, n.macS2C, n.compressionS2C];
    const keys = this.#derive(isClient ? ["A", "C", "E"] : ["B", "D", "F"], cipherName, macName);
    this.#sender.setSealer(this.#o.suite.createSealer(keys.cipher, keys.mac, keys.keys));
    if (this.#strict) this.#sender.seq = 0;
    this.#setCompression("send", comp);
    this.#phase = "awaitNewKeys";
    if (!isClient && this.#initial && this.#peerExtInfo) this.#sendExtInfo();
    if (this.#newKeysReceived) this.#kexDone();
  }

  #onNewKeys(payload: Uint8Array): void {
    if (payload.length !== 1) throw protocolError("NEWKEYS carries unexpected data");
    if (this.#phase !== "awaitNewKeys" && this.#phase !== "running") {
      throw protocolError("Unexpected NEWKEYS");
    }
    if (!this.#pendingResult) throw protocolError("NEWKEYS before the key exchange finished");
    const isClient = this.#o.role === "client";
    const n = this.#negotiated!;
    const [cipherName, macName, comp] = isClient
      ? [n.cipherS2C, n.macS2C, n.compressionS2C]
      : [n.cipherC2S, n.macC2S, n.compressionC2S];
    const keys = this.#derive(isClient ? ["B", "D", "F"] : ["A", "C", "E"], cipherName, macName);
    this.#receiver.setOpener(this.#o.suite.createOpener(keys.cipher, keys.mac, keys.keys));
    if (this.#strict) this.#receiver.seq = 0;
    this.#setCompression("receive", comp);
    this.#newKeysReceived = true;
    if (this.#phase === "awaitNewKeys") this.#kexDone();
  }

  #kexDone(): void {
    const initial = this.#initial;
    this.#phase = "idle";
    this.#initial = false;
    this.#peerKexInitSeen = false;
    this.#newKeysReceived = false;
    this.#pendingResult = null;
    this.#clientFlow = null;
    this.#serverFlow = null;
    this.#ourKexInit = null;
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
      this.#host.onTransportReady();
    }
    for (const d of deferred) this.#write(d.head, d.body);
  }

  #derive(letters: readonly [string, string, string], cipherName: string, macName: string) {
    const result = this.#pendingResult!;
    const cipher = this.#o.suite.cipher(cipherName);
    if (!cipher) {
      throw new SSHError("ERR_KEX_FAILED", `Cipher ${cipherName} negotiated but not available`);
    }
    const mac = cipher.aead ? null : this.#o.suite.mac(macName) ?? null;
    if (!cipher.aead && !mac) {
      throw new SSHError("ERR_KEX_FAILED", `MAC ${macName} negotiated but not available`);
    }
    const method = this.#o.suite.kex(this.#negotiated!.kex)!;
    const keys = this.#o.suite.deriveKeys(
      method.hash,
      result.sharedSecret,
      result.exchangeHash,
      this.#sessionId!,
      letters,
      {
        ivLength: cipher.ivLength,
        keyLength: cipher.keyLength,
        macKeyLength: mac ? mac.keyLength : 0,
      },
    );
    return { cipher, mac, keys };
  }

  #compressing = { send: false, receive: false };

  /**
   * Installs compression for the new keys. Streams restart at every NEWKEYS (RFC 4253
   * §6.2; OpenSSH re-initializes zlib there too); zlib@openssh.com waits for
   * authentication to succeed.
   */
  #setCompression(direction: "send" | "receive", name: string): void {
    const on = name !== "none" && !(name === "zlib@openssh.com" && !this.#authenticated);
    if (direction === "send") {
      this.#sender.setCompressor(on ? this.#o.suite.createCompressor(name) : null);
    } else this.#receiver.setDecompressor(on ? this.#o.suite.createDecompressor(name) : null);
    this.#compressing[direction] = on;
  }

  #applyDelayedCompression(): void {
    const n = this.#negotiated;
    if (!n) return;
    const isClient = this.#o.role === "client";
    const sendName = isClient ? n.compressionC2S : n.compressionS2C;
    const recvName = isClient ? n.compressionS2C : n.compressionC2S;
    if (sendName === "zlib@openssh.com" && !this.#compressing.send) {
      this.#sender.setCompressor(this.#o.suite.createCompressor(sendName));
      this.#compressing.send = true;
    }
    if (recvName === "zlib@openssh.com" && !this.#compressing.receive) {
      this.#receiver.setDecompressor(this.#o.suite.createDecompressor(recvName));
      this.#compressing.receive = true;
    }
  }

  #sendExtInfo(): void {
    const algs = this.#o.serverSigAlgs ?? [];
    const w = new SSHWriter().writeByte(Msg.EXT_INFO).writeUint32(1);
    w.writeStringUtf8("server-sig-algs").writeNameList(algs);
    this.#writeTransport(w.toBytes());
  }

  // ---- outgoing ----

  #sendKexInit(): void {
    const a = this.#o.algorithms;
    const isClient = this.#o.role === "client";
    const kex = [...a.kex];
    if (this.#initial) {
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
    this.#phase = "sentKexInit";
  }

  #sendSteps(step: KexStep): void {
    for (const m of step.send) this.#writeTransport(m);
  }

  /** Writes a transport/kex message now, bypassing the kex hold-back. */
  #writeTransport(payload: Uint8Array): void {
    this.#outgoing.push(this.#sender.seal(payload));
    this.#packetsWritten++;
  }

  #write(head: Uint8Array, body?: Uint8Array): void {
    this.#outgoing.push(this.#sender.seal(head, body));
    this.#packetsWritten++;
  }

  #maybeRekey(byTime: boolean): void {
    if (this.#phase !== "idle" || !this.#ready || this.#closed) return;
    const maxBytes = this.#o.rekeyBytes ?? DEFAULT_REKEY_BYTES;
    const maxPackets = this.#o.rekeyPackets ?? DEFAULT_REKEY_PACKETS;
    const s = this.#sender;
    const r = this.#receiver;
    if (
      byTime || s.bytesSinceKex >= maxBytes || r.bytesSinceKex >= maxBytes ||
      s.packetsSinceKex >= maxPackets ||
      r.packetsSinceKex >= maxPackets
    ) this.#sendKexInit();
  }

  /** Checks the receive-side rekey limits (called by the engine after handling input). */
  checkRekey(): void {
    if (!this.#closed) this.#maybeRekey(false);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function protocolError(message: string, code: "ERR_PROTOCOL" | "ERR_STRICT_KEX" = "ERR_PROTOCOL") {
  return new DisconnectError(code, DisconnectReason.PROTOCOL_ERROR, message);
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
