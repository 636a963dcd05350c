/**
 * Puts one channel of a {@link LayerPair} in a given state, and builds the peer's
 * messages for it: the harness of the channel state walks.
 *
 * @module
 */

import assert from "node:assert/strict";
import { DisconnectError, LocalProtocolError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import { SSHWriter } from "../wire.ts";
import { LayerPair, type LayerSide } from "./_layer_pair.ts";
import type { ChannelStep, LocalState, RemoteState } from "./channel_state.ts";

/** A channel in a chosen state, on the side under test. */
export interface Staged {
  readonly pair: LayerPair;
  /** The side whose channel is in the state. */
  readonly side: LayerSide;
  /** Its local id on that side. */
  readonly id: number;
}

/** Delivers what `from` sent to `to`, once. */
export function deliver(from: LayerSide, to: LayerSide): void {
  for (const m of from.outbox.splice(0)) to.layer.handleMessage(m[0]!, m);
}

/** The (our side, peer's side) pairs a channel can be observed in, and how to get there. */
export const STAGES: readonly {
  readonly local: LocalState;
  readonly remote: RemoteState;
  readonly stage: () => Staged;
}[] = [
  { local: "opening", remote: "opening", stage: () => opening() },
  { local: "unanswered", remote: "unanswered", stage: () => unanswered() },
  { local: "open", remote: "open", stage: () => open() },
  {
    local: "eofSent",
    remote: "open",
    stage: () => then(open(), (s) => s.side.layer.sendEof(s.id)),
  },
  {
    local: "open",
    remote: "eofReceived",
    stage: () =>
      then(open(), (s) => {
        s.pair.b.layer.sendEof(peerId(s));
        deliver(s.pair.b, s.pair.a);
      }),
  },
  {
    local: "closePending",
    remote: "opening",
    stage: () => then(opening(), (s) => s.side.layer.close(s.id)),
  },
  {
    local: "closed",
    remote: "open",
    stage: () => then(open(), (s) => s.side.layer.close(s.id)),
  },
];

function then(s: Staged, f: (s: Staged) => void): Staged {
  f(s);
  return s;
}

function opening(): Staged {
  const pair = new LayerPair();
  const id = pair.a.layer.openChannel("session");
  return { pair, side: pair.a, id };
}

function unanswered(): Staged {
  const pair = new LayerPair();
  pair.a.layer.openChannel("session");
  deliver(pair.a, pair.b);
  const req = LayerPair.of(pair.b, "channelOpenRequest")[0]!;
  return { pair, side: pair.b, id: req.channelId };
}

function open(): Staged {
  const pair = new LayerPair({
    onB: (e, p) => {
      if (e.type === "channelOpenRequest") p.b.layer.acceptChannel(e.channelId);
    },
  });
  const id = pair.a.layer.openChannel("session");
  pair.run();
  return { pair, side: pair.a, id };
}

/** The peer's id of the channel (b's side) for a channel opened by a. */
function peerId(s: Staged): number {
  return LayerPair.of(s.pair.b, "channelOpenRequest")[0]!.channelId;
}

/** The peer's messages for the channel with our id `id`, by what they are. */
export function peerMessage(kind: string, id: number): Uint8Array {
  const w = new SSHWriter();
  switch (kind) {
    case "confirmation":
      return w.writeByte(Msg.CHANNEL_OPEN_CONFIRMATION).writeUint32(id).writeUint32(77)
        .writeUint32(1000).writeUint32(1000).toBytes();
    case "openFailure":
      return w.writeByte(Msg.CHANNEL_OPEN_FAILURE).writeUint32(id).writeUint32(1)
        .writeStringUtf8("no").writeStringUtf8("").toBytes();
    case "data":
      return w.writeByte(Msg.CHANNEL_DATA).writeUint32(id).writeStringUtf8("abc").toBytes();
    case "windowAdjust":
      return w.writeByte(Msg.CHANNEL_WINDOW_ADJUST).writeUint32(id).writeUint32(10).toBytes();
    case "eof":
      return w.writeByte(Msg.CHANNEL_EOF).writeUint32(id).toBytes();
    case "close":
      return w.writeByte(Msg.CHANNEL_CLOSE).writeUint32(id).toBytes();
    case "request":
      return w.writeByte(Msg.CHANNEL_REQUEST).writeUint32(id).writeStringUtf8("x@example.com")
        .writeBoolean(false).toBytes();
    case "reply":
      return w.writeByte(Msg.CHANNEL_SUCCESS).writeUint32(id).toBytes();
  }
  throw new Error(`no peer message for ${kind}`);
}

/** The state of the channel's sides as the layer reports it; both "closed" once freed. */
export function sides(s: Staged): { local: LocalState; remote: RemoteState } {
  const info = s.side.layer.info(s.id);
  return info ? { local: info.local, remote: info.remote } : { local: "closed", remote: "closed" };
}

/**
 * Checks what happened against a table step: `ok` moved the side (read by `side`) to
 * `next`; `ignore` changed nothing and `quiet()` holds; `misuse` threw a
 * LocalProtocolError and changed nothing; `violation` threw ERR_CHANNEL with the detail.
 */
export function expectStep<S>(
  where: string,
  step: ChannelStep<S>,
  thrown: unknown,
  now: { readonly sides: ReturnType<typeof sides>; readonly side: S },
  before: ReturnType<typeof sides>,
  quiet: () => boolean,
): void {
  switch (step.outcome) {
    case "ok":
      assert.equal(thrown, undefined, `${where}: ${thrown}`);
      assert.equal(now.side, step.next, where);
      break;
    case "ignore":
      assert.equal(thrown, undefined, where);
      assert.deepEqual(now.sides, before, where);
      assert.ok(quiet(), `${where}: nothing sent or raised`);
      break;
    case "misuse":
      assert.ok(thrown instanceof LocalProtocolError, `${where}: ${thrown}`);
      assert.deepEqual(now.sides, before, where);
      break;
    case "violation":
      assert.ok(thrown instanceof DisconnectError, `${where}: ${thrown}`);
      assert.equal(thrown.code, "ERR_CHANNEL", where);
      assert.equal(thrown.detail, step.detail, where);
      break;
  }
}
