/**
 * Walks the whole table of our side of a channel (LOCAL_SIDE): for each state and
 * each input, a real ConnectionLayer is put in that state and given that input, and
 * what it does must be what the table says.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { expectStep, peerMessage, sides, type Staged, STAGES } from "./_test_channel_walk.ts";
import {
  type ChannelStep,
  LOCAL_INPUTS,
  LOCAL_SIDE,
  LOCAL_STATES,
  type LocalInput,
  type LocalState,
} from "./channel_state.ts";

/** RFC 4254 §5, written out on its own: what our side may do in each state. */
function rule(state: LocalState, input: LocalInput): string {
  const opened = state === "open" || state === "eofSent";
  switch (input) {
    case "accept":
      return state === "unanswered" ? "ok:open" : "misuse";
    case "reject":
      return state === "unanswered" ? "ok:closed" : "misuse";
    case "confirmed": // the peer's answer to our open: only while we wait for it
      return state === "opening" ? "ok:open" : state === "closePending" ? "ok:closed" : "violation";
    case "openFailed":
      return state === "opening" || state === "closePending" ? "ok:closed" : "violation";
    case "sendData": // not after EOF (§5.3), not before the channel is open
      return state === "open" ? "ok:open" : "misuse";
    case "sendRequest": // requests (exit-status, ...) may follow EOF, not CLOSE
      return opened ? `ok:${state}` : "misuse";
    case "sendEof":
      return state === "open" ? "ok:eofSent" : "ignore";
    case "close":
      if (state === "opening") return "ok:closePending"; // CLOSE waits for the confirmation
      if (state === "unanswered" || opened) return "ok:closed";
      return "ignore";
  }
}

function summary(step: ChannelStep<LocalState>): string {
  return step.outcome === "ok" ? `ok:${step.next}` : step.outcome;
}

function apply(s: Staged, input: LocalInput): void {
  const layer = s.side.layer;
  switch (input) {
    case "confirmed":
      return void layer.handleMessage(90 + 1, peerMessage("confirmation", s.id));
    case "openFailed":
      return void layer.handleMessage(90 + 2, peerMessage("openFailure", s.id));
    case "accept":
      return layer.acceptChannel(s.id);
    case "reject":
      return layer.rejectChannel(s.id, 1);
    case "sendData":
      return void layer.sendData(s.id, new Uint8Array([1, 2, 3]));
    case "sendRequest":
      return layer.sendRequest(s.id, "x@example.com", false);
    case "sendEof":
      return layer.sendEof(s.id);
    case "close":
      return layer.close(s.id);
  }
}

test("LOCAL_SIDE: every input in every state of our side does what the table says", () => {
  for (const local of LOCAL_STATES) {
    for (const input of LOCAL_INPUTS) {
      assert.equal(
        summary(LOCAL_SIDE[local][input]),
        rule(local, input),
        `table: ${input} in ${local}`,
      );
    }
  }
  const walked = new Set<string>();
  for (const local of LOCAL_STATES) {
    const stage = STAGES.find((s) => s.local === local);
    assert.ok(stage, `a channel can be put in ${local}`);
    for (const input of LOCAL_INPUTS) {
      const where = `${input} in ${local}`;
      const s = stage.stage();
      assert.equal(sides(s).local, local, where);
      const before = sides(s);
      const sent = s.side.outbox.length;
      let thrown: unknown;
      try {
        apply(s, input);
      } catch (e) {
        thrown = e;
      }
      const now = sides(s);
      const quiet = () => s.side.outbox.length === sent;
      expectStep(
        where,
        LOCAL_SIDE[local][input],
        thrown,
        { sides: now, side: now.local },
        before,
        quiet,
      );
      walked.add(where);
    }
  }
  assert.equal(walked.size, LOCAL_STATES.length * LOCAL_INPUTS.length);
});
