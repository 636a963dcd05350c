/**
 * The connection protocol (RFC 4254): channels with flow control, channel
 * requests, and global requests. Shared by the client and server engines.
 * * Channel state follows the tables of `channel_state.ts` (our side, the peer's side,
 * and the rule that frees a channel id once both are closed).
 *
 * Flow control is explicit: data events carry their byte counts, and the window
 * we grant the peer is only replenished as the application reports bytes consumed
 * (`consume`), so a slow reader slows the peer instead of growing memory.
 *
 * @module
 */

import {
  type DisconnectDetail,
  type DisconnectError,
  LocalProtocolError,
  protocolError,
} from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { SSHReader, SSHWriter } from "../wire.ts";
import {
  canSendData,
  channelFreed,
  type ChannelStep,
  deliversToApplication,
  LOCAL_SIDE,
  type LocalInput,
  type LocalState,
  REMOTE_SIDE,
  type RemoteInput,
  type RemoteState,
} from "./channel_state.ts";
import { markTransient } from "../transient_buffers.ts";
import type { ConnectionEvent } from "./events.ts";
import {
  DEFAULT_MAX_CHANNELS,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
  MAX_CHANNEL_PACKET,
  MAX_GLOBAL_REQUEST_DATA,
  MAX_NAME,
  MAX_PENDING_REQUESTS,
  MAX_TEXT,
  MAX_WINDOW,
} from "../limits.ts";

export { DEFAULT_MAX_CHANNELS, DEFAULT_MAX_PACKET, DEFAULT_WINDOW, MAX_GLOBAL_REQUEST_DATA };

/**
 * The largest data packet a channel advertises for a requested `maxPacket`: lowered to
 * {@link MAX_CHANNEL_PACKET} (the peer may send what we advertise, and the transport
 * refuses packets above 256 KiB); a size that is not a positive integer is refused.
 */
function advertisedMaxPacket(requested: number): number {
  if (!Number.isInteger(requested) || requested < 1) {
    throw new LocalProtocolError(`Invalid maximum packet size ${requested}`);
  }
  return Math.min(requested, MAX_CHANNEL_PACKET);
}

/** A window a channel may open or be accepted with: an integer from 0 to 2^32 − 1. */
function checkedWindow(window: number): number {
  if (Number.isInteger(window) && window >= 0 && window <= MAX_WINDOW) return window;
  throw new LocalProtocolError(`Invalid channel window ${window}`);
}

/** SSH_OPEN_* failure reason codes (RFC 4254 §5.1). */
export const ChannelOpenFailure = {
  ADMINISTRATIVELY_PROHIBITED: 1,
  CONNECT_FAILED: 2,
  UNKNOWN_CHANNEL_TYPE: 3,
  RESOURCE_SHORTAGE: 4,
} as const;

interface Channel {
  readonly localId: number;
  remoteId: number;
  /** Our side: what we may still send (see `channel_state.ts`). */
  local: LocalState;
  /** The peer's side: what it may still send. */
  remote: RemoteState;
  channelType: string;
  /** What the peer may still send us. */
  localWindow: number;
  /** The window size we aim to keep granted. */
  windowSize: number;
  /** The largest data packet we accept (what we advertised). */
  localMaxPacket: number;
  /** Consumed but not yet returned to the peer. */
  unacked: number;
  /**
   * What the peer was granted and not given back: `localWindow`, plus the bytes it sent that
   * the application holds, plus `unacked`. A larger window grants the difference to this, not
   * to `windowSize`: after a smaller window, the peer may still hold more than that window.
   */
  outstanding: number;
  remoteWindow: number;
  remoteMaxPacket:
    number; /** Names of our want-reply requests, in order; replies come back in that order. */
  pendingReplies: string[];
  /** How many of the peer's want-reply requests we owe replies to. */
  owedReplies: number;
  /** The peer's CLOSE waits for our close() (see `holdClose`). */
  holdClose?: boolean;
}

/** Options for a channel we open or accept. */
export interface ChannelOptions {
  /** Window to grant the peer (bytes). */
  readonly window?: number;
  /** Largest data packet we accept (at most 261,875 bytes, what fits in a 256 KiB packet: a larger request is lowered to it; a size that is not a positive integer is refused). */
  readonly maxPacket?: number;
}

/** OpenSSH's keepalive probe, a global request whose answer is only a sign of life. */
const KEEPALIVE_REQUEST = "keepalive@openssh.com";

/** Sends a message through the transport. */
export type SendMessage = (head: Uint8Array, body?: Uint8Array) => void;

/**
 * The channel table and the connection protocol's messages.
 *
 * @example
 * ```ts ignore
 * const layer = new ConnectionLayer((head, body) => transport.send(head, body), (e) => events.push(e));
 * const id = layer.openChannel("session");
 * // ... a channelOpen event later:
 * layer.sendData(id, new TextEncoder().encode("hello"));
 * ```
 */
