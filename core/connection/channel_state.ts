/**
 * Every rule of a channel's life (RFC 4254 §5), as data. A channel is two
 * half-duplex machines: our side (what we may still send, {@link LOCAL_SIDE}) and
 * the peer's side (what it may still send, {@link REMOTE_SIDE}); each moves on its
 * own inputs. One rule ties them: when both sides are closed, the channel id is free
 * again ({@link channelFreed}). The connection layer looks these up and holds no
 * other rule about channel state.
 *
 * The open handshake is part of both machines: a channel we asked for is `opening`
 * on both sides until the peer confirms or refuses; one the peer asked for is
 * `unanswered` until we accept or reject. `close()` before the confirmation leaves
 * our side `closePending`: the CLOSE goes out when the confirmation arrives.
 *
 * @module
 */

import type { DisconnectDetail } from "../errors.ts";

/** Our side's states, in the order a channel meets them. */
export const LOCAL_STATES: readonly LocalState[] = [
  "opening",
  "unanswered",
  "open",
  "eofSent",
  "closePending",
  "closed",
];

/**
 * Our side: `opening` we sent CHANNEL_OPEN; `unanswered` the peer's CHANNEL_OPEN
 * awaits our answer; `open`; `eofSent` we sent EOF (requests may still follow);
 * `closePending` close() came before the peer's confirmation; `closed` we sent CLOSE.
 */
export type LocalState = "opening" | "unanswered" | "open" | "eofSent" | "closePending" | "closed";

/** What moves our side: the peer's answer to our open, and our own commands. */
export const LOCAL_INPUTS: readonly LocalInput[] = [
  "confirmed",
  "openFailed",
  "accept",
  "reject",
  "sendData",
  "sendRequest",
  "sendEof",
  "close",
];

/** An input of our side. */
export type LocalInput =
  | "confirmed"
  | "openFailed"
  | "accept"
  | "reject"
  | "sendData"
  | "sendRequest"
  | "sendEof"
  | "close";

/** The peer's side's states. */
export const REMOTE_STATES: readonly RemoteState[] = [
  "opening",
  "unanswered",
  "open",
  "eofReceived",
  "closed",
];

/**
 * The peer's side: `opening` it has not answered our CHANNEL_OPEN; `unanswered` we
 * have not answered its CHANNEL_OPEN; `open`; `eofReceived` it sent EOF; `closed` it
 * sent CLOSE.
 */
export type RemoteState = "opening" | "unanswered" | "open" | "eofReceived" | "closed";

/** What moves the peer's side: its channel messages, and our answer to its open. */
export const REMOTE_INPUTS: readonly RemoteInput[] = [
  "confirmation",
  "openFailure",
  "accept",
  "reject",
  "data",
  "windowAdjust",
  "eof",
  "close",
  "request",
  "reply",
];

/** An input of the peer's side. */
export type RemoteInput =
  | "confirmation"
  | "openFailure"
  | "accept"
  | "reject"
  | "data"
  | "windowAdjust"
  | "eof"
  | "close"
  | "request"
  | "reply";

/**
 * What an input does:
 * - `ok`: it happens, and the side moves to `next`;
 * - `ignore`: nothing happens, no error (EOF twice, close twice);
 * - `misuse`: the caller may not do that now (a LocalProtocolError, thrown);
 * - `violation`: the peer broke the protocol (ERR_CHANNEL, the connection ends), `detail` says how.
 */
export type ChannelStep<S> =
  | { readonly outcome: "ok"; readonly next: S }
  | { readonly outcome: "ignore" | "misuse" }
  | { readonly outcome: "violation"; readonly detail: DisconnectDetail };

const ok = <S>(next: S): ChannelStep<S> => ({ outcome: "ok", next });
const IGNORE = { outcome: "ignore" } as const;
const MISUSE = { outcome: "misuse" } as const;
const violation = (detail: DisconnectDetail) => ({ outcome: "violation", detail }) as const;

const DUPLICATE = violation("duplicate-confirmation");
const FAILURE_LATE = violation("open-failure-after-open");

/** Our side: for each state and input, what happens. */
export const LOCAL_SIDE: Readonly<
  Record<LocalState, Readonly<Record<LocalInput, ChannelStep<LocalState>>>>
