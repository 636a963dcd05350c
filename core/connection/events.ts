/**
 * Events of the connection layer (RFC 4254). Channel ids in events are always our
 * local ids.
 *
 * @module
 */

/** The peer asks to open a channel; answer with `acceptChannel` or `rejectChannel`. */
export interface ChannelOpenRequestEvent {
  readonly type: "channelOpenRequest";
  readonly channelId: number;
  readonly channelType: string;
  /** Type-specific data after the standard fields (e.g. direct-tcpip addresses). */
  readonly data: Uint8Array;
}

/** A channel we opened was confirmed. */
export interface ChannelOpenEvent {
  readonly type: "channelOpen";
  readonly channelId: number;
  /** Type-specific data after the standard confirmation fields. */
  readonly data: Uint8Array;
}

/** A channel we opened was refused. */
export interface ChannelOpenFailureEvent {
  readonly type: "channelOpenFailure";
  readonly channelId: number;
  readonly reason: number;
  readonly description: string;
}

/** Data arrived. `stream` 0 is normal data, 1 is stderr (extended data type 1). */
export interface ChannelDataEvent {
  readonly type: "channelData";
  readonly channelId: number;
  readonly stream: number;
  readonly data: Uint8Array;
}

/** The peer sent EOF. */
export interface ChannelEofEvent {
  readonly type: "channelEof";
  readonly channelId: number;
}

/** The channel is closed both ways; its id is free again. */
export interface ChannelCloseEvent {
  readonly type: "channelClose";
  readonly channelId: number;
}

/** A channel request arrived; if `wantReply`, answer with `replyChannelRequest`. */
export interface ChannelRequestEvent {
  readonly type: "channelRequest";
  readonly channelId: number;
  readonly request: string;
  readonly wantReply: boolean;
  /** Request-specific data. */
  readonly data: Uint8Array;
}

/** The reply to a channel request we sent with want_reply. */
export interface ChannelRequestReplyEvent {
  readonly type: "channelRequestReply";
  readonly channelId: number;
  readonly request: string;
  readonly success: boolean;
}

/** The peer's window grew: more data may be sent. */
export interface ChannelWritableEvent {
  readonly type: "channelWritable";
  readonly channelId: number;
  readonly window: number;
}

/** A global request arrived; if `wantReply`, answer with `replyGlobalRequest(requestId, ...)`. */
export interface GlobalRequestEvent {
  readonly type: "globalRequest";
  readonly requestId: number;
  readonly name: string;
  readonly wantReply: boolean;
  readonly data: Uint8Array;
}

/** The reply to a global request we sent with want_reply. */
export interface GlobalRequestReplyEvent {
  readonly type: "globalRequestReply";
  readonly requestId: number;
  readonly name: string;
  readonly success: boolean;
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
  | ChannelRequestEvent
  | ChannelRequestReplyEvent
  | ChannelWritableEvent
  | GlobalRequestEvent
  | GlobalRequestReplyEvent;