export class ConnectionLayer {
  readonly #send: SendMessage;
  readonly #emit: (e: ConnectionEvent) => void;
  readonly #channels = new Map<number, Channel>();
  readonly #maxChannels: number;
  #nextId = 0;
  /** Every id was handed out once (the counter wrapped): an id not in the table was freed. */
  #idsWrapped = false;
  /**
   * Global requests awaiting a reply, in order. The engine's consecutive keepalive probes
   * share one entry (`more` counts the others), as OpenSSH merges them: a peer that answers
   * them with UNIMPLEMENTED, or not at all, would otherwise add one for good at every interval.
   */
  #pendingGlobal: { id: number; name: string; more: number; probe: boolean }[] = [];
  #nextGlobalId = 1;
  /** Global requests we owe replies to, in arrival order; replies leave in that order. */
  #owedGlobal: { id: number; reply?: { success: boolean; data: Uint8Array } }[] = [];
  #incomingGlobalId = 1;
  /** Bumped by every message we send that the peer must answer (open, want-reply request). */
  #waitEpoch = 0;
  /** The last wait epoch `ackNudgeDue` settled (nudged, or found nothing awaited). */
  #nudgedEpoch = 0;

  /**
   * Lend channel data that is a view of the transport's receive buffer (valid until the
   * transport is next given bytes) instead of copying it: `channelData` events then say
   * `borrowed`. For a consumer that copies anyway (a BYOB read, the SFTP framer).
   */
  borrowData = false;
  /** `borrowed` events emitted since the owner last set this to 0 (see EngineBase). */
  lentEvents = 0;

  /** Creates the layer; `send` goes to the transport, `emit` to the event queue. */
  constructor(
    send: SendMessage,
    emit: (e: ConnectionEvent) => void,
    maxChannels = DEFAULT_MAX_CHANNELS,
  ) {
    this.#send = send;
    this.#emit = emit;
    this.#maxChannels = maxChannels;
  }

  /** Number of channels in the table. */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * Entries in the queue of global requests awaiting a reply: each request with want-reply
   * but consecutive keepalive probes, which share one (what the peer can make us hold).
   */
  get pendingGlobalEntries(): number {
    return this.#pendingGlobal.length;
  }

