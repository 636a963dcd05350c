/**
 * Walks the whole table of the peer's side of a channel (REMOTE_SIDE), and the rule
 * that frees a channel once both sides are closed: for each state and each input, a
 * real ConnectionLayer is put in that state and given that input, and what it does
 * must be what the table says.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { DisconnectError } from "../errors.ts";
import { Msg } from "../transport/messages.ts";
import {
  deliver,
  expectStep,
  peerMessage,
  sides,
  type Staged,
  STAGES,
} from "./_test_channel_walk.ts";
import { LayerPair } from "./_layer_pair.ts";
import {
  channelFreed,
  type ChannelStep,
  LOCAL_SIDE,
  LOCAL_STATES,
  REMOTE_INPUTS,
  REMOTE_SIDE,
  REMOTE_STATES,
  type RemoteInput,
  type RemoteState,
} from "./channel_state.ts";

/** RFC 4254 §5, written out on its own: what the peer may send in each state. */
function rule(state: RemoteState, input: RemoteInput): string {
  const opened = state === "open" || state === "eofReceived";
  switch (input) {
    case "accept":
    case "reject": // our answer to the peer's open
      return state === "unanswered" ? `ok:${input === "accept" ? "open" : "closed"}` : "misuse";
    case "confirmation":
      return state === "opening" ? "ok:open" : "violation:duplicate-confirmation";
    case "openFailure":
      return state === "opening" ? "ok:closed" : "violation:open-failure-after-open";
  }
  if (state === "closed") return "violation:message-after-close";
  if (!opened) return "violation:channel-not-open";
  switch (input) {
    case "data": // §5.3: no data after EOF
      return state === "open" ? "ok:open" : "violation:data-after-eof";
    case "eof":
      return state === "open" ? "ok:eofReceived" : "ignore";
    case "close":
      return "ok:closed";
    default: // window adjusts, requests and replies go on after EOF
      return `ok:${state}`;
  }
}

function summary(step: ChannelStep<RemoteState>): string {
  if (step.outcome === "ok") return `ok:${step.next}`;
  return step.outcome === "violation" ? `violation:${step.detail}` : step.outcome;
}

function apply(s: Staged, input: RemoteInput): void {
  const layer = s.side.layer;
  if (input === "accept") return layer.acceptChannel(s.id);
  if (input === "reject") return layer.rejectChannel(s.id, 1);
  const m = peerMessage(input, s.id);
  layer.handleMessage(m[0]!, m);
}

test("REMOTE_SIDE: every input in every state of the peer's side does what the table says", () => {
  for (const remote of REMOTE_STATES) {
    for (const input of REMOTE_INPUTS) {
      const where = `table: ${input} in ${remote}`;
      assert.equal(summary(REMOTE_SIDE[remote][input]), rule(remote, input), where);
    }
  }
  const walked = new Set<string>();
  for (const remote of REMOTE_STATES.filter((r) => r !== "closed")) {
    const stage = STAGES.find((s) => s.remote === remote && s.local !== "closePending");
    assert.ok(stage, `a channel can be put in ${remote}`);
    for (const input of REMOTE_INPUTS) {
      const where = `${input} in ${remote}`;
      const s = stage.stage();
      assert.equal(sides(s).remote, remote, where);
      if (input === "reply" && LOCAL_SIDE[stage.local].sendRequest.outcome === "ok") {
        s.side.layer.sendRequest(s.id, "x@example.com", true); // something to reply to
      }
      const before = sides(s);
      const events = s.side.events.length;
      let thrown: unknown;
      try {
        apply(s, input);
      } catch (e) {
        thrown = e;
      }
      const now = sides(s);
      const quiet = () => s.side.events.length === events;
      const step = REMOTE_SIDE[remote][input];
      expectStep(where, step, thrown, { sides: now, side: now.remote }, before, quiet);
      walked.add(where);
    }
  }
  // The peer's side is never seen closed: its CLOSE is answered at once, both sides
  // are closed, and the id is free; whatever the peer sends next finds no channel.
  const s = STAGES.find((x) => x.local === "open" && x.remote === "open")!.stage();
  apply(s, "close");
  assert.equal(s.side.layer.info(s.id), undefined, "freed");
  for (const input of REMOTE_INPUTS) {
    if (input === "accept" || input === "reject") continue;
    assert.throws(
      () => apply(s, input),
      (e: unknown) => e instanceof DisconnectError && e.detail === "unknown-channel",
      `${input} after the peer's CLOSE`,
    );
    walked.add(`${input} in closed`);
  }
  assert.equal(walked.size, REMOTE_STATES.length * REMOTE_INPUTS.length - 2);
});

test("channelFreed(): a channel is freed exactly when both sides are closed, in either order", () => {
  for (const local of LOCAL_STATES) {
    for (const remote of REMOTE_STATES) {
      assert.equal(channelFreed(local, remote), local === "closed" && remote === "closed");
    }
  }
  // We close first: the id stays taken until the peer's CLOSE.
  const ours = STAGES.find((x) => x.local === "closed")!.stage();
  assert.deepEqual(sides(ours), { local: "closed", remote: "open" });
  assert.notEqual(ours.side.layer.info(ours.id), undefined);
  deliver(ours.pair.a, ours.pair.b); // b answers our CLOSE with its own
  deliver(ours.pair.b, ours.pair.a);
  assert.equal(ours.side.layer.info(ours.id), undefined);
  assert.deepEqual(LayerPair.of(ours.pair.a, "channelClose").map((e) => e.channelId), [ours.id]);
  // The peer closes first: we answer, and the id is free at once.
  const theirs = STAGES.find((x) => x.local === "open" && x.remote === "open")!.stage();
  const m = peerMessage("close", theirs.id);
  theirs.side.layer.handleMessage(Msg.CHANNEL_CLOSE, m);
  assert.equal(theirs.side.layer.info(theirs.id), undefined);
  assert.equal(theirs.side.outbox.at(-1)![0], Msg.CHANNEL_CLOSE, "our CLOSE answers theirs");
  // Our next channel may reuse nothing it should not: the table is empty again.
  assert.equal(theirs.side.layer.size, 0);
});
