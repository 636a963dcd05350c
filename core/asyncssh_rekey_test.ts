/**
 * Issue #21, bug 2: AsyncSSH 2.10 starts a rekey inside the send of the channel data
 * that crossed its byte limit, so its KEXINIT is followed by that data under the old
 * keys, and it keeps sending until its NEWKEYS. Each engine here faces a peer that
 * orders its packets exactly that way ({@link asyncSshOrder}), for several rekeys,
 * with the data echoed back and hash-checked.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import type { ClientEvent } from "./client/client_connection.ts";
import { createDefaultSuite } from "./suite/default_suite.ts";
import type { ServerEvent } from "./server/server_connection.ts";
import { makePair } from "./testing/fixtures.ts";
import type { EnginePair } from "./testing/pair.ts";
import { asyncSshOrder, PacketResequencer } from "./testing/resequence.ts";
import { Msg } from "./transport/messages.ts";
import { allowedIncoming, type TransportPhase } from "./transport/phases.ts";
import { concatBytes } from "./wire.ts";

type Side = "client" | "server";

function engine(pair: EnginePair, side: Side) {
  return side === "client" ? pair.client : pair.server;
}

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

/** Runs `rekeys` AsyncSSH-style rekeys started by `peer` while it streams data; returns what was seen. */
function asyncSshRekeys(peer: Side, cipher: string, rekeys: number) {
  const ours: Side = peer === "client" ? "server" : "client";
  const reseq = new PacketResequencer(createDefaultSuite({ provider: "noble" }), {
    strictKex: true,
  });
  const batches: number[][] = [];
  const channel = { client: -1, server: -1 };
  const received = { client: [] as Uint8Array[], server: [] as Uint8Array[] };
  const onData = (side: Side, e: ClientEvent | ServerEvent, pair: EnginePair) => {
    if (e.type !== "channelData") return;
    const conn = engine(pair, side);
    received[side].push(e.data.slice());
    conn.consume(channel[side], e.data.length);
    if (side === ours) {
      // Echo at once: during the exchange our engine holds it until the new keys are in.
      assert.equal(conn.sendData(channel[side], e.data), e.data.length);
    }
  };
  const algorithms = { cipher: [cipher], compression: ["none"] };
  const pair = makePair({
    password: "secret",
    clientAlgorithms: algorithms,
    serverAlgorithms: algorithms,
    [peer]: { suite: reseq.suite },
    onClient: (e, p) => void onData("client", e, p),
    onServer: (e, p) => onData("server", e, p),
  });
  const order = asyncSshOrder(reseq, (types) => {
    if (types.length) batches.push([...types]);
  });
  if (peer === "client") pair.transformClientToServer = order;
  else pair.transformServerToClient = order;
  pair.run();
  assert.ok(pair.client.authenticated, "authenticated through the reordering");
  channel.client = pair.client.openChannel("session");
  pair.run();
  const open = pair.serverEvents.find((e) => e.type === "channelOpenRequest");
  assert.ok(open && open.type === "channelOpenRequest");
  channel.server = open.channelId;
  pair.server.acceptChannel(channel.server);
  pair.run();

  const sent: Uint8Array[] = [];
  const peerConn = engine(pair, peer);
  const send = (n: number) => {
    const chunk = new Uint8Array(4096).map((_, i) => (i * 7 + n * 131) & 0xff);
    assert.equal(peerConn.sendData(channel[peer], chunk), chunk.length);
    sent.push(chunk);
  };
  for (let round = 0; round < rekeys; round++) {
    // The data that "crossed the limit", then the rekey it triggers, then more data
    // the peer sends while the exchange runs.
    for (let i = 0; i < 3; i++) send(round * 10 + i);
    peerConn.rekey();
    for (let i = 3; i < 5; i++) send(round * 10 + i);
    pair.run();
  }
  const disconnects = [...pair.clientEvents, ...pair.serverEvents].filter((e) =>
    e.type === "disconnect"
  );
  assert.deepEqual(disconnects, []);
  return { pair, batches, sent, received, ours };
}

for (const peer of ["client", "server"] as const) {
  const ours = peer === "client" ? "ServerConnection" : "ClientConnection";
  for (const cipher of ["chacha20-poly1305@openssh.com", "aes128-ctr"]) {
    test(`${ours} accepts channel data after an AsyncSSH ${peer}'s rekey KEXINIT (${cipher})`, () => {
      const { pair, batches, sent, received, ours } = asyncSshRekeys(peer, cipher, 3);
      // The peer really sent KEXINIT then data, and data right before its NEWKEYS.
      const starts = batches.filter((b) => b[0] === Msg.IGNORE && b[1] === Msg.KEXINIT);
      assert.equal(starts.length, 3);
      for (const b of starts) {
        assert.deepEqual(b.slice(0, 8), [2, 20, 2, 94, 2, 94, 2, 94]);
      }
      const ends = batches.filter((b) => b.includes(Msg.NEWKEYS));
      assert.ok(ends.length >= 3);
      for (const b of ends.slice(-3)) {
        assert.deepEqual(b.slice(-6), [2, 94, 2, 94, 2, 21]);
      }
      // Every byte arrived, in order, and came back.
      const all = concatBytes(...sent);
      assert.equal(hex(sha256(concatBytes(...received[ours]))), hex(sha256(all)));
      const peerSide = ours === "client" ? "server" : "client";
      assert.equal(hex(sha256(concatBytes(...received[peerSide]))), hex(sha256(all)));
      assert.equal(pair.client.transport.kexCount, 4);
      assert.equal(pair.server.transport.kexCount, 4);
    });
  }
}

test("a rekey's channel data stays in order with the data before it", () => {
  const { sent, received, ours } = asyncSshRekeys("client", "aes128-ctr", 1);
  assert.deepEqual(received[ours].map((b) => b[0]), sent.map((b) => b[0]));
});

test("allowedIncoming() takes connection messages during a rekey only, never in the initial exchange", () => {
  for (const type of [80, 94, 98, 127]) {
    for (
      const phase of ["awaitKexInit", "kex", "kexStrict", "awaitNewKeys", "awaitNewKeysStrict"]
    ) {
      assert.equal(allowedIncoming(type, phase as TransportPhase), false, phase);
    }
    assert.equal(allowedIncoming(type, "rekey"), true);
    assert.equal(allowedIncoming(type, "rekeyAwaitNewKeys"), true);
  }
  // Other layers stay refused between the peer's KEXINIT and its NEWKEYS.
  for (const type of [5, 6, 50, 52, 60, 128, 255]) {
    assert.equal(allowedIncoming(type, "rekey"), false);
    assert.equal(allowedIncoming(type, "rekeyAwaitNewKeys"), false);
  }
});