> = {
  opening: {
    confirmed: ok("open"),
    openFailed: ok("closed"),
    accept: MISUSE,
    reject: MISUSE,
    sendData: MISUSE,
    sendRequest: MISUSE,
    sendEof: IGNORE,
    close: ok("closePending"),
  },
  unanswered: {
    confirmed: DUPLICATE,
    openFailed: FAILURE_LATE,
    accept: ok("open"),
    reject: ok("closed"),
    sendData: MISUSE,
    sendRequest: MISUSE,
    sendEof: IGNORE,
    close: ok("closed"), // a rejection
  },
  open: {
    confirmed: DUPLICATE,
    openFailed: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    sendData: ok("open"),
    sendRequest: ok("open"),
    sendEof: ok("eofSent"),
    close: ok("closed"),
  },
  eofSent: {
    confirmed: DUPLICATE,
    openFailed: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    sendData: MISUSE,
    sendRequest: ok("eofSent"), // exit-status and the like follow EOF
    sendEof: IGNORE,
    close: ok("closed"),
  },
  closePending: {
    confirmed: ok("closed"), // the CLOSE goes out now
    openFailed: ok("closed"),
    accept: MISUSE,
    reject: MISUSE,
    sendData: MISUSE,
    sendRequest: MISUSE,
    sendEof: IGNORE,
    close: IGNORE,
  },
  closed: {
    confirmed: DUPLICATE,
    openFailed: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    sendData: MISUSE,
    sendRequest: MISUSE,
    sendEof: IGNORE,
    close: IGNORE,
  },
};

const NOT_OPEN = violation("channel-not-open");
const AFTER_CLOSE = violation("message-after-close");

/** The peer's side: for each state and input, what happens. */
export const REMOTE_SIDE: Readonly<
  Record<RemoteState, Readonly<Record<RemoteInput, ChannelStep<RemoteState>>>>
> = {
  opening: {
    confirmation: ok("open"),
    openFailure: ok("closed"),
    accept: MISUSE,
    reject: MISUSE,
    data: NOT_OPEN,
    windowAdjust: NOT_OPEN,
    eof: NOT_OPEN,
    close: NOT_OPEN,
    request: NOT_OPEN,
    reply: NOT_OPEN,
  },
  unanswered: {
    confirmation: DUPLICATE,
    openFailure: FAILURE_LATE,
    accept: ok("open"),
    reject: ok("closed"),
    data: NOT_OPEN,
    windowAdjust: NOT_OPEN,
    eof: NOT_OPEN,
    close: NOT_OPEN,
    request: NOT_OPEN,
    reply: NOT_OPEN,
  },
  open: {
    confirmation: DUPLICATE,
    openFailure: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    data: ok("open"),
    windowAdjust: ok("open"),
    eof: ok("eofReceived"),
    close: ok("closed"),
    request: ok("open"),
    reply: ok("open"),
  },
  eofReceived: {
    confirmation: DUPLICATE,
    openFailure: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    data: violation("data-after-eof"),
    windowAdjust: ok("eofReceived"),
    eof: IGNORE,
    close: ok("closed"),
    request: ok("eofReceived"),
    reply: ok("eofReceived"),
  },
  closed: {
    confirmation: DUPLICATE,
    openFailure: FAILURE_LATE,
    accept: MISUSE,
    reject: MISUSE,
    data: AFTER_CLOSE,
    windowAdjust: AFTER_CLOSE,
    eof: AFTER_CLOSE,
    close: AFTER_CLOSE,
    request: AFTER_CLOSE,
    reply: AFTER_CLOSE,
  },
};

/**
 * The rule that joins the two machines: a channel whose sides are both closed is
 * gone, and its id may be used again.
 *
 * @example
 * ```ts
 * import { channelFreed } from "./channel_state.ts";
 * console.log(channelFreed("closed", "closed"), channelFreed("closed", "eofReceived")); // true false
 * ```
 */
export function channelFreed(local: LocalState, remote: RemoteState): boolean {
  return local === "closed" && remote === "closed";
}

/**
 * Whether the peer's messages reach the application. After we sent CLOSE (or asked
 * for it) the channel is going away: the peer's messages are still checked and
 * counted against the window, but not delivered.
 *
 * @example
 * ```ts
 * import { deliversToApplication } from "./channel_state.ts";
 * console.log(deliversToApplication("eofSent"), deliversToApplication("closed")); // true false
 * ```
 */
export function deliversToApplication(local: LocalState): boolean {
  return local !== "closePending" && local !== "closed";
}

/**
 * Whether we may still send data on a channel.
 *
 * @example
 * ```ts
 * import { canSendData } from "./channel_state.ts";
 * console.log(canSendData("open"), canSendData("eofSent")); // true false
 * ```
 */
export function canSendData(local: LocalState): boolean {
  return local === "open";
}