  /**
   * Whether the caller should send one SSH_MSG_IGNORE now, to carry the TCP ACK
   * of what it just received. Call it only when received messages produced
   * nothing to send. True at most once per wait: the first time since our last
   * open or want-reply request while some open or reply is still awaited.
   *
   * Why: a peer that leaves Nagle on (OpenSSH's sshd on non-interactive
   * sessions) holds its small answer while an earlier segment of its own
   * (e.g. the unsolicited `hostkeys-00@openssh.com`) is unacknowledged, and
   * our kernel delays that ACK by up to 40 ms; any bytes we send carry it at once.
   */
  ackNudgeDue(): boolean {
    if (this.#waitEpoch === this.#nudgedEpoch) return false;
    // Nothing can become awaited without bumping the epoch, so settle it either way.
    this.#nudgedEpoch = this.#waitEpoch;
    if (this.#pendingGlobal.length > 0) return true;
    for (const ch of this.#channels.values()) {
      if (ch.local === "opening" || ch.pendingReplies.length > 0) return true;
    }
    return false;
  }

  /**
   * A `channelWritable` event for every channel that can send and has window: after a key
   * exchange, whose held data capped what the engine let writers send (EngineBase.writableBytes),
   * so writers that wait for this event go on without a WINDOW_ADJUST.
   */
  announceWritable(): void {
    for (const ch of this.#channels.values()) {
      if (canSendData(ch.local) && ch.remoteWindow > 0) {
        this.#emit({ type: "channelWritable", channelId: ch.localId, window: ch.remoteWindow });
      }
    }
  }

  // ---- commands ----

  /** Opens a channel; returns its local id. `data` is the type-specific part. */
  openChannel(
    channelType: string,
    data: Uint8Array = new Uint8Array(0),
    options: ChannelOptions = {},
  ): number {
    const ch = this.#allocate(channelType, "opening", "opening", options);
    if (!ch) {
      throw new LocalProtocolError(
        `Cannot open channel: ${this.#maxChannels} channels already open`,
      );
    }
    const head = new SSHWriter(64 + data.length).writeByte(Msg.CHANNEL_OPEN).writeStringUtf8(
      channelType,
    )
      .writeUint32(ch.localId).writeUint32(ch.localWindow).writeUint32(ch.localMaxPacket)
      .writeBytes(data).toBytes();
    this.#waitEpoch++;
    this.#send(head);
    return ch.localId;
  }

  /** Accepts a channel the peer asked to open (`channelOpenRequest`). */
  acceptChannel(
    channelId: number,
    options: ChannelOptions = {},
    data: Uint8Array = new Uint8Array(0),
  ): void {
    const ch = this.#get(channelId, "accept");
    // Checked before the state moves: a bad option leaves the channel to be refused.
    const window = checkedWindow(options.window ?? ch.windowSize);
    const maxPacket = advertisedMaxPacket(options.maxPacket ?? ch.localMaxPacket);
    this.#ours(ch, "accept", `Channel ${channelId} is not waiting to be accepted`);
    this.#theirs(ch, "accept", "accept");
    // What we advertise is what we keep to: the batching of window adjusts follows this
    // window, the check of the peer's packets this maximum.
    ch.localWindow = ch.windowSize = ch.outstanding = window;
    ch.localMaxPacket = maxPacket;
    this.#send(
      new SSHWriter(32 + data.length).writeByte(Msg.CHANNEL_OPEN_CONFIRMATION).writeUint32(
        ch.remoteId,
      )
        .writeUint32(ch.localId).writeUint32(window).writeUint32(ch.localMaxPacket)
        .writeBytes(data).toBytes(),
    );
  }

  /** Refuses a channel the peer asked to open. */
  rejectChannel(channelId: number, reason: number, description = ""): void {
    const ch = this.#get(channelId, "reject");
    this.#ours(ch, "reject", `Channel ${channelId} is not waiting to be accepted`);
    this.#theirs(ch, "reject", "reject");
    this.#freeIfClosed(ch, false);
    this.#sendOpenFailure(ch.remoteId, reason, description);
  }

  /** Bytes that may be sent on the channel now (the peer's window). */
  writableBytes(channelId: number): number {
    const ch = this.#channels.get(channelId);
    if (!ch || !canSendData(ch.local)) return 0;
    return ch.remoteWindow;
  }

  /**
   * Sends data (stream 0) or extended data (stream 1 = stderr) as far as the peer's
   * window allows. Returns the number of bytes accepted; the rest must wait for a
   * `channelWritable` event. On a channel already closed both ways (freed) it sends nothing
   * and returns 0: its `channelClose` event may still wait in the queue behind the data the
   * application is answering (the peer's data and CLOSE in one read).
   */
  sendData(channelId: number, data: Uint8Array, stream = 0): number {
    const ch = this.#live(channelId, "send data on");
    if (!ch) return 0;
    this.#ours(
      ch,
      "sendData",
      ch.local === "eofSent"
        ? `Cannot send data: EOF was already sent on channel ${channelId}`
        : ch.local === "closed"
        ? `Cannot send data: channel ${channelId} was closed`
        : `Cannot send data: channel ${channelId} is not open`,
    );
    let sent = 0;
    // Never more than fits in a 256 KiB packet, whatever the peer advertised: its transport
    // most likely accepts no more (OpenSSH's does not), and a packet is built whole.
    const chunkMax = Math.max(1, Math.min(ch.remoteMaxPacket, MAX_CHANNEL_PACKET));
    while (sent < data.length && ch.remoteWindow > 0) {
      const n = Math.min(data.length - sent, ch.remoteWindow, chunkMax);
      const body = data.subarray(sent, sent + n);
      // Written by hand: one small allocation per packet on the bulk path (a writer costs
      // three); fresh each time because the transport keeps `head` during a key exchange.
      const head = new Uint8Array(stream === 0 ? 9 : 13);
      head[0] = stream === 0 ? Msg.CHANNEL_DATA : Msg.CHANNEL_EXTENDED_DATA;
      putUint32(head, 1, ch.remoteId);
      if (stream !== 0) putUint32(head, 5, stream);
      putUint32(head, head.length - 4, n);
      this.#send(head, body);
      ch.remoteWindow -= n;
      sent += n;
    }
    return sent;
  }

  /** Reports that the application consumed `n` bytes of channel data: the window reopens. */
  consume(channelId: number, n: number): void {
    const ch = this.#channels.get(channelId);
    if (!ch || !(n > 0) || (ch.local !== "open" && ch.local !== "eofSent")) return;
    if (ch.remote !== "open" && ch.remote !== "eofReceived") return;
    ch.unacked += n;
    // Return window in batches so adjusts don't flood the link: half the window, or an
    // eighth once more than half of it waits unread (a consumer slower than the link reads
    // its backlog a packet at a time; one adjust per packet cost a write each, on both sides).
    const half = ch.windowSize / 2;
    if (ch.unacked >= half || (ch.localWindow + ch.unacked <= half && ch.unacked >= half / 4)) {
      // Up to the window we keep (setWindowSize may have made it smaller than the peer's
      // grant, which then shrinks as the peer uses it).
      const add = Math.max(0, Math.min(ch.unacked, ch.windowSize - ch.localWindow));
      if (add > 0) {
        ch.localWindow += add;
        this.#sendWindowAdjust(ch, add);
      }
      ch.outstanding -= ch.unacked - add;
      ch.unacked = 0;
    }
  }

