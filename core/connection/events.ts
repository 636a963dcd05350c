/**
 * Events of the connection layer (RFC 4254). Channel ids in events are always our
 * local ids.
 *
 * @module
 */

/** The peer asks to open a channel; answer with `acceptChannel` or `rejectChannel`. */
export interface ChannelOpenRequestEvent {
  /** Discriminant. */
  readonly type: "channelOpenRequest";
  /** The local id reserved for the channel (used to accept or reject it). */
  readonly channelId: number;
  /** The channel type, e.g. "session", "direct-tcpip", "x11". */
  readonly channelType: string;
  /** Type-specific data after the standard fields (e.g. direct-tcpip addresses). */
  readonly data: Uint8Array;
}

/** A channel we opened was confirmed. */
export interface ChannelOpenEvent {
  /** Discriminant. */
  readonly type: "channelOpen";
  /** Local id of the channel, as `openChannel` returned it. */
  readonly channelId: number;
  /** Type-specific data after the standard confirmation fields. */
  readonly data: Uint8Array;
}

/** A channel we opened was refused. */
export interface ChannelOpenFailureEvent {
  /** Discriminant. */
  readonly type: "channelOpenFailure";
  /** Local id of the refused channel (free again). */
  readonly channelId: number;
  /** The reason code (RFC 4254 §5.1: 1 prohibited, 2 connect failed, 3 unknown type, 4 resource shortage). */
  readonly reason: number;
  /** The peer's human-readable reason; may be empty. */
  readonly description: string;
}

/** Data arrived. `stream` 0 is normal data, 1 is stderr (extended data type 1). */
export interface ChannelDataEvent {
  /** Discriminant. */
  readonly type: "channelData";
  /** Local id of the channel. */
  readonly channelId: number;
  /** 0 for normal data, otherwise the extended data type (1 is stderr). */
  readonly stream: number;
  /** The bytes received. */
  readonly data: Uint8Array;
  /**
   * True when `data` is a view of the engine's receive buffer, lent for the handling of this
   * event only: it stays valid until the engine is next given bytes (`receiveData`), and a
   * consumer copies what it keeps. Only with the engine option `borrowChannelData`; otherwise
   * (and when false) `data` is a buffer of its own that the consumer may keep.
   */
  readonly borrowed?: boolean;
}

/** The peer sent EOF. */
export interface ChannelEofEvent {
  /** Discriminant. */
  readonly type: "channelEof";
  /** Local id of the channel. */
  readonly channelId: number;
}

/** The channel is closed both ways; its id is free again. */
export interface ChannelCloseEvent {
  /** Discriminant. */
  readonly type: "channelClose";
  /** Local id of the channel (free for reuse after this event). */
  readonly channelId: number;
}

/**
 * The peer sent CLOSE on a channel whose answer we hold (`holdClose`): it sends nothing
 * more, and our CLOSE goes when the application calls `close()` — after an exit status,
 * as sshd sends one for a command still running when the client closed.
 */
export interface ChannelCloseReceivedEvent {
  /** Discriminant. */
  readonly type: "channelCloseReceived";
  /** Local id of the channel. */
  readonly channelId: number;
}

/** A channel request arrived; if `wantReply`, answer with `replyChannelRequest`. */
export interface ChannelRequestEvent {
  /** Discriminant. */
  readonly type: "channelRequest";
  /** Local id of the channel. */
  readonly channelId: number;
  /** The request type, e.g. "exec", "pty-req", "exit-status". */
  readonly request: string;
  /** True when the peer waits for a success or failure reply. */
  readonly wantReply: boolean;
  /** Request-specific data. */
  readonly data: Uint8Array;
}

/** The reply to a channel request we sent with want_reply. */
export interface ChannelRequestReplyEvent {
  /** Discriminant. */
  readonly type: "channelRequestReply";
  /** Local id of the channel. */
  readonly channelId: number;
  /** The request type this reply answers (replies come in request order). */
  readonly request: string;
  /** True for CHANNEL_SUCCESS, false for CHANNEL_FAILURE. */
  readonly success: boolean;
}

/**
 * More data may be sent: the peer's window grew, or a key exchange that held writers back
 * (EngineBase.writableBytes) ended.
 */
export interface ChannelWritableEvent {
  /** Discriminant. */
  readonly type: "channelWritable";
  /** Local id of the channel. */
  readonly channelId: number;
  /** Bytes the peer's window now allows us to send. */
  readonly window: number;
}

/** A global request arrived; if `wantReply`, answer with `replyGlobalRequest(requestId, ...)`. */
export interface GlobalRequestEvent {
  /** Discriminant. */
  readonly type: "globalRequest";
  /** Our id for the request, passed back to `replyGlobalRequest`. */
  readonly requestId: number;
  /** The request name, e.g. "tcpip-forward" or "keepalive@openssh.com". */
  readonly name: string;
  /** True when the peer waits for a success or failure reply. */
  readonly wantReply: boolean;
  /** Request-specific data. */
  readonly data: Uint8Array;
}

/** The reply to a global request we sent with want_reply. */
export interface GlobalRequestReplyEvent {
  /** Discriminant. */
  readonly type: "globalRequestReply";
  /** The id `sendGlobalRequest` returned for the request. */
  readonly requestId: number;
  /** The name of the request this reply answers. */
  readonly name: string;
  /** True for REQUEST_SUCCESS, false for REQUEST_FAILURE. */
  readonly success: boolean;
  /** Reply-specific data (e.g. the bound port of a "tcpip-forward" to port 0); empty on failure. */
  readonly data: Uint8Array;
}

/** Any connection-layer event. */
export type ConnectionEvent =
  | ChannelOpenRequestEvent
  | ChannelOpenEvent
  | ChannelOpenFailureEvent
  | ChannelDataEvent
  | ChannelEofEvent
  | ChannelCloseEvent
  | ChannelCloseReceivedEvent
  | ChannelRequestEvent
  | ChannelRequestReplyEvent
  | ChannelWritableEvent
  | GlobalRequestEvent
  | GlobalRequestReplyEvent;
