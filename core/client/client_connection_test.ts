import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_GLOBAL_REQUEST_DATA } from "../connection/channels.ts";
import { makePair } from "../testing/fixtures.ts";

test("ClientConnection refuses an oversized global request and stays connected", () => {
  const pair = makePair({ password: "secret" });
  pair.run();
  pair.server.sendGlobalRequest(
    "big@example.com",
    true,
    new Uint8Array(MAX_GLOBAL_REQUEST_DATA + 1),
  );
  pair.server.sendGlobalRequest("small@example.com", true, new Uint8Array(8));
  pair.run();
  const replies = pair.serverEvents.filter((e) => e.type === "globalRequestReply");
  assert.deepEqual(replies.map((r) => r.type === "globalRequestReply" && [r.name, r.success]), [
    ["big@example.com", false],
  ]);
  const seen = pair.clientEvents.filter((e) => e.type === "globalRequest");
  assert.deepEqual(seen.map((e) => e.type === "globalRequest" && e.name), ["small@example.com"]);
  assert.ok(!pair.client.closed && !pair.server.closed);
});

test("ClientConnection.noMoreSessions() makes the server refuse further sessions", () => {
  const pair = makePair({
    password: "secret",
    onServer: (e, p) => {
      if (e.type === "channelOpenRequest") p.server.acceptChannel(e.channelId);
    },
  });
  pair.run();
  const first = pair.client.openChannel("session");
  pair.run();
  pair.client.noMoreSessions();
  pair.client.noMoreSessions(); // sent once
  const second = pair.client.openChannel("session");
  pair.run();
  const failures = pair.clientEvents.filter((e) => e.type === "channelOpenFailure");
  assert.deepEqual(failures.map((e) => e.type === "channelOpenFailure" && e.channelId), [second]);
  assert.ok(pair.client.channelInfo(first)?.open, "the session opened before stays open");
});