  /**
   * Changes the window we keep granted on an open channel. A larger one is granted at once
   * (one WINDOW_ADJUST for the difference); a smaller one takes effect as the peer uses
   * what it already has (a grant cannot be taken back). Later adjusts follow the new size.
   * The peer may then have up to `size` bytes in flight: what a bulk receiver (an SFTP or
   * SCP upload) needs to keep the link busy, and what it must be ready to buffer.
   */
  setWindowSize(channelId: number, size: number): void {
    if (!Number.isInteger(size) || size < 1 || size > MAX_WINDOW) {
      throw new RangeError(`Invalid channel window ${size}: give 1 to ${MAX_WINDOW} bytes`);
    }
    const ch = this.#live(channelId, "resize the window of");
    if (!ch) return;
    // The difference to what the peer holds: after a smaller size that may still be more than
    // that size (a grant is not taken back), and growing again must not grant it twice.
    const granted = Math.max(ch.windowSize, ch.outstanding);
    const grant = Math.min(size - granted, MAX_WINDOW - ch.localWindow);
    ch.windowSize = size;
    const open = (ch.local === "open" || ch.local === "eofSent") &&
      (ch.remote === "open" || ch.remote === "eofReceived");
    if (grant <= 0 || !open) return;
    ch.localWindow += grant;
    ch.outstanding += grant;
    this.#sendWindowAdjust(ch, grant);
  }

  /** Sends EOF: we will send no more data. */
  sendEof(channelId: number): void {
    const ch = this.#live(channelId, "send EOF on");
    if (!ch) return;
    if (!this.#ours(ch, "sendEof", "")) return;
    this.#send(new SSHWriter(5).writeByte(Msg.CHANNEL_EOF).writeUint32(ch.remoteId).toBytes());
  }

  /**
   * Holds our answer to the peer's CLOSE until {@link close} is called: the peer's CLOSE
   * then raises `channelCloseReceived` instead of being answered at once. sshd does this
   * for a session whose command still runs, so that the exit status goes before its
   * CLOSE (OpenSSH's ControlMaster closes a session once both sides sent EOF, and reports
   * a session closed without a status as lost). The caller must close the channel then.
   *
   * @example
   * ```ts ignore
   * engine.holdClose(channelId); // then, on channelCloseReceived: exit-status, close()
   * ```
   */
  holdClose(channelId: number): void {
    const ch = this.#channels.get(channelId);
    if (ch) ch.holdClose = true;
  }

  /** Closes the channel (idempotent). The `channelClose` event follows when the peer agrees. */
  close(channelId: number): void {
    const ch = this.#channels.get(channelId);
    if (!ch) return;
    if (ch.local === "unanswered") {
      this.rejectChannel(channelId, ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED, "Closed");
      return;
    }
    const before = ch.local;
    if (!this.#ours(ch, "close", "")) return;
    // Before the confirmation (now closePending) the CLOSE waits for it.
    if (before !== "opening") this.#sendClose(ch);
  }

  /** Sends a channel request; with `wantReply`, a `channelRequestReply` event follows. */
  sendRequest(
    channelId: number,
    request: string,
    wantReply: boolean,
    data: Uint8Array = new Uint8Array(0),
  ): void {
    const ch = this.#live(channelId, "send a request on");
    if (!ch) return;
    const misuse = `Cannot send request "${request}": channel ${channelId} is not open`;
    this.#ours(ch, "sendRequest", misuse);
    if (wantReply) {
      ch.pendingReplies.push(request);
      this.#waitEpoch++;
    }
    this.#send(
      new SSHWriter(32 + data.length).writeByte(Msg.CHANNEL_REQUEST).writeUint32(ch.remoteId)
        .writeStringUtf8(request).writeBoolean(wantReply).writeBytes(data).toBytes(),
    );
  }

  /** Answers a channel request the peer sent with want_reply (answers go in arrival order). */
  replyChannelRequest(channelId: number, success: boolean): void {
    const ch = this.#live(channelId, "reply on");
    if (!ch) return;
    if (ch.owedReplies === 0) {
      throw new LocalProtocolError(`No request on channel ${channelId} awaits a reply`);
    }
    ch.owedReplies--;
    if (!deliversToApplication(ch.local) || ch.remote === "closed") return;
    this.#send(
      new SSHWriter(5).writeByte(success ? Msg.CHANNEL_SUCCESS : Msg.CHANNEL_FAILURE).writeUint32(
        ch.remoteId,
      )
        .toBytes(),
    );
  }

  /** Sends a global request; with `wantReply` a `globalRequestReply` event follows. Returns its id. */
  sendGlobalRequest(
    name: string,
    wantReply: boolean,
    data: Uint8Array = new Uint8Array(0),
  ): number {
    return this.#sendGlobal(name, wantReply, data, false);
  }

  /**
   * Sends the engine's keepalive probe (keepalive@openssh.com with want-reply). Probes sent
   * one after another share one pending entry: their replies (`globalRequestReply` events
   * with the first probe's id) only say the peer is alive.
   */
  sendKeepaliveProbe(): void {
    this.#sendGlobal(KEEPALIVE_REQUEST, true, new Uint8Array(0), true);
  }

  #sendGlobal(name: string, wantReply: boolean, data: Uint8Array, probe: boolean): number {
    const id = this.#nextGlobalId++;
    if (wantReply) {
      const last = this.#pendingGlobal.at(-1);
      if (probe && last?.probe) last.more++;
      else this.#pendingGlobal.push({ id, name, more: 0, probe });
      this.#waitEpoch++;
    }
    this.#send(
      new SSHWriter(32 + data.length).writeByte(Msg.GLOBAL_REQUEST).writeStringUtf8(name)
        .writeBoolean(wantReply)
        .writeBytes(data).toBytes(),
    );
    return id;
  }

  /**
   * Answers a global request (`globalRequest` event with wantReply). Answers may
   * be given in any order; the replies leave in the order the requests came.
   */
  replyGlobalRequest(
    requestId: number,
    success: boolean,
    data: Uint8Array = new Uint8Array(0),
  ): void {
    const owed = this.#owedGlobal.find((o) => o.id === requestId);
    if (!owed || owed.reply) {
      throw new LocalProtocolError(`No global request ${requestId} awaits a reply`);
    }
    owed.reply = { success, data };
    this.#flushGlobalReplies();
  }

  #flushGlobalReplies(): void {
    while (this.#owedGlobal[0]?.reply) {
      const { success, data } = this.#owedGlobal.shift()!.reply!;
      this.#send(
        new SSHWriter(1 + data.length).writeByte(
          success ? Msg.REQUEST_SUCCESS : Msg.REQUEST_FAILURE,
        ).writeBytes(data).toBytes(),
      );
    }
  }

  /** Facts about a channel (for the layers above), or undefined. */
  info(channelId: number):
    | {
      channelType: string;
      remoteMaxPacket: number;
      remoteWindow: number;
      eofReceived: boolean;
      open: boolean;
      /** Our side's state (see `channel_state.ts`). */
      local: LocalState;
      /** The peer's side's state. */
      remote: RemoteState;
    }
    | undefined {
    const ch = this.#channels.get(channelId);
    if (!ch) return undefined;
    return {
      channelType: ch.channelType,
      remoteMaxPacket: ch.remoteMaxPacket,
      remoteWindow: ch.remoteWindow,
      eofReceived: ch.remote === "eofReceived",
      open: ch.local === "open" || ch.local === "eofSent",
      local: ch.local,
      remote: ch.remote,
    };
  }

  // ---- incoming ----

  /**
   * Handles a connection-protocol message (80..127). Throws DisconnectError/WireError on bad
   * input. `owned`: the payload is a buffer of its own that events may keep (channel data is
   * then handed on without a copy); otherwise it is a view the transport reuses. `stable`:
   * such a view stays as it is until the transport is next given bytes, so channel data may
   * be lent as it is (see {@link borrowData}).
   */
  handleMessage(type: number, payload: Uint8Array, owned = false, stable = false): boolean {
    const r = new SSHReader(payload, 1);
    switch (type) {
      case Msg.GLOBAL_REQUEST: {
        const name = r.readStringAscii("request name", MAX_NAME);
        const wantReply = r.readBoolean("want reply");
        const data = payload.slice(r.position);
        const oversized = data.length > MAX_GLOBAL_REQUEST_DATA;
        if (wantReply) {
          if (this.#owedGlobal.length >= MAX_PENDING_REQUESTS) {
            throw channelError(
              "too-many-requests",
              `Peer has more than ${MAX_PENDING_REQUESTS} global requests unanswered`,
            );
          }
          const requestId = this.#incomingGlobalId++;
          this.#owedGlobal.push({ id: requestId });
          if (oversized) {
            // Refused here: nobody above should have to hold that much.
            this.replyGlobalRequest(requestId, false);
            return true;
          }
          this.#emit({ type: "globalRequest", requestId, name, wantReply, data });
        } else if (!oversized) {
          this.#emit({ type: "globalRequest", requestId: 0, name, wantReply, data });
        }
        return true;
      }
      case Msg.REQUEST_SUCCESS:
      case Msg.REQUEST_FAILURE: {
        const pending = this.#pendingGlobal[0];
        if (pending && pending.more > 0) pending.more--;
        else this.#pendingGlobal.shift();
        if (!pending) {
          throw channelError(
            "reply-without-request",
            "Reply to a global request that was never sent",
            type,
          );
        }
        this.#emit({
          type: "globalRequestReply",
          requestId: pending.id,
          name: pending.name,
          success: type === Msg.REQUEST_SUCCESS,
          data: payload.slice(1),
        });
        return true;
      }
      case Msg.CHANNEL_OPEN:
        return this.#onOpen(r, payload);
      case Msg.CHANNEL_OPEN_CONFIRMATION: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_OPEN_CONFIRMATION");
        this.#theirs(ch, "confirmation", "CHANNEL_OPEN_CONFIRMATION", type);
        ch.remoteId = r.readUint32("sender channel");
        ch.remoteWindow = r.readUint32("initial window");
        ch.remoteMaxPacket = r.readUint32("maximum packet size");
        const closing = ch.local === "closePending";
        this.#ours(ch, "confirmed", "");
        if (closing) {
          this.#sendClose(ch);
          return true;
        }
        // A window widened by setWindowSize() while the open was on its way: grant the rest.
        const grant = ch.windowSize - ch.outstanding;
        if (grant > 0) {
          ch.localWindow += grant;
          ch.outstanding += grant;
          this.#sendWindowAdjust(ch, grant);
        }
        this.#emit({ type: "channelOpen", channelId: ch.localId, data: payload.slice(r.position) });
        return true;
      }
      case Msg.CHANNEL_OPEN_FAILURE: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_OPEN_FAILURE");
        this.#theirs(ch, "openFailure", "CHANNEL_OPEN_FAILURE", type);
        const reason = r.readUint32("reason code");
        const description = r.readStringUtf8("description", MAX_TEXT);
        const wanted = ch.local === "opening";
        this.#ours(ch, "openFailed", "");
        // Closed before the answer: the channelClose that close() promised, as when confirmed.
        this.#freeIfClosed(ch, !wanted);
        if (wanted) {
          this.#emit({ type: "channelOpenFailure", channelId: ch.localId, reason, description });
        }
        return true;
      }
      case Msg.CHANNEL_WINDOW_ADJUST: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_WINDOW_ADJUST");
        this.#theirs(ch, "windowAdjust", "CHANNEL_WINDOW_ADJUST", type);
        const add = r.readUint32("bytes to add");
        if (ch.remoteWindow + add > MAX_WINDOW) {
          throw channelError(
            "window-overflow",
            `Window adjust on channel ${ch.localId} grows the window past 2^32-1`,
          );
        }
        const wasBlocked = ch.remoteWindow === 0;
        ch.remoteWindow += add;
        if (canSendData(ch.local) && (wasBlocked || add > 0)) {
          this.#emit({ type: "channelWritable", channelId: ch.localId, window: ch.remoteWindow });
        }
        return true;
      }
      case Msg.CHANNEL_DATA:
      case Msg.CHANNEL_EXTENDED_DATA: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_DATA");
        this.#theirs(ch, "data", "CHANNEL_DATA", type);
        const stream = type === Msg.CHANNEL_DATA ? 0 : r.readUint32("data type code");
        const data = r.readString("channel data");
        if (data.length > ch.localWindow) {
          throw channelError(
            "window-exceeded",
            `Peer sent ${data.length} bytes on channel ${ch.localId}, past the window of ${ch.localWindow}`,
          );
        }
        if (data.length > ch.localMaxPacket) {
          throw channelError(
            "packet-too-large",
            `Peer sent a ${data.length}-byte data packet; the maximum is ${ch.localMaxPacket}`,
          );
        }
        ch.localWindow -= data.length;
        if (!deliversToApplication(ch.local)) return true;
        // At most one copy between the socket buffer and the application: this one, unless
        // the opener already produced a buffer of the packet's own (PacketOpener.openDetached)
        // or the data is lent to a consumer that copies what it keeps (borrowData).
        if (!owned && stable && this.borrowData) {
          this.lentEvents++;
          this.#emit({ type: "channelData", channelId: ch.localId, stream, data, borrowed: true });
          return true;
        }
        const out = owned ? data : data.slice();
        markTransient(out);
        this.#emit({ type: "channelData", channelId: ch.localId, stream, data: out });
        return true;
      }
      case Msg.CHANNEL_EOF: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_EOF");
        if (!this.#theirs(ch, "eof", "CHANNEL_EOF", type)) return true;
        if (deliversToApplication(ch.local)) {
          this.#emit({ type: "channelEof", channelId: ch.localId });
        }
        return true;
      }
      case Msg.CHANNEL_CLOSE: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_CLOSE");
        this.#theirs(ch, "close", "CHANNEL_CLOSE", type);
        // RFC 4254 §5.3: a CLOSE is answered with a CLOSE — at once, unless the application
        // holds it (a session whose command still runs: its exit status goes first).
        if (ch.holdClose && (ch.local === "open" || ch.local === "eofSent")) {
          ch.holdClose = false;
          this.#emit({ type: "channelCloseReceived", channelId: ch.localId });
          return true;
        }
        if (this.#ours(ch, "close", "")) this.#sendClose(ch);
        else this.#freeIfClosed(ch, true);
        return true;
      }
      case Msg.CHANNEL_REQUEST: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_REQUEST");
        this.#theirs(ch, "request", "CHANNEL_REQUEST", type);
        const request = r.readStringAscii("request type", MAX_NAME);
        const wantReply = r.readBoolean("want reply");
        const data = payload.slice(r.position);
        if (wantReply) {
          if (ch.owedReplies >= MAX_PENDING_REQUESTS) {
            throw channelError(
              "too-many-requests",
              `Peer has more than ${MAX_PENDING_REQUESTS} requests unanswered on a channel`,
            );
          }
          ch.owedReplies++;
        }
        if (!deliversToApplication(ch.local)) {
          if (wantReply) ch.owedReplies--;
          return true;
        }
        this.#emit({ type: "channelRequest", channelId: ch.localId, request, wantReply, data });
        return true;
      }
      case Msg.CHANNEL_SUCCESS:
      case Msg.CHANNEL_FAILURE: {
        const ch = this.#byLocal(r.readUint32("recipient channel"), "CHANNEL_SUCCESS/FAILURE");
        this.#theirs(ch, "reply", "CHANNEL_SUCCESS/FAILURE", type);
        const request = ch.pendingReplies.shift();
        if (request === undefined) {
          throw channelError(
            "reply-without-request",
            `Reply on channel ${ch.localId} to no request`,
            type,
          );
        }
        if (deliversToApplication(ch.local)) {
          this.#emit({
            type: "channelRequestReply",
            channelId: ch.localId,
            request,
            success: type === Msg.CHANNEL_SUCCESS,
          });
        }
        return true;
      }
    }
    return false;
  }

  #onOpen(r: SSHReader, payload: Uint8Array): boolean {
    const channelType = r.readStringAscii("channel type", MAX_NAME);
    const sender = r.readUint32("sender channel");
    const window = r.readUint32("initial window");
    const maxPacket = r.readUint32("maximum packet size");
    const data = payload.slice(r.position);
    for (const other of this.#channels.values()) {
      // The peer's id of a live channel, used again: refuse the new one, keep the old.
      const live = other.remote !== "opening" && other.remote !== "closed";
      if (live && other.remoteId === sender) {
        this.#sendOpenFailure(
          sender,
          ChannelOpenFailure.ADMINISTRATIVELY_PROHIBITED,
          `Channel ${sender} is already open`,
        );
        return true;
      }
    }
    const ch = this.#allocate(channelType, "unanswered", "unanswered", {});
    if (!ch) {
      this.#sendOpenFailure(sender, ChannelOpenFailure.RESOURCE_SHORTAGE, "Too many channels");
      return true;
    }
    ch.remoteId = sender;
    ch.remoteWindow = window;
    ch.remoteMaxPacket = maxPacket;
    this.#emit({ type: "channelOpenRequest", channelId: ch.localId, channelType, data });
    return true;
  }
  #allocate(
    channelType: string,
    local: LocalState,
    remote: RemoteState,
    options: ChannelOptions,
  ): Channel | undefined {
    if (this.#channels.size >= this.#maxChannels) return undefined;
    while (this.#channels.has(this.#nextId)) this.#nextId = (this.#nextId + 1) >>> 0;
    const window = checkedWindow(options.window ?? DEFAULT_WINDOW);
    const ch: Channel = {
      localId: this.#nextId,
      remoteId: 0,
      local,
      remote,
      channelType,
      localWindow: window,
      windowSize: window,
      localMaxPacket: advertisedMaxPacket(options.maxPacket ?? DEFAULT_MAX_PACKET),
      unacked: 0,
      outstanding: window,
      remoteWindow: 0,
      remoteMaxPacket: 0,
      pendingReplies: [],
      owedReplies: 0,
    };
    this.#nextId = (this.#nextId + 1) >>> 0;
    if (this.#nextId === 0) this.#idsWrapped = true;
    this.#channels.set(ch.localId, ch);
    return ch;
  }

  /** Grants the peer `n` more bytes of window (it is already counted in localWindow). */
  #sendWindowAdjust(ch: Channel, n: number): void {
    this.#send(
      new SSHWriter(9).writeByte(Msg.CHANNEL_WINDOW_ADJUST).writeUint32(ch.remoteId)
        .writeUint32(n).toBytes(),
    );
  }

  #sendOpenFailure(remoteId: number, reason: number, description: string): void {
    this.#send(
      new SSHWriter(64).writeByte(Msg.CHANNEL_OPEN_FAILURE).writeUint32(remoteId).writeUint32(
        reason,
      )
        .writeStringUtf8(description).writeStringUtf8("").toBytes(),
    );
  }

  /** Sends CLOSE (our side is already `closed`); frees the channel if the peer's side is too. */
  #sendClose(ch: Channel): void {
    this.#send(new SSHWriter(5).writeByte(Msg.CHANNEL_CLOSE).writeUint32(ch.remoteId).toBytes());
    this.#freeIfClosed(ch, true);
  }

  /** The rule that joins the two sides: both closed, the id is free (`channelClose` if it was open). */
  #freeIfClosed(ch: Channel, wasOpen: boolean): void {
    if (!channelFreed(ch.local, ch.remote) || !this.#channels.has(ch.localId)) return;
    this.#channels.delete(ch.localId);
    if (wasOpen) this.#emit({ type: "channelClose", channelId: ch.localId });
  }

  /**
   * Moves our side on `input` (LOCAL_SIDE). True when it happened, false when the
   * table ignores it; a misuse throws LocalProtocolError with `misuse` as its message.
   */
  #ours(ch: Channel, input: LocalInput, misuse: string): boolean {
    const step = LOCAL_SIDE[ch.local][input];
    return applyStep(ch.localId, step, misuse, input, 0, (next) => (ch.local = next));
  }

  /** Moves the peer's side on `input` (REMOTE_SIDE); a violation ends the connection. */
  #theirs(ch: Channel, input: RemoteInput, what: string, type = 0): boolean {
    const step = REMOTE_SIDE[ch.remote][input];
    const misuse = `Cannot ${what} channel ${ch.localId} now`;
    return applyStep(ch.localId, step, misuse, what, type, (next) => (ch.remote = next));
  }

  /**
   * The channel, or undefined when it was closed both ways and freed. Its `channelClose`
   * event may still wait in the queue behind the events an application is answering (a
   * peer's request and CLOSE in one read): a reply, EOF, request or window change that
   * arrives then is moot, not a misuse. Ids are never reused soon (they count up), so it
   * cannot reach another channel. An id never handed out throws, as a misuse.
   */
  #live(channelId: number, what: string): Channel | undefined {
    const ch = this.#channels.get(channelId);
    if (ch || (channelId >>> 0 === channelId && (channelId < this.#nextId || this.#idsWrapped))) {
      return ch;
    }
    throw new LocalProtocolError(`Cannot ${what} channel ${channelId}: no such channel`);
  }

  #get(channelId: number, what: string): Channel {
    const ch = this.#channels.get(channelId);
    if (!ch) throw new LocalProtocolError(`Cannot ${what} channel ${channelId}: no such channel`);
    return ch;
  }

  #byLocal(id: number, what: string): Channel {
    const ch = this.#channels.get(id);
    if (!ch) throw channelError("unknown-channel", `${what} for unknown channel ${id}`);
    return ch;
  }
}

/** Applies one table step: true when it happened, false when ignored; throws otherwise. */
function applyStep<S>(
  id: number,
  step: ChannelStep<S>,
  misuse: string,
  what: string,
  type: number,
  set: (next: S) => void,
): boolean {
  switch (step.outcome) {
    case "ok":
      set(step.next);
      return true;
    case "ignore":
      return false;
    case "misuse":
      throw new LocalProtocolError(misuse);
    case "violation":
      throw channelError(step.detail, violationMessage(step.detail, what, id), type || undefined);
  }
}

/** The message of a channel violation: what arrived, on which channel, and why it may not. */
function violationMessage(detail: DisconnectDetail, what: string, id: number): string {
  switch (detail) {
    case "channel-not-open":
      return `${what} for channel ${id}, which is not open`;
    case "message-after-close":
      return `${what} for channel ${id} after its CLOSE`;
    case "data-after-eof":
      return `Data after EOF on channel ${id}`;
    case "duplicate-confirmation":
      return `Channel ${id} confirmed twice`;
    case "open-failure-after-open":
      return `Open failure for channel ${id}, which is open`;
    default:
      return `${what} on channel ${id}: ${detail}`;
  }
}

/** A peer's breach of the connection protocol: code ERR_CHANNEL, reason PROTOCOL_ERROR. */
function channelError(detail: DisconnectDetail, message: string, got?: number): DisconnectError {
  return protocolError(detail, message, {
    code: "ERR_CHANNEL",
    ...(got !== undefined ? { got } : {}),
  });
}

function putUint32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
